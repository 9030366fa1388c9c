/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_trc_parse.c — the trace reader: every line format (log, tid,
 * ISO-8601, systemtap, embedded in a libvirt/journal log), QMP replies and
 * events, HMP dumps, hex and decimal VFIO sizes, version variants, unknown
 * events, malformed and binary lines with file:line messages, --strict,
 * over-long lines, gzip, stdin, several files, window boundaries of big
 * files, the pattern matcher, the ISO-8601 parser, the catalogue and the
 * trace-events-all parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "base/hash.h"
#include "traces/trace.h"

#define DATA "tests/data/traces/"

/* A record copied out of the reader (records are only valid until the
 * next call). */
struct rec {
    enum trc_rec_kind kind;
    enum trc_format format;
    enum trc_ev ev;
    unsigned variant;
    int64_t t_ns, tid;
    unsigned file;
    uint64_t line;
    char name[64];
    uint32_t present;
    uint64_t u[TRC_MAX_SLOTS];
    char s[TRC_MAX_SLOTS][64];
    struct trc_snapshot snap;
};

struct run {
    struct rec *v;
    size_t n;
    int rc; /* last trc_reader_next */
    char err[512];
    struct trc_stats st;
    char msg0[256]; /* first malformed message */
    enum trc_format dominant;
};

static void copy_rec(struct rec *d, const struct trc_record *r)
{
    memset(d, 0, sizeof(*d));
    d->kind = r->kind;
    d->format = r->format;
    d->ev = r->ev;
    d->variant = r->variant;
    d->t_ns = r->t_ns;
    d->tid = r->tid;
    d->file = r->file;
    d->line = r->line;
    snprintf(d->name, sizeof(d->name), "%.*s", (int)r->name_len, r->name);
    d->present = r->present;
    for (unsigned i = 0; i < TRC_MAX_SLOTS; i++) {
        if (!(r->present & (1u << i))) {
            continue;
        }
        d->u[i] = r->a[i].u;
        if (r->a[i].s) {
            snprintf(d->s[i], sizeof(d->s[i]), "%.*s", (int)r->a[i].len,
                     r->a[i].s);
        }
    }
    if (r->snap) {
        d->snap = *r->snap;
    }
}

static void drain(struct trc_reader *r, struct run *out)
{
    struct trc_record rec;
    size_t cap = 0;
    for (;;) {
        out->rc = trc_reader_next(r, &rec, out->err, sizeof(out->err));
        if (out->rc != 1) {
            break;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            out->v = realloc(out->v, cap * sizeof(*out->v));
            assert_non_null(out->v);
        }
        copy_rec(&out->v[out->n++], &rec);
    }
    const struct trc_stats *st = trc_reader_stats(r);
    out->st = *st;
    out->st.messages = NULL;
    if (st->n_messages) {
        snprintf(out->msg0, sizeof(out->msg0), "%s", st->messages[0]);
    }
    out->dominant = trc_reader_dominant_format(r);
}

static struct trc_reader *reader(enum trc_format f, bool strict)
{
    struct trc_options o = {.format = f, .strict = strict};
    o.events_path = DATA "trace-events-all";
    char err[256];
    struct trc_reader *r = trc_reader_new(&o, err, sizeof(err));
    if (!r) {
        fail_msg("reader: %s", err);
    }
    return r;
}

static struct run read_text(const char *name, const char *text,
                            enum trc_format f, bool strict)
{
    struct run out = {0};
    struct trc_reader *r = reader(f, strict);
    char err[256];
    assert_int_equal(
        trc_reader_add_mem(r, name, text, strlen(text), err, sizeof(err)), 0);
    drain(r, &out);
    trc_reader_free(r);
    return out;
}

static struct run read_file(const char *path, enum trc_format f)
{
    struct run out = {0};
    struct trc_reader *r = reader(f, false);
    char err[256];
    if (trc_reader_add_file(r, path, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    drain(r, &out);
    trc_reader_free(r);
    return out;
}

static const struct rec *find_ev(const struct run *r, enum trc_ev ev,
                                 unsigned nth)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].kind == TRC_REC_EVENT && r->v[i].ev == ev && nth-- == 0) {
            return &r->v[i];
        }
    }
    fail_msg("event %s #%u not found", trc_event_name(ev), nth);
    return NULL;
}

/* ---- formats ---- */

static void test_log_plain(void **state)
{
    (void)state;
    struct run r = read_text("plain.log",
                             "migrate_set_state new state active\n"
                             "migrate_pending_estimate estimate pending size "
                             "8440582144 (pre = 8440582144 post=0)\n"
                             "migration_bitmap_sync_start \n"
                             "migration_bitmap_sync_end dirty_pages 1234\n",
                             TRC_FMT_AUTO, false);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.v[0].ev, TRC_EV_SET_STATE);
    assert_string_equal(r.v[0].s[0], "active");
    assert_int_equal(r.v[0].format, TRC_FMT_LOG);
    assert_true(r.v[0].t_ns == TRC_NO_TIME);
    assert_int_equal(r.v[1].ev, TRC_EV_PENDING_ESTIMATE);
    assert_true(r.v[1].u[0] == 8440582144ull);
    assert_true(r.v[1].u[1] == 8440582144ull);
    assert_true(r.v[1].u[2] == 0);
    assert_int_equal(r.v[2].ev, TRC_EV_SYNC_START);
    assert_int_equal(r.v[3].u[0], 1234);
    assert_int_equal(r.v[3].line, 4);
    assert_int_equal(r.st.known, 4);
    assert_int_equal(r.dominant, TRC_FMT_LOG);
    free(r.v);
}

static void test_log_tid(void **state)
{
    (void)state;
    struct run r = read_text(
        "tid.log",
        "252812@1721976657.700972:vmstate_downtime_checkpoint "
        "src-downtime-start\n"
        "252812@1721976657.967987:vmstate_downtime_save type=iterable "
        "idstr=ram instance_id=0 downtime=138005\n"
        "252812@1721976658.000001:migration_bitmap_sync_start \n"
        "252812@1721976658.000100:migration_bitmap_sync_end dirty_pages 7\n",
        TRC_FMT_AUTO, false);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.v[0].format, TRC_FMT_LOG_TID);
    assert_int_equal(r.v[0].tid, 252812);
    assert_true(r.v[0].t_ns == 1721976657700972000LL);
    assert_string_equal(r.v[0].s[0], "src-downtime-start");
    assert_string_equal(r.v[1].s[0], "iterable");
    assert_string_equal(r.v[1].s[1], "ram");
    assert_int_equal(r.v[1].u[3], 138005);
    /* cached prefix path: same "TID@SEC." as the previous line */
    assert_true(r.v[3].t_ns == 1721976658000100000LL);
    assert_int_equal(r.v[3].tid, 252812);
    free(r.v);
}

static void test_log_iso(void **state)
{
    (void)state;
    struct run r = read_text(
        "iso.log",
        "2025-07-21T18:43:28.089797Z migrate_set_state new state setup\n"
        "2025-07-21T18:43:28.089815Z qemu-system-x86_64: some error text\n"
        "2025-07-21T18:43:29Z migration_thread_low_pending 4096\n",
        TRC_FMT_AUTO, false);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.v[0].format, TRC_FMT_LOG_ISO);
    /* 2025-07-21T18:43:28Z = 1753123408 */
    assert_true(r.v[0].t_ns == 1753123408089797000LL);
    assert_int_equal(r.v[1].ev, TRC_EV_LOW_PENDING);
    assert_true(r.v[1].t_ns == 1753123409000000000LL);
    assert_int_equal(r.v[1].u[0], 4096);
    assert_int_equal(r.st.other, 1); /* the error_report line */
    assert_int_equal(r.st.malformed, 0);
    free(r.v);
}

