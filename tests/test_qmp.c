/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_qmp.c — the QMP client against a scripted QMP peer.
 *
 * The peer is a thread on the other end of a socketpair (or of a real UNIX
 * or TCP socket) that plays a script: send bytes, expect a command (and
 * remember its id, substituted for "%ID" in later sends), sleep, close.  It
 * covers the protocol paths a real QEMU does not produce on demand:
 * malformed and oversized replies, a close in the middle of a reply, a late
 * reply after a timeout.  The live integration tests use a real QEMU.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "live/qmp.h"

#define MS ((int64_t)1000000)

enum op { SEND, SEND_BYTES_SLOWLY, EXPECT, SLEEP_MS, CLOSE, SEND_HUGE, END };

struct step {
    enum op op;
    const char *text; /* SEND: bytes ("%ID" = last id); EXPECT: command */
    long n;           /* SLEEP_MS: ms; SEND_HUGE: payload bytes */
};

struct peer {
    int fd; /* peer's end, or a listening socket if listening */
    bool listening;
    const struct step *steps;
    pthread_t th;
    long long last_id;
    int failures;
    char why[256];
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void peer_send(struct peer *pe, const char *t)
{
    char out[4096];
    size_t o = 0;
    for (const char *s = t; *s && o + 32 < sizeof(out); s++) {
        if (strncmp(s, "%ID", 3) == 0) {
            o +=
                (size_t)snprintf(out + o, sizeof(out) - o, "%lld", pe->last_id);
            s += 2;
        } else {
            out[o++] = *s;
        }
    }
    write_all(pe->fd, out, o);
}

static int peer_expect(struct peer *pe, const char *cmd)
{
    char line[8192];
    size_t n = 0;
    while (n + 1 < sizeof(line)) {
        ssize_t r = read(pe->fd, line + n, 1);
        if (r <= 0) {
            snprintf(pe->why, sizeof(pe->why), "peer: EOF expecting %s", cmd);
            return -1;
        }
        if (line[n] == '\n') {
            break;
        }
        n++;
    }
    line[n] = '\0';
    json_error_t je;
    json_t *m = json_loads(line, 0, &je);
    const char *got = qmp_get_str(m, "execute", "");
    if (!m || strcmp(got, cmd) != 0 ||
        !json_is_integer(json_object_get(m, "id"))) {
        snprintf(pe->why, sizeof(pe->why), "peer: expected %s, got '%.200s'",
                 cmd, line);
        json_decref(m);
        return -1;
    }
    pe->last_id = json_integer_value(json_object_get(m, "id"));
    json_decref(m);
    return 0;
}

static void *peer_run(void *arg)
{
    struct peer *pe = arg;
    if (pe->listening) {
        int lfd = pe->fd;
        pe->fd = accept(lfd, NULL, NULL);
        close(lfd);
        if (pe->fd < 0) {
            pe->failures++;
            return NULL;
        }
    }
    for (const struct step *s = pe->steps; s->op != END; s++) {
        switch (s->op) {
        case SEND:
            peer_send(pe, s->text);
            break;
        case SEND_BYTES_SLOWLY:
            for (const char *p = s->text; *p; p++) {
                write_all(pe->fd, p, 1);
                struct timespec ts = {0, 200000};
                nanosleep(&ts, NULL);
            }
            break;
        case EXPECT:
            if (peer_expect(pe, s->text) < 0) {
                pe->failures++;
                return NULL;
            }
            break;
        case SLEEP_MS: {
            struct timespec ts = {s->n / 1000, (s->n % 1000) * 1000000};
            nanosleep(&ts, NULL);
            break;
        }
        case CLOSE:
            close(pe->fd);
            pe->fd = -1;
            return NULL;
        case SEND_HUGE: {
            const char *head = "{\"return\": {\"blob\": \"";
            write_all(pe->fd, head, strlen(head));
            char *blob = malloc(1 << 20);
            memset(blob, 'x', 1 << 20);
            for (long left = s->n; left > 0; left -= 1 << 20) {
                write_all(pe->fd, blob,
                          (size_t)(left < (1 << 20) ? left : (1 << 20)));
            }
            free(blob);
            peer_send(pe, "\"}, \"id\": %ID}\r\n");
            break;
        }
        case END:
            break;
        }
    }
    return NULL;
}

#define GREETING                                                               \
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, "        \
    "\"major\": 7}, \"package\": \"test\"}, \"capabilities\": []}}\r\n"
#define HELLO                                                                  \
    {SEND, GREETING, 0}, {EXPECT, "qmp_capabilities", 0},                      \
    {                                                                          \
        SEND, "{\"return\": {}, \"id\": %ID}\r\n", 0                           \
    }

static struct qmp_conn *start(struct peer *pe, const struct step *steps,
                              char *err, size_t errlen)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    memset(pe, 0, sizeof(*pe));
    pe->fd = sv[1];
    pe->steps = steps;
    assert_int_equal(pthread_create(&pe->th, NULL, peer_run, pe), 0);
    return qmp_open_fd(sv[0], "fake", 2000 * MS, err, errlen);
}

