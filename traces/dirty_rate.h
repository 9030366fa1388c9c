/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/dirty_rate.h — reading a dirty-rate measurement: the reply of
 * query-dirty-rate after calc-dirty-rate, as operators record it before a
 * migration (contract).
 *
 * Input: text holding one or more JSON objects — the reply
 * {"return": {...}} or the bare DirtyRateInfo, on one line or
 * pretty-printed over several (virsh qemu-monitor-command --pretty, a QMP
 * shell), among other lines (comments, the calc-dirty-rate command and its
 * empty reply).  The last object with "status": "measured" and a
 * "dirty-rate" is the measurement.  Modes: "page-sampling" (the default:
 * sampled pages per GiB, "sample-pages"), "dirty-ring" (KVM's dirty ring,
 * with per-vCPU "vcpu-dirty-rate" [{id, dirty-rate}]) and "dirty-bitmap".
 * A reply without "mode" (QEMU before 6.2) is page-sampling.
 *
 * "dirty-rate" is in MB/s as QEMU documents it; QEMU computes it with
 * 2^20-byte units, so it is taken as MiB/s.  QEMU's bare nan/inf
 * numbers are read as missing (a measurement whose rate is missing is
 * refused, naming the file).
 */
#ifndef MIGSIM_TRACES_DIRTY_RATE_H
#define MIGSIM_TRACES_DIRTY_RATE_H

#include <stddef.h>
#include <stdint.h>

struct trc_dirty_rate {
    uint64_t rate_bps;     /* dirty-rate x 2^20 */
    char mode[24];         /* page-sampling, dirty-ring, dirty-bitmap */
    int64_t calc_time_ns;  /* calc-time (x calc-time-unit), -1 unknown */
    int64_t sample_pages;  /* page-sampling: pages sampled per GiB, -1 */
    unsigned n_vcpus;      /* dirty-ring: vcpu-dirty-rate entries */
    uint64_t vcpu_max_bps; /* the busiest vCPU's rate */
    int64_t start_time_s;  /* start-time (seconds, QEMU's clock), -1 */
    unsigned measurements; /* measured objects seen (the last is used) */
};

/* Parse text (len bytes; src names it in messages).  0, or -1 with a
 * message naming src (and the line when one is at fault) in err. */
int trc_dirty_rate_parse(const char *text, size_t len, const char *src,
                         struct trc_dirty_rate *out, char *err, size_t errlen);
/* Read the file at path ("-" = stdin, at most 16 MiB) and parse it. */
int trc_dirty_rate_load(const char *path, struct trc_dirty_rate *out, char *err,
                        size_t errlen);
/* One line describing the measurement ("8.0 MiB/s, calc-dirty-rate mode
 * page-sampling, 512 sample pages/GiB, 1 s"). */
void trc_dirty_rate_describe(const struct trc_dirty_rate *d, char *buf,
                             size_t len);

/*
 * --dirty-rate-from FILE for plan and simulate: a cli_opt CLI_CALL
 * handler (cli/opts.h).  ctx is a struct trc_dirty_rate_sets: the
 * command's --set list, to which "workload.dirty_rate=NB/s" is appended
 * (a later --set still overrides it).  Prints which measurement it came
 * from on stderr.
 */
struct trc_dirty_rate_sets {
    const char **sets;
    unsigned *n_sets;
    unsigned cap;
};
int trc_dirty_rate_opt(const char *arg, void *ctx, char *err, size_t errlen);

#endif
