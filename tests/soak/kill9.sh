#!/usr/bin/env bash
# A kill -9 soak (not in CI; issue 17): runs a 300-task file again and again, killing it with -9 at
# random moments, until it finishes; then checks that nothing was lost and that no task recorded done
# before a kill ran again. Alternates 1 and 3 ranks, and the whole job or the hub alone (under
# mpirun; mpirun then ends the rest).
#
#   tests/soak/kill9.sh [SECONDS] [MPIQ]     # default 600 s, build/bin/mpiq
#
# Prints one line per round and, at the end, the totals: rounds, kills, task runs cut short by a kill
# that ran again, tasks lost (must be 0) and tasks that ran again after being recorded done (must be 0).
set -uo pipefail
SECONDS_WANTED=${1:-600}
MPIQ=$(readlink -f "${2:-$(dirname "$0")/../../build/bin/mpiq}")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
WORK=$(mktemp -d /tmp/mpiq-soak-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
N=300
rounds=0 kills=0 reruns=0 lost=0 rerun_done=0
end=$((SECONDS + SECONDS_WANTED))
while [ $SECONDS -lt $end ]; do
  rounds=$((rounds + 1))
  np=$(( rounds % 2 == 1 ? 1 : 3 ))
  mode=$([ $(( (rounds / 2) % 2 )) = 0 ] && echo job || echo hub)
  [ "$np" = 1 ] && mode=job
  rm -rf r.mpiq ids
  for i in $(seq 1 $N); do echo "echo \$MPIQ_TASK_ID >> $WORK/ids; sleep 0.0\$((RANDOM % 6))"; done > r.tasks
  touch ids
  : > done_at_kills
  round_kills=0
  for attempt in $(seq 1 40); do
    if [ "$np" = 1 ]; then
      setsid "$MPIQ" run "$WORK/r.tasks" --grace 1s > run.log 2>&1 &
    else
      setsid mpirun --allow-run-as-root --oversubscribe -np 3 "$MPIQ" run "$WORK/r.tasks" --grace 1s > run.log 2>&1 &
    fi
    leader=$!
    # A random moment: 0.3 to 2.8 s in (the run takes a few seconds: most rounds need several kills).
    sleep "$(( RANDOM % 3 )).$(( RANDOM % 10 ))"
    sleep 0.3
    if ! kill -0 "$leader" 2>/dev/null; then
      wait "$leader"; code=$?
      [ "$code" = 0 ] && break
      echo "round $rounds: run ended with $code: $(tail -2 run.log)"; break
    fi
    if [ "$mode" = hub ]; then
      for pid in $(pgrep -f "^$MPIQ run $WORK/r.tasks"); do
        tr '\0' '\n' < /proc/$pid/environ 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=0 && kill -9 "$pid"
      done
      sleep 1  # mpirun sees the hub gone and ends the workers
    fi
    pkill -9 -f "^$MPIQ run $WORK/r.tasks" 2>/dev/null
    kill -9 -- -"$leader" 2>/dev/null
    wait "$leader" 2>/dev/null
    kills=$((kills + 1)); round_kills=$((round_kills + 1))
    sleep 0.5  # the guards end the orphaned tasks
    # What the run directory records as done now must never run again.
    if [ -e r.mpiq/checkpoint.h5 ]; then
      "$MPIQ" status r.mpiq --tasks done 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/ && $2 != "task(s)" {print $1}' |
        while read -r id; do echo "$id $(grep -cx "$id" ids)"; done >> done_at_kills
    fi
  done
  # Lost: not done at the end, or never ran. Ran again after done: a count that grew after a kill.
  ndone=$("$MPIQ" status r.mpiq --json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"]["done"])' 2>/dev/null || echo 0)
  l=$(( N - ndone )); lost=$((lost + l))
  d=0
  while read -r id n; do [ "$(grep -cx "$id" ids)" = "$n" ] || d=$((d + 1)); done < <(sort -u done_at_kills)
  rerun_done=$((rerun_done + d))
  r=$(( $(wc -l < ids) - $(sort -u ids | wc -l) )); reruns=$((reruns + r))
  echo "round $rounds (np $np, kill the $mode): $round_kills kills, $r reruns, $l lost, $d ran again after done"
done
echo "soak: $rounds rounds, $kills kill -9s, $reruns task runs cut short and run again, $lost lost, $rerun_done ran again after done"
[ "$lost" = 0 ] && [ "$rerun_done" = 0 ]
