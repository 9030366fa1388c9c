/* SPDX-License-Identifier: GPL-3.0-or-later */
/* live/qmp.c — QMP client: framing, commands, events, faults. */
#include "live/qmp.h"
#include "base/err.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK ((size_t)65536)

struct qmp_conn {
    int fd;
    char name[160];
    bool closed;
    char close_why[128];
    FILE *log;
    /* receive buffer: bytes [start, len) are unconsumed; scan is where the
     * splitter stopped */
    char *buf;
    size_t start, scan, len, cap;
    uint64_t stream_pos; /* bytes consumed before buf[0] */
    bool in_msg, in_str, esc, discarding, resync;
    unsigned depth;
    size_t msg_start;
    uint64_t msg_bytes;
    /* events */
    json_t *ev[QMP_MAX_EVENTS];
    size_t ev_head, ev_n;
    uint64_t ev_dropped;
    /* commands */
    json_int_t next_id;
    char err_class[64];
    char err_desc[512];
    char version[32];
    unsigned version_num;
};

int64_t qmp_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double qmp_get_num(const json_t *obj, const char *key, double def)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_number(v) ? json_number_value(v) : def;
}

uint64_t qmp_get_u64(const json_t *obj, const char *key, uint64_t def)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        return i < 0 ? def : (uint64_t)i;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d >= 0) || d >= 18446744073709551616.0) {
            return def;
        }
        return (uint64_t)d;
    }
    return def;
}

const char *qmp_get_str(const json_t *obj, const char *key, const char *def)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : def;
}

static void log_msg(struct qmp_conn *c, const char *dir, const char *p,
                    size_t n)
{
    if (!c->log) {
        return;
    }
    fprintf(c->log, "%s ", dir);
    fwrite(p, 1, n, c->log);
    if (n == 0 || p[n - 1] != '\n') {
        fputc('\n', c->log);
    }
    fflush(c->log);
}

static void mark_closed(struct qmp_conn *c, const char *why)
{
    if (!c->closed) {
        c->closed = true;
        snprintf(c->close_why, sizeof(c->close_why), "%s", why);
    }
}

/* Drop consumed bytes at the front of the buffer. */
static void compact(struct qmp_conn *c)
{
    if (c->start == 0) {
        return;
    }
    memmove(c->buf, c->buf + c->start, c->len - c->start);
    c->stream_pos += c->start;
    c->len -= c->start;
    c->scan -= c->start;
    if (c->in_msg && !c->discarding) {
        c->msg_start -= c->start;
    }
    c->start = 0;
}

static void describe_byte(char ch, char *out, size_t n)
{
    unsigned char u = (unsigned char)ch;
    if (isprint(u)) {
        snprintf(out, n, "'%c'", ch);
    } else {
        snprintf(out, n, "byte 0x%02x", u);
    }
}

/*
 * Split the next complete message off the buffer.  1: *out holds it; 0: need
 * more bytes; -1: a malformed or oversized message was skipped (err says
 * which).
 */
static bool word_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

size_t qmp_nonfinite_to_null(const char *in, size_t n, char *out, size_t *outn)
{
    size_t o = 0, count = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < n;) {
        char ch = in[i];
        if (in_str) {
            if (esc) {
                esc = false;
            } else if (ch == '\\') {
                esc = true;
            } else if (ch == '"') {
                in_str = false;
            }
            out[o++] = in[i++];
            continue;
        }
        if (ch == '"') {
            in_str = true;
            out[o++] = in[i++];
            continue;
        }
        size_t j = i;
        if ((ch == '-' || ch == '+') && j + 1 < n && word_char(in[j + 1])) {
            j++;
        }
        if (word_char(in[j]) && (i == 0 || !word_char(in[i - 1]))) {
            size_t k = j;
            while (k < n && word_char(in[k])) {
                k++;
            }
            size_t len = k - j;
            bool nonfinite =
                (len == 3 && (strncasecmp(in + j, "nan", 3) == 0 ||
                              strncasecmp(in + j, "inf", 3) == 0)) ||
                (len == 8 && strncasecmp(in + j, "infinity", 8) == 0);
            if (nonfinite) {
                memcpy(out + o, "null", 4);
                o += 4;
                count++;
            } else {
                memcpy(out + o, in + i, k - i);
                o += k - i;
            }
            i = k;
            continue;
        }
        out[o++] = in[i++];
    }
    *outn = o;
    return count;
}

