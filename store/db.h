/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/db.h — the run store: one SQLite file holding every run (simulated,
 * replayed or observed live) with its metadata, metrics, per-iteration
 * samples, events and devices: contract.
 *
 * File format (see docs/store.md for the full schema):
 *   - PRAGMA application_id = DB_APPLICATION_ID ("MGSM"), so file(1) and
 *     db_open() recognise a migsim store; any other non-zero id is refused,
 *     and so is a non-empty SQLite file without our id.
 *   - PRAGMA user_version = schema version.  db_open() applies every newer
 *     migration step (forward-only) in one transaction; a file whose
 *     version is newer than DB_SCHEMA_VERSION is refused with a message.
 *   - WAL journal, synchronous=NORMAL, foreign_keys=ON, busy timeout
 *     DB_BUSY_TIMEOUT_MS; all tables STRICT.
 *   - Tables: runs (metadata), results (metrics, one row per finished run),
 *     series_chunks and event_chunks (samples with their device sizes, and
 *     events: one BLOB per batch of consecutive items, columnar, delta +
 *     varint, store/blob.c; layout in docs/store.md), devices (per-device
 *     results).  Children cascade on delete.
 *   - Schema 3 put samples and events in chunks because SQLite's per-row
 *     cost (about 2.7 us a row; 25 000 rows for a 1 h run of the seed case)
 *     was most of what keeping a run cost.  A v1/v2 store is migrated on
 *     the first open for writing, every row into chunks and the row tables
 *     dropped, in the one migration transaction (a failure leaves it as
 *     it was); a v2 store opened read-only is read as it is (rows).  A
 *     chunk that does not decode exactly is an error naming the run,
 *     never a crash.
 *
 * Units: times int64 ns (timestamps: ns since the Unix epoch), sizes uint64
 * bytes, rates double bytes/s.  uint64 values are stored in SQLite's
 * signed 64-bit INTEGER by bit pattern and read back unchanged.  A NaN
 * double is stored as NULL and read back as NaN.
 *
 * Writing a run: db_run_begin() commits a runs row marked incomplete;
 * db_run_add_samples()/db_run_add_events() each commit one transaction per
 * batch (one chunk); db_run_finish() writes metrics and devices and marks
 * the run complete in one transaction; db_run_save() does all of it in one
 * transaction.  A process killed at any point leaves the
 * file consistent: the run is absent or marked incomplete holding the
 * batches committed so far; earlier runs are untouched.
 *
 * Run key: a SHA-256 (hex) over kind, scenario (its SHA-256), source file
 * hash, QEMU model, policy, seed, rng, program version and start time.  It
 * travels with the run through export/import and merge, so a run copied
 * twice into one file is recognised and skipped.
 *
 * Errors: functions return 0 (or a pointer) on success and a negative
 * value (or NULL) on failure with a message in err (which may be NULL)
 * naming the file, the field or SQLite's message and extended code.
 */
#ifndef MIGSIM_STORE_DB_H
#define MIGSIM_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "run/fields.h"
#include "run/result.h"

#define DB_APPLICATION_ID 0x4d47534d /* "MGSM" */
#define DB_SCHEMA_VERSION 3
/* The oldest schema a read-only handle reads as it is (see db_open). */
#define DB_SCHEMA_ROWS_VERSION 2
#define DB_BUSY_TIMEOUT_MS     5000
#define DB_DEFAULT_PATH        "migsim.db"
/* db_open/db_open_existing run PRAGMA quick_check on stores up to this
 * size (about 25 ms per MiB) and refuse a damaged one; on larger stores
 * they walk the runs and results b-trees only.  Any SQLITE_CORRUPT later
 * stops writes through that handle, too. */
#define DB_QUICK_CHECK_MAX_BYTES (1024LL * 1024)

/* Return codes besides 0 and -1. */
#define DB_ERR_NOTFOUND  (-2) /* no run with that id */
#define DB_ERR_DUPLICATE (-3) /* import: run key already present */

enum db_run_kind { DB_KIND_SIM = 0, DB_KIND_REPLAY, DB_KIND_LIVE };

const char *db_kind_name(enum db_run_kind k); /* "sim" | "replay" | "live" */
int db_kind_from_name(const char *s, enum db_run_kind *k); /* -1: unknown */

/*
 * Run metadata.  The four char * strings are optional (NULL = none).
 * db_run_begin() only reads them (the caller keeps ownership); a meta filled
 * by db_run_load() owns them: free with db_run_meta_free().
 */
