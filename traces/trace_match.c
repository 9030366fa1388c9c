/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace_match.c — catalogue patterns: compiling a pattern text
 * ("%u0 bytes ...") into literal / number / string operations and
 * matching an event's argument text against it (SWAR digit and literal
 * compares on the hot path).
 */
#include "traces/trace_int.h"

#include <string.h>

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
    /* 19 digits cannot overflow: the check only past them */
    while (i < len && i < 19 && s[i] >= '0' && s[i] <= '9') {
        x = x * 10 + (unsigned)(s[i] - '0');
        i++;
    }
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

/* First occurrence of lit (n > 0 bytes) in s[0..len); offset or -1.
 * The usual string argument (a device name) is short: its first 32
 * candidate positions are looked at here, memchr() takes the rest. */
static long find_lit(const char *s, size_t len, const char *lit, size_t n)
{
    size_t pos = 0;
    size_t near = len - n + 1 < 32 ? len - n + 1 : 32;
    if (n > len) {
        return -1;
    }
    for (; pos < near; pos++) {
        if (s[pos] == lit[0] && lit_eq(s + pos, lit, n)) {
            return (long)pos;
        }
    }
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

unsigned trc_swar_digit_run(const char *s, size_t len, uint64_t *v)
{
    return swar_run(s, len, v);
}
