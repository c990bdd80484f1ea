# A sweep (docs/design.md §2): one line, 50 tasks with MPIQ_REPEAT_INDEX; its dependant starts after
# every element ended; check counts the elements; status and cat name them as LINE[i]; a failed
# element skips the dependant and is named; a resume runs only what is not done.
source "$(dirname "$0")/lib.sh"
mkdir -p res
cat > sweep.tasks <<'TASKS'
# a 50-element sweep, then a task that waits for all of it
[% name=sim repeat=0-98:2 %] echo "element $MPIQ_REPEAT_INDEX of $MPIQ_TASK_NAME" ; date +%s.%N > res/$MPIQ_REPEAT_INDEX.end
[# sim #] date +%s.%N > res/after.start; ls res | grep -c end > res/count
TASKS
"$MPIQ" check sweep.tasks > check.out
grep -qx "tasks 51" check.out || fail "mpiq check counts $(grep tasks check.out), expected 51"
grep -qx "sweeps 1" check.out || fail "mpiq check: $(cat check.out)"
expect_code 0 mpiq_run sweep.tasks > /dev/null
[ "$(cat res/count)" = 50 ] || fail "the dependant saw $(cat res/count) finished elements, not 50"
python3 - <<'PY' || fail "the dependant started before an element ended"
import glob
start = float(open("res/after.start").read())
ends = [float(open(p).read()) for p in glob.glob("res/*.end")]
assert len(ends) == 50 and max(ends) <= start, (len(ends), max(ends), start)
PY
[ "$("$MPIQ" cat sweep.mpiq '2[36]')" = "element 36 of sim" ] || fail "mpiq cat 2[36]: $("$MPIQ" cat sweep.mpiq '2[36]')"
[ "$("$MPIQ" cat sweep.mpiq 'sim[98]')" = "element 98 of sim" ] || fail "mpiq cat sim[98]"
expect_code 2 "$MPIQ" cat sweep.mpiq 2 2> cat.err
grep -q "is a sweep of 50 elements" cat.err || fail "mpiq cat of the sweep itself: $(cat cat.err)"
expect_code 2 "$MPIQ" cat sweep.mpiq '2[1]' 2> cat.err
grep -q "has no element 1" cat.err || fail "mpiq cat of a missing element: $(cat cat.err)"
[ "$(state_count sweep.mpiq done)" = 51 ] || fail "status counts $(state_count sweep.mpiq done) done"
"$MPIQ" status sweep.mpiq --tasks done > tasks.out
grep -q "^2\[98\] *sim " tasks.out || fail "status --tasks does not list 2[98]: $(head -3 tasks.out)"

# A failing element: the dependant is skipped and names it; a resume with --retry-failed reruns only
# the failed element and the dependant.
cat > fail.tasks <<'TASKS'
[% repeat=5 %] echo run >> runs.$MPIQ_REPEAT_INDEX; [ "$MPIQ_REPEAT_INDEX" != 3 ] || [ -e fixed ]
[# 1 #] echo dependant >> runs.after
TASKS
expect_code 1 mpiq_run fail.tasks > /dev/null
[ "$(state_count fail.mpiq failed)" = 1 ] || fail "expected one failed element"
"$MPIQ" status fail.mpiq --tasks skipped | grep -q "task 1\[3\], which it depends on, failed" ||
  fail "the skipped dependant does not name 1[3]: $("$MPIQ" status fail.mpiq --tasks skipped)"
[ ! -e runs.after ] || fail "the dependant ran although an element failed"
touch fixed
expect_code 0 mpiq_run fail.tasks --retry-failed > /dev/null
for i in 0 1 2 4; do [ "$(wc -l < runs.$i)" = 1 ] || fail "element $i ran $(wc -l < runs.$i) times"; done
[ "$(wc -l < runs.3)" = 2 ] || fail "element 3 ran $(wc -l < runs.3) times, expected 2"
[ "$(wc -l < runs.after)" = 1 ] || fail "the dependant ran $(wc -l < runs.after) times"
echo "ok: a 50-element sweep and its dependant on $NP rank(s)"
