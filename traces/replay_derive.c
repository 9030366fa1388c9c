/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/replay_derive.c — what a counterfactual needs from a replayed
 * migration (contract in traces/replay.h): the trace-derived inputs, the
 * scenario that reproduces them, and the simulation of that scenario
 * under another policy.
 */
#include "traces/replay.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
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

/* The bitmap syncs of the run in order: end time, pages found, duration.
 * Returns how many (at most cap). */
static size_t sync_events(const struct run_result *run, int64_t *t,
                          uint64_t *found, int64_t *dur, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < run->n_events && n < cap; i++) {
        const struct run_event *e = &run->events[i];
        if (e->kind == RUN_EV_SYNC) {
            t[n] = e->t_ns;
            found[n] = e->value;
            dur[n] = e->dur_ns;
            n++;
        }
    }
    return n;
}

#define MAX_SYNCS 4096

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The sync cost: the median duration of the n syncs (ds: scratch room
 * for n). */
static void derive_sync_cost(const int64_t *dur, int64_t *ds, size_t n,
                             struct trc_derived_inputs *di)
{
    size_t nd = 0;
    for (size_t i = 0; i < n; i++) {
        if (dur[i] > 0) {
            ds[nd++] = dur[i];
        }
    }
    if (nd) {
        qsort(ds, nd, sizeof(ds[0]), cmp_i64);
        di->sync_cost_ns = ds[nd / 2];
        snprintf(di->sync_source, TRC_SRC_LEN,
                 "migration_bitmap_sync_start/end: median of %zu syncs "
                 "(fixed part; per GiB needs runs of other RAM sizes: "
                 "migsim calibrate)",
                 nd);
    } else if (di->sync_cost_ns > 0) {
        snprintf(di->sync_source, TRC_SRC_LEN,
                 "estimate -> exact gaps (no sync lines)");
    } else {
        snprintf(di->sync_source, TRC_SRC_LEN,
                 "not inferred: no timed bitmap syncs (model default)");
    }
}

/* What the intervals between syncs show. */
struct sync_intervals {
    double sum_pages, sum_t;
    double r_short, r_long;
    int64_t t_short, t_long;
    uint64_t f_long, f_max;
    unsigned n_int;
};

/* Pages found per interval, skipping the setup sync; with series, each
 * interval's rate is pushed onto di->ram_dirty_rate.  *resent_pages sums
 * what the syncs before the switchover (cut; < 0: none known) found: the
 * syncs of the completion find pages the downtime sends, which no window
 * counts.  0, or -1 out of memory. */
static int scan_intervals(const int64_t *t, const uint64_t *found, size_t n,
                          bool series, struct trc_derived_inputs *di,
                          int64_t cut, uint64_t *resent_pages,
                          struct sync_intervals *v)
{
    *v = (struct sync_intervals){.t_short = INT64_MAX};
    for (size_t i = 1; i < n; i++) {
        if (cut < 0 || t[i] < cut) {
            *resent_pages += found[i];
        }
        if (t[i] <= t[i - 1] || t[i - 1] < 0) {
            continue;
        }
        int64_t dt = t[i] - t[i - 1];
        double rate =
            (double)found[i] * (double)di->page_bytes * 1e9 / (double)dt;
        v->sum_pages += (double)found[i];
        v->sum_t += (double)dt;
        v->n_int++;
        if (found[i] > v->f_max) {
            v->f_max = found[i];
        }
        /* the pattern needs intervals long enough to count: >= 50 ms
         * and 64 pages (the final sync in the downtime finds a few) */
        if (dt < v->t_short && dt >= 50000000 && found[i] >= 64) {
            v->t_short = dt;
            v->r_short = rate;
        }
        if (dt > v->t_long) {
            v->t_long = dt;
            v->r_long = rate;
            v->f_long = found[i];
        }
        if (series && tl_series_push(&di->ram_dirty_rate, t[i], rate) < 0) {
            return -1;
        }
    }
    return 0;
}

/* The mean dirty rate when the syncs give the series, and where the
 * dirty rate comes from. */
