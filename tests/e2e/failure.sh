# A failing task skips its dependants, the rest runs, the run exits 1; retries run a task again.
source "$(dirname "$0")/lib.sh"
cat > f.tasks <<TASKS
[% name=bad %] echo oops >&2; exit 3
[# bad #] touch should-not-exist
[# 2 #] touch should-not-exist-either
touch independent
[% retries=2 %] test -e tried || { touch tried; exit 1; }
TASKS
expect_code 1 mpiq_run f.tasks > run.log 2>&1
[ ! -e should-not-exist ] && [ ! -e should-not-exist-either ] || fail "a dependant of a failed task ran"
[ -e independent ] || fail "an independent task did not run"
[ "$(state_count f.mpiq failed)" = 1 ] || fail "expected 1 failed"
[ "$(state_count f.mpiq skipped)" = 2 ] || fail "expected 2 skipped"
[ "$(state_count f.mpiq done)" = 2 ] || fail "expected 2 done (independent + retried)"
"$MPIQ" cat f.mpiq 1 --stderr | grep -q "oops" || fail "stderr of task 1 not in its output: $("$MPIQ" cat f.mpiq 1 --stderr)"
grep -q "exit code 3" run.log || fail "summary does not show the exit code: $(cat run.log)"
"$MPIQ" status f.mpiq --tasks failed | grep -q "^1 " || fail "status --tasks failed does not list task 1"
echo "ok: failure handling on $NP rank(s)"
