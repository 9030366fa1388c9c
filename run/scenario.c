/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * run/scenario.c — scenario JSON: key table, defaults, overrides,
 * validation.
 *
 * The key table below (one row per key, grouped by section) is the single
 * source of truth: resolution, `--keys` and the docs all come from it.  Values
 * are read from the JSON tree with the unit parsers of base/units.h.
 */
#include "run/scenario.h"
#include "base/err.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/engine.h"
#include "base/units.h"
#include "run/qmp_params.h"

struct scn_doc {
    json_t *root;
    char source[512];
};

enum key_type {
    K_SIZE,
    K_TIME,
    K_RATE,
    K_BOOL,
    K_UINT,
    K_U64,
    K_FRACTION,
    K_DOUBLE,
    K_STRING, /* char array of RUN_NAME_LEN or 128 (len given) */
    K_QEMU,
    K_WORKLOAD,
    K_RAMMODE,
};

/* The groups of keys: top level, the sections, each devices[] entry. */
enum key_sec { SEC_TOP, SEC_VM, SEC_WL, SEC_MIG, SEC_SIM, SEC_DEV };

struct key {
    enum key_sec sec; /* rows of one group are consecutive */
    const char *name;
    enum key_type type;
    size_t off;
    size_t len; /* K_STRING buffer size */
    const char *def;
    const char *help;
};

#define S(f) offsetof(struct scenario, f)
#define D(f) offsetof(struct scn_device, f)

