# mpiq submit to a run whose state is damaged (issue 17): a checkpoint.h5 cut short, or a journal
# with bytes after its last record that no crash leaves, is refused with exit 2 and a message naming
# the file; the inbox is left as it was. `mpiq run` on such a journal refuses too (exit 2, --fresh).
source "$(dirname "$0")/lib.sh"

for i in 1 2 3; do echo "echo $i"; done > r.tasks
expect_code 0 mpiq_run r.tasks > run.log 2>&1
echo "echo more" > more.tasks
inbox_listing() { ls -A r.mpiq/inbox 2> /dev/null | tr '\n' ' '; }
before=$(inbox_listing)
cp r.mpiq/checkpoint.h5 checkpoint.good
cp r.mpiq/journal journal.good

# --- a checkpoint cut short ---------------------------------------------------------------------
head -c "$(( $(stat -c %s checkpoint.good) / 2 ))" checkpoint.good > r.mpiq/checkpoint.h5
expect_code 2 "$MPIQ" submit r.mpiq more.tasks > sub1.out 2> sub1.err
grep -q "r.mpiq/checkpoint.h5: .*nothing was submitted" sub1.err || fail "no message naming the checkpoint: $(cat sub1.err)"
[ "$(inbox_listing)" = "$before" ] || fail "the inbox changed: $(inbox_listing) (was: $before)"

# --- a journal with garbage after its last record -------------------------------------------------
cp checkpoint.good r.mpiq/checkpoint.h5
{ cat journal.good; printf 'not a journal record\n'; } > r.mpiq/journal
expect_code 2 "$MPIQ" submit r.mpiq more.tasks > sub2.out 2> sub2.err
grep -q "r.mpiq/journal: byte $(stat -c %s journal.good): damaged journal" sub2.err ||
  fail "no message naming the journal: $(cat sub2.err)"
[ "$(inbox_listing)" = "$before" ] || fail "the inbox changed: $(inbox_listing) (was: $before)"
cp r.mpiq/journal journal.damaged
expect_code 2 mpiq_run r.tasks > run2.log 2>&1
grep -q "r.mpiq/journal: byte .*damaged journal.*--fresh" run2.log || fail "mpiq run did not refuse: $(cat run2.log)"
cmp -s r.mpiq/journal journal.damaged || fail "the refused run changed the journal"

# --- sound again: accepted (it waits for the next run, no hub runs) ------------------------------
cp journal.good r.mpiq/journal
expect_code 0 "$MPIQ" submit r.mpiq more.tasks > sub3.out 2> sub3.err
grep -q "waits in" sub3.out || fail "a sound run refused the file: $(cat sub3.out sub3.err)"
