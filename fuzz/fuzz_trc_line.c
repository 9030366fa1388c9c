/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz/fuzz_trc_line.c — libFuzzer harness for the text side of the trace
 * reader (every line shape, QMP JSON, HMP dumps, embedded lines) and what
 * consumes its records: the timeline rebuild and the diagnosis.
 *
 * Input: byte 0 selects the forced --trace-format (value % TRC_FMT_COUNT;
 * 0 = auto) and, with bit 7, --strict; byte 1 selects max_line (small
 * values exercise the over-long-line path); the rest is the trace.  The
 * reader must never crash, leak or read out of bounds, whatever the bytes;
 * a malformed input is only ever an error return.
 *
 * Max-len: 4096 (the over-long-line path needs at most ~1 KB, from byte 1)
 * Coverage: traces/trace.c traces/trace_core.c traces/trace_line.c
 * traces/trace_match.c traces/trace_time.c traces/trace_src.c
 * traces/trace_qmp.c traces/timeline.c traces/timeline_events.c
 * traces/timeline_finish.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    struct trc_replay_options o;
    memset(&o, 0, sizeof(o));
    o.reader.format = (enum trc_format)(data[0] % TRC_FMT_COUNT);
    o.reader.strict = (data[0] & 0x80) != 0;
    o.reader.no_events = true;
    o.reader.max_line = data[1] < 16 ? 16u + data[1] * 64u : 0;
    o.timeline.max_samples = 16;
    o.timeline.max_events = 16;
    fuzz_replay_mem(&o, data + 2, size - 2, NULL);
    return 0;
}
