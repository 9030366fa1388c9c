/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * live/lab_validate.c — real lab migrations against the qemu model
 * (contract in live/lab_validate.h).
 */
#include "live/lab_validate.h"
#include "base/err.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/units.h"
#include "model/mig.h"
#include "plan/plan.h"
#include "run/scenario.h"
#include "store/db.h"
#include "traces/replay.h"

#define MS ((int64_t)1000000)

void lab_validate_opts_default(struct lab_validate_opts *o)
{
    memset(o, 0, sizeof(*o));
    lab_cfg_default(&o->cfg);
    live_opts_default(&o->lo);
    o->nws = 2;
    o->nrate = 2;
    o->nbw = 1;
    o->ndl = 1;
    o->ws[0] = (uint64_t)32 << 20;
    o->ws[1] = (uint64_t)64 << 20;
    o->rate[0] = (uint64_t)8 << 20;
    o->rate[1] = (uint64_t)64 << 20;
    o->bw[0] = (uint64_t)16 << 20;
    o->dl[0] = 300 * MS;
    o->cfg.time_limit_ns = 30 * (int64_t)1000000000;
    o->calibrate = true;
}

void lab_validate_result_free(struct lab_validate_result *r)
{
    for (size_t i = 0; r->model_json && i < r->n_planned; i++) {
        free(r->model_json[i]);
    }
    free(r->model_json);
    free(r->fit_rows);
    free(r->rows);
    json_decref(r->json_rows);
    memset(r, 0, sizeof(*r));
}

void lab_diagnosis(const struct lab_result *r, char *buf, size_t n)
{
    char *fq = r->s.final ? json_dumps(r->s.final, JSON_COMPACT) : NULL;
    snprintf(buf, n,
             "lab run: QEMU %s (%s), accelerator %s; guest write rate %.0f "
             "B/s before the migration, %.0f "
             "B/s during it; %s; trace %s (%" PRIu64 " syncs, %" PRId64
             " ns in syncs); zero fraction %.4f; scenario %s; final "
             "query-migrate %s",
             r->s.qemu_version, r->qemu_bin, r->accel_note, r->guest_rate_bps,
             r->mig_rate_bps,
             r->dest_note[0] ? r->dest_note : "no destination check",
             r->trace_path[0] ? r->trace_path : "(temporary, removed)",
             r->trace_syncs, r->trace_sync_ns, r->zero_fraction,
             r->scenario_json ? r->scenario_json : "-", fq ? fq : "-");
    free(fq);
}

static void warn(const struct lab_validate_opts *o, const char *msg)
{
    if (o->warn) {
        o->warn(msg);
    } else {
        fprintf(stderr, "migsim: warning: %s\n", msg);
    }
}

/* The migration thread's time per data page (4 KiB and its header) at
 * the best window's rate: its ceiling while the guest runs.  The downtime
 * phase, VM stopped, is not bound by it (the link is; here the default):
 * before, this rate was given as the link and put 10-15 ms of RAM into
 * every predicted downtime that really took 3-10 ms. */
static int64_t sender_page_ns(uint64_t best_bps)
{
    return best_bps ? (int64_t)llround((4096.0 + 8.0) * 1e9 / (double)best_bps)
                    : 0;
}

/* The calibration run's VM stop and non-iterable save from its trace, as
 * replay derives them (7.2: the switchover to migration_completion_vm_stop
 * and migrate_global_state_pre_save to completed; 10.0: the downtime
 * checkpoints): the model's 5 ms + 1 ms/vCPU and 5 ms defaults describe a
 * bigger guest than the lab's (0.2-0.6 ms each here). */
static void downtime_parts(const char *trace, struct lab_validate_result *res)
{
    struct trc_replay_options ro;
    memset(&ro, 0, sizeof(ro));
    const char *files[1] = {trace};
    struct trc_replay r;
    char e[512];
    if (trc_replay_run(files, 1, &ro, &r, e, sizeof(e)) < 0) {
        return;
    }
    res->stop_ns = r.inputs.vm_stop_ns;
    res->save_ns = r.inputs.non_iterable_save_ns;
    if (r.inputs.sync_cost_ns > 0) {
        /* the median: under TCG the first sync after the bulk pass takes
         * 4-12 ms, the others 0.03-0.3 ms, and the mean made every
         * predicted downtime's final sync milliseconds long */
        res->sync_ns = r.inputs.sync_cost_ns;
        res->sync_median = true;
    }
    trc_replay_free(&r);
}

