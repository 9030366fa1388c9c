/* SPDX-License-Identifier: GPL-3.0-or-later */
/* live/lab.c — boot, migrate, observe and clean up real QEMUs (TCG, KVM). */
#include "live/lab.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <linux/kvm.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run/qemu_version.h"
#include "run/qmp_params.h"
#include "run/scenario.h"

#define MS ((int64_t)1000000)
#define S  ((int64_t)1000000000)

/* Pages outside the working set that hold data after the guest boots
 * (SeaBIOS, its tables, the boot sector): measured on QEMU 7.2 -machine pc
 * as ram.normal minus the working set on an idle-rate run; used for the
 * scenario's vm.zero_fraction before the run's own figure is known. */
#define LAB_NONZERO_PAGES 112

/* Trace events enabled on the source when the binary's own list cannot be
 * read (QEMU 7.2 names; unknown names are ignored by QEMU with a
 * warning). */
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

/* Chosen from the binary's "-trace help": a pattern ending in '*' is a
 * prefix.  Per-page (or per-block) events are left off: on 8.0+ migrat*
 * would include migration_transferred_bytes, one record per page sent. */
static const char *const trace_allow[] = {
    "migrat*",
    "savevm_state_*",
    "vmstate_downtime_*",
    "cpu_throttle_*",
    "ram_save_iterate_big_wait",
    "vfio_migration_*",
    "vfio_save_*",
    "vfio_state_pending*",
    "vfio_update_pending",
    "postcopy_start*",
    "dirty_bitmap_save_pending",
};
static const char *const trace_deny[] = {
    "migration_transferred_bytes", "migration_bitmap_clear_dirty",
    "migration_block_progression", "vfio_save_block*",
    "migrate_send_rp_*",
};

static bool pat_match(const char *pat, const char *name)
{
    size_t n = strlen(pat);
    if (n && pat[n - 1] == '*') {
        return strncmp(pat, name, n - 1) == 0;
    }
    return strcmp(pat, name) == 0;
}

static bool in_list(const char *const *pats, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (pat_match(pats[i], name)) {
            return true;
        }
    }
    return false;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

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
    FILE *qlog;           /* $MIGSIM_QMP_LOG */
    int64_t dst_gone_ns;  /* when the destination was first seen gone */
    bool kvm;             /* -accel kvm */
    int64_t mig_start_ns; /* monotonic, migrate sent (0 = not yet) */
    struct lab_result *r; /* for tick (postcopy, pre-switchover) */
    unsigned n_events;
    pid_t janitor;  /* cleans up if we are killed (0 = none) */
    int janitor_fd; /* write end of its pipe */
};

/* The source exiting ends the run at once.  The destination exits by
 * itself when an incoming migration fails or is cancelled ("load of
 * migration failed"): give the source DST_GRACE_NS to report that before
 * calling it a fault. */
#define DST_GRACE_NS (3 * S)

