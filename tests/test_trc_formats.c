/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_trc_formats.c — the record formats beside QEMU's traces, on
 * real recordings (tests/data/formats: QEMU 10.0.2 and 7.2 on this
 * machine, KVM, the lab guest writing 8 MiB/s) and written samples:
 * query-migrate replies with QEMU's bare -nan / inf, pretty-printed
 * (multi-line) replies as virsh qemu-monitor-command --pretty prints them,
 * HMP info migrate in the old layout (recorded) and the 10.1+ layout
 * (written), query-dirty-rate results in every mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "traces/dirty_rate.h"
#include "traces/replay.h"

#define F "tests/data/formats/"

static void replay_path(const char *path, struct trc_replay *r)
{
    struct trc_replay_options o;
    memset(&o, 0, sizeof(o));
    o.reader.events_path = "tests/data/traces/trace-events-all";
    char err[512];
    const char *files[] = {path};
    if (trc_replay_run(files, 1, &o, r, err, sizeof(err)) != 0) {
        fail_msg("%s: %s", path, err);
    }
}

static void replay_mem(const char *text, struct trc_replay *r)
{
    struct trc_replay_options o;
    memset(&o, 0, sizeof(o));
    o.reader.events_path = "tests/data/traces/trace-events-all";
    char err[512];
    struct trc_reader *rd = trc_reader_new(&o.reader, err, sizeof(err));
    assert_non_null(rd);
    assert_int_equal(
        trc_reader_add_mem(rd, "mem.log", text, strlen(text), err, sizeof(err)),
        0);
    if (trc_replay_reader(rd, &o, r, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    trc_reader_free(rd);
}

/* -nan, nan, inf, -inf, NaN in the xbzrle block and expected-downtime:
 * the records are read, the values missing. */
static void test_nonfinite(void **state)
{
    (void)state;
    struct trc_replay r;
    replay_path(F "qmp-nonfinite.jsonl", &r);
    assert_int_equal(r.stats.snapshots, 2);
    assert_int_equal(r.stats.malformed, 0);
    assert_int_equal(r.stats.nonfinite, 5);
    assert_string_equal(r.info.status, "active");
    trc_replay_free(&r);
    /* a nan inside a string is text, left alone; "nano" is no nan */
    replay_mem("{\"return\": {\"status\": \"active\", \"total-time\": 5, "
               "\"x\": \"-nan inf\", \"ram\": {\"mbps\": nan, "
               "\"remaining\": 100}}}\n"
               "{\"return\": {\"status\": \"active\", \"y\": nano}}\n",
               &r);
    assert_int_equal(r.stats.snapshots, 1);
    assert_int_equal(r.stats.nonfinite, 1);
    assert_int_equal(r.stats.malformed, 1); /* nano is invalid JSON */
    trc_replay_free(&r);
}

/* virsh qemu-monitor-command --pretty: the real 10.0 final reply. */
static void test_pretty_json(void **state)
{
    (void)state;
    struct trc_replay r;
    replay_path(F "qmp-pretty-virsh.json", &r);
    assert_int_equal(r.stats.snapshots, 1);
    assert_int_equal(r.stats.multiline_json, 1);
    assert_int_equal(r.stats.malformed, 0);
    assert_string_equal(r.info.status, "completed");
    assert_int_equal(r.run.m.total_ns, 2445 * 1000000LL);
    assert_int_equal(r.run.m.bitmap_syncs, 5);
    trc_replay_free(&r);
    /* cut off: reported at its first line, the next record still read */
    replay_mem("{\n  \"return\": {\n    \"status\": \"active\",\n"
               "migrate_set_state new state completed\n",
               &r);
    assert_int_equal(r.stats.malformed, 1);
    assert_non_null(strstr(r.stats.messages[0], "mem.log:1:"));
    assert_non_null(strstr(r.stats.messages[0], "cut off"));
    assert_int_equal(r.stats.events, 1);
    trc_replay_free(&r);
    replay_mem("{\n  \"return\": {\n    \"status\": \"active\",\n", &r);
    assert_int_equal(r.stats.malformed, 1);
    trc_replay_free(&r);
}

/* HMP: the recorded old layout (10.0.2 and 7.2 print it) and the 10.1+
 * layout. */
static void test_hmp_layouts(void **state)
{
    (void)state;
    struct trc_replay r;
    replay_path(F "hmp-info-migrate-10.0.txt", &r);
    assert_int_equal(r.stats.malformed, 0);
    assert_string_equal(r.info.status, "completed");
    assert_int_equal(r.run.m.total_ns, 2482 * 1000000LL);
    assert_int_equal(r.run.m.bitmap_syncs, 5);
    trc_replay_free(&r);
    replay_path(F "hmp-info-migrate-10.1-layout.txt", &r);
    assert_int_equal(r.stats.snapshots, 3);
    assert_int_equal(r.stats.malformed, 0);
    assert_string_equal(r.info.status, "completed");
    assert_int_equal(r.run.m.total_ns, 2482 * 1000000LL);
    assert_int_equal(r.run.m.downtime_ns, 10 * 1000000LL);
    assert_int_equal(r.run.m.setup_ns, 4 * 1000000LL);
    assert_int_equal(r.run.m.bitmap_syncs, 5);
    assert_int_equal(r.info.page_bytes, 4096);
    assert_int_equal(r.info.ram_total_bytes, 1u << 30);
    assert_true(r.info.coarse);
    trc_replay_free(&r);
    /* "Status: running" of some other tool is not a migration dump */
    replay_mem("Status: running\n  Sizes: total=1 GiB\n", &r);
    assert_int_equal(r.stats.snapshots, 0);
    trc_replay_free(&r);
}

static void dr_file(const char *path, const char *mode, uint64_t mib,
                    int64_t calc_ns, unsigned vcpus)
{
    struct trc_dirty_rate d;
    char err[256];
    if (trc_dirty_rate_load(path, &d, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    assert_string_equal(d.mode, mode);
    assert_int_equal(d.rate_bps, mib << 20);
    assert_int_equal(d.calc_time_ns, calc_ns);
    assert_int_equal(d.n_vcpus, vcpus);
}

static void test_dirty_rate(void **state)
{
    (void)state;
    /* QEMU 10.0, KVM: dirty-bitmap sees the guest's 8 MiB/s; page-sampling
     * (512 random pages per GiB against a 64 MiB working set) is noisy:
     * 67 in one recording, 2 in the other; the dirty ring counts pages
     * each time they are re-dirtied */
    dr_file(F "dirty-rate-dirty-bitmap-10.0.jsonl", "dirty-bitmap", 8,
            1000000000, 0);
    dr_file(F "dirty-rate-dirty-bitmap-10.0-pretty.json", "dirty-bitmap", 8,
            1000000000, 0);
    dr_file(F "dirty-rate-page-sampling-10.0.jsonl", "page-sampling", 67,
            1000000000, 0);
    dr_file(F "dirty-rate-page-sampling-10.0-ring.jsonl", "page-sampling", 2,
            1000000000, 0);
    dr_file(F "dirty-rate-dirty-ring-10.0-ring.jsonl", "dirty-ring", 164,
            1000000000, 1);
    dr_file(F "dirty-rate-dirty-ring-10.0-ring-pretty.json", "dirty-ring", 164,
            1000000000, 1);
    /* 7.2: no calc-time-unit (seconds) */
    dr_file(F "dirty-rate-page-sampling-7.2.jsonl", "page-sampling", 6,
            1000000000, 0);
    struct trc_dirty_rate d;
    char err[256];
    /* millisecond unit, no mode (before 6.2: page-sampling), nan rate */
    const char *ms = "{\"return\": {\"status\": \"measured\", \"dirty-rate\": "
                     "100, \"calc-time\": 500, \"calc-time-unit\": "
                     "\"millisecond\"}}";
    assert_int_equal(
        trc_dirty_rate_parse(ms, strlen(ms), "t", &d, err, sizeof(err)), 0);
    assert_string_equal(d.mode, "page-sampling");
    assert_int_equal(d.calc_time_ns, 500000000);
    const char *nan = "junk\n{\"return\": {\"status\": \"measured\",\n"
                      "\"dirty-rate\": -nan}}";
    assert_int_equal(
        trc_dirty_rate_parse(nan, strlen(nan), "n.json", &d, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "n.json:2:"));
    /* under 1e15 MB/s but over 2^64 bytes/s: refused, not cast (found
     * by fuzz_dirty_rate; the input is kept in its corpus) */
    const char *huge = "{\"status\": \"measured\", \"dirty-rate\": "
                       "65370579630558}";
    assert_int_equal(
        trc_dirty_rate_parse(huge, strlen(huge), "h", &d, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "out of range"));
    const char *vhuge = "{\"status\": \"measured\", \"dirty-rate\": 8, "
                        "\"vcpu-dirty-rate\": [{\"id\": 0, \"dirty-rate\": "
                        "9e13}, {\"id\": 1, \"dirty-rate\": 2}]}";
    assert_int_equal(
        trc_dirty_rate_parse(vhuge, strlen(vhuge), "v", &d, err, sizeof(err)),
        0);
    assert_int_equal(d.n_vcpus, 1);
    assert_int_equal(d.vcpu_max_bps, 2u << 20);
    const char *none = "{\"return\": {\"status\": \"measuring\"}}";
    assert_int_equal(
        trc_dirty_rate_parse(none, strlen(none), "m", &d, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "no measured dirty rate"));
    assert_int_equal(
        trc_dirty_rate_load("tests/data/formats/nope", &d, err, sizeof(err)),
        -1);
    char desc[200];
    dr_file(F "dirty-rate-dirty-ring-10.0-ring.jsonl", "dirty-ring", 164,
            1000000000, 1);
    trc_dirty_rate_load(F "dirty-rate-dirty-ring-10.0-ring.jsonl", &d, err,
                        sizeof(err));
    trc_dirty_rate_describe(&d, desc, sizeof(desc));
    assert_non_null(strstr(desc, "mode dirty-ring"));
}

/* virsh domjobinfo, active twice then --completed. */
static void test_domjobinfo(void **state)
{
    (void)state;
    struct trc_replay r;
    replay_path(F "virsh-domjobinfo.txt", &r);
    assert_int_equal(r.format, TRC_FMT_DOMJOBINFO);
    assert_int_equal(r.stats.snapshots, 3);
    assert_int_equal(r.stats.malformed, 0);
    assert_string_equal(r.info.status, "completed");
    assert_int_equal(r.run.m.total_ns, 2482 * 1000000LL);
    assert_int_equal(r.run.m.downtime_ns, 10 * 1000000LL);
    assert_int_equal(r.run.m.bitmap_syncs, 5);
    assert_int_equal(r.info.page_bytes, 4096);
    assert_true(r.info.coarse);
    assert_int_equal(r.diag.verdict, TRC_VERDICT_CONVERGED);
    trc_replay_free(&r);
    /* no job: nothing */
    replay_mem("Job type:         None\n\n", &r);
    assert_int_equal(r.stats.snapshots, 0);
    trc_replay_free(&r);
}

/* Proxmox VE task logs: PVE 7+ ("migration active, transferred X of Y
 * VM-state, R") with its downtime limit, and the older form with exact
 * byte counts. */
static void test_proxmox(void **state)
{
    (void)state;
    struct trc_replay r;
    replay_path(F "proxmox-qm-migrate.log", &r);
    assert_int_equal(r.format, TRC_FMT_PROXMOX);
    assert_int_equal(r.stats.malformed, 0);
    assert_string_equal(r.info.status, "completed");
    assert_int_equal(r.run.m.total_ns, 5 * 1000000000LL);
    assert_int_equal(r.run.m.downtime_ns, 45 * 1000000LL);
    assert_true(r.info.limit_read);
    assert_int_equal(r.run.m.downtime_limit_ns, 100 * 1000000LL);
    assert_int_equal(r.info.ram_total_bytes, 4ull << 30);
    assert_int_equal(r.diag.verdict, TRC_VERDICT_CONVERGED);
    trc_replay_free(&r);
    replay_path(F "proxmox-qm-migrate-old.log", &r);
    assert_int_equal(r.stats.snapshots, 12);
    assert_string_equal(r.info.status, "completed");
    assert_int_equal(r.run.m.total_ns, 19 * 1000000000LL);
    assert_int_equal(r.run.m.downtime_ns, 62 * 1000000LL);
    assert_false(r.info.limit_read);
    assert_int_equal(r.info.ram_total_bytes, 2156732416ull);
    trc_replay_free(&r);
    /* a failed one */
    replay_mem("2024-05-01 12:00:04 starting online/live migration on "
               "unix:/run/qemu-server/100.migrate\n"
               "2024-05-01 12:00:05 migration active, transferred 112.9 MiB "
               "of 4.0 GiB VM-state, 115.2 MiB/s\n"
               "2024-05-01 12:00:06 migration status error: failed\n",
               &r);
    assert_string_equal(r.info.status, "failed");
    assert_true(r.info.failed);
    trc_replay_free(&r);
    /* found by fuzz_trc_mgmt: year 4048 overflowed the ns (UBSan); now
     * not a Proxmox line */
    replay_mem("4048-05-01 12:00:04 starting online/live migration on x\n", &r);
    assert_int_equal(r.stats.snapshots, 0);
    trc_replay_free(&r);
}

/* libvirt's debug log: the commands it sends (the downtime limit read,
 * not assumed), the query-migrate replies (the real 10.0 polls) and the
 * MIGRATION events. */
static void test_libvirt_log(void **state)
{
    (void)state;
    struct trc_replay r;
    replay_path(F "libvirt-debug-set-parameters.log", &r);
    assert_int_equal(r.stats.malformed, 0);
    assert_string_equal(r.info.status, "completed");
    assert_true(r.info.limit_read);
    assert_string_equal(r.info.limit_source, "migrate-set-parameters");
    assert_int_equal(r.run.m.downtime_limit_ns, 500 * 1000000LL);
    assert_int_equal(r.run.m.bitmap_syncs, 5);
    assert_int_equal(r.run.m.total_ns, 2445 * 1000000LL);
    trc_replay_free(&r);
    replay_path(F "libvirt-debug-set-downtime.log", &r);
    assert_true(r.info.limit_read);
    assert_string_equal(r.info.limit_source, "migrate_set_downtime");
    assert_int_equal(r.run.m.downtime_limit_ns, 500 * 1000000LL);
    trc_replay_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonfinite),   cmocka_unit_test(test_pretty_json),
        cmocka_unit_test(test_hmp_layouts), cmocka_unit_test(test_dirty_rate),
        cmocka_unit_test(test_domjobinfo),  cmocka_unit_test(test_proxmox),
        cmocka_unit_test(test_libvirt_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
