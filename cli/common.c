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
          "budgets)\n"
          "  2   usage error\n"
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
