/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * base/json.h — JSON as QEMU really writes it, for every reader (the QMP
 * client, the trace readers, the dirty-rate reader).
 *
 * QEMU prints a non-finite double bare, through printf "%g": the xbzrle
 * "cache-miss-rate" of query-migrate can be -nan, nan, inf or -inf (other
 * writers say NaN, Infinity).  That is not JSON and jansson rejects the
 * whole reply.  json_nonfinite_to_null() makes a copy with each such
 * token outside strings replaced by null, so the value reads as missing;
 * json_load_lenient() tries jansson first and falls back to that copy (and
 * to integers beyond int64 as doubles).
 *
 * json_depth tracks the bracket depth of a JSON text fed one byte at a
 * time, strings (with escapes) skipped: how the stream readers find where
 * an object ends.
 */
#ifndef MIGSIM_BASE_JSON_H
#define MIGSIM_BASE_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* A malloc'ed copy of s[0..len) with every bare nan/inf/infinity token
 * (any case, optional sign) outside strings replaced by null; *olen its
 * length, *n the count.  NULL (and *n = 0) when there is none, or when
 * memory runs out. */
char *json_nonfinite_to_null(const char *s, size_t len, size_t *olen,
                             unsigned *n);

/* Parse one JSON text: as is; with integers beyond int64 as doubles; then
 * with non-finite tokens as null (*n_nonfinite, may be NULL, says how
 * many).  NULL with je filled from the first attempt if all fail. */
json_t *json_load_lenient(const char *s, size_t len, unsigned *n_nonfinite,
                          json_error_t *je);

struct json_depth {
    int depth;
    bool in_str, esc;
};

/* Account one byte: returns the depth after it (0 when an outermost
 * object or array just closed; negative after unbalanced closers). */
int json_depth_step(struct json_depth *d, char c);

#endif
