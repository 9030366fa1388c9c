/* SPDX-License-Identifier: GPL-3.0-or-later */
/* base/json.c — lenient JSON for QEMU's output (contract in base/json.h). */
#include "base/json.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool word_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool nonfinite_word(const char *w, size_t n)
{
    return (n == 3 &&
            (strncasecmp(w, "nan", 3) == 0 || strncasecmp(w, "inf", 3) == 0)) ||
           (n == 8 && strncasecmp(w, "infinity", 8) == 0);
}

char *json_nonfinite_to_null(const char *s, size_t len, size_t *olen,
                             unsigned *n)
{
    char *o = NULL;
    size_t w = 0, copied = 0;
    struct json_depth d = {0, false, false};
    *n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (d.in_str || c == '"') {
            json_depth_step(&d, c);
            continue;
        }
        size_t a = i + ((c == '-' || c == '+') ? 1 : 0), b = a;
        while (b < len && word_char(s[b])) {
            b++;
        }
        if (b == a || (i > 0 && word_char(s[i - 1]))) {
            continue;
        }
        if (!nonfinite_word(s + a, b - a)) {
            i = b - 1; /* true, false, null or garbage: left to jansson */
            continue;
        }
        if (!o && !(o = malloc(2 * len + 8))) {
            *n = 0;
            return NULL;
        }
        memcpy(o + w, s + copied, i - copied);
        w += i - copied;
        memcpy(o + w, "null", 4);
        w += 4;
        copied = b;
        i = b - 1;
        (*n)++;
    }
    if (!o) {
        return NULL;
    }
    memcpy(o + w, s + copied, len - copied);
    w += len - copied;
    *olen = w;
    return o;
}

static json_t *load(const char *s, size_t len, json_error_t *je)
{
    json_t *m = json_loadb(s, len, 0, je);
    if (!m && json_error_code(je) == json_error_numeric_overflow) {
        m = json_loadb(s, len, JSON_DECODE_INT_AS_REAL, je);
    }
    return m;
}

json_t *json_load_lenient(const char *s, size_t len, unsigned *n_nonfinite,
                          json_error_t *je)
{
    if (n_nonfinite) {
        *n_nonfinite = 0;
    }
    json_t *m = load(s, len, je);
    if (m) {
        return m;
    }
    size_t clen = 0;
    unsigned n = 0;
    char *clean = json_nonfinite_to_null(s, len, &clen, &n);
    if (clean) {
        json_error_t je2;
        m = load(clean, clen, &je2);
        free(clean);
        if (m && n_nonfinite) {
            *n_nonfinite = n;
        }
    }
    return m;
}

int json_depth_step(struct json_depth *d, char c)
{
    if (d->in_str) {
        if (d->esc) {
            d->esc = false;
        } else if (c == '\\') {
            d->esc = true;
        } else if (c == '"') {
            d->in_str = false;
        }
    } else if (c == '"') {
        d->in_str = true;
    } else if (c == '{' || c == '[') {
        d->depth++;
    } else if (c == '}' || c == ']') {
        d->depth--;
    }
    return d->depth;
}
