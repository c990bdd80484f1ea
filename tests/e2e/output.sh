# Task output: streams by default (a few files per run, not two per task), read back whole with
# `mpiq cat` for every task; the reason of a start failure in the task's stderr; --task-output files
# (a retry appends after a line naming its attempt) and none; a kill -9 mid-run after which every
# done task's output is complete.
source "$(dirname "$0")/lib.sh"

# --- 1. 2,000 tasks, each printing to stdout and stderr: every one reads back ---------------------
for i in $(seq 2000); do echo "echo out-\$MPIQ_TASK_ID; echo err-\$MPIQ_TASK_ID >&2"; done > many.tasks
echo 'seq 1 20000' >> many.tasks   # task 2001: 108,894 bytes, more than a pipe holds
echo 'true' >> many.tasks          # task 2002: prints nothing
mpiq_run many.tasks > run.log 2>&1 || fail "the run failed: $(tail -5 run.log)"
files=$(ls many.mpiq/out | wc -l)
[ "$files" -le "$NP" ] || fail "$files files in out/ for 2,002 tasks on $NP rank(s): $(ls many.mpiq/out | head)"
"$MPIQ" cat many.mpiq 1 > /dev/null || fail "mpiq cat failed"
bad=0
for i in $(seq 1 7 2000) 2000; do  # every 7th: each mpiq cat reads the whole run
  [ "$("$MPIQ" cat many.mpiq "$i")" = "out-$i" ] && [ "$("$MPIQ" cat many.mpiq "$i" --stderr)" = "err-$i" ] ||
    bad=$((bad + 1))
done
[ "$bad" = 0 ] || fail "$bad of the tasks did not read back their output"
cmp <("$MPIQ" cat many.mpiq 2001) <(seq 1 20000) || fail "a large output did not come back whole"
[ -z "$("$MPIQ" cat many.mpiq 2002)" ] || fail "a silent task has output"
expect_code 2 "$MPIQ" cat many.mpiq 9999 2> nosuch.err
grep -q "no task '9999'" nosuch.err || fail "unknown task: $(cat nosuch.err)"

# --- 2. Why a task failed is in its stderr ------------------------------------------------------
printf 'nosuchprog --flag\n[%% retries=1 %%] echo "try $MPIQ_ATTEMPT"; exit 3\n' > fail.tasks
expect_code 1 mpiq_run fail.tasks > fail.log 2>&1
"$MPIQ" cat fail.mpiq 1 --stderr | grep -q "^mpiq: cannot start 'nosuchprog'" ||
  fail "no start failure in task 1's stderr: $("$MPIQ" cat fail.mpiq 1 --stderr)"
[ "$("$MPIQ" cat fail.mpiq 2)" = "try 2" ] || fail "the last attempt: $("$MPIQ" cat fail.mpiq 2)"
[ "$("$MPIQ" cat fail.mpiq 2 --attempt 1)" = "try 1" ] || fail "--attempt 1: $("$MPIQ" cat fail.mpiq 2 --attempt 1)"
"$MPIQ" cat fail.mpiq --failed > failed.out
grep -q "^== task 1: cannot start .nosuchprog." failed.out &&
  grep -q "^== task 2: exit code 3, attempt 2" failed.out || fail "--failed: $(cat failed.out)"

# The reasons where the user looks: the summary, status.json and `mpiq status --tasks failed` give
# the reason and the end of stderr; a timeout is a timeout, not "signal 15"; a skipped task names
# the dependency that failed.
printf '[%% timeout=1 %%] sleep 30\necho first >&2; echo "the real reason" >&2; exit 4\n[# 2 #] true\n' > why.tasks
expect_code 1 mpiq_run why.tasks > why.out 2> why.log
grep -q "task 1: timed out after 1s" why.out || fail "summary, timeout: $(cat why.out)"
grep -q "| the real reason" why.out || fail "summary lacks the stderr tail: $(cat why.out)"
"$MPIQ" cat why.mpiq 1 --stderr | grep -q "^mpiq: timed out after 1s" || fail "no timeout line in task 1's stderr"
"$MPIQ" status why.mpiq --tasks failed > failed.txt
grep -q "timed out after 1s" failed.txt && grep -q "| the real reason" failed.txt || fail "--tasks failed: $(cat failed.txt)"
"$MPIQ" status why.mpiq --tasks skipped | grep -q "task 2, which it depends on, failed" ||
  fail "a skipped task does not name its failed dependency: $("$MPIQ" status why.mpiq --tasks skipped)"
/usr/bin/python3 - why.mpiq/status.json <<'PY' || fail "status.json recent_failures lacks the reasons"
import json, sys
f = {r["id"]: r for r in json.load(open(sys.argv[1]))["recent_failures"]}
assert f[1]["why"] == "timed out after 1s", f[1]
assert f[2]["why"] == "exit code 4" and "the real reason" in f[2]["stderr_tail"], f[2]
PY

# --- 3. --task-output files and none ---------------------------------------------------------------
expect_code 1 mpiq_run fail.tasks --fresh --task-output files > files.log 2>&1
[ -f fail.mpiq/out/2.out ] || fail "--task-output files wrote no 2.out"
[ "$(cat fail.mpiq/out/2.out)" = "$(printf 'try 1\nmpiq: attempt 2 starts\ntry 2')" ] ||
  fail "a retry's file: $(cat fail.mpiq/out/2.out)"
grep -q "cannot start 'nosuchprog'" fail.mpiq/out/1.err || fail "no reason in 1.err"
[ "$("$MPIQ" cat fail.mpiq 2)" = "$(cat fail.mpiq/out/2.out)" ] || fail "mpiq cat of a files run"
expect_code 1 mpiq_run fail.tasks --fresh --task-output none > none.log 2>&1
[ -z "$(ls fail.mpiq/out)" ] || fail "--task-output none kept files: $(ls fail.mpiq/out)"
[ -f fail.mpiq/out.prev/2.out ] || fail "--fresh did not keep the previous output as out.prev"
expect_code 2 "$MPIQ" cat fail.mpiq 2 2> none.err
"$MPIQ" status fail.mpiq --tasks failed | grep -q "cannot start 'nosuchprog'" ||
  fail "--task-output none: the reason does not reach status"

# --- 4. kill -9 mid-run: after the resume every done task's output is complete ---------------------
for i in $(seq 150); do echo "seq 1 $((i * 10)); sleep 0.0$((i % 3))"; done > soak.tasks
setsid bash -c "exec $(if [ "$NP" = 1 ]; then echo "$MPIQ"; else echo "mpirun --allow-run-as-root --oversubscribe -np $NP $MPIQ"; fi) run $WORK/soak.tasks > soak1.log 2>&1" &
leader=$!
for _ in $(seq 200); do
  [ -f soak.mpiq/checkpoint.h5 ] && [ "$(state_count soak.mpiq done 2>/dev/null || echo 0)" -ge 40 ] && break
  sleep 0.05
done
pkill -9 -f "^$MPIQ run $WORK/soak.tasks" 2>/dev/null || true
kill -9 -- -"$leader" 2>/dev/null || true
wait "$leader" 2>/dev/null || true
mpiq_run soak.tasks > soak2.log 2>&1 || fail "the resume failed: $(tail -5 soak2.log)"
for i in $(seq 150); do
  [ "$("$MPIQ" cat soak.mpiq "$i" | md5sum)" = "$(seq 1 $((i * 10)) | md5sum)" ] ||
    fail "task $i's output is not complete after a kill -9 and a resume"
done
echo "ok: task output streams on $NP rank(s)"
