/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace.c — the streaming reader: inputs, windows, line splitting,
 * per-line format detection and event extraction.
 *
 * Hot path (a plain trace line): memchr for the newline in the mapped
 * window, a digit loop for the "TID@SEC.USEC:" / "PID@NS " prefix, an
 * identifier scan, one probe in the reader's name hash and the catalogue
 * pattern match.  Nothing is allocated per line.
 */
#include "traces/trace_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const fmt_names[TRC_FMT_COUNT] = {
    [TRC_FMT_AUTO] = "auto",         [TRC_FMT_LOG] = "log",
    [TRC_FMT_LOG_TID] = "log-tid",   [TRC_FMT_LOG_ISO] = "log-iso",
    [TRC_FMT_STAP] = "stap",         [TRC_FMT_SIMPLE] = "simple",
    [TRC_FMT_EMBEDDED] = "embedded", [TRC_FMT_QMP] = "qmp",
    [TRC_FMT_HMP] = "hmp",
};

const char *trc_format_name(enum trc_format f)
{
    if ((unsigned)f >= TRC_FMT_COUNT) {
        return "unknown";
    }
    return fmt_names[f];
}

int trc_format_from_name(const char *s, enum trc_format *f)
{
    for (unsigned i = 0; i < TRC_FMT_COUNT; i++) {
        if (strcmp(s, fmt_names[i]) == 0) {
            *f = (enum trc_format)i;
            return 0;
        }
    }
    return -1;
}

/* ---- character classes ---- */

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline bool is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
           c == '_';
}

static size_t ident_len(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && is_ident(s[i])) {
        i++;
    }
    return i;
}

/* Does a name without a certain prefix look like a QEMU trace event?
 * Lowercase identifier with at least one underscore. */
static bool looks_like_event(const char *s, size_t n)
{
    if (n < 3 || !(s[0] >= 'a' && s[0] <= 'z')) {
        return false;
    }
    bool us = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_') {
            us = true;
        } else if (s[i] >= 'A' && s[i] <= 'Z') {
            return false;
        }
    }
    return us;
}

static bool has_binary(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
            return true;
        }
    }
    return false;
}

/* ---- pattern matching ---- */

int trc_cpat_compile(const char *pat, struct trc_cpat *c)
{
    memset(c, 0, sizeof(*c));
    c->used = 1;
    const char *p = pat;
    unsigned lit = 0;
    while (*p) {
        if (c->nops >= TRC_MAX_OPS) {
            return -1;
        }
        struct trc_op *op = &c->op[c->nops];
        if (p[0] == '%' && p[1] != '%') {
            if (!p[1] || p[2] < '0' || p[2] > '9' || !strchr("sudx", p[1])) {
                return -1;
            }
            op->kind = p[1] == 's' ? TRC_OP_STR : TRC_OP_NUM;
            op->conv = p[1];
            op->slot = (uint8_t)(p[2] - '0');
            p += 3;
            c->nops++;
            continue;
        }
        op->kind = TRC_OP_LIT;
        op->off = (uint16_t)lit;
        while (*p && !(p[0] == '%' && p[1] != '%')) {
            if (lit >= TRC_MAX_LITS || op->len == 255) {
                return -1;
            }
            c->lit[lit++] = *p;
            op->len++;
            p += (p[0] == '%') ? 2 : 1;
        }
        c->nops++;
    }
    return 0;
}

static inline uint64_t load8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TRC_SWAR 1
/* Leading ASCII digits among the 8 bytes of w (first byte lowest). */
static inline unsigned digit_run8(uint64_t w)
{
    uint64_t a = w ^ 0x3030303030303030ull;
    uint64_t nd = (((a & 0x7f7f7f7f7f7f7f7full) + 0x7676767676767676ull) | a) &
                  0x8080808080808080ull;
    return nd ? (unsigned)(__builtin_ctzll(nd) >> 3) : 8;
}

/* Value of the first k (1..8) digits of w: shift them to the top so the
 * missing ones become leading zeros, then add pairs, quads, octets. */
static inline uint64_t digits_value(uint64_t w, unsigned k)
{
    uint64_t a = (w ^ 0x3030303030303030ull) << (8 * (8 - k));
    a = (a * 10 + (a >> 8)) & 0x00ff00ff00ff00ffull;
    a = (a * 100 + (a >> 16)) & 0x0000ffff0000ffffull;
    a = (a * 10000 + (a >> 32)) & 0xffffffffull;
    return a;
}
#else
#define TRC_SWAR 0
#endif

static const uint64_t pow10_tab[9] = {
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

static inline __attribute__((always_inline)) int
parse_dec(const char *s, size_t len, size_t *used, uint64_t *v)
{
#if TRC_SWAR
    if (len >= 8) {
        uint64_t w = load8(s);
        unsigned k = digit_run8(w);
        if (k == 0) {
            return -1;
        }
        if (k < 8) {
            *used = k;
            *v = digits_value(w, k);
            return 0;
        }
    }
    if (len >= 16) {
        uint64_t w = load8(s);
        uint64_t hi = digits_value(w, 8);
        uint64_t w2 = load8(s + 8);
        unsigned k2 = digit_run8(w2);
        if (k2 < 8) {
            *used = 8 + k2;
            *v = k2 ? hi * pow10_tab[k2] + digits_value(w2, k2) : hi;
            return 0;
        }
    }
#endif
    size_t i = 0;
    uint64_t x = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10) {
            return -1;
        }
        x = x * 10 + d;
        i++;
    }
    if (i == 0) {
        return -1;
    }
    *used = i;
    *v = x;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static inline __attribute__((always_inline)) int
parse_num(char conv, const char *s, size_t len, size_t *used, uint64_t *v)
{
    if (conv == 'x' && len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        size_t i = 2;
        uint64_t x = 0;
        int h;
        while (i < len && (h = hexval(s[i])) >= 0) {
            if (i - 2 >= 16) {
                return -1;
            }
            x = (x << 4) | (uint64_t)h;
            i++;
        }
        if (i == 2) {
            return -1;
        }
        *used = i;
        *v = x;
        return 0;
    }
    if (conv == 'd' && len > 0 && s[0] == '-') {
        uint64_t m;
        size_t u;
        if (parse_dec(s + 1, len - 1, &u, &m) < 0 ||
            m > (uint64_t)INT64_MAX + 1) {
            return -1;
        }
        *used = u + 1;
        *v = (uint64_t)0 - m;
        return 0;
    }
    return parse_dec(s, len, used, v);
}

static inline bool byte_clean(unsigned char c)
{
    return !((c < 0x20 && c != '\t') || c == 0x7f);
}

/* No control bytes (tab allowed) and no DEL; 8 bytes at a time, the
 * exact per-byte test only where the word test flags something. */
