/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/export.c — a run as JSON (export and import, exact round trip) or
 * CSV (one table), and merging store files.
 *
 * JSON number rules: uint64 values that do not fit a JSON integer
 * (> INT64_MAX) are written as decimal strings; non-finite doubles as the
 * strings "nan", "inf", "-inf"; the fingerprint as a hex string.  Import
 * accepts both forms.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/csv.h"
#include "base/err.h"
#include "run/fields.h"
#include "store/db_internal.h"

#define EXPORT_FORMAT         "migsim-run"
#define EXPORT_FORMAT_VERSION 1

#ifndef MIGSIM_VERSION
#define MIGSIM_VERSION "unknown"
#endif

/* ---- JSON export ------------------------------------------------------ */

static json_t *j_u64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX) {
        return json_integer((json_int_t)v);
    }
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return json_string(buf);
}

/* json_string of arbitrary bytes: invalid UTF-8 becomes U+FFFD-free '?'. */
static json_t *j_str(const char *s)
{
    if (!s) {
        return json_null();
    }
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

/* Bounded copy of a fixed char array that may lack a NUL. */
static void fixed_str(char *dst, size_t dstlen, const char *src, size_t srclen)
{
    size_t n = strnlen(src, srclen);
    if (n >= dstlen) {
        n = dstlen - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The text fields of the metrics, before the numeric ones. */
static const struct run_col metric_text_cols[] = {
    {"outcome", NULL, RUN_F_RAW, 0, CSV_QUOTE_MINIMAL},
    {"qemu", NULL, RUN_F_RAW, 0, CSV_QUOTE_MINIMAL},
    {"policy", NULL, RUN_F_RAW, 0, CSV_QUOTE_MINIMAL},
    {NULL, NULL, 0, 0, 0},
};

static json_t *run_to_json(const struct db_run_meta *m,
                           const struct run_result *r)
{
    json_t *doc = json_object();
    json_t *meta = json_object();
    char fp[24];
    snprintf(fp, sizeof(fp), "0x%016" PRIx64, m->fingerprint);
    json_object_set_new(doc, "format", json_string(EXPORT_FORMAT));
    json_object_set_new(doc, "format_version",
                        json_integer(EXPORT_FORMAT_VERSION));
    json_object_set_new(doc, "exported_by", json_string(MIGSIM_VERSION));
    json_object_set_new(meta, "id", json_integer((json_int_t)m->id));
    json_object_set_new(meta, "run_key", j_str(m->run_key));
    json_object_set_new(meta, "kind", json_string(db_kind_name(m->kind)));
    json_object_set_new(meta, "complete", json_boolean(m->complete));
    json_object_set_new(meta, "source_path", j_str(m->source_path));
    json_object_set_new(meta, "source_sha256", j_str(m->source_sha256));
    json_object_set_new(meta, "qemu", j_str(m->qemu));
    json_object_set_new(meta, "policy", j_str(m->policy));
    json_object_set_new(meta, "seed", j_u64(m->seed));
    json_object_set_new(meta, "rng", j_str(m->rng));
    json_object_set_new(meta, "version", j_str(m->version));
    json_object_set_new(meta, "command_line", j_str(m->command_line));
    json_object_set_new(meta, "started_ns", json_integer(m->started_ns));
    json_object_set_new(meta, "finished_ns", json_integer(m->finished_ns));
    json_object_set_new(meta, "fingerprint", json_string(fp));
    json_object_set_new(meta, "verdict", j_str(m->verdict));
    json_object_set_new(meta, "diagnosis", j_str(m->diagnosis));
    json_object_set_new(meta, "scenario_json", j_str(m->scenario_json));
    json_object_set_new(doc, "meta", meta);

    if (m->complete) {
        json_t *mj = json_object();
        run_json_set(mj, RUN_REC_METRICS, metric_text_cols, &r->m);
        run_json_set(mj, RUN_REC_METRICS, RUN_COLS_ALL, &r->m);
        /* derived (import ignores it; total_ns is the stored value) */
        run_json_set(mj, RUN_REC_METRICS, run_cols_total_ms, &r->m);
        json_object_set_new(doc, "metrics", mj);
        json_t *devs = json_array();
        for (unsigned d = 0; d < r->m.n_devices && d < RUN_MAX_DEVICES; d++) {
            json_t *o = json_object();
            run_json_set(o, RUN_REC_DEVICE, RUN_COLS_ALL, &r->m.devices[d]);
            json_array_append_new(devs, o);
        }
        json_object_set_new(doc, "devices", devs);
    } else {
        json_object_set_new(doc, "metrics", json_null());
        json_object_set_new(doc, "devices", json_array());
    }

    json_t *samples = json_array();
    for (size_t i = 0; i < r->n_samples; i++) {
        const struct run_sample *s = &r->samples[i];
        json_t *o = json_object();
        run_json_set(o, RUN_REC_SAMPLE, RUN_COLS_ALL, s);
        json_t *rep = json_array(), *sc = json_array();
        for (unsigned d = 0; d < s->n_devices && d < RUN_MAX_DEVICES; d++) {
            json_array_append_new(rep, j_u64(s->dev_reported_bytes[d]));
            json_array_append_new(sc, j_u64(s->dev_stop_copy_bytes[d]));
        }
        json_object_set_new(o, "dev_reported_bytes", rep);
        json_object_set_new(o, "dev_stop_copy_bytes", sc);
        json_array_append_new(samples, o);
    }
    json_object_set_new(doc, "samples", samples);

    json_t *events = json_array();
    for (size_t i = 0; i < r->n_events; i++) {
        const struct run_event *e = &r->events[i];
        char text[sizeof(e->text) + 1];
        fixed_str(text, sizeof(text), e->text, sizeof(e->text));
        json_t *o = json_object();
        json_object_set_new(o, "t_ns", json_integer(e->t_ns));
        json_object_set_new(o, "kind",
                            json_string(run_event_kind_name(e->kind)));
        json_object_set_new(o, "value", j_u64(e->value));
        json_object_set_new(o, "dur_ns", json_integer(e->dur_ns));
        json_object_set_new(o, "text", j_str(text));
        json_array_append_new(events, o);
    }
    json_object_set_new(doc, "events", events);
    return doc;
}

int db_export_json(struct db *db, int64_t id, FILE *out, char *err,
                   size_t errlen)
{
    struct db_run_meta m;
    struct run_result r;
    int rc = db_run_load(db, id, &m, &r, err, errlen);
    if (rc != 0) {
        return rc;
    }
    json_t *doc = run_to_json(&m, &r);
    int ret = 0;
    if (!doc ||
        json_dumpf(doc, out, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) != 0 ||
        fputc('\n', out) == EOF) {
        err_set(err, errlen, "run %lld: cannot write JSON", (long long)id);
        ret = -1;
    }
    json_decref(doc);
    db_run_meta_free(&m);
    run_result_free(&r);
    return ret;
}

/* ---- JSON import ------------------------------------------------------ */

struct jctx {
    const char *name; /* file name for messages */
    char *err;
    size_t errlen;
};

static int jfail(struct jctx *c, const char *where, const char *what)
{
    err_set(c->err, c->errlen, "%s: %s: %s", c->name, where, what);
    return -1;
}

static int j_get_u64(struct jctx *c, json_t *v, const char *where,
                     uint64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < 0) {
            return jfail(c, where, "must not be negative");
        }
        *out = (uint64_t)x;
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        unsigned long long x = strtoull(s, &end, 10);
        if (errno || end == s || *end || *s == '-') {
            return jfail(c, where, "expected an unsigned integer");
        }
        *out = x;
        return 0;
    }
    return jfail(c, where, "expected an unsigned integer");
}

static int j_get_i64(struct jctx *c, json_t *v, const char *where, int64_t *out)
{
    if (!json_is_integer(v)) {
        return jfail(c, where, "expected an integer");
    }
    *out = json_integer_value(v);
    return 0;
}

static int j_get_dbl(struct jctx *c, json_t *v, const char *where, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "nan") == 0) {
            *out = NAN;
            return 0;
        }
        if (strcmp(s, "inf") == 0) {
            *out = INFINITY;
            return 0;
        }
        if (strcmp(s, "-inf") == 0) {
            *out = -INFINITY;
            return 0;
        }
    }
    return jfail(c, where, "expected a number");
}

