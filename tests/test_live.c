/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_live.c — live sessions and the lab's pure parts.
 *
 * Parsing uses replies captured from QEMU 7.2.22.  Sessions run against a
 * QMP peer thread in this file that answers the few commands a session
 * sends from a script of query-migrate replies (with faults: a closed
 * socket, malformed and oversized replies), and record into a real SQLite
 * store in a temporary directory.  Real-QEMU behaviour is covered by
 * tests/integration/live*.sh and lab*.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "live/lab.h"
#include "live/live.h"
#include "run/scenario.h"
#include "store/db.h"

#define MS ((int64_t)1000000)

/* query-migrate replies captured from QEMU 7.2.22 (lab run). */
static const char *const ACTIVE_72 =
    "{\"expected-downtime\": 300, \"status\": \"active\", \"setup-time\": 2, "
    "\"total-time\": 403, \"ram\": {\"total\": 537403392, "
    "\"postcopy-requests\": 0, \"dirty-sync-count\": 1, \"multifd-bytes\": 0, "
    "\"pages-per-second\": 8180, \"downtime-bytes\": 0, \"page-size\": 4096, "
    "\"remaining\": 523087872, \"postcopy-bytes\": 0, \"mbps\": "
    "268.56720000000001, \"transferred\": 13430334, "
    "\"dirty-sync-missed-zero-copy\": 0, \"precopy-bytes\": 13430334, "
    "\"duplicate\": 223, \"dirty-pages-rate\": 0, \"skipped\": 0, "
    "\"normal-bytes\": 13402112, \"normal\": 3272}}";
static const char *const COMPLETED_72 =
    "{\"status\": \"completed\", \"setup-time\": 2, \"downtime\": 11, "
    "\"total-time\": 1074, \"ram\": {\"total\": 537403392, "
    "\"postcopy-requests\": 0, \"dirty-sync-count\": 3, \"multifd-bytes\": 0, "
    "\"pages-per-second\": 8180, \"downtime-bytes\": 8917999, \"page-size\": "
    "4096, \"remaining\": 0, \"postcopy-bytes\": 0, \"mbps\": "
    "330.00404477611943, \"transferred\": 44107972, "
    "\"dirty-sync-missed-zero-copy\": 0, \"precopy-bytes\": 35189973, "
    "\"duplicate\": 122897, \"dirty-pages-rate\": 0, \"skipped\": 0, "
    "\"normal-bytes\": 42917888, \"normal\": 10478}}";

static json_t *load(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    assert_non_null(j);
    return j;
}

