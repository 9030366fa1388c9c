/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * base/units.h — human units for sizes, times and rates: contract.
 *
 * Sizes: "21GB" (10^9), "64GiB" (2^30), "4KiB", "512", "1.5TB"; suffixes
 * B, K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB, P/PB/PiB (K, M, G, T, P alone
 * are binary, as QEMU's size options are).  Case-insensitive, optional space.
 * A bare number is bytes.
 * Times: "300ms", "1.5s", "10min", "2h", "250us" (also "µs"), "100ns";
 * case-insensitive; a bare number is an error (units are required) unless
 * the caller gives a default unit.
 * Rates (bytes per second): "128MiB/s", "10Gbit/s", "10Gbps", "100Mbit/s",
 * "1GB/s", "4MiB/s"; bit rates are decimal (1 Gbit = 10^9 bits, so
 * "10Gbit/s" = 1.25e9 B/s).  In rates the letter b/B decides: "bit/s" and
 * "<prefix>bps" (lower-case b) are bits, "B/s" and "<prefix>Bps" are bytes;
 * "Mb/s" is rejected as ambiguous.  A rate needs "/s" or "ps".
 *
 * Numbers: digits with an optional fraction and exponent ("1.5", ".5",
 * "2e3"); an optional leading '+', no '-' (negative values are errors), no
 * hex, inf or nan; surrounding white space is ignored.  Sizes, times and
 * rates are computed exactly (integer arithmetic, independent of the
 * locale) and rounded to the nearest byte, nanosecond or byte/s (halves
 * up); 21 significant digits are used (more are dropped), enough for
 * exact results.
 *
 * All parsers return 0 on success and -1 on error with a message (naming
 * the text, e.g. "size '12XB': unknown unit 'XB' (...)") in err if err is
 * not NULL; the output is untouched on error.  Results saturate nothing:
 * values that do not fit (uint64_t bytes, int64_t ns) are errors.
 */
#ifndef MIGSIM_SIM_UNITS_H
#define MIGSIM_SIM_UNITS_H

#include <stddef.h>
#include <stdint.h>

int units_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen);
/* default_unit_ns: multiplier for a bare number (1 .. 2^51 ns, about 26
 * days; larger is an error), or 0 to require a unit. */
int units_parse_time(const char *s, int64_t default_unit_ns, int64_t *ns,
                     char *err, size_t errlen);
int units_parse_rate(const char *s, uint64_t *bytes_per_s, char *err,
                     size_t errlen);
/* Parse "42", "42%", "0.5" as a fraction in [0,1] ("42%" -> 0.42).  With
 * '%' the number is a percentage; a bare number <= 1 is a fraction ("1" ->
 * 1.0) and a bare number in (1, 100] a percentage ("42" -> 0.42).  Anything
 * outside [0,1] after that is an error. */
int units_parse_fraction(const char *s, double *frac, char *err, size_t errlen);

/* Formatting for tables: "21.0 GB", "64.0 GiB" (binary if exact),
 * "300 ms", "1.50 s", "128 MiB/s".  Write into buf (truncated to len,
 * always terminated if len > 0), return buf; 32 bytes are always enough.
 *
 * Sizes: below 1000 "512 B"; else one decimal in the largest binary unit
 * <= the value if that is exact to one decimal ("1.5 GiB"), otherwise in
 * the largest decimal unit ("21.0 GB").
 * Times: "N ns"; "N us" / "N ms" when whole, else two decimals ("1.23 ms");
 * "1.50 s" below a minute, "2.50 min" below an hour, then "1.25 h";
 * negative times get a '-'.
 * Rates: same unit choice as sizes, three significant digits with trailing
 * zeros dropped ("128 MiB/s", "1.25 GB/s", "512 B/s"); NaN gives "n/a".
 * Every output for a non-negative finite value below 10^6 PB(/s) parses
 * back with the matching units_parse_* to within the printed precision. */
char *units_fmt_size(uint64_t bytes, char *buf, size_t len);
char *units_fmt_time(int64_t ns, char *buf, size_t len);
char *units_fmt_rate(double bytes_per_s, char *buf, size_t len);

#endif
