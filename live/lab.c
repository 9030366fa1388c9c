/* SPDX-License-Identifier: GPL-3.0-or-later */
/* live/lab.c — boot, migrate, observe and clean up real QEMUs (TCG). */
#include "live/lab.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run/qmp_params.h"
#include "run/scenario.h"

#define MS ((int64_t)1000000)
#define S  ((int64_t)1000000000)

/* Pages outside the working set that hold data after the guest boots
 * (SeaBIOS, its tables, the boot sector): measured on QEMU 7.2 -machine pc
 * as ram.normal minus the working set on an idle-rate run; used for the
 * scenario's vm.zero_fraction before the run's own figure is known. */
#define LAB_NONZERO_PAGES 112

/* Trace events enabled on the source (QEMU 7.2 names; unknown names are
 * ignored by QEMU with a warning). */
static const char *const trace_events[] = {
    "migrate_set_state",
    "migrate_pending",
    "migrate_transferred",
    "migration_bitmap_sync_start",
    "migration_bitmap_sync_end",
    "migration_thread_low_pending",
    "migration_thread_setup_complete",
    "migration_thread_after_loop",
    "migration_thread_file_err",
    "migration_completion_vm_stop",
    "migration_completion_file_err",
    "migration_rate_limit_pre",
    "migration_rate_limit_post",
    "migration_throttle",
    "ram_save_iterate_big_wait",
    "savevm_state_setup",
    "savevm_state_iterate",
    "savevm_state_complete_precopy",
    "savevm_state_cleanup",
    "migrate_fd_error",
    "migrate_fd_cleanup",
};

static void sleep_ns(int64_t ns)
{
    if (ns > 0) {
        struct timespec ts = {ns / S, ns % S};
        nanosleep(&ts, NULL);
    }
}

void lab_cfg_default(struct lab_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->ram_bytes = (uint64_t)512 << 20;
    c->working_set_bytes = (uint64_t)64 << 20;
    c->dirty_rate_bps = (uint64_t)4 << 20;
    c->boot_timeout_ns = 60 * S;
    c->settle_ns = 1 * S;
    c->time_limit_ns = 120 * S;
}

/* ---- guest image -------------------------------------------------------- */

