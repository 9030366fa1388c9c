/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cli.h — the migsim command line: subcommand table and shared helpers.
 *
 * Each subcommand lives in cli/cmd_<name>.c as `int cmd_<name>(int argc,
 * char **argv)` (argv[0] is the subcommand name), parses its own options with
 * getopt_long, prints results to stdout and diagnostics to stderr, and
 * returns one of the exit codes below.
 */
#ifndef MIGSIM_CLI_H
#define MIGSIM_CLI_H

#include <stdio.h>

/* Exit codes (documented in --help and migsim(1)). */
enum {
    EXIT_OK = 0,        /* success */
    EXIT_NO = 1,        /* ran fine, the answer is "no" (e.g. plan: nothing
                           meets the budgets) */
    EXIT_USAGE = 2,     /* bad command line */
    EXIT_DATA = 3,      /* bad input data: scenario, trace, QMP reply */
    EXIT_IO = 4,        /* file, database or socket error */
    EXIT_EXTERNAL = 5,  /* an external program (gnuplot, QEMU) failed */
    EXIT_INTERNAL = 70, /* bug */
};

enum cli_format { CLI_FMT_TABLE = 0, CLI_FMT_JSON, CLI_FMT_CSV };

/* "table" | "json" | "csv" -> format; -1 if unknown (message printed). */
int cli_parse_format(const char *s, enum cli_format *f);

/* Print "migsim: error: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit code for an input file that failed to load: EXIT_IO when path
 * cannot be opened for reading (missing, no permission: the same code in
 * every command), else EXIT_DATA (its content is bad).  "-" is stdin. */
int cli_input_rc(const char *path);

/* Shared footer for --help texts. */
void cli_print_exit_codes(FILE *f);

/* The whole command line as one string (for run records); static buffer
 * owned by cli/main.c, valid for the process lifetime. */
const char *cli_command_line(void);
/* Save argv as the command line (main() does, before dispatching). */
void cli_set_command_line(int argc, char **argv);

struct scn_doc;
/* --calibration FILE of plan, sweep: the scenario's "calibration" key
 * set to FILE's absolute path (0; -1 with a message in err). */
int cli_set_calibration(struct scn_doc *d, const char *path, char *err,
                        size_t errlen);
/*
 * The --set KEY=VALUE assignments of simulate, compare, sweep and plan
 * applied to d.  EXIT_OK, or EXIT_USAGE with a message printed: a
 * malformed assignment, or a value whose unit is missing or unknown
 * ("--set migration.downtime_limit=500: ... needs a unit", the same failure
 * and exit code as an option's "--max-downtime 500").  Other bad values are
 * left to the caller's scn_resolve (exit 3 naming the key, as in a file).
 */
int cli_apply_sets(struct scn_doc *d, const char *const *sets, unsigned n);
/* FILE as an absolute path into out (0; -1 with a message). */
int cli_abs_path(const char *path, char *out, size_t len, char *err,
                 size_t errlen);

int cmd_simulate(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_policies(int argc, char **argv);
int cmd_probe_vfio(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_lab(int, char **);
int cmd_live(int, char **);

#endif
