/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sim/units.h — human units for sizes, times and rates: contract.
 *
 * Sizes: "21GB" (10^9), "64GiB" (2^30), "4KiB", "512", "1.5TB"; suffixes
 * B, K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB, P/PB/PiB (K, M, G, T, P alone
 * are binary, as QEMU's size options are).  Case-insensitive, optional space.
 * Times: "300ms", "1.5s", "10min", "2h", "250us", "100ns"; a bare number
 * is an error (units are required) unless the caller gives a default unit.
 * Rates (bytes per second): "128MiB/s", "10Gbit/s", "10Gbps", "100Mbit/s",
 * "1GB/s", "4MiB/s"; bit rates are decimal (1 Gbit = 10^9 bits).
 *
 * All parsers return 0 on success and -1 on error with a message (naming
 * the text) in err if err is not NULL.  Results saturate nothing: values
 * that do not fit are errors.
 */
#ifndef MIGSIM_SIM_UNITS_H
#define MIGSIM_SIM_UNITS_H

#include <stddef.h>
#include <stdint.h>

int units_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen);
/* default_unit_ns: multiplier for a bare number, or 0 to require a unit. */
int units_parse_time(const char *s, int64_t default_unit_ns, int64_t *ns,
                     char *err, size_t errlen);
int units_parse_rate(const char *s, uint64_t *bytes_per_s, char *err,
                     size_t errlen);
/* Parse "42", "42%", "0.5" as a fraction in [0,1] ("42%" -> 0.42). */
int units_parse_fraction(const char *s, double *frac, char *err, size_t errlen);

/* Formatting for tables: "21.0 GB", "64.0 GiB" (binary if exact),
 * "300 ms", "1.50 s", "128 MiB/s".  Write into buf, return buf. */
char *units_fmt_size(uint64_t bytes, char *buf, size_t len);
char *units_fmt_time(int64_t ns, char *buf, size_t len);
char *units_fmt_rate(double bytes_per_s, char *buf, size_t len);

#endif
