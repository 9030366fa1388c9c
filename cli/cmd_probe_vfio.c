/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_probe_vfio.c — `migsim probe-vfio DEVICE`: measure a real VFIO
 * device's migration sizes and timings and write a scenario device profile
 * (devices/vfio_probe.h does the work).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "devices/vfio_probe.h"
#include "base/units.h"

#define CDEV_DIR  "/dev/vfio/devices/"
#define IOMMU_DEV "/dev/iommu"

/* For --help (wrapped) and for error messages (one line). */
static const char need_hw_help[] =
    "Production use needs a migratable VFIO device (bound to a "
    "migration-capable\nvfio-pci variant driver such as mlx5_vfio_pci, "
    "hisi_acc_vfio_pci, pds_vfio_pci,\nvirtio_vfio_pci or qat_vfio_pci, or "
    "the mtty sample) and root (or read/write\naccess to the device node and "
    "/dev/iommu).";
static const char need_hw[] =
    "production use needs a migratable VFIO device (a device cdev or fd "
    "bound to a migration-capable vfio-pci variant driver) and root";

static const char usage_fmt[] =
    "Usage: migsim probe-vfio [options] DEVICE\n\n"
    "Drive a real VFIO device through the migration uAPI (RUNNING -> "
    "PRE_COPY ->\nSTOP_COPY -> RUNNING, one state change per arc), "
    "sample its stop-copy size\n(MIG_DATA_SIZE) and pre-copy "
    "initial/dirty bytes (PRECOPY_INFO) over time,\nread its "
    "migration data to measure the real state size and read "
    "bandwidth,\ntime the size ioctls, and write a JSON device "
    "profile for a scenario's\n\"devices\" list.\n\n"
    "%s\nThe device is STOPPED while its final state is read: do not "
    "probe a device a\nguest is using.\n\n"
    "DEVICE is an iommufd device cdev (" CDEV_DIR "vfioN; bound "
    "to " IOMMU_DEV "\nfirst) or fd:N, an already usable VFIO device "
    "fd inherited from the caller\n(e.g. one obtained through the "
    "VFIO group/container API).\n\n";

static const char after_text[] =
    "Profile keys: name, kind, stop_copy_size, precopy, p2p, "
    "precopy_initial,\nprecopy_dirty_rate, query_latency, "
    "read_bandwidth (when >= 4 MiB were read),\nsize_jitter, "
    "save_time, query_fails (when MIG_DATA_SIZE is not "
    "available).\n";

/* One cli_opt: name, short key, kind, destination, argument name, help;
 * then extra fields. */
#define OPT(n, k, t, d, a, ...)                                                \
    {                                                                          \
        .name = (n), .key = (k), .kind = (t), .dst = (d), .arg = (a),          \
        .help = __VA_ARGS__                                                    \
    }

struct probe_args {
    struct vfio_probe_opts o;
    const char *out, *name, *samples_path, *dev;
    bool no_bind, quiet;
};

/* -1 to go on, or the exit code to return now. */
static int parse_args(int argc, char **argv, struct probe_args *a)
{
    memset(a, 0, sizeof(*a));
    vfio_probe_opts_init(&a->o);
    const struct cli_opt opts[] = {
        OPT("output", 'o', CLI_STR, &a->out, "FILE",
            "write the profile to FILE (default: stdout)"),
        OPT("name", 'n', CLI_STR, &a->name, "NAME",
            "device name in the profile (default: from DEVICE)"),
        OPT("samples", 0, CLI_STR, &a->samples_path, "FILE",
            "also write the raw samples and arc timings as JSON"),
        OPT("sample-time", 0, CLI_TIME, &a->o.sample_ns, "T",
            "sampling time per phase (default 1s)", .zero_ok = true),
        OPT("interval", 0, CLI_TIME, &a->o.interval_ns, "T",
            "time between samples (default 100ms)", .zero_ok = true),
        OPT("reps", 0, CLI_UINT, &a->o.latency_reps, "N",
            "timed back-to-back size queries (default 32)", .min = 1,
            .max = 256),
        OPT("max-read", 0, CLI_SIZE, &a->o.max_read_bytes, "SIZE",
            "stop reading a data stream after SIZE (default: all)"),
        OPT("no-precopy", 0, CLI_FLAG, &a->o.no_precopy, NULL,
            "do not use PRE_COPY even if the device has it"),
        OPT("no-bind", 0, CLI_FLAG, &a->no_bind, NULL,
            "do not bind a device cdev to " IOMMU_DEV),
        OPT("quiet", 'q', CLI_FLAG, &a->quiet, NULL, "no summary on stderr"),
    };
    static char usage_text[sizeof(usage_fmt) + sizeof(need_hw_help)];
    snprintf(usage_text, sizeof(usage_text), usage_fmt, need_hw_help);
    const struct cli_spec spec = {
        "probe-vfio", usage_text, NULL, opts, sizeof(opts) / sizeof(opts[0]),
        after_text};
    int argi;
    int rc = cli_parse(&spec, argc, argv, &argi);
    if (rc >= 0) {
        return rc;
    }
    if (argi != argc - 1) {
        cli_error("probe-vfio needs exactly one DEVICE (see 'migsim "
                  "probe-vfio --help')");
        return EXIT_USAGE;
    }
    char err[512];
    if (vfio_probe_opts_check(&a->o, err, sizeof(err)) < 0) {
        cli_error("%s", err);
        return EXIT_USAGE;
    }
    a->dev = argv[argi];
    if (!a->name) {
        const char *slash = strrchr(a->dev, '/');
        a->name = slash ? slash + 1 : a->dev;
    }
    return -1;
}

