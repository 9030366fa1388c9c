#!/bin/sh
# Install QEMU 10.0 from Debian's bookworm-backports into a private prefix,
# beside the system QEMU (7.2), which stays as it is.
#
# The four packages (qemu-system-x86, qemu-system-common, qemu-system-data,
# seabios) are fetched with apt's own tools from the mirror this machine's
# apt sources already use, through a separate sources list and a separate
# apt state and cache directory: /etc/apt and the dpkg database are not
# touched.  Signatures are checked against the keyring that the machine's
# sources name (Signed-By), by default the Debian archive keyring.  The
# .deb files are unpacked with dpkg -x into PREFIX, and PREFIX/bin/
# qemu-system-x86_64 is a wrapper that runs the unpacked binary with its own
# firmware (-L) and module directory.
#
# Usage: scripts/qemu10.sh [--check]   (--check: report, install nothing)
# Environment:
#   MIGSIM_QEMU10_PREFIX  where to install (default /opt/migsim/qemu-10.0)
#   MIGSIM_QEMU10_FORCE=1 reinstall even if the prefix already has 10.0
#   MIGSIM_MINIMAL=1      skip (nothing to do)
set -eu
PREFIX="${MIGSIM_QEMU10_PREFIX:-/opt/migsim/qemu-10.0}"
SUITE=bookworm-backports
BASE=${SUITE%-backports}
WANT="10.0" # upstream series; the package version must be 1:10.0.*
PKGS="qemu-system-x86 qemu-system-common qemu-system-data seabios"
DEFAULT_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
case "$PREFIX" in
/?*) PREFIX=${PREFIX%/} ;;
*) echo "qemu10: MIGSIM_QEMU10_PREFIX must be an absolute path, not '$PREFIX'" >&2; exit 1 ;;
esac
WRAPPER="$PREFIX/bin/qemu-system-x86_64"
STAMP="$PREFIX/.migsim-qemu10"

die() {
    echo "qemu10: $*" >&2
    exit 1
}

if [ "${MIGSIM_MINIMAL-0}" = 1 ]; then
    echo "qemu10: MIGSIM_MINIMAL=1, skipped"
    exit 0
fi

# Already installed?  The stamp lists the package versions; the wrapper must
# still run and say 10.0.
installed() {
    [ -f "$STAMP" ] && [ -x "$WRAPPER" ] || return 1
    "$WRAPPER" --version 2>/dev/null | head -n 1 | grep -q "version $WANT\."
}
if [ "${MIGSIM_QEMU10_FORCE-0}" != 1 ] && installed; then
    echo "qemu10: $("$WRAPPER" --version | head -n 1) in $PREFIX"
    exit 0
fi
if [ "${1-}" = "--check" ]; then
    echo "qemu10: QEMU $WANT not installed in $PREFIX" >&2
    exit 1
fi
# Never replace a directory that is not ours.
if [ -e "$PREFIX" ] && [ ! -f "$STAMP" ] && [ -n "$(ls -A "$PREFIX" 2>/dev/null)" ]; then
    die "$PREFIX exists and was not made by this script; remove it or set MIGSIM_QEMU10_PREFIX"
fi
[ "$(id -u)" = 0 ] || [ -w "$(dirname "$PREFIX")" ] ||
    die "cannot write $(dirname "$PREFIX"): run as root or set MIGSIM_QEMU10_PREFIX"
for t in apt-get dpkg dpkg-deb; do
    command -v "$t" >/dev/null 2>&1 || die "$t not found (Debian only)"
done

