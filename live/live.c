/* SPDX-License-Identifier: GPL-3.0-or-later */
/* live/live.c — a live session: poll query-migrate, record, advise, steer. */
#include "live/live.h"
#include "run/qmp_params.h"
#include "base/err.h"
#include "base/term.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run/scenario.h"
#include "base/units.h"
#include "store/db.h"

#define MS         ((int64_t)1000000)
#define FLUSH_NS   ((int64_t)1000000000)
#define MAX_FAULTS 5 /* consecutive failed polls before giving up */

static int64_t epoch_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- parsing ------------------------------------------------------------ */

/* Numbers from QMP are checked before they are used: a null member (what
 * the QMP client makes of QEMU's nan/inf) is missing; a counter must be a
 * non-negative number below 2^63 (sums and products stay defined); a time
 * in ms must lie in [0, LIVE_MAX_MS] (then ms x 10^6 fits int64 ns), except
 * QEMU's estimate expected-downtime, which is capped there. */
#define LIVE_MAX_MS    ((int64_t)1000000000000) /* 10^12 ms, ~31.7 years */
#define LIVE_MAX_COUNT 9223372036854775807.0    /* 2^63 - 1 */

static int get_u64(const json_t *o, const char *key, uint64_t *out,
                   const char *where, char *err, size_t errlen)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = 0;
        return 0;
    }
    double d = json_is_number(v) ? json_number_value(v) : -1;
    if (!json_is_number(v) || !(d >= 0)) {
        err_set(err, errlen, "%s: '%s' is not a non-negative number", where,
                key);
        return -1;
    }
    if (json_is_real(v) && !(d < LIVE_MAX_COUNT)) {
        err_set(err, errlen, "%s: '%s' = %g is out of range (at most 2^63-1)",
                where, key, d);
        return -1;
    }
    *out = qmp_get_u64(o, key, 0);
    if (*out > (uint64_t)INT64_MAX) {
        err_set(err, errlen,
                "%s: '%s' = %" PRIu64 " is out of range (at most 2^63-1)",
                where, key, *out);
        return -1;
    }
    return 0;
}

static int get_ms(const json_t *o, const char *key, int64_t *out, bool cap,
                  const char *where, char *err, size_t errlen)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = -1;
        return 0;
    }
    if (!json_is_number(v)) {
        err_set(err, errlen, "%s: '%s' is not a number", where, key);
        return -1;
    }
    double d = json_number_value(v);
    if (!(d >= 0) || (!cap && !(d <= (double)LIVE_MAX_MS))) {
        err_set(err, errlen,
                "%s: '%s' = %g ms is out of range (0 to %" PRId64 " ms)", where,
                key, d, LIVE_MAX_MS);
        return -1;
    }
    if (!(d <= (double)LIVE_MAX_MS)) {
        *out = LIVE_MAX_MS;
    } else if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
    } else {
        *out = (int64_t)d;
    }
    return 0;
}

/* A real-valued member in [0, max]; null or absent: 0. */
static int get_real(const json_t *o, const char *key, double max, double *out,
                    const char *where, char *err, size_t errlen)
{
    const json_t *v = json_object_get(o, key);
    *out = 0;
    if (!v || json_is_null(v)) {
        return 0;
    }
    if (!json_is_number(v)) {
        err_set(err, errlen, "%s: '%s' is not a number", where, key);
        return -1;
    }
    double d = json_number_value(v);
    if (!(d >= 0 && d <= max)) {
        err_set(err, errlen, "%s: '%s' = %g is out of range (0 to %g)", where,
                key, d, max);
        return -1;
    }
    *out = d;
    return 0;
}

int live_parse_migrate(const json_t *ret, struct live_mig *m, char *err,
                       size_t errlen)
{
    memset(m, 0, sizeof(*m));
    if (!json_is_object(ret)) {
        err_set(err, errlen, "query-migrate: the reply is not a JSON object");
        return -1;
    }
    const json_t *st = json_object_get(ret, "status");
    if (st && !json_is_string(st)) {
        err_set(err, errlen, "query-migrate: 'status' is not a string");
        return -1;
    }
    snprintf(m->status, sizeof(m->status), "%s",
             st ? json_string_value(st) : "none");
    const char *w = "query-migrate";
    if (get_ms(ret, "total-time", &m->total_ms, false, w, err, errlen) ||
        get_ms(ret, "setup-time", &m->setup_ms, false, w, err, errlen) ||
        get_ms(ret, "downtime", &m->downtime_ms, false, w, err, errlen) ||
        get_ms(ret, "expected-downtime", &m->expected_downtime_ms, true, w, err,
               errlen) ||
        get_real(ret, "cpu-throttle-percentage", 100, &m->throttle_pct, w, err,
                 errlen) ||
        get_u64(ret, "dirty-limit-throttle-time-per-round",
                &m->dirty_limit_throttle_us, w, err, errlen) ||
        get_u64(ret, "dirty-limit-ring-full-time", &m->dirty_limit_ring_full_us,
                w, err, errlen)) {
        return -1;
    }
    m->has_dirty_limit =
        json_object_get(ret, "dirty-limit-throttle-time-per-round") != NULL;
    snprintf(m->error_desc, sizeof(m->error_desc), "%s",
             qmp_get_str(ret, "error-desc", ""));
    const json_t *vfio = json_object_get(ret, "vfio");
    if (json_is_object(vfio) &&
        get_u64(vfio, "transferred", &m->vfio_transferred_bytes,
                "query-migrate vfio", err, errlen)) {
        return -1;
    }
    const json_t *ram = json_object_get(ret, "ram");
    if (!ram) {
        return 0;
    }
    if (!json_is_object(ram)) {
        err_set(err, errlen, "query-migrate: 'ram' is not an object");
        return -1;
    }
    m->has_ram = true;
    w = "query-migrate ram";
    if (get_u64(ram, "transferred", &m->transferred_bytes, w, err, errlen) ||
        get_u64(ram, "remaining", &m->remaining_bytes, w, err, errlen) ||
        get_u64(ram, "total", &m->total_bytes, w, err, errlen) ||
        get_u64(ram, "duplicate", &m->duplicate_pages, w, err, errlen) ||
        get_u64(ram, "normal", &m->normal_pages, w, err, errlen) ||
        get_u64(ram, "normal-bytes", &m->normal_bytes, w, err, errlen) ||
        get_u64(ram, "dirty-pages-rate", &m->dirty_pages_rate, w, err,
                errlen) ||
        get_u64(ram, "dirty-sync-count", &m->dirty_sync_count, w, err,
                errlen) ||
        get_u64(ram, "page-size", &m->page_bytes, w, err, errlen) ||
        get_u64(ram, "precopy-bytes", &m->precopy_bytes, w, err, errlen) ||
        get_u64(ram, "downtime-bytes", &m->downtime_bytes, w, err, errlen) ||
        get_u64(ram, "postcopy-bytes", &m->postcopy_bytes, w, err, errlen)) {
        return -1;
    }
    /* 10^9 Mbit/s: far above any link, and x 10^6 / 8 stays exact */
    if (get_real(ram, "mbps", 1e9, &m->mbps, w, err, errlen)) {
        return -1;
    }
    if (m->page_bytes == 0) {
        m->page_bytes = 4096;
    }
    return 0;
}