/* One message with jansson: integers beyond int64 as doubles; the bare
 * non-finite tokens QEMU prints for a double (nan, -nan, inf) read as null
 * (missing), which jansson alone rejects. */
static json_t *parse_msg(const char *p, size_t n, json_error_t *je)
{
    json_t *m = json_loadb(p, n, 0, je);
    if (!m && json_error_code(je) == json_error_numeric_overflow) {
        m = json_loadb(p, n, JSON_DECODE_INT_AS_REAL, je);
    }
    if (m) {
        return m;
    }
    char *fixed = malloc(n * 2 + 1);
    size_t fn = 0;
    if (fixed && qmp_nonfinite_to_null(p, n, fixed, &fn) > 0) {
        json_error_t je2;
        m = json_loadb(fixed, fn, 0, &je2);
        if (!m && json_error_code(&je2) == json_error_numeric_overflow) {
            m = json_loadb(fixed, fn, JSON_DECODE_INT_AS_REAL, &je2);
        }
    }
    free(fixed);
    return m;
}

static int next_msg(struct qmp_conn *c, json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    while (c->scan < c->len) {
        char ch = c->buf[c->scan];
        if (c->resync) {
            c->scan++;
            c->start = c->scan;
            if (ch == '\n') {
                c->resync = false;
            }
            continue;
        }
        if (!c->in_msg) {
            if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
                c->scan++;
                c->start = c->scan;
                continue;
            }
            if (ch != '{') {
                char what[16];
                describe_byte(ch, what, sizeof(what));
                err_set(
                    err, errlen,
                    "%s: malformed QMP message: %s outside a JSON object at "
                    "stream byte %llu",
                    c->name, what,
                    (unsigned long long)(c->stream_pos + c->scan));
                log_msg(c, "<- [malformed]", c->buf + c->scan, 1);
                c->scan++;
                c->start = c->scan;
                c->resync = ch != '\n';
                return -1;
            }
            c->in_msg = true;
            c->in_str = c->esc = c->discarding = false;
            c->depth = 1;
            c->msg_start = c->scan;
            c->msg_bytes = 1;
            c->scan++;
            continue;
        }
        c->scan++;
        c->msg_bytes++;
        if (c->in_str) {
            if (c->esc) {
                c->esc = false;
            } else if (ch == '\\') {
                c->esc = true;
            } else if (ch == '"') {
                c->in_str = false;
            }
        } else if (ch == '"') {
            c->in_str = true;
        } else if (ch == '{' || ch == '[') {
            c->depth++;
        } else if (ch == '}' || ch == ']') {
            if (--c->depth == 0) {
                c->in_msg = false;
                if (c->discarding) {
                    c->discarding = false;
                    c->start = c->scan;
                    err_set(err, errlen,
                            "%s: QMP message of %llu bytes exceeds the %u MiB "
                            "cap; skipped",
                            c->name, (unsigned long long)c->msg_bytes,
                            QMP_MAX_MSG_BYTES >> 20);
                    log_msg(c, "<-", "[oversized message skipped]", 27);
                    return -1;
                }
                const char *p = c->buf + c->msg_start;
                size_t n = c->scan - c->msg_start;
                c->start = c->scan;
                log_msg(c, "<-", p, n);
                json_error_t je;
                json_t *m = parse_msg(p, n, &je);
                if (!m) {
                    err_set(
                        err, errlen,
                        "%s: malformed QMP message (%s, at byte %d of %zu): "
                        "%.*s%s",
                        c->name, je.text, je.position, n,
                        (int)(n > 60 ? 60 : n), p, n > 60 ? "..." : "");
                    return -1;
                }
                *out = m;
                return 1;
            }
        }
        if (!c->discarding && c->msg_bytes > QMP_MAX_MSG_BYTES) {
            c->discarding = true;
        }
        if (c->discarding) {
            c->start = c->scan;
        }
    }
    compact(c);
    return 0;
}

