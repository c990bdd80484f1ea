# An embedded run with a run directory: `mpiq status` reads its checkpoint (function tasks included),
# and running the program again resumes: every task is restored, none runs again (counted: each
# execution appends a line to $MPIQ_TEST_COUNT, since the resumed run's output looks the same).
# Usage: embed_status.sh MPIQ NP EMBED_COUNT
source "$(dirname "$0")/lib.sh"
HELLO=${3:?}
export MPIQ_TEST_COUNT=$WORK/executions
run_example() {
  if [ "$NP" = 1 ]; then "$@"; else mpirun --allow-run-as-root --oversubscribe -np "$NP" "$@"; fi
}
run_example "$HELLO" --run-dir h.mpiq > first.out 2> first.err || fail "first run exited $?: $(cat first.err)"
# The run directory is new: hub.log is opened once the run has made it.
[ -f h.mpiq/hub.log ] || fail "a new run directory got no hub.log"
! grep -q "cannot open" first.err || fail "$(cat first.err)"
[ "$(state_count h.mpiq done)" = 10 ] || fail "mpiq status does not count 10 done tasks"
[ "$(sort -n executions | tr '\n' ' ')" = "1 2 3 4 5 6 7 8 9 10 " ] || fail "the first run did not run each task once: $(sort -n executions | tr '\n' ' ')"
"$MPIQ" status h.mpiq --tasks done | tail -1 | grep -q "^10 task" || fail "status --tasks done does not list 10"
/usr/bin/python3 - h.mpiq/checkpoint.h5 <<'PY' || fail "the checkpoint does not hold the kinds, payloads and results"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
col = lambda name: [bytes(f[f"tasks/{name}/bytes"][a:b]).decode() for a, b in zip(f[f"tasks/{name}/offsets"][:-1], f[f"tasks/{name}/offsets"][1:])]
assert f.attrs["format_version"] == 7
assert col("kind") == ["square"] * 10, col("kind")
assert col("payload") == [str(i) for i in range(1, 11)], col("payload")
assert col("result") == [str(i * i) for i in range(1, 11)], col("result")
PY
before=$(stat -c %Y h.mpiq/checkpoint.h5)
run_example "$HELLO" --run-dir h.mpiq > second.out || fail "second run exited $?"
diff <(sort first.out) <(sort second.out) > /dev/null || fail "the resumed run printed other results"
[ "$(state_count h.mpiq done)" = 10 ] || fail "the resumed run lost tasks"
[ "$(wc -l < executions)" = 10 ] || fail "the resumed run ran $(( $(wc -l < executions) - 10 )) task(s) again"
echo "ok: status and resume of an embedded run on $NP rank(s)"
