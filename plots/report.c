/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plots/report.c — the self-contained HTML report (see report.h). */
#include "plots/report.h"
#include "store/outfile.h"
#include "base/err.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void plot_html_escape(FILE *f, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        unsigned char c = (unsigned char)*p;
        switch (c) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
                fputs("&#xFFFD;", f);
            } else {
                fputc(c, f);
            }
        }
    }
}

char *plot_base64(const unsigned char *data, size_t len)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t olen = 4 * ((len + 2) / 3);
    char *out = malloc(olen + 1);
    if (!out) {
        return NULL;
    }
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v =
            (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = tab[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len) {
            v |= (uint32_t)data[i + 1] << 8;
        }
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

/* Embed the PNG at path as an <img>. */
static int embed_png(FILE *f, const char *path, const char *alt, char *err,
                     size_t errlen)
{
    FILE *in = fopen(path, "rb");
    if (!in) {
        err_set(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len, in)) > 0) {
        len += r;
        if (len == cap) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(in);
    char *b64 = buf ? plot_base64(buf, len) : NULL;
    free(buf);
    if (!b64) {
        err_set(err, errlen, "%s: out of memory", path);
        return -1;
    }
    fputs("<figure><img alt=\"", f);
    plot_html_escape(f, alt);
    fprintf(f, "\" src=\"data:image/png;base64,%s\"></figure>\n", b64);
    free(b64);
    return 0;
}

static void fixed_copy(char *dst, size_t dstlen, const char *src, size_t srclen)
{
    size_t n = strnlen(src, srclen);
    if (n >= dstlen) {
        n = dstlen - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void row(FILE *f, const char *k, const char *v)
{
    fputs("<tr><th>", f);
    plot_html_escape(f, k);
    fputs("</th><td>", f);
    plot_html_escape(f, v && *v ? v : "-");
    fputs("</td></tr>\n", f);
}

static void run_title(const struct plot_run *r, size_t i, char *buf, size_t len)
{
    if (r->meta && r->meta->id > 0) {
        snprintf(buf, len, "Run %lld", (long long)r->meta->id);
    } else {
        snprintf(buf, len, "Run %zu", i + 1);
    }
}

static void outcome_line(FILE *f, const struct run_metrics *m)
{
    char a[48], b[48], c[48];
    run_format_value(RUN_U_NS, (double)m->total_ns, a, sizeof(a));
    run_format_value(RUN_U_NS, (double)m->downtime_ns, b, sizeof(b));
    run_format_value(RUN_U_NS, (double)m->downtime_limit_ns, c, sizeof(c));
    bool good = m->outcome == RUN_CONVERGED && !m->downtime_violation;
    fprintf(f, "<p class=\"outcome %s\">%s", good ? "good" : "bad",
            run_outcome_name(m->outcome));
    if (m->outcome == RUN_CONVERGED) {
        fprintf(f, " after %s; downtime %s (limit %s)%s", a, b, c,
                m->downtime_violation ? " &mdash; limit exceeded" : "");
    } else if (m->outcome != RUN_INCOMPLETE) {
        fprintf(f, " after %s; no switchover, so no downtime (limit %s)", a, c);
    }
    fputs("</p>\n", f);
}

static void meta_table(FILE *f, const struct plot_run *r)
{
    const struct db_run_meta *m = r->meta;
    char buf[64];
    fputs("<table class=\"kv\">\n", f);
    if (m) {
        row(f, "kind", db_kind_name(m->kind));
        row(f, "complete", m->complete ? "yes" : "no (interrupted)");
        row(f, "source", m->source_path);
        row(f, "source SHA-256", m->source_sha256);
        row(f, "QEMU model", m->qemu[0] ? m->qemu : r->res->m.qemu);
    }
    char pol[sizeof(r->res->m.policy) + 1];
    fixed_copy(pol, sizeof(pol), r->res->m.policy, sizeof(r->res->m.policy));
    row(f, "policy", pol[0] || !m ? pol : m->policy);
    if (m) {
        snprintf(buf, sizeof(buf), "%" PRIu64, m->seed);
        row(f, "seed", buf);
        row(f, "rng", m->rng);
        row(f, "migsim version", m->version);
        row(f, "command line", m->command_line);
        row(f, "started", db_format_time(m->started_ns, buf, sizeof(buf)));
        row(f, "finished", db_format_time(m->finished_ns, buf, sizeof(buf)));
        row(f, "run key", m->run_key);
    }
    snprintf(buf, sizeof(buf), "%016" PRIx64, r->res->m.fingerprint);
    row(f, "fingerprint", buf);
    snprintf(buf, sizeof(buf), "%zu samples, %zu events", r->res->n_samples,
             r->res->n_events);
    row(f, "recorded", buf);
    fputs("</table>\n", f);
}

static void metrics_table(FILE *f, const struct run_metrics *m)
{
    size_t nf;
    const struct run_field *fd = run_metric_fields(&nf);
    fputs("<table class=\"kv\">\n", f);
    for (size_t k = 0; k < nf; k++) {
        char v[64];
        run_field_format(&fd[k], m, v, sizeof(v));
        row(f, fd[k].label, v);
    }
    fputs("</table>\n", f);
    if (m->n_devices == 0) {
        return;
    }
    fputs("<table class=\"grid\"><tr><th>device</th><th>precopy</th>"
          "<th>stop-copy</th><th>save</th><th>load</th></tr>\n",
          f);
    for (unsigned d = 0; d < m->n_devices && d < RUN_MAX_DEVICES; d++) {
        const struct run_device_result *dv = &m->devices[d];
        char name[RUN_NAME_LEN + 1], a[48], b[48], c[48], e[48];
        fixed_copy(name, sizeof(name), dv->name, sizeof(dv->name));
        fputs("<tr><td>", f);
        plot_html_escape(f, name);
        fprintf(f, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
                run_format_value(RUN_U_BYTES, (double)dv->precopy_bytes, a,
                                 sizeof(a)),
                run_format_value(RUN_U_BYTES, (double)dv->stop_copy_bytes, b,
                                 sizeof(b)),
                run_format_value(RUN_U_NS, (double)dv->save_ns, c, sizeof(c)),
                run_format_value(RUN_U_NS, (double)dv->load_ns, e, sizeof(e)));
    }
    fputs("</table>\n", f);
}

static void summary_table(FILE *f, const struct plot_run *runs, size_t n)
{
    fputs("<table class=\"grid\"><tr><th>run</th><th>policy</th>"
          "<th>outcome</th><th>total</th><th>downtime</th><th>limit</th>"
          "<th>exact() calls</th><th>verdict</th></tr>\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const struct run_metrics *m = &runs[i].res->m;
        char label[256], a[48], b[48], c[48];
        plot_run_label(&runs[i], i, label, sizeof(label));
        fputs("<tr><td>", f);
        plot_html_escape(f, label);
        fputs("</td><td>", f);
        char pol[sizeof(m->policy) + 1];
        fixed_copy(pol, sizeof(pol), m->policy, sizeof(m->policy));
        plot_html_escape(f, pol);
        fprintf(f,
                "</td><td class=\"%s\">%s</td><td>%s</td><td>%s</td>"
                "<td>%s</td><td>%" PRIu64 "</td><td>",
                m->outcome == RUN_CONVERGED && !m->downtime_violation ? "good"
                                                                      : "bad",
                run_outcome_name(m->outcome),
                run_format_value(RUN_U_NS, (double)m->total_ns, a, sizeof(a)),
                run_switched_over(m)
                    ? run_format_value(RUN_U_NS, (double)m->downtime_ns, b,
                                       sizeof(b))
                    : "-",
                run_format_value(RUN_U_NS, (double)m->downtime_limit_ns, c,
                                 sizeof(c)),
                m->exact_calls);
        plot_html_escape(f, runs[i].meta && runs[i].meta->verdict
                                ? runs[i].meta->verdict
                                : "");
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static const char css[] =
    "body{font-family:sans-serif;margin:2em;color:#222;max-width:1200px}"
    "h1{border-bottom:2px solid #1f77b4}"
    "h2{margin-top:2em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:1em 0}"
    "th,td{padding:3px 10px;text-align:left;vertical-align:top;"
    "border-bottom:1px solid #eee}"
    "table.kv th{color:#555;font-weight:normal;white-space:nowrap}"
    "table.grid th{background:#f0f4f8}"
    ".good{color:#1a7f37;font-weight:bold}.bad{color:#c62828;"
    "font-weight:bold}"
    "p.outcome{font-size:1.2em}"
    ".verdict{font-size:1.1em;background:#fff8e1;padding:.5em 1em;"
    "border-left:4px solid #f9a825}"
    "pre{background:#f6f8fa;padding:1em;overflow:auto;white-space:pre-wrap}"
    "figure{margin:1em 0}img{max-width:100%;border:1px solid #ddd}"
    "footer{margin-top:3em;color:#777;font-size:.9em}";

static int rm_cb(const char *p, const struct stat *sb, int flag,
                 struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* The figures' temporary directory must not outlive migsim, even a kill
 * -9: a small child process waits on a pipe whose only writer is migsim
 * (close-on-exec, so gnuplot does not hold it) and removes the directory
 * when the pipe closes.  Returns the child's pid (or -1: no reaper, the
 * directory is still removed on a normal return) and the write end. */
static pid_t reaper_start(const char *dir, int *wfd)
{
    int p[2];
    *wfd = -1;
    if (pipe2(p, O_CLOEXEC) != 0) {
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[1]);
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
            dup2(nul, 2);
        }
        char c;
        while (read(p[0], &c, 1) != 0) {
            if (errno != EINTR) {
                break;
            }
        }
        nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        _exit(0);
    }
    close(p[0]);
    *wfd = p[1];
    return pid;
}

static void reaper_stop(pid_t pid, int wfd)
{
    if (wfd >= 0) {
        close(wfd);
    }
    if (pid > 0) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
}

static int write_page(FILE *f, const char *dir, const struct plot_run *runs,
                      size_t n, const struct plot_report_opts *opts, char *err,
                      size_t errlen)
{
    const char *title = opts && opts->title ? opts->title : "migsim report";
    char path[1400];
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "\n<title>",
          f);
    plot_html_escape(f, title);
    fprintf(f, "</title>\n<style>%s</style>\n</head><body>\n<h1>", css);
    plot_html_escape(f, title);
    fputs("</h1>\n", f);
    if (n > 1) {
        fputs("<h2>Summary</h2>\n", f);
        summary_table(f, runs, n);
        snprintf(path, sizeof(path), "%s/compare.png", dir);
        int rc = plot_runs(PLOT_COMPARE, runs, n, path, NULL, err, errlen);
        if (rc != 0) {
            return rc;
        }
        if (embed_png(f, path, "runs compared", err, errlen) != 0) {
            return -1;
        }
        snprintf(path, sizeof(path), "%s/cdf.png", dir);
        rc = plot_runs(PLOT_CDF, runs, n, path, NULL, err, errlen);
        if (rc != 0) {
            return rc;
        }
        if (embed_png(f, path, "downtime distribution", err, errlen) != 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct plot_run *r = &runs[i];
        char t[64];
        run_title(r, i, t, sizeof(t));
        fprintf(f, "<h2 id=\"run-%zu\">", i + 1);
        plot_html_escape(f, t);
        fputs("</h2>\n", f);
        outcome_line(f, &r->res->m);
        if (r->meta && r->meta->verdict) {
            fputs("<p class=\"verdict\">", f);
            plot_html_escape(f, r->meta->verdict);
            fputs("</p>\n", f);
        }
        if (r->meta && r->meta->diagnosis) {
            fputs("<h3>Diagnosis</h3>\n<pre>", f);
            plot_html_escape(f, r->meta->diagnosis);
            fputs("</pre>\n", f);
        }
        if (i < PLOT_REPORT_MAX_TIMELINES) {
            snprintf(path, sizeof(path), "%s/timeline-%zu.png", dir, i + 1);
            int rc = plot_runs(PLOT_TIMELINE, r, 1, path, NULL, err, errlen);
            if (rc != 0) {
                return rc;
            }
            if (embed_png(f, path, t, err, errlen) != 0) {
                return -1;
            }
        } else if (i == PLOT_REPORT_MAX_TIMELINES) {
            fprintf(f,
                    "<p>Timelines are shown for the first %d runs "
                    "only.</p>\n",
                    PLOT_REPORT_MAX_TIMELINES);
        }
        fputs("<h3>Metrics</h3>\n", f);
        metrics_table(f, &r->res->m);
        fputs("<h3>Run</h3>\n", f);
        meta_table(f, r);
        if (r->meta && r->meta->scenario_json) {
            fputs("<details><summary>Scenario</summary><pre>", f);
            plot_html_escape(f, r->meta->scenario_json);
            fputs("</pre></details>\n", f);
        }
    }
    fprintf(f, "<footer>Generated by migsim %s.</footer>\n</body></html>\n",
            MIGSIM_VERSION);
    return 0;
}

int plot_report_html(const struct plot_run *runs, size_t n,
                     const char *out_path, const struct plot_report_opts *opts,
                     char *err, size_t errlen)
{
    if (n == 0) {
        err_set(err, errlen, "report: no runs");
        return -1;
    }
    char dir[1024];
    bool temp = !(opts && opts->plot_dir);
    pid_t reaper = -1;
    int reaper_fd = -1;
    if (temp) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof(dir), "%s/migsim-report-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            err_set(err, errlen, "%s: %s", dir, strerror(errno));
            return -1;
        }
        reaper = reaper_start(dir, &reaper_fd);
    } else {
        snprintf(dir, sizeof(dir), "%s", opts->plot_dir);
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
            err_set(err, errlen, "%s: %s", dir, strerror(errno));
            return -1;
        }
    }
    /* Write to a mkstemp temporary beside it and rename, so a failed
     * report leaves no half page behind and a planted symlink is not
     * followed. */
    struct outfile of;
    int rc = outfile_open(&of, out_path, err, errlen);
    if (rc == 0) {
        rc = write_page(of.f, dir, runs, n, opts, err, errlen);
        if (rc == 0) {
            rc = outfile_commit(&of, err, errlen);
        } else {
            outfile_abort(&of);
        }
    }
    if (temp) {
        nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        reaper_stop(reaper, reaper_fd);
    }
    return rc;
}