static int poll_fd(struct qmp_conn *c, short events, int64_t deadline,
                   char *err, size_t errlen)
{
    for (;;) {
        int64_t left = deadline - qmp_now_ns();
        if (left < 0) {
            left = 0;
        }
        int ms = (int)((left + 999999) / 1000000);
        if (left > (int64_t)3600 * 1000000000) {
            ms = 3600 * 1000;
        }
        struct pollfd p = {.fd = c->fd, .events = events};
        int r = poll(&p, 1, ms);
        if (r > 0) {
            return QMP_OK;
        }
        if (r == 0) {
            if (qmp_now_ns() >= deadline) {
                return QMP_E_TIMEOUT;
            }
            continue;
        }
        if (errno == EINTR) {
            err_set(err, errlen, "%s: interrupted", c->name);
            return QMP_E_INTR;
        }
        err_set(err, errlen, "%s: poll: %s", c->name, strerror(errno));
        mark_closed(c, strerror(errno));
        return QMP_E_IO;
    }
}

/* Read what arrives before deadline into the buffer.  QMP_OK when bytes
 * came (or the peer closed: check c->closed), else an error. */
static int read_some(struct qmp_conn *c, int64_t deadline, char *err,
                     size_t errlen)
{
    if (c->closed) {
        return QMP_OK;
    }
    int r = poll_fd(c, POLLIN, deadline, err, errlen);
    if (r != QMP_OK) {
        return r;
    }
    if (c->cap - c->len < READ_CHUNK) {
        size_t ncap = c->cap ? c->cap : READ_CHUNK * 2;
        while (ncap - c->len < READ_CHUNK) {
            ncap *= 2;
        }
        char *nb = realloc(c->buf, ncap);
        if (!nb) {
            err_set(err, errlen, "%s: out of memory for a %zu-byte buffer",
                    c->name, ncap);
            return QMP_E_IO;
        }
        c->buf = nb;
        c->cap = ncap;
    }
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (n > 0) {
            c->len += (size_t)n;
            return QMP_OK;
        }
        if (n == 0) {
            mark_closed(c, "closed by peer");
            return QMP_OK;
        }
        if (errno == EINTR) {
            err_set(err, errlen, "%s: interrupted", c->name);
            return QMP_E_INTR;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return QMP_OK;
        }
        mark_closed(c, strerror(errno));
        return QMP_OK;
    }
}

static void closed_msg(struct qmp_conn *c, const char *doing, char *err,
                       size_t errlen)
{
    if (c->in_msg) {
        err_set(err, errlen,
                "%s: QMP connection %s in the middle of a message (%llu bytes "
                "received) while %s",
                c->name, c->close_why, (unsigned long long)c->msg_bytes, doing);
    } else {
        err_set(err, errlen, "%s: QMP connection %s while %s", c->name,
                c->close_why, doing);
    }
}

static void queue_event(struct qmp_conn *c, json_t *m)
{
    if (c->ev_n == QMP_MAX_EVENTS) {
        json_decref(c->ev[c->ev_head]);
        c->ev_head = (c->ev_head + 1) % QMP_MAX_EVENTS;
        c->ev_n--;
        c->ev_dropped++;
    }
    c->ev[(c->ev_head + c->ev_n) % QMP_MAX_EVENTS] = m;
    c->ev_n++;
}

json_t *qmp_event_pop(struct qmp_conn *c)
{
    if (c->ev_n == 0) {
        return NULL;
    }
    json_t *m = c->ev[c->ev_head];
    c->ev[c->ev_head] = NULL;
    c->ev_head = (c->ev_head + 1) % QMP_MAX_EVENTS;
    c->ev_n--;
    return m;
}

size_t qmp_events_queued(const struct qmp_conn *c)
{
    return c->ev_n;
}

uint64_t qmp_events_dropped(const struct qmp_conn *c)
{
    return c->ev_dropped;
}

enum msg_kind { MSG_EVENT, MSG_REPLY, MSG_GREETING, MSG_OTHER };

static enum msg_kind classify(const json_t *m)
{
    if (!json_is_object(m)) {
        return MSG_OTHER;
    }
    if (json_is_string(json_object_get(m, "event"))) {
        return MSG_EVENT;
    }
    if (json_object_get(m, "return") ||
        json_is_object(json_object_get(m, "error"))) {
        return MSG_REPLY;
    }
    if (json_is_object(json_object_get(m, "QMP"))) {
        return MSG_GREETING;
    }
    return MSG_OTHER;
}

/*
 * Get the next non-event message before deadline (events are queued on the
 * way).
 */