static void test_stap_file(void **state)
{
    (void)state;
    struct run r = read_file(DATA "01-vfio-vgpu-21GB-estimate-exact-spin.log",
                             TRC_FMT_AUTO);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.n, 11);
    assert_int_equal(r.st.malformed, 0);
    assert_int_equal(r.st.unknown, 0);
    assert_int_equal(r.v[0].format, TRC_FMT_STAP);
    assert_int_equal(r.v[0].tid, 23411);
    assert_true(r.v[0].t_ns == 1725380798968696657LL);
    assert_int_equal(r.v[1].ev, TRC_EV_PENDING_EXACT);
    assert_true(r.v[1].u[0] == 21038628864ull);
    assert_true(r.v[1].t_ns == 1725380799050766000LL);
    /* line 4: same PID@ and seconds as line 3 (cache) */
    assert_true(r.v[3].t_ns == 1725380799138657103LL);
    assert_true(r.v[3].u[0] == 21040144384ull);
    assert_int_equal(r.v[10].line, 11);
    free(r.v);
}

static void test_forced_format(void **state)
{
    (void)state;
    const char *t = "23411@1725380798968696657 migrate_pending_estimate "
                    "estimate pending size 0 (pre = 0 post=0)\n"
                    "migrate_set_state new state active\n";
    struct run r = read_text("f.log", t, TRC_FMT_STAP, false);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.st.malformed, 1);
    assert_string_equal(r.msg0, "f.log:2: no 'PID@NANOSECONDS ' prefix");
    free(r.v);
    r = read_text("f.log", t, TRC_FMT_LOG, false);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0].ev, TRC_EV_SET_STATE);
    assert_int_equal(r.st.malformed, 1);
    assert_non_null(strstr(r.msg0, "f.log:1:"));
    free(r.v);
}

static void test_embedded(void **state)
{
    (void)state;
    const char *t =
        "2024-05-01 12:00:00.123+0000: starting up libvirt version: 9.0.0\n"
        "LC_ALL=C /usr/bin/qemu-system-x86_64 -name guest=vm1 -trace "
        "migrat*\n"
        "2024-05-01 12:00:05.000+0000: 1234: info : migrate_set_state new "
        "state active\n"
        "May 01 12:00:06 host qemu-system-x86_64[999]: "
        "1234@1714564806.500000:migrate_pending_exact exact pending size 42 "
        "(pre = 42 post=0)\n"
        "2024-05-01 12:00:07.000+0000: 1234: debug : "
        "QEMU_MONITOR_RECV_REPLY: mon=0x7f reply={\"return\": {\"status\": "
        "\"active\", \"total-time\": 1500, \"ram\": {\"remaining\": 1000, "
        "\"transferred\": 2000}}, \"id\": \"libvirt-42\"}\n";
    struct run r = read_text("vm1.log", t, TRC_FMT_AUTO, false);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.v[0].ev, TRC_EV_SET_STATE);
    assert_int_equal(r.v[0].format, TRC_FMT_EMBEDDED);
    assert_string_equal(r.v[0].s[0], "active");
    /* time from the libvirt prefix */
    assert_true(r.v[0].t_ns == 1714564805000000000LL);
    assert_int_equal(r.v[1].ev, TRC_EV_PENDING_EXACT);
    assert_int_equal(r.v[1].u[0], 42);
    assert_int_equal(r.v[1].tid, 1234);
    assert_true(r.v[1].t_ns == 1714564806500000000LL);
    assert_int_equal(r.v[2].kind, TRC_REC_SNAPSHOT);
    assert_int_equal(r.v[2].snap.remaining_bytes, 1000);
    assert_int_equal(r.v[2].snap.total_time_ms, 1500);
    assert_int_equal(r.st.other, 2);
    free(r.v);
}

static void test_qmp(void **state)
{
    (void)state;
    const char *t =
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 50, \"minor\": 2, "
        "\"major\": 9}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\n"
        "{\"return\": {}}\n"
        "{\"timestamp\": {\"seconds\": 1737127025, \"microseconds\": "
        "606998}, \"event\": \"MIGRATION\", \"data\": {\"status\": "
        "\"active\"}}\n"
        "{\"timestamp\": {\"seconds\": 1737127026, \"microseconds\": 0}, "
        "\"event\": \"MIGRATION_PASS\", \"data\": {\"pass\": 3}}\n"
        "{\"timestamp\": 1737127027.5, \"return\": {\"status\": \"active\", "
        "\"total-time\": 2000, \"setup-time\": 12, \"expected-downtime\": "
        "300, \"ram\": {\"transferred\": 1000000, \"remaining\": 500000, "
        "\"total\": 4294967296, \"dirty-pages-rate\": 100, \"mbps\": 8.5, "
        "\"dirty-sync-count\": 3, \"page-size\": 4096}, \"vfio\": "
        "{\"transferred\": 77}}}\n"
        "{\"status\": \"completed\", \"total-time\": 5000, \"downtime\": 40}\n"
        "{\"return\": {\"status\": \"active\"\n";
    struct run r = read_text("qmp.log", t, TRC_FMT_AUTO, false);
    assert_int_equal(r.n, 5);
    assert_int_equal(r.v[0].kind, TRC_REC_QMP_GREETING);
    assert_int_equal(r.v[0].u[0], 9);
    assert_int_equal(r.v[0].u[1], 2);
    assert_int_equal(r.v[0].u[2], 50);
    assert_int_equal(r.v[1].kind, TRC_REC_QMP_EVENT);
    assert_string_equal(r.v[1].name, "MIGRATION");
    assert_string_equal(r.v[1].s[0], "active");
    assert_true(r.v[1].t_ns == 1737127025606998000LL);
    assert_string_equal(r.v[2].name, "MIGRATION_PASS");
    assert_int_equal(r.v[2].u[0], 3);
    const struct trc_snapshot *s = &r.v[3].snap;
    assert_int_equal(r.v[3].kind, TRC_REC_SNAPSHOT);
    assert_true(r.v[3].t_ns == 1737127027500000000LL);
    assert_string_equal(s->status, "active");
    assert_int_equal(s->total_time_ms, 2000);
    assert_int_equal(s->setup_time_ms, 12);
    assert_int_equal(s->expected_downtime_ms, 300);
    assert_int_equal(s->transferred_bytes, 1000000);
    assert_int_equal(s->remaining_bytes, 500000);
    assert_true(s->total_bytes == 4294967296ull);
    assert_int_equal(s->dirty_pages_rate, 100);
    assert_true(s->mbps > 8.49 && s->mbps < 8.51);
    assert_int_equal(s->dirty_sync_count, 3);
    assert_int_equal(s->vfio_bytes, 77);
    assert_true(s->have & TRC_SNAP_VFIO);
    assert_false(s->have & TRC_SNAP_DOWNTIME);
    assert_string_equal(r.v[4].snap.status, "completed");
    assert_int_equal(r.v[4].snap.downtime_ms, 40);
    assert_true(r.v[4].t_ns == TRC_NO_TIME);
    /* the cut-off last line (an object left open: gathered as a
     * pretty-printed one until the input ends) is malformed */
    assert_int_equal(r.st.malformed, 1);
    assert_non_null(strstr(r.msg0, "qmp.log:7: JSON object cut off"));
    free(r.v);
}

static void test_hmp_file(void **state)
{
    (void)state;
    struct run r = read_file(
        DATA "11-two-vfio-vf-200G-100Gbit-downtime-1018ms.log", TRC_FMT_AUTO);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.st.malformed, 0);
    assert_int_equal(r.st.unknown, 0);
    assert_int_equal(r.st.snapshots, 1);
    const struct rec *h = &r.v[r.n - 1];
    assert_int_equal(h->kind, TRC_REC_SNAPSHOT);
    assert_int_equal(h->format, TRC_FMT_HMP);
    assert_int_equal(h->line, 19);
    assert_true(h->snap.from_hmp);
    assert_string_equal(h->snap.status, "completed");
    assert_int_equal(h->snap.total_time_ms, 23510);
    assert_int_equal(h->snap.downtime_ms, 1018);
    assert_int_equal(h->snap.setup_time_ms, 380);
    assert_true(h->snap.transferred_bytes == 5317587ull * 1024);
    assert_true(h->snap.total_bytes == 209732424ull * 1024);
    assert_int_equal(h->snap.dirty_sync_count, 4);
    assert_int_equal(h->snap.page_bytes, 4096);
    assert_true(h->snap.vfio_bytes == 209431ull * 1024);
    assert_true(h->snap.downtime_bytes == 118ull * 1024);
    assert_true(h->snap.mbps > 1883.3 && h->snap.mbps < 1883.4);
    /* trace lines before it: 6 save-side, 6 load-side */
    const struct rec *l = find_ev(&r, TRC_EV_DOWNTIME_LOAD, 4);
    assert_string_equal(l->s[0], "non-iterable");
    assert_string_equal(l->s[1], "0000:00:02.0/vfio");
    assert_int_equal(l->u[3], 112113);
    assert_int_equal(l->tid, 353062);
    free(r.v);
}

