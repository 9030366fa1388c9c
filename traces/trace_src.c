/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace_src.c — the reader's inputs: opening a file, stdin or a
 * memory buffer, mapping regular files in TRC_WINDOW_BYTES windows,
 * decompressing gzip (and reading pipes) through one buffer, and
 * splitting the data into lines (over-long lines reported and skipped).
 * Calls only trace_core.c.
 */
#include "traces/trace_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void trc_src_close(struct trc_reader *r)
{
    if (!r->open) {
        return;
    }
    if (r->map) {
        munmap(r->map, r->map_len);
        r->map = NULL;
    }
    if (r->gz) {
        gzclose(r->gz); /* closes the fd it was given */
        r->gz = NULL;
        r->fd = -1;
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
        size_t room = r->buf_cap - keep;
        long got = 0;
        while (room > 0) {
            int n = gzread(r->gz, r->buf + keep + got,
                           room > (1u << 30) ? (1u << 30) : (unsigned)room);
            if (n < 0) {
                int zerr;
                const char *m = gzerror(r->gz, &zerr);
                r->eof = true;
                r->end = r->buf + keep + got;
                if (trc_malformed(r, r->line + 1, err, errlen,
                                  "compressed input damaged (%s); rest of "
                                  "the file skipped",
                                  m ? m : "zlib error") < 0) {
                    return -1;
                }
                return got;
            }
            if (n == 0) {
                r->eof = true;
                break;
            }
            got += n;
            room -= (size_t)n;
            if (got >= (long)(1 << 16)) {
                break; /* enough to go on; avoid blocking on pipes */
            }
        }
        r->end = r->buf + keep + got;
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
    if (in->mem) {
        r->kind = SRC_MEM;
        r->win = r->p = in->mem;
        r->end = in->mem + in->mem_len;
        r->eof = true;
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
        if (S_ISREG(sb.st_mode) && !in->is_stdin && !r->opt.no_mmap) {
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
            r->gz = gzdopen(fd, "rb");
            if (!r->gz) {
                close(fd);
                snprintf(err, errlen, "%s: cannot open (zlib)", in->name);
                return -1;
            }
            gzbuffer(r->gz, 1u << 17);
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
    if (r->kind == SRC_GZ && r->gz) {
        long off = (long)gzoffset(r->gz);
        return off > 0 ? (uint64_t)off : 0;
    }
    if (r->kind == SRC_MEM) {
        return (uint64_t)(r->p - r->win);
    }
    return 0;
}