int lab_find_guest(const char *given, char *out, size_t outlen, char *err,
                   size_t errlen)
{
    const char *env = getenv("MIGSIM_GUEST");
    if (given || (env && *env)) {
        const char *p = given ? given : env;
        if (access(p, R_OK) != 0) {
            err_set(err, errlen, "guest image %s: %s", p, strerror(errno));
            return -1;
        }
        snprintf(out, outlen, "%s", p);
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        err_set(err, errlen,
                "cannot locate the migsim binary (/proc/self/exe): "
                "pass --guest FILE");
        return -1;
    }
    exe[n] = '\0';
    char *dir = dirname(exe);
    char c1[PATH_MAX + 32], c2[PATH_MAX + 40];
    snprintf(c1, sizeof(c1), "%s/guest/guest.bin", dir);
    snprintf(c2, sizeof(c2), "%s/../share/migsim/guest.bin", dir);
    const char *cands[] = {c1, c2};
    for (size_t i = 0; i < 2; i++) {
        if (access(cands[i], R_OK) == 0) {
            snprintf(out, outlen, "%s", cands[i]);
            return 0;
        }
    }
    err_set(err, errlen,
            "lab guest image not found (looked for %s and %s); build it with "
            "'make tests' or pass --guest FILE",
            c1, c2);
    return -1;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int lab_patch_guest(uint8_t img[LAB_GUEST_SIZE], const struct lab_cfg *c,
                    char *err, size_t errlen)
{
    uint8_t *p = img + LAB_GUEST_PARAM_OFFSET;
    if (memcmp(p, LAB_GUEST_MAGIC, 4) != 0 || img[510] != 0x55 ||
        img[511] != 0xaa) {
        err_set(err, errlen,
                "not the migsim lab guest (no \"%s\" at offset 0x%x or no boot "
                "signature)",
                LAB_GUEST_MAGIC, LAB_GUEST_PARAM_OFFSET);
        return -1;
    }
    if (c->working_set_bytes % LAB_GUEST_PAGE) {
        err_set(err, errlen,
                "working set %" PRIu64 " is not a multiple of 4 KiB",
                c->working_set_bytes);
        return -1;
    }
    uint64_t top =
        c->ram_bytes < ((uint64_t)3 << 30) ? c->ram_bytes : ((uint64_t)3 << 30);
    if (c->working_set_bytes + LAB_GUEST_WS_BASE + ((uint64_t)1 << 20) > top) {
        err_set(err, errlen,
                "working set %" PRIu64
                " MiB does not fit: the guest writes from "
                "1 MiB up and needs 1 MiB of headroom below min(RAM, 3 GiB) = "
                "%" PRIu64 " MiB",
                c->working_set_bytes >> 20, top >> 20);
        return -1;
    }
    uint32_t pages = (uint32_t)(c->working_set_bytes / LAB_GUEST_PAGE);
    uint32_t pause = 0;
    uint16_t mode = 1;
    if (c->pause_loops) {
        mode = 0;
        pause = c->pause_loops;
    } else if (c->dirty_rate_bps == 0) {
        pages = 0; /* idle guest */
    } else {
        double t = (double)LAB_PMTIMER_HZ * 16.0 * LAB_GUEST_PAGE /
                   (double)c->dirty_rate_bps;
        if (t < 1.0) {
            err_set(err, errlen,
                    "dirty rate %" PRIu64 " B/s is too high for the "
                    "guest's pacing",
                    c->dirty_rate_bps);
            return -1;
        }
        if (t >= (double)(1u << 27)) {
            err_set(err, errlen,
                    "dirty rate %" PRIu64 " B/s is too low (at least 2 KiB/s)",
                    c->dirty_rate_bps);
            return -1;
        }
        pause = (uint32_t)llround(t);
    }
    if (pages == 0 && c->pause_loops) {
        err_set(err, errlen, "busy-loop pacing needs a working set");
        return -1;
    }
    put32(p + 4, pages);
    put32(p + 8, pause);
    p[12] = (uint8_t)mode;
    p[13] = 0;
    return 0;
}

/* ---- processes ---------------------------------------------------------- */

struct proc {
    const char *name; /* "source" / "destination" */
    pid_t pid;        /* 0 = not started */
    bool reaped;
    int status;
    char log[PATH_MAX + 32];
};

static int spawn(struct proc *p, char *const argv[], char *err, size_t errlen)
{
    int logfd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (logfd < 0) {
        err_set(err, errlen, "%s: %s", p->log, strerror(errno));
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(logfd);
        err_set(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
        }
        dup2(logfd, 1);
        dup2(logfd, 2);
        execvp(argv[0], argv);
        dprintf(2, "migsim: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also from here: no race with our kill(-pid) */
    close(logfd);
    p->pid = pid;
    p->reaped = false;
    return 0;
}

/* Last non-empty line of a process's log, for messages. */
static void log_tail(const struct proc *p, char *out, size_t n)
{
    out[0] = '\0';
    FILE *f = fopen(p->log, "r");
    if (!f) {
        return;
    }
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r')) {
            line[--l] = '\0';
        }
        if (l && n) {
            size_t k = l < n - 1 ? l : n - 1; /* keep the head if long */
            memcpy(out, line, k);
            out[k] = '\0';
        }
    }
    fclose(f);
}

static void describe_exit(const struct proc *p, char *out, size_t n)
{
    char tail[300];
    log_tail(p, tail, sizeof(tail));
    char how[96];
    if (WIFEXITED(p->status)) {
        snprintf(how, sizeof(how), "exited with status %d",
                 WEXITSTATUS(p->status));
    } else if (WIFSIGNALED(p->status)) {
        snprintf(how, sizeof(how), "was killed by signal %d (%s)",
                 WTERMSIG(p->status), strsignal(WTERMSIG(p->status)));
    } else {
        snprintf(how, sizeof(how), "stopped (status 0x%x)", p->status);
    }
    snprintf(out, n, "%s QEMU (pid %d) %s%s%s", p->name, (int)p->pid, how,
             tail[0] ? ": " : "", tail);
}

/* Reap without waiting; true if the process is gone. */
static bool gone(struct proc *p)
{
    if (!p->pid || p->reaped) {
        return true;
    }
    pid_t r = waitpid(p->pid, &p->status, WNOHANG);
    if (r == p->pid || (r < 0 && errno == ECHILD)) {
        p->reaped = true;
        return true;
    }
    return false;
}

static bool wait_gone(struct proc *p, int64_t ns)
{
    int64_t until = qmp_now_ns() + ns;
    while (!gone(p)) {
        if (qmp_now_ns() >= until) {
            return false;
        }
        sleep_ns(20 * MS);
    }
    return true;
}

/* Quit over QMP if we can, then TERM, then KILL the process group; reap. */
static void stop_proc(struct proc *p, struct qmp_conn **q)
{
    if (p->pid && !gone(p) && *q && !qmp_is_closed(*q)) {
        qmp_execute(*q, "quit", NULL, 2 * S, NULL, NULL, 0);
        wait_gone(p, 3 * S);
    }
    if (*q) {
        qmp_close(*q);
        *q = NULL;
    }
    if (p->pid && !gone(p)) {
        kill(-p->pid, SIGTERM);
        if (!wait_gone(p, 3 * S)) {
            kill(-p->pid, SIGKILL);
            wait_gone(p, 10 * S);
        }
    }
}

/* ---- the lab ------------------------------------------------------------ */

struct lab {
    struct lab_cfg c;
    char dir[PATH_MAX];
    bool own_dir;
    char qemu[PATH_MAX];
    char image[PATH_MAX + 16];
    char evfile[PATH_MAX + 16];
    char trace[PATH_MAX + 32];
    bool own_trace;
    char src_sock[PATH_MAX + 16], obs_sock[PATH_MAX + 24],
        dst_sock[PATH_MAX + 16];
    struct proc src, dst;
    struct qmp_conn *qsrc, *qdst;
    const volatile sig_atomic_t *stop;
    FILE *progress;
    FILE *qlog;          /* $MIGSIM_QMP_LOG */
    int64_t dst_gone_ns; /* when the destination was first seen gone */
};

/* The source exiting ends the run at once.  The destination exits by
 * itself when an incoming migration fails or is cancelled ("load of
 * migration failed"): give the source DST_GRACE_NS to report that before
 * calling it a fault. */
#define DST_GRACE_NS (3 * S)

static int tick(void *arg, char *err, size_t errlen)
{
    struct lab *l = arg;
    if (gone(&l->src)) {
        describe_exit(&l->src, err, errlen);
        return -1;
    }
    if (gone(&l->dst)) {
        int64_t now = qmp_now_ns();
        if (!l->dst_gone_ns) {
            l->dst_gone_ns = now;
        }
        if (now - l->dst_gone_ns >= DST_GRACE_NS) {
            describe_exit(&l->dst, err, errlen);
            return -1;
        }
    }
    return 0;
}

static bool stopped(const struct lab *l)
{
    return l->stop && *l->stop;
}

static void remove_files(struct lab *l)
{
    unlink(l->src_sock);
    unlink(l->dst_sock);
    if (l->c.observer) {
        unlink(l->obs_sock);
    }
    if (!l->own_dir) {
        return;
    }
    const char *names[] = {"guest.img",       "trace-events", "source.log",
                           "destination.log", "src-mem.bin",  "dst-mem.bin",
                           "src.pid",         "dst.pid"};
    char p[PATH_MAX + 32];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", l->dir, names[i]);
        unlink(p);
    }
    if (l->own_trace) {
        unlink(l->trace);
    }
    if (rmdir(l->dir) != 0 && l->progress) {
        fprintf(l->progress, "note: could not remove %s: %s\n", l->dir,
                strerror(errno));
    }
}

