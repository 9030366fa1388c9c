/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cli/opts.c — the table-driven option parser (contract in cli/opts.h). */
#include "cli/opts.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"
#include "cli/cli.h"
#include "policy/policy.h"
#include "run/qemu_version.h"
#include "run/scenario.h"

#define HELP_COL   24 /* column where help texts start */
#define LONG_BASE  256
#define MAX_OPTS   96
#define HELP_INDEX (-2)

int cli_check_qemu(const char *arg, const char **out, char *err, size_t errlen)
{
    const struct qv_row *r = qv_by_name(arg);
    if (!r) {
        r = qv_by_release(arg);
    }
    if (r) {
        *out = r->name;
        return 0;
    }
    size_t n;
    const struct qv_row *t = qv_table(&n);
    const char *names[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 64; i++) {
        names[k++] = t[i].name;
    }
    const char *near = cli_closest(arg, names, k);
    char hint[64] = "";
    if (near) {
        snprintf(hint, sizeof(hint), "did you mean '%s'? ", near);
    }
    snprintf(err, errlen, "unknown QEMU version '%s' (%smodelled: %s)", arg,
             hint, scn_qemu_list());
    return -1;
}

int cli_check_policy(const char *spec, char *err, size_t errlen)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", spec);
    const struct pol_ops *const *all = pol_all();
    const char *names[64];
    size_t n = 0;
    for (size_t i = 0; all[i] && n < 64; i++) {
        names[n++] = all[i]->name;
    }
    char *save = NULL;
    for (char *t = strtok_r(buf, "+", &save); t;
         t = strtok_r(NULL, "+", &save)) {
        t[strcspn(t, ":")] = '\0';
        if (pol_find(t)) {
            continue;
        }
        const char *near = cli_closest(t, names, n);
        if (near) {
            snprintf(err, errlen,
                     "unknown policy '%s' (did you mean '%s'? see 'migsim "
                     "policies')",
                     t, near);
        } else {
            snprintf(err, errlen, "unknown policy '%s' (see 'migsim policies')",
                     t);
        }
        return -1;
    }
    return 0;
}

int cli_policy_fn(const char *arg, void *ctx, char *err, size_t errlen)
{
    if (cli_check_policy(arg, err, errlen)) {
        return -1;
    }
    *(const char **)ctx = arg;
    return 0;
}

static bool takes_arg(const struct cli_opt *o)
{
    return o->kind != CLI_FLAG;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out,
                      char *err, size_t errlen)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end || errno || v < lo || v > hi) {
        snprintf(err, errlen, "'%s' is not a whole number in [%u, %u]", s, lo,
                 hi);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end || errno) {
        snprintf(err, errlen,
                 "'%s' is not a whole number in [0, 18446744073709551615]", s);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

static int parse_time(const struct cli_opt *o, const char *s, char *err,
                      size_t errlen)
{
    int64_t ns;
    if (units_parse_time(s, 0, &ns, err, errlen) != 0) {
        return -1;
    }
    if (ns < 0 || (ns == 0 && !o->zero_ok)) {
        snprintf(err, errlen, "'%s' must be %s", s,
                 o->zero_ok ? ">= 0" : "> 0");
        return -1;
    }
    if (o->max_ns > 0 && ns > o->max_ns) {
        char lim[32];
        units_fmt_time(o->max_ns, lim, sizeof(lim));
        snprintf(err, errlen, "'%s' is over the maximum of %s", s, lim);
        return -1;
    }
    *(int64_t *)o->dst = ns;
    return 0;
}

/* Store one option's value; 0 or -1 with err set. */
static int apply(const struct cli_opt *o, const char *arg, char *err,
                 size_t errlen)
{
    if (o->given) {
        *o->given = true;
    }
    switch (o->kind) {
    case CLI_FLAG:
        *(bool *)o->dst = true;
        return 0;
    case CLI_STR:
        *(const char **)o->dst = arg;
        return 0;
    case CLI_LIST:
        if (*o->count >= o->cap) {
            snprintf(err, errlen, "given more than %u times", o->cap);
            return -1;
        }
        ((const char **)o->dst)[(*o->count)++] = arg;
        return 0;
    case CLI_TIME:
        return parse_time(o, arg, err, errlen);
    case CLI_SIZE:
        return units_parse_size(arg, (uint64_t *)o->dst, err, errlen);
    case CLI_RATE:
        return units_parse_rate(arg, (uint64_t *)o->dst, err, errlen);
    case CLI_UINT:
        return parse_uint(arg, o->min, o->max ? o->max : UINT_MAX,
                          (unsigned *)o->dst, err, errlen);
    case CLI_U64:
        return parse_u64(arg, (uint64_t *)o->dst, err, errlen);
    case CLI_FORMAT:
        if (strcmp(arg, "table") == 0 || strcmp(arg, "text") == 0) {
            *(enum cli_format *)o->dst = CLI_FMT_TABLE;
        } else if (strcmp(arg, "json") == 0) {
            *(enum cli_format *)o->dst = CLI_FMT_JSON;
        } else if (strcmp(arg, "csv") == 0) {
            *(enum cli_format *)o->dst = CLI_FMT_CSV;
        } else {
            snprintf(err, errlen, "unknown format '%s' (table, json or csv)",
                     arg);
            return -1;
        }
        return 0;
    case CLI_CALL:
        return o->fn(arg, o->ctx, err, errlen);
    case CLI_QEMU:
        return cli_check_qemu(arg, (const char **)o->dst, err, errlen);
    case CLI_POLICY:
        if (cli_check_policy(arg, err, errlen)) {
            return -1;
        }
        if (*o->count >= o->cap) {
            snprintf(err, errlen, "given more than %u times", o->cap);
            return -1;
        }
        ((const char **)o->dst)[(*o->count)++] = arg;
        return 0;
    }
    return -1;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40) {
        return SIZE_MAX;
    }
    size_t row[41];
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best) {
                best = row[j] + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *cli_closest(const char *name, const char *const *words, size_t n)
{
    const char *best = NULL;
    size_t best_d = 3;
    size_t ln = strlen(name);
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(name, words[i]);
        if (ln >= 2 && strncmp(words[i], name, ln) == 0 && d > 1) {
            d = 1; /* a prefix of an option is as close as one typo */
        }
        if (d < best_d) {
            best_d = d;
            best = words[i];
        }
    }
    return best;
}

