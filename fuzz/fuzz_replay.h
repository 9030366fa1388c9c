/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz/fuzz_replay.h — what the trace-reader harnesses share: read `size`
 * bytes as one input with the options given, rebuild, diagnose, derive the
 * scenario, and free everything.  `after` (may be NULL) is called on a
 * successful replay before it is freed.
 */
#ifndef MIGSIM_FUZZ_REPLAY_H
#define MIGSIM_FUZZ_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "traces/replay.h"

static inline void fuzz_replay_mem(const struct trc_replay_options *o,
                                   const uint8_t *data, size_t size,
                                   void (*after)(const struct trc_replay *))
{
    char err[512];
    struct trc_reader *r = trc_reader_new(&o->reader, err, sizeof(err));
    if (!r) {
        return;
    }
    if (trc_reader_add_mem(r, "fuzz", data, size, err, sizeof(err)) == 0) {
        struct trc_replay rp;
        if (trc_replay_reader(r, o, &rp, err, sizeof(err)) == 0) {
            free(trc_scenario_json(&rp.inputs));
            if (after) {
                after(&rp);
            }
            trc_replay_free(&rp);
        }
    }
    trc_reader_free(r);
}

#endif