static int pump(struct qmp_conn *c, int64_t deadline, json_t **out,
                const char *doing, char *err, size_t errlen)
{
    *out = NULL;
    for (;;) {
        json_t *m;
        int r = next_msg(c, &m, err, errlen);
        if (r < 0) {
            return QMP_E_PROTO;
        }
        if (r > 0) {
            if (classify(m) == MSG_EVENT) {
                queue_event(c, m);
                continue;
            }
            *out = m;
            return QMP_OK;
        }
        if (c->closed) {
            closed_msg(c, doing, err, errlen);
            return QMP_E_IO;
        }
        r = read_some(c, deadline, err, errlen);
        if (r == QMP_E_TIMEOUT) {
            err_set(err, errlen, "%s: timed out while %s", c->name, doing);
        }
        if (r != QMP_OK) {
            return r;
        }
    }
}

static int send_all(struct qmp_conn *c, const char *p, size_t n,
                    int64_t deadline, const char *what, char *err,
                    size_t errlen)
{
    log_msg(c, "->", p, n);
    while (n > 0) {
        if (c->closed) {
            err_set(err, errlen, "%s: QMP connection %s; cannot send %s",
                    c->name, c->close_why, what);
            return QMP_E_IO;
        }
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = poll_fd(c, POLLOUT, deadline, err, errlen);
            if (r == QMP_E_TIMEOUT) {
                err_set(err, errlen, "%s: timed out sending %s", c->name, what);
            }
            if (r != QMP_OK) {
                return r;
            }
            continue;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        mark_closed(c, w < 0 ? strerror(errno) : "closed");
        err_set(err, errlen, "%s: QMP connection closed (%s) sending %s",
                c->name, c->close_why, what);
        return QMP_E_IO;
    }
    return QMP_OK;
}

static bool id_matches(const json_t *m, json_int_t want)
{
    const json_t *id = json_object_get(m, "id");
    if (!id) {
        return true; /* QEMU always echoes; accept an id-less reply */
    }
    /* a message parsed with all numbers as reals has a real id */
    return json_is_number(id) && json_number_value(id) == (double)want;
}

int qmp_execute(struct qmp_conn *c, const char *cmd, json_t *args,
                int64_t timeout_ns, json_t **ret, char *err, size_t errlen)
{
    if (ret) {
        *ret = NULL;
    }
    c->err_class[0] = c->err_desc[0] = '\0';
    if (args && !json_is_object(args)) {
        err_set(err, errlen, "%s: arguments of '%s' must be a JSON object",
                c->name, cmd);
        return QMP_E_PROTO;
    }
    json_int_t id = ++c->next_id;
    json_t *req = json_pack("{s:s, s:I}", "execute", cmd, "id", id);
    if (!req || (args && json_object_set(req, "arguments", args) != 0)) {
        json_decref(req);
        err_set(err, errlen, "%s: cannot build the '%s' request", c->name, cmd);
        return QMP_E_PROTO;
    }
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!text) {
        err_set(err, errlen, "%s: cannot encode the '%s' request", c->name,
                cmd);
        return QMP_E_PROTO;
    }
    size_t tn = strlen(text);
    char *line = malloc(tn + 2);
    if (!line) {
        free(text);
        err_set(err, errlen, "%s: out of memory", c->name);
        return QMP_E_IO;
    }
    memcpy(line, text, tn);
    line[tn] = '\n';
    line[tn + 1] = '\0';
    free(text);
    int64_t deadline = qmp_now_ns() + timeout_ns;
    char what[96];
    snprintf(what, sizeof(what), "'%s'", cmd);
    int r = send_all(c, line, tn + 1, deadline, what, err, errlen);
    free(line);
    if (r != QMP_OK) {
        return r;
    }
    char doing[128];
    snprintf(doing, sizeof(doing), "waiting for the reply to '%s'", cmd);
    for (;;) {
        json_t *m;
        r = pump(c, deadline, &m, doing, err, errlen);
        if (r == QMP_E_PROTO) {
            size_t l = err ? strlen(err) : 0;
            if (err && l + 1 < errlen) {
                snprintf(err + l, errlen - l, " (reply to '%s')", cmd);
            }
            return r;
        }
        if (r != QMP_OK) {
            return r;
        }
        enum msg_kind k = classify(m);
        if (k != MSG_REPLY) {
            json_decref(m);
            err_set(
                err, errlen,
                "%s: unexpected QMP message (neither reply nor event) while "
                "%s",
                c->name, doing);
            return QMP_E_PROTO;
        }
        if (!id_matches(m, id)) {
            json_decref(m); /* late reply to an earlier, timed-out command */
            continue;
        }
        json_t *e = json_object_get(m, "error");
        if (json_is_object(e)) {
            snprintf(c->err_class, sizeof(c->err_class), "%s",
                     qmp_get_str(e, "class", "?"));
            snprintf(c->err_desc, sizeof(c->err_desc), "%s",
                     qmp_get_str(e, "desc", ""));
            err_set(err, errlen, "'%s' failed: %s: %s", cmd, c->err_class,
                    c->err_desc);
            json_decref(m);
            return QMP_E_QEMU;
        }
        if (ret) {
            *ret = json_incref(json_object_get(m, "return"));
        }
        json_decref(m);
        return QMP_OK;
    }
}

