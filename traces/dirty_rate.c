/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/dirty_rate.c — calc-dirty-rate / query-dirty-rate results
 * (contract in traces/dirty_rate.h).
 */
#include "traces/dirty_rate.h"
#include "base/json.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traces/trace_int.h"

#define MAX_FILE (16u << 20)
#define MIB      (1024.0 * 1024.0)

static uint64_t line_of(const char *text, size_t off)
{
    uint64_t n = 1;
    for (size_t i = 0; i < off; i++) {
        n += text[i] == '\n';
    }
    return n;
}

static bool num(json_t *o, const char *key, double *v)
{
    json_t *x = json_object_get(o, key);
    if (!json_is_number(x)) {
        return false;
    }
    *v = json_number_value(x);
    return *v >= 0 && *v < 1e15;
}

/* A rate in MB/s (QEMU's unit) as bytes/s: false unless a number whose
 * bytes/s fit (below 2^63; a MB/s figure under 1e15 can still exceed
 * 2^64 bytes/s). */
static bool rate_mib(json_t *o, const char *key, uint64_t *bps)
{
    double v;
    if (!num(o, key, &v) || v * MIB >= 0x1p63) {
        return false;
    }
    *bps = (uint64_t)(v * MIB);
    return true;
}

/* One DirtyRateInfo object into d: 1 measured, 0 not a measurement, -1
 * measured but without a usable rate (why says it). */
static int one(json_t *o, struct trc_dirty_rate *d, const char **why)
{
    json_t *ret = json_object_get(o, "return");
    if (json_is_object(ret)) {
        o = ret;
    }
    json_t *st = json_object_get(o, "status");
    if (!json_is_string(st) || strcmp(json_string_value(st), "measured")) {
        return 0;
    }
    double v;
    uint64_t rate_bps;
    if (!json_object_get(o, "dirty-rate")) {
        return 0;
    }
    if (!rate_mib(o, "dirty-rate", &rate_bps)) {
        *why = "\"dirty-rate\" is missing, not a number or out of range";
        return -1;
    }
    memset(d, 0, sizeof(*d));
    d->rate_bps = rate_bps;
    json_t *m = json_object_get(o, "mode");
    snprintf(d->mode, sizeof(d->mode), "%s",
             json_is_string(m) ? json_string_value(m) : "page-sampling");
    d->calc_time_ns = -1;
    if (num(o, "calc-time", &v) && v <= 1e6) {
        json_t *u = json_object_get(o, "calc-time-unit");
        bool ms = json_is_string(u) &&
                  strcmp(json_string_value(u), "millisecond") == 0;
        d->calc_time_ns = (int64_t)(v * (ms ? 1e6 : 1e9));
    }
    d->sample_pages = num(o, "sample-pages", &v) ? (int64_t)v : -1;
    d->start_time_s = num(o, "start-time", &v) ? (int64_t)v : -1;
    json_t *vc = json_object_get(o, "vcpu-dirty-rate");
    size_t i;
    json_t *e;
    json_array_foreach(vc, i, e)
    {
        uint64_t vb;
        if (rate_mib(e, "dirty-rate", &vb)) {
            d->n_vcpus++;
            if (vb > d->vcpu_max_bps) {
                d->vcpu_max_bps = vb;
            }
        }
    }
    return 1;
}

