/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace_int.h — internals shared by the reader's source files.
 * Not a contract: only traces/trace*.c include it; everyone else uses
 * traces/trace.h.
 *
 * How the reader is put together (each file calls only files below it):
 *
 *   trace.c          the dispatcher: reader lifetime, the public calls,
 *                    and per input the choice of an input reader from a
 *                    table of struct trc_input_ops (simpletrace, parallel
 *                    text, serial text, first that claims the input wins)
 *     |
 *   trace_par.c      input reader: big regular text files parsed on a
 *                    helper thread; deferred lines go to trc_text_line()
 *   trace_simple.c   input reader: simpletrace binary records
 *     |
 *   trace_line.c     input reader: serial text, and the per-line format
 *                    classification (trc_text_line) shared with trace_par.c
 *     |
 *   trace_qmp.c      line parsers: query-migrate JSON, HMP "info migrate"
 *   trace_time.c     line prefixes: ISO-8601, TID@SEC.USEC:, PID@NS
 *   trace_match.c    catalogue patterns: compile and match arguments
 *     |
 *   trace_src.c      services: inputs (mmap windows, gzip, memory), lines
 *   trace_core.c     services: name hash, malformed-line messages, unknown
 *                    event counts
 *   trace_catalog.c, trace_events.c   the event catalogue and the
 *                    trace-events-all declarations (tables, no reader)
 *
 * Input readers and line parsers never call the dispatcher back: an input
 * reader returns 0 at the end of its input and trace.c closes it and
 * opens the next one.
 */
#ifndef MIGSIM_TRACES_TRACE_INT_H
#define MIGSIM_TRACES_TRACE_INT_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "base/hash.h"
#include "traces/trace.h"

/* ---- trace-events-all declarations (trace_events.c) ---- */
struct trc_decl {
    char *name;
    unsigned nargs;
    unsigned char *is_str; /* nargs flags */
};

struct trc_decls;
/* Load a trace-events(-all) file.  NULL with a message (file:line for a
 * line that cannot be read as a declaration). */
struct trc_decls *trc_decls_load(const char *path, char *err, size_t errlen);
/* Parse declarations from memory (tests, fuzzing). */
struct trc_decls *trc_decls_parse(const char *text, size_t len, const char *src,
                                  char *err, size_t errlen);
void trc_decls_free(struct trc_decls *d);
const struct trc_decl *trc_decls_find(const struct trc_decls *d,
                                      const char *name, size_t len);
unsigned trc_decls_count(const struct trc_decls *d);

/* ---- catalogue internals (trace_catalog.c) ---- */
size_t trc_catalog_other_known(const char *const **names);

/* A pattern compiled into literal / number / string operations; literals
 * are stored unescaped ("%%" -> '%') with 8 bytes of padding so they can
 * be compared a word at a time. */
enum { TRC_OP_LIT = 0, TRC_OP_NUM, TRC_OP_STR };
#define TRC_MAX_OPS  24
#define TRC_MAX_LITS 200
struct trc_op {
    uint8_t kind;
    char conv; /* 'u' 'd' 'x' 's' */
    uint8_t slot;
    uint8_t len;  /* literal length */
    uint16_t off; /* literal offset in lit[] */
};
struct trc_cpat {
    uint8_t used; /* this variant exists */
    uint8_t nops;
    struct trc_op op[TRC_MAX_OPS];
    char lit[TRC_MAX_LITS + 8];
};
/* 0, or -1 for a pattern the compiler cannot take (programmer error). */
int trc_cpat_compile(const char *pat, struct trc_cpat *c);
/* As trc_match_pattern(). */
int trc_cpat_match(const struct trc_cpat *c, const char *s, size_t len,
                   struct trc_record *rec);
/* Leading decimal digits (at most 8) of s and their value. */
unsigned trc_swar_digit_run(const char *s, size_t len, uint64_t *v);

/* ---- reader ---- */
enum src_kind { SRC_NONE = 0, SRC_MMAP, SRC_GZ, SRC_MEM };

struct trc_input {
    char *name;
    bool is_stdin;
    const char *mem;
    size_t mem_len;
};

struct name_slot {
    const char *name;
    uint16_t len;
    uint16_t ev;
};

#define TRC_NAME_HASH 1024u /* power of two, > 2x catalogue names */

struct trc_pcache {
    char pc[40];
    size_t pc_len;
    enum trc_format pc_fmt;
    int64_t pc_tid, pc_base;
};

struct trc_par;
struct trc_hasher;
struct trc_input_ops;