/* Split every complete buffered message: events are queued, anything else
 * (a stray reply or greeting nobody waits for) is dropped. */
static int drain(struct qmp_conn *c, char *err, size_t errlen)
{
    for (;;) {
        json_t *m;
        int r = next_msg(c, &m, err, errlen);
        if (r < 0) {
            return QMP_E_PROTO;
        }
        if (r == 0) {
            return QMP_OK;
        }
        if (classify(m) == MSG_EVENT) {
            queue_event(c, m);
        } else {
            json_decref(m);
        }
    }
}

int qmp_wait_event(struct qmp_conn *c, int64_t timeout_ns, char *err,
                   size_t errlen)
{
    int64_t deadline = qmp_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    /* What is ready now (bounded, so a flood cannot keep us here), then wait
     * for more only if no event is queued. */
    for (int reads = 0;; reads++) {
        int r = drain(c, err, errlen);
        if (r != QMP_OK) {
            return r;
        }
        if (c->closed) {
            if (c->ev_n > 0) {
                return QMP_OK;
            }
            closed_msg(c, "waiting for events", err, errlen);
            return QMP_E_IO;
        }
        bool have = c->ev_n > 0;
        if (have && reads >= 64) {
            return QMP_OK;
        }
        r = read_some(c, have ? qmp_now_ns() : deadline, err, errlen);
        if (r == QMP_E_TIMEOUT) {
            if (have) {
                return QMP_OK;
            }
            err_set(err, errlen, "%s: no event within %lld ms", c->name,
                    (long long)(timeout_ns / 1000000));
            return r;
        }
        if (r != QMP_OK) {
            return r;
        }
    }
}

const char *qmp_error_class(const struct qmp_conn *c)
{
    return c->err_class;
}

const char *qmp_error_desc(const struct qmp_conn *c)
{
    return c->err_desc;
}

bool qmp_is_closed(const struct qmp_conn *c)
{
    return c->closed;
}

int qmp_fd(const struct qmp_conn *c)
{
    return c->fd;
}

const char *qmp_version(const struct qmp_conn *c)
{
    return c->version;
}

unsigned qmp_version_num(const struct qmp_conn *c)
{
    return c->version_num;
}

void qmp_set_log(struct qmp_conn *c, FILE *f)
{
    c->log = f;
}

