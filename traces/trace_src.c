/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace_src.c — the reader's inputs: opening a file, stdin or a
 * memory buffer, reading files and pipes through one buffer (or mapping
 * regular files in TRC_WINDOW_BYTES windows, on request), decompressing
 * gzip, and
 * splitting the data into lines (over-long lines reported and skipped).
 * Every input is opened and read once; with trc_options.sha256 the first
 * input's bytes are hashed as they are read (a FIFO or a pipe cannot be
 * read a second time).  Calls only trace_core.c.
 */
#include "traces/trace_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * A regular file's digest (of TRC_WINDOW_BYTES or more) is computed on a
 * thread of its own that pread()s the open descriptor from 0 to the size
 * the reader saw, while the caller's thread (or the parallel reader)
 * parses: SHA-256 then costs wall time only where it is slower than
 * parsing.  The input is not opened again.  Without the thread (it cannot
 * start, or the file is small) the bytes are hashed as they are read or
 * mapped.
 *
 * Regular files are read() into the reader's buffer, like pipes and gzip
 * files; mapping them (trc_options.mmap) is what the parallel reader
 * needs.  Measured on the 2-vCPU development VM (docs/benchmarks.md), a
 * 1 GiB trace took 1.01 s mapped in 8 MiB windows with MAP_POPULATE and
 * 0.62 s read(): mapping, populating and unmapping the windows cost more
 * than the copy, and memchr() over freshly mapped pages was 40 % of the
 * run against 9 % over the buffer.
 */
#define HASHER_BUF ((size_t)256 << 10)

struct trc_hasher {
    pthread_t th;
    int fd;
    uint64_t size;
    struct hash_sha256 *h;
    bool stop; /* atomic */
    bool ok;   /* hashed size bytes */
};

static void *hasher_main(void *arg)
{
    struct trc_hasher *H = arg;
    unsigned char *buf = malloc(HASHER_BUF);
    uint64_t off = 0;
    while (buf && off < H->size &&
           !__atomic_load_n(&H->stop, __ATOMIC_RELAXED)) {
        size_t want =
            H->size - off < HASHER_BUF ? (size_t)(H->size - off) : HASHER_BUF;
        ssize_t n = pread(H->fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break; /* error or the file shrank: no digest */
        }
        hash_sha256_update(H->h, buf, (size_t)n);
        off += (uint64_t)n;
    }
    free(buf);
    H->ok = off == H->size;
    return NULL;
}

/* Hand r->hash to a hasher thread; false (r->hash kept) if none starts. */
static bool hasher_start(struct trc_reader *r)
{
    struct trc_hasher *H = calloc(1, sizeof(*H));
    if (!H) {
        return false;
    }
    H->fd = r->fd;
    H->size = r->file_size;
    H->h = r->hash;
    if (pthread_create(&H->th, NULL, hasher_main, H) != 0) {
        free(H);
        return false;
    }
    r->hash = NULL;
    r->hasher = H;
    return true;
}

/* Join the hasher; its digest into r->st.sha256 when the input was read
 * to its end (whole), else it is stopped and dropped. */
static void hasher_end(struct trc_reader *r, bool whole)
{
    struct trc_hasher *H = r->hasher;
    if (!whole) {
        __atomic_store_n(&H->stop, true, __ATOMIC_RELAXED);
    }
    pthread_join(H->th, NULL);
    if (whole && H->ok) {
        hash_sha256_final_hex(H->h, r->st.sha256);
    } else {
        hash_sha256_free(H->h);
    }
    free(H);
    r->hasher = NULL;
}

