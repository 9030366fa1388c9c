/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace_qmp.c — query-migrate replies, QMP events and HMP
 * "info migrate" dumps as snapshot records.
 *
 * query-migrate (MigrationInfo, ../shared/reference/qemu-convergence.md
 * 8.1): one JSON object per line, either the reply {"return": {...}} or
 * the bare object, optionally with a "timestamp" member: {"seconds": S,
 * "microseconds": U} as QMP events carry it, a number (seconds; values
 * above 1e11 are taken as ms, above 1e14 as us, above 1e17 as ns) or an
 * ISO-8601 string.  Sizes are bytes, times ms.
 *
 * HMP "info migrate" (the pre-9.1 text layout shown in
 * ../shared/data/traces/11): "key: value unit" lines after a
 * "(qemu) info migrate" prompt or a "Migration status:" line; kbytes are
 * KiB.  A dump ends at the first line that is not "key: value".
 */
#include "traces/trace_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static bool jnum(json_t *o, const char *key, double *v)
{
    json_t *x = json_object_get(o, key);
    if (!x || !json_is_number(x)) {
        return false;
    }
    *v = json_number_value(x);
    return true;
}

static bool ju64(json_t *o, const char *key, uint64_t *v)
{
    double d;
    if (!jnum(o, key, &d) || d < 0 || d > 1.8e19) {
        return false;
    }
    json_t *x = json_object_get(o, key);
    *v = json_is_integer(x) ? (uint64_t)json_integer_value(x) : (uint64_t)d;
    return true;
}

static bool ji64(json_t *o, const char *key, int64_t *v)
{
    double d;
    if (!jnum(o, key, &d) || d < -9.2e18 || d > 9.2e18) {
        return false;
    }
    json_t *x = json_object_get(o, key);
    *v = json_is_integer(x) ? (int64_t)json_integer_value(x) : (int64_t)d;
    return true;
}

/* A time in ms (query-migrate): 0 .. 1e12 (31 years), else absent. */
static bool jms(json_t *o, const char *key, int64_t *v)
{
    int64_t x;
    if (!ji64(o, key, &x) || x < 0 || x > 1000000000000LL) {
        return false;
    }
    *v = x;
    return true;
}

static int64_t json_time(json_t *t)
{
    if (!t) {
        return TRC_NO_TIME;
    }
    if (json_is_object(t)) {
        int64_t s, us = 0;
        if (!ji64(t, "seconds", &s) || s < 0 || s > 9000000000LL) {
            return TRC_NO_TIME;
        }
        ji64(t, "microseconds", &us);
        if (us < 0 || us >= 1000000) {
            us = 0;
        }
        return s * 1000000000 + us * 1000;
    }
    if (json_is_number(t)) {
        double d = json_number_value(t);
        if (!(d >= 0) || d > 9.2e18) {
            return TRC_NO_TIME;
        }
        double ns = d > 1e17   ? d       /* ns */
                    : d > 1e14 ? d * 1e3 /* us */
                    : d > 1e11 ? d * 1e6 /* ms */
                               : d * 1e9;
        return ns < 9e18 ? (int64_t)ns : TRC_NO_TIME;
    }
    if (json_is_string(t)) {
        int64_t ns;
        const char *s = json_string_value(t);
        if (trc_parse_iso8601(s, strlen(s), &ns)) {
            return ns;
        }
    }
    return TRC_NO_TIME;
}

