/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/outfile.c — temporary + rename output files (see outfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "store/outfile.h"

int outfile_open(struct outfile *o, const char *path, char *err, size_t errlen)
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
    char dir[1024];
    snprintf(dir, sizeof(dir), "%.*s", slash ? (dl ? dl : 1) : 1,
             slash ? path : ".");
    /* An unnamed file first: a kill leaves nothing behind. */
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    if (fd >= 0) {
        o->unnamed = true;
        snprintf(o->tmp, sizeof(o->tmp), "%s/.%s.%ld", dir, base,
                 (long)getpid());
    } else {
        snprintf(o->tmp, sizeof(o->tmp), "%.*s%s.%s.XXXXXX", dl, path,
                 slash ? "/" : "", base);
        fd = mkstemp(o->tmp);
        if (fd < 0) {
            err_set(err, errlen,
                    "%s: cannot create a temporary in its directory: %s", path,
                    strerror(errno));
            o->tmp[0] = '\0';
            return -1;
        }
        mode_t um = umask(0);
        umask(um);
        if (fchmod(fd, 0666 & ~um) != 0) {
            /* keep mkstemp's 0600 */
        }
    }
    o->f = fdopen(fd, "w");
    if (!o->f) {
        err_set(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        if (!o->unnamed) {
            unlink(o->tmp);
        }
        o->tmp[0] = '\0';
        return -1;
    }
    return 0;
}

/* Give the unnamed file the name o->tmp (a free one). */
static int link_unnamed(struct outfile *o)
{
    char proc[64], name[1200];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fileno(o->f));
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "%s.%d", o->tmp, i);
        size_t nl = strlen(name);
        if (nl >= sizeof(o->tmp)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if (linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0) {
            memcpy(o->tmp, name, nl + 1);
            return 0;
        }
        if (errno != EEXIST) {
            return -1;
        }
    }
    errno = EEXIST;
    return -1;
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
    const char *what = "write error";
    if (!bad && o->unnamed && link_unnamed(o) != 0) {
        bad = 1;
        e = errno;
        what = "cannot name the new file";
    }
    bool named = !o->unnamed || !bad;
    if (fclose(o->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    o->f = NULL;
    if (bad) {
        err_set(err, errlen, "%s: %s: %s (the file was left as it was)",
                o->path, what, strerror(e));
        if (named) {
            unlink(o->tmp);
        }
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
    if (o->tmp[0] && !o->unnamed) {
        unlink(o->tmp);
        o->tmp[0] = '\0';
    }
}