void trc_src_close(struct trc_reader *r)
{
    if (!r->open) {
        return;
    }
    if (r->map) {
        munmap(r->map, r->map_len);
        r->map = NULL;
    }
    if (r->zs_on) {
        inflateEnd(&r->zs);
        r->zs_on = false;
    }
    free(r->zin);
    r->zin = NULL;
    if (r->hasher) {
        hasher_end(r, r->eof && r->p == r->end);
    }
    if (r->hash) {
        /* a digest only of an input read to its end */
        bool whole = r->kind == SRC_MEM ||
                     (r->kind == SRC_MMAP && r->hashed >= r->file_size) ||
                     (r->kind == SRC_GZ && r->in_eof);
        if (whole) {
            hash_sha256_final_hex(r->hash, r->st.sha256);
        } else {
            hash_sha256_free(r->hash);
        }
        r->hash = NULL;
    }
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
    if (r->cur < r->n_inputs) {
        const struct trc_input *in = &r->inputs[r->cur];
        if (in->mem) {
            r->done_bytes += in->mem_len;
        } else if (r->file_size) {
            r->done_bytes += r->file_size;
        }
    }
    r->open = false;
    r->binary = false;
    r->hmp.active = false;
    r->replay = false;
    r->skipping = false;
    r->kind = SRC_NONE;
    r->win = r->p = r->end = NULL;
    r->cur++;
}

static int map_window(struct trc_reader *r, uint64_t keep_off, char *err,
                      size_t errlen)
{
    long pg = sysconf(_SC_PAGESIZE);
    uint64_t page = pg > 0 ? (uint64_t)pg : 4096;
    uint64_t off = keep_off & ~(page - 1);
    if (r->map) {
        munmap(r->map, r->map_len);
        r->map = NULL;
    }
    size_t len = TRC_WINDOW_BYTES;
    if (r->file_size - off < len) {
        len = (size_t)(r->file_size - off);
    }
    if (len == 0) {
        r->win = r->p = r->end = "";
        r->eof = true;
        return 0;
    }
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, r->fd,
                   (off_t)off);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap: %s", trc_cur_name(r), strerror(errno));
        return -1;
    }
    madvise(m, len, MADV_SEQUENTIAL);
    if (r->hash && r->hashed >= off && r->hashed < off + len) {
        /* the window's new bytes, once: windows only move forward */
        hash_sha256_update(r->hash, (const char *)m + (r->hashed - off),
                           (size_t)(off + len - r->hashed));
        r->hashed = off + len;
    }
    r->map = m;
    r->map_len = len;
    r->win_off = off;
    r->win = m;
    r->p = r->win + (keep_off - off);
    r->end = r->win + len;
    r->consumed = off;
    r->eof = (off + len >= r->file_size);
    return 0;
}

#define TRC_ZIN_BYTES ((size_t)1 << 17)

/* One read() of the streamed input into dst (the bytes are hashed as
 * read): bytes, 0 at its end, -1 on error. */
static long stream_read(struct trc_reader *r, void *dst, size_t cap, char *err,
                        size_t errlen)
{
    for (;;) {
        ssize_t n = read(r->fd, dst, cap);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            snprintf(err, errlen, "%s: read: %s", trc_cur_name(r),
                     strerror(errno));
            return -1;
        }
        if (n == 0) {
            r->in_eof = true;
        } else if (r->hash) {
            hash_sha256_update(r->hash, dst, (size_t)n);
        }
        r->in_bytes += (uint64_t)n;
        return (long)n;
    }
}

/* The input's bytes are not all there: a warning (fatal with --strict),
 * the rest of the input is not read.  0 or -1. */
static int stream_damaged(struct trc_reader *r, const char *what, char *err,
                          size_t errlen)
{
    r->eof = true;
    return trc_malformed(r, r->line + 1, err, errlen, "%s", what);
}

/* Up to room bytes of the streamed input's data (decompressed for gzip)
 * into r->end: bytes added, 0 at its end, -1 on error.  Returns as soon as
 * it has something and the next read() could block (pipes). */
