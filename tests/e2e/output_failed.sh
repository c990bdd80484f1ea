# A write of a worker's output stream that fails for another reason than a full disk (issue 17: EIO,
# EROFS, the directory gone) stops the run like a full disk does: exit 3, one line that names the
# stream and the error, no crash; the tasks that printed into it run again on resume. Here the first
# task replaces the --output directory with a file, so the stream cannot be opened (ENOTDIR).
source "$(dirname "$0")/lib.sh"
: > count
{
  echo "[% name=breaker %] rm -rf $WORK/o && touch $WORK/o; echo breaker >> $WORK/count"
  for i in 1 2 3 4; do echo "[# breaker #] echo hello $i; echo $i >> $WORK/count"; done
} > t.tasks
set +e
mpiq_run t.tasks --output "$WORK/o" > run.log 2>&1
code=$?
set -e
[ "$code" = 3 ] || fail "expected exit 3 when the output cannot be written, got $code: $(tail -20 run.log)"
grep -E -q "rank [0-9]+ on [^ ]+ cannot write task output: $WORK/o/rank-[0-9]+\.stream: open: Not a directory" run.log ||
  fail "no line naming the stream and the error: $(grep -v INFO run.log | tail -20)"
! grep -E -q 'terminate called|MPI_ABORT|MPI_Abort|Segmentation|what\(\)' run.log || fail "a crash instead of a stop: $(tail -20 run.log)"
[ "$(state_count t.mpiq done)" -lt 5 ] || fail "every task is done, though their output could not be kept"
# Fixed: the same command resumes, every task ends done, the breaker (done before the stop) not again.
rm -f "$WORK/o"
expect_code 0 mpiq_run t.tasks --output "$WORK/o" > run2.log 2>&1
[ "$(state_count t.mpiq done)" = 5 ] || fail "not every task is done after the resume: $(tail -5 run2.log)"
[ "$(grep -c -x breaker count)" = 1 ] || fail "the breaker ran $(grep -c -x breaker count) times"
for i in 1 2 3 4; do
  [ "$("$MPIQ" cat t.mpiq $((i + 1)))" = "hello $i" ] || fail "task $((i + 1))'s output after the resume: $("$MPIQ" cat t.mpiq $((i + 1)) 2>&1)"
done
echo "ok: an output stream that cannot be written stops the run (exit 3) and the resume finishes (np $NP)"
