/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace_core.c — the reader's services: format names, the name
 * hash the catalogue lookup goes through, malformed-line messages and the
 * counts of events not in the catalogue.  Calls nothing else of the
 * reader (see trace_int.h for the structure).
 */
#include "traces/trace_int.h"

#include <stdlib.h>
#include <string.h>

static const char *const fmt_names[TRC_FMT_COUNT] = {
    [TRC_FMT_AUTO] = "auto",         [TRC_FMT_LOG] = "log",
    [TRC_FMT_LOG_TID] = "log-tid",   [TRC_FMT_LOG_ISO] = "log-iso",
    [TRC_FMT_STAP] = "stap",         [TRC_FMT_SIMPLE] = "simple",
    [TRC_FMT_EMBEDDED] = "embedded", [TRC_FMT_QMP] = "qmp",
    [TRC_FMT_HMP] = "hmp",
};

const char *trc_format_name(enum trc_format f)
{
    if ((unsigned)f >= TRC_FMT_COUNT) {
        return "unknown";
    }
    return fmt_names[f];
}

int trc_format_from_name(const char *s, enum trc_format *f)
{
    for (unsigned i = 0; i < TRC_FMT_COUNT; i++) {
        if (strcmp(s, fmt_names[i]) == 0) {
            *f = (enum trc_format)i;
            return 0;
        }
    }
    return -1;
}

/* ---- name hash ---- */

static void name_insert(struct trc_reader *r, const char *name, uint16_t ev)
{
    size_t n = strlen(name);
    uint32_t i = name_hash(name, n) & (TRC_NAME_HASH - 1);
    while (r->names[i].name) {
        if (r->names[i].len == n && memcmp(r->names[i].name, name, n) == 0) {
            return; /* first definition wins */
        }
        i = (i + 1) & (TRC_NAME_HASH - 1);
    }
    r->names[i].name = name;
    r->names[i].len = (uint16_t)n;
    r->names[i].ev = ev;
}

enum trc_ev trc_name_lookup_r(const struct trc_reader *r, const char *s,
                              size_t n)
{
    return name_lookup(r, s, n);
}

void trc_build_names(struct trc_reader *r)
{
    for (unsigned ev = TRC_EV_SET_STATE; ev < TRC_EV_COUNT; ev++) {
        name_insert(r, trc_event_name((enum trc_ev)ev), (uint16_t)ev);
    }
    name_insert(r, "process_incoming_migration_end", TRC_EV_INCOMING_END);
    const char *const *other;
    size_t n = trc_catalog_other_known(&other);
    for (size_t i = 0; i < n; i++) {
        name_insert(r, other[i], TRC_EV_OTHER_KNOWN);
    }
}

/* ---- messages ---- */

const char *trc_cur_name(const struct trc_reader *r)
{
    if (r->cur < r->n_inputs) {
        return r->inputs[r->cur].name;
    }
    return "(end)";
}

int trc_malformed(struct trc_reader *r, uint64_t line, char *err, size_t errlen,
                  const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    char msg[512];
    if (r->binary) {
        snprintf(msg, sizeof(msg), "%s: record %llu: %s", trc_cur_name(r),
                 (unsigned long long)line, why);
    } else {
        snprintf(msg, sizeof(msg), "%s:%llu: %s", trc_cur_name(r),
                 (unsigned long long)line, why);
    }
    r->st.malformed++;
    if (r->opt.strict) {
        snprintf(err, errlen, "%s", msg);
        return -1;
    }
    if (r->st.n_messages < r->opt.max_messages) {
        char *m = strdup(msg);
        if (m) {
            r->st.messages[r->st.n_messages++] = m;
        }
    }
    return 0;
}

void trc_count_unknown(struct trc_reader *r, const char *name, size_t n)
{
    bool mig = trc_name_is_migration(name, n);
    r->st.unknown++;
    if (mig) {
        r->st.unknown_migration++;
    }
    struct trc_stats *st = &r->st;
    if (r->last_unknown < st->n_unknown_names) {
        struct trc_unknown *u = &st->unknown_names[r->last_unknown];
        if (strlen(u->name) == n && memcmp(u->name, name, n) == 0) {
            u->count++;
            return;
        }
    }
    for (unsigned i = 0; i < st->n_unknown_names; i++) {
        struct trc_unknown *u = &st->unknown_names[i];
        if (strlen(u->name) == n && memcmp(u->name, name, n) == 0) {
            u->count++;
            r->last_unknown = i;
            return;
        }
    }
    if (st->n_unknown_names < TRC_MAX_UNKNOWN_NAMES &&
        n < sizeof(st->unknown_names[0].name)) {
        struct trc_unknown *u = &st->unknown_names[st->n_unknown_names];
        memcpy(u->name, name, n);
        u->name[n] = '\0';
        u->count = 1;
        u->migration = mig;
        r->last_unknown = st->n_unknown_names++;
        return;
    }
    st->unknown_names_overflow++;
}
