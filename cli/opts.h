/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/opts.h — the one option parser of every command.
 *
 * A command describes its options in a table of struct cli_opt (name, short
 * key, kind, where the value goes, its help line) and calls cli_parse().
 * The table is the single source of the option's spelling, its value check
 * (times, sizes and rates always go through base/units, so "500" for a time
 * is refused with "needs a unit") and its --help line: cli_help() prints the
 * options block from the same table, so the help cannot miss an option.
 *
 * Errors are usage errors: cli_parse() prints "migsim: error: CMD: ..." (an
 * unknown long option gets "did you mean --X?") and the caller returns
 * EXIT_USAGE.  "-h"/"--help" is added to every table: cli_parse() prints the
 * help to stdout and the caller returns EXIT_OK.
 */
#ifndef MIGSIM_CLI_OPTS_H
#define MIGSIM_CLI_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cli_opt_kind {
    CLI_FLAG,   /* bool *: set to true; takes no argument */
    CLI_STR,    /* const char **: the argument (the last one given wins) */
    CLI_LIST,   /* const char *[cap]: repeatable, appended at *count */
    CLI_TIME,   /* int64_t *: nanoseconds; a unit is required */
    CLI_SIZE,   /* uint64_t *: bytes */
    CLI_RATE,   /* uint64_t *: bytes per second */
    CLI_UINT,   /* unsigned *: decimal, in [min, max] (max 0 = UINT_MAX) */
    CLI_U64,    /* uint64_t *: decimal, no sign */
    CLI_FORMAT, /* enum cli_format *: table | json | csv */
    CLI_CALL,   /* fn(arg, ctx, err, errlen) decides; 0 = accepted */
    CLI_QEMU,   /* const char **: a modelled QEMU version; a release
                   ("9.2.1") is taken as its MAJOR.MINOR model ("9.2"); a
                   typo is refused with "did you mean" */
    CLI_POLICY, /* as CLI_LIST, each a policy spec whose part names are
                   registered policies (typo: "did you mean") */
};

struct cli_opt {
    const char *name; /* long name without "--"; NULL ends nothing */
    int key;          /* short option character, 0 = none */
    enum cli_opt_kind kind;
    void *dst;
    const char *arg;  /* the argument's name in --help ("TIME") */
    const char *help; /* help text; '\n' starts an indented new line */
    /* CLI_TIME: the value must be > 0 unless zero_ok; at most max_ns
     * (0 = no bound).  CLI_UINT: in [min, max]. */
    bool zero_ok;
    int64_t max_ns;
    unsigned min, max;
    /* CLI_LIST */
    unsigned *count;
    unsigned cap;
    /* CLI_CALL */
    int (*fn)(const char *arg, void *ctx, char *err, size_t errlen);
    void *ctx;
    /* set to true when the option was given (optional) */
    bool *given;
};

struct cli_spec {
    const char *cmd;   /* "plan", "runs list" */
    const char *usage; /* the text before the options block */
    const char *title; /* the options block's heading; NULL = "Options:" */
    const struct cli_opt *opts;
    size_t n_opts;
    const char *after; /* the text after the options block, or NULL */
};

/*
 * Parse argv[1..] (argv[0] is the command name) against the spec.  Options
 * and operands may be mixed; the operands are moved to the end and *argi is
 * the index of the first one.  Returns -1 to go on, or the exit code the
 * command must return now: EXIT_OK after --help, EXIT_USAGE after an error
 * (message printed to stderr).
 */
int cli_parse(const struct cli_spec *spec, int argc, char **argv, int *argi);

/* The whole --help text: usage, options block (with -h, --help), after,
 * the exit codes. */
void cli_help(const struct cli_spec *spec, FILE *f);

/* Only the options block, one line per option as --help shows it. */
void cli_help_options(const struct cli_opt *opts, size_t n, FILE *f);

/* The checks behind CLI_QEMU and CLI_POLICY, for values that do not come
 * through an option table.  0, or -1 with a message naming the value (and
 * the closest known name) in err.  cli_check_qemu points *out at a static
 * model name ("9.2"). */
int cli_check_qemu(const char *arg, const char **out, char *err, size_t errlen);
int cli_check_policy(const char *spec, char *err, size_t errlen);
/* The same as CLI_CALL functions for a single value (ctx: const char **):
 * .kind = CLI_CALL, .fn = cli_policy_fn, .ctx = &value. */
int cli_policy_fn(const char *arg, void *ctx, char *err, size_t errlen);

/* The long option closest to `name` (edit distance <= 2, or a prefix), or
 * NULL: for "did you mean" on any word list (policies, QEMU versions). */
const char *cli_closest(const char *name, const char *const *words, size_t n);

#endif
