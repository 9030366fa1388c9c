/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plan/plan_out.c — a plan's answer as a table and as JSON, with the QMP
 * commands and virsh lines that apply it (names and units from
 * run/qmp_params.h).
 */
#include "plan/plan.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/term.h"
#include "base/units.h"
#include "engine/engine.h"
#include "policy/policy.h"
#include "run/qemu_version.h"
#include "run/qmp_params.h"

static const char *fmt_ms(double ms, char *buf, size_t len)
{
    if (!isfinite(ms)) {
        snprintf(buf, len, "-");
        return buf;
    }
    return units_fmt_time((int64_t)llround(ms * 1e6), buf, len);
}

static json_t *j_num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *stat_json(const struct plan_stat *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer(s->n));
    json_object_set_new(o, "mean", j_num_or_null(s->mean));
    json_object_set_new(o, "sd", j_num_or_null(s->sd));
    json_object_set_new(o, "min", j_num_or_null(s->min));
    json_object_set_new(o, "max", j_num_or_null(s->max));
    json_t *ci = json_array();
    json_array_append_new(ci, j_num_or_null(s->ci_lo));
    json_array_append_new(ci, j_num_or_null(s->ci_hi));
    json_object_set_new(o, "ci95", ci);
    return o;
}

/* A reporting variant other than qemu in the spec? */
static bool needs_patched_qemu(const char *spec)
{
    char buf[160];
    snprintf(buf, sizeof(buf), "%s", spec);
    char *save = NULL;
    for (char *t = strtok_r(buf, "+", &save); t;
         t = strtok_r(NULL, "+", &save)) {
        t[strcspn(t, ":")] = '\0';
        const struct pol_ops *o = pol_find(t);
        if (o && o->is_reporting && strcmp(o->name, "qemu") != 0) {
            return true;
        }
    }
    return false;
}

/* The capabilities the answer turns on, as migrate-set-capabilities (or
 * nothing). */
static void caps_command(const struct scenario *a, json_t *qmp)
{
    json_t *caps = json_array();
    struct {
        bool on;
        const char *name;
    } cl[] = {
        {a->auto_converge, "auto-converge"},
        {a->dirty_limit, "dirty-limit"},
        {a->postcopy_ram, "postcopy-ram"},
        {a->switchover_ack, "return-path"},
        {a->switchover_ack, "switchover-ack"},
        {a->pause_before_switchover, "pause-before-switchover"},
    };
    for (size_t i = 0; i < sizeof(cl) / sizeof(cl[0]); i++) {
        if (cl[i].on) {
            json_array_append_new(caps, json_pack("{s:s,s:b}", "capability",
                                                  cl[i].name, "state", 1));
        }
    }
    if (json_array_size(caps)) {
        json_array_append_new(qmp,
                              json_pack("{s:s,s:{s:o}}", "execute",
                                        "migrate-set-capabilities", "arguments",
                                        "capabilities", caps));
    } else {
        json_decref(caps);
    }
}

static void set_arg(json_t *args, enum qmp_param_id id, uint64_t v)
{
    json_object_set_new(args, qmp_param_name(id),
                        json_integer(qmp_param_to_qmp(id, v)));
}

/* The parameters libvirt has no named option for (set through the
 * monitor): avail-switchover-bandwidth and the throttle knobs. */
static json_t *params_libvirt_lacks(const struct scenario *a)
{
    json_t *args = json_object();
    if (qv_has_avail_switchover_bw(a->qemu) &&
        a->avail_switchover_bandwidth_bps) {
        set_arg(args, QP_AVAIL_SWITCHOVER_BW,
                a->avail_switchover_bandwidth_bps);
    }
    if (a->auto_converge) {
        set_arg(args, QP_CPU_THROTTLE_INITIAL, a->cpu_throttle_initial);
        set_arg(args, QP_CPU_THROTTLE_INCREMENT, a->cpu_throttle_increment);
        set_arg(args, QP_MAX_CPU_THROTTLE, a->max_cpu_throttle);
    }
    if (a->dirty_limit) {
        set_arg(args, QP_VCPU_DIRTY_LIMIT, a->vcpu_dirty_limit_bps);
    }
    return args;
}

/* migrate-set-parameters for the advice. */
static void params_command(const struct scenario *a,
                           const struct plan_advice *adv, json_t *qmp)
{
    json_t *args = json_object();
    set_arg(args, QP_DOWNTIME_LIMIT, (uint64_t)adv->value_ns);
    if (adv->set_bw) {
        set_arg(args, QP_MAX_BANDWIDTH, adv->bw_bps);
    }
    json_t *lack = params_libvirt_lacks(a);
    json_object_update(args, lack);
    json_decref(lack);
    json_array_append_new(qmp, json_pack("{s:s,s:o}", "execute",
                                         "migrate-set-parameters", "arguments",
                                         args));
}

