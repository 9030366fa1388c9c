/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace.c — the reader's dispatcher: reader lifetime and the public
 * calls of traces/trace.h.  For each input it opens the source
 * (trace_src.c) and gives it to the first input reader of `readers` that
 * takes it; records then come from that reader until it reports the end of
 * the input.  See trace_int.h for the files below it.
 *
 * Hot path (a plain trace line, trace_line.c fast_line): memchr for the
 * newline in the mapped window, the cached "TID@SEC." / "PID@" prefix and
 * its changing digits, the event name guessed from the previous one (else
 * an identifier scan and one probe in the reader's name hash) and the
 * catalogue pattern match.  Nothing is allocated per line.
 */
#include "traces/trace_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Asked in this order; the serial text reader takes whatever is left. */
static const struct trc_input_ops *const readers[] = {
    &trc_simple_ops,
    &trc_par_ops,
    &trc_text_ops,
};

/*
 * What every reader starts with the same: the catalogue's name table, the
 * compiled argument patterns and the event flags.  They depend only on the
 * compiled-in catalogue, so they are built once per process on first use
 * (thread-safe), then copied (names, flags) or shared read-only (patterns)
 * by every reader: a reader of a small input no longer pays ~40 % of its
 * time compiling patterns (the fuzz harnesses and lab validate read many).
 */
struct reader_proto {
    struct name_slot names[TRC_NAME_HASH];
    unsigned char evflags[TRC_EV_COUNT];
    struct trc_cpat cpat[TRC_EV_COUNT][4];
    const char *bad; /* event whose pattern did not compile, or NULL */
};
static struct reader_proto proto;
static pthread_once_t proto_once = PTHREAD_ONCE_INIT;

static void reader_proto_build(void)
{
    struct trc_reader *tmp = calloc(1, sizeof(*tmp));
    if (!tmp) {
        proto.bad = "(out of memory)";
        return;
    }
    trc_build_names(tmp);
    memcpy(proto.names, tmp->names, sizeof(proto.names));
    free(tmp);
    for (unsigned ev = 0; ev < TRC_EV_COUNT; ev++) {
        proto.evflags[ev] = (unsigned char)trc_event_flags((enum trc_ev)ev);
    }
    for (unsigned ev = TRC_EV_SET_STATE; ev < TRC_EV_COUNT; ev++) {
        for (unsigned v = 0; v < trc_event_variants((enum trc_ev)ev); v++) {
            if (trc_cpat_compile(trc_event_pattern((enum trc_ev)ev, v),
                                 &proto.cpat[ev][v]) < 0) {
                proto.bad = trc_event_name((enum trc_ev)ev);
                return;
            }
        }
    }
}

static const struct reader_proto *reader_proto_get(void)
{
    pthread_once(&proto_once, reader_proto_build);
    return &proto;
}

struct trc_reader *trc_reader_new(const struct trc_options *o, char *err,
                                  size_t errlen)
{
    struct trc_reader *r = calloc(1, sizeof(*r));
    if (r) {
        r->pve_down_ms = -1;
    }
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (o) {
        r->opt = *o;
    }
    if (r->opt.max_line == 0) {
        r->opt.max_line = TRC_DEFAULT_LINE;
    }
    if (r->opt.max_line > TRC_WINDOW_BYTES / 2) {
        r->opt.max_line = TRC_WINDOW_BYTES / 2;
    }
    if (r->opt.max_messages == 0) {
        r->opt.max_messages = 20;
    }
    r->st.messages = calloc(r->opt.max_messages, sizeof(char *));
    if (!r->st.messages) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->fd = -1;
    const struct reader_proto *pr = reader_proto_get();
    if (pr->bad) {
        trc_reader_free(r);
        snprintf(err, errlen, "internal: bad pattern for %s", pr->bad);
        return NULL;
    }
    memcpy(r->names, pr->names, sizeof(r->names));
    memcpy(r->evflags, pr->evflags, sizeof(r->evflags));
    r->cpat = pr->cpat;
    const char *ev = r->opt.events_path;
    if (ev && *ev && !r->opt.no_events) {
        r->decls = trc_decls_load(ev, err, errlen);
        if (!r->decls) {
            trc_reader_free(r);
            return NULL;
        }
    } else if (!r->opt.no_events && access(TRC_DEFAULT_EVENTS, R_OK) == 0) {
        char e2[256];
        r->decls = trc_decls_load(TRC_DEFAULT_EVENTS, e2, sizeof(e2));
        /* a broken installed file is not the user's fault: ignore it */
    }
    r->st.decls = r->decls ? trc_decls_count(r->decls) : 0;
    return r;
}

/* Close the open input (its reader first) and move to the next one. */
static void close_input(struct trc_reader *r)
{
    if (!r->open) {
        return;
    }
    if (r->ops && r->ops->stop) {
        r->ops->stop(r);
    }
    r->ops = NULL;
    trc_src_close(r);
}

void trc_reader_free(struct trc_reader *r)
{
    if (!r) {
        return;
    }
    close_input(r);
    for (unsigned i = 0; i < r->n_inputs; i++) {
        free(r->inputs[i].name);
    }
    free(r->inputs);
    free(r->buf);
    free(r->json_buf);
    trc_simple_reset(r);
    for (unsigned i = 0; i < r->st.n_messages; i++) {
        free(r->st.messages[i]);
    }
    free(r->st.messages);
    trc_decls_free(r->decls);
    free(r);
}

static int push_input(struct trc_reader *r, const struct trc_input *in,
                      char *err, size_t errlen)
{
    struct trc_input *n =
        realloc(r->inputs, (r->n_inputs + 1) * sizeof(*r->inputs));
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->inputs = n;
    r->inputs[r->n_inputs] = *in;
    r->inputs[r->n_inputs].name = strdup(in->name);
    if (!r->inputs[r->n_inputs].name) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->n_inputs++;
    return 0;
}

int trc_reader_add_file(struct trc_reader *r, const char *path, char *err,
                        size_t errlen)
{
    struct trc_input in = {.name = (char *)path};
    if (strcmp(path, "-") == 0) {
        if (r->stdin_used) {
            snprintf(err, errlen, "stdin ('-') given more than once");
            return -1;
        }
        r->stdin_used = true;
        in.is_stdin = true;
        in.name = (char *)"(stdin)";
        return push_input(r, &in, err, errlen);
    }
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s: is a directory", path);
        return -1;
    }
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISREG(sb.st_mode)) {
        r->total_bytes += (uint64_t)sb.st_size;
    }
    return push_input(r, &in, err, errlen);
}