static inline bool str_is_clean(const char *s, size_t len)
{
    size_t i = 0;
#if TRC_SWAR
    for (; len - i >= 8; i += 8) {
        uint64_t x = load8(s + i);
        uint64_t lt = (x - 0x2020202020202020ull) & ~x & 0x8080808080808080ull;
        uint64_t d = x ^ 0x7f7f7f7f7f7f7f7full;
        uint64_t z = (d - 0x0101010101010101ull) & ~d & 0x8080808080808080ull;
        if (lt | z) {
            for (size_t j = 0; j < 8; j++) {
                if (!byte_clean((unsigned char)s[i + j])) {
                    return false;
                }
            }
        }
    }
#endif
    for (; i < len; i++) {
        if (!byte_clean((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

static inline bool lit_eq(const char *s, const char *lit, size_t n)
{
    size_t i = 0;
#if TRC_SWAR
    if (n >= 8) {
        while (n - i > 8) {
            if (load8(s + i) != load8(lit + i)) {
                return false;
            }
            i += 8;
        }
        /* the last 8 bytes, overlapping what was compared */
        return load8(s + n - 8) == load8(lit + n - 8);
    }
#endif
    for (; i < n; i++) {
        if (s[i] != lit[i]) {
            return false;
        }
    }
    return true;
}

/* lit_eq when room >= n bytes are readable at s and lit is padded: short
 * literals are one masked word compare when 8 bytes are readable. */
static inline bool lit_eq_room(const char *s, size_t room, const char *lit,
                               size_t n)
{
#if TRC_SWAR
    if (room >= 8 && n <= 8) {
        uint64_t mask = n == 8 ? ~0ull : ((1ull << (8 * n)) - 1);
        return ((load8(s) ^ load8(lit)) & mask) == 0;
    }
    if (n > 8 && n <= 16) {
        return load8(s) == load8(lit) && load8(s + n - 8) == load8(lit + n - 8);
    }
#endif
    (void)room;
    return lit_eq(s, lit, n);
}

/* First occurrence of lit (n > 0 bytes) in s[0..len); offset or -1. */
static long find_lit(const char *s, size_t len, const char *lit, size_t n)
{
    size_t pos = 0;
    while (pos + n <= len) {
        const char *h = memchr(s + pos, lit[0], len - pos - n + 1);
        if (!h) {
            return -1;
        }
        size_t at = (size_t)(h - s);
        if (lit_eq(h, lit, n)) {
            return (long)at;
        }
        pos = at + 1;
    }
    return -1;
}

int trc_cpat_match(const struct trc_cpat *c, const char *s, size_t len,
                   struct trc_record *rec)
{
    size_t pos = 0;
    uint32_t present = 0;
    bool hex = false;
    for (unsigned i = 0; i < c->nops; i++) {
        const struct trc_op *op = &c->op[i];
        if (op->kind == TRC_OP_LIT) {
            if (len - pos < op->len ||
                !lit_eq_room(s + pos, len - pos, c->lit + op->off, op->len)) {
                return -1;
            }
            pos += op->len;
        } else if (op->kind == TRC_OP_NUM) {
            size_t used;
            uint64_t v;
            if (op->conv == 'x' && len - pos > 2 && s[pos] == '0' &&
                s[pos + 1] == 'x') {
                hex = true;
            }
            if (parse_num(op->conv, s + pos, len - pos, &used, &v) < 0) {
                return -1;
            }
            rec->a[op->slot].u = v;
            rec->a[op->slot].s = NULL;
            pos += used;
            present |= 1u << op->slot;
        } else {
            size_t end;
            if (i + 1 < c->nops && c->op[i + 1].kind == TRC_OP_LIT) {
                const struct trc_op *nx = &c->op[i + 1];
                long k =
                    find_lit(s + pos, len - pos, c->lit + nx->off, nx->len);
                if (k < 0) {
                    return -1;
                }
                end = pos + (size_t)k;
            } else {
                end = len;
                while (end > pos && (s[end - 1] == ' ' || s[end - 1] == '\r' ||
                                     s[end - 1] == '\t')) {
                    end--;
                }
            }
            if (!str_is_clean(s + pos, end - pos)) {
                return -1;
            }
            rec->a[op->slot].s = s + pos;
            rec->a[op->slot].len = (uint32_t)(end - pos);
            rec->a[op->slot].u = 0;
            pos = end;
            present |= 1u << op->slot;
        }
    }
    while (pos < len && (s[pos] == ' ' || s[pos] == '\r' || s[pos] == '\t')) {
        pos++;
    }
    if (pos != len) {
        return -1;
    }
    rec->present = present;
    rec->hex = hex;
    return 0;
}

int trc_match_pattern(const char *pat, const char *s, size_t len,
                      struct trc_record *rec)
{
    struct trc_cpat c;
    if (trc_cpat_compile(pat, &c) < 0) {
        return -1;
    }
    return trc_cpat_match(&c, s, len, rec);
}

static inline __attribute__((always_inline)) unsigned
swar_run(const char *s, size_t len, uint64_t *v)
{
#if TRC_SWAR
    if (len >= 8) {
        uint64_t w = load8(s);
        unsigned k = digit_run8(w);
        *v = k ? digits_value(w, k) : 0;
        return k;
    }
#endif
    unsigned k = 0;
    uint64_t x = 0;
    while (k < 8 && k < len && s[k] >= '0' && s[k] <= '9') {
        x = x * 10 + (uint64_t)(s[k] - '0');
        k++;
    }
    *v = x;
    return k;
}

unsigned trc_swar_digit_run(const char *s, size_t len, uint64_t *v)
{
    return swar_run(s, len, v);
}

/* ---- name hash ---- */

static inline uint32_t name_hash(const char *s, size_t n)
{
    uint64_t h = (uint64_t)n * 0x9e3779b97f4a7c15ull;
    if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        size_t last = n - 8;
        memcpy(&b, &s[last], 8);
        h ^= a * 0xff51afd7ed558ccdull;
        h ^= (b + (h >> 29)) * 0xc4ceb9fe1a85ec53ull;
    } else {
        for (size_t i = 0; i < n; i++) {
            h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
        }
    }
    h ^= h >> 31;
    return (uint32_t)h;
}

static void name_insert(struct trc_reader *r, const char *name, uint16_t ev)
{
    size_t n = strlen(name);
    uint32_t i = name_hash(name, n) & (TRC_NAME_HASH - 1);
    while (r->names[i].name) {
        if (r->names[i].len == n && memcmp(r->names[i].name, name, n) == 0) {
            return; /* first definition wins */
        }
        i = (i + 1) & (TRC_NAME_HASH - 1);
    }
    r->names[i].name = name;
    r->names[i].len = (uint16_t)n;
    r->names[i].ev = ev;
}

static inline __attribute__((always_inline)) enum trc_ev
name_lookup(const struct trc_reader *r, const char *s, size_t n)
{
    uint32_t i = name_hash(s, n) & (TRC_NAME_HASH - 1);
    for (;;) {
        const struct name_slot *e = &r->names[i];
        if (!e->name) {
            return TRC_EV_UNKNOWN;
        }
        if (e->len == n && lit_eq(s, e->name, n)) {
            return (enum trc_ev)e->ev;
        }
        i = (i + 1) & (TRC_NAME_HASH - 1);
    }
}

enum trc_ev trc_name_lookup_r(const struct trc_reader *r, const char *s,
                              size_t n)
{
    return name_lookup(r, s, n);
}

static void build_names(struct trc_reader *r)
{
    for (unsigned ev = TRC_EV_SET_STATE; ev < TRC_EV_COUNT; ev++) {
        name_insert(r, trc_event_name((enum trc_ev)ev), (uint16_t)ev);
    }
    name_insert(r, "process_incoming_migration_end", TRC_EV_INCOMING_END);
    const char *const *other;
    size_t n = trc_catalog_other_known(&other);
    for (size_t i = 0; i < n; i++) {
        name_insert(r, other[i], TRC_EV_OTHER_KNOWN);
    }
}

/* ---- messages ---- */

const char *trc_cur_name(const struct trc_reader *r)
{
    if (r->cur < r->n_inputs) {
        return r->inputs[r->cur].name;
    }
    return "(end)";
}

int trc_malformed(struct trc_reader *r, uint64_t line, char *err, size_t errlen,
                  const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    char msg[512];
    if (r->binary) {
        snprintf(msg, sizeof(msg), "%s: record %llu: %s", trc_cur_name(r),
                 (unsigned long long)line, why);
    } else {
        snprintf(msg, sizeof(msg), "%s:%llu: %s", trc_cur_name(r),
                 (unsigned long long)line, why);
    }
    r->st.malformed++;
    if (r->opt.strict) {
        snprintf(err, errlen, "%s", msg);
        return -1;
    }
    if (r->st.n_messages < r->opt.max_messages) {
        char *m = strdup(msg);
        if (m) {
            r->st.messages[r->st.n_messages++] = m;
        }
    }
    return 0;
}

void trc_count_unknown(struct trc_reader *r, const char *name, size_t n)
{
    bool mig = trc_name_is_migration(name, n);
    r->st.unknown++;
    if (mig) {
        r->st.unknown_migration++;
    }
    struct trc_stats *st = &r->st;
    if (r->last_unknown < st->n_unknown_names) {
        struct trc_unknown *u = &st->unknown_names[r->last_unknown];
        if (strlen(u->name) == n && memcmp(u->name, name, n) == 0) {
            u->count++;
            return;
        }
    }
    for (unsigned i = 0; i < st->n_unknown_names; i++) {
        struct trc_unknown *u = &st->unknown_names[i];
        if (strlen(u->name) == n && memcmp(u->name, name, n) == 0) {
            u->count++;
            r->last_unknown = i;
            return;
        }
    }
    if (st->n_unknown_names < TRC_MAX_UNKNOWN_NAMES &&
        n < sizeof(st->unknown_names[0].name)) {
        struct trc_unknown *u = &st->unknown_names[st->n_unknown_names];
        memcpy(u->name, name, n);
        u->name[n] = '\0';
        u->count = 1;
        u->migration = mig;
        r->last_unknown = st->n_unknown_names++;
        return;
    }
    st->unknown_names_overflow++;
}

/* ---- reader lifetime ---- */

struct trc_reader *trc_reader_new(const struct trc_options *o, char *err,
                                  size_t errlen)
{
    struct trc_reader *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (o) {
        r->opt = *o;
    }
    if (r->opt.max_line == 0) {
        r->opt.max_line = TRC_DEFAULT_LINE;
    }
    if (r->opt.max_line > TRC_WINDOW_BYTES / 2) {
        r->opt.max_line = TRC_WINDOW_BYTES / 2;
    }
    if (r->opt.max_messages == 0) {
        r->opt.max_messages = 20;
    }
    r->st.messages = calloc(r->opt.max_messages, sizeof(char *));
    if (!r->st.messages) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->fd = -1;
    build_names(r);
    r->cpat = calloc(TRC_EV_COUNT, sizeof(*r->cpat));
    if (!r->cpat) {
        trc_reader_free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (unsigned ev = 0; ev < TRC_EV_COUNT; ev++) {
        r->evflags[ev] = (unsigned char)trc_event_flags((enum trc_ev)ev);
    }
    for (unsigned ev = TRC_EV_SET_STATE; ev < TRC_EV_COUNT; ev++) {
        for (unsigned v = 0; v < trc_event_variants((enum trc_ev)ev); v++) {
            if (trc_cpat_compile(trc_event_pattern((enum trc_ev)ev, v),
                                 &r->cpat[ev][v]) < 0) {
                trc_reader_free(r);
                snprintf(err, errlen, "internal: bad pattern for %s",
                         trc_event_name((enum trc_ev)ev));
                return NULL;
            }
        }
    }
    const char *ev = r->opt.events_path;
    if (ev && *ev && !r->opt.no_events) {
        r->decls = trc_decls_load(ev, err, errlen);
        if (!r->decls) {
            trc_reader_free(r);
            return NULL;
        }
    } else if (!r->opt.no_events && access(TRC_DEFAULT_EVENTS, R_OK) == 0) {
        char e2[256];
        r->decls = trc_decls_load(TRC_DEFAULT_EVENTS, e2, sizeof(e2));
        /* a broken installed file is not the user's fault: ignore it */
    }
    r->st.decls = r->decls ? trc_decls_count(r->decls) : 0;
    return r;
}

static void close_input(struct trc_reader *r);
static void par_stop(struct trc_reader *r);
static bool par_start(struct trc_reader *r);
static uint64_t par_pos(const struct trc_par *P);
#define PAR_MIN_BYTES ((uint64_t)4 * TRC_WINDOW_BYTES)

void trc_reader_free(struct trc_reader *r)
{
    if (!r) {
        return;
    }
    close_input(r);
    for (unsigned i = 0; i < r->n_inputs; i++) {
        free(r->inputs[i].name);
    }
    free(r->inputs);
    free(r->buf);
    trc_simple_reset(r);
    for (unsigned i = 0; i < r->st.n_messages; i++) {
        free(r->st.messages[i]);
    }
    free(r->st.messages);
    free(r->cpat);
    trc_decls_free(r->decls);
    free(r);
}

static int push_input(struct trc_reader *r, const struct trc_input *in,
                      char *err, size_t errlen)
{
    struct trc_input *n =
        realloc(r->inputs, (r->n_inputs + 1) * sizeof(*r->inputs));
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->inputs = n;
    r->inputs[r->n_inputs] = *in;
    r->inputs[r->n_inputs].name = strdup(in->name);
    if (!r->inputs[r->n_inputs].name) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->n_inputs++;
    return 0;
}

int trc_reader_add_file(struct trc_reader *r, const char *path, char *err,
                        size_t errlen)
{
    struct trc_input in = {.name = (char *)path};
    if (strcmp(path, "-") == 0) {
        if (r->stdin_used) {
            snprintf(err, errlen, "stdin ('-') given more than once");
            return -1;
        }
        r->stdin_used = true;
        in.is_stdin = true;
        in.name = (char *)"(stdin)";
        return push_input(r, &in, err, errlen);
    }
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s: is a directory", path);
        return -1;
    }
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISREG(sb.st_mode)) {
        r->total_bytes += (uint64_t)sb.st_size;
    }
    return push_input(r, &in, err, errlen);
}

int trc_reader_add_mem(struct trc_reader *r, const char *name, const void *data,
                       size_t len, char *err, size_t errlen)
{
    struct trc_input in = {.name = (char *)name, .mem = data, .mem_len = len};
    r->total_bytes += len;
    return push_input(r, &in, err, errlen);
}

int trc_record_parse_args(const struct trc_reader *r, struct trc_record *rec)
{
    if (rec->kind != TRC_REC_EVENT || rec->ev < TRC_EV_SET_STATE ||
        (unsigned)rec->ev >= TRC_EV_COUNT || !rec->args) {
        return -1;
    }
    const struct trc_cpat *cp = r->cpat[rec->ev];
    for (unsigned v = 0; v < 4 && cp[v].used; v++) {
        if (trc_cpat_match(&cp[v], rec->args, rec->args_len, rec) == 0) {
            rec->variant = v;
            return 0;
        }
    }
    return -1;
}

const struct trc_stats *trc_reader_stats(const struct trc_reader *r)
{
    return &r->st;
}

unsigned trc_reader_n_files(const struct trc_reader *r)
{
    return r->n_inputs;
}

const char *trc_reader_file_name(const struct trc_reader *r, unsigned i)
{
    return i < r->n_inputs ? r->inputs[i].name : "";
}

enum trc_format trc_reader_dominant_format(const struct trc_reader *r)
{
    enum trc_format best = TRC_FMT_AUTO;
    uint64_t n = 0;
    for (unsigned f = 1; f < TRC_FMT_COUNT; f++) {
        if (r->st.per_format[f] > n) {
            n = r->st.per_format[f];
            best = (enum trc_format)f;
        }
    }
    return best;
}

void trc_reader_progress(const struct trc_reader *r, uint64_t *done,
                         uint64_t *total)
{
    uint64_t d = r->done_bytes;
    if (r->open && r->par) {
        d += par_pos(r->par);
    } else if (r->open) {
        if (r->kind == SRC_MMAP) {
            d += r->win_off + (uint64_t)(r->p - r->win);
        } else if (r->kind == SRC_GZ && r->gz) {
            long off = (long)gzoffset(r->gz);
            d += off > 0 ? (uint64_t)off : 0;
        } else if (r->kind == SRC_MEM) {
            d += (uint64_t)(r->p - r->win);
        }
    }
    *done = d;
    *total = r->total_bytes;
}

/* ---- sources ---- */

static void close_input(struct trc_reader *r)
{
    if (!r->open) {
        return;
    }
    par_stop(r);
    if (r->map) {
        munmap(r->map, r->map_len);
        r->map = NULL;
    }
    if (r->gz) {
        gzclose(r->gz); /* closes the fd it was given */
        r->gz = NULL;
        r->fd = -1;
    }
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
    if (r->cur < r->n_inputs) {
        const struct trc_input *in = &r->inputs[r->cur];
        if (in->mem) {
            r->done_bytes += in->mem_len;
        } else if (r->file_size) {
            r->done_bytes += r->file_size;
        }
    }
    r->open = false;
    r->binary = false;
    r->hmp.active = false;
    r->replay = false;
    r->skipping = false;
    r->kind = SRC_NONE;
    r->win = r->p = r->end = NULL;
    r->cur++;
}

static int map_window(struct trc_reader *r, uint64_t keep_off, char *err,
                      size_t errlen)
{
    long pg = sysconf(_SC_PAGESIZE);
    uint64_t page = pg > 0 ? (uint64_t)pg : 4096;
    uint64_t off = keep_off & ~(page - 1);
    if (r->map) {
        munmap(r->map, r->map_len);
        r->map = NULL;
    }
    size_t len = TRC_WINDOW_BYTES;
    if (r->file_size - off < len) {
        len = (size_t)(r->file_size - off);
    }
    if (len == 0) {
        r->win = r->p = r->end = "";
        r->eof = true;
        return 0;
    }
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, r->fd,
                   (off_t)off);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap: %s", trc_cur_name(r), strerror(errno));
        return -1;
    }
    madvise(m, len, MADV_SEQUENTIAL);
    r->map = m;
    r->map_len = len;
    r->win_off = off;
    r->win = m;
    r->p = r->win + (keep_off - off);
    r->end = r->win + len;
    r->consumed = off;
    r->eof = (off + len >= r->file_size);
    return 0;
}

/* Refill keeping [p, end).  Returns bytes added (0 at end), -1 on error. */
static long refill(struct trc_reader *r, char *err, size_t errlen)
{
    if (r->eof) {
        return 0;
    }
    size_t keep = (size_t)(r->end - r->p);
    if (r->kind == SRC_MMAP) {
        uint64_t keep_off = r->win_off + (uint64_t)(r->p - r->win);
        uint64_t old_end = r->win_off + r->map_len;
        if (map_window(r, keep_off, err, errlen) < 0) {
            return -1;
        }
        uint64_t new_end = r->win_off + r->map_len;
        return (long)(new_end > old_end ? new_end - old_end : 0);
    }
    if (r->kind == SRC_GZ) {
        if (keep && r->p != r->buf) {
            memmove(r->buf, r->p, keep);
        }
        r->consumed += (uint64_t)(r->p - r->win);
        r->win = r->buf;
        r->p = r->buf;
        r->end = r->buf + keep;
        size_t room = r->buf_cap - keep;
        long got = 0;
        while (room > 0) {
            int n = gzread(r->gz, r->buf + keep + got,
                           room > (1u << 30) ? (1u << 30) : (unsigned)room);
            if (n < 0) {
                int zerr;
                const char *m = gzerror(r->gz, &zerr);
                r->eof = true;
                r->end = r->buf + keep + got;
                if (trc_malformed(r, r->line + 1, err, errlen,
                                  "compressed input damaged (%s); rest of "
                                  "the file skipped",
                                  m ? m : "zlib error") < 0) {
                    return -1;
                }
                return got;
            }
            if (n == 0) {
                r->eof = true;
                break;
            }
            got += n;
            room -= (size_t)n;
            if (got >= (long)(1 << 16)) {
                break; /* enough to go on; avoid blocking on pipes */
            }
        }
        r->end = r->buf + keep + got;
        return got;
    }
    r->eof = true; /* SRC_MEM: all data is there */
    return 0;
}

long trc_src_need(struct trc_reader *r, size_t n, char *err, size_t errlen)
{
    while ((size_t)(r->end - r->p) < n && !r->eof) {
        if (refill(r, err, errlen) < 0) {
            return -1;
        }
    }
    return (long)(r->end - r->p);
}

/* A helper thread pays only with a CPU to spare: at least two online
 * and the 1-minute load average below their number minus one (on a
 * loaded machine the two threads' hand-over costs more than it saves). */
static bool spare_cpu(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    double load[1];
    if (n < 2 || getloadavg(load, 1) != 1) {
        return false;
    }
    return load[0] < (double)n - 1.0;
}

static int open_input(struct trc_reader *r, char *err, size_t errlen)
{
    const struct trc_input *in = &r->inputs[r->cur];
    r->open = true;
    r->eof = false;
    r->line = 0;
    r->consumed = 0;
    r->file_size = 0;
    r->skipping = false;
    r->hmp.active = false;
    r->simple_rec = 0;
    if (in->mem) {
        r->kind = SRC_MEM;
        r->win = r->p = in->mem;
        r->end = in->mem + in->mem_len;
        r->eof = true;
    } else {
        int fd = in->is_stdin ? dup(0) : open(in->name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            snprintf(err, errlen, "%s: %s", in->name, strerror(errno));
            return -1;
        }
        struct stat sb;
        if (fstat(fd, &sb) != 0) {
            snprintf(err, errlen, "%s: %s", in->name, strerror(errno));
            close(fd);
            return -1;
        }
        bool use_map = false;
        if (S_ISREG(sb.st_mode) && !in->is_stdin && !r->opt.no_mmap) {
            unsigned char mg[2] = {0, 0};
            ssize_t k = pread(fd, mg, 2, 0);
            use_map = !(k == 2 && mg[0] == 0x1f && mg[1] == 0x8b);
        }
        if (S_ISREG(sb.st_mode)) {
            r->file_size = (uint64_t)sb.st_size;
        }
        if (use_map) {
            r->kind = SRC_MMAP;
            r->fd = fd;
            if (map_window(r, 0, err, errlen) < 0) {
                return -1;
            }
        } else {
            if (!r->buf) {
                r->buf = malloc(TRC_WINDOW_BYTES);
                if (!r->buf) {
                    close(fd);
                    snprintf(err, errlen, "out of memory");
                    return -1;
                }
                r->buf_cap = TRC_WINDOW_BYTES;
            }
            r->gz = gzdopen(fd, "rb");
            if (!r->gz) {
                close(fd);
                snprintf(err, errlen, "%s: cannot open (zlib)", in->name);
                return -1;
            }
            gzbuffer(r->gz, 1u << 17);
            r->kind = SRC_GZ;
            r->win = r->p = r->end = r->buf;
            if (refill(r, err, errlen) < 0) {
                return -1;
            }
        }
    }
    /* Binary simpletrace? */
    if (trc_src_need(r, 24, err, errlen) < 0) {
        return -1;
    }
    bool magic = trc_simple_magic(r->p, (size_t)(r->end - r->p));
    if (r->opt.format == TRC_FMT_SIMPLE && !magic) {
        if (trc_malformed(r, 1, err, errlen,
                          "not a simpletrace file (no header); skipped") < 0) {
            return -1;
        }
        r->p = r->end;
        r->eof = true;
        return 0;
    }
    if (magic && r->opt.format != TRC_FMT_AUTO &&
        r->opt.format != TRC_FMT_SIMPLE) {
        if (trc_malformed(r, 1, err, errlen,
                          "simpletrace binary file but --trace-format %s; "
                          "skipped",
                          trc_format_name(r->opt.format)) < 0) {
            return -1;
        }
        r->p = r->end;
        r->eof = true;
        return 0;
    }
    r->binary = magic;
    if (!magic && r->kind == SRC_MMAP && r->opt.format == TRC_FMT_AUTO &&
        !r->opt.no_threads &&
        (r->opt.force_threads ||
         (r->file_size >= PAR_MIN_BYTES && spare_cpu()))) {
        par_start(r); /* stays serial if the thread cannot start */
    }
    return 0;
}

/*
 * Next line of the current input: 1 (line in *s and *len, without '\n'),
 * 0 at the end of this input, 2 an over-long line was skipped, -1 error.
 */
static int next_line(struct trc_reader *r, const char **s, size_t *len,
                     char *err, size_t errlen)
{
    for (;;) {
        size_t avail = (size_t)(r->end - r->p);
        const char *nl = avail ? memchr(r->p, '\n', avail) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - r->p);
            const char *start = r->p;
            r->p = nl + 1;
            r->line++;
            r->st.bytes += n + 1;
            if (r->skipping) {
                r->skipping = false;
                r->st.lines++; /* the over-long line, reported earlier */
                continue;
            }
            if (n > r->opt.max_line) {
                r->st.long_lines++;
                if (trc_malformed(r, r->line, err, errlen,
                                  "line longer than %zu bytes; skipped",
                                  r->opt.max_line) < 0) {
                    return -1;
                }
                return 2;
            }
            *s = start;
            *len = n;
            return 1;
        }
        if (r->eof) {
            if (avail == 0) {
                return 0;
            }
            const char *start = r->p;
            r->p = r->end;
            r->line++;
            r->st.bytes += avail;
            if (r->skipping) {
                r->skipping = false;
                r->st.lines++;
                return 0;
            }
            if (avail > r->opt.max_line) {
                r->st.long_lines++;
                if (trc_malformed(r, r->line, err, errlen,
                                  "line longer than %zu bytes; skipped",
                                  r->opt.max_line) < 0) {
                    return -1;
                }
                return 2;
            }
            *s = start;
            *len = avail;
            return 1;
        }
        if (avail > r->opt.max_line && !r->skipping) {
            /* Over-long: report now (its line number is the next one),
             * then drop data until its newline. */
            r->st.long_lines++;
            if (trc_malformed(r, r->line + 1, err, errlen,
                              "line longer than %zu bytes; skipped",
                              r->opt.max_line) < 0) {
                return -1;
            }
            r->skipping = true;
        }
        if (r->skipping) {
            r->st.bytes += avail;
            r->p = r->end;
        }
        if (refill(r, err, errlen) < 0) {
            return -1;
        }
    }
}