static void add_line(json_t *arr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_line(json_t *arr, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    json_array_append_new(arr, json_string(line));
}

static void virsh_lines(const struct scenario *a, const struct plan_advice *adv,
                        json_t *virsh)
{
    add_line(virsh, "virsh %s DOMAIN %" PRIu64,
             qmp_param(QP_DOWNTIME_LIMIT)->virsh,
             qmp_param_to_virsh(QP_DOWNTIME_LIMIT, (uint64_t)adv->value_ns));
    if (adv->set_bw) {
        add_line(virsh, "virsh %s DOMAIN %" PRIu64,
                 qmp_param(QP_MAX_BANDWIDTH)->virsh,
                 qmp_param_to_virsh(QP_MAX_BANDWIDTH, adv->bw_bps));
    } else {
        add_line(virsh, "# no migrate-setspeed: %s", adv->bw_note);
    }
    json_t *lack = params_libvirt_lacks(a);
    if (json_object_size(lack)) {
        json_t *cmd = json_pack("{s:s,s:O}", "execute",
                                "migrate-set-parameters", "arguments", lack);
        char *js = json_dumps(cmd, JSON_COMPACT | JSON_PRESERVE_ORDER);
        add_line(virsh,
                 "# libvirt has no named option for %s: set through the "
                 "monitor",
                 json_object_get(lack, "avail-switchover-bandwidth")
                     ? "avail-switchover-bandwidth"
                     : "these parameters");
        add_line(virsh, "virsh qemu-monitor-command DOMAIN '%s'", js ? js : "");
        free(js);
        json_decref(cmd);
    }
    json_decref(lack);
    if (a->dirty_limit || a->switchover_ack || a->pause_before_switchover) {
        add_line(virsh,
                 "# capabilities virsh migrate has no flag for: set them "
                 "with virsh qemu-monitor-command DOMAIN and the "
                 "migrate-set-capabilities command above");
    }
    if (a->auto_converge || a->postcopy_ram) {
        add_line(virsh, "# start with: virsh migrate --live%s%s DOMAIN URI",
                 a->auto_converge ? " --auto-converge" : "",
                 a->postcopy_ram ? " --postcopy" : "");
    }
}

void plan_commands(const struct plan_result *r, json_t **qmp_out,
                   json_t **virsh_out)
{
    *qmp_out = json_array();
    *virsh_out = json_array();
    const struct plan_policy *o = &r->pol[r->top];
    const struct plan_advice *adv = &r->advice;
    if (!adv->ok || adv->knob != PLAN_KNOB_LIMIT) {
        return; /* refused, or the layer sets the limit itself */
    }
    caps_command(&o->applied, *qmp_out);
    params_command(&o->applied, adv, *qmp_out);
    virsh_lines(&o->applied, adv, *virsh_out);
}

/* An argument of the spec's part, or def. */
static const char *spec_or(const char *spec, const char *part, const char *key,
                           const char *def, char *buf, size_t len)
{
    return plan_spec_arg(spec, part, key, buf, len) ? buf : def;
}

/* A whole number of unit ns from a policy argument text ("75s", "75"). */
static int64_t whole(const char *v, int64_t unit)
{
    int64_t ns;
    char e[100];
    if (units_parse_time(v, unit, &ns, e, sizeof(e)) != 0) {
        return -1;
    }
    return ns / unit;
}

static void nova_lines(const struct plan_result *r, json_t *out)
{
    const struct plan_policy *t = &r->pol[r->top];
    const struct plan_advice *adv = &r->advice;
    const struct scenario *a = &t->applied;
    char b1[32], b2[32], b3[32], b4[32];
    const char *sp = t->policy;
    if (adv->knob != PLAN_KNOB_NOVA) {
        add_line(out,
                 "# planned on QEMU's downtime-limit (policy %s); Nova ramps "
                 "the limit up to live_migration_downtime in "
                 "live_migration_downtime_steps steps: plan with --policy "
                 "nova-steps to search Nova's own knob",
                 sp);
    }
    const struct plan_layer_advice *lk = &adv->lk;
    bool own = lk->searched && lk->nova;
    if (own) {
        add_line(out, "# %s", lk->how);
    }
    add_line(out, "[libvirt]");
    add_line(out, "live_migration_downtime = %" PRId64, adv->value_ns / SIM_MS);
    if (own) {
        add_line(out, "live_migration_downtime_steps = %u", lk->steps);
        add_line(out, "live_migration_downtime_delay = %" PRId64, lk->delay_s);
        add_line(out, "live_migration_completion_timeout = %" PRId64,
                 lk->completion_s);
    } else {
        add_line(out, "live_migration_downtime_steps = %s",
                 spec_or(sp, "nova-steps", "steps", "10", b1, sizeof(b1)));
        add_line(out, "live_migration_downtime_delay = %" PRId64,
                 whole(spec_or(sp, "nova-steps", "delay", "75", b2, sizeof(b2)),
                       SIM_S));
        add_line(out, "live_migration_completion_timeout = %" PRId64,
                 whole(spec_or(sp, "nova-steps", "completion_timeout", "800",
                               b3, sizeof(b3)),
                       SIM_S));
    }
    add_line(out, "live_migration_timeout_action = %s",
             spec_or(sp, "nova-steps", "action", "abort", b4, sizeof(b4)));
    add_line(out, "live_migration_permit_post_copy = %s",
             a->postcopy_ram ? "true" : "false");
    if (own && lk->postcopy[0]) {
        add_line(out, "# %s", lk->postcopy);
    }
    add_line(out, "live_migration_permit_auto_converge = %s",
             a->auto_converge ? "true" : "false");
    if (adv->set_bw) {
        add_line(out, "live_migration_bandwidth = %" PRIu64,
                 qmp_param_to_virsh(QP_MAX_BANDWIDTH, adv->bw_bps));
    } else {
        add_line(out, "# live_migration_bandwidth left as is: %s",
                 adv->bw_note);
    }
    if (qv_has_avail_switchover_bw(a->qemu) &&
        a->avail_switchover_bandwidth_bps) {
        add_line(out, "# Nova has no option for avail-switchover-bandwidth "
                      "(the plan uses it): it cannot be applied through "
                      "nova.conf");
    }
}

static void kubevirt_lines(const struct plan_result *r, json_t *out)
{
    const struct plan_policy *t = &r->pol[r->top];
    const struct plan_advice *adv = &r->advice;
    const struct scenario *a = &t->applied;
    char b1[32], b2[32];
    const char *sp = t->policy;
    const struct plan_layer_advice *lk = &adv->lk;
    bool own = lk->searched && !lk->nova;
    int64_t ct =
        own ? lk->completion_s
            : whole(spec_or(sp, "kubevirt", "completion_timeout_per_gib", "150",
                            b1, sizeof(b1)),
                    SIM_S);
    int64_t pt = own ? lk->progress_s
                     : whole(spec_or(sp, "kubevirt", "progress_timeout", "150",
                                     b2, sizeof(b2)),
                             SIM_S);
    if (lk->how[0] && !lk->nova) {
        add_line(out, "# %s", lk->how);
    }
    add_line(out, "apiVersion: migrations.kubevirt.io/v1alpha1");
    add_line(out, "kind: MigrationPolicy");
    add_line(out, "metadata:");
    add_line(out, "  name: migsim-plan");
    add_line(out, "spec:");
    add_line(out, "  allowAutoConverge: %s",
             a->auto_converge ? "true" : "false");
    add_line(out, "  allowPostCopy: %s", a->postcopy_ram ? "true" : "false");
    if (adv->set_bw) {
        add_line(out, "  bandwidthPerMigration: %" PRIu64 "Mi",
                 qmp_param_to_virsh(QP_MAX_BANDWIDTH, adv->bw_bps));
    } else {
        add_line(out, "  # bandwidthPerMigration left out: %s", adv->bw_note);
    }
    add_line(out, "  completionTimeoutPerGiB: %" PRId64, ct);
    add_line(out, "  # selectors: namespaceSelector / "
                  "virtualMachineInstanceSelector labels choose the VMs");
    add_line(out,
             "# cluster-wide instead: the same fields under the KubeVirt "
             "CR's spec.configuration.migrations, with progressTimeout: "
             "%" PRId64,
             pt);
    if (adv->knob == PLAN_KNOB_KUBEVIRT_MAX) {
        add_line(out,
                 "# maxDowntimeMs %" PRId64
                 ": the dynamic downtime proposal (VEP 291, kubevirt PR "
                 "17480) is experimental and not a released MigrationPolicy "
                 "field; not applicable as YAML here",
                 adv->value_ns / SIM_MS);
        if (own) {
            add_line(out,
                     "# the proposal's ramp as planned (policy kubevirt "
                     "dynamic=on arguments): steps %u, cooldown %" PRId64
                     " s, max %" PRId64 " ms",
                     lk->steps, lk->cooldown_s, adv->value_ns / SIM_MS);
        }
    } else {
        add_line(out,
                 "# KubeVirt has no downtime-limit setting: the plan's %" PRId64
                 " ms cannot be applied through KubeVirt; the limit in force "
                 "stays libvirt's/QEMU's",
                 adv->value_ns / SIM_MS);
    }
}

static void proxmox_lines(const struct plan_result *r, json_t *out)
{
    const struct plan_advice *adv = &r->advice;
    const struct plan_policy *t = &r->pol[r->top];
    if (adv->knob != PLAN_KNOB_LIMIT) {
        add_line(out,
                 "# planned for policy %s: Proxmox VE has no such "
                 "monitor; re-plan with -p qemu for qm set",
                 t->policy);
        return;
    }
    int64_t ms = adv->value_ns / SIM_MS;
    add_line(out, "qm set VMID --migrate_downtime %" PRId64 ".%03" PRId64,
             ms / 1000, ms % 1000);
    if (adv->set_bw) {
        uint64_t mib = qmp_param_to_virsh(QP_MAX_BANDWIDTH, adv->bw_bps);
        add_line(out, "qm set VMID --migrate_speed %" PRIu64, mib);
        add_line(out,
                 "# or for every migration: /etc/pve/datacenter.cfg "
                 "bwlimit: migration=%" PRIu64 " (KiB/s)",
                 mib * 1024);
    } else {
        add_line(out, "# no --migrate_speed: %s", adv->bw_note);
    }
    if (qv_has_avail_switchover_bw(t->applied.qemu) &&
        t->applied.avail_switchover_bandwidth_bps) {
        add_line(out, "# Proxmox VE has no option for "
                      "avail-switchover-bandwidth (the plan uses it)");
    }
}

json_t *plan_layer_lines(const struct plan_result *r, enum plan_layer l)
{
    json_t *out = json_array();
    if (!r->advice.ok) {
        return out;
    }
    json_t *qmp, *virsh;
    size_t i;
    json_t *v;
    switch (l) {
    case PLAN_FOR_QEMU:
    case PLAN_FOR_LIBVIRT:
        plan_commands(r, &qmp, &virsh);
        if (l == PLAN_FOR_QEMU) {
            json_array_foreach(qmp, i, v)
            {
                char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
                add_line(out, "%s", s ? s : "");
                free(s);
            }
        } else {
            json_array_extend(out, virsh);
        }
        if (r->advice.knob != PLAN_KNOB_LIMIT) {
            add_line(out,
                     "# policy %s sets the downtime-limit itself: use "
                     "--for nova or --for kubevirt",
                     r->pol[r->top].policy);
        }
        json_decref(qmp);
        json_decref(virsh);
        break;
    case PLAN_FOR_NOVA:
        nova_lines(r, out);
        break;
    case PLAN_FOR_KUBEVIRT:
        kubevirt_lines(r, out);
        break;
    case PLAN_FOR_PROXMOX:
        proxmox_lines(r, out);
        break;
    case PLAN_FOR_COUNT:
        break;
    }
    return out;
}

/* A frontier row's outcome over its seeds. */
static const char *frontier_outcome(const struct plan_frontier_row *w)
{
    if (w->n_ok == 0 && w->outcome == RUN_CONVERGED) {
        return "over-budget"; /* converged after the time budget */
    }
    return w->n_ok == w->n_runs && w->n_runs
               ? "converged"
               : (w->n_ok ? "mixed" : run_outcome_name(w->outcome));
}

static json_t *frontier_json(const struct plan_policy *o, unsigned seeds)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < o->n_frontier; i++) {
        const struct plan_frontier_row *w = &o->frontier[i];
        json_t *e = json_object();
        json_object_set_new(e, "downtime_limit_ms",
                            json_integer(w->limit_ns / SIM_MS));
        const char *oc = frontier_outcome(w);
        json_object_set_new(e, "outcome", json_string(oc));
        json_object_set_new(e, "total_ms", j_num_or_null(w->total_ms));
        json_object_set_new(e, "downtime_ms", j_num_or_null(w->downtime_ms));
        if (seeds > 1) {
            json_object_set_new(e, "converged_runs", json_integer(w->n_ok));
            json_object_set_new(e, "runs", json_integer(w->n_runs));
        }
        json_object_set_new(e, "min", json_boolean(w->is_min));
        json_array_append_new(arr, e);
    }
    return arr;
}

