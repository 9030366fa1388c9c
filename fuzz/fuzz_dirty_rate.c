/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz/fuzz_dirty_rate.c — libFuzzer harness for the query-dirty-rate
 * reader (--dirty-rate-from): any bytes; a measurement or an error
 * naming the input, never a crash, leak or out-of-bounds read.
 *
 * Max-len: 4096 (a query-dirty-rate reply with per-vCPU rates is under 2 KB)
 * Coverage: traces/dirty_rate.c
 */
#include <stddef.h>
#include <stdint.h>

#include "traces/dirty_rate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trc_dirty_rate d;
    char err[256];
    if (trc_dirty_rate_parse((const char *)data, size, "fuzz", &d, err,
                             sizeof(err)) == 0) {
        char buf[200];
        trc_dirty_rate_describe(&d, buf, sizeof(buf));
    }
    return 0;
}