/* ---- timestamps ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Proleptic Gregorian calendar, days since 1970-01-01.  Years are
     * shifted to start in March so the leap day is the last of the year. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (m + 9) % 12; /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool digits_at(const char *s, size_t len, size_t at, size_t n,
                      unsigned *v)
{
    if (at + n > len) {
        return false;
    }
    unsigned x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[at + i])) {
            return false;
        }
        x = x * 10 + (unsigned)(s[at + i] - '0');
    }
    *v = x;
    return true;
}

size_t trc_parse_iso8601(const char *s, size_t len, int64_t *ns)
{
    unsigned y, mo, d, h, mi, se;
    if (len < 19 || !digits_at(s, len, 0, 4, &y) || s[4] != '-' ||
        !digits_at(s, len, 5, 2, &mo) || s[7] != '-' ||
        !digits_at(s, len, 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') ||
        !digits_at(s, len, 11, 2, &h) || s[13] != ':' ||
        !digits_at(s, len, 14, 2, &mi) || s[16] != ':' ||
        !digits_at(s, len, 17, 2, &se)) {
        return 0;
    }
    /* years that fit int64 ns since the epoch */
    if (y < 1900 || y > 2261 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
        h > 23 || mi > 59 || se > 60) {
        return 0;
    }
    size_t i = 19;
    int64_t frac = 0;
    if (i < len && (s[i] == '.' || s[i] == ',')) {
        i++;
        int64_t scale = 100000000;
        size_t start = i;
        while (i < len && is_digit(s[i])) {
            if (scale > 0) {
                frac += (s[i] - '0') * scale;
                scale /= 10;
            }
            i++;
        }
        if (i == start) {
            return 0;
        }
    }
    int64_t off_s = 0;
    if (i < len && s[i] == 'Z') {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        unsigned oh, om;
        int sign = s[i] == '-' ? -1 : 1;
        if (!digits_at(s, len, i + 1, 2, &oh)) {
            return 0;
        }
        size_t j = i + 3;
        if (j < len && s[j] == ':') {
            j++;
        }
        if (!digits_at(s, len, j, 2, &om) || oh > 23 || om > 59) {
            return 0;
        }
        off_s = sign * (int64_t)(oh * 3600 + om * 60);
        i = j + 2;
    }
    int64_t days = days_from_civil(y, mo, d);
    int64_t secs = ((days * 24 + h) * 60 + mi) * 60 + se - off_s;
    *ns = secs * 1000000000 + frac;
    return i;
}

