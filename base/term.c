/* SPDX-License-Identifier: GPL-3.0-or-later */
/* base/term.c — control bytes made visible (contract in base/term.h). */
#include "base/term.h"

#include <string.h>

/* The escape for the byte(s) at p (n = bytes it covers), or NULL if p is
 * kept as it is. */
static const char *esc_at(const unsigned char *p, size_t *n, char tmp[8])
{
    *n = 1;
    unsigned char c = p[0];
    if (c == '\n') {
        return "\\n";
    }
    if (c == '\r') {
        return "\\r";
    }
    if (c == '\t') {
        return "\\t";
    }
    if (c < 0x20 || c == 0x7f) {
        snprintf(tmp, 8, "\\x%02x", c);
        return tmp;
    }
    if (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
        *n = 2;
        snprintf(tmp, 8, "\\x%02x", p[1]);
        return tmp;
    }
    return NULL;
}

bool term_needs_escape(const char *s)
{
    char tmp[8];
    size_t n;
    for (const unsigned char *p = (const unsigned char *)s; *p; p += n) {
        if (esc_at(p, &n, tmp)) {
            return true;
        }
    }
    return false;
}

char *term_safe(const char *s, char *buf, size_t len)
{
    size_t o = 0;
    char tmp[8];
    size_t n;
    if (!len) {
        return buf;
    }
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;
         p += n) {
        const char *e = esc_at(p, &n, tmp);
        size_t k = e ? strlen(e) : 1;
        if (o + k >= len) {
            break;
        }
        if (e) {
            memcpy(buf + o, e, k);
        } else {
            buf[o] = (char)*p;
        }
        o += k;
    }
    buf[o] = '\0';
    return buf;
}

void term_fputs(const char *s, FILE *f)
{
    char tmp[8];
    size_t n;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;
         p += n) {
        const char *e = esc_at(p, &n, tmp);
        if (e) {
            fputs(e, f);
        } else {
            fputc(*p, f);
        }
    }
}
