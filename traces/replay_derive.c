/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/replay_derive.c — what a counterfactual needs from a replayed
 * migration (contract in traces/replay.h): the trace-derived inputs, the
 * scenario that reproduces them, and the simulation of that scenario
 * under another policy.
 */
#include "traces/replay.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/mig.h"
#include "run/scenario.h"

#define SEC 1000000000LL

/* Used by counterfactual runs when the trace shows no bandwidth. */
#define ASSUMED_LINK_BPS (10e9 / 8)

/* ---- derived inputs ---- */

static int series_copy(struct tl_series *dst, const struct tl_series *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->cap = src->cap ? src->cap : TL_DEFAULT_SAMPLES;
    for (size_t i = 0; i < src->n; i++) {
        if (tl_series_push(dst, src->t_ns[i], src->v[i]) < 0) {
            return -1;
        }
    }
    return 0;
}

int trc_derive_inputs(const struct run_result *run, const struct tl_info *in,
                      struct trc_derived_inputs *di)
{
    memset(di, 0, sizeof(*di));
    const struct run_metrics *m = &run->m;
    di->qemu = in->qemu_model;
    char v1[16], v2[16];
    if (in->qemu_lo == in->qemu_hi) {
        snprintf(di->qemu_guess, sizeof(di->qemu_guess), "%s (%.150s)",
                 tl_qemu_name(in->qemu_lo, v1, 16), in->qemu_why);
    } else {
        snprintf(di->qemu_guess, sizeof(di->qemu_guess), "%s-%s (%.140s)",
                 tl_qemu_name(in->qemu_lo, v1, 16),
                 tl_qemu_name(in->qemu_hi, v2, 16), in->qemu_why);
    }
    di->bandwidth_bps = in->bw_peak_bps;
    di->bandwidth_assumed_bps = ASSUMED_LINK_BPS;
    di->downtime_limit_ns = m->downtime_limit_ns;
    di->downtime_limit_inferred = in->limit_inferred;
    di->avail_switchover_bps = in->avail_switchover_bps;
    if (series_copy(&di->ram_dirty_rate, &in->dirty_rate) < 0) {
        return -1;
    }
    di->ram_dirty_rate_mean_bps = in->dirty_rate_mean_bps;
    di->ram_pending_bytes = in->ram_pending_last;
    if (run->n_samples) {
        di->ram_pending_bytes = run->samples[0].ram_dirty_bytes;
    }
    di->ram_total_bytes = in->ram_total_bytes;
    di->page_bytes = in->page_bytes ? in->page_bytes : 4096;
    for (unsigned i = 0; i < in->n_devices && di->n_devices < RUN_MAX_DEVICES;
         i++) {
        struct trc_dev_input *d = &di->dev[di->n_devices++];
        snprintf(d->name, sizeof(d->name), "%s", in->dev[i].name);
        d->precopy = in->dev[i].precopy;
        d->stop_copy_bytes = in->dev[i].stop_copy_last;
        if (series_copy(&d->stop_copy, &in->dev_stop_copy[i]) < 0) {
            return -1;
        }
        d->save_ns = m->devices[i].save_ns;
        d->load_ns = m->devices[i].load_ns;
    }
    if (tl_info_stop_copy_bytes(in) == 0 && in->nonram_exact.n &&
        di->n_devices < RUN_MAX_DEVICES) {
        struct trc_dev_input *d = &di->dev[di->n_devices++];
        snprintf(d->name, sizeof(d->name), "exact-only");
        d->inferred = true;
        d->stop_copy_bytes = in->nonram_exact_last;
        if (series_copy(&d->stop_copy, &in->nonram_exact) < 0) {
            return -1;
        }
    }
    if (m->bitmap_syncs && m->sync_time_ns > 0) {
        di->sync_cost_ns = m->sync_time_ns / (int64_t)m->bitmap_syncs;
    }
    di->duration_ns = in->span_ns > 0 ? in->span_ns : m->total_ns;
    return 0;
}