static void test_parse_migrate(void **state)
{
    (void)state;
    struct live_mig m;
    char err[256];
    json_t *j = load(ACTIVE_72);
    assert_int_equal(live_parse_migrate(j, &m, err, sizeof(err)), 0);
    json_decref(j);
    assert_string_equal(m.status, "active");
    assert_true(m.has_ram);
    assert_true(m.remaining_bytes == 523087872);
    assert_true(m.total_bytes == 537403392);
    assert_true(m.transferred_bytes == 13430334);
    assert_int_equal(m.dirty_sync_count, 1);
    assert_int_equal(m.page_bytes, 4096);
    assert_int_equal(m.expected_downtime_ms, 300);
    assert_int_equal(m.total_ms, 403);
    assert_int_equal(m.downtime_ms, -1);
    assert_true(m.mbps > 268.5 && m.mbps < 268.6);

    j = load(COMPLETED_72);
    assert_int_equal(live_parse_migrate(j, &m, err, sizeof(err)), 0);
    json_decref(j);
    assert_string_equal(m.status, "completed");
    assert_int_equal(m.downtime_ms, 11);
    assert_true(m.downtime_bytes == 8917999);
    assert_int_equal(m.expected_downtime_ms, -1);

    /* A QEMU that never migrated answers {}. */
    j = load("{}");
    assert_int_equal(live_parse_migrate(j, &m, err, sizeof(err)), 0);
    json_decref(j);
    assert_string_equal(m.status, "none");
    assert_false(m.has_ram);

    /* Wrong types name the field. */
    j = load("{\"status\": 3}");
    assert_int_equal(live_parse_migrate(j, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'status'"));
    json_decref(j);
    j = load("{\"status\": \"active\", \"ram\": {\"remaining\": \"lots\"}}");
    assert_int_equal(live_parse_migrate(j, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'remaining'"));
    json_decref(j);
    j = load("{\"status\": \"active\", \"ram\": {\"transferred\": -5}}");
    assert_int_equal(live_parse_migrate(j, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'transferred'"));
    json_decref(j);
    j = load("[1, 2]");
    assert_int_equal(live_parse_migrate(j, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a JSON object"));
    json_decref(j);
}

/* query-migrate of QEMU 10.0.2 (KVM, dirty-limit capability; the lab) with
 * an xbzrle-cache block as 10.0 prints it before any lookup: its
 * cache-miss-rate is a bare -nan (the QMP client reads it as null). */
static const char *const ACTIVE_100_DL =
    "{\"expected-downtime\": 634, \"status\": \"active\", \"setup-time\": 1, "
    "\"total-time\": 2415, \"dirty-limit-throttle-time-per-round\": 1955100, "
    "\"dirty-limit-ring-full-time\": 0, \"ram\": {\"total\": 1074274304, "
    "\"postcopy-requests\": 0, \"dirty-sync-count\": 3, \"multifd-bytes\": 0, "
    "\"pages-per-second\": 8156, \"downtime-bytes\": 0, \"page-size\": 4096, "
    "\"remaining\": 21663744, \"postcopy-bytes\": 0, \"mbps\": "
    "249.12607094044907, \"transferred\": 75695552, "
    "\"dirty-sync-missed-zero-copy\": 0, \"precopy-bytes\": 75695552, "
    "\"duplicate\": 245774, \"dirty-pages-rate\": 2048, \"normal-bytes\": "
    "73188096, \"normal\": 17868}, \"xbzrle-cache\": {\"cache-size\": "
    "67108864, "
    "\"bytes\": 0, \"pages\": 0, \"cache-miss\": 0, \"cache-miss-rate\": -nan, "
    "\"encoding-rate\": nan, \"overflow\": 0}}";
static const char *const COMPLETED_100 =
    "{\"status\": \"completed\", \"setup-time\": 1, \"downtime\": 11, "
    "\"total-time\": 3074, \"ram\": {\"total\": 1074274304, "
    "\"postcopy-requests\": 0, \"dirty-sync-count\": 5, \"multifd-bytes\": 0, "
    "\"pages-per-second\": 8156, \"downtime-bytes\": 8975448, \"page-size\": "
    "4096, \"remaining\": 0, \"postcopy-bytes\": 0, \"mbps\": "
    "249.12607094044907, \"transferred\": 95695552, "
    "\"dirty-sync-missed-zero-copy\": 0, \"precopy-bytes\": 86607009, "
    "\"duplicate\": 245774, \"dirty-pages-rate\": 0, \"normal-bytes\": "
    "93188096, \"normal\": 22751}}";

/* Numbers from outside: null is missing, out-of-range values are refused
 * (times, counters, rates) or capped (expected-downtime), never cast into
 * undefined behaviour (issue 17 item 3). */
static void test_parse_out_of_range(void **state)
{
    (void)state;
    struct live_mig m;
    char err[256];
    json_t *j = load("{\"status\": \"active\", \"expected-downtime\": "
                     "10000000000000, \"total-time\": 5}");
    assert_int_equal(live_parse_migrate(j, &m, err, sizeof(err)), 0);
    json_decref(j);
    assert_true(m.expected_downtime_ms == 1000000000000LL);
    assert_true(m.expected_downtime_ms * MS > 0); /* no overflow */
    j = load("{\"status\": \"active\", \"expected-downtime\": 1e300}");
    assert_int_equal(live_parse_migrate(j, &m, err, sizeof(err)), 0);
    json_decref(j);
    assert_true(m.expected_downtime_ms == 1000000000000LL);
    const char *bad[][2] = {
        {"{\"status\": \"active\", \"total-time\": 1e300}", "'total-time'"},
        {"{\"status\": \"active\", \"setup-time\": 10000000000000}",
         "'setup-time'"},
        {"{\"status\": \"completed\", \"downtime\": -3}", "'downtime'"},
        {"{\"status\": \"active\", \"ram\": {\"transferred\": 1e300}}",
         "'transferred'"},
        {"{\"status\": \"active\", \"ram\": {\"mbps\": 1e300}}", "'mbps'"},
        {"{\"status\": \"active\", \"ram\": {\"remaining\": "
         "18446744073709551615}}",
         "'remaining'"},
        {"{\"status\": \"active\", \"cpu-throttle-percentage\": 1e9}",
         "'cpu-throttle-percentage'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_error_t je;
        j = json_loads(bad[i][0], JSON_DECODE_INT_AS_REAL, &je);
        if (!j) {
            j = load(bad[i][0]);
        }
        err[0] = '\0';
        if (live_parse_migrate(j, &m, err, sizeof(err)) != -1 ||
            !strstr(err, bad[i][1])) {
            fail_msg("%s: accepted or unclear (%s)", bad[i][0], err);
        }
        json_decref(j);
    }
    /* null (QEMU's nan, as the QMP client delivers it) is missing */
    j = load("{\"status\": \"active\", \"expected-downtime\": null, "
             "\"ram\": {\"mbps\": null, \"remaining\": null}}");
    assert_int_equal(live_parse_migrate(j, &m, err, sizeof(err)), 0);
    json_decref(j);
    assert_int_equal(m.expected_downtime_ms, -1);
    assert_true(m.mbps == 0 && m.remaining_bytes == 0);
    /* 10.0's dirty-limit figures */
    j = load(COMPLETED_100);
    assert_int_equal(live_parse_migrate(j, &m, err, sizeof(err)), 0);
    json_decref(j);
    assert_false(m.has_dirty_limit);
    assert_true(m.precopy_bytes == 86607009 && m.downtime_bytes == 8975448);
    struct live_params p;
    j = load("{\"downtime-limit\": 10000000000000}");
    assert_int_equal(live_parse_params(j, &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'downtime-limit'"));
    json_decref(j);
}

static void test_parse_params(void **state)
{
    (void)state;
    struct live_params p;
    char err[256];
    json_t *j = load("{\"cpu-throttle-initial\": 20, \"downtime-limit\": 300, "
                     "\"max-bandwidth\": 33554432}");
    assert_int_equal(live_parse_params(j, &p, err, sizeof(err)), 0);
    json_decref(j);
    assert_true(p.downtime_limit_ns == 300 * MS);
    assert_true(p.max_bandwidth_bps == 33554432);
    assert_false(p.has_avail);
    j = load("{\"downtime-limit\": 300, \"avail-switchover-bandwidth\": 10}");
    assert_int_equal(live_parse_params(j, &p, err, sizeof(err)), 0);
    json_decref(j);
    assert_true(p.has_avail);
    j = load("{\"downtime-limit\": true}");
    assert_int_equal(live_parse_params(j, &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'downtime-limit'"));
    json_decref(j);
}

static struct live_mig mig(uint64_t remaining, double mbps, uint64_t dirty_pps,
                           int64_t expected_ms, uint64_t syncs)
{
    struct live_mig m;
    memset(&m, 0, sizeof(m));
    snprintf(m.status, sizeof(m.status), "active");
    m.has_ram = true;
    m.remaining_bytes = remaining;
    m.mbps = mbps;
    m.dirty_pages_rate = dirty_pps;
    m.page_bytes = 4096;
    m.expected_downtime_ms = expected_ms;
    m.dirty_sync_count = syncs;
    m.total_ms = m.setup_ms = m.downtime_ms = -1;
    return m;
}

static void test_advice(void **state)
{
    (void)state;
    struct live_advice a;
    /* 32 MiB/s = 268.435456 Mbit/s. */
    const double bw = 268.435456;
    struct live_mig m = mig(0, 0, 0, 300, 1);
    live_advise(&m, 300 * MS, NULL, 0, &a);
    assert_int_equal(a.verdict, LIVE_ADV_NONE);

    m = mig(1 << 20, bw, 256, 100, 3);
    live_advise(&m, 300 * MS, NULL, 0, &a);
    assert_int_equal(a.verdict, LIVE_ADV_ON_TRACK);

    /* Dirty rate = bandwidth: needs the expected downtime (+1 ms). */
    m = mig(64 << 20, bw, 8192, 2000, 5);
    live_advise(&m, 300 * MS, NULL, 0, &a);
    assert_int_equal(a.verdict, LIVE_ADV_NO_CONVERGE);
    assert_true(a.needed_ns == 2001 * MS);
    assert_non_null(strstr(a.text, "will not converge at this rate"));
    assert_non_null(strstr(a.text, "needs >="));

    /* Dirty rate well below bandwidth, expected downtime falling. */
    int64_t falling[3] = {2000 * MS, 1500 * MS, 900 * MS};
    m = mig(30 << 20, bw, 1024, 900, 5);
    live_advise(&m, 300 * MS, falling, 3, &a);
    assert_int_equal(a.verdict, LIVE_ADV_CONVERGING);

    /* Same rates, but not falling over three syncs: stalled. */
    int64_t flat[3] = {900 * MS, 910 * MS, 905 * MS};
    live_advise(&m, 300 * MS, flat, 3, &a);
    assert_int_equal(a.verdict, LIVE_ADV_NO_CONVERGE);
    assert_true(a.needed_ns == 901 * MS);
}

/* ---- lab pure parts ----------------------------------------------------- */

static void blank_guest(uint8_t img[LAB_GUEST_SIZE])
{
    memset(img, 0x90, LAB_GUEST_SIZE);
    memcpy(img + LAB_GUEST_PARAM_OFFSET, LAB_GUEST_MAGIC, 4);
    img[510] = 0x55;
    img[511] = 0xaa;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void test_patch_guest(void **state)
{
    (void)state;
    uint8_t img[LAB_GUEST_SIZE];
    char err[256];
    struct lab_cfg c;
    lab_cfg_default(&c); /* 512 MiB, 64 MiB at 4 MiB/s */
    blank_guest(img);
    assert_int_equal(lab_patch_guest(img, &c, err, sizeof(err)), 0);
    const uint8_t *p = img + LAB_GUEST_PARAM_OFFSET;
    assert_int_equal(get32(p + 4), 16384);
    /* 3579545 x 16 x 4096 / 4 MiB/s = 55930.4 ticks x 16 */
    assert_int_equal(get32(p + 8), 55930);
    assert_int_equal(p[12], 1);
    assert_int_equal(img[511], 0xaa);

    c.dirty_rate_bps = 0;
    blank_guest(img);
    assert_int_equal(lab_patch_guest(img, &c, err, sizeof(err)), 0);
    assert_int_equal(get32(p + 4), 0); /* idle */

    c.pause_loops = 1000;
    blank_guest(img);
    assert_int_equal(lab_patch_guest(img, &c, err, sizeof(err)), 0);
    assert_int_equal(get32(p + 4), 16384);
    assert_int_equal(get32(p + 8), 1000);
    assert_int_equal(p[12], 0);

    lab_cfg_default(&c);
    c.working_set_bytes = (uint64_t)511 << 20;
    blank_guest(img);
    assert_int_equal(lab_patch_guest(img, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "does not fit"));

    lab_cfg_default(&c);
    c.working_set_bytes = 4095;
    assert_int_equal(lab_patch_guest(img, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "multiple of 4 KiB"));

    lab_cfg_default(&c);
    c.dirty_rate_bps = 1000;
    assert_int_equal(lab_patch_guest(img, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too low"));

    lab_cfg_default(&c);
    memset(img, 0, sizeof(img));
    assert_int_equal(lab_patch_guest(img, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not the migsim lab guest"));
}

static void test_scenario_json(void **state)
{
    (void)state;
    struct lab_cfg c;
    lab_cfg_default(&c);
    c.working_set_bytes = (uint64_t)32 << 20;
    c.set_max_bandwidth = true;
    c.max_bandwidth_bps = (uint64_t)32 << 20;
    c.downtime_limit_ns = 500 * MS;
    c.time_limit_ns = 30000 * MS;
    snprintf(c.caps[c.n_caps++], sizeof(c.caps[0]), "auto-converge");
    char *sj = lab_scenario_json(&c, "7.2", 8388608.0, 0.999);
    assert_non_null(sj);
    char err[512];
    struct scn_doc *d = scn_doc_parse(sj, "lab", err, sizeof(err));
    if (!d) {
        fail_msg("%s: %s", err, sj);
    }
    struct scenario s;
    if (scn_resolve(d, &s, err, sizeof(err)) != 0) {
        fail_msg("%s: %s", err, sj);
    }
    assert_int_equal(s.qemu, QEMU_7_2);
    assert_true(s.ram_bytes == (uint64_t)512 << 20);
    assert_int_equal(s.ram.workload, RAM_WL_SWEEP);
    assert_true(s.ram.working_set_bytes == (uint64_t)32 << 20);
    assert_true(s.ram.dirty_rate_bps == 8388608);
    assert_true(s.max_bandwidth_bps == (uint64_t)32 << 20);
    assert_true(s.downtime_limit_ns == 500 * MS);
    assert_true(s.time_limit_ns == 30000 * MS);
    assert_true(s.auto_converge);
    assert_true(s.zero_fraction > 0.998 && s.zero_fraction < 1.0);
    scn_doc_free(d);
    free(sj);
}

/* ---- sessions against a scripted peer ----------------------------------- */

#define MAX_SETS 16

struct peer {
    int fd;
    const char *const *script; /* query-migrate replies; "!close",
                                  "!garbage", "!huge" are faults */
    size_t n, next;
    long long dl_ms;          /* downtime-limit the peer reports */
    long long ram_bytes;      /* base-memory */
    long long sets[MAX_SETS]; /* downtime-limits set, in order */
    size_t n_sets;
    bool events_on;
};

static void send_line(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static void reply(struct peer *pe, long long id, const char *ret)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "{\"return\": %s, \"id\": %lld}\r\n", ret, id);
    send_line(pe->fd, buf);
}

static void *peer_run(void *arg)
{
    struct peer *pe = arg;
    send_line(pe->fd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, "
                      "\"minor\": 2, \"major\": 7}, \"package\": \"\"}, "
                      "\"capabilities\": []}}\r\n");
    FILE *in = fdopen(dup(pe->fd), "r");
    char line[8192];
    while (in && fgets(line, sizeof(line), in)) {
        json_t *m = json_loads(line, 0, NULL);
        const char *cmd = qmp_get_str(m, "execute", "");
        long long id = (long long)qmp_get_num(m, "id", 0);
        const json_t *args = json_object_get(m, "arguments");
        char buf[512];
        if (strcmp(cmd, "query-migrate") == 0) {
            const char *r = pe->script[pe->next < pe->n ? pe->next : pe->n - 1];
            pe->next++;
            if (strcmp(r, "!close") == 0) {
                json_decref(m);
                break;
            } else if (strcmp(r, "!garbage") == 0) {
                send_line(pe->fd, "{\"return\": {\"status\": nonsense}}\r\n");
            } else if (strcmp(r, "!huge") == 0) {
                const char *h = "{\"return\": {\"x\": \"";
                send_line(pe->fd, h);
                char *blob = malloc(1 << 20);
                memset(blob, 'y', 1 << 20);
                for (int i = 0; i < 17; i++) {
                    if (send(pe->fd, blob, 1 << 20, MSG_NOSIGNAL) < 0) {
                        break;
                    }
                }
                free(blob);
                snprintf(buf, sizeof(buf), "\"}, \"id\": %lld}\r\n", id);
                send_line(pe->fd, buf);
            } else {
                reply(pe, id, r);
            }
        } else if (strcmp(cmd, "query-migrate-capabilities") == 0) {
            snprintf(buf, sizeof(buf),
                     "[{\"state\": %s, \"capability\": \"events\"}]",
                     pe->events_on ? "true" : "false");
            reply(pe, id, buf);
        } else if (strcmp(cmd, "query-migrate-parameters") == 0) {
            snprintf(buf, sizeof(buf),
                     "{\"downtime-limit\": %lld, \"max-bandwidth\": 33554432}",
                     pe->dl_ms);
            reply(pe, id, buf);
        } else if (strcmp(cmd, "query-memory-size-summary") == 0) {
            snprintf(buf, sizeof(buf), "{\"base-memory\": %lld}",
                     pe->ram_bytes);
            reply(pe, id, buf);
        } else if (strcmp(cmd, "migrate-set-parameters") == 0) {
            const json_t *d = json_object_get(args, "downtime-limit");
            if (d && pe->n_sets < MAX_SETS) {
                pe->dl_ms = (long long)json_number_value(d);
                pe->sets[pe->n_sets++] = pe->dl_ms;
            }
            reply(pe, id, "{}");
        } else if (strcmp(cmd, "qmp_capabilities") == 0 ||
                   strcmp(cmd, "migrate-set-capabilities") == 0) {
            reply(pe, id, "{}");
        } else {
            snprintf(buf, sizeof(buf),
                     "{\"id\": %lld, \"error\": {\"class\": "
                     "\"CommandNotFound\", \"desc\": \"The command %s has not "
                     "been found\"}}\r\n",
                     id, cmd);
            send_line(pe->fd, buf);
        }
        json_decref(m);
    }
    if (in) {
        fclose(in);
    }
    shutdown(pe->fd, SHUT_RDWR);
    return NULL;
}

struct fixture {
    char dir[64];
    char db_path[96];
    struct db *db;
    struct peer pe;
    pthread_t th;
    struct qmp_conn *q;
    struct live_session s;
    FILE *progress;        /* the session's progress stream (NULL: none) */
    int64_t time_limit_ns; /* session option (0 = none) */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f) {
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_live.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->db_path, sizeof(f->db_path), "%s/runs.db", f->dir);
    char err[512];
    f->db = db_open(f->db_path, err, sizeof(err));
    if (!f->db) {
        fprintf(stderr, "%s\n", err);
        rmdir(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    live_session_free(&f->s);
    qmp_close(f->q);
    if (f->th) {
        pthread_join(f->th, NULL);
    }
    if (f->pe.fd > 0) {
        close(f->pe.fd);
    }
    db_close(f->db);
    char p[160];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", f->db_path, sfx[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Start the peer on a script and run a session to its end. */
static enum live_end run(struct fixture *f, const char *const *script, size_t n,
                         const char *policy, bool apply)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    f->pe.fd = sv[1];
    f->pe.script = script;
    f->pe.n = n;
    if (!f->pe.dl_ms) {
        f->pe.dl_ms = 300;
    }
    if (!f->pe.ram_bytes) {
        f->pe.ram_bytes = 536870912;
    }
    assert_int_equal(pthread_create(&f->th, NULL, peer_run, &f->pe), 0);
    char err[512];
    f->q = qmp_open_fd(sv[0], "peer", 2000 * MS, err, sizeof(err));
    if (!f->q) {
        fail_msg("%s", err);
    }
    struct live_opts o;
    live_opts_default(&o);
    o.interval_ns = 2 * MS;
    o.cmd_timeout_ns = 2000 * MS;
    o.db = f->db;
    o.source = "peer";
    o.policy = policy;
    o.apply = apply;
    o.progress = f->progress;
    o.time_limit_ns = f->time_limit_ns;
    if (live_session_init(&f->s, f->q, &o, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    enum live_end e = live_session_run(&f->s);
    if (live_session_close(&f->s, "test", err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    return e;
}

static const char *st(const char *status, int total_ms, int syncs,
                      int remaining_mib, char *buf, size_t n)
{
    snprintf(buf, n,
             "{\"status\": \"%s\", \"total-time\": %d, \"expected-downtime\": "
             "300, \"ram\": {\"total\": 3221225472, \"remaining\": %lld, "
             "\"transferred\": %lld, \"mbps\": 268.4, \"dirty-sync-count\": "
             "%d, \"page-size\": 4096, \"dirty-pages-rate\": 1024}}",
             status, total_ms, (long long)remaining_mib << 20,
             (long long)total_ms * 33554, syncs);
    return buf;
}

static void load_run(struct fixture *f, struct db_run_meta *meta,
                     struct run_result *res)
{
    char err[512];
    assert_true(f->s.run_id > 0);
    if (db_run_load(f->db, f->s.run_id, meta, res, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
}

static size_t count_events(const struct run_result *r, enum run_event_kind k,
                           const char *text)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_events; i++) {
        if (r->events[i].kind == k &&
            (!text || strstr(r->events[i].text, text))) {
            n++;
        }
    }
    return n;
}

static void test_session_completes(void **state)
{
    struct fixture *f = *state;
    static char b[4][512];
    const char *script[] = {
        "{}",         st("setup", 0, 0, 0, b[0], sizeof(b[0])),
        ACTIVE_72,    st("active", 800, 2, 20, b[1], sizeof(b[1])),
        COMPLETED_72,
    };
    enum live_end e = run(f, script, 5, NULL, false);
    assert_int_equal(e, LIVE_END_OUTCOME);
    assert_int_equal(f->s.res.m.outcome, RUN_CONVERGED);
    assert_true(f->s.res.m.total_ns == 1074 * MS);
    assert_true(f->s.res.m.downtime_ns == 11 * MS);
    assert_int_equal(f->s.res.m.bitmap_syncs, 3);
    assert_true(f->s.res.m.bytes_transferred == 44107972);
    assert_true(f->s.res.m.downtime_bytes == 8917999);
    assert_non_null(strstr(f->s.verdict, "converged in"));

    struct db_run_meta meta;
    struct run_result res;
    load_run(f, &meta, &res);
    assert_true(meta.complete);
    assert_int_equal(meta.kind, DB_KIND_LIVE);
    assert_string_equal(meta.qemu, "7.2");
    assert_int_equal(res.m.outcome, RUN_CONVERGED);
    assert_true(res.m.total_ns == 1074 * MS);
    assert_int_equal(res.n_samples, 4); /* setup, 2x active, completed */
    assert_int_equal(count_events(&res, RUN_EV_STATE, "setup"), 1);
    assert_int_equal(count_events(&res, RUN_EV_STATE, "active"), 1);
    assert_int_equal(count_events(&res, RUN_EV_STATE, "completed"), 1);
    assert_int_equal(count_events(&res, RUN_EV_NOTE, "not a transition"), 0);
    db_run_meta_free(&meta);
    run_result_free(&res);
}

/* QEMU 7.2 shows "completed" before total-time and downtime are set. */
static void test_session_completed_before_times(void **state)
{
    struct fixture *f = *state;
    static char b[1][512];
    const char *script[] = {
        ACTIVE_72,
        st("completed", 0, 3, 0, b[0], sizeof(b[0])),
        COMPLETED_72,
    };
    enum live_end e = run(f, script, 3, NULL, false);
    assert_int_equal(e, LIVE_END_OUTCOME);
    assert_true(f->s.res.m.total_ns == 1074 * MS);
    assert_true(f->s.res.m.downtime_ns == 11 * MS);
    assert_int_equal((int)qmp_get_num(f->s.final, "total-time", 0), 1074);
}

/* 10.0's replies with a bare -nan: the session reads them and records the
 * dirty-limit figures; nothing stops with "malformed QMP message". */
static void test_session_reads_qemu10_nan(void **state)
{
    struct fixture *f = *state;
    const char *script[] = {ACTIVE_100_DL, ACTIVE_100_DL, COMPLETED_100};
    enum live_end e = run(f, script, 3, NULL, false);
    if (e != LIVE_END_OUTCOME) {
        fail_msg("ended %d: %s", (int)e, f->s.error);
    }
    assert_int_equal(f->s.res.m.outcome, RUN_CONVERGED);
    assert_int_equal(f->s.res.m.bitmap_syncs, 5);
    assert_true(f->s.last_ram.dirty_sync_count == 5);
    assert_true(f->s.res.m.total_ns == 3074 * MS);
    assert_int_equal(count_events(&f->s.res, RUN_EV_NOTE, "poll failed"), 0);
    assert_true(f->s.res.n_samples >= 3);
}

/* --time-limit bounds the whole session, also when no migration ever
 * starts: a peer that always answers "completed" (a migration that ended
 * before we attached).  Before the fix it polled until the peer went
 * away. */
static void test_session_time_limit_without_migration(void **state)
{
    struct fixture *f = *state;
    /* thousands of "completed" (seconds of polls at 2 ms), then the peer
     * closes: without the limit the session ends as QEMU_GONE */
    enum { N = 4000 };
    static const char *script[N + 1];
    for (size_t i = 0; i < N; i++) {
        script[i] = COMPLETED_72;
    }
    script[N] = "!close";
    f->time_limit_ns = 300 * MS;
    int64_t t0 = qmp_now_ns();
    enum live_end e = run(f, script, N + 1, NULL, false);
    int64_t took = qmp_now_ns() - t0;
    if (e != LIVE_END_TIME_LIMIT) {
        fail_msg("ended %d after %.2f s: %s", (int)e, (double)took / 1e9,
                 f->s.error);
    }
    assert_true(took >= 300 * MS && took < 3000 * MS);
    assert_non_null(strstr(f->s.error, "before any migration started"));
    assert_non_null(strstr(f->s.error, "'completed'"));
    assert_null(strstr(f->s.error, "was none"));
}

static void test_session_qemu_gone(void **state)
{
    struct fixture *f = *state;
    static char b[3][512];
    const char *script[] = {
        st("active", 100, 1, 400, b[0], sizeof(b[0])),
        st("active", 200, 1, 300, b[1], sizeof(b[1])),
        st("active", 300, 2, 64, b[2], sizeof(b[2])),
        "!close",
    };
    enum live_end e = run(f, script, 4, NULL, false);
    assert_int_equal(e, LIVE_END_QEMU_GONE);
    assert_non_null(strstr(f->s.error, "QEMU went away"));
    assert_non_null(strstr(f->s.error, "active"));
    struct db_run_meta meta;
    struct run_result res;
    load_run(f, &meta, &res);
    assert_false(meta.complete);
    assert_int_equal(res.m.outcome, RUN_INCOMPLETE);
    assert_int_equal(res.n_samples, 3); /* nothing observed is lost */
    assert_non_null(meta.verdict);
    assert_non_null(strstr(meta.verdict, "incomplete: QEMU went away"));
    db_run_meta_free(&meta);
    run_result_free(&res);
}

/* Issue 17 item 4: a status text from QMP with ESC/OSC bytes and a newline
 * reaches the progress stream (a terminal) escaped. */
static void test_session_escapes_qmp_text(void **state)
{
    struct fixture *f = *state;
    static char b[3][512];
    const char *script[] = {
        st("active", 100, 1, 400, b[0], sizeof(b[0])),
        st("act\\u001b]0;PWNED\\u0007\\nforged", 200, 1, 300, b[1],
           sizeof(b[1])),
        "!close",
    };
    char *buf = NULL;
    size_t len = 0;
    f->progress = open_memstream(&buf, &len);
    assert_non_null(f->progress);
    run(f, script, 3, NULL, false);
    fclose(f->progress);
    f->progress = NULL;
    assert_non_null(buf);
    assert_null(strchr(buf, '\033'));
    assert_null(strchr(buf, '\007'));
    assert_null(strstr(buf, "\nforged"));
    assert_non_null(strstr(buf, "act\\x1b]0;PWNED\\x07\\nforged"));
    free(buf);
}

static void test_session_malformed_then_gives_up(void **state)
{
    struct fixture *f = *state;
    static char b[2][512];
    const char *script[] = {
        st("active", 100, 1, 400, b[0], sizeof(b[0])),
        "!garbage",
        "!huge",
        st("active", 300, 2, 64, b[1], sizeof(b[1])),
        "!garbage",
        "!garbage",
        "!garbage",
        "!garbage",
        "!garbage",
    };
    enum live_end e = run(f, script, 9, NULL, false);
    assert_int_equal(e, LIVE_END_PROTO);
    assert_non_null(strstr(f->s.error, "5 failed polls in a row"));
    assert_non_null(strstr(f->s.error, "malformed QMP message"));
    struct db_run_meta meta;
    struct run_result res;
    load_run(f, &meta, &res);
    assert_false(meta.complete);
    assert_int_equal(res.n_samples, 2);
    /* the oversized reply was survived and noted */
    assert_int_equal(count_events(&res, RUN_EV_NOTE, "16 MiB cap"), 1);
    assert_int_equal(count_events(&res, RUN_EV_NOTE, "poll failed"), 7);
    db_run_meta_free(&meta);
    run_result_free(&res);
}

static void test_session_failed_migration(void **state)
{
    struct fixture *f = *state;
    static char b[1][512];
    const char *script[] = {
        st("active", 100, 1, 400, b[0], sizeof(b[0])),
        "{\"status\": \"failed\", \"error-desc\": \"Unable to write to "
        "socket: Connection reset by peer\", \"total-time\": 150}",
    };
    enum live_end e = run(f, script, 2, NULL, false);
    assert_int_equal(e, LIVE_END_OUTCOME);
    assert_int_equal(f->s.res.m.outcome, RUN_FAILED);
    assert_non_null(strstr(f->s.verdict, "Unable to write to socket: "
                                         "Connection reset by peer"));
    struct db_run_meta meta;
    struct run_result res;
    load_run(f, &meta, &res);
    assert_int_equal(res.m.outcome, RUN_FAILED);
    assert_non_null(strstr(meta.verdict, "Connection reset by peer"));
    /* counters come from the last reply that had RAM statistics */
    assert_int_equal(res.m.bitmap_syncs, 1);
    db_run_meta_free(&meta);
    run_result_free(&res);
}

static void test_session_flags_status_violation(void **state)
{
    struct fixture *f = *state;
    static char b[3][512];
    const char *script[] = {
        st("active", 100, 1, 400, b[0], sizeof(b[0])),
        st("wait-unplug", 200, 1, 300, b[1], sizeof(b[1])),
        st("completed", 300, 2, 0, b[2], sizeof(b[2])),
    };
    enum live_end e = run(f, script, 3, NULL, false);
    assert_int_equal(e, LIVE_END_OUTCOME);
    assert_int_equal(
        count_events(&f->s.res, RUN_EV_NOTE, "active -> wait-unplug"), 1);
}

/* Nova's ramp for 3 GiB, 10 steps, 30 s/GiB, 400 ms: 40, 76, 112 ms at 0,
 * 90 and 180 s of migration time, set through migrate-set-parameters. */
static void test_session_applies_nova_ramp(void **state)
{
    struct fixture *f = *state;
    f->pe.ram_bytes = 3LL << 30;
    static char b[5][512];
    const char *script[] = {
        st("active", 1000, 1, 900, b[0], sizeof(b[0])),
        st("active", 60000, 5, 900, b[1], sizeof(b[1])),
        st("active", 91000, 9, 900, b[2], sizeof(b[2])),
        st("active", 181000, 14, 900, b[3], sizeof(b[3])),
        st("completed", 182000, 15, 0, b[4], sizeof(b[4])),
    };
    enum live_end e =
        run(f, script, 5, "nova-steps:downtime=400ms,steps=10,delay=30s", true);
    assert_int_equal(e, LIVE_END_OUTCOME);
    assert_int_equal(f->pe.n_sets, 3);
    assert_int_equal(f->pe.sets[0], 40);
    assert_int_equal(f->pe.sets[1], 76);
    assert_int_equal(f->pe.sets[2], 112);
    assert_true(f->s.res.m.downtime_limit_ns == 112 * MS);
    assert_int_equal(count_events(&f->s.res, RUN_EV_PARAM, "=76ms"), 1);
}

/* Without --apply the same policy only advises. */
static void test_session_advice_only(void **state)
{
    struct fixture *f = *state;
    f->pe.ram_bytes = 3LL << 30;
    static char b[3][512];
    const char *script[] = {
        st("active", 1000, 1, 900, b[0], sizeof(b[0])),
        st("active", 91000, 9, 900, b[1], sizeof(b[1])),
        st("completed", 92000, 10, 0, b[2], sizeof(b[2])),
    };
    enum live_end e = run(
        f, script, 3, "nova-steps:downtime=400ms,steps=10,delay=30s", false);
    assert_int_equal(e, LIVE_END_OUTCOME);
    assert_int_equal(f->pe.n_sets, 0);
    assert_int_equal(
        count_events(&f->s.res, RUN_EV_NOTE, "advice: downtime-limit=40ms"), 1);
    assert_int_equal(
        count_events(&f->s.res, RUN_EV_NOTE, "advice: downtime-limit=76ms"), 1);
}

static void test_session_bad_policy(void **state)
{
    struct fixture *f = *state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    static const char *const script[] = {"{}"};
    f->pe.fd = sv[1];
    f->pe.script = script;
    f->pe.n = 1;
    f->pe.dl_ms = 300;
    f->pe.ram_bytes = 1 << 30;
    assert_int_equal(pthread_create(&f->th, NULL, peer_run, &f->pe), 0);
    char err[512];
    f->q = qmp_open_fd(sv[0], "peer", 2000 * MS, err, sizeof(err));
    assert_non_null(f->q);
    struct live_opts o;
    live_opts_default(&o);
    o.policy = "no-such-policy";
    assert_int_equal(live_session_init(&f->s, f->q, &o, err, sizeof(err)),
                     LIVE_E_POLICY);
    assert_non_null(strstr(err, "no-such-policy"));
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_migrate),
        cmocka_unit_test(test_parse_params),
        cmocka_unit_test(test_parse_out_of_range),
        cmocka_unit_test_setup_teardown(test_session_reads_qemu10_nan, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_session_time_limit_without_migration, setup, teardown),
        cmocka_unit_test(test_advice),
        cmocka_unit_test(test_patch_guest),
        cmocka_unit_test(test_scenario_json),
        cmocka_unit_test_setup_teardown(test_session_completes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_completed_before_times,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_escapes_qmp_text, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_qemu_gone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_malformed_then_gives_up,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_failed_migration, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_flags_status_violation,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_applies_nova_ramp, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_advice_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_bad_policy, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("live", tests, NULL, NULL);
}