/* Start a peer playing steps, connect, and execute query-migrate; the
 * reply in *r, the status returned. */
static int start_query(struct peer *pe, const struct step *steps,
                       struct qmp_conn **c, json_t **r, char *err,
                       size_t errlen)
{
    *c = start(pe, steps, err, errlen);
    assert_non_null(*c);
    *r = NULL;
    return qmp_execute(*c, "query-migrate", NULL, 2000 * MS, r, err, errlen);
}

static void finish(struct peer *pe, struct qmp_conn *c)
{
    qmp_close(c);
    pthread_join(pe->th, NULL);
    if (pe->fd >= 0) {
        close(pe->fd);
    }
    if (pe->failures) {
        fail_msg("%s", pe->why);
    }
}

static void test_command_and_events(void **state)
{
    (void)state;
    static const struct step steps[] = {
        HELLO,
        {EXPECT, "query-migrate", 0},
        {SEND,
         "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
         "\"MIGRATION\", \"data\": {\"status\": \"active\"}}\r\n"
         "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 3}, \"event\": "
         "\"MIGRATION_PASS\", \"data\": {\"pass\": 2}}\r\n"
         "{\"return\": {\"status\": \"active\", \"ram\": {\"transferred\": "
         "123456789012, \"remaining\": 4096}}, \"id\": %ID}\r\n",
         0},
        {END, NULL, 0},
    };
    struct peer pe;
    char err[512] = "";
    struct qmp_conn *c = start(&pe, steps, err, sizeof(err));
    assert_non_null(c);
    assert_string_equal(qmp_version(c), "7.2.22");
    assert_int_equal(qmp_version_num(c), 702);
    json_t *r = NULL;
    int rc =
        qmp_execute(c, "query-migrate", NULL, 2000 * MS, &r, err, sizeof(err));
    assert_int_equal(rc, QMP_OK);
    assert_string_equal(qmp_get_str(r, "status", ""), "active");
    json_t *ram = json_object_get(r, "ram");
    assert_true(qmp_get_u64(ram, "transferred", 0) == 123456789012ULL);
    assert_true(qmp_get_u64(ram, "remaining", 0) == 4096);
    assert_true(qmp_get_u64(ram, "absent", 77) == 77);
    json_decref(r);
    assert_int_equal(qmp_events_queued(c), 2);
    json_t *e = qmp_event_pop(c);
    assert_string_equal(qmp_get_str(e, "event", ""), "MIGRATION");
    assert_string_equal(qmp_get_str(json_object_get(e, "data"), "status", ""),
                        "active");
    json_decref(e);
    e = qmp_event_pop(c);
    assert_string_equal(qmp_get_str(e, "event", ""), "MIGRATION_PASS");
    json_decref(e);
    assert_null(qmp_event_pop(c));
    finish(&pe, c);
}

static void test_qemu_error_shown_as_is(void **state)
{
    (void)state;
    static const struct step steps[] = {
        HELLO,
        {EXPECT, "migrate-set-parameters", 0},
        {SEND,
         "{\"id\": %ID, \"error\": {\"class\": \"GenericError\", \"desc\": "
         "\"Parameter 'downtime-limit' expects an integer in the range of 0 "
         "to 2000000 milliseconds\"}}\r\n",
         0},
        {END, NULL, 0},
    };
    struct peer pe;
    char err[512] = "";
    struct qmp_conn *c = start(&pe, steps, err, sizeof(err));
    assert_non_null(c);
    json_t *args = json_pack("{s:I}", "downtime-limit", (json_int_t)-1);
    int rc = qmp_execute(c, "migrate-set-parameters", args, 2000 * MS, NULL,
                         err, sizeof(err));
    json_decref(args);
    assert_int_equal(rc, QMP_E_QEMU);
    assert_string_equal(qmp_error_class(c), "GenericError");
    assert_non_null(strstr(err, "'migrate-set-parameters' failed: "
                                "GenericError: Parameter 'downtime-limit' "
                                "expects an integer in the range of 0 to "
                                "2000000 milliseconds"));
    finish(&pe, c);
}

