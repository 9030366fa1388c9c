/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace_simple.c — QEMU's simpletrace binary format (log version 4).
 *
 * Layout (../shared/reference/qemu-convergence.md 7.3, little-endian as on
 * the x86 hosts that write it):
 *   header   u64 0xffffffffffffffff, u64 magic 0xf2b177cb0aa429b4,
 *            u64 version (4)
 *   records  u64 type, then
 *     0 mapping  u64 event id, u32 name length, name bytes
 *     1 event    u64 event id, u64 timestamp ns, u32 length, u32 pid,
 *                arguments: u64 each, strings as u32 length + bytes;
 *                length counts the 24 header bytes plus the arguments, so
 *                records of events we cannot decode are skipped exactly.
 *     event id 0xfffffffffffffffe is the "dropped events" record (u64).
 * Argument layout: the trace-events-all declaration when there is one,
 * otherwise the catalogue patterns (their conversions are the argument
 * order), tried until one consumes the record exactly.  A damaged record
 * header cannot be resynchronised: the rest of that file is skipped.
 *
 * The simpletrace input reader (trc_simple_ops): takes an input that
 * starts with the header.  Calls only the services (trace_src.c,
 * trace_core.c) and the catalogue.
 */
#include "traces/trace_int.h"

#include <stdlib.h>
#include <string.h>

#define SIMPLE_HEADER_ID   0xffffffffffffffffull
#define SIMPLE_MAGIC       0xf2b177cb0aa429b4ull
#define SIMPLE_DROPPED_ID  0xfffffffffffffffeull
#define SIMPLE_MAX_NAME    1024u
#define SIMPLE_MAX_RECORD  (1u << 20)
#define SIMPLE_MAX_IDS     65536u
#define SIMPLE_NAME_BUDGET ((size_t)8 << 20)

static uint64_t rd64(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | u[i];
    }
    return v;
}

static uint32_t rd32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
           (uint32_t)u[3] << 24;
}

bool trc_simple_magic(const void *p, size_t len)
{
    return len >= 16 && rd64(p) == SIMPLE_HEADER_ID &&
           rd64((const char *)p + 8) == SIMPLE_MAGIC;
}

void trc_simple_reset(struct trc_reader *r)
{
    for (size_t i = 0; i < r->n_ids; i++) {
        free(r->id_names[i]);
    }
    free(r->id_names);
    free(r->id_lens);
    r->id_names = NULL;
    r->id_lens = NULL;
    r->n_ids = 0;
    r->id_name_bytes = 0;
}

/* Give up on the rest of this file. */
static int stop_file(struct trc_reader *r, char *err, size_t errlen,
                     const char *why, uint64_t off)
{
    int rc = trc_malformed(r, r->simple_rec, err, errlen,
                           "%s (byte offset %llu); rest of the file skipped",
                           why, (unsigned long long)off);
    r->p = r->end;
    r->eof = true;
    return rc < 0 ? -1 : 0;
}

static uint64_t cur_off(const struct trc_reader *r)
{
    return r->consumed + (uint64_t)(r->p - r->win);
}

static int set_mapping(struct trc_reader *r, uint64_t id, const char *name,
                       uint32_t len)
{
    if (id >= SIMPLE_MAX_IDS) {
        return -1;
    }
    if (id >= r->n_ids) {
        size_t n = (size_t)id + 1;
        if (n < 2 * r->n_ids) {
            n = 2 * r->n_ids;
        }
        if (n > SIMPLE_MAX_IDS) {
            n = SIMPLE_MAX_IDS;
        }
        char **nn = realloc(r->id_names, n * sizeof(*nn));
        if (!nn) {
            return -1;
        }
        r->id_names = nn;
        uint32_t *nl = realloc(r->id_lens, n * sizeof(*nl));
        if (!nl) {
            return -1;
        }
        r->id_lens = nl;
        for (size_t i = r->n_ids; i < n; i++) {
            r->id_names[i] = NULL;
            r->id_lens[i] = 0;
        }
        r->n_ids = n;
    }
    if (r->id_name_bytes + len > SIMPLE_NAME_BUDGET) {
        return -1;
    }
    char *c = malloc(len + 1u);
    if (!c) {
        return -1;
    }
    memcpy(c, name, len);
    c[len] = '\0';
    if (r->id_names[id]) {
        r->id_name_bytes -= r->id_lens[id];
    }
    free(r->id_names[id]);
    r->id_names[id] = c;
    r->id_lens[id] = len;
    r->id_name_bytes += len;
    return 0;
}

struct conv {
    char c;
    unsigned slot;
};

