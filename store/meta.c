/* SPDX-License-Identifier: GPL-3.0-or-later */
/* store/meta.c — the one builder of a stored run's metadata (db.h). */
#include "store/db.h"

#include <stdio.h>

#include "engine/engine.h"

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

void db_run_meta_build(struct db_run_meta *m, const struct db_run_origin *o)
{
    db_run_meta_init(m);
    m->kind = o->kind;
    m->scenario_json = (char *)o->scenario_json;
    copy(m->source_path, sizeof(m->source_path), o->source_path);
    copy(m->source_sha256, sizeof(m->source_sha256), o->source_sha256);
    copy(m->qemu, sizeof(m->qemu), o->qemu);
    copy(m->policy, sizeof(m->policy), o->policy);
    if (o->kind == DB_KIND_SIM) {
        m->seed = o->seed;
        copy(m->rng, sizeof(m->rng), sim_rng_name());
    }
    m->command_line = (char *)o->command_line;
    m->fingerprint = o->fingerprint;
    copy(m->run_key, sizeof(m->run_key), o->run_key);
}
