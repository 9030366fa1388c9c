#!/bin/bash
# Function sizes: one line per function of the project's C code (tests
# left out unless given), "LINES FILE:LINE NAME", longest first.  Relies on
# the house format (clang-format, Linux braces): a definition opens with "{"
# alone in column 0 and closes with "}" in column 0.
# Usage: scripts/funcsize.sh [FILES...]   (default: every module and cli .c)
set -u
cd "$(dirname "$0")/.." || exit 1
if [ $# -eq 0 ]; then
    set -- $(git ls-files '*.c' | grep -vE '^(tests|bench|fuzz)/')
fi
awk '
FNR == 1 { name = ""; start = 0 }
/^[A-Za-z_].*\(/ && !/;[ \t]*$/ { sig = $0; sigline = FNR }
/^\{/ { start = FNR; name = sig; sub(/\(.*/, "", name); n = split(name, w, /[ *]+/); name = w[n]; at = sigline }
/^\}/ && start { printf "%d %s:%d %s\n", FNR - start + 1, FILENAME, at, name; start = 0 }
' "$@" | sort -rn
