/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz/fuzz_trc_mgmt.c — libFuzzer harness for the status-record readers:
 * query-migrate JSON (one line or pretty-printed over several, with QEMU's
 * bare nan/inf), QMP commands that set parameters, HMP info migrate (both
 * layouts), virsh domjobinfo, Proxmox task logs, libvirt debug-log lines,
 * and several migrations in one input — through the timeline, the
 * diagnosis and the derived inputs.
 *
 * Input: byte 0 picks the format (auto, qmp, hmp, domjobinfo, proxmox,
 * embedded; bit 7: --strict), byte 1 --migration (0 = the last, else
 * 1 + value % 4); the rest is the text.  Never a crash, a leak or an
 * out-of-bounds read; bad input is only an error return.
 *
 * Max-len: 4096 (a pretty-printed query-migrate reply is ~1.5 KB; two fit)
 * Coverage: traces/trace_qmp.c traces/trace_line.c traces/timeline_events.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void costly(const struct trc_replay *rp)
{
    char buf[400];
    trc_replay_costly_events(rp, buf, sizeof(buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum trc_format fmts[] = {
        TRC_FMT_AUTO,       TRC_FMT_QMP,     TRC_FMT_HMP,
        TRC_FMT_DOMJOBINFO, TRC_FMT_PROXMOX, TRC_FMT_EMBEDDED,
    };
    if (size < 2) {
        return 0;
    }
    struct trc_replay_options o;
    memset(&o, 0, sizeof(o));
    o.reader.format = fmts[(data[0] & 0x7f) % (sizeof(fmts) / sizeof(fmts[0]))];
    o.reader.strict = (data[0] & 0x80) != 0;
    o.reader.no_events = true;
    o.migration = data[1] ? 1u + data[1] % 4u : 0;
    o.timeline.max_samples = 16;
    o.timeline.max_events = 16;
    fuzz_replay_mem(&o, data + 2, size - 2, costly);
    return 0;
}
