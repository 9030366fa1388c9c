/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tests/test_hash.c — SHA-256 (base/hash.h): known vectors, streaming in
 * pieces equals one shot, files, and a missing file's message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hash.h"

static void test_vectors(void **state)
{
    (void)state;
    char hex[65];
    hash_sha256_hex("", 0, hex);
    assert_string_equal(
        hex,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hash_sha256_hex("abc", 3, hex);
    assert_string_equal(
        hex,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_stream_equals_once(void **state)
{
    (void)state;
    size_t n = 3 * 65536 + 17;
    unsigned char *buf = malloc(n);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) {
        buf[i] = (unsigned char)(i * 131 + (i >> 9));
    }
    char once[65], pieces[65];
    hash_sha256_hex(buf, n, once);
    struct hash_sha256 *h = hash_sha256_new();
    assert_non_null(h);
    for (size_t off = 0, step = 1; off < n; off += step, step = step * 3 + 1) {
        size_t k = off + step > n ? n - off : step;
        hash_sha256_update(h, buf + off, k);
    }
    hash_sha256_final_hex(h, pieces);
    assert_string_equal(once, pieces);

    char path[] = "/tmp/migsim-hash-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, n), (ssize_t)n);
    close(fd);
    char file[65], err[256];
    assert_int_equal(hash_sha256_file(path, file, err, sizeof(err)), 0);
    assert_string_equal(file, once);
    unlink(path);
    assert_int_equal(hash_sha256_file(path, file, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_stream_equals_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
