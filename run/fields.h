/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * run/fields.h — the field table of the run record and the one writer of
 * metrics and series as JSON objects and CSV rows.
 *
 * Field table: every numeric field of struct run_metrics (not outcome, qemu,
 * policy, fingerprint, n_devices or devices) and of struct run_sample (not
 * the per-device arrays), in display order.  The names are the SQL column
 * names of the store, the JSON keys of `runs export` and its CSV headers.
 * run_field_find() also knows the text fields of the metrics (outcome,
 * qemu, policy, fingerprint), which the writer can print but the numeric
 * loops (store columns, `runs show/diff`) never see.
 *
 * Writer: a command's output columns are a column subset — an array of
 * struct run_col ending with {NULL}: output name, field name, format.  The
 * writer prints one JSON object or one CSV row (or the header) of a struct
 * run_metrics or struct run_sample through it, so every command keeps its
 * own names, order and precision while the values all come from here.
 */
#ifndef MIGSIM_RUN_FIELDS_H
#define MIGSIM_RUN_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "base/csv.h"
#include "run/result.h"

enum run_ctype {
    RUN_C_I64 = 0,
    RUN_C_U64,
    RUN_C_DBL,
    RUN_C_BOOL,
    RUN_C_UINT,
};

/* The text fields of the metrics (never in the numeric tables). */
enum run_text {
    RUN_T_NONE = 0, /* a number */
    RUN_T_OUTCOME,  /* enum run_outcome, printed by name */
    RUN_T_STR,      /* fixed char array of size bytes (NUL optional) */
    RUN_T_HEX64,    /* uint64 printed as 16 hex digits */
};

enum run_unit {
    RUN_U_NONE = 0, /* plain number */
    RUN_U_NS,       /* time, ns */
    RUN_U_BYTES,    /* size, bytes */
    RUN_U_COUNT,    /* integer count */
    RUN_U_BPS,      /* rate, bytes/s */
    RUN_U_PCT,      /* percent */
    RUN_U_BOOL,     /* yes/no */
};

struct run_field {
    const char *name; /* column, JSON key, CSV header */
    enum run_ctype ctype;
    enum run_unit unit;
    size_t offset;     /* into the struct */
    const char *label; /* human label */
    enum run_text text;
    size_t size; /* RUN_T_STR: size of the array */
};

/* The numeric fields (see above). */
const struct run_field *run_metric_fields(size_t *n);
const struct run_field *run_sample_fields(size_t *n);
/* A field of struct run_metrics (numeric or text) or of struct run_sample
 * by name; NULL if there is none. */
const struct run_field *run_metric_field(const char *name);
const struct run_field *run_sample_field(const char *name);

/* Whether a run switched over (outcome converged).  A run that did not has
 * no downtime: its downtime_ns, src_downtime_ns and downtime_bytes (the
 * fields run_field_needs_switchover() names) are printed as "-" in tables
 * and CSV and as null in JSON by every display column (fmt other than
 * RUN_F_RAW; exports keep the stored value), and are left out of means and
 * of the heat maps' colour scale. */
bool run_switched_over(const struct run_metrics *m);
bool run_field_needs_switchover(const struct run_field *f);

/* Value of a numeric field of the struct at base as double. */
double run_field_value(const struct run_field *f, const void *base);
/* Human text ("1.50 s", "21.0 GB", "42", "yes"). Returns buf. */
char *run_field_format(const struct run_field *f, const void *base, char *buf,
                       size_t len);
/* Same formatting for a bare value in a unit. */
char *run_format_value(enum run_unit u, double v, char *buf, size_t len);

/* How a column prints its field. */
enum run_colfmt {
    RUN_F_RAW = 0, /* exact: integers in decimal, doubles %.17g ("nan"),
                      bools 0/1 (JSON: true/false), uint64 above
                      INT64_MAX as a JSON string, non-finite JSON doubles
                      "nan"/"inf"/"-inf" */
    RUN_F_MS,      /* ns as milliseconds, "%.*f" with prec (JSON: real) */
    RUN_F_MS_POS,  /* as RUN_F_MS, but a negative time prints as -1 */
    RUN_F_FIX,     /* number "%.*f" with prec (JSON: real) */
    RUN_F_G,       /* number "%.*g" with prec (JSON: real) */
    RUN_F_INT,     /* bool or count as a plain integer (JSON: integer) */
};

struct run_col {
    const char *name;  /* output name; NULL ends a subset */
    const char *field; /* field name; NULL: same as name */
    enum run_colfmt fmt;
    int prec;
    enum csv_quote quote; /* text fields in CSV */
};

/* The subset of every numeric field of the table, in table order, exact
 * (RUN_F_RAW) and named as the fields. */
#define RUN_COLS_ALL ((const struct run_col *)NULL)

/* Derived columns shown beside a stored field in every JSON document that
 * has it: total_ms (total_ns in milliseconds, exact).  `runs export` /
 * `runs show -f json` metrics and `runs diff -f json` take it from here;
 * simulate, sweep and replay name it in their own subsets. */
extern const struct run_col run_cols_total_ms[];

/* The most columns a subset has. */
#define RUN_COLS_MAX 64

/* A subset by names: out[] gets the columns of from named in names[]
 * (NULL-terminated), in from's order, and the {NULL} end; cap counts it.
 * Returns the number of columns; aborts if a name is not in from or cap is
 * too small (subsets are constants). */
size_t run_cols_pick(const struct run_col *from, const char *const *names,
                     struct run_col *out, size_t cap);

/* Which struct a subset reads. */
enum run_rec { RUN_REC_METRICS = 0, RUN_REC_SAMPLE, RUN_REC_DEVICE };

/* The fields of struct run_device_result (name is text). */
const struct run_field *run_device_fields(size_t *n);

/* 0 if every column of the subset names a field of rec, else -1 with the
 * column in err.  (The writers abort on an unknown field: subsets are
 * constants, checked by the tests with this.) */
int run_cols_check(enum run_rec rec, const struct run_col *cols, char *err,
                   size_t errlen);
/* CSV header: the output names, each preceded by ',' (the first too when
 * lead is true). */
void run_csv_header(FILE *f, enum run_rec rec, const struct run_col *cols,
                    bool lead);
/* One CSV row of the struct at base (struct run_metrics, run_sample or
 * run_device_result as rec says), same separators as the header, no line
 * end.  base NULL prints empty cells. */
void run_csv_row(FILE *f, enum run_rec rec, const struct run_col *cols,
                 const void *base, bool lead);
/* Set the columns of the struct at base into the JSON object o. */
void run_json_set(json_t *o, enum run_rec rec, const struct run_col *cols,
                  const void *base);
/* The exact JSON value of one field (RUN_F_RAW). */
json_t *run_field_json(const struct run_field *f, const void *base);

/* Per-device columns of a sample: ",devN_reported_bytes,devN_stop_copy_bytes"
 * for N < n (header), and the values (row); a device N >= s->n_devices
 * prints ",," when blank_missing, else its stored value. */
void run_csv_dev_header(FILE *f, unsigned n);
void run_csv_dev_row(FILE *f, const struct run_sample *s, unsigned n,
                     bool blank_missing);

#endif
