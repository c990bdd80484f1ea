#!/usr/bin/env bash
# File names that are not UTF-8 (legal on Linux, and common in old data sets) reach status.json, the
# summary and `mpiq check --json` as U+FFFD, never a crash: a task file, its run directory and a task
# name's directory of such names run like any other.
source "$(dirname "$0")/lib.sh"

name=$(printf 'caf\xe9')  # Latin-1, not UTF-8
mkdir "$name"
printf 'true\n[@ %s @] pwd\n' "$name" >"$name.tasks"
mpiq_run() { if [ "$NP" = 1 ]; then "$MPIQ" run "$@"; else mpirun --allow-run-as-root --oversubscribe -np "$NP" "$MPIQ" run "$@"; fi; }
mpiq_run "$name.tasks" >run.out 2>&1 || fail "mpiq run of a non-UTF-8 file name failed: $(tail -3 run.out)"
grep -q "terminate called" run.out && fail "mpiq run crashed: $(tail -3 run.out)"
/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1], encoding="utf-8")); assert d["state"] == "finished", d["state"]' \
  "$name.mpiq/status.json" || fail "status.json is not valid UTF-8 JSON of a finished run"
"$MPIQ" status "$name.mpiq" --json >status.json 2>status.err || fail "mpiq status --json failed: $(cat status.err)"
/usr/bin/python3 -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' status.json ||
  fail "mpiq status --json printed invalid JSON"
"$MPIQ" check "$name.tasks" --json >check.json 2>check.err || fail "mpiq check --json failed: $(cat check.err)"
/usr/bin/python3 -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' check.json ||
  fail "mpiq check --json printed invalid JSON"
echo "ok"