static void test_malformed_reply_then_recovers(void **state)
{
    (void)state;
    static const struct step steps[] = {
        HELLO,
        {EXPECT, "query-migrate", 0},
        {SEND, "{\"return\": {\"status\": oops}, \"id\": %ID}\r\n", 0},
        {EXPECT, "query-status", 0},
        {SEND,
         "garbage here\r\n{\"return\": {\"running\": true}, \"id\": %ID}\r\n",
         0},
        {EXPECT, "query-status", 0},
        {SEND, "{\"return\": {\"running\": false}, \"id\": %ID}\r\n", 0},
        {END, NULL, 0},
    };
    struct peer pe;
    char err[512] = "";
    struct qmp_conn *c;
    json_t *r;
    int rc = start_query(&pe, steps, &c, &r, err, sizeof(err));
    assert_int_equal(rc, QMP_E_PROTO);
    assert_null(r);
    assert_non_null(strstr(err, "malformed QMP message"));
    assert_non_null(strstr(err, "reply to 'query-migrate'"));
    /* Stray bytes before the next reply are reported, then skipped. */
    rc = qmp_execute(c, "query-status", NULL, 2000 * MS, &r, err, sizeof(err));
    assert_int_equal(rc, QMP_E_PROTO);
    assert_non_null(strstr(err, "'g' outside a JSON object"));
    /* The reply that followed the garbage belongs to the failed command:
     * dropped as a late reply; the next command gets its own. */
    rc = qmp_execute(c, "query-status", NULL, 2000 * MS, &r, err, sizeof(err));
    assert_int_equal(rc, QMP_OK);
    assert_true(json_is_false(json_object_get(r, "running")));
    json_decref(r);
    finish(&pe, c);
}

static void test_oversized_reply(void **state)
{
    (void)state;
    static const struct step steps[] = {
        HELLO,
        {EXPECT, "query-migrate", 0},
        {SEND_HUGE, NULL, 17L << 20},
        {EXPECT, "query-status", 0},
        {SEND, "{\"return\": {\"status\": \"running\"}, \"id\": %ID}\r\n", 0},
        {END, NULL, 0},
    };
    struct peer pe;
    char err[512] = "";
    struct qmp_conn *c = start(&pe, steps, err, sizeof(err));
    assert_non_null(c);
    json_t *r = NULL;
    int rc =
        qmp_execute(c, "query-migrate", NULL, 10000 * MS, &r, err, sizeof(err));
    assert_int_equal(rc, QMP_E_PROTO);
    assert_non_null(strstr(err, "exceeds the 16 MiB cap"));
    rc = qmp_execute(c, "query-status", NULL, 2000 * MS, &r, err, sizeof(err));
    assert_int_equal(rc, QMP_OK);
    assert_string_equal(qmp_get_str(r, "status", ""), "running");
    json_decref(r);
    finish(&pe, c);
}

static void test_close_mid_reply(void **state)
{
    (void)state;
    static const struct step steps[] = {
        HELLO,
        {EXPECT, "query-migrate", 0},
        {SEND,
         "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
         "\"STOP\"}\r\n{\"return\": {\"status\": \"act",
         0},
        {CLOSE, NULL, 0},
        {END, NULL, 0},
    };
    struct peer pe;
    char err[512] = "";
    struct qmp_conn *c;
    json_t *r;
    int rc = start_query(&pe, steps, &c, &r, err, sizeof(err));
    assert_int_equal(rc, QMP_E_IO);
    assert_non_null(strstr(err, "in the middle of a message"));
    assert_non_null(strstr(err, "query-migrate"));
    assert_true(qmp_is_closed(c));
    /* The event that came before the close is not lost. */
    json_t *e = qmp_event_pop(c);
    assert_string_equal(qmp_get_str(e, "event", ""), "STOP");
    json_decref(e);
    rc = qmp_execute(c, "query-status", NULL, 200 * MS, &r, err, sizeof(err));
    assert_int_equal(rc, QMP_E_IO);
    assert_non_null(strstr(err, "cannot send"));
    finish(&pe, c);
}

