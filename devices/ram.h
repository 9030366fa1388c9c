/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * devices/ram.h — guest RAM and its dirtying, as the migration code sees it:
 * contract.
 *
 * Two bitmaps, as in QEMU: the hypervisor's dirty log (pages the guest wrote
 * since the last sync, what KVM_GET_DIRTY_LOG returns) and the migration
 * bitmap (pages still to send: ram.c's migration_dirty_pages).  The guest
 * writes set log bits; a sync ORs the log into the migration bitmap and
 * clears the log; sending a page clears its migration bit.  Pages written
 * since the last sync are invisible to the migration code until the next.
 *
 * Layout of guest-physical pages (fixed, so runs are reproducible):
 *   [0, ws)          working set: normal pages the workload writes
 *   [ws, ws + nz)    other normal (non-zero) pages, never written again
 *   [ws + nz, n)     zero pages (vm.zero_fraction of the RAM outside the
 *                    working set); each costs RAM_ZERO_PAGE_WIRE_BYTES on
 *                    the wire and a scan (buffer_is_zero) in the thread
 * Every page is dirty in the migration bitmap at setup (ram_init_bitmaps).
 * Sizes in pages: n = ram_bytes / page_bytes, ws = working_set_bytes /
 * page_bytes (rounded down), zero pages = llround(zero_fraction x (n - ws)),
 * the hot set = llround(hot_fraction x ws) (at least 1 if hot_fraction > 0).
 * The scan cursor starts at page 0.
 *
 * Two modes with one interface:
 *   RAM_MODE_PAGE       page-level bitmaps (1 bit per page: the migration
 *                       bitmap over all RAM, 32 MiB for 1 TiB of 4 KiB
 *                       pages, plus a 1/64 summary; the log as large,
 *                       written over the working set only, with the
 *                       list of its written words, so a sync costs in
 *                       proportion to the words written since the last
 *                       one, not to RAM, and a sync into a clean bitmap
 *                       swaps the two), every guest page
 *                       write drawn from the RNG stream
 *                       (gsl_rng_uniform_int's draws);
 *   RAM_MODE_AGGREGATE  counts only: a few address segments with a dirty
 *                       count each, the log as an expected number of
 *                       distinct pages touched (uniform, hotcold) or the
 *                       swept span (sweep); no RNG draws; each call costs
 *                       O(segments), at most a few hundred, and a pass
 *                       that only advances and sends within one segment
 *                       O(1) (~50 ns for ram_advance + ram_send_pages).
 *                       Dirty pages are taken as spread evenly within a
 *                       segment, and a sync of random writes adds
 *                       log x (1 - dirty/size) per population (hot, cold).
 *                       Sweep is exact (it equals page mode page for page).
 * Both modes agree on the same scenario within a few per cent
 * (tests/test_ram.c states the tolerance).
 *
 * Workloads (what the guest does between two times):
 *   idle     nothing;
 *   uniform  page writes at dirty_rate_bps / page_size per second, each to a
 *            uniformly random page of the working set;
 *   sweep    a cursor walks the working set sequentially at the rate,
 *            wrapping (a memory scanner);
 *   hotcold  a fraction hot_write_fraction of writes goes to the first
 *            hot_fraction of the working set, the rest uniform over it
 *            (over the whole working set, hot part included); page mode
 *            draws the hot count of each ram_advance piece binomially;
 *   phased   like `phase_base` (uniform or sweep) with the rate changed at
 *            the given times (dirty_rate_bps until the first; phases at or
 *            before time 0 apply from the start; at_ns non-decreasing).
 * The write count over an interval is rate x time / page_bytes carried
 * with an exact integer remainder in byte-nanoseconds (no drift: advancing
 * in one call or in many gives the same count); dirty_scale (CPU throttle,
 * dirty limit) multiplies the rate from the moment it is set, and the
 * scaled rate is rounded to whole bytes/s.
 *
 * All functions are deterministic given the rng passed to ram_new().
 */
#ifndef MIGSIM_DEVICES_RAM_H
#define MIGSIM_DEVICES_RAM_H

#include <stdbool.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#define RAM_ZERO_PAGE_WIRE_BYTES 9 /* be64 offset|flags + 1 byte fill */
#define RAM_PAGE_HDR_WIRE_BYTES  8 /* be64 offset|flags before a page */
#define RAM_MAX_PHASES           32

enum ram_mode { RAM_MODE_PAGE = 0, RAM_MODE_AGGREGATE = 1 };

enum ram_workload {
    RAM_WL_IDLE = 0,
    RAM_WL_UNIFORM,
    RAM_WL_SWEEP,
    RAM_WL_HOTCOLD,
    RAM_WL_PHASED,
};

struct ram_phase {
    int64_t at_ns;           /* from the start of the simulation */
    uint64_t dirty_rate_bps; /* bytes/s of page writes from at_ns on */
};

struct ram_cfg {
    enum ram_mode mode;
    uint64_t ram_bytes;   /* multiple of page_bytes */
    uint64_t page_bytes;  /* 4096 on x86 */
    double zero_fraction; /* share of non-working-set RAM that is zero */
    enum ram_workload workload;
    uint64_t working_set_bytes;   /* <= ram_bytes */
    uint64_t dirty_rate_bps;      /* page writes x page size per second */
    double hot_fraction;          /* hotcold: hot share of the working set */
    double hot_write_fraction;    /* hotcold: share of writes to the hot set */
    enum ram_workload phase_base; /* phased: RAM_WL_UNIFORM or RAM_WL_SWEEP */
    unsigned n_phases;
    struct ram_phase phases[RAM_MAX_PHASES];
};

struct ram_model;

/* Returns NULL with a message in err (if given) when the configuration is
 * invalid or memory cannot be had.  rng is borrowed (not freed); page mode
 * needs it (and a working set no larger than max - min of the generator,
 * 2^32 - 1 pages for taus2), aggregate mode never draws from it and accepts
 * NULL. */
struct ram_model *ram_new(const struct ram_cfg *cfg, gsl_rng *rng, char *err,
                          unsigned long errlen);
void ram_free(struct ram_model *r);

/* Apply the guest's writes from the last call (initially time 0) up to
 * now_ns; a now_ns not after the last one does nothing.  A call spanning
 * phase times is split at them. */
void ram_advance(struct ram_model *r, int64_t now_ns);

/* ram_advance(r, t0), ram_advance(r, t0 + dt), ... n calls in all (dt > 0):
 * the same state to the bit as those calls (the model's fast-forward of
 * runs of identical passes, model/mig_ff.c). */
void ram_advance_steps(struct ram_model *r, int64_t t0, int64_t dt, uint64_t n);

/* True when a ram_send_pages call now would send nothing, set round_done
 * and change no state at all (no dirty page, no bookkeeping left over
 * from the last send or sync): the fast-forward then skips the call. */
bool ram_send_idle(const struct ram_model *r);

/* Multiply the workload's write rate by scale (0..1) from the current time
 * on (call ram_advance first).  1.0 = unthrottled.  Values outside [0, 1]
 * (and NaN) are clamped (NaN -> 0). */
void ram_set_dirty_scale(struct ram_model *r, double scale);
/* Current workload write rate in bytes/s (after scale and phases). */
double ram_dirty_rate_bps(const struct ram_model *r);

/* Dirty sync: OR the dirty log into the migration bitmap and clear the log.
 * Returns the pages newly set in the migration bitmap (bits that went
 * 0 -> 1), which is what migration_bitmap_sync adds to
 * migration_dirty_pages and num_dirty_pages_period. */
uint64_t ram_sync(struct ram_model *r);

/* Pages set in the migration bitmap (ram.c migration_dirty_pages). */
uint64_t ram_dirty_pages(const struct ram_model *r);
/* Of those, how many are zero pages. */
uint64_t ram_dirty_zero_pages(const struct ram_model *r);
uint64_t ram_total_pages(const struct ram_model *r);
uint64_t ram_page_bytes(const struct ram_model *r);

struct ram_send {
    uint64_t pages;      /* pages sent (bits cleared) */
    uint64_t zero_pages; /* of which zero pages */
    uint64_t wire_bytes; /* bytes put on the wire */
    double cost_ns;      /* thread time the pages cost (see below) */
    bool round_done;     /* the scan went a full round and found nothing */
};

/*
 * Send dirty pages from the scan cursor (which persists and wraps, like
 * ram_find_and_save_block) until one of:
 *   - wire_bytes reaches max_wire_bytes (the page that crosses it is still
 *     sent: QEMU checks the budget before each page);
 *   - cost_ns reaches max_cost_ns (QEMU's 50 ms MAX_WAIT in ram_save_iterate;
 *     the page that crosses it is still sent);
 *   - no dirty page is left (round_done = true).
 * A normal page costs page_bytes + RAM_PAGE_HDR_WIRE_BYTES on the wire and
 * normal_page_ns of thread time; a zero page RAM_ZERO_PAGE_WIRE_BYTES and
 * zero_page_ns (negative costs count as 0).  Pages go in address order from
 * the cursor.  The limits apply to what this call sends (cost = normal pages
 * x normal_page_ns + zero pages x zero_page_ns, so the result does not
 * depend on how the pages were batched); pass UINT64_MAX and INFINITY for
 * no limit (ram_save_complete).  A limit of 0 sends nothing.  Adds to *out
 * (the caller zeroes it first; round_done is ORed in).
 */
void ram_send_pages(struct ram_model *r, uint64_t max_wire_bytes,
                    double max_cost_ns, double normal_page_ns,
                    double zero_page_ns, struct ram_send *out);

/*
 * The fast-forward's sends (model/mig_ff.c).  ram_send_peek: what the next
 * ram_send_pages call with these arguments would do, when it is a plain
 * send inside the segment at the cursor (aggregate mode; the same pages,
 * bytes and cost whatever came before); false, when it is not or in page
 * mode.  ram_send_repeat: up to n such calls in a row, stopping before the
 * first that would not be plain or not send the same as the first (another
 * page class); returns how many it made, each exactly a ram_send_pages
 * call (the caller accounts their ram_send, as peek gave it).
 */
bool ram_send_peek(const struct ram_model *r, uint64_t max_wire_bytes,
                   double max_cost_ns, double normal_page_ns,
                   double zero_page_ns, struct ram_send *out);
uint64_t ram_send_repeat(struct ram_model *r, uint64_t n,
                         uint64_t max_wire_bytes, double max_cost_ns,
                         double normal_page_ns, double zero_page_ns);

/* Total guest page writes applied so far (for benchmarks: page-dirty
 * events). */
uint64_t ram_write_events(const struct ram_model *r);

/* Page mode: 1 if page is set in the migration bitmap, 0 if not; -1 in
 * aggregate mode or for a page out of range.  For tests. */
int ram_page_dirty(const struct ram_model *r, uint64_t page);

/* NULL, or a message once aggregate mode could not grow its segment list
 * (out of memory); from then on syncs return 0 and sends send nothing. */
const char *ram_error(const struct ram_model *r);

/* "idle", "uniform", "sweep", "hotcold", "phased"; "unknown" otherwise. */
const char *ram_workload_name(enum ram_workload w);
/* Exact (case-sensitive) name to *w; returns -1 for an unknown name. */
int ram_workload_from_name(const char *name, enum ram_workload *w);

#endif
