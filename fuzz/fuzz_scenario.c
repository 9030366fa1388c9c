/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz/fuzz_scenario.c — libFuzzer harness for the scenario loader
 * (run/scenario.h): JSON text, then --set assignments, then resolution into
 * a struct scenario, then the document written back as JSON and parsed
 * again.
 *
 * Input: the scenario JSON, optionally followed by a NUL byte and
 * newline-separated `--set` assignments (KEY=VALUE, devices[N].KEY=VALUE).
 * Any bytes must give either a scenario or an error message, never a crash,
 * a leak or a sanitizer report.  Device profiles (files) are not read: a
 * "profile" key names a file that does not exist here.
 *
 * Coverage: run/scenario.c base/json.c base/units.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "run/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void apply_sets(struct scn_doc *d, char *sets)
{
    char err[512];
    for (char *line = sets; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) {
            *nl = '\0';
        }
        if (*line) {
            scn_doc_set(d, line, err, sizeof(err));
        }
        line = nl ? nl + 1 : NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) {
        return 0;
    }
    char *buf = malloc(size + 1);
    if (!buf) {
        return 0;
    }
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *sets = NULL;
    size_t jl = strlen(buf);
    if (jl < size) {
        sets = buf + jl + 1;
    }
    char err[512];
    struct scn_doc *d = scn_doc_parse(buf, "fuzz", err, sizeof(err));
    if (d) {
        apply_sets(d, sets);
        struct scenario s;
        if (scn_resolve(d, &s, err, sizeof(err)) == 0) {
            char *js = scn_doc_json(d);
            if (js) {
                struct scn_doc *d2 =
                    scn_doc_parse(js, "fuzz2", err, sizeof(err));
                scn_doc_free(d2);
            }
            free(js);
        }
        scn_doc_free(d);
    }
    free(buf);
    return 0;
}