static const struct key keys[] = {
    /* top level */
    {SEC_TOP, "name", K_STRING, S(name), sizeof(((struct scenario *)0)->name),
     "", "free text shown in reports"},
    {SEC_TOP, "qemu", K_QEMU, S(qemu), 0, "9.1",
     "QEMU version model: " QV_NAMES_SPACE},
    {SEC_TOP, "seed", K_U64, S(seed), 0, "1",
     "master seed of all random streams"},

    /* vm */
    {SEC_VM, "ram", K_SIZE, S(ram_bytes), 0, "4GiB", "guest RAM"},
    {SEC_VM, "page_size", K_SIZE, S(page_bytes), 0, "4KiB", "target page size"},
    {SEC_VM, "zero_fraction", K_FRACTION, S(zero_fraction), 0, "0.5",
     "share of the RAM outside the working set that holds only zero pages"},
    {SEC_VM, "vcpus", K_UINT, S(vcpus), 0, "4",
     "vCPUs (VM stop cost grows with them)"},
    {SEC_VM, "stop_cost", K_TIME, S(stop_base_ns), 0, "5ms",
     "vm_stop_force_state cost, fixed part"},
    {SEC_VM, "stop_cost_per_vcpu", K_TIME, S(stop_per_vcpu_ns), 0, "1ms",
     "vm_stop_force_state cost per vCPU"},
    {SEC_VM, "non_iterable_size", K_SIZE, S(non_iterable_bytes), 0, "1MiB",
     "the rest of the VM's device state (sent inside the downtime)"},
    {SEC_VM, "non_iterable_save_time", K_TIME, S(non_iterable_save_ns), 0,
     "5ms", "time to save that state on the source"},
    {SEC_VM, "non_iterable_load_time", K_TIME, S(non_iterable_load_ns), 0,
     "10ms", "time to load it on the destination"},
    {SEC_VM, "zero_page_scan", K_TIME, S(zero_page_scan_ns), 0, "400ns",
     "thread time to detect and send one zero page"},
    {SEC_VM, "zero_page_scan_limited", K_TIME, S(zero_page_scan_limited_ns), 0,
     "0ns",
     "the same while a max-bandwidth is set, binding or not (0 = "
     "vm.zero_page_scan; migsim calibrate fits it)"},

    /* workload */
    {SEC_WL, "kind", K_WORKLOAD, S(ram.workload), 0, "uniform",
     "idle, uniform, sweep, hotcold, phased"},
    {SEC_WL, "working_set", K_SIZE, S(ram.working_set_bytes), 0, "1GiB",
     "RAM the guest writes (at the start of guest-physical memory)"},
    {SEC_WL, "dirty_rate", K_RATE, S(ram.dirty_rate_bps), 0, "0B/s",
     "page writes per second x page size"},
    {SEC_WL, "hot_fraction", K_FRACTION, S(ram.hot_fraction), 0, "0.1",
     "hotcold: hot share of the working set"},
    {SEC_WL, "hot_write_fraction", K_FRACTION, S(ram.hot_write_fraction), 0,
     "0.9", "hotcold: share of writes that hit the hot set"},
    {SEC_WL, "phase_base", K_WORKLOAD, S(ram.phase_base), 0, "uniform",
     "phased: pattern of the writes (uniform or sweep)"},
    /* "phases" is an array handled separately */

    /* migration */
    {SEC_MIG, "downtime_limit", K_TIME, S(downtime_limit_ns), 0, "300ms",
     "downtime-limit parameter"},
    {SEC_MIG, "max_bandwidth", K_RATE, S(max_bandwidth_bps), 0, "128MiB/s",
     "max-bandwidth parameter (0B/s = unlimited)"},
    {SEC_MIG, "link_bandwidth", K_RATE, S(link_bandwidth_bps), 0, "10Gbit/s",
     "wire speed; the downtime phase is not rate-limited"},
    {SEC_MIG, "avail_switchover_bandwidth", K_RATE,
     S(avail_switchover_bandwidth_bps), 0, "0B/s",
     "avail-switchover-bandwidth (8.2+; 0 = use measured bandwidth)"},
    {SEC_MIG, "time_limit", K_TIME, S(time_limit_ns), 0, "10min",
     "give up after this much simulated time (outcome timeout; at most "
     "30 days)"},
    {SEC_MIG, "setup_time", K_TIME, S(setup_ns), 0, "20ms",
     "qemu_savevm_state_setup and connection setup"},
    {SEC_MIG, "rtt", K_TIME, S(rtt_ns), 0, "200us", "return-path round trip"},
    {SEC_MIG, "multifd_channels", K_UINT, S(multifd_channels), 0, "0",
     "multifd channels (0 = multifd off)"},
    {SEC_MIG, "multifd_channel_bandwidth", K_RATE, S(multifd_channel_bps), 0,
     "0B/s", "throughput cap of one channel, e.g. CPU-bound TLS (0 = none)"},
    {SEC_MIG, "postcopy", K_BOOL, S(postcopy_ram), 0, "false",
     "capability postcopy-ram (RAM reported as can-postcopy)"},
    {SEC_MIG, "max_postcopy_bandwidth", K_RATE, S(max_postcopy_bandwidth_bps),
     0, "0B/s", "max-postcopy-bandwidth (0 = link)"},
    {SEC_MIG, "postcopy_fault_cost", K_TIME, S(postcopy_fault_ns), 0, "100us",
     "postcopy: guest stall per remote page fault"},
    {SEC_MIG, "switchover_ack", K_BOOL, S(switchover_ack), 0, "false",
     "capability switchover-ack (8.1+)"},
    {SEC_MIG, "return_path", K_BOOL, S(return_path), 0, "false",
     "capability return-path (implied by postcopy and switchover_ack): "
     "query-migrate's downtime then includes the destination's load"},
    {SEC_MIG, "pause_before_switchover", K_BOOL, S(pause_before_switchover), 0,
     "false", "capability pause-before-switchover"},
    {SEC_MIG, "pause_wait", K_TIME, S(pause_wait_ns), 0, "0ms",
     "time until migrate-continue in pre-switchover (inside downtime)"},
    {SEC_MIG, "auto_converge", K_BOOL, S(auto_converge), 0, "false",
     "capability auto-converge (CPU throttling)"},
    {SEC_MIG, "throttle_trigger_threshold", K_UINT,
     S(throttle_trigger_threshold), 0, "50", "%"},
    {SEC_MIG, "cpu_throttle_initial", K_UINT, S(cpu_throttle_initial), 0, "20",
     "%"},
    {SEC_MIG, "cpu_throttle_increment", K_UINT, S(cpu_throttle_increment), 0,
     "10", "%"},
    {SEC_MIG, "max_cpu_throttle", K_UINT, S(max_cpu_throttle), 0, "99", "%"},
    {SEC_MIG, "cpu_throttle_tailslow", K_BOOL, S(cpu_throttle_tailslow), 0,
     "false", "x-cpu-throttle-tailslow"},
    {SEC_MIG, "dirty_limit", K_BOOL, S(dirty_limit), 0, "false",
     "capability dirty-limit (8.1+)"},
    {SEC_MIG, "vcpu_dirty_limit", K_RATE, S(vcpu_dirty_limit_bps), 0, "1MB/s",
     "vcpu-dirty-limit (per vCPU)"},
    {SEC_MIG, "sender_page_cost", K_TIME, S(sender_page_ns), 0, "0ns",
     "migration thread time per normal page, its CPU ceiling (0 = only the "
     "wire time; migsim calibrate fits it)"},
    {SEC_MIG, "sync_cost", K_TIME, S(sync_base_ns), 0, "1ms",
     "dirty bitmap sync (BQL held): fixed part"},
    {SEC_MIG, "sync_cost_per_gib", K_TIME, S(sync_per_gib_ns), 0, "1250us",
     "dirty bitmap sync: per GiB of guest RAM"},

    /* sim */
    {SEC_SIM, "ram_mode", K_RAMMODE, S(ram.mode), 0, "page",
     "page (page-level bitmaps) or aggregate (counts, for sweeps)"},

    /* each devices[] entry */
    {SEC_DEV, "name", K_STRING, D(name), RUN_NAME_LEN, "vfio0", "device name"},
    {SEC_DEV, "kind", K_STRING, 0, 0, "vfio", "device kind (only vfio)"},
    {SEC_DEV, "stop_copy_size", K_SIZE, D(stop_copy_bytes), 0, "0",
     "VFIO_DEVICE_FEATURE_MIG_DATA_SIZE answer"},
    {SEC_DEV, "precopy", K_BOOL, D(precopy), 0, "false",
     "device supports PRE_COPY (VFIO_MIGRATION_PRE_COPY)"},
    {SEC_DEV, "p2p", K_BOOL, D(p2p), 0, "false",
     "device supports the P2P states"},
    {SEC_DEV, "precopy_initial", K_SIZE, D(precopy_initial_bytes), 0, "0",
     "initial_bytes of VFIO_MIG_GET_PRECOPY_INFO"},
    {SEC_DEV, "precopy_dirty_rate", K_RATE, D(precopy_dirty_rate_bps), 0,
     "0B/s", "dirty_bytes the running device adds per second"},
    {SEC_DEV, "precopy_shrinks_stop_copy", K_BOOL, D(precopy_shrinks_stop_copy),
     0, "false", "stop-copy size shrinks as precopy data is read"},
    {SEC_DEV, "min_stop_copy_size", K_SIZE, D(min_stop_copy_bytes), 0, "0",
     "floor of a shrinking stop-copy size"},
    {SEC_DEV, "query_latency", K_TIME, D(query_latency_ns), 0, "50us",
     "cost of one size ioctl"},
    {SEC_DEV, "read_bandwidth", K_RATE, D(read_bps), 0, "0B/s",
     "data_fd read bandwidth (0 = as fast as the link)"},
    {SEC_DEV, "save_time", K_TIME, D(save_ns), 0, "0ms",
     "extra device save time inside the downtime"},
    {SEC_DEV, "load_time", K_TIME, D(load_ns), 0, "0ms",
     "destination load time of the device state"},
    {SEC_DEV, "config_size", K_SIZE, D(config_bytes), 0, "4KiB",
     "non-iterable config state"},
    {SEC_DEV, "config_load_time", K_TIME, D(config_load_ns), 0, "0ms",
     "destination load time of the config state"},
    {SEC_DEV, "query_fails", K_BOOL, D(query_fails), 0, "false",
     "the stop-copy size query fails (QEMU then assumes 100 GiB)"},
    {SEC_DEV, "size_jitter", K_SIZE, D(size_jitter_bytes), 0, "0",
     "reported stop-copy size varies by +- this"},
    {SEC_DEV, "multifd", K_BOOL, D(multifd), 0, "false",
     "device state over multifd channels (10.0+)"},
    /* "stop_copy_schedule" is an array handled separately */

    {SEC_TOP, NULL, 0, 0, 0, NULL, NULL},
};

