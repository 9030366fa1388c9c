/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/blob.c — the compact encoding of a run's samples and events
 * (schema 3): one BLOB per chunk of consecutive samples or events,
 * columnar, each integer column delta + zigzag + LEB128 varint (with
 * runs of equal values folded), each
 * double column the XOR of its bit pattern with the previous one as a
 * varint.  The layout is documented in docs/store.md ("Series and event
 * chunks"); the decoders never trust a byte of it.
 *
 * Samples chunk:
 *   "MSS1"  varint n  varint ncols
 *   ncols x (varint name length, name, 1 byte type: 0 integer, 1 double)
 *   varint ndev
 *   ncols columns of n values, then for each device d < ndev the column
 *   of dev_reported_bytes[d] and the column of dev_stop_copy_bytes[d]
 *   (0 for samples with fewer devices).
 * Events chunk:
 *   "MSE1"  varint n  varint nkinds  nkinds x (varint length, kind name)
 *   the columns t_ns (delta), kind index, value (delta), dur_ns (zigzag),
 *   then n x (varint length, text).
 * A column is a mode byte, then its n varints (0) or runs of equal values
 * as (varint value, varint repeats - 1) pairs (1), whichever is shorter.
 * A chunk holds at most DB_CHUNK_ROWS items.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "store/db_internal.h"

#define MAGIC_SAMPLES "MSS1"
#define MAGIC_EVENTS  "MSE1"
#define MAX_NAME      64
#define TEXT_MAX      (sizeof(((struct run_event *)0)->text))

/* (in this file so the decoders stand alone: fuzz/fuzz_store_blob.c) */
int db_event_kind_from_name(const char *s, enum run_event_kind *k)
{
    for (int i = RUN_EV_STATE; i <= RUN_EV_NOTE; i++) {
        if (strcmp(s, run_event_kind_name((enum run_event_kind)i)) == 0) {
            *k = (enum run_event_kind)i;
            return 0;
        }
    }
    return -1;
}

/* column modes */
enum { COL_PLAIN = 0, COL_RUNS = 1 };

/* ---- varints -------------------------------------------------------- */

static inline uint8_t *put_uv(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline uint64_t zz(uint64_t d)
{
    return (d << 1) ^ (0 - (d >> 63)); /* all ones when negative */
}

static inline uint64_t unzz(uint64_t v)
{
    return (v >> 1) ^ (0 - (v & 1)); /* all ones when odd */
}

struct rd {
    const uint8_t *p, *end;
    const char *bad; /* first problem found, NULL if none */
};

static inline uint64_t get_uv(struct rd *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = r->bad ? r->bad : "truncated";
            return 0;
        }
        uint8_t b = *r->p++;
        if (shift == 63 && b > 1) {
            break;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            return v;
        }
    }
    r->bad = r->bad ? r->bad : "a number longer than 64 bits";
    r->p = r->end;
    return 0;
}

/* Reads a column written by put_col value by value. */
struct col_rd {
    struct rd *r;
    int mode;
    uint64_t val, left; /* COL_RUNS: the current value, repeats left */
};

static void col_begin(struct col_rd *c, struct rd *r)
{
    c->r = r;
    c->left = 0;
    c->val = 0;
    if (r->p >= r->end) {
        r->bad = r->bad ? r->bad : "truncated";
        c->mode = COL_PLAIN;
        return;
    }
    c->mode = *r->p++;
    if (c->mode != COL_PLAIN && c->mode != COL_RUNS) {
        r->bad = r->bad ? r->bad : "an unknown column mode";
        r->p = r->end;
    }
}

static inline uint64_t col_next(struct col_rd *c)
{
    if (c->mode == COL_PLAIN) {
        return get_uv(c->r);
    }
    if (c->left == 0) {
        c->val = get_uv(c->r);
        c->left = get_uv(c->r) + 1;
    }
    c->left--;
    return c->val;
}

/* A run that went past the column's n values. */
static void col_end(struct col_rd *c)
{
    if (c->mode == COL_RUNS && c->left != 0) {
        c->r->bad = c->r->bad ? c->r->bad : "a run longer than the chunk";
    }
}

/* A length that must fit in what is left (each counted item takes at
 * least min_bytes). */
static uint64_t get_len(struct rd *r, uint64_t max, size_t min_bytes)
{
    uint64_t v = get_uv(r);
    size_t left = (size_t)(r->end - r->p);
    if (!r->bad && (v > max || (min_bytes && v > left / min_bytes))) {
        r->bad = "a count larger than the chunk";
        r->p = r->end;
        return 0;
    }
    return r->bad ? 0 : v;
}

