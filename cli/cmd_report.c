/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_report.c — `migsim report --db FILE RUN... -o report.html`: one
 * self-contained HTML page about stored runs (see plots/report.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "plots/report.h"
#include "store/db.h"

static void usage(FILE *f)
{
    fputs("Usage: migsim report [--db FILE] RUN... -o REPORT.html\n"
          "\n"
          "One self-contained HTML page (figures embedded, no external\n"
          "references) with each run's outcome, verdict and diagnosis,\n"
          "metadata, metrics, devices, timeline and scenario; with several\n"
          "runs also a summary table and the compare and cdf figures.\n"
          "\n"
          "RUN is an id, a range A-B, 'all' or 'last'.\n"
          "\n"
          "Options:\n"
          "  --db FILE             run store (default: $MIGSIM_DB or "
          "./migsim.db)\n"
          "  -o, --output FILE     the page to write\n"
          "  --title TEXT          page title (default: migsim report)\n"
          "  --keep-plots DIR      keep the figures with their .gp and .dat "
          "files\n"
          "  -h, --help            this text\n",
          f);
    cli_print_exit_codes(f);
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"output", required_argument, NULL, 'o'},
        {"title", required_argument, NULL, 't'},
        {"keep-plots", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db_file = getenv("MIGSIM_DB");
    const char *out = NULL;
    struct plot_report_opts ro = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db_file = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 't':
            ro.title = optarg;
            break;
        case 'k':
            ro.plot_dir = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!db_file || !*db_file) {
        db_file = DB_DEFAULT_PATH;
    }
    if (!out) {
        cli_error("-o REPORT.html is required");
        return EXIT_USAGE;
    }
    if (optind >= argc) {
        cli_error("no runs given (ids, A-B, 'all' or 'last')");
        return EXIT_USAGE;
    }
    char err[4096];
    struct db_run_meta *metas = NULL;
    struct run_result *res = NULL;
    size_t n = 0;
    int rc = db_load_selected(db_file, argv + optind, argc - optind, &metas,
                              &res, &n, err, sizeof(err));
    if (rc != 0) {
        cli_error("%s", err);
        return rc == DB_ERR_NOTFOUND ? EXIT_DATA : EXIT_IO;
    }
    struct plot_run *pr = calloc(n, sizeof(*pr));
    if (!pr) {
        db_runs_free(metas, res, n);
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    for (size_t i = 0; i < n; i++) {
        pr[i].meta = &metas[i];
        pr[i].res = &res[i];
    }
    int ret = EXIT_OK;
    rc = plot_report_html(pr, n, out, &ro, err, sizeof(err));
    if (rc != 0) {
        cli_error("%s", err);
        ret = rc == PLOT_ERR_GNUPLOT ? EXIT_EXTERNAL : EXIT_IO;
    } else {
        printf("%s: report on %zu run%s\n", out, n, n == 1 ? "" : "s");
    }
    free(pr);
    db_runs_free(metas, res, n);
    return ret;
}