static json_t *policies_json(const struct plan_result *r)
{
    json_t *pols = json_array();
    for (size_t i = 0; i < r->n_policies; i++) {
        const struct plan_policy *p = &r->pol[i];
        json_t *e = json_object();
        json_object_set_new(e, "policy", json_string(p->policy));
        if (p->error[0]) {
            json_object_set_new(e, "error", json_string(p->error));
            json_array_append_new(pols, e);
            continue;
        }
        json_object_set_new(e, "min_downtime_limit_ms",
                            p->found ? json_integer(p->min_limit_ns / SIM_MS)
                                     : json_null());
        json_object_set_new(e, "expected_downtime_ms",
                            p->found ? j_num_or_null(p->downtime_ms.mean)
                                     : json_null());
        json_object_set_new(e, "expected_total_ms",
                            p->found ? j_num_or_null(p->total_ms.mean)
                                     : json_null());
        json_object_set_new(e, "meets_budgets", json_boolean(p->meets));
        json_object_set_new(e, "monotone", json_boolean(p->monotone));
        if (p->found) {
            json_object_set_new(e, "exact_calls",
                                j_num_or_null(p->exact_calls.mean));
            json_object_set_new(e, "sync_time_ms",
                                j_num_or_null(p->sync_time_ms.mean));
            json_object_set_new(e, "max_throttle_pct",
                                j_num_or_null(p->max_throttle_pct.mean));
            json_object_set_new(e, "spin_ms", j_num_or_null(p->spin_ms.mean));
            json_object_set_new(e, "converged_seeds", json_integer(p->n_ok));
        }
        json_array_append_new(pols, e);
    }
    return pols;
}

