/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/fields.c — descriptor tables of the numeric run metrics and sample
 * fields, and their human formatting.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/db.h"

#define MF(n, c, u, l)                                                         \
    {                                                                          \
#n, c, u, offsetof(struct run_metrics, n), l                           \
    }
#define SF(n, c, u, l)                                                         \
    {                                                                          \
#n, c, u, offsetof(struct run_sample, n), l                            \
    }

static const struct db_field metric_fields[] = {
    MF(total_ns, DB_C_I64, DB_U_NS, "total time"),
    MF(downtime_ns, DB_C_I64, DB_U_NS, "downtime (guest-visible)"),
    MF(src_downtime_ns, DB_C_I64, DB_U_NS, "downtime (source, query-migrate)"),
    MF(setup_ns, DB_C_I64, DB_U_NS, "setup time"),
    MF(downtime_limit_ns, DB_C_I64, DB_U_NS, "downtime limit"),
    MF(downtime_violation, DB_C_BOOL, DB_U_BOOL, "downtime limit exceeded"),
    MF(iterations, DB_C_U64, DB_U_COUNT, "iterations"),
    MF(bitmap_syncs, DB_C_U64, DB_U_COUNT, "dirty bitmap syncs"),
    MF(estimate_calls, DB_C_U64, DB_U_COUNT, "estimate() calls"),
    MF(exact_calls, DB_C_U64, DB_U_COUNT, "exact() calls"),
    MF(exact_calls_per_s, DB_C_DBL, DB_U_NONE, "exact() calls per second"),
    MF(sync_time_ns, DB_C_I64, DB_U_NS, "time in bitmap syncs"),
    MF(bql_ns, DB_C_I64, DB_U_NS, "BQL held (migration thread)"),
    MF(spin_cpu_ns, DB_C_I64, DB_U_NS, "CPU in iterations moving no data"),
    MF(bytes_transferred, DB_C_U64, DB_U_BYTES, "bytes transferred"),
    MF(precopy_bytes, DB_C_U64, DB_U_BYTES, "precopy bytes"),
    MF(downtime_bytes, DB_C_U64, DB_U_BYTES, "bytes in downtime"),
    MF(postcopy_bytes, DB_C_U64, DB_U_BYTES, "postcopy bytes"),
    MF(expected_downtime_ns, DB_C_I64, DB_U_NS, "expected downtime (last)"),
    MF(max_throttle_pct, DB_C_DBL, DB_U_PCT, "max CPU throttle"),
    MF(postcopy, DB_C_BOOL, DB_U_BOOL, "postcopy used"),
};

static const struct db_field sample_fields[] = {
    SF(t_ns, DB_C_I64, DB_U_NS, "time"),
    SF(iteration, DB_C_U64, DB_U_COUNT, "iteration"),
    SF(estimate_bytes, DB_C_U64, DB_U_BYTES, "estimate (must + can)"),
    SF(exact_bytes, DB_C_U64, DB_U_BYTES, "exact (must + can)"),
    SF(exact_called, DB_C_BOOL, DB_U_BOOL, "exact() called"),
    SF(threshold_bytes, DB_C_U64, DB_U_BYTES, "threshold"),
    SF(bandwidth_bps, DB_C_DBL, DB_U_BPS, "bandwidth"),
    SF(ram_dirty_bytes, DB_C_U64, DB_U_BYTES, "RAM dirty"),
    SF(dirty_rate_bps, DB_C_U64, DB_U_BPS, "dirty rate"),
    SF(sent_bytes, DB_C_U64, DB_U_BYTES, "sent this iteration"),
    SF(downtime_limit_ns, DB_C_U64, DB_U_NS, "downtime limit"),
    SF(throttle_pct, DB_C_DBL, DB_U_PCT, "CPU throttle"),
    SF(expected_downtime_ns, DB_C_U64, DB_U_NS, "expected downtime"),
    SF(n_devices, DB_C_UINT, DB_U_COUNT, "devices"),
};

const struct db_field *db_metric_fields(size_t *n)
{
    *n = sizeof(metric_fields) / sizeof(metric_fields[0]);
    return metric_fields;
}

const struct db_field *db_sample_fields(size_t *n)
{
    *n = sizeof(sample_fields) / sizeof(sample_fields[0]);
    return sample_fields;
}

