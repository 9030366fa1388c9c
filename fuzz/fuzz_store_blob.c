/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz/fuzz_store_blob.c — libFuzzer harness for the run store's chunk
 * decoders (store/blob.c, schema 3): the bytes of a samples or events
 * BLOB as a damaged or hostile store file could hold them.  A decoder
 * returns 0 or -1 with a reason; it never crashes, leaks or reads out of
 * bounds.  What it accepts must encode again, and that encoding must
 * decode to items that encode to the same bytes (the round trip).
 *
 * Input: byte 0 bit 0 picks samples (0) or events (1); bytes 1-2 the item
 * count the chunk's row claims (little endian); the rest is the BLOB.
 * The committed corpus holds chunks of real stored runs.
 *
 * Coverage: store/blob.c
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int decode(bool events, const uint8_t *d, size_t n, size_t count,
                  struct run_result *r)
{
    const char *why = NULL;
    int rc = events ? db_dec_events(d, n, count, r, &why)
                    : db_dec_samples(d, n, count, r, &why);
    if (rc != 0 && (!why || !*why)) {
        abort(); /* a refusal always says why */
    }
    return rc;
}

static int encode(bool events, const struct run_result *r, uint8_t **out,
                  size_t *len)
{
    return events ? db_enc_events(r->events, r->n_events, out, len)
                  : db_enc_samples(r->samples, r->n_samples, out, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) {
        return 0;
    }
    bool events = data[0] & 1;
    size_t count = (size_t)data[1] | (size_t)data[2] << 8;
    struct run_result a, b;
    run_result_init(&a);
    run_result_init(&b);
    uint8_t *e1 = NULL, *e2 = NULL;
    size_t l1 = 0, l2 = 0;
    if (decode(events, data + 3, size - 3, count, &a) == 0 &&
        encode(events, &a, &e1, &l1) == 0) {
        size_t n = events ? a.n_events : a.n_samples;
        if (decode(events, e1, l1, n, &b) != 0) {
            abort(); /* our own encoding refused */
        }
        if (encode(events, &b, &e2, &l2) == 0 &&
            (l1 != l2 || memcmp(e1, e2, l1) != 0)) {
            abort(); /* the round trip changed an item */
        }
    }
    free(e1);
    free(e2);
    run_result_free(&a);
    run_result_free(&b);
    return 0;
}