static void lab_teardown(struct lab *l)
{
    stop_proc(&l->src, &l->qsrc);
    stop_proc(&l->dst, &l->qdst);
    remove_files(l);
    if (l->qlog) {
        fclose(l->qlog);
        l->qlog = NULL;
    }
}

static int write_file(const char *path, const void *data, size_t n, char *err,
                      size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        err_set(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    bool ok = fwrite(data, 1, n, f) == n;
    if (fclose(f) != 0 || !ok) {
        err_set(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int prepare(struct lab *l, char *err, size_t errlen)
{
    char guest[PATH_MAX];
    if (lab_find_guest(l->c.guest, guest, sizeof(guest), err, errlen)) {
        return -1;
    }
    uint8_t img[LAB_GUEST_SIZE + 1];
    FILE *f = fopen(guest, "rb");
    size_t n = f ? fread(img, 1, sizeof(img), f) : 0;
    if (f) {
        fclose(f);
    }
    if (n != LAB_GUEST_SIZE) {
        err_set(err, errlen, "%s: expected a %d-byte boot sector", guest,
                LAB_GUEST_SIZE);
        return -1;
    }
    char perr[256];
    if (lab_patch_guest(img, &l->c, perr, sizeof(perr))) {
        err_set(err, errlen, "%s: %s", guest, perr);
        return -1;
    }
    if (l->c.workdir) {
        if (mkdir(l->c.workdir, 0700) != 0 && errno != EEXIST) {
            err_set(err, errlen, "%s: %s", l->c.workdir, strerror(errno));
            return -1;
        }
        snprintf(l->dir, sizeof(l->dir), "%s", l->c.workdir);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(l->dir, sizeof(l->dir), "%s/migsim-lab.XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(l->dir)) {
            err_set(err, errlen, "mkdtemp %s: %s", l->dir, strerror(errno));
            return -1;
        }
        l->own_dir = true;
    }
    snprintf(l->image, sizeof(l->image), "%s/guest.img", l->dir);
    snprintf(l->evfile, sizeof(l->evfile), "%s/trace-events", l->dir);
    snprintf(l->src_sock, sizeof(l->src_sock), "%s/src.qmp", l->dir);
    snprintf(l->obs_sock, sizeof(l->obs_sock), "%s/src-observe.qmp", l->dir);
    snprintf(l->dst_sock, sizeof(l->dst_sock), "%s/dst.qmp", l->dir);
    snprintf(l->src.log, sizeof(l->src.log), "%s/source.log", l->dir);
    snprintf(l->dst.log, sizeof(l->dst.log), "%s/destination.log", l->dir);
    l->src.name = "source";
    l->dst.name = "destination";
    if (l->c.trace_path) {
        snprintf(l->trace, sizeof(l->trace), "%s", l->c.trace_path);
    } else {
        snprintf(l->trace, sizeof(l->trace), "%s/trace.log", l->dir);
        l->own_trace = true;
    }
    if (write_file(l->image, img, LAB_GUEST_SIZE, err, errlen)) {
        return -1;
    }
    char ev[2048];
    size_t o = 0;
    for (size_t i = 0; i < sizeof(trace_events) / sizeof(trace_events[0]);
         i++) {
        o += (size_t)snprintf(ev + o, sizeof(ev) - o, "%s\n", trace_events[i]);
    }
    if (write_file(l->evfile, ev, o, err, errlen)) {
        return -1;
    }
    const char *q = l->c.qemu ? l->c.qemu : getenv("MIGSIM_QEMU");
    snprintf(l->qemu, sizeof(l->qemu), "%s",
             q && *q ? q : "qemu-system-x86_64");
    /* PIDs for scripts (tests kill QEMU mid-migration through them). */
    return 0;
}

static int start_qemu(struct lab *l, bool dest, char *err, size_t errlen)
{
    char mem[32], drive[PATH_MAX + 48], qmp[PATH_MAX + 48], obs[PATH_MAX + 48],
        evs[PATH_MAX + 32];
    snprintf(mem, sizeof(mem), "%" PRIu64 "M", l->c.ram_bytes >> 20);
    snprintf(drive, sizeof(drive), "file=%s,format=raw,if=ide", l->image);
    snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off",
             dest ? l->dst_sock : l->src_sock);
    snprintf(obs, sizeof(obs), "unix:%s,server=on,wait=off", l->obs_sock);
    snprintf(evs, sizeof(evs), "events=%s", l->evfile);
    char *argv[40];
    int a = 0;
    argv[a++] = l->qemu;
    argv[a++] = "-name";
    argv[a++] = dest ? "migsim-lab-dst" : "migsim-lab-src";
    argv[a++] = "-machine";
    argv[a++] = "pc";
    argv[a++] = "-accel";
    argv[a++] = "tcg";
    argv[a++] = "-m";
    argv[a++] = mem;
    argv[a++] = "-smp";
    argv[a++] = "1";
    argv[a++] = "-nodefaults";
    argv[a++] = "-no-user-config";
    argv[a++] = "-display";
    argv[a++] = "none";
    argv[a++] = "-drive";
    argv[a++] = drive;
    argv[a++] = "-qmp";
    argv[a++] = qmp;
    if (dest) {
        argv[a++] = "-incoming";
        argv[a++] = "defer";
    } else {
        if (l->c.observer) {
            argv[a++] = "-qmp";
            argv[a++] = obs;
        }
        argv[a++] = "-trace";
        argv[a++] = evs;
        argv[a++] = "-D";
        argv[a++] = l->trace;
        argv[a++] = "-msg";
        argv[a++] = "timestamp=on";
    }
    argv[a] = NULL;
    struct proc *p = dest ? &l->dst : &l->src;
    if (spawn(p, argv, err, errlen)) {
        return -1;
    }
    char pidf[PATH_MAX + 16], pidv[32];
    snprintf(pidf, sizeof(pidf), "%s/%s.pid", l->dir, dest ? "dst" : "src");
    int n = snprintf(pidv, sizeof(pidv), "%d\n", (int)p->pid);
    write_file(pidf, pidv, (size_t)n, NULL, 0);
    /* Connect, retrying while QEMU creates the socket; notice an early
     * exit instead of waiting for the timeout. */
    const char *sock = dest ? l->dst_sock : l->src_sock;
    int64_t until = qmp_now_ns() + 20 * S;
    struct qmp_conn *c = NULL;
    char cerr[512] = "";
    while (!c) {
        if (gone(p)) {
            describe_exit(p, err, errlen);
            return -1;
        }
        if (stopped(l)) {
            err_set(err, errlen, "interrupted while starting QEMU");
            return -1;
        }
        c = qmp_connect(sock, 0, 10 * S, cerr, sizeof(cerr));
        if (!c) {
            if (qmp_now_ns() >= until) {
                err_set(err, errlen, "%s QEMU: %s", p->name, cerr);
                return -1;
            }
            sleep_ns(50 * MS);
        }
    }
    if (l->qlog) {
        qmp_set_log(c, l->qlog);
    }
    if (dest) {
        l->qdst = c;
    } else {
        l->qsrc = c;
    }
    return 0;
}

static int exec_ok(struct qmp_conn *q, const char *who, const char *cmd,
                   json_t *args, char *err, size_t errlen)
{
    char e[512];
    int r = qmp_execute(q, cmd, args, 10 * S, NULL, e, sizeof(e));
    json_decref(args);
    if (r != QMP_OK) {
        err_set(err, errlen, "%s QEMU: %s", who, e);
        return -1;
    }
    return 0;
}

/* One migrate-set-parameters argument, v in migsim units (ns, bytes/s). */
static void put_param(json_t *p, enum qmp_param_id id, uint64_t v)
{
    json_object_set_new(p, qmp_param_name(id),
                        json_integer(qmp_param_to_qmp(id, v)));
}

static int configure(struct lab *l, struct qmp_conn *q, const char *who,
                     bool source, char *err, size_t errlen)
{
    json_t *caps = json_array();
    json_array_append_new(
        caps, json_pack("{s:s, s:b}", "capability", "events", "state", 1));
    for (unsigned i = 0; i < l->c.n_caps; i++) {
        json_array_append_new(caps, json_pack("{s:s, s:b}", "capability",
                                              l->c.caps[i], "state", 1));
    }
    if (exec_ok(q, who, "migrate-set-capabilities",
                json_pack("{s:o}", "capabilities", caps), err, errlen)) {
        return -1;
    }
    if (!source) {
        return 0;
    }
    json_t *p = json_object();
    if (l->c.downtime_limit_ns > 0) {
        put_param(p, QP_DOWNTIME_LIMIT, (uint64_t)l->c.downtime_limit_ns);
    }
    if (l->c.set_max_bandwidth) {
        put_param(p, QP_MAX_BANDWIDTH, l->c.max_bandwidth_bps);
    }
    for (unsigned i = 0; i < l->c.n_params; i++) {
        char name[80];
        snprintf(name, sizeof(name), "%s", l->c.params[i]);
        char *eq = strchr(name, '=');
        if (!eq) {
            json_decref(p);
            err_set(err, errlen, "parameter '%s': expected NAME=VALUE", name);
            return -1;
        }
        *eq = '\0';
        const char *v = eq + 1;
        char *end = NULL;
        long long iv = strtoll(v, &end, 10);
        json_t *jv;
        if (*v && end && *end == '\0') {
            jv = json_integer(iv);
        } else if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
            jv = json_boolean(v[0] == 't');
        } else {
            jv = json_string(v);
        }
        json_object_set_new(p, name, jv);
    }
    if (json_object_size(p) == 0) {
        json_decref(p);
        return 0;
    }
    return exec_ok(q, who, "migrate-set-parameters", p, err, errlen);
}

/* Guest page counter and ready flag through pmemsave. */
static int read_guest(struct lab *l, struct qmp_conn *q, const char *tag,
                      uint32_t *counter, uint32_t *ready, char *err,
                      size_t errlen)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/%s-mem.bin", l->dir, tag);
    json_t *args =
        json_pack("{s:I, s:I, s:s}", "val", (json_int_t)LAB_GUEST_COUNTER,
                  "size", (json_int_t)8, "filename", path);
    char e[512];
    int r = qmp_execute(q, "pmemsave", args, 10 * S, NULL, e, sizeof(e));
    json_decref(args);
    if (r != QMP_OK) {
        err_set(err, errlen, "pmemsave: %s", e);
        return -1;
    }
    uint8_t b[8];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, 8, f) : 0;
    if (f) {
        fclose(f);
    }
    unlink(path);
    if (n != 8) {
        err_set(err, errlen, "pmemsave wrote %zu of 8 bytes to %s", n, path);
        return -1;
    }
    *counter = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
               (uint32_t)b[3] << 24;
    *ready = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 |
             (uint32_t)b[7] << 24;
    return 0;
}

