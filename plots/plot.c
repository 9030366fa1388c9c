/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plots/plot.c — what every figure shares: safe names and text, data-file
 * cells, labels, the output files and script header, running gnuplot
 * (see plot.h for the rules about input text).  The figures are
 * plots/timeline.c and plots/charts.c.
 */
#include "plots/plot.h"
#include "base/err.h"
#include "base/names.h"
#include "plots/plot_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const kind_names[] = {
    [PLOT_TIMELINE] = "timeline",
    [PLOT_COMPARE] = "compare",
    [PLOT_SWEEP] = "sweep",
    [PLOT_CDF] = "cdf",
};

const char *plot_kind_name(enum plot_kind k)
{
    return names_get(kind_names, NAMES_COUNT(kind_names), (unsigned)k);
}

int plot_kind_from_name(const char *s, enum plot_kind *k)
{
    int i = names_find(kind_names, NAMES_COUNT(kind_names), s);
    if (i >= 0) {
        *k = (enum plot_kind)i;
    }
    return i >= 0 ? 0 : -1;
}

/* ---- safe text -------------------------------------------------------- */

char *plot_safe_name(const char *in, char *buf, size_t len)
{
    size_t o = 0;
    for (const char *p = in; *p && o + 1 < len; p++) {
        unsigned char c = (unsigned char)*p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
                  c == '-';
        if (o == 0 && (c == '.' || c == '-')) {
            ok = false;
        }
        buf[o++] = ok ? (char)c : '_';
    }
    buf[o] = '\0';
    if (o == 0) {
        snprintf(buf, len, "plot");
    }
    return buf;
}

char *plot_safe_text(const char *in, char *buf, size_t len)
{
    static const char extra[] = " ._:/=+%-";
    size_t o = 0;
    for (const char *p = in ? in : ""; *p && o + 1 < len; p++) {
        unsigned char c = (unsigned char)*p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || (c && strchr(extra, c));
        buf[o++] = ok ? (char)c : '_';
    }
    buf[o] = '\0';
    return buf;
}

/* A quoted data-file string: '"', '\\', '`' and control bytes become '_'
 * (so the field cannot end early, span lines or carry shell syntax). */
void pl_dat_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const char *p = s ? s : ""; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '`') {
            c = '_';
        }
        fputc(c, f);
    }
    fputc('"', f);
}

/* Numbers for data files; NaN/inf as NaN (gnuplot's missing value here). */
void pl_dat_num(FILE *f, double v)
{
    if (!isfinite(v)) {
        fputs("NaN", f);
    } else {
        fprintf(f, "%.10g", v);
    }
}

/* Sizes for a log axis: exact integers; 0 is not drawable, write NaN.
 * Counts the drawable values in *valid. */
void pl_dat_bytes(FILE *f, uint64_t v, bool present, size_t *valid)
{
    if (!present || v == 0) {
        fputs("NaN", f);
        return;
    }
    fprintf(f, "%llu", (unsigned long long)v);
    (*valid)++;
}