# The mirror: the first URI of the machine's own apt sources that serves the
# suite $BASE (one-line .list files and deb822 .sources files), and the
# keyring that source names.  Prints "URI KEYRING" (KEYRING may be empty).
find_mirror() {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        # deb [opts] URI SUITE COMPONENT...
        awk -v base="$BASE" '
            /^[ \t]*#/ { next }
            $1 == "deb" {
                i = 2; opts = ""
                if ($2 ~ /^\[/) {
                    while (i <= NF) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } i++ }
                }
                if ($(i + 1) != base) next
                key = ""
                if (match(opts, /signed-by=[^] ]+/))
                    key = substr(opts, RSTART + 10, RLENGTH - 10)
                print $i, key; exit
            }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # Stanzas separated by blank lines; Types must include deb,
        # Suites must include $BASE, Enabled must not be no.
        awk -v base="$BASE" '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " base " ") &&
                    tolower(enabled) != "no" && uris != "") {
                    split(uris, u, " "); print u[1], key; found = 1; exit
                }
                types = suites = uris = key = enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            {
                k = tolower($1); sub(/:$/, "", k); $1 = ""; sub(/^ +/, "")
                if (k == "types") types = $0
                else if (k == "uris") uris = $0
                else if (k == "suites") suites = $0
                else if (k == "signed-by") key = $0
                else if (k == "enabled") enabled = $0
            }
            END { if (!found) flush() }' "$f"
    done
}
src=$(find_mirror | head -n 1)
MIRROR=${src%% *}
KEYRING=${src#"$MIRROR"}
KEYRING=${KEYRING# }
[ -n "$MIRROR" ] ||
    die "no apt source for suite $BASE in /etc/apt/sources.list*; cannot tell which mirror to use"
MIRROR=${MIRROR%/}
[ -n "$KEYRING" ] || KEYRING=$DEFAULT_KEYRING
case "$KEYRING" in
/*) ;;
*) die "source $MIRROR has an inline or relative Signed-By; name a keyring file" ;;
esac
if [ ! -r "$KEYRING" ] || [ ! -s "$KEYRING" ]; then
    die "keyring $KEYRING missing or empty"
fi
if command -v gpgv >/dev/null 2>&1 || command -v sqv >/dev/null 2>&1; then :; else
    die "neither gpgv nor sqv installed: apt could not check signatures"
fi
echo "qemu10: $SUITE from $MIRROR (keyring $KEYRING)"

# A private apt: its own sources list, state, cache and preferences.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/migsim-qemu10.XXXXXX")
STAGE=""
cleanup() {
    rm -rf "$WORK"
    [ -z "$STAGE" ] || rm -rf "$STAGE"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
chmod 0755 "$WORK" # apt downloads as user _apt
mkdir -p "$WORK/etc/sources.list.d" "$WORK/etc/preferences.d" \
    "$WORK/state/lists/partial" "$WORK/cache/archives/partial" "$WORK/debs"
echo "deb [signed-by=$KEYRING] $MIRROR $SUITE main" >"$WORK/etc/sources.list"
: >"$WORK/etc/preferences"
apt_() {
    apt-get -q -o Dir::Etc::SourceList="$WORK/etc/sources.list" \
        -o Dir::Etc::SourceParts="$WORK/etc/sources.list.d" \
        -o Dir::Etc::Preferences="$WORK/etc/preferences" \
        -o Dir::Etc::PreferencesParts="$WORK/etc/preferences.d" \
        -o Dir::State="$WORK/state" -o Dir::Cache="$WORK/cache" \
        -o Acquire::AllowInsecureRepositories=false \
        -o Acquire::AllowDowngradeToInsecureRepositories=false "$@"
}
# --error-on=any: a signature or download failure is an error, not a warning.
apt_ --error-on=any update >"$WORK/update.log" 2>&1 || {
    cat "$WORK/update.log" >&2
    die "apt-get update of $SUITE failed"
}
pkgs_at=""
for p in $PKGS; do pkgs_at="$pkgs_at $p/$SUITE"; done
# shellcheck disable=SC2086
(cd "$WORK/debs" && apt_ download $pkgs_at) >"$WORK/download.log" 2>&1 || {
    cat "$WORK/download.log" >&2
    die "apt-get download failed"
}

# Check what came and unpack it into a staging prefix next to PREFIX.
versions=""
for p in $PKGS; do
    deb=""
    for d in "$WORK/debs/${p}_"*.deb; do [ -f "$d" ] && deb=$d; done
    [ -n "$deb" ] || die "$p: no .deb downloaded"
    v=$(dpkg-deb -f "$deb" Version)
    case "$p:$v" in
    qemu-*:1:$WANT.*) ;;
    qemu-*) die "$p: $SUITE has $v, not 1:$WANT.*" ;;
    esac
    versions="$versions$p $v
"
done
mkdir -p "$(dirname "$PREFIX")"
STAGE=$(mktemp -d "$PREFIX.new.XXXXXX")
for deb in "$WORK"/debs/*.deb; do
    dpkg -x "$deb" "$STAGE"
done
[ -x "$STAGE/usr/bin/qemu-system-x86_64" ] ||
    die "qemu-system-x86_64 not in the packages"
if [ ! -d "$STAGE/usr/share/seabios" ] || [ ! -d "$STAGE/usr/share/qemu" ]; then
    die "firmware directories missing from the packages"
fi
moddir=""
for d in "$STAGE"/usr/lib/*/qemu "$STAGE"/usr/lib/qemu; do
    [ -d "$d" ] && { moddir=${d#"$STAGE"}; break; }
done

mkdir -p "$STAGE/bin"
cat >"$STAGE/bin/qemu-system-x86_64" <<EOF
#!/bin/sh
# QEMU $WANT from $SUITE, unpacked by migsim's scripts/qemu10.sh.
# Runs the private binary with its own firmware and modules, never the
# system's (QEMU 7.2's modules would not load into 10.0).
here=\$(dirname "\$(dirname "\$(readlink -f "\$0")")")
${moddir:+QEMU_MODULE_DIR="\$here$moddir"
export QEMU_MODULE_DIR
}exec "\$here/usr/bin/qemu-system-x86_64" \\
    -L "\$here/usr/share/seabios" -L "\$here/usr/share/qemu" "\$@"
EOF
chmod 0755 "$STAGE/bin/qemu-system-x86_64"
printf '%s' "$versions" >"$STAGE/.migsim-qemu10"

# The unpacked binary must run with this machine's libraries.
if ! out=$("$STAGE/bin/qemu-system-x86_64" --version 2>&1); then
    echo "$out" >&2
    if command -v ldd >/dev/null 2>&1; then
        ldd "$STAGE/usr/bin/qemu-system-x86_64" | grep 'not found' >&2 || :
    fi
    die "the unpacked QEMU does not run (missing libraries?)"
fi
echo "$out" | head -n 1 | grep -q "version $WANT\." ||
    die "unpacked QEMU says: $(echo "$out" | head -n 1)"

rm -rf "$PREFIX"
mv "$STAGE" "$PREFIX"
STAGE=""
echo "qemu10: installed $(echo "$out" | head -n 1) in $PREFIX"
echo "qemu10: run it as $WRAPPER (e.g. MIGSIM_QEMU=$WRAPPER)"
