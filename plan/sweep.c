/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plan/sweep.c — parameter sweeps on worker threads, stored in the run
 * store, resumable, sharded.
 *
 * Workers claim point sequence numbers of the shard in increasing order
 * (at most WINDOW ahead of the oldest unfinished one), build the point's
 * scenario, look its key up in the store on their own connection, and
 * either load the stored metrics or simulate.  The calling thread writes
 * new runs (one transaction each) and calls back in point order.
 */
#include "plan/plan.h"
#include "base/err.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"
#include "store/db.h"

#define WINDOW 256 /* points in flight or waiting to be written */

enum slot_state { SLOT_EMPTY = 0, SLOT_BUSY, SLOT_READY };

struct slot {
    enum slot_state state;
    uint64_t index;
    size_t coord[PLAN_MAX_AXES];
    unsigned seed_off;
    uint64_t seed;
    const char *policy;
    char key[65];
    char *json; /* point scenario (RAN) */
    struct run_metrics m;
    struct scenario scn;
    enum plan_point_status status;
    bool fatal;       /* store error: stop the sweep */
    int64_t run_id;   /* STORED */
    int64_t stale_id; /* incomplete run with this key: replace it */
    int64_t started_ns;
    char err[400];
};

struct sweep {
    const struct plan_sweep_cfg *cfg;
    const struct plan_grid *grid;
    uint64_t points, count;
    unsigned seeds, shard_i, shard_n;
    bool force_aggregate;
    const char *policy;
    struct mig_options mo;