int live_parse_params(const json_t *ret, struct live_params *p, char *err,
                      size_t errlen)
{
    memset(p, 0, sizeof(*p));
    if (!json_is_object(ret)) {
        err_set(err, errlen,
                "query-migrate-parameters: the reply is not a JSON object");
        return -1;
    }
    const char *w = "query-migrate-parameters";
    uint64_t dl = 0;
    const char *avail = qmp_param_name(QP_AVAIL_SWITCHOVER_BW);
    if (get_u64(ret, qmp_param_name(QP_DOWNTIME_LIMIT), &dl, w, err, errlen) ||
        get_u64(ret, qmp_param_name(QP_MAX_BANDWIDTH), &p->max_bandwidth_bps, w,
                err, errlen) ||
        get_u64(ret, avail, &p->avail_switchover_bandwidth_bps, w, err,
                errlen)) {
        return -1;
    }
    if (dl > QMP_DOWNTIME_LIMIT_MAX_MS) {
        err_set(err, errlen,
                "%s: '%s' = %" PRIu64 " ms is out of range (QEMU allows up to "
                "%d ms)",
                w, qmp_param_name(QP_DOWNTIME_LIMIT), dl,
                QMP_DOWNTIME_LIMIT_MAX_MS);
        return -1;
    }
    p->downtime_limit_ns = (int64_t)qmp_param_from_qmp(QP_DOWNTIME_LIMIT, dl);
    p->has_avail = json_object_get(ret, avail) != NULL;
    return 0;
}

/* ---- advice ------------------------------------------------------------- */

static double bandwidth_bps(const struct live_mig *m)
{
    return m->mbps * 1e6 / 8.0;
}

void live_advise(const struct live_mig *m, int64_t limit_ns,
                 const int64_t *history, size_t n, struct live_advice *a)
{
    memset(a, 0, sizeof(*a));
    double bw = bandwidth_bps(m);
    /* Before the first full pass, and until a dirty rate is measured,
     * QEMU's expected-downtime is still its initial value (the limit). */
    if (!m->has_ram || bw <= 0 || m->dirty_sync_count < 2 ||
        (m->dirty_pages_rate == 0 && m->dirty_sync_count < 3)) {
        snprintf(a->text, sizeof(a->text), "measuring");
        return;
    }
    int64_t exp_ns;
    if (m->expected_downtime_ms >= 0) {
        exp_ns = m->expected_downtime_ms * MS;
    } else {
        exp_ns = (int64_t)((double)m->remaining_bytes / bw * 1e9);
    }
    /* QEMU rounds expected-downtime down to a ms; ask for the next one. */
    int64_t need_ns = (exp_ns / MS + 1) * MS;
    a->needed_ns = need_ns;
    double dirty = (double)m->dirty_pages_rate * (double)m->page_bytes;
    char lim[24], need[24], d[24], b[24];
    units_fmt_time(limit_ns, lim, sizeof(lim));
    units_fmt_time(need_ns, need, sizeof(need));
    units_fmt_rate(dirty, d, sizeof(d));
    units_fmt_rate(bw, b, sizeof(b));
    if (exp_ns <= limit_ns) {
        char e[24];
        units_fmt_time(exp_ns, e, sizeof(e));
        a->verdict = LIVE_ADV_ON_TRACK;
        snprintf(a->text, sizeof(a->text),
                 "on track: expected downtime %s within the %s limit", e, lim);
        return;
    }
    bool stalled = false;
    if (n >= 3) {
        stalled = true;
        for (size_t i = 1; i < n; i++) {
            if (history[i] < history[0] * 95 / 100) {
                stalled = false; /* fell by 5 % or more */
            }
        }
    }
    if (dirty >= 0.9 * bw || stalled) {
        a->verdict = LIVE_ADV_NO_CONVERGE;
        snprintf(a->text, sizeof(a->text),
                 "will not converge at this rate (dirty %s, bandwidth %s); "
                 "needs >= %s",
                 d, b, need);
        return;
    }
    a->verdict = LIVE_ADV_CONVERGING;
    snprintf(a->text, sizeof(a->text),
             "converging: dirty %s < bandwidth %s; switchover once the "
             "expected downtime (%s) falls below %s",
             d, b, need, lim);
}

/* ---- session ------------------------------------------------------------ */

void live_opts_default(struct live_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->interval_ns = 100 * MS;
    o->cmd_timeout_ns = 5000 * MS;
    o->progress_every_ns = 1000 * MS;
    o->pass_events = true;
}

static int64_t now_rel(const struct live_session *s)
{
    return s->started ? qmp_now_ns() - s->t0_ns : 0;
}

