/* SPDX-License-Identifier: GPL-3.0-or-later */
/* base/names.c — enum name tables. */
#include "base/names.h"

#include <string.h>

const char *names_get(const char *const *names, size_t n, unsigned i)
{
    return i < n && names[i] ? names[i] : "unknown";
}

int names_find(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (names[i] && strcmp(s, names[i]) == 0) {
            return (int)i;
        }
    }
    return -1;
}
