/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * run/scenario.h — scenario files: what is migrated, how, and by which QEMU.
 *
 * A scenario is a JSON object with human units ("21GB", "64GiB", "300ms",
 * "10Gbit/s", "128MiB/s").  Sizes may also be plain numbers (bytes); times
 * and rates need a unit.  Unknown keys are errors (a typo must not silently
 * fall back to a default).  `--set key.path=value` overrides any key before
 * validation (devices by index: `devices.0.stop_copy_size=2GB` or
 * `devices[0].stop_copy_size=2GB`).  The resolved scenario (file + overrides)
 * is kept as JSON so every run can be reproduced from its record.
 *
 * Every key, its type, default and meaning is in the table in scenario.c and
 * is printed by `migsim simulate --keys` (and docs/scenarios.md).
 */
#ifndef MIGSIM_SIM_SCENARIO_H
#define MIGSIM_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "devices/ram.h"
#include "run/qemu_version.h"
#include "run/result.h"

#define SCN_MAX_DEVICES  RUN_MAX_DEVICES
#define SCN_MAX_SCHEDULE 32
/* The longest migration.time_limit accepted (30 days): a run that does not
 * converge simulates all of it (memory stays bounded, see model/mig.h). */
#define SCN_MAX_TIME_LIMIT_NS (30LL * 24 * 3600 * 1000000000LL)

/* "9.1" -> 901; -1 if not a modelled version. */
int scn_qemu_from_name(const char *s, unsigned *v);
/* 901 -> "9.1" (static string). */
const char *scn_qemu_name(unsigned v);
/* Comma-separated list of modelled versions, for messages. */
const char *scn_qemu_list(void);

struct scn_size_change {
    int64_t at_ns;
    uint64_t stop_copy_bytes;
};

struct scn_device {
    char name[RUN_NAME_LEN];
    uint64_t stop_copy_bytes;
    unsigned n_schedule;
    struct scn_size_change schedule[SCN_MAX_SCHEDULE];
    bool precopy;                   /* VFIO_MIGRATION_PRE_COPY */
    bool p2p;                       /* VFIO_MIGRATION_P2P */
    uint64_t precopy_initial_bytes; /* initial_bytes at PRE_COPY entry */
    uint64_t precopy_dirty_rate_bps;
    bool precopy_shrinks_stop_copy;
    uint64_t min_stop_copy_bytes;
    int64_t query_latency_ns; /* per size ioctl */
    uint64_t read_bps;        /* data_fd read bandwidth, 0 = link */
    int64_t save_ns;          /* extra save time inside downtime */
    int64_t load_ns;          /* destination load time */
    uint64_t config_bytes;    /* non-iterable config state */
    int64_t config_load_ns;
    bool query_fails; /* MIG_DATA_SIZE fails: QEMU 100 GiB */
    uint64_t size_jitter_bytes;
    bool multifd; /* device state over multifd (10.0+) */
};

struct scenario {
    char name[128];
    unsigned qemu; /* QEMU_x_y */
    uint64_t seed;

    /* vm */
    uint64_t ram_bytes;
    uint64_t page_bytes;
    double zero_fraction;
    unsigned vcpus;
    int64_t stop_base_ns; /* vm_stop_force_state cost */
    int64_t stop_per_vcpu_ns;
    uint64_t non_iterable_bytes; /* rest of the VM's device state */
    int64_t non_iterable_save_ns;
    int64_t non_iterable_load_ns;
    int64_t zero_page_scan_ns; /* thread time per zero page */
    /* the same while a max-bandwidth is set (0 = zero_page_scan_ns) */
    int64_t zero_page_scan_limited_ns;

    /* workload */
    struct ram_cfg ram; /* mode, workload, rates, phases (ram_bytes etc.
                           copied from vm) */

    /* migration */
    int64_t downtime_limit_ns;
    uint64_t max_bandwidth_bps;  /* 0 = unlimited */
    uint64_t link_bandwidth_bps; /* wire speed; stop-copy is not limited */
    uint64_t avail_switchover_bandwidth_bps; /* 0 = measured (8.2+) */
    int64_t time_limit_ns;                   /* (0, SCN_MAX_TIME_LIMIT_NS] */
    int64_t setup_ns;
    int64_t rtt_ns;               /* return-path round trip */
    unsigned multifd_channels;    /* 0 = multifd off */
    uint64_t multifd_channel_bps; /* per-channel cap (TLS etc.), 0 = none */
    bool postcopy_ram;            /* capability postcopy-ram */
    uint64_t max_postcopy_bandwidth_bps;
    bool switchover_ack; /* capability switchover-ack (8.1+) */
    bool return_path;    /* capability return-path (also on with postcopy /
                            switchover-ack): the source waits for the
                            destination's SHUT */
    bool pause_before_switchover;
    int64_t pause_wait_ns; /* until migrate-continue */
    bool auto_converge;
    unsigned throttle_trigger_threshold; /* % */
    unsigned cpu_throttle_initial;       /* % */
    unsigned cpu_throttle_increment;     /* % */
    unsigned max_cpu_throttle;           /* % */
    bool cpu_throttle_tailslow;
    bool dirty_limit; /* capability dirty-limit (8.1+) */
    uint64_t vcpu_dirty_limit_bps;
    int64_t sync_base_ns;      /* bitmap sync cost: base ... */
    int64_t sync_per_gib_ns;   /* ... + per GiB of guest RAM */
    int64_t sender_page_ns;    /* migration thread time per normal page
                                  (CPU ceiling), 0 = wire time only */
    int64_t postcopy_fault_ns; /* postcopy: guest stall per
                                  remote page fault */

    unsigned n_devices;
    struct scn_device devices[SCN_MAX_DEVICES];
};

struct scn_doc; /* parsed JSON tree + overrides (opaque) */

/* Load a scenario file (or "-" for stdin).  NULL with a message naming the
 * file (and line/column for JSON syntax errors) in err. */
struct scn_doc *scn_doc_load(const char *path, char *err, size_t errlen);
/* Parse a scenario from a string (src names it in messages). */
struct scn_doc *scn_doc_parse(const char *json, const char *src, char *err,
                              size_t errlen);
struct scn_doc *scn_doc_copy(const struct scn_doc *d);
void scn_doc_free(struct scn_doc *d);

/* Apply "key.path=value".  The value is parsed as JSON when it is valid JSON
 * (true, 12, {"a":1}) and taken as a string otherwise.  -1 with a message on
 * a malformed assignment or a path that cannot exist. */
int scn_doc_set(struct scn_doc *d, const char *assignment, char *err,
                size_t errlen);

/* Validate and convert to a struct scenario (defaults filled in).  -1 with a
 * message naming the key on any error. */
int scn_resolve(const struct scn_doc *d, struct scenario *s, char *err,
                size_t errlen);

/* The resolved document as compact JSON (malloc'd; caller frees). */
char *scn_doc_json(const struct scn_doc *d);
/* File name or "-" the document came from. */
const char *scn_doc_source(const struct scn_doc *d);

/* Defaults only (no file). */
void scn_defaults(struct scenario *s);

/* Print the table of keys (name, type, default, meaning). */
void scn_print_keys(FILE *f);

#endif
