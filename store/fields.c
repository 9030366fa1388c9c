/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/fields.c — names of the store's enums and its time format (the
 * field table of the run record is run/fields.c).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/names.h"
#include "store/db.h"

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
    return names_get(kind_names, NAMES_COUNT(kind_names), (unsigned)k);
}

int db_kind_from_name(const char *s, enum db_run_kind *k)
{
    int i = names_find(kind_names, NAMES_COUNT(kind_names), s);
    if (i >= 0) {
        *k = (enum db_run_kind)i;
    }
    return i >= 0 ? 0 : -1;
}

int db_csv_table_from_name(const char *s, enum db_csv_table *t)
{
    static const char *const names[] = {
        [DB_CSV_SERIES] = "series",
        [DB_CSV_EVENTS] = "events",
        [DB_CSV_METRICS] = "metrics",
        [DB_CSV_DEVICES] = "devices",
    };
    int i = names_find(names, NAMES_COUNT(names), s);
    if (i >= 0) {
        *t = (enum db_csv_table)i;
    }
    return i >= 0 ? 0 : -1;
}