static void derive_sync_rate(const struct tl_info *in, bool series,
                             const struct sync_intervals *v,
                             struct trc_derived_inputs *di)
{
    if (series && di->ram_dirty_rate.n) {
        di->dirty_rate_from_syncs = true;
        di->ram_dirty_rate_mean_bps =
            v->sum_pages * (double)di->page_bytes * 1e9 / v->sum_t;
        snprintf(di->dirty_rate_source, TRC_SRC_LEN,
                 "pages found per bitmap sync / interval (%u intervals, no "
                 "rate period reached 1 s)",
                 v->n_int);
    } else if (in->dirty_rate.n) {
        snprintf(di->dirty_rate_source, TRC_SRC_LEN, "%s",
                 in->coarse ? "query-migrate dirty-pages-rate x page size"
                            : "dirty pages per >= 1 s sync period");
    } else {
        snprintf(di->dirty_rate_source, TRC_SRC_LEN,
                 "not inferred: fewer than two timed syncs (0 B/s used)");
    }
}

/* write pattern: random writes saturate (the longest interval finds
 * fewer pages per second than the shortest), a scanner stays linear;
 * and the working set that implies */
static void derive_write_pattern(const struct sync_intervals *v,
                                 struct trc_derived_inputs *di)
{
    if (v->n_int >= 2 && v->t_short != INT64_MAX &&
        v->t_long >= 2 * v->t_short && v->r_short > 0) {
        double ratio = v->r_long / v->r_short;
        double page = (double)di->page_bytes;
        if (ratio < 0.6 && v->f_long > 0) {
            /* F = W (1 - exp(-r T / W)), r from the short interval */
            double F = (double)v->f_long * page;
            double rT = v->r_short * (double)v->t_long / 1e9;
            double lo = F, hi = F * 1e4;
            for (int k = 0; k < 100; k++) {
                double w = (lo + hi) / 2;
                if (w * (1 - exp(-rT / w)) < F) {
                    lo = w;
                } else {
                    hi = w;
                }
            }
            snprintf(di->write_pattern, sizeof(di->write_pattern),
                     "saturating");
            di->working_set_bytes = tl_u64(lo);
            snprintf(di->working_set_source, TRC_SRC_LEN,
                     "pages found per sync saturate (rate over the longest "
                     "interval %.0f%% of the shortest's): random writes over "
                     "W = F / (1 - exp(-rT/W))",
                     100 * ratio);
            return;
        }
        snprintf(di->write_pattern, sizeof(di->write_pattern), "linear");
    } else if (v->n_int >= 1) {
        snprintf(di->write_pattern, sizeof(di->write_pattern), "linear");
    }
    di->working_set_bytes = v->f_max * di->page_bytes; /* lower bound */
}

/* The dirty rate per sync interval (also under 1 s), the write pattern and
 * the working set it implies, the sync cost; from the sync events. */
static int derive_syncs(const struct run_result *run, const struct tl_info *in,
                        struct trc_derived_inputs *di, uint64_t *resent_pages)
{
    int64_t *t = malloc(MAX_SYNCS * sizeof(*t));
    int64_t *dur = malloc(MAX_SYNCS * sizeof(*dur));
    int64_t *ds = malloc(MAX_SYNCS * sizeof(*ds));
    uint64_t *found = malloc(MAX_SYNCS * sizeof(*found));
    int rc = -1;
    if (!t || !dur || !ds || !found) {
        goto out;
    }
    size_t n = sync_events(run, t, found, dur, MAX_SYNCS);
    *resent_pages = 0;
    snprintf(di->write_pattern, sizeof(di->write_pattern), "unknown");
    derive_sync_cost(dur, ds, n, di);
    struct sync_intervals v;
    bool series = in->dirty_rate.n == 0 && in->has_time;
    int64_t cut = in->switchover ? in->switchover_t_ns : -1;
    if (scan_intervals(t, found, n, series, di, cut, resent_pages, &v) < 0) {
        goto out;
    }
    derive_sync_rate(in, series, &v, di);
    derive_write_pattern(&v, di);
    rc = 0;
out:
    free(t);
    free(dur);
    free(ds);
    free(found);
    return rc;
}

/* Bytes sent after the last migrate_transferred window and before the
 * switchover, which no window counts: at the rate-limited bandwidth, at
 * most what the pending RAM dropped there.  0 unless max-bandwidth binds
 * (otherwise the tail's mix of zero and data pages is unknown). */
