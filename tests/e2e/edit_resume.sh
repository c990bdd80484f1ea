# Resuming after an edit of the task file (docs/design.md §7): a comment inserted at the top and one
# changed command: only that task and what depends on it run again; the others keep their state and
# their output (`mpiq cat` under their new line numbers); the edit is printed and recorded in the
# checkpoint. A run holding submitted tasks refuses an edit, changing nothing.
source "$(dirname "$0")/lib.sh"
cat > e.tasks <<'TASKS'
echo one; echo one >> runs
[% name=two %] echo two; echo two >> runs
[# two #] echo three; echo three >> runs
echo four; echo four >> runs
TASKS
expect_code 0 mpiq_run e.tasks > /dev/null 2>&1
cat > e.tasks <<'TASKS'
# a comment inserted at the top
echo one; echo one >> runs
[% name=two %] echo TWO; echo TWO >> runs
[# two #] echo three; echo three >> runs
echo four; echo four >> runs
TASKS
expect_code 0 mpiq_run e.tasks > run.out 2> run.err || { cat run.err >&3; exit 1; }
# The first run: one two three four in some order; the second: TWO, then three.
[ "$(tail -n 2 runs | tr '\n' ' ')" = "TWO three " ] && [ "$(grep -c . runs)" = 6 ] ||
  fail "what ran: $(tr '\n' ' ' < runs) (expected the first four, then TWO and three only)"
grep -q "task file edited: 1 changed or new (line 3), 1 run again as they depend on a change (line 4), 1 removed (old line 2); 2 task(s) keep their state" run.err ||
  fail "the edit was not printed: $(cat run.err)"
[ "$("$MPIQ" cat e.mpiq 2)" = one ] || fail "mpiq cat 2 (kept, was line 1): $("$MPIQ" cat e.mpiq 2)"
[ "$("$MPIQ" cat e.mpiq 3)" = TWO ] || fail "mpiq cat 3: $("$MPIQ" cat e.mpiq 3)"
[ "$("$MPIQ" cat e.mpiq 5)" = four ] || fail "mpiq cat 5 (kept, was line 4): $("$MPIQ" cat e.mpiq 5)"
[ "$(state_count e.mpiq done)" = 4 ] || fail "4 done expected"
h5dump -a /task_file_edits e.mpiq/checkpoint.h5 | grep -q "restart 1: task file edited: 1 changed" ||
  fail "the edit is not in the checkpoint: $(h5dump -a /task_file_edits e.mpiq/checkpoint.h5)"
# Run again unchanged: nothing runs.
expect_code 0 mpiq_run e.tasks > /dev/null 2>&1
[ "$(grep -c . runs)" = 6 ] || fail "a rerun of the same file ran something"

# A kill -9 during the first run after an edit loses nothing: the edited table is the first snapshot.
cat > k.tasks <<'TASKS'
echo one >> kruns
echo two >> kruns
echo three >> kruns
TASKS
expect_code 0 mpiq_run k.tasks > /dev/null 2>&1
cat > k.tasks <<'TASKS'
# inserted
echo one >> kruns
[ -e started ] || { touch started; sleep 60; }; echo TWO >> kruns
echo three >> kruns
TASKS
if [ "$NP" = 1 ]; then
  setsid bash -c "exec $MPIQ run $WORK/k.tasks > kill.log 2>&1" &
else
  setsid bash -c "exec mpirun --allow-run-as-root --oversubscribe -np $NP $MPIQ run $WORK/k.tasks > kill.log 2>&1" &
fi
leader=$!
for _ in $(seq 1 300); do [ -e started ] && break; sleep 0.1; done
[ -e started ] || fail "the changed task never started: $(cat kill.log)"
pkill -9 -f "^$MPIQ run $WORK/k.tasks" 2>/dev/null || true
kill -9 -- -"$leader" 2>/dev/null || true
wait "$leader" 2>/dev/null || true
sleep 0.5  # the guard ends the orphaned task
expect_code 0 mpiq_run k.tasks > /dev/null 2>&1
[ "$(sort kruns | tr '\n' ' ')" = "TWO one three two " ] || fail "after a kill -9 and a resume: $(tr '\n' ' ' < kruns)"

# A run with tasks from mpiq submit refuses an edit (exit 2, nothing changed).
printf 'echo a\n' > s.tasks
printf 'echo submitted\n' > more.tasks
expect_code 0 mpiq_run s.tasks --run-dir s.mpiq > /dev/null 2>&1
"$MPIQ" submit s.mpiq more.tasks --no-wait > /dev/null
expect_code 0 mpiq_run s.tasks --run-dir s.mpiq > /dev/null 2>&1  # takes the submission
ls s.mpiq/inbox/done/*.accepted > /dev/null || fail "the submission was not taken"
echo 'echo b' >> s.tasks
before=$(find s.mpiq ! -name lock -printf '%p %T@ %s\n' | sort)  # the lock is taken, as by any run
expect_code 2 mpiq_run s.tasks --run-dir s.mpiq 2> err
grep -q "the run holds tasks added by mpiq submit" err || fail "submitted tasks and an edit: $(cat err)"
[ "$before" = "$(find s.mpiq ! -name lock -printf '%p %T@ %s\n' | sort)" ] || fail "the refused edit changed the run directory"
echo "ok: an edited task file applied on resume, on $NP rank(s)"