/* "TID@SEC.USEC:" (log-tid) or "PID@NS " (stap) at s.  Returns the length
 * of the prefix (0 if none) and sets *fmt, *tid, *t. */
static size_t parse_at_prefix(const char *s, size_t len, enum trc_format *fmt,
                              int64_t *tid, int64_t *t)
{
    size_t i = 0;
    uint64_t a = 0;
    while (i < len && is_digit(s[i]) && i < 18) {
        a = a * 10 + (uint64_t)(s[i] - '0');
        i++;
    }
    if (i == 0 || i >= len || s[i] != '@') {
        return 0;
    }
    i++;
    size_t b0 = i;
    uint64_t b = 0;
    while (i < len && is_digit(s[i]) && i - b0 < 20) {
        uint64_t nb = b * 10 + (uint64_t)(s[i] - '0');
        if (nb / 10 != b) {
            return 0; /* overflow */
        }
        b = nb;
        i++;
    }
    if (i == b0 || i >= len) {
        return 0;
    }
    if (s[i] == '.') {
        i++;
        size_t f0 = i;
        int64_t frac = 0, scale = 100000000;
        while (i < len && is_digit(s[i])) {
            if (scale > 0) {
                frac += (s[i] - '0') * scale;
                scale /= 10;
            }
            i++;
        }
        if (i == f0 || i >= len || s[i] != ':' || b > 9000000000ull) {
            return 0;
        }
        *fmt = TRC_FMT_LOG_TID;
        *tid = (int64_t)a;
        *t = (int64_t)b * 1000000000 + frac;
        return i + 1;
    }
    if (s[i] == ' ' && b <= (uint64_t)INT64_MAX) {
        *fmt = TRC_FMT_STAP;
        *tid = (int64_t)a;
        *t = (int64_t)b;
        return i + 1;
    }
    return 0;
}