/* The long option name argv[optind - 1] tried, without "--" and "=...". */
static void bad_long_name(const char *word, char *out, size_t len)
{
    const char *s = word;
    while (*s == '-') {
        s++;
    }
    size_t k = strcspn(s, "=");
    snprintf(out, len, "%.*s", (int)(k < len ? k : len - 1), s);
}

static void unknown_option(const struct cli_spec *sp, const char *word, int key)
{
    if (key != 0) {
        bool has_qemu = false;
        for (size_t i = 0; i < sp->n_opts; i++) {
            has_qemu |= strcmp(sp->opts[i].name, "qemu") == 0;
        }
        if (key == 'q' && has_qemu) {
            cli_error("%s: unknown option '-q' (-q is --quiet in migsim; the "
                      "QEMU version is --qemu)",
                      sp->cmd);
        } else {
            cli_error("%s: unknown option '-%c'", sp->cmd, key);
        }
        return;
    }
    char name[64];
    bad_long_name(word, name, sizeof(name));
    const char *names[MAX_OPTS + 1];
    size_t n = 0;
    for (size_t i = 0; i < sp->n_opts && n < MAX_OPTS; i++) {
        names[n++] = sp->opts[i].name;
    }
    names[n++] = "help";
    const char *near = cli_closest(name, names, n);
    if (near) {
        cli_error("%s: unknown option '--%s' (did you mean '--%s'?)", sp->cmd,
                  name, near);
    } else {
        cli_error("%s: unknown option '--%s'", sp->cmd, name);
    }
}

static const char *opt_label(const struct cli_opt *o, char *buf, size_t len)
{
    if (o->key) {
        snprintf(buf, len, "-%c/--%s", o->key, o->name);
    } else {
        snprintf(buf, len, "--%s", o->name);
    }
    return buf;
}

/* getopt_long's tables from the spec; -1 if it has too many options. */
static int build_tables(const struct cli_spec *sp, struct option *lo,
                        char *shorts, size_t shorts_len)
{
    if (sp->n_opts > MAX_OPTS) {
        return -1;
    }
    size_t k = 0;
    shorts[k++] = ':'; /* report a missing argument as ':' */
    for (size_t i = 0; i < sp->n_opts; i++) {
        const struct cli_opt *o = &sp->opts[i];
        lo[i] = (struct option){o->name,
                                takes_arg(o) ? required_argument : no_argument,
                                NULL, LONG_BASE + (int)i};
        if (o->key && k + 3 < shorts_len) {
            shorts[k++] = (char)o->key;
            if (takes_arg(o)) {
                shorts[k++] = ':';
            }
        }
    }
    lo[sp->n_opts] = (struct option){"help", no_argument, NULL, 'h'};
    lo[sp->n_opts + 1] = (struct option){NULL, 0, NULL, 0};
    shorts[k++] = 'h';
    shorts[k] = '\0';
    return 0;
}

/* The word getopt_long just took a long option from: argv[optind - 1],
 * or the one before it when the argument was the separate next word. */
static const char *option_word(int argc, char **argv)
{
    int k = optind - 1;
    if (optarg && k >= 1 && k < argc && optarg == argv[k]) {
        k--;
    }
    return k >= 0 && k < argc ? argv[k] : "";
}