/* The headline answer of policy t into o. */
static void answer_json(json_t *o, const struct plan_policy *t)
{
    json_object_set_new(o, "min_downtime_limit_ms",
                        t->found ? json_integer(t->min_limit_ns / SIM_MS)
                                 : json_null());
    json_object_set_new(o, "expected_downtime_ms",
                        t->found ? j_num_or_null(t->downtime_ms.mean)
                                 : json_null());
    json_object_set_new(o, "expected_total_ms",
                        t->found ? j_num_or_null(t->total_ms.mean)
                                 : json_null());
    json_object_set_new(o, "monotone", json_boolean(t->monotone));
    if (t->note[0]) {
        json_object_set_new(o, "monotone_note", json_string(t->note));
    }
    if (t->found) {
        json_object_set_new(o, "min_downtime_limit_per_seed_ms",
                            stat_json(&t->seed_limit_ms));
        json_object_set_new(o, "expected_downtime", stat_json(&t->downtime_ms));
        json_object_set_new(o, "expected_src_downtime",
                            stat_json(&t->src_downtime_ms));
        json_object_set_new(o, "expected_total", stat_json(&t->total_ms));
        json_object_set_new(o, "converged_seeds", json_integer(t->n_ok));
        json_t *ci = json_array();
        json_array_append_new(ci, json_real(t->p_lo));
        json_array_append_new(ci, json_real(t->p_hi));
        json_object_set_new(o, "convergence_ci95", ci);
    }
}

