#!/bin/bash
# make install honours PREFIX and DESTDIR; the man page renders.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1
dest="$TMPD/root"
check "make install DESTDIR PREFIX" make -s install DESTDIR="$dest" PREFIX=/opt/ms
check "binary installed" test -x "$dest/opt/ms/bin/migsim"
check "man page installed" test -f "$dest/opt/ms/share/man/man1/migsim.1"
check "scenarios installed" test -f "$dest/opt/ms/share/migsim/scenarios/seed-vfio-21g.json"
check "lab guest installed where lab looks for it" test -f "$dest/opt/ms/share/migsim/guest.bin"
check "installed binary runs" bash -c '"'"$dest"'/opt/ms/bin/migsim" --version | grep -q "^migsim "'
check "man page renders without warnings" bash -c 'out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l man/migsim.1 2>&1 >/dev/null); [ -z "$out" ]'
check "every command in --help is in the man page" bash -c 'man=$(sed "s/\\\\//g" man/migsim.1); for c in $("$MIGSIM" --help | awk "/^Commands:/{f=1;next} f && /^  [a-z]/{print \$1}"); do echo "$man" | grep -Eq "^\.BI? \"?$c( |\"|$)" || { echo "missing $c"; exit 1; }; done'
check "bash completion installed" test -f "$dest/opt/ms/share/bash-completion/completions/migsim"
check "completion offers a command's options from its --help" bash -c '
    source "$0/opt/ms/share/bash-completion/completions/migsim"
    COMP_WORDS=("$1" plan --safe); COMP_CWORD=2; _migsim
    [ "${COMPREPLY[*]}" = "--safety-factor" ] || exit 1
    COMP_WORDS=("$1" lab run --time); COMP_CWORD=3; _migsim
    [ "${COMPREPLY[*]}" = "--time-limit" ] || exit 1
    COMP_WORDS=("$1" sim); COMP_CWORD=1; _migsim
    [ "${COMPREPLY[*]}" = "simulate" ]' "$dest" "$MIGSIM"
# the man page is generated from every --help and lists every option
check "man page is current (scripts/gen-man.sh from --help)" bash -c \
    'scripts/gen-man.sh "$0" man/migsim.1.in | diff -u man/migsim.1 - >&2' "$MIGSIM"
# every option of every --help is in that command's section of the man page
optsof() { sed -n 's/^  \(-[A-Za-z0-9], \)\{0,1\}\(--[a-z][a-z0-9-]*\).*/\2/p; s/^      \(--[a-z][a-z0-9-]*\).*/\1/p'; }
sed 's/\\-/-/g; s/\\e/\\/g' man/migsim.1 >"$TMPD/man.txt"
: >"$TMPD/missing"
n_opts=0
for c in $("$MIGSIM" --help | awk '/^Commands:/{f=1;next} f && /^  [a-z]/{print $1}'); do
    subs=$c
    [ "$c" = lab ] && subs="lab run:lab validate"
    IFS=: read -ra secs <<<"$subs"
    for sec in "${secs[@]}"; do
        # shellcheck disable=SC2086
        "$MIGSIM" $sec --help | optsof >"$TMPD/o1"
        awk -v s=".SS \"migsim $sec\"" '$0 == s {f=1; next} f && /^\.S[HS]/ {f=0} f' "$TMPD/man.txt" >"$TMPD/sec"
        while read -r o; do
            n_opts=$((n_opts + 1))
            grep -q -- "^\.B .*$o\b" "$TMPD/sec" || echo "$sec $o" >>"$TMPD/missing"
        done <"$TMPD/o1"
    done
done
check "the --help texts list options ($n_opts)" test "$n_opts" -gt 40
check "the man page lists every option of every --help in its command's section" \
    bash -c '! test -s "$0" || { cat "$0" >&2; exit 1; }' "$TMPD/missing"
check "make uninstall" make -s uninstall DESTDIR="$dest" PREFIX=/opt/ms
check "uninstalled" test ! -e "$dest/opt/ms/bin/migsim"
finish