/* The first row of a group; its rows follow until the group changes. */
static const struct key *group(enum key_sec sec)
{
    const struct key *k = keys;
    while (k->name && k->sec != sec) {
        k++;
    }
    return k;
}

/* k while it is a row of the group that starts at g; NULL after it. */
static const struct key *next_in(const struct key *g, const struct key *k)
{
    return k->name && k->sec == g->sec ? k : NULL;
}

struct section {
    const char *name;
    enum key_sec sec;
};

static const struct section sections[] = {
    {"vm", SEC_VM},
    {"workload", SEC_WL},
    {"migration", SEC_MIG},
    {"sim", SEC_SIM},
};
#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

int scn_qemu_from_name(const char *s, unsigned *v)
{
    const struct qv_row *r = qv_by_name(s);
    if (!r) {
        return -1;
    }
    *v = r->num;
    return 0;
}

const char *scn_qemu_name(unsigned v)
{
    const struct qv_row *r = qv_exact_row(v);
    return r ? r->name : "?";
}

const char *scn_qemu_list(void)
{
    return QV_NAMES_COMMA;
}

/* One converter per key type: v (str: v's text when it is a string) into
 * the field at p; 0, or -1 with the reason in e. */
typedef int key_parse_fn(const struct key *k, json_t *v, const char *str,
                         void *p, char *e, size_t elen);

static int parse_size(const struct key *k, json_t *v, const char *str, void *p,
                      char *e, size_t elen)
{
    uint64_t b;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        b = (uint64_t)json_integer_value(v);
    } else if (str) {
        if (units_parse_size(str, &b, e, elen)) {
            return -1;
        }
    } else {
        snprintf(e, elen, "expected a size such as \"21GB\"");
        return -1;
    }
    memcpy(p, &b, sizeof(b));
    return 0;
}

static int parse_time(const struct key *k, json_t *v, const char *str, void *p,
                      char *e, size_t elen)
{
    int64_t ns;
    if (!str) {
        snprintf(e, elen, "expected a time with a unit, e.g. \"300ms\"");
        return -1;
    }
    if (units_parse_time(str, 0, &ns, e, elen)) {
        return -1;
    }
    memcpy(p, &ns, sizeof(ns));
    return 0;
}

static int parse_rate(const struct key *k, json_t *v, const char *str, void *p,
                      char *e, size_t elen)
{
    uint64_t r;
    if (json_is_integer(v) && json_integer_value(v) == 0) {
        r = 0;
    } else if (!str) {
        snprintf(e, elen, "expected a rate with a unit, e.g. \"128MiB/s\"");
        return -1;
    } else if (units_parse_rate(str, &r, e, elen)) {
        return -1;
    }
    memcpy(p, &r, sizeof(r));
    return 0;
}

static int parse_bool(const struct key *k, json_t *v, const char *str, void *p,
                      char *e, size_t elen)
{
    if (!json_is_boolean(v)) {
        snprintf(e, elen, "expected true or false");
        return -1;
    }
    bool b = json_is_true(v);
    memcpy(p, &b, sizeof(b));
    return 0;
}

static int parse_uint(const struct key *k, json_t *v, const char *str, void *p,
                      char *e, size_t elen)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > 1000000) {
        snprintf(e, elen, "expected a whole number 0..1000000");
        return -1;
    }
    unsigned u = (unsigned)json_integer_value(v);
    memcpy(p, &u, sizeof(u));
    return 0;
}

static int parse_u64(const struct key *k, json_t *v, const char *str, void *p,
                     char *e, size_t elen)
{
    uint64_t u;
    /* One rule for JSON numbers and texts (--seed, --set): a whole number
     * without a sign, at most INT64_MAX (what a JSON integer carries, so
     * the value printed back reads back the same). */
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        u = (uint64_t)json_integer_value(v);
    } else if (str) {
        char *end;
        errno = 0;
        u = str[0] >= '0' && str[0] <= '9' ? strtoull(str, &end, 0) : 0;
        if (str[0] < '0' || str[0] > '9' || errno || end == str || *end ||
            u > (uint64_t)INT64_MAX) {
            snprintf(e, elen,
                     "expected a whole number 0..9223372036854775807, not "
                     "'%.40s'",
                     str);
            return -1;
        }
    } else {
        snprintf(e, elen, "expected a whole number");
        return -1;
    }
    memcpy(p, &u, sizeof(u));
    return 0;
}