void qmp_close(struct qmp_conn *c)
{
    if (!c) {
        return;
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    while (c->ev_n > 0) {
        json_decref(qmp_event_pop(c));
    }
    free(c->buf);
    free(c);
}

struct qmp_conn *qmp_open_fd(int fd, const char *name, int64_t timeout_ns,
                             char *err, size_t errlen)
{
    struct qmp_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        err_set(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    c->fd = fd;
    snprintf(c->name, sizeof(c->name), "%s", name);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        err_set(err, errlen, "%s: fcntl: %s", name, strerror(errno));
        qmp_close(c);
        return NULL;
    }
    int64_t deadline = qmp_now_ns() + timeout_ns;
    json_t *m = NULL;
    int r = pump(c, deadline, &m, "waiting for the QMP greeting", err, errlen);
    if (r == QMP_E_TIMEOUT) {
        err_set(err, errlen,
                "%s: no QMP greeting within %lld ms (not a QMP socket, or "
                "another client holds this monitor?)",
                name, (long long)(timeout_ns / 1000000));
    }
    if (r != QMP_OK) {
        qmp_close(c);
        return NULL;
    }
    if (classify(m) != MSG_GREETING) {
        json_decref(m);
        err_set(err, errlen, "%s: the first message is not a QMP greeting",
                name);
        qmp_close(c);
        return NULL;
    }
    const json_t *v = json_object_get(json_object_get(m, "QMP"), "version");
    const json_t *q = json_object_get(v, "qemu");
    unsigned maj = (unsigned)qmp_get_u64(q, "major", 0);
    unsigned min = (unsigned)qmp_get_u64(q, "minor", 0);
    unsigned mic = (unsigned)qmp_get_u64(q, "micro", 0);
    snprintf(c->version, sizeof(c->version), "%u.%u.%u", maj, min, mic);
    c->version_num = maj * 100 + min;
    json_decref(m);
    r = qmp_execute(c, "qmp_capabilities", NULL,
                    deadline - qmp_now_ns() > 0 ? deadline - qmp_now_ns() : 0,
                    NULL, err, errlen);
    if (r != QMP_OK) {
        qmp_close(c);
        return NULL;
    }
    return c;
}

static int connect_unix(const char *path, char *err, size_t errlen, bool *retry)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        err_set(err, errlen, "%s: socket path longer than %zu bytes", path,
                sizeof(sa.sun_path) - 1);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err_set(err, errlen, "%s: socket: %s", path, strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        *retry = e == ENOENT || e == ECONNREFUSED || e == EAGAIN;
        err_set(err, errlen, "%s: connect: %s", path, strerror(e));
        return -1;
    }
    return fd;
}

static int connect_tcp(const char *host, const char *port, int64_t deadline,
                       char *err, size_t errlen, bool *retry)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        err_set(err, errlen, "%s:%s: %s", host, port, gai_strerror(g));
        return -1;
    }
    int fd = -1;
    int e = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            break;
        }
        e = errno;
        if (e == EINPROGRESS) {
            int64_t left = deadline - qmp_now_ns();
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int ms = left > 0 ? (int)(left / 1000000) + 1 : 0;
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (poll(&p, 1, ms) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
                soerr == 0) {
                break;
            }
            e = soerr ? soerr : ETIMEDOUT;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        *retry = e == ECONNREFUSED;
        err_set(err, errlen, "%s:%s: connect: %s", host, port, strerror(e));
    }
    return fd;
}

struct qmp_conn *qmp_connect(const char *addr, int64_t wait_ns,
                             int64_t timeout_ns, char *err, size_t errlen)
{
    char host[256], port[32];
    const char *path = NULL;
    bool tcp = false;
    if (strncmp(addr, "unix:", 5) == 0) {
        path = addr + 5;
    } else {
        const char *a = strncmp(addr, "tcp:", 4) == 0 ? addr + 4 : addr;
        const char *colon = strrchr(a, ':');
        if (a == addr && (strchr(addr, '/') || !colon)) {
            path = addr;
        } else if (!colon || colon == a || !colon[1]) {
            err_set(err, errlen, "%s: expected HOST:PORT", addr);
            return NULL;
        } else {
            size_t hl = (size_t)(colon - a);
            if (a[0] == '[' && hl >= 2 && a[hl - 1] == ']') {
                a++;
                hl -= 2;
            }
            if (hl >= sizeof(host) || strlen(colon + 1) >= sizeof(port)) {
                err_set(err, errlen, "%s: address too long", addr);
                return NULL;
            }
            memcpy(host, a, hl);
            host[hl] = '\0';
            snprintf(port, sizeof(port), "%s", colon + 1);
            tcp = true;
        }
    }
    int64_t t0 = qmp_now_ns();
    int fd;
    for (;;) {
        bool retry = false;
        fd = tcp ? connect_tcp(host, port, t0 + wait_ns + timeout_ns, err,
                               errlen, &retry)
                 : connect_unix(path, err, errlen, &retry);
        if (fd >= 0 || !retry || qmp_now_ns() - t0 >= wait_ns) {
            break;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (fd < 0) {
        return NULL;
    }
    return qmp_open_fd(fd, addr, timeout_ns, err, errlen);
}
