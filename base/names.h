/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * base/names.h — the names of an enum as a table indexed by its values.
 */
#ifndef MIGSIM_BASE_NAMES_H
#define MIGSIM_BASE_NAMES_H

#include <stddef.h>

#define NAMES_COUNT(t) (sizeof(t) / sizeof((t)[0]))

/* names[i], or "unknown" when i is out of range or names[i] is NULL. */
const char *names_get(const char *const *names, size_t n, unsigned i);
/* The index of s in names, or -1. */
int names_find(const char *const *names, size_t n, const char *s);

#endif
