/* SPDX-License-Identifier: GPL-3.0-or-later */
/* policy/registry.c — every policy, in `migsim policies` order. */
#include "policy/policy.h"

extern const struct pol_ops pol_qemu;
extern const struct pol_ops pol_cached_stop_size;
extern const struct pol_ops pol_refresh_stop_size;
extern const struct pol_ops pol_stop_size_in_estimate;
extern const struct pol_ops pol_non_iterable_report;
extern const struct pol_ops pol_fixed;
extern const struct pol_ops pol_avail_switchover_bandwidth;
extern const struct pol_ops pol_downtime_limit;
extern const struct pol_ops pol_auto_converge;
extern const struct pol_ops pol_dirty_limit;
extern const struct pol_ops pol_postcopy_after;
extern const struct pol_ops pol_pause_before_switchover;
extern const struct pol_ops pol_nova_steps;
extern const struct pol_ops pol_kubevirt;

static const struct pol_ops *const registry[] = {
    &pol_qemu,
    &pol_cached_stop_size,
    &pol_refresh_stop_size,
    &pol_stop_size_in_estimate,
    &pol_non_iterable_report,
    &pol_fixed,
    &pol_downtime_limit,
    &pol_avail_switchover_bandwidth,
    &pol_auto_converge,
    &pol_dirty_limit,
    &pol_postcopy_after,
    &pol_pause_before_switchover,
    &pol_nova_steps,
    &pol_kubevirt,
    NULL,
};

const struct pol_ops *const *pol_all(void)
{
    return registry;
}
