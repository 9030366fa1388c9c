/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_trc_simple.c — the simpletrace binary reader on files this
 * test writes: header, mapping and event records, string and integer
 * arguments, layouts from a trace-events file and from the catalogue,
 * dropped-event records, unknown events, gzip, and damaged files
 * (truncation, bad lengths, missing mappings) reported by record number.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "traces/trace.h"

#define DATA "tests/data/traces/"

struct buf {
    unsigned char *p;
    size_t n, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void u64(struct buf *b, uint64_t v)
{
    unsigned char x[8];
    for (int i = 0; i < 8; i++) {
        x[i] = (unsigned char)(v >> (8 * i));
    }
    put(b, x, 8);
}

static void u32(struct buf *b, uint32_t v)
{
    unsigned char x[4];
    for (int i = 0; i < 4; i++) {
        x[i] = (unsigned char)(v >> (8 * i));
    }
    put(b, x, 4);
}

static void header(struct buf *b)
{
    u64(b, 0xffffffffffffffffull);
    u64(b, 0xf2b177cb0aa429b4ull);
    u64(b, 4);
}

static void mapping(struct buf *b, uint64_t id, const char *name)
{
    u64(b, 0);
    u64(b, id);
    u32(b, (uint32_t)strlen(name));
    put(b, name, strlen(name));
}

/* args: 'u' followed by a uint64_t, 's' followed by a const char * */
static void event(struct buf *b, uint64_t id, uint64_t ts, uint32_t pid,
                  const char *types, ...)
{
    struct buf a = {0};
    va_list ap;
    va_start(ap, types);
    for (const char *t = types; *t; t++) {
        if (*t == 's') {
            const char *s = va_arg(ap, const char *);
            u32(&a, (uint32_t)strlen(s));
            put(&a, s, strlen(s));
        } else {
            u64(&a, va_arg(ap, uint64_t));
        }
    }
    va_end(ap);
    u64(b, 1);
    u64(b, id);
    u64(b, ts);
    u32(b, (uint32_t)(24 + a.n));
    u32(b, pid);
    if (a.n) {
        put(b, a.p, a.n);
    }
    free(a.p);
}

static void sample_trace(struct buf *b)
{
    header(b);
    mapping(b, 0, "migrate_set_state");
    mapping(b, 1, "migrate_pending_exact");
    mapping(b, 2, "vfio_state_pending_exact");
    mapping(b, 3, "kvm_run_exit");
    mapping(b, 4, "migration_mystery_event");
    mapping(b, 5, "migrate_transferred");
    event(b, 0, 1000, 77, "s", "active");
    event(b, 1, 2000, 77, "uuu", (uint64_t)21038628864ull,
          (uint64_t)21038628864ull, (uint64_t)0);
    event(b, 2, 3000, 77, "suuuuu", "0000:00:02.0", (uint64_t)1, (uint64_t)2,
          (uint64_t)3, (uint64_t)4, (uint64_t)5);
    event(b, 3, 4000, 77, "uu", (uint64_t)0, (uint64_t)2);
    event(b, 4, 5000, 77, "u", (uint64_t)9);
    /* dropped events record */
    u64(b, 1);
    u64(b, 0xfffffffffffffffeull);
    u64(b, 5500);
    u32(b, 32);
    u32(b, 77);
    u64(b, 12);
    /* 4-value (<= 8.1) migrate_transferred */
    event(b, 5, 6000, 77, "uuuu", (uint64_t)111570, (uint64_t)100,
          (uint64_t)1115, (uint64_t)334710);
    /* a signed value: -1 */
    mapping(b, 6, "migration_completion_vm_stop");
    event(b, 6, 7000, 77, "u", (uint64_t)-1);
}

struct got {
    size_t n;
    int rc;
    char err[256];
    struct trc_stats st;
    char msgs[4][256];
    enum trc_ev ev[32];
    uint64_t u[32][TRC_MAX_SLOTS];
    char s[32][32];
    int64_t t[32];
    int64_t tid[32];
    uint64_t line[32];
    uint32_t present[32];
};

static void read_into(struct trc_reader *r, struct got *g)
{
    struct trc_record rec;
    memset(g, 0, sizeof(*g));
    while ((g->rc = trc_reader_next(r, &rec, g->err, sizeof(g->err))) == 1) {
        assert_true(g->n < 32);
        g->ev[g->n] = rec.ev;
        for (unsigned i = 0; i < TRC_MAX_SLOTS; i++) {
            g->u[g->n][i] = rec.a[i].u;
        }
        if (rec.present & 1u && rec.a[0].s) {
            snprintf(g->s[g->n], 32, "%.*s", (int)rec.a[0].len, rec.a[0].s);
        }
        g->t[g->n] = rec.t_ns;
        g->tid[g->n] = rec.tid;
        g->line[g->n] = rec.line;
        g->present[g->n] = rec.present;
        assert_int_equal(rec.format, TRC_FMT_SIMPLE);
        g->n++;
    }
    const struct trc_stats *st = trc_reader_stats(r);
    g->st = *st;
    for (unsigned i = 0; i < st->n_messages && i < 4; i++) {
        snprintf(g->msgs[i], sizeof(g->msgs[i]), "%s", st->messages[i]);
    }
    g->st.messages = NULL;
}

static struct trc_reader *mk(const char *events, bool strict)
{
    struct trc_options o = {.events_path = events, .strict = strict};
    char err[256];
    struct trc_reader *r = trc_reader_new(&o, err, sizeof(err));
    if (!r) {
        fail_msg("%s", err);
    }
    return r;
}

static char empty_events[64];

static int setup(void **state)
{
    (void)state;
    strcpy(empty_events, "/tmp/trc_evXXXXXX");
    int fd = mkstemp(empty_events);
    if (fd < 0) {
        return -1;
    }
    const char *c = "# nothing declared\n";
    if (write(fd, c, strlen(c)) < 0) {
        return -1;
    }
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(empty_events);
    return 0;
}

static void check_common(const struct got *g)
{
    assert_int_equal(g->ev[0], TRC_EV_SET_STATE);
    assert_string_equal(g->s[0], "active");
    assert_true(g->t[0] == 1000);
    assert_int_equal(g->tid[0], 77);
    assert_int_equal(g->ev[1], TRC_EV_PENDING_EXACT);
    assert_true(g->u[1][0] == 21038628864ull);
    assert_int_equal(g->ev[2], TRC_EV_VFIO_PENDING_EXACT);
    assert_string_equal(g->s[2], "0000:00:02.0");
    assert_int_equal(g->u[2][3], 3);
    assert_int_equal(g->u[2][5], 5);
    assert_int_equal(g->present[2], 0x3f);
    assert_int_equal(g->ev[4], TRC_EV_UNKNOWN);
    assert_int_equal(g->st.dropped, 12);
    assert_int_equal(g->st.unknown_migration, 1);
}

static void test_with_events_file(void **state)
{
    (void)state;
    struct buf b = {0};
    sample_trace(&b);
    struct trc_reader *r = mk(DATA "trace-events-all", false);
    char err[256];
    assert_int_equal(
        trc_reader_add_mem(r, "trace-1234", b.p, b.n, err, sizeof(err)), 0);
    struct got g;
    read_into(r, &g);
    trc_reader_free(r);
    assert_int_equal(g.rc, 0);
    check_common(&g);
    /* kvm_run_exit is declared in the fixture */
    assert_int_equal(g.ev[3], TRC_EV_OTHER_KNOWN);
    /* the fixture declares the 5-argument migrate_transferred: the
     * 4-argument record does not fit and is reported */
    assert_int_equal(g.st.malformed, 1);
    assert_string_equal(g.msgs[0], "trace-1234: record 13: "
                                   "migrate_transferred: arguments do not fit "
                                   "its trace-events declaration");
    assert_int_equal(g.n, 6);
    assert_int_equal(g.ev[5], TRC_EV_COMPLETION_VM_STOP);
    assert_true((int64_t)g.u[5][0] == -1);
    free(b.p);
}

static void test_catalogue_layouts(void **state)
{
    (void)state;
    struct buf b = {0};
    sample_trace(&b);
    struct trc_reader *r = mk(empty_events, false);
    char err[256];
    assert_int_equal(trc_reader_add_mem(r, "t", b.p, b.n, err, sizeof(err)), 0);
    struct got g;
    read_into(r, &g);
    trc_reader_free(r);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.st.malformed, 0);
    check_common(&g);
    assert_int_equal(g.ev[3], TRC_EV_UNKNOWN);
    assert_int_equal(g.ev[5], TRC_EV_TRANSFERRED);
    assert_int_equal(g.u[5][4], 334710);
    assert_int_equal(g.u[5][2], 1115);
    assert_int_equal(g.n, 7);
    assert_int_equal(g.line[5], 13);
    free(b.p);
}

