/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_report.c — `migsim report --db FILE RUN... -o report.html`: one
 * self-contained HTML page about stored runs (see plots/report.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "plots/report.h"
#include "store/db.h"

static const char usage_text[] =
    "Usage: migsim report [--db FILE] RUN... -o REPORT.html\n"
    "\n"
    "One self-contained HTML page (figures embedded, no external\n"
    "references) with each run's outcome, verdict and diagnosis,\n"
    "metadata, metrics, devices, timeline and scenario; with several\n"
    "runs also a summary table and the compare and cdf figures.\n"
    "\n"
    "RUN is an id, a range A-B, 'all' or 'last'.\n"
    "\n";

/* -o -: the page goes to stdout, written first into a private temporary
 * directory (the report is written to a temporary and renamed into
 * place); 0, or -1 with a message. */
static int page_to_stdout(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char buf[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (fwrite(buf, 1, n, stdout) != n) {
            snprintf(err, errlen, "stdout: write error");
            rc = -1;
            break;
        }
    }
    fclose(f);
    if (rc == 0 && fflush(stdout) != 0) {
        snprintf(err, errlen, "stdout: write error");
        rc = -1;
    }
    return rc;
}

int cmd_report(int argc, char **argv)
{
    const char *db_file = getenv("MIGSIM_DB");
    const char *out = NULL;
    struct plot_report_opts ro = {0};
    // clang-format off
    const struct cli_opt opts[] = {
        {.name = "db", .kind = CLI_STR, .dst = &db_file, .arg = "FILE", .help = "run store (default: $MIGSIM_DB or ./migsim.db)"},
        {.name = "output", .key = 'o', .kind = CLI_STR, .dst = &out, .arg = "FILE", .help = "the page to write (- for stdout)"},
        {.name = "title", .kind = CLI_STR, .dst = &ro.title, .arg = "TEXT", .help = "page title (default: migsim report)"},
        {.name = "keep-plots", .kind = CLI_STR, .dst = &ro.plot_dir, .arg = "DIR", .help = "keep the figures with their .gp and .dat files"},
    };
    // clang-format on
    const struct cli_spec spec = {
        "report", usage_text, NULL, opts, sizeof(opts) / sizeof(opts[0]), NULL};
    int argi;
    int rc = cli_parse(&spec, argc, argv, &argi);
    if (rc >= 0) {
        return rc;
    }
    if (!out || argi >= argc) {
        cli_error("%s", !out ? "-o REPORT.html is required"
                             : "no runs given (ids, A-B, 'all' or 'last')");
        return EXIT_USAGE;
    }
    char err[4096];
    struct plot_set set;
    rc = plot_set_load(&set, db_file && *db_file ? db_file : DB_DEFAULT_PATH,
                       argv + argi, argc - argi, err, sizeof(err));
    if (rc != 0) {
        cli_error("%s", err);
        return rc == DB_ERR_NOTFOUND ? EXIT_DATA : EXIT_IO;
    }
    int ret = EXIT_OK;
    bool to_stdout = strcmp(out, "-") == 0;
    char tdir[64] = "", tpath[96] = "";
    if (to_stdout) {
        const char *t = getenv("TMPDIR");
        snprintf(tdir, sizeof(tdir), "%.40s/migsim-report-XXXXXX",
                 t && *t ? t : "/tmp");
        if (!mkdtemp(tdir)) {
            cli_error("%s: %s", tdir, strerror(errno));
            plot_set_free(&set);
            return EXIT_IO;
        }
        snprintf(tpath, sizeof(tpath), "%s/report.html", tdir);
    }
    rc = plot_report_html(set.runs, set.n, to_stdout ? tpath : out, &ro, err,
                          sizeof(err));
    if (rc == 0 && to_stdout && page_to_stdout(tpath, err, sizeof(err))) {
        rc = -1;
    }
    if (rc != 0) {
        cli_error("%s", err);
        ret = rc == PLOT_ERR_GNUPLOT ? EXIT_EXTERNAL : EXIT_IO;
    } else if (!to_stdout) {
        printf("%s: report on %zu run%s\n", out, set.n, set.n == 1 ? "" : "s");
    }
    if (to_stdout) {
        unlink(tpath);
        rmdir(tdir);
    }
    plot_set_free(&set);
    return ret;
}