static json_t *bandwidth_json(const struct plan_result *r)
{
    json_t *bw = json_object();
    json_object_set_new(bw, "downtime_limit_ms",
                        json_integer(r->at_limit_ns / SIM_MS));
    json_object_set_new(
        bw, "max_bandwidth_bps",
        r->bw_found ? json_integer((json_int_t)r->max_bandwidth_needed_bps)
                    : json_null());
    if (r->bw_note[0]) {
        json_object_set_new(bw, "note", json_string(r->bw_note));
    }
    return bw;
}

/* The replay fit the advice rests on (a plan on a trace). */
static json_t *fit_json(const struct plan_basis *b)
{
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_boolean(b->fit_ok));
    json_object_set_new(o, "observed_verdict",
                        b->fit_obs_verdict[0] ? json_string(b->fit_obs_verdict)
                                              : json_null());
    json_object_set_new(o, "rerun_verdict",
                        b->fit_rerun_verdict[0]
                            ? json_string(b->fit_rerun_verdict)
                            : json_null());
    json_object_set_new(o, "observed_total_ms",
                        b->fit_obs_total_ns > 0
                            ? json_real((double)b->fit_obs_total_ns / 1e6)
                            : json_null());
    json_object_set_new(o, "rerun_total_ms",
                        b->fit_rerun_total_ns >= 0
                            ? json_real((double)b->fit_rerun_total_ns / 1e6)
                            : json_null());
    json_object_set_new(o, "total_error", j_num_or_null(b->fit_total_error));
    json_object_set_new(o, "total_compared",
                        json_boolean(b->fit_total_compared));
    json_object_set_new(o, "tolerance", json_real(b->fit_tolerance));
    json_object_set_new(
        o, "blame", b->fit_blame[0] ? json_string(b->fit_blame) : json_null());
    json_object_set_new(o, "calibration",
                        b->calibration[0] ? json_string(b->calibration)
                                          : json_null());
    json_object_set_new(o, "note", json_string(b->fit_note));
    return o;
}

/* A Nova or KubeVirt policy's own knobs as searched (plan_layers.c). */
static json_t *layer_knobs_json(const struct plan_layer_advice *k)
{
    json_t *o = json_object();
    json_object_set_new(o, "layer", json_string(k->nova ? "nova" : "kubevirt"));
    json_object_set_new(o, "searched", json_boolean(k->searched));
    if (k->nova) {
        json_object_set_new(o, "live_migration_downtime_steps",
                            json_integer(k->steps));
        json_object_set_new(o, "live_migration_downtime_delay",
                            json_integer(k->delay_s));
        json_object_set_new(o, "live_migration_completion_timeout",
                            json_integer(k->completion_s));
        json_object_set_new(o, "live_migration_timeout_action",
                            json_string(k->action));
        json_object_set_new(o, "data_gib", json_real(k->data_gib));
        json_object_set_new(o, "postcopy",
                            k->postcopy[0] ? json_string(k->postcopy)
                                           : json_null());
    } else {
        json_object_set_new(o, "completionTimeoutPerGiB",
                            json_integer(k->completion_s));
        json_object_set_new(o, "progressTimeout", json_integer(k->progress_s));
        json_object_set_new(o, "data_gb", json_real(k->data_gib));
        if (k->dynamic) {
            json_object_set_new(o, "dynamic_steps", json_integer(k->steps));
            json_object_set_new(o, "dynamic_cooldown_s",
                                json_integer(k->cooldown_s));
        } else {
            json_object_set_new(o, "downtime_limit_in_force_ms",
                                json_integer(k->at_limit_ms));
        }
    }
    json_object_set_new(o, "combinations", json_integer(k->combos));
    json_object_set_new(o, "converged_seeds", json_integer(k->n_ok));
    json_object_set_new(o, "seeds", json_integer(k->n_seeds));
    json_object_set_new(o, "expected_downtime_ms",
                        k->n_ok ? j_num_or_null(k->downtime_ms.mean)
                                : json_null());
    json_object_set_new(o, "expected_total_ms",
                        k->n_ok ? j_num_or_null(k->total_ms.mean)
                                : json_null());
    json_object_set_new(o, "how", json_string(k->how));
    return o;
}

