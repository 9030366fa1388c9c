/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_sweep.c — sweeps into real SQLite stores: shards merged equal
 * the unsplit sweep point by point, resuming skips finished points, an
 * incomplete run is replaced, order and results do not depend on the
 * number of jobs, bad points and bad grids are reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "plan/plan.h"
#include "engine/engine.h"
#include "store/db.h"

static char dir[64];

static const char *const SCN =
    "{\"name\": \"sweep test\", \"qemu\": \"9.2\", \"seed\": 3,"
    " \"vm\": {\"ram\": \"1GiB\", \"zero_fraction\": 0.5, \"vcpus\": 2},"
    " \"workload\": {\"kind\": \"uniform\", \"working_set\": \"256MiB\","
    "  \"dirty_rate\": \"32MiB/s\"},"
    " \"migration\": {\"downtime_limit\": \"300ms\", \"max_bandwidth\": "
    "\"128MiB/s\", \"time_limit\": \"20s\"},"
    " \"devices\": [{\"name\": \"vf0\", \"stop_copy_size\": \"8MiB\","
    "  \"precopy\": true, \"precopy_initial\": \"4MiB\"}]}";

static int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/migsim-test-sweep-XXXXXX");
    if (!mkdtemp(dir)) {
        return -1;
    }
    return 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *path(const char *name)
{
    static char buf[8][128];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
    return buf[k];
}

static struct scn_doc *doc(const char *json)
{
    char err[512];
    struct scn_doc *d = scn_doc_parse(json, "test", err, sizeof(err));
    if (!d) {
        fail_msg("%s", err);
    }
    return d;
}

static void grid3(struct plan_grid *g)
{
    char err[300];
    plan_grid_init(g);
    if (plan_grid_add(g, "migration.downtime_limit=100ms..400ms:100ms", err,
                      sizeof(err)) ||
        plan_grid_add(g, "workload.dirty_rate=16MiB/s,64MiB/s,160MiB/s", err,
                      sizeof(err)) ||
        plan_grid_add(g, "policy=qemu,cached-stop-size", err, sizeof(err))) {
        fail_msg("%s", err);
    }
}

/* What the callback saw, by point index. */
struct seen {
    size_t n, cap;
    uint64_t *index;
    char (*key)[65];
    uint64_t *seed;
    struct run_metrics *m;
    enum plan_point_status *st;
    int *ram_mode;
};

static int collect(void *ctx, const struct plan_point *p)
{
    struct seen *s = ctx;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->index = realloc(s->index, s->cap * sizeof(*s->index));
        s->key = realloc(s->key, s->cap * sizeof(*s->key));
        s->seed = realloc(s->seed, s->cap * sizeof(*s->seed));
        s->m = realloc(s->m, s->cap * sizeof(*s->m));
        s->st = realloc(s->st, s->cap * sizeof(*s->st));
        s->ram_mode = realloc(s->ram_mode, s->cap * sizeof(*s->ram_mode));
        assert_non_null(s->index);
        assert_non_null(s->key);
        assert_non_null(s->seed);
        assert_non_null(s->m);
        assert_non_null(s->st);
        assert_non_null(s->ram_mode);
    }
    s->index[s->n] = p->index;
    memcpy(s->key[s->n], p->key, 65);
    s->seed[s->n] = p->seed;
    if (p->m) {
        s->m[s->n] = *p->m;
    } else {
        memset(&s->m[s->n], 0, sizeof(s->m[s->n]));
    }
    s->st[s->n] = p->status;
    s->ram_mode[s->n] = p->scn ? (int)p->scn->ram.mode : -1;
    s->n++;
    return 0;
}

static void seen_free(struct seen *s)
{
    free(s->index);
    free(s->key);
    free(s->seed);
    free(s->m);
    free(s->st);
    free(s->ram_mode);
    memset(s, 0, sizeof(*s));
}

static struct plan_sweep_stats sweep(const struct scn_doc *d,
                                     const struct plan_grid *g, unsigned seeds,
                                     unsigned jobs, unsigned si, unsigned sn,
                                     enum plan_shard_mode mode, const char *db,
                                     struct seen *seen)
{
    struct plan_sweep_cfg c = {
        .base = d,
        .source_path = "test.json",
        .grid = g,
        .seeds = seeds,
        .jobs = jobs,
        .shard_i = si,
        .shard_n = sn,
        .shard_mode = mode,
        .db_path = db,
        .command_line = "test_sweep",
    };
    struct plan_sweep_stats st;
    char err[512];
    if (plan_sweep_run(&c, seen ? collect : NULL, seen, &st, err,
                       sizeof(err))) {
        fail_msg("sweep into %s: %s", db, err);
    }
    return st;
}