static int parse_fraction(const struct key *k, json_t *v, const char *str,
                          void *p, char *e, size_t elen)
{
    double d;
    if (json_is_number(v)) {
        d = json_number_value(v);
    } else if (str) {
        if (units_parse_fraction(str, &d, e, elen)) {
            return -1;
        }
    } else {
        snprintf(e, elen, "expected a fraction 0..1 or \"40%%\"");
        return -1;
    }
    if (!(d >= 0.0 && d <= 1.0)) {
        snprintf(e, elen, "must be between 0 and 1");
        return -1;
    }
    memcpy(p, &d, sizeof(d));
    return 0;
}

static int parse_double(const struct key *k, json_t *v, const char *str,
                        void *p, char *e, size_t elen)
{
    if (!json_is_number(v)) {
        snprintf(e, elen, "expected a number");
        return -1;
    }
    double d = json_number_value(v);
    memcpy(p, &d, sizeof(d));
    return 0;
}

static int parse_string(const struct key *k, json_t *v, const char *str,
                        void *p, char *e, size_t elen)
{
    if (!str) {
        snprintf(e, elen, "expected a string");
        return -1;
    }
    if (k->len == 0) { /* kind: only "vfio" */
        if (strcmp(str, "vfio") != 0) {
            snprintf(e, elen, "unknown device kind '%s' (only vfio)", str);
            return -1;
        }
        return 0;
    }
    if (strlen(str) >= k->len) {
        snprintf(e, elen, "longer than %zu characters", k->len - 1);
        return -1;
    }
    memcpy(p, str, strlen(str) + 1);
    return 0;
}

static int parse_qemu(const struct key *k, json_t *v, const char *str, void *p,
                      char *e, size_t elen)
{
    unsigned qv;
    char buf[32];
    if (json_is_real(v)) {
        snprintf(buf, sizeof(buf), "%.1f", json_real_value(v));
        str = buf;
    }
    if (!str || scn_qemu_from_name(str, &qv)) {
        snprintf(e, elen, "unknown QEMU version (modelled: %s)",
                 scn_qemu_list());
        return -1;
    }
    memcpy(p, &qv, sizeof(qv));
    return 0;
}

static int parse_workload(const struct key *k, json_t *v, const char *str,
                          void *p, char *e, size_t elen)
{
    enum ram_workload w;
    if (!str || ram_workload_from_name(str, &w)) {
        snprintf(e, elen,
                 "unknown workload (idle, uniform, sweep, hotcold, phased)");
        return -1;
    }
    memcpy(p, &w, sizeof(w));
    return 0;
}

static int parse_rammode(const struct key *k, json_t *v, const char *str,
                         void *p, char *e, size_t elen)
{
    enum ram_mode m;
    if (str && strcmp(str, "page") == 0) {
        m = RAM_MODE_PAGE;
    } else if (str && strcmp(str, "aggregate") == 0) {
        m = RAM_MODE_AGGREGATE;
    } else {
        snprintf(e, elen, "expected \"page\" or \"aggregate\"");
        return -1;
    }
    memcpy(p, &m, sizeof(m));
    return 0;
}

static key_parse_fn *const parsers[] = {
    [K_SIZE] = parse_size,         [K_TIME] = parse_time,
    [K_RATE] = parse_rate,         [K_BOOL] = parse_bool,
    [K_UINT] = parse_uint,         [K_U64] = parse_u64,
    [K_FRACTION] = parse_fraction, [K_DOUBLE] = parse_double,
    [K_STRING] = parse_string,     [K_QEMU] = parse_qemu,
    [K_WORKLOAD] = parse_workload, [K_RAMMODE] = parse_rammode,
};

/* Convert one value into its field of base; where names it in messages. */
static int set_value(void *base, const struct key *k, json_t *v,
                     const char *where, char *err, size_t errlen)
{
    char e[200] = "";
    const char *str = json_is_string(v) ? json_string_value(v) : NULL;
    if (parsers[k->type](k, v, str, (char *)base + k->off, e, sizeof(e))) {
        err_set(err, errlen, "%s: %s", where, e);
        return -1;
    }
    return 0;
}

static const struct key *find_key(const struct key *g, const char *name)
{
    for (const struct key *k = g; next_in(g, k); k++) {
        if (strcmp(k->name, name) == 0) {
            return k;
        }
    }
    return NULL;
}

static int apply_defaults(void *base, const struct key *g)
{
    for (const struct key *k = g; next_in(g, k); k++) {
        json_t *v;
        if (k->type == K_BOOL) {
            v = json_boolean(strcmp(k->def, "true") == 0);
        } else if (k->type == K_UINT || k->type == K_U64) {
            v = json_integer(strtoll(k->def, NULL, 10));
        } else if (k->type == K_FRACTION || k->type == K_DOUBLE) {
            v = json_real(strtod(k->def, NULL));
        } else {
            v = json_string(k->def);
        }
        char err[256];
        int rc = set_value(base, k, v, k->name, err, sizeof(err));
        json_decref(v);
        if (rc) {
            return -1;
        }
    }
    return 0;
}

void scn_defaults(struct scenario *s)
{
    memset(s, 0, sizeof(*s));
    apply_defaults(s, group(SEC_TOP));
    for (size_t i = 0; i < N_SECTIONS; i++) {
        apply_defaults(s, group(sections[i].sec));
    }
}

static int section_keys(json_t *obj, void *base, const struct key *g,
                        const char *prefix, char *err, size_t errlen)
{
    const char *name;
    json_t *v;
    json_object_foreach(obj, name, v)
    {
        char where[160];
        snprintf(where, sizeof(where), "%s%s", prefix, name);
        const struct key *k = find_key(g, name);
        if (!k) {
            continue; /* arrays etc. are handled by the caller */
        }
        if (set_value(base, k, v, where, err, errlen)) {
            return -1;
        }
    }
    return 0;
}