struct hmp_state {
    bool active;
    bool have_status;
    uint64_t start_line;
    struct trc_snapshot snap;
};

struct trc_reader {
    struct trc_options opt;
    struct trc_decls *decls;
    struct name_slot names[TRC_NAME_HASH];

    struct trc_input *inputs;
    unsigned n_inputs;
    unsigned cur; /* index of the open input; n_inputs when done */
    bool stdin_used;

    /* current source */
    enum src_kind kind;
    bool open;
    bool binary; /* simpletrace */
    bool eof;
    int fd;
    /* streamed input (SRC_GZ: gzip file, pipe, FIFO, stdin): read() into
     * zin, inflated (gzip) or copied (plain) into buf */
    z_stream zs;
    bool zs_on;         /* inflate initialised */
    bool gz_plain;      /* not gzip: bytes copied as read */
    bool gz_end;        /* the last gzip member ended (trailer checked) */
    bool in_eof;        /* read() returned 0 */
    unsigned char *zin; /* compressed input buffer */
    uint64_t in_bytes;  /* bytes read from the fd */
    /* SHA-256 of the first input as read (opt.sha256), NULL when off */
    struct hash_sha256 *hash;
    uint64_t hashed; /* mapped input: file bytes hashed so far */
    /* a big mapped input is hashed on a thread of its own, overlapped
     * with parsing (trace_src.c); NULL: hashed as windows are mapped */
    struct trc_hasher *hasher;
    uint64_t file_size; /* regular files */
    uint64_t win_off;   /* file offset of win[0] (mmap) */
    char *map;          /* mmap window */
    size_t map_len;
    char *buf; /* read buffer (gz) */
    size_t buf_cap;
    const char *win;     /* current window start */
    const char *p, *end; /* unread data */
    uint64_t consumed;   /* bytes of this input before win */
    uint64_t done_bytes; /* finished inputs, for progress */
    uint64_t total_bytes;
    uint64_t line; /* last line number handed out in this input */
    bool skipping; /* inside an over-long line */

    /* a line to handle again after an HMP snapshot was emitted */
    bool replay;
    const char *replay_s;
    size_t replay_len;

    struct hmp_state hmp;
    struct trc_snapshot snap_out;
    char qmp_name[48]; /* QMP event name / status (records point here) */
    char qmp_str[48];

    /* simpletrace */
    uint64_t simple_rec;
    char **id_names;
    uint32_t *id_lens;
    size_t n_ids;
    size_t id_name_bytes;

    struct trc_stats st;
    unsigned last_unknown;
    struct trc_record rec_buf; /* trc_reader_next_ref's record */

    /* compiled catalogue patterns [event][variant] */
    struct trc_cpat (*cpat)[4];

    /* last "TID@SEC." / "PID@<ns without its last 9 digits>" prefix */
    struct trc_pcache pc;
    unsigned char evflags[TRC_EV_COUNT];

    /* the input reader of the open input (trace.c chooses it) */
    const struct trc_input_ops *ops;
    /* parallel parsing of a big regular file (trace_par.c), NULL when off */
    struct trc_par *par;
};

/* ---- input readers (trace_line.c, trace_par.c, trace_simple.c) ---- */

/* How records come out of one open input.  trace.c asks each reader in
 * turn whether it takes a freshly opened input. */
struct trc_input_ops {
    const char *name;
    /* 1: this reader takes the input, 0: not this one, -1: fatal. */
    int (*open)(struct trc_reader *r, char *err, size_t errlen);
    /* 1 record (*out points at it), 0 end of this input, -1 fatal. */
    int (*next)(struct trc_reader *r, struct trc_record *rec,
                const struct trc_record **out, char *err, size_t errlen);
    /* Release what open took (NULL: nothing). */
    void (*stop)(struct trc_reader *r);
    /* Bytes of this input consumed (NULL: the source's position). */
    uint64_t (*pos)(const struct trc_reader *r);
};
extern const struct trc_input_ops trc_simple_ops; /* trace_simple.c */
extern const struct trc_input_ops trc_par_ops;    /* trace_par.c */
extern const struct trc_input_ops trc_text_ops;   /* trace_line.c */

/* ---- services (trace_core.c) ---- */

/* Fill the reader's name hash from the catalogue. */
void trc_build_names(struct trc_reader *r);
/* Record a malformed input at file:line; 0 to go on, -1 if strict (err
 * holds the message). */