static int j_set_field(struct jctx *c, json_t *obj, const struct run_field *f,
                       void *base, const char *prefix)
{
    char where[128];
    snprintf(where, sizeof(where), "%s.%s", prefix, f->name);
    json_t *v = json_object_get(obj, f->name);
    if (!v) {
        return jfail(c, where, "missing");
    }
    char *p = (char *)base + f->offset;
    switch (f->ctype) {
    case RUN_C_I64: {
        int64_t x = 0;
        if (j_get_i64(c, v, where, &x) != 0) {
            return -1;
        }
        memcpy(p, &x, sizeof(x));
        return 0;
    }
    case RUN_C_U64: {
        uint64_t x = 0;
        if (j_get_u64(c, v, where, &x) != 0) {
            return -1;
        }
        memcpy(p, &x, sizeof(x));
        return 0;
    }
    case RUN_C_DBL: {
        double x = 0;
        if (j_get_dbl(c, v, where, &x) != 0) {
            return -1;
        }
        memcpy(p, &x, sizeof(x));
        return 0;
    }
    case RUN_C_BOOL: {
        if (!json_is_boolean(v)) {
            return jfail(c, where, "expected true or false");
        }
        bool x = json_is_true(v);
        memcpy(p, &x, sizeof(x));
        return 0;
    }
    case RUN_C_UINT: {
        uint64_t x = 0;
        if (j_get_u64(c, v, where, &x) != 0) {
            return -1;
        }
        if (x > UINT_MAX) {
            return jfail(c, where, "too large");
        }
        unsigned u = (unsigned)x;
        memcpy(p, &u, sizeof(u));
        return 0;
    }
    }
    return jfail(c, where, "internal: bad field type");
}