static inline size_t uv_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* One column of n coded values: a mode byte, then either the n varints
 * (COL_PLAIN) or runs of equal values as (value, repeats - 1) pairs
 * (COL_RUNS), whichever is shorter. */

static uint8_t *put_col(uint8_t *p, const uint64_t *v, size_t n)
{
    size_t plain = 0, runs = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        plain += uv_len(v[i]);
        while (j < n && v[j] == v[i]) {
            plain += uv_len(v[j]);
            j++;
        }
        runs += uv_len(v[i]) + uv_len(j - i - 1);
        i = j;
    }
    if (plain <= runs) {
        *p++ = COL_PLAIN;
        for (size_t i = 0; i < n; i++) {
            p = put_uv(p, v[i]);
        }
        return p;
    }
    *p++ = COL_RUNS;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[j] == v[i]) {
            j++;
        }
        p = put_uv(p, v[i]);
        p = put_uv(p, j - i - 1);
        i = j;
    }
    return p;
}

/* ---- values of the field table ---------------------------------------- */

static uint64_t field_u64(const struct run_field *f, const void *base)
{
    const char *p = (const char *)base + f->offset;
    switch (f->ctype) {
    case RUN_C_I64:
    case RUN_C_U64:
    case RUN_C_DBL: {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return v;
    }
    case RUN_C_BOOL: {
        bool v;
        memcpy(&v, p, sizeof(v));
        return v ? 1 : 0;
    }
    case RUN_C_UINT: {
        unsigned v;
        memcpy(&v, p, sizeof(v));
        return v;
    }
    }
    return 0;
}

static void field_set(const struct run_field *f, void *base, uint64_t v)
{
    char *p = (char *)base + f->offset;
    switch (f->ctype) {
    case RUN_C_I64:
    case RUN_C_U64:
    case RUN_C_DBL:
        memcpy(p, &v, sizeof(v));
        break;
    case RUN_C_BOOL: {
        bool b = v != 0;
        memcpy(p, &b, sizeof(b));
        break;
    }
    case RUN_C_UINT: {
        unsigned u = (unsigned)v;
        memcpy(p, &u, sizeof(u));
        break;
    }
    }
}

/* A double's bits, NaN made canonical (the v2 store kept no payload: NULL
 * read back as NAN). */
static uint64_t dbl_bits(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof(d));
    if (isnan(d)) {
        d = NAN;
        memcpy(&bits, &d, sizeof(bits));
    }
    return bits;
}

/* ---- samples ------------------------------------------------------------ */

int db_enc_samples(const struct run_sample *s, size_t n, uint8_t **out,
                   size_t *len)
{
    size_t nf;
    const struct run_field *f = run_sample_fields(&nf);
    unsigned ndev = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = s[i].n_devices;
        ndev = d > ndev ? (d > RUN_MAX_DEVICES ? RUN_MAX_DEVICES : d) : ndev;
    }
    size_t cols = nf + 2 * (size_t)ndev;
    size_t cap = 64 + nf * (MAX_NAME + 12) + cols + n * cols * 10;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        return -1;
    }
    uint8_t *p = buf;
    memcpy(p, MAGIC_SAMPLES, 4);
    p += 4;
    p = put_uv(p, n);
    p = put_uv(p, nf);
    for (size_t k = 0; k < nf; k++) {
        size_t l = strlen(f[k].name);
        p = put_uv(p, l);
        memcpy(p, f[k].name, l);
        p += l;
        *p++ = f[k].ctype == RUN_C_DBL ? 1 : 0;
    }
    p = put_uv(p, ndev);
    uint64_t *v = calloc(n ? n : 1, sizeof(*v));
    if (!v) {
        free(buf);
        return -1;
    }
    for (size_t k = 0; k < nf; k++) {
        uint64_t prev = 0;
        bool dbl = f[k].ctype == RUN_C_DBL;
        for (size_t i = 0; i < n; i++) {
            uint64_t x = field_u64(&f[k], &s[i]);
            if (dbl) {
                x = dbl_bits(x);
                v[i] = x ^ prev;
            } else {
                v[i] = zz(x - prev);
            }
            prev = x;
        }
        p = put_col(p, v, n);
    }
    for (unsigned d = 0; d < ndev; d++) {
        for (int which = 0; which < 2; which++) {
            uint64_t prev = 0;
            for (size_t i = 0; i < n; i++) {
                uint64_t x = 0;
                if (d < s[i].n_devices) {
                    x = which ? s[i].dev_stop_copy_bytes[d]
                              : s[i].dev_reported_bytes[d];
                }
                v[i] = zz(x - prev);
                prev = x;
            }
            p = put_col(p, v, n);
        }
    }
    free(v);
    *out = buf;
    *len = (size_t)(p - buf);
    return 0;
}

