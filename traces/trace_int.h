/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace_int.h — internals shared by the reader's source files
 * (trace.c, trace_simple.c, trace_events.c, trace_qmp.c).  Not a contract:
 * only traces/trace*.c include it; everyone else uses traces/trace.h.
 */
#ifndef MIGSIM_TRACES_TRACE_INT_H
#define MIGSIM_TRACES_TRACE_INT_H

#include <stdarg.h>
#include <stdio.h>
#include <zlib.h>

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
    gzFile gz;
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

    /* parallel parsing of a big regular file (trace.c), NULL when off */
    struct trc_par *par;
};

/* Record a malformed input at file:line; 0 to go on, -1 if strict (err
 * holds the message). */
int trc_malformed(struct trc_reader *r, uint64_t line, char *err, size_t errlen,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Make at least n bytes available at r->p (compacting/remapping); returns
 * the bytes available (< n only at end of input), -1 on I/O error. */
long trc_src_need(struct trc_reader *r, size_t n, char *err, size_t errlen);
const char *trc_cur_name(const struct trc_reader *r);
/* Catalogue lookup through the reader's hash (fast path). */
enum trc_ev trc_name_lookup_r(const struct trc_reader *r, const char *s,
                              size_t n);
/* Count an event that is not in the catalogue. */
void trc_count_unknown(struct trc_reader *r, const char *name, size_t n);

/* simpletrace (trace_simple.c): after the header was seen.  1 record,
 * 0 end of this input, -1 fatal. */
int trc_simple_next(struct trc_reader *r, struct trc_record *rec, char *err,
                    size_t errlen);
void trc_simple_reset(struct trc_reader *r);
bool trc_simple_magic(const void *p, size_t len);

/* QMP / HMP (trace_qmp.c). */
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

#endif