static void test_gzip_and_file(void **state)
{
    (void)state;
    struct buf b = {0};
    sample_trace(&b);
    char path[] = "/tmp/trc_stXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b.p, b.n), (ssize_t)b.n);
    close(fd);
    char gz[] = "/tmp/trc_sgXXXXXX";
    fd = mkstemp(gz);
    close(fd);
    gzFile z = gzopen(gz, "wb");
    gzwrite(z, b.p, (unsigned)b.n);
    gzclose(z);
    struct trc_reader *r = mk(empty_events, false);
    char err[256];
    assert_int_equal(trc_reader_add_file(r, path, err, sizeof(err)), 0);
    assert_int_equal(trc_reader_add_file(r, gz, err, sizeof(err)), 0);
    struct got g;
    read_into(r, &g);
    trc_reader_free(r);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n, 14);
    assert_int_equal(g.st.dropped, 24);
    assert_int_equal(g.ev[8], TRC_EV_PENDING_EXACT);
    assert_true(g.u[8][0] == 21038628864ull);
    /* a forced text format refuses the binary file */
    struct trc_options o = {.format = TRC_FMT_LOG, .events_path = empty_events};
    r = trc_reader_new(&o, err, sizeof(err));
    assert_int_equal(trc_reader_add_file(r, path, err, sizeof(err)), 0);
    read_into(r, &g);
    trc_reader_free(r);
    assert_int_equal(g.n, 0);
    assert_int_equal(g.st.malformed, 1);
    assert_non_null(strstr(g.msgs[0], "simpletrace binary file"));
    unlink(path);
    unlink(gz);
    free(b.p);
}

