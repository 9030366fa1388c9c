/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace_par.c — the parallel text input reader (trc_par_ops): with
 * trc_options.force_threads a regular text file read in auto mode is
 * parsed on a helper thread.  Off by default: on the 2-vCPU development
 * VM the 1 GiB bench trace took 1.69 s this way against 0.62 s serial
 * (the consumer's reads of what the producer wrote, entries and line
 * bytes, cost more CPU than the parse it was spared; docs/benchmarks.md).
 * Lines the helper does not parse go through trc_text_line() (trace_line.c)
 * in order on the caller's thread.
 */
#include "traces/trace_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * For a regular text file read in auto mode with force_threads, a
 * producer thread maps the file window by window and parses every line
 * into compact entries (chunks of PAR_CHUNK_LINES lines, a ring of
 * PAR_CHUNKS) while the caller's thread hands the records out and does
 * its own work (the timeline).  The producer only does what is pure:
 * prefix, name lookup and argument matching of plain event lines; any
 * other line (status records, HMP dumps, messages, malformed lines) is
 * marked "defer" and goes through the serial path in order, so counters,
 * messages, strict mode and HMP dumps behave exactly as without the
 * thread.  A window stays mapped until its last chunk was consumed; at
 * most PAR_CHUNKS chunks and a few windows are alive: memory is bounded.
 */

#define PAR_CHUNK_LINES 4096u
#define PAR_CHUNKS      4u
#define PAR_WINDOWS     3u

enum { PE_OK = 0, PE_DEFER, PE_LONG };

struct par_win {
    char *map;
    size_t len;
    uint64_t off;
    unsigned refs;  /* published chunks not yet consumed */
    bool prod_done; /* the producer has moved past it */
};

/* One line as the producer left it: for PE_OK the event record packed
 * (offsets from the line's start instead of pointers, a string slot's
 * offset and length in one word), a third of a struct trc_record, so that
 * what one thread writes and the other reads stays small. */
struct pre_ent {
    uint32_t off, raw; /* line offset in the window, raw length */
    uint8_t state;
    bool nl; /* ended by a newline (all but a last line) */
    uint8_t format, variant;
    bool hex;
    uint16_t ev;
    uint32_t name_off, name_len, args_off, args_len;
    uint32_t present, strs; /* slots extracted; of which strings */
    int64_t t_ns, tid;
    uint64_t v[TRC_MAX_SLOTS];
};

struct par_chunk {
    struct par_win *w;
    uint64_t first_line; /* line number of e[0] */
    unsigned n;
    struct pre_ent e[PAR_CHUNK_LINES];
};

struct trc_par {
    struct trc_reader *r; /* the producer reads only immutable tables */
    int fd;
    uint64_t size;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct par_chunk *ring[PAR_CHUNKS];
    unsigned head, count;
    bool done, stop;
    unsigned live; /* windows mapped (bounded by PAR_WINDOWS) */
    char err[256];
    uint64_t skipped;          /* bytes of over-long lines past their window */
    struct trc_pcache pc;      /* producer's prefix cache */
    struct trc_name_memo memo; /* producer's name guesses */
    struct par_chunk *cur;     /* consumer */
    unsigned idx;
    uint64_t pos; /* file offset the consumer reached */
    /* the input's SHA-256 (r->hash, NULL when off) is the producer's until
     * it is joined: it hashes each window's new bytes as it maps them */
    struct hash_sha256 *hash;
    uint64_t hashed;
};

static void par_win_put(struct trc_par *P, struct par_win *w, bool producer)
{
    bool free_it;
    pthread_mutex_lock(&P->mu);
    if (producer) {
        w->prod_done = true;
    } else {
        w->refs--;
    }
    free_it = w->prod_done && w->refs == 0;
    pthread_mutex_unlock(&P->mu);
    if (free_it) {
        munmap(w->map, w->len);
        free(w);
        pthread_mutex_lock(&P->mu);
        P->live--;
        pthread_cond_broadcast(&P->cv);
        pthread_mutex_unlock(&P->mu);
    }
}