/* The field of each stored column (NULL: a column this migsim does not
 * know, refused). */
static int sample_columns(struct rd *r, size_t ncols,
                          const struct run_field **col, bool *is_dbl)
{
    for (size_t k = 0; k < ncols && !r->bad; k++) {
        uint64_t l = get_len(r, MAX_NAME, 1);
        if (r->bad) {
            break;
        }
        char name[MAX_NAME + 1];
        memcpy(name, r->p, (size_t)l);
        name[l] = '\0';
        r->p += l;
        if (r->p >= r->end) {
            r->bad = "truncated";
            break;
        }
        is_dbl[k] = *r->p++ != 0;
        col[k] = run_sample_field(name);
        if (!col[k] || (col[k]->ctype == RUN_C_DBL) != is_dbl[k]) {
            r->bad = "an unknown sample column";
        }
        for (size_t j = 0; j < k && !r->bad; j++) {
            if (col[j] == col[k]) {
                r->bad = "a sample column twice";
            }
        }
    }
    return r->bad ? -1 : 0;
}

int db_dec_samples(const uint8_t *data, size_t len, size_t n_expect,
                   struct run_result *res, const char **why)
{
    struct rd r = {data, data + len, NULL};
    if (len < 4 || memcmp(data, MAGIC_SAMPLES, 4) != 0) {
        *why = "not a samples chunk (bad magic)";
        return -1;
    }
    r.p += 4;
    uint64_t n = get_uv(&r);
    size_t ncols = (size_t)get_len(&r, 64, 1);
    if (!r.bad && (n != n_expect || n > DB_CHUNK_ROWS)) {
        r.bad = "its count differs from the row's";
    }
    const struct run_field *col[64];
    bool is_dbl[64];
    if (!r.bad) {
        sample_columns(&r, ncols, col, is_dbl);
    }
    unsigned ndev = (unsigned)get_len(&r, RUN_MAX_DEVICES, 0);
    if (r.bad) {
        *why = r.bad;
        return -1;
    }
    struct run_sample *s = calloc(n ? n : 1, sizeof(*s));
    if (!s) {
        *why = "out of memory";
        return -1;
    }
    for (size_t k = 0; k < ncols && !r.bad; k++) {
        uint64_t prev = 0;
        struct col_rd c;
        col_begin(&c, &r);
        for (size_t i = 0; i < n; i++) {
            uint64_t x = col_next(&c);
            prev = is_dbl[k] ? x ^ prev : prev + unzz(x);
            field_set(col[k], &s[i], prev);
        }
        col_end(&c);
    }
    for (unsigned d = 0; d < ndev && !r.bad; d++) {
        for (int which = 0; which < 2; which++) {
            uint64_t prev = 0;
            struct col_rd c;
            col_begin(&c, &r);
            for (size_t i = 0; i < n; i++) {
                prev += unzz(col_next(&c));
                if (which) {
                    s[i].dev_stop_copy_bytes[d] = prev;
                } else {
                    s[i].dev_reported_bytes[d] = prev;
                }
            }
            col_end(&c);
        }
    }
    if (!r.bad && r.p != r.end) {
        r.bad = "bytes after its end";
    }
    for (size_t i = 0; i < n && !r.bad; i++) {
        if (s[i].n_devices > RUN_MAX_DEVICES) {
            r.bad = "a sample with more devices than a run can have";
        } else if (run_result_add_sample(res, &s[i]) != 0) {
            r.bad = "out of memory";
        }
    }
    free(s);
    *why = r.bad;
    return r.bad ? -1 : 0;
}

/* ---- events ---------------------------------------------------------- */