static int check_unknown(json_t *obj, const struct key *g,
                         const char *const *extra, const char *prefix,
                         char *err, size_t errlen)
{
    const char *name;
    json_t *v;
    json_object_foreach(obj, name, v)
    {
        if (find_key(g, name)) {
            continue;
        }
        bool ok = false;
        for (const char *const *x = extra; x && *x; x++) {
            if (strcmp(*x, name) == 0) {
                ok = true;
            }
        }
        if (!ok) {
            err_set(err, errlen,
                    "%s%s: unknown key (see 'migsim simulate "
                    "--keys')",
                    prefix, name);
            return -1;
        }
    }
    return 0;
}

static int parse_device_keys(json_t *o, struct scn_device *d,
                             const char *prefix, char *err, size_t errlen);
static void scenario_relative(const char *src, const char *pn, char *out,
                              size_t len);

static int parse_device(json_t *o, unsigned idx, struct scn_device *d,
                        const char *src, char *err, size_t errlen)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "devices[%u].", idx);
    if (!json_is_object(o)) {
        err_set(err, errlen, "devices[%u]: expected an object", idx);
        return -1;
    }
    static const char *const extra[] = {"stop_copy_schedule", "profile", NULL};
    if (check_unknown(o, group(SEC_DEV), extra, prefix, err, errlen)) {
        return -1;
    }
    json_t *merged = NULL;
    json_t *prof = json_object_get(o, "profile");
    if (prof) {
        /* a device profile written by `migsim probe-vfio`: its keys are
         * defaults that the scenario's own keys override */
        if (!json_is_string(prof)) {
            err_set(err, errlen, "%sprofile: expected a file name", prefix);
            return -1;
        }
        /* relative to the scenario file's directory */
        char ppath[1024];
        scenario_relative(src, json_string_value(prof), ppath, sizeof(ppath));
        json_error_t je;
        json_t *pj = json_load_file(ppath, 0, &je);
        if (!pj || !json_is_object(pj)) {
            if (pj) {
                err_set(err, errlen, "%sprofile: %s: expected a JSON object",
                        prefix, ppath);
            } else if (je.line > 0) {
                err_set(err, errlen, "%sprofile: %s:%d: %s", prefix, ppath,
                        je.line, je.text);
            } else {
                err_set(err, errlen, "%sprofile: %s", prefix, je.text);
            }
            json_decref(pj);
            return -1;
        }
        char pprefix[1200];
        snprintf(pprefix, sizeof(pprefix), "%s (profile %s): ", prefix, ppath);
        if (check_unknown(pj, group(SEC_DEV), extra, pprefix, err, errlen)) {
            json_decref(pj);
            return -1;
        }
        json_object_update(pj, o);
        json_object_del(pj, "profile");
        merged = pj;
        o = merged;
    }
    memset(d, 0, sizeof(*d));
    if (apply_defaults(d, group(SEC_DEV))) {
        return -1;
    }
    snprintf(d->name, sizeof(d->name), "vfio%u", idx);
    int rc = parse_device_keys(o, d, prefix, err, errlen);
    json_decref(merged);
    return rc;
}

static int parse_device_keys(json_t *o, struct scn_device *d,
                             const char *prefix, char *err, size_t errlen)
{
    if (section_keys(o, d, group(SEC_DEV), prefix, err, errlen)) {
        return -1;
    }
    json_t *sch = json_object_get(o, "stop_copy_schedule");
    if (sch) {
        if (!json_is_array(sch) || json_array_size(sch) > SCN_MAX_SCHEDULE) {
            err_set(err, errlen,
                    "%sstop_copy_schedule: expected an array of at most %d "
                    "{\"at\": TIME, \"size\": SIZE}",
                    prefix, SCN_MAX_SCHEDULE);
            return -1;
        }
        size_t i;
        json_t *e;
        int64_t prev = -1;
        json_array_foreach(sch, i, e)
        {
            char where[128];
            snprintf(where, sizeof(where), "%sstop_copy_schedule[%zu]", prefix,
                     i);
            json_t *at = json_object_get(e, "at");
            json_t *sz = json_object_get(e, "size");
            if (!json_is_object(e) || !at || !sz || json_object_size(e) != 2) {
                err_set(err, errlen,
                        "%s: expected {\"at\": TIME, \"size\": "
                        "SIZE}",
                        where);
                return -1;
            }
            static const struct key kat = {.name = "at", .type = K_TIME};
            static const struct key ksz = {.name = "size", .type = K_SIZE};
            struct scn_size_change *c = &d->schedule[i];
            if (set_value(&c->at_ns, &kat, at, where, err, errlen) ||
                set_value(&c->stop_copy_bytes, &ksz, sz, where, err, errlen)) {
                return -1;
            }
            if (c->at_ns < prev) {
                err_set(err, errlen, "%s: times must not decrease", where);
                return -1;
            }
            prev = c->at_ns;
        }
        d->n_schedule = (unsigned)json_array_size(sch);
    }
    return 0;
}

static int parse_phases(json_t *arr, struct scenario *s, char *err,
                        size_t errlen)
{
    if (!json_is_array(arr) || json_array_size(arr) > RAM_MAX_PHASES) {
        err_set(err, errlen,
                "workload.phases: expected an array of at most %d "
                "{\"at\": TIME, \"dirty_rate\": RATE}",
                RAM_MAX_PHASES);
        return -1;
    }
    size_t i;
    json_t *e;
    int64_t prev = -1;
    json_array_foreach(arr, i, e)
    {
        char where[64];
        snprintf(where, sizeof(where), "workload.phases[%zu]", i);
        json_t *at = json_object_get(e, "at");
        json_t *r = json_object_get(e, "dirty_rate");
        if (!json_is_object(e) || !at || !r || json_object_size(e) != 2) {
            err_set(err, errlen,
                    "%s: expected {\"at\": TIME, \"dirty_rate\": RATE}", where);
            return -1;
        }
        static const struct key kat = {.name = "at", .type = K_TIME};
        static const struct key kr = {.name = "dirty_rate", .type = K_RATE};
        struct ram_phase *p = &s->ram.phases[i];
        if (set_value(&p->at_ns, &kat, at, where, err, errlen) ||
            set_value(&p->dirty_rate_bps, &kr, r, where, err, errlen)) {
            return -1;
        }
        if (p->at_ns < prev) {
            err_set(err, errlen, "%s: times must not decrease", where);
            return -1;
        }
        prev = p->at_ns;
    }
    s->ram.n_phases = (unsigned)json_array_size(arr);
    return 0;
}