int trc_dirty_rate_parse(const char *text, size_t len, const char *src,
                         struct trc_dirty_rate *out, char *err, size_t errlen)
{
    unsigned n_nf = 0;
    size_t clen = 0;
    char *clean = json_nonfinite_to_null(text, len, &clen, &n_nf);
    const char *t = clean ? clean : text;
    size_t tl = clean ? clen : len;
    struct trc_dirty_rate best, cur;
    memset(&best, 0, sizeof(best));
    unsigned found = 0;
    int rc = 0;
    size_t pos = 0;
    while (pos < tl) {
        const char *b = memchr(t + pos, '{', tl - pos);
        if (!b) {
            break;
        }
        size_t off = (size_t)(b - t);
        json_error_t je;
        json_t *o = json_loadb(b, tl - off, JSON_DISABLE_EOF_CHECK, &je);
        if (!o) {
            pos = off + 1;
            continue;
        }
        const char *why = NULL;
        int k = json_is_object(o) ? one(o, &cur, &why) : 0;
        json_decref(o);
        if (k < 0) {
            snprintf(err, errlen, "%s:%llu: a measured dirty rate, but %s", src,
                     (unsigned long long)line_of(t, off), why);
            rc = -1;
            break;
        }
        if (k > 0) {
            best = cur;
            found++;
        }
        pos = off + (je.position > 0 ? (size_t)je.position : 1);
    }
    free(clean);
    if (rc < 0) {
        return -1;
    }
    if (!found) {
        snprintf(err, errlen,
                 "%s: no measured dirty rate (a query-dirty-rate reply with "
                 "\"status\": \"measured\" and \"dirty-rate\")",
                 src);
        return -1;
    }
    best.measurements = found;
    *out = best;
    return 0;
}

int trc_dirty_rate_load(const char *path, struct trc_dirty_rate *out, char *err,
                        size_t errlen)
{
    bool in = strcmp(path, "-") == 0;
    FILE *f = in ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    int rc = 0;
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    while (rc == 0) {
        if (n == cap) {
            char *nb = cap < MAX_FILE ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                snprintf(err, errlen, "%s: %s", path,
                         cap < MAX_FILE ? "out of memory"
                                        : "larger than 16 MiB");
                rc = -1;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) {
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = -1;
    }
    if (!in) {
        fclose(f);
    }
    if (rc == 0) {
        rc = trc_dirty_rate_parse(buf, n, path, out, err, errlen);
    }
    free(buf);
    return rc;
}

void trc_dirty_rate_describe(const struct trc_dirty_rate *d, char *buf,
                             size_t len)
{
    int o = snprintf(buf, len, "%.1f MiB/s, calc-dirty-rate mode %s",
                     (double)d->rate_bps / MIB, d->mode);
    if (o < 0 || (size_t)o >= len) {
        return;
    }
    size_t k = (size_t)o;
    if (d->sample_pages > 0 && k < len) {
        k += (size_t)snprintf(buf + k, len - k, ", %lld sample pages/GiB",
                              (long long)d->sample_pages);
    }
    if (d->n_vcpus && k < len) {
        k += (size_t)snprintf(buf + k, len - k,
                              ", %u vCPU(s), busiest %.1f MiB/s", d->n_vcpus,
                              (double)d->vcpu_max_bps / MIB);
    }
    if (d->calc_time_ns > 0 && k < len) {
        snprintf(buf + k, len - k, ", measured over %.3g s",
                 (double)d->calc_time_ns / 1e9);
    }
}

int trc_dirty_rate_opt(const char *arg, void *ctx, char *err, size_t errlen)
{
    /* the --set strings live as long as the process: a few options */
    static char set_buf[4][64];
    static unsigned n_buf;
    struct trc_dirty_rate_sets *t = ctx;
    struct trc_dirty_rate d;
    if (trc_dirty_rate_load(arg, &d, err, errlen) < 0) {
        return -1;
    }
    if (*t->n_sets >= t->cap || n_buf >= 4) {
        snprintf(err, errlen, "too many --set / --dirty-rate-from options");
        return -1;
    }
    char *s = set_buf[n_buf++];
    snprintf(s, sizeof(set_buf[0]), "workload.dirty_rate=%lluB/s",
             (unsigned long long)d.rate_bps);
    t->sets[(*t->n_sets)++] = s;
    char desc[200];
    trc_dirty_rate_describe(&d, desc, sizeof(desc));
    fprintf(stderr, "migsim: workload dirty rate from %s: %s\n", arg, desc);
    return 0;
}