static int wait_ready(struct lab *l, double *rate, char *err, size_t errlen)
{
    int64_t until = qmp_now_ns() + l->c.boot_timeout_ns;
    uint32_t cnt = 0, rdy = 0;
    for (;;) {
        if (stopped(l)) {
            err_set(err, errlen, "interrupted while the guest booted");
            return -1;
        }
        if (tick(l, err, errlen)) {
            return -1;
        }
        if (read_guest(l, l->qsrc, "src", &cnt, &rdy, err, errlen)) {
            return -1;
        }
        if (rdy == LAB_GUEST_READY_MAGIC) {
            break;
        }
        if (qmp_now_ns() >= until) {
            err_set(err, errlen,
                    "the guest did not become ready within %" PRId64 " s (page "
                    "counter %u): does %s boot the lab guest?",
                    l->c.boot_timeout_ns / S, cnt, l->qemu);
            return -1;
        }
        sleep_ns(100 * MS);
    }
    *rate = 0;
    if (l->c.settle_ns <= 0 ||
        (l->c.dirty_rate_bps == 0 && l->c.pause_loops == 0)) {
        return 0;
    }
    uint32_t c1, c2;
    int64_t t1a = qmp_now_ns();
    if (read_guest(l, l->qsrc, "src", &c1, &rdy, err, errlen)) {
        return -1;
    }
    int64_t t1 = (t1a + qmp_now_ns()) / 2;
    sleep_ns(l->c.settle_ns);
    int64_t t2a = qmp_now_ns();
    if (read_guest(l, l->qsrc, "src", &c2, &rdy, err, errlen)) {
        return -1;
    }
    int64_t t2 = (t2a + qmp_now_ns()) / 2;
    *rate = (double)(uint32_t)(c2 - c1) * LAB_GUEST_PAGE /
            ((double)(t2 - t1) / 1e9);
    return 0;
}

