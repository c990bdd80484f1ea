# mpiq submit: tasks added to a running hub (depending on an existing named task), from inside a task
# through $MPIQ_RUN_DIR, a bad file refused with nothing in the inbox, a file submitted to a finished
# run taken by the next mpiq run, and a kill -9 of the hub right after a submission: every submitted
# task runs exactly once (each appends its id to a file).
source "$(dirname "$0")/lib.sh"

ids_of() { grep -c -x "$1" "${2:-ids}" || true; }

# --- 1. A running hub takes a file; its tasks wait for an existing named task ---------------------
cat > r.tasks <<EOF
[% name=first %] sleep 1; echo first >> $WORK/order
[# -1 #] sleep 3
EOF
mpiq_start r.tasks > run1.log 2>&1
hub=$!
for _ in $(seq 100); do [ -f r.mpiq/lock ] && [ -f r.mpiq/checkpoint.h5 ] && break; sleep 0.1; done
cat > more.tasks <<EOF
[# first #] echo "\$MPIQ_TASK_ID" >> $WORK/ids; echo more >> $WORK/order

[# 1 #] echo "\$MPIQ_TASK_ID" >> $WORK/ids
# from inside a task: another file, through \$MPIQ_RUN_DIR (waiting for the verdict)
printf 'echo "\$MPIQ_TASK_ID" >> $WORK/ids\n' > $WORK/inner.tasks && "$MPIQ" submit "\$MPIQ_RUN_DIR" $WORK/inner.tasks > $WORK/inner.out
EOF
"$MPIQ" submit r.mpiq more.tasks > submit1.out || fail "submit to a running hub failed: $(cat submit1.out)"
grep -q "accepted: 3 task(s), ids 1001-1005 (id = 1000 + line of more.tasks)" submit1.out ||
  fail "unexpected answer: $(cat submit1.out)"
# Once submit has answered, the file has left the inbox for inbox/done.
! grep -qs 'echo more' r.mpiq/inbox/*.tasks || fail "accepted, but the file is still in the inbox"
# --- 2. A bad file: exit 2, the message, nothing dropped ------------------------------------------
printf 'echo ok\n[# 5 #] echo bad\n' > bad.tasks
set +e; "$MPIQ" submit r.mpiq bad.tasks 2> bad.err; code=$?; set -e
[ "$code" = 2 ] || fail "a bad file gave exit $code"
grep -q "bad.tasks:2:4: dependency '5' points past the last line" bad.err || fail "bad message: $(cat bad.err)"
printf '[# nosuchname #] echo x\n' > unknown.tasks
expect_code 2 "$MPIQ" submit r.mpiq unknown.tasks 2> unknown.err
grep -q "unknown.tasks:1:4: unknown dependency 'nosuchname'" unknown.err || fail "bad message: $(cat unknown.err)"
printf '[%% name=first %%] echo x\n' > dup.tasks
expect_code 2 "$MPIQ" submit r.mpiq dup.tasks 2> dup.err
grep -q "duplicate name 'first'" dup.err || fail "bad message: $(cat dup.err)"
expect_code 2 "$MPIQ" submit "$WORK/not-a-run" more.tasks 2> /dev/null
# The task of more.tasks line 5 submits a file of its own meanwhile, so the inbox may hold that one in
# passing: what must never be there, at any moment, is the content of a refused file.
refused=$(grep -rl -e 'echo bad' -e nosuchname -e 'name=first' r.mpiq/inbox || true)
[ -z "$refused" ] || fail "a refused file reached the inbox: $refused"

wait $hub || fail "the run failed: $(tail -5 run1.log)"
[ "$(head -1 order)" = first ] && [ "$(sed -n 2p order)" = more ] || fail "submitted task ran before its dependency"
grep -q "accepted: 1 task(s), ids 2001-2001" inner.out || fail "submit from a task: $(cat inner.out)"
[ "$(state_count r.mpiq done)" = 6 ] || fail "not all 6 tasks done: $("$MPIQ" status r.mpiq)"
for id in 1001 1003 2001; do [ "$(ids_of $id)" = 1 ] || fail "task $id ran $(ids_of $id) times"; done

# --- 3. A finished run: the file waits for the next mpiq run, which takes it -----------------------
printf '[# first #] echo "$MPIQ_TASK_ID" >> %s/ids\n' "$WORK" > late.tasks
"$MPIQ" submit r.mpiq late.tasks > late.out
grep -q "no hub runs on r.mpiq" late.out || fail "finished run: $(cat late.out)"
mpiq_run r.tasks > run2.log 2>&1 || fail "the resumed run failed: $(tail -5 run2.log)"
[ "$(ids_of 3001)" = 1 ] || fail "the file left for the next run did not run once"
[ "$(ls r.mpiq/inbox/done | grep -c '\.accepted$')" = 3 ] || fail "not 3 accepted verdicts: $(ls r.mpiq/inbox/done)"
[ "$(state_count r.mpiq done)" = 7 ] || fail "the resumed run does not hold 7 done tasks"

# --- 4. kill -9 of the hub right after a submission; rerun: each submitted task runs once ---------
# The submitted tasks wait for the slow task, so none runs before the kill (a task running at a kill -9
# may run again, by design): a second run of one would mean its submission was added twice.
for i in $(seq 20); do echo "[# slow #] echo \"\$MPIQ_TASK_ID\" >> $WORK/kids"; done > k.tasks
printf '[%% name=slow %%] sleep 2\n' > slow.tasks
setsid bash -c "exec $(if [ "$NP" = 1 ]; then echo "$MPIQ"; else echo "mpirun --allow-run-as-root --oversubscribe -np $NP $MPIQ"; fi) run $WORK/slow.tasks > run3.log 2>&1" &
leader=$!
for _ in $(seq 100); do [ -f slow.mpiq/checkpoint.h5 ] && break; sleep 0.1; done
"$MPIQ" submit slow.mpiq k.tasks --no-wait > /dev/null
sleep 0.3
pkill -9 -f "^$MPIQ run $WORK/slow.tasks" 2>/dev/null || true
kill -9 -- -"$leader" 2>/dev/null || true
wait "$leader" 2>/dev/null || true
sleep 0.5
mpiq_run slow.tasks > run4.log 2>&1 || fail "the rerun after kill -9 failed: $(tail -5 run4.log)"
for id in $(seq 1001 1020); do
  [ "$(ids_of $id kids)" = 1 ] || fail "submitted task $id ran $(ids_of $id kids) times across a kill -9"
done
[ "$(state_count slow.mpiq done)" = 21 ] || fail "not 21 tasks done after the rerun"
[ -z "$(ls slow.mpiq/inbox | grep -v '^done$')" ] || fail "the file is still in the inbox"

# --- 5. the hub killed between journalling a submission and moving its file -----------------------
# An outside kill -9 almost never lands in that window: MPIQ_FAULT makes the hub kill itself there.
# The next run finds the file still in the inbox but already journalled: it moves it, adds nothing.
for i in $(seq 10); do echo "echo \"\$MPIQ_TASK_ID\" >> $WORK/fids"; done > f.tasks
printf 'sleep 3\n' > fault.tasks
MPIQ_FAULT=inbox-journalled setsid bash -c "exec $(if [ "$NP" = 1 ]; then echo "$MPIQ"; else echo "mpirun --allow-run-as-root --oversubscribe -np $NP $MPIQ"; fi) run $WORK/fault.tasks > run5.log 2>&1" &
leader=$!
for _ in $(seq 100); do [ -f fault.mpiq/checkpoint.h5 ] && break; sleep 0.1; done
"$MPIQ" submit fault.mpiq f.tasks --no-wait > /dev/null
for _ in $(seq 300); do kill -0 "$leader" 2>/dev/null || break; sleep 0.1; done
kill -0 "$leader" 2>/dev/null && fail "the hub did not stop at the fault point: $(cat run5.log)"
wait "$leader" 2>/dev/null || true
pkill -9 -f "^$MPIQ run $WORK/fault.tasks" 2>/dev/null || true
taken=$(ls fault.mpiq/inbox | grep '\.tasks$' || true)  # submit copies the file in under a name of its own
[ -n "$taken" ] || fail "the file was moved: the fault point was not between journal and move: $(ls -R fault.mpiq/inbox)"
[ ! -e fids ] || fail "a submitted task ran before the fault"
mpiq_run fault.tasks > run6.log 2>&1 || fail "the rerun after the fault failed: $(tail -5 run6.log)"
[ "$(wc -l < fids)" = 10 ] && [ "$(sort -u fids | wc -l)" = 10 ] ||
  fail "the journalled submission ran $(wc -l < fids) task(s), not 10 once each: $(sort -n fids | tr '\n' ' ')"
[ -e "fault.mpiq/inbox/done/$taken.accepted" ] || fail "the journalled file got no verdict: $(ls -R fault.mpiq/inbox)"
[ ! -e "fault.mpiq/inbox/$taken" ] || fail "the journalled file is still in the inbox"
echo "ok: submit to a live hub, from a task, bad files, to a finished run, across a kill -9 and the fault point"
