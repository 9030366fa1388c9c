/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * run/qmp_params.h — one table of QEMU's migration parameters as migsim
 * knows them: the scenario key, the QMP migrate-set-parameters /
 * query-migrate-parameters name, the virsh command that sets it (if any),
 * and the unit conversion each side needs.  Plan (advice commands), live
 * (reading and setting parameters on a QEMU) and lab (setting parameters
 * on both QEMUs) use it; so does the one rule for downtime-limit.
 *
 * Units: migsim keeps times in ns and rates in bytes/s.  QMP takes
 * downtime-limit in ms, max-bandwidth and avail-switchover-bandwidth in
 * bytes/s, vcpu-dirty-limit in MB/s (10^6 bytes), the throttle knobs in
 * percent.  virsh migrate-setmaxdowntime takes ms, migrate-setspeed MiB/s.
 */
#ifndef MIGSIM_RUN_QMP_PARAMS_H
#define MIGSIM_RUN_QMP_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum qmp_param_id {
    QP_DOWNTIME_LIMIT,
    QP_MAX_BANDWIDTH,
    QP_AVAIL_SWITCHOVER_BW,
    QP_CPU_THROTTLE_INITIAL,
    QP_CPU_THROTTLE_INCREMENT,
    QP_MAX_CPU_THROTTLE,
    QP_VCPU_DIRTY_LIMIT,
    QP_COUNT
};

enum qmp_param_unit {
    QPU_NS_MS,    /* migsim ns, QMP ms (truncated), virsh ms */
    QPU_BPS,      /* bytes/s both sides, virsh MiB/s (rounded up) */
    QPU_BPS_MBPS, /* migsim bytes/s, QMP MB/s (10^6, truncated) */
    QPU_PERCENT,  /* percent both sides */
};

struct qmp_param {
    enum qmp_param_id id;
    const char *scenario_key; /* run/scenario.h key, e.g.
                                 "migration.downtime_limit" */
    const char *qmp;          /* "downtime-limit" */
    const char *virsh;        /* "migrate-setmaxdowntime" or NULL */
    enum qmp_param_unit unit;
};

/* The entry for id (never NULL for id < QP_COUNT). */
const struct qmp_param *qmp_param(enum qmp_param_id id);
/* The entry whose QMP name is name, or NULL. */
const struct qmp_param *qmp_param_by_qmp(const char *name);
/* The QMP name of id. */
const char *qmp_param_name(enum qmp_param_id id);

/* migsim value (ns, bytes/s, percent) -> the integer QMP takes. */
int64_t qmp_param_to_qmp(enum qmp_param_id id, uint64_t v);
/* QMP value -> migsim value; a time or MB/s rate too large for int64 in
 * migsim units saturates at INT64_MAX (the value is QEMU's, not ours). */
uint64_t qmp_param_from_qmp(enum qmp_param_id id, uint64_t v);
/* migsim value -> the number the virsh command takes. */
uint64_t qmp_param_to_virsh(enum qmp_param_id id, uint64_t v);

/* QEMU's maximum downtime-limit (MAX_MIGRATE_DOWNTIME): 2000 s in ms. */
#define QMP_DOWNTIME_LIMIT_MAX_MS 2000000

/*
 * The one downtime-limit rule.  QEMU takes an integer number of ms up to
 * 2000 s (QMP_DOWNTIME_LIMIT_MAX_MS).  A limit migsim simulates must be in
 * (0, 2000 s]; one sent to a real QEMU (for_qemu) must also be at least
 * 1 ms (it is truncated to whole ms; 0 would not be the limit asked for).
 * 0, or -1 with "FIELD: must be in (0, 2000s] as QEMU accepts" (or
 * "[1ms, 2000s]" for_qemu) in err.
 */
int qmp_downtime_limit_check(const char *field, int64_t ns, bool for_qemu,
                             char *err, size_t errlen);

#endif
