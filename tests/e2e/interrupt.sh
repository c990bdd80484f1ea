# SIGINT to the hub, and (under mpirun) SIGTERM to one worker rank: the whole run stops with its
# state saved and exits 3; the same command resumes and finishes; no task the checkpoint had as
# done runs again. Each task appends to runs.ID when it starts and done.ID when it ends.
source "$(dirname "$0")/lib.sh"
source "$TESTS_DIR/lib_extra.sh"

# stop_and_resume NAME WHO SIGNAL: runs NAME.tasks, sends SIGNAL to WHO (hub or worker) once two
# tasks are done, checks the stop, resumes, checks the end.
stop_and_resume() {
  local name=$1 who=$2 sig=$3 m=$WORK/$1
  mkdir "$m"
  for i in $(seq 1 8); do echo "echo run >> $m/runs.\$MPIQ_TASK_ID; sleep 1; echo done >> $m/done.\$MPIQ_TASK_ID"; done > $name.tasks
  mpiq_start $name.tasks --grace 2s > $name.run1.log 2>&1
  local pid=$!
  wait_until 60 test -e $name.mpiq/status.json || fail "$name: no status.json: $(cat $name.run1.log)"
  wait_until 30 eval '[ "$(ls $m | grep -c "^done\.")" -ge 2 ]' || fail "$name: no task finished"
  local target
  if [ "$who" = hub ]; then
    target=$(json_field $name.mpiq/status.json 'd["hub"]["pid"]')  # mpiq itself, or rank 0
  else
    local hub; hub=$(json_field $name.mpiq/status.json 'd["hub"]["pid"]')
    target=$(pgrep -P "$pid" -f "run $name.tasks" | grep -vx "$hub" | head -1)
    [ -n "$target" ] || fail "$name: no worker rank found under mpirun $pid"
  fi
  kill -s "$sig" "$target"
  local start=$SECONDS code
  set +e; wait $pid; code=$?; set -e
  [ "$code" = 3 ] || fail "$name: $sig to the $who: expected exit 3, got $code: $(tail -5 $name.run1.log)"
  [ $((SECONDS - start)) -le 15 ] || fail "$name: the stop took $((SECONDS - start)) s with --grace 2s"
  [ "$(json_field $name.mpiq/status.json 'd["state"]')" = stopped ] || fail "$name: status.json does not say stopped"
  [ "$(state_count $name.mpiq done)" -lt 8 ] || fail "$name: every task was done before the stop took effect"
  # What the saved state has as done: checkpoint + journal, as a resume reads them.
  local done_before
  done_before=$(task_ids $name.mpiq done | tr '\n' ' ')
  [ -n "$done_before" ] || fail "$name: no task saved as done"
  local id
  for id in $done_before; do [ "$(lines $m/done.$id)" = 1 ] || fail "$name: task $id saved done without finishing"; done
  expect_code 0 mpiq_run $name.tasks > $name.run2.log 2>&1
  for id in $(seq 1 8); do
    [ "$(lines $m/done.$id)" = 1 ] || fail "$name: task $id finished $(lines $m/done.$id) times"
  done
  for id in $done_before; do
    [ "$(lines $m/runs.$id)" = 1 ] || fail "$name: task $id was done at the stop and ran again"
  done
  [ "$(state_count $name.mpiq done)" = 8 ] || fail "$name: not every task done after the resume"
}

stop_and_resume int hub INT
[ "$NP" = 1 ] || stop_and_resume term worker TERM
echo "ok: SIGINT to the hub$([ "$NP" = 1 ] || echo ", SIGTERM to a worker rank"): stopped, saved, resumed on $NP rank(s)"
