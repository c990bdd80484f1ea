# The checkpoint holds what the run did and opens in h5dump; damaged state is refused with exit 2
# and left byte for byte as it was; a changed task file is applied; --fresh keeps the old state.
source "$(dirname "$0")/lib.sh"
printf '[%% name=ok %%] echo fine\nexit 7\n[# ok #] sleep 0.1\n' > d.tasks
expect_code 1 mpiq_run d.tasks > /dev/null 2>&1
cp=d.mpiq/checkpoint.h5
h5dump -H "$cp" > header.txt || fail "h5dump cannot open the checkpoint"
grep -q '"state"' header.txt && grep -q '"exit_code"' header.txt || fail "columns missing in h5dump -H"
# The data, not the enum type that h5dump prints before it, names the states.
h5dump -d /tasks/state "$cp" | sed -n '/DATA {/,$p' | tr -d ' \n' | grep -q '(0):done,failed,done' ||
  fail "the states are not named in h5dump's data: $(h5dump -d /tasks/state "$cp" | sed -n '/DATA {/,$p')"
/usr/bin/python3 - <<PY || fail "the checkpoint's columns do not hold what the run did"
import h5py
f = h5py.File("$cp", "r")
names = {v: k for k, v in h5py.check_enum_dtype(f["tasks/state"].dtype).items()}
states = [names[s] for s in f["tasks/state"][:]]
assert states == ["done", "failed", "done"], states
assert list(f["tasks/exit_code"][:]) == [0, 7, 0], list(f["tasks/exit_code"][:])
start, end = f["tasks/start_time"][:], f["tasks/end_time"][:]
assert all(s > 1e9 and e >= s for s, e in zip(start, end)), (start, end)
assert end[2] - start[2] >= 0.1
assert f.attrs["format_version"] == 7
PY
sha() { sha256sum "$@" | awk '{print $1}' | tr '\n' ' '; }

# A damaged checkpoint: exit 2, a message naming it, nothing changed.
cp "$cp" good.h5
head -c 4000 good.h5 > "$cp"
before=$(sha d.mpiq/checkpoint.h5 d.mpiq/journal)
set +e; out=$(mpiq_run d.tasks 2>&1); code=$?; set -e
[ "$code" = 2 ] || fail "truncated checkpoint: expected exit 2, got $code"
echo "$out" | grep -q "checkpoint.h5" || fail "the message does not name the checkpoint: $out"
[ "$(sha d.mpiq/checkpoint.h5 d.mpiq/journal)" = "$before" ] || fail "the refused state was changed"
echo "not hdf5 at all" > "$cp"
expect_code 2 mpiq_run d.tasks
cp good.h5 "$cp"

# A journal whose last record is torn is resumed (the torn record ignored); damage before the end is
# refused and left as it was.
# Each task appends its id when it runs: a resume that dropped the journal would run 1-3 again.
printf 'echo 1 >> %s/j.ids\necho 2 >> %s/j.ids\necho 3 >> %s/j.ids\necho 4 >> %s/j.ids; sleep 4\n' \
  "$WORK" "$WORK" "$WORK" "$WORK" > j.tasks
# The absolute path makes the pkill below match this test's ranks only (tests run in parallel).
mpiq_start "$WORK/j.tasks" --checkpoint-interval 1h > /dev/null 2>&1
pid=$!
# Kill once the three short tasks are in the journal (the long one still runs).
for _ in $(seq 1 300); do
  grep -qx 4 j.ids 2>/dev/null && [ "$(state_count j.mpiq done 2>/dev/null || echo 0)" = 3 ] && break
  sleep 0.05
done
[ "$(state_count j.mpiq done)" = 3 ] && grep -qx 4 j.ids || fail "tasks 1-3 did not finish while 4 ran"
# The ranks first: killed after mpirun, they would stop gracefully (they end with their launcher).
pkill -9 -f "^$MPIQ run $WORK/j.tasks" 2>/dev/null || true; kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
sleep 0.3
[ "$(stat -c %s j.mpiq/journal)" -gt 100 ] || fail "no journal records after three finished tasks"
cp j.mpiq/journal journal.bak
printf 'X' | dd of=j.mpiq/journal bs=1 seek=40 conv=notrunc 2>/dev/null  # inside the first record
before=$(sha j.mpiq/checkpoint.h5 j.mpiq/journal)
set +e; out=$(mpiq_run j.tasks 2>&1); code=$?; set -e
[ "$code" = 2 ] && echo "$out" | grep -q journal || fail "a damaged journal was not refused: $code $out"
[ "$(sha j.mpiq/checkpoint.h5 j.mpiq/journal)" = "$before" ] || fail "the refused journal was changed"
cp journal.bak j.mpiq/journal
printf '\x3c\x00\x00\x00\x01\x00' >> j.mpiq/journal  # the start of a record, cut off by the kill
expect_code 0 mpiq_run j.tasks > /dev/null 2>&1
grep -q "torn" j.mpiq/hub.log || fail "the torn record was not reported"
[ "$(state_count j.mpiq done)" = 4 ] || fail "resume after a torn journal did not finish"
# 1-3 were journalled before the kill: once each; 4 was running at it: again on resume.
[ "$(sort -n j.ids | tr '\n' ' ')" = "1 2 3 4 4 " ] || fail "after the torn journal, tasks ran: $(sort -n j.ids | tr '\n' ' ')"

# A changed task file is applied (the failed task stays failed, the new one runs); --fresh starts
# over and keeps the old state as .prev.
echo "echo new" >> d.tasks
set +e; out=$(mpiq_run d.tasks 2>&1); code=$?; set -e
[ "$code" = 1 ] && echo "$out" | grep -q "task file edited: 1 changed or new (line 4)" ||
  fail "a changed task file was not applied: $code $out"
[ "$(state_count d.mpiq done)" = 3 ] && [ "$(state_count d.mpiq failed)" = 1 ] || fail "after the edit: $("$MPIQ" status d.mpiq)"
expect_code 1 mpiq_run d.tasks --fresh > /dev/null 2>&1
[ -e d.mpiq/checkpoint.h5.prev ] || fail "--fresh did not keep checkpoint.h5.prev"

# A second hub on a live run directory is refused.
printf 'sleep 5\n' > l.tasks
mpiq_start l.tasks > /dev/null 2>&1
pid=$!
for _ in $(seq 1 300); do [ -e l.mpiq/status.json ] && break; sleep 0.1; done  # the hub holds the lock
set +e; out=$("$MPIQ" run l.tasks 2>&1); code=$?; set -e
wait $pid
[ "$code" = 2 ] && echo "$out" | grep -q "in use" || fail "a second hub was not refused: $code $out"
echo "ok: durable state on $NP rank(s)"
