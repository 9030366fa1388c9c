/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_plot.c — `migsim plot --db FILE RUN... --kind K -o OUT`: draw
 * stored runs with gnuplot (see plots/plot.h).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "plots/plot.h"
#include "base/units.h"
#include "store/db.h"

static void usage(FILE *f)
{
    fputs(
        "Usage: migsim plot [--db FILE] RUN... --kind KIND -o OUT.png|OUT.svg\n"
        "\n"
        "Draw stored runs with gnuplot.  The script (OUT.gp) and its data\n"
        "files (OUT*.dat) stay next to the image: edit and re-render with\n"
        "`gnuplot OUT.gp`.\n"
        "\n"
        "RUN is an id, a range A-B, 'all' or 'last' (see `migsim runs "
        "list`).\n"
        "\n"
        "Kinds:\n"
        "  timeline   estimate, exact() and threshold over time (log "
        "bytes),\n"
        "             device sizes, state changes and syncs (up to 8 "
        "runs)\n"
        "  compare    runs side by side: total time, downtime vs limit,\n"
        "             exact() calls, time in bitmap syncs\n"
        "  sweep      a parameter against the outcome (--param): downtime "
        "and\n"
        "             total time per policy; with --param2 a heat map\n"
        "  cdf        downtime distribution over the runs, per policy\n"
        "\n"
        "Options:\n"
        "  --db FILE          run store (default: $MIGSIM_DB or "
        "./migsim.db)\n"
        "  --kind KIND        timeline (default), compare, sweep or cdf\n"
        "  -o, --output FILE  image to write; .png or .svg\n"
        "  --param NAME       sweep: x value of each run: a dotted path in "
        "its\n"
        "                     scenario JSON (e.g. vm.dirty_rate; units "
        "allowed:\n"
        "                     2GB/s, 300ms, 16GiB), 'seed', or a "
        "parameter-change\n"
        "                     event NAME=VALUE recorded in the run\n"
        "  --param2 NAME      sweep: y value of each run (heat map)\n"
        "  --size WxH         image size in pixels\n"
        "  --no-render        write the .gp and .dat files only\n"
        "  -h, --help         this text\n",
        f);
    cli_print_exit_codes(f);
}

/* A parameter value as text or number -> double. */
static int value_of_text(const char *s, double *v)
{
    char *end;
    double d = strtod(s, &end);
    if (end != s && *end == '\0') {
        *v = d;
        return 0;
    }
    uint64_t u;
    int64_t ns;
    double frac;
    if (units_parse_rate(s, &u, NULL, 0) == 0 ||
        units_parse_size(s, &u, NULL, 0) == 0) {
        *v = (double)u;
        return 0;
    }
    if (units_parse_time(s, 0, &ns, NULL, 0) == 0) {
        *v = (double)ns;
        return 0;
    }
    if (units_parse_fraction(s, &frac, NULL, 0) == 0) {
        *v = frac;
        return 0;
    }
    return -1;
}

/* Value of parameter name for a run; NAN if it has none. */
static double run_param(const struct db_run_meta *m, const struct run_result *r,
                        const char *name)
{
    if (strcmp(name, "seed") == 0) {
        return (double)m->seed;
    }
    double v;
    if (m->scenario_json) {
        json_t *root = json_loads(m->scenario_json, 0, NULL);
        json_t *cur = root;
        char path[256];
        snprintf(path, sizeof(path), "%s", name);
        char *save = NULL;
        for (char *tok = strtok_r(path, ".", &save); tok && cur;
             tok = strtok_r(NULL, ".", &save)) {
            if (json_is_array(cur)) {
                char *end;
                long idx = strtol(tok, &end, 10);
                cur = *end ? NULL : json_array_get(cur, (size_t)idx);
            } else {
                cur = json_object_get(cur, tok);
            }
        }
        bool found = false;
        if (json_is_number(cur)) {
            v = json_number_value(cur);
            found = true;
        } else if (json_is_string(cur)) {
            found = value_of_text(json_string_value(cur), &v) == 0;
        } else if (json_is_boolean(cur)) {
            v = json_is_true(cur) ? 1 : 0;
            found = true;
        }
        json_decref(root);
        if (found) {
            return v;
        }
    }
    /* Parameter-change events "name=value": the last one wins. */
    size_t nl = strlen(name);
    double last = NAN;
    for (size_t i = 0; i < r->n_events; i++) {
        const struct run_event *e = &r->events[i];
        if (e->kind == RUN_EV_PARAM && strncmp(e->text, name, nl) == 0 &&
            e->text[nl] == '=' && value_of_text(e->text + nl + 1, &v) == 0) {
            last = v;
        }
    }
    return last;
}