static uint64_t tail_bytes(const struct run_result *run,
                           const struct tl_info *in,
                           const struct trc_derived_inputs *di)
{
    if (!di->max_bandwidth_binds || !(di->limited_bps > 0) || !in->switchover ||
        in->switchover_t_ns < 0) {
        return 0;
    }
    size_t k = run->n_samples;
    while (k-- > 0 && !run->samples[k].sent_bytes) {
    }
    if (k + 1 >= run->n_samples) {
        return 0;
    }
    const struct run_sample *after = &run->samples[k + 1];
    int64_t dt = in->switchover_t_ns - after->t_ns;
    if (dt <= 0) {
        return 0;
    }
    double by_time = di->limited_bps * (double)dt / 1e9;
    double by_drop =
        after->ram_dirty_bytes > in->switchover_pending
            ? (double)(after->ram_dirty_bytes - in->switchover_pending)
            : 0;
    return tl_u64(by_time < by_drop ? by_time : by_drop);
}

/* The RAM pending at the switchover: what the trace says was pending less
 * the devices' share at the last sample before it. */
static uint64_t ram_pending_at_switchover(const struct run_result *run,
                                          const struct tl_info *in)
{
    uint64_t dev = 0;
    for (size_t k = run->n_samples; k-- > 0;) {
        const struct run_sample *s = &run->samples[k];
        if (s->t_ns <= in->switchover_t_ns) {
            for (unsigned d = 0; d < s->n_devices; d++) {
                dev += s->dev_reported_bytes[d];
            }
            break;
        }
    }
    return in->switchover_pending > dev ? in->switchover_pending - dev : 0;
}

/* RAM size, zero and normal pages of the first pass, working set. */
static void derive_ram(const struct run_result *run, const struct tl_info *in,
                       struct trc_derived_inputs *di, uint64_t resent)
{
    const struct run_metrics *m = &run->m;
    if (in->ram_total_bytes) {
        di->ram_total_bytes = in->ram_total_bytes;
        snprintf(di->ram_total_source, TRC_SRC_LEN, "query-migrate ram.total");
    } else if (run->n_samples && run->samples[0].estimate_bytes) {
        uint64_t dev = 0;
        for (unsigned d = 0; d < run->samples[0].n_devices; d++) {
            dev += run->samples[0].dev_reported_bytes[d];
        }
        uint64_t first = run->samples[0].ram_dirty_bytes;
        if (!first) {
            first = run->samples[0].estimate_bytes > dev
                        ? run->samples[0].estimate_bytes - dev
                        : run->samples[0].estimate_bytes;
        }
        di->ram_total_bytes = first;
        snprintf(di->ram_total_source, TRC_SRC_LEN,
                 "first pending query (every page is dirty at the start)");
    } else {
        snprintf(di->ram_total_source, TRC_SRC_LEN,
                 "not inferred: no pending query and no query-migrate "
                 "ram.total (RAM sized from what was pending)");
    }
    uint64_t page = di->page_bytes;
    uint64_t wire = page + 8;
    uint64_t total_pages = di->ram_total_bytes / page;
    bool have_ws = strcmp(di->write_pattern, "saturating") == 0;
    if (total_pages && m->bytes_transferred && in->switchover) {
        uint64_t sent = (m->bytes_transferred + tail_bytes(run, in, di)) / wire;
        /* of the pages the syncs found, those still pending at the
         * switchover went out in the downtime, not in the windows (a 7.2
         * run with 9.4 MB left had its data pages counted 27 % short) */
        uint64_t left = ram_pending_at_switchover(run, in) / page;
        resent = resent > left ? resent - left : 0;
        uint64_t first = sent > resent ? sent - resent : 0;
        if (first > total_pages) {
            first = total_pages;
        }
        di->normal_pages = first;
        di->zero_pages = total_pages - first;
        di->have_zero = true;
        if (!have_ws) {
            /* linear syncs: the written set is not visible; every data
             * page of the first pass is taken as written */
            uint64_t ws = first * page;
            if (ws < di->working_set_bytes) {
                ws = di->working_set_bytes;
            }
            di->working_set_bytes = ws;
            snprintf(di->working_set_source, TRC_SRC_LEN,
                     "%s syncs do not show the written set: the first "
                     "pass's data pages (%" PRIu64 "), at least the most "
                     "pages one sync found",
                     di->write_pattern, first);
        }
        uint64_t ws_pages = di->working_set_bytes / page;
        if (ws_pages > total_pages) {
            ws_pages = total_pages;
        }
        uint64_t rest = total_pages - ws_pages;
        uint64_t data_rest = first > ws_pages ? first - ws_pages : 0;
        di->zero_fraction = rest ? 1.0 - (double)data_rest / (double)rest : 0.0;
        if (di->zero_fraction < 0) {
            di->zero_fraction = 0;
        }
        snprintf(di->zero_source, TRC_SRC_LEN,
                 "bytes sent (%" PRIu64 ") / (page + 8) minus the pages "
                 "syncs found again, against the RAM's %" PRIu64 " pages",
                 m->bytes_transferred, total_pages);
    } else {
        snprintf(di->zero_source, TRC_SRC_LEN,
                 "not inferred: %s (model default)",
                 !total_pages ? "RAM size unknown"
                 : !m->bytes_transferred
                     ? "no bytes-sent figures"
                     : "no switchover: the first pass may be unfinished");
        if (!have_ws) {
            snprintf(di->working_set_source, TRC_SRC_LEN,
                     "not inferred: at least the most pages one sync found "
                     "(%s)",
                     di->working_set_bytes ? "lower bound used" : "none");
        }
    }
}