/* The producer's view of one line: true if it is a complete event. */
static bool par_pre_line(struct trc_par *P, const char *s, size_t len,
                         struct trc_record *rec)
{
    const struct trc_reader *r = P->r;
    const char *why;
    if (len == 0) {
        return false;
    }
    char c = s[0];
    if (is_digit(c)) {
        enum trc_format f;
        int64_t tid, t;
        size_t k = prefix_cached(&P->pc, s, len, &f, &tid, &t);
        if (k) {
            if (trc_parse_event_pure(r, &P->memo, s + k, len - k, true, rec,
                                     &why) != PL_RECORD) {
                return false;
            }
            rec->format = f;
            rec->t_ns = t;
            rec->tid = tid;
            return true;
        }
        if (len > 20 && s[4] == '-') {
            k = trc_parse_iso8601(s, len, &t);
            if (k && k < len && s[k] == ' ' && s[10] == 'T' &&
                trc_parse_event_pure(r, &P->memo, s + k + 1, len - k - 1, false,
                                     rec, &why) == PL_RECORD) {
                rec->format = TRC_FMT_LOG_ISO;
                rec->t_ns = t;
                rec->tid = -1;
                return true;
            }
        }
        return false;
    }
    if (((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) &&
        trc_parse_event_pure(r, &P->memo, s, len, false, rec, &why) ==
            PL_RECORD) {
        rec->format = TRC_FMT_LOG;
        rec->t_ns = TRC_NO_TIME;
        rec->tid = -1;
        return true;
    }
    return false;
}

static void par_entry(struct trc_par *P, struct par_chunk *ch, const char *ls,
                      size_t raw, bool too_long, bool nl)
{
    struct pre_ent *e = &ch->e[ch->n++];
    e->nl = nl;
    e->off = (uint32_t)(ls - ch->w->map);
    e->raw = (uint32_t)raw;
    if (too_long) {
        e->state = PE_LONG;
        return;
    }
    size_t len = raw && ls[raw - 1] == '\r' ? raw - 1 : raw;
    struct trc_record rec;
    if (!par_pre_line(P, ls, len, &rec)) {
        e->state = PE_DEFER;
        return;
    }
    e->state = PE_OK;
    e->format = (uint8_t)rec.format;
    e->variant = (uint8_t)rec.variant;
    e->hex = rec.hex;
    e->ev = (uint16_t)rec.ev;
    e->name_off = (uint32_t)(rec.name - ls);
    e->name_len = (uint32_t)rec.name_len;
    e->args_off = (uint32_t)(rec.args - ls);
    e->args_len = (uint32_t)rec.args_len;
    e->present = rec.present;
    e->t_ns = rec.t_ns;
    e->tid = rec.tid;
    uint32_t strs = 0;
    for (uint32_t m = rec.present; m; m &= m - 1) {
        unsigned i = (unsigned)__builtin_ctz(m);
        if (rec.a[i].s) {
            strs |= 1u << i;
            e->v[i] =
                (uint64_t)(uint32_t)(rec.a[i].s - ls) << 32 | rec.a[i].len;
        } else {
            e->v[i] = rec.a[i].u;
        }
    }
    e->strs = strs;
}

/* The record of a PE_OK entry whose line starts at ls. */
static void par_unpack(const struct pre_ent *e, const char *ls,
                       struct trc_record *rec)
{
    rec->kind = TRC_REC_EVENT;
    rec->format = (enum trc_format)e->format;
    rec->ev = (enum trc_ev)e->ev;
    rec->variant = e->variant;
    rec->t_ns = e->t_ns;
    rec->tid = e->tid;
    rec->name = ls + e->name_off;
    rec->name_len = e->name_len;
    rec->args = ls + e->args_off;
    rec->args_len = e->args_len;
    rec->present = e->present;
    rec->hex = e->hex;
    rec->snap = NULL;
    for (uint32_t m = e->present; m; m &= m - 1) {
        unsigned i = (unsigned)__builtin_ctz(m);
        if (e->strs & (1u << i)) {
            rec->a[i].u = 0;
            rec->a[i].s = ls + (e->v[i] >> 32);
            rec->a[i].len = (uint32_t)e->v[i];
        } else {
            rec->a[i].u = e->v[i];
            rec->a[i].s = NULL;
            rec->a[i].len = 0;
        }
    }
}

/* A free chunk for the producer (waits for the consumer); NULL if asked
 * to stop. */
static struct par_chunk *par_get(struct trc_par *P, struct par_win *w,
                                 uint64_t line)
{
    pthread_mutex_lock(&P->mu);
    while (P->count == PAR_CHUNKS && !P->stop) {
        pthread_cond_wait(&P->cv, &P->mu);
    }
    struct par_chunk *c =
        P->stop ? NULL : P->ring[(P->head + P->count) % PAR_CHUNKS];
    pthread_mutex_unlock(&P->mu);
    if (c) {
        c->w = w;
        c->first_line = line;
        c->n = 0;
    }
    return c;
}

static void par_publish(struct trc_par *P, struct par_chunk *c)
{
    pthread_mutex_lock(&P->mu);
    c->w->refs++;
    P->count++;
    pthread_cond_broadcast(&P->cv);
    pthread_mutex_unlock(&P->mu);
}

static bool par_stopping(struct trc_par *P)
{
    return __atomic_load_n(&P->stop, __ATOMIC_RELAXED);
}

static void *par_main(void *arg)
{
    struct trc_par *P = arg;
    size_t max_line = P->r->opt.max_line;
    long pg = sysconf(_SC_PAGESIZE);
    uint64_t page = pg > 0 ? (uint64_t)pg : 4096;
    uint64_t off = 0, line = 0;
    bool skipping = false;
    while (off < P->size && !par_stopping(P)) {
        uint64_t aligned = off & ~(page - 1);
        size_t len = TRC_WINDOW_BYTES;
        if (P->size - aligned < len) {
            len = (size_t)(P->size - aligned);
        }
        pthread_mutex_lock(&P->mu);
        while (P->live >= PAR_WINDOWS && !P->stop) {
            pthread_cond_wait(&P->cv, &P->mu);
        }
        P->live++;
        pthread_mutex_unlock(&P->mu);
        if (par_stopping(P)) {
            pthread_mutex_lock(&P->mu);
            P->live--;
            pthread_mutex_unlock(&P->mu);
            break;
        }
        void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, P->fd,
                       (off_t)aligned);
        if (m == MAP_FAILED) {
            pthread_mutex_lock(&P->mu);
            snprintf(P->err, sizeof(P->err), "mmap: %s", strerror(errno));
            P->live--;
            pthread_mutex_unlock(&P->mu);
            break;
        }
        madvise(m, len, MADV_SEQUENTIAL);
        if (P->hash && P->hashed >= aligned && P->hashed < aligned + len) {
            hash_sha256_update(P->hash, (const char *)m + (P->hashed - aligned),
                               (size_t)(aligned + len - P->hashed));
            P->hashed = aligned + len;
        }
        struct par_win *w = calloc(1, sizeof(*w));
        if (!w) {
            munmap(m, len);
            pthread_mutex_lock(&P->mu);
            snprintf(P->err, sizeof(P->err), "out of memory");
            P->live--;
            pthread_mutex_unlock(&P->mu);
            break;
        }
        w->map = m;
        w->len = len;
        w->off = aligned;
        const char *base = m;
        const char *p = base + (off - aligned), *end = base + len;
        bool last = aligned + len >= P->size;
        struct par_chunk *c = NULL;
        if (skipping) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            uint64_t sk = (uint64_t)((nl ? nl : end) - p);
            __atomic_add_fetch(&P->skipped, sk, __ATOMIC_RELAXED);
            p = nl ? nl + 1 : end;
            skipping = nl == NULL;
        }
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t l;
            bool too_long = false;
            if (nl) {
                l = (size_t)(nl - p);
            } else if (last) {
                l = (size_t)(end - p);
            } else if ((size_t)(end - p) > max_line) {
                l = 0; /* continues past this window: report, skip */
                too_long = true;
                skipping = true;
                __atomic_add_fetch(&P->skipped, (uint64_t)(end - p),
                                   __ATOMIC_RELAXED);
            } else {
                break; /* completed in the next window */
            }
            if (!c && !(c = par_get(P, w, line + 1))) {
                break;
            }
            par_entry(P, c, p, l, too_long || l > max_line,
                      nl != NULL || too_long);
            line++;
            p = nl ? nl + 1 : end;
            if (c->n == PAR_CHUNK_LINES) {
                par_publish(P, c);
                c = NULL;
            }
        }
        if (c) {
            if (c->n) {
                par_publish(P, c);
            }
        }
        off = aligned + (uint64_t)(p - base);
        par_win_put(P, w, true);
    }
    pthread_mutex_lock(&P->mu);
    P->done = true;
    pthread_cond_broadcast(&P->cv);
    pthread_mutex_unlock(&P->mu);
    return NULL;
}

