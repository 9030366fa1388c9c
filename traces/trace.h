/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/trace.h — reading QEMU trace logs and migration status records:
 * contract.
 *
 * A reader streams one or more inputs (files, "-" for stdin, gzip files,
 * or memory buffers) and hands out one record at a time.  Memory is bounded
 * regardless of input length: inputs are read into one buffer of
 * TRC_WINDOW_BYTES (or, with trc_options.mmap, regular files are mapped
 * in windows of that size, unmapped as the reader moves on); a line longer than
 * max_line is reported (file:line), skipped and counted, never buffered whole.
 *
 * Input formats (enum trc_format; auto-detected per line unless forced):
 *   log       "name args"                        log backend, default
 *   log-tid   "TID@SEC.USEC:name args"           log backend <= 10.0 with
 *                                                -msg timestamp=on
 *   log-iso   "2025-07-21T18:43:28.089797Z name args"   10.1+ timestamp=on
 *   stap      "PID@NANOSECONDS name args"        qemu-trace-stap / log-stap
 *   simple    simpletrace binary (header, mapping and event records); the
 *             argument layout comes from a trace-events-all file
 *             (trc_options.events_path), falling back to the catalogue's
 *             own layouts when an event is not declared there
 *   embedded  trace lines inside a larger log (libvirt's per-domain log,
 *             journal, syslog): a catalogue event name found anywhere
 *             after a prefix, or a "TID@SEC.USEC:" prefix in mid-line
 *   qmp       query-migrate replies, one JSON object per line, with or
 *             without the {"return": ...} wrapper, optionally with a
 *             "timestamp" member; QMP events (MIGRATION, MIGRATION_PASS,
 *             STOP, ...) and the greeting (QEMU version) are read too
 *   hmp       "info migrate" dumps (the "Migration status: ..." key/value
 *             block), one or many
 * In auto mode every line is classified by its own shape, so a log that
 * mixes these (QMP chatter in a trace, an HMP dump after trace lines) is
 * read whole.  A forced format accepts only its own shape; anything else
 * is malformed.  gzip input is recognised by its magic, whatever the name.
 *
 * Lines that are neither trace events nor status records (error messages,
 * shell prompts, blank lines) are counted as "other" and skipped silently.
 * A line naming a catalogue event whose arguments do not match any known
 * version of its format, a line carrying binary bytes, an over-long line
 * and a damaged simpletrace record are *malformed*: reported as
 * "file:line: reason", counted, skipped; with trc_options.strict the first
 * one makes trc_reader_next() fail.  Events not in the catalogue are
 * *unknown*: counted per name and listed, never an error.
 *
 * Speed: every file is read() through the reader's buffer, one memchr()
 * per line; trc_options.mmap maps regular files in windows instead, and
 * force_threads parses a mapped regular text file in auto mode on a
 * helper thread: it turns plain event lines into records while the
 * caller consumes them; every other line is handled in order on the
 * caller's thread, so the records, counters and messages are exactly
 * those of the serial reader.  At most 3 windows and 4 chunks of 4096
 * records are alive at a time.  Neither is on by default: on the 2-vCPU
 * machines this was measured on, both were slower than the serial read()
 * (docs/benchmarks.md).  In lazy mode (trc_options.lazy) only events the
 * timeline interprets get typed arguments.
 *
 * Records point into the reader's buffers: valid until the next call.
 * Times are int64 ns (TRC_NO_TIME when the line has none): Unix epoch for
 * log-tid/log-iso/stap (stap's gettimeofday_ns), QEMU's clock for simple.
 */
#ifndef MIGSIM_TRACES_TRACE_H
#define MIGSIM_TRACES_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRC_NO_TIME        INT64_MIN
#define TRC_MAX_SLOTS      10
#define TRC_WINDOW_BYTES   ((size_t)8 << 20) /* map / buffer window */
#define TRC_DEFAULT_LINE   ((size_t)256 << 10)
#define TRC_DEFAULT_EVENTS "/usr/share/qemu/trace-events-all"

enum trc_format {
    TRC_FMT_AUTO = 0,
    TRC_FMT_LOG,
    TRC_FMT_LOG_TID,
    TRC_FMT_LOG_ISO,
    TRC_FMT_STAP,
    TRC_FMT_SIMPLE,
    TRC_FMT_EMBEDDED,
    TRC_FMT_QMP,
    TRC_FMT_HMP,
    TRC_FMT_DOMJOBINFO, /* virsh domjobinfo [--completed] dumps */
    TRC_FMT_PROXMOX,    /* Proxmox VE migration task log lines */
    TRC_FMT_COUNT
};

/* "auto", "log", "log-tid", "log-iso", "stap", "simple", "embedded",
 * "qmp", "hmp", "domjobinfo", "proxmox". */
const char *trc_format_name(enum trc_format f);
/* Inverse; 0, or -1 for an unknown name. */
int trc_format_from_name(const char *s, enum trc_format *f);

/*
 * The event catalogue: every event the replay interprets, QEMU 7.2 ... 10.x
 * (and the post-10.2 VFIO fork events).  Arguments are extracted into
 * numbered slots; the slot layout of each event is fixed across versions
 * (so hex and decimal VFIO sizes, 4- and 5-value migrate_transferred etc.
 * land in the same slots) and documented by trc_event_slot_name().
 * Events in QEMU's trace-events files that the replay does not interpret
 * but that belong to migration are known by name (TRC_EV_OTHER_KNOWN).
 */
enum trc_ev {
    TRC_EV_UNKNOWN = 0,
    TRC_EV_OTHER_KNOWN, /* a known migration event without typed args */
    /* migration core (source) */
    TRC_EV_SET_STATE,         /* 0 state (string) */
    TRC_EV_PENDING,           /* 7.2: 0 size 1 pre 2 post 3 max 4 compat */
    TRC_EV_PENDING_ESTIMATE,  /* 0 size 1 pre 2 post [3 max 4 compat] */
    TRC_EV_PENDING_EXACT,     /* same */
    TRC_EV_TRANSFERRED,       /* 0 bytes 1 time_ms 2 bw B/ms 3 switchover_bw
                                 B/ms (8.2+) 4 max_size (threshold) */
    TRC_EV_TRANSFERRED_BYTES, /* 0 qemu_file 1 multifd 2 rdma (10.0+) */
    TRC_EV_SYNC_START,
    TRC_EV_SYNC_END,       /* 0 dirty pages (cumulative in the period) */
    TRC_EV_LOW_PENDING,    /* 0 pending */
    TRC_EV_SETUP_COMPLETE, /* migration_thread_setup_complete */
    TRC_EV_AFTER_LOOP,     /* migration_thread_after_loop */
    TRC_EV_THREAD_FILE_ERR,
    TRC_EV_COMPLETION_VM_STOP, /* 0 ret */
    TRC_EV_COMPLETION_FILE_ERR,
    TRC_EV_COMPLETION_POSTCOPY_END,
    TRC_EV_COMPLETION_POSTCOPY_END_AFTER,
    TRC_EV_PRECOPY_COMPLETE,
    TRC_EV_RATE_LIMIT_PRE,    /* 0 ms */
    TRC_EV_RATE_LIMIT_POST,   /* 0 urgent */
    TRC_EV_THROTTLE,          /* migration_throttle */
    TRC_EV_DIRTY_LIMIT_GUEST, /* 0 MB/s */
    TRC_EV_CPU_THROTTLE_SET,  /* 0 percent */
    TRC_EV_CPU_THROTTLE_DIRTY_SYNC,
    TRC_EV_DIRTYLIMIT_SET_VCPU,     /* 0 cpu 1 quota MB/s */
    TRC_EV_DIRTYLIMIT_THROTTLE_PCT, /* 0 cpu 1 pct 2 adjust us */
    TRC_EV_DIRTYLIMIT_VCPU_EXECUTE, /* 0 cpu 1 sleep us */
    TRC_EV_RAM_BIG_WAIT,            /* 0 ms 1 iterations */
    TRC_EV_RAM_SAVE_COMPLETE,       /* 0 dirty pages 1 done */
    TRC_EV_POSTCOPY_START,
    TRC_EV_POSTCOPY_START_SET_RUN,
    TRC_EV_SWITCHOVER_ACKED,
    TRC_EV_SAVEVM_STATE_SETUP,
    TRC_EV_SAVEVM_STATE_ITERATE,
    TRC_EV_SAVEVM_STATE_CLEANUP,
    TRC_EV_SAVEVM_STATE_HEADER,
    TRC_EV_SAVEVM_STATE_COMPLETE_PRECOPY,
    TRC_EV_SAVEVM_SECTION_START, /* 0 idstr 1 section id */
    TRC_EV_SAVEVM_SECTION_END,   /* 0 idstr 1 section id 2 ret */
    TRC_EV_SAVEVM_SEND_SWITCHOVER_START,
    TRC_EV_DOWNTIME_SAVE,       /* 0 type 1 idstr 2 instance 3 us */
    TRC_EV_DOWNTIME_CHECKPOINT, /* 0 name */
    TRC_EV_BLOCK_ACTIVATION,    /* 0 text */
    /* destination */
    TRC_EV_DOWNTIME_LOAD,             /* 0 type 1 idstr 2 instance 3 us */
    TRC_EV_LOADVM_ACK_NEEDED,         /* 0 num */
    TRC_EV_LOADVM_APPROVE_SWITCHOVER, /* 0 num */
    TRC_EV_INCOMING_END,              /* 0 ret 1 postcopy state */
    /* VFIO: slot 0 is always the device name */
    TRC_EV_VFIO_PROBE,
    TRC_EV_VFIO_REALIZE,
    TRC_EV_VFIO_SET_STATE,              /* 1 new state 2 recover state */
    TRC_EV_VFIO_SET_DEVICE_STATE,       /* 1 state */
    TRC_EV_VFIO_VMSTATE_CHANGE,         /* 1 running 2 reason 3 device state */
    TRC_EV_VFIO_VMSTATE_CHANGE_PREPARE, /* same */
    TRC_EV_VFIO_STATE_NOTIFIER,         /* 1 state */
    TRC_EV_VFIO_SAVE_SETUP,             /* 1 data buffer size */
    TRC_EV_VFIO_SAVE_CLEANUP,
    TRC_EV_VFIO_SAVE_CONFIG,
    TRC_EV_VFIO_PENDING_ESTIMATE, /* 1 must sum 2 can sum 4 init 5 dirty */
    TRC_EV_VFIO_PENDING_EXACT,    /* 1 must 2 can 3 stop-copy [4 init
                                     5 dirty] */
    TRC_EV_VFIO_PENDING,          /* fork: 3 stop-copy 4 init 5 dirty 6 ack
                                     7 exact 8 final */
    TRC_EV_VFIO_SAVE_PENDING,     /* 7.2 v1: 1 precopy 2 postcopy 6 compat */
    TRC_EV_VFIO_UPDATE_PENDING,   /* v1: 2 pending */
    TRC_EV_VFIO_SAVE_BUFFER,      /* v1: 1 size 2 pending 3 offset */
    TRC_EV_VFIO_SAVE_ITERATE,     /* 4 init 5 dirty, or 7.2: 1 data size */
    TRC_EV_VFIO_SAVE_ITERATE_START,
    TRC_EV_VFIO_SAVE_COMPLETE, /* 1 ret */
    TRC_EV_VFIO_SAVE_COMPLETE_START,
    TRC_EV_VFIO_SAVE_THREAD_START, /* 1 idstr 2 instance */
    TRC_EV_VFIO_SAVE_THREAD_END,   /* 1 ret */
    TRC_EV_VFIO_SAVE_BLOCK,        /* 1 data size */
    TRC_EV_VFIO_SAVE_BLOCK_EMPTY,
    TRC_EV_VFIO_LOAD_STATE,       /* 1 data */
    TRC_EV_VFIO_LOAD_DEVICE_DATA, /* 1 size 2 ret 3 offset */
    TRC_EV_VFIO_LOAD_CLEANUP,
    TRC_EV_VFIO_LOAD_CONFIG,
    TRC_EV_VFIO_LOAD_CONFIG_START,
    TRC_EV_VFIO_LOAD_CONFIG_END,
    TRC_EV_VFIO_LOAD_BUFS_START,
    TRC_EV_VFIO_LOAD_BUFS_END,
    TRC_EV_VFIO_LOAD_BUFFER_INCOMING, /* 1 idx */
    TRC_EV_VFIO_QUERY_STOP_COPY,      /* 3 stop-copy 1 ret */
    TRC_EV_VFIO_QUERY_PRECOPY,        /* 4 init 5 dirty 1 reinit 2 ret */
    TRC_EV_VFIO_SEND_INIT_DATA,
    /* the end of a migration: 10.0 names, then their 7.2 ones */
    TRC_EV_MIG_CLEANUP, /* migration_cleanup */
    TRC_EV_MIG_CANCEL,  /* migration_cancel (also written at quit) */
    TRC_EV_MIG_ERROR,   /* migrate_error: 0 error text */
    TRC_EV_FD_CLEANUP,  /* migrate_fd_cleanup */
    TRC_EV_FD_CANCEL,   /* migrate_fd_cancel */
    TRC_EV_FD_ERROR,    /* migrate_fd_error: 0 error text */
    TRC_EV_COUNT
};

/* Event flags. */
enum {
    TRC_EVF_DEST = 1u << 0,     /* emitted by the destination */
    TRC_EVF_VFIO = 1u << 1,     /* hw/vfio */
    TRC_EVF_TIMELINE = 1u << 2, /* interpreted by the timeline */
};

/* Name as QEMU spells it; "" for TRC_EV_UNKNOWN / OTHER_KNOWN. */
const char *trc_event_name(enum trc_ev ev);
unsigned trc_event_flags(enum trc_ev ev);
/* Meaning of slot i of ev ("size", "stopcopy", ...), NULL if unused. */
const char *trc_event_slot_name(enum trc_ev ev, unsigned slot);
/* Number of format variants (QEMU versions) the catalogue knows for ev,
 * and variant v as a pattern text (literal text with %s %u %d %x and a
 * slot digit; %x accepts 0x-hex or decimal).  NULL if out of range. */
unsigned trc_event_variants(enum trc_ev ev);
const char *trc_event_pattern(enum trc_ev ev, unsigned v);
/* Catalogue lookup by name (not NUL-terminated); TRC_EV_UNKNOWN if the
 * name is neither interpreted nor a known migration event. */
enum trc_ev trc_event_lookup(const char *name, size_t len);
/* Is this (unknown) name migration-related by its prefix (migrat*,
 * savevm*, loadvm*, vmstate*, vfio_*, ram_*, multifd*, postcopy*, cpr_*,
 * dirtylimit*, cpu_throttle*)?  Used to list unknown migration events
 * apart from other unknown events. */
bool trc_name_is_migration(const char *name, size_t len);

/* One extracted argument: a string span (s != NULL) or a number in u
 * (signed values as two's complement). */
struct trc_arg {
    uint64_t u;
    const char *s;
    uint32_t len;
};

/* A query-migrate reply or an HMP "info migrate" dump.  Fields not in the
 * input have their TRC_SNAP_* bit clear in `have`. */
enum {
    TRC_SNAP_STATUS = 1u << 0,
    TRC_SNAP_TOTAL_TIME = 1u << 1,
    TRC_SNAP_SETUP_TIME = 1u << 2,
    TRC_SNAP_DOWNTIME = 1u << 3,
    TRC_SNAP_EXPECTED_DOWNTIME = 1u << 4,
    TRC_SNAP_TRANSFERRED = 1u << 5,
    TRC_SNAP_REMAINING = 1u << 6,
    TRC_SNAP_TOTAL = 1u << 7,
    TRC_SNAP_DIRTY_RATE = 1u << 8,
    TRC_SNAP_MBPS = 1u << 9,
    TRC_SNAP_SYNC_COUNT = 1u << 10,
    TRC_SNAP_PAGE_SIZE = 1u << 11,
    TRC_SNAP_MULTIFD = 1u << 12,
    TRC_SNAP_PRECOPY = 1u << 13,
    TRC_SNAP_DOWNTIME_BYTES = 1u << 14,
    TRC_SNAP_POSTCOPY = 1u << 15,
    TRC_SNAP_VFIO = 1u << 16,
    TRC_SNAP_THROTTLE = 1u << 17,
    TRC_SNAP_NORMAL = 1u << 18,
    TRC_SNAP_DUPLICATE = 1u << 19,
    TRC_SNAP_PAGES_PER_S = 1u << 20,
};

struct trc_snapshot {
    uint32_t have;
    bool from_hmp;
    char status[32];
    int64_t total_time_ms, setup_time_ms, downtime_ms, expected_downtime_ms;
    uint64_t transferred_bytes, remaining_bytes, total_bytes;
    uint64_t dirty_pages_rate; /* pages per second */
    double mbps;
    uint64_t dirty_sync_count, page_bytes;
    uint64_t multifd_bytes, precopy_bytes, downtime_bytes, postcopy_bytes;
    uint64_t vfio_bytes, normal_pages, duplicate_pages, pages_per_second;
    double throttle_pct;
};

enum trc_rec_kind {
    TRC_REC_EVENT = 0,    /* a trace event (ev may be TRC_EV_UNKNOWN) */
    TRC_REC_SNAPSHOT,     /* snap holds a query-migrate / info migrate */
    TRC_REC_QMP_EVENT,    /* a QMP event: name = "MIGRATION" etc.; slot 0 is
                             status (MIGRATION) or pass (MIGRATION_PASS) */
    TRC_REC_QMP_GREETING, /* slots 0,1,2 = major, minor, micro */
    TRC_REC_PARAMS,       /* migration parameters set (migrate-set-parameters,
                           * migrate_set_downtime, migrate_set_speed, a Proxmox
                           * "migration downtime limit"): slot 0 downtime-limit
                           * ms, 1 max-bandwidth B/s, 2 avail-switchover-bandwidth
                           * B/s (present bits); name = the command */
};

struct trc_record {
    enum trc_rec_kind kind;
    enum trc_format format; /* the shape this record was read in */
    enum trc_ev ev;
    unsigned variant; /* which catalogue pattern matched */
    int64_t t_ns;     /* TRC_NO_TIME if none */
    int64_t tid;      /* thread / process id, -1 if none */
    unsigned file;    /* index of the input (trc_reader_file_name) */
    uint64_t line;    /* 1-based line, or record number for simple */
    const char *name; /* event name (not NUL-terminated) */
    size_t name_len;
    const char *args; /* raw argument text (text formats only) */
    size_t args_len;
    uint32_t present; /* bit i: slot i was extracted */
    bool hex;         /* a %x argument was printed as 0x...: VFIO sizes of
                         QEMU < 9.2 */
    struct trc_arg a[TRC_MAX_SLOTS];
    const struct trc_snapshot *snap; /* TRC_REC_SNAPSHOT */
};

struct trc_options {
    enum trc_format format;  /* TRC_FMT_AUTO: detect */
    const char *events_path; /* NULL: TRC_DEFAULT_EVENTS if readable */
    bool strict;             /* first malformed line is fatal */
    size_t max_line;         /* 0: TRC_DEFAULT_LINE (<= half a window) */
    unsigned max_messages;   /* malformed reports kept; 0: 20 */
    bool no_mmap;            /* read() even regular files, whatever mmap
                                and force_threads say (tests) */
    bool mmap;               /* map regular files in windows instead of
                                read() (tests; the default reads) */
    bool no_events;          /* load no trace-events file at all (fuzzing,
                                reproducible tests) */
    bool no_threads;         /* never parse on a helper thread (wins
                                over force_threads) */
    bool force_threads;      /* map regular text files and parse them on
                                a helper thread in auto mode (off by
                                default: slower where measured) */
    bool lazy;               /* for the timeline: catalogue events it does
                                not interpret (no TRC_EVF_TIMELINE) are
                                counted (stats) but not handed out, and
                                their arguments are not checked */
    bool sha256;             /* hash the first input's bytes as they are
                                read (a gzip file's compressed bytes: the
                                file's digest) into trc_stats.sha256 */
};

/* Input statistics (counts are over all inputs so far). */
#define TRC_MAX_UNKNOWN_NAMES 64
struct trc_unknown {
    char name[48];
    uint64_t count;
    bool migration; /* trc_name_is_migration() */
};

struct trc_stats {
    uint64_t bytes;             /* input bytes consumed (decompressed) */
    uint64_t lines;             /* text lines, or simpletrace records */
    uint64_t records;           /* records handed out */
    uint64_t events;            /* trace events (known + unknown) */
    uint64_t known;             /* catalogue events with typed args */
    uint64_t unknown;           /* events not in the catalogue */
    uint64_t unknown_migration; /* of which migration-related */
    uint64_t malformed;         /* reported and skipped */
    uint64_t long_lines;        /* of which over max_line */
    uint64_t other;             /* non-trace lines (messages, blank, chatter) */
    uint64_t snapshots;         /* query-migrate / info migrate records */
    uint64_t qmp_events;
    uint64_t dropped;                   /* simpletrace "dropped events" count */
    uint64_t per_format[TRC_FMT_COUNT]; /* records per shape */
    uint64_t per_event[TRC_EV_COUNT];
    unsigned n_unknown_names;        /* distinct, capped */
    uint64_t unknown_names_overflow; /* events of names beyond the cap */
    struct trc_unknown unknown_names[TRC_MAX_UNKNOWN_NAMES];
    unsigned n_messages; /* malformed reports kept (first max_messages) */
    char **messages;     /* "file:line: reason" */
    unsigned decls;      /* events declared by the trace-events file */
    uint64_t nonfinite;  /* nan / -nan / inf values in JSON: read as missing */
    uint64_t multiline_json; /* pretty-printed JSON objects read */
    char sha256[65];         /* trc_options.sha256: hex SHA-256 of the first
                                input, once read to its end; "" otherwise */
};

struct trc_reader;

/* New reader.  events_path (or the default) is loaded here: a given path
 * that cannot be read is an error; a missing default is not.  NULL with a
 * message in err. */
struct trc_reader *trc_reader_new(const struct trc_options *o, char *err,
                                  size_t errlen);
void trc_reader_free(struct trc_reader *r);

/* Queue an input: a path, or "-" for stdin (at most once).  The file is
 * checked here (exists, readable) and opened when the reader reaches it.
 * 0, or -1 with a message naming the path. */
int trc_reader_add_file(struct trc_reader *r, const char *path, char *err,
                        size_t errlen);
/* Queue a memory buffer (not copied: must outlive the reader), named
 * `name` in messages. */
int trc_reader_add_mem(struct trc_reader *r, const char *name, const void *data,
                       size_t len, char *err, size_t errlen);

/*
 * Next record.  Returns 1 (rec filled), 0 at the end of all inputs, or -1
 * on a fatal error (I/O, or a malformed line under strict) with a message
 * naming file and line in err.
 */
int trc_reader_next(struct trc_reader *r, struct trc_record *rec, char *err,
                    size_t errlen);

/* Typed arguments of a text event record that came without them (lazy
 * mode): 0 when they match a format of the event, -1 if not (or not a
 * catalogue event). */
int trc_record_parse_args(const struct trc_reader *r, struct trc_record *rec);

/* Same without a copy: *out points at a record owned by the reader,
 * valid until the next call.  Faster on big inputs. */
int trc_reader_next_ref(struct trc_reader *r, const struct trc_record **out,
                        char *err, size_t errlen);

const struct trc_stats *trc_reader_stats(const struct trc_reader *r);
unsigned trc_reader_n_files(const struct trc_reader *r);
const char *trc_reader_file_name(const struct trc_reader *r, unsigned i);
/* The shape most records had so far (TRC_FMT_AUTO if none). */
enum trc_format trc_reader_dominant_format(const struct trc_reader *r);
/* Progress: bytes of the current and earlier inputs read (compressed
 * offset for gzip) and their total size when known (0 = unknown, e.g.
 * stdin). */
void trc_reader_progress(const struct trc_reader *r, uint64_t *done,
                         uint64_t *total);

/* ---- helpers shared with the QMP/HMP and simpletrace parts (exposed for
 * tests) ---- */

/* Parse an ISO-8601 UTC time "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|+hhmm)"
 * (a space instead of 'T' is accepted) at s[0..len).  Returns the number of
 * characters used (0 if s does not start with such a time) and the time in
 * *ns (Unix epoch). */
size_t trc_parse_iso8601(const char *s, size_t len, int64_t *ns);

/*
 * Match args text against a catalogue pattern; fill rec->a / rec->present.
 * Returns 0 when the whole text matched (trailing blanks allowed), -1
 * otherwise (rec->present then undefined).
 */
int trc_match_pattern(const char *pattern, const char *args, size_t len,
                      struct trc_record *rec);

#endif