int db_enc_events(const struct run_event *ev, size_t n, uint8_t **out,
                  size_t *len)
{
    /* the kinds used, in order of first use */
    int slot[64];
    const char *kinds[64];
    unsigned nk = 0;
    for (size_t i = 0; i < 64; i++) {
        slot[i] = -1;
    }
    size_t cap = 64 + 4 + n * (4 * 10 + 2 + TEXT_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned k = (unsigned)ev[i].kind & 63;
        if (slot[k] < 0) {
            slot[k] = (int)nk;
            kinds[nk++] = run_event_kind_name(ev[i].kind);
            cap += 12 + strlen(kinds[nk - 1]);
        }
    }
    uint8_t *buf = malloc(cap);
    if (!buf) {
        return -1;
    }
    uint8_t *p = buf;
    memcpy(p, MAGIC_EVENTS, 4);
    p += 4;
    p = put_uv(p, n);
    p = put_uv(p, nk);
    for (unsigned k = 0; k < nk; k++) {
        size_t l = strlen(kinds[k]);
        p = put_uv(p, l);
        memcpy(p, kinds[k], l);
        p += l;
    }
    uint64_t *v = calloc(n ? n : 1, sizeof(*v));
    if (!v) {
        free(buf);
        return -1;
    }
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        v[i] = zz((uint64_t)ev[i].t_ns - prev);
        prev = (uint64_t)ev[i].t_ns;
    }
    p = put_col(p, v, n);
    for (size_t i = 0; i < n; i++) {
        v[i] = (uint64_t)slot[(unsigned)ev[i].kind & 63];
    }
    p = put_col(p, v, n);
    prev = 0;
    for (size_t i = 0; i < n; i++) {
        v[i] = zz(ev[i].value - prev);
        prev = ev[i].value;
    }
    p = put_col(p, v, n);
    for (size_t i = 0; i < n; i++) {
        v[i] = zz((uint64_t)ev[i].dur_ns);
    }
    p = put_col(p, v, n);
    free(v);
    for (size_t i = 0; i < n; i++) {
        size_t l = strnlen(ev[i].text, TEXT_MAX);
        p = put_uv(p, l);
        memcpy(p, ev[i].text, l);
        p += l;
    }
    *out = buf;
    *len = (size_t)(p - buf);
    return 0;
}

int db_dec_events(const uint8_t *data, size_t len, size_t n_expect,
                  struct run_result *res, const char **why)
{
    struct rd r = {data, data + len, NULL};
    if (len < 4 || memcmp(data, MAGIC_EVENTS, 4) != 0) {
        *why = "not an events chunk (bad magic)";
        return -1;
    }
    r.p += 4;
    uint64_t n = get_uv(&r);
    if (!r.bad && n != n_expect) {
        r.bad = "its count differs from the row's";
    }
    unsigned nk = (unsigned)get_len(&r, 64, 1);
    enum run_event_kind kind_of[64];
    for (unsigned k = 0; k < nk && !r.bad; k++) {
        uint64_t l = get_len(&r, 31, 1);
        char name[32];
        if (r.bad) {
            break;
        }
        memcpy(name, r.p, (size_t)l);
        name[l] = '\0';
        r.p += l;
        if (db_event_kind_from_name(name, &kind_of[k]) != 0) {
            r.bad = "an unknown event kind";
        }
    }
    if (!r.bad && n > DB_CHUNK_ROWS) {
        r.bad = "more events than a chunk holds";
    }
    if (r.bad) {
        *why = r.bad;
        return -1;
    }
    struct run_event *e = calloc(n ? n : 1, sizeof(*e));
    if (!e) {
        *why = "out of memory";
        return -1;
    }
    struct col_rd c;
    uint64_t prev = 0;
    col_begin(&c, &r);
    for (size_t i = 0; i < n; i++) {
        prev += unzz(col_next(&c));
        e[i].t_ns = (int64_t)prev;
    }
    col_end(&c);
    col_begin(&c, &r);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = col_next(&c);
        if (!r.bad && k >= nk) {
            r.bad = "an event kind out of range";
        }
        e[i].kind = r.bad ? RUN_EV_NOTE : kind_of[k];
    }
    col_end(&c);
    prev = 0;
    col_begin(&c, &r);
    for (size_t i = 0; i < n; i++) {
        prev += unzz(col_next(&c));
        e[i].value = prev;
    }
    col_end(&c);
    col_begin(&c, &r);
    for (size_t i = 0; i < n; i++) {
        e[i].dur_ns = (int64_t)unzz(col_next(&c));
    }
    col_end(&c);
    for (size_t i = 0; i < n && !r.bad; i++) {
        uint64_t l = get_len(&r, TEXT_MAX, 1);
        if (r.bad) {
            break;
        }
        if (l > (uint64_t)(r.end - r.p)) {
            r.bad = "truncated";
            break;
        }
        char text[TEXT_MAX + 1];
        memcpy(text, r.p, (size_t)l);
        text[l] = '\0';
        r.p += l;
        if (run_result_add_event(res, e[i].t_ns, e[i].kind, e[i].value,
                                 e[i].dur_ns, "%s", text) != 0) {
            r.bad = "out of memory";
        }
    }
    if (!r.bad && r.p != r.end) {
        r.bad = "bytes after its end";
    }
    free(e);
    *why = r.bad;
    return r.bad ? -1 : 0;
}
