/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_plot.c — `migsim plot --db FILE RUN... --kind K -o OUT`: draw
 * stored runs with gnuplot (see plots/plot.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "plots/plot.h"
#include "store/db.h"

static const char usage_text[] =
    "Usage: migsim plot [--db FILE] RUN... --kind KIND -o OUT.png|OUT.svg\n"
    "\n"
    "Draw stored runs with gnuplot.  The script (OUT.gp) and its data\n"
    "files (OUT*.dat) stay next to the image: edit and re-render with\n"
    "`gnuplot OUT.gp`.\n"
    "\n"
    "RUN is an id, a range A-B, 'all' or 'last' (see `migsim runs list`).\n"
    "\n"
    "Kinds:\n"
    "  timeline   estimate, exact() and threshold over time (log bytes),\n"
    "             device sizes, state changes and syncs (up to 8 runs)\n"
    "  compare    runs side by side: total time, downtime vs limit,\n"
    "             exact() calls, time in bitmap syncs\n"
    "  sweep      a parameter against the outcome (--param): downtime and\n"
    "             total time per policy; with --param2 a heat map\n"
    "  cdf        downtime distribution over the runs, per policy\n"
    "\n";

static int parse_kind(const char *arg, void *ctx, char *err, size_t errlen)
{
    if (plot_kind_from_name(arg, ctx) != 0) {
        snprintf(err, errlen, "'%s': timeline, compare, sweep or cdf", arg);
        return -1;
    }
    return 0;
}

static int parse_size(const char *arg, void *ctx, char *err, size_t errlen)
{
    struct plot_opts *po = ctx;
    if (sscanf(arg, "%dx%d", &po->width_px, &po->height_px) != 2 ||
        po->width_px < 100 || po->height_px < 100 || po->width_px > 10000 ||
        po->height_px > 10000) {
        snprintf(err, errlen, "'%s': WxH in pixels, 100 to 10000", arg);
        return -1;
    }
    return 0;
}

/* The checks after parsing; EXIT_OK or EXIT_USAGE. */
static int check_args(enum plot_kind kind, const struct plot_opts *po,
                      const char *out, int nsel)
{
    const char *bad = NULL;
    if (!out) {
        bad = "-o OUT.png or OUT.svg is required";
    } else if (nsel <= 0) {
        bad = "no runs given (ids, A-B, 'all' or 'last')";
    } else if (kind == PLOT_SWEEP && !po->x_name) {
        bad = "--kind sweep needs --param NAME";
    } else if (kind != PLOT_SWEEP && (po->x_name || po->y_name)) {
        bad = "--param and --param2 go with --kind sweep";
    }
    if (bad) {
        cli_error("%s", bad);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* Draw the loaded runs; an exit code. */
static int draw(enum plot_kind kind, struct plot_set *set, const char *out,
                const struct plot_opts *po)
{
    char err[4096];
    if (kind == PLOT_TIMELINE && set->n > PLOT_MAX_TIMELINE) {
        cli_error("timeline: at most %d runs in one figure (got %zu)",
                  PLOT_MAX_TIMELINE, set->n);
        return EXIT_USAGE;
    }
    if (kind == PLOT_SWEEP &&
        plot_set_params(set, po->x_name, po->y_name, err, sizeof(err)) != 0) {
        cli_error("%s", err);
        return EXIT_DATA;
    }
    int rc = plot_runs(kind, set->runs, set->n, out, po, err, sizeof(err));
    if (rc != 0) {
        cli_error("%s", err);
        return rc == PLOT_ERR_GNUPLOT ? EXIT_EXTERNAL : EXIT_IO;
    }
    if (err[0]) {
        cli_warn("gnuplot: %s", err);
    }
    printf("%s: %s of %zu run%s%s\n", out, plot_kind_name(kind), set->n,
           set->n == 1 ? "" : "s",
           po->no_render ? " (script and data only)" : "");
    return EXIT_OK;
}

int cmd_plot(int argc, char **argv)
{
    const char *db_file = getenv("MIGSIM_DB"), *out = NULL;
    enum plot_kind kind = PLOT_TIMELINE;
    struct plot_opts po = {0};
    // clang-format off
    const struct cli_opt opts[] = {
        {.name = "db", .kind = CLI_STR, .dst = &db_file, .arg = "FILE", .help = "run store (default: $MIGSIM_DB or ./migsim.db)"},
        {.name = "kind", .kind = CLI_CALL, .fn = parse_kind, .ctx = &kind, .arg = "KIND", .help = "timeline (default), compare, sweep or cdf"},
        {.name = "output", .key = 'o', .kind = CLI_STR, .dst = &out, .arg = "FILE", .help = "image to write; .png or .svg"},
        {.name = "param", .kind = CLI_STR, .dst = &po.x_name, .arg = "NAME", .help = "sweep: x value of each run: a dotted path in its\n"
         "scenario JSON (e.g. vm.dirty_rate; units allowed:\n"
         "2GB/s, 300ms, 16GiB), 'seed', or a parameter-change\n"
         "event NAME=VALUE recorded in the run"},
        {.name = "param2", .kind = CLI_STR, .dst = &po.y_name, .arg = "NAME", .help = "sweep: y value of each run (heat map)"},
        {.name = "size", .kind = CLI_CALL, .fn = parse_size, .ctx = &po, .arg = "WxH", .help = "image size in pixels"},
        {.name = "no-render", .kind = CLI_FLAG, .dst = &po.no_render, .help = "write the .gp and .dat files only"},
    };
    // clang-format on
    const struct cli_spec spec = {
        "plot", usage_text, NULL, opts, sizeof(opts) / sizeof(opts[0]), NULL};
    int argi;
    int rc = cli_parse(&spec, argc, argv, &argi);
    if (rc >= 0) {
        return rc;
    }
    rc = check_args(kind, &po, out, argc - argi);
    if (rc != EXIT_OK) {
        return rc;
    }
    char err[4096];
    struct plot_set set;
    rc = plot_set_load(&set, db_file && *db_file ? db_file : DB_DEFAULT_PATH,
                       argv + argi, argc - argi, err, sizeof(err));
    if (rc != 0) {
        cli_error("%s", err);
        return rc == DB_ERR_NOTFOUND ? EXIT_DATA : EXIT_IO;
    }
    rc = draw(kind, &set, out, &po);
    plot_set_free(&set);
    return rc;
}
