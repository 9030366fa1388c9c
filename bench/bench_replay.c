/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench/bench_replay.c — writes the trace bench/replay.sh times `migsim
 * replay` on: the source-side log of a long migration that never
 * converges (a VFIO device whose 21 GB stop-copy size only exact()
 * reports, as in ../shared/data/traces/01), in QEMU's log-backend format
 * with the "TID@SEC.USEC:" prefix (-msg timestamp=on, QEMU <= 10.0).
 * Per iteration: the device's estimate and exact lines, the summary
 * estimate / exact lines, a bitmap sync, the iterate pass with its RAM
 * section, a rate-limit sleep, and every other iteration a
 * migrate_transferred window — 12-13 lines of 40-190 bytes.
 *
 * Usage: bench_replay OUTFILE [SIZE_MIB]   (default 1024 MiB)
 * Standalone (libc only): cc -O2 -o bench_replay bench/bench_replay.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *put_u(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) {
        *p++ = tmp[--n];
    }
    return p;
}

static char *put_s(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* "TID@SEC.USEC:" */
static char *prefix(char *p, uint64_t t_us)
{
    p = put_s(p, "734512@");
    p = put_u(p, t_us / 1000000);
    *p++ = '.';
    uint64_t us = t_us % 1000000;
    for (uint64_t d = 100000; d; d /= 10) {
        *p++ = (char)('0' + us / d % 10);
    }
    *p++ = ':';
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUTFILE [SIZE_MIB]\n", argv[0]);
        return 2;
    }
    uint64_t want = (uint64_t)(argc > 2 ? strtoull(argv[2], NULL, 10) : 1024)
                    << 20;
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    size_t cap = 1 << 20;
    char *buf = malloc(cap + 4096);
    if (!buf) {
        fclose(f);
        return 1;
    }
    uint64_t t = 1725380798ull * 1000000, written = 0, it = 0;
    uint64_t rng = 88172645463325252ull;
    char *p = buf;
    p = prefix(p, t);
    p = put_s(p, "migrate_set_state new state setup\n");
    p = prefix(p, t + 900);
    p = put_s(p, "migrate_set_state new state active\n");
    while (written + (uint64_t)(p - buf) < want) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        uint64_t ram = (rng >> 40) & 0xffff000;
        uint64_t dev = 21038628864ull + ((rng >> 8) & 0x1fffff000ull);
        uint64_t dirty = (rng >> 20) & 0x3ff;
        p = prefix(p, t);
        p = put_s(p, "vfio_state_pending_estimate  (0000:3b:00.1) precopy ");
        p = put_u(p, ram);
        p = put_s(p, " postcopy 0 precopy initial size 0 precopy dirty size "
                     "0\n");
        p = prefix(p, t + 3);
        p = put_s(p, "migrate_pending_estimate estimate pending size ");
        p = put_u(p, ram);
        p = put_s(p, " (pre = ");
        p = put_u(p, ram);
        p = put_s(p, " post=0)\n");
        p = prefix(p, t + 5);
        p = put_s(p, "migration_bitmap_sync_start \n");
        p = prefix(p, t + 78000);
        p = put_s(p, "migration_bitmap_sync_end dirty_pages ");
        p = put_u(p, dirty);
        *p++ = '\n';
        p = prefix(p, t + 78100);
        p = put_s(p, "vfio_state_pending_exact  (0000:3b:00.1) precopy ");
        p = put_u(p, ram + dirty * 4096 + dev);
        p = put_s(p, " postcopy 0 stopcopy size ");
        p = put_u(p, dev);
        p = put_s(p, " precopy initial size 0 precopy dirty size 0\n");
        p = prefix(p, t + 78110);
        p = put_s(p, "migrate_pending_exact exact pending size ");
        p = put_u(p, ram + dirty * 4096 + dev);
        p = put_s(p, " (pre = ");
        p = put_u(p, ram + dirty * 4096 + dev);
        p = put_s(p, " post=0)\n");
        p = prefix(p, t + 78120);
        p = put_s(p, "savevm_state_iterate \n");
        p = prefix(p, t + 78125);
        p = put_s(p, "savevm_section_start ram, section_id 2\n");
        p = prefix(p, t + 78400);
        p = put_s(p, "savevm_section_end ram, section_id 2 -> 1\n");
        p = prefix(p, t + 78410);
        p = put_s(p, "savevm_section_start 0000:3b:00.1/vfio, section_id 3\n");
        p = prefix(p, t + 78420);
        p = put_s(p, "savevm_section_end 0000:3b:00.1/vfio, section_id 3 -> "
                     "1\n");
        if (it % 2 == 0) {
            uint64_t tr = 900000 + ((rng >> 30) & 0xffff);
            p = prefix(p, t + 78500);
            p = put_s(p, "migrate_transferred transferred ");
            p = put_u(p, tr);
            p = put_s(p, " time_spent 100 bandwidth ");
            p = put_u(p, tr / 100);
            p = put_s(p, " switchover_bw 0 max_size ");
            p = put_u(p, tr * 3);
            *p++ = '\n';
        }
        p = prefix(p, t + 78600);
        p = put_s(p, "migration_rate_limit_pre 3 ms\n");
        t += 83000;
        it++;
        if ((size_t)(p - buf) >= cap) {
            if (fwrite(buf, 1, (size_t)(p - buf), f) != (size_t)(p - buf)) {
                perror(argv[1]);
                return 1;
            }
            written += (uint64_t)(p - buf);
            p = buf;
        }
    }
    if (p > buf && fwrite(buf, 1, (size_t)(p - buf), f) != (size_t)(p - buf)) {
        perror(argv[1]);
        return 1;
    }
    written += (uint64_t)(p - buf);
    if (fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    free(buf);
    fprintf(stderr, "%s: %llu bytes, %llu iterations\n", argv[1],
            (unsigned long long)written, (unsigned long long)it);
    return 0;
}
