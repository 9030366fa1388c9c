#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# scripts/gen-man.sh MIGSIM [TEMPLATE] > man/migsim.1
#
# The man page from man/migsim.1.in with an OPTIONS section generated from
# the commands' own --help (so it cannot miss an option): every command
# listed by `migsim --help`, and the subcommands a --help names as
# 'migsim CMD SUB --help' (lab run, lab validate).  Option lines are those
# cli_help_options() prints: "  -k, --name ARG  text" or "      --name ARG
# text", continuation lines indented to the help column.
set -eu
migsim=${1:?usage: gen-man.sh MIGSIM [TEMPLATE]}
tmpl=${2:-$(dirname "$0")/../man/migsim.1.in}

# roff-escape one line of text: backslashes, leading dots and quotes, '-'.
rq() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

# the options of one --help text (stdin) as .TP entries
opts_roff() {
    awk '
    function flush() { if (have) { print ".TP"; print head; if (text != "") print text; have = 0; text = "" } }
    /^Exit status:/ { flush(); exit }
    /^  (-[A-Za-z0-9], )?--[a-z]/ || /^      --[a-z]/ {
        flush()
        line = $0; sub(/^ +/, "", line)
        # split the option part from the help text at the first run of 2+ spaces
        n = match(line, /  +/)
        if (n) { head = substr(line, 1, n - 1); text = substr(line, n + RLENGTH) }
        else { head = line; text = "" }
        have = 1; next
    }
    have && /^                        [^ ]/ { t = $0; sub(/^ +/, "", t); text = text (text == "" ? "" : "\n") t; next }
    have && /^$/ { flush(); next }
    have { flush() }
    END { flush() }' | while IFS= read -r l; do
        case $l in
        .TP) echo ".TP" ;;
        *) printf '%s\n' "$l" | rq ;;
        esac
    done | awk 'prev == ".TP" { print ".B " $0; prev = ""; next } { print; prev = $0 }'
}

section() { # NAME then --help text on stdin
    echo ".SS \"migsim $1\""
    opts_roff
}

gen_options() {
    echo ".SH OPTIONS"
    echo "Generated from each command's"
    echo ".BR \\-\\-help ;"
    echo "every command also takes"
    echo ".B \\-h"
    echo "and"
    echo ".BR \\-\\-help ."
    local cmds
    cmds=$("$migsim" --help | awk '/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }')
    for c in $cmds; do
        local help
        help=$("$migsim" "$c" --help 2>&1 || true)
        subs=$(printf '%s\n' "$help" | grep -oE "'migsim $c [a-z-]+ --help'" | awk '{ print $3 }' | sort -u || true)
        if [ -n "$subs" ]; then
            for s in $subs; do
                "$migsim" "$c" "$s" --help 2>&1 | section "$c $s"
            done
        else
            printf '%s\n' "$help" | section "$c"
        fi
    done
}

while IFS= read -r line; do
    case $line in
    '.\" @OPTIONS@'*) gen_options ;;
    *) printf '%s\n' "$line" ;;
    esac
done <"$tmpl"