/* Every stored run of a store: key -> metrics (sorted by key). */
struct stored {
    size_t n;
    char (*key)[65];
    struct run_metrics *m;
    bool *complete;
};

static int cmp_key(const void *a, const void *b, void *ctx)
{
    const struct stored *s = ctx;
    return strcmp(s->key[*(const size_t *)a], s->key[*(const size_t *)b]);
}

static void load_all(const char *db_path, struct stored *out)
{
    char err[512];
    struct db *db = db_open_existing(db_path, err, sizeof(err));
    if (!db) {
        fail_msg("%s", err);
    }
    struct db_run_summary *list;
    size_t n;
    assert_int_equal(db_list(db, &list, &n, err, sizeof(err)), 0);
    struct stored raw = {n, calloc(n + 1, 65), calloc(n + 1, sizeof(*raw.m)),
                         calloc(n + 1, sizeof(bool))};
    assert_non_null(raw.key);
    for (size_t i = 0; i < n; i++) {
        struct db_run_meta m;
        struct run_result r;
        if (db_run_load(db, list[i].id, &m, &r, err, sizeof(err))) {
            fail_msg("%s", err);
        }
        memcpy(raw.key[i], m.run_key, 65);
        raw.m[i] = r.m;
        raw.complete[i] = m.complete;
        db_run_meta_free(&m);
        run_result_free(&r);
    }
    free(list);
    db_close(db);
    size_t *idx = calloc(n + 1, sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        idx[i] = i;
    }
    qsort_r(idx, n, sizeof(size_t), cmp_key, &raw);
    out->n = n;
    out->key = calloc(n + 1, 65);
    out->m = calloc(n + 1, sizeof(*out->m));
    out->complete = calloc(n + 1, sizeof(bool));
    for (size_t i = 0; i < n; i++) {
        memcpy(out->key[i], raw.key[idx[i]], 65);
        out->m[i] = raw.m[idx[i]];
        out->complete[i] = raw.complete[idx[i]];
    }
    free(idx);
    free(raw.key);
    free(raw.m);
    free(raw.complete);
}

static void stored_free(struct stored *s)
{
    free(s->key);
    free(s->m);
    free(s->complete);
}

/* Every metric field, as the store defines them, plus the rest. */
static void same_metrics(const struct run_metrics *a,
                         const struct run_metrics *b, const char *key)
{
    size_t nf;
    const struct db_field *f = db_metric_fields(&nf);
    for (size_t i = 0; i < nf; i++) {
        double x = db_field_value(&f[i], a), y = db_field_value(&f[i], b);
        if (!(x == y || (x != x && y != y))) {
            fail_msg("point %.12s: %s %.17g != %.17g", key, f[i].name, x, y);
        }
    }
    assert_int_equal(a->outcome, b->outcome);
    assert_string_equal(a->qemu, b->qemu);
    assert_string_equal(a->policy, b->policy);
    assert_true(a->fingerprint == b->fingerprint);
    assert_int_equal(a->n_devices, b->n_devices);
    for (unsigned k = 0; k < a->n_devices; k++) {
        assert_string_equal(a->devices[k].name, b->devices[k].name);
        assert_true(a->devices[k].stop_copy_bytes ==
                    b->devices[k].stop_copy_bytes);
        assert_true(a->devices[k].precopy_bytes == b->devices[k].precopy_bytes);
    }
}

static void same_stores(const char *a_path, const char *b_path, size_t want)
{
    struct stored a, b;
    load_all(a_path, &a);
    load_all(b_path, &b);
    assert_int_equal(a.n, want);
    assert_int_equal(b.n, want);
    for (size_t i = 0; i < a.n; i++) {
        assert_string_equal(a.key[i], b.key[i]);
        assert_true(a.complete[i] && b.complete[i]);
        same_metrics(&a.m[i], &b.m[i], a.key[i]);
        if (i) {
            assert_true(strcmp(a.key[i - 1], a.key[i]) < 0); /* no dups */
        }
    }
    stored_free(&a);
    stored_free(&b);
}