size_t trc_sender_windows(const struct run_result *run, uint64_t page_bytes,
                          double (*A)[2], double *y, size_t cap)
{
    double page = (double)(page_bytes ? page_bytes : 4096), wire = page + 8;
    size_t nr = 0;
    size_t j = SIZE_MAX; /* last window iteration */
    for (size_t k = 0; k < run->n_samples && nr < cap; k++) {
        const struct run_sample *s = &run->samples[k];
        if (!s->sent_bytes) {
            continue;
        }
        if (k + 1 < run->n_samples) {
            /* the window ran from the previous one's end (the start of the
             * iteration after it) to the start of the next iteration */
            size_t ia = j == SIZE_MAX ? 0 : j + 1;
            const struct run_sample *a = &run->samples[ia];
            const struct run_sample *b = &run->samples[k + 1];
            double drop =
                (double)a->ram_dirty_bytes - (double)b->ram_dirty_bytes;
            double bytes = 0;
            for (size_t q = ia; q <= k; q++) {
                bytes += (double)run->samples[q].sent_bytes;
            }
            double normal = bytes / wire;
            double zero = drop / page - normal;
            if (zero < 0 && zero > -0.05 * normal) {
                zero = 0; /* rounding: every page was a data page */
            }
            int64_t dt = b->t_ns - a->t_ns;
            if (drop > 0 && zero >= 0 && dt > 0) {
                A[nr][0] = normal;
                A[nr][1] = zero;
                y[nr] = (double)dt;
                nr++;
            }
        }
        j = k;
    }
    return nr;
}

/* The sender's per-page costs from the windows of the first pass: window
 * time = normal pages x c_n + zero pages x c_z (least squares), where the
 * pending drop minus the pages sent is the zero pages. */
/* Does max-bandwidth bind, and what did the rate limiter let through. */
static void derive_binding(const struct tl_info *in,
                           struct trc_derived_inputs *di)
{
    int64_t span = di->duration_ns > 0 ? di->duration_ns : 1;
    di->max_bandwidth_binds =
        in->rate_limit_sleeps > 0 &&
        (double)in->rate_limit_sleep_ns >= 0.05 * (double)span;
    if (di->max_bandwidth_binds) {
        /* what the rate limiter let through: the windows that ran at the
         * limit (the zero-page windows carry few bytes) */
        const struct tl_series *bw = &in->bandwidth;
        double sum = 0;
        size_t n = 0;
        for (size_t i = 0; i < bw->n; i++) {
            if (bw->v[i] >= 0.5 * in->bw_peak_bps) {
                sum += bw->v[i];
                n++;
            }
        }
        di->limited_bps = n ? sum / (double)n : in->bw_peak_bps;
    }
}

