/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * run/qmp_params.c — the scenario key <-> QMP name <-> virsh command table
 * and its unit conversions (contract in run/qmp_params.h).
 */
#include "run/qmp_params.h"

#include <string.h>

#include "base/err.h"

#define NS_PER_MS ((int64_t)1000000)
#define MIB_BYTES ((uint64_t)1 << 20)

static const struct qmp_param params[QP_COUNT] = {
    {QP_DOWNTIME_LIMIT, "migration.downtime_limit", "downtime-limit",
     "migrate-setmaxdowntime", QPU_NS_MS},
    {QP_MAX_BANDWIDTH, "migration.max_bandwidth", "max-bandwidth",
     "migrate-setspeed", QPU_BPS},
    {QP_AVAIL_SWITCHOVER_BW, "migration.avail_switchover_bandwidth",
     "avail-switchover-bandwidth", NULL, QPU_BPS},
    {QP_CPU_THROTTLE_INITIAL, "migration.cpu_throttle_initial",
     "cpu-throttle-initial", NULL, QPU_PERCENT},
    {QP_CPU_THROTTLE_INCREMENT, "migration.cpu_throttle_increment",
     "cpu-throttle-increment", NULL, QPU_PERCENT},
    {QP_MAX_CPU_THROTTLE, "migration.max_cpu_throttle", "max-cpu-throttle",
     NULL, QPU_PERCENT},
    {QP_VCPU_DIRTY_LIMIT, "migration.vcpu_dirty_limit", "vcpu-dirty-limit",
     NULL, QPU_BPS_MBPS},
};

const struct qmp_param *qmp_param(enum qmp_param_id id)
{
    return &params[id < QP_COUNT ? id : 0];
}

const struct qmp_param *qmp_param_by_qmp(const char *name)
{
    for (size_t i = 0; i < QP_COUNT; i++) {
        if (strcmp(params[i].qmp, name) == 0) {
            return &params[i];
        }
    }
    return NULL;
}

const char *qmp_param_name(enum qmp_param_id id)
{
    return qmp_param(id)->qmp;
}

int64_t qmp_param_to_qmp(enum qmp_param_id id, uint64_t v)
{
    switch (qmp_param(id)->unit) {
    case QPU_NS_MS:
        return (int64_t)v / NS_PER_MS;
    case QPU_BPS_MBPS:
        return (int64_t)(v / 1000000);
    case QPU_BPS:
    case QPU_PERCENT:
        break;
    }
    return (int64_t)v;
}

uint64_t qmp_param_from_qmp(enum qmp_param_id id, uint64_t v)
{
    switch (qmp_param(id)->unit) {
    case QPU_NS_MS: /* saturates at INT64_MAX ns (values come from QEMU) */
        return v > (uint64_t)INT64_MAX / (uint64_t)NS_PER_MS
                   ? (uint64_t)INT64_MAX
                   : v * (uint64_t)NS_PER_MS;
    case QPU_BPS_MBPS:
        return v > (uint64_t)INT64_MAX / 1000000 ? (uint64_t)INT64_MAX
                                                 : v * 1000000;
    case QPU_BPS:
    case QPU_PERCENT:
        break;
    }
    return v;
}

uint64_t qmp_param_to_virsh(enum qmp_param_id id, uint64_t v)
{
    switch (qmp_param(id)->unit) {
    case QPU_NS_MS:
        return v / (uint64_t)NS_PER_MS;
    case QPU_BPS:
        return (v + MIB_BYTES - 1) / MIB_BYTES;
    case QPU_BPS_MBPS:
        return v / 1000000;
    case QPU_PERCENT:
        break;
    }
    return v;
}

int qmp_downtime_limit_check(const char *field, int64_t ns, bool for_qemu,
                             char *err, size_t errlen)
{
    int64_t lo = for_qemu ? NS_PER_MS : 1;
    if (ns < lo || ns > QMP_DOWNTIME_LIMIT_MAX_MS * NS_PER_MS) {
        err_set(err, errlen, "%s: must be in %s, 2000s] as QEMU accepts", field,
                for_qemu ? "[1ms" : "(0");
        return -1;
    }
    return 0;
}