int trc_malformed(struct trc_reader *r, uint64_t line, char *err, size_t errlen,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
const char *trc_cur_name(const struct trc_reader *r);
/* Catalogue lookup through the reader's hash (fast path). */
enum trc_ev trc_name_lookup_r(const struct trc_reader *r, const char *s,
                              size_t n);
/* Count an event that is not in the catalogue. */
void trc_count_unknown(struct trc_reader *r, const char *name, size_t n);

/* ---- sources (trace_src.c) ---- */

/* Open r->inputs[r->cur] (map, gzip stream or memory). */
int trc_src_open(struct trc_reader *r, char *err, size_t errlen);
/* Close the open input and move to the next one. */
void trc_src_close(struct trc_reader *r);
/* Make at least n bytes available at r->p (compacting/remapping); returns
 * the bytes available (< n only at end of input), -1 on I/O error. */
long trc_src_need(struct trc_reader *r, size_t n, char *err, size_t errlen);
/* Next line of the open input: 1 (line in *s and *len, without '\n'),
 * 0 at its end, 2 an over-long line was skipped, -1 error. */
int trc_src_next_line(struct trc_reader *r, const char **s, size_t *len,
                      char *err, size_t errlen);
/* Bytes of the open input consumed so far. */
uint64_t trc_src_pos(const struct trc_reader *r);

/* ---- line prefixes (trace_time.c) ---- */

/* A "TID@SEC.USEC:" (log-tid) or "PID@NS " (stap) prefix at s: its length
 * (0 if none), its format, thread id and time. */
size_t trc_parse_at_prefix(const char *s, size_t len, enum trc_format *fmt,
                           int64_t *tid, int64_t *t);
/* The same through a cache of the last prefix seen. */
size_t trc_prefix_cached(struct trc_pcache *r, const char *s, size_t len,
                         enum trc_format *fmt, int64_t *tid, int64_t *t);

/* ---- text lines (trace_line.c) ---- */

enum { PL_NOT = 0, PL_RECORD = 1, PL_BAD = -1 };
/* An event "name args" at s; PL_RECORD, PL_NOT or PL_BAD (*why set).
 * Reads only the reader's immutable tables (safe on the helper thread);
 * the caller counts the event (count_event). */
int trc_parse_event_pure(const struct trc_reader *r, const char *s, size_t len,
                         bool certain, struct trc_record *rec,
                         const char **why);
/* Classify and parse one text line (any format, HMP dumps included):
 * 1 record, 0 nothing to hand out, -1 fatal. */
int trc_text_line(struct trc_reader *r, const char *s, size_t len,
                  struct trc_record *rec, char *err, size_t errlen);
/* At the end of a text input: the record of an HMP dump still open (1),
 * or 0. */
int trc_text_end(struct trc_reader *r, struct trc_record *rec);

/* ---- simpletrace (trace_simple.c) ---- */
void trc_simple_reset(struct trc_reader *r);
bool trc_simple_magic(const void *p, size_t len);

/* ---- QMP / HMP (trace_qmp.c) ---- */
/* Parse a JSON line; 1 record filled, 0 not QMP (other), -1 malformed
 * (message in why). */
int trc_qmp_line(struct trc_reader *r, const char *s, size_t len,
                 struct trc_record *rec, char *why, size_t whylen);
/* Is this line the start of an HMP dump? */
bool trc_hmp_start(const char *s, size_t len);
/* Feed a line to an active dump; true if it belonged to the dump. */
bool trc_hmp_line(struct hmp_state *h, const char *s, size_t len);
/* Fill a snapshot record from the finished dump and end it; false (no
 * record) when the dump held no migration field. */
bool trc_hmp_emit(struct trc_reader *r, struct trc_record *rec);

/* ---- hot-path helpers (inline: every line goes through them) ---- */

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline bool is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
           c == '_';
}

static inline size_t ident_len(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && is_ident(s[i])) {
        i++;
    }
    return i;
}

/* Does a name without a certain prefix look like a QEMU trace event?
 * Lowercase identifier with at least one underscore. */
static inline bool looks_like_event(const char *s, size_t n)
{
    if (n < 3 || !(s[0] >= 'a' && s[0] <= 'z')) {
        return false;
    }
    bool us = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_') {
            us = true;
        } else if (s[i] >= 'A' && s[i] <= 'Z') {
            return false;
        }
    }
    return us;
}

static inline bool has_binary(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
            return true;
        }
    }
    return false;
}