/* Copy a string member into buf; missing or null gives "" unless required.
 */
static int j_str_buf(struct jctx *c, json_t *obj, const char *key,
                     const char *prefix, char *buf, size_t len, bool required)
{
    char where[128];
    snprintf(where, sizeof(where), "%s.%s", prefix, key);
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required) {
            return jfail(c, where, "missing");
        }
        buf[0] = '\0';
        return 0;
    }
    if (!json_is_string(v)) {
        return jfail(c, where, "expected a string");
    }
    const char *s = json_string_value(v);
    if (strlen(s) >= len) {
        char msg[64];
        snprintf(msg, sizeof(msg), "too long (at most %zu bytes)", len - 1);
        return jfail(c, where, msg);
    }
    snprintf(buf, len, "%s", s);
    return 0;
}

static int j_str_dup(struct jctx *c, json_t *obj, const char *key,
                     const char *prefix, char **out)
{
    char where[128];
    snprintf(where, sizeof(where), "%s.%s", prefix, key);
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v)) {
        return jfail(c, where, "expected a string");
    }
    *out = strdup(json_string_value(v));
    if (!*out) {
        return jfail(c, where, "out of memory");
    }
    return 0;
}

static int j_u64_member(struct jctx *c, json_t *obj, const char *key,
                        const char *prefix, uint64_t *out)
{
    char where[128];
    snprintf(where, sizeof(where), "%s.%s", prefix, key);
    json_t *v = json_object_get(obj, key);
    if (!v) {
        return jfail(c, where, "missing");
    }
    return j_get_u64(c, v, where, out);
}

static int j_i64_member(struct jctx *c, json_t *obj, const char *key,
                        const char *prefix, int64_t *out)
{
    char where[128];
    snprintf(where, sizeof(where), "%s.%s", prefix, key);
    json_t *v = json_object_get(obj, key);
    if (!v) {
        return jfail(c, where, "missing");
    }
    return j_get_i64(c, v, where, out);
}