static void test_close_before_reply(void **state)
{
    (void)state;
    static const struct step steps[] = {
        HELLO,
        {EXPECT, "query-migrate", 0},
        {CLOSE, NULL, 0},
        {END, NULL, 0},
    };
    struct peer pe;
    char err[512] = "";
    struct qmp_conn *c = start(&pe, steps, err, sizeof(err));
    assert_non_null(c);
    int rc = qmp_execute(c, "query-migrate", NULL, 2000 * MS, NULL, err,
                         sizeof(err));
    assert_int_equal(rc, QMP_E_IO);
    assert_non_null(strstr(err, "closed by peer while waiting for the reply "
                                "to 'query-migrate'"));
    assert_int_equal(qmp_wait_event(c, 0, err, sizeof(err)), QMP_E_IO);
    finish(&pe, c);
}

static void test_timeout_then_late_reply_dropped(void **state)
{
    (void)state;
    static const struct step steps[] = {
        HELLO,
        {EXPECT, "query-migrate", 0},
        {SLEEP_MS, NULL, 400},
        {SEND, "{\"return\": {\"status\": \"late\"}, \"id\": %ID}\r\n", 0},
        {EXPECT, "query-status", 0},
        {SEND, "{\"return\": {\"status\": \"fresh\"}, \"id\": %ID}\r\n", 0},
        {END, NULL, 0},
    };
    struct peer pe;
    char err[512] = "";
    struct qmp_conn *c = start(&pe, steps, err, sizeof(err));
    assert_non_null(c);
    int64_t t0 = qmp_now_ns();
    int rc =
        qmp_execute(c, "query-migrate", NULL, 100 * MS, NULL, err, sizeof(err));
    int64_t dt = qmp_now_ns() - t0;
    assert_int_equal(rc, QMP_E_TIMEOUT);
    assert_non_null(strstr(err, "timed out while waiting for the reply to "
                                "'query-migrate'"));
    assert_true(dt >= 100 * MS && dt < 350 * MS);
    json_t *r = NULL;
    rc = qmp_execute(c, "query-status", NULL, 2000 * MS, &r, err, sizeof(err));
    assert_int_equal(rc, QMP_OK);
    assert_string_equal(qmp_get_str(r, "status", ""), "fresh");
    json_decref(r);
    finish(&pe, c);
}

static void test_no_greeting(void **state)
{
    (void)state;
    static const struct step silent[] = {
        {SLEEP_MS, NULL, 300},
        {END, NULL, 0},
    };
    static const struct step wrong[] = {
        {SEND, "{\"return\": {}}\r\n", 0},
        {END, NULL, 0},
    };
    struct peer pe;
    char err[512] = "";
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    memset(&pe, 0, sizeof(pe));
    pe.fd = sv[1];
    pe.steps = silent;
    assert_int_equal(pthread_create(&pe.th, NULL, peer_run, &pe), 0);
    struct qmp_conn *c = qmp_open_fd(sv[0], "fake", 100 * MS, err, sizeof(err));
    assert_null(c);
    assert_non_null(strstr(err, "no QMP greeting within 100 ms"));
    finish(&pe, NULL);

    c = start(&pe, wrong, err, sizeof(err));
    assert_null(c);
    assert_non_null(strstr(err, "not a QMP greeting"));
    finish(&pe, NULL);
}

static void test_framing_slow_bytes_strings_bigints(void **state)
{
    (void)state;
    static const struct step steps[] = {
        {SEND_BYTES_SLOWLY, GREETING, 0},
        {EXPECT, "qmp_capabilities", 0},
        {SEND, "{\"return\": {}, \"id\": %ID}", 0}, /* no newline at all */
        {EXPECT, "human-monitor-command", 0},
        {SEND,
         "{\"return\": {\"s\": \"a}\\\"{[b\", \"big\": 18446744073709551615, "
         "\"n\": [1, {\"x\": 2}]}, \"id\": %ID}",
         0},
        {END, NULL, 0},
    };
    struct peer pe;
    char err[512] = "";
    struct qmp_conn *c = start(&pe, steps, err, sizeof(err));
    assert_non_null(c);
    json_t *args = json_pack("{s:s}", "command-line", "info status");
    json_t *r = NULL;
    int rc = qmp_execute(c, "human-monitor-command", args, 2000 * MS, &r, err,
                         sizeof(err));
    json_decref(args);
    if (rc != QMP_OK) {
        fail_msg("rc %d: %s", rc, err);
    }
    assert_string_equal(qmp_get_str(r, "s", ""), "a}\"{[b");
    assert_true(qmp_get_num(r, "big", 0) > 1.8e19);
    json_decref(r);
    finish(&pe, c);
}