static int start_migration(struct lab *l, char *err, size_t errlen)
{
    if (exec_ok(l->qdst, "destination", "migrate-incoming",
                json_pack("{s:s}", "uri", "tcp:127.0.0.1:0"), err, errlen)) {
        return -1;
    }
    json_t *ret = NULL;
    char e[512];
    if (qmp_execute(l->qdst, "query-migrate", NULL, 10 * S, &ret, e,
                    sizeof(e)) != QMP_OK) {
        err_set(err, errlen, "destination QEMU: %s", e);
        return -1;
    }
    const json_t *sa =
        json_array_get(json_object_get(ret, "socket-address"), 0);
    const char *port = qmp_get_str(sa, "port", NULL);
    char uri[64];
    if (!port) {
        json_decref(ret);
        err_set(err, errlen,
                "destination QEMU: query-migrate shows no "
                "socket-address after migrate-incoming");
        return -1;
    }
    snprintf(uri, sizeof(uri), "tcp:127.0.0.1:%s", port);
    json_decref(ret);
    if (l->progress) {
        fprintf(l->progress, "migrating to %s\n", uri);
    }
    return exec_ok(l->qsrc, "source", "migrate", json_pack("{s:s}", "uri", uri),
                   err, errlen);
}

/* Destination runs the guest: status running, page counter advancing. */
static void check_destination(struct lab *l, struct lab_result *r)
{
    r->dest_checked = true;
    json_t *ret = NULL;
    char e[512];
    if (qmp_execute(l->qdst, "query-status", NULL, 10 * S, &ret, e,
                    sizeof(e)) != QMP_OK) {
        snprintf(r->dest_note, sizeof(r->dest_note), "query-status: %.150s", e);
        return;
    }
    int64_t until = qmp_now_ns() + 5 * S;
    char st[32];
    snprintf(st, sizeof(st), "%s", qmp_get_str(ret, "status", "?"));
    json_decref(ret);
    while (strcmp(st, "running") != 0 && qmp_now_ns() < until) {
        sleep_ns(100 * MS);
        if (qmp_execute(l->qdst, "query-status", NULL, 10 * S, &ret, e,
                        sizeof(e)) != QMP_OK) {
            break;
        }
        snprintf(st, sizeof(st), "%s", qmp_get_str(ret, "status", "?"));
        json_decref(ret);
    }
    if (strcmp(st, "running") != 0) {
        snprintf(r->dest_note, sizeof(r->dest_note),
                 "destination status is '%s', not running", st);
        return;
    }
    uint32_t c1, c2, rdy;
    if (read_guest(l, l->qdst, "dst", &c1, &rdy, e, sizeof(e))) {
        snprintf(r->dest_note, sizeof(r->dest_note), "%.190s", e);
        return;
    }
    if (rdy != LAB_GUEST_READY_MAGIC) {
        snprintf(r->dest_note, sizeof(r->dest_note),
                 "destination guest memory lacks the ready mark");
        return;
    }
    if (l->c.dirty_rate_bps == 0 && l->c.pause_loops == 0) {
        r->dest_ok = true;
        snprintf(r->dest_note, sizeof(r->dest_note),
                 "destination running the (idle) guest");
        return;
    }
    sleep_ns(500 * MS);
    if (read_guest(l, l->qdst, "dst", &c2, &rdy, e, sizeof(e))) {
        snprintf(r->dest_note, sizeof(r->dest_note), "%.190s", e);
        return;
    }
    r->dest_ok = c2 != c1;
    snprintf(r->dest_note, sizeof(r->dest_note),
             "destination guest %s (page counter %u -> %u in 0.5 s)",
             r->dest_ok ? "runs" : "does NOT advance", c1, c2);
}