void live_session_note(struct live_session *s, enum run_event_kind kind,
                       uint64_t value, int64_t dur_ns, const char *fmt, ...)
{
    char text[sizeof(((struct run_event *)0)->text)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    run_result_add_event(&s->res, now_rel(s), kind, value, dur_ns, "%s", text);
}

static void say(struct live_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(struct live_session *s, const char *fmt, ...)
{
    if (!s->o.progress) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char msg[2048];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(s->o.progress, "[%7.2fs] ", (double)now_rel(s) / 1e9);
    term_fputs(msg, s->o.progress); /* QMP texts: control bytes escaped */
    fputc('\n', s->o.progress);
    fflush(s->o.progress);
    va_end(ap);
}

static int read_params(struct live_session *s, struct live_params *p, char *err,
                       size_t errlen)
{
    json_t *ret = NULL;
    int r = qmp_execute(s->qmp, "query-migrate-parameters", NULL,
                        s->o.cmd_timeout_ns, &ret, err, errlen);
    if (r != QMP_OK) {
        return r;
    }
    r = live_parse_params(ret, p, err, errlen) ? QMP_E_PROTO : QMP_OK;
    json_decref(ret);
    return r;
}

static int read_caps(struct live_session *s, char *err, size_t errlen)
{
    json_t *ret = NULL;
    int r = qmp_execute(s->qmp, "query-migrate-capabilities", NULL,
                        s->o.cmd_timeout_ns, &ret, err, errlen);
    if (r != QMP_OK) {
        return r;
    }
    if (!json_is_array(ret)) {
        json_decref(ret);
        err_set(err, errlen,
                "query-migrate-capabilities: the reply is not an "
                "array");
        return QMP_E_PROTO;
    }
    size_t i;
    json_t *c;
    json_array_foreach(ret, i, c)
    {
        const char *name = qmp_get_str(c, "capability", "");
        bool on = json_is_true(json_object_get(c, "state"));
        if (strcmp(name, "events") == 0) {
            s->events_cap = on;
        } else if (strcmp(name, "postcopy-ram") == 0) {
            s->postcopy_cap = on;
        }
    }
    json_decref(ret);
    return QMP_OK;
}

/* Set one migration parameter; v in migsim units (ns, bytes/s), converted
 * as run/qmp_params.h says. */
static int set_param(struct live_session *s, enum qmp_param_id id, uint64_t v,
                     char *err, size_t errlen)
{
    json_t *args = json_pack("{s:I}", qmp_param_name(id),
                             (json_int_t)qmp_param_to_qmp(id, v));
    int r = qmp_execute(s->qmp, "migrate-set-parameters", args,
                        s->o.cmd_timeout_ns, NULL, err, errlen);
    json_decref(args);
    return r;
}

static int set_cap(struct live_session *s, const char *name, bool on, char *err,
                   size_t errlen)
{
    json_t *args = json_pack("{s:[{s:s, s:b}]}", "capabilities", "capability",
                             name, "state", on);
    int r = qmp_execute(s->qmp, "migrate-set-capabilities", args,
                        s->o.cmd_timeout_ns, NULL, err, errlen);
    json_decref(args);
    return r;
}

/* Scenario the policy chain is configured against: what QEMU tells. */
static int setup_policy(struct live_session *s, char *err, size_t errlen)
{
    struct scenario sc;
    scn_defaults(&sc);
    unsigned model = 0;
    if (scn_qemu_from_name(s->qemu_model, &model) != 0) {
        model =
            qmp_version_num(s->qmp) < qv_oldest() ? qv_oldest() : qv_newest();
        if (s->o.progress) {
            fprintf(s->o.progress,
                    "note: QEMU %s is not a modelled version; the policy "
                    "runs with the %s rules\n",
                    qmp_version(s->qmp), scn_qemu_name(model));
        }
    }
    sc.qemu = model;
    json_t *ret = NULL;
    if (qmp_execute(s->qmp, "query-memory-size-summary", NULL,
                    s->o.cmd_timeout_ns, &ret, NULL, 0) == QMP_OK) {
        uint64_t ram = qmp_get_u64(ret, "base-memory", 0);
        if (ram && ram <= ((uint64_t)1 << 50)) { /* 1 PiB: beyond is noise */
            sc.ram_bytes = ram;
            sc.ram.ram_bytes = ram;
        }
        json_decref(ret);
    }
    sc.downtime_limit_ns = s->params.downtime_limit_ns;
    sc.max_bandwidth_bps = s->params.max_bandwidth_bps;
    sc.postcopy_ram = s->postcopy_cap;
    struct scenario before = sc;
    if (pol_chain_setup(&s->chain, s->o.policy, &sc, err, errlen) != 0) {
        pol_chain_free(&s->chain);
        return -1;
    }
    s->have_chain = true;
    /* What configure() changed can only be done before the migration. */
    struct {
        bool differs;
        const char *what;
    } ch[] = {
        {sc.auto_converge != before.auto_converge, "capability auto-converge"},
        {sc.postcopy_ram != before.postcopy_ram, "capability postcopy-ram"},
        {sc.downtime_limit_ns != before.downtime_limit_ns, "downtime-limit"},
        {sc.max_bandwidth_bps != before.max_bandwidth_bps, "max-bandwidth"},
    };
    for (size_t i = 0; i < sizeof(ch) / sizeof(ch[0]); i++) {
        if (!ch[i].differs) {
            continue;
        }
        int r = QMP_OK;
        char e2[256] = "";
        if (s->o.apply) {
            if (i == 0) {
                r = set_cap(s, "auto-converge", sc.auto_converge, e2,
                            sizeof(e2));
            } else if (i == 1) {
                r = set_cap(s, "postcopy-ram", sc.postcopy_ram, e2, sizeof(e2));
                s->postcopy_cap =
                    r == QMP_OK ? sc.postcopy_ram : s->postcopy_cap;
            } else if (i == 2) {
                r = set_param(s, QP_DOWNTIME_LIMIT,
                              (uint64_t)sc.downtime_limit_ns, e2, sizeof(e2));
            } else {
                r = set_param(s, QP_MAX_BANDWIDTH, sc.max_bandwidth_bps, e2,
                              sizeof(e2));
            }
        }
        if (s->o.progress) {
            if (!s->o.apply) {
                fprintf(s->o.progress, "advice: the policy sets %s\n",
                        ch[i].what);
            } else if (r == QMP_OK) {
                fprintf(s->o.progress, "applied: %s (policy configuration)\n",
                        ch[i].what);
            } else {
                char safe[512];
                fprintf(s->o.progress, "could not apply %s: %s\n", ch[i].what,
                        term_safe(e2, safe, sizeof(safe)));
            }
        }
    }
    if (s->o.apply && (sc.auto_converge != before.auto_converge ||
                       sc.downtime_limit_ns != before.downtime_limit_ns ||
                       sc.max_bandwidth_bps != before.max_bandwidth_bps)) {
        read_params(s, &s->params, NULL, 0);
    }
    return 0;
}

int live_session_init(struct live_session *s, struct qmp_conn *q,
                      const struct live_opts *o, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->qmp = q;
    s->o = *o;
    if (s->o.interval_ns <= 0) {
        s->o.interval_ns = 100 * MS;
    }
    if (s->o.cmd_timeout_ns <= 0) {
        s->o.cmd_timeout_ns = 5000 * MS;
    }
    if (s->o.progress_every_ns <= 0) {
        s->o.progress_every_ns = 1000 * MS;
    }
    run_result_init(&s->res);
    s->status = MIG_STATUS_NONE;
    unsigned v = qmp_version_num(q);
    snprintf(s->qemu_model, sizeof(s->qemu_model), "%u.%u", v / 100, v % 100);
    snprintf(s->qemu_version, sizeof(s->qemu_version), "%s", qmp_version(q));
    s->first_status = true;
    s->checker = mig_status_checker_new(v);
    if (!s->checker) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    mig_status_checker_set_position(s->checker, MIG_POS_NS, NULL);
    if (read_caps(s, err, errlen) != QMP_OK ||
        read_params(s, &s->params, err, errlen) != QMP_OK) {
        return -1;
    }
    if (s->o.enable_events && !s->events_cap) {
        json_t *ret = NULL;
        struct live_mig m;
        if (qmp_execute(q, "query-migrate", NULL, s->o.cmd_timeout_ns, &ret,
                        err, errlen) != QMP_OK) {
            return -1;
        }
        enum mig_status st = MIG_STATUS_NONE;
        if (live_parse_migrate(ret, &m, NULL, 0) == 0) {
            mig_status_from_name(m.status, &st);
        }
        json_decref(ret);
        if (!mig_status_is_running(st) &&
            set_cap(s, "events", true, NULL, 0) == QMP_OK) {
            s->events_cap = true;
            if (s->o.progress) {
                fprintf(s->o.progress, "turned the events capability on\n");
            }
        }
    }
    if (s->o.policy && *s->o.policy && setup_policy(s, err, errlen) != 0) {
        return LIVE_E_POLICY;
    }
    snprintf(s->res.m.qemu, sizeof(s->res.m.qemu), "%s", s->qemu_model);
    snprintf(s->res.m.policy, sizeof(s->res.m.policy), "%s",
             s->o.policy ? s->o.policy : "");
    s->res.m.outcome = RUN_INCOMPLETE;
    return 0;
}

static void flush_store(struct live_session *s, bool force)
{
    if (!s->o.db || !s->run_id || s->store_failed) {
        return;
    }
    int64_t now = qmp_now_ns();
    if (!force && now - s->last_flush_ns < FLUSH_NS) {
        return;
    }
    s->last_flush_ns = now;
    char err[512];
    if (s->res.n_samples > s->saved_samples) {
        if (db_run_add_samples(
                s->o.db, s->run_id, s->res.samples + s->saved_samples,
                s->res.n_samples - s->saved_samples, err, sizeof(err)) != 0) {
            goto failed;
        }
        s->saved_samples = s->res.n_samples;
    }
    if (s->res.n_events > s->saved_events) {
        if (db_run_add_events(
                s->o.db, s->run_id, s->res.events + s->saved_events,
                s->res.n_events - s->saved_events, err, sizeof(err)) != 0) {
            goto failed;
        }
        s->saved_events = s->res.n_events;
    }
    return;
failed:
    s->store_failed = true;
    say(s,
        "warning: run store: %s (observation continues, --format json "
        "still has everything)",
        err);
}

static void set_status(struct live_session *s, const char *name, bool polled)
{
    enum mig_status st;
    if (mig_status_from_name(name, &st) != 0) {
        live_session_note(s, RUN_EV_NOTE, 0, 0, "unknown status '%s'", name);
        say(s, "warning: QEMU reports an unknown migration status '%s'", name);
        return;
    }
    if (st == s->status) {
        return;
    }
    uint64_t pos = (uint64_t)now_rel(s);
    enum mig_status from = s->status;
    if (s->first_status) {
        /* attached to a QEMU whose history we did not see */
        s->first_status = false;
        if (st != MIG_STATUS_SETUP) {
            mig_status_checker_resync(s->checker);
        }
    }
    bool direct = mig_status_allowed(from, st, qmp_version_num(s->qmp));
    if (polled && !direct) {
        /* A poll may miss a short-lived state: accept one in between. */
        for (int k = 0; k < MIG_STATUS__COUNT; k++) {
            if (mig_status_allowed(from, (enum mig_status)k, 0) &&
                mig_status_allowed((enum mig_status)k, st, 0)) {
                mig_status_checker_resync(s->checker);
                break;
            }
        }
    }
    if (mig_status_checker_feed(s->checker, st, pos) != 0) {
        size_t n = mig_status_checker_count(s->checker);
        const struct mig_status_violation *v =
            mig_status_checker_violation(s->checker, n - 1);
        if (v) {
            live_session_note(s, RUN_EV_NOTE, 0, 0, "%s", v->msg);
            say(s, "warning: status machine: %s", v->msg);
        }
    }
    s->status = st;
    live_session_note(s, RUN_EV_STATE, 0, 0, "%s", name);
    say(s, "status %s", name);
    if (mig_status_in_postcopy(st)) {
        s->res.m.postcopy = true;
    }
}

static void process_events(struct live_session *s)
{
    json_t *e;
    while ((e = qmp_event_pop(s->qmp)) != NULL) {
        const char *name = qmp_get_str(e, "event", "");
        const json_t *data = json_object_get(e, "data");
        if (strcmp(name, "MIGRATION") == 0) {
            const char *st = qmp_get_str(data, "status", NULL);
            if (st) {
                set_status(s, st, false);
            }
        } else if (strcmp(name, "MIGRATION_PASS") == 0) {
            if (s->o.pass_events) {
                uint64_t pass = qmp_get_u64(data, "pass", 0);
                live_session_note(s, RUN_EV_SYNC, 0, 0, "pass %" PRIu64, pass);
            }
        } else if (strcmp(name, "STOP") == 0 || strcmp(name, "RESUME") == 0 ||
                   strcmp(name, "SHUTDOWN") == 0) {
            if (strcmp(name, "SHUTDOWN") != 0) {
                s->guest_paused = name[0] == 'S';
            }
            live_session_note(s, RUN_EV_NOTE, 0, 0, "QEMU event %s", name);
        }
        json_decref(e);
    }
}

static void add_sample(struct live_session *s, const struct live_mig *m)
{
    struct run_sample x;
    memset(&x, 0, sizeof(x));
    x.t_ns = now_rel(s);
    x.iteration = m->dirty_sync_count;
    x.estimate_bytes = m->remaining_bytes;
    x.ram_dirty_bytes = m->remaining_bytes;
    x.bandwidth_bps = bandwidth_bps(m);
    x.threshold_bytes =
        (uint64_t)(x.bandwidth_bps * (double)s->params.downtime_limit_ns / 1e9);
    x.dirty_rate_bps = m->dirty_pages_rate * m->page_bytes;
    x.sent_bytes = m->transferred_bytes >= s->last_transferred
                       ? m->transferred_bytes - s->last_transferred
                       : 0;
    s->last_transferred = m->transferred_bytes;
    x.downtime_limit_ns = s->params.downtime_limit_ns;
    x.throttle_pct = m->throttle_pct;
    x.expected_downtime_ns = m->expected_downtime_ms > 0
                                 ? (uint64_t)m->expected_downtime_ms * MS
                                 : 0;
    if (run_result_add_sample(&s->res, &x) != 0) {
        say(s, "warning: out of memory for samples");
    }
    if (m->throttle_pct != s->last_throttle) {
        live_session_note(s, RUN_EV_THROTTLE, (uint64_t)m->throttle_pct, 0,
                          "cpu-throttle-percentage %.0f", m->throttle_pct);
        s->last_throttle = m->throttle_pct;
    }
    if (m->throttle_pct > s->res.m.max_throttle_pct) {
        s->res.m.max_throttle_pct = m->throttle_pct;
    }
    if (m->expected_downtime_ms >= 0 && strcmp(m->status, "active") == 0) {
        s->res.m.expected_downtime_ns = m->expected_downtime_ms * MS;
    }
}

static void begin_run(struct live_session *s, const struct live_mig *m)
{
    s->started = true;
    s->t0_ns = qmp_now_ns();
    s->t0_epoch_ns = epoch_ns();
    s->last_flush_ns = s->t0_ns;
    s->last_progress_ns = s->t0_ns - s->o.progress_every_ns;
    say(s,
        "migration seen: status %s, QEMU %s, downtime-limit %" PRId64
        " ms, max-bandwidth %" PRIu64 " B/s%s",
        m->status, qmp_version(s->qmp), s->params.downtime_limit_ns / MS,
        s->params.max_bandwidth_bps,
        s->events_cap ? "" : " (events capability off: polling only)");
    if (m->total_ms > 0) {
        live_session_note(s, RUN_EV_NOTE, (uint64_t)m->total_ms, 0,
                          "attached %" PRId64 " ms into the migration",
                          m->total_ms);
    }
    live_session_note(s, RUN_EV_PARAM, (uint64_t)s->params.downtime_limit_ns, 0,
                      "downtime-limit=%" PRId64 "ms",
                      s->params.downtime_limit_ns / MS);
    live_session_note(s, RUN_EV_PARAM, s->params.max_bandwidth_bps, 0,
                      "max-bandwidth=%" PRIu64, s->params.max_bandwidth_bps);
    if (!s->o.db) {
        return;
    }
    struct db_run_meta meta;
    db_run_meta_build(&meta, &(struct db_run_origin){
                                 .kind = DB_KIND_LIVE,
                                 .scenario_json = s->o.scenario_json,
                                 .source_path = s->o.source,
                                 .qemu = s->qemu_model,
                                 .policy = s->o.policy,
                                 .command_line = s->o.command_line,
                             });
    meta.started_ns = s->t0_epoch_ns;
    char err[512];
    int64_t id = 0;
    if (db_run_begin(s->o.db, &meta, &id, err, sizeof(err)) != 0) {
        s->store_failed = true;
        say(s, "warning: run store: %s", err);
        return;
    }
    s->run_id = id;
    say(s, "recording as run %" PRId64, id);
}

/* What the policy sees: the session's parameters and query-migrate. */
static void policy_view(const struct live_session *s, const struct live_mig *m,
                        struct pol_view *view)
{
    struct pol_view v;
    memset(&v, 0, sizeof(v));
    v.now_ns = m->total_ms > 0 ? m->total_ms * MS : now_rel(s);
    v.start_ns = 0;
    v.qemu = qmp_version_num(s->qmp);
    v.iteration = m->dirty_sync_count;
    v.downtime_limit_ns = s->params.downtime_limit_ns;
    v.max_bandwidth_bps = s->params.max_bandwidth_bps;
    v.avail_switchover_bandwidth_bps = s->params.avail_switchover_bandwidth_bps;
    v.pending_bytes = v.must_bytes = m->remaining_bytes;
    v.bandwidth_bps = bandwidth_bps(m);
    v.threshold_bytes =
        (uint64_t)(v.bandwidth_bps * (double)v.downtime_limit_ns / 1e9);
    v.ram_total_bytes = m->total_bytes;
    v.ram_remaining_bytes = m->remaining_bytes;
    v.transferred_bytes = m->transferred_bytes;
    v.dirty_sync_count = m->dirty_sync_count;
    v.dirty_rate_bps = (double)(m->dirty_pages_rate * m->page_bytes);
    v.throttle_pct = m->throttle_pct;
    v.in_postcopy = mig_status_in_postcopy(s->status);
    v.paused = s->guest_paused;
    v.postcopy_capable = s->postcopy_cap;
    v.expected_downtime_ns =
        m->expected_downtime_ms >= 0 ? m->expected_downtime_ms * MS : 0;
    *view = v;
}

/* The policy's downtime-limit (advised, or set and recorded). */
static void policy_downtime(struct live_session *s, const struct pol_actions *a)
{
    const char *pol = s->o.policy;
    char err[512];
    if (a->set_downtime_limit &&
        a->downtime_limit_ns != s->params.downtime_limit_ns) {
        int64_t old = s->params.downtime_limit_ns / MS;
        int64_t ms = a->downtime_limit_ns / MS;
        if (!s->o.apply) {
            say(s,
                "advice (%s): set downtime-limit %" PRId64 " ms -> %" PRId64
                " ms",
                pol, old, ms);
            live_session_note(s, RUN_EV_NOTE, (uint64_t)a->downtime_limit_ns, 0,
                              "advice: downtime-limit=%" PRId64 "ms", ms);
        } else if (set_param(s, QP_DOWNTIME_LIMIT, (uint64_t)(ms * MS), err,
                             sizeof(err)) == QMP_OK) {
            s->params.downtime_limit_ns = ms * MS;
            say(s,
                "applied (%s): downtime-limit %" PRId64 " ms -> %" PRId64 " ms",
                pol, old, ms);
            live_session_note(s, RUN_EV_PARAM, (uint64_t)(ms * MS), 0,
                              "downtime-limit=%" PRId64 "ms", ms);
        } else {
            say(s, "could not set downtime-limit: %s", err);
            live_session_note(s, RUN_EV_NOTE, 0, 0, "set downtime-limit: %s",
                              err);
        }
    }
}

static void policy_bandwidth(struct live_session *s,
                             const struct pol_actions *a)
{
    const char *pol = s->o.policy;
    char err[512];
    if (a->set_max_bandwidth &&
        a->max_bandwidth_bps != s->params.max_bandwidth_bps) {
        uint64_t old = s->params.max_bandwidth_bps;
        if (!s->o.apply) {
            say(s,
                "advice (%s): set max-bandwidth %" PRIu64 " -> %" PRIu64 " B/s",
                pol, old, a->max_bandwidth_bps);
        } else if (set_param(s, QP_MAX_BANDWIDTH, a->max_bandwidth_bps, err,
                             sizeof(err)) == QMP_OK) {
            s->params.max_bandwidth_bps = a->max_bandwidth_bps;
            say(s, "applied (%s): max-bandwidth %" PRIu64 " -> %" PRIu64 " B/s",
                pol, old, a->max_bandwidth_bps);
            live_session_note(s, RUN_EV_PARAM, a->max_bandwidth_bps, 0,
                              "max-bandwidth=%" PRIu64, a->max_bandwidth_bps);
        } else {
            say(s, "could not set max-bandwidth: %s", err);
        }
    }
}

static void policy_avail(struct live_session *s, const struct pol_actions *a)
{
    const char *pol = s->o.policy;
    char err[512];
    if (a->set_avail_switchover_bandwidth &&
        a->avail_switchover_bandwidth_bps !=
            s->params.avail_switchover_bandwidth_bps) {
        if (!s->params.has_avail) {
            say(s,
                "advice (%s): avail-switchover-bandwidth %" PRIu64
                " B/s, but QEMU %s has no such parameter (8.2+)",
                pol, a->avail_switchover_bandwidth_bps, qmp_version(s->qmp));
            s->params.avail_switchover_bandwidth_bps =
                a->avail_switchover_bandwidth_bps;
        } else if (!s->o.apply) {
            say(s,
                "advice (%s): set avail-switchover-bandwidth %" PRIu64 " B/s",
                pol, a->avail_switchover_bandwidth_bps);
        } else if (set_param(s, QP_AVAIL_SWITCHOVER_BW,
                             a->avail_switchover_bandwidth_bps, err,
                             sizeof(err)) == QMP_OK) {
            s->params.avail_switchover_bandwidth_bps =
                a->avail_switchover_bandwidth_bps;
            say(s, "applied (%s): avail-switchover-bandwidth %" PRIu64 " B/s",
                pol, a->avail_switchover_bandwidth_bps);
            live_session_note(s, RUN_EV_PARAM,
                              a->avail_switchover_bandwidth_bps, 0,
                              "avail-switchover-bandwidth=%" PRIu64,
                              a->avail_switchover_bandwidth_bps);
        } else {
            say(s, "could not set avail-switchover-bandwidth: %s", err);
        }
    }
}

/* Postcopy, force completion, abort. */
static void policy_commands(struct live_session *s, const struct pol_actions *a)
{
    const char *pol = s->o.policy;
    char err[512];
    struct {
        bool want;
        const char *cmd;
        const char *what;
    } acts[] = {
        {a->start_postcopy, "migrate-start-postcopy", "start postcopy"},
        {a->force_complete, "stop", "force completion (pause the guest)"},
        {a->abort, "migrate_cancel", "abort the migration"},
    };
    for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
        if (!acts[i].want) {
            continue;
        }
        if (!s->o.apply) {
            say(s, "advice (%s): %s%s%s", pol, acts[i].what,
                a->reason[0] ? ": " : "", a->reason);
            live_session_note(s, RUN_EV_NOTE, 0, 0, "advice: %s", acts[i].what);
        } else if (qmp_execute(s->qmp, acts[i].cmd, NULL, s->o.cmd_timeout_ns,
                               NULL, err, sizeof(err)) == QMP_OK) {
            say(s, "applied (%s): %s%s%s", pol, acts[i].what,
                a->reason[0] ? ": " : "", a->reason);
            if (strcmp(acts[i].cmd, "stop") == 0) {
                s->guest_paused = true;
            }
            live_session_note(s, RUN_EV_NOTE, 0, 0, "applied: %s",
                              acts[i].what);
        } else {
            say(s, "could not %s: %s", acts[i].what, err);
        }
    }
}

/* Carry out (or advise) what the policy chain asks for. */
static void run_policy(struct live_session *s, const struct live_mig *m)
{
    if (!s->have_chain || !mig_status_is_active(s->status)) {
        return;
    }
    struct pol_view v;
    policy_view(s, m, &v);
    struct pol_actions a;
    memset(&a, 0, sizeof(a));
    pol_chain_iteration(&s->chain, &v, &a);
    policy_downtime(s, &a);
    policy_bandwidth(s, &a);
    policy_avail(s, &a);
    policy_commands(s, &a);
}

static void progress(struct live_session *s, const struct live_mig *m,
                     bool force)
{
    /* History of expected downtimes, one per sync: the last value QEMU
     * showed before the next sync (it is recomputed every 100 ms from the
     * remaining-at-sync), once a dirty rate is known. */
    if (m->has_ram && m->dirty_sync_count != s->last_sync_count) {
        if (s->cur_expected_ns > 0) {
            size_t cap = sizeof(s->sync_hist) / sizeof(s->sync_hist[0]);
            if (s->n_hist == cap) {
                memmove(s->sync_hist, s->sync_hist + 1,
                        (cap - 1) * sizeof(s->sync_hist[0]));
                s->n_hist--;
            }
            s->sync_hist[s->n_hist++] = s->cur_expected_ns;
        }
        s->last_sync_count = m->dirty_sync_count;
        s->cur_expected_ns = 0;
    }
    if (m->has_ram && m->expected_downtime_ms >= 0 && m->dirty_pages_rate > 0) {
        s->cur_expected_ns = m->expected_downtime_ms * MS;
    }
    /* QEMU's mbps is one 100 ms window; judge on the last second. */
    struct live_mig avg = *m;
    double sum = 0;
    size_t k = 0;
    for (size_t i = s->res.n_samples; i > 0; i--) {
        const struct run_sample *x = &s->res.samples[i - 1];
        if (now_rel(s) - x->t_ns > 1000 * MS) {
            break;
        }
        sum += x->bandwidth_bps;
        k++;
    }
    if (k > 0) {
        avg.mbps = sum / (double)k * 8.0 / 1e6;
    }
    struct live_advice a;
    size_t nh = s->n_hist < 3 ? s->n_hist : 3;
    live_advise(&avg, s->params.downtime_limit_ns,
                s->sync_hist + (s->n_hist - nh), nh, &a);
    bool terminal = force;
    if (!terminal && a.verdict != s->last_verdict &&
        a.verdict != LIVE_ADV_NONE) {
        live_session_note(s, RUN_EV_NOTE, (uint64_t)a.needed_ns, 0, "%.95s",
                          a.text);
        s->last_verdict = a.verdict;
    }
    int64_t now = qmp_now_ns();
    if (!s->o.progress || !m->has_ram ||
        (!force && now - s->last_progress_ns < s->o.progress_every_ns)) {
        return;
    }
    s->last_progress_ns = now;
    char rem[32], dirty[32], bw[32], lim[32], exp[32] = "-";
    units_fmt_size(m->remaining_bytes, rem, sizeof(rem));
    units_fmt_rate((double)(m->dirty_pages_rate * m->page_bytes), dirty,
                   sizeof(dirty));
    units_fmt_rate(bandwidth_bps(m), bw, sizeof(bw));
    units_fmt_time(s->params.downtime_limit_ns, lim, sizeof(lim));
    if (m->expected_downtime_ms >= 0) {
        units_fmt_time(m->expected_downtime_ms * MS, exp, sizeof(exp));
    }
    say(s,
        "%s pass %" PRIu64 " remaining %s dirty %s bw %s limit %s "
        "expected %s%s%s",
        m->status, m->dirty_sync_count, rem, dirty, bw, lim, exp,
        terminal ? "" : " | ", terminal ? "" : a.text);
}

/* Parameters changed by someone else (libvirt, an operator). */
static void watch_params(struct live_session *s)
{
    struct live_params p;
    if (read_params(s, &p, NULL, 0) != QMP_OK) {
        return;
    }
    if (p.downtime_limit_ns != s->params.downtime_limit_ns) {
        say(s, "downtime-limit changed to %" PRId64 " ms (not by migsim)",
            p.downtime_limit_ns / MS);
        live_session_note(s, RUN_EV_PARAM, (uint64_t)p.downtime_limit_ns, 0,
                          "downtime-limit=%" PRId64 "ms (external)",
                          p.downtime_limit_ns / MS);
    }
    if (p.max_bandwidth_bps != s->params.max_bandwidth_bps) {
        say(s, "max-bandwidth changed to %" PRIu64 " B/s (not by migsim)",
            p.max_bandwidth_bps);
        live_session_note(s, RUN_EV_PARAM, p.max_bandwidth_bps, 0,
                          "max-bandwidth=%" PRIu64 " (external)",
                          p.max_bandwidth_bps);
    }
    s->params = p;
}

static void sleep_ns(int64_t ns)
{
    if (ns <= 0) {
        return;
    }
    struct timespec ts = {ns / 1000000000, ns % 1000000000};
    nanosleep(&ts, NULL); /* a signal cuts it short: the loop checks */
}

/* "while the migration was active", or "before any migration started"
 * when none was seen. */
static const char *while_phrase(const struct live_session *s, char *buf,
                                size_t n)
{
    if (!s->started || s->status == MIG_STATUS_NONE) {
        snprintf(buf, n, "before any migration started");
    } else {
        snprintf(buf, n, "while the migration was %s",
                 mig_status_name(s->status));
    }
    return buf;
}

/* The time limit bounds the whole observation: from the first
 * live_session_run() on, whether or not a migration started. */
static bool past_limit(const struct live_session *s)
{
    return s->o.time_limit_ns > 0 &&
           qmp_now_ns() - s->run_start_ns >= s->o.time_limit_ns;
}

/* Per-command timeout, cut to what is left of the time limit (at least
 * 10 ms, so a command can still be answered). */
static int64_t cmd_timeout(const struct live_session *s)
{
    int64_t t = s->o.cmd_timeout_ns;
    if (s->o.time_limit_ns > 0) {
        int64_t left = s->o.time_limit_ns - (qmp_now_ns() - s->run_start_ns);
        if (left < 10 * MS) {
            left = 10 * MS;
        }
        if (left < t) {
            t = left;
        }
    }
    return t;
}

static enum live_end end_with(struct live_session *s, enum live_end e,
                              const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum live_end end_with(struct live_session *s, enum live_end e,
                              const char *fmt, ...)
{
    s->end = e;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->error, sizeof(s->error), fmt, ap);
        va_end(ap);
        live_session_note(s, RUN_EV_NOTE, 0, 0, "%.95s", s->error);
    }
    return e;
}

