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
 *
 * Two modes with one interface:
 *   RAM_MODE_PAGE       page-level bitmaps (1 bit per page per bitmap; a
 *                       1 TiB guest with 4 KiB pages needs 2 x 32 MiB),
 *                       every guest page write drawn from the RNG stream;
 *   RAM_MODE_AGGREGATE  counts only (dirty pages per region, expected
 *                       distinct pages touched), O(1) per call, for sweeps.
 * Both modes must agree on the same scenario within a few per cent
 * (tests/test_ram.c).
 *
 * Workloads (what the guest does between two times):
 *   idle     nothing;
 *   uniform  page writes at dirty_rate_bps / page_size per second, each to a
 *            uniformly random page of the working set;
 *   sweep    a cursor walks the working set sequentially at the rate,
 *            wrapping (a memory scanner);
 *   hotcold  a fraction hot_write_fraction of writes goes to the first
 *            hot_fraction of the working set, the rest uniform over it;
 *   phased   like `phase_base` (uniform or sweep) with the rate changed at
 *            the given times.
 * The write count over an interval is rate x time carried with an exact
 * remainder (no drift); dirty_scale (CPU throttle, dirty limit) multiplies
 * the rate from the moment it is set.
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
 * invalid or memory cannot be had.  rng is borrowed (not freed). */
struct ram_model *ram_new(const struct ram_cfg *cfg, gsl_rng *rng, char *err,
                          unsigned long errlen);
void ram_free(struct ram_model *r);

/* Apply the guest's writes from the last call up to now_ns (monotonic). */
void ram_advance(struct ram_model *r, int64_t now_ns);

/* Multiply the workload's write rate by scale (0..1) from the current time
 * on (call ram_advance first).  1.0 = unthrottled. */
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
 * zero_page_ns.  Pages go in address order from the cursor.  Adds to *out
 * (the caller zeroes it first).
 */
void ram_send_pages(struct ram_model *r, uint64_t max_wire_bytes,
                    double max_cost_ns, double normal_page_ns,
                    double zero_page_ns, struct ram_send *out);

/* Total guest page writes applied so far (for benchmarks: page-dirty
 * events). */
uint64_t ram_write_events(const struct ram_model *r);

const char *ram_workload_name(enum ram_workload w);
/* Returns -1 for an unknown name. */
int ram_workload_from_name(const char *name, enum ram_workload *w);

#endif