/* Calibration: bulk throughput of the migration thread on loopback and the
 * cost of one dirty-bitmap sync under TCG. */
static int calibrate(const struct lab_validate_opts *o,
                     struct lab_validate_result *res, char *err, size_t errlen)
{
    struct lab_cfg k = o->cfg;
    k.working_set_bytes = o->cfg.ram_bytes / 2;
    k.dirty_rate_bps = (uint64_t)64 << 10;
    k.set_max_bandwidth = true;
    k.max_bandwidth_bps = 0;
    k.downtime_limit_ns = 0;
    if (o->lo.progress) {
        fprintf(o->lo.progress,
                "calibration run: %" PRIu64 " MiB "
                "working set, unlimited bandwidth\n",
                k.working_set_bytes >> 20);
    }
    struct live_opts lo = o->lo;
    lo.db = NULL;
    struct lab_result r;
    char e[1024];
    char tp[] = "/tmp/migsim-lab-cal.XXXXXX";
    int fd = mkstemp(tp);
    if (fd >= 0) {
        close(fd);
        k.trace_path = tp;
    }
    res->stop_ns = res->save_ns = -1;
    if (lab_run(&k, &lo, &r, e, sizeof(e)) != 0) {
        err_set(err, errlen, "calibration: %s", e);
        lab_result_free(&r);
        if (fd >= 0) {
            unlink(tp);
        }
        return -1;
    }
    live_session_close(&r.s, NULL, NULL, 0);
    if (r.trace_syncs) {
        res->sync_ns = r.trace_sync_ns / (int64_t)r.trace_syncs;
    }
    if (fd >= 0) {
        downtime_parts(tp, res);
        unlink(tp);
    }
    for (size_t i = 0; i < r.s.res.n_samples; i++) {
        double b = r.s.res.samples[i].bandwidth_bps;
        if (b > (double)res->link_bps) {
            res->link_bps = (uint64_t)b;
        }
    }
    /* the setup the model would otherwise take as 20 ms (TCG here: 2-4) */
    res->setup_ns = r.s.res.m.setup_ns > 0 ? r.s.res.m.setup_ns : 0;
    bool ok = r.s.end == LIVE_END_OUTCOME &&
              r.s.res.m.outcome == RUN_CONVERGED && res->link_bps > 0;
    lab_result_free(&r);
    if (!ok) {
        err_set(err, errlen, "calibration migration did not complete");
        return -1;
    }
    char lb[24], sc[24], pc[24], su[24], st[24], sv[24];
    snprintf(res->calib, sizeof(res->calib),
             "calibration: sender ceiling %s (best 100 ms window, unlimited "
             "run: migration.sender_page_cost %s), sync cost %s (%s its "
             "syncs), setup %s (its setup-time), VM stop %s and "
             "non-iterable save %s (its trace)",
             units_fmt_rate((double)res->link_bps, lb, sizeof(lb)),
             units_fmt_time(sender_page_ns(res->link_bps), pc, sizeof(pc)),
             units_fmt_time(res->sync_ns, sc, sizeof(sc)),
             res->sync_median ? "median of" : "mean over",
             units_fmt_time(res->setup_ns, su, sizeof(su)),
             res->stop_ns >= 0 ? units_fmt_time(res->stop_ns, st, sizeof(st))
                               : "not traced",
             res->save_ns >= 0 ? units_fmt_time(res->save_ns, sv, sizeof(sv))
                               : "not traced");
    if (o->lo.progress) {
        fprintf(o->lo.progress, "%s\n", res->calib);
    }
    return 0;
}