/* The first pass's duration: from the first iteration to the first bitmap
 * sync after the setup one; 0 if unknown. */
static int64_t first_pass_ns(const struct run_result *run)
{
    unsigned seen = 0;
    int64_t t0 = run->n_samples ? run->samples[0].t_ns : -1;
    for (size_t i = 0; i < run->n_events && t0 >= 0; i++) {
        const struct run_event *e = &run->events[i];
        if (e->kind == RUN_EV_SYNC && seen++ == 1) {
            return e->t_ns > t0 ? e->t_ns - t0 : 0;
        }
    }
    return 0;
}

/* While max-bandwidth binds, the windows that carried mostly zero pages
 * and ran well under the limit were not held back by it: their time is
 * the sender's (a data page costing at most what the limit lets through),
 * which gives the zero-page cost.  true when it did (set in di). */
static bool zero_scan_under_limit(struct trc_derived_inputs *di, double (*A)[2],
                                  const double *y, size_t nr)
{
    double wire = (double)di->page_bytes + 8;
    if (!(di->limited_bps > 0)) {
        return false;
    }
    double cn = wire * 1e9 / di->limited_bps;
    double sz = 0, szz = 0;
    size_t nz = 0;
    for (size_t i = 0; i < nr; i++) {
        double n = A[i][0], z = A[i][1];
        double rate = y[i] > 0 ? n * wire * 1e9 / y[i] : INFINITY;
        double rest = y[i] - n * cn;
        if (z > 0 && z >= 0.9 * (n + z) && rate < 0.5 * di->limited_bps &&
            rest > 0) {
            sz += rest * z;
            szz += z * z;
            nz++;
        }
    }
    double cz = szz > 0 ? sz / szz : 0;
    if (!nz || !(cz > 0) || cz > 100e3) {
        return false;
    }
    di->have_zero_scan = true;
    di->sender_zero_page_ns = cz;
    snprintf(di->sender_source, TRC_SRC_LEN,
             "data pages not inferred (max-bandwidth binds); zero pages "
             "%.0f ns each from %zu windows of mostly zero pages under the "
             "limit",
             cz, nz);
    return true;
}