static int validate(struct scenario *s, char *err, size_t errlen)
{
    if (s->page_bytes < 512 || (s->page_bytes & (s->page_bytes - 1))) {
        err_set(err, errlen, "vm.page_size: must be a power of two >= 512");
        return -1;
    }
    if (s->ram_bytes < s->page_bytes || s->ram_bytes % s->page_bytes) {
        err_set(err, errlen,
                "vm.ram: must be a non-zero multiple of "
                "vm.page_size");
        return -1;
    }
    if (s->ram_bytes > (UINT64_C(64) << 40)) {
        err_set(err, errlen, "vm.ram: at most 64TiB is modelled");
        return -1;
    }
    if (s->ram.working_set_bytes > s->ram_bytes) {
        err_set(err, errlen, "workload.working_set: larger than vm.ram");
        return -1;
    }
    if (s->ram.workload != RAM_WL_IDLE && s->ram.working_set_bytes == 0 &&
        s->ram.dirty_rate_bps > 0) {
        err_set(err, errlen,
                "workload.working_set: must be > 0 when the guest "
                "dirties memory");
        return -1;
    }
    if (s->ram.workload == RAM_WL_PHASED && s->ram.n_phases == 0) {
        err_set(err, errlen, "workload.phases: a phased workload needs phases");
        return -1;
    }
    if (s->ram.workload == RAM_WL_PHASED &&
        s->ram.phase_base != RAM_WL_UNIFORM &&
        s->ram.phase_base != RAM_WL_SWEEP) {
        err_set(err, errlen, "workload.phase_base: uniform or sweep");
        return -1;
    }
    if (s->link_bandwidth_bps == 0) {
        err_set(err, errlen, "migration.link_bandwidth: must be > 0");
        return -1;
    }
    if (qmp_downtime_limit_check("migration.downtime_limit",
                                 s->downtime_limit_ns, false, err, errlen)) {
        return -1;
    }
    if (s->time_limit_ns <= 0) {
        err_set(err, errlen, "migration.time_limit: must be > 0");
        return -1;
    }
    if (s->time_limit_ns > SCN_MAX_TIME_LIMIT_NS) {
        err_set(err, errlen,
                "migration.time_limit: %.0fh is more than the maximum of "
                "%lldh (30 days; a run that does not converge simulates "
                "all of it: the seed case costs ~0.1 s of CPU per simulated "
                "hour in page mode, a sweep that per point)",
                (double)s->time_limit_ns / 3.6e12,
                (long long)(SCN_MAX_TIME_LIMIT_NS / 3600000000000LL));
        return -1;
    }
    if (s->max_cpu_throttle > 99 || s->cpu_throttle_initial < 1 ||
        s->cpu_throttle_initial > 99 || s->cpu_throttle_increment < 1 ||
        s->cpu_throttle_increment > 99 || s->throttle_trigger_threshold < 1 ||
        s->throttle_trigger_threshold > 100) {
        err_set(err, errlen,
                "migration: throttle percentages out of QEMU's ranges");
        return -1;
    }
    if (s->multifd_channels > 255) {
        err_set(err, errlen, "migration.multifd_channels: at most 255");
        return -1;
    }
    if (s->switchover_ack && !qv_get(s->qemu)->switchover_ack) {
        err_set(err, errlen, "migration.switchover_ack: needs QEMU 8.1+");
        return -1;
    }
    if (s->dirty_limit && !qv_get(s->qemu)->dirty_limit) {
        err_set(err, errlen, "migration.dirty_limit: needs QEMU 8.1+");
        return -1;
    }
    if (s->avail_switchover_bandwidth_bps &&
        !qv_get(s->qemu)->avail_switchover_bw) {
        err_set(err, errlen,
                "migration.avail_switchover_bandwidth: needs QEMU 8.2+");
        return -1;
    }
    for (unsigned i = 0; i < s->n_devices; i++) {
        if (s->devices[i].multifd && !qv_get(s->qemu)->vfio_multifd) {
            err_set(err, errlen, "devices[%u].multifd: needs QEMU 10.0+", i);
            return -1;
        }
        for (unsigned j = 0; j < i; j++) {
            if (strcmp(s->devices[i].name, s->devices[j].name) == 0) {
                err_set(err, errlen, "devices[%u].name: '%s' is used twice", i,
                        s->devices[i].name);
                return -1;
            }
        }
    }
    return 0;
}

/* A path given in a scenario: absolute, or relative to the scenario
 * file's directory. */
static void scenario_relative(const char *src, const char *pn, char *out,
                              size_t len)
{
    const char *slash = strrchr(src, '/');
    if (pn[0] != '/' && slash && strcmp(src, "-") != 0) {
        snprintf(out, len, "%.*s/%s", (int)(slash - src), src, pn);
    } else {
        snprintf(out, len, "%s", pn);
    }
}

/*
 * Top-level "calibration": a file written by `migsim calibrate` whose
 * "scenario" object holds fitted keys; they are defaults the scenario's
 * own keys override (section by section).  *merged is the tree to resolve
 * (a new reference), or NULL when there is no calibration key.
 */
