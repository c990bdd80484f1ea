# `#MPIQ pernode start|stop` on one node (docs/design.md §2), with one rank (the hub's own worker
# thread runs them) and under mpirun: start once before the first task, stop once after the last, the
# service start leaves ends with the run, `mpiq cat start@0`, `mpiq check` names them. Several nodes:
# tests/nodes/pernode.sh.
source "$(dirname "$0")/lib.sh"
source "$TESTS_DIR/lib_extra.sh"
mkdir ev
cat > t.tasks <<EOF2
#MPIQ pernode start date +%s.%N > $WORK/ev/start.\$\$; (sleep 300 > /dev/null 2>&1 & echo \$! > $WORK/ev/service); echo "ready \$MPIQ_NODE_INDEX \$MPIQ_PERNODE \${MPIQ_TASK_ID:-none}"; sleep 0.5; date +%s.%N >> $WORK/ev/start.\$\$
[% repeat=6 %] date +%s.%N > $WORK/ev/task.\$MPIQ_REPEAT_INDEX
#MPIQ pernode stop date +%s.%N > $WORK/ev/stop.\$\$
EOF2
"$MPIQ" check t.tasks | grep -q "^pernode start (line 1, once on every node): date" || fail "mpiq check does not name the start command"
expect_code 0 mpiq_run t.tasks > run.log 2>&1
[ "$(state_count t.mpiq done)" = 6 ] || fail "not every task is done: $(tail -5 run.log)"
[ "$(ls ev | grep -c '^start\.')" = 1 ] || fail "start ran $(ls ev | grep -c '^start\.') times"
[ "$(ls ev | grep -c '^stop\.')" = 1 ] || fail "stop ran $(ls ev | grep -c '^stop\.') times"
start_end=$(tail -1 ev/start.*)
stop_at=$(cat ev/stop.*)
for f in ev/task.*; do
  python3 -c "import sys; sys.exit(0 if $start_end < $(cat "$f") < $stop_at else 1)" ||
    fail "task ${f#ev/task.} ran at $(cat "$f"), outside start's end $start_end .. stop $stop_at"
done
kill -0 "$(cat ev/service)" 2>/dev/null && fail "the service the start command left outlived the run"
[ "$("$MPIQ" cat t.mpiq start@0)" = "ready 0 start none" ] || fail "mpiq cat start@0: $("$MPIQ" cat t.mpiq start@0 2>&1)"
host=$(json_field t.mpiq/status.json "d['nodes'][0]['host']")
[ "$("$MPIQ" cat t.mpiq "start@$host")" = "ready 0 start none" ] || fail "mpiq cat start@$host gives another output"
expect_code 2 "$MPIQ" cat t.mpiq start@nosuchnode 2> err.txt
grep -q "the run has no node 'nosuchnode' (its nodes: $host)" err.txt || fail "unknown node: $(cat err.txt)"
grep -q "its pernode stop command (line 3) ended" t.mpiq/hub.log || fail "hub.log does not say the stop command ran"
echo "ok: pernode start and stop once around the tasks (np $NP)"