static void par_free(struct trc_par *P)
{
    for (unsigned i = 0; i < PAR_CHUNKS; i++) {
        free(P->ring[i]);
    }
    pthread_mutex_destroy(&P->mu);
    pthread_cond_destroy(&P->cv);
    free(P);
}

/* Switch the open mapped input to the producer thread; false (and
 * nothing changed) if that is not possible. */
static bool par_start(struct trc_reader *r)
{
    struct trc_par *P = calloc(1, sizeof(*P));
    if (!P) {
        return false;
    }
    for (unsigned i = 0; i < PAR_CHUNKS; i++) {
        P->ring[i] = malloc(sizeof(struct par_chunk));
        if (!P->ring[i]) {
            for (unsigned j = 0; j < i; j++) {
                free(P->ring[j]);
            }
            free(P);
            return false;
        }
    }
    P->r = r;
    P->fd = r->fd;
    P->size = r->file_size;
    P->hash = r->hash;
    P->hashed = r->hashed;
    pthread_mutex_init(&P->mu, NULL);
    pthread_cond_init(&P->cv, NULL);
    if (pthread_create(&P->th, NULL, par_main, P) != 0) {
        par_free(P);
        return false;
    }
    if (r->map) {
        munmap(r->map, r->map_len);
        r->map = NULL;
    }
    r->win = r->p = r->end = NULL;
    r->par = P;
    return true;
}