static void test_damaged(void **state)
{
    (void)state;
    struct buf b = {0};
    sample_trace(&b);
    /* cut in the middle of the last event record */
    size_t cut = b.n - 5;
    struct trc_reader *r = mk(empty_events, false);
    char err[256];
    assert_int_equal(trc_reader_add_mem(r, "cut", b.p, cut, err, sizeof(err)),
                     0);
    struct got g;
    read_into(r, &g);
    trc_reader_free(r);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n, 6);
    assert_int_equal(g.st.malformed, 1);
    assert_non_null(strstr(g.msgs[0], "cut: record 15: truncated event "
                                      "record"));

    /* strict: fatal */
    r = mk(empty_events, true);
    assert_int_equal(trc_reader_add_mem(r, "cut", b.p, cut, err, sizeof(err)),
                     0);
    read_into(r, &g);
    trc_reader_free(r);
    assert_int_equal(g.rc, -1);
    assert_non_null(strstr(g.err, "cut: record 15: truncated"));

    /* bad record length, unknown record type, event without mapping,
     * wrong version */
    struct buf c = {0};
    header(&c);
    mapping(&c, 0, "migrate_set_state");
    event(&c, 7, 1, 1, "u", (uint64_t)1); /* id 7 never mapped */
    event(&c, 0, 2, 1, "s", "setup");
    u64(&c, 1);
    u64(&c, 0);
    u64(&c, 3);
    u32(&c, 4); /* length below the 24-byte header */
    u32(&c, 1);
    r = mk(empty_events, false);
    assert_int_equal(trc_reader_add_mem(r, "bad", c.p, c.n, err, sizeof(err)),
                     0);
    read_into(r, &g);
    trc_reader_free(r);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.s[0], "setup");
    assert_int_equal(g.st.malformed, 2);
    assert_string_equal(g.msgs[0],
                        "bad: record 2: event id 7 has no mapping record");
    assert_non_null(strstr(g.msgs[1], "bad: record 4: event record with a "
                                      "bad length"));

    struct buf d = {0};
    u64(&d, 0xffffffffffffffffull);
    u64(&d, 0xf2b177cb0aa429b4ull);
    u64(&d, 3);
    r = mk(empty_events, false);
    assert_int_equal(trc_reader_add_mem(r, "v3", d.p, d.n, err, sizeof(err)),
                     0);
    read_into(r, &g);
    trc_reader_free(r);
    assert_int_equal(g.n, 0);
    assert_non_null(strstr(g.msgs[0], "version is not 4"));

    struct buf e = {0};
    header(&e);
    u64(&e, 9);
    u64(&e, 0);
    r = mk(empty_events, false);
    assert_int_equal(trc_reader_add_mem(r, "ty", e.p, e.n, err, sizeof(err)),
                     0);
    read_into(r, &g);
    trc_reader_free(r);
    assert_non_null(strstr(g.msgs[0], "unknown record type"));
    free(b.p);
    free(c.p);
    free(d.p);
    free(e.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_with_events_file),
        cmocka_unit_test(test_catalogue_layouts),
        cmocka_unit_test(test_gzip_and_file),
        cmocka_unit_test(test_damaged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