/* The grid's cells, first axis slowest. */
static int expand_grid(const struct lab_validate_opts *o,
                       struct lab_validate_result *res)
{
    const size_t dims[4] = {o->nws, o->nrate, o->nbw, o->ndl};
    size_t n = o->nws * o->nrate * o->nbw * o->ndl;
    res->rows = calloc(n ? n : 1, sizeof(*res->rows));
    if (!res->rows) {
        return -1;
    }
    res->n_planned = n;
    for (size_t k = 0; k < n; k++) {
        size_t c[4];
        plan_cross_coords(dims, 4, k, c);
        struct lab_validate_row *v = &res->rows[k];
        v->ws = o->ws[c[0]];
        v->rate = o->rate[c[1]];
        v->bw = o->bw[c[2]];
        v->dl = o->dl[c[3]];
        v->fit = (c[0] + c[1] + c[2] + c[3]) % 2 == 0;
    }
    return 0;
}

/* The lab's scenario with the measured guest rate and zero fraction, plus
 * the calibration: a document, or NULL with a message. */
static struct scn_doc *model_doc(const struct lab_validate_result *res,
                                 const struct lab_cfg *g,
                                 const struct lab_result *r, double rate,
                                 char *err, size_t errlen)
{
    char *sj = lab_scenario_json(g, r->s.res.m.qemu, rate, r->zero_fraction);
    struct scn_doc *doc =
        sj ? scn_doc_parse(sj, "lab validate", err, errlen) : NULL;
    free(sj);
    char set[128];
    int sr = doc ? 0 : -1;
    if (doc && res->link_bps) {
        snprintf(set, sizeof(set), "migration.sender_page_cost=%" PRId64 "ns",
                 sender_page_ns(res->link_bps));
        sr = scn_doc_set(doc, set, err, errlen);
    }
    if (doc && sr == 0 && res->sync_ns > 0) {
        snprintf(set, sizeof(set), "migration.sync_cost=%" PRId64 "ns",
                 res->sync_ns);
        sr = scn_doc_set(doc, set, err, errlen);
        if (sr == 0) {
            sr = scn_doc_set(doc, "migration.sync_cost_per_gib=0ns", err,
                             errlen);
        }
    }
    if (doc && sr == 0 && res->stop_ns >= 0) {
        snprintf(set, sizeof(set), "vm.stop_cost=%" PRId64 "ns", res->stop_ns);
        sr = scn_doc_set(doc, set, err, errlen);
        if (sr == 0) {
            sr = scn_doc_set(doc, "vm.stop_cost_per_vcpu=0ns", err, errlen);
        }
    }
    if (doc && sr == 0 && res->save_ns >= 0) {
        snprintf(set, sizeof(set), "vm.non_iterable_save_time=%" PRId64 "ns",
                 res->save_ns);
        sr = scn_doc_set(doc, set, err, errlen);
    }
    if (doc && sr == 0 && res->setup_ns > 0) {
        snprintf(set, sizeof(set), "migration.setup_time=%" PRId64 "ns",
                 res->setup_ns);
        sr = scn_doc_set(doc, set, err, errlen);
    }
    if (sr != 0) {
        scn_doc_free(doc);
        return NULL;
    }
    return doc;
}

/* Store the simulated run; its id in v->sim_id. */
static void save_sim(const struct lab_validate_opts *o, struct scn_doc *doc,
                     const struct scenario *sc, const struct run_result *sim,
                     struct lab_validate_row *v)
{
    struct db_run_meta meta;
    char *dj = scn_doc_json(doc);
    char src[64], err[1024];
    snprintf(src, sizeof(src), "lab validate (real run %lld)", v->real_id);
    db_run_meta_build(&meta, &(struct db_run_origin){
                                 .kind = DB_KIND_SIM,
                                 .scenario_json = dj,
                                 .source_path = src,
                                 .qemu = scn_qemu_name(sc->qemu),
                                 .policy = "qemu",
                                 .seed = sc->seed,
                                 .command_line = o->lo.command_line,
                                 .fingerprint = sim->m.fingerprint,
                             });
    int64_t id = 0;
    if (db_run_save(o->lo.db, &meta, sim, &id, err, sizeof(err)) == 0) {
        v->sim_id = id;
    } else {
        char msg[1100];
        snprintf(msg, sizeof(msg), "store: %s", err);
        warn(o, msg);
    }
    free(dj);
}