void pl_fixed_copy(char *dst, size_t dstlen, const char *src, size_t srclen)
{
    size_t n = strnlen(src, srclen);
    if (n >= dstlen) {
        n = dstlen - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static const char *run_policy(const struct plot_run *r)
{
    if (r->res->m.policy[0]) {
        return r->res->m.policy;
    }
    return r->meta ? r->meta->policy : "";
}

void plot_run_label(const struct plot_run *r, size_t i, char *buf, size_t len)
{
    if (r->label) {
        snprintf(buf, len, "%s", r->label);
        return;
    }
    char pol[sizeof(r->res->m.policy) + 1];
    pl_fixed_copy(pol, sizeof(pol), run_policy(r), sizeof(r->res->m.policy));
    if (r->meta && r->meta->id > 0) {
        snprintf(buf, len, "#%lld%s%s", (long long)r->meta->id,
                 pol[0] ? " " : "", pol);
    } else {
        snprintf(buf, len, "run %zu%s%s", i + 1, pol[0] ? " " : "", pol);
    }
}

void pl_run_group(const struct plot_run *r, char *buf, size_t len)
{
    if (r->group) {
        snprintf(buf, len, "%s", r->group);
        return;
    }
    pl_fixed_copy(buf, len, run_policy(r), sizeof(r->res->m.policy));
    if (!buf[0]) {
        snprintf(buf, len, "(no policy)");
    }
}

/* ---- output files ----------------------------------------------------- */

static int out_init(struct out *o, const char *out_path, char *err,
                    size_t errlen)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->final, sizeof(o->final), "%s", out_path);
    const char *slash = strrchr(out_path, '/');
    const char *base = slash ? slash + 1 : out_path;
    if (slash) {
        size_t dl = (size_t)(slash - out_path);
        if (dl == 0) {
            dl = 1; /* "/x.png" */
        }
        if (dl >= sizeof(o->dir)) {
            err_set(err, errlen, "%s: path too long", out_path);
            return -1;
        }
        memcpy(o->dir, out_path, dl);
        o->dir[dl] = '\0';
    } else {
        snprintf(o->dir, sizeof(o->dir), ".");
    }
    const char *dot = strrchr(base, '.');
    if (!dot ||
        (strcasecmp(dot, ".png") != 0 && strcasecmp(dot, ".svg") != 0)) {
        err_set(err, errlen, "%s: the image name must end in .png or .svg",
                out_path);
        return -1;
    }
    snprintf(o->ext, sizeof(o->ext), "%s",
             strcasecmp(dot, ".png") == 0 ? "png" : "svg");
    char stem[256];
    size_t sl = (size_t)(dot - base);
    if (sl >= sizeof(stem)) {
        sl = sizeof(stem) - 1;
    }
    memcpy(stem, base, sl);
    stem[sl] = '\0';
    plot_safe_name(stem, o->stem, sizeof(o->stem));
    snprintf(o->image, sizeof(o->image), "%s.%s", o->stem, o->ext);
    snprintf(o->gp, sizeof(o->gp), "%s.gp", o->stem);
    return 0;
}