/* "TID@SEC.USEC:name args" -> epoch ns, name, args. */
static bool trace_line(char *line, int64_t *t, char **name, char **args)
{
    char *at = strchr(line, '@');
    char *colon = at ? strchr(at, ':') : NULL;
    if (!at || !colon) {
        return false;
    }
    char *end;
    long long sec = strtoll(at + 1, &end, 10);
    if (*end != '.') {
        return false;
    }
    long long usec = strtoll(end + 1, &end, 10);
    if (end != colon) {
        return false;
    }
    *t = (int64_t)sec * S + (int64_t)usec * 1000;
    *name = colon + 1;
    char *sp = strchr(*name, ' ');
    if (sp) {
        *sp = '\0';
        *args = sp + 1;
    } else {
        char *nl = strchr(*name, '\n');
        if (nl) {
            *nl = '\0';
        }
        *args = "";
    }
    return true;
}

static void read_trace(struct lab *l, struct lab_result *r)
{
    FILE *f = fopen(l->trace, "r");
    if (!f) {
        return;
    }
    r->trace_read = true;
    char line[1024];
    int64_t start = -1;
    int64_t t0 = r->s.t0_epoch_ns;
    while (fgets(line, sizeof(line), f)) {
        int64_t t;
        char *name, *args;
        if (!trace_line(line, &t, &name, &args)) {
            continue;
        }
        if (strcmp(name, "migration_bitmap_sync_start") == 0) {
            start = t;
        } else if (strcmp(name, "migration_bitmap_sync_end") == 0 &&
                   start >= 0) {
            unsigned long long pages = 0;
            sscanf(args, "dirty_pages %llu", &pages);
            r->trace_syncs++;
            r->trace_sync_ns += t - start;
            run_result_add_event(&r->s.res, start - t0, RUN_EV_SYNC, pages,
                                 t - start, "sync %" PRIu64 " (trace)",
                                 r->trace_syncs);
            start = -1;
        } else if (strcmp(name, "migrate_pending") == 0) {
            r->trace_pending++;
        }
    }
    fclose(f);
    r->s.res.m.sync_time_ns = r->trace_sync_ns;
    r->s.res.m.estimate_calls = r->trace_pending;
}