static int write_json(json_t *j, const char *path)
{
    int rc;
    if (!path || strcmp(path, "-") == 0) {
        rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (rc == 0) {
            fputc('\n', stdout);
        }
    } else {
        rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    }
    if (rc != 0) {
        cli_error("cannot write %s: %s", path ? path : "stdout",
                  strerror(errno));
        return -1;
    }
    return 0;
}

static void summary(const struct vfio_probe_result *r)
{
    char a[40], b[40], c[40];
    fprintf(stderr, "migration flags: STOP_COPY%s%s\n", r->p2p ? " P2P" : "",
            r->precopy ? " PRE_COPY" : "");
    if (r->size_ok) {
        fprintf(stderr,
                "MIG_DATA_SIZE in RUNNING: median %s (range %s .. %s), "
                "ioctl %s (max %s)\n",
                units_fmt_size(r->stop_copy_bytes, a, sizeof(a)),
                units_fmt_size(r->stop_copy_min_bytes, b, sizeof(b)),
                units_fmt_size(r->stop_copy_max_bytes, c, sizeof(c)),
                units_fmt_time(r->query_latency_ns, a, sizeof(a)),
                units_fmt_time(r->query_latency_max_ns, b, sizeof(b)));
    } else {
        fprintf(stderr,
                "MIG_DATA_SIZE not available (%s): QEMU would assume 100 "
                "GiB\n",
                strerror(r->size_errno));
    }
    if (r->precopy_probed) {
        fprintf(stderr, "pre-copy: initial %s, dirty rate %s, %s read\n",
                units_fmt_size(r->precopy_initial_bytes, a, sizeof(a)),
                units_fmt_rate((double)r->precopy_dirty_rate_bps, b, sizeof(b)),
                units_fmt_size(r->precopy_read_bytes, c, sizeof(c)));
    }
    if (r->stop_copy_size_ok) {
        fprintf(stderr, "MIG_DATA_SIZE in STOP_COPY: %s\n",
                units_fmt_size(r->stop_copy_reported_bytes, a, sizeof(a)));
    }
    fprintf(stderr, "stop-copy stream: %s read%s in %s (%s)\n",
            units_fmt_size(r->stop_copy_read_bytes, a, sizeof(a)),
            r->stop_copy_eof ? " to the end" : " (capped, not to the end)",
            units_fmt_time(r->stop_copy_read_ns, b, sizeof(b)),
            units_fmt_rate((double)r->read_bps, c, sizeof(c)));
    for (unsigned i = 0; i < r->n_hops; i++) {
        fprintf(stderr, "  SET %s -> %s: %s\n",
                vfio_fsm_state_name(r->hops[i].from),
                vfio_fsm_state_name(r->hops[i].to),
                units_fmt_time(r->hops[i].ns, a, sizeof(a)));
    }
}