static int parse_meta(struct jctx *c, json_t *mj, struct db_run_meta *m)
{
    if (!json_is_object(mj)) {
        return jfail(c, "meta", "expected an object");
    }
    char kind[16], fp[32];
    if (j_str_buf(c, mj, "kind", "meta", kind, sizeof(kind), true) != 0) {
        return -1;
    }
    if (db_kind_from_name(kind, &m->kind) != 0) {
        return jfail(c, "meta.kind", "expected sim, replay or live");
    }
    json_t *cv = json_object_get(mj, "complete");
    if (!json_is_boolean(cv)) {
        return jfail(c, "meta.complete", "expected true or false");
    }
    m->complete = json_is_true(cv);
    if (j_str_buf(c, mj, "run_key", "meta", m->run_key, sizeof(m->run_key),
                  false) != 0 ||
        j_str_buf(c, mj, "source_path", "meta", m->source_path,
                  sizeof(m->source_path), false) != 0 ||
        j_str_buf(c, mj, "source_sha256", "meta", m->source_sha256,
                  sizeof(m->source_sha256), false) != 0 ||
        j_str_buf(c, mj, "qemu", "meta", m->qemu, sizeof(m->qemu), false) !=
            0 ||
        j_str_buf(c, mj, "policy", "meta", m->policy, sizeof(m->policy),
                  false) != 0 ||
        j_str_buf(c, mj, "rng", "meta", m->rng, sizeof(m->rng), false) != 0 ||
        j_str_buf(c, mj, "version", "meta", m->version, sizeof(m->version),
                  false) != 0 ||
        j_str_buf(c, mj, "fingerprint", "meta", fp, sizeof(fp), false) != 0 ||
        j_u64_member(c, mj, "seed", "meta", &m->seed) != 0 ||
        j_i64_member(c, mj, "started_ns", "meta", &m->started_ns) != 0 ||
        j_i64_member(c, mj, "finished_ns", "meta", &m->finished_ns) != 0 ||
        j_str_dup(c, mj, "command_line", "meta", &m->command_line) != 0 ||
        j_str_dup(c, mj, "verdict", "meta", &m->verdict) != 0 ||
        j_str_dup(c, mj, "diagnosis", "meta", &m->diagnosis) != 0 ||
        j_str_dup(c, mj, "scenario_json", "meta", &m->scenario_json) != 0) {
        return -1;
    }
    if (fp[0]) {
        char *end;
        errno = 0;
        m->fingerprint = strtoull(fp, &end, 16);
        if (errno || *end) {
            return jfail(c, "meta.fingerprint", "expected a hex number");
        }
    }
    if (m->started_ns == 0) {
        return jfail(c, "meta.started_ns", "must not be 0");
    }
    return 0;
}

static int parse_metrics(struct jctx *c, json_t *doc, struct run_metrics *m)
{
    json_t *mj = json_object_get(doc, "metrics");
    if (!json_is_object(mj)) {
        return jfail(c, "metrics", "expected an object (the run is complete)");
    }
    char outcome[32];
    if (j_str_buf(c, mj, "outcome", "metrics", outcome, sizeof(outcome),
                  true) != 0) {
        return -1;
    }
    if (run_outcome_from_name(outcome, &m->outcome) != 0) {
        return jfail(c, "metrics.outcome", "unknown outcome");
    }
    if (j_str_buf(c, mj, "qemu", "metrics", m->qemu, sizeof(m->qemu), false) !=
            0 ||
        j_str_buf(c, mj, "policy", "metrics", m->policy, sizeof(m->policy),
                  false) != 0) {
        return -1;
    }
    size_t nf;
    const struct run_field *f = run_metric_fields(&nf);
    for (size_t k = 0; k < nf; k++) {
        if (j_set_field(c, mj, &f[k], m, "metrics") != 0) {
            return -1;
        }
    }
    json_t *devs = json_object_get(doc, "devices");
    if (!json_is_array(devs)) {
        return jfail(c, "devices", "expected an array");
    }
    if (json_array_size(devs) > RUN_MAX_DEVICES) {
        return jfail(c, "devices", "more than 16 devices");
    }
    m->n_devices = (unsigned)json_array_size(devs);
    for (unsigned d = 0; d < m->n_devices; d++) {
        json_t *o = json_array_get(devs, d);
        struct run_device_result *dv = &m->devices[d];
        char where[32];
        snprintf(where, sizeof(where), "devices[%u]", d);
        if (!json_is_object(o)) {
            return jfail(c, where, "expected an object");
        }
        if (j_str_buf(c, o, "name", where, dv->name, sizeof(dv->name), true) !=
                0 ||
            j_u64_member(c, o, "precopy_bytes", where, &dv->precopy_bytes) !=
                0 ||
            j_u64_member(c, o, "stop_copy_bytes", where,
                         &dv->stop_copy_bytes) != 0 ||
            j_i64_member(c, o, "save_ns", where, &dv->save_ns) != 0 ||
            j_i64_member(c, o, "load_ns", where, &dv->load_ns) != 0) {
            return -1;
        }
    }
    return 0;
}

