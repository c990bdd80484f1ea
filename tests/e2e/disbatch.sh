# A disBatch file run by the real disBatch (../shared/peers, unpacked here at test time) and by
# `mpiq run --format disbatch`: every task records what it saw (its command after PREFIX and SUFFIX,
# the DISBATCH_* variables, how many tasks of the segment before its barrier had ended), and the two
# runs must agree on every record and on which tasks ran and how each ended.
source "$(dirname "$0")/lib.sh"
export MPIQ_PEERS_DIR=$WORK/peers  # bench/peers.sh unpacks disBatch here
source "$TESTS_DIR/../../bench/peers.sh"
peer_disbatch_build || skip_unless_ci "disBatch: $PEER_WHY"

# Segment 1 writes rec/s1.ID. Segment 2's tasks start only after all of segment 1 ended (a failed task
# included: a plain BARRIER waits for ends, not successes) and record how many s1 records they saw;
# its PREFIX and SUFFIX quote the line for eval and keep its exit code, so that a REPEAT without a
# command (PREFIX + SUFFIX alone) is a command too. BARRIER CHECK then stops the run, as `false`
# failed: `never` runs in neither.
cat >tasks.db <<'TASKS'
# a comment; the next line too, for disBatch (and so for mpiq)
#MPIQ barrier
#DISBATCH PREFIX r=rec/s1.$DISBATCH_TASKID; echo "$DISBATCH_TASKID $DISBATCH_TASKID_ZP $DISBATCH_STREAM_INDEX $DISBATCH_STREAM_INDEX_ZP $DISBATCH_REPEAT_INDEX $DISBATCH_REPEAT_INDEX_ZP $DISBATCH_CORES_PER_TASK" > $r; sleep 0.3;
#DISBATCH SUFFIX  >> $r
echo plain
  echo indented
  #DISBATCH REPEAT 5 echo an indented directive is a comment
#DISBATCH REPEAT 3 start 5 step 3 echo rep
[% cores=2 %] echo a GREASY or mpiq prefix is a command for disBatch
#DISBATCH BARRIER
#DISBATCH PREFIX r=rec/s2.$DISBATCH_TASKID; echo "$DISBATCH_TASKID $DISBATCH_STREAM_INDEX $DISBATCH_REPEAT_INDEX seen=$(ls rec | grep -c '^s1\.')" > $r; x='
#DISBATCH SUFFIX '; eval "$x"; rc=$?; echo "rc=$rc" >> $r; exit $rc
#DISBATCH REPEAT 2
false
#DISBATCH BARRIER CHECK
echo never > rec/never
TASKS

mkdir -p db/rec mq/rec
cp tasks.db db/ && cp tasks.db mq/
peer_disbatch_run 2 "$WORK/db/tasks.db" >db/out.txt 2>&1 || fail "disBatch failed: $(tail -5 db/out.txt)"
(cd mq && expect_code 1 mpiq_run --format disbatch tasks.db >out.txt 2>&1) ||
  fail "mpiq: $(tail -5 mq/out.txt)"

# What each task saw, file by file.
records() { (cd "$1/rec" && for f in $(ls | sort); do echo "$f: $(tr '\n' '|' <"$f")"; done); }
records db >db.rec
records mq >mq.rec
diff db.rec mq.rec >rec.diff || fail "the tasks saw other things under mpiq than under disBatch:$(printf '\n%s' "$(cat rec.diff)")"
# ... and what they saw is what disBatch documents (not two tools agreeing on nothing).
grep -qx 's1.0: 0 000000 5 000005 -1 -00001 1|plain|' mq.rec || fail "task 0: $(grep '^s1.0:' mq.rec)"
grep -qx 's1.1: 1 000001 6 000006 -1 -00001 1|indented|' mq.rec || fail "task 1: $(grep '^s1.1:' mq.rec)"
grep -qx 's1.3: 3 000003 8 000008 8 000008 1|rep|' mq.rec || fail "REPEAT start 5 step 3: $(grep '^s1.3:' mq.rec)"
grep -qx 's1.5: 5 000005 9 000009 -1 -00001 1|' mq.rec || fail "the [% %] line: $(grep '^s1.5:' mq.rec)"
grep -qx 's2.7: 7 13 0 seen=6|rc=0|' mq.rec || fail "REPEAT without a command, after the BARRIER: $(grep '^s2.7:' mq.rec)"
grep -qx 's2.9: 9 14 -1 seen=6|rc=1|' mq.rec || fail "the failing task: $(grep '^s2.9:' mq.rec)"
[ "$(wc -l <mq.rec)" = 9 ] || fail "expected 6 + 3 records, got: $(cat mq.rec)"
[ ! -e mq/rec/never ] && [ ! -e db/rec/never ] || fail "a task after the failed BARRIER CHECK ran"

# Which tasks ran and how they ended: disBatch's status file (taskId, line, repeat index, exit code)
# against mpiq's status (the line, LINE[i] for a REPEAT). The barriers are rows of neither list here.
awk -F'\t' '$1 !~ /^[BC]/ { print $3 ($4 == -1 ? "" : "[" $4 "]") " " $7 }' db/tasks.db_disBatch_*_status.txt |
  sort >db.ended
"$MPIQ" status mq/tasks.mpiq --json --tasks done,failed,skipped | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["state"] in ("done", "failed"): print(t.get("task", str(t["id"])), t["exit_code"])
    else: print(t.get("task", str(t["id"])), t["state"])' | sort >mq.ended
grep -q '^16 skipped$' mq.ended || fail "mpiq: 'never' (line 16) should be skipped: $(cat mq.ended)"
grep -v ' skipped$' mq.ended >mq.ran
diff db.ended mq.ran >ended.diff || fail "other tasks ran, or ended otherwise:$(printf '\n%s' "$(cat ended.diff)")"
grep -qx '9 127' mq.ran || fail "the [% %] line should fail as a command: $(cat mq.ran)"
echo "PASS"