static void set_metrics(struct live_session *s)
{
    const struct live_mig *m = &s->last;
    const struct live_mig *ram = s->last.has_ram ? &s->last : &s->last_ram;
    struct run_metrics *r = &s->res.m;
    if (m->total_ms >= 0) {
        r->total_ns = m->total_ms * MS;
    } else if (s->started) {
        r->total_ns = qmp_now_ns() - s->t0_ns;
    }
    if (m->downtime_ms >= 0) {
        r->downtime_ns = r->src_downtime_ns = m->downtime_ms * MS;
    }
    if (m->setup_ms >= 0) {
        r->setup_ns = m->setup_ms * MS;
    }
    r->downtime_limit_ns = s->params.downtime_limit_ns;
    r->downtime_violation =
        m->downtime_ms >= 0 && r->downtime_ns > r->downtime_limit_ns;
    r->iterations = r->bitmap_syncs = ram->dirty_sync_count;
    r->bytes_transferred = ram->transferred_bytes + ram->vfio_transferred_bytes;
    r->precopy_bytes = ram->precopy_bytes;
    r->downtime_bytes = ram->downtime_bytes;
    r->postcopy_bytes = ram->postcopy_bytes;
}

/* Steps of live_session_run besides an end (enum live_end, >= 0). */
#define STEP_NEXT (-1) /* poll again */
#define STEP_ON   (-2) /* go on with this poll */