struct db_run_meta {
    int64_t id; /* set by db_run_begin / db_run_load */
    enum db_run_kind kind;
    char *scenario_json;    /* scenario as JSON text (sim runs) */
    char source_path[1024]; /* scenario/trace file, "" if none */
    char source_sha256[65]; /* hex of the source file, "" if none */
    char qemu[16];          /* QEMU version model, e.g. "9.1" */
    char policy[160];       /* policy spec as given */
    uint64_t seed;
    char rng[32];         /* GSL generator name, e.g. "taus2" */
    char version[32];     /* program version; "" = MIGSIM_VERSION */
    char *command_line;   /* the whole command line */
    int64_t started_ns;   /* Unix epoch ns; 0 = now at db_run_begin */
    int64_t finished_ns;  /* set by db_run_finish */
    uint64_t fingerprint; /* engine fingerprint (from the metrics) */
    bool complete;        /* db_run_finish was reached */
    char run_key[65];     /* "" = computed by db_run_begin */
    char *verdict;        /* one-line verdict (db_run_annotate) */
    char *diagnosis;      /* longer diagnosis text (db_run_annotate) */
    uint64_t n_samples;   /* rows stored (filled by load and list) */
    uint64_t n_events;
};

/* Zero a meta (all strings empty/NULL).  */
void db_run_meta_init(struct db_run_meta *m);

/*
 * Where a run comes from: what every command that stores a run fills in,
 * and db_run_meta_build() turns into a meta.  Strings are borrowed (NULL =
 * none) and must outlive the meta.  Only a simulated run (DB_KIND_SIM) has
 * a seed and a generator: its rng is the engine's (sim_rng_name()); an
 * observed run (replay, live) records seed 0 and no generator.
 */
struct db_run_origin {
    enum db_run_kind kind;
    const char *scenario_json; /* scenario as JSON text */
    const char *source_path;   /* scenario/trace file or a description */
    const char *source_sha256; /* hex digest of the source file */
    const char *qemu;          /* QEMU version model */
    const char *policy;        /* policy spec as given */
    uint64_t seed;             /* simulated runs only */
    const char *command_line;
    uint64_t fingerprint;
    const char *run_key; /* a key computed by the caller; NULL = the one
                            db_run_begin computes */
};
void db_run_meta_build(struct db_run_meta *m, const struct db_run_origin *o);
/* Free the owned strings of a meta filled by db_run_load; re-inits it. */
void db_run_meta_free(struct db_run_meta *m);

struct db;

/* Open (creating if missing) the store at path; migrate it to
 * DB_SCHEMA_VERSION.  NULL on error. */
struct db *db_open(const char *path, char *err, size_t errlen);
/* Same, but a missing file is an error instead of being created. */
struct db *db_open_existing(const char *path, char *err, size_t errlen);
/* Open an existing store for reading only: the commands that only read
 * (runs list/show/export/diff, plot, report, merge inputs).  Where the
 * WAL's -shm file cannot be created (a read-only directory or medium) the
 * file is read as immutable.  Writes through this handle fail. */
struct db *db_open_readonly(const char *path, char *err, size_t errlen);
void db_close(struct db *db);
/* The sqlite3 handle, for tests and ad-hoc queries. */
struct sqlite3 *db_handle(struct db *db);
/* The file path given to db_open. */
const char *db_path(const struct db *db);

/* Insert a runs row (complete = 0) and commit; *id receives its id.
 * Fills an empty run_key, version and a zero started_ns in a copy only. */
int db_run_begin(struct db *db, const struct db_run_meta *meta, int64_t *id,
                 char *err, size_t errlen);
/* Append n samples (one transaction).  Sample numbering continues from the
 * rows already stored for the run. */
int db_run_add_samples(struct db *db, int64_t id, const struct run_sample *s,
                       size_t n, char *err, size_t errlen);
int db_run_add_events(struct db *db, int64_t id, const struct run_event *ev,
                      size_t n, char *err, size_t errlen);
/* Write metrics and devices, set finished (now) and fingerprint, mark the
 * run complete: one transaction.  Samples and events in res are NOT
 * written (use the add calls). */
int db_run_finish(struct db *db, int64_t id, const struct run_result *res,
                  char *err, size_t errlen);
/* Group the writes that follow into one transaction (each write becomes
 * a savepoint in it: a failed one is undone alone) until db_batch_commit,
 * which commits them together.  A process killed before the commit loses
 * the whole group and nothing else.  For many small runs (a sweep's
 * points); no-ops when no batch is open / already open. */
int db_batch_begin(struct db *db, char *err, size_t errlen);
int db_batch_commit(struct db *db, char *err, size_t errlen);
/* Set verdict and diagnosis text (NULL leaves a field unchanged). */
int db_run_annotate(struct db *db, int64_t id, const char *verdict,
                    const char *diagnosis, char *err, size_t errlen);
/* Convenience: begin, samples, events and finish in one transaction (a
 * failure or a kill leaves no trace of the run). */
int db_run_save(struct db *db, const struct db_run_meta *meta,
                const struct run_result *res, int64_t *id, char *err,
                size_t errlen);

/* Load a run: meta (owned strings) and result (init'ed here; free with
 * run_result_free).  An incomplete run loads with whatever was written and
 * m.outcome = RUN_INCOMPLETE.  DB_ERR_NOTFOUND if there is no such run. */
int db_run_load(struct db *db, int64_t id, struct db_run_meta *meta,
                struct run_result *res, char *err, size_t errlen);

/* Load several runs: *metas and *res are calloc'ed arrays of n (free with
 * db_runs_free).  On error nothing is left allocated. */