/* "fd:N" -> N; -1 if s is not of that form. */
static int parse_fd_spec(const char *s)
{
    if (strncmp(s, "fd:", 3) != 0 || s[3] == '\0') {
        return -1;
    }
    char *end;
    errno = 0;
    long v = strtol(s + 3, &end, 10);
    if (errno || *end != '\0' || v < 0 || v > 1 << 20) {
        return -1;
    }
    return (int)v;
}

static int probe_exit_code(int rc)
{
    if (rc == -ENOTTY || rc == -EOPNOTSUPP) {
        return EXIT_DATA; /* DEVICE is not a migration device */
    }
    return EXIT_IO;
}

/* A cdev bound to the iommufd context; 0 or an exit code (fd closed). */
static int bind_cdev(const struct vfio_probe_io *io, const char *dev, int fd)
{
    char err[512];
    int ifd = open(IOMMU_DEV, O_RDWR | O_CLOEXEC);
    if (ifd < 0) {
        cli_error("cannot open %s: %s; %s", IOMMU_DEV, strerror(errno),
                  need_hw);
        close(fd);
        return EXIT_IO;
    }
    int rc = vfio_probe_bind_iommufd(io, fd, ifd, err, sizeof(err));
    /* the bind holds its own reference to the iommufd context */
    close(ifd);
    if (rc < 0) {
        cli_error("%s: %s", dev, err);
        close(fd);
        return EXIT_IO;
    }
    return 0;
}

/* The device fd (fd:N or an opened node, bound unless no_bind); 0 or an
 * exit code. */
static int open_device(const struct probe_args *a,
                       const struct vfio_probe_io *io, int *fd, bool *own_fd)
{
    const char *dev = a->dev;
    *fd = parse_fd_spec(dev);
    *own_fd = false;
    if (*fd < 0 && strncmp(dev, "fd:", 3) == 0) {
        cli_error("'%s' is not a valid fd:N device spec", dev);
        return EXIT_USAGE;
    }
    if (*fd >= 0) {
        if (fcntl(*fd, F_GETFD) < 0) {
            cli_error("%s: descriptor %d is not open (%s); %s", dev, *fd,
                      strerror(errno), need_hw);
            return EXIT_IO;
        }
        return 0;
    }
    *fd = open(dev, O_RDWR | O_CLOEXEC);
    if (*fd < 0) {
        cli_error("cannot open %s: %s; %s", dev, strerror(errno), need_hw);
        return EXIT_IO;
    }
    *own_fd = true;
    if (!a->no_bind && strncmp(dev, CDEV_DIR, strlen(CDEV_DIR)) == 0) {
        return bind_cdev(io, dev, *fd);
    }
    return 0;
}

/* The profile and (with --samples) the samples; the exit code. */
static int write_outputs(const struct probe_args *a,
                         const struct vfio_probe_result *res)
{
    int ret = EXIT_OK;
    json_t *j = vfio_probe_profile_json(res, a->name);
    if (!j) {
        cli_error("out of memory building the profile");
        ret = EXIT_INTERNAL;
    } else if (write_json(j, a->out) < 0) {
        ret = EXIT_IO;
    }
    json_decref(j);
    if (ret == EXIT_OK && a->samples_path) {
        j = vfio_probe_samples_json(res);
        if (!j) {
            cli_error("out of memory building the samples");
            ret = EXIT_INTERNAL;
        } else if (write_json(j, a->samples_path) < 0) {
            ret = EXIT_IO;
        }
        json_decref(j);
    }
    return ret;
}

int cmd_probe_vfio(int argc, char **argv)
{
    struct probe_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        return rc;
    }
    const struct vfio_probe_io *io = vfio_probe_sys_io();
    int fd;
    bool own_fd;
    rc = open_device(&a, io, &fd, &own_fd);
    if (rc != 0) {
        return rc;
    }
    struct vfio_probe_result *res = malloc(sizeof(*res));
    if (!res) {
        cli_error("out of memory");
        if (own_fd) {
            close(fd);
        }
        return EXIT_INTERNAL;
    }
    char err[512] = "";
    rc = vfio_probe_run(io, fd, &a.o, res, err, sizeof(err));
    if (own_fd) {
        close(fd);
    }
    if (rc < 0) {
        cli_error("%s: %s", a.dev, err);
        free(res);
        return probe_exit_code(rc);
    }
    if (!a.quiet) {
        summary(res);
    }
    int ret = write_outputs(&a, res);
    free(res);
    return ret;
}