static json_t *advice_json(const struct plan_result *r)
{
    const struct plan_advice *a = &r->advice;
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_boolean(a->ok));
    json_object_set_new(o, "refused",
                        a->ok ? json_null() : json_string(a->reason));
    json_object_set_new(o, "for", json_string(plan_layer_name(a->layer)));
    json_object_set_new(o, "knob", json_string(plan_knob_name(a->knob)));
    json_object_set_new(o, "safety_factor", json_real(a->safety));
    json_object_set_new(o, "value_ms",
                        a->value_ns ? json_integer(a->value_ns / SIM_MS)
                                    : json_null());
    json_object_set_new(o, "why", json_string(a->value_why));
    json_object_set_new(o, "converged_seeds", json_integer(a->n_ok));
    json_object_set_new(o, "seeds", json_integer(a->n_seeds));
    json_object_set_new(o, "expected_downtime_ms",
                        a->n_ok ? j_num_or_null(a->downtime_ms.mean)
                                : json_null());
    json_object_set_new(o, "expected_total_ms",
                        a->n_ok ? j_num_or_null(a->total_ms.mean)
                                : json_null());
    json_object_set_new(o, "max_bandwidth_bps",
                        a->set_bw ? json_integer((json_int_t)a->bw_bps)
                                  : json_null());
    json_object_set_new(o, "bandwidth_note", json_string(a->bw_note));
    json_object_set_new(o, "rests_on", json_string(a->rests_on));
    json_object_set_new(o, "uncertainty", json_string(a->uncertainty));
    if (r->basis.fit_checked) {
        json_object_set_new(o, "fit", fit_json(&r->basis));
    }
    if (a->lk.how[0]) {
        json_object_set_new(o, "layer_knobs", layer_knobs_json(&a->lk));
    }
    json_object_set_new(o, "lines", plan_layer_lines(r, a->layer));
    return o;
}

json_t *plan_result_json(const struct plan_result *r, const char *source,
                         int64_t saved_id)
{
    const struct plan_policy *t = &r->pol[r->top];
    json_t *o = json_object();
    json_object_set_new(o, "scenario", json_string(r->scn.name));
    json_object_set_new(o, "source", json_string(source));
    json_object_set_new(o, "qemu", json_string(scn_qemu_name(r->scn.qemu)));
    json_object_set_new(o, "ram_mode",
                        json_string(r->aggregate ? "aggregate" : "page"));
    json_object_set_new(o, "max_total_ms",
                        json_real((double)r->max_total_ns / 1e6));
    json_object_set_new(o, "max_downtime_ms",
                        json_real((double)r->max_downtime_ns / 1e6));
    json_object_set_new(o, "policy", json_string(t->policy));
    json_object_set_new(o, "recommended_policy",
                        r->best >= 0 ? json_string(r->pol[r->best].policy)
                                     : json_null());
    json_object_set_new(o, "meets_budgets", json_boolean(t->meets));
    json_object_set_new(o, "stochastic", json_boolean(r->stochastic));
    json_object_set_new(o, "seeds", json_integer(r->seeds));
    answer_json(o, t);
    json_object_set_new(o, "avail_switchover_bandwidth_bps",
                        json_real(r->avail_switchover_bps));
    json_object_set_new(o, "max_bandwidth_needed", bandwidth_json(r));
    json_object_set_new(o, "frontier", frontier_json(t, r->seeds));
    json_object_set_new(o, "policies", policies_json(r));
    json_object_set_new(o, "advice", advice_json(r));
    json_t *qmp, *virsh;
    plan_commands(r, &qmp, &virsh);
    json_t *cmd = json_object();
    json_object_set_new(cmd, "qmp", qmp);
    json_object_set_new(cmd, "virsh", virsh);
    for (unsigned l = PLAN_FOR_NOVA; l < PLAN_FOR_COUNT; l++) {
        json_object_set_new(cmd, plan_layer_name((enum plan_layer)l),
                            plan_layer_lines(r, (enum plan_layer)l));
    }
    json_object_set_new(o, "commands", cmd);
    if (saved_id > 0) {
        json_object_set_new(o, "run_id", json_integer(saved_id));
    }
    json_object_set_new(o, "simulations", json_integer((json_int_t)r->sims));
    return o;
}