static void snap_from_json(json_t *o, struct trc_snapshot *sn)
{
    memset(sn, 0, sizeof(*sn));
    json_t *st = json_object_get(o, "status");
    if (json_is_string(st)) {
        snprintf(sn->status, sizeof(sn->status), "%s", json_string_value(st));
        sn->have |= TRC_SNAP_STATUS;
    }
    if (jms(o, "total-time", &sn->total_time_ms)) {
        sn->have |= TRC_SNAP_TOTAL_TIME;
    }
    if (jms(o, "setup-time", &sn->setup_time_ms)) {
        sn->have |= TRC_SNAP_SETUP_TIME;
    }
    if (jms(o, "downtime", &sn->downtime_ms)) {
        sn->have |= TRC_SNAP_DOWNTIME;
    }
    if (jms(o, "expected-downtime", &sn->expected_downtime_ms)) {
        sn->have |= TRC_SNAP_EXPECTED_DOWNTIME;
    }
    double d;
    if (jnum(o, "cpu-throttle-percentage", &d) && d >= 0 && d <= 100) {
        sn->throttle_pct = d;
        sn->have |= TRC_SNAP_THROTTLE;
    }
    json_t *vf = json_object_get(o, "vfio");
    if (json_is_object(vf) && ju64(vf, "transferred", &sn->vfio_bytes)) {
        sn->have |= TRC_SNAP_VFIO;
    }
    json_t *ram = json_object_get(o, "ram");
    if (!json_is_object(ram)) {
        return;
    }
    static const struct {
        const char *key;
        size_t off;
        uint32_t bit;
    } u[] = {
        {"transferred", offsetof(struct trc_snapshot, transferred_bytes),
         TRC_SNAP_TRANSFERRED},
        {"remaining", offsetof(struct trc_snapshot, remaining_bytes),
         TRC_SNAP_REMAINING},
        {"total", offsetof(struct trc_snapshot, total_bytes), TRC_SNAP_TOTAL},
        {"dirty-pages-rate", offsetof(struct trc_snapshot, dirty_pages_rate),
         TRC_SNAP_DIRTY_RATE},
        {"dirty-sync-count", offsetof(struct trc_snapshot, dirty_sync_count),
         TRC_SNAP_SYNC_COUNT},
        {"page-size", offsetof(struct trc_snapshot, page_bytes),
         TRC_SNAP_PAGE_SIZE},
        {"multifd-bytes", offsetof(struct trc_snapshot, multifd_bytes),
         TRC_SNAP_MULTIFD},
        {"precopy-bytes", offsetof(struct trc_snapshot, precopy_bytes),
         TRC_SNAP_PRECOPY},
        {"downtime-bytes", offsetof(struct trc_snapshot, downtime_bytes),
         TRC_SNAP_DOWNTIME_BYTES},
        {"postcopy-bytes", offsetof(struct trc_snapshot, postcopy_bytes),
         TRC_SNAP_POSTCOPY},
        {"normal", offsetof(struct trc_snapshot, normal_pages),
         TRC_SNAP_NORMAL},
        {"duplicate", offsetof(struct trc_snapshot, duplicate_pages),
         TRC_SNAP_DUPLICATE},
        {"pages-per-second", offsetof(struct trc_snapshot, pages_per_second),
         TRC_SNAP_PAGES_PER_S},
    };
    for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
        uint64_t v;
        if (ju64(ram, u[i].key, &v)) {
            memcpy((char *)sn + u[i].off, &v, sizeof(v));
            sn->have |= u[i].bit;
        }
    }
    if (jnum(ram, "mbps", &d) && d >= 0 && d < 1e12) {
        sn->mbps = d;
        sn->have |= TRC_SNAP_MBPS;
    }
}

static bool is_query_migrate(json_t *o)
{
    return json_is_object(o) && json_is_string(json_object_get(o, "status")) &&
           (json_object_get(o, "ram") || json_object_get(o, "total-time") ||
            json_object_get(o, "expected-downtime") ||
            json_object_get(o, "setup-time") || json_object_get(o, "vfio") ||
            json_object_size(o) == 1);
}