/* A query-migrate that failed (reply ret, code r): STEP_NEXT or the end. */
static int poll_failed(struct live_session *s, int r, json_t *ret,
                       const char *err)
{
    json_decref(ret);
    if (r == QMP_E_INTR) {
        return STEP_NEXT;
    }
    if (r == QMP_E_IO) {
        process_events(s);
        char ph[64];
        return end_with(s, LIVE_END_QEMU_GONE,
                        "QEMU went away (exited or killed?) %s: %s",
                        while_phrase(s, ph, sizeof(ph)), err);
    }
    s->consecutive_failures++;
    live_session_note(s, RUN_EV_NOTE, 0, 0, "poll failed: %.80s", err);
    say(s, "warning: %s", err);
    if (s->consecutive_failures >= MAX_FAULTS) {
        return end_with(s, LIVE_END_PROTO,
                        "giving up after %u failed polls in a row; "
                        "last: %s",
                        s->consecutive_failures, err);
    }
    sleep_ns(s->o.interval_ns);
    return STEP_NEXT;
}

struct run_wait {
    int64_t wait_start, tick_start;
    bool said_waiting;
};

/* Before the migration runs: STEP_ON once it does (the run begins),
 * STEP_NEXT to wait, or the end (start timeout). */
static int await_start(struct live_session *s, const struct live_mig *m,
                       bool running, struct run_wait *w)
{
    if (running) {
        begin_run(s, m);
        return STEP_ON;
    }
    /* events seen while no migration runs are not ours */
    json_t *e;
    while ((e = qmp_event_pop(s->qmp)) != NULL) {
        json_decref(e);
    }
    if (!w->said_waiting && s->o.progress) {
        fprintf(s->o.progress, "waiting for a migration to start (status %s)\n",
                m->status);
        w->said_waiting = true;
    }
    if (past_limit(s)) {
        return end_with(s, LIVE_END_TIME_LIMIT,
                        "time limit of %" PRId64 " ms reached before any "
                        "migration started (QEMU reports status '%s')",
                        s->o.time_limit_ns / MS, m->status);
    }
    if (s->o.start_timeout_ns > 0 &&
        qmp_now_ns() - w->wait_start >= s->o.start_timeout_ns) {
        return end_with(s, LIVE_END_NO_START,
                        "no migration started within %" PRId64
                        " ms (status %s)",
                        s->o.start_timeout_ns / MS, m->status);
    }
    sleep_ns(s->o.interval_ns - (qmp_now_ns() - w->tick_start));
    return STEP_NEXT;
}