char *lab_scenario_json(const struct lab_cfg *c, const char *qemu_model,
                        double dirty_rate_bps, double zero_fraction)
{
    char rate[48], dl[32], bw[48], tl[32];
    snprintf(rate, sizeof(rate), "%.0fB/s", dirty_rate_bps);
    snprintf(dl, sizeof(dl), "%" PRId64 "ms",
             (c->downtime_limit_ns > 0 ? c->downtime_limit_ns : 300 * MS) / MS);
    snprintf(bw, sizeof(bw), "%" PRIu64 "B/s",
             c->set_max_bandwidth ? c->max_bandwidth_bps : (uint64_t)128 << 20);
    snprintf(tl, sizeof(tl), "%" PRId64 "ms", c->time_limit_ns / MS);
    bool idle = dirty_rate_bps <= 0 || c->working_set_bytes == 0;
    bool ac = false;
    for (unsigned i = 0; i < c->n_caps; i++) {
        ac |= strcmp(c->caps[i], "auto-converge") == 0;
    }
    json_t *wl =
        idle ? json_pack("{s:s}", "kind", "idle")
             : json_pack("{s:s, s:I, s:s}", "kind", "sweep", "working_set",
                         (json_int_t)c->working_set_bytes, "dirty_rate", rate);
    char name[256];
    snprintf(name, sizeof(name),
             "lab ram %" PRIu64 "MiB ws %" PRIu64 "MiB rate %s bw %s dl %s",
             c->ram_bytes >> 20, c->working_set_bytes >> 20, rate, bw, dl);
    json_t *mig = json_pack("{s:s, s:s, s:s}", "downtime_limit", dl,
                            "max_bandwidth", bw, "time_limit", tl);
    if (ac) {
        json_object_set_new(mig, "auto_converge", json_true());
    }
    json_t *o =
        json_pack("{s:s, s:s, s:I, s:{s:I, s:f, s:I}, s:o, s:o}", "name", name,
                  "qemu", qemu_model, "seed", (json_int_t)1, "vm", "ram",
                  (json_int_t)c->ram_bytes, "zero_fraction", zero_fraction,
                  "vcpus", (json_int_t)1, "workload", wl, "migration", mig);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return s;
}

static double estimate_zero_fraction(const struct lab_cfg *c)
{
    double out = (double)(c->ram_bytes - c->working_set_bytes) / LAB_GUEST_PAGE;
    if (out <= 0) {
        return 1.0;
    }
    double z = 1.0 - LAB_NONZERO_PAGES / out;
    return z < 0 ? 0 : z;
}

void lab_result_free(struct lab_result *r)
{
    if (r->have_session) {
        live_session_free(&r->s);
    }
    free(r->scenario_json);
    memset(r, 0, sizeof(*r));
}

/* Past the time limit, give up the way a management layer would: cancel,
 * then observe until QEMU says cancelled (outcome timeout). */
static enum live_end cancel_at_limit(struct lab *l, struct lab_result *r)
{
    r->timed_out = true;
    char e2[512];
    char why[sizeof(r->s.error)];
    snprintf(why, sizeof(why), "%s", r->s.error);
    if (qmp_execute(l->qsrc, "migrate_cancel", NULL, 10 * S, NULL, e2,
                    sizeof(e2)) != QMP_OK) {
        snprintf(r->s.error, sizeof(r->s.error),
                 "%.200s; migrate_cancel failed: %.250s", why, e2);
        return LIVE_END_TIME_LIMIT;
    }
    r->s.o.time_limit_ns = 0;
    r->s.error[0] = '\0';
    enum live_end e = live_session_run(&r->s);
    if (e == LIVE_END_OUTCOME) {
        r->s.res.m.outcome = RUN_TIMEOUT;
    } else {
        char later[sizeof(r->s.error)];
        snprintf(later, sizeof(later), "%s", r->s.error);
        snprintf(r->s.error, sizeof(r->s.error),
                 "%.200s; after cancelling: %.250s", why, later);
    }
    return e;
}

/* QEMU went away: say which and how, if it is gone by now. */
static void explain_gone(struct lab *l, struct lab_result *r)
{
    int64_t until = qmp_now_ns() + 2 * S;
    char why[512];
    while (qmp_now_ns() < until) {
        if (tick(l, why, sizeof(why))) {
            snprintf(r->s.error, sizeof(r->s.error), "%s", why);
            break;
        }
        sleep_ns(50 * MS);
    }
}

/* The guest's own pace during the migration (page counter c0 at t_c0 and
 * now): its counter stops when the source VM stops for the switchover. */
static void migration_rate(struct lab *l, struct lab_result *r, uint32_t c0,
                           int64_t t_c0)
{
    uint32_t c1 = 0, rdy;
    if (gone(&l->src) || !l->qsrc || qmp_is_closed(l->qsrc) ||
        read_guest(l, l->qsrc, "src", &c1, &rdy, NULL, 0) != 0) {
        return;
    }
    double secs = (double)(qmp_now_ns() - t_c0) / 1e9;
    const struct live_mig *lm = &r->s.last;
    if (r->s.res.m.outcome == RUN_CONVERGED && lm->total_ms > 0) {
        secs = (double)(lm->total_ms -
                        (lm->downtime_ms > 0 ? lm->downtime_ms : 0)) /
               1e3;
    }
    if (secs > 0 && c1 >= c0) {
        r->mig_rate_bps = (double)(c1 - c0) * LAB_GUEST_PAGE / secs;
    }
}