/* QEMU prints a non-finite double as a bare token (xbzrle-cache's
 * cache-miss-rate as "-nan" before any lookup; "nan", "inf" likewise):
 * the reply is read, those members arrive as null, strings with the same
 * letters stay as they are. */
static void test_nonfinite_numbers_read_as_null(void **state)
{
    (void)state;
    static const struct step steps[] = {
        {SEND, GREETING, 0},
        {EXPECT, "qmp_capabilities", 0},
        {SEND, "{\"return\": {}, \"id\": %ID}\r\n", 0},
        {EXPECT, "query-migrate", 0},
        {SEND,
         "{\"return\": {\"expected-downtime\": 300, \"status\": \"active\", "
         "\"setup-time\": 1, \"total-time\": 1503, \"ram\": {\"total\": "
         "1074274304, \"mbps\": 268.5, \"dirty-sync-count\": 2, "
         "\"remaining\": 21663744, \"transferred\": 50331648}, "
         "\"xbzrle-cache\": {\"cache-miss\": 0, \"cache-miss-rate\": -nan, "
         "\"encoding-rate\": nan, \"bytes\": 0, \"cache-size\": 67108864, "
         "\"overflow\": 0, \"pages\": 0}, \"x\": [inf, -inf, NaN, "
         "Infinity], \"note\": \"nan inf -nan\"}, \"id\": %ID}\r\n",
         0},
        {EXPECT, "query-status", 0},
        {SEND, "{\"return\": {\"bad\": nonsense}, \"id\": %ID}\r\n", 0},
        {END, NULL, 0},
    };
    struct peer pe;
    char err[512] = "";
    struct qmp_conn *c;
    json_t *r;
    int rc = start_query(&pe, steps, &c, &r, err, sizeof(err));
    if (rc != QMP_OK) {
        fail_msg("rc %d: %s", rc, err);
    }
    const json_t *x = json_object_get(r, "xbzrle-cache");
    assert_true(json_is_null(json_object_get(x, "cache-miss-rate")));
    assert_true(json_is_null(json_object_get(x, "encoding-rate")));
    assert_int_equal(qmp_get_u64(x, "cache-size", 0), 67108864);
    assert_true(qmp_get_num(x, "cache-miss-rate", -1) == -1); /* missing */
    const json_t *a = json_object_get(r, "x");
    assert_int_equal(json_array_size(a), 4);
    for (size_t i = 0; i < 4; i++) {
        assert_true(json_is_null(json_array_get(a, i)));
    }
    assert_string_equal(qmp_get_str(r, "note", ""), "nan inf -nan");
    assert_int_equal(qmp_get_u64(json_object_get(r, "ram"), "remaining", 0),
                     21663744);
    json_decref(r);
    /* Other bare words are still malformed. */
    r = NULL;
    rc = qmp_execute(c, "query-status", NULL, 2000 * MS, &r, err, sizeof(err));
    assert_int_equal(rc, QMP_E_PROTO);
    assert_non_null(strstr(err, "malformed QMP message"));
    json_decref(r);
    finish(&pe, c);
}

static void test_nonfinite_rewrite(void **state)
{
    (void)state;
    const char *in = "{\"a\":-nan,\"b\":[inf,+inf],\"c\":\"-nan\",\"d\":nano,"
                     "\"e\":true,\"f\":null,\"g\":\"x\\\"nan\",\"h\":1e5}";
    size_t n = 0;
    unsigned k = 0;
    char *out = json_nonfinite_to_null(in, strlen(in), &n, &k);
    assert_non_null(out);
    out[n] = '\0';
    assert_int_equal(k, 3);
    assert_string_equal(out, "{\"a\":null,\"b\":[null,null],\"c\":\"-nan\","
                             "\"d\":nano,\"e\":true,\"f\":null,\"g\":"
                             "\"x\\\"nan\",\"h\":1e5}");
    free(out);
    assert_null(json_nonfinite_to_null("{\"a\":1}", 7, &n, &k));
    assert_int_equal(k, 0);
}

