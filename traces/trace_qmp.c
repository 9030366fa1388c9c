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
#include "base/json.h"

#include "model/mig_status.h"

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

/* A command that sets migration parameters (libvirt's debug log shows
 * what it sends): migrate-set-parameters {downtime-limit ms, max-bandwidth
 * B/s, avail-switchover-bandwidth B/s}, the old migrate_set_downtime
 * {value: seconds} and migrate_set_speed {value: B/s}.  1 if rec was
 * filled. */
static int params_from_command(struct trc_reader *r, const char *cmd,
                               json_t *args, struct trc_record *rec)
{
    double v;
    if (!json_is_object(args)) {
        return 0;
    }
    rec->kind = TRC_REC_PARAMS;
    snprintf(r->qmp_name, sizeof(r->qmp_name), "%s", cmd);
    rec->name = r->qmp_name;
    rec->name_len = strlen(r->qmp_name);
    if (!strcmp(cmd, "migrate-set-parameters") ||
        !strcmp(cmd, "migrate_set_parameters")) {
        static const char *const keys[3] = {"downtime-limit", "max-bandwidth",
                                            "avail-switchover-bandwidth"};
        for (unsigned i = 0; i < 3; i++) {
            if (jnum(args, keys[i], &v) && v >= 0 && v < 1.8e19) {
                rec->a[i].u = (uint64_t)v;
                rec->a[i].s = NULL;
                rec->present |= 1u << i;
            }
        }
    } else if (!strcmp(cmd, "migrate_set_downtime")) {
        if (jnum(args, "value", &v) && v >= 0 && v < 2e6) {
            rec->a[0].u = (uint64_t)(v * 1000.0 + 0.5);
            rec->a[0].s = NULL;
            rec->present = 1;
        }
    } else if (!strcmp(cmd, "migrate_set_speed")) {
        if (jnum(args, "value", &v) && v >= 0 && v < 1.8e19) {
            rec->a[1].u = (uint64_t)v;
            rec->a[1].s = NULL;
            rec->present = 2;
        }
    }
    if (!rec->present) {
        rec->kind = TRC_REC_SNAPSHOT;
        return 0;
    }
    r->st.qmp_events++;
    return 1;
}

