/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tests/support/tmpdir.c — see tmpdir.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/support/tmpdir.h"

char tu_tmpdir[64];

static int rm_cb(const char *p, const struct stat *sb, int flag,
                 struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

int tu_tmpdir_setup(const char *name)
{
    snprintf(tu_tmpdir, sizeof(tu_tmpdir), "/tmp/migsim-test-%s-XXXXXX", name);
    return mkdtemp(tu_tmpdir) ? 0 : -1;
}

int tu_tmpdir_teardown(void)
{
    return nftw(tu_tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tu_tpath(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", tu_tmpdir, name);
    return buf[k];
}

char *tu_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail_msg("cannot read %s", path);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    if (len) {
        *len = (size_t)n;
    }
    return b;
}