static long stream_fill(struct trc_reader *r, size_t room, char *err,
                        size_t errlen)
{
    unsigned char *out = (unsigned char *)r->end;
    if (r->gz_plain) {
        size_t got = 0;
        if (r->zs.avail_in) { /* what was read to look for the magic */
            got = r->zs.avail_in < room ? r->zs.avail_in : room;
            memcpy(out, r->zs.next_in, got);
            r->zs.next_in += got;
            r->zs.avail_in -= (uInt)got;
            return (long)got;
        }
        if (r->in_eof) {
            r->eof = true;
            return 0;
        }
        long n = stream_read(r, out, room, err, errlen);
        if (n == 0) {
            r->eof = true;
        }
        return n;
    }
    r->zs.next_out = out;
    r->zs.avail_out = (uInt)(room > (1u << 30) ? (1u << 30) : room);
    uInt out0 = r->zs.avail_out;
    for (;;) {
        long got = (long)(out0 - r->zs.avail_out);
        if (r->zs.avail_out == 0 || (got >= (1L << 16))) {
            return got;
        }
        if (r->zs.avail_in == 0) {
            if (r->in_eof) {
                /* a member still open has lost its end */
                if (!r->gz_end &&
                    stream_damaged(r,
                                   "compressed input truncated (no gzip "
                                   "trailer): the trace may be incomplete",
                                   err, errlen) < 0) {
                    return -1;
                }
                r->eof = true;
                return got;
            }
            if (got > 0) {
                return got; /* do not block with data in hand */
            }
            long n = stream_read(r, r->zin, TRC_ZIN_BYTES, err, errlen);
            if (n < 0) {
                return -1;
            }
            r->zs.next_in = r->zin;
            r->zs.avail_in = (uInt)n;
            continue;
        }
        if (r->gz_end) {
            /* another member follows, or trailing bytes (ignored) */
            if (r->zs.avail_in < 2 && !r->in_eof) {
                memmove(r->zin, r->zs.next_in, r->zs.avail_in);
                long n =
                    stream_read(r, r->zin + r->zs.avail_in,
                                TRC_ZIN_BYTES - r->zs.avail_in, err, errlen);
                if (n < 0) {
                    return -1;
                }
                r->zs.next_in = r->zin;
                r->zs.avail_in += (uInt)n;
                continue;
            }
            if (r->zs.avail_in >= 2 && r->zs.next_in[0] == 0x1f &&
                r->zs.next_in[1] == 0x8b) {
                inflateReset(&r->zs);
                r->gz_end = false;
                continue;
            }
            r->zs.avail_in = 0; /* not gzip: ignored, as gzip(1) does */
            while (!r->in_eof) {
                if (stream_read(r, r->zin, TRC_ZIN_BYTES, err, errlen) < 0) {
                    return -1;
                }
            }
            continue;
        }
        int zr = inflate(&r->zs, Z_NO_FLUSH);
        if (zr == Z_STREAM_END) {
            r->gz_end = true;
        } else if (zr == Z_MEM_ERROR) {
            snprintf(err, errlen, "%s: out of memory", trc_cur_name(r));
            return -1;
        } else if (zr != Z_OK &&
                   !(zr == Z_BUF_ERROR &&
                     (r->zs.avail_in == 0 || r->zs.avail_out == 0))) {
            char what[160];
            snprintf(what, sizeof(what),
                     "compressed input damaged (%s); rest of the file skipped",
                     r->zs.msg ? r->zs.msg : "zlib error");
            if (stream_damaged(r, what, err, errlen) < 0) {
                return -1;
            }
            return (long)(out0 - r->zs.avail_out);
        }
    }
}

/* Open the streamed input on fd: look at its first bytes for the gzip
 * magic.  0 or -1. */
