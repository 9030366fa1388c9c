/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * base/csv.h — the one CSV quoter.
 *
 * Rule (RFC 4180): a cell is written as it is unless it contains a comma,
 * a double quote, CR or LF, or starts or ends with a space; then it is
 * enclosed in double quotes with every double quote doubled.
 * CSV_QUOTE_ALWAYS encloses every cell (the policy column of `simulate`
 * and `compare` CSV has always been quoted).  A NULL cell writes nothing.
 */
#ifndef MIGSIM_BASE_CSV_H
#define MIGSIM_BASE_CSV_H

#include <stdio.h>

enum csv_quote { CSV_QUOTE_MINIMAL = 0, CSV_QUOTE_ALWAYS };

void csv_put(FILE *f, const char *s, enum csv_quote q);

#endif
