# Launch mistakes (docs/design.md §12), refused with exit 2 and a hint, with nothing written:
# Slurm's task count above the MPI world size (srun without PMI, or no srun in a job of several
# tasks), and several single-rank hubs started at once on one run directory.
source "$(dirname "$0")/lib.sh"
for i in $(seq 1 6); do echo "echo \$MPIQ_TASK_ID >> $WORK/ids; sleep 0.5"; done > t.tasks
for var in SLURM_NTASKS SLURM_NPROCS; do
  set +e; env SLURM_JOB_ID=7 "$var=$((NP + 3))" bash -c "$(declare -f mpiq_run); MPIQ=$MPIQ NP=$NP mpiq_run t.tasks" > m.log 2>&1; code=$?; set -e
  [ "$code" = 2 ] || fail "$var=$((NP + 3)) with $NP rank(s): exit $code, not 2: $(cat m.log)"
  grep -q "$var=$((NP + 3)) but MPI sees $NP rank" m.log || fail "no word of the task count: $(cat m.log)"
  grep -q "srun --mpi=pmix" m.log || fail "no hint: $(cat m.log)"
  [ ! -e t.mpiq ] || fail "the refused run made its run directory"
  [ ! -e ids ] || fail "a task ran"
done
# Slurm's count equal to the world size is right; so is a command that a task of mpiq runs.
env SLURM_JOB_ID=7 SLURM_NTASKS=$NP bash -c "$(declare -f mpiq_run); MPIQ=$MPIQ NP=$NP mpiq_run t.tasks" > ok.log 2>&1 ||
  fail "SLURM_NTASKS=$NP with $NP rank(s) was refused: $(cat ok.log)"
env SLURM_JOB_ID=7 SLURM_NTASKS=9 MPIQ_TASK_ID=3 "$MPIQ" run t.tasks --run-dir nested.mpiq > nested.log 2>&1 ||
  fail "mpiq run inside a task was refused: $(cat nested.log)"
rm -rf t.mpiq nested.mpiq ids

# Four single-rank hubs at once on one run directory (what srun -n 4 without PMI starts): one runs
# the tasks, every other is refused with the hint, and no task runs twice.
pids=()
for i in 1 2 3 4; do "$MPIQ" run t.tasks > hub$i.log 2>&1 & pids+=($!); done
zero=0; two=0
for i in 1 2 3 4; do
  set +e; wait "${pids[$((i - 1))]}"; code=$?; set -e
  case $code in
    0) zero=$((zero + 1)) ;;
    2) two=$((two + 1)); grep -q "srun --mpi=pmix" hub$i.log || fail "hub $i was refused without the hint: $(cat hub$i.log)" ;;
    *) fail "hub $i exited $code: $(cat hub$i.log)" ;;
  esac
done
[ "$zero" -ge 1 ] || fail "no hub ran the tasks"
[ "$two" -ge 1 ] || fail "no hub was refused (they did not overlap?)"
[ "$(sort -n ids | uniq -d)" = "" ] || fail "tasks ran twice: $(sort -n ids | uniq -d | tr '\n' ' ')"
[ "$(sort -n ids | uniq | wc -l)" = 6 ] || fail "not every task ran"
[ "$(state_count t.mpiq done)" = 6 ] || fail "the run directory does not hold 6 done tasks"
echo "ok: task counts refused; of 4 hubs at once $zero ran, $two were refused"