static int stream_open(struct trc_reader *r, char *err, size_t errlen)
{
    if (!r->zin) {
        r->zin = malloc(TRC_ZIN_BYTES);
        if (!r->zin) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    memset(&r->zs, 0, sizeof(r->zs));
    r->in_eof = false;
    r->gz_end = false;
    r->in_bytes = 0;
    size_t have = 0;
    while (have < 2 && !r->in_eof) {
        long n =
            stream_read(r, r->zin + have, TRC_ZIN_BYTES - have, err, errlen);
        if (n < 0) {
            return -1;
        }
        have += (size_t)n;
    }
    r->zs.next_in = r->zin;
    r->zs.avail_in = (uInt)have;
    r->gz_plain = !(have >= 2 && r->zin[0] == 0x1f && r->zin[1] == 0x8b);
    if (!r->gz_plain) {
        if (inflateInit2(&r->zs, 15 + 16) != Z_OK) {
            snprintf(err, errlen, "%s: cannot open (zlib)", trc_cur_name(r));
            return -1;
        }
        r->zs_on = true;
        r->zs.next_in = r->zin; /* inflateInit2 keeps them, to be sure */
        r->zs.avail_in = (uInt)have;
    }
    return 0;
}

/* Refill keeping [p, end).  Returns bytes added (0 at end), -1 on error. */
static long refill(struct trc_reader *r, char *err, size_t errlen)
{
    if (r->eof) {
        return 0;
    }
    size_t keep = (size_t)(r->end - r->p);
    if (r->kind == SRC_MMAP) {
        uint64_t keep_off = r->win_off + (uint64_t)(r->p - r->win);
        uint64_t old_end = r->win_off + r->map_len;
        if (map_window(r, keep_off, err, errlen) < 0) {
            return -1;
        }
        uint64_t new_end = r->win_off + r->map_len;
        return (long)(new_end > old_end ? new_end - old_end : 0);
    }
    if (r->kind == SRC_GZ) {
        if (keep && r->p != r->buf) {
            memmove(r->buf, r->p, keep);
        }
        r->consumed += (uint64_t)(r->p - r->win);
        r->win = r->buf;
        r->p = r->buf;
        r->end = r->buf + keep;
        long got = stream_fill(r, r->buf_cap - keep, err, errlen);
        if (got > 0) {
            r->end = r->buf + keep + got;
        }
        return got;
    }
    r->eof = true; /* SRC_MEM: all data is there */
    return 0;
}

long trc_src_need(struct trc_reader *r, size_t n, char *err, size_t errlen)
{
    while ((size_t)(r->end - r->p) < n && !r->eof) {
        if (refill(r, err, errlen) < 0) {
            return -1;
        }
    }
    return (long)(r->end - r->p);
}

int trc_src_open(struct trc_reader *r, char *err, size_t errlen)
{
    const struct trc_input *in = &r->inputs[r->cur];
    r->open = true;
    r->eof = false;
    r->line = 0;
    r->consumed = 0;
    r->file_size = 0;
    r->skipping = false;
    r->hmp.active = false;
    r->simple_rec = 0;
    r->hashed = 0;
    if (r->opt.sha256 && r->cur == 0) {
        r->st.sha256[0] = '\0';
        r->hash = hash_sha256_new();
        if (!r->hash) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    if (in->mem) {
        r->kind = SRC_MEM;
        r->win = r->p = in->mem;
        r->end = in->mem + in->mem_len;
        r->eof = true;
        if (r->hash) {
            hash_sha256_update(r->hash, in->mem, in->mem_len);
        }
    } else {
        int fd = in->is_stdin ? dup(0) : open(in->name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            snprintf(err, errlen, "%s: %s", in->name, strerror(errno));
            return -1;
        }
        struct stat sb;
        if (fstat(fd, &sb) != 0) {
            snprintf(err, errlen, "%s: %s", in->name, strerror(errno));
            close(fd);
            return -1;
        }
        bool use_map = false;
        if (S_ISREG(sb.st_mode) && !in->is_stdin && !r->opt.no_mmap &&
            (r->opt.mmap || r->opt.force_threads)) {
            unsigned char mg[2] = {0, 0};
            ssize_t k = pread(fd, mg, 2, 0);
            use_map = !(k == 2 && mg[0] == 0x1f && mg[1] == 0x8b);
        }
        if (S_ISREG(sb.st_mode)) {
            r->file_size = (uint64_t)sb.st_size;
        }
        if (use_map) {
            r->kind = SRC_MMAP;
            r->fd = fd;
            if (r->hash && r->file_size >= TRC_WINDOW_BYTES) {
                hasher_start(r); /* else hashed inline, window by window */
            }
            if (map_window(r, 0, err, errlen) < 0) {
                return -1;
            }
        } else {
            if (!r->buf) {
                r->buf = malloc(TRC_WINDOW_BYTES);
                if (!r->buf) {
                    close(fd);
                    snprintf(err, errlen, "out of memory");
                    return -1;
                }
                r->buf_cap = TRC_WINDOW_BYTES;
            }
            r->fd = fd;
            if (r->hash && S_ISREG(sb.st_mode) && !in->is_stdin &&
                r->file_size >= TRC_WINDOW_BYTES) {
                hasher_start(r); /* else hashed inline, read by read */
            }
            if (stream_open(r, err, errlen) < 0) {
                return -1;
            }
            r->kind = SRC_GZ;
            r->win = r->p = r->end = r->buf;
            if (refill(r, err, errlen) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

/*
 * Next line of the current input: 1 (line in *s and *len, without '\n'),
 * 0 at the end of this input, 2 an over-long line was skipped, -1 error.
 */
int trc_src_next_line(struct trc_reader *r, const char **s, size_t *len,
                      char *err, size_t errlen)
{
    for (;;) {
        size_t avail = (size_t)(r->end - r->p);
        const char *nl = avail ? memchr(r->p, '\n', avail) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - r->p);
            const char *start = r->p;
            r->p = nl + 1;
            r->line++;
            r->st.bytes += n + 1;
            if (r->skipping) {
                r->skipping = false;
                r->st.lines++; /* the over-long line, reported earlier */
                continue;
            }
            if (n > r->opt.max_line) {
                r->st.long_lines++;
                if (trc_malformed(r, r->line, err, errlen,
                                  "line longer than %zu bytes; skipped",
                                  r->opt.max_line) < 0) {
                    return -1;
                }
                return 2;
            }
            *s = start;
            *len = n;
            return 1;
        }
        if (r->eof) {
            if (avail == 0) {
                return 0;
            }
            const char *start = r->p;
            r->p = r->end;
            r->line++;
            r->st.bytes += avail;
            if (r->skipping) {
                r->skipping = false;
                r->st.lines++;
                return 0;
            }
            if (avail > r->opt.max_line) {
                r->st.long_lines++;
                if (trc_malformed(r, r->line, err, errlen,
                                  "line longer than %zu bytes; skipped",
                                  r->opt.max_line) < 0) {
                    return -1;
                }
                return 2;
            }
            *s = start;
            *len = avail;
            return 1;
        }
        if (avail > r->opt.max_line && !r->skipping) {
            /* Over-long: report now (its line number is the next one),
             * then drop data until its newline. */
            r->st.long_lines++;
            if (trc_malformed(r, r->line + 1, err, errlen,
                              "line longer than %zu bytes; skipped",
                              r->opt.max_line) < 0) {
                return -1;
            }
            r->skipping = true;
        }
        if (r->skipping) {
            r->st.bytes += avail;
            r->p = r->end;
        }
        if (refill(r, err, errlen) < 0) {
            return -1;
        }
    }
}

uint64_t trc_src_pos(const struct trc_reader *r)
{
    if (r->kind == SRC_MMAP) {
        return r->win_off + (uint64_t)(r->p - r->win);
    }
    if (r->kind == SRC_GZ) {
        return r->in_bytes - r->zs.avail_in;
    }
    if (r->kind == SRC_MEM) {
        return (uint64_t)(r->p - r->win);
    }
    return 0;
}
