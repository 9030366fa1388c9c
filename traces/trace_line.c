/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace_line.c — text lines: the event line parser ("name args"
 * after an optional log-tid / log-iso / stap prefix, or embedded in a
 * larger log), the per-line format classification (auto or forced,
 * handing JSON and HMP lines to trace_qmp.c) and the serial text input
 * reader (trc_text_ops).  Calls the line parsers and services below it,
 * never trace.c.
 */
#include "traces/trace_int.h"
#include "base/json.h"

#include <stdlib.h>
#include <string.h>

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
 * the reader's immutable tables and the caller's name guesses m (safe in
 * the parallel producer); the caller counts the event (count_event).
 * Inline in the serial fast path; trc_parse_event_pure() elsewhere.
 */
static inline __attribute__((always_inline)) int
parse_event_core(const struct trc_reader *r, struct trc_name_memo *m,
                 const char *s, size_t len, bool certain,
                 struct trc_record *rec, const char **why)
{
    size_t n;
    enum trc_ev ev;
    uint32_t g = m ? m->next[m->prev] : 0;
    const struct name_slot *e = g ? &r->names[g - 1] : NULL;
    if (e && e->len <= len && (e->len == len || s[e->len] == ' ') &&
        lit_eq(s, e->name, e->len)) {
        /* the guess: a catalogue name has no space, so find_space() would
         * stop right after it, and names are unique in the table */
        n = e->len;
        ev = (enum trc_ev)e->ev;
        m->prev = (uint16_t)(g - 1);
    } else {
        uint32_t slot = TRC_NAME_HASH;
        n = find_space(s, len);
        ev = n ? name_lookup_slot(r, s, n, &slot) : TRC_EV_UNKNOWN;
        if (m) {
            if (slot < TRC_NAME_HASH) {
                m->next[m->prev] = (uint16_t)(slot + 1);
            }
            m->prev = (uint16_t)slot;
        }
    }
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

int trc_parse_event_pure(const struct trc_reader *r, struct trc_name_memo *m,
                         const char *s, size_t len, bool certain,
                         struct trc_record *rec, const char **why)
{
    return parse_event_core(r, m, s, len, certain, rec, why);
}

static int parse_event(struct trc_reader *r, const char *s, size_t len,
                       bool certain, struct trc_record *rec, const char **why)
{
    int rc = trc_parse_event_pure(r, &r->memo, s, len, certain, rec, why);
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
            size_t k = trc_parse_at_prefix(s + i, len - i, &f, &tid, &tt);
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

/* ---- pretty-printed JSON (virsh qemu-monitor-command --pretty, QMP
 * shells): an object over several lines ---- */

/* Track the bracket depth over a line, strings skipped. */
static void json_scan(struct trc_reader *r, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        json_depth_step(&r->json_d, s[i]);
    }
}

static int json_append(struct trc_reader *r, const char *s, size_t len)
{
    if (r->json_len + len + 1 > TRC_MAX_JSON) {
        return -1;
    }
    if (r->json_len + len + 1 > r->json_cap) {
        size_t cap = r->json_cap ? r->json_cap : 4096;
        while (cap < r->json_len + len + 1) {
            cap *= 2;
        }
        char *b = realloc(r->json_buf, cap);
        if (!b) {
            return -1;
        }
        r->json_buf = b;
        r->json_cap = cap;
    }
    memcpy(r->json_buf + r->json_len, s, len);
    r->json_len += len;
    r->json_buf[r->json_len++] = '\n';
    return 0;
}

/* A line starting with '{': read it alone when it balances, else start
 * gathering.  1 record, 0 nothing, -1 fatal. */
static int json_first(struct trc_reader *r, const char *s, size_t len,
                      struct trc_record *rec, char *err, size_t errlen)
{
    r->json_d = (struct json_depth){0, false, false};
    json_scan(r, s, len);
    if (r->json_d.depth <= 0 || has_binary(s, len)) {
        return json_line(r, s, len, rec, err, errlen);
    }
    r->json_len = 0;
    if (json_append(r, s, len) < 0) {
        return bad_line(r, "JSON object too long", err, errlen);
    }
    r->json_active = true;
    r->json_line = r->line;
    return 0;
}

/* The gathered object could not be finished: reported at its first line. */
static int json_abandon(struct trc_reader *r, const char *why, char *err,
                        size_t errlen)
{
    r->json_active = false;
    return trc_malformed(r, r->json_line, err, errlen, "%s", why) < 0 ? -1 : 0;
}

/* One more line of a gathered object.  1 record, 0 nothing (more to
 * come, or the line is not part of it: *not_json), -1 fatal. */
static int json_more(struct trc_reader *r, const char *s, size_t len,
                     struct trc_record *rec, bool *not_json, char *err,
                     size_t errlen)
{
    *not_json = false;
    char c = len ? s[0] : ' ';
    if (c != ' ' && c != '\t' && c != '"' && c != '}' && c != ']') {
        /* a pretty-printed object's inner lines are indented: this line
         * is something else, the object was cut off */
        *not_json = true;
        return json_abandon(r, "JSON object cut off (unbalanced braces)", err,
                            errlen);
    }
    if (has_binary(s, len) || json_append(r, s, len) < 0) {
        return json_abandon(r, "JSON object too long or with binary data", err,
                            errlen);
    }
    json_scan(r, s, len);
    if (r->json_d.depth > 0) {
        return 0;
    }
    r->json_active = false;
    set_rec_base(r, rec);
    rec->line = r->json_line;
    char why[200];
    int rc = trc_qmp_line(r, r->json_buf, r->json_len, rec, why, sizeof(why));
    if (rc == 1) {
        r->st.multiline_json++;
        rec->line = r->json_line;
        return finish_record(r, rec, TRC_FMT_QMP);
    }
    if (rc < 0) {
        return trc_malformed(r, r->json_line, err, errlen, "%s", why) < 0 ? -1
                                                                          : 0;
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
        return json_first(r, s, len, rec, err, errlen);
    } else if (c == '(' && trc_hmp_start(s, len)) {
        memset(&r->hmp, 0, sizeof(r->hmp));
        r->hmp.active = true;
        r->hmp.start_line = r->line;
        return 0;
    }
    if (is_digit(c) && trc_pve_line(r, s, len, rec)) {
        return finish_record(r, rec, TRC_FMT_PROXMOX);
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
        return json_first(r, s, len, rec, err, errlen);
    case TRC_FMT_PROXMOX:
        if (trc_pve_line(r, s, len, rec)) {
            return finish_record(r, rec, TRC_FMT_PROXMOX);
        }
        return other_line(r, s, len, err, errlen);
    case TRC_FMT_DOMJOBINFO:
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

int trc_text_line(struct trc_reader *r, const char *s, size_t len,
                  struct trc_record *rec, char *err, size_t errlen)
{
    if (len && s[len - 1] == '\r') {
        len--;
    }
    if (r->json_active) {
        bool not_json;
        int rc = json_more(r, s, len, rec, &not_json, err, errlen);
        if (rc != 0 || !not_json) {
            return rc;
        }
    }
    if (r->hmp.active) {
        if (trc_hmp_line(&r->hmp, s, len)) {
            return 0;
        }
        set_rec_base(r, rec);
        r->replay = true;
        r->replay_s = s;
        r->replay_len = len;
        enum trc_format hf = r->hmp.dji ? TRC_FMT_DOMJOBINFO : TRC_FMT_HMP;
        if (!trc_hmp_emit(r, rec)) {
            return 0;
        }
        return finish_record(r, rec, hf);
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

int trc_text_end(struct trc_reader *r, struct trc_record *rec)
{
    if (r->json_active) {
        char err[8];
        /* not fatal even under --strict: the input has ended anyway */
        bool strict = r->opt.strict;
        r->opt.strict = false;
        json_abandon(r, "JSON object cut off at the end of the input", err,
                     sizeof(err));
        r->opt.strict = strict;
    }
    if (r->hmp.active) {
        set_rec_base(r, rec);
        enum trc_format hf = r->hmp.dji ? TRC_FMT_DOMJOBINFO : TRC_FMT_HMP;
        if (trc_hmp_emit(r, rec)) {
            return finish_record(r, rec, hf);
        }
    }
    return 0;
}

/* The serial text reader: line by line on the caller's thread. */
static int text_open(struct trc_reader *r, char *err, size_t errlen)
{
    (void)r;
    (void)err;
    (void)errlen;
    return 1; /* takes any input the others left */
}

/*
 * The common line of a big trace, without the layers of trc_text_line():
 * a "TID@SEC.USEC:" or "PID@NS " prefix and a plain event, in auto mode,
 * outside a JSON object or an HMP dump.  1 when the line was such a
 * record (*handed: finish_record's answer), 0 when it is not: the caller
 * then gives the line to trc_text_line(), which does the same checks
 * again in full (the prefix cache and the name guesses only save work:
 * repeating them changes no result).
 */
static inline __attribute__((always_inline)) int
fast_line(struct trc_reader *r, const char *s, size_t len,
          struct trc_record *rec, int *handed)
{
    if (!len || !is_digit(s[0]) || r->json_active || r->hmp.active ||
        r->opt.format != TRC_FMT_AUTO) {
        return 0;
    }
    if (s[len - 1] == '\r') {
        len--;
    }
    enum trc_format f;
    int64_t tid, t;
    size_t k = prefix_cached(&r->pc, s, len, &f, &tid, &t);
    const char *why;
    if (!k || parse_event_core(r, &r->memo, s + k, len - k, true, rec, &why) !=
                  PL_RECORD) {
        return 0;
    }
    rec->file = r->cur;
    rec->line = r->line;
    rec->t_ns = t;
    rec->tid = tid;
    count_event(r, rec);
    *handed = finish_record(r, rec, f);
    return 1;
}

static int text_next(struct trc_reader *r, struct trc_record *rec,
                     const struct trc_record **out, char *err, size_t errlen)
{
    *out = rec;
    for (;;) {
        const char *s;
        size_t len;
        int rc;
        if (r->replay) {
            r->replay = false;
            s = r->replay_s;
            len = r->replay_len;
        } else {
            /* a whole line of at most max_line bytes in the buffer: split
             * here (what trc_src_next_line does for it), the rest goes
             * there */
            const char *p = r->p;
            size_t avail = (size_t)(r->end - p);
            size_t lim = avail <= r->opt.max_line ? avail : r->opt.max_line + 1;
            const char *nl = !r->skipping && lim ? memchr(p, '\n', lim) : NULL;
            if (nl) {
                len = (size_t)(nl - p);
                r->p = nl + 1;
                r->line++;
                r->st.bytes += len + 1;
                r->st.lines++;
                int handed;
                if (fast_line(r, p, len, rec, &handed)) {
                    if (handed) {
                        return 1;
                    }
                    continue;
                }
                rc = trc_text_line(r, p, len, rec, err, errlen);
                if (rc != 0) {
                    return rc;
                }
                continue;
            }
            rc = trc_src_next_line(r, &s, &len, err, errlen);
            if (rc < 0) {
                return -1;
            }
            if (rc == 2) {
                r->st.lines++;
                continue;
            }
            if (rc == 0) {
                return trc_text_end(r, rec);
            }
            r->st.lines++;
        }
        rc = trc_text_line(r, s, len, rec, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
}

const struct trc_input_ops trc_text_ops = {
    .name = "text",
    .open = text_open,
    .next = text_next,
};
