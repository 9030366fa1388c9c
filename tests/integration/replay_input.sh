#!/bin/bash
# migsim replay's inputs are opened and read once (issue 17 items 8 and 9):
# a named FIFO, process substitution and stdin are replayed and stored with
# the SHA-256 of the bytes read (the file's digest, as sha256sum shows; a
# gzip file's compressed bytes); a truncated gzip trace is read as far as
# it goes with a warning naming the file, fatal under --strict.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1

D=tests/data/traces
T01=$D/01-vfio-vgpu-21GB-estimate-exact-spin.log
EV="--events $D/trace-events-all"
DB=$TMPD/in.db
want=$(sha256sum "$T01" | cut -d' ' -f1)

# stored_is N SHA: the store holds N runs, the newest keyed by SHA
stored_is() {
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); n,=c.execute('SELECT count(*) FROM runs').fetchone(); s,=c.execute('SELECT source_sha256 FROM runs ORDER BY id DESC LIMIT 1').fetchone(); print(n, s); sys.exit(0 if (n, s)==(int(sys.argv[2]), sys.argv[3]) else 1)" "$DB" "$1" "$2"
}

check "plain file: replayed and stored" \
    "$MIGSIM" replay $EV --db "$DB" -q "$T01"
check "plain file: the file's SHA-256 stored" stored_is 1 "$want"

# a named FIFO can be opened once: a second open waits for a writer forever
mkfifo "$TMPD/fifo"
cat "$T01" >"$TMPD/fifo" &
check_rc "named FIFO: replayed and stored (no second open)" 0 \
    timeout 30 "$MIGSIM" replay $EV --db "$DB" -q "$TMPD/fifo"
wait
check "named FIFO: the bytes' SHA-256 stored" stored_is 2 "$want"

check "process substitution: replayed and stored" \
    bash -c "'$MIGSIM' replay $EV --db '$DB' -q <(cat '$T01')"
check "process substitution: the bytes' SHA-256 stored, not the empty string's" \
    stored_is 3 "$want"

check "stdin: replayed and stored" \
    bash -c "'$MIGSIM' replay $EV --db '$DB' -q - <'$T01'"
check "stdin: the bytes' SHA-256 stored" stored_is 4 "$want"

gzip -c "$T01" >"$TMPD/t01.gz"
gzwant=$(sha256sum "$TMPD/t01.gz" | cut -d' ' -f1)
check "gzip file: replayed and stored" \
    "$MIGSIM" replay $EV --db "$DB" -q "$TMPD/t01.gz"
check "gzip file: the compressed file's SHA-256 stored" stored_is 5 "$gzwant"
check "gzip through a FIFO-like pipe: the same digest" \
    bash -c "'$MIGSIM' replay $EV --db '$DB' -q <(cat '$TMPD/t01.gz')"
check "gzip through a pipe: the compressed bytes' SHA-256 stored" \
    stored_is 6 "$gzwant"

# ---- a truncated gzip trace: what is there is read, with a warning
sz=$(stat -c %s "$TMPD/t01.gz")
head -c $((sz - 8)) "$TMPD/t01.gz" >"$TMPD/cut.gz" # no trailer
check_rc "truncated gzip: exit 0" 0 \
    "$MIGSIM" replay --no-db $EV -f json "$TMPD/cut.gz"
cp "$TMPD/rc.out" "$TMPD/cut.json"
check "truncated gzip: a warning names the file and the truncation" \
    grep -q "warning: .*cut.gz:[0-9]*: compressed input truncated" "$TMPD/rc.err"
check "truncated gzip: all 11 lines read" python3 -c \
    "import json; d=json.load(open('$TMPD/cut.json')); exit(0 if d['input']['lines']==11 else 1)"
check "truncated gzip: verdict not-converging, as the whole trace" python3 -c \
    "import json; d=json.load(open('$TMPD/cut.json')); exit(0 if d['verdict']=='not-converging' else 1)"
check_rc "truncated gzip under --strict: exit 3" 3 \
    "$MIGSIM" replay --no-db $EV --strict "$TMPD/cut.gz"
check "truncated gzip under --strict: the error names the file" \
    grep -q "cut.gz:[0-9]*: compressed input truncated" "$TMPD/rc.err"
head -c $((sz - 40)) "$TMPD/t01.gz" >"$TMPD/half.gz" # cut inside the data
check_rc "gzip cut inside the data: exit 0" 0 \
    "$MIGSIM" replay --no-db $EV -f json "$TMPD/half.gz"
check "gzip cut inside the data: a warning" \
    grep -q "half.gz:[0-9]*: compressed input truncated" "$TMPD/rc.err"
check "two gzip members in one file: both read, no warning" bash -c \
    "cat '$TMPD/t01.gz' '$TMPD/t01.gz' >'$TMPD/two.gz' && '$MIGSIM' replay --no-db $EV -f json '$TMPD/two.gz' 2>'$TMPD/two.err' | python3 -c \"import json,sys; d=json.load(sys.stdin); sys.exit(0 if d['input']['lines']==22 and d['input']['malformed']==0 else 1)\" && ! grep -q warning '$TMPD/two.err'"

finish
