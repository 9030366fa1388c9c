/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * live/qmp.h — a QMP (QEMU Machine Protocol) client: contract.
 *
 * One struct qmp_conn per monitor connection: a UNIX or TCP stream socket
 * carrying JSON objects.  qmp_connect() reads the greeting
 * {"QMP": {"version": ...}} and negotiates with "qmp_capabilities"; then
 * qmp_execute() sends {"execute", "arguments", "id"} (one line) and reads
 * until the reply carrying the same id, queueing every event
 * ({"event", "data", "timestamp"}) that arrives in between.  Replies with an
 * older id (to a command that timed out) are dropped.
 *
 * Framing: messages are split by tracking JSON object depth (strings and
 * escapes respected), so no assumption is made about newlines; whitespace
 * between messages is skipped.  A message is parsed with jansson; integers
 * beyond int64 make the message be parsed with all numbers as doubles; the
 * bare non-finite numbers QEMU prints (nan, -nan, inf) become null.
 *
 * Faults never crash and are reported with a message:
 *   - a byte outside a JSON object, or an object jansson rejects:
 *     QMP_E_PROTO ("malformed QMP message"); the stream resynchronises at
 *     the next newline;
 *   - a message longer than QMP_MAX_MSG_BYTES: QMP_E_PROTO ("exceeds the
 *     16 MiB cap"); its bytes are skipped without being stored;
 *   - the peer closing the socket (also in the middle of a message or of a
 *     command): QMP_E_IO; complete messages received before the close are
 *     still delivered (events stay queued);
 *   - no reply before the deadline: QMP_E_TIMEOUT;
 *   - {"error": {"class", "desc"}}: QMP_E_QEMU with "CLASS: desc" in err,
 *     exactly as QEMU sent them (also in qmp_error_class/qmp_error_desc).
 * A malformed or oversized message that arrives while a command waits is
 * taken to be its reply: the command fails with QMP_E_PROTO.
 *
 * Time: deadlines are int64 ns of CLOCK_MONOTONIC; arguments are durations
 * in ns.  No signals are raised (writes use MSG_NOSIGNAL); EINTR makes the
 * call return QMP_E_INTR so a caller can react to a signal flag.
 *
 * Traffic log: qmp_set_log(c, FILE *) writes every message sent ("-> ")
 * and received ("<- "), one per line, as the env var MIGSIM_QMP_LOG does
 * for the CLI.
 */
#ifndef MIGSIM_LIVE_QMP_H
#define MIGSIM_LIVE_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define QMP_MAX_MSG_BYTES (16u << 20) /* one message, bytes */
#define QMP_MAX_EVENTS    4096        /* queued events; oldest dropped */

enum qmp_status {
    QMP_OK = 0,
    QMP_E_IO = -1,      /* socket error, or the peer closed it */
    QMP_E_TIMEOUT = -2, /* nothing before the deadline */
    QMP_E_PROTO = -3,   /* malformed, oversized or unexpected message */
    QMP_E_QEMU = -4,    /* QEMU replied {"error": ...} */
    QMP_E_INTR = -5,    /* a signal interrupted the wait */
};

struct qmp_conn;

/*
 * Connect to addr: "unix:PATH", "tcp:HOST:PORT", "HOST:PORT" ("[::1]:4444"
 * for IPv6) or a plain path (anything with a '/' or without ':').
 * wait_ns: how long to keep retrying while the socket does not exist or
 * refuses (QEMU still starting); 0 = fail at once.  timeout_ns: limit for
 * the greeting and qmp_capabilities.  Returns NULL with a message in err.
 */
struct qmp_conn *qmp_connect(const char *addr, int64_t wait_ns,
                             int64_t timeout_ns, char *err, size_t errlen);
/* Same over an already connected stream fd (ownership passes to the
 * connection, also on failure).  name is used in messages. */
struct qmp_conn *qmp_open_fd(int fd, const char *name, int64_t timeout_ns,
                             char *err, size_t errlen);
void qmp_close(struct qmp_conn *c);

/*
 * Execute cmd with args (a JSON object, borrowed; NULL = none).  On
 * QMP_OK, *ret (if ret is not NULL) receives a new reference to the
 * "return" value.  Returns a qmp_status; on error err says what happened
 * and names the command.
 */
int qmp_execute(struct qmp_conn *c, const char *cmd, json_t *args,
                int64_t timeout_ns, json_t **ret, char *err, size_t errlen);

/* Class and desc of the last {"error"} reply ("" if none). */
const char *qmp_error_class(const struct qmp_conn *c);
const char *qmp_error_desc(const struct qmp_conn *c);

/*
 * Read whatever arrives within timeout_ns (0 = only what is ready now),
 * queueing events; returns QMP_OK once at least one event is queued (or
 * was already), QMP_E_TIMEOUT if none came, or an error.
 */
int qmp_wait_event(struct qmp_conn *c, int64_t timeout_ns, char *err,
                   size_t errlen);
/* Oldest queued event (new reference; the caller decrefs) or NULL. */
json_t *qmp_event_pop(struct qmp_conn *c);
size_t qmp_events_queued(const struct qmp_conn *c);
/* Events dropped because the queue was full. */
uint64_t qmp_events_dropped(const struct qmp_conn *c);

/* Peer closed the connection (or a write failed). */
bool qmp_is_closed(const struct qmp_conn *c);
/* The socket, for poll(). */
int qmp_fd(const struct qmp_conn *c);
/* QEMU version from the greeting: "7.2.22"; major*100 + minor. */
const char *qmp_version(const struct qmp_conn *c);
unsigned qmp_version_num(const struct qmp_conn *c);
/* Log traffic to f (borrowed; NULL = off). */
void qmp_set_log(struct qmp_conn *c, FILE *f);

/* Monotonic clock, ns. */
int64_t qmp_now_ns(void);

/* QEMU prints a non-finite double as a bare nan, -nan, inf or -inf (e.g.
 * xbzrle-cache cache-miss-rate before any page was looked up), which is not
 * JSON.  Copy n bytes of in to out (room for 2 n bytes) with every such
 * token outside strings (also NaN, Infinity, any case, signed) replaced by
 * null; *outn = bytes written.  Returns the number of tokens replaced.
 * Messages that jansson rejects are retried through this, so such members
 * arrive as null and read as missing. */
size_t qmp_nonfinite_to_null(const char *in, size_t n, char *out, size_t *outn);

/* JSON helpers for QMP replies: a member as number (integer or real);
 * def if absent or not a number. */
double qmp_get_num(const json_t *obj, const char *key, double def);
/* Unsigned counter (negative or absent -> def). */
uint64_t qmp_get_u64(const json_t *obj, const char *key, uint64_t def);
/* String member or def. */
const char *qmp_get_str(const json_t *obj, const char *key, const char *def);

#endif
