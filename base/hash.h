/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * base/hash.h — SHA-256 of bytes, streamed or at once.
 *
 * What stored runs are keyed by (the source file's digest, the run key) and
 * what replay computes over its input as it reads it.  SHA-256 because the
 * store's keys and `source_sha256` have always been SHA-256 hex (old stores
 * stay valid without a migration) and because a user can check a digest
 * with `sha256sum`; OpenSSL's libcrypto computes it with the CPU's SHA
 * instructions where there are any (several GB/s), the hand-written
 * version this replaces did about 180 MB/s.
 *
 * A hash_sha256 context is single-use: new, update any number of times,
 * final (which frees it).  Out of memory: hash_sha256_new returns NULL.
 */
#ifndef MIGSIM_BASE_HASH_H
#define MIGSIM_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

struct hash_sha256;

struct hash_sha256 *hash_sha256_new(void);
void hash_sha256_update(struct hash_sha256 *h, const void *data, size_t len);
/* Write the digest as 64 lower-case hex digits + NUL and free h. */
void hash_sha256_final_hex(struct hash_sha256 *h, char out[65]);
/* Free without a result (h may be NULL). */
void hash_sha256_free(struct hash_sha256 *h);

void hash_sha256_bytes(const void *data, size_t len, uint8_t out[32]);
void hash_sha256_hex(const void *data, size_t len, char out[65]);
/* The digest of a whole file; -1 with a message naming it on error. */
int hash_sha256_file(const char *path, char out[65], char *err, size_t errlen);

#endif