/* QEMU 7.2 sets "completed" before it computes total-time and downtime
 * (migration_calculate_complete runs after migration_completion): ask
 * again until they are there. */
static void await_final_times(struct live_session *s)
{
    for (int i = 0; i < 40 && s->last.total_ms <= 0; i++) {
        sleep_ns(25 * MS);
        struct live_mig m2;
        json_t *r2 = NULL;
        if (qmp_execute(s->qmp, "query-migrate", NULL, s->o.cmd_timeout_ns, &r2,
                        NULL, 0) != QMP_OK ||
            live_parse_migrate(r2, &m2, NULL, 0) != 0) {
            json_decref(r2);
            break;
        }
        json_decref(s->final);
        s->final = r2;
        s->last = m2;
        if (m2.has_ram) {
            s->last_ram = m2;
        }
    }
}

/* The migration reached a terminal status (polled): the outcome. */
static enum live_end finish(struct live_session *s, const struct live_mig *m,
                            enum mig_status polled)
{
    /* Let the MIGRATION event of the end arrive, for the record. */
    if (s->events_cap) {
        int64_t until = qmp_now_ns() + 500 * MS;
        while (s->status != polled && qmp_now_ns() < until &&
               qmp_wait_event(s->qmp, until - qmp_now_ns(), NULL, 0) ==
                   QMP_OK) {
            process_events(s);
        }
        set_status(s, m->status, true);
    }
    if (polled == MIG_STATUS_COMPLETED) {
        s->res.m.outcome = RUN_CONVERGED;
    } else if (polled == MIG_STATUS_FAILED) {
        s->res.m.outcome = RUN_FAILED;
    } else {
        s->res.m.outcome = RUN_ABORTED;
    }
    set_metrics(s);
    flush_store(s, true);
    s->end = LIVE_END_OUTCOME;
    return s->end;
}