/*
 * parse_at_prefix with a cache: consecutive lines of one thread share
 * "TID@SEC." (log-tid) or "PID@" plus all but the last 9 digits of the
 * nanoseconds (stap), so only the changing tail is converted.
 */
static size_t prefix_cached(struct trc_pcache *r, const char *s, size_t len,
                            enum trc_format *fmt, int64_t *tid, int64_t *t)
{
    size_t pl = r->pc_len;
    if (pl && len > pl + 10 && lit_eq(s, r->pc, pl)) {
        const char *q = s + pl;
        uint64_t v;
        unsigned k = swar_run(q, len - pl, &v);
        if (r->pc_fmt == TRC_FMT_LOG_TID && k == 6 && q[6] == ':') {
            *fmt = TRC_FMT_LOG_TID;
            *tid = r->pc_tid;
            *t = r->pc_base + (int64_t)v * 1000;
            return pl + 7;
        }
        if (r->pc_fmt == TRC_FMT_STAP && k == 8 && is_digit(q[8]) &&
            q[9] == ' ') {
            *fmt = TRC_FMT_STAP;
            *tid = r->pc_tid;
            *t = r->pc_base + (int64_t)(v * 10 + (uint64_t)(q[8] - '0'));
            return pl + 10;
        }
    }
    size_t k = parse_at_prefix(s, len, fmt, tid, t);
    if (!k) {
        return 0;
    }
    const char *at = memchr(s, '@', k);
    size_t head;
    if (*fmt == TRC_FMT_LOG_TID) {
        const char *dot = memchr(s, '.', k);
        head = (size_t)(dot - s) + 1;
        if (k - head != 7) {
            return k; /* not 6 fraction digits: no caching */
        }
        r->pc_base = (*t / 1000000000) * 1000000000;
    } else {
        size_t nd = k - 1 - (size_t)(at - s) - 1;
        if (nd < 10) {
            return k;
        }
        head = k - 1 - 9;
        r->pc_base = (*t / 1000000000) * 1000000000;
    }
    if (head > sizeof(r->pc)) {
        return k;
    }
    memcpy(r->pc, s, head);
    r->pc_len = head;
    r->pc_fmt = *fmt;
    r->pc_tid = *tid;
    return k;
}

/* ---- events ---- */

enum { PL_NOT = 0, PL_RECORD = 1, PL_BAD = -1 };