/* Simulate the real run r of row v with the qemu model. */
static void simulate_row(const struct lab_validate_opts *o,
                         const struct lab_validate_result *res,
                         const struct lab_cfg *g, const struct lab_result *r,
                         struct lab_validate_row *v)
{
    char err[1024] = "";
    struct scn_doc *doc = model_doc(res, g, r, v->guest_rate, err, sizeof(err));
    struct scenario sc;
    struct run_result sim;
    run_result_init(&sim);
    struct mig_options mo;
    mig_options_default(&mo);
    if (doc && scn_resolve(doc, &sc, err, sizeof(err)) == 0 &&
        mig_simulate(&sc, "qemu", &mo, &sim, err, sizeof(err)) == 0) {
        v->ran = true;
        v->pred = sim.m.outcome;
        v->pred_syncs = sim.m.bitmap_syncs;
        v->pred_total = sim.m.total_ns;
        v->pred_down = sim.m.src_downtime_ns;
        if (o->lo.db) {
            save_sim(o, doc, &sc, &sim, v);
        }
    } else {
        snprintf(v->error, sizeof(v->error), "simulation: %.230s", err);
    }
    run_result_free(&sim);
    scn_doc_free(doc);
}

static json_t *row_json(const struct lab_validate_row *v)
{
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:f, s:s, s:s, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:o, s:o}",
        "working_set", (json_int_t)v->ws, "dirty_rate", (json_int_t)v->rate,
        "max_bandwidth", (json_int_t)v->bw, "downtime_limit_ns",
        (json_int_t)v->dl, "guest_rate_bps", v->guest_rate, "real_outcome",
        run_outcome_name(v->real), "sim_outcome",
        v->ran ? run_outcome_name(v->pred) : "error", "real_syncs",
        (json_int_t)v->real_syncs, "sim_syncs", (json_int_t)v->pred_syncs,
        "real_total_ns", (json_int_t)v->real_total, "sim_total_ns",
        (json_int_t)v->pred_total, "real_downtime_ns", (json_int_t)v->real_down,
        "sim_downtime_ns", (json_int_t)v->pred_down, "real_run",
        v->real_id ? json_integer(v->real_id) : json_null(), "sim_run",
        v->sim_id ? json_integer(v->sim_id) : json_null());
}

/* One cell: the real run, then its simulation.  false if the real run
 * failed or ended early (v->error says why). */
static bool run_row(const struct lab_validate_opts *o,
                    struct lab_validate_result *res, size_t k)
{
    struct lab_validate_row *v = &res->rows[k];
    struct lab_cfg g = o->cfg;
    g.working_set_bytes = v->ws;
    g.dirty_rate_bps = v->rate;
    g.set_max_bandwidth = true;
    g.max_bandwidth_bps = v->bw;
    g.downtime_limit_ns = v->dl;
    if (o->lo.progress) {
        fprintf(o->lo.progress,
                "\n== run %zu of %zu: working set %" PRIu64
                " MiB, rate %" PRIu64 " B/s, "
                "max-bandwidth %" PRIu64 " B/s, "
                "downtime-limit %" PRId64 " ms\n",
                k + 1, res->n_planned, v->ws >> 20, v->rate, v->bw, v->dl / MS);
    }
    char tpath[512];
    lab_fit_trace_path(res, k, tpath, sizeof(tpath));
    if (tpath[0]) {
        g.trace_path = tpath; /* --calibrate keeps it */
    }
    struct lab_result r;
    char err[1024];
    if (lab_run(&g, &o->lo, &r, err, sizeof(err)) != 0) {
        snprintf(v->error, sizeof(v->error), "%.250s", err);
        lab_result_free(&r);
        return false;
    }
    char diag[8192];
    lab_diagnosis(&r, diag, sizeof(diag));
    live_session_close(&r.s, diag, NULL, 0);
    /* Simulate the workload the guest really ran: its mean write rate
     * during the migration (TCG shares the CPUs with the migration thread
     * and whatever else runs), else the rate before it. */
    v->guest_rate = r.mig_rate_bps > 0 ? r.mig_rate_bps : r.guest_rate_bps;
    v->real_id = r.s.run_id;
    if (r.s.end != LIVE_END_OUTCOME) {
        snprintf(v->error, sizeof(v->error), "%.250s", r.s.error);
        lab_result_free(&r);
        return false;
    }
    const struct run_metrics *m = &r.s.res.m;
    v->real = m->outcome;
    v->real_syncs = m->bitmap_syncs;
    v->real_total = m->total_ns;
    v->real_down = m->src_downtime_ns;
    simulate_row(o, res, &g, &r, v);
    if (res->model_json) { /* --calibrate re-simulates from it, without
                              the link / sync / setup measurement above (the
                              fitted calibration sets those) */
        char e2[256];
        struct lab_validate_result bare = *res;
        bare.link_bps = 0;
        bare.sync_ns = 0;
        bare.setup_ns = 0;
        bare.stop_ns = bare.save_ns = -1;
        struct scn_doc *md =
            model_doc(&bare, &g, &r, v->guest_rate, e2, sizeof(e2));
        res->model_json[k] = md ? scn_doc_json(md) : NULL;
        scn_doc_free(md);
    }
    json_array_append_new(res->json_rows, row_json(v));
    lab_result_free(&r);
    return true;
}