int trc_qmp_line(struct trc_reader *r, const char *s, size_t len,
                 struct trc_record *rec, char *why, size_t whylen)
{
    json_error_t je;
    unsigned n_nonfinite = 0;
    size_t clen = 0;
    char *clean = json_nonfinite_to_null(s, len, &clen, &n_nonfinite);
    json_t *j = clean ? json_loadb(clean, clen, JSON_DISABLE_EOF_CHECK, &je)
                      : json_loadb(s, len, JSON_DISABLE_EOF_CHECK, &je);
    free(clean);
    if (j) {
        r->st.nonfinite += n_nonfinite;
    }
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
    json_t *exe = json_object_get(j, "execute");
    if (json_is_string(exe)) {
        rc = params_from_command(r, json_string_value(exe),
                                 json_object_get(j, "arguments"), rec);
    } else if (json_is_object(greet)) {
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
           starts(s, len, "Migration status:") || starts(s, len, "globals:") ||
           starts(s, len, "Status:") || starts(s, len, "Globals:") ||
           starts(s, len, "Job type:");
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

/* ---- virsh domjobinfo ("Job type: Unbounded", "Time elapsed: 1603 ms",
 * "Memory processed: 72.421 MiB", ...; --completed: "Job type:
 * Completed", "Total downtime: N ms"; --rawstats: the typed parameter
 * names, "time_elapsed: 1603") ---- */

static bool hmp_size(const char *v, size_t vlen, uint64_t *bytes);

static const char *dji_status(const char *v, size_t vlen)
{
    static const char *const map[][2] = {
        {"Unbounded", "active"},    {"Bounded", "active"},
        {"Completed", "completed"}, {"Failed", "failed"},
        {"Cancelled", "cancelled"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (vlen >= strlen(map[i][0]) &&
            memcmp(v, map[i][0], strlen(map[i][0])) == 0) {
            return map[i][1];
        }
    }
    return NULL; /* None: no job */
}

static void dji_value(struct trc_snapshot *sn, const char *k, size_t kl,
                      const char *v, size_t vlen)
{
    static const struct {
        const char *key, *raw;
        size_t off;
        uint32_t bit;
        char kind; /* 't' ms, 's' size, 'c' count */
    } m[] = {
        {"Time elapsed", "time_elapsed",
         offsetof(struct trc_snapshot, total_time_ms), TRC_SNAP_TOTAL_TIME,
         't'},
        {"Total downtime", "downtime",
         offsetof(struct trc_snapshot, downtime_ms), TRC_SNAP_DOWNTIME, 't'},
        {"Expected downtime", "downtime_expected",
         offsetof(struct trc_snapshot, expected_downtime_ms),
         TRC_SNAP_EXPECTED_DOWNTIME, 't'},
        {"Setup time", "setup_time",
         offsetof(struct trc_snapshot, setup_time_ms), TRC_SNAP_SETUP_TIME,
         't'},
        {"Memory processed", "memory_processed",
         offsetof(struct trc_snapshot, transferred_bytes), TRC_SNAP_TRANSFERRED,
         's'},
        {"Memory remaining", "memory_remaining",
         offsetof(struct trc_snapshot, remaining_bytes), TRC_SNAP_REMAINING,
         's'},
        {"Memory total", "memory_total",
         offsetof(struct trc_snapshot, total_bytes), TRC_SNAP_TOTAL, 's'},
        {"Dirty rate", "memory_dirty_rate",
         offsetof(struct trc_snapshot, dirty_pages_rate), TRC_SNAP_DIRTY_RATE,
         'c'},
        {"Iteration", "memory_iteration",
         offsetof(struct trc_snapshot, dirty_sync_count), TRC_SNAP_SYNC_COUNT,
         'c'},
        {"Page size", "memory_page_size",
         offsetof(struct trc_snapshot, page_bytes), TRC_SNAP_PAGE_SIZE, 'c'},
        {"Constant pages", "memory_constant",
         offsetof(struct trc_snapshot, duplicate_pages), TRC_SNAP_DUPLICATE,
         'c'},
        {"Normal pages", "memory_normal",
         offsetof(struct trc_snapshot, normal_pages), TRC_SNAP_NORMAL, 'c'},
    };
    double x;
    const char *u;
    size_t ul;
    if (key_is(k, kl, "Memory bandwidth") || key_is(k, kl, "memory_bps")) {
        uint64_t b;
        size_t n = vlen;
        if (n > 2 && v[n - 2] == '/' && v[n - 1] == 's') {
            n -= 2; /* "58.258 MiB/s" */
        }
        if (hmp_size(v, n, &b)) {
            sn->mbps = (double)b * 8.0 / 1e6;
            sn->have |= TRC_SNAP_MBPS;
        }
        return;
    }
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        if (!key_is(k, kl, m[i].key) && !key_is(k, kl, m[i].raw)) {
            continue;
        }
        if (m[i].kind == 's') {
            uint64_t b;
            if (hmp_size(v, vlen, &b)) {
                memcpy((char *)sn + m[i].off, &b, sizeof(b));
                sn->have |= m[i].bit;
            }
            return;
        }
        if (!num_unit(v, vlen, &x, &u, &ul) || x > 1e15) {
            return;
        }
        if (m[i].kind == 't') {
            if (x > 1e12) {
                return;
            }
            int64_t t = (int64_t)x;
            memcpy((char *)sn + m[i].off, &t, sizeof(t));
        } else {
            uint64_t c = (uint64_t)x;
            memcpy((char *)sn + m[i].off, &c, sizeof(c));
        }
        sn->have |= m[i].bit;
        return;
    }
}

/* ---- the layout of QEMU 10.1+ ("Status:", "Time (ms): total=N, ...",
 * "RAM info:" with indented "Transfers: transferred=1.08 GiB, ...";
 * sizes are printed with 3 significant digits, so they are approximate) */

/* "1.08 GiB", "4 KiB", "0 B" -> bytes; false if not a size. */
static bool hmp_size(const char *v, size_t vlen, uint64_t *bytes)
{
    double x;
    const char *u;
    size_t ul;
    if (!num_unit(v, vlen, &x, &u, &ul)) {
        return false;
    }
    static const struct {
        const char *u;
        double m;
    } units[] = {{"B", 1},
                 {"KiB", 1024.0},
                 {"MiB", 1048576.0},
                 {"GiB", 1073741824.0},
                 {"TiB", 1099511627776.0},
                 {"PiB", 1125899906842624.0},
                 {"EiB", 1152921504606846976.0}};
    double m = ul == 0 ? 1 : 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (key_is(u, ul, units[i].u)) {
            m = units[i].m;
        }
    }
    if (m == 0 || x * m > 1.8e19) {
        return false;
    }
    *bytes = (uint64_t)(x * m);
    return true;
}

/* Set a snapshot field from "name=value" of a new-layout line. */
static void hmp_kv(struct trc_snapshot *sn, const char *k, size_t kl,
                   const char *n, size_t nl, const char *v, size_t vl)
{
    static const struct {
        const char *key, *name;
        size_t off;
        uint32_t bit;
        char kind; /* 't' ms, 's' size, 'c' count */
    } m[] = {
        {"Time (ms)", "total", offsetof(struct trc_snapshot, total_time_ms),
         TRC_SNAP_TOTAL_TIME, 't'},
        {"Time (ms)", "setup", offsetof(struct trc_snapshot, setup_time_ms),
         TRC_SNAP_SETUP_TIME, 't'},
        {"Time (ms)", "down", offsetof(struct trc_snapshot, downtime_ms),
         TRC_SNAP_DOWNTIME, 't'},
        {"Time (ms)", "exp_down",
         offsetof(struct trc_snapshot, expected_downtime_ms),
         TRC_SNAP_EXPECTED_DOWNTIME, 't'},
        {"Sizes", "pagesize", offsetof(struct trc_snapshot, page_bytes),
         TRC_SNAP_PAGE_SIZE, 's'},
        {"Sizes", "total", offsetof(struct trc_snapshot, total_bytes),
         TRC_SNAP_TOTAL, 's'},
        {"Transfers", "transferred",
         offsetof(struct trc_snapshot, transferred_bytes), TRC_SNAP_TRANSFERRED,
         's'},
        {"Transfers", "remain", offsetof(struct trc_snapshot, remaining_bytes),
         TRC_SNAP_REMAINING, 's'},
        {"Channels", "precopy", offsetof(struct trc_snapshot, precopy_bytes),
         TRC_SNAP_PRECOPY, 's'},
        {"Channels", "multifd", offsetof(struct trc_snapshot, multifd_bytes),
         TRC_SNAP_MULTIFD, 's'},
        {"Channels", "postcopy", offsetof(struct trc_snapshot, postcopy_bytes),
         TRC_SNAP_POSTCOPY, 's'},
        {"Page Types", "normal", offsetof(struct trc_snapshot, normal_pages),
         TRC_SNAP_NORMAL, 'c'},
        {"Page Types", "zero", offsetof(struct trc_snapshot, duplicate_pages),
         TRC_SNAP_DUPLICATE, 'c'},
        {"Page Rates (pps)", "transfer",
         offsetof(struct trc_snapshot, pages_per_second), TRC_SNAP_PAGES_PER_S,
         'c'},
        {"Page Rates (pps)", "dirty",
         offsetof(struct trc_snapshot, dirty_pages_rate), TRC_SNAP_DIRTY_RATE,
         'c'},
        {"Others", "dirty_syncs",
         offsetof(struct trc_snapshot, dirty_sync_count), TRC_SNAP_SYNC_COUNT,
         'c'},
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        if (!key_is(k, kl, m[i].key) || !key_is(n, nl, m[i].name)) {
            continue;
        }
        double x;
        const char *u;
        size_t ul;
        if (m[i].kind == 's') {
            uint64_t b;
            if (!hmp_size(v, vl, &b)) {
                return;
            }
            memcpy((char *)sn + m[i].off, &b, sizeof(b));
        } else if (!num_unit(v, vl, &x, &u, &ul) || ul || x > 1e15) {
            return;
        } else if (m[i].kind == 't') {
            if (x > 1e12) {
                return;
            }
            int64_t t = (int64_t)x;
            memcpy((char *)sn + m[i].off, &t, sizeof(t));
        } else {
            uint64_t c = (uint64_t)x;
            memcpy((char *)sn + m[i].off, &c, sizeof(c));
        }
        sn->have |= m[i].bit;
        return;
    }
}

/* "Key: a=1, b=2 GiB, ..." of the new layout; false if v holds no '='. */
static bool hmp_kv_line(struct trc_snapshot *sn, const char *k, size_t kl,
                        const char *v, size_t vlen)
{
    if (!memchr(v, '=', vlen)) {
        return false;
    }
    size_t i = 0;
    while (i < vlen) {
        while (i < vlen && (v[i] == ' ' || v[i] == ',')) {
            i++;
        }
        size_t n0 = i;
        while (i < vlen && v[i] != '=' && v[i] != ',') {
            i++;
        }
        if (i >= vlen || v[i] != '=') {
            continue;
        }
        size_t nl = i - n0, v0 = ++i;
        while (i < vlen && v[i] != ',') {
            i++;
        }
        size_t vl = i - v0;
        while (vl && v[v0 + vl - 1] == ' ') {
            vl--;
        }
        hmp_kv(sn, k, kl, v + n0, nl, v + v0, vl);
    }
    return true;
}

bool trc_hmp_line(struct hmp_state *h, const char *s, size_t len)
{
    if (starts(s, len, "(qemu) info migrate")) {
        return !h->have_status && h->snap.have == 0;
    }
    /* the 10.1+ layout indents the lines of a section */
    bool indented = false;
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
        indented = true;
    }
    const char *v;
    size_t vlen;
    size_t kl = key_line(s, len, &v, &vlen);
    if (kl == 0) {
        return false;
    }
    if (!indented &&
        (key_is(s, kl, "Migration status") || key_is(s, kl, "Status"))) {
        return hmp_status(h, v, vlen);
    }
    if (!indented && key_is(s, kl, "Job type")) {
        if (h->have_status || h->snap.have) {
            return false; /* the next dump starts here */
        }
        const char *st = dji_status(v, vlen);
        h->dji = true;
        if (st) {
            hmp_status(h, st, strlen(st));
        }
        return true;
    }
    if (h->dji) {
        dji_value(&h->snap, s, kl, v, vlen);
        return true;
    }
    if (key_is(s, kl, "Throughput (Mbps)")) {
        double x;
        const char *u;
        size_t ul;
        if (num_unit(v, vlen, &x, &u, &ul) && x < 1e12) {
            h->snap.mbps = x;
            h->snap.have |= TRC_SNAP_MBPS;
        }
        return true;
    }
    if (hmp_kv_line(&h->snap, s, kl, v, vlen)) {
        return true;
    }
    hmp_value(&h->snap, s, kl, v, vlen);
    return true;
}