    pthread_mutex_t mu;
    pthread_cond_t cv_main, cv_work;
    uint64_t next_claim, next_emit;
    uint64_t ready_upto; /* points next_emit..ready_upto-1 are all ready */
    uint64_t wake_ready; /* the writer waits for ready_upto >= this */
    bool main_waiting;
    bool stop;
    unsigned alive;
    char fatal[400];
    struct slot *slots;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t epoch_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *plan_point_status_name(enum plan_point_status s)
{
    switch (s) {
    case PLAN_PT_RAN:
        return "ran";
    case PLAN_PT_STORED:
        return "stored";
    case PLAN_PT_FAILED:
        return "failed";
    }
    return "?";
}

uint64_t plan_shard_count(uint64_t points, unsigned i, unsigned n,
                          enum plan_shard_mode mode)
{
    if (n <= 1) {
        return points;
    }
    if (mode == PLAN_SHARD_BLOCK) {
        uint64_t lo = (uint64_t)((unsigned __int128)points * (i - 1) / n);
        uint64_t hi = (uint64_t)((unsigned __int128)points * i / n);
        return hi - lo;
    }
    uint64_t r = i - 1;
    return points > r ? (points - r + n - 1) / n : 0;
}

uint64_t plan_shard_index(uint64_t points, unsigned i, unsigned n,
                          enum plan_shard_mode mode, uint64_t k)
{
    if (n <= 1) {
        return k;
    }
    if (mode == PLAN_SHARD_BLOCK) {
        return (uint64_t)((unsigned __int128)points * (i - 1) / n) + k;
    }
    return k * n + (i - 1);
}

/* "key=value" into doc; -1 with a message. */
static int assign(struct scn_doc *doc, const char *key, const char *val,
                  char *err, size_t errlen)
{
    size_t kl = strlen(key), vl = strlen(val);
    size_t n = kl + vl + 2;
    char small[512];
    char *a = n <= sizeof(small) ? small : malloc(n);
    if (!a) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    memcpy(a, key, kl);
    a[kl] = '=';
    memcpy(a + kl + 1, val, vl + 1);
    int rc = scn_doc_set(doc, a, err, errlen);
    if (a != small) {
        free(a);
    }
    return rc;
}

/* The policy of a point. */
static const char *point_policy(const struct sweep *sw, const size_t *coord)
{
    for (size_t a = 0; a < sw->grid->n_axes; a++) {
        if (sw->grid->axes[a].is_policy) {
            return sw->grid->axes[a].values[coord[a]];
        }
    }
    return sw->policy;
}

/* Build the scenario of one point: doc (caller frees) and scn. */
static struct scn_doc *build_point(const struct sweep *sw, const size_t *coord,
                                   unsigned seed_off, struct scenario *scn,
                                   char *err, size_t errlen)
{
    struct scn_doc *doc = scn_doc_copy(sw->cfg->base);
    if (!doc) {
        err_set(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t a = 0; a < sw->grid->n_axes; a++) {
        const struct plan_axis *ax = &sw->grid->axes[a];
        if (!ax->is_policy &&
            assign(doc, ax->key, ax->values[coord[a]], err, errlen)) {
            goto fail;
        }
    }
    if (sw->force_aggregate &&
        scn_doc_set(doc, "sim.ram_mode=\"aggregate\"", err, errlen)) {
        goto fail;
    }
    if (scn_resolve(doc, scn, err, errlen)) {
        goto fail;
    }
    if (seed_off) {
        char a[64];
        uint64_t seed = scn->seed + seed_off;
        snprintf(a, sizeof(a), "seed=%" PRIu64, seed);
        if (scn_doc_set(doc, a, err, errlen)) {
            goto fail;
        }
        scn->seed = seed;
    }
    return doc;
fail:
    scn_doc_free(doc);
    return NULL;
}

static void compute(struct sweep *sw, struct db *db, uint64_t seq,
                    struct slot *sl)
{
    const struct plan_sweep_cfg *c = sw->cfg;
    sl->index = plan_shard_index(sw->points, sw->shard_i, sw->shard_n,
                                 c->shard_mode, seq);
    uint64_t cell = sl->index / sw->seeds;
    sl->seed_off = (unsigned)(sl->index % sw->seeds);
    plan_grid_coords(sw->grid, cell, sl->coord);
    sl->json = NULL;
    sl->fatal = false;
    sl->run_id = sl->stale_id = 0;
    sl->err[0] = '\0';
    sl->key[0] = '\0';
    memset(&sl->m, 0, sizeof(sl->m));
    sl->status = PLAN_PT_FAILED;

    sl->policy = point_policy(sw, sl->coord);
    struct scn_doc *doc = build_point(sw, sl->coord, sl->seed_off, &sl->scn,
                                      sl->err, sizeof(sl->err));
    if (!doc) {
        sl->seed = 0;
        return;
    }
    sl->seed = sl->scn.seed;
    sl->json = scn_doc_json(doc);
    scn_doc_free(doc);
    if (!sl->json) {
        snprintf(sl->err, sizeof(sl->err), "out of memory");
        return;
    }
    plan_point_key(sl->json, sl->policy, sl->seed, sl->key);

    int64_t id = db_find_key(db, sl->key, sl->err, sizeof(sl->err));
    if (id < 0) {
        sl->fatal = true;
        return;
    }
    if (id > 0) {
        struct db_run_meta meta;
        struct run_result res;
        int rc = db_run_load(db, id, &meta, &res, sl->err, sizeof(sl->err));
        if (rc == 0 && meta.complete) {
            sl->m = res.m;
            sl->run_id = id;
            sl->status = PLAN_PT_STORED;
        } else if (rc == 0) {
            sl->stale_id = id;
        } else if (rc != DB_ERR_NOTFOUND) {
            sl->fatal = true;
        }
        if (rc == 0) {
            db_run_meta_free(&meta);
            run_result_free(&res);
        }
        if (sl->status == PLAN_PT_STORED || sl->fatal) {
            return;
        }
        sl->err[0] = '\0';
    }
    struct run_result res;
    sl->started_ns = epoch_ns();
    if (mig_simulate(&sl->scn, sl->policy, &sw->mo, &res, sl->err,
                     sizeof(sl->err))) {
        return;
    }
    sl->m = res.m;
    run_result_free(&res);
    sl->status = PLAN_PT_RAN;
}

static void *worker(void *arg)
{
    struct sweep *sw = arg;
    char err[400];
    struct db *db = db_open(sw->cfg->db_path, err, sizeof(err));
    pthread_mutex_lock(&sw->mu);
    if (!db) {
        if (!sw->fatal[0]) {
            snprintf(sw->fatal, sizeof(sw->fatal), "%s", err);
        }
        sw->stop = true;
    }
    for (;;) {
        while (!sw->stop && sw->next_claim < sw->count &&
               sw->next_claim >= sw->next_emit + WINDOW) {
            pthread_cond_wait(&sw->cv_work, &sw->mu);
        }
        if (sw->stop || sw->next_claim >= sw->count) {
            break;
        }
        uint64_t seq = sw->next_claim++;
        struct slot *sl = &sw->slots[seq % WINDOW];
        sl->state = SLOT_BUSY;
        pthread_mutex_unlock(&sw->mu);
        compute(sw, db, seq, sl);
        pthread_mutex_lock(&sw->mu);
        sl->state = SLOT_READY;
        while (sw->ready_upto < sw->next_claim &&
               sw->slots[sw->ready_upto % WINDOW].state == SLOT_READY) {
            sw->ready_upto++;
        }
        if (sw->main_waiting && sw->ready_upto >= sw->wake_ready) {
            pthread_cond_signal(&sw->cv_main);
        }
    }
    sw->alive--;
    pthread_cond_signal(&sw->cv_main);
    pthread_mutex_unlock(&sw->mu);
    db_close(db);
    return NULL;
}

/* Store a freshly simulated point; fills run_id.  -1 on a store error. */
static int store_point(struct sweep *sw, struct db *db, struct slot *sl,
                       char *err, size_t errlen)
{
    const struct plan_sweep_cfg *c = sw->cfg;
    if (sl->stale_id > 0) {
        int rc = db_delete(db, sl->stale_id, err, errlen);
        if (rc < 0 && rc != DB_ERR_NOTFOUND) {
            return -1;
        }
    }
    struct db_run_meta meta;
    db_run_meta_build(&meta, &(struct db_run_origin){
                                 .kind = DB_KIND_SIM,
                                 .scenario_json = sl->json,
                                 .source_path = c->source_path,
                                 .source_sha256 = c->source_sha256,
                                 .qemu = sl->m.qemu,
                                 .policy = sl->policy,
                                 .seed = sl->seed,
                                 .command_line = c->command_line,
                                 .fingerprint = sl->m.fingerprint,
                             });
    meta.started_ns = sl->started_ns;
    meta.finished_ns = epoch_ns();
    meta.complete = true;
    memcpy(meta.run_key, sl->key, sizeof(meta.run_key));
    struct run_result res;
    memset(&res, 0, sizeof(res));
    res.m = sl->m;
    int64_t id = 0;
    if (db_run_copy_in(db, &meta, &res, &id, err, errlen) != 0) {
        /* another process may have stored the same point meanwhile */
        int64_t have = db_find_key(db, sl->key, NULL, 0);
        if (have > 0) {
            sl->run_id = have;
            sl->status = PLAN_PT_STORED;
            return 0;
        }
        return -1;
    }
    sl->run_id = id;
    return 0;
}

static void draw_progress(const struct sweep *sw, double t0, bool final)
{
    double el = mono_s() - t0;
    uint64_t done = sw->next_emit;
    double rate = el > 0 ? (double)done / el : 0;
    int width = 30;
    int fill = sw->count ? (int)((double)done / (double)sw->count * width) : 0;
    char bar[40];
    for (int i = 0; i < width; i++) {
        bar[i] = i < fill ? '#' : '-';
    }
    bar[width] = '\0';
    char eta[32] = "";
    if (rate > 0 && done < sw->count) {
        double left = (double)(sw->count - done) / rate;
        snprintf(eta, sizeof(eta), "  ETA %d:%02d", (int)(left / 60),
                 (int)left % 60);
    }
    fprintf(stderr, "\r[%s] %" PRIu64 "/%" PRIu64 "  %.0f points/s%s\033[K%s",
            bar, done, sw->count, rate, eta, final ? "\n" : "");
    fflush(stderr);
}

/* Check every axis value and policy against the base scenario. */
static int validate(const struct sweep *sw, char *err, size_t errlen)
{
    const struct plan_sweep_cfg *c = sw->cfg;
    char e[400];
    struct scenario s;
    if (scn_resolve(c->base, &s, e, sizeof(e))) {
        err_set(err, errlen, "%s", e);
        return -1;
    }
    bool pol_axis = false;
    for (size_t a = 0; a < sw->grid->n_axes; a++) {
        const struct plan_axis *ax = &sw->grid->axes[a];
        for (size_t i = 0; i < ax->n; i++) {
            struct scenario t = s;
            if (ax->is_policy) {
                struct pol_chain pc;
                memset(&pc, 0, sizeof(pc));
                int rc = pol_chain_setup(&pc, ax->values[i], &t, e, sizeof(e));
                pol_chain_free(&pc);
                if (rc) {
                    err_set(err, errlen, "--grid policy=%s: %s", ax->values[i],
                            e);
                    return -1;
                }
                continue;
            }
            struct scn_doc *d = scn_doc_copy(c->base);
            if (!d) {
                err_set(err, errlen, "out of memory");
                return -1;
            }
            int rc = assign(d, ax->key, ax->values[i], e, sizeof(e));
            if (rc == 0) {
                rc = scn_resolve(d, &t, e, sizeof(e));
            }
            scn_doc_free(d);
            if (rc) {
                err_set(err, errlen, "--grid %s=%s: %s", ax->key, ax->values[i],
                        e);
                /* a value's unit is the command line's mistake */
                return strstr(e, "needs a unit") || strstr(e, "unknown unit") ||
                               strstr(e, "with a unit")
                           ? PLAN_ERR_UNIT
                           : -1;
            }
        }
        pol_axis |= ax->is_policy;
    }
    if (!pol_axis) {
        struct pol_chain pc;
        memset(&pc, 0, sizeof(pc));
        struct scenario t = s;
        int rc = pol_chain_setup(&pc, sw->policy, &t, e, sizeof(e));
        pol_chain_free(&pc);
        if (rc) {
            err_set(err, errlen, "policy %s: %s", sw->policy, e);
            return -1;
        }
    }
    return 0;
}

/* The sweep's shape from cfg: seeds, shard, points; 0 or -1 with a
 * message. */
static int sweep_setup(struct sweep *sw, const struct plan_sweep_cfg *cfg,
                       struct plan_sweep_stats *st, char *err, size_t errlen)
{
    sw->cfg = cfg;
    sw->grid = cfg->grid;
    sw->seeds = cfg->seeds ? cfg->seeds : 1;
    sw->shard_n = cfg->shard_n ? cfg->shard_n : 1;
    sw->shard_i = cfg->shard_i ? cfg->shard_i : 1;
    sw->policy = cfg->policy ? cfg->policy : PLAN_DEFAULT_POLICY;
    uint64_t cells = plan_grid_cells(cfg->grid);
    if (cells == 0 || sw->seeds > PLAN_MAX_SEEDS ||
        cells > PLAN_MAX_POINTS / sw->seeds) {
        err_set(err, errlen, "the sweep has too many points");
        return -1;
    }
    if (sw->shard_i < 1 || sw->shard_i > sw->shard_n) {
        err_set(err, errlen, "shard %u/%u: I must be in 1..N", sw->shard_i,
                sw->shard_n);
        return -1;
    }
    sw->points = cells * sw->seeds;
    sw->count =
        plan_shard_count(sw->points, sw->shard_i, sw->shard_n, cfg->shard_mode);
    st->points = sw->points;
    st->shard_points = sw->count;
    sw->force_aggregate = !plan_doc_has(cfg->base, "sim.ram_mode") &&
                          plan_grid_find(cfg->grid, "sim.ram_mode") < 0;
    mig_options_default(&sw->mo);
    sw->mo.no_samples = true;
    sw->mo.no_events = true;
    return validate(sw, err, errlen);
}

/* The worker threads; the number started (0: none could be). */
static unsigned start_workers(struct sweep *sw, pthread_t *th, unsigned jobs)
{
    unsigned started = 0;
    pthread_mutex_lock(&sw->mu);
    for (unsigned j = 0; j < jobs; j++) {
        if (pthread_create(&th[j], NULL, worker, sw) != 0) {
            break;
        }
        started++;
        sw->alive++;
    }
    pthread_mutex_unlock(&sw->mu);
    return started;
}

static void stop_workers(struct sweep *sw, pthread_t *th, unsigned started)
{
    pthread_mutex_lock(&sw->mu);
    sw->stop = true;
    pthread_cond_broadcast(&sw->cv_work);
    pthread_mutex_unlock(&sw->mu);
    for (unsigned j = 0; j < started; j++) {
        pthread_join(th[j], NULL);
    }
}

/* The workers have stopped (or failed) and no point in flight is left. */
static bool workers_gone(const struct sweep *sw)
{
    return (sw->stop || sw->alive == 0) && sw->next_emit >= sw->next_claim;
}

static void add_s(struct timespec *ts, double s)
{
    long ns = ts->tv_nsec + (long)(s * 1e9);
    ts->tv_sec += ns / 1000000000L;
    ts->tv_nsec = ns % 1000000000L;
}

/*
 * Wait, outside any transaction, for the next batch: the next point in
 * order, then up to BATCH_S more for BATCH_POINTS in a row (or all that
 * are left) to be ready, so that fast points are committed many at a time
 * instead of one commit each time the writer catches up with the workers.
 * The number of points ready in a row from next_emit (at most max); 0,
 * with the message in err, if the workers stopped before the next one.
 */
static uint64_t wait_batch(struct sweep *sw, uint64_t max, double batch_s,
                           char *err, size_t errlen)
{
    pthread_mutex_lock(&sw->mu);
    uint64_t want =
        sw->count - sw->next_emit < max ? sw->count - sw->next_emit : max;
    sw->main_waiting = true;
    sw->wake_ready = sw->next_emit + 1;
    while (sw->ready_upto <= sw->next_emit && !workers_gone(sw)) {
        pthread_cond_wait(&sw->cv_main, &sw->mu);
    }
    if (sw->ready_upto > sw->next_emit && want > 1) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        add_s(&dl, batch_s);
        sw->wake_ready = sw->next_emit + want;
        while (sw->ready_upto < sw->wake_ready && !sw->stop && sw->alive > 0) {
            if (pthread_cond_timedwait(&sw->cv_main, &sw->mu, &dl) != 0) {
                break; /* timed out (or failed): commit what is ready */
            }
        }
    }
    sw->main_waiting = false;
    uint64_t n = sw->ready_upto - sw->next_emit;
    pthread_mutex_unlock(&sw->mu);
    if (n == 0) {
        if (sw->fatal[0]) {
            err_set(err, errlen, "%s", sw->fatal);
        } else {
            err_set(err, errlen, "the workers stopped early");
        }
    }
    return n < max ? n : max;
}

/* Store a ready point (inside the open batch).  0, or -1 with the
 * message in err. */
static int store_ready(struct sweep *sw, struct db *db, struct slot *sl,
                       char *err, size_t errlen)
{
    if (sl->fatal) {
        err_set(err, errlen, "%s", sl->err);
        return -1;
    }
    if (sl->status == PLAN_PT_RAN) {
        return store_point(sw, db, sl, err, errlen);
    }
    return 0;
}

/* Count a stored point and hand it to fn; the callback's code. */
static int report_point(struct slot *sl, plan_point_fn fn, void *ctx,
                        struct plan_sweep_stats *st)
{
    st->ran += sl->status == PLAN_PT_RAN;
    st->stored += sl->status == PLAN_PT_STORED;
    st->failed += sl->status == PLAN_PT_FAILED;
    if (!fn) {
        return 0;
    }
    struct plan_point p = {
        .index = sl->index,
        .coord = sl->coord,
        .seed_off = sl->seed_off,
        .seed = sl->seed,
        .policy = sl->policy,
        .key = sl->key,
        .run_id = sl->run_id,
        .status = sl->status,
        .error = sl->err,
        .m = sl->status == PLAN_PT_FAILED ? NULL : &sl->m,
        .scn = sl->status == PLAN_PT_RAN ? &sl->scn : NULL,
    };
    return fn(ctx, &p);
}

/* Commit the batch, then report its points in order and free their
 * slots.  *ret takes the first nonzero code; returns nonzero to stop. */
static int flush_batch(struct sweep *sw, struct db *db, uint64_t upto,
                       plan_point_fn fn, void *ctx, struct plan_sweep_stats *st,
                       int *ret, double t0, double *last_draw, char *err,
                       size_t errlen)
{
    int stop = 0;
    if (db_batch_commit(db, err, errlen) != 0) {
        *ret = PLAN_ERR_IO;
        return -1;
    }
    st->commits++;
    while (sw->next_emit < upto) {
        struct slot *sl = &sw->slots[sw->next_emit % WINDOW];
        int rc = stop ? 0 : report_point(sl, fn, ctx, st);
        if (rc && !*ret) {
            *ret = rc;
        }
        stop |= rc != 0;
        free(sl->json);
        sl->json = NULL;
        pthread_mutex_lock(&sw->mu);
        sl->state = SLOT_EMPTY;
        sw->next_emit++;
        if (stop) {
            sw->stop = true;
        }
        pthread_cond_broadcast(&sw->cv_work);
        pthread_mutex_unlock(&sw->mu);
        if (sw->cfg->progress) {
            double now = mono_s();
            if (now - *last_draw >= 0.1 || sw->next_emit == sw->count) {
                draw_progress(sw, t0, sw->next_emit == sw->count);
                *last_draw = now;
            }
        }
    }
    return stop;
}

/* Store the points in order as the workers finish them, BATCH_POINTS at
 * most per transaction (waiting at most BATCH_S for that many before one
 * begins), without ever waiting for a worker inside one; a point is
 * reported (its line printed) only after its transaction committed.  The
 * return code. */
#define BATCH_POINTS 64
#define BATCH_S      0.2
static int emit_all(struct sweep *sw, struct db *db, plan_point_fn fn,
                    void *ctx, struct plan_sweep_stats *st, double t0,
                    char *err, size_t errlen)
{
    int ret = 0;
    double last_draw = 0;
    while (sw->next_emit < sw->count) {
        uint64_t n = wait_batch(sw, BATCH_POINTS, BATCH_S, err, errlen);
        if (n == 0) {
            ret = PLAN_ERR_IO;
            break;
        }
        if (db_batch_begin(db, err, errlen) != 0) {
            ret = PLAN_ERR_IO;
            break;
        }
        uint64_t pos = sw->next_emit, upto = pos + n;
        bool failed = false;
        for (; pos < upto; pos++) {
            struct slot *sl = &sw->slots[pos % WINDOW];
            if (store_ready(sw, db, sl, err, errlen) != 0) {
                failed = true;
                break;
            }
        }
        if (failed) {
            /* keep what the batch holds before the failing point */
            char e2[400];
            flush_batch(sw, db, pos, fn, ctx, st, &ret, t0, &last_draw, e2,
                        sizeof(e2));
            ret = PLAN_ERR_IO;
            pthread_mutex_lock(&sw->mu);
            sw->stop = true;
            pthread_cond_broadcast(&sw->cv_work);
            pthread_mutex_unlock(&sw->mu);
            break;
        }
        if (flush_batch(sw, db, upto, fn, ctx, st, &ret, t0, &last_draw, err,
                        errlen)) {
            break;
        }
    }
    if (sw->cfg->progress && sw->next_emit < sw->count && sw->count) {
        draw_progress(sw, t0, true);
    }
    return ret;
}

int plan_sweep_run(const struct plan_sweep_cfg *cfg, plan_point_fn fn,
                   void *ctx, struct plan_sweep_stats *stats, char *err,
                   size_t errlen)
{
    struct plan_sweep_stats st;
    memset(&st, 0, sizeof(st));
    double t0 = mono_s();
    struct sweep *sw = calloc(1, sizeof(*sw));
    if (!sw) {
        err_set(err, errlen, "out of memory");
        if (stats) {
            *stats = st;
        }
        return -1;
    }
    int ret = -1;
    struct db *db = NULL;
    pthread_t *th = NULL;
    unsigned started = 0;
    bool locks = false;
    int su = sweep_setup(sw, cfg, &st, err, errlen);
    if (su) {
        ret = su;
        goto out;
    }
    db = db_open(cfg->db_path, err, errlen);
    if (!db) {
        ret = PLAN_ERR_IO;
        goto out;
    }
    unsigned jobs = cfg->jobs ? cfg->jobs : plan_default_jobs();
    if (jobs > sw->count) {
        jobs = sw->count ? (unsigned)sw->count : 1;
    }
    st.jobs = jobs;
    sw->slots = calloc(WINDOW, sizeof(*sw->slots));
    th = calloc(jobs, sizeof(*th));
    if (!sw->slots || !th) {
        err_set(err, errlen, "out of memory");
        goto out;
    }
    pthread_mutex_init(&sw->mu, NULL);
    pthread_cond_init(&sw->cv_main, NULL);
    pthread_cond_init(&sw->cv_work, NULL);
    locks = true;
    started = start_workers(sw, th, jobs);
    if (started == 0) {
        err_set(err, errlen, "cannot start worker threads");
        goto out;
    }
    ret = emit_all(sw, db, fn, ctx, &st, t0, err, errlen);
out:
    if (started) {
        stop_workers(sw, th, started);
    }
    if (sw->slots) {
        for (size_t i = 0; i < WINDOW; i++) {
            free(sw->slots[i].json);
        }
    }
    if (locks) {
        pthread_cond_destroy(&sw->cv_work);
        pthread_cond_destroy(&sw->cv_main);
        pthread_mutex_destroy(&sw->mu);
    }
    free(th);
    free(sw->slots);
    db_close(db);
    free(sw);
    st.wall_s = mono_s() - t0;
    if (stats) {
        *stats = st;
    }
    return ret;
}