static int apply_calibration(json_t *root, const char *src, json_t **merged,
                             char *e, size_t elen)
{
    *merged = NULL;
    json_t *cal = json_object_get(root, "calibration");
    if (!cal) {
        return 0;
    }
    if (!json_is_string(cal)) {
        snprintf(e, elen, "calibration: expected a file name");
        return -1;
    }
    char path[1024];
    scenario_relative(src, json_string_value(cal), path, sizeof(path));
    json_error_t je;
    json_t *cj = json_load_file(path, 0, &je);
    json_t *cs = cj ? json_object_get(cj, "scenario") : NULL;
    if (!cj || !json_is_object(cs)) {
        if (cj) {
            snprintf(e, elen,
                     "calibration: %.300s: expected a calibration file (an "
                     "object with a \"scenario\" object)",
                     path);
        } else if (je.line > 0) {
            snprintf(e, elen, "calibration: %.200s:%d: %.150s", path, je.line,
                     je.text);
        } else {
            snprintf(e, elen, "calibration: %.300s", je.text);
        }
        json_decref(cj);
        return -1;
    }
    json_t *m = json_deep_copy(cs);
    json_decref(cj);
    if (!m) {
        snprintf(e, elen, "out of memory");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (strcmp(k, "calibration") == 0) {
            continue;
        }
        json_t *base = json_object_get(m, k);
        if (json_is_object(base) && json_is_object(v)) {
            json_object_update(base, v);
        } else {
            json_object_set(m, k, v);
        }
    }
    *merged = m;
    return 0;
}

int scn_resolve(const struct scn_doc *doc, struct scenario *s, char *err,
                size_t errlen)
{
    char e[400] = "";
    scn_defaults(s);
    json_t *root = doc->root;
    if (!json_is_object(root)) {
        err_set(err, errlen, "%s: the scenario must be a JSON object",
                doc->source);
        return -1;
    }
    json_t *merged = NULL;
    if (apply_calibration(root, doc->source, &merged, e, sizeof(e))) {
        goto bad;
    }
    if (merged) {
        root = merged;
    }
    static const char *const top_extra[] = {
        "vm", "workload", "migration", "sim", "devices", "description", NULL};
    if (check_unknown(root, group(SEC_TOP), top_extra, "", e, sizeof(e)) ||
        section_keys(root, s, group(SEC_TOP), "", e, sizeof(e))) {
        goto bad;
    }
    for (size_t i = 0; i < N_SECTIONS; i++) {
        json_t *sec = json_object_get(root, sections[i].name);
        if (!sec) {
            continue;
        }
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "%s.", sections[i].name);
        if (!json_is_object(sec)) {
            snprintf(e, sizeof(e), "%s: expected an object", sections[i].name);
            goto bad;
        }
        static const char *const wl_extra[] = {"phases", NULL};
        if (check_unknown(sec, group(sections[i].sec),
                          sections[i].sec == SEC_WL ? wl_extra : NULL, prefix,
                          e, sizeof(e)) ||
            section_keys(sec, s, group(sections[i].sec), prefix, e,
                         sizeof(e))) {
            goto bad;
        }
    }
    json_t *wl = json_object_get(root, "workload");
    json_t *ph = wl ? json_object_get(wl, "phases") : NULL;
    if (ph && parse_phases(ph, s, e, sizeof(e))) {
        goto bad;
    }
    json_t *devs = json_object_get(root, "devices");
    if (devs) {
        if (!json_is_array(devs) || json_array_size(devs) > SCN_MAX_DEVICES) {
            snprintf(e, sizeof(e),
                     "devices: expected an array of at most %d "
                     "objects",
                     SCN_MAX_DEVICES);
            goto bad;
        }
        size_t i;
        json_t *d;
        json_array_foreach(devs, i, d)
        {
            if (parse_device(d, (unsigned)i, &s->devices[i], doc->source, e,
                             sizeof(e))) {
                goto bad;
            }
        }
        s->n_devices = (unsigned)json_array_size(devs);
    }
    s->ram.ram_bytes = s->ram_bytes;
    s->ram.page_bytes = s->page_bytes;
    s->ram.zero_fraction = s->zero_fraction;
    if (s->ram.workload == RAM_WL_IDLE) {
        s->ram.dirty_rate_bps = 0;
    }
    if (validate(s, e, sizeof(e))) {
        goto bad;
    }
    json_decref(merged);
    return 0;
bad:
    json_decref(merged);
    err_set(err, errlen, "%s: %s", doc->source, e);
    return -1;
}

/* Wrap a parsed tree (or report the parse error) as a document. */
static struct scn_doc *doc_new(json_t *root, const json_error_t *je,
                               const char *src, char *err, size_t errlen)
{
    if (!root) {
        err_set(err, errlen, "%s:%d:%d: %s", src, je->line, je->column,
                je->text);
        return NULL;
    }
    struct scn_doc *d = calloc(1, sizeof(*d));
    if (!d) {
        json_decref(root);
        err_set(err, errlen, "out of memory");
        return NULL;
    }
    d->root = root;
    snprintf(d->source, sizeof(d->source), "%s", src);
    return d;
}

struct scn_doc *scn_doc_parse(const char *json, const char *src, char *err,
                              size_t errlen)
{
    json_error_t je;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    return doc_new(root, &je, src, err, errlen);
}

struct scn_doc *scn_doc_load(const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root;
    if (strcmp(path, "-") == 0) {
        root = json_loadf(stdin, JSON_REJECT_DUPLICATES, &je);
    } else {
        FILE *f = fopen(path, "r");
        if (!f) {
            err_set(err, errlen, "%s: %s", path, strerror(errno));
            return NULL;
        }
        root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
        fclose(f);
    }
    return doc_new(root, &je, path, err, errlen);
}