static bool is_conv(enum run_outcome o)
{
    return o == RUN_CONVERGED;
}

int lab_validate(const struct lab_validate_opts *o,
                 struct lab_validate_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->stop_ns = r->save_ns = -1;
    snprintf(r->calib, sizeof(r->calib),
             "calibration: none (scenario defaults for link "
             "bandwidth and sync cost)");
    r->json_rows = json_array();
    if (o->calibrate && calibrate(o, r, err, errlen) != 0) {
        return -1;
    }
    if (!r->json_rows || expand_grid(o, r) != 0) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    if (o->fit_half) {
        r->model_json = calloc(r->n_planned ? r->n_planned : 1, sizeof(char *));
        char tmpl[] = "/tmp/migsim-lab-fit.XXXXXX";
        if (!r->model_json || !mkdtemp(tmpl)) {
            err_set(err, errlen, "--calibrate: no work folder");
            return -1;
        }
        snprintf(r->fit_dir, sizeof(r->fit_dir), "%s", tmpl);
    }
    size_t k;
    for (k = 0; k < r->n_planned && !(o->lo.stop && *o->lo.stop); k++) {
        if (!run_row(o, r, k)) {
            r->run_failed = true;
        }
    }
    r->n_rows = k;
    r->interrupted = o->lo.stop && *o->lo.stop;
    for (size_t i = 0; i < r->n_rows; i++) {
        const struct lab_validate_row *v = &r->rows[i];
        if (v->ran && is_conv(v->real) != is_conv(v->pred)) {
            r->disagree = true;
        }
    }
    if (o->fit_half && !r->interrupted) {
        return lab_fit_half(o, r, err, errlen);
    }
    return 0;
}

