/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/fields.c — names of the store's enums and its time format (the
 * field table of the run record is run/fields.c).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

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