static inline uint64_t load8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TRC_SWAR 1
/* Leading ASCII digits among the 8 bytes of w (first byte lowest). */
static inline unsigned digit_run8(uint64_t w)
{
    uint64_t a = w ^ 0x3030303030303030ull;
    uint64_t nd = (((a & 0x7f7f7f7f7f7f7f7full) + 0x7676767676767676ull) | a) &
                  0x8080808080808080ull;
    return nd ? (unsigned)(__builtin_ctzll(nd) >> 3) : 8;
}

/* Value of the first k (1..8) digits of w: shift them to the top so the
 * missing ones become leading zeros, then add pairs, quads, octets. */
static inline uint64_t digits_value(uint64_t w, unsigned k)
{
    uint64_t a = (w ^ 0x3030303030303030ull) << (8 * (8 - k));
    a = (a * 10 + (a >> 8)) & 0x00ff00ff00ff00ffull;
    a = (a * 100 + (a >> 16)) & 0x0000ffff0000ffffull;
    a = (a * 10000 + (a >> 32)) & 0xffffffffull;
    return a;
}
#else
#define TRC_SWAR 0
#endif

static inline bool lit_eq(const char *s, const char *lit, size_t n)
{
    size_t i = 0;
#if TRC_SWAR
    if (n >= 8) {
        while (n - i > 8) {
            if (load8(s + i) != load8(lit + i)) {
                return false;
            }
            i += 8;
        }
        /* the last 8 bytes, overlapping what was compared */
        return load8(s + n - 8) == load8(lit + n - 8);
    }
#endif
    for (; i < n; i++) {
        if (s[i] != lit[i]) {
            return false;
        }
    }
    return true;
}

static inline __attribute__((always_inline)) unsigned
swar_run(const char *s, size_t len, uint64_t *v)
{
#if TRC_SWAR
    if (len >= 8) {
        uint64_t w = load8(s);
        unsigned k = digit_run8(w);
        *v = k ? digits_value(w, k) : 0;
        return k;
    }
#endif
    unsigned k = 0;
    uint64_t x = 0;
    while (k < 8 && k < len && s[k] >= '0' && s[k] <= '9') {
        x = x * 10 + (uint64_t)(s[k] - '0');
        k++;
    }
    *v = x;
    return k;
}

static inline uint32_t name_hash(const char *s, size_t n)
{
    uint64_t h = (uint64_t)n * 0x9e3779b97f4a7c15ull;
    if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        size_t last = n - 8;
        memcpy(&b, &s[last], 8);
        h ^= a * 0xff51afd7ed558ccdull;
        h ^= (b + (h >> 29)) * 0xc4ceb9fe1a85ec53ull;
    } else {
        for (size_t i = 0; i < n; i++) {
            h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
        }
    }
    h ^= h >> 31;
    return (uint32_t)h;
}

static inline __attribute__((always_inline)) enum trc_ev
name_lookup(const struct trc_reader *r, const char *s, size_t n)
{
    uint32_t i = name_hash(s, n) & (TRC_NAME_HASH - 1);
    for (;;) {
        const struct name_slot *e = &r->names[i];
        if (!e->name) {
            return TRC_EV_UNKNOWN;
        }
        if (e->len == n && lit_eq(s, e->name, n)) {
            return (enum trc_ev)e->ev;
        }
        i = (i + 1) & (TRC_NAME_HASH - 1);
    }
}

static inline void count_event(struct trc_reader *r,
                               const struct trc_record *rec)
{
    if (rec->ev >= TRC_EV_SET_STATE) {
        r->st.known++;
        r->st.per_event[rec->ev]++;
    } else if (rec->ev == TRC_EV_OTHER_KNOWN) {
        r->st.per_event[TRC_EV_OTHER_KNOWN]++;
    } else {
        trc_count_unknown(r, rec->name, rec->name_len);
    }
}

static inline void set_rec_base(struct trc_reader *r, struct trc_record *rec)
{
    rec->file = r->cur;
    rec->line = r->line;
    rec->t_ns = TRC_NO_TIME;
    rec->tid = -1;
}

static inline int finish_record(struct trc_reader *r, struct trc_record *rec,
                                enum trc_format f)
{
    rec->format = f;
    r->st.per_format[f]++;
    if (rec->kind == TRC_REC_EVENT) {
        r->st.events++;
        if (r->opt.lazy && rec->ev >= TRC_EV_SET_STATE &&
            !(r->evflags[rec->ev] & TRC_EVF_TIMELINE)) {
            return 0; /* lazy: counted, not handed out */
        }
    }
    r->st.records++;
    return 1;
}

#endif