static double rel_err(int64_t pred, int64_t real)
{
    return real > 0 ? ((double)pred - (double)real) / (double)real * 100.0
                    : NAN;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void lab_validate_print(FILE *f, const struct lab_validate_result *res,
                        bool markdown)
{
    const struct lab_validate_row *rows = res->rows;
    size_t n = res->n_rows;
    const char *calib = res->calib;
    if (markdown) {
        fprintf(f, "| working set | rate asked | rate real | max-bandwidth | "
                   "downtime-limit | outcome real / sim | syncs real / sim | "
                   "total real / sim (err) | downtime real / sim (err) |\n"
                   "|---|---|---|---|---|---|---|---|---|\n");
    } else {
        fprintf(f, "%-10s %-10s %-10s %-10s %-7s %-22s %-8s %-26s %s\n", "ws",
                "rate", "real rate", "bw", "limit", "outcome real / sim",
                "syncs", "total real / sim (err)", "downtime real / sim (err)");
    }
    for (size_t i = 0; i < n; i++) {
        const struct lab_validate_row *r = &rows[i];
        char ws[24], rate[24], grate[24], bw[24], dl[24], a[24], b[24], c[24],
            d[24];
        snprintf(ws, sizeof(ws), "%.0f MiB", (double)r->ws / 1048576.0);
        snprintf(rate, sizeof(rate), "%.1f MiB/s", (double)r->rate / 1048576.0);
        snprintf(grate, sizeof(grate), "%.2f MiB/s", r->guest_rate / 1048576.0);
        snprintf(bw, sizeof(bw), "%.1f MiB/s", (double)r->bw / 1048576.0);
        units_fmt_time(r->dl, dl, sizeof(dl));
        char oc[48], sy[32], tt[64], dt[64];
        if (!r->ran) {
            snprintf(oc, sizeof(oc), "error");
            sy[0] = tt[0] = dt[0] = '\0';
        } else {
            snprintf(oc, sizeof(oc), "%s / %s%s", run_outcome_name(r->real),
                     run_outcome_name(r->pred),
                     is_conv(r->real) == is_conv(r->pred) ? "" : " !!");
            snprintf(sy, sizeof(sy), "%" PRIu64 " / %" PRIu64, r->real_syncs,
                     r->pred_syncs);
            units_fmt_time(r->real_total, a, sizeof(a));
            units_fmt_time(r->pred_total, b, sizeof(b));
            units_fmt_time(r->real_down, c, sizeof(c));
            units_fmt_time(r->pred_down, d, sizeof(d));
            if (is_conv(r->real) && is_conv(r->pred)) {
                snprintf(tt, sizeof(tt), "%s / %s (%+.0f%%)", a, b,
                         rel_err(r->pred_total, r->real_total));
                snprintf(dt, sizeof(dt), "%s / %s (%+.0f%%)", c, d,
                         rel_err(r->pred_down, r->real_down));
            } else {
                snprintf(tt, sizeof(tt), "%s / %s", a, b);
                snprintf(dt, sizeof(dt), "-");
            }
        }
        if (markdown) {
            fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", ws,
                    rate, grate, bw, dl, oc, sy, tt, dt);
        } else {
            fprintf(f, "%-10s %-10s %-10s %-10s %-7s %-22s %-8s %-26s %s\n", ws,
                    rate, grate, bw, dl, oc, sy, tt, dt);
            if (r->error[0]) {
                fprintf(f, "    %s\n", r->error);
            }
        }
    }
    size_t agree = 0, ran = 0, nerr = 0;
    double *errs = calloc(n ? n : 1, sizeof(*errs));
    if (!errs) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].ran) {
            continue;
        }
        ran++;
        agree += is_conv(rows[i].real) == is_conv(rows[i].pred);
        if (is_conv(rows[i].real) && is_conv(rows[i].pred)) {
            errs[nerr++] =
                fabs(rel_err(rows[i].pred_total, rows[i].real_total));
        }
    }
    fprintf(f, "%s\nverdicts agree on %zu of %zu runs", markdown ? "" : "",
            agree, ran);
    if (nerr) {
        qsort(errs, nerr, sizeof(errs[0]), cmp_dbl);
        double med = nerr % 2 ? errs[nerr / 2]
                              : (errs[nerr / 2 - 1] + errs[nerr / 2]) / 2;
        fprintf(f, "; median total-time error %.1f%% over %zu converged runs",
                med, nerr);
    }
    fprintf(f, "\n%s%s\n", markdown ? "\n" : "", calib);
    free(errs);
}

json_t *lab_validate_json(const struct lab_validate_result *r)
{
    return json_pack(
        "{s:O, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "runs", r->json_rows,
        "link_bandwidth_bps", (json_int_t)r->link_bps, "sender_page_cost_ns",
        (json_int_t)sender_page_ns(r->link_bps), "sync_cost_ns",
        (json_int_t)r->sync_ns, "setup_time_ns", (json_int_t)r->setup_ns,
        "vm_stop_ns", (json_int_t)r->stop_ns, "non_iterable_save_ns",
        (json_int_t)r->save_ns, "calibration", r->calib);
}
