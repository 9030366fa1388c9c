/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace_time.c — line prefixes and times: ISO-8601 UTC times
 * (log-iso, embedded logs, QMP timestamps), the "TID@SEC.USEC:" (log-tid)
 * and "PID@NS " (stap) prefixes and the cache that converts only the
 * changing tail of consecutive prefixes.
 */
#include "traces/trace_int.h"

#include <string.h>

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
size_t trc_parse_at_prefix(const char *s, size_t len, enum trc_format *fmt,
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
size_t trc_prefix_cached(struct trc_pcache *r, const char *s, size_t len,
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
    size_t k = trc_parse_at_prefix(s, len, fmt, tid, t);
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