static void derive_sender(const struct run_result *run,
                          const struct tl_info *in,
                          struct trc_derived_inputs *di)
{
    double A[512][2], y[512];
    double wire = (double)di->page_bytes + 8;
    size_t nr = trc_sender_windows(run, di->page_bytes, A, y, 512);
    di->first_pass_ns = first_pass_ns(run);
    bool one_window = false;
    if (nr == 1 && !di->max_bandwidth_binds && A[0][0] > 0) {
        /* one window (a 100-150 ms unlimited migration has one before its
         * switchover): one equation, so the zero page keeps the scenario
         * default and the data pages take the rest of the window's time.
         * Re-running such a run at the window's average rate as a cap
         * made it 30-50 % long. */
        struct scenario d;
        scn_defaults(&d);
        double cz0 = (double)d.zero_page_scan_ns;
        double rest = y[0] - A[0][1] * cz0;
        if (rest > 0) {
            A[1][0] = 0;
            A[1][1] = 1;
            y[1] = cz0; /* pins c_z to the default in the fit below */
            nr = 2;
            one_window = true;
        }
    }
    if (nr >= 2 && !di->max_bandwidth_binds) {
        /* normal equations of the 2-parameter fit */
        double s00 = 0, s01 = 0, s11 = 0, b0 = 0, b1 = 0;
        for (size_t i = 0; i < nr; i++) {
            s00 += A[i][0] * A[i][0];
            s01 += A[i][0] * A[i][1];
            s11 += A[i][1] * A[i][1];
            b0 += A[i][0] * y[i];
            b1 += A[i][1] * y[i];
        }
        double det = s00 * s11 - s01 * s01;
        double cn = 0, cz = 0;
        if (fabs(det) > 1e-9 * s00 * s11 && s11 > 0) {
            cn = (b0 * s11 - b1 * s01) / det;
            cz = (s00 * b1 - s01 * b0) / det;
        }
        if (cz < 0 || !(s11 > 0)) {
            cz = 0;
            cn = s00 > 0 ? b0 / s00 : 0;
        }
        /* a window reached the peak bandwidth: a normal page cannot cost
         * more than that rate implies (few data pages in a window make
         * c_n ill-determined); then c_z with c_n fixed */
        double cn_max = in->bw_peak_bps > 0 ? wire * 1e9 / in->bw_peak_bps : 0;
        if (cn_max > 0 && cn > 1.1 * cn_max) {
            cn = cn_max;
            cz = s11 > 0 ? (b1 - cn * s01) / s11 : 0;
            if (cz < 0) {
                cz = 0;
            }
        }
        /* the whole first pass must add up: N c_n + Z c_z = its time
         * (single windows are noisy: the thread shares the CPU) */
        double tp = (double)di->first_pass_ns;
        double N = (double)di->normal_pages, Z = (double)di->zero_pages;
        bool from_peak = false;
        if (!(cn > 0) && cn_max > 0 && di->have_zero && tp > 0 && N > 0) {
            /* no positive c_n: the mostly-zero windows' time per zero page
             * varies more than the data window can bear (a 10.0 TCG pass
             * here: 2.9 us in one window, 12.7 us in the next), so the
             * data pages go at the peak window's rate (they were nearly
             * all of its bytes) and the zero pages take the rest of the
             * first pass */
            cn = fmin(cn_max, 0.9 * tp / N);
            cz = Z > 0 ? (tp - N * cn) / Z : 0;
            from_peak = true;
        }
        if (di->have_zero && tp > 0 && N > 0 && cn > 0 &&
            N * cn + Z * cz > 1.2 * tp) {
            if (N * cn < 0.9 * tp) {
                cz = Z > 0 ? (tp - N * cn) / Z : 0;
            } else {
                cn = 0.9 * tp / N;
                cz = Z > 0 ? 0.1 * tp / Z : 0;
            }
        } else if (di->have_zero && tp > 0 && N > 0 && cn > 0 &&
                   N * cn + Z * cz < 0.8 * tp && tp - Z * cz > N * cn) {
            /* too fast for the pass it came from (the peak window's cap,
             * or windows far apart in speed: under KVM here they ranged
             * 26-144 MB/s in one pass): the data pages take the rest */
            cn = (tp - Z * cz) / N;
        }
        if (cn > 0) {
            di->have_sender = true;
            di->have_zero_scan = true;
            di->sender_normal_page_ns = cn;
            di->sender_zero_page_ns = cz;
            di->sender_bps = wire * 1e9 / cn;
            if (one_window) {
                snprintf(di->sender_source, TRC_SRC_LEN,
                         "the first pass's one migrate_transferred window: "
                         "time = normal x c_n + zero x c_z, c_z the scenario "
                         "default, the pair held to the first pass "
                         "(max-bandwidth not binding)");
                return;
            }
            if (from_peak) {
                snprintf(di->sender_source, TRC_SRC_LEN,
                         "%zu first-pass windows, no positive c_n (zero-page "
                         "times vary): c_n at the peak window's rate, c_z the "
                         "rest of the pass (max-bandwidth not binding)",
                         nr);
                return;
            }
            snprintf(di->sender_source, TRC_SRC_LEN,
                     "least squares over %zu migrate_transferred windows of "
                     "the first pass: time = normal x c_n + zero x c_z "
                     "(max-bandwidth not binding)",
                     nr);
            return;
        }
    }
    if (di->max_bandwidth_binds && zero_scan_under_limit(di, A, y, nr)) {
        return;
    }
    snprintf(di->sender_source, TRC_SRC_LEN, "not inferred: %s",
             di->max_bandwidth_binds
                 ? "max-bandwidth binds (rate-limit sleeps), the sender's own "
                   "ceiling is hidden"
             : nr >= 2 ? "the first pass's windows gave no positive "
                         "data-page cost and no peak window or pass "
                         "time to hold one to (model default: wire "
                         "speed)"
                       : "fewer than 2 usable windows (model default: "
                         "wire speed)");
}

/* The setup phase: setup -> active (or query-migrate's setup-time) less
 * the bitmap sync inside it, which the model's RAM setup adds back as its
 * own first sync.  Under 7.2 TCG here it took 3 ms against the 20 ms
 * default, which made every re-run of a 100 ms migration 15 % long. */