void trc_derived_free(struct trc_derived_inputs *di)
{
    tl_series_free(&di->ram_dirty_rate);
    for (unsigned i = 0; i < di->n_devices; i++) {
        tl_series_free(&di->dev[i].stop_copy);
    }
    memset(di, 0, sizeof(*di));
}

/* ---- scenario and counterfactual runs ---- */

static json_t *jrate(double bps)
{
    char b[48];
    snprintf(b, sizeof(b), "%.0fB/s", bps > 0 ? bps : 0);
    return json_string(b);
}

static json_t *jtime(int64_t ns)
{
    char b[48];
    snprintf(b, sizeof(b), "%lldns", (long long)(ns > 0 ? ns : 0));
    return json_string(b);
}

/* The scenario's "vm": RAM enough to hold what was pending, rounded up
 * to a GiB; returns that RAM size. */
static uint64_t scenario_vm(json_t *vm, const struct trc_derived_inputs *di)
{
    uint64_t gib = (uint64_t)1 << 30;
    uint64_t ram = di->ram_total_bytes;
    if (!ram) {
        ram = 4 * gib;
        while (ram < 2 * di->ram_pending_bytes && ram < ((uint64_t)1 << 40)) {
            ram *= 2;
        }
    }
    ram = (ram + gib - 1) / gib * gib;
    json_object_set_new(vm, "ram", json_integer((json_int_t)ram));
    json_object_set_new(vm, "page_size",
                        json_integer((json_int_t)di->page_bytes));
    return ram;
}

/* The scenario's "workload": the measured dirty rate, phased when it
 * changed. */
static void scenario_workload(json_t *wl, const struct trc_derived_inputs *di,
                              uint64_t ram)
{
    uint64_t ws = ram / 4;
    if (di->ram_pending_bytes > ws && di->ram_pending_bytes <= ram) {
        ws = di->ram_pending_bytes;
    }
    ws = ws / di->page_bytes * di->page_bytes;
    json_object_set_new(wl, "working_set", json_integer((json_int_t)ws));
    const struct tl_series *dr = &di->ram_dirty_rate;
    if (dr->n >= 2) {
        /* phased: the measured rate per period (at most the phase limit,
         * evenly picked) */
        json_t *ph = json_array();
        size_t n = dr->n < RAM_MAX_PHASES ? dr->n : RAM_MAX_PHASES;
        int64_t t0 = dr->t_ns[0];
        int64_t prev = -1;
        for (size_t k = 0; k < n; k++) {
            size_t i = k * dr->n / n;
            int64_t at = k == 0 ? 0 : dr->t_ns[i] - t0;
            if (at <= prev) {
                continue;
            }
            prev = at;
            json_t *e = json_object();
            json_object_set_new(e, "at", jtime(at));
            json_object_set_new(e, "dirty_rate", jrate(dr->v[i]));
            json_array_append_new(ph, e);
        }
        json_object_set_new(wl, "kind", json_string("phased"));
        json_object_set_new(wl, "phases", ph);
    } else {
        json_object_set_new(wl, "kind", json_string("uniform"));
        json_object_set_new(
            wl, "dirty_rate",
            jrate(dr->n ? dr->v[0] : di->ram_dirty_rate_mean_bps));
    }
}

static void scenario_migration(json_t *mig, const struct trc_derived_inputs *di)
{
    double bw =
        di->bandwidth_bps > 0 ? di->bandwidth_bps : di->bandwidth_assumed_bps;
    json_object_set_new(mig, "downtime_limit", jtime(di->downtime_limit_ns));
    json_object_set_new(mig, "max_bandwidth", jrate(bw));
    json_object_set_new(mig, "link_bandwidth", jrate(bw));
    if (di->avail_switchover_bps) {
        json_object_set_new(mig, "avail_switchover_bandwidth",
                            jrate((double)di->avail_switchover_bps));
    }
    int64_t tl = di->duration_ns < 900 * SEC ? 4 * di->duration_ns : 3600 * SEC;
    if (tl < 60 * SEC) {
        tl = 60 * SEC;
    }
    if (tl > 3600 * SEC) {
        tl = 3600 * SEC;
    }
    json_object_set_new(mig, "time_limit", jtime(tl));
    if (di->sync_cost_ns > 0) {
        json_object_set_new(mig, "sync_cost", jtime(di->sync_cost_ns));
        json_object_set_new(mig, "sync_cost_per_gib", jtime(0));
    }
}

