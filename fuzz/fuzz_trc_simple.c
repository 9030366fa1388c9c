/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz/fuzz_trc_simple.c — libFuzzer harness for the simpletrace binary
 * reader.  The input follows a valid log-version-4 header (so the fuzzer
 * spends its time on mapping and event records); byte 0 chooses whether
 * the argument layouts come from a trace-events file (written once at
 * start-up) or from the catalogue, and --strict.  Records then go through
 * the timeline and the diagnosis.
 *
 * Max-len: 4096 (simpletrace records are tens of bytes; a mapping record names
 * one event) Coverage: traces/trace_simple.c traces/trace_events.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "traces/replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char events_path[64];

static const char events[] =
    "migrate_set_state(const char *new_state) \"new state %s\"\n"
    "migrate_pending_exact(uint64_t size, uint64_t pre, uint64_t post) "
    "\"exact pending size %\" PRIu64 \" (pre = %\" PRIu64 \" post=%\" PRIu64 "
    "\")\"\n"
    "migrate_pending_estimate(uint64_t size, uint64_t pre, uint64_t post) "
    "\"estimate pending size %\" PRIu64 \" (pre = %\" PRIu64 \" post=%\" "
    "PRIu64 \")\"\n"
    "migration_bitmap_sync_start(void) \"\"\n"
    "migration_bitmap_sync_end(uint64_t dirty_pages) \"dirty_pages %\" "
    "PRIu64\n"
    "migrate_transferred(uint64_t transferred, uint64_t time_spent, uint64_t "
    "bandwidth, uint64_t avail_bw, uint64_t size) \"transferred %\" PRIu64 "
    "\" time_spent %\" PRIu64 \" bandwidth %\" PRIu64 \" switchover_bw %\" "
    "PRIu64 \" max_size %\" PRId64\n"
    "vfio_state_pending_exact(const char *name, uint64_t precopy, uint64_t "
    "postcopy, uint64_t stopcopy_size, uint64_t precopy_init_size, uint64_t "
    "precopy_dirty_size) \" (%s) precopy %\"PRIu64\" postcopy %\"PRIu64\" "
    "stopcopy size %\"PRIu64\" precopy initial size %\"PRIu64\" precopy "
    "dirty size %\"PRIu64\n"
    "vfio_migration_set_device_state(const char *name, const char *state) "
    "\" (%s) state %s\"\n"
    "vmstate_downtime_save(const char *type, const char *idstr, uint32_t "
    "instance_id, int64_t downtime) \"type=%s idstr=%s instance_id=%d "
    "downtime=%\"PRIi64\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(events_path, sizeof(events_path), "/tmp/fuzz_trc_evXXXXXX");
    int fd = mkstemp(events_path);
    if (fd < 0 || write(fd, events, sizeof(events) - 1) < 0) {
        events_path[0] = '\0';
    }
    if (fd >= 0) {
        close(fd);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    if (!events_path[0]) {
        LLVMFuzzerInitialize(NULL, NULL);
    }
    uint8_t *buf = malloc(24 + size - 1);
    if (!buf) {
        return 0;
    }
    static const uint8_t hdr[24] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xb4, 0x29, 0xa4, 0x0a,
        0xcb, 0x77, 0xb1, 0xf2, 4,    0,    0,    0,    0,    0,    0,    0};
    memcpy(buf, hdr, 24);
    memcpy(buf + 24, data + 1, size - 1);
    struct trc_replay_options o;
    memset(&o, 0, sizeof(o));
    o.reader.format = (data[0] & 1) ? TRC_FMT_SIMPLE : TRC_FMT_AUTO;
    o.reader.strict = (data[0] & 2) != 0;
    if ((data[0] & 4) && events_path[0]) {
        o.reader.events_path = events_path;
    } else {
        o.reader.no_events = true;
    }
    o.timeline.max_samples = 16;
    o.timeline.max_events = 16;
    char err[512];
    struct trc_reader *r = trc_reader_new(&o.reader, err, sizeof(err));
    if (r) {
        if (trc_reader_add_mem(r, "fuzz.bin", buf, 24 + size - 1, err,
                               sizeof(err)) == 0) {
            struct trc_replay rp;
            if (trc_replay_reader(r, &o, &rp, err, sizeof(err)) == 0) {
                trc_replay_free(&rp);
            }
        }
        trc_reader_free(r);
    }
    free(buf);
    return 0;
}
