#!/usr/bin/env bash
# What is a run directory (docs/design.md §6): one with the mpiq-run marker (written first), or a
# checkpoint from before the marker. Anything else that is not empty is someone else's: mpiq refuses
# it (exit 2) and writes nothing into it, even when it holds files with the names mpiq uses. A refused
# run on a real run directory changes nothing there either, not even the lock file.
source "$(dirname "$0")/lib.sh"

mpiq_run() { if [ "$NP" = 1 ]; then "$MPIQ" run "$@"; else mpirun --allow-run-as-root --oversubscribe -np "$NP" "$MPIQ" run "$@"; fi; }
snapshot() { find "$1" -printf '%p %s %T@ %m\n' | sort; }
echo 'echo task one' >t.txt

# 1. A directory that merely holds out/, hub.log, status.json and lock: refused, untouched.
for names in "out/1.out" "hub.log" "status.json" "lock" "out/1.out hub.log status.json lock"; do
  rm -rf other && mkdir -p other/out
  for n in $names; do echo "the user's own $n" >"other/$n"; done
  before=$(snapshot other)
  set +e
  mpiq_run t.txt --run-dir other >refused.out 2>&1; rc=$?
  set -e
  [ $rc = 2 ] || fail "a directory holding '$names': exit $rc, expected 2: $(tail -2 refused.out)"
  grep -q "not an mpiq run directory" refused.out || fail "no reason given: $(tail -2 refused.out)"
  [ "$(snapshot other)" = "$before" ] || fail "a directory holding '$names' was changed"
done

# 2. An empty directory made beforehand is used, and gets the marker.
mkdir mine
mpiq_run t.txt --run-dir mine --task-output files >run.out 2>&1 || fail "an empty run directory was refused: $(tail -2 run.out)"
[ -f mine/mpiq-run ] || fail "no mpiq-run marker in a new run directory"

# 3. A refused resume (the task file changed, which a run with --task-output files cannot apply)
# leaves the run directory as it was, lock included.
echo 'echo task two' >t.txt
before=$(snapshot mine)
set +e
mpiq_run t.txt --run-dir mine --task-output files >changed.out 2>&1; rc=$?
set -e
[ $rc = 2 ] || fail "a changed task file with --task-output files: exit $rc, expected 2: $(tail -2 changed.out)"
[ "$(snapshot mine)" = "$before" ] || { diff <(echo "$before") <(snapshot mine) >&3 || true; fail "a refused run changed the run directory"; }

# 4. A run directory of a version before the marker (a checkpoint, no marker) is still resumed.
echo 'echo task one' >t.txt
rm mine/mpiq-run
mpiq_run t.txt --run-dir mine >resume.out 2>&1 || fail "a run directory without the marker but with a checkpoint was refused: $(tail -2 resume.out)"
[ -f mine/mpiq-run ] || fail "the resumed run did not write the marker"

# 6. Where flock does not work (Lustre without -o flock; MPIQ_LOCK=file forces the same path), the lock
# is an O_EXCL file: a second hub is refused while the first lives, and a lock left by a killed hub on
# this host is recognised as stale and taken over. The real ENOSYS needs such a file system.
if [ "$NP" = 1 ]; then
  echo 'sleep 30' >long.txt
  MPIQ_LOCK=file "$MPIQ" run long.txt --run-dir excl >excl1.out 2>&1 &
  first=$!
  for _ in $(seq 100); do [ -f excl/lock.excl ] && break; sleep 0.05; done
  [ -f excl/lock.excl ] || fail "no lock.excl with MPIQ_LOCK=file: $(cat excl1.out)"
  set +e
  MPIQ_LOCK=file "$MPIQ" run long.txt --run-dir excl >excl2.out 2>&1; rc=$?
  set -e
  [ $rc = 2 ] || fail "a second hub beside a live one: exit $rc, expected 2"
  grep -q "in use by a live mpiq hub .*lock.excl" excl2.out || fail "refusal: $(cat excl2.out)"
  kill -9 $first; wait $first 2>/dev/null || true
  [ -f excl/lock.excl ] || fail "the killed hub's lock.excl is gone already"
  echo true >long.txt
  MPIQ_LOCK=file "$MPIQ" run long.txt --run-dir excl --fresh >excl3.out 2>&1 || fail "a stale lock.excl was not taken over: $(tail -2 excl3.out)"
  [ ! -f excl/lock.excl ] || fail "lock.excl left behind after a clean run"
fi

# 5. Private whoever made it: a run directory and an --output directory made beforehand with 0755 are
# made 0700 (with a note), and every file mpiq writes is 0600, under a umask that would allow more.
umask 022
mkdir -m 0755 shared shared_out
echo 'echo out; echo err >&2' >p.txt
mpiq_run p.txt --run-dir shared --output shared_out >private.out 2>&1 || fail "run failed: $(tail -2 private.out)"
grep -q "was open to other users (mode 0755): made private" private.out || fail "no note of the mode change: $(cat private.out)"
mpiq_run p.txt --run-dir files_mode --task-output files >files.out 2>&1 || fail "run failed: $(tail -2 files.out)"
open=$(find shared shared_out files_mode -perm /077 -printf '%m %p\n')
[ -z "$open" ] || fail "open to other users after the run: $open"
echo "ok"