static void test_event_queue_cap(void **state)
{
    (void)state;
    static char burst[QMP_MAX_EVENTS + 100][64];
    static struct step steps[QMP_MAX_EVENTS + 110];
    size_t k = 0;
    steps[k++] = (struct step){SEND, GREETING, 0};
    steps[k++] = (struct step){EXPECT, "qmp_capabilities", 0};
    steps[k++] = (struct step){SEND, "{\"return\": {}, \"id\": %ID}\r\n", 0};
    for (int i = 0; i < QMP_MAX_EVENTS + 100; i++) {
        snprintf(burst[i], sizeof(burst[i]),
                 "{\"event\": \"MIGRATION_PASS\", \"data\": {\"pass\": %d}}\n",
                 i);
        steps[k++] = (struct step){SEND, burst[i], 0};
    }
    steps[k++] = (struct step){END, NULL, 0};
    struct peer pe;
    char err[512] = "";
    struct qmp_conn *c = start(&pe, steps, err, sizeof(err));
    assert_non_null(c);
    while (qmp_events_queued(c) + qmp_events_dropped(c) <
           QMP_MAX_EVENTS + 100) {
        assert_int_equal(qmp_wait_event(c, 2000 * MS, err, sizeof(err)),
                         QMP_OK);
    }
    pthread_join(pe.th, NULL);
    assert_int_equal(qmp_events_queued(c), QMP_MAX_EVENTS);
    assert_int_equal(qmp_events_dropped(c), 100);
    json_t *e = qmp_event_pop(c);
    assert_int_equal((int)qmp_get_num(json_object_get(e, "data"), "pass", -1),
                     100);
    json_decref(e);
    qmp_close(c);
    close(pe.fd);
}

static void test_unix_and_tcp_connect(void **state)
{
    (void)state;
    static const struct step steps[] = {
        HELLO,
        {EXPECT, "query-status", 0},
        {SEND, "{\"return\": {\"status\": \"running\"}, \"id\": %ID}\r\n", 0},
        {END, NULL, 0},
    };
    char dir[] = "/tmp/test_qmp.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/qmp.sock", dir);
    char err[512] = "";

    /* Missing socket, no waiting: an error naming the path. */
    assert_null(qmp_connect(path, 0, 100 * MS, err, sizeof(err)));
    assert_non_null(strstr(err, path));

    /* UNIX socket. */
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    struct peer pe = {.fd = lfd, .listening = true, .steps = steps};
    assert_int_equal(pthread_create(&pe.th, NULL, peer_run, &pe), 0);
    char addr[300];
    snprintf(addr, sizeof(addr), "unix:%s", path);
    struct qmp_conn *c = qmp_connect(addr, 0, 2000 * MS, err, sizeof(err));
    assert_non_null(c);
    json_t *r = NULL;
    assert_int_equal(
        qmp_execute(c, "query-status", NULL, 2000 * MS, &r, err, sizeof(err)),
        QMP_OK);
    json_decref(r);
    finish(&pe, c);
    unlink(path);
    rmdir(dir);

    /* TCP on loopback, ephemeral port. */
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET};
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&in, sizeof(in)), 0);
    socklen_t sl = sizeof(in);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&in, &sl), 0);
    assert_int_equal(listen(lfd, 1), 0);
    memset(&pe, 0, sizeof(pe));
    pe.fd = lfd;
    pe.listening = true;
    pe.steps = steps;
    assert_int_equal(pthread_create(&pe.th, NULL, peer_run, &pe), 0);
    snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%d", ntohs(in.sin_port));
    c = qmp_connect(addr, 0, 2000 * MS, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(
        qmp_execute(c, "query-status", NULL, 2000 * MS, &r, err, sizeof(err)),
        QMP_OK);
    assert_string_equal(qmp_get_str(r, "status", ""), "running");
    json_decref(r);
    finish(&pe, c);

    /* Malformed addresses. */
    assert_null(qmp_connect("tcp:nohostport", 0, 100 * MS, err, sizeof(err)));
    assert_non_null(strstr(err, "expected HOST:PORT"));
    assert_null(qmp_connect("localhost:", 0, 100 * MS, err, sizeof(err)));
    assert_non_null(strstr(err, "expected HOST:PORT"));
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_and_events),
        cmocka_unit_test(test_qemu_error_shown_as_is),
        cmocka_unit_test(test_malformed_reply_then_recovers),
        cmocka_unit_test(test_oversized_reply),
        cmocka_unit_test(test_close_mid_reply),
        cmocka_unit_test(test_close_before_reply),
        cmocka_unit_test(test_timeout_then_late_reply_dropped),
        cmocka_unit_test(test_no_greeting),
        cmocka_unit_test(test_framing_slow_bytes_strings_bigints),
        cmocka_unit_test(test_nonfinite_numbers_read_as_null),
        cmocka_unit_test(test_nonfinite_rewrite),
        cmocka_unit_test(test_event_queue_cap),
        cmocka_unit_test(test_unix_and_tcp_connect),
    };
    return cmocka_run_group_tests_name("qmp", tests, NULL, NULL);
}
