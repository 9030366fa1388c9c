/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * base/err.h — the one error-message helper.
 *
 * Functions that can fail for reasons the user must hear about take a
 * caller-owned buffer (char *err, size_t errlen) and fill it with one line
 * naming the file and line or the field.  err_set() writes that line;
 * err_append() adds to a message already there.  Both accept err == NULL or
 * errlen == 0 (the caller does not want the text) and always terminate.
 */
#ifndef MIGSIM_BASE_ERR_H
#define MIGSIM_BASE_ERR_H

#include <stddef.h>

void err_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void err_append(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