static void test_hmp_series(void **state)
{
    (void)state;
    const char *t = "(qemu) info migrate\n"
                    "Migration status: active\n"
                    "total time: 1000 ms\n"
                    "expected downtime: 300 ms\n"
                    "remaining ram: 100 kbytes\n"
                    "dirty sync count: 2\n"
                    "(qemu) info migrate\n"
                    "capabilities: xbzrle: off events: on\n"
                    "Migration status: active\n"
                    "total time: 2000 ms\n"
                    "remaining ram: 50 kbytes\n"
                    "dirty pages rate: 1200 pages\n"
                    "Migration status: completed\n"
                    "total time: 3000 ms\n"
                    "downtime: 45 ms\n";
    struct run r = read_text("hmp.txt", t, TRC_FMT_AUTO, false);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.v[0].line, 1);
    assert_int_equal(r.v[0].snap.remaining_bytes, 102400);
    assert_int_equal(r.v[0].snap.dirty_sync_count, 2);
    assert_int_equal(r.v[1].snap.total_time_ms, 2000);
    assert_int_equal(r.v[1].snap.dirty_pages_rate, 1200);
    assert_int_equal(r.v[2].line, 13);
    assert_string_equal(r.v[2].snap.status, "completed");
    assert_int_equal(r.v[2].snap.downtime_ms, 45);
    free(r.v);
    r = read_text("hmp.txt", t, TRC_FMT_HMP, false);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.st.malformed, 0);
    free(r.v);
}

static void test_vfio_hex_and_decimal(void **state)
{
    (void)state;
    struct run r = read_text(
        "vfio.log",
        "vfio_state_pending_exact  (0000:00:02.0) precopy 0x4e5f0000 "
        "postcopy 0x0 stopcopy size 0x4e5f0000 precopy initial size 0x100 "
        "precopy dirty size 0x0\n"
        "vfio_state_pending_exact  (0000:00:02.0) precopy 1314848768 "
        "postcopy 0 stopcopy size 1314848768 precopy initial size 256 "
        "precopy dirty size 0\n"
        "vfio_state_pending_exact  (vf1) precopy 0x10 postcopy 0x0 stopcopy "
        "size 0x10\n"
        "vfio_state_pending_estimate  (vf1) precopy 5 postcopy 0 precopy "
        "initial size 3 precopy dirty size 2\n"
        "vfio_migration_set_state  (vf1) new state STOP_COPY, recover state "
        "PRE_COPY\n"
        "vfio_migration_set_state  (vf1) state 3\n"
        "vfio_vmstate_change  (vf1) running 0 reason finish-migrate device "
        "state STOP_COPY\n"
        "vfio_save_pending  (vf1) precopy 0x20 postcopy 0x0 compatible 0x0\n",
        TRC_FMT_AUTO, false);
    assert_int_equal(r.n, 8);
    assert_int_equal(r.st.malformed, 0);
    assert_string_equal(r.v[0].s[0], "0000:00:02.0");
    assert_int_equal(r.v[0].u[3], 0x4e5f0000);
    assert_int_equal(r.v[0].u[4], 0x100);
    assert_int_equal(r.v[1].u[3], 1314848768);
    assert_int_equal(r.v[1].u[3], r.v[0].u[3]);
    assert_int_equal(r.v[2].variant, 1); /* 8.0 form */
    assert_int_equal(r.v[2].u[3], 16);
    assert_false(r.v[2].present & (1u << 4));
    assert_int_equal(r.v[3].u[4], 3);
    assert_int_equal(r.v[3].u[5], 2);
    assert_string_equal(r.v[4].s[1], "STOP_COPY");
    assert_string_equal(r.v[4].s[2], "PRE_COPY");
    assert_int_equal(r.v[5].variant, 1);
    assert_string_equal(r.v[5].s[1], "3");
    assert_string_equal(r.v[6].s[2], "finish-migrate");
    assert_string_equal(r.v[6].s[3], "STOP_COPY");
    assert_int_equal(r.v[7].u[1], 0x20);
    free(r.v);
}

static void test_version_variants(void **state)
{
    (void)state;
    struct run r = read_text(
        "v.log",
        "migrate_transferred transferred 111570 time_spent 100 bandwidth "
        "1115 switchover_bw 0 max_size 334710\n"
        "migrate_transferred transferred 111570 time_spent 100 bandwidth "
        "1115 max_size 334710\n"
        "migration_transferred_bytes qemu_file 224 multifd 0 RDMA 0\n"
        "migration_transferred_bytes qemu_file 224 multifd 10\n"
        "migrate_pending pending size 100 max 50 (pre = 100 compat=0 "
        "post=0)\n"
        "cpu_throttle_set set guest CPU throttled by 30%\n"
        "migration_dirty_limit_guest guest dirty page rate limit 1 MB/s\n"
        "process_incoming_migration_co_end ret=0 postcopy-state=0\n",
        TRC_FMT_AUTO, false);
    assert_int_equal(r.st.malformed, 0);
    assert_int_equal(r.n, 8);
    assert_int_equal(r.v[0].variant, 0);
    assert_int_equal(r.v[1].variant, 1);
    assert_int_equal(r.v[1].u[4], 334710);
    assert_false(r.v[1].present & (1u << 3));
    assert_int_equal(r.v[2].u[2], 0);
    assert_int_equal(r.v[3].u[1], 10);
    assert_false(r.v[3].present & (1u << 2));
    assert_int_equal(r.v[4].ev, TRC_EV_PENDING);
    assert_int_equal(r.v[4].u[3], 50);
    assert_int_equal(r.v[5].u[0], 30);
    assert_int_equal(r.v[6].u[0], 1);
    assert_int_equal(r.v[7].ev, TRC_EV_INCOMING_END);
    free(r.v);
}

