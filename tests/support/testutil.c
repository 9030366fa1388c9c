/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tests/support/testutil.c — see testutil.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/support/testutil.h"

void tu_scenario(const char *src, bool is_file, const char *const *sets,
                 struct scenario *s)
{
    char err[512];
    struct scn_doc *d = is_file ? scn_doc_load(src, err, sizeof(err))
                                : scn_doc_parse(src, "test", err, sizeof(err));
    if (!d) {
        fail_msg("%s", err);
    }
    for (; sets && *sets; sets++) {
        if (scn_doc_set(d, *sets, err, sizeof(err))) {
            scn_doc_free(d);
            fail_msg("%s", err);
        }
    }
    if (scn_resolve(d, s, err, sizeof(err))) {
        scn_doc_free(d);
        fail_msg("%s", err);
    }
    scn_doc_free(d);
}

void tu_simulate(const struct scenario *s, const char *policy, bool samples,
                 struct run_result *r)
{
    char err[512];
    struct mig_options o;
    mig_options_default(&o);
    if (samples) {
        o.sample_interval_ns = 0;
    } else {
        o.no_samples = true;
    }
    if (mig_simulate(s, policy, &o, r, err, sizeof(err))) {
        fail_msg("%s: %s", policy, err);
    }
}