static void print_head(FILE *f, const struct plan_result *r, const char *source)
{
    const struct plan_policy *t = &r->pol[r->top];
    char a[32], b[32], src[2048], name[512];
    fprintf(f, "plan: %s — %s  (QEMU %s model, %s RAM mode)\n",
            term_safe(source, src, sizeof(src)),
            r->scn.name[0] ? term_safe(r->scn.name, name, sizeof(name))
                           : "(unnamed)",
            scn_qemu_name(r->scn.qemu), r->aggregate ? "aggregate" : "page");
    fprintf(f, "budgets: total <= %s, downtime <= %s; policy %s",
            units_fmt_time(r->max_total_ns, a, sizeof(a)),
            units_fmt_time(r->max_downtime_ns, b, sizeof(b)), t->policy);
    if (r->stochastic) {
        fprintf(f, "; stochastic: %u seeds from %" PRIu64 "\n", r->seeds,
                r->scn.seed);
    } else {
        fprintf(f, "; deterministic (two seeds agree)\n");
    }
    fputc('\n', f);
}

static void print_answer(FILE *f, const struct plan_result *r)
{
    const struct plan_policy *t = &r->pol[r->top];
    char a[32], b[32], c[32], d[32];
    if (!t->found) {
        fprintf(f, "no %s up to 2000 s converges within %s%s\n",
                plan_knob_name(t->knob),
                units_fmt_time(r->max_total_ns, a, sizeof(a)),
                r->stochastic ? " for every seed" : "");
    } else {
        fprintf(f, "  smallest converging %-14s  %s", plan_knob_name(t->knob),
                units_fmt_time(t->min_limit_ns, a, sizeof(a)));
        if (r->seeds > 1) {
            fprintf(f, "  (per seed: mean %s, sd %s, %s .. %s)",
                    fmt_ms(t->seed_limit_ms.mean, a, sizeof(a)),
                    fmt_ms(t->seed_limit_ms.sd, b, sizeof(b)),
                    fmt_ms(t->seed_limit_ms.min, c, sizeof(c)),
                    fmt_ms(t->seed_limit_ms.max, d, sizeof(d)));
        }
        fputc('\n', f);
        fprintf(f, "  expected downtime with it           %s",
                fmt_ms(t->downtime_ms.mean, a, sizeof(a)));
        if (r->seeds > 1) {
            fprintf(f, "  (95%% CI %s .. %s, max %s)",
                    fmt_ms(t->downtime_ms.ci_lo, b, sizeof(b)),
                    fmt_ms(t->downtime_ms.ci_hi, c, sizeof(c)),
                    fmt_ms(t->downtime_ms.max, d, sizeof(d)));
        }
        fprintf(f,
                "  (guest-visible, device save/load included; "
                "query-migrate shows %s)\n",
                fmt_ms(t->src_downtime_ms.mean, a, sizeof(a)));
        fprintf(f, "  expected total time                 %s\n",
                fmt_ms(t->total_ms.mean, a, sizeof(a)));
        if (r->seeds > 1) {
            fprintf(f,
                    "  converging seeds at it              %u/%u (95%% CI "
                    "%.2f .. %.2f)\n",
                    t->n_ok, t->n_seeds, t->p_lo, t->p_hi);
        }
        fprintf(f, "  search                              %s\n",
                t->monotone ? "outcome monotone in the limit; bisected to "
                              "1 ms and checked above"
                            : t->note);
    }
}

static void print_budgets(FILE *f, const struct plan_result *r)
{
    const struct plan_policy *t = &r->pol[r->top];
    char a[32], b[32];
    fprintf(f, "  budgets                             %s",
            t->meets ? "met" : "NOT met");
    if (t->found && !t->meets) {
        if (t->n_ok < t->n_seeds) {
            fprintf(f, " (%u of %u seeds converge)", t->n_ok, t->n_seeds);
        } else {
            fprintf(f, " (downtime up to %s > %s)",
                    fmt_ms(t->downtime_ms.max, a, sizeof(a)),
                    units_fmt_time(r->max_downtime_ns, b, sizeof(b)));
        }
    }
    fputc('\n', f);
    fprintf(f,
            "  avail-switchover-bandwidth          %s  (real switchover "
            "throughput%s)\n",
            units_fmt_rate(r->avail_switchover_bps, a, sizeof(a)),
            qv_has_avail_switchover_bw(r->scn.qemu)
                ? ""
                : "; the parameter exists from 8.2");
    fprintf(f, "  max-bandwidth needed at %-10s  ",
            units_fmt_time(r->at_limit_ns, a, sizeof(a)));
    if (r->bw_found) {
        /* the least bandwidth it needs: a requirement, not a cap to set
         * (advising a cap at it would throttle the migration) */
        fprintf(
            f,
            "%s (the least it needs: a max-bandwidth below it does not "
            "converge; not a cap to set)%s%s\n",
            units_fmt_rate((double)r->max_bandwidth_needed_bps, b, sizeof(b)),
            r->bw_note[0] ? "; " : "", r->bw_note);
    } else {
        fprintf(f, "none: %s\n", r->bw_note);
    }
}

