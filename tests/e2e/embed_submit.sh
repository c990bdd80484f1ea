# A command task of an embedding program submits more tasks to its own run through $MPIQ_RUN_DIR,
# as a task of `mpiq run` can: the variable names the run directory (not the output directory), the
# embedded hub takes the file from its inbox, and the submitted task runs once.
# Usage: embed_submit.sh MPIQ NP EMBED_COMMANDS
source "$(dirname "$0")/lib.sh"
PROGRAM=${3:?}
cat > e.tasks <<EOF2
echo "\$MPIQ_RUN_DIR" > $WORK/run_dir; printf 'echo inner >> $WORK/ran\n' > $WORK/inner.tasks; "$MPIQ" submit "\$MPIQ_RUN_DIR" $WORK/inner.tasks > $WORK/submit.out 2>&1
EOF2
if [ "$NP" = 1 ]; then
  "$PROGRAM" e.tasks > run.out 2>&1 || fail "the program exited $?: $(tail -5 run.out)"
else
  mpirun --allow-run-as-root --oversubscribe -np "$NP" "$PROGRAM" e.tasks > run.out 2>&1 ||
    fail "the program exited $?: $(tail -5 run.out)"
fi
[ "$(cat run_dir)" = "$WORK/e.mpiq" ] || fail "MPIQ_RUN_DIR is '$(cat run_dir)', not $WORK/e.mpiq"
grep -q "accepted: 1 task(s)" submit.out || fail "mpiq submit from the task: $(cat submit.out)"
[ "$(grep -c -x inner ran)" = 1 ] || fail "the submitted task ran $(grep -c -x inner ran || true) times"
[ "$(state_count e.mpiq done)" = 2 ] || fail "not 2 tasks done: $("$MPIQ" status e.mpiq)"
echo "ok: a command task of an embedded run submits to it on $NP rank(s)"