/* Record one successful poll m of a running migration. */
static void observe(struct live_session *s, const struct live_mig *m,
                    bool terminal, int64_t *last_params)
{
    process_events(s);
    if (!s->events_cap || s->status == MIG_STATUS_NONE) {
        set_status(s, m->status, true);
    }
    s->last = *m;
    if (m->has_ram) {
        s->last_ram = *m;
        add_sample(s, m);
    }
    if (!terminal) {
        run_policy(s, m);
    }
    progress(s, m, terminal);
    if (qmp_now_ns() - *last_params >= s->o.progress_every_ns && !terminal) {
        watch_params(s);
        *last_params = qmp_now_ns();
    }
}

/* Stop flag and tick callback: the end, or STEP_ON. */
static int check_stop(struct live_session *s)
{
    char err[512];
    if (s->o.stop && *s->o.stop) {
        char ph[64];
        return end_with(s, LIVE_END_INTERRUPTED, "interrupted by a signal %s",
                        while_phrase(s, ph, sizeof(ph)));
    }
    if (s->o.tick && s->o.tick(s->o.tick_arg, err, sizeof(err)) != 0) {
        return end_with(s, LIVE_END_TICK, "%s", err);
    }
    return STEP_ON;
}

enum live_end live_session_run(struct live_session *s)
{
    char err[512];
    struct run_wait w = {.wait_start = qmp_now_ns()};
    int64_t last_params = qmp_now_ns();
    if (!s->run_start_ns) {
        s->run_start_ns = w.wait_start;
    }
    for (;;) {
        w.tick_start = qmp_now_ns();
        int st = check_stop(s);
        if (st != STEP_ON) {
            return (enum live_end)st;
        }
        json_t *ret = NULL;
        int r = qmp_execute(s->qmp, "query-migrate", NULL, cmd_timeout(s), &ret,
                            err, sizeof(err));
        if (r == QMP_E_TIMEOUT && past_limit(s)) {
            json_decref(ret);
            set_metrics(s);
            char ph[64];
            return end_with(s, LIVE_END_TIME_LIMIT,
                            "time limit of %" PRId64 " ms reached %s (QEMU "
                            "did not answer query-migrate)",
                            s->o.time_limit_ns / MS,
                            while_phrase(s, ph, sizeof(ph)));
        }
        struct live_mig m;
        if (r == QMP_OK && live_parse_migrate(ret, &m, err, sizeof(err)) != 0) {
            r = QMP_E_PROTO;
        }
        if (r != QMP_OK) {
            st = poll_failed(s, r, ret, err);
            if (st == STEP_NEXT) {
                continue;
            }
            return (enum live_end)st;
        }
        s->consecutive_failures = 0;
        json_decref(s->final);
        s->final = ret;
        enum mig_status polled = MIG_STATUS_NONE;
        bool known = mig_status_from_name(m.status, &polled) == 0;
        if (!s->started) {
            st = await_start(s, &m, known && mig_status_is_running(polled), &w);
            if (st == STEP_NEXT) {
                continue;
            }
            if (st != STEP_ON) {
                return (enum live_end)st;
            }
        }
        bool terminal = known && mig_status_is_terminal(polled);
        observe(s, &m, terminal, &last_params);
        if (terminal && polled == MIG_STATUS_COMPLETED && m.total_ms <= 0) {
            await_final_times(s);
        }
        if (terminal) {
            return finish(s, &m, polled);
        }
        if (past_limit(s)) {
            set_metrics(s);
            char ph[64];
            return end_with(s, LIVE_END_TIME_LIMIT,
                            "time limit of %" PRId64 " ms reached %s",
                            s->o.time_limit_ns / MS,
                            while_phrase(s, ph, sizeof(ph)));
        }
        flush_store(s, false);
        sleep_ns(s->o.interval_ns - (qmp_now_ns() - w.tick_start));
    }
}