static int parse_dev_array(struct jctx *c, json_t *o, const char *key,
                           const char *where, uint64_t *out, unsigned n)
{
    char w[96];
    snprintf(w, sizeof(w), "%s.%s", where, key);
    json_t *a = json_object_get(o, key);
    if (!json_is_array(a)) {
        return jfail(c, w, "expected an array");
    }
    if (json_array_size(a) != n) {
        return jfail(c, w, "length differs from n_devices");
    }
    for (unsigned d = 0; d < n; d++) {
        char wi[112];
        snprintf(wi, sizeof(wi), "%s[%u]", w, d);
        if (j_get_u64(c, json_array_get(a, d), wi, &out[d]) != 0) {
            return -1;
        }
    }
    return 0;
}

static int parse_samples(struct jctx *c, json_t *doc, struct run_result *r)
{
    json_t *a = json_object_get(doc, "samples");
    if (!json_is_array(a)) {
        return jfail(c, "samples", "expected an array");
    }
    size_t nf;
    const struct run_field *f = run_sample_fields(&nf);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *o = json_array_get(a, i);
        char where[48];
        snprintf(where, sizeof(where), "samples[%zu]", i);
        if (!json_is_object(o)) {
            return jfail(c, where, "expected an object");
        }
        struct run_sample s;
        memset(&s, 0, sizeof(s));
        for (size_t k = 0; k < nf; k++) {
            if (j_set_field(c, o, &f[k], &s, where) != 0) {
                return -1;
            }
        }
        if (s.n_devices > RUN_MAX_DEVICES) {
            return jfail(c, where, "n_devices above 16");
        }
        if (parse_dev_array(c, o, "dev_reported_bytes", where,
                            s.dev_reported_bytes, s.n_devices) != 0 ||
            parse_dev_array(c, o, "dev_stop_copy_bytes", where,
                            s.dev_stop_copy_bytes, s.n_devices) != 0) {
            return -1;
        }
        if (run_result_add_sample(r, &s) != 0) {
            return jfail(c, where, "out of memory");
        }
    }
    return 0;
}

static int parse_events(struct jctx *c, json_t *doc, struct run_result *r)
{
    json_t *a = json_object_get(doc, "events");
    if (!json_is_array(a)) {
        return jfail(c, "events", "expected an array");
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *o = json_array_get(a, i);
        char where[48];
        snprintf(where, sizeof(where), "events[%zu]", i);
        if (!json_is_object(o)) {
            return jfail(c, where, "expected an object");
        }
        char kind[32], text[sizeof(((struct run_event *)0)->text)];
        int64_t t, dur;
        uint64_t value;
        enum run_event_kind k;
        if (j_str_buf(c, o, "kind", where, kind, sizeof(kind), true) != 0 ||
            j_str_buf(c, o, "text", where, text, sizeof(text), false) != 0 ||
            j_i64_member(c, o, "t_ns", where, &t) != 0 ||
            j_i64_member(c, o, "dur_ns", where, &dur) != 0 ||
            j_u64_member(c, o, "value", where, &value) != 0) {
            return -1;
        }
        if (db_event_kind_from_name(kind, &k) != 0) {
            char w[64];
            snprintf(w, sizeof(w), "%s.kind", where);
            return jfail(c, w, "unknown event kind");
        }
        if (run_result_add_event(r, t, k, value, dur, "%s", text) != 0) {
            return jfail(c, where, "out of memory");
        }
    }
    return 0;
}