/* Offset of the first ' ' in s[0..len) (len if none). */
static inline size_t find_space(const char *s, size_t len)
{
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (len - i >= 8) {
        uint64_t w = load8(s + i) ^ 0x2020202020202020ull;
        uint64_t z = (w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull;
        if (z) {
            return i + (size_t)(__builtin_ctzll(z) >> 3);
        }
        i += 8;
    }
#endif
    while (i < len && s[i] != ' ') {
        i++;
    }
    return i;
}

/*
 * An event "name args" at s.  certain: the prefix already says this is a
 * trace line, so any identifier is an event name.  Returns PL_RECORD,
 * PL_NOT (not an event line) or PL_BAD with *why set.  Pure: reads only
 * the reader's immutable tables (safe in the parallel producer); the
 * caller counts the event (count_event).
 */
static int parse_event_pure(const struct trc_reader *r, const char *s,
                            size_t len, bool certain, struct trc_record *rec,
                            const char **why)
{
    size_t n = find_space(s, len);
    enum trc_ev ev = n ? name_lookup(r, s, n) : TRC_EV_UNKNOWN;
    if (ev == TRC_EV_UNKNOWN) {
        if (n == 0 || ident_len(s, n) != n) {
            return PL_NOT;
        }
        if (r->decls && trc_decls_find(r->decls, s, n)) {
            ev = TRC_EV_OTHER_KNOWN;
        } else if (!certain && !looks_like_event(s, n)) {
            return PL_NOT;
        }
    }
    const char *args = n < len ? s + n + 1 : s + n;
    size_t alen = n < len ? len - n - 1 : 0;
    rec->kind = TRC_REC_EVENT;
    rec->ev = ev;
    rec->name = s;
    rec->name_len = n;
    rec->args = args;
    rec->args_len = alen;
    rec->variant = 0;
    rec->snap = NULL;
    rec->hex = false;
    rec->present = 0;
    if (ev >= TRC_EV_SET_STATE) {
        if (r->opt.lazy && !(r->evflags[ev] & TRC_EVF_TIMELINE)) {
            return PL_RECORD; /* lazy: typed args on request */
        }
        const struct trc_cpat *cp = r->cpat[ev];
        for (unsigned v = 0; v < 4 && cp[v].used; v++) {
            if (trc_cpat_match(&cp[v], args, alen, rec) == 0) {
                rec->variant = v;
                return PL_RECORD;
            }
        }
        *why = "arguments match no known format of this event";
        return PL_BAD;
    }
    if (has_binary(args, alen)) {
        *why = "binary data in the line";
        return PL_BAD;
    }
    return PL_RECORD;
}

static inline void count_event(struct trc_reader *r,
                               const struct trc_record *rec)
{
    if (rec->ev >= TRC_EV_SET_STATE) {
        r->st.known++;
        r->st.per_event[rec->ev]++;
    } else if (rec->ev == TRC_EV_OTHER_KNOWN) {
        r->st.per_event[TRC_EV_OTHER_KNOWN]++;
    } else {
        trc_count_unknown(r, rec->name, rec->name_len);
    }
}

static int parse_event(struct trc_reader *r, const char *s, size_t len,
                       bool certain, struct trc_record *rec, const char **why)
{
    int rc = parse_event_pure(r, s, len, certain, rec, why);
    if (rc == PL_RECORD) {
        count_event(r, rec);
    }
    return rc;
}

/* Search a catalogue event (or a TID@SEC.USEC: prefix) anywhere in a line
 * of a larger log. */
static int parse_embedded(struct trc_reader *r, const char *s, size_t len,
                          struct trc_record *rec, const char **why)
{
    size_t lim = len < 4096 ? len : 4096;
    int64_t t = TRC_NO_TIME;
    if (len >= 19 && is_digit(s[0])) {
        int64_t tt;
        if (trc_parse_iso8601(s, len, &tt)) {
            t = tt;
        }
    }
    for (size_t i = 1; i < lim; i++) {
        if (is_ident(s[i - 1]) || !is_ident(s[i])) {
            continue;
        }
        if (is_digit(s[i])) {
            enum trc_format f;
            int64_t tid, tt;
            size_t k = parse_at_prefix(s + i, len - i, &f, &tid, &tt);
            if (k && f == TRC_FMT_LOG_TID) {
                int rc = parse_event(r, s + i + k, len - i - k, true, rec, why);
                if (rc != PL_NOT) {
                    rec->t_ns = tt;
                    rec->tid = tid;
                    return rc;
                }
            }
            while (i < lim && is_ident(s[i])) {
                i++;
            }
            continue;
        }
        size_t n = ident_len(s + i, len - i);
        if (i + n == len || s[i + n] == ' ') {
            enum trc_ev ev = trc_name_lookup_r(r, s + i, n);
            if (ev >= TRC_EV_SET_STATE) {
                int rc = parse_event(r, s + i, len - i, true, rec, why);
                rec->t_ns = t;
                rec->tid = -1;
                return rc;
            }
        }
        i += n;
    }
    return PL_NOT;
}

static void set_rec_base(struct trc_reader *r, struct trc_record *rec)
{
    rec->file = r->cur;
    rec->line = r->line;
    rec->t_ns = TRC_NO_TIME;
    rec->tid = -1;
}

static inline int finish_record(struct trc_reader *r, struct trc_record *rec,
                                enum trc_format f)
{
    rec->format = f;
    r->st.per_format[f]++;
    if (rec->kind == TRC_REC_EVENT) {
        r->st.events++;
        if (r->opt.lazy && rec->ev >= TRC_EV_SET_STATE &&
            !(r->evflags[rec->ev] & TRC_EVF_TIMELINE)) {
            return 0; /* lazy: counted, not handed out */
        }
    }
    r->st.records++;
    return 1;
}

static int bad_line(struct trc_reader *r, const char *why, char *err,
                    size_t errlen)
{
    return trc_malformed(r, r->line, err, errlen, "%s", why) < 0 ? -1 : 0;
}

static int other_line(struct trc_reader *r, const char *s, size_t len,
                      char *err, size_t errlen)
{
    if (has_binary(s, len)) {
        return bad_line(r, "binary data in the line", err, errlen);
    }
    r->st.other++;
    return 0;
}

static int json_line(struct trc_reader *r, const char *s, size_t len,
                     struct trc_record *rec, char *err, size_t errlen)
{
    char why[200];
    int rc = trc_qmp_line(r, s, len, rec, why, sizeof(why));
    if (rc == 1) {
        return finish_record(r, rec, TRC_FMT_QMP);
    }
    if (rc < 0) {
        return bad_line(r, why, err, errlen);
    }
    r->st.other++;
    return 0;
}

/* Auto-detected line.  1 record, 0 nothing, -1 fatal. */
static int line_auto(struct trc_reader *r, const char *s, size_t len,
                     struct trc_record *rec, char *err, size_t errlen)
{
    const char *why = NULL;
    int rc;
    char c = s[0];
    if (is_digit(c)) {
        enum trc_format f;
        int64_t tid, t;
        size_t k = prefix_cached(&r->pc, s, len, &f, &tid, &t);
        if (k) {
            rc = parse_event(r, s + k, len - k, true, rec, &why);
            if (rc == PL_RECORD) {
                rec->t_ns = t;
                rec->tid = tid;
                return finish_record(r, rec, f);
            }
            if (rc == PL_BAD) {
                return bad_line(r, why, err, errlen);
            }
        } else if (len > 20 && s[4] == '-') {
            k = trc_parse_iso8601(s, len, &t);
            if (k && k < len && s[k] == ' ' && s[10] == 'T') {
                rc = parse_event(r, s + k + 1, len - k - 1, false, rec, &why);
                if (rc == PL_RECORD) {
                    rec->t_ns = t;
                    return finish_record(r, rec, TRC_FMT_LOG_ISO);
                }
                if (rc == PL_BAD) {
                    return bad_line(r, why, err, errlen);
                }
            }
        }
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        rc = parse_event(r, s, len, false, rec, &why);
        if (rc == PL_RECORD) {
            return finish_record(r, rec, TRC_FMT_LOG);
        }
        if (rc == PL_BAD) {
            return bad_line(r, why, err, errlen);
        }
        if (trc_hmp_start(s, len)) {
            memset(&r->hmp, 0, sizeof(r->hmp));
            r->hmp.active = true;
            r->hmp.start_line = r->line;
            trc_hmp_line(&r->hmp, s, len);
            return 0;
        }
    } else if (c == '{') {
        return json_line(r, s, len, rec, err, errlen);
    } else if (c == '(' && trc_hmp_start(s, len)) {
        memset(&r->hmp, 0, sizeof(r->hmp));
        r->hmp.active = true;
        r->hmp.start_line = r->line;
        return 0;
    }
    rc = parse_embedded(r, s, len, rec, &why);
    if (rc == PL_RECORD) {
        return finish_record(r, rec, TRC_FMT_EMBEDDED);
    }
    if (rc == PL_BAD) {
        return bad_line(r, why, err, errlen);
    }
    const char *brace = memchr(s, '{', len);
    if (brace && (size_t)(s + len - brace) > 8 && brace[1] == '"') {
        char why2[200];
        size_t off = (size_t)(brace - s);
        if (trc_qmp_line(r, brace, len - off, rec, why2, sizeof(why2)) == 1) {
            return finish_record(r, rec, TRC_FMT_EMBEDDED);
        }
    }
    return other_line(r, s, len, err, errlen);
}

/* A line under a forced --trace-format. */
static int line_forced(struct trc_reader *r, const char *s, size_t len,
                       struct trc_record *rec, char *err, size_t errlen)
{
    const char *why = NULL;
    enum trc_format want = r->opt.format;
    int rc = PL_NOT;
    switch (want) {
    case TRC_FMT_LOG:
        rc = parse_event(r, s, len, true, rec, &why);
        break;
    case TRC_FMT_LOG_TID:
    case TRC_FMT_STAP: {
        enum trc_format f;
        int64_t tid, t;
        size_t k = prefix_cached(&r->pc, s, len, &f, &tid, &t);
        if (!k || f != want) {
            return bad_line(r,
                            want == TRC_FMT_STAP
                                ? "no 'PID@NANOSECONDS ' prefix"
                                : "no 'TID@SEC.USEC:' prefix",
                            err, errlen);
        }
        rc = parse_event(r, s + k, len - k, true, rec, &why);
        rec->t_ns = t;
        rec->tid = tid;
        break;
    }
    case TRC_FMT_LOG_ISO: {
        int64_t t;
        size_t k = trc_parse_iso8601(s, len, &t);
        if (!k || k >= len || s[k] != ' ') {
            return bad_line(r, "no ISO-8601 time prefix", err, errlen);
        }
        rc = parse_event(r, s + k + 1, len - k - 1, false, rec, &why);
        rec->t_ns = t;
        if (rc == PL_NOT) {
            return other_line(r, s, len, err, errlen);
        }
        break;
    }
    case TRC_FMT_EMBEDDED:
        rc = parse_embedded(r, s, len, rec, &why);
        if (rc == PL_NOT) {
            return other_line(r, s, len, err, errlen);
        }
        break;
    case TRC_FMT_QMP:
        if (s[0] != '{') {
            return bad_line(r, "not a JSON object", err, errlen);
        }
        return json_line(r, s, len, rec, err, errlen);
    case TRC_FMT_HMP:
        if (trc_hmp_start(s, len)) {
            memset(&r->hmp, 0, sizeof(r->hmp));
            r->hmp.active = true;
            r->hmp.start_line = r->line;
            trc_hmp_line(&r->hmp, s, len);
            return 0;
        }
        return other_line(r, s, len, err, errlen);
    default:
        return bad_line(r, "unexpected text", err, errlen);
    }
    if (rc == PL_RECORD) {
        return finish_record(r, rec, want);
    }
    if (rc == PL_BAD) {
        return bad_line(r, why, err, errlen);
    }
    return bad_line(r, "not a trace event line", err, errlen);
}

static int handle_line(struct trc_reader *r, const char *s, size_t len,
                       struct trc_record *rec, char *err, size_t errlen)
{
    if (len && s[len - 1] == '\r') {
        len--;
    }
    if (r->hmp.active) {
        if (trc_hmp_line(&r->hmp, s, len)) {
            return 0;
        }
        set_rec_base(r, rec);
        r->replay = true;
        r->replay_s = s;
        r->replay_len = len;
        if (!trc_hmp_emit(r, rec)) {
            return 0;
        }
        return finish_record(r, rec, TRC_FMT_HMP);
    }
    if (len == 0) {
        r->st.other++;
        return 0;
    }
    set_rec_base(r, rec);
    if (r->opt.format == TRC_FMT_AUTO) {
        return line_auto(r, s, len, rec, err, errlen);
    }
    return line_forced(r, s, len, rec, err, errlen);
}

/* ---- parallel parsing of big regular files ----
 *
 * For a regular text file of at least PAR_MIN_BYTES read in auto mode, a
 * producer thread maps the file window by window and parses every line
 * into compact entries (chunks of PAR_CHUNK_LINES lines, a ring of
 * PAR_CHUNKS) while the caller's thread hands the records out and does
 * its own work (the timeline).  The producer only does what is pure:
 * prefix, name lookup and argument matching of plain event lines; any
 * other line (status records, HMP dumps, messages, malformed lines) is
 * marked "defer" and goes through the serial path in order, so counters,
 * messages, strict mode and HMP dumps behave exactly as without the
 * thread.  A window stays mapped until its last chunk was consumed; at
 * most PAR_CHUNKS chunks and a few windows are alive: memory is bounded.
 */

#define PAR_CHUNK_LINES 4096u
#define PAR_CHUNKS      4u
#define PAR_WINDOWS     3u

enum { PE_OK = 0, PE_DEFER, PE_LONG };

struct par_win {
    char *map;
    size_t len;
    uint64_t off;
    unsigned refs;  /* published chunks not yet consumed */
    bool prod_done; /* the producer has moved past it */
};

struct pre_ent {
    struct trc_record rec; /* PE_OK: the record, pointers into the window */
    uint32_t off, raw;     /* line offset in the window, raw length */
    uint8_t state;
    bool nl; /* ended by a newline (all but a last line) */
};

struct par_chunk {
    struct par_win *w;
    uint64_t first_line; /* line number of e[0] */
    unsigned n;
    struct pre_ent e[PAR_CHUNK_LINES];
};

struct trc_par {
    struct trc_reader *r; /* the producer reads only immutable tables */
    int fd;
    uint64_t size;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct par_chunk *ring[PAR_CHUNKS];
    unsigned head, count;
    bool done, stop;
    unsigned live; /* windows mapped (bounded by PAR_WINDOWS) */
    char err[256];
    uint64_t skipped;      /* bytes of over-long lines past their window */
    struct trc_pcache pc;  /* producer's prefix cache */
    struct par_chunk *cur; /* consumer */
    unsigned idx;
    uint64_t pos; /* file offset the consumer reached */
};

static uint64_t par_pos(const struct trc_par *P)
{
    return P->pos;
}

static void par_win_put(struct trc_par *P, struct par_win *w, bool producer)
{
    bool free_it;
    pthread_mutex_lock(&P->mu);
    if (producer) {
        w->prod_done = true;
    } else {
        w->refs--;
    }
    free_it = w->prod_done && w->refs == 0;
    pthread_mutex_unlock(&P->mu);
    if (free_it) {
        munmap(w->map, w->len);
        free(w);
        pthread_mutex_lock(&P->mu);
        P->live--;
        pthread_cond_broadcast(&P->cv);
        pthread_mutex_unlock(&P->mu);
    }
}

/* The producer's view of one line: true if it is a complete event. */
static bool par_pre_line(struct trc_par *P, const char *s, size_t len,
                         struct trc_record *rec)
{
    const struct trc_reader *r = P->r;
    const char *why;
    if (len == 0) {
        return false;
    }
    char c = s[0];
    if (is_digit(c)) {
        enum trc_format f;
        int64_t tid, t;
        size_t k = prefix_cached(&P->pc, s, len, &f, &tid, &t);
        if (k) {
            if (parse_event_pure(r, s + k, len - k, true, rec, &why) !=
                PL_RECORD) {
                return false;
            }
            rec->format = f;
            rec->t_ns = t;
            rec->tid = tid;
            return true;
        }
        if (len > 20 && s[4] == '-') {
            k = trc_parse_iso8601(s, len, &t);
            if (k && k < len && s[k] == ' ' && s[10] == 'T' &&
                parse_event_pure(r, s + k + 1, len - k - 1, false, rec, &why) ==
                    PL_RECORD) {
                rec->format = TRC_FMT_LOG_ISO;
                rec->t_ns = t;
                rec->tid = -1;
                return true;
            }
        }
        return false;
    }
    if (((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) &&
        parse_event_pure(r, s, len, false, rec, &why) == PL_RECORD) {
        rec->format = TRC_FMT_LOG;
        rec->t_ns = TRC_NO_TIME;
        rec->tid = -1;
        return true;
    }
    return false;
}

static void par_entry(struct trc_par *P, struct par_chunk *ch, const char *ls,
                      size_t raw, bool too_long, bool nl)
{
    struct pre_ent *e = &ch->e[ch->n++];
    e->nl = nl;
    e->off = (uint32_t)(ls - ch->w->map);
    e->raw = (uint32_t)raw;
    if (too_long) {
        e->state = PE_LONG;
        return;
    }
    size_t len = raw && ls[raw - 1] == '\r' ? raw - 1 : raw;
    e->state = par_pre_line(P, ls, len, &e->rec) ? PE_OK : PE_DEFER;
}

/* A free chunk for the producer (waits for the consumer); NULL if asked
 * to stop. */
static struct par_chunk *par_get(struct trc_par *P, struct par_win *w,
                                 uint64_t line)
{
    pthread_mutex_lock(&P->mu);
    while (P->count == PAR_CHUNKS && !P->stop) {
        pthread_cond_wait(&P->cv, &P->mu);
    }
    struct par_chunk *c =
        P->stop ? NULL : P->ring[(P->head + P->count) % PAR_CHUNKS];
    pthread_mutex_unlock(&P->mu);
    if (c) {
        c->w = w;
        c->first_line = line;
        c->n = 0;
    }
    return c;
}

static void par_publish(struct trc_par *P, struct par_chunk *c)
{
    pthread_mutex_lock(&P->mu);
    c->w->refs++;
    P->count++;
    pthread_cond_broadcast(&P->cv);
    pthread_mutex_unlock(&P->mu);
}

static bool par_stopping(struct trc_par *P)
{
    return __atomic_load_n(&P->stop, __ATOMIC_RELAXED);
}

static void *par_main(void *arg)
{
    struct trc_par *P = arg;
    size_t max_line = P->r->opt.max_line;
    long pg = sysconf(_SC_PAGESIZE);
    uint64_t page = pg > 0 ? (uint64_t)pg : 4096;
    uint64_t off = 0, line = 0;
    bool skipping = false;
    while (off < P->size && !par_stopping(P)) {
        uint64_t aligned = off & ~(page - 1);
        size_t len = TRC_WINDOW_BYTES;
        if (P->size - aligned < len) {
            len = (size_t)(P->size - aligned);
        }
        pthread_mutex_lock(&P->mu);
        while (P->live >= PAR_WINDOWS && !P->stop) {
            pthread_cond_wait(&P->cv, &P->mu);
        }
        P->live++;
        pthread_mutex_unlock(&P->mu);
        if (par_stopping(P)) {
            pthread_mutex_lock(&P->mu);
            P->live--;
            pthread_mutex_unlock(&P->mu);
            break;
        }
        void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, P->fd,
                       (off_t)aligned);
        if (m == MAP_FAILED) {
            pthread_mutex_lock(&P->mu);
            snprintf(P->err, sizeof(P->err), "mmap: %s", strerror(errno));
            P->live--;
            pthread_mutex_unlock(&P->mu);
            break;
        }
        madvise(m, len, MADV_SEQUENTIAL);
        struct par_win *w = calloc(1, sizeof(*w));
        if (!w) {
            munmap(m, len);
            pthread_mutex_lock(&P->mu);
            snprintf(P->err, sizeof(P->err), "out of memory");
            P->live--;
            pthread_mutex_unlock(&P->mu);
            break;
        }
        w->map = m;
        w->len = len;
        w->off = aligned;
        const char *base = m;
        const char *p = base + (off - aligned), *end = base + len;
        bool last = aligned + len >= P->size;
        struct par_chunk *c = NULL;
        if (skipping) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            uint64_t sk = (uint64_t)((nl ? nl : end) - p);
            __atomic_add_fetch(&P->skipped, sk, __ATOMIC_RELAXED);
            p = nl ? nl + 1 : end;
            skipping = nl == NULL;
        }
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t l;
            bool too_long = false;
            if (nl) {
                l = (size_t)(nl - p);
            } else if (last) {
                l = (size_t)(end - p);
            } else if ((size_t)(end - p) > max_line) {
                l = 0; /* continues past this window: report, skip */
                too_long = true;
                skipping = true;
                __atomic_add_fetch(&P->skipped, (uint64_t)(end - p),
                                   __ATOMIC_RELAXED);
            } else {
                break; /* completed in the next window */
            }
            if (!c && !(c = par_get(P, w, line + 1))) {
                break;
            }
            par_entry(P, c, p, l, too_long || l > max_line,
                      nl != NULL || too_long);
            line++;
            p = nl ? nl + 1 : end;
            if (c->n == PAR_CHUNK_LINES) {
                par_publish(P, c);
                c = NULL;
            }
        }
        if (c) {
            if (c->n) {
                par_publish(P, c);
            }
        }
        off = aligned + (uint64_t)(p - base);
        par_win_put(P, w, true);
    }
    pthread_mutex_lock(&P->mu);
    P->done = true;
    pthread_cond_broadcast(&P->cv);
    pthread_mutex_unlock(&P->mu);
    return NULL;
}