/* One device with its stop-copy schedule. */
static json_t *scenario_device(const struct trc_dev_input *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(d->name));
    json_object_set_new(o, "kind", json_string("vfio"));
    json_object_set_new(o, "stop_copy_size",
                        json_integer((json_int_t)d->stop_copy_bytes));
    json_object_set_new(o, "precopy", json_boolean(d->precopy));
    if (d->save_ns > 0) {
        json_object_set_new(o, "save_time", jtime(d->save_ns));
    }
    if (d->load_ns > 0) {
        json_object_set_new(o, "load_time", jtime(d->load_ns));
    }
    const struct tl_series *s = &d->stop_copy;
    if (s->n >= 2) {
        json_t *sch = json_array();
        size_t n = s->n < SCN_MAX_SCHEDULE ? s->n : SCN_MAX_SCHEDULE;
        int64_t t0 = s->t_ns[0] >= 0 ? s->t_ns[0] : 0;
        int64_t prev = -1;
        for (size_t k = 0; k < n; k++) {
            size_t j = k * s->n / n;
            int64_t at = s->t_ns[j] >= t0 ? s->t_ns[j] - t0 : 0;
            if (at <= prev) {
                continue;
            }
            prev = at;
            json_t *e = json_object();
            json_object_set_new(e, "at", jtime(at));
            json_object_set_new(e, "size", json_integer((json_int_t)s->v[j]));
            json_array_append_new(sch, e);
        }
        json_object_set_new(o, "stop_copy_schedule", sch);
    }
    return o;
}

char *trc_scenario_json(const struct trc_derived_inputs *di)
{
    char v[16];
    json_t *root = json_object();
    json_t *vm = json_object();
    json_t *wl = json_object();
    json_t *mig = json_object();
    json_t *devs = json_array();
    if (!root || !vm || !wl || !mig || !devs) {
        json_decref(root);
        json_decref(vm);
        json_decref(wl);
        json_decref(mig);
        json_decref(devs);
        return NULL;
    }
    json_object_set_new(root, "name",
                        json_string("derived from a replayed "
                                    "trace"));
    json_object_set_new(root, "qemu",
                        json_string(tl_qemu_name(di->qemu, v, sizeof(v))));
    json_object_set_new(root, "seed", json_integer(1));

    uint64_t ram = scenario_vm(vm, di);
    json_object_set_new(root, "vm", vm);
    scenario_workload(wl, di, ram);
    json_object_set_new(root, "workload", wl);
    scenario_migration(mig, di);
    json_object_set_new(root, "migration", mig);
    for (unsigned i = 0; i < di->n_devices; i++) {
        json_array_append_new(devs, scenario_device(&di->dev[i]));
    }
    json_object_set_new(root, "devices", devs);
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return s;
}

int trc_counterfactual(const struct trc_derived_inputs *di, const char *policy,
                       struct run_result *out, char *err, size_t errlen)
{
    char *js = trc_scenario_json(di);
    if (!js) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char e2[256];
    struct scn_doc *doc = scn_doc_parse(js, "derived scenario", e2, sizeof(e2));
    free(js);
    if (!doc) {
        snprintf(err, errlen, "derived scenario rejected: %s", e2);
        return -1;
    }
    struct scenario s;
    if (scn_resolve(doc, &s, e2, sizeof(e2)) < 0) {
        scn_doc_free(doc);
        snprintf(err, errlen, "derived scenario rejected: %s", e2);
        return -1;
    }
    scn_doc_free(doc);
    struct mig_options mo;
    mig_options_default(&mo);
    mo.max_samples = TL_DEFAULT_SAMPLES;
    if (mig_simulate(&s, policy, &mo, out, e2, sizeof(e2)) < 0) {
        snprintf(err, errlen, "policy '%s': %s", policy, e2);
        return -1;
    }
    return 0;
}
