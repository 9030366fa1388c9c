/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace_events.c — reading QEMU's trace-events(-all) declarations.
 *
 * Grammar (docs/devel/tracing.rst in QEMU): one declaration per line,
 *     [PROPERTY ...] NAME(TYPE ARG, ...) "FORMAT" [PRIxx "FORMAT" ...]
 * with '#' comments and blank lines.  Only the name and, per argument,
 * whether it is a string (char pointer) are kept: that is all the
 * simpletrace binary layout depends on (strings are u32 length + bytes,
 * everything else a u64).  Declarations are hashed by name.
 */
#include "traces/trace_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct trc_decls {
    struct trc_decl *v;
    unsigned n, cap;
    unsigned *hash; /* index + 1, 0 = empty */
    unsigned hcap;  /* power of two */
};

static uint32_t hash_str(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    }
    return h;
}

void trc_decls_free(struct trc_decls *d)
{
    if (!d) {
        return;
    }
    for (unsigned i = 0; i < d->n; i++) {
        free(d->v[i].name);
        free(d->v[i].is_str);
    }
    free(d->v);
    free(d->hash);
    free(d);
}

unsigned trc_decls_count(const struct trc_decls *d)
{
    return d ? d->n : 0;
}

const struct trc_decl *trc_decls_find(const struct trc_decls *d,
                                      const char *name, size_t len)
{
    if (!d || !d->hcap) {
        return NULL;
    }
    uint32_t i = hash_str(name, len) & (d->hcap - 1);
    while (d->hash[i]) {
        const struct trc_decl *e = &d->v[d->hash[i] - 1];
        if (strncmp(e->name, name, len) == 0 && e->name[len] == '\0') {
            return e;
        }
        i = (i + 1) & (d->hcap - 1);
    }
    return NULL;
}

static int rehash(struct trc_decls *d)
{
    unsigned ncap = d->hcap ? d->hcap * 2 : 1024;
    unsigned *h = calloc(ncap, sizeof(*h));
    if (!h) {
        return -1;
    }
    for (unsigned k = 0; k < d->n; k++) {
        const char *nm = d->v[k].name;
        uint32_t i = hash_str(nm, strlen(nm)) & (ncap - 1);
        while (h[i]) {
            i = (i + 1) & (ncap - 1);
        }
        h[i] = k + 1;
    }
    free(d->hash);
    d->hash = h;
    d->hcap = ncap;
    return 0;
}

static int add_decl(struct trc_decls *d, const char *name, size_t nlen,
                    const unsigned char *is_str, unsigned nargs)
{
    if (trc_decls_find(d, name, nlen)) {
        return 0; /* duplicates (per-target copies) are harmless */
    }
    if (d->n == d->cap) {
        unsigned ncap = d->cap ? d->cap * 2 : 512;
        struct trc_decl *nv = realloc(d->v, ncap * sizeof(*nv));
        if (!nv) {
            return -1;
        }
        d->v = nv;
        d->cap = ncap;
    }
    struct trc_decl *e = &d->v[d->n];
    e->name = strndup(name, nlen);
    e->nargs = nargs;
    e->is_str = malloc(nargs ? nargs : 1);
    if (!e->name || !e->is_str) {
        free(e->name);
        free(e->is_str);
        return -1;
    }
    if (nargs) {
        memcpy(e->is_str, is_str, nargs);
    }
    d->n++;
    if (d->n * 2 > d->hcap) {
        return rehash(d);
    }
    uint32_t i = hash_str(name, nlen) & (d->hcap - 1);
    while (d->hash[i]) {
        i = (i + 1) & (d->hcap - 1);
    }
    d->hash[i] = d->n;
    return 0;
}

static bool is_id(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

/* One line.  0 ok (or nothing to declare), -1 not a declaration. */
static int parse_decl(struct trc_decls *d, const char *s, size_t len, int *oom)
{
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }
    if (i == len || s[i] == '#') {
        return 0;
    }
    const char *paren = memchr(s + i, '(', len - i);
    if (!paren) {
        return -1;
    }
    /* NAME is the identifier right before '('; earlier words are
     * properties (disable, tcg, vcpu). */
    size_t pe = (size_t)(paren - s);
    size_t ns = pe;
    while (ns > i && is_id(s[ns - 1])) {
        ns--;
    }
    if (ns == pe) {
        return -1;
    }
    const char *close = memchr(paren, ')', len - pe);
    if (!close) {
        return -1;
    }
    unsigned char flags[64];
    unsigned nargs = 0;
    const char *a = paren + 1;
    const char *end = close;
    /* "void" or empty: no arguments */
    const char *t = a;
    while (t < end && (*t == ' ' || *t == '\t')) {
        t++;
    }
    bool none =
        (t == end) || ((size_t)(end - t) >= 4 && memcmp(t, "void", 4) == 0 &&
                       (t + 4 == end || !is_id(t[4])) &&
                       memchr(t, '*', (size_t)(end - t)) == NULL &&
                       memchr(t, ',', (size_t)(end - t)) == NULL);
    while (!none && a < end) {
        const char *comma = memchr(a, ',', (size_t)(end - a));
        const char *ae = comma ? comma : end;
        if (nargs >= sizeof(flags)) {
            return -1;
        }
        bool star = memchr(a, '*', (size_t)(ae - a)) != NULL;
        bool chr = memmem(a, (size_t)(ae - a), "char", 4) != NULL;
        flags[nargs++] = (unsigned char)(star && chr);
        a = comma ? comma + 1 : end;
    }
    if (add_decl(d, s + ns, pe - ns, flags, nargs) < 0) {
        *oom = 1;
        return -1;
    }
    return 0;
}

struct trc_decls *trc_decls_parse(const char *text, size_t len, const char *src,
                                  char *err, size_t errlen)
{
    struct trc_decls *d = calloc(1, sizeof(*d));
    if (!d || rehash(d) < 0) {
        trc_decls_free(d);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t pos = 0;
    unsigned long line = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
        line++;
        int oom = 0;
        if (parse_decl(d, text + pos, l, &oom) < 0) {
            if (oom) {
                snprintf(err, errlen, "out of memory");
            } else {
                snprintf(err, errlen, "%s:%lu: not a trace-events declaration",
                         src, line);
            }
            trc_decls_free(d);
            return NULL;
        }
        pos += l + (nl ? 1 : 0);
    }
    return d;
}

struct trc_decls *trc_decls_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            char *nb = cap < ((size_t)64 << 20) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "%s: too large or out of memory", path);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) {
            break;
        }
    }
    bool ioerr = ferror(f);
    fclose(f);
    if (ioerr) {
        free(buf);
        snprintf(err, errlen, "%s: read error", path);
        return NULL;
    }
    struct trc_decls *d = trc_decls_parse(buf, n, path, err, errlen);
    free(buf);
    return d;
}
