/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/outfile.h — writing an output file safely: the bytes go to a
 * temporary made with mkstemp(3) in the target's directory (never a
 * predictable name, never through a symlink planted there), and the
 * temporary is renamed over the target only when every byte was written.
 * A failed or interrupted write leaves an existing target untouched; a
 * symlink at the target is replaced, its target is not written.  Used by
 * the plots' scripts and data files, the report page and `runs export -o`.
 * Where the file system has O_TMPFILE the temporary is unnamed until the
 * commit (so even a kill -9 leaves no temporary); else mkstemp(3).
 */
#ifndef MIGSIM_STORE_OUTFILE_H
#define MIGSIM_STORE_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct outfile {
    FILE *f;         /* write here */
    char path[1024]; /* the target */
    char tmp[1100];  /* the temporary, "" once committed or aborted */
    bool unnamed;    /* an O_TMPFILE file, named only at commit */
};

/* Create the temporary for path (mode 0666 less the umask).  0, or -1
 * with "path: reason" in err. */
int outfile_open(struct outfile *o, const char *path, char *err, size_t errlen);
/* Flush, fsync, close and rename into place.  0, or -1 with a message
 * (the temporary is removed, the target untouched). */
int outfile_commit(struct outfile *o, char *err, size_t errlen);
/* Close and remove the temporary (no-op after commit). */
void outfile_abort(struct outfile *o);

#endif