static void derive_setup(const struct run_result *run, const struct tl_info *in,
                         struct trc_derived_inputs *di)
{
    di->setup_ns = -1;
    int64_t su = run->m.setup_ns;
    if (!(su > 0)) {
        snprintf(di->setup_source, TRC_SRC_LEN,
                 "not inferred: no setup -> active in the input (model "
                 "default)");
        return;
    }
    int64_t sync = 0;
    if (in->setup_ns >= 0) {
        for (size_t i = 0; i < run->n_events; i++) {
            const struct run_event *e = &run->events[i];
            if (e->kind == RUN_EV_SYNC) {
                if (e->t_ns >= in->setup_ns && e->t_ns < in->setup_ns + su &&
                    e->dur_ns > 0) {
                    sync = e->dur_ns;
                }
                break;
            }
        }
    }
    di->setup_ns = su > sync ? su - sync : 0;
    snprintf(di->setup_source, TRC_SRC_LEN, "%s%s",
             in->n_states ? "migrate_set_state setup -> active"
                          : "query-migrate setup-time",
             sync ? ", less the setup's bitmap sync" : "");
}

/* VM stop, non-iterable save / load, postcopy, parameters. */
static void derive_downtime(const struct tl_info *in,
                            struct trc_derived_inputs *di)
{
    di->vm_stop_ns = in->vm_stop_ns;
    snprintf(di->vm_stop_source, TRC_SRC_LEN, "%s",
             in->vm_stop_ns < 0 ? "not inferred: no "
                                  "vmstate_downtime_checkpoint (10.0+) nor "
                                  "migration_completion_vm_stop (model "
                                  "default)"
             : in->vm_stop_from_completion
                 ? "migration_thread_low_pending -> "
                   "migration_completion_vm_stop"
                 : "vmstate_downtime_checkpoint src-downtime-start -> "
                   "src-vm-stopped");
    di->non_iterable_save_ns = in->save_non_iterable_ns;
    di->non_iterable_load_ns = in->load_non_iterable_ns;
    snprintf(di->save_load_source, TRC_SRC_LEN, "%s%s",
             in->save_non_iterable_ns < 0 ? "save not inferred (model default)"
             : in->save_from_gstate
                 ? "save: migrate_global_state_pre_save -> completed (the "
                   "first non-iterable section to the end)"
                 : "save: vmstate_downtime_save type=non-iterable summed",
             in->load_non_iterable_ns >= 0
                 ? "; load: vmstate_downtime_load summed"
                 : "; load not inferred: destination not traced (model "
                   "default)");
    di->postcopy = in->postcopy;
    di->postcopy_start_ns = -1;
    snprintf(di->params_source, TRC_SRC_LEN,
             "%s; multifd channels and capabilities not shown by this input "
             "(model defaults)",
             in->limit_inferred ? "downtime-limit from max_size / bandwidth"
                                : "downtime-limit assumed");
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
    /* trace-formats: a limit the input set (libvirt, Proxmox) is known too */
    di->downtime_limit_inferred |= in->limit_read;
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
    snprintf(di->bandwidth_source, TRC_SRC_LEN, "%s%s",
             in->bandwidth_traced    ? "peak of the migrate_transferred windows"
             : in->bandwidth_derived ? "peak of migration_transferred_bytes "
                                       "deltas"
             : in->bw_peak_bps > 0   ? "query-migrate mbps"
                                     : "not inferred: 10 Gbit/s assumed",
             "");
    uint64_t resent = 0;
    if (derive_syncs(run, in, di, &resent) < 0) {
        return -1;
    }
    derive_binding(in, di);
    derive_ram(run, in, di, resent);
    derive_sender(run, in, di);
    derive_downtime(in, di);
    derive_setup(run, in, di);
    if (di->have_sender || di->max_bandwidth_binds) {
        size_t l = strlen(di->bandwidth_source);
        snprintf(di->bandwidth_source + l, TRC_SRC_LEN - l, "%s",
                 di->have_sender
                     ? "; the sender, not it, was the limit; link of the "
                       "downtime phase not inferred (default or calibration)"
                     : "; max-bandwidth binds: link of the downtime phase "
                       "not inferred (default or calibration)");
    }
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
        ram = (ram + gib - 1) / gib * gib;
    } else {
        ram = (ram + di->page_bytes - 1) / di->page_bytes * di->page_bytes;
    }
    json_object_set_new(vm, "ram", json_integer((json_int_t)ram));
    json_object_set_new(vm, "page_size",
                        json_integer((json_int_t)di->page_bytes));
    if (di->have_zero) {
        json_object_set_new(vm, "zero_fraction", json_real(di->zero_fraction));
    }
    if (di->have_zero_scan) {
        json_object_set_new(
            vm, "zero_page_scan",
            jtime(tl_i64(di->sender_zero_page_ns > 0 ? di->sender_zero_page_ns
                                                     : 1)));
        if (di->max_bandwidth_binds) {
            /* seen under the limit: what the re-run's live phase uses, over
             * a --calibration file's */
            json_object_set_new(vm, "zero_page_scan_limited",
                                jtime(tl_i64(di->sender_zero_page_ns > 0
                                                 ? di->sender_zero_page_ns
                                                 : 1)));
        }
    }
    if (di->vm_stop_ns >= 0) {
        json_object_set_new(vm, "stop_cost", jtime(di->vm_stop_ns));
        json_object_set_new(vm, "stop_cost_per_vcpu", jtime(0));
    }
    if (di->non_iterable_save_ns >= 0) {
        json_object_set_new(vm, "non_iterable_save_time",
                            jtime(di->non_iterable_save_ns));
    }
    if (di->non_iterable_load_ns >= 0) {
        json_object_set_new(vm, "non_iterable_load_time",
                            jtime(di->non_iterable_load_ns));
    }
    return ram;
}