int cmd_plot(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"kind", required_argument, NULL, 'k'},
        {"output", required_argument, NULL, 'o'},
        {"param", required_argument, NULL, 'x'},
        {"param2", required_argument, NULL, 'y'},
        {"size", required_argument, NULL, 's'},
        {"no-render", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db_file = getenv("MIGSIM_DB");
    const char *out = NULL;
    enum plot_kind kind = PLOT_TIMELINE;
    struct plot_opts po = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db_file = optarg;
            break;
        case 'k':
            if (plot_kind_from_name(optarg, &kind) != 0) {
                cli_error("--kind %s: timeline, compare, sweep or cdf", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'o':
            out = optarg;
            break;
        case 'x':
            po.x_name = optarg;
            break;
        case 'y':
            po.y_name = optarg;
            break;
        case 's':
            if (sscanf(optarg, "%dx%d", &po.width_px, &po.height_px) != 2 ||
                po.width_px < 100 || po.height_px < 100 ||
                po.width_px > 10000 || po.height_px > 10000) {
                cli_error("--size %s: WxH in pixels, 100 to 10000", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'n':
            po.no_render = true;
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
        cli_error("-o OUT.png or OUT.svg is required");
        return EXIT_USAGE;
    }
    if (optind >= argc) {
        cli_error("no runs given (ids, A-B, 'all' or 'last')");
        return EXIT_USAGE;
    }
    if (kind == PLOT_SWEEP && !po.x_name) {
        cli_error("--kind sweep needs --param NAME");
        return EXIT_USAGE;
    }
    if (kind != PLOT_SWEEP && (po.x_name || po.y_name)) {
        cli_error("--param and --param2 go with --kind sweep");
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
    int ret = EXIT_OK;
    if (kind == PLOT_TIMELINE && n > PLOT_MAX_TIMELINE) {
        cli_error("timeline: at most %d runs in one figure (got %zu)",
                  PLOT_MAX_TIMELINE, n);
        ret = EXIT_USAGE;
    }
    if (!pr && ret == EXIT_OK) {
        cli_error("out of memory");
        ret = EXIT_INTERNAL;
    }
    for (size_t i = 0; pr && i < n && ret == EXIT_OK; i++) {
        pr[i].meta = &metas[i];
        pr[i].res = &res[i];
        if (kind == PLOT_SWEEP) {
            pr[i].x = run_param(&metas[i], &res[i], po.x_name);
            pr[i].y = po.y_name ? run_param(&metas[i], &res[i], po.y_name) : 0;
            if (isnan(pr[i].x) || isnan(pr[i].y)) {
                cli_error("run %lld has no value for %s",
                          (long long)metas[i].id,
                          isnan(pr[i].x) ? po.x_name : po.y_name);
                ret = EXIT_DATA;
            }
        }
    }
    if (ret == EXIT_OK) {
        rc = plot_runs(kind, pr, n, out, &po, err, sizeof(err));
        if (rc == PLOT_ERR_GNUPLOT) {
            cli_error("%s", err);
            ret = EXIT_EXTERNAL;
        } else if (rc != 0) {
            cli_error("%s", err);
            ret = EXIT_IO;
        } else {
            if (err[0]) {
                cli_warn("gnuplot: %s", err);
            }
            printf("%s: %s of %zu run%s%s\n", out, plot_kind_name(kind), n,
                   n == 1 ? "" : "s",
                   po.no_render ? " (script and data only)" : "");
        }
    }
    free(pr);
    db_runs_free(metas, res, n);
    return ret;
}