/* ---- tests -------------------------------------------------------------- */

static void shard_partition(void **state)
{
    (void)state;
    static const uint64_t P[] = {0, 1, 7, 100, 101};
    for (size_t a = 0; a < sizeof(P) / sizeof(P[0]); a++) {
        for (unsigned n = 1; n <= 7; n++) {
            for (int mode = 0; mode < 2; mode++) {
                unsigned char *hit = calloc(P[a] + 1, 1);
                uint64_t total = 0;
                for (unsigned i = 1; i <= n; i++) {
                    uint64_t c = plan_shard_count(P[a], i, n, mode);
                    total += c;
                    uint64_t prev = 0;
                    for (uint64_t k = 0; k < c; k++) {
                        uint64_t x = plan_shard_index(P[a], i, n, mode, k);
                        assert_true(x < P[a]);
                        assert_true(k == 0 || x > prev);
                        if (mode == PLAN_SHARD_MOD) {
                            assert_int_equal(x % n, i - 1);
                        }
                        hit[x]++;
                        prev = x;
                    }
                }
                assert_int_equal(total, P[a]);
                for (uint64_t x = 0; x < P[a]; x++) {
                    assert_int_equal(hit[x], 1);
                }
                free(hit);
            }
        }
    }
}

/* The check: a sweep split into shards and merged equals the
 * unsplit sweep, point by point (by key, every metric). */
static void shards_merged_equal_unsplit(void **state)
{
    (void)state;
    struct scn_doc *d = doc(SCN);
    struct plan_grid g;
    grid3(&g);
    size_t N = 4 * 3 * 2 * 2; /* x 2 seeds */
    struct plan_sweep_stats st =
        sweep(d, &g, 2, 2, 1, 1, PLAN_SHARD_MOD, path("all.db"), NULL);
    assert_int_equal(st.points, N);
    assert_int_equal(st.ran, N);
    assert_int_equal(st.failed, 0);
    uint64_t sum = 0;
    for (unsigned i = 1; i <= 3; i++) {
        char name[32];
        snprintf(name, sizeof(name), "mod%u.db", i);
        st = sweep(d, &g, 2, i, i, 3, PLAN_SHARD_MOD, path(name), NULL);
        assert_int_equal(st.ran, st.shard_points);
        sum += st.ran;
    }
    assert_int_equal(sum, N);
    const char *in[] = {path("mod1.db"), path("mod2.db"), path("mod3.db")};
    size_t copied, skipped;
    char err[512];
    assert_int_equal(
        db_merge(path("merged.db"), in, 3, &copied, &skipped, err, sizeof(err)),
        0);
    assert_int_equal(copied, N);
    assert_int_equal(skipped, 0);
    same_stores(path("all.db"), path("merged.db"), N);

    /* contiguous blocks, merged twice over: still each point once */
    sweep(d, &g, 2, 2, 1, 2, PLAN_SHARD_BLOCK, path("blk1.db"), NULL);
    sweep(d, &g, 2, 2, 2, 2, PLAN_SHARD_BLOCK, path("blk2.db"), NULL);
    const char *bin[] = {path("blk1.db"), path("blk2.db"), path("blk1.db")};
    assert_int_equal(db_merge(path("mergedb.db"), bin, 3, &copied, &skipped,
                              err, sizeof(err)),
                     0);
    assert_int_equal(copied, N);
    assert_int_equal(skipped, N / 2);
    same_stores(path("all.db"), path("mergedb.db"), N);

    /* the merged store is a finished sweep: nothing runs again */
    st = sweep(d, &g, 2, 2, 1, 1, PLAN_SHARD_MOD, path("merged.db"), NULL);
    assert_int_equal(st.ran, 0);
    assert_int_equal(st.stored, N);
    plan_grid_free(&g);
    scn_doc_free(d);
}

