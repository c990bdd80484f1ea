# The task environment the README promises: MPIQ_TASK_ID, MPIQ_TASK_NAME, MPIQ_ATTEMPT (counted up
# by a retry), MPIQ_RANK (the worker that ran it, as the checkpoint records), MPIQ_HOST,
# MPIQ_RUN_DIR (absolute), MPIQ_CORES (its CPUs, as many as asked, the ones it is bound to) and
# OMP_NUM_THREADS (= cores asked). Values of these in mpiq's own environment must not leak through.
source "$(dirname "$0")/lib.sh"
source "$TESTS_DIR/lib_extra.sh"
cores=$([ "$NP" = 1 ] && echo 2 || echo 1)  # one worker with both cores, or two with one each
dump='{ env | grep -E "^(MPIQ_|OMP_NUM_THREADS=|LAUNCHER_)"; grep "^Cpus_allowed_list:" /proc/self/status; }'
cat > e.tasks <<TASKS
[% name=first retries=1 %] $dump > $WORK/env.\$MPIQ_TASK_ID.\$MPIQ_ATTEMPT; test -e $WORK/tried || { touch $WORK/tried; exit 1; }
# a comment line keeps its number: the next task is task 3
[% cores=$cores %] $dump > $WORK/env.\$MPIQ_TASK_ID.\$MPIQ_ATTEMPT
TASKS
export OMP_NUM_THREADS=77 MPIQ_TASK_NAME=leaked MPIQ_ATTEMPT=99 LAUNCHER_JID=98
expect_code 0 mpiq_run e.tasks --run-dir rd > run.log 2>&1
unset OMP_NUM_THREADS MPIQ_TASK_NAME MPIQ_ATTEMPT LAUNCHER_JID
[ "$(ls env.* | tr '\n' ' ')" = "env.1.1 env.1.2 env.3.1 " ] || fail "env files: $(ls env.* | tr '\n' ' ')"
var() { grep "^$2=" "$1" | cut -d= -f2-; }
for f in env.1.1 env.1.2 env.3.1; do
  id=${f#env.}; id=${id%%.*}; attempt=${f##*.}
  [ "$(var $f MPIQ_TASK_ID)" = "$id" ] || fail "$f: MPIQ_TASK_ID $(var $f MPIQ_TASK_ID)"
  [ "$(var $f MPIQ_ATTEMPT)" = "$attempt" ] || fail "$f: MPIQ_ATTEMPT $(var $f MPIQ_ATTEMPT)"
  [ "$(var $f MPIQ_HOST)" = "$(hostname)" ] || fail "$f: MPIQ_HOST $(var $f MPIQ_HOST)"
  [ "$(var $f MPIQ_RUN_DIR)" = "$WORK/rd" ] || fail "$f: MPIQ_RUN_DIR $(var $f MPIQ_RUN_DIR)"
  rank=$(var $f MPIQ_RANK)
  if [ "$NP" = 1 ]; then [ "$rank" = 1 ]; else [ "$rank" -ge 1 ] && [ "$rank" -lt "$NP" ]; fi ||
    fail "$f: MPIQ_RANK $rank on $NP rank(s)"
  # TACC launcher's variables: the task's line, and the 0-based worker.
  [ "$(var $f LAUNCHER_JID)" = "$id" ] || fail "$f: LAUNCHER_JID $(var $f LAUNCHER_JID)"
  [ "$(var $f LAUNCHER_TSK_ID)" = "$((rank - 1))" ] || fail "$f: LAUNCHER_TSK_ID $(var $f LAUNCHER_TSK_ID) on rank $rank"
  want=$([ "$id" = 3 ] && echo "$cores" || echo 1)
  [ "$(var $f OMP_NUM_THREADS)" = "$want" ] || fail "$f: OMP_NUM_THREADS $(var $f OMP_NUM_THREADS), asked $want cores"
  list=$(var $f MPIQ_CORES)
  n=$(/usr/bin/python3 -c "import sys; print(sum(int(b) - int(a) + 1 for a, _, b in (r.partition('-') if '-' in r else (r, '', r) for r in sys.argv[1].split(','))))" "$list")
  [ "$n" = "$want" ] || fail "$f: MPIQ_CORES $list is not $want CPUs"
  [ "$(grep '^Cpus_allowed_list:' $f | awk '{print $2}')" = "$list" ] || fail "$f: bound to $(grep Cpus_allowed $f), MPIQ_CORES $list"
done
[ "$(var env.1.1 MPIQ_TASK_NAME)" = first ] && [ "$(var env.1.2 MPIQ_TASK_NAME)" = first ] || fail "MPIQ_TASK_NAME of task 1"
grep -qx "MPIQ_TASK_NAME=" env.3.1 || fail "an unnamed task's MPIQ_TASK_NAME is not empty: $(grep MPIQ_TASK_NAME env.3.1)"
[ "$(var env.3.1 MPIQ_RANK)" = "$(ckpt_value rd worker_rank 3)" ] || fail "MPIQ_RANK of task 3 is not the checkpoint's worker_rank"
[ "$(ckpt_value rd attempts 1)" = 2 ] || fail "the checkpoint counts $(ckpt_value rd attempts 1) attempts for task 1"
echo "ok: task environment on $NP rank(s)"