/* The scenario's "workload": the measured dirty rate, phased when it
 * changed. */
static void scenario_workload(json_t *wl, const struct trc_derived_inputs *di,
                              uint64_t ram)
{
    uint64_t ws = ram / 4;
    if (di->have_zero && di->working_set_bytes) {
        ws = di->working_set_bytes < ram ? di->working_set_bytes : ram;
    } else if (di->ram_pending_bytes > ws && di->ram_pending_bytes <= ram) {
        ws = di->ram_pending_bytes;
    }
    ws = ws / di->page_bytes * di->page_bytes;
    if (!ws) {
        ws = di->page_bytes;
    }
    json_object_set_new(wl, "working_set", json_integer((json_int_t)ws));
    const struct tl_series *dr = &di->ram_dirty_rate;
    /* pages found per sync linear in the interval: a scanner */
    bool linear = strcmp(di->write_pattern, "linear") == 0;
    if (di->dirty_rate_from_syncs) {
        /* short sync intervals are noisy: their overall rate */
        json_object_set_new(wl, "kind",
                            json_string(linear ? "sweep" : "uniform"));
        json_object_set_new(wl, "dirty_rate",
                            jrate(di->ram_dirty_rate_mean_bps));
    } else if (dr->n >= 2) {
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
        if (linear) {
            json_object_set_new(wl, "phase_base", json_string("sweep"));
        }
        json_object_set_new(wl, "phases", ph);
    } else {
        json_object_set_new(wl, "kind",
                            json_string(linear ? "sweep" : "uniform"));
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
    if (di->have_sender) {
        /* the sender, not max-bandwidth, was the limit: unlimited, with
         * its per-page cost */
        json_object_set_new(mig, "max_bandwidth", jrate(0));
        json_object_set_new(mig, "sender_page_cost",
                            jtime(tl_i64(di->sender_normal_page_ns)));
        /* link_bandwidth (the downtime phase, VM stopped): not seen here;
         * the default or the calibration's */
    } else if (di->max_bandwidth_binds) {
        /* the windows show max-bandwidth, not the link the downtime
         * phase uses */
        json_object_set_new(mig, "max_bandwidth",
                            jrate(di->limited_bps > 0 ? di->limited_bps : bw));
    } else {
        json_object_set_new(mig, "max_bandwidth", jrate(bw));
        json_object_set_new(mig, "link_bandwidth", jrate(bw));
    }
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
    if (di->setup_ns >= 0) {
        json_object_set_new(mig, "setup_time", jtime(di->setup_ns));
    }
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
    if (di->calibration[0]) {
        json_object_set_new(root, "calibration", json_string(di->calibration));
    }

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
