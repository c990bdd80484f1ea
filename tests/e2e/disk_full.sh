# A full disk mid-run (issue 17) is a stop: exit 3, one line that names the file and says "No space
# left on device" (and, where the journal's last records found no room, one saying how many; no HDF5 stack, no std::terminate or MPI_Abort), and the state consistent: once
# there is room again the same command resumes, every task ends done, and no task that was done
# after the stop runs again. The run directory is a 2 MiB tmpfs (mounting one needs root: skipped
# otherwise), filled at three moments:
#   stream   tasks print more than the disk holds: a worker's output stream (out/rank-R.stream) fails
#   journal  a task fills the disk, then tasks end: the journal's append (or status.json) fails
#   snapshot a task fills the disk, then the checkpoint timer: checkpoint.h5.tmp fails
# Each task appends its id to a file outside the mount when it ends, which counts its executions.
source "$(dirname "$0")/lib.sh"

MNT=$WORK/mnt
mkdir -p "$MNT"
[ "$(id -u)" = 0 ] || { echo "SKIP: mounting a tmpfs to fill needs root (uid $(id -u))" >&3; exit 77; }
if ! mount -t tmpfs -o size=2m,mode=0700 tmpfs "$MNT" 2> mount.err; then
  echo "SKIP: cannot mount a tmpfs to fill (needs CAP_SYS_ADMIN): $(cat mount.err)" >&3
  exit 77
fi
# The mount goes first, whatever ends the test (lib.sh's trap removes $WORK, which holds it).
trap 'umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

# done_ids RUN_DIR: the ids of the tasks that are done, one a line, sorted.
done_ids() {
  task_ids "$1" done
}

# check_stop CASE LOG CODE PATH_PATTERN: the run stopped as designed for a full disk.
check_stop() {
  local name=$1 log=$2 code=$3 pattern=$4
  [ "$code" = 3 ] || fail "$name: expected exit 3 for a full disk, got $code: $(tail -20 "$log")"
  grep -E -q "the disk is full: $pattern: [a-z]+: No space left on device" "$log" ||
    fail "$name: no line naming the file ($pattern) and the error: $(grep -v '^\[.*INFO' "$log" | tail -20)"
  [ "$(grep -c 'the disk is full' "$log")" = 1 ] ||
    fail "$name: the full disk is said more than once: $(grep 'No space' "$log")"
  ! grep -E -q 'terminate called|MPI_ABORT|MPI_Abort|H5[A-Z][a-z]+|HDF5-DIAG|Segmentation' "$log" ||
    fail "$name: a crash or an HDF5 stack instead of a stop: $(tail -20 "$log")"
}

# resume CASE TASKS ARGS...: makes room, runs the same command again, and checks that it finishes,
# that every task ran, and that no task done before (per mpiq status) ran again.
resume() {
  local name=$1 tasks=$2 total
  shift 2
  local before
  before=$(done_ids "$MNT/$name")
  cp count "count.$name.before"
  mount -o remount,size=64m "$MNT"
  rm -f "$MNT/filler"
  expect_code 0 mpiq_run "$tasks" --run-dir "$MNT/$name" "$@" > "$name.2.log" 2>&1 ||
    fail "$name: the resumed run failed: $(tail -20 "$name.2.log")"
  grep -q "resuming run" "$MNT/$name/hub.log" || fail "$name: the second run did not resume"
  for id in $before; do
    [ "$(grep -c -x "$id" count)" = "$(grep -c -x "$id" "count.$name.before")" ] ||
      fail "$name: task $id was done before the stop and ran again after the resume"
  done
  total=$(grep -c . "$tasks")
  [ "$(done_ids "$MNT/$name" | wc -l)" = "$total" ] || fail "$name: not every task is done after the resume"
  [ "$(sort -u count | wc -l)" = "$total" ] || fail "$name: not every task ran"
  mount -o remount,size=2m "$MNT" 2> /dev/null || true
}

# --- stream: 40 tasks of 100 KiB of output each, 4 MiB in all, into a 2 MiB run directory ------------
: > count
for _ in $(seq 40); do
  echo "head -c 102400 /dev/zero | tr '\\0' x; echo \$MPIQ_TASK_ID >> $WORK/count"
done > stream.tasks
set +e
mpiq_run stream.tasks --run-dir "$MNT/stream" --status-interval 0 > stream.1.log 2>&1
code=$?
set -e
check_stop stream stream.1.log "$code" "(rank [0-9]+ on [^:]+: )?$MNT/stream/out/rank-[0-9]+\.stream"
[ "$(done_ids "$MNT/stream" | wc -l)" -lt 40 ] || fail "stream: every task is done, yet the disk was full"
resume stream stream.tasks --status-interval 0
rm -rf "${MNT:?}/stream"

# fill_then NAME N TASK OPTIONS...: a run in $MNT/NAME whose first task fills the disk, then N tasks
# TASK that wait for it; its exit code in $code, its output in NAME.1.log.
fill_then() {
  local name=$1 n=$2 task=$3
  shift 3
  : > count
  {
    echo "[ -e $WORK/filled ] || { dd if=/dev/zero of=$MNT/filler bs=64k 2> /dev/null; touch $WORK/filled; }; echo \$MPIQ_TASK_ID >> $WORK/count"
    for _ in $(seq "$n"); do echo "[# 1 #] $task"; done
  } > "$name.tasks"
  set +e
  mpiq_run "$name.tasks" --run-dir "$MNT/$name" --status-interval 0 "$@" > "$name.1.log" 2>&1
  code=$?
  set -e
}

# --- journal: a task fills the disk, then 300 tasks end (64 bytes of journal each) ------------------
fill_then journal 300 "echo \$MPIQ_TASK_ID >> $WORK/count" --checkpoint-interval 1h
check_stop journal journal.1.log "$code" "$MNT/journal/journal"
resume journal journal.tasks --status-interval 0 --checkpoint-interval 1h
rm -rf "${MNT:?}/journal" "$WORK/filled"

# --- snapshot: a task fills the disk, then the checkpoint timer fires while tasks still run ----------
fill_then snapshot 6 "sleep 1; echo \$MPIQ_TASK_ID >> $WORK/count" --checkpoint-interval 1s
check_stop snapshot snapshot.1.log "$code" "$MNT/snapshot/checkpoint\.h5\.tmp"
resume snapshot snapshot.tasks --status-interval 0 --checkpoint-interval 1s
