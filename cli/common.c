/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/common.c — what every command shares (cli/cli.h): messages, the
 * format option, the exit-code footer, the saved command line.  Kept apart
 * from main() so the unit tests can link the commands' helpers.
 */
#include "cli/cli.h"

#include "base/term.h"

#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include <jansson.h>

#include "run/scenario.h"

static char cmdline_buf[4096];

const char *cli_command_line(void)
{
    return cmdline_buf;
}

void cli_set_command_line(int argc, char **argv)
{
    size_t off = 0;
    for (int i = 0; i < argc && off + 1 < sizeof(cmdline_buf); i++) {
        int n = snprintf(cmdline_buf + off, sizeof(cmdline_buf) - off, "%s%s",
                         i ? " " : "", argv[i]);
        if (n < 0) {
            break;
        }
        off += (size_t)n;
    }
    if (off >= sizeof(cmdline_buf)) {
        cmdline_buf[sizeof(cmdline_buf) - 1] = '\0';
    }
}

int cli_parse_format(const char *s, enum cli_format *f)
{
    if (strcmp(s, "table") == 0 || strcmp(s, "text") == 0) {
        *f = CLI_FMT_TABLE;
    } else if (strcmp(s, "json") == 0) {
        *f = CLI_FMT_JSON;
    } else if (strcmp(s, "csv") == 0) {
        *f = CLI_FMT_CSV;
    } else {
        cli_error("unknown format '%s' (table, json or csv)", s);
        return -1;
    }
    return 0;
}

/* One diagnostic line: the message with control bytes made visible
 * (base/term.h), so names and QMP texts in it cannot drive the terminal or
 * forge lines. */
static void diag(const char *tag, const char *fmt, va_list ap)
{
    char msg[8192];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    fputs(tag, stderr);
    term_fputs(msg, stderr);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag("migsim: error: ", fmt, ap);
    va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag("migsim: warning: ", fmt, ap);
    va_end(ap);
}

int cli_input_rc(const char *path)
{
    if (!path || strcmp(path, "-") == 0) {
        return EXIT_DATA;
    }
    /* O_NONBLOCK: a FIFO must not hang this check */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return EXIT_IO;
    }
    close(fd);
    return EXIT_DATA;
}

void cli_print_exit_codes(FILE *f)
{
    fputs("\nExit status:\n"
          "  0   success\n"
          "  1   ran fine, the answer is no (e.g. no setting meets the "
          "budgets,\n      or plan's advice is refused)\n"
          "  2   usage error (also a time, size or rate without a unit or "
          "with an\n      unknown one, in an option or a --set value)\n"
          "  3   bad input data (scenario, trace, QMP reply)\n"
          "  4   file, database or socket error (a missing or unreadable\n"
          "      input file, in every command)\n"
          "  5   an external program (gnuplot, QEMU) failed\n"
          "  70  internal error\n",
          f);
}

int cli_abs_path(const char *path, char *out, size_t len, char *err,
                 size_t errlen)
{
    char buf[PATH_MAX];
    if (!realpath(path, buf)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (strlen(buf) >= len) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    snprintf(out, len, "%s", buf);
    return 0;
}

int cli_set_calibration(struct scn_doc *d, const char *path, char *err,
                        size_t errlen)
{
    char absp[PATH_MAX];
    if (cli_abs_path(path, absp, sizeof(absp), err, errlen) < 0) {
        return -1;
    }
    json_t *js = json_string(absp);
    char *q = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
    json_decref(js);
    if (!q) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t n = strlen(q) + 16;
    char *a = malloc(n);
    int rc = -1;
    if (a) {
        snprintf(a, n, "calibration=%s", q);
        rc = scn_doc_set(d, a, err, errlen);
        free(a);
    } else {
        snprintf(err, errlen, "out of memory");
    }
    free(q);
    return rc;
}

/* A resolve message about a unit (base/units.c, run/scenario.c). */
static int is_unit_error(const char *e)
{
    return strstr(e, "needs a unit") || strstr(e, "unknown unit") ||
           strstr(e, "with a unit");
}

/* The resolve message without its "SOURCE: " prefix. */
static const char *strip_source(const struct scn_doc *d, const char *e)
{
    const char *src = scn_doc_source(d);
    size_t n = src ? strlen(src) : 0;
    if (n && strncmp(e, src, n) == 0 && strncmp(e + n, ": ", 2) == 0) {
        return e + n + 2;
    }
    return e;
}

/* Say why assignment set (applied last to d, which no longer resolves)
 * has a bad unit: a bare number is retried as text so that the unit
 * parser's own "needs a unit" is quoted. */
static void unit_message(struct scn_doc *d, const char *set, const char *e)
{
    const char *eq = strchr(set, '=');
    const char *v = eq ? eq + 1 : "";
    char again[600], e2[600];
    struct scenario s;
    if (*v && strspn(v, "0123456789.+-eE") == strlen(v) &&
        (size_t)(eq - set) + strlen(v) + 4 < sizeof(again)) {
        snprintf(again, sizeof(again), "%.*s=\"%s\"", (int)(eq - set), set, v);
        if (scn_doc_set(d, again, e2, sizeof(e2)) == 0 &&
            scn_resolve(d, &s, e2, sizeof(e2)) != 0 &&
            strstr(e2, "needs a unit")) {
            cli_error("--set %s: %s", set, strip_source(d, e2));
            return;
        }
    }
    cli_error("--set %s: %s", set, strip_source(d, e));
}

int cli_apply_sets(struct scn_doc *d, const char *const *sets, unsigned n)
{
    char err[1024];
    if (n == 0) {
        return EXIT_OK;
    }
    struct scn_doc *pre = scn_doc_copy(d);
    for (unsigned i = 0; i < n; i++) {
        if (scn_doc_set(d, sets[i], err, sizeof(err))) {
            cli_error("%s", err);
            scn_doc_free(pre);
            return EXIT_USAGE;
        }
    }
    struct scenario s;
    int rc = EXIT_OK;
    /* only when the file resolves alone and the overrides break it: the
     * first assignment that does, if its unit is the reason */
    if (pre && scn_resolve(d, &s, err, sizeof(err)) != 0 &&
        scn_resolve(pre, &s, err, sizeof(err)) == 0) {
        for (unsigned i = 0; i < n; i++) {
            if (scn_doc_set(pre, sets[i], err, sizeof(err)) != 0 ||
                scn_resolve(pre, &s, err, sizeof(err)) == 0) {
                continue;
            }
            if (is_unit_error(err)) {
                unit_message(pre, sets[i], err);
                rc = EXIT_USAGE;
            }
            break;
        }
    }
    scn_doc_free(pre);
    return rc;
}