static int import_doc(struct db *db, json_t *doc, struct jctx *c, int64_t *id)
{
    if (!json_is_object(doc)) {
        return jfail(c, "top level", "expected an object");
    }
    json_t *fmt = json_object_get(doc, "format");
    if (!json_is_string(fmt) ||
        strcmp(json_string_value(fmt), EXPORT_FORMAT) != 0) {
        return jfail(c, "format", "not a migsim run export (\"migsim-run\")");
    }
    json_t *ver = json_object_get(doc, "format_version");
    if (!json_is_integer(ver) || json_integer_value(ver) < 1) {
        return jfail(c, "format_version", "expected a positive integer");
    }
    if (json_integer_value(ver) > EXPORT_FORMAT_VERSION) {
        return jfail(c, "format_version",
                     "newer than this migsim understands; use a newer "
                     "migsim");
    }
    struct db_run_meta m;
    struct run_result r;
    db_run_meta_init(&m);
    run_result_init(&r);
    int ret = parse_meta(c, json_object_get(doc, "meta"), &m);
    if (ret == 0 && m.complete) {
        ret = parse_metrics(c, doc, &r.m);
    }
    if (ret == 0) {
        ret = parse_samples(c, doc, &r);
    }
    if (ret == 0) {
        ret = parse_events(c, doc, &r);
    }
    if (ret == 0) {
        if (!m.run_key[0]) {
            db_run_key(&m, m.run_key);
        }
        r.m.fingerprint = m.fingerprint;
        int64_t have = db_find_key(db, m.run_key, c->err, c->errlen);
        if (have < 0) {
            ret = -1;
        } else if (have > 0) {
            *id = have;
            err_set(c->err, c->errlen, "%s: run already present as run %lld",
                    c->name, (long long)have);
            ret = DB_ERR_DUPLICATE;
        } else {
            ret = db_run_copy_in(db, &m, &r, id, c->err, c->errlen);
        }
    }
    db_run_meta_free(&m);
    run_result_free(&r);
    return ret;
}

int db_import_json_text(struct db *db, const char *text, const char *name,
                        int64_t *id, char *err, size_t errlen)
{
    struct jctx c = {name, err, errlen};
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    if (!doc) {
        err_set(err, errlen, "%s:%d:%d: %s", name, je.line, je.column, je.text);
        return -1;
    }
    int rc = import_doc(db, doc, &c, id);
    json_decref(doc);
    return rc;
}

int db_import_json(struct db *db, const char *path, int64_t *id, char *err,
                   size_t errlen)
{
    struct jctx c = {path, err, errlen};
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    if (!doc) {
        if (je.line <= 0) {
            err_set(err, errlen, "%s: %s", path, je.text);
        } else {
            err_set(err, errlen, "%s:%d:%d: %s", path, je.line, je.column,
                    je.text);
        }
        return -1;
    }
    int rc = import_doc(db, doc, &c, id);
    json_decref(doc);
    return rc;
}

/* ---- CSV -------------------------------------------------------------- */

static void csv_series(FILE *f, const struct run_result *r)
{
    unsigned maxdev = 0;
    for (size_t i = 0; i < r->n_samples; i++) {
        if (r->samples[i].n_devices > maxdev) {
            maxdev = r->samples[i].n_devices;
        }
    }
    fputs("seq", f);
    run_csv_header(f, RUN_REC_SAMPLE, RUN_COLS_ALL, true);
    run_csv_dev_header(f, maxdev);
    fputs("\r\n", f);
    for (size_t i = 0; i < r->n_samples; i++) {
        fprintf(f, "%zu", i);
        run_csv_row(f, RUN_REC_SAMPLE, RUN_COLS_ALL, &r->samples[i], true);
        run_csv_dev_row(f, &r->samples[i], maxdev, true);
        fputs("\r\n", f);
    }
}

static void csv_events(FILE *f, const struct run_result *r)
{
    fputs("seq,t_ns,kind,value,dur_ns,text\r\n", f);
    for (size_t i = 0; i < r->n_events; i++) {
        const struct run_event *e = &r->events[i];
        char text[sizeof(e->text) + 1];
        fixed_str(text, sizeof(text), e->text, sizeof(e->text));
        fprintf(f, "%zu,%" PRId64 ",%s,%" PRIu64 ",%" PRId64 ",", i, e->t_ns,
                run_event_kind_name(e->kind), e->value, e->dur_ns);
        csv_put(f, text, CSV_QUOTE_MINIMAL);
        fputs("\r\n", f);
    }
}