bool trc_hmp_emit(struct trc_reader *r, struct trc_record *rec)
{
    struct hmp_state *h = &r->hmp;
    h->active = false;
    enum mig_status ms;
    if (h->snap.have == 0 || (h->dji && !(h->snap.have & TRC_SNAP_STATUS)) ||
        ((h->snap.have & TRC_SNAP_STATUS) &&
         mig_status_from_name(h->snap.status, &ms) != 0)) {
        /* not a migration status ("Status: running" in some other log) */
        memset(h, 0, sizeof(*h));
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

/* ---- Proxmox VE migration task logs: "YYYY-MM-DD HH:MM:SS message" ---- */

static bool dig(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

static long pve_num(const char *s, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(long y, long m, long d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + doe - 719468;
}

/* "2024-05-01 12:00:05 " -> ns (the node's local time, read as UTC: only
 * differences are used); 0 if s does not start so. */
static size_t pve_prefix(const char *s, size_t len, int64_t *t)
{
    if (len < 20 || !dig(s, 4) || s[4] != '-' || !dig(s + 5, 2) ||
        s[7] != '-' || !dig(s + 8, 2) || s[10] != ' ' || !dig(s + 11, 2) ||
        s[13] != ':' || !dig(s + 14, 2) || s[16] != ':' || !dig(s + 17, 2) ||
        s[19] != ' ') {
        return 0;
    }
    long mo = pve_num(s + 5, 2), d = pve_num(s + 8, 2);
    long h = pve_num(s + 11, 2), mi = pve_num(s + 14, 2),
         se = pve_num(s + 17, 2);
    long y = pve_num(s, 4);
    if (y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
        h > 23 || mi > 59 || se > 60) {
        return 0; /* (a year past 2262 would overflow the ns) */
    }
    int64_t days = days_from_civil(y, mo, d);
    *t = ((days * 24 + h) * 60 + mi) * 60 + se;
    *t *= 1000000000LL;
    return 20;
}

/* "112.9 MiB", "4.0 GiB", "123456" (bytes) at v; advances *i. */
static bool pve_size(const char *v, size_t vlen, size_t *i, uint64_t *b)
{
    size_t a = *i;
    while (*i < vlen && ((v[*i] >= '0' && v[*i] <= '9') || v[*i] == '.')) {
        (*i)++;
    }
    if (*i == a) {
        return false;
    }
    size_t e = *i;
    if (*i + 1 < vlen && v[*i] == ' ' &&
        (v[*i + 1] == 'B' || v[*i + 1] == 'K' || v[*i + 1] == 'M' ||
         v[*i + 1] == 'G' || v[*i + 1] == 'T')) {
        e = *i + 1;
        while (e < vlen &&
               ((v[e] >= 'A' && v[e] <= 'Z') || (v[e] >= 'a' && v[e] <= 'z'))) {
            e++;
        }
    }
    bool ok = hmp_size(v + a, e - a, b);
    *i = e;
    return ok;
}

static const char *find(const char *s, size_t len, const char *w)
{
    size_t n = strlen(w);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(s + i, w, n) == 0) {
            return s + i + n;
        }
    }
    return NULL;
}

/* "N" of key N at p, up to ',' / ')' (old form: plain bytes). */
static bool pve_field(const char *m, size_t ml, const char *key, uint64_t *b)
{
    const char *p = find(m, ml, key);
    if (!p) {
        return false;
    }
    size_t i = (size_t)(p - m);
    return pve_size(m, ml, &i, b);
}

static void pve_status(struct trc_snapshot *sn, const char *st)
{
    snprintf(sn->status, sizeof(sn->status), "%s", st);
    sn->have |= TRC_SNAP_STATUS;
}

bool trc_pve_line(struct trc_reader *r, const char *s, size_t len,
                  struct trc_record *rec)
{
    int64_t t;
    size_t k = pve_prefix(s, len, &t);
    if (!k) {
        return false;
    }
    const char *m = s + k;
    size_t ml = len - k;
    struct trc_snapshot *sn = &r->snap_out;
    memset(sn, 0, sizeof(*sn));
    uint64_t a, b;
    double x;
    const char *u;
    size_t ul;
    const char *p;
    if (starts(m, ml, "migration downtime limit: ")) {
        /* "migration downtime limit: 100 ms" */
        if (!num_unit(m + 26, ml - 26, &x, &u, &ul) || x > 2e6) {
            return false;
        }
        rec->kind = TRC_REC_PARAMS;
        rec->name = "proxmox migration downtime limit";
        rec->name_len = strlen(rec->name);
        rec->a[0].u = (uint64_t)x;
        rec->a[0].s = NULL;
        rec->present = 1;
        rec->t_ns = t;
        r->st.qmp_events++;
        return true;
    }
    if (starts(m, ml, "starting online/live migration")) {
        pve_status(sn, "setup");
        r->pve_down_ms = -1;
    } else if (starts(m, ml, "migration status: active")) {
        /* old: "migration status: active (transferred N, remaining N,
         * total N)" */
        pve_status(sn, "active");
        if (pve_field(m, ml, "transferred ", &a)) {
            sn->transferred_bytes = a;
            sn->have |= TRC_SNAP_TRANSFERRED;
        }
        if (pve_field(m, ml, "remaining ", &a)) {
            sn->remaining_bytes = a;
            sn->have |= TRC_SNAP_REMAINING;
        }
        if (pve_field(m, ml, "total ", &a)) {
            sn->total_bytes = a;
            sn->have |= TRC_SNAP_TOTAL;
        }
    } else if (starts(m, ml, "migration active, transferred ")) {
        /* new: "migration active, transferred 112.9 MiB of 4.0 GiB
         * VM-state, 115.2 MiB/s" */
        pve_status(sn, "active");
        size_t i = 30;
        if (pve_size(m, ml, &i, &a)) {
            sn->transferred_bytes = a;
            sn->have |= TRC_SNAP_TRANSFERRED;
        }
        if ((p = find(m, ml, " of ")) != NULL) {
            i = (size_t)(p - m);
            if (pve_size(m, ml, &i, &b)) {
                sn->total_bytes = b;
                sn->have |= TRC_SNAP_TOTAL;
            }
        }
        if ((p = find(m, ml, "VM-state, ")) != NULL) {
            i = (size_t)(p - m);
            if (pve_size(m, ml, &i, &b)) {
                sn->mbps = (double)b * 8.0 / 1e6;
                sn->have |= TRC_SNAP_MBPS;
            }
        }
    } else if (starts(m, ml, "migration speed: ") ||
               starts(m, ml, "average migration speed: ")) {
        /* "... speed: 102.4 MiB/s - downtime 45 ms": kept for the final
         * status line */
        if ((p = find(m, ml, "downtime ")) != NULL &&
            num_unit(p, (size_t)(m + ml - p), &x, &u, &ul) && x < 1e12) {
            r->pve_down_ms = (int64_t)x;
        }
        return false;
    } else if (starts(m, ml, "migration status: completed") ||
               starts(m, ml, "migration finished successfully")) {
        pve_status(sn, "completed");
    } else if (starts(m, ml, "migration status error: ") ||
               starts(m, ml, "migration status: failed") ||
               starts(m, ml, "ERROR: online migrate failure")) {
        pve_status(sn, "failed");
    } else if (starts(m, ml, "migration status: cancelled") ||
               starts(m, ml, "migration aborted")) {
        pve_status(sn, "cancelled");
    } else {
        return false;
    }
    if (!strcmp(sn->status, "completed") && r->pve_down_ms >= 0) {
        sn->downtime_ms = r->pve_down_ms;
        sn->have |= TRC_SNAP_DOWNTIME;
    }
    rec->kind = TRC_REC_SNAPSHOT;
    rec->snap = sn;
    rec->t_ns = t;
    rec->name = "proxmox";
    rec->name_len = 7;
    rec->present = 0;
    r->st.snapshots++;
    return true;
}