static unsigned pattern_convs(const char *p, struct conv *cv, unsigned max)
{
    unsigned n = 0;
    for (; *p; p++) {
        if (*p != '%') {
            continue;
        }
        if (p[1] == '%') {
            p++;
            continue;
        }
        if (!p[1] || !p[2] || n == max) {
            break;
        }
        cv[n].c = p[1];
        cv[n].slot = (unsigned)(p[2] - '0');
        n++;
        p += 2;
    }
    return n;
}

static bool clean(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
}

/* Decode args with the conversions of one pattern.  0 if they consume
 * exactly alen bytes and strings are text. */
static int decode_with(const struct conv *cv, unsigned n, const char *a,
                       size_t alen, struct trc_record *rec)
{
    size_t pos = 0;
    uint32_t present = 0;
    for (unsigned i = 0; i < n; i++) {
        struct trc_arg *x = &rec->a[cv[i].slot];
        if (cv[i].c == 's') {
            if (alen - pos < 4) {
                return -1;
            }
            uint32_t l = rd32(a + pos);
            pos += 4;
            if (l > alen - pos || !clean(a + pos, l)) {
                return -1;
            }
            x->s = a + pos;
            x->len = l;
            x->u = 0;
            pos += l;
        } else {
            if (alen - pos < 8) {
                return -1;
            }
            x->u = rd64(a + pos);
            x->s = NULL;
            x->len = 0;
            pos += 8;
        }
        present |= 1u << cv[i].slot;
    }
    if (pos != alen) {
        return -1;
    }
    rec->present = present;
    return 0;
}

/* Does a declaration agree with a pattern's conversions? */
static bool decl_fits(const struct trc_decl *d, const struct conv *cv,
                      unsigned n)
{
    if (d->nargs != n) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        if ((cv[i].c == 's') != (d->is_str[i] != 0)) {
            return false;
        }
    }
    return true;
}

static int event_record(struct trc_reader *r, const char *name, uint32_t nlen,
                        const char *args, size_t alen, struct trc_record *rec,
                        char *err, size_t errlen)
{
    enum trc_ev ev = trc_name_lookup_r(r, name, nlen);
    const struct trc_decl *d =
        r->decls ? trc_decls_find(r->decls, name, nlen) : NULL;
    rec->kind = TRC_REC_EVENT;
    rec->format = TRC_FMT_SIMPLE;
    rec->name = name;
    rec->name_len = nlen;
    rec->args = NULL;
    rec->args_len = 0;
    rec->present = 0;
    rec->variant = 0;
    rec->snap = NULL;
    rec->hex = false;
    rec->ev = ev;
    if (ev >= TRC_EV_SET_STATE) {
        unsigned nv = trc_event_variants(ev);
        for (unsigned v = 0; v < nv; v++) {
            struct conv cv[TRC_MAX_SLOTS];
            unsigned n =
                pattern_convs(trc_event_pattern(ev, v), cv, TRC_MAX_SLOTS);
            if (d && !decl_fits(d, cv, n)) {
                continue;
            }
            if (decode_with(cv, n, args, alen, rec) == 0) {
                rec->variant = v;
                r->st.known++;
                r->st.per_event[ev]++;
                return 1;
            }
        }
        int rc = trc_malformed(
            r, r->simple_rec, err, errlen,
            d ? "%.*s: arguments do not fit its trace-events declaration"
              : "%.*s: arguments fit no known layout (try --events)",
            (int)nlen, name);
        return rc < 0 ? -1 : 0;
    }
    if (ev == TRC_EV_UNKNOWN && d) {
        rec->ev = TRC_EV_OTHER_KNOWN;
    }
    if (rec->ev == TRC_EV_OTHER_KNOWN) {
        r->st.per_event[TRC_EV_OTHER_KNOWN]++;
    } else {
        trc_count_unknown(r, name, nlen);
    }
    return 1;
}

/* The file header (after the magic): 1 to go on, else what stop_file
 * says. */
static int read_header(struct trc_reader *r, char *err, size_t errlen)
{
    long av = trc_src_need(r, 24, err, errlen);
    if (av < 0) {
        return -1;
    }
    uint64_t ver = av >= 24 ? rd64(r->p + 16) : 0;
    if (ver != 4) {
        r->simple_rec = 1;
        return stop_file(r, err, errlen, "simpletrace log version is not 4",
                         16);
    }
    r->p += 24;
    r->st.bytes += 24;
    return 1;
}

/* A mapping record (event id -> name) at r->p, `off` in the file: 1 to go
 * on, else what stop_file says (or -1 on I/O error). */
