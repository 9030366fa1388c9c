/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/support/testutil.h — shared helpers for the cmocka tests: load a
 * scenario and simulate it, failing the current test with the message on
 * any error.  Include after <cmocka.h>.
 */
#ifndef MIGSIM_TESTS_TESTUTIL_H
#define MIGSIM_TESTS_TESTUTIL_H

#include <stdbool.h>

#include "model/mig.h"
#include "run/scenario.h"

/* src is a file path (is_file) or JSON text; sets is a NULL-terminated
 * list of --set assignments (or NULL). */
void tu_scenario(const char *src, bool is_file, const char *const *sets,
                 struct scenario *s);
/* mig_simulate with the default options; samples = false records none. */
void tu_simulate(const struct scenario *s, const char *policy, bool samples,
                 struct run_result *r);

#endif