int trc_qmp_line(struct trc_reader *r, const char *s, size_t len,
                 struct trc_record *rec, char *why, size_t whylen)
{
    json_error_t je;
    json_t *j = json_loadb(s, len, JSON_DISABLE_EOF_CHECK, &je);
    if (!j) {
        snprintf(why, whylen, "invalid JSON: %s (column %d)", je.text,
                 je.column);
        return -1;
    }
    int rc = 0;
    if (!json_is_object(j)) {
        json_decref(j);
        return 0;
    }
    rec->kind = TRC_REC_SNAPSHOT;
    rec->ev = TRC_EV_UNKNOWN;
    rec->present = 0;
    rec->variant = 0;
    rec->args = NULL;
    rec->args_len = 0;
    rec->snap = NULL;
    rec->name = "";
    rec->name_len = 0;
    json_t *greet = json_object_get(j, "QMP");
    json_t *ev = json_object_get(j, "event");
    json_t *ret = json_object_get(j, "return");
    if (json_is_object(greet)) {
        json_t *q = json_object_get(json_object_get(greet, "version"), "qemu");
        uint64_t v[3];
        if (json_is_object(q) && ju64(q, "major", &v[0]) &&
            ju64(q, "minor", &v[1]) && ju64(q, "micro", &v[2])) {
            rec->kind = TRC_REC_QMP_GREETING;
            for (unsigned i = 0; i < 3; i++) {
                rec->a[i].u = v[i];
                rec->a[i].s = NULL;
                rec->present |= 1u << i;
            }
            rec->name = "QMP";
            rec->name_len = 3;
            rc = 1;
        }
    } else if (json_is_string(ev)) {
        snprintf(r->qmp_name, sizeof(r->qmp_name), "%s", json_string_value(ev));
        rec->kind = TRC_REC_QMP_EVENT;
        rec->name = r->qmp_name;
        rec->name_len = strlen(r->qmp_name);
        rec->t_ns = json_time(json_object_get(j, "timestamp"));
        json_t *data = json_object_get(j, "data");
        json_t *st = json_object_get(data, "status");
        uint64_t pass;
        if (json_is_string(st)) {
            snprintf(r->qmp_str, sizeof(r->qmp_str), "%s",
                     json_string_value(st));
            rec->a[0].s = r->qmp_str;
            rec->a[0].len = (uint32_t)strlen(r->qmp_str);
            rec->present = 1;
        } else if (json_is_object(data) && ju64(data, "pass", &pass)) {
            rec->a[0].u = pass;
            rec->a[0].s = NULL;
            rec->present = 1;
        }
        r->st.qmp_events++;
        rc = 1;
    } else {
        json_t *o = json_is_object(ret) ? ret : j;
        if (is_query_migrate(o)) {
            snap_from_json(o, &r->snap_out);
            rec->snap = &r->snap_out;
            rec->t_ns = json_time(json_object_get(j, "timestamp"));
            if (rec->t_ns == TRC_NO_TIME && o != j) {
                rec->t_ns = json_time(json_object_get(o, "timestamp"));
            }
            r->st.snapshots++;
            rc = 1;
        }
    }
    json_decref(j);
    return rc;
}

/* ---- HMP ---- */

static bool starts(const char *s, size_t len, const char *p)
{
    size_t n = strlen(p);
    return len >= n && memcmp(s, p, n) == 0;
}

bool trc_hmp_start(const char *s, size_t len)
{
    return starts(s, len, "(qemu) info migrate") ||
           starts(s, len, "Migration status:") || starts(s, len, "globals:");
}

/* "key: rest" with a key of letters, digits, spaces, '-', '_', '(', ')',
 * '/'.  Returns the key length (0 if not such a line); *val = rest. */
static size_t key_line(const char *s, size_t len, const char **val,
                       size_t *vlen)
{
    size_t i = 0;
    if (len == 0 ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) {
        return 0;
    }
    while (i < len && i < 64 && s[i] != ':') {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == ' ' || c == '-' || c == '_' ||
              c == '(' || c == ')' || c == '/')) {
            return 0;
        }
        i++;
    }
    if (i >= len || s[i] != ':' || (i + 1 < len && s[i + 1] != ' ')) {
        return 0;
    }
    size_t v = i + 1;
    while (v < len && s[v] == ' ') {
        v++;
    }
    *val = s + v;
    *vlen = len - v;
    return i;
}

static bool num_unit(const char *v, size_t vlen, double *x, const char **unit,
                     size_t *ulen)
{
    char buf[64];
    if (vlen == 0 || vlen >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, v, vlen);
    buf[vlen] = '\0';
    char *end;
    *x = strtod(buf, &end);
    if (end == buf || !(*x >= 0)) {
        return false;
    }
    while (*end == ' ') {
        end++;
    }
    *unit = v + (end - buf);
    *ulen = vlen - (size_t)(end - buf);
    return true;
}

static bool key_is(const char *k, size_t klen, const char *name)
{
    return strlen(name) == klen && memcmp(k, name, klen) == 0;
}

/* The numeric lines of a dump: key, snapshot field, TRC_SNAP_* bit, and
 * whether the value is a time in ms (else a count, bytes or kbytes). */
#define HMP_KEY(key, field, bit, ms)                                           \
    {                                                                          \
        key, offsetof(struct trc_snapshot, field), TRC_SNAP_##bit, ms          \
    }