static void test_lazy_arguments(void **state)
{
    (void)state;
    const char *t = "savevm_section_start ram, section_id 2\n"
                    "savevm_section_end ram, section_id 2 -> zzz\n"
                    "migrate_pending_estimate estimate pending size 5 (pre "
                    "= 5 post=0)\n";
    struct trc_options o = {.lazy = true, .no_events = true};
    char err[256];
    struct trc_reader *r = trc_reader_new(&o, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(
        trc_reader_add_mem(r, "lazy.log", t, strlen(t), err, sizeof(err)), 0);
    const struct trc_record *rec;
    /* events the timeline does not read are counted, not handed out, and
     * their arguments are not checked */
    assert_int_equal(trc_reader_next_ref(r, &rec, err, sizeof(err)), 1);
    assert_int_equal(rec->ev, TRC_EV_PENDING_ESTIMATE);
    assert_int_equal(rec->present, 7);
    assert_int_equal(rec->a[0].u, 5);
    /* typed args again on request */
    struct trc_record copy = *rec;
    copy.present = 0;
    copy.a[0].u = 0;
    assert_int_equal(trc_record_parse_args(r, &copy), 0);
    assert_int_equal(copy.present, 7);
    assert_int_equal(copy.a[0].u, 5);
    copy.args_len = 3;
    assert_int_equal(trc_record_parse_args(r, &copy), -1);
    assert_int_equal(trc_reader_next_ref(r, &rec, err, sizeof(err)), 0);
    const struct trc_stats *st = trc_reader_stats(r);
    assert_int_equal(st->malformed, 0);
    assert_int_equal(st->events, 3);
    assert_int_equal(st->records, 1);
    assert_int_equal(st->per_event[TRC_EV_SAVEVM_SECTION_START], 1);
    assert_int_equal(st->per_event[TRC_EV_SAVEVM_SECTION_END], 1);
    trc_reader_free(r);
}

static void test_unknown_events(void **state)
{
    (void)state;
    struct run r = read_text("u.log",
                             "migration_new_fancy_event x=1\n"
                             "migration_new_fancy_event x=2\n"
                             "kvm_run_exit cpu_index 0, reason 2\n"
                             "virtio_queue_notify vdev 0x1 n 0 vq 0x2\n"
                             "savevm_send_ping 0x1\n"
                             "multifd_send_sync_main packet num 5\n",
                             TRC_FMT_AUTO, false);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.n, 6);
    assert_int_equal(r.st.malformed, 0);
    /* declared in the trace-events fixture: known */
    assert_int_equal(r.v[2].ev, TRC_EV_OTHER_KNOWN);
    assert_int_equal(r.v[4].ev, TRC_EV_OTHER_KNOWN);
    assert_int_equal(r.v[5].ev, TRC_EV_OTHER_KNOWN);
    assert_int_equal(r.st.unknown, 3);
    assert_int_equal(r.st.unknown_migration, 2);
    assert_int_equal(r.st.n_unknown_names, 2);
    assert_string_equal(r.st.unknown_names[0].name,
                        "migration_new_fancy_event");
    assert_int_equal(r.st.unknown_names[0].count, 2);
    assert_true(r.st.unknown_names[0].migration);
    assert_string_equal(r.st.unknown_names[1].name, "virtio_queue_notify");
    assert_false(r.st.unknown_names[1].migration);
    free(r.v);
}

static void test_malformed_and_binary(void **state)
{
    (void)state;
    const char t[] = "migrate_set_state new state active\n"
                     "migrate_pending_exact exact pending size 12x (pre = 1 "
                     "post=0)\n"
                     "migrate_pending_exact exact pending size\n"
                     "\x01\x02garbage\xff\xfe\n"
                     "some_event arg\x00with nul\n"
                     "migration_bitmap_sync_end dirty_pages 99999999999999999"
                     "999999\n"
                     "migration_thread_low_pending 5\n";
    struct run out = {0};
    struct trc_reader *r = reader(TRC_FMT_AUTO, false);
    char err[256];
    assert_int_equal(
        trc_reader_add_mem(r, "bad.log", t, sizeof(t) - 1, err, sizeof(err)),
        0);
    drain(r, &out);
    assert_int_equal(out.rc, 0);
    assert_int_equal(out.n, 2);
    assert_int_equal(out.v[1].ev, TRC_EV_LOW_PENDING);
    assert_int_equal(out.v[1].line, 7);
    assert_int_equal(out.st.malformed, 5);
    const struct trc_stats *st = trc_reader_stats(r);
    assert_int_equal(st->n_messages, 5);
    assert_string_equal(st->messages[0], "bad.log:2: arguments match no "
                                         "known format of this event");
    assert_non_null(strstr(st->messages[1], "bad.log:3:"));
    assert_string_equal(st->messages[2], "bad.log:4: binary data in the "
                                         "line");
    assert_string_equal(st->messages[3], "bad.log:5: binary data in the "
                                         "line");
    assert_non_null(strstr(st->messages[4], "bad.log:6:"));
    trc_reader_free(r);
    free(out.v);

    /* --strict: the first one is fatal, with the same message */
    struct run s = read_text("bad.log", t, TRC_FMT_AUTO, true);
    assert_int_equal(s.rc, -1);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.err, "bad.log:2: arguments match no known format "
                               "of this event");
    free(s.v);
}

static void test_long_lines(void **state)
{
    (void)state;
    size_t big = 300000;
    char *t = malloc(big + 200);
    assert_non_null(t);
    strcpy(t, "migrate_set_state new state setup\n");
    size_t n = strlen(t);
    memcpy(t + n, "migrate_set_state new state ", 28);
    memset(t + n + 28, 'x', big);
    n += 28 + big;
    strcpy(t + n, "\nmigrate_set_state new state active\n");
    struct run r = read_text("long.log", t, TRC_FMT_AUTO, false);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.v[1].s[0], "active");
    assert_int_equal(r.v[1].line, 3);
    assert_int_equal(r.st.long_lines, 1);
    assert_int_equal(r.st.malformed, 1);
    assert_non_null(strstr(r.msg0, "long.log:2: line longer than"));

    /* same through a file read with read() (no mmap) and a small limit */
    char path[] = "/tmp/trc_longXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    struct trc_options o = {.no_mmap = true, .max_line = 1000};
    char err[256];
    struct trc_reader *rd = trc_reader_new(&o, err, sizeof(err));
    assert_non_null(rd);
    assert_int_equal(trc_reader_add_file(rd, path, err, sizeof(err)), 0);
    struct run r2 = {0};
    drain(rd, &r2);
    trc_reader_free(rd);
    assert_int_equal(r2.n, 2);
    assert_int_equal(r2.v[1].line, 3);
    assert_int_equal(r2.st.long_lines, 1);
    unlink(path);
    free(r2.v);
    free(r.v);
    free(t);
}