static void csv_metrics(FILE *f, const struct db_run_meta *m,
                        const struct run_result *r)
{
    fputs("run_id,kind,complete,outcome,qemu,policy,seed,fingerprint", f);
    run_csv_header(f, RUN_REC_METRICS, RUN_COLS_ALL, true);
    fputs("\r\n", f);
    fprintf(f, "%lld,%s,%d,", (long long)m->id, db_kind_name(m->kind),
            m->complete ? 1 : 0);
    run_csv_row(f, RUN_REC_METRICS, metric_text_cols, &r->m, false);
    fprintf(f, ",%" PRIu64 ",%016" PRIx64, m->seed, m->fingerprint);
    run_csv_row(f, RUN_REC_METRICS, RUN_COLS_ALL, &r->m, true);
    fputs("\r\n", f);
}

static void csv_devices(FILE *f, const struct run_result *r)
{
    fputs("idx", f);
    run_csv_header(f, RUN_REC_DEVICE, RUN_COLS_ALL, true);
    fputs("\r\n", f);
    for (unsigned d = 0; d < r->m.n_devices && d < RUN_MAX_DEVICES; d++) {
        fprintf(f, "%u", d);
        run_csv_row(f, RUN_REC_DEVICE, RUN_COLS_ALL, &r->m.devices[d], true);
        fputs("\r\n", f);
    }
}

int db_export_csv(struct db *db, int64_t id, enum db_csv_table t, FILE *out,
                  char *err, size_t errlen)
{
    struct db_run_meta m;
    struct run_result r;
    int rc = db_run_load(db, id, &m, &r, err, errlen);
    if (rc != 0) {
        return rc;
    }
    switch (t) {
    case DB_CSV_SERIES:
        csv_series(out, &r);
        break;
    case DB_CSV_EVENTS:
        csv_events(out, &r);
        break;
    case DB_CSV_METRICS:
        csv_metrics(out, &m, &r);
        break;
    case DB_CSV_DEVICES:
        csv_devices(out, &r);
        break;
    }
    db_run_meta_free(&m);
    run_result_free(&r);
    if (ferror(out)) {
        err_set(err, errlen, "run %lld: cannot write CSV", (long long)id);
        return -1;
    }
    return 0;
}

/* ---- merge ------------------------------------------------------------ */

static bool same_file(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    if (!realpath(a, ra) || !realpath(b, rb)) {
        return false;
    }
    return strcmp(ra, rb) == 0;
}

int db_merge(const char *out_path, const char *const *inputs, size_t n_inputs,
             size_t *copied, size_t *skipped, char *err, size_t errlen)
{
    size_t ncopied = 0, nskipped = 0;
    for (size_t i = 0; i < n_inputs; i++) {
        if (same_file(out_path, inputs[i])) {
            err_set(err, errlen, "%s: the output is also an input", out_path);
            return -1;
        }
    }
    struct db *out = db_open(out_path, err, errlen);
    if (!out) {
        return -1;
    }
    int ret = 0;
    for (size_t i = 0; i < n_inputs && !ret; i++) {
        struct db *in = db_open_readonly(inputs[i], err, errlen);
        if (!in) {
            ret = -1;
            break;
        }
        struct db_run_summary *list;
        size_t n;
        if (db_list(in, &list, &n, err, errlen) != 0) {
            db_close(in);
            ret = -1;
            break;
        }
        for (size_t k = 0; k < n && !ret; k++) {
            struct db_run_meta m;
            struct run_result r;
            if (db_run_load(in, list[k].id, &m, &r, err, errlen) != 0) {
                ret = -1;
                break;
            }
            int64_t have = db_find_key(out, m.run_key, err, errlen);
            int64_t nid;
            if (have < 0) {
                ret = -1;
            } else if (have > 0) {
                nskipped++;
            } else if (db_run_copy_in(out, &m, &r, &nid, err, errlen) != 0) {
                ret = -1;
            } else {
                ncopied++;
            }
            db_run_meta_free(&m);
            run_result_free(&r);
        }
        free(list);
        db_close(in);
    }
    db_close(out);
    if (copied) {
        *copied = ncopied;
    }
    if (skipped) {
        *skipped = nskipped;
    }
    return ret;
}
