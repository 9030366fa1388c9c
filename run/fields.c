/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * run/fields.c — the field table of the run record, human formatting, and
 * the one field-table-driven JSON/CSV writer (see run/fields.h).
 */
#include "run/fields.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/units.h"

#define F(T, n, c, u, l)                                                       \
    {                                                                          \
#n, c, u, offsetof(T, n), l, RUN_T_NONE, 0                             \
    }
#define MF(n, c, u, l) F(struct run_metrics, n, c, u, l)
#define SF(n, c, u, l) F(struct run_sample, n, c, u, l)
#define DF(n, c, u, l) F(struct run_device_result, n, c, u, l)
#define STRF(T, n, l)                                                          \
    {                                                                          \
#n, RUN_C_UINT, RUN_U_NONE, offsetof(T, n), l, RUN_T_STR,              \
            sizeof(((T *)0)->n)                                                \
    }

/* The whole record in one table: the numeric metrics, the metrics' text
 * fields, the sample fields, the device fields (sections below). */
/* clang-format off */
static const struct run_field fields[] = {
    MF(total_ns, RUN_C_I64, RUN_U_NS, "total time"),
    MF(downtime_ns, RUN_C_I64, RUN_U_NS, "downtime (guest-visible)"),
    MF(src_downtime_ns, RUN_C_I64, RUN_U_NS, "downtime (source, query-migrate)"),
    MF(setup_ns, RUN_C_I64, RUN_U_NS, "setup time"),
    MF(downtime_limit_ns, RUN_C_I64, RUN_U_NS, "downtime limit"),
    MF(downtime_violation, RUN_C_BOOL, RUN_U_BOOL, "downtime limit exceeded"),
    MF(iterations, RUN_C_U64, RUN_U_COUNT, "iterations"),
    MF(bitmap_syncs, RUN_C_U64, RUN_U_COUNT, "dirty bitmap syncs"),
    MF(estimate_calls, RUN_C_U64, RUN_U_COUNT, "estimate() calls"),
    MF(exact_calls, RUN_C_U64, RUN_U_COUNT, "exact() calls"),
    MF(exact_calls_per_s, RUN_C_DBL, RUN_U_NONE, "exact() calls per second"),
    MF(sync_time_ns, RUN_C_I64, RUN_U_NS, "time in bitmap syncs"),
    MF(bql_ns, RUN_C_I64, RUN_U_NS, "BQL held (migration thread)"),
    MF(spin_cpu_ns, RUN_C_I64, RUN_U_NS, "CPU in iterations moving no data"),
    MF(bytes_transferred, RUN_C_U64, RUN_U_BYTES, "bytes transferred"),
    MF(precopy_bytes, RUN_C_U64, RUN_U_BYTES, "precopy bytes"),
    MF(downtime_bytes, RUN_C_U64, RUN_U_BYTES, "bytes in downtime"),
    MF(postcopy_bytes, RUN_C_U64, RUN_U_BYTES, "postcopy bytes"),
    MF(expected_downtime_ns, RUN_C_I64, RUN_U_NS, "expected downtime (last)"),
    MF(max_throttle_pct, RUN_C_DBL, RUN_U_PCT, "max CPU throttle"),
    MF(postcopy, RUN_C_BOOL, RUN_U_BOOL, "postcopy used"),
    {"outcome", RUN_C_UINT, RUN_U_NONE, offsetof(struct run_metrics, outcome),
     "outcome", RUN_T_OUTCOME, 0},
    STRF(struct run_metrics, qemu, "QEMU model"),
    STRF(struct run_metrics, policy, "policy"),
    {"fingerprint", RUN_C_U64, RUN_U_NONE,
     offsetof(struct run_metrics, fingerprint), "fingerprint", RUN_T_HEX64, 0},
    SF(t_ns, RUN_C_I64, RUN_U_NS, "time"),
    SF(iteration, RUN_C_U64, RUN_U_COUNT, "iteration"),
    SF(estimate_bytes, RUN_C_U64, RUN_U_BYTES, "estimate (must + can)"),
    SF(exact_bytes, RUN_C_U64, RUN_U_BYTES, "exact (must + can)"),
    SF(exact_called, RUN_C_BOOL, RUN_U_BOOL, "exact() called"),
    SF(threshold_bytes, RUN_C_U64, RUN_U_BYTES, "threshold"),
    SF(bandwidth_bps, RUN_C_DBL, RUN_U_BPS, "bandwidth"),
    SF(ram_dirty_bytes, RUN_C_U64, RUN_U_BYTES, "RAM dirty"),
    SF(dirty_rate_bps, RUN_C_U64, RUN_U_BPS, "dirty rate"),
    SF(sent_bytes, RUN_C_U64, RUN_U_BYTES, "sent this iteration"),
    SF(downtime_limit_ns, RUN_C_I64, RUN_U_NS, "downtime limit"),
    SF(throttle_pct, RUN_C_DBL, RUN_U_PCT, "CPU throttle"),
    SF(expected_downtime_ns, RUN_C_I64, RUN_U_NS, "expected downtime"),
    SF(n_devices, RUN_C_UINT, RUN_U_COUNT, "devices"),
    STRF(struct run_device_result, name, "device"),
    DF(precopy_bytes, RUN_C_U64, RUN_U_BYTES, "pre-copy"),
    DF(stop_copy_bytes, RUN_C_U64, RUN_U_BYTES, "stop-copy"),
    DF(save_ns, RUN_C_I64, RUN_U_NS, "save"),
    DF(load_ns, RUN_C_I64, RUN_U_NS, "load"),
};
/* clang-format on */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Sections of fields[]: start and length. */
enum {
    N_METRIC = 21,
    N_TEXT = 4,
    N_SAMPLE = 14,
    N_DEVICE = 5,
    AT_TEXT = N_METRIC,
    AT_SAMPLE = AT_TEXT + N_TEXT,
    AT_DEVICE = AT_SAMPLE + N_SAMPLE,
};
_Static_assert(AT_DEVICE + N_DEVICE == COUNT(fields), "field sections");
static const struct run_field *const metric_fields = fields;
static const struct run_field *const metric_text_fields = fields + AT_TEXT;
static const struct run_field *const sample_fields = fields + AT_SAMPLE;
static const struct run_field *const device_fields = fields + AT_DEVICE;