int db_run_load_many(struct db *db, const int64_t *ids, size_t n,
                     struct db_run_meta **metas, struct run_result **res,
                     char *err, size_t errlen);
/* Free n loaded runs and the two arrays (either may be NULL). */
void db_runs_free(struct db_run_meta *metas, struct run_result *res, size_t n);

/* One line of a listing. */
struct db_run_summary {
    int64_t id;
    enum db_run_kind kind;
    bool complete;
    int64_t started_ns;
    char qemu[16];
    char policy[160];
    char source[128]; /* basename of source_path (truncated) */
    uint64_t seed;
    bool have_metrics;
    enum run_outcome outcome;
    int64_t total_ns;
    int64_t downtime_ns;
};

/* All runs in id order: *out is malloc'ed (free()), *n its length. */
int db_list(struct db *db, struct db_run_summary **out, size_t *n, char *err,
            size_t errlen);
/* Delete a run and everything it owns.  DB_ERR_NOTFOUND if absent. */
int db_delete(struct db *db, int64_t id, char *err, size_t errlen);
/* Id of the run with this key, 0 if none, negative on error. */
int64_t db_find_key(struct db *db, const char *run_key, char *err,
                    size_t errlen);

/*
 * Resolve run selectors: "ID", "A-B" (inclusive range of existing ids),
 * "all" (every run), "last" (highest id).  *ids is malloc'ed, in the order
 * given, without duplicates.  A selector naming no existing run is an
 * error.
 */
int db_select_runs(struct db *db, char **sel, int nsel, int64_t **ids,
                   size_t *n, char *err, size_t errlen);

/* Open an existing store, resolve the selectors and load those runs (as
 * db_run_load_many), closing the store again.  0, DB_ERR_NOTFOUND when a
 * selector names no run, or -1 (cannot open, SQLite error) with a message;
 * on error nothing is left allocated. */
int db_load_selected(const char *path, char **sel, int nsel,
                     struct db_run_meta **metas, struct run_result **res,
                     size_t *n, char *err, size_t errlen);

/* Export formats. */
enum db_csv_table {
    DB_CSV_SERIES = 0,
    DB_CSV_EVENTS,
    DB_CSV_METRICS,
    DB_CSV_DEVICES
};
int db_csv_table_from_name(const char *s, enum db_csv_table *t);

/* JSON document of one run ("format": "migsim-run", version 1), indented,
 * newline-terminated. */
int db_export_json(struct db *db, int64_t id, FILE *out, char *err,
                   size_t errlen);
/* One table of a run as CSV (RFC 4180 quoting, header line). */
int db_export_csv(struct db *db, int64_t id, enum db_csv_table t, FILE *out,
                  char *err, size_t errlen);
/* Import a document written by db_export_json.  *id receives the new id,
 * or with DB_ERR_DUPLICATE the id of the run already holding its key. */
int db_import_json(struct db *db, const char *path, int64_t *id, char *err,
                   size_t errlen);
/* Same, from a string; name is used in messages. */
int db_import_json_text(struct db *db, const char *text, const char *name,
                        int64_t *id, char *err, size_t errlen);

/* Write a complete run record (meta incl. run_key, complete, finished_ns,
 * verdict and diagnosis as given) in batches; used by import and merge. */
int db_run_copy_in(struct db *db, const struct db_run_meta *meta,
                   const struct run_result *res, int64_t *id, char *err,
                   size_t errlen);

/* Copy every run of the input files into out_path (created if missing),
 * with new ids, skipping runs whose key is already there.  Counts are
 * optional outputs. */
int db_merge(const char *out_path, const char *const *inputs, size_t n_inputs,
             size_t *copied, size_t *skipped, char *err, size_t errlen);

/* Run key of a meta (see above) as 64 hex digits + NUL. */
void db_run_key(const struct db_run_meta *meta, char out[65]);

/* SHA-256. */
void db_sha256(const void *data, size_t len, uint8_t out[32]);
void db_sha256_hex(const void *data, size_t len, char out[65]);
int db_sha256_file(const char *path, char out[65], char *err, size_t errlen);

/*
 * Field descriptors: the field table of the run record is run/fields.h
 * (struct run_field, run_metric_fields(), run_sample_fields(), the writer).
 * These older store names stay as aliases for the modules that use them.
 */
#define db_field         run_field
#define DB_C_I64         RUN_C_I64
#define DB_C_U64         RUN_C_U64
#define DB_C_DBL         RUN_C_DBL
#define DB_C_BOOL        RUN_C_BOOL
#define DB_C_UINT        RUN_C_UINT
#define DB_U_NS          RUN_U_NS
#define DB_U_BYTES       RUN_U_BYTES
#define DB_U_BOOL        RUN_U_BOOL
#define db_metric_fields run_metric_fields
#define db_sample_fields run_sample_fields
#define db_field_value   run_field_value
#define db_format_value  run_format_value
/* "2026-01-02 03:04:05Z" from Unix epoch ns; "-" for 0. Returns buf. */
char *db_format_time(int64_t epoch_ns, char *buf, size_t len);

#endif