int trc_reader_add_mem(struct trc_reader *r, const char *name, const void *data,
                       size_t len, char *err, size_t errlen)
{
    struct trc_input in = {.name = (char *)name, .mem = data, .mem_len = len};
    r->total_bytes += len;
    return push_input(r, &in, err, errlen);
}

int trc_record_parse_args(const struct trc_reader *r, struct trc_record *rec)
{
    if (rec->kind != TRC_REC_EVENT || rec->ev < TRC_EV_SET_STATE ||
        (unsigned)rec->ev >= TRC_EV_COUNT || !rec->args) {
        return -1;
    }
    const struct trc_cpat *cp = r->cpat[rec->ev];
    for (unsigned v = 0; v < 4 && cp[v].used; v++) {
        if (trc_cpat_match(&cp[v], rec->args, rec->args_len, rec) == 0) {
            rec->variant = v;
            return 0;
        }
    }
    return -1;
}

const struct trc_stats *trc_reader_stats(const struct trc_reader *r)
{
    return &r->st;
}

unsigned trc_reader_n_files(const struct trc_reader *r)
{
    return r->n_inputs;
}

const char *trc_reader_file_name(const struct trc_reader *r, unsigned i)
{
    return i < r->n_inputs ? r->inputs[i].name : "";
}

enum trc_format trc_reader_dominant_format(const struct trc_reader *r)
{
    enum trc_format best = TRC_FMT_AUTO;
    uint64_t n = 0;
    for (unsigned f = 1; f < TRC_FMT_COUNT; f++) {
        if (r->st.per_format[f] > n) {
            n = r->st.per_format[f];
            best = (enum trc_format)f;
        }
    }
    return best;
}

void trc_reader_progress(const struct trc_reader *r, uint64_t *done,
                         uint64_t *total)
{
    uint64_t d = r->done_bytes;
    if (r->open && r->ops && r->ops->pos) {
        d += r->ops->pos(r);
    } else if (r->open) {
        d += trc_src_pos(r);
    }
    *done = d;
    *total = r->total_bytes;
}

/* Open the next input and choose its reader. */
static int open_input(struct trc_reader *r, char *err, size_t errlen)
{
    if (trc_src_open(r, err, errlen) < 0) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
        int rc = readers[i]->open(r, err, errlen);
        if (rc < 0) {
            return -1;
        }
        if (rc > 0) {
            r->ops = readers[i];
            return 0;
        }
    }
    snprintf(err, errlen, "%s: internal: no reader took the input",
             trc_cur_name(r));
    return -1;
}

static int reader_next(struct trc_reader *r, struct trc_record *rec,
                       const struct trc_record **out, char *err, size_t errlen)
{
    *out = rec;
    for (;;) {
        if (!r->open) {
            if (r->cur >= r->n_inputs) {
                return 0;
            }
            if (open_input(r, err, errlen) < 0) {
                close_input(r);
                return -1;
            }
        }
        int rc = r->ops->next(r, rec, out, err, errlen);
        if (rc != 0) {
            return rc;
        }
        close_input(r);
    }
}

int trc_reader_next(struct trc_reader *r, struct trc_record *rec, char *err,
                    size_t errlen)
{
    const struct trc_record *p;
    int rc = reader_next(r, rec, &p, err, errlen);
    if (rc == 1 && p != rec) {
        *rec = *p;
    }
    return rc;
}

int trc_reader_next_ref(struct trc_reader *r, const struct trc_record **out,
                        char *err, size_t errlen)
{
    return reader_next(r, &r->rec_buf, out, err, errlen);
}