/* Zero pages outside the working set, from the final query-migrate. */
static void measured_zero_fraction(const struct lab_cfg *cfg,
                                   struct lab_result *r)
{
    const json_t *ram = json_object_get(r->s.final, "ram");
    uint64_t total = qmp_get_u64(ram, "total", 0) / LAB_GUEST_PAGE;
    uint64_t dup = qmp_get_u64(ram, "duplicate", 0);
    uint64_t ws = cfg->working_set_bytes / LAB_GUEST_PAGE;
    if (r->s.end == LIVE_END_OUTCOME && total > ws && dup > 0) {
        r->zero_fraction = (double)dup / (double)(total - ws);
        if (r->zero_fraction > 1) {
            r->zero_fraction = 1;
        }
    }
}

/* Work directory, both QEMUs, their configuration, the guest ready. */
static int boot(struct lab *l, struct lab_result *r, char *err, size_t errlen)
{
    if (prepare(l, err, errlen)) {
        return -1;
    }
    snprintf(r->workdir, sizeof(r->workdir), "%s", l->dir);
    if (l->progress) {
        fprintf(l->progress, "lab: work directory %s, QEMU %s\n", l->dir,
                l->qemu);
    }
    if (start_qemu(l, true, err, errlen) || start_qemu(l, false, err, errlen) ||
        configure(l, l->qdst, "destination", false, err, errlen) ||
        configure(l, l->qsrc, "source", true, err, errlen) ||
        wait_ready(l, &r->guest_rate_bps, err, errlen)) {
        return -1;
    }
    if (l->progress && r->guest_rate_bps > 0) {
        fprintf(l->progress, "guest ready: writes %.2f MiB/s (asked %.2f)\n",
                r->guest_rate_bps / 1048576.0,
                (double)l->c.dirty_rate_bps / 1048576.0);
    }
    return 0;
}

/* The live session observing the source, with the run's scenario. */
static int open_session(struct lab *l, const struct live_opts *lo,
                        struct lab_result *r, char *err, size_t errlen)
{
    const struct lab_cfg *cfg = &l->c;
    char qmodel[16];
    unsigned v = qmp_version_num(l->qsrc);
    snprintf(qmodel, sizeof(qmodel), "%u.%u", v / 100, v % 100);
    double rate = r->guest_rate_bps > 0 ? r->guest_rate_bps : 0;
    r->zero_fraction = estimate_zero_fraction(cfg);
    r->scenario_json = lab_scenario_json(cfg, qmodel, rate, r->zero_fraction);
    struct live_opts o = *lo;
    o.tick = tick;
    o.tick_arg = l;
    o.time_limit_ns = cfg->time_limit_ns;
    o.pass_events = false; /* sync events come from the trace */
    o.source = cfg->trace_path ? cfg->trace_path : "lab";
    o.scenario_json = r->scenario_json;
    if (live_session_init(&r->s, l->qsrc, &o, err, errlen)) {
        live_session_free(&r->s);
        return -1;
    }
    r->have_session = true;
    return 0;
}

/* Observe the started migration to its end, then check the destination. */
static void observe(struct lab *l, struct lab_result *r)
{
    enum live_end e = live_session_run(&r->s);
    if (e == LIVE_END_TIME_LIMIT) {
        e = cancel_at_limit(l, r);
    }
    if (e == LIVE_END_QEMU_GONE) {
        explain_gone(l, r);
    }
    if (r->s.end == LIVE_END_OUTCOME && r->s.res.m.outcome == RUN_CONVERGED) {
        check_destination(l, r);
        live_session_note(&r->s, RUN_EV_NOTE, r->dest_ok, 0, "%.95s",
                          r->dest_note);
        if (l->progress) {
            fprintf(l->progress, "%s\n", r->dest_note);
        }
    }
}

int lab_run(const struct lab_cfg *cfg, const struct live_opts *lo,
            struct lab_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    struct lab *l = calloc(1, sizeof(*l));
    if (!l) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    l->c = *cfg;
    l->stop = lo->stop;
    l->progress = lo->progress;
    const char *ql = getenv("MIGSIM_QMP_LOG");
    if (ql && *ql) {
        l->qlog = fopen(ql, "a");
    }
    int rc = -1;
    if (boot(l, r, err, errlen) || open_session(l, lo, r, err, errlen)) {
        goto out;
    }
    uint32_t c0 = 0, rdy;
    bool have_c0 = read_guest(l, l->qsrc, "src", &c0, &rdy, NULL, 0) == 0;
    int64_t t_c0 = qmp_now_ns();
    if (start_migration(l, err, errlen)) {
        goto out;
    }
    rc = 0;
    observe(l, r);
    if (have_c0) {
        migration_rate(l, r, c0, t_c0);
    }
    /* The trace is complete once the source has quit. */
    stop_proc(&l->src, &l->qsrc);
    r->s.qmp = NULL;
    read_trace(l, r);
    measured_zero_fraction(cfg, r);
    if (cfg->trace_path) {
        snprintf(r->trace_path, sizeof(r->trace_path), "%s", cfg->trace_path);
    }
out:
    lab_teardown(l);
    free(l);
    return rc;
}
