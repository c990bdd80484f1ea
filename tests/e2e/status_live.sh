# A live run's status.json is at most a few seconds old (rewritten every second by default); its counts,
# running tasks and per-worker rows agree; `mpiq status --tasks running` lists the running tasks; a
# redirected stderr gets plain progress lines (--progress-interval), under mpirun too.
source "$(dirname "$0")/lib.sh"
for i in $(seq 1 6); do echo "sleep 3"; done > t.tasks
mpiq_start t.tasks --progress-interval 1s > run.out 2> run.err
pid=$!
# Wait for the first task to end (bounded), then look while the next ones run.
for _ in $(seq 1 150); do
  [ "$(python3 -c 'import json; print(json.load(open("t.mpiq/status.json"))["counts"]["done"])' 2>/dev/null)" -gt 0 ] 2>/dev/null && break
  sleep 0.1
done
python3 - t.mpiq/status.json <<'PY' || fail "status.json disagrees with itself or is stale"
import json, os, sys, time
d = json.load(open(sys.argv[1]))
age = time.time() - os.stat(sys.argv[1]).st_mtime
assert age < 3, f"status.json is {age:.1f} s old"
running = d["counts"]["running"]
assert running > 0, "nothing running"
assert d["counts"]["done"] > 0, "no task done yet"
assert len(d["running_tasks"]) == running, (d["running_tasks"], running)
assert sum(w["running"] for w in d["workers"]) == running, d["workers"]
assert sum(w["queued"] for w in d["workers"]) == d["counts"]["assigned"] == len(d["queued_tasks"])
PY
listed=$("$MPIQ" status t.mpiq --tasks running --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")
[ "$listed" -gt 0 ] || fail "mpiq status --tasks running listed none while tasks ran"
expect_code 0 wait $pid
grep -Eq '^\[[0-9-]+ [0-9:]+\] mpiq: [0-9]+/6 done, 0 failed' run.err ||
  fail "no plain progress line in the redirected stderr: $(cat run.err)"
! grep -q $'\r' run.err || fail "a redirected stderr got terminal redraws"
[ "$(python3 -c "import json; print(json.load(open('t.mpiq/status.json'))['exit_code'])")" = 0 ] ||
  fail "the final status.json has no exit code 0"
echo "ok: live status and progress lines on $NP rank(s)"