static void par_free(struct trc_par *P)
{
    for (unsigned i = 0; i < PAR_CHUNKS; i++) {
        free(P->ring[i]);
    }
    pthread_mutex_destroy(&P->mu);
    pthread_cond_destroy(&P->cv);
    free(P);
}

/* Switch the open mapped input to the producer thread; false (and
 * nothing changed) if that is not possible. */
static bool par_start(struct trc_reader *r)
{
    struct trc_par *P = calloc(1, sizeof(*P));
    if (!P) {
        return false;
    }
    for (unsigned i = 0; i < PAR_CHUNKS; i++) {
        P->ring[i] = malloc(sizeof(struct par_chunk));
        if (!P->ring[i]) {
            for (unsigned j = 0; j < i; j++) {
                free(P->ring[j]);
            }
            free(P);
            return false;
        }
    }
    P->r = r;
    P->fd = r->fd;
    P->size = r->file_size;
    pthread_mutex_init(&P->mu, NULL);
    pthread_cond_init(&P->cv, NULL);
    if (pthread_create(&P->th, NULL, par_main, P) != 0) {
        par_free(P);
        return false;
    }
    if (r->map) {
        munmap(r->map, r->map_len);
        r->map = NULL;
    }
    r->win = r->p = r->end = NULL;
    r->par = P;
    return true;
}

