#!/bin/bash
# The docs stay true to the code: every scenario key that
# 'migsim simulate --keys' prints is documented in docs/scenarios.md with
# its type and default, and every doc the README names exists.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1
missing=0
while read -r key type def _; do
    if ! grep -qF "| \`$key\` | $type | \`$def\` |" docs/scenarios.md; then
        echo "    docs/scenarios.md lacks: $key ($type, default $def)"
        missing=$((missing + 1))
    fi
done < <("$MIGSIM" simulate --keys | tail -n +2)
if [ "$missing" -eq 0 ]; then ok "docs/scenarios.md has every key"; else
    notok "docs/scenarios.md has every key ($missing missing)"
fi
for d in $(grep -o 'docs/[a-z0-9-]*\.md' README.md | sort -u); do
    if [ -f "$d" ]; then ok "README names $d, which exists"; else
        notok "README names $d, which exists"
    fi
done
finish