/* Whether that word spells the option's whole name ("--name" or
 * "--name=..."), not an abbreviation of it. */
static bool exact_long_name(int argc, char **argv, const char *name)
{
    const char *w = option_word(argc, argv);
    if (strncmp(w, "--", 2) != 0) {
        return false;
    }
    w += 2;
    size_t n = strlen(name);
    return strncmp(w, name, n) == 0 && (w[n] == '\0' || w[n] == '=');
}

/* The table index of getopt's return value c, HELP_INDEX, or -1. */
static int index_of(const struct cli_spec *sp, int c)
{
    if (c == 'h') {
        return HELP_INDEX;
    }
    if (c >= LONG_BASE && c < LONG_BASE + (int)sp->n_opts) {
        return c - LONG_BASE;
    }
    for (size_t i = 0; i < sp->n_opts; i++) {
        if (sp->opts[i].key == c) {
            return (int)i;
        }
    }
    return -1;
}

int cli_parse(const struct cli_spec *sp, int argc, char **argv, int *argi)
{
    struct option lo[MAX_OPTS + 2];
    char shorts[2 * MAX_OPTS + 4];
    if (build_tables(sp, lo, shorts, sizeof(shorts)) != 0) {
        cli_error("%s: option table too large", sp->cmd);
        return EXIT_INTERNAL;
    }
    optind = 0; /* glibc: 0 also resets getopt's state from an earlier scan */
    opterr = 0;
    int c, li = -1;
    while ((c = getopt_long(argc, argv, shorts, lo, &li)) != -1) {
        if (c != '?' && c != ':' && li >= 0 &&
            !exact_long_name(argc, argv, lo[li].name)) {
            /* getopt_long takes unique prefixes: `lab run --set 5s` would
             * silently be --settle; migsim wants the whole name */
            unknown_option(sp, option_word(argc, argv), 0);
            return EXIT_USAGE;
        }
        li = -1;
        if (c == '?') {
            unknown_option(sp, argv[optind - 1], optopt);
            return EXIT_USAGE;
        }
        if (c == ':') {
            int i = index_of(sp, optopt);
            char lab[80] = "";
            if (i >= 0) {
                opt_label(&sp->opts[i], lab, sizeof(lab));
            } else {
                bad_long_name(argv[optind - 1], lab + 2, sizeof(lab) - 2);
                lab[0] = lab[1] = '-';
            }
            cli_error("%s: %s needs an argument", sp->cmd, lab);
            return EXIT_USAGE;
        }
        int i = index_of(sp, c);
        if (i == HELP_INDEX) {
            cli_help(sp, stdout);
            return EXIT_OK;
        }
        if (i < 0) {
            return EXIT_INTERNAL;
        }
        char err[256] = "";
        if (apply(&sp->opts[i], optarg, err, sizeof(err)) != 0) {
            char lab[80];
            cli_error("%s: %s: %s", sp->cmd,
                      opt_label(&sp->opts[i], lab, sizeof(lab)), err);
            return EXIT_USAGE;
        }
    }
    *argi = optind;
    return -1;
}

/* One help line: "  -p, --policy SPEC     text", continuation lines of
 * the text indented to the help column. */
static void help_line(const char *left, const char *text, FILE *f)
{
    int w = fprintf(f, "%s", left);
    if (w + 2 > HELP_COL) {
        fputs("  ", f);
    } else {
        fprintf(f, "%*s", HELP_COL - w, "");
    }
    for (const char *p = text; *p; p++) {
        fputc(*p, f);
        if (*p == '\n' && p[1]) {
            fprintf(f, "%*s", HELP_COL, "");
        }
    }
    if (!*text || text[strlen(text) - 1] != '\n') {
        fputc('\n', f);
    }
}

void cli_help_options(const struct cli_opt *opts, size_t n, FILE *f)
{
    char left[96];
    for (size_t i = 0; i < n; i++) {
        const struct cli_opt *o = &opts[i];
        const char *arg = takes_arg(o) ? (o->arg ? o->arg : "VALUE") : NULL;
        if (o->key) {
            snprintf(left, sizeof(left), "  -%c, --%s%s%s", o->key, o->name,
                     arg ? " " : "", arg ? arg : "");
        } else {
            snprintf(left, sizeof(left), "      --%s%s%s", o->name,
                     arg ? " " : "", arg ? arg : "");
        }
        help_line(left, o->help ? o->help : "", f);
    }
    help_line("  -h, --help", "this text", f);
}

void cli_help(const struct cli_spec *sp, FILE *f)
{
    if (sp->usage) {
        fputs(sp->usage, f);
    }
    fprintf(f, "%s\n", sp->title ? sp->title : "Options:");
    cli_help_options(sp->opts, sp->n_opts, f);
    if (sp->after) {
        fputc('\n', f);
        fputs(sp->after, f);
    }
    cli_print_exit_codes(f);
}
