# A task past its timeout is killed with its whole process group.
source "$(dirname "$0")/lib.sh"
cat > t.tasks <<TASKS
[% timeout=1 %] sleep 300 & echo \$! > grandchild.pid; wait
TASKS
start=$(date +%s)
expect_code 1 mpiq_run t.tasks --grace 1s > /dev/null 2>&1
elapsed=$(( $(date +%s) - start ))
[ "$elapsed" -lt 60 ] || fail "the timeout did not end the task"
pid=$(cat grandchild.pid)
sleep 0.2
# A zombie (state Z: killed, but its parent is gone and this container's init does not reap) is dead.
state=$(awk '{print $3}' /proc/$pid/stat 2>/dev/null || echo gone)
if [ "$state" != gone ] && [ "$state" != Z ]; then kill -9 "$pid"; fail "the task's background child survived the timeout"; fi
"$MPIQ" status t.mpiq --tasks failed | grep -q "^1 .* 15 " || fail "task 1 not recorded as killed by SIGTERM"
echo "ok: timeout kills the process group on $NP rank(s)"