static void par_release_cur(struct trc_par *P)
{
    struct par_chunk *c = P->cur;
    P->cur = NULL;
    struct par_win *w = c->w;
    pthread_mutex_lock(&P->mu);
    P->head = (P->head + 1) % PAR_CHUNKS;
    P->count--;
    pthread_cond_broadcast(&P->cv);
    pthread_mutex_unlock(&P->mu);
    par_win_put(P, w, false);
}

static void par_stop(struct trc_reader *r)
{
    struct trc_par *P = r->par;
    if (!P) {
        return;
    }
    pthread_mutex_lock(&P->mu);
    __atomic_store_n(&P->stop, true, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&P->cv);
    pthread_mutex_unlock(&P->mu);
    pthread_join(P->th, NULL);
    if (P->cur) {
        par_release_cur(P);
    }
    while (P->count) {
        P->cur = P->ring[P->head];
        par_release_cur(P);
    }
    par_free(P);
    r->par = NULL;
}

/* Next record from the producer's chunks: 1, 0 at the end of this input,
 * -1 on error. */
static int par_next(struct trc_reader *r, struct trc_record *rec,
                    const struct trc_record **out, char *err, size_t errlen)
{
    struct trc_par *P = r->par;
    for (;;) {
        if (r->replay) {
            r->replay = false;
            int rc =
                handle_line(r, r->replay_s, r->replay_len, rec, err, errlen);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        if (P->cur && P->idx >= P->cur->n) {
            par_release_cur(P);
        }
        if (!P->cur) {
            pthread_mutex_lock(&P->mu);
            while (P->count == 0 && !P->done) {
                pthread_cond_wait(&P->cv, &P->mu);
            }
            if (P->count == 0) {
                bool failed = P->err[0] != '\0';
                r->st.bytes += P->skipped;
                P->skipped = 0;
                if (failed) {
                    snprintf(err, errlen, "%s: %s", trc_cur_name(r), P->err);
                }
                pthread_mutex_unlock(&P->mu);
                return failed ? -1 : 0;
            }
            P->cur = P->ring[P->head];
            P->idx = 0;
            pthread_mutex_unlock(&P->mu);
        }
        const struct par_chunk *c = P->cur;
        const struct pre_ent *e = &c->e[P->idx];
        *out = rec;
        const char *ls = c->w->map + e->off;
        r->line = c->first_line + P->idx;
        P->idx++;
        P->pos = c->w->off + e->off + e->raw + (e->nl ? 1 : 0);
        r->st.lines++;
        r->st.bytes += e->raw + (e->nl ? 1 : 0);
        if (e->state == PE_LONG) {
            r->st.long_lines++;
            if (trc_malformed(r, r->line, err, errlen,
                              "line longer than %zu bytes; skipped",
                              r->opt.max_line) < 0) {
                return -1;
            }
            continue;
        }
        if (e->state == PE_DEFER || r->hmp.active) {
            int rc = handle_line(r, ls, e->raw, rec, err, errlen);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        /* the chunk is ours until released: hand out the entry itself */
        struct trc_record *er = &P->cur->e[P->idx - 1].rec;
        er->file = r->cur;
        er->line = r->line;
        count_event(r, er);
        *out = er;
        if (finish_record(r, er, er->format)) {
            return 1;
        }
    }
}

static int reader_next(struct trc_reader *r, struct trc_record *rec,
                       const struct trc_record **out, char *err, size_t errlen)
{
    *out = rec;
    for (;;) {
        if (!r->open) {
            if (r->cur >= r->n_inputs) {
                return 0;
            }
            if (open_input(r, err, errlen) < 0) {
                close_input(r);
                return -1;
            }
        }
        int rc;
        if (r->par) {
            rc = par_next(r, rec, out, err, errlen);
            if (rc != 0) {
                return rc;
            }
            if (r->hmp.active) {
                set_rec_base(r, rec);
                if (trc_hmp_emit(r, rec)) {
                    return finish_record(r, rec, TRC_FMT_HMP);
                }
            }
            close_input(r);
            continue;
        }
        if (r->binary) {
            rc = trc_simple_next(r, rec, err, errlen);
            if (rc == 1) {
                r->st.records++;
                r->st.per_format[TRC_FMT_SIMPLE]++;
                r->st.events++;
                return 1;
            }
            if (rc < 0) {
                return -1;
            }
            close_input(r);
            continue;
        }
        const char *s;
        size_t len;
        if (r->replay) {
            r->replay = false;
            s = r->replay_s;
            len = r->replay_len;
        } else {
            rc = next_line(r, &s, &len, err, errlen);
            if (rc < 0) {
                return -1;
            }
            if (rc == 2) {
                r->st.lines++;
                continue;
            }
            if (rc == 0) {
                if (r->hmp.active) {
                    set_rec_base(r, rec);
                    if (trc_hmp_emit(r, rec)) {
                        return finish_record(r, rec, TRC_FMT_HMP);
                    }
                }
                close_input(r);
                continue;
            }
            r->st.lines++;
        }
        rc = handle_line(r, s, len, rec, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
}

int trc_reader_next(struct trc_reader *r, struct trc_record *rec, char *err,
                    size_t errlen)
{
    const struct trc_record *p;
    int rc = reader_next(r, rec, &p, err, errlen);
    if (rc == 1 && p != rec) {
        *rec = *p;
    }
    return rc;
}

int trc_reader_next_ref(struct trc_reader *r, const struct trc_record **out,
                        char *err, size_t errlen)
{
    return reader_next(r, &r->rec_buf, out, err, errlen);
}
