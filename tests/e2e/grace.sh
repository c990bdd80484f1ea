# A task that ignores SIGTERM, past its timeout: SIGTERM to its process group, then SIGKILL after
# --grace. The run ends after about timeout + grace (not the task's 100 s), the task is recorded as
# killed by signal 9, and nothing of its process group is left.
source "$(dirname "$0")/lib.sh"
source "$TESTS_DIR/lib_extra.sh"
cat > g.tasks <<TASKS
[% timeout=1 %] trap '' TERM; echo \$\$ > $WORK/group; sleep 100 & echo \$! > $WORK/child; wait; wait
TASKS
start=$(date +%s.%N)
expect_code 1 mpiq_run g.tasks --grace 3s > run.log 2>&1
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
# At least timeout + grace (the TERM alone ends nothing); the upper bound is for a loaded machine.
[ "$(echo "$elapsed >= 3.9" | bc)" = 1 ] || fail "ended after $elapsed s, before timeout + grace (4 s)"
[ "$(echo "$elapsed < 25" | bc)" = 1 ] || fail "ended after $elapsed s: no SIGKILL after the grace period"
[ "$(ckpt_value g.mpiq signal 1)" = 9 ] || fail "task 1 was not ended by SIGKILL: signal $(ckpt_value g.mpiq signal 1)"
[ "$(ckpt_value g.mpiq state 1)" = failed ] || fail "task 1 is not failed"
group=$(cat group)
# The shell is its group's leader; a zombie (state Z, not reaped by this container's init) is dead.
# Processes come and go while /proc is read: a vanished one is no error.
left=$({ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v g="$group" '$5 == g && $3 != "Z" { print $1 }' | tr '\n' ' ')
if [ -n "$left" ]; then kill -9 -- "-$group" 2>/dev/null || true; fail "processes of the task's group survived: $left"; fi
child=$(cat child)
state=$(awk '{print $3}' "/proc/$child/stat" 2>/dev/null || echo gone)
[ "$state" = gone ] || [ "$state" = Z ] || fail "the task's sleep survived"
echo "ok: TERM, then KILL after --grace, for a task that ignores TERM, on $NP rank(s) (${elapsed%.*} s)"
