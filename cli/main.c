/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/main.c — `migsim COMMAND [ARGS]`: git-style dispatch through a table.
 */
#include "cli/cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

struct cli_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

/* Keep in the order `migsim --help` lists them. */
static const struct cli_cmd commands[] = {
    {"simulate", cmd_simulate,
     "simulate a migration scenario under QEMU's loop and policies"},
    {"compare", cmd_compare,
     "run one scenario under several policies and rank them"},
    {"policies", cmd_policies, "list the policies and their arguments"},
    {"replay", cmd_replay,
     "read QEMU trace logs or query-migrate records, rebuild and diagnose"},
    {"calibrate", cmd_calibrate,
     "fit this machine's migration constants from real runs"},
    {"plan", cmd_plan,
     "smallest converging downtime-limit, expected downtime, commands"},
    {"sweep", cmd_sweep, "run a parameter grid in parallel into the run store"},
    {"runs", cmd_runs, "list, show, export, diff, import, merge stored runs"},
    {"plot", cmd_plot, "draw stored runs with gnuplot (PNG or SVG)"},
    {"report", cmd_report, "one self-contained HTML report on stored runs"},
    {"live", cmd_live, "observe and steer a real QEMU migration over QMP"},
    {"lab", cmd_lab,
     "run real QEMU migrations on this machine (TCG) and record them"},
    {"probe-vfio", cmd_probe_vfio,
     "probe a real VFIO device's migration sizes and timings (needs hardware)"},
    {"version", cmd_version, "print the version"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
    fprintf(f, "Usage: migsim [--version] [--help] COMMAND [ARGS]\n\n"
               "Will this QEMU live migration converge, when, with how much "
               "downtime,\nand which switchover policy or setting would do "
               "better?\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(f, "\n'migsim help COMMAND' or 'migsim COMMAND --help' for a "
               "command's options.\n");
    cli_print_exit_codes(f);
}

int cmd_version(int argc, char **argv)
{
    if (argc > 1 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("Usage: migsim version\n\nPrint the version (the same as "
               "'migsim --version').\n");
        cli_print_exit_codes(stdout);
        return EXIT_OK;
    }
    printf("migsim %s\n", MIGSIM_VERSION);
    printf("Copyright (C) 2026 the migsim developers.\n"
           "License GPLv3+: GNU GPL version 3 or later "
           "<https://gnu.org/licenses/gpl.html>.\n");
    return EXIT_OK;
}

static const struct cli_cmd *find(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    /* A file size limit (ulimit -f) must be a write error (EFBIG) that the
     * store and the writers report, not a kill. */
    signal(SIGXFSZ, SIG_IGN);
    cli_set_command_line(argc, argv);
    sim_gsl_quiet();
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        return cmd_version(argc - 1, argv + 1);
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return EXIT_OK;
        }
        const struct cli_cmd *c = find(argv[2]);
        if (!c) {
            cli_error("unknown command '%s'", argv[2]);
            return EXIT_USAGE;
        }
        char *hargv[] = {argv[2], "--help", NULL};
        return c->fn(2, hargv);
    }
    const struct cli_cmd *c = find(name);
    if (!c) {
        cli_error("unknown command '%s' (see 'migsim --help')", name);
        return EXIT_USAGE;
    }
    return c->fn(argc - 1, argv + 1);
}
