/* SPDX-License-Identifier: GPL-3.0-or-later */
/* store/sha256.c — the store's SHA-256 entry points, on base/hash.h. */
#include "store/db.h"

#include "base/hash.h"

void db_sha256(const void *data, size_t len, uint8_t out[32])
{
    hash_sha256_bytes(data, len, out);
}

void db_sha256_hex(const void *data, size_t len, char out[65])
{
    hash_sha256_hex(data, len, out);
}

int db_sha256_file(const char *path, char out[65], char *err, size_t errlen)
{
    return hash_sha256_file(path, out, err, errlen);
}
