/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * devices/vfio_probe.h — measure a real VFIO device's migration behaviour
 * and turn it into a scenario device profile: contract.
 *
 * The probe drives one VFIO device fd through the v2 migration uAPI:
 *   1. VFIO_DEVICE_FEATURE GET MIGRATION (flags) and GET MIG_DEVICE_STATE
 *      (must be RUNNING: the probe refuses a device someone else is
 *      migrating);
 *   2. in RUNNING: MIG_DATA_SIZE timed back to back (ioctl latency), then
 *      sampled every interval for sample_ns (size and its jitter);
 *   3. with PRE_COPY: RUNNING -> PRE_COPY, PRECOPY_INFO + MIG_DATA_SIZE
 *      sampled for sample_ns without reading (initial bytes, dirty rate),
 *      then the pre-copy data read until the temporary end;
 *   4. -> STOP_COPY (the device is STOPPED from here on), MIG_DATA_SIZE,
 *      the final stream read to end of stream (real state size, read
 *      bandwidth);
 *   5. back to RUNNING.
 * Every transition is walked with vfio_fsm_walk() (devices/vfio_fsm.h),
 * one SET per arc, each timed; the data_fd comes from the arc that opens
 * it.  On any failure after the first SET the probe closes the data_fd,
 * reads the state back and returns the device to RUNNING (VFIO_DEVICE_RESET
 * if it is in ERROR), and says in the error message what it did.
 *
 * All ioctls, reads, closes, clock reads and sleeps go through struct
 * vfio_probe_io, so the probe runs unchanged against the kernel
 * (vfio_probe_sys_io) or a mock device (tests/test_vfio_probe.c).
 *
 * uAPI compatibility: Debian 12 ships 6.1 headers without PRE_COPY,
 * PRECOPY_INFO and MIG_DATA_SIZE (added in 6.2) and without the iommufd
 * device cdev (6.6).  The missing definitions are supplied below, keyed on
 * macros introduced together with them, never on the PRE_COPY state names
 * (those are enumerators upstream).  States are passed as the FSM's own
 * enum, whose values are static-asserted against the kernel's.
 */
#ifndef MIGSIM_DEVICES_VFIO_PROBE_H
#define MIGSIM_DEVICES_VFIO_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include <jansson.h>
#include <linux/vfio.h>

#include "devices/vfio_fsm.h"

#ifndef VFIO_MIGRATION_PRE_COPY
/* 6.2 uAPI: pre-copy flag, PRECOPY_INFO on the data_fd and its struct. */
#define MIGSIM_VFIO_COMPAT_PRE_COPY 1
#define VFIO_MIGRATION_PRE_COPY     (1 << 2)
struct vfio_precopy_info {
    __u32 argsz;
    __u32 flags;
    __aligned_u64 initial_bytes;
    __aligned_u64 dirty_bytes;
};
#define VFIO_MIG_GET_PRECOPY_INFO _IO(VFIO_TYPE, VFIO_BASE + 21)
#endif

#ifndef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
/* 6.2 uAPI: estimated stop-copy length. */
struct vfio_device_feature_mig_data_size {
    __aligned_u64 stop_copy_length;
};
#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE 9
#endif

#ifndef VFIO_DEVICE_BIND_IOMMUFD
/* 6.6 uAPI: bind a /dev/vfio/devices/vfioN cdev to an iommufd (/dev/iommu);
 * device ioctls are refused until this succeeds. */
