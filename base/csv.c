/* SPDX-License-Identifier: GPL-3.0-or-later */
/* base/csv.c — the one CSV quoter (rule in base/csv.h). */
#include "base/csv.h"

#include <stdbool.h>
#include <string.h>

static bool needs_quotes(const char *s)
{
    size_t n = strlen(s);
    return strpbrk(s, ",\"\r\n") != NULL ||
           (n > 0 && (s[0] == ' ' || s[n - 1] == ' '));
}

void csv_put(FILE *f, const char *s, enum csv_quote q)
{
    if (!s) {
        return;
    }
    if (q == CSV_QUOTE_MINIMAL && !needs_quotes(s)) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') {
            fputc('"', f);
        }
        fputc(*s, f);
    }
    fputc('"', f);
}