static void resume_skips_finished(void **state)
{
    (void)state;
    struct scn_doc *d = doc(SCN);
    struct plan_grid g;
    grid3(&g);
    size_t N = 24;
    struct seen first = {0}, again = {0};
    sweep(d, &g, 1, 2, 1, 2, PLAN_SHARD_MOD, path("res.db"), NULL);
    struct plan_sweep_stats st =
        sweep(d, &g, 1, 2, 1, 1, PLAN_SHARD_MOD, path("res.db"), &first);
    assert_int_equal(st.ran, N / 2);
    assert_int_equal(st.stored, N / 2);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(first.st[i],
                         i % 2 == 0 ? PLAN_PT_STORED : PLAN_PT_RAN);
    }
    st = sweep(d, &g, 1, 3, 1, 1, PLAN_SHARD_MOD, path("res.db"), &again);
    assert_int_equal(st.ran, 0);
    assert_int_equal(st.stored, N);
    for (size_t i = 0; i < N; i++) {
        assert_string_equal(first.key[i], again.key[i]);
        same_metrics(&first.m[i], &again.m[i], first.key[i]);
    }
    struct stored s;
    load_all(path("res.db"), &s);
    assert_int_equal(s.n, N);
    stored_free(&s);
    seen_free(&first);
    seen_free(&again);
    plan_grid_free(&g);
    scn_doc_free(d);
}

/* A run left incomplete (killed writer of another tool) is run again and
 * replaced, not counted as finished. */
static void incomplete_run_replaced(void **state)
{
    (void)state;
    struct scn_doc *d = doc(SCN);
    struct plan_grid g;
    char err[512];
    plan_grid_init(&g);
    assert_int_equal(plan_grid_add(&g, "migration.downtime_limit=100ms,200ms",
                                   err, sizeof(err)),
                     0);
    struct seen ref = {0};
    sweep(d, &g, 1, 1, 1, 1, PLAN_SHARD_MOD, path("ref.db"), &ref);
    struct db *db = db_open(path("stale.db"), err, sizeof(err));
    assert_non_null(db);
    struct db_run_meta m;
    db_run_meta_init(&m);
    m.kind = DB_KIND_SIM;
    snprintf(m.policy, sizeof(m.policy), "qemu");
    memcpy(m.run_key, ref.key[1], 65);
    int64_t id;
    assert_int_equal(db_run_begin(db, &m, &id, err, sizeof(err)), 0);
    db_close(db);
    struct plan_sweep_stats st =
        sweep(d, &g, 1, 1, 1, 1, PLAN_SHARD_MOD, path("stale.db"), NULL);
    assert_int_equal(st.ran, 2);
    assert_int_equal(st.stored, 0);
    same_stores(path("ref.db"), path("stale.db"), 2);
    seen_free(&ref);
    plan_grid_free(&g);
    scn_doc_free(d);
}

static void order_and_jobs(void **state)
{
    (void)state;
    struct scn_doc *d = doc(SCN);
    struct plan_grid g;
    grid3(&g);
    struct seen one = {0}, four = {0};
    sweep(d, &g, 3, 1, 1, 1, PLAN_SHARD_MOD, path("j1.db"), &one);
    sweep(d, &g, 3, 4, 1, 1, PLAN_SHARD_MOD, path("j4.db"), &four);
    assert_int_equal(one.n, 72);
    assert_int_equal(four.n, 72);
    for (size_t i = 0; i < one.n; i++) {
        assert_int_equal(one.index[i], i); /* in point order */
        assert_int_equal(four.index[i], i);
        assert_int_equal(one.seed[i], 3 + i % 3); /* seed fastest */
        assert_string_equal(one.key[i], four.key[i]);
        same_metrics(&one.m[i], &four.m[i], one.key[i]);
        assert_int_equal(one.ram_mode[i], RAM_MODE_AGGREGATE);
    }
    /* the policy axis varies faster than dirty_rate, slower than seeds */
    assert_string_equal(one.m[0].policy, "qemu");
    assert_string_equal(one.m[3].policy, "cached-stop-size");
    /* distinct points, distinct keys */
    for (size_t i = 1; i < one.n; i++) {
        assert_true(strcmp(one.key[i], one.key[i - 1]) != 0);
    }
    seen_free(&one);
    seen_free(&four);
    plan_grid_free(&g);
    scn_doc_free(d);
}

/* Fast points are committed many to a transaction: the writer waits for
 * a batch before it begins one, instead of committing each time it catches
 * up with the workers (which made one transaction per point). */
