/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * model/mig_ram.c — the RAM handler of the migration thread: QEMU's
 * migration/ram.c SaveVMHandlers (pending with the per-version dirty
 * bitmap sync, save_live_iterate with the 50 ms cap, the final
 * save_complete) over the guest RAM model of devices/ram.h (m->ram, owned
 * by the thread: throttling and VM stop act on it too).  Facts:
 * ../shared/reference/qemu-convergence.md §3, §9.7, §9.8.
 */
#include <math.h>
#include <string.h>

#include "model/mig_priv.h"

static uint64_t remaining(const struct mig *m)
{
    return ram_dirty_pages(m->ram) * ram_page_bytes(m->ram);
}

/* Thread time to send one normal page whose wire time is wire_ns: that,
 * or the sender's own per-page cost (migration.sender_page_cost: the
 * CPU-bound ceiling of the migration thread) when that is longer.  0 cost
 * (the default) leaves the wire time alone. */
static double page_send_ns(const struct mig *m, double wire_ns)
{
    double cpu_ns = (double)m->s.sender_page_ns;
    return cpu_ns > wire_ns ? cpu_ns : wire_ns;
}

/* With postcopy-ram everything RAM has can go in postcopy. */
static void report(const struct mig *m, uint64_t rem, struct mig_pending *p)
{
    if (m->s.postcopy_ram) {
        p->can += rem;
    } else {
        p->must += rem;
    }
}

/* Thread time per normal page at the RAM throughput (link vs multifd;
 * postcopy also capped by max-postcopy-bandwidth): fixed for a run. */
static double page_ns(const struct mig *m, bool postcopy)
{
    double tp = mig_ram_throughput_bps(m);
    if (postcopy && m->s.max_postcopy_bandwidth_bps &&
        (double)m->s.max_postcopy_bandwidth_bps < tp) {
        tp = (double)m->s.max_postcopy_bandwidth_bps;
    }
    uint64_t page = ram_page_bytes(m->ram);
    return (double)(page + RAM_PAGE_HDR_WIRE_BYTES) * 1e9 / tp;
}

static int ram_attach(struct mig *m)
{
    if (mig_handler_add(m, &mig_ram_ops, m->ram)) {
        snprintf(m->err, m->errlen, "RAM: too many handlers");
        return -1;
    }
    m->ram_page_ns[0] = page_send_ns(m, page_ns(m, false));
    m->ram_page_ns[1] = page_send_ns(m, page_ns(m, true));
    m->ram_page_ns[2] = page_ns(m, false);
    return 0;
}

/* ram_save_setup: every page dirty, then the first sync. */
static int64_t ram_save_setup(struct mig *m, struct mig_handler *h, int64_t t)
{
    (void)h;
    return mig_bitmap_sync(m, t);
}

/* 7.2's single pending query syncs inside when remaining < threshold. */
static void ram_estimate(struct mig *m, struct mig_handler *h, int64_t t,
                         int64_t *cost, struct mig_pending *p)
{
    (void)h;
    ram_advance(m->ram, t);
    uint64_t rem = remaining(m);
    if (m->qv->sync == QV_SYNC_IN_PENDING && !m->in_postcopy &&
        rem < m->threshold) {
        *cost += mig_bitmap_sync(m, t);
        rem = remaining(m);
    }
    report(m, rem, p);
}

/* ram_state_pending_exact: 8.0-8.2 sync only when remaining < threshold,
 * 9.0+ always; never in postcopy. */
static void ram_exact(struct mig *m, struct mig_handler *h, int64_t t,
                      int64_t *cost, struct mig_pending *p)
{
    (void)h;
    bool sync = !m->in_postcopy;
    if (m->qv->sync == QV_SYNC_IN_EXACT_BELOW) {
        sync = sync && remaining(m) < m->threshold;
    }
    if (sync) {
        *cost += mig_bitmap_sync(m, t);
    }
    report(m, remaining(m), p);
}

/* ram_save_iterate: pages until the window budget is exceeded, 50 ms
 * passed or a full round found nothing (then 1). */
static int ram_iterate(struct mig *m, struct mig_handler *h, int64_t t,
                       int64_t *cost, uint64_t *moved)
{
    (void)h;
    uint64_t bw =
        m->in_postcopy ? m->s.max_postcopy_bandwidth_bps : m->max_bw_bps;
    uint64_t budget = UINT64_MAX;
    if (bw && !m->rate_limit_off) {
        budget = bw / 10 - mig_window_used(m) + 1;
    }
    double normal_ns = m->ram_page_ns[m->in_postcopy];
    struct ram_send rs;
    memset(&rs, 0, sizeof(rs));
    ram_advance(m->ram, t);
    ram_send_pages(m->ram, budget, (double)MIG_MAX_WAIT_NS, normal_ns,
                   mig_zero_page_ns(m), &rs);
    int64_t rc = (int64_t)ceil(rs.cost_ns);
    if (rs.round_done) {
        rc +=
            (int64_t)((double)ram_total_pages(m->ram) / 8.0 / BITMAP_SCAN_BPNS);
    }
    *cost += rc;
    *moved = rs.wire_bytes;
    m->total_bytes += rs.wire_bytes + 8; /* + RAM_SAVE_FLAG_EOS */
    if (m->in_postcopy) {
        m->postcopy_bytes += rs.wire_bytes;
    } else {
        m->precopy_bytes += rs.wire_bytes;
    }
    return rs.round_done ? 1 : 0;
}

/* ram_save_complete: the final sync, then every dirty page, not rate
 * limited. */
static bool ram_complete(struct mig *m, struct mig_handler *h,
                         struct mig_complete *c)
{
    (void)h;
    c->t += mig_bitmap_sync(m, c->t);
    struct ram_send rs;
    memset(&rs, 0, sizeof(rs));
    /* the VM is stopped: the sender's ceiling while it ran (vCPUs
     * competing) does not apply; the link speed does */
    double normal_ns = m->ram_page_ns[2];
    ram_send_pages(m->ram, UINT64_MAX, INFINITY, normal_ns,
                   (double)m->s.zero_page_scan_ns, &rs);
    c->t += (int64_t)ceil(rs.cost_ns);
    m->total_bytes += rs.wire_bytes;
    m->downtime_bytes += rs.wire_bytes;
    return true;
}

/* postcopy_start syncs once more; RAM itself goes on in postcopy. */
static int64_t ram_postcopy_save(struct mig *m, struct mig_handler *h,
                                 int64_t t, bool *wrote)
{
    (void)h;
    *wrote = false;
    return mig_bitmap_sync(m, t);
}

const struct mig_handler_ops mig_ram_ops = {
    .name = "ram",
    .attach = ram_attach,
    .save_setup = ram_save_setup,
    .pending_estimate = ram_estimate,
    .pending_exact = ram_exact,
    .iterate = ram_iterate,
    .spin_below_threshold = true,
    .complete = ram_complete,
    .postcopy_save = ram_postcopy_save,
};