struct vfio_device_bind_iommufd {
    __u32 argsz;
    __u32 flags;
    __s32 iommufd;
    __u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

/* The seam to the kernel.  Return conventions differ from libc: ioctl
 * returns >= 0 or a negative errno, read returns bytes (0 = end of data)
 * or a negative errno, close 0 or a negative errno.  now_ns is monotonic;
 * sleep_ns waits (or, in a mock, advances the clock). */
struct vfio_probe_io {
    int (*ioctl)(void *ctx, int fd, unsigned long req, void *arg);
    ssize_t (*read)(void *ctx, int fd, void *buf, size_t n);
    int (*close)(void *ctx, int fd);
    int64_t (*now_ns)(void *ctx);
    void (*sleep_ns)(void *ctx, int64_t ns);
    void *ctx;
};

/* ioctl(2), read(2) (EINTR retried), close(2), CLOCK_MONOTONIC,
 * nanosleep.  Static storage. */
const struct vfio_probe_io *vfio_probe_sys_io(void);

struct vfio_probe_opts {
    int64_t sample_ns;       /* sampling time per phase (default 1 s) */
    int64_t interval_ns;     /* between samples (default 100 ms) */
    unsigned latency_reps;   /* back-to-back timed size queries (32) */
    uint64_t max_read_bytes; /* stop reading a stream here (0 = to end) */
    size_t buf_bytes;        /* read size (default 1 MiB, as QEMU) */
    bool no_precopy;         /* skip step 3 even if PRE_COPY exists */
};

/* Defaults as documented above. */
void vfio_probe_opts_init(struct vfio_probe_opts *o);
/* 0, or -EINVAL with a message naming the option: interval > 0, at most
 * 200 samples per phase, 1..256 reps, buffer 4 KiB .. 64 MiB. */
int vfio_probe_opts_check(const struct vfio_probe_opts *o, char *err,
                          size_t errlen);

#define VFIO_PROBE_MAX_SAMPLES 512
#define VFIO_PROBE_MAX_HOPS    16

struct vfio_probe_sample {
    int64_t t_ns; /* since the probe started */
    enum vfio_fsm_state state;
    bool size_ok; /* MIG_DATA_SIZE answered */
    uint64_t stop_copy_bytes;
    bool precopy_ok; /* PRECOPY_INFO answered (PRE_COPY* only) */
    uint64_t initial_bytes, dirty_bytes;
};

struct vfio_probe_hop {
    enum vfio_fsm_state from, to;
    int64_t ns; /* duration of the SET ioctl */
};

struct vfio_probe_result {
    uint64_t mig_flags; /* VFIO_FSM_F_* bits the device reported */
    bool precopy, p2p;

    bool size_ok;             /* MIG_DATA_SIZE works on this kernel/device */
    int size_errno;           /* its errno when it does not */
    uint64_t stop_copy_bytes; /* median MIG_DATA_SIZE in RUNNING */
    uint64_t stop_copy_min_bytes; /* range of the RUNNING samples */
    uint64_t stop_copy_max_bytes;
    int64_t query_latency_ns; /* median of the timed size queries */
    int64_t query_latency_max_ns;

    bool precopy_probed;
    uint64_t precopy_initial_bytes;  /* PRECOPY_INFO right after entry */
    uint64_t precopy_dirty_rate_bps; /* dirty_bytes growth while sampling */
    uint64_t precopy_read_bytes;     /* pre-copy data read in step 3 */

    bool stop_copy_size_ok; /* MIG_DATA_SIZE in STOP_COPY */
    uint64_t stop_copy_reported_bytes;
    uint64_t stop_copy_read_bytes; /* final stream actually read */
    bool stop_copy_eof;            /* ... to its end (not capped) */
    int64_t stop_copy_read_ns;     /* time spent in read() */
    uint64_t read_bps;             /* bytes/s of that (0 = not measured) */
    int64_t save_ns;               /* duration of the SET into STOP_COPY */

    unsigned n_samples;
    struct vfio_probe_sample samples[VFIO_PROBE_MAX_SAMPLES];
    unsigned n_hops;
    struct vfio_probe_hop hops[VFIO_PROBE_MAX_HOPS];
};

/*
 * Bind a device cdev to an iommufd (VFIO_DEVICE_BIND_IOMMUFD).  0, or a
 * negative errno with a message in err.
 */
int vfio_probe_bind_iommufd(const struct vfio_probe_io *io, int dev_fd,
                            int iommu_fd, char *err, size_t errlen);

/*
 * Run the probe on dev_fd (not closed).  res is filled (zeroed first).
 * Returns 0, or a negative errno with a message in err naming the step,
 * the ioctl and what was done to leave the device RUNNING.  -EINVAL also
 * for bad opts.
 */
int vfio_probe_run(const struct vfio_probe_io *io, int dev_fd,
                   const struct vfio_probe_opts *opts,
                   struct vfio_probe_result *res, char *err, size_t errlen);

/*
 * The scenario device object for res: name, kind "vfio", stop_copy_size
 * (bytes), precopy, p2p, precopy_initial (bytes), precopy_dirty_rate
 * ("NB/s"), query_latency ("Nns"), read_bandwidth ("NB/s", only when at
 * least 4 MiB were read), size_jitter (bytes), save_time ("Nns"),
 * query_fails (true when MIG_DATA_SIZE failed; stop_copy_size is then the
 * bytes read).  New reference; NULL on allocation failure.
 */
json_t *vfio_probe_profile_json(const struct vfio_probe_result *res,
                                const char *name);

/* The raw measurements (flags, samples, hop timings) as JSON.  New
 * reference; NULL on allocation failure. */
json_t *vfio_probe_samples_json(const struct vfio_probe_result *res);

#endif