static void test_gzip_stdin_and_files(void **state)
{
    (void)state;
    char gzpath[] = "/tmp/trc_gzXXXXXX";
    int fd = mkstemp(gzpath);
    assert_true(fd >= 0);
    close(fd);
    gzFile g = gzopen(gzpath, "wb");
    assert_non_null(g);
    for (int i = 0; i < 1000; i++) {
        gzprintf(g,
                 "1@1700000000.%06d:migrate_pending_estimate estimate "
                 "pending size %d (pre = %d post=0)\n",
                 i, i, i);
    }
    gzclose(g);

    char plain[] = "/tmp/trc_plXXXXXX";
    fd = mkstemp(plain);
    const char *p = "migrate_set_state new state completed\n";
    assert_int_equal(write(fd, p, strlen(p)), (ssize_t)strlen(p));
    close(fd);

    /* stdin: point fd 0 at the plain file for the duration */
    int saved = dup(0);
    int in = open(plain, O_RDONLY);
    assert_true(in >= 0);
    dup2(in, 0);
    close(in);

    struct trc_reader *r = reader(TRC_FMT_AUTO, false);
    char err[256];
    assert_int_equal(trc_reader_add_file(r, gzpath, err, sizeof(err)), 0);
    assert_int_equal(trc_reader_add_file(r, "-", err, sizeof(err)), 0);
    assert_int_equal(trc_reader_add_file(r, "-", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "more than once"));
    assert_int_equal(trc_reader_add_file(r, "/nonexistent/x", err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "/nonexistent/x"));
    struct run out = {0};
    drain(r, &out);
    dup2(saved, 0);
    close(saved);
    assert_int_equal(out.rc, 0);
    assert_int_equal(out.n, 1001);
    assert_int_equal(out.v[999].u[0], 999);
    assert_int_equal(out.v[999].file, 0);
    assert_int_equal(out.v[999].line, 1000);
    assert_true(out.v[999].t_ns == 1700000000000999000LL);
    assert_int_equal(out.v[1000].file, 1);
    assert_int_equal(out.v[1000].line, 1);
    assert_string_equal(trc_reader_file_name(r, 1), "(stdin)");
    assert_int_equal(trc_reader_n_files(r), 2);
    trc_reader_free(r);
    free(out.v);

    /* a damaged gzip file: reported, not fatal */
    FILE *f = fopen(gzpath, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    assert_int_equal(ftruncate(fileno(f), sz / 2), 0);
    fclose(f);
    out = read_file(gzpath, TRC_FMT_AUTO);
    assert_int_equal(out.rc, 0);
    assert_true(out.n > 0 && out.n < 1000);
    assert_true(out.st.malformed >= 1);
    free(out.v);
    unlink(gzpath);
    unlink(plain);
}

/* A file bigger than the mapping window, lines crossing window ends. */
static void test_big_file_windows(void **state)
{
    (void)state;
    char path[] = "/tmp/trc_bigXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    uint64_t n = 0, sum = 0;
    while (ftell(f) < (long)(TRC_WINDOW_BYTES * 2 + 12345)) {
        fprintf(f,
                "%llu@%llu.%06llu:migration_bitmap_sync_end dirty_pages "
                "%llu\n",
                (unsigned long long)(n % 7 + 1),
                (unsigned long long)(1700000000 + n / 1000000),
                (unsigned long long)(n % 1000000), (unsigned long long)n);
        sum += n;
        n++;
    }
    fclose(f);
    for (int mode = 0; mode < 2; mode++) {
        struct trc_options o = {.no_mmap = mode == 1, .mmap = mode == 0};
        char err[256];
        struct trc_reader *r = trc_reader_new(&o, err, sizeof(err));
        assert_non_null(r);
        assert_int_equal(trc_reader_add_file(r, path, err, sizeof(err)), 0);
        struct trc_record rec;
        uint64_t k = 0, s = 0;
        int rc;
        while ((rc = trc_reader_next(r, &rec, err, sizeof(err))) == 1) {
            assert_int_equal(rec.a[0].u, k);
            assert_int_equal(rec.line, k + 1);
            assert_int_equal(rec.tid, (int64_t)(k % 7 + 1));
            assert_true(rec.t_ns ==
                        (int64_t)(1700000000 + k / 1000000) * 1000000000 +
                            (int64_t)(k % 1000000) * 1000);
            s += rec.a[0].u;
            k++;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(k, n);
        assert_true(s == sum);
        uint64_t done, total;
        trc_reader_progress(r, &done, &total);
        assert_true(done == total && total > TRC_WINDOW_BYTES * 2);
        assert_int_equal(trc_reader_stats(r)->malformed, 0);
        trc_reader_free(r);
    }
    unlink(path);
}

/* The helper-thread reader gives exactly what the serial one gives, on a
 * file mixing every line shape, malformed and over-long lines (one longer
 * than a mapping window), HMP dumps and a last line without newline. */
static void write_mixed(FILE *f)
{
    for (int i = 0; i < 60000; i++) {
        switch (i % 23) {
        case 0:
            fprintf(f,
                    "%d@1700000%03d.%06d:migrate_pending_estimate estimate "
                    "pending size %d (pre = %d post=0)\n",
                    7, i / 1000, i % 1000000, i, i);
            break;
        case 1:
            fprintf(f,
                    "7@%llu migrate_pending_exact exact pending size %d "
                    "(pre = %d post=0)\n",
                    1700000000000000000ull + (unsigned long long)i * 1000, i,
                    i);
            break;
        case 2:
            fprintf(f,
                    "2025-07-21T18:43:%02d.%06dZ migrate_set_state new "
                    "state active\n",
                    i % 60, i % 1000000);
            break;
        case 3:
            fprintf(f,
                    "vfio_state_pending_exact  (0000:00:0%d.0) precopy "
                    "0x%x postcopy 0x0 stopcopy size 0x%x\r\n",
                    i % 10, i, i);
            break;
        case 4:
            fprintf(f, "migration_unknown_thing_%d x=%d\n", i % 5, i);
            break;
        case 5:
            fprintf(f, "migrate_pending_exact exact pending size %dx\n", i);
            break;
        case 6:
            fprintf(f, "\001\002 binary %d\n", i);
            break;
        case 7:
            fprintf(f, "\n");
            break;
        case 8:
            fprintf(f,
                    "{\"timestamp\": %d, \"return\": {\"status\": "
                    "\"active\", \"ram\": {\"remaining\": %d}}}\n",
                    1700000000 + i, i);
            break;
        case 9:
            fprintf(f,
                    "(qemu) info migrate\nMigration status: active\ntotal "
                    "time: %d ms\nremaining ram: %d kbytes\n",
                    i, i);
            break;
        case 10:
            fprintf(f, "2024-05-01 12:00:05.000+0000: 9: info : "
                       "migrate_set_state new state device\n");
            break;
        case 11:
            fprintf(f, "qemu-system-x86_64: some message %d\n", i);
            break;
        case 12:
            fprintf(f, "savevm_section_start ram, section_id %d\n", i);
            break;
        default:
            fprintf(f,
                    "%d@1700000%03d.%06d:migration_bitmap_sync_end "
                    "dirty_pages %d\n",
                    8, i / 1000, i % 1000000, i);
            break;
        }
        if (i == 20000 || i == 40000) {
            size_t big = i == 20000 ? (size_t)5 << 20 : (size_t)12 << 20;
            fputs("migrate_set_state new state ", f);
            for (size_t k = 0; k < big; k++) {
                fputc('z', f);
            }
            fputc('\n', f);
        }
    }
    fputs("migration_thread_low_pending 42", f);
}

static void read_mode(const char *path, bool threads, bool strict,
                      struct run *out)
{
    struct trc_options o = {.no_threads = !threads,
                            .force_threads = threads,
                            .strict = strict,
                            .max_messages = 50,
                            .events_path = DATA "trace-events-all"};
    char err[256];
    struct trc_reader *r = trc_reader_new(&o, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(trc_reader_add_file(r, path, err, sizeof(err)), 0);
    memset(out, 0, sizeof(*out));
    drain(r, out);
    const struct trc_stats *st = trc_reader_stats(r);
    /* keep every message for the comparison */
    size_t n = 0;
    for (unsigned i = 0; i < st->n_messages; i++) {
        n += strlen(st->messages[i]) + 1;
    }
    out->st.messages = calloc(1, sizeof(char *));
    out->st.messages[0] = calloc(n + 1, 1);
    for (unsigned i = 0; i < st->n_messages; i++) {
        strcat(out->st.messages[0], st->messages[i]);
        strcat(out->st.messages[0], "\n");
    }
    trc_reader_free(r);
}

static void test_threaded_equals_serial(void **state)
{
    (void)state;
    char path[] = "/tmp/trc_mixXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    write_mixed(f);
    fclose(f);
    for (int strict = 0; strict < 2; strict++) {
        struct run a, b;
        read_mode(path, false, strict, &a);
        read_mode(path, true, strict, &b);
        assert_int_equal(a.rc, b.rc);
        assert_string_equal(a.err, b.err);
        assert_int_equal(a.n, b.n);
        for (size_t i = 0; i < a.n; i++) {
            const struct rec *x = &a.v[i], *y = &b.v[i];
            if (x->kind != y->kind || x->ev != y->ev || x->line != y->line ||
                x->t_ns != y->t_ns || x->tid != y->tid ||
                x->format != y->format || x->present != y->present ||
                strcmp(x->name, y->name) != 0 || x->variant != y->variant ||
                memcmp(x->u, y->u, sizeof(x->u)) != 0 ||
                memcmp(x->s, y->s, sizeof(x->s)) != 0 ||
                memcmp(&x->snap, &y->snap, sizeof(x->snap)) != 0) {
                fail_msg("record %zu differs (line %llu vs %llu)", i,
                         (unsigned long long)x->line,
                         (unsigned long long)y->line);
            }
        }
        assert_int_equal(a.st.lines, b.st.lines);
        assert_int_equal(a.st.bytes, b.st.bytes);
        assert_int_equal(a.st.records, b.st.records);
        assert_int_equal(a.st.known, b.st.known);
        assert_int_equal(a.st.unknown, b.st.unknown);
        assert_int_equal(a.st.malformed, b.st.malformed);
        assert_int_equal(a.st.long_lines, b.st.long_lines);
        assert_int_equal(a.st.other, b.st.other);
        assert_int_equal(a.st.snapshots, b.st.snapshots);
        assert_int_equal(a.st.n_unknown_names, b.st.n_unknown_names);
        assert_int_equal(
            memcmp(a.st.per_format, b.st.per_format, sizeof(a.st.per_format)),
            0);
        assert_int_equal(
            memcmp(a.st.per_event, b.st.per_event, sizeof(a.st.per_event)), 0);
        assert_string_equal(a.st.messages[0], b.st.messages[0]);
        if (!strict) {
            assert_int_equal(a.st.long_lines, 2);
            assert_true(a.st.snapshots > 2000);
            assert_int_equal(a.v[a.n - 1].ev, TRC_EV_LOW_PENDING);
        }
        free(a.st.messages[0]);
        free(a.st.messages);
        free(b.st.messages[0]);
        free(b.st.messages);
        free(a.v);
        free(b.v);
    }
    unlink(path);
}

/* The serial reader parses a prefixed event line without the general
 * line classification (trace_line.c fast_line): a CRLF ending, a line
 * that ends an HMP dump, one that cuts a pretty-printed JSON object off,
 * prefix-cache misses (a 5-digit fraction, another thread, time going
 * back), malformed and unknown events must come out as through the
 * general path, from memory, a mapped file, read() and the helper thread
 * alike (the JSON object cut off by the last line: not "at the end of
 * the input"). */
static const char fast_text[] =
    "7@1700000001.000001:migrate_pending_estimate estimate pending size 10 "
    "(pre = 10 post=0)\r\n"
    "Migration status: active\n"
    "total time: 5 ms\n"
    "7@1700000001.000002:migrate_pending_exact exact pending size 20 (pre = "
    "20 post=0)\n"
    "{\n"
    "  \"return\": {\n"
    "7@1700000001.000003:migration_bitmap_sync_end dirty_pages 5\n"
    "7@1700000001.00004:migration_bitmap_sync_end dirty_pages 6\n"
    "8@1700000002.000005:migration_bitmap_sync_end dirty_pages 7\n"
    "7@1700000001.000006:migrate_pending_exact exact pending size 3x\n"
    "7@1700000001.000007:some_unknown_evt x\n"
    "{\n"
    "  \"return\": {\n"
    "7@1700000001.000008:migration_bitmap_sync_end dirty_pages 9 \r\n"
    "7@1700000001.000009:migration_bitmap_sync_end dirty_pages 10\n";

static void check_fast_run(const struct run *r, const char *msgs)
{
    assert_string_equal(
        msgs, "args 149\n"
              "fast.log:5: JSON object cut off (unbalanced braces)\n"
              "fast.log:10: arguments match no known format of this "
              "event\n"
              "fast.log:12: JSON object cut off (unbalanced braces)\n");
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->n, 9);
    assert_int_equal(r->st.lines, 15);
    assert_int_equal(r->st.malformed, 3);
    assert_int_equal(r->st.unknown, 1);
    static const struct {
        enum trc_rec_kind kind;
        enum trc_ev ev;
        uint64_t line, u0;
        int64_t t_ns, tid;
    } want[] = {
        {TRC_REC_EVENT, TRC_EV_PENDING_ESTIMATE, 1, 10, 1700000001000001000, 7},
        {TRC_REC_SNAPSHOT, TRC_EV_UNKNOWN, 2, 0, TRC_NO_TIME, -1},
        {TRC_REC_EVENT, TRC_EV_PENDING_EXACT, 4, 20, 1700000001000002000, 7},
        {TRC_REC_EVENT, TRC_EV_SYNC_END, 7, 5, 1700000001000003000, 7},
        {TRC_REC_EVENT, TRC_EV_SYNC_END, 8, 6, 1700000001000040000, 7},
        {TRC_REC_EVENT, TRC_EV_SYNC_END, 9, 7, 1700000002000005000, 8},
        {TRC_REC_EVENT, TRC_EV_UNKNOWN, 11, 0, 1700000001000007000, 7},
        {TRC_REC_EVENT, TRC_EV_SYNC_END, 14, 9, 1700000001000008000, 7},
        {TRC_REC_EVENT, TRC_EV_SYNC_END, 15, 10, 1700000001000009000, 7},
    };
    for (size_t i = 0; i < r->n; i++) {
        const struct rec *x = &r->v[i];
        assert_int_equal(x->kind, want[i].kind);
        assert_int_equal(x->line, want[i].line);
        assert_int_equal(x->t_ns, want[i].t_ns);
        assert_int_equal(x->tid, want[i].tid);
        if (x->kind == TRC_REC_EVENT) {
            assert_int_equal(x->ev, want[i].ev);
            assert_int_equal(x->format, TRC_FMT_LOG_TID);
            assert_int_equal(x->u[0], want[i].ev ? want[i].u0 : 0);
        }
    }
    assert_string_equal(r->v[1].snap.status, "active");
    assert_int_equal(r->v[0].present, 7);
    assert_int_equal(r->v[0].u[1], 10);
}

/* Read fast_text (from memory when path is NULL) with o: the records and
 * the messages (file names cut to their last component), joined. */
static void fast_read(struct trc_options o, const char *path, struct run *out,
                      char *msgs, size_t cap)
{
    o.events_path = DATA "trace-events-all";
    char err[256];
    struct trc_reader *r = trc_reader_new(&o, err, sizeof(err));
    assert_non_null(r);
    if (path) {
        assert_int_equal(trc_reader_add_file(r, path, err, sizeof(err)), 0);
    } else {
        assert_int_equal(trc_reader_add_mem(r, "fast.log", fast_text,
                                            strlen(fast_text), err,
                                            sizeof(err)),
                         0);
    }
    memset(out, 0, sizeof(*out));
    drain(r, out);
    const struct trc_stats *st = trc_reader_stats(r);
    msgs[0] = '\0';
    /* the argument text of the CRLF lines ends before the '\r' */
    struct trc_reader *r2 = trc_reader_new(&o, err, sizeof(err));
    assert_non_null(r2);
    assert_int_equal(trc_reader_add_mem(r2, "fast.log", fast_text,
                                        strlen(fast_text), err, sizeof(err)),
                     0);
    const struct trc_record *rec;
    size_t args = 0;
    while (trc_reader_next_ref(r2, &rec, err, sizeof(err)) == 1) {
        args += rec->args_len;
    }
    trc_reader_free(r2);
    snprintf(msgs, cap, "args %zu\n", args);
    for (unsigned i = 0; i < st->n_messages; i++) {
        const char *m = strrchr(st->messages[i], '/');
        m = m ? m + 1 : st->messages[i];
        size_t n = strlen(msgs);
        snprintf(msgs + n, cap - n, "%s\n", m);
    }
    trc_reader_free(r);
}

static void test_fast_path_equals_general(void **state)
{
    (void)state;
    char dir[] = "/tmp/trc_fastXXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/fast.log", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(fast_text, f);
    fclose(f);
    /* memory, mapped file, read() file, helper thread, the defaults */
    for (int mode = 0; mode < 5; mode++) {
        struct trc_options o = {.mmap = mode == 1,
                                .no_mmap = mode == 2,
                                .force_threads = mode == 3,
                                .no_threads = mode != 3 && mode != 4};
        struct run out;
        char msgs[1024];
        fast_read(o, mode ? path : NULL, &out, msgs, sizeof(msgs));
        check_fast_run(&out, msgs);
        free(out.v);
    }
    unlink(path);
    rmdir(dir);
}

/* The reader guesses each line's event name from the one that followed
 * the previous name last time (trc_name_memo): a wrong guess, a guess
 * that is a prefix of the real name or the other way round, a name
 * without arguments and one followed by a tab must read as without the
 * guesses. */
static void test_name_guesses(void **state)
{
    (void)state;
    static const char text[] =
        "1@1.000001:migration_bitmap_sync_start\n"
        "1@1.000002:migrate_pending pending size 5 max 6 (pre = 1 compat=2 "
        "post=3)\n"
        "1@1.000003:migration_bitmap_sync_start \n"
        "1@1.000004:migrate_pending_exact exact pending size 7 (pre = 7 "
        "post=0)\n"
        "1@1.000005:migration_bitmap_sync_start\n"
        "1@1.000006:migrate_pending\tpending size 5\n"
        "1@1.000007:migration_bitmap_sync_start\n"
        "1@1.000008:migrate_pending_exact exact pending size 8 (pre = 8 "
        "post=0)\n"
        "1@1.000009:migration_bitmap_sync_start\n"
        "1@1.000010:migrate_pendin size 1\n"
        "1@1.000011:migration_bitmap_sync_start\n"
        "1@1.000012:migrate_pending pending size 9 max 6 (pre = 1 compat=2 "
        "post=3)\n"
        "1@1.000013:migration_bitmap_sync_start\n"
        "1@1.000014:migrate_pending_pending size 5 max 6 (pre = 1 compat=2 "
        "post=3)\n";
    struct run r = read_text("guess.log", text, TRC_FMT_AUTO, false);
    static const enum trc_ev want[] = {
        TRC_EV_SYNC_START,    TRC_EV_PENDING,    TRC_EV_SYNC_START,
        TRC_EV_PENDING_EXACT, TRC_EV_SYNC_START, TRC_EV_SYNC_START,
        TRC_EV_PENDING_EXACT, TRC_EV_SYNC_START, TRC_EV_UNKNOWN,
        TRC_EV_SYNC_START,    TRC_EV_PENDING,    TRC_EV_SYNC_START,
        TRC_EV_UNKNOWN,
    };
    static const char *const names[] = {
        "migration_bitmap_sync_start",
        "migrate_pending",
        "migration_bitmap_sync_start",
        "migrate_pending_exact",
        "migration_bitmap_sync_start",
        "migration_bitmap_sync_start",
        "migrate_pending_exact",
        "migration_bitmap_sync_start",
        "migrate_pendin",
        "migration_bitmap_sync_start",
        "migrate_pending",
        "migration_bitmap_sync_start",
        "migrate_pending_pending",
    };
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.n, 13); /* the tab: not an event line */
    for (size_t i = 0; i < r.n; i++) {
        assert_int_equal(r.v[i].ev, want[i]);
        assert_string_equal(r.v[i].name, names[i]);
    }
    assert_int_equal(r.v[1].u[0], 5);
    assert_int_equal(r.v[3].u[0], 7);
    assert_int_equal(r.v[10].u[0], 9);
    assert_int_equal(r.st.malformed, 0);
    assert_int_equal(r.st.other, 1);
    free(r.v);
}

/* trc_options.sha256: the first input's digest, hashed as read, equals
 * the file's (sha256sum) whichever way it is read: mapped windows, the
 * helper thread, read(), a gzip file (its compressed bytes), memory; and
 * there is none when reading stopped early (strict). */
static void sha_of(const char *path, struct trc_options o, char out[65],
                   int *rc)
{
    char err[256];
    o.sha256 = true;
    o.events_path = DATA "trace-events-all";
    struct trc_reader *r = trc_reader_new(&o, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(trc_reader_add_file(r, path, err, sizeof(err)), 0);
    assert_int_equal(
        trc_reader_add_file(r, DATA "trace-events-all", err, sizeof(err)), 0);
    const struct trc_record *rec;
    while ((*rc = trc_reader_next_ref(r, &rec, err, sizeof(err))) == 1) {
    }
    memcpy(out, trc_reader_stats(r)->sha256, 65);
    trc_reader_free(r);
}

static void test_sha256_as_read(void **state)
{
    (void)state;
    char path[] = "/tmp/trc_shaXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    write_mixed(f);
    fclose(f);
    char want[65], got[65], err[256];
    assert_int_equal(hash_sha256_file(path, want, err, sizeof(err)), 0);
    const struct trc_options modes[] = {
        {.no_threads = true},
        {.force_threads = true},
        {.no_mmap = true},
    };
    int rc;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        sha_of(path, modes[i], got, &rc);
        assert_int_equal(rc, 0);
        assert_string_equal(got, want);
    }
    sha_of(path, (struct trc_options){.strict = true}, got, &rc);
    assert_int_equal(rc, -1);
    assert_string_equal(got, "");

    /* gzip: the compressed file's digest */
    char gzpath[] = "/tmp/trc_shagzXXXXXX";
    fd = mkstemp(gzpath);
    assert_true(fd >= 0);
    gzFile g = gzdopen(fd, "wb");
    assert_non_null(g);
    for (int i = 0; i < 200000; i++) {
        gzprintf(g, "migration_bitmap_sync_end dirty_pages %d\n", i);
    }
    gzclose(g);
    assert_int_equal(hash_sha256_file(gzpath, want, err, sizeof(err)), 0);
    sha_of(gzpath, (struct trc_options){0}, got, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, want);
    unlink(gzpath);
    unlink(path);

    /* memory */
    static const char mem[] = "migrate_set_state new state active\n";
    struct trc_options o = {.sha256 = true};
    struct trc_reader *r = trc_reader_new(&o, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(
        trc_reader_add_mem(r, "m", mem, strlen(mem), err, sizeof(err)), 0);
    const struct trc_record *rec;
    while (trc_reader_next_ref(r, &rec, err, sizeof(err)) == 1) {
    }
    hash_sha256_hex(mem, strlen(mem), want);
    assert_string_equal(trc_reader_stats(r)->sha256, want);
    trc_reader_free(r);
}

/* A gzip file without its end (no trailer, or cut inside the data): the
 * data that is there is read, and the truncation is a warning (a
 * malformed-input message naming the file), fatal under strict. */
static void test_gzip_truncated(void **state)
{
    (void)state;
    char gzpath[] = "/tmp/trc_gztXXXXXX";
    int fd = mkstemp(gzpath);
    assert_true(fd >= 0);
    gzFile g = gzdopen(fd, "wb");
    assert_non_null(g);
    for (int i = 0; i < 11; i++) {
        gzprintf(g, "migration_bitmap_sync_end dirty_pages %d\n", i);
    }
    gzclose(g);
    FILE *f = fopen(gzpath, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fclose(f);
    for (long cut = 4; cut <= 8; cut += 4) { /* length; CRC and length */
        assert_int_equal(truncate(gzpath, sz - cut), 0);
        struct run out = read_file(gzpath, TRC_FMT_AUTO);
        assert_int_equal(out.rc, 0);
        assert_int_equal(out.n, 11);
        assert_int_equal(out.st.malformed, 1);
        free(out.v);
        struct trc_options o = {.strict = true};
        char err[256];
        struct trc_reader *r = trc_reader_new(&o, err, sizeof(err));
        assert_non_null(r);
        assert_int_equal(trc_reader_add_file(r, gzpath, err, sizeof(err)), 0);
        struct trc_record rec;
        int rc;
        while ((rc = trc_reader_next(r, &rec, err, sizeof(err))) == 1) {
        }
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, "truncated"));
        assert_non_null(strstr(err, gzpath));
        trc_reader_free(r);
    }
    unlink(gzpath);
}

/* ---- helpers and catalogue ---- */

static void test_pattern_matcher(void **state)
{
    (void)state;
    struct trc_record rec;
    const char *p = " (%s0) running %d1 reason %s2 device state %s3";
    const char *a = " (dev 1) running -1 reason finish-migrate device state "
                    "STOP";
    assert_int_equal(trc_match_pattern(p, a, strlen(a), &rec), 0);
    assert_int_equal(rec.a[0].len, 5);
    assert_int_equal(memcmp(rec.a[0].s, "dev 1", 5), 0);
    assert_true((int64_t)rec.a[1].u == -1);
    assert_int_equal(rec.present, 0xf);
    /* trailing blanks allowed, anything else not */
    assert_int_equal(trc_match_pattern("x %u0", "x 12  \r", 7, &rec), 0);
    assert_int_equal(rec.a[0].u, 12);
    assert_int_equal(trc_match_pattern("x %u0", "x 12 y", 6, &rec), -1);
    assert_int_equal(trc_match_pattern("x %u0", "x ", 2, &rec), -1);
    assert_int_equal(trc_match_pattern("%d0%%", "30%", 3, &rec), 0);
    assert_int_equal(rec.a[0].u, 30);
    /* %x: hex with 0x, or decimal */
    assert_int_equal(trc_match_pattern("v %x0", "v 0xFFff", 8, &rec), 0);
    assert_int_equal(rec.a[0].u, 0xffff);
    assert_int_equal(trc_match_pattern("v %x0", "v 65535", 7, &rec), 0);
    assert_int_equal(rec.a[0].u, 65535);
    assert_int_equal(trc_match_pattern("v %x0", "v 0x", 4, &rec), -1);
    /* u64 limits, long and short numbers through the word-at-a-time
     * path */
    const char *mx = "n 18446744073709551615 ";
    assert_int_equal(trc_match_pattern("n %u0", mx, strlen(mx), &rec), 0);
    assert_true(rec.a[0].u == UINT64_MAX);
    const char *ov = "n 18446744073709551616 ";
    assert_int_equal(trc_match_pattern("n %u0", ov, strlen(ov), &rec), -1);
    const char *nums[] = {"7",
                          "12345678",
                          "123456789",
                          "1234567890123456",
                          "12345678901234567",
                          "0000000000000042"};
    const uint64_t vals[] = {
        7, 12345678, 123456789, 1234567890123456ull, 12345678901234567ull, 42};
    for (unsigned i = 0; i < 6; i++) {
        char buf[80];
        snprintf(buf, sizeof(buf), "n %s (tail padding here)", nums[i]);
        assert_int_equal(trc_match_pattern("n %u0 (tail padding here)", buf,
                                           strlen(buf), &rec),
                         0);
        assert_true(rec.a[0].u == vals[i]);
    }
    /* strings must be text */
    assert_int_equal(trc_match_pattern("s=%s0", "s=a\x01b", 5, &rec), -1);
}

static void test_iso8601(void **state)
{
    (void)state;
    int64_t ns;
    assert_int_equal(trc_parse_iso8601("1970-01-01T00:00:00Z", 20, &ns), 20);
    assert_true(ns == 0);
    assert_int_equal(trc_parse_iso8601("2000-03-01T00:00:00Z", 20, &ns), 20);
    assert_true(ns == 951868800LL * 1000000000);
    assert_int_equal(trc_parse_iso8601("2024-02-29T12:34:56.5Z", 22, &ns), 22);
    assert_true(ns == 1709210096500000000LL);
    const char *off = "2024-05-01 12:00:00.123+0200:";
    assert_int_equal(trc_parse_iso8601(off, strlen(off), &ns), 28);
    assert_true(ns == (1714564800LL - 7200) * 1000000000 + 123000000);
    assert_int_equal(trc_parse_iso8601("2024-13-01T00:00:00Z", 20, &ns), 0);
    assert_int_equal(trc_parse_iso8601("2024-01-01", 10, &ns), 0);
    const char *pre = "1969-12-31T23:59:59Z";
    assert_int_equal(trc_parse_iso8601(pre, 20, &ns), 20);
    assert_true(ns == -1000000000LL);
}

/* Every migration event QEMU 7.2 or 10.0 declares in its trace-events-all
 * (copies in tests/data/qemu10) is known to the catalogue: a real trace of
 * either has no unknown migration event. */
static unsigned unknown_declared(const char *path, unsigned *n_mig)
{
    gzFile g = gzopen(path, "rb");
    assert_non_null(g);
    char line[4096];
    unsigned unknown = 0;
    *n_mig = 0;
    while (gzgets(g, line, sizeof(line))) {
        const char *p = line;
        if (strncmp(p, "disable ", 8) == 0) {
            p += 8;
        }
        size_t n = 0;
        while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9') ||
               p[n] == '_') {
            n++;
        }
        if (n == 0 || p[n] != '(' || !trc_name_is_migration(p, n)) {
            continue;
        }
        (*n_mig)++;
        if (trc_event_lookup(p, n) == TRC_EV_UNKNOWN) {
            print_message("unknown: %.*s (%s)\n", (int)n, p, path);
            unknown++;
        }
    }
    gzclose(g);
    return unknown;
}