int live_session_close(struct live_session *s, const char *diagnosis, char *err,
                       size_t errlen)
{
    struct run_metrics *r = &s->res.m;
    if (s->end != LIVE_END_OUTCOME) {
        r->outcome = RUN_INCOMPLETE;
        if (s->started) {
            set_metrics(s);
        }
    }
    char tot[32], dt[32], lim[32];
    units_fmt_time(r->total_ns, tot, sizeof(tot));
    units_fmt_time(r->downtime_ns, dt, sizeof(dt));
    units_fmt_time(r->downtime_limit_ns, lim, sizeof(lim));
    if (r->outcome == RUN_CONVERGED) {
        snprintf(s->verdict, sizeof(s->verdict),
                 "converged in %s, downtime %s (limit %s), %" PRIu64
                 " dirty syncs",
                 tot, dt, lim, r->bitmap_syncs);
    } else if (r->outcome == RUN_FAILED) {
        snprintf(s->verdict, sizeof(s->verdict),
                 "migration failed after %s: %.180s", tot,
                 s->last.error_desc[0] ? s->last.error_desc
                                       : "(QEMU gave no error-desc)");
    } else if (r->outcome == RUN_ABORTED) {
        snprintf(s->verdict, sizeof(s->verdict), "migration cancelled after %s",
                 tot);
    } else if (r->outcome == RUN_TIMEOUT) {
        snprintf(s->verdict, sizeof(s->verdict),
                 "did not converge within the time limit; cancelled after %s "
                 "(%" PRIu64 " dirty syncs, last expected downtime %s, limit "
                 "%s)",
                 tot, r->bitmap_syncs,
                 units_fmt_time(r->expected_downtime_ns, dt, sizeof(dt)), lim);
    } else {
        snprintf(s->verdict, sizeof(s->verdict), "incomplete: %.230s",
                 s->error[0] ? s->error : "observation ended");
    }
    if (!s->o.db || !s->run_id) {
        return 0;
    }
    flush_store(s, true);
    if (s->store_failed) {
        err_set(err, errlen,
                "run %" PRId64 " in %s is incomplete: the store "
                "failed during the run",
                s->run_id, db_path(s->o.db));
        return -1;
    }
    if (r->outcome != RUN_INCOMPLETE &&
        db_run_finish(s->o.db, s->run_id, &s->res, err, errlen) != 0) {
        return -1;
    }
    return db_run_annotate(s->o.db, s->run_id, s->verdict, diagnosis, err,
                           errlen);
}

void live_session_free(struct live_session *s)
{
    json_decref(s->final);
    s->final = NULL;
    if (s->have_chain) {
        pol_chain_free(&s->chain);
        s->have_chain = false;
    }
    mig_status_checker_free(s->checker);
    s->checker = NULL;
    run_result_free(&s->res);
}

/* ---- JSON --------------------------------------------------------------- */

static json_t *field_json(const struct db_field *f, const void *base)
{
    const char *p = (const char *)base + f->offset;
    switch (f->ctype) {
    case DB_C_I64: {
        int64_t v;
        memcpy(&v, p, sizeof(v));
        return json_integer((json_int_t)v);
    }
    case DB_C_U64: {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return v > (uint64_t)INT64_MAX ? json_real((double)v)
                                       : json_integer((json_int_t)v);
    }
    case DB_C_DBL: {
        double v;
        memcpy(&v, p, sizeof(v));
        return isfinite(v) ? json_real(v) : json_null();
    }
    case DB_C_BOOL: {
        bool v;
        memcpy(&v, p, sizeof(v));
        return json_boolean(v);
    }
    case DB_C_UINT: {
        unsigned v;
        memcpy(&v, p, sizeof(v));
        return json_integer((json_int_t)v);
    }
    }
    return json_null();
}

json_t *live_session_json(const struct live_session *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("live"));
    json_object_set_new(o, "qmp", json_string(s->o.source ? s->o.source : ""));
    json_object_set_new(o, "qemu_version", json_string(s->qemu_version));
    json_object_set_new(o, "qemu", json_string(s->res.m.qemu));
    json_object_set_new(o, "accel",
                        s->accel[0] ? json_string(s->accel) : json_null());
    json_object_set_new(o, "policy", json_string(s->res.m.policy));
    json_object_set_new(o, "apply", json_boolean(s->o.apply));
    json_object_set_new(o, "outcome",
                        json_string(run_outcome_name(s->res.m.outcome)));
    json_object_set_new(o, "verdict", json_string(s->verdict));
    json_object_set_new(o, "error",
                        s->error[0] ? json_string(s->error) : json_null());
    json_object_set_new(o, "run_id",
                        s->run_id ? json_integer(s->run_id) : json_null());
    json_object_set_new(o, "started_epoch_ns", json_integer(s->t0_epoch_ns));
    size_t nf;
    const struct db_field *mf = db_metric_fields(&nf);
    json_t *metrics = json_object();
    for (size_t i = 0; i < nf; i++) {
        json_object_set_new(metrics, mf[i].name, field_json(&mf[i], &s->res.m));
    }
    /* total_ms in every JSON (issue 14), as simulate, sweep and replay */
    json_object_set_new(metrics, "total_ms",
                        json_real((double)s->res.m.total_ns / 1e6));
    json_object_set_new(o, "metrics", metrics);
    json_object_set(o, "final_query_migrate",
                    s->final ? s->final : json_null());
    const struct db_field *sf = db_sample_fields(&nf);
    json_t *samples = json_array();
    for (size_t k = 0; k < s->res.n_samples; k++) {
        json_t *x = json_object();
        for (size_t i = 0; i < nf; i++) {
            if (strcmp(sf[i].name, "n_devices") == 0) {
                continue;
            }
            json_object_set_new(x, sf[i].name,
                                field_json(&sf[i], &s->res.samples[k]));
        }
        json_array_append_new(samples, x);
    }
    json_object_set_new(o, "samples", samples);
    json_t *events = json_array();
    for (size_t k = 0; k < s->res.n_events; k++) {
        const struct run_event *e = &s->res.events[k];
        json_array_append_new(
            events,
            json_pack("{s:I, s:s, s:I, s:I, s:s}", "t_ns", (json_int_t)e->t_ns,
                      "kind", run_event_kind_name(e->kind), "value",
                      (json_int_t)e->value, "dur_ns", (json_int_t)e->dur_ns,
                      "text", e->text));
    }
    json_object_set_new(o, "events", events);
    return o;
}

void live_print_summary(FILE *f, const struct live_session *s)
{
    const struct run_metrics *m = &s->res.m;
    char a[32], b[32], c[32];
    fprintf(f, "outcome           %s\n", run_outcome_name(m->outcome));
    fprintf(f, "verdict           %s\n", s->verdict);
    if (s->error[0]) {
        fprintf(f, "error             %s\n", s->error);
    }
    fprintf(f, "QEMU              %s\n", s->qemu_version);
    if (m->policy[0]) {
        fprintf(f, "policy            %s%s\n", m->policy,
                s->o.apply ? " (applied)" : " (advice only)");
    }
    if (!s->started) {
        return;
    }
    fprintf(f, "total time        %s\n",
            units_fmt_time(m->total_ns, a, sizeof(a)));
    fprintf(f, "setup time        %s\n",
            units_fmt_time(m->setup_ns, a, sizeof(a)));
    fprintf(f, "downtime          %s (limit %s%s)\n",
            units_fmt_time(m->downtime_ns, a, sizeof(a)),
            units_fmt_time(m->downtime_limit_ns, b, sizeof(b)),
            m->downtime_violation ? ", exceeded" : "");
    fprintf(f, "expected downtime %s (last while active)\n",
            units_fmt_time(m->expected_downtime_ns, a, sizeof(a)));
    fprintf(f, "dirty syncs       %" PRIu64 "\n", m->bitmap_syncs);
    fprintf(f, "transferred       %s (precopy %s, downtime %s)\n",
            units_fmt_size(m->bytes_transferred, a, sizeof(a)),
            units_fmt_size(m->precopy_bytes, b, sizeof(b)),
            units_fmt_size(m->downtime_bytes, c, sizeof(c)));
    if (m->max_throttle_pct > 0) {
        fprintf(f, "max CPU throttle  %.0f %%\n", m->max_throttle_pct);
    }
    fprintf(f, "samples / events  %zu / %zu\n", s->res.n_samples,
            s->res.n_events);
    if (s->run_id) {
        fprintf(f, "run               %" PRId64 " in %s%s\n", s->run_id,
                db_path(s->o.db),
                m->outcome == RUN_INCOMPLETE ? " (marked incomplete)" : "");
    }
}

volatile sig_atomic_t live_stop_signal;

static void on_signal(int sig)
{
    live_stop_signal = sig;
}

void live_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: poll/nanosleep return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
