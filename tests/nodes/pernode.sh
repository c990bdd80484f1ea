# `#MPIQ pernode start|stop CMD` over three nodes (the hub alone on n1, two workers each on n2 and
# n3; docs/design.md §2): start runs once on each worker node, before any task there, stop once after
# the node's last task; a service start left running ends with the run; `mpiq cat start@n2`. A start
# that fails on one node takes its workers out (the run finishes on the other); failing on every node
# is exit 1 with that reason. On a stop (SIGUSR1) stop runs too, and the resume runs start again.
source "$(dirname "$0")/lib.sh"
mkdir ev
# Each event is a file of its own ("start.n2.1", "task.7", ...) holding the host and times: no two
# processes write one file.
cat > pn.tasks <<EOF
#MPIQ pernode start echo "start \$MPIQ_HOST \$MPIQ_NODE_INDEX \$(date +%s.%N)" > $WORK/ev/start.\$MPIQ_HOST.\$\$; sleep 1; (sleep 300 > /dev/null 2>&1 & echo \$! > $WORK/ev/service.\$MPIQ_HOST); echo "staged on \$MPIQ_HOST"; date +%s.%N >> $WORK/ev/start.\$MPIQ_HOST.\$\$
[% repeat=16 %] echo "\$MPIQ_HOST \$(date +%s.%N)" > $WORK/ev/task.\$MPIQ_REPEAT_INDEX; sleep 0.1
#MPIQ pernode stop echo "stop \$MPIQ_HOST \$(date +%s.%N)" > $WORK/ev/stop.\$MPIQ_HOST.\$\$
EOF
expect_code 0 nodes_mpirun n1:1,n2:2,n3:2 5 pn.tasks > a.log 2>&1
[ "$(state_count pn.mpiq done)" = 16 ] || fail "not every task is done: $(tail -5 a.log)"
for n in n2 n3; do
  [ "$(ls ev | grep -c "^start\.$n\.")" = 1 ] || fail "the start command ran $(ls ev | grep -c "^start\.$n\.") times on $n: $(ls ev)"
  [ "$(ls ev | grep -c "^stop\.$n\.")" = 1 ] || fail "the stop command ran $(ls ev | grep -c "^stop\.$n\.") times on $n: $(ls ev)"
  started_done=$(tail -1 ev/start.$n.*)
  stop_at=$(awk '{print $3}' ev/stop.$n.*)
  # Every task on the node started after its start command had ended, and before its stop command.
  for f in ev/task.*; do
    read -r host at < "$f"
    [ "$host" = "$n" ] || continue
    python3 -c "import sys; sys.exit(0 if $started_done < $at < $stop_at else 1)" ||
      fail "task ${f#ev/task.} ran on $n at $at, outside start's end $started_done .. stop $stop_at"
  done
  kill -0 "$(cat ev/service.$n)" 2>/dev/null && fail "the service the start command left on $n outlived the run"
  [ "$("$MPIQ" cat pn.mpiq "start@$n")" = "staged on $n" ] || fail "mpiq cat start@$n: $("$MPIQ" cat pn.mpiq "start@$n" 2>&1)"
done
ls ev | grep -q '\.n1\.' && fail "a pernode command ran on the hub's node n1: $(ls ev)"
indexes=$(cat ev/start.n2.* ev/start.n3.* | awk 'NF == 4 {print $3}' | sort | tr '\n' ' ')
[ "$indexes" = "0 1 " ] || fail "MPIQ_NODE_INDEX of the two nodes: '$indexes', not 0 and 1"
for n in n2 n3; do grep -q "^$n " ev/task.* || fail "no task ran on $n"; done
[ "$(json_field pn.mpiq/status.json "' '.join(n['pernode_start'] + '/' + n['pernode_stop'] for n in d['nodes'])")" = "done/done done/done" ] ||
  fail "status.json nodes: $(json_field pn.mpiq/status.json "d['nodes']")"
[ "$(json_field pn.mpiq/status.json "d['pernode']['start']['line']")" = 1 ] || fail "status.json pernode: no start line"