static void test_catalogue_both_qemus(void **state)
{
    (void)state;
    unsigned n72, n100;
    assert_int_equal(
        unknown_declared("tests/data/qemu10/trace-events-all-7.2.gz", &n72), 0);
    assert_int_equal(
        unknown_declared("tests/data/qemu10/trace-events-all-10.0.gz", &n100),
        0);
    assert_true(n72 > 300 && n100 > 350); /* the files were read */
    /* the 10.0 names of the end of a migration are interpreted */
    assert_int_equal(trc_event_lookup("migration_cleanup", 17),
                     TRC_EV_MIG_CLEANUP);
    assert_int_equal(trc_event_lookup("migration_cancel", 16),
                     TRC_EV_MIG_CANCEL);
    assert_int_equal(trc_event_lookup("migrate_fd_cancel", 17),
                     TRC_EV_FD_CANCEL);
}

static void test_catalogue(void **state)
{
    (void)state;
    for (unsigned ev = TRC_EV_SET_STATE; ev < TRC_EV_COUNT; ev++) {
        const char *n = trc_event_name((enum trc_ev)ev);
        assert_true(strlen(n) > 3);
        assert_true(trc_event_variants((enum trc_ev)ev) >= 1);
        enum trc_ev back = trc_event_lookup(n, strlen(n));
        if (back != (enum trc_ev)ev) {
            fail_msg("%s looks up as %d", n, back);
        }
        assert_true(trc_name_is_migration(n, strlen(n)) ||
                    strncmp(n, "process_incoming", 16) == 0 ||
                    strncmp(n, "source_return", 13) == 0);
    }
    assert_int_equal(trc_event_lookup("savevm_send_ping", 16),
                     TRC_EV_OTHER_KNOWN);
    assert_int_equal(trc_event_lookup("process_incoming_migration_end", 30),
                     TRC_EV_INCOMING_END);
    assert_int_equal(trc_event_lookup("no_such_event", 13), TRC_EV_UNKNOWN);
    assert_string_equal(trc_event_slot_name(TRC_EV_VFIO_PENDING_EXACT, 3),
                        "stopcopy");
    assert_null(trc_event_slot_name(TRC_EV_SYNC_START, 0));
    enum trc_format f;
    for (unsigned i = 0; i < TRC_FMT_COUNT; i++) {
        assert_int_equal(
            trc_format_from_name(trc_format_name((enum trc_format)i), &f), 0);
        assert_int_equal(f, (enum trc_format)i);
    }
    assert_int_equal(trc_format_from_name("xml", &f), -1);
}