static bool has_cap(const struct lab_cfg *c, const char *name)
{
    for (unsigned i = 0; i < c->n_caps; i++) {
        if (strcmp(c->caps[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* What the lab does for the migration while it runs: postcopy after
 * postcopy_after_ns; migrate-continue when QEMU waits in pre-switchover
 * (pause-before-switchover). */
static void steer(struct lab *l)
{
    struct lab_result *r = l->r;
    if (!r || !r->have_session || !l->mig_start_ns || !l->qsrc) {
        return;
    }
    const char *st = r->s.last.status;
    char e[512];
    if (l->c.postcopy_after_ns > 0 && !r->postcopy_started &&
        qmp_now_ns() - l->mig_start_ns >= l->c.postcopy_after_ns &&
        strcmp(st, "active") == 0) {
        r->postcopy_started = true;
        int rc = qmp_execute(l->qsrc, "migrate-start-postcopy", NULL, 10 * S,
                             NULL, e, sizeof(e));
        live_session_note(
            &r->s, RUN_EV_NOTE, rc == QMP_OK, 0,
            "lab: migrate-start-postcopy%s%.60s",
            rc == QMP_OK ? "" : " failed: ", rc == QMP_OK ? "" : e);
        if (l->progress) {
            fprintf(l->progress,
                    "lab: migrate-start-postcopy after %.2f s%s%s\n",
                    (double)(qmp_now_ns() - l->mig_start_ns) / 1e9,
                    rc == QMP_OK ? "" : ": ", rc == QMP_OK ? "" : e);
        }
    }
    if (!r->continued && strcmp(st, "pre-switchover") == 0) {
        r->continued = true;
        json_t *a = json_pack("{s:s}", "state", "pre-switchover");
        int rc = qmp_execute(l->qsrc, "migrate-continue", a, 10 * S, NULL, e,
                             sizeof(e));
        json_decref(a);
        live_session_note(
            &r->s, RUN_EV_NOTE, rc == QMP_OK, 0,
            "lab: migrate-continue from pre-switchover%s%.60s",
            rc == QMP_OK ? "" : " failed: ", rc == QMP_OK ? "" : e);
        if (l->progress) {
            fprintf(l->progress, "lab: migrate-continue (pre-switchover)%s%s\n",
                    rc == QMP_OK ? "" : ": ", rc == QMP_OK ? "" : e);
        }
    }
}

static int tick(void *arg, char *err, size_t errlen)
{
    struct lab *l = arg;
    steer(l);
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
                           "src.pid",         "dst.pid",      "qemu-out.txt"};
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

/* A SIGKILL leaves no handler to run: a janitor process forked once the
 * work directory exists waits on a pipe whose only write end we hold.  End
 * of file without the "clean" byte means we died: it kills both QEMUs'
 * process groups (PR_SET_PDEATHSIG kills them as well), then removes the
 * sockets and the private work directory, as lab_teardown would have. */
static void janitor_clean(struct lab *l)
{
    const char *tags[] = {"src", "dst"};
    pid_t pids[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        char p[PATH_MAX + 16];
        snprintf(p, sizeof(p), "%s/%s.pid", l->dir, tags[i]);
        FILE *f = fopen(p, "r");
        int v = 0;
        if (f && fscanf(f, "%d", &v) == 1 && v > 1) {
            pids[i] = (pid_t)v;
            kill(-pids[i], SIGKILL);
            kill(pids[i], SIGKILL);
        }
        if (f) {
            fclose(f);
        }
    }
    /* Let a QEMU that was being started die before its socket goes. */
    for (int k = 0; k < 10; k++) {
        bool alive = false;
        for (int i = 0; i < 2; i++) {
            alive |=
                pids[i] && kill(pids[i], 0) == 0 && getpgid(pids[i]) == pids[i];
        }
        if (!alive && k >= 2) {
            break;
        }
        sleep_ns(50 * MS);
    }
    remove_files(l);
}

static void start_janitor(struct lab *l)
{
    int fds[2];
    l->janitor_fd = -1;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        /* Ctrl-C reaches the whole process group: we stay to clean up. */
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        close(fds[1]);
        l->progress = NULL;
        char b = 0;
        ssize_t n;
        while ((n = read(fds[0], &b, 1)) < 0 && errno == EINTR) {
        }
        if (n != 1) {
            janitor_clean(l);
        }
        _exit(0);
    }
    close(fds[0]);
    l->janitor = pid;
    l->janitor_fd = fds[1];
}

static void stop_janitor(struct lab *l)
{
    if (!l->janitor) {
        return;
    }
    ssize_t w = write(l->janitor_fd, "x", 1);
    (void)w;
    close(l->janitor_fd);
    int st;
    while (waitpid(l->janitor, &st, 0) < 0 && errno == EINTR) {
    }
    l->janitor = 0;
}

static void lab_teardown(struct lab *l)
{
    stop_proc(&l->src, &l->qsrc);
    stop_proc(&l->dst, &l->qdst);
    remove_files(l);
    stop_janitor(l);
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

/* Run bin with one argument, its output (stdout and stderr) into out
 * (at most n-1 bytes, NUL-terminated); dir holds the scratch file.  0 if
 * it exited with status 0 within 10 s. */
static int run_capture(const char *bin, const char *arg1, const char *arg2,
                       const char *dir, char *out, size_t n)
{
    struct proc p = {.name = "probe"};
    snprintf(p.log, sizeof(p.log), "%s/qemu-out.txt", dir);
    char *argv[] = {(char *)bin, (char *)arg1, (char *)arg2, NULL};
    out[0] = '\0';
    if (spawn(&p, argv, NULL, 0)) {
        return -1;
    }
    if (!wait_gone(&p, 10 * S)) {
        kill(-p.pid, SIGKILL);
        wait_gone(&p, 5 * S);
        unlink(p.log);
        return -1;
    }
    FILE *f = fopen(p.log, "r");
    size_t k = f ? fread(out, 1, n - 1, f) : 0;
    out[k] = '\0';
    if (f) {
        fclose(f);
    }
    unlink(p.log);
    return WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0 ? 0 : -1;
}

/* The events file: the wanted events this binary has (its "-trace help"
 * list), then "-NAME" for the per-page ones it has; the 7.2 list if the
 * binary cannot list them. */
static int write_events(struct lab *l, char *err, size_t errlen)
{
    size_t cap = (size_t)4 << 20;
    char *help = malloc(cap);
    char *ev = malloc(cap / 4);
    if (!help || !ev) {
        free(help);
        free(ev);
        err_set(err, errlen, "out of memory");
        return -1;
    }
    size_t o = 0, lim = cap / 4;
    unsigned n = 0;
    if (run_capture(l->qemu, "-trace", "help", l->dir, help, cap) == 0) {
        o += (size_t)snprintf(ev + o, lim - o,
                              "# from %s -trace help (migsim lab)\n", l->qemu);
        char *save = NULL;
        char deny[4096] = "";
        size_t dn = 0;
        for (char *t = strtok_r(help, "\n", &save); t;
             t = strtok_r(NULL, "\n", &save)) {
            if (!*t || strchr(t, ' ') || o + 200 >= lim) {
                continue; /* a heading or a warning, not an event name */
            }
            if (in_list(trace_deny, NELEM(trace_deny), t)) {
                if (dn + strlen(t) + 3 < sizeof(deny)) {
                    dn += (size_t)snprintf(deny + dn, sizeof(deny) - dn,
                                           "-%s\n", t);
                }
            } else if (in_list(trace_allow, NELEM(trace_allow), t)) {
                o += (size_t)snprintf(ev + o, lim - o, "%s\n", t);
                n++;
            }
        }
        o += (size_t)snprintf(ev + o, lim - o, "%s", deny);
    }
    if (n == 0) {
        o = 0;
        for (size_t i = 0; i < NELEM(trace_events); i++) {
            o += (size_t)snprintf(ev + o, lim - o, "%s\n", trace_events[i]);
        }
        n = (unsigned)NELEM(trace_events);
    }
    l->n_events = n;
    int rc = write_file(l->evfile, ev, o, err, errlen);
    free(help);
    free(ev);
    return rc;
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
    const char *q = l->c.qemu ? l->c.qemu : getenv("MIGSIM_QEMU");
    if (l->c.qemu) {
        if (lab_qemu_resolve(l->c.qemu, l->qemu, sizeof(l->qemu), err,
                             errlen)) {
            return -1;
        }
    } else {
        snprintf(l->qemu, sizeof(l->qemu), "%s",
                 q && *q ? q : "qemu-system-x86_64");
    }
    return write_events(l, err, errlen);
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
    char accel[64], smp[16];
    if (l->kvm && l->c.dirty_ring) {
        snprintf(accel, sizeof(accel), "kvm,dirty-ring-size=%u",
                 (unsigned)l->c.dirty_ring);
    } else {
        snprintf(accel, sizeof(accel), "%s", l->kvm ? "kvm" : "tcg");
    }
    snprintf(smp, sizeof(smp), "%u", l->c.smp ? l->c.smp : 1);
    char *argv[40];
    int a = 0;
    argv[a++] = l->qemu;
    argv[a++] = "-name";
    argv[a++] = dest ? "migsim-lab-dst" : "migsim-lab-src";
    argv[a++] = "-machine";
    argv[a++] = "pc";
    argv[a++] = "-accel";
    argv[a++] = accel;
    if (l->c.cpu) {
        argv[a++] = "-cpu";
        argv[a++] = (char *)l->c.cpu;
    }
    argv[a++] = "-m";
    argv[a++] = mem;
    argv[a++] = "-smp";
    argv[a++] = smp;
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
    json_t *p = json_object();
    if (!source) {
        goto params; /* the destination: only what must match (multifd-*) */
    }
    if (l->c.downtime_limit_ns > 0) {
        put_param(p, QP_DOWNTIME_LIMIT, (uint64_t)l->c.downtime_limit_ns);
    }
    if (l->c.set_max_bandwidth) {
        put_param(p, QP_MAX_BANDWIDTH, l->c.max_bandwidth_bps);
    }
params:
    for (unsigned i = 0; i < l->c.n_params; i++) {
        char name[80];
        snprintf(name, sizeof(name), "%s", l->c.params[i]);
        if (!source && strncmp(name, "multifd-", 8) != 0) {
            continue;
        }
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
        } else if (strcmp(name, "migrate_pending") == 0 ||
                   strcmp(name, "migrate_pending_estimate") == 0) {
            r->trace_pending++;
        } else if (strcmp(name, "migrate_pending_exact") == 0) {
            r->trace_exact++;
        }
    }
    fclose(f);
    r->s.res.m.sync_time_ns = r->trace_sync_ns;
    r->s.res.m.estimate_calls = r->trace_pending;
    r->s.res.m.exact_calls = r->trace_exact;
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
    bool ac = false, rp = false;
    for (unsigned i = 0; i < c->n_caps; i++) {
        ac |= strcmp(c->caps[i], "auto-converge") == 0;
        /* the source then waits for the destination's SHUT */
        rp |= strcmp(c->caps[i], "return-path") == 0 ||
              strcmp(c->caps[i], "postcopy-ram") == 0 ||
              strcmp(c->caps[i], "switchover-ack") == 0;
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
    if (rp) {
        json_object_set_new(mig, "return_path", json_true());
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

/* --accel: kvm needs /dev/kvm; auto takes KVM when /dev/kvm is usable. */
static int choose_accel(struct lab *l, struct lab_result *r, char *err,
                        size_t errlen)
{
    const char *a = l->c.accel ? l->c.accel : "tcg";
    char why[160];
    if (strcmp(a, "tcg") == 0) {
        l->kvm = false;
        snprintf(r->accel_note, sizeof(r->accel_note), "tcg (asked)");
    } else if (strcmp(a, "kvm") == 0 || strcmp(a, "auto") == 0) {
        bool usable = lab_kvm_usable(why, sizeof(why));
        if (!usable && a[0] == 'k') {
            err_set(err, errlen, "--accel kvm: %s", why);
            return -1;
        }
        l->kvm = usable;
        snprintf(r->accel_note, sizeof(r->accel_note), "%s (%s%.100s)",
                 usable ? "kvm" : "tcg", a[0] == 'a' ? "auto: " : "asked",
                 a[0] == 'a' ? (usable ? "/dev/kvm usable" : why) : "");
    } else {
        err_set(err, errlen, "--accel: kvm, tcg or auto, not '%s'", a);
        return -1;
    }
    if (l->c.postcopy_after_ns > 0 && !has_cap(&l->c, "postcopy-ram")) {
        err_set(err, errlen,
                "--postcopy-after needs --capability postcopy-ram");
        return -1;
    }
    if (l->c.dirty_ring && !l->kvm) {
        err_set(err, errlen, "--dirty-ring needs KVM (accelerator is tcg)");
        return -1;
    }
    snprintf(r->accel, sizeof(r->accel), "%s", l->kvm ? "kvm" : "tcg");
    return 0;
}

/* Under KVM, QEMU itself must say so (query-kvm on the source). */
static int check_accel(struct lab *l, struct lab_result *r, char *err,
                       size_t errlen)
{
    json_t *ret = NULL;
    char e[512];
    if (qmp_execute(l->qsrc, "query-kvm", NULL, 10 * S, &ret, e, sizeof(e)) !=
        QMP_OK) {
        err_set(err, errlen, "source QEMU: %s", e);
        return -1;
    }
    bool en = json_is_true(json_object_get(ret, "enabled"));
    bool pr = json_is_true(json_object_get(ret, "present"));
    json_decref(ret);
    if (l->kvm && !en) {
        err_set(err, errlen,
                "source QEMU started with -accel kvm but query-kvm says "
                "enabled=%s present=%s",
                en ? "true" : "false", pr ? "true" : "false");
        return -1;
    }
    size_t k = strlen(r->accel_note);
    snprintf(r->accel_note + k, sizeof(r->accel_note) - k,
             "; query-kvm enabled=%s%s%s", en ? "true" : "false",
             l->kvm && l->c.dirty_ring ? ", dirty ring " : "",
             l->kvm && l->c.dirty_ring ? "on" : "");
    if (l->progress) {
        fprintf(l->progress, "lab: accelerator %s\n", r->accel_note);
    }
    return 0;
}

/* Work directory, both QEMUs, their configuration, the guest ready. */
static int boot(struct lab *l, struct lab_result *r, char *err, size_t errlen)
{
    if (choose_accel(l, r, err, errlen) || prepare(l, err, errlen)) {
        return -1;
    }
    start_janitor(l);
    snprintf(r->workdir, sizeof(r->workdir), "%s", l->dir);
    snprintf(r->qemu_bin, sizeof(r->qemu_bin), "%s", l->qemu);
    r->trace_events = l->n_events;
    if (l->progress) {
        fprintf(l->progress,
                "lab: work directory %s, QEMU %s, %u trace events\n", l->dir,
                l->qemu, l->n_events);
    }
    if (start_qemu(l, true, err, errlen) || start_qemu(l, false, err, errlen) ||
        check_accel(l, r, err, errlen) ||
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
    l->r = r;
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
    l->mig_start_ns = qmp_now_ns();
    snprintf(r->s.accel, sizeof(r->s.accel), "%s", r->accel);
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

/* ---- QEMUs the lab can use --------------------------------------------- */

bool lab_kvm_usable(char *why, size_t n)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, n, "/dev/kvm: %s", strerror(errno));
        return false;
    }
    int v = ioctl(fd, KVM_GET_API_VERSION, 0);
    close(fd);
    if (v != KVM_API_VERSION) {
        snprintf(why, n, "/dev/kvm: KVM_GET_API_VERSION = %d, not %d", v,
                 KVM_API_VERSION);
        return false;
    }
    snprintf(why, n, "/dev/kvm usable");
    return true;
}

bool lab_is_version(const char *spec)
{
    int dots = 0;
    if (!spec || !(*spec >= '0' && *spec <= '9')) {
        return false;
    }
    for (const char *p = spec; *p; p++) {
        if (*p == '.') {
            if (p[1] < '0' || p[1] > '9') {
                return false;
            }
            dots++;
        } else if (*p < '0' || *p > '9') {
            return false;
        }
    }
    return dots == 1 || dots == 2;
}

static bool executable(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* First qemu-system-x86_64 on PATH. */
static bool on_path(const char *cmd, char *out, size_t n)
{
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path && *path ? path : "/usr/bin:/bin");
    char *save = NULL;
    for (char *d = strtok_r(buf, ":", &save); d;
         d = strtok_r(NULL, ":", &save)) {
        char c[PATH_MAX];
        if ((size_t)snprintf(c, sizeof(c), "%s/%s", *d ? d : ".", cmd) <
                sizeof(c) &&
            executable(c)) {
            snprintf(out, n, "%s", c);
            return true;
        }
    }
    return false;
}

size_t lab_qemus(struct lab_qemu *out, size_t max)
{
    size_t k = 0;
    if (k < max &&
        on_path("qemu-system-x86_64", out[k].path, sizeof(out[k].path))) {
        snprintf(out[k].name, sizeof(out[k].name), "system");
        snprintf(out[k].origin, sizeof(out[k].origin), "PATH");
        k++;
    }
    const char *pre = getenv("MIGSIM_QEMU10_PREFIX");
    bool env = pre && *pre;
    if (k < max) {
        snprintf(out[k].path, sizeof(out[k].path), "%s/bin/qemu-system-x86_64",
                 env ? pre : "/opt/migsim/qemu-10.0");
        if (executable(out[k].path)) {
            snprintf(out[k].name, sizeof(out[k].name), "10.0");
            snprintf(out[k].origin, sizeof(out[k].origin), "%s",
                     env ? "$MIGSIM_QEMU10_PREFIX" : "scripts/qemu10.sh");
            k++;
        }
    }
    extern char **environ;
    for (char **e = environ; e && *e && k < max; e++) {
        const char *v = *e;
        if (strncmp(v, "MIGSIM_QEMU_", 12) != 0) {
            continue;
        }
        const char *eq = strchr(v, '=');
        size_t nl = eq ? (size_t)(eq - (v + 12)) : 0;
        if (!eq || nl == 0 || nl >= sizeof(out[k].name) || !eq[1]) {
            continue;
        }
        char name[32];
        memcpy(name, v + 12, nl);
        name[nl] = '\0';
        for (char *c = name; *c; c++) {
            if (*c == '_') {
                *c = '.';
            }
        }
        if (!lab_is_version(name)) {
            continue;
        }
        snprintf(out[k].name, sizeof(out[k].name), "%s", name);
        snprintf(out[k].path, sizeof(out[k].path), "%s", eq + 1);
        snprintf(out[k].origin, sizeof(out[k].origin), "$%.*s", (int)(eq - v),
                 v);
        k++;
    }
    return k;
}

int lab_qemu_release(const char *bin, char *out, size_t n, char *err,
                     size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/migsim-qv.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        err_set(err, errlen, "mkdtemp %s: %s", dir, strerror(errno));
        return -1;
    }
    char text[4096];
    int rc = run_capture(bin, "--version", NULL, dir, text, sizeof(text));
    rmdir(dir);
    const char *v = strstr(text, "version ");
    if (rc != 0 || !v) {
        err_set(err, errlen, "%s --version did not say its version", bin);
        return -1;
    }
    v += 8;
    size_t k = strspn(v, "0123456789.");
    snprintf(out, n, "%.*s", (int)k, v);
    return k ? 0 : -1;
}

/* "10.0.2" names the release X.Y[.Z] spec asks for. */
static bool release_matches(const char *rel, const char *spec)
{
    size_t n = strlen(spec);
    return strncmp(rel, spec, n) == 0 && (rel[n] == '\0' || rel[n] == '.');
}

int lab_qemu_resolve(const char *spec, char *path, size_t n, char *err,
                     size_t errlen)
{
    if (strchr(spec, '/')) {
        snprintf(path, n, "%s", spec);
        return 0;
    }
    struct lab_qemu q[16];
    size_t k = lab_qemus(q, 16);
    for (size_t i = 0; i < k; i++) {
        if (strcmp(q[i].name, spec) == 0) {
            snprintf(path, n, "%s", q[i].path);
            return 0;
        }
    }
    if (lab_is_version(spec)) {
        char seen[512] = "";
        size_t o = 0;
        for (size_t i = 0; i < k; i++) {
            char rel[32];
            if (lab_qemu_release(q[i].path, rel, sizeof(rel), NULL, 0) != 0) {
                continue;
            }
            if (release_matches(rel, spec)) {
                snprintf(path, n, "%s", q[i].path);
                return 0;
            }
            if (o < sizeof(seen) - 1) {
                o += (size_t)snprintf(seen + o, sizeof(seen) - o, "%s%s %s",
                                      o ? ", " : "", q[i].name, rel);
            }
        }
        err_set(err, errlen,
                "--qemu %s: no such QEMU here (found: %s); 'migsim lab qemus' "
                "lists them, scripts/qemu10.sh installs 10.0",
                spec, o ? seen : "none");
        return -1;
    }
    snprintf(path, n, "%s", spec); /* a command on PATH */
    return 0;
}

int lab_qemu_probe(const char *bin, bool with_kvm, struct lab_qemu_info *info,
                   char *err, size_t errlen)
{
    memset(info, 0, sizeof(*info));
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/migsim-probe.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        err_set(err, errlen, "mkdtemp %s: %s", dir, strerror(errno));
        return -1;
    }
    char sock[PATH_MAX + 16], qarg[PATH_MAX + 48];
    snprintf(sock, sizeof(sock), "%s/probe.qmp", dir);
    snprintf(qarg, sizeof(qarg), "unix:%s,server=on,wait=off", sock);
    struct proc p = {.name = "probed"};
    snprintf(p.log, sizeof(p.log), "%s/probe.log", dir);
    char *argv[] = {(char *)bin,
                    "-machine",
                    "pc",
                    "-accel",
                    with_kvm ? "kvm" : "tcg",
                    "-S",
                    "-nodefaults",
                    "-no-user-config",
                    "-display",
                    "none",
                    "-qmp",
                    qarg,
                    NULL};
    int rc = -1;
    struct qmp_conn *q = NULL;
    if (spawn(&p, argv, err, errlen)) {
        goto out;
    }
    int64_t until = qmp_now_ns() + 20 * S;
    char cerr[512] = "";
    while (!q) {
        if (gone(&p)) {
            describe_exit(&p, err, errlen);
            goto out;
        }
        q = qmp_connect(sock, 0, 10 * S, cerr, sizeof(cerr));
        if (!q) {
            if (qmp_now_ns() >= until) {
                err_set(err, errlen, "%s: %s", bin, cerr);
                goto out;
            }
            sleep_ns(50 * MS);
        }
    }
    if (!q) {
        goto out;
    }
    json_t *ret = NULL;
    char e[512];
    if (qmp_execute(q, "query-version", NULL, 10 * S, &ret, e, sizeof(e)) !=
        QMP_OK) {
        err_set(err, errlen, "%s: %s", bin, e);
        goto out;
    }
    const json_t *qv = json_object_get(ret, "qemu");
    uint64_t ma = qmp_get_u64(qv, "major", 0), mi = qmp_get_u64(qv, "minor", 0),
             mc = qmp_get_u64(qv, "micro", 0);
    if (ma > 999 || mi > 99 || mc > 9999) {
        json_decref(ret);
        err_set(err, errlen, "%s: query-version out of range", bin);
        goto out;
    }
    snprintf(info->version, sizeof(info->version), "%u.%u.%u", (unsigned)ma,
             (unsigned)mi, (unsigned)mc);
    snprintf(info->package, sizeof(info->package), "%s",
             qmp_get_str(ret, "package", ""));
    info->num = (unsigned)(ma * 100 + mi);
    json_decref(ret);
    ret = NULL;
    if (qmp_execute(q, "query-kvm", NULL, 10 * S, &ret, e, sizeof(e)) ==
        QMP_OK) {
        info->kvm_present = json_is_true(json_object_get(ret, "present"));
        info->kvm_enabled = json_is_true(json_object_get(ret, "enabled"));
        json_decref(ret);
    }
    rc = 0;
out:
    stop_proc(&p, &q);
    unlink(sock);
    unlink(p.log);
    rmdir(dir);
    return rc;
}