# The start fails on n3: its workers are out, the run finishes on n2, and n3 runs no stop.
rm -rf ev; mkdir ev
sed '1s|^#MPIQ pernode start |#MPIQ pernode start [ "$MPIQ_HOST" != n3 ] \|\| { echo "no scratch on n3" >\&2; exit 4; }; |' pn.tasks > fail3.tasks
expect_code 0 nodes_mpirun n1:1,n2:2,n3:2 5 fail3.tasks > b.log 2>&1
[ "$(state_count fail3.mpiq done)" = 16 ] || fail "the run did not finish on n2: $(tail -5 b.log)"
grep -q "^n3 " ev/task.* && fail "a task ran on n3, whose start failed"
ls ev | grep -q '^stop\.n3\.' && fail "the stop command ran on n3, whose start failed"
[ "$(ls ev | grep -c '^stop\.n2\.')" = 1 ] || fail "the stop command did not run once on n2: $(ls ev)"
grep -q "ERROR: node n3 (ranks 3-4): its pernode start command (line 1) failed: exit code 4; stderr ends: no scratch on n3; its 2 workers are out of the run" fail3.mpiq/hub.log ||
  fail "hub.log does not say why n3 is out: $(grep -v DEBUG fail3.mpiq/hub.log)"
grep -q "node n3: the pernode start command failed (exit code 4" b.log || fail "the summary does not name n3's failed start: $(tail -8 b.log)"
[ "$(json_field fail3.mpiq/status.json "[n['pernode_start'] for n in d['nodes'] if n['host'] == 'n3'][0]")" = failed ] ||
  fail "status.json does not show n3's start failed"

# It fails everywhere: no node is left, exit 1 with that reason, nothing ran.
rm -rf ev; mkdir ev
sed '1s|^#MPIQ pernode start .*|#MPIQ pernode start exit 5|' pn.tasks > failall.tasks
expect_code 1 nodes_mpirun n1:1,n2:2,n3:2 5 failall.tasks > c.log 2>&1
[ "$(state_count failall.mpiq failed)" = 16 ] || fail "the tasks are not failed: $(tail -5 c.log)"
ls ev | grep -q '^task\.' && fail "a task ran though every start failed"
grep -q "16 tasks failed: no node left to run it: the pernode start command failed on every node" failall.mpiq/hub.log ||
  fail "hub.log does not say that no node is left: $(grep -v DEBUG failall.mpiq/hub.log)"
failed=$("$MPIQ" status failall.mpiq --tasks failed)
grep -q "no node left to run it" <<<"$failed" || fail "mpiq status --tasks failed does not give the reason: $failed"

# A stop (SIGUSR1 to mpirun): the running tasks end, stop still runs on both nodes; the resume runs
# start again on every node (a resumed job may have other nodes) and finishes.
rm -rf ev; mkdir ev
sed 's|sleep 0.1$|sleep 2|' pn.tasks > slow.tasks
nodes_start n1:1,n2:2,n3:2 5 slow.tasks --grace 1s > d1.log 2>&1
launcher=$!
some_tasks() { [ "$(ls ev | grep -c '^task\.')" -ge 2 ]; }
wait_until 30 some_tasks || fail "no task started: $(tail -5 d1.log)"
kill -USR1 "$launcher"
set +e; wait "$launcher"; code=$?; set -e
[ "$code" = 3 ] || fail "the stopped run exits $code, not 3: $(tail -5 d1.log)"
for n in n2 n3; do
  [ "$(ls ev | grep -c "^stop\.$n\.")" = 1 ] || fail "the stop command did not run once on $n during the stop: $(ls ev)"
done
expect_code 0 nodes_mpirun n1:1,n2:2,n3:2 5 slow.tasks > d2.log 2>&1
for n in n2 n3; do
  [ "$(ls ev | grep -c "^start\.$n\.")" = 2 ] || fail "the resume did not run the start command again on $n: $(ls ev)"
done
[ "$(state_count slow.mpiq done)" = 16 ] || fail "the resumed run did not finish: $(tail -5 d2.log)"
echo "ok: start and stop once per worker node around its tasks; a failed start takes one node out, or all (exit 1); stop runs on a stop; a resume starts again"