static void test_events_file(void **state)
{
    (void)state;
    struct trc_options o = {.events_path = DATA "trace-events-all"};
    char err[256];
    struct trc_reader *r = trc_reader_new(&o, err, sizeof(err));
    assert_non_null(r);
    assert_true(trc_reader_stats(r)->decls >= 25);
    trc_reader_free(r);
    o.events_path = DATA "01-vfio-vgpu-21GB-estimate-exact-spin.log";
    assert_null(trc_reader_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "01-vfio-vgpu-21GB-estimate-exact-spin.log:1:"
                                " not a trace-events declaration"));
    o.events_path = "/nonexistent/trace-events-all";
    assert_null(trc_reader_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/trace-events-all"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_plain),
        cmocka_unit_test(test_log_tid),
        cmocka_unit_test(test_log_iso),
        cmocka_unit_test(test_stap_file),
        cmocka_unit_test(test_forced_format),
        cmocka_unit_test(test_embedded),
        cmocka_unit_test(test_qmp),
        cmocka_unit_test(test_hmp_file),
        cmocka_unit_test(test_hmp_series),
        cmocka_unit_test(test_vfio_hex_and_decimal),
        cmocka_unit_test(test_version_variants),
        cmocka_unit_test(test_unknown_events),
        cmocka_unit_test(test_lazy_arguments),
        cmocka_unit_test(test_malformed_and_binary),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_gzip_stdin_and_files),
        cmocka_unit_test(test_big_file_windows),
        cmocka_unit_test(test_threaded_equals_serial),
        cmocka_unit_test(test_fast_path_equals_general),
        cmocka_unit_test(test_name_guesses),
        cmocka_unit_test(test_sha256_as_read),
        cmocka_unit_test(test_gzip_truncated),
        cmocka_unit_test(test_pattern_matcher),
        cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_catalogue),
        cmocka_unit_test(test_catalogue_both_qemus),
        cmocka_unit_test(test_events_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