static void fast_points_batched(void **state)
{
    (void)state;
    struct scn_doc *d = doc(SCN);
    char err[512];
    assert_int_equal(
        scn_doc_set(d, "migration.time_limit=\"2s\"", err, sizeof(err)), 0);
    struct plan_grid g;
    plan_grid_init(&g);
    assert_int_equal(plan_grid_add(&g, "migration.downtime_limit=10ms..2s:10ms",
                                   err, sizeof(err)),
                     0);
    for (unsigned jobs = 1; jobs <= 2; jobs++) {
        struct seen s = {0};
        char name[32];
        snprintf(name, sizeof(name), "batch-j%u.db", jobs);
        struct plan_sweep_stats st =
            sweep(d, &g, 2, jobs, 1, 1, PLAN_SHARD_MOD, path(name), &s);
        assert_int_equal(st.ran, 400);
        assert_int_equal(s.n, 400);
        for (size_t i = 0; i < s.n; i++) {
            assert_int_equal(s.index[i], i);
        }
        /* 400 points of 64 at most: 7 full batches; a few more only if a
         * batch waited its 0.2 s out */
        assert_in_range(st.commits, 7, 40);
        seen_free(&s);
    }
    plan_grid_free(&g);
    scn_doc_free(d);
}

static void page_mode_kept(void **state)
{
    (void)state;
    struct scn_doc *d = doc(SCN);
    char err[512];
    assert_int_equal(scn_doc_set(d, "sim.ram_mode=\"page\"", err, sizeof(err)),
                     0);
    struct plan_grid g;
    plan_grid_init(&g);
    assert_int_equal(
        plan_grid_add(&g, "migration.downtime_limit=300ms", err, sizeof(err)),
        0);
    struct seen s = {0};
    sweep(d, &g, 1, 1, 1, 1, PLAN_SHARD_MOD, path("page.db"), &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ram_mode[0], RAM_MODE_PAGE);
    seen_free(&s);
    plan_grid_free(&g);
    scn_doc_free(d);
}

static void bad_points_and_grids(void **state)
{
    (void)state;
    struct scn_doc *d = doc(SCN);
    char err[512];
    struct plan_grid g;
    plan_grid_init(&g);
    /* each value is fine alone; QEMU 7.2 has no switchover-ack */
    assert_int_equal(plan_grid_add(&g, "qemu=9.1,7.2", err, sizeof(err)), 0);
    assert_int_equal(plan_grid_add(&g, "migration.switchover_ack=false,true",
                                   err, sizeof(err)),
                     0);
    struct seen s = {0};
    struct plan_sweep_stats st =
        sweep(d, &g, 1, 2, 1, 1, PLAN_SHARD_MOD, path("bad.db"), &s);
    assert_int_equal(st.ran, 3);
    assert_int_equal(st.failed, 1);
    assert_int_equal(s.st[3], PLAN_PT_FAILED);
    seen_free(&s);
    plan_grid_free(&g);

    static const char *const bad[] = {
        "migration.downtime_limit=0ms,300ms",
        "migration.no_such_key=1",
        "policy=qemu,no-such-policy",
        "workload.dirty_rate=fast",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        plan_grid_init(&g);
        assert_int_equal(plan_grid_add(&g, bad[i], err, sizeof(err)), 0);
        struct plan_sweep_cfg c = {
            .base = d, .grid = &g, .db_path = path("never.db")};
        err[0] = '\0';
        assert_int_equal(plan_sweep_run(&c, NULL, NULL, NULL, err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "--grid"));
        plan_grid_free(&g);
    }
    /* a value without its unit: the command line's mistake */
    plan_grid_init(&g);
    assert_int_equal(
        plan_grid_add(&g, "migration.downtime_limit=500", err, sizeof(err)), 0);
    struct plan_sweep_cfg cu = {
        .base = d, .grid = &g, .db_path = path("never.db")};
    assert_int_equal(plan_sweep_run(&cu, NULL, NULL, NULL, err, sizeof(err)),
                     PLAN_ERR_UNIT);
    assert_non_null(strstr(err, "migration.downtime_limit"));
    plan_grid_free(&g);
    assert_int_equal(access(path("never.db"), F_OK), -1); /* nothing ran */
    scn_doc_free(d);
}

int main(void)
{
    sim_gsl_quiet();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shard_partition),
        cmocka_unit_test(shards_merged_equal_unsplit),
        cmocka_unit_test(resume_skips_finished),
        cmocka_unit_test(incomplete_run_replaced),
        cmocka_unit_test(order_and_jobs),
        cmocka_unit_test(fast_points_batched),
        cmocka_unit_test(page_mode_kept),
        cmocka_unit_test(bad_points_and_grids),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