static void par_release_cur(struct trc_par *P)
{
    struct par_chunk *c = P->cur;
    P->cur = NULL;
    struct par_win *w = c->w;
    pthread_mutex_lock(&P->mu);
    P->head = (P->head + 1) % PAR_CHUNKS;
    P->count--;
    pthread_cond_broadcast(&P->cv);
    pthread_mutex_unlock(&P->mu);
    par_win_put(P, w, false);
}

static void par_stop(struct trc_reader *r)
{
    struct trc_par *P = r->par;
    if (!P) {
        return;
    }
    pthread_mutex_lock(&P->mu);
    __atomic_store_n(&P->stop, true, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&P->cv);
    pthread_mutex_unlock(&P->mu);
    pthread_join(P->th, NULL);
    r->hashed = P->hashed;
    if (P->cur) {
        par_release_cur(P);
    }
    while (P->count) {
        P->cur = P->ring[P->head];
        par_release_cur(P);
    }
    par_free(P);
    r->par = NULL;
}

/* Next record from the producer's chunks: 1, 0 at the end of this input,
 * -1 on error. */
static int par_next(struct trc_reader *r, struct trc_record *rec,
                    const struct trc_record **out, char *err, size_t errlen)
{
    struct trc_par *P = r->par;
    for (;;) {
        if (r->replay) {
            r->replay = false;
            int rc =
                trc_text_line(r, r->replay_s, r->replay_len, rec, err, errlen);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        if (P->cur && P->idx >= P->cur->n) {
            par_release_cur(P);
        }
        if (!P->cur) {
            pthread_mutex_lock(&P->mu);
            while (P->count == 0 && !P->done) {
                pthread_cond_wait(&P->cv, &P->mu);
            }
            if (P->count == 0) {
                bool failed = P->err[0] != '\0';
                r->st.bytes += P->skipped;
                P->skipped = 0;
                if (failed) {
                    snprintf(err, errlen, "%s: %s", trc_cur_name(r), P->err);
                } else {
                    r->eof = true; /* read to its end (the digest) */
                }
                pthread_mutex_unlock(&P->mu);
                return failed ? -1 : 0;
            }
            P->cur = P->ring[P->head];
            P->idx = 0;
            pthread_mutex_unlock(&P->mu);
        }
        const struct par_chunk *c = P->cur;
        const struct pre_ent *e = &c->e[P->idx];
        *out = rec;
        const char *ls = c->w->map + e->off;
        r->line = c->first_line + P->idx;
        P->idx++;
        P->pos = c->w->off + e->off + e->raw + (e->nl ? 1 : 0);
        r->st.lines++;
        r->st.bytes += e->raw + (e->nl ? 1 : 0);
        if (e->state == PE_LONG) {
            r->st.long_lines++;
            if (trc_malformed(r, r->line, err, errlen,
                              "line longer than %zu bytes; skipped",
                              r->opt.max_line) < 0) {
                return -1;
            }
            continue;
        }
        if (e->state == PE_DEFER || r->hmp.active || r->json_active) {
            int rc = trc_text_line(r, ls, e->raw, rec, err, errlen);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        par_unpack(e, ls, rec);
        rec->file = r->cur;
        rec->line = r->line;
        count_event(r, rec);
        if (finish_record(r, rec, rec->format)) {
            return 1;
        }
    }
}

static int par_open(struct trc_reader *r, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    if (r->kind != SRC_MMAP || r->opt.format != TRC_FMT_AUTO ||
        r->opt.no_threads || !r->opt.force_threads) {
        return 0;
    }
    return par_start(r) ? 1 : 0; /* stays serial if the thread cannot start */
}

static int par_reader_next(struct trc_reader *r, struct trc_record *rec,
                           const struct trc_record **out, char *err,
                           size_t errlen)
{
    int rc = par_next(r, rec, out, err, errlen);
    if (rc != 0) {
        return rc;
    }
    *out = rec;
    return trc_text_end(r, rec);
}

static uint64_t par_pos(const struct trc_reader *r)
{
    return r->par->pos;
}

const struct trc_input_ops trc_par_ops = {
    .name = "parallel text",
    .open = par_open,
    .next = par_reader_next,
    .stop = par_stop,
    .pos = par_pos,
};