struct scn_doc *scn_doc_copy(const struct scn_doc *d)
{
    struct scn_doc *c = calloc(1, sizeof(*c));
    if (!c) {
        return NULL;
    }
    c->root = json_deep_copy(d->root);
    if (!c->root) {
        free(c);
        return NULL;
    }
    memcpy(c->source, d->source, sizeof(c->source));
    return c;
}

void scn_doc_free(struct scn_doc *d)
{
    if (d) {
        json_decref(d->root);
        free(d);
    }
}

const char *scn_doc_source(const struct scn_doc *d)
{
    return d->source;
}

char *scn_doc_json(const struct scn_doc *d)
{
    return json_dumps(d->root, JSON_COMPACT | JSON_SORT_KEYS);
}

/* Split "a.b[2].c" / "a.b.2.c" into components. */
int scn_doc_set(struct scn_doc *d, const char *assignment, char *err,
                size_t errlen)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        err_set(err, errlen, "--set '%s': expected key.path=value", assignment);
        return -1;
    }
    size_t klen = (size_t)(eq - assignment);
    char *path = malloc(klen + 1);
    if (!path) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    /* normalise a[2] -> a.2 */
    size_t o = 0;
    for (size_t i = 0; i < klen; i++) {
        char c = assignment[i];
        if (c == '[') {
            path[o++] = '.';
        } else if (c != ']') {
            path[o++] = c;
        }
    }
    path[o] = '\0';
    const char *valtext = eq + 1;
    json_error_t je;
    json_t *val = json_loads(valtext, JSON_DECODE_ANY, &je);
    if (!val) {
        val = json_string(valtext);
    }
    int rc = -1;
    json_t *cur = d->root;
    char *save = NULL;
    char *tok = strtok_r(path, ".", &save);
    while (tok) {
        char *next = strtok_r(NULL, ".", &save);
        char *end;
        unsigned long idx = strtoul(tok, &end, 10);
        bool is_index = *tok && !*end;
        if (is_index) {
            if (!json_is_array(cur) || idx >= json_array_size(cur)) {
                err_set(err, errlen, "--set %.*s: no element %lu", (int)klen,
                        assignment, idx);
                goto out;
            }
            if (!next) {
                json_array_set(cur, idx, val);
                rc = 0;
                goto out;
            }
            cur = json_array_get(cur, idx);
        } else {
            if (!json_is_object(cur)) {
                err_set(err, errlen, "--set %.*s: '%s' is not inside an object",
                        (int)klen, assignment, tok);
                goto out;
            }
            if (!next) {
                /* jansson refuses a key that is not UTF-8 */
                if (json_object_set(cur, tok, val) != 0) {
                    err_set(err, errlen, "--set %.*s: '%s' is not a valid key",
                            (int)klen, assignment, tok);
                    goto out;
                }
                rc = 0;
                goto out;
            }
            json_t *child = json_object_get(cur, tok);
            if (!child) {
                child = json_object();
                if (json_object_set_new(cur, tok, child) != 0) {
                    err_set(err, errlen, "--set %.*s: '%s' is not a valid key",
                            (int)klen, assignment, tok);
                    goto out;
                }
            }
            cur = child;
        }
        tok = next;
    }
    err_set(err, errlen, "--set '%s': empty key", assignment);
out:
    json_decref(val);
    free(path);
    return rc;
}

static const char *type_name(enum key_type t)
{
    switch (t) {
    case K_SIZE:
        return "size";
    case K_TIME:
        return "time";
    case K_RATE:
        return "rate";
    case K_BOOL:
        return "bool";
    case K_UINT:
    case K_U64:
        return "integer";
    case K_FRACTION:
        return "fraction";
    case K_DOUBLE:
        return "number";
    case K_STRING:
        return "string";
    case K_QEMU:
        return "version";
    case K_WORKLOAD:
        return "workload";
    case K_RAMMODE:
        return "mode";
    }
    return "?";
}

static void print_table(FILE *f, const char *prefix, const struct key *g)
{
    for (const struct key *k = g; next_in(g, k); k++) {
        char name[80];
        snprintf(name, sizeof(name), "%s%s", prefix, k->name);
        fprintf(f, "  %-38s %-9s %-10s %s\n", name, type_name(k->type),
                k->def[0] ? k->def : "\"\"", k->help);
    }
}

void scn_print_keys(FILE *f)
{
    fprintf(f, "  %-38s %-9s %-10s %s\n", "KEY", "TYPE", "DEFAULT", "MEANING");
    print_table(f, "", group(SEC_TOP));
    fprintf(f, "  %-38s %-9s %-10s %s\n", "calibration", "file", "\"\"",
            "constants from 'migsim calibrate', relative to the scenario "
            "(keys here override them)");
    for (size_t i = 0; i < N_SECTIONS; i++) {
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "%s.", sections[i].name);
        print_table(f, prefix, group(sections[i].sec));
        if (sections[i].sec == SEC_WL) {
            fprintf(f, "  %-38s %-9s %-10s %s\n", "workload.phases", "array",
                    "[]", "phased: [{\"at\": TIME, \"dirty_rate\": RATE}]");
        }
    }
    print_table(f, "devices[].", group(SEC_DEV));
    fprintf(f, "  %-38s %-9s %-10s %s\n", "devices[].profile", "file", "\"\"",
            "device profile from 'migsim probe-vfio', relative to the "
            "scenario (keys here override it)");
    fprintf(f, "  %-38s %-9s %-10s %s\n", "devices[].stop_copy_schedule",
            "array", "[]", "[{\"at\": TIME, \"size\": SIZE}] size changes");
}