static void print_frontier(FILE *f, const struct plan_result *r)
{
    const struct plan_policy *t = &r->pol[r->top];
    char a[32], b[32], c[32];
    fprintf(f, "\nfrontier (policy %s):\n", t->policy);
    fprintf(f, "  %-12s %-12s %12s %12s%s\n", "limit", "outcome", "total",
            "downtime", r->seeds > 1 ? "   seeds ok" : "");
    for (size_t i = 0; i < t->n_frontier; i++) {
        const struct plan_frontier_row *w = &t->frontier[i];
        const char *oc = frontier_outcome(w);
        fprintf(f, "  %-12s %-12s %12s %12s",
                units_fmt_time(w->limit_ns, a, sizeof(a)), oc,
                fmt_ms(w->total_ms, b, sizeof(b)),
                fmt_ms(w->downtime_ms, c, sizeof(c)));
        if (r->seeds > 1) {
            fprintf(f, "   %u/%u", w->n_ok, w->n_runs);
        }
        fprintf(f, "%s\n", w->is_min ? "   <- smallest" : "");
    }
}

static void print_policies(FILE *f, const struct plan_result *r)
{
    char a[32], b[32], c[32], d[32];
    fprintf(f, "\npolicies (both budgets):\n");
    fprintf(f, "  %-34s %10s %10s %10s %6s %8s %9s %8s\n", "policy",
            "min limit", "downtime", "total", "meets", "exact()", "sync",
            "throttle");
    for (size_t i = 0; i < r->n_policies; i++) {
        const struct plan_policy *p = &r->pol[i];
        if (p->error[0]) {
            fprintf(f, "  %-34s not applicable: %s\n", p->policy, p->error);
            continue;
        }
        if (!p->found) {
            fprintf(f, "  %-34s %10s %10s %10s %6s\n", p->policy, "none", "-",
                    "-", "no");
            continue;
        }
        fprintf(f, "  %-34s %10s %10s %10s %6s %8.0f %9s %7.0f%%\n", p->policy,
                units_fmt_time(p->min_limit_ns, a, sizeof(a)),
                fmt_ms(p->downtime_ms.mean, b, sizeof(b)),
                fmt_ms(p->total_ms.mean, c, sizeof(c)), p->meets ? "yes" : "no",
                p->exact_calls.mean, fmt_ms(p->sync_time_ms.mean, d, sizeof(d)),
                p->max_throttle_pct.mean);
    }
    if (r->best < 0) {
        fprintf(f, "  (no policy meets both budgets)\n");
    }
}

static void print_advice(FILE *f, const struct plan_result *r)
{
    const struct plan_policy *t = &r->pol[r->top];
    const struct plan_advice *a = &r->advice;
    char b1[32], b2[32];
    fprintf(f, "\nadvice for %s (policy %s):\n", plan_layer_name(a->layer),
            t->policy);
    if (!a->ok) {
        fprintf(f, "  NOT GIVEN: %s\n", a->reason);
        fprintf(f, "  rests on     ");
        term_fputs(a->rests_on, f);
        fputc('\n', f);
        return;
    }
    if (a->layer == PLAN_FOR_KUBEVIRT && a->knob == PLAN_KNOB_LIMIT) {
        fprintf(f,
                "  set          the fields below (KubeVirt has no "
                "downtime-limit setting; the plan assumed %s)\n",
                units_fmt_time(a->value_ns, b1, sizeof(b1)));
    } else {
        fprintf(f, "  set          %s %s\n", plan_knob_name(a->knob),
                units_fmt_time(a->value_ns, b1, sizeof(b1)));
    }
    fprintf(f, "  margin       %s (--safety-factor, default %.2f)\n",
            a->value_why, PLAN_DEFAULT_SAFETY);
    fprintf(f,
            "  checked      %u/%u seeds converge at it: downtime %s, total "
            "%s\n",
            a->n_ok, a->n_seeds, fmt_ms(a->downtime_ms.mean, b1, sizeof(b1)),
            fmt_ms(a->total_ms.mean, b2, sizeof(b2)));
    fprintf(f, "  bandwidth    %s\n", a->bw_note);
    fprintf(f, "  rests on     ");
    term_fputs(a->rests_on, f);
    fputc('\n', f);
    fprintf(f, "  uncertainty  %s\n", a->uncertainty);
    json_t *lines = plan_layer_lines(r, a->layer);
    size_t i;
    json_t *v;
    json_array_foreach(lines, i, v)
    {
        fprintf(f, "  %s\n", json_string_value(v));
    }
    json_decref(lines);
    if (needs_patched_qemu(t->policy)) {
        fprintf(f,
                "  # %s changes how QEMU reports pending data: it "
                "needs a QEMU with that change;\n  # the commands "
                "above only set the parameters\n",
                t->policy);
    }
}

void plan_result_print(FILE *f, const struct plan_result *r, const char *source,
                       int64_t saved_id)
{
    print_head(f, r, source);
    print_answer(f, r);
    print_budgets(f, r);
    print_frontier(f, r);
    print_policies(f, r);
    print_advice(f, r);
    if (saved_id > 0) {
        fprintf(f, "\nrun at the answer stored as #%" PRId64 "\n", saved_id);
    }
    fprintf(f, "\n(%" PRIu64 " simulations, %.2f s)\n", r->sims, r->wall_s);
}