double db_field_value(const struct db_field *f, const void *base)
{
    const char *p = (const char *)base + f->offset;
    switch (f->ctype) {
    case DB_C_I64: {
        int64_t v;
        memcpy(&v, p, sizeof(v));
        return (double)v;
    }
    case DB_C_U64: {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return (double)v;
    }
    case DB_C_DBL: {
        double v;
        memcpy(&v, p, sizeof(v));
        return v;
    }
    case DB_C_BOOL: {
        bool v;
        memcpy(&v, p, sizeof(v));
        return v ? 1.0 : 0.0;
    }
    case DB_C_UINT: {
        unsigned v;
        memcpy(&v, p, sizeof(v));
        return (double)v;
    }
    }
    return NAN;
}

static char *fmt_scaled(double v, const char *const *units, double step,
                        int nunits, char *buf, size_t len)
{
    int u = 0;
    double a = fabs(v);
    while (u + 1 < nunits && a >= step) {
        a /= step;
        v /= step;
        u++;
    }
    if (u == 0) {
        snprintf(buf, len, "%.0f %s", v, units[0]);
    } else {
        snprintf(buf, len, "%.*f %s", a >= 100 ? 0 : (a >= 10 ? 1 : 2), v,
                 units[u]);
    }
    return buf;
}

char *db_format_value(enum db_unit u, double v, char *buf, size_t len)
{
    static const char *const bytes[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    static const char *const rates[] = {"B/s",   "KiB/s", "MiB/s",
                                        "GiB/s", "TiB/s", "PiB/s"};
    if (isnan(v)) {
        snprintf(buf, len, "-");
        return buf;
    }
    switch (u) {
    case DB_U_NS: {
        double a = fabs(v);
        if (a < 1e3) {
            snprintf(buf, len, "%.0f ns", v);
        } else if (a < 1e6) {
            snprintf(buf, len, "%.2f us", v / 1e3);
        } else if (a < 1e9) {
            snprintf(buf, len, "%.2f ms", v / 1e6);
        } else {
            snprintf(buf, len, "%.3f s", v / 1e9);
        }
        return buf;
    }
    case DB_U_BYTES:
        return fmt_scaled(v, bytes, 1024.0, 6, buf, len);
    case DB_U_BPS:
        return fmt_scaled(v, rates, 1024.0, 6, buf, len);
    case DB_U_COUNT:
        snprintf(buf, len, "%.0f", v);
        return buf;
    case DB_U_PCT:
        snprintf(buf, len, "%.1f %%", v);
        return buf;
    case DB_U_BOOL:
        snprintf(buf, len, "%s", v != 0 ? "yes" : "no");
        return buf;
    case DB_U_NONE:
        break;
    }
    snprintf(buf, len, "%.4g", v);
    return buf;
}

char *db_field_format(const struct db_field *f, const void *base, char *buf,
                      size_t len)
{
    return db_format_value(f->unit, db_field_value(f, base), buf, len);
}

char *db_format_time(int64_t epoch_ns, char *buf, size_t len)
{
    if (epoch_ns == 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    time_t t = (time_t)(epoch_ns / 1000000000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) ||
        strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm) == 0) {
        snprintf(buf, len, "%lld", (long long)epoch_ns);
    }
    return buf;
}

static const char *const kind_names[] = {
    [DB_KIND_SIM] = "sim",
    [DB_KIND_REPLAY] = "replay",
    [DB_KIND_LIVE] = "live",
};

const char *db_kind_name(enum db_run_kind k)
{
    if ((unsigned)k < sizeof(kind_names) / sizeof(kind_names[0])) {
        return kind_names[k];
    }
    return "unknown";
}

int db_kind_from_name(const char *s, enum db_run_kind *k)
{
    for (unsigned i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
        if (strcmp(s, kind_names[i]) == 0) {
            *k = (enum db_run_kind)i;
            return 0;
        }
    }
    return -1;
}

int db_csv_table_from_name(const char *s, enum db_csv_table *t)
{
    static const char *const names[] = {"series", "events", "metrics",
                                        "devices"};
    for (unsigned i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *t = (enum db_csv_table)i;
            return 0;
        }
    }
    return -1;
}
