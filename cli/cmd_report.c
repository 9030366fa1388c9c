/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_report.c — `migsim report --db FILE RUN... -o report.html`: one
 * self-contained HTML page about stored runs (see plots/report.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cmd_report(int argc, char **argv)
{
    const char *db_file = getenv("MIGSIM_DB");
    const char *out = NULL;
    struct plot_report_opts ro = {0};
    // clang-format off
    const struct cli_opt opts[] = {
        {.name = "db", .kind = CLI_STR, .dst = &db_file, .arg = "FILE", .help = "run store (default: $MIGSIM_DB or ./migsim.db)"},
        {.name = "output", .key = 'o', .kind = CLI_STR, .dst = &out, .arg = "FILE", .help = "the page to write"},
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
    rc = plot_report_html(set.runs, set.n, out, &ro, err, sizeof(err));
    if (rc != 0) {
        cli_error("%s", err);
        ret = rc == PLOT_ERR_GNUPLOT ? EXIT_EXTERNAL : EXIT_IO;
    } else {
        printf("%s: report on %zu run%s\n", out, set.n, set.n == 1 ? "" : "s");
    }
    plot_set_free(&set);
    return ret;
}
