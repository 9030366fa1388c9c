# SPDX-License-Identifier: GPL-3.0-or-later
# bash completion for migsim, installed by `make install` into
# PREFIX/share/bash-completion/completions/migsim.
#
# Commands and options come from migsim's own --help (the option tables
# that also produce the man page), so the completion cannot go stale:
# `migsim --help` lists the commands, `migsim CMD --help` (or
# `migsim lab run --help`) the options; runs ACTIONs are the "Actions:"
# block of `migsim runs --help`.

_migsim_help_opts() {
    # the long and short options of the --help text on stdin
    sed -n '/^Exit status:/q; s/^  \(-[A-Za-z0-9]\), \(--[a-z][a-z0-9-]*\).*/\1 \2/p; s/^      \(--[a-z][a-z0-9-]*\).*/\1/p'
}

_migsim() {
    local cur prev words cword
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi
    local prog=${words[0]}
    if [ "$cword" -eq 1 ]; then
        local cmds
        cmds=$("$prog" --help 2>/dev/null | awk '/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }')
        COMPREPLY=($(compgen -W "$cmds help --help --version" -- "$cur"))
        return
    fi
    local cmd=${words[1]} sub=""
    case $cmd in
    help)
        COMPREPLY=($(compgen -W "$("$prog" --help 2>/dev/null | awk '/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }')" -- "$cur"))
        return
        ;;
    lab)
        if [ "$cword" -eq 2 ]; then
            COMPREPLY=($(compgen -W "run validate" -- "$cur"))
            return
        fi
        sub=${words[2]}
        ;;
    runs)
        if [ "$cword" -eq 2 ] && [[ $cur != -* ]]; then
            COMPREPLY=($(compgen -W "$("$prog" runs --help 2>/dev/null | awk '/^Actions:/ { f = 1; next } /^$/ { f = 0 } f && /^  [a-z]/ { print $1 }')" -- "$cur"))
            return
        fi
        ;;
    esac
    case $prev in
    --policy | -p)
        COMPREPLY=($(compgen -W "$("$prog" policies --brief 2>/dev/null | sed -n 's/^  [R ] \([a-z][a-z0-9-]*\).*/\1/p')" -- "$cur"))
        return
        ;;
    --format | -f)
        COMPREPLY=($(compgen -W "table json csv" -- "$cur"))
        return
        ;;
    --for)
        COMPREPLY=($(compgen -W "qemu libvirt nova kubevirt proxmox" -- "$cur"))
        return
        ;;
    --ram-mode)
        COMPREPLY=($(compgen -W "page aggregate" -- "$cur"))
        return
        ;;
    esac
    if [[ $cur == -* ]]; then
        local opts
        opts=$("$prog" "$cmd" ${sub:+"$sub"} --help 2>/dev/null | _migsim_help_opts)
        COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
}
complete -F _migsim migsim
