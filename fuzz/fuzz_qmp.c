/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz/fuzz_qmp.c — libFuzzer harness for the QMP client (live/qmp.h): the
 * input is everything a peer sends (greeting, replies, events, garbage),
 * fed through a socket pair whose far end is shut for writing after it, so
 * the client reads the bytes and then end of stream.  The client opens the
 * connection (greeting + qmp_capabilities), executes query-migrate and
 * reads its fields as live.c does, then drains the queued events.
 *
 * Whatever the bytes, the client must return an error or a reply, never
 * crash, hang (timeouts are 100 ms) or leak.
 *
 * Coverage: live/qmp.c base/json.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "live/qmp.h"

#define MS ((int64_t)1000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_reply(const json_t *ret)
{
    qmp_get_str(ret, "status", "");
    qmp_get_num(ret, "total-time", -1);
    qmp_get_num(ret, "expected-downtime", -1);
    const json_t *ram = json_object_get(ret, "ram");
    qmp_get_u64(ram, "transferred", 0);
    qmp_get_u64(ram, "remaining", 0);
    qmp_get_num(ram, "mbps", 0);
    qmp_get_u64(ram, "dirty-sync-count", 0);
    const json_t *xb = json_object_get(ret, "xbzrle-cache");
    qmp_get_num(xb, "cache-miss-rate", -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 60000) {
        return 0; /* stay inside one socket buffer: the write never blocks */
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        return 0;
    }
    size_t off = 0;
    while (off < size) {
        ssize_t w = send(sv[0], data + off, size - off, MSG_NOSIGNAL);
        if (w <= 0) {
            break;
        }
        off += (size_t)w;
    }
    shutdown(sv[0], SHUT_WR);
    char err[512];
    struct qmp_conn *c = qmp_open_fd(sv[1], "fuzz", 100 * MS, err, sizeof(err));
    if (c) {
        json_t *ret = NULL;
        if (qmp_execute(c, "query-migrate", NULL, 100 * MS, &ret, err,
                        sizeof(err)) == QMP_OK) {
            read_reply(ret);
        }
        json_decref(ret);
        for (json_t *ev; (ev = qmp_event_pop(c)) != NULL;) {
            json_decref(ev);
        }
        qmp_close(c);
    }
    close(sv[0]);
    return 0;
}
