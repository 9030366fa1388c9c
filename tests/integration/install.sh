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
check "make uninstall" make -s uninstall DESTDIR="$dest" PREFIX=/opt/ms
check "uninstalled" test ! -e "$dest/opt/ms/bin/migsim"
finish