static const struct {
    const char *key;
    size_t off;
    uint32_t bit;
    bool ms;
} hmp_keys[] = {
    HMP_KEY("total time", total_time_ms, TOTAL_TIME, true),
    HMP_KEY("expected downtime", expected_downtime_ms, EXPECTED_DOWNTIME, true),
    HMP_KEY("downtime", downtime_ms, DOWNTIME, true),
    HMP_KEY("setup", setup_time_ms, SETUP_TIME, true),
    HMP_KEY("transferred ram", transferred_bytes, TRANSFERRED, false),
    HMP_KEY("remaining ram", remaining_bytes, REMAINING, false),
    HMP_KEY("total ram", total_bytes, TOTAL, false),
    HMP_KEY("duplicate", duplicate_pages, DUPLICATE, false),
    HMP_KEY("normal", normal_pages, NORMAL, false),
    HMP_KEY("dirty sync count", dirty_sync_count, SYNC_COUNT, false),
    HMP_KEY("page size", page_bytes, PAGE_SIZE, false),
    HMP_KEY("multifd bytes", multifd_bytes, MULTIFD, false),
    HMP_KEY("pages-per-second", pages_per_second, PAGES_PER_S, false),
    HMP_KEY("dirty pages rate", dirty_pages_rate, DIRTY_RATE, false),
    HMP_KEY("precopy ram", precopy_bytes, PRECOPY, false),
    HMP_KEY("downtime ram", downtime_bytes, DOWNTIME_BYTES, false),
    HMP_KEY("postcopy ram", postcopy_bytes, POSTCOPY, false),
    HMP_KEY("vfio device transferred", vfio_bytes, VFIO, false),
};

/* "Migration status: S": false when it starts the next dump. */
static bool hmp_status(struct hmp_state *h, const char *v, size_t vlen)
{
    struct trc_snapshot *sn = &h->snap;
    if (h->have_status) {
        return false; /* the next dump starts here */
    }
    size_t n = vlen < sizeof(sn->status) - 1 ? vlen : sizeof(sn->status) - 1;
    memcpy(sn->status, v, n);
    sn->status[n] = '\0';
    while (n && sn->status[n - 1] == ' ') {
        sn->status[--n] = '\0';
    }
    sn->have |= TRC_SNAP_STATUS;
    h->have_status = true;
    return true;
}

/* A "key: number [unit]" line of the dump. */
static void hmp_value(struct trc_snapshot *sn, const char *k, size_t kl,
                      const char *v, size_t vlen)
{
    double x;
    const char *u;
    size_t ul;
    if (!num_unit(v, vlen, &x, &u, &ul) || x > 1e15) {
        return; /* capability / global lines: part of the dump */
    }
    double mult = 1;
    if (ul >= 6 && memcmp(u, "kbytes", 6) == 0) {
        mult = 1024;
    }
    uint64_t b = (uint64_t)(x * mult);
    for (size_t i = 0; i < sizeof(hmp_keys) / sizeof(hmp_keys[0]); i++) {
        if (!key_is(k, kl, hmp_keys[i].key)) {
            continue;
        }
        if (hmp_keys[i].ms) {
            if (x > 1e12) {
                return; /* not a plausible time: ignore it */
            }
            int64_t t = (int64_t)x;
            memcpy((char *)sn + hmp_keys[i].off, &t, sizeof(t));
        } else {
            memcpy((char *)sn + hmp_keys[i].off, &b, sizeof(b));
        }
        sn->have |= hmp_keys[i].bit;
        return;
    }
    if (key_is(k, kl, "throughput")) {
        sn->mbps = x;
        sn->have |= TRC_SNAP_MBPS;
    } else if (key_is(k, kl, "cpu throttle percentage")) {
        sn->throttle_pct = x;
        sn->have |= TRC_SNAP_THROTTLE;
    }
}

bool trc_hmp_line(struct hmp_state *h, const char *s, size_t len)
{
    if (starts(s, len, "(qemu) info migrate")) {
        return !h->have_status && h->snap.have == 0;
    }
    const char *v;
    size_t vlen;
    size_t kl = key_line(s, len, &v, &vlen);
    if (kl == 0) {
        return false;
    }
    if (key_is(s, kl, "Migration status")) {
        return hmp_status(h, v, vlen);
    }
    hmp_value(&h->snap, s, kl, v, vlen);
    return true;
}

bool trc_hmp_emit(struct trc_reader *r, struct trc_record *rec)
{
    struct hmp_state *h = &r->hmp;
    h->active = false;
    if (h->snap.have == 0) {
        return false;
    }
    r->snap_out = h->snap;
    r->snap_out.from_hmp = true;
    /* page size is printed in kbytes */
    rec->kind = TRC_REC_SNAPSHOT;
    rec->ev = TRC_EV_UNKNOWN;
    rec->snap = &r->snap_out;
    rec->line = h->start_line;
    rec->present = 0;
    rec->name = "info migrate";
    rec->name_len = 12;
    rec->args = NULL;
    rec->args_len = 0;
    r->st.snapshots++;
    memset(h, 0, sizeof(*h));
    return true;
}