const struct run_field *run_metric_fields(size_t *n)
{
    *n = N_METRIC;
    return metric_fields;
}

const struct run_field *run_sample_fields(size_t *n)
{
    *n = N_SAMPLE;
    return sample_fields;
}

const struct run_field *run_device_fields(size_t *n)
{
    *n = N_DEVICE;
    return device_fields;
}

static const struct run_field *find(const struct run_field *t, size_t n,
                                    const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(t[i].name, name) == 0) {
            return &t[i];
        }
    }
    return NULL;
}

const struct run_field *run_metric_field(const char *name)
{
    const struct run_field *f = find(metric_fields, N_METRIC, name);
    return f ? f : find(metric_text_fields, N_TEXT, name);
}

const struct run_field *run_sample_field(const char *name)
{
    return find(sample_fields, N_SAMPLE, name);
}

static const struct run_field *rec_field(enum run_rec rec, const char *name)
{
    switch (rec) {
    case RUN_REC_METRICS:
        return run_metric_field(name);
    case RUN_REC_SAMPLE:
        return run_sample_field(name);
    case RUN_REC_DEVICE:
        return find(device_fields, N_DEVICE, name);
    }
    return NULL;
}

/* ---- values ----------------------------------------------------------- */

static int64_t get_i64(const void *p)
{
    int64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t get_u64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static double get_dbl(const void *p)
{
    double v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static bool get_bool(const void *p)
{
    bool v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static unsigned get_uint(const void *p)
{
    unsigned v;
    memcpy(&v, p, sizeof(v));
    return v;
}

double run_field_value(const struct run_field *f, const void *base)
{
    const char *p = (const char *)base + f->offset;
    switch (f->ctype) {
    case RUN_C_I64:
        return (double)get_i64(p);
    case RUN_C_U64:
        return (double)get_u64(p);
    case RUN_C_DBL:
        return get_dbl(p);
    case RUN_C_BOOL:
        return get_bool(p) ? 1.0 : 0.0;
    case RUN_C_UINT:
        return f->text == RUN_T_STR ? NAN : (double)get_uint(p);
    }
    return NAN;
}

/* Text of a text field into buf (a fixed array may lack its NUL). */
static const char *text_of(const struct run_field *f, const void *base,
                           char *buf, size_t len)
{
    const char *p = (const char *)base + f->offset;
    if (f->text == RUN_T_OUTCOME) {
        enum run_outcome o;
        memcpy(&o, p, sizeof(o));
        return run_outcome_name(o);
    }
    if (f->text == RUN_T_HEX64) {
        snprintf(buf, len, "%016" PRIx64, get_u64(p));
        return buf;
    }
    size_t n = strnlen(p, f->size);
    if (n >= len) {
        n = len - 1;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

static bool is_text(const struct run_field *f)
{
    return f->text != RUN_T_NONE;
}

/* Times, sizes and rates through the one formatter (base/units.h), so a
 * figure reads the same in every table ("21.0 GB", "4.0 GiB", "300 ms");
 * a negative value (a delta) is its magnitude with a '-'. */
static char *fmt_units(enum run_unit u, double v, char *buf, size_t len)
{
    char tmp[48];
    double a = fabs(v);
    if (!isfinite(a) || a >= 9.2e18) {
        snprintf(buf, len, "%.4g", v);
        return buf;
    }
    if (u == RUN_U_NS) {
        units_fmt_time((int64_t)llround(a), tmp, sizeof(tmp));
    } else if (u == RUN_U_BYTES) {
        units_fmt_size((uint64_t)llround(a), tmp, sizeof(tmp));
    } else {
        units_fmt_rate(a, tmp, sizeof(tmp));
    }
    snprintf(buf, len, "%s%s", v < 0 ? "-" : "", tmp);
    return buf;
}

char *run_format_value(enum run_unit u, double v, char *buf, size_t len)
{
    if (isnan(v)) {
        snprintf(buf, len, "-");
        return buf;
    }
    switch (u) {
    case RUN_U_NS:
    case RUN_U_BYTES:
    case RUN_U_BPS:
        return fmt_units(u, v, buf, len);
    case RUN_U_COUNT:
        snprintf(buf, len, "%.0f", v);
        return buf;
    case RUN_U_PCT:
        snprintf(buf, len, "%.1f %%", v);
        return buf;
    case RUN_U_BOOL:
        snprintf(buf, len, "%s", v != 0 ? "yes" : "no");
        return buf;
    case RUN_U_NONE:
        break;
    }
    snprintf(buf, len, "%.4g", v);
    return buf;
}

char *run_field_format(const struct run_field *f, const void *base, char *buf,
                       size_t len)
{
    if (is_text(f)) {
        char tmp[256];
        snprintf(buf, len, "%s", text_of(f, base, tmp, sizeof(tmp)));
        return buf;
    }
    if (run_field_needs_switchover(f) &&
        !run_switched_over((const struct run_metrics *)base)) {
        snprintf(buf, len, "-");
        return buf;
    }
    return run_format_value(f->unit, run_field_value(f, base), buf, len);
}

/* ---- the writer ------------------------------------------------------- */

int run_cols_check(enum run_rec rec, const struct run_col *cols, char *err,
                   size_t errlen)
{
    for (; cols->name; cols++) {
        if (!rec_field(rec, cols->field ? cols->field : cols->name)) {
            err_set(err, errlen, "column %s: no field %s", cols->name,
                    cols->field ? cols->field : cols->name);
            return -1;
        }
    }
    return 0;
}

static const struct run_field *col_field(enum run_rec rec,
                                         const struct run_col *c)
{
    const struct run_field *f = rec_field(rec, c->field ? c->field : c->name);
    if (!f) {
        /* the subsets are constants checked by the tests */
        fprintf(stderr, "migsim: internal: column %s has no field\n", c->name);
        abort();
    }
    return f;
}

static const struct run_field *rec_table(enum run_rec rec, size_t *n)
{
    switch (rec) {
    case RUN_REC_METRICS:
        return run_metric_fields(n);
    case RUN_REC_SAMPLE:
        return run_sample_fields(n);
    case RUN_REC_DEVICE:
        break;
    }
    return run_device_fields(n);
}

/* Column i of a subset (RUN_COLS_ALL: field i of the table, exact). */
static size_t col_count(enum run_rec rec, const struct run_col *cols)
{
    size_t n = 0;
    if (!cols) {
        rec_table(rec, &n);
        return n;
    }
    while (cols[n].name) {
        n++;
    }
    return n;
}

static const struct run_field *col_at(enum run_rec rec,
                                      const struct run_col *cols, size_t i,
                                      struct run_col *c)
{
    if (!cols) {
        size_t n;
        const struct run_field *f = &rec_table(rec, &n)[i];
        *c = (struct run_col){f->name, NULL, RUN_F_RAW, 0, CSV_QUOTE_MINIMAL};
        return f;
    }
    *c = cols[i];
    return col_field(rec, c);
}

const struct run_col run_cols_total_ms[] = {
    {"total_ms", "total_ns", RUN_F_MS, 6, CSV_QUOTE_MINIMAL},
    {NULL, NULL, 0, 0, 0},
};

size_t run_cols_pick(const struct run_col *from, const char *const *names,
                     struct run_col *out, size_t cap)
{
    size_t n = 0, want = 0;
    while (names[want]) {
        want++;
    }
    for (; from->name; from++) {
        for (size_t i = 0; i < want; i++) {
            if (strcmp(names[i], from->name) == 0 && n + 1 < cap) {
                out[n++] = *from;
                break;
            }
        }
    }
    if (n != want) {
        fprintf(stderr,
                "migsim: internal: column subset of %zu names has %zu\n", want,
                n);
        abort();
    }
    out[n] = (struct run_col){NULL, NULL, 0, 0, 0};
    return n;
}

void run_csv_header(FILE *f, enum run_rec rec, const struct run_col *cols,
                    bool lead)
{
    size_t n = col_count(rec, cols);
    for (size_t i = 0; i < n; i++) {
        struct run_col c;
        col_at(rec, cols, i, &c);
        if (lead || i > 0) {
            fputc(',', f);
        }
        fputs(c.name, f);
    }
}

static void csv_raw(FILE *out, const struct run_field *f, const char *p)
{
    switch (f->ctype) {
    case RUN_C_I64:
        fprintf(out, "%" PRId64, get_i64(p));
        return;
    case RUN_C_U64:
        fprintf(out, "%" PRIu64, get_u64(p));
        return;
    case RUN_C_DBL: {
        double v = get_dbl(p);
        if (isnan(v)) {
            fputs("nan", out);
        } else {
            fprintf(out, "%.17g", v);
        }
        return;
    }
    case RUN_C_BOOL:
        fputc(get_bool(p) ? '1' : '0', out);
        return;
    case RUN_C_UINT:
        fprintf(out, "%u", get_uint(p));
        return;
    }
}

/* ---- runs that did not switch over ----------------------------------- */

bool run_switched_over(const struct run_metrics *m)
{
    return m->outcome == RUN_CONVERGED;
}

bool run_field_needs_switchover(const struct run_field *f)
{
    size_t n;
    const struct run_field *mf = run_metric_fields(&n);
    if (f < mf || f >= mf + n) {
        return false;
    }
    return strcmp(f->name, "downtime_ns") == 0 ||
           strcmp(f->name, "src_downtime_ns") == 0 ||
           strcmp(f->name, "downtime_bytes") == 0;
}

/* A display column (not RUN_F_RAW) of a metric that has no value. */
static bool col_missing(enum run_rec rec, const struct run_col *c,
                        const struct run_field *f, const void *base)
{
    return rec == RUN_REC_METRICS && c->fmt != RUN_F_RAW &&
           run_field_needs_switchover(f) &&
           !run_switched_over((const struct run_metrics *)base);
}

static void csv_cell(FILE *out, const struct run_col *c,
                     const struct run_field *f, const void *base)
{
    const char *p = (const char *)base + f->offset;
    if (is_text(f)) {
        char buf[256];
        csv_put(out, text_of(f, base, buf, sizeof(buf)), c->quote);
        return;
    }
    double v = run_field_value(f, base);
    switch (c->fmt) {
    case RUN_F_RAW:
        csv_raw(out, f, p);
        return;
    case RUN_F_MS_POS:
        if (v < 0) {
            fprintf(out, "%.*f", c->prec, -1.0);
            return;
        }
        /* fall through */
    case RUN_F_MS:
        fprintf(out, "%.*f", c->prec, (double)get_i64(p) / 1e6);
        return;
    case RUN_F_FIX:
        fprintf(out, "%.*f", c->prec, v);
        return;
    case RUN_F_G:
        fprintf(out, "%.*g", c->prec, v);
        return;
    case RUN_F_INT:
        if (f->ctype == RUN_C_I64) {
            fprintf(out, "%" PRId64, get_i64(p));
        } else if (f->ctype == RUN_C_BOOL) {
            fprintf(out, "%d", get_bool(p) ? 1 : 0);
        } else {
            csv_raw(out, f, p);
        }
        return;
    }
}

void run_csv_row(FILE *f, enum run_rec rec, const struct run_col *cols,
                 const void *base, bool lead)
{
    size_t n = col_count(rec, cols);
    for (size_t i = 0; i < n; i++) {
        struct run_col c;
        const struct run_field *fd = col_at(rec, cols, i, &c);
        if (lead || i > 0) {
            fputc(',', f);
        }
        if (base) {
            if (col_missing(rec, &c, fd, base)) {
                fputc('-', f);
            } else {
                csv_cell(f, &c, fd, base);
            }
        }
    }
}

/* json_string of arbitrary bytes: invalid UTF-8 bytes become '?'. */
static json_t *j_text(const char *s)
{
    json_t *j = json_string(s);
    if (j) {
        return j;
    }
    char *c = strdup(s);
    if (!c) {
        return NULL;
    }
    for (char *p = c; *p; p++) {
        if ((unsigned char)*p >= 0x80) {
            *p = '?';
        }
    }
    j = json_string(c);
    free(c);
    return j;
}

json_t *run_field_json(const struct run_field *f, const void *base)
{
    const char *p = (const char *)base + f->offset;
    char buf[256];
    if (is_text(f)) {
        return j_text(text_of(f, base, buf, sizeof(buf)));
    }
    switch (f->ctype) {
    case RUN_C_I64:
        return json_integer((json_int_t)get_i64(p));
    case RUN_C_U64: {
        uint64_t v = get_u64(p);
        if (v <= (uint64_t)INT64_MAX) {
            return json_integer((json_int_t)v);
        }
        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return json_string(buf);
    }
    case RUN_C_DBL: {
        double v = get_dbl(p);
        if (isnan(v)) {
            return json_string("nan");
        }
        if (isinf(v)) {
            return json_string(v > 0 ? "inf" : "-inf");
        }
        return json_real(v);
    }
    case RUN_C_BOOL:
        return json_boolean(get_bool(p));
    case RUN_C_UINT:
        return json_integer((json_int_t)get_uint(p));
    }
    return json_null();
}

static json_t *col_json(const struct run_col *c, const struct run_field *f,
                        const void *base)
{
    const char *p = (const char *)base + f->offset;
    if (is_text(f) || c->fmt == RUN_F_RAW) {
        return run_field_json(f, base);
    }
    switch (c->fmt) {
    case RUN_F_MS:
    case RUN_F_MS_POS:
        return json_real((double)get_i64(p) / 1e6);
    case RUN_F_INT:
        switch (f->ctype) {
        case RUN_C_BOOL:
            return json_boolean(get_bool(p));
        case RUN_C_U64:
            return json_integer((json_int_t)get_u64(p));
        case RUN_C_UINT:
            return json_integer((json_int_t)get_uint(p));
        default:
            return json_integer((json_int_t)get_i64(p));
        }
    default:
        return json_real(run_field_value(f, base));
    }
}

void run_json_set(json_t *o, enum run_rec rec, const struct run_col *cols,
                  const void *base)
{
    size_t n = col_count(rec, cols);
    for (size_t i = 0; i < n; i++) {
        struct run_col c;
        const struct run_field *f = col_at(rec, cols, i, &c);
        json_object_set_new(o, c.name,
                            col_missing(rec, &c, f, base)
                                ? json_null()
                                : col_json(&c, f, base));
    }
}

void run_csv_dev_header(FILE *f, unsigned n)
{
    for (unsigned d = 0; d < n && d < RUN_MAX_DEVICES; d++) {
        fprintf(f, ",dev%u_reported_bytes,dev%u_stop_copy_bytes", d, d);
    }
}

void run_csv_dev_row(FILE *f, const struct run_sample *s, unsigned n,
                     bool blank_missing)
{
    for (unsigned d = 0; d < n && d < RUN_MAX_DEVICES; d++) {
        if (blank_missing && d >= s->n_devices) {
            fputs(",,", f);
        } else {
            fprintf(f, ",%" PRIu64 ",%" PRIu64, s->dev_reported_bytes[d],
                    s->dev_stop_copy_bytes[d]);
        }
    }
}