FILE *pl_out_open(struct out *o, const char *name, char *err, size_t errlen)
{
    char path[1400];
    snprintf(path, sizeof(path), "%s/%s", o->dir, name);
    struct outfile *of = calloc(1, sizeof(*of));
    struct outfile **nf =
        of ? realloc(o->files, (o->n_files + 1) * sizeof(*nf)) : NULL;
    if (!nf) {
        free(of);
        err_set(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    o->files = nf;
    if (outfile_open(of, path, err, errlen) != 0) {
        free(of);
        return NULL;
    }
    o->files[o->n_files++] = of;
    return of->f;
}

static struct outfile *out_take(struct out *o, FILE *f)
{
    for (size_t i = 0; i < o->n_files; i++) {
        if (o->files[i]->f == f) {
            struct outfile *of = o->files[i];
            o->files[i] = o->files[--o->n_files];
            return of;
        }
    }
    return NULL;
}

int pl_out_close(FILE *f, struct out *o, const char *name, char *err,
                 size_t errlen)
{
    struct outfile *of = out_take(o, f);
    if (!of) {
        err_set(err, errlen, "%s/%s: not open", o->dir, name);
        return -1;
    }
    int rc = outfile_commit(of, err, errlen);
    free(of);
    return rc;
}

void pl_out_discard(FILE *f, struct out *o)
{
    struct outfile *of = out_take(o, f);
    if (of) {
        outfile_abort(of);
        free(of);
    }
}

void pl_out_cleanup(struct out *o)
{
    while (o->n_files > 0) {
        struct outfile *of = o->files[--o->n_files];
        outfile_abort(of);
        free(of);
    }
    free(o->files);
    o->files = NULL;
}

void pl_gp_header(const struct out *o, const char *kind, int w, int h)
{
    FILE *g = o->gpf;
    fprintf(g,
            "# migsim %s plot, generated by migsim %s.\n"
            "# Edit and re-render with: gnuplot %s\n"
            "# Data: %s*.dat (tab-separated, first line = column titles).\n",
            kind, MIGSIM_VERSION, o->gp, o->stem);
    if (strcmp(o->ext, "png") == 0) {
        fprintf(g,
                "set terminal pngcairo noenhanced size %d,%d font 'sans,10' "
                "background rgb 'white'\n",
                w, h);
    } else {
        fprintf(g,
                "set terminal svg noenhanced size %d,%d dynamic font "
                "'sans,10' background rgb 'white'\n",
                w, h);
    }
    /* migsim runs gnuplot with migsim_output set to a file it renames into
     * place afterwards; run by hand, the script writes the image. */
    fprintf(g,
            "if (exists('migsim_output') == 0) migsim_output = '%s'\n"
            "set output migsim_output\n",
            o->image);
    fputs("set datafile separator tab\n"
          "set datafile missing 'NaN'\n"
          "set key autotitle columnheader\n"
          "set grid\n",
          g);
}

/* ---- running gnuplot -------------------------------------------------- */

static int run_gnuplot(const struct out *o, int img_fd, int timeout_s,
                       char *err, size_t errlen)
{
    pid_t parent = getpid();
    const char *prog = getenv("MIGSIM_GNUPLOT");
    if (!prog || !*prog) {
        prog = "gnuplot";
    }
    int pfd[2];
    if (pipe(pfd) != 0) {
        err_set(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        err_set(err, errlen, "fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        /* gnuplot dies with migsim (kill -9 included). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(125);
        }
        if (img_fd != 3) {
            if (dup2(img_fd, 3) < 0) {
                _exit(126);
            }
        } else {
            fcntl(3, F_SETFD, 0);
        }
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
        }
        dup2(pfd[1], 2);
        close(pfd[0]);
        if (chdir(o->dir) != 0) {
            dprintf(2, "cannot enter %s: %s\n", o->dir, strerror(errno));
            _exit(126);
        }
        char *argv[] = {(char *)prog, "-e", "migsim_output='/dev/fd/3'",
                        (char *)o->gp, NULL};
        execvp(prog, argv);
        dprintf(2, "cannot run %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    char buf[4096];
    size_t len = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool timed_out = false;
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left_ms =
            (long)timeout_s * 1000 - ((now.tv_sec - t0.tv_sec) * 1000 +
                                      (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left_ms <= 0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd pf = {pfd[0], POLLIN, 0};
        int pr = poll(&pf, 1, (int)left_ms);
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        if (pr <= 0) {
            continue;
        }
        char tmp[1024];
        ssize_t r = read(pfd[0], tmp, sizeof(tmp));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        size_t take = (size_t)r;
        if (take > sizeof(buf) - 1 - len) {
            take = sizeof(buf) - 1 - len;
        }
        memcpy(buf + len, tmp, take);
        len += take;
    }
    buf[len] = '\0';
    close(pfd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            err_set(err, errlen, "waitpid: %s", strerror(errno));
            return PLOT_ERR_GNUPLOT;
        }
    }
    /* Trim trailing blank lines. */
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ')) {
        buf[--len] = '\0';
    }
    if (timed_out) {
        err_set(err, errlen, "%s %s/%s: killed after %d s", prog, o->dir, o->gp,
                timeout_s);
        return PLOT_ERR_GNUPLOT;
    }
    if (WIFSIGNALED(status)) {
        err_set(err, errlen, "%s %s/%s: killed by signal %d%s%s", prog, o->dir,
                o->gp, WTERMSIG(status), len ? ": " : "", buf);
        return PLOT_ERR_GNUPLOT;
    }
    if (WEXITSTATUS(status) != 0) {
        err_set(err, errlen, "%s %s/%s: exit status %d%s%s", prog, o->dir,
                o->gp, WEXITSTATUS(status), len ? ": " : "", buf);
        return PLOT_ERR_GNUPLOT;
    }
    err_set(err, errlen, "%s", buf);
    return 0;
}

/* The image gnuplot writes: an unnamed file in the target directory
 * (O_TMPFILE; a kill leaves nothing behind), given to gnuplot as
 * /dev/fd/3 and linked in under the requested name only when it is
 * complete.  Where O_TMPFILE is missing, a mkstemp temporary. */
static int render(const struct out *o, int timeout_s, char *err, size_t errlen)
{
    char tmpname[1400] = "";
    int fd = open(o->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
    if (fd < 0) {
        snprintf(tmpname, sizeof(tmpname), "%s/.%s.XXXXXX", o->dir, o->image);
        fd = mkstemp(tmpname);
        if (fd < 0) {
            err_set(err, errlen, "%s: cannot create the image: %s", o->dir,
                    strerror(errno));
            return -1;
        }
        mode_t um = umask(0);
        umask(um);
        if (fchmod(fd, 0666 & ~um) != 0) {
            /* keep 0600 */
        }
    }
    int rc = run_gnuplot(o, fd, timeout_s, err, errlen);
    struct stat st;
    if (rc == 0 && (fstat(fd, &st) != 0 || st.st_size == 0)) {
        err_set(err, errlen, "gnuplot %s/%s: no image written to %s", o->dir,
                o->gp, o->final);
        rc = PLOT_ERR_GNUPLOT;
    }
    if (rc == 0 && !tmpname[0]) {
        /* Give the unnamed file a temporary name, then rename it over the
         * target (linkat cannot replace). */
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        for (int tries = 0; tries < 100; tries++) {
            snprintf(tmpname, sizeof(tmpname), "%s/.%s.%ld.%d", o->dir,
                     o->image, (long)getpid(), tries);
            if (linkat(AT_FDCWD, proc, AT_FDCWD, tmpname, AT_SYMLINK_FOLLOW) ==
                0) {
                break;
            }
            if (errno != EEXIST) {
                err_set(err, errlen, "%s: %s", tmpname, strerror(errno));
                tmpname[0] = '\0';
                rc = -1;
                break;
            }
            tmpname[0] = '\0';
        }
        if (rc == 0 && !tmpname[0]) {
            err_set(err, errlen, "%s: no free temporary name", o->final);
            rc = -1;
        }
    }
    close(fd);
    if (rc == 0 && rename(tmpname, o->final) != 0) {
        err_set(err, errlen, "%s: %s", o->final, strerror(errno));
        rc = -1;
    }
    if (rc != 0 && tmpname[0]) {
        unlink(tmpname);
    }
    return rc;
}

int plot_runs(enum plot_kind kind, const struct plot_run *runs, size_t n,
              const char *out_path, const struct plot_opts *opts, char *err,
              size_t errlen)
{
    if (n == 0) {
        err_set(err, errlen, "%s: no runs to plot", plot_kind_name(kind));
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!runs[i].res) {
            err_set(err, errlen, "%s: run %zu has no result",
                    plot_kind_name(kind), i + 1);
            return -1;
        }
    }
    struct out o;
    if (out_init(&o, out_path, err, errlen) != 0) {
        return -1;
    }
    o.gpf = pl_out_open(&o, o.gp, err, errlen);
    if (!o.gpf) {
        pl_out_cleanup(&o);
        return -1;
    }
    int rc = -1;
    switch (kind) {
    case PLOT_TIMELINE:
        rc = pl_write_timeline(&o, runs, n, opts, err, errlen);
        break;
    case PLOT_COMPARE:
        rc = pl_write_compare(&o, runs, n, opts, err, errlen);
        break;
    case PLOT_SWEEP:
        rc = pl_write_sweep(&o, runs, n, opts, err, errlen);
        break;
    case PLOT_CDF:
        rc = pl_write_cdf(&o, runs, n, opts, err, errlen);
        break;
    default:
        err_set(err, errlen, "unknown plot kind %d", (int)kind);
    }
    if (rc == 0) {
        fputs("set output\n", o.gpf);
        rc = pl_out_close(o.gpf, &o, o.gp, err, errlen);
    }
    pl_out_cleanup(&o);
    if (rc != 0) {
        return -1;
    }
    if (opts && opts->no_render) {
        err_set(err, errlen, "%s", "");
        return 0;
    }
    return render(&o, opts && opts->timeout_s > 0 ? opts->timeout_s : 120, err,
                  errlen);
}

static int mkdir_p(const char *dir, char *err, size_t errlen)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                err_set(err, errlen, "%s: %s", buf, strerror(errno));
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        err_set(err, errlen, "%s: %s", buf, strerror(errno));
        return -1;
    }
    return 0;
}

int plot_to_dir(const char *dir, const struct plot_run *runs, size_t n,
                const char *ext, char *err, size_t errlen)
{
    if (!ext) {
        ext = "png";
    }
    if (strcmp(ext, "png") != 0 && strcmp(ext, "svg") != 0) {
        err_set(err, errlen, "plot format '%s': png or svg", ext);
        return -1;
    }
    if (mkdir_p(dir, err, errlen) != 0) {
        return -1;
    }
    int count = 0;
    char path[1400];
    for (size_t i = 0; i < n; i++) {
        if (runs[i].meta && runs[i].meta->id > 0) {
            snprintf(path, sizeof(path), "%s/timeline-%lld.%s", dir,
                     (long long)runs[i].meta->id, ext);
        } else {
            snprintf(path, sizeof(path), "%s/timeline-%zu.%s", dir, i + 1, ext);
        }
        int rc = plot_runs(PLOT_TIMELINE, &runs[i], 1, path, NULL, err, errlen);
        if (rc != 0) {
            return rc;
        }
        count++;
    }
    if (n >= 2) {
        static const enum plot_kind kinds[] = {PLOT_COMPARE, PLOT_CDF};
        for (int k = 0; k < 2; k++) {
            snprintf(path, sizeof(path), "%s/%s.%s", dir,
                     plot_kind_name(kinds[k]), ext);
            int rc = plot_runs(kinds[k], runs, n, path, NULL, err, errlen);
            if (rc != 0) {
                return rc;
            }
            count++;
        }
    }
    return count;
}
