/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * live/lab.h — real QEMU migrations on this machine (TCG or KVM,
 * loopback): contract.
 *
 * A lab run boots the project's guest (tests/guest/guest.S, built into
 * $(BUILD)/guest/guest.bin) twice: a destination QEMU waiting with
 * "-incoming defer" and a source QEMU, both "-machine pc -accel tcg|kvm
 * -nodefaults -display none", each with a QMP socket in a private work
 * directory, the source with the migration trace events ("-trace
 * events=FILE -D TRACE -msg timestamp=on").  The events are chosen from
 * the binary's own list ("-trace help"): every migrat*, savevm_state_*,
 * vmstate_downtime_*, cpu_throttle_*, the VFIO migration events, minus
 * the per-page ones (migration_transferred_bytes fires for every page on
 * 8.0+ and slows the migration 1.6-2x), which the file also turns off
 * with "-NAME" lines.  Under KVM (--accel kvm, or auto when /dev/kvm
 * opens and QEMU's query-kvm says enabled) the dirty ring can be turned
 * on (-accel kvm,dirty-ring-size=N, both sides).  It waits until the guest has
 * filled its working set, measures the guest's real page-write rate (its
 * page counter read twice with pmemsave), sets the capabilities (always
 * "events") and parameters on both sides, starts migrate-incoming on
 * tcp:127.0.0.1:0 (QEMU picks a free port, read back from query-migrate's
 * socket-address) and migrate on the source, and observes the migration
 * with a live session (live/live.h).  Past the time limit it cancels the
 * migration (outcome: timeout).  After completion it checks that the
 * destination runs the guest (status running, page counter advancing),
 * quits the source, and reads the trace: one RUN_EV_SYNC per
 * migration_bitmap_sync_start/_end pair (value = the end's dirty_pages,
 * dur_ns = end - start), the sum as sync_time_ns, migrate_pending (7.2) or
 * migrate_pending_estimate lines as estimate_calls, migrate_pending_exact
 * lines as exact_calls.
 *
 * Processes: each QEMU runs in its own process group, with
 * PR_SET_PDEATHSIG=SIGKILL so it dies with migsim; lab_free() (and every
 * error path) quits it over QMP, then SIGTERM, then SIGKILL, reaps it with
 * waitpid and removes the work directory (a --workdir given by the user is
 * kept, minus the sockets).  Callers install SIGINT/SIGTERM handlers that
 * set the flag in live_opts.stop; every wait checks it.
 *
 * Guest image contract (tests/guest/guest.S): 512 bytes, parameters at
 * LAB_GUEST_PARAM_OFFSET: magic "MGS1", u32 working-set pages, u32 pause,
 * u16 mode; pages from LAB_GUEST_WS_BASE; u32 page counter at
 * LAB_GUEST_COUNTER, u32 ready magic "RDY1" at LAB_GUEST_READY.  Mode 1
 * pause = PM-timer ticks x 16 per page = 3579545 x 16 x 4096 / rate.
 */
#ifndef MIGSIM_LIVE_LAB_H
#define MIGSIM_LIVE_LAB_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "live/live.h"

#define LAB_GUEST_SIZE         512
#define LAB_GUEST_PARAM_OFFSET 0x1f0
#define LAB_GUEST_MAGIC        "MGS1"
#define LAB_GUEST_READY_MAGIC  0x31594452u /* "RDY1" */
#define LAB_GUEST_COUNTER      0x500
#define LAB_GUEST_READY        0x504
#define LAB_GUEST_WS_BASE      ((uint64_t)1 << 20)
#define LAB_GUEST_PAGE         4096
#define LAB_PMTIMER_HZ         3579545
#define LAB_MAX_CAPS           8
#define LAB_MAX_PARAMS         16

struct lab_cfg {
    const char *qemu;            /* binary or a name `migsim lab qemus`
                                    lists (lab_qemu_resolve); default
                                    $MIGSIM_QEMU or qemu-system-x86_64 */
    const char *accel;           /* "tcg" (default), "kvm" or "auto" */
    const char *cpu;             /* -cpu MODEL; NULL = QEMU's default (the
                                    only choice that works under KVM here
                                    besides host,-arch-capabilities) */
    unsigned smp;                /* vCPUs; 0 = 1 */
    uint32_t dirty_ring;         /* KVM dirty-ring-size (entries); 0 = off */
    int64_t postcopy_after_ns;   /* migrate-start-postcopy this long after
                                    migrate (needs postcopy-ram); 0 = no */
    const char *guest;           /* image; NULL = lab_find_guest() */
    uint64_t ram_bytes;          /* guest RAM, MiB multiple; default 512 MiB */
    uint64_t working_set_bytes;  /* 4 KiB multiple; default 64 MiB */
    uint64_t dirty_rate_bps;     /* page writes x 4 KiB per s; 0 = idle */
    uint32_t pause_loops;        /* nonzero: busy-loop pacing (mode 0) */
    bool set_max_bandwidth;      /* else QEMU's default (128 MiB/s) */
    uint64_t max_bandwidth_bps;  /* 0 = unlimited */
    int64_t downtime_limit_ns;   /* 0 = QEMU's default (300 ms) */
    char caps[LAB_MAX_CAPS][32]; /* capabilities to turn on */
    unsigned n_caps;
    char params[LAB_MAX_PARAMS][80]; /* extra "name=value" parameters */
    unsigned n_params;
    const char *trace_path;  /* keep the source trace here; NULL = temp */
    const char *workdir;     /* NULL = private temporary directory */
    bool observer;           /* second source QMP socket for `migsim live`:
                                WORKDIR/src-observe.qmp */
    int64_t boot_timeout_ns; /* default 60 s */
    int64_t settle_ns;       /* guest rate measurement; default 1 s */
    int64_t time_limit_ns;   /* then migrate_cancel; default 120 s */
};
void lab_cfg_default(struct lab_cfg *c);

/* Guest image: cfg path, $MIGSIM_GUEST, <dir of the binary>/guest/guest.bin,
 * <dir of the binary>/../share/migsim/guest.bin.  0 and the path in out, or
 * -1 with a message listing where it looked. */
int lab_find_guest(const char *given, char *out, size_t outlen, char *err,
                   size_t errlen);
/* Patch parameters into a 512-byte image (in memory). -1 with a message if
 * the image is not the lab guest or the configuration does not fit it. */
int lab_patch_guest(uint8_t img[LAB_GUEST_SIZE], const struct lab_cfg *c,
                    char *err, size_t errlen);

struct lab_result {
    struct live_session s; /* the observation: s.res is the run */
    bool have_session;
    double guest_rate_bps; /* measured before the migration */
    double mig_rate_bps;   /* the guest's mean write rate while the
                              migration ran (page counter at the migrate
                              command and when the source VM stopped or
                              the migration was cancelled); 0 if unknown */
    bool dest_checked, dest_ok;
    char dest_note[200];
    bool trace_read;
    uint64_t trace_syncs;      /* sync_start/_end pairs in the trace */
    int64_t trace_sync_ns;     /* their total duration */
    uint64_t trace_pending;    /* pending queries: migrate_pending (7.2)
                                  or migrate_pending_estimate (8.0+) */
    uint64_t trace_exact;      /* migrate_pending_exact lines (8.0+) */
    unsigned trace_events;     /* events enabled on the source */
    char accel[8];             /* accelerator used: "kvm" or "tcg" */
    char accel_note[160];      /* why (auto), what query-kvm said */
    char qemu_bin[PATH_MAX];   /* binary run */
    bool postcopy_started;     /* migrate-start-postcopy sent */
    bool continued;            /* migrate-continue sent (pre-switchover) */
    char trace_path[PATH_MAX]; /* kept trace ("" if temporary) */
    double zero_fraction;      /* zero pages outside the working set */
    char *scenario_json;       /* the run as a simulator scenario (owned) */
    bool timed_out;            /* cancelled at the time limit */
    char workdir[PATH_MAX];
};
void lab_result_free(struct lab_result *r);

/*
 * One lab run.  lo: session options (progress, db, policy, stop flag,
 * interval; tick, time limit and source are set here).  Returns 0 when a
 * migration was started (r->s.end tells how it ended; r->s.error why it
 * ended early), or -1 with a message when the lab could not get that far
 * (QEMU missing or failing to start, guest not ready, interrupted before
 * the migration).  Every process started is gone when this returns.
 */
int lab_run(const struct lab_cfg *cfg, const struct live_opts *lo,
            struct lab_result *r, char *err, size_t errlen);

/* ---- QEMUs the lab can use --------------------------------------------- */

struct lab_qemu {
    char name[32];       /* "system", "10.0", or X.Y of MIGSIM_QEMU_X_Y */
    char path[PATH_MAX]; /* binary */
    char origin[64];     /* "PATH", "$MIGSIM_QEMU10_PREFIX", ... */
};
/* Candidates that exist: the system QEMU (qemu-system-x86_64 on PATH), the
 * project's 10.0 ($MIGSIM_QEMU10_PREFIX or /opt/migsim/qemu-10.0, its
 * bin/qemu-system-x86_64), every MIGSIM_QEMU_<X>_<Y>=BINARY.  Count. */
size_t lab_qemus(struct lab_qemu *out, size_t max);

struct lab_qemu_info {
    char version[32]; /* query-version: "10.0.2" */
    char package[96]; /* query-version package */
    unsigned num;     /* major*100+minor */
    bool kvm_present; /* query-kvm (started with -accel kvm if usable) */
    bool kvm_enabled;
};
/* Start bin paused (-S, no guest), ask query-version and query-kvm, quit.
 * with_kvm: start it with -accel kvm (else tcg).  0 or -1 with a message. */
int lab_qemu_probe(const char *bin, bool with_kvm, struct lab_qemu_info *info,
                   char *err, size_t errlen);
/* --qemu SPEC to a binary: a path (with '/'), a name lab_qemus() lists, a
 * version ("10.0", "7.2.22") matched against each candidate's --version,
 * or a command looked up on PATH.  0 or -1 with a message. */
int lab_qemu_resolve(const char *spec, char *path, size_t n, char *err,
                     size_t errlen);
/* The release a binary reports with --version ("10.0.2"); 0 or -1. */
int lab_qemu_release(const char *bin, char *out, size_t n, char *err,
                     size_t errlen);
/* /dev/kvm opens read-write and answers KVM_GET_API_VERSION; false with
 * the reason in why. */
bool lab_kvm_usable(char *why, size_t n);
/* Whether spec looks like a version number ("10.0", "7.2.22"). */
bool lab_is_version(const char *spec);

/* The lab configuration as a simulator scenario (run/scenario.h keys):
 * qemu version, vm.ram, vm.zero_fraction, workload sweep over the working
 * set at dirty_rate_bps, migration.downtime_limit, max_bandwidth,
 * time_limit, auto_converge.  malloc'ed JSON text or NULL. */
char *lab_scenario_json(const struct lab_cfg *c, const char *qemu_model,
                        double dirty_rate_bps, double zero_fraction);

#endif