static int mapping_record(struct trc_reader *r, uint64_t off, char *err,
                          size_t errlen)
{
    long av = trc_src_need(r, 20, err, errlen);
    if (av < 0) {
        return -1;
    }
    if (av < 20) {
        return stop_file(r, err, errlen, "truncated mapping record", off);
    }
    uint64_t id = rd64(r->p + 8);
    uint32_t len = rd32(r->p + 16);
    if (len == 0 || len > SIMPLE_MAX_NAME) {
        return stop_file(r, err, errlen,
                         "mapping record with a bad name length", off);
    }
    av = trc_src_need(r, 20 + (size_t)len, err, errlen);
    if (av < 0) {
        return -1;
    }
    if ((size_t)av < 20 + (size_t)len) {
        return stop_file(r, err, errlen, "truncated mapping record", off);
    }
    if (!clean(r->p + 20, len) || set_mapping(r, id, r->p + 20, len) < 0) {
        return stop_file(r, err, errlen, "bad mapping record (id or name)",
                         off);
    }
    r->p += 20 + len;
    r->st.bytes += 20 + len;
    return 1;
}

/* After the header was seen: 1 record, 0 end of this input, -1 fatal. */
static int simple_next(struct trc_reader *r, struct trc_record *rec, char *err,
                       size_t errlen)
{
    long av;
    if (r->simple_rec == 0) {
        int rc = read_header(r, err, errlen);
        if (rc != 1) {
            return rc;
        }
    }
    for (;;) {
        av = trc_src_need(r, 8, err, errlen);
        if (av < 0) {
            return -1;
        }
        if (av == 0) {
            return 0;
        }
        r->simple_rec++;
        r->line = r->simple_rec;
        r->st.lines++;
        uint64_t off = cur_off(r);
        if (av < 8) {
            return stop_file(r, err, errlen, "truncated record", off);
        }
        uint64_t type = rd64(r->p);
        if (type == 0) {
            int rc = mapping_record(r, off, err, errlen);
            if (rc != 1) {
                return rc;
            }
            continue;
        }
        if (type != 1) {
            return stop_file(r, err, errlen, "unknown record type", off);
        }
        av = trc_src_need(r, 32, err, errlen);
        if (av < 0) {
            return -1;
        }
        if (av < 32) {
            return stop_file(r, err, errlen, "truncated event record", off);
        }
        uint64_t id = rd64(r->p + 8);
        uint64_t ts = rd64(r->p + 16);
        uint32_t length = rd32(r->p + 24);
        uint32_t pid = rd32(r->p + 28);
        if (length < 24 || length > SIMPLE_MAX_RECORD) {
            return stop_file(r, err, errlen, "event record with a bad length",
                             off);
        }
        av = trc_src_need(r, 8 + (size_t)length, err, errlen);
        if (av < 0) {
            return -1;
        }
        if ((size_t)av < 8 + (size_t)length) {
            return stop_file(r, err, errlen, "truncated event record", off);
        }
        const char *args = r->p + 32;
        size_t alen = length - 24u;
        r->p += 8 + length;
        r->st.bytes += 8 + length;
        if (id == SIMPLE_DROPPED_ID) {
            r->st.dropped += alen >= 8 ? rd64(args) : 0;
            continue;
        }
        if (id >= r->n_ids || !r->id_names[id]) {
            if (trc_malformed(r, r->simple_rec, err, errlen,
                              "event id %llu has no mapping record",
                              (unsigned long long)id) < 0) {
                return -1;
            }
            continue;
        }
        rec->file = r->cur;
        rec->line = r->simple_rec;
        rec->t_ns = ts > (uint64_t)INT64_MAX ? TRC_NO_TIME : (int64_t)ts;
        rec->tid = pid;
        int rc = event_record(r, r->id_names[id], r->id_lens[id], args, alen,
                              rec, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
}

/* Does the input start with a simpletrace header?  A forced format that
 * does not fit the input reports it and leaves the input empty. */
static int simple_open(struct trc_reader *r, char *err, size_t errlen)
{
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
    return magic ? 1 : 0;
}

static int simple_reader_next(struct trc_reader *r, struct trc_record *rec,
                              const struct trc_record **out, char *err,
                              size_t errlen)
{
    *out = rec;
    int rc = simple_next(r, rec, err, errlen);
    if (rc == 1) {
        r->st.records++;
        r->st.per_format[TRC_FMT_SIMPLE]++;
        r->st.events++;
    }
    return rc;
}

const struct trc_input_ops trc_simple_ops = {
    .name = "simpletrace",
    .open = simple_open,
    .next = simple_reader_next,
};
