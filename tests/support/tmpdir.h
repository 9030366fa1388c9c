/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/support/tmpdir.h — a temporary folder for a test file's files, and
 * reading a file back.  Include after <cmocka.h>.
 */
#ifndef MIGSIM_TESTS_TMPDIR_H
#define MIGSIM_TESTS_TMPDIR_H

#include <stddef.h>

/* The folder, "" before tu_tmpdir_setup. */
extern char tu_tmpdir[64];

/* Create /tmp/migsim-test-NAME-XXXXXX; 0 or -1 (for a cmocka setup). */
int tu_tmpdir_setup(const char *name);
/* Remove it with everything in it; 0 or -1 (for a cmocka teardown). */
int tu_tmpdir_teardown(void);
/* tu_tmpdir/name in one of 8 rotating static buffers. */
const char *tu_tpath(const char *name);
/* The whole file, NUL-terminated and malloc'ed; *len (optional) gets its
 * size.  Fails the current test if it cannot be read. */
char *tu_slurp(const char *path, size_t *len);

#endif
