/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/outfile.c — temporary + rename output files (see outfile.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "store/outfile.h"

int outfile_open(struct outfile *o, const char *path, char *err,
                 size_t errlen)
{
    memset(o, 0, sizeof(*o));
    if (strlen(path) >= sizeof(o->path)) {
        err_set(err, errlen, "%s: path too long", path);
        return -1;
    }
    snprintf(o->path, sizeof(o->path), "%s", path);
    const char *slash = strrchr(path, '/');
    int dl = slash ? (int)(slash - path) : 0;
    const char *base = slash ? slash + 1 : path;
    snprintf(o->tmp, sizeof(o->tmp), "%.*s%s.%s.XXXXXX", dl, path,
             slash ? "/" : "", base);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        err_set(err, errlen, "%s: cannot create a temporary in its "
                "directory: %s", path, strerror(errno));
        o->tmp[0] = '\0';
        return -1;
    }
    mode_t um = umask(0);
    umask(um);
    if (fchmod(fd, 0666 & ~um) != 0) {
        /* keep mkstemp's 0600 */
    }
    o->f = fdopen(fd, "w");
    if (!o->f) {
        err_set(err, errlen, "%s: %s", o->tmp, strerror(errno));
        close(fd);
        unlink(o->tmp);
        o->tmp[0] = '\0';
        return -1;
    }
    return 0;
}

int outfile_commit(struct outfile *o, char *err, size_t errlen)
{
    if (!o->f) {
        err_set(err, errlen, "%s: not open", o->path);
        return -1;
    }
    int bad = fflush(o->f) != 0 || ferror(o->f);
    int e = errno;
    if (!bad && fsync(fileno(o->f)) != 0 && errno != EINVAL) {
        bad = 1;
        e = errno;
    }
    if (fclose(o->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    o->f = NULL;
    if (bad) {
        err_set(err, errlen, "%s: write error: %s (the file was left as it "
                "was)", o->path, strerror(e));
        unlink(o->tmp);
        o->tmp[0] = '\0';
        return -1;
    }
    if (rename(o->tmp, o->path) != 0) {
        err_set(err, errlen, "%s: %s", o->path, strerror(errno));
        unlink(o->tmp);
        o->tmp[0] = '\0';
        return -1;
    }
    o->tmp[0] = '\0';
    return 0;
}

void outfile_abort(struct outfile *o)
{
    if (o->f) {
        fclose(o->f);
        o->f = NULL;
    }
    if (o->tmp[0]) {
        unlink(o->tmp);
        o->tmp[0] = '\0';
    }
}
