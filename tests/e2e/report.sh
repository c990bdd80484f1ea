# mpiq report: the page of a 2,000-task run with failures, rendered by headless Chromium (Debian's):
# one bar per task, the failures listed with their stderr, nothing fetched (no URL in the page). Then
# the same run with --max-bars below its size: the aggregated chart, and a page that stays small. Every
# attempt is a bar: a task that fails twice and then succeeds has three, also when the run is killed
# (kill -9) during one of them and resumed.
source "$(dirname "$0")/lib.sh"
command -v chromium > /dev/null || skip_unless_ci "chromium is not installed (scripts/install-deps.sh)"
for i in $(seq 1 2000); do
  if [ $((i % 250)) = 0 ]; then echo "sh -c 'echo oops from $i >&2; exit 3'"; else echo "true"; fi
done > t.tasks
expect_code 1 mpiq_run t.tasks > run.log 2>&1
"$MPIQ" report t.mpiq > report.out || fail "mpiq report: $(cat report.out)"
[ -s t.mpiq/report.html ] || fail "no t.mpiq/report.html"
! grep -Eqi '(src|href)=|url\(|https?:' t.mpiq/report.html || fail "the page refers to something outside it"
timeout 120 chromium --headless --no-sandbox --disable-gpu --dump-dom "file://$WORK/t.mpiq/report.html" \
  > dom.html 2> chromium.err || fail "chromium could not render the page: $(tail -3 chromium.err)"
bars=$(grep -o '<rect class="bar [a-z]*"' dom.html | wc -l)
[ "$bars" = 2000 ] || fail "the rendered page has $bars task bars, not 2000"
[ "$(grep -o '<rect class="bar failed"' dom.html | wc -l)" = 8 ] || fail "failed bars"
[ "$(grep -o 'class="failure"' dom.html | wc -l)" = 8 ] || fail "the failures are not listed"
grep -q "oops from 1000" dom.html || fail "a failure's stderr is not shown"
# Each node's use, sampled by its first worker (RUN_DIR/node-HOST.usage), drawn as two lines.
ls t.mpiq/node-*.usage > /dev/null 2>&1 || fail "no node samples in t.mpiq"
[ "$(grep -o '<svg class="nodes"' dom.html | wc -l)" = 2 ] || fail "no CPU and memory charts of the nodes"
grep -q '<polyline fill="none" stroke-width="1.5" stroke="#[0-9a-f]*" points="[0-9]' dom.html || fail "the node charts have no points"
"$MPIQ" report t.mpiq -o small.html --max-bars 100 > /dev/null
grep -q "Aggregated: 2000 tasks" small.html || fail "no aggregation past --max-bars"
! grep -q '<rect class="bar' small.html || fail "an aggregated page still has a bar per task"
size=$(stat -c %s small.html)
[ "$size" -lt 200000 ] || fail "the aggregated page is $size bytes"
expect_code 2 "$MPIQ" report nosuch.mpiq 2> /dev/null

# mpiq run --report: a page that reloads itself while the run goes, and a final one without the reload.
for i in 1 2 3 4; do echo "sleep 1"; done > live.tasks
mpiq_start live.tasks --report > live.log 2>&1
pid=$!
for _ in $(seq 1 100); do [ -s live.mpiq/report.html ] && break; sleep 0.1; done
grep -q 'http-equiv="refresh"' live.mpiq/report.html || fail "no live page during the run"
expect_code 0 wait $pid
! grep -q 'http-equiv="refresh"' live.mpiq/report.html || fail "the final page still reloads itself"
[ "$(grep -o '<rect class="bar done"' live.mpiq/report.html | wc -l)" = 4 ] || fail "the final page lacks tasks"
# render FILE: the DOM headless Chromium makes of the page FILE.
render() {
  timeout 120 chromium --headless --no-sandbox --disable-gpu --dump-dom "file://$WORK/$1" 2> chromium.err ||
    fail "chromium could not render $1: $(tail -3 chromium.err)"
}
# bars DOM ID [CLASS]: the bars of task ID (of outcome CLASS) in DOM.
bars() { grep -o "<rect class=\"bar ${3:-[a-z]*}\" data-id=\"$2\"" "$1" | wc -l; }

# retries=2, failing twice, then done: three bars, the first two "failed, ran again" with their exit
# code and attempt number on hover; a task that failed for good says how many attempts it had.
cat > r.tasks <<'TASKS'
[% retries=2 %] n=$(cat r.count 2>/dev/null || echo 0); n=$((n+1)); echo $n > r.count; [ $n -ge 3 ] || exit 5
[% retries=1 %] exit 4
TASKS
expect_code 1 mpiq_run r.tasks > r.log 2>&1
"$MPIQ" report r.mpiq -o r.html > /dev/null
render r.html > r.dom
[ "$(bars r.dom 1)" = 3 ] || fail "task 1 ran 3 times, the page has $(bars r.dom 1) bars of it"
[ "$(bars r.dom 1 retried)" = 2 ] && [ "$(bars r.dom 1 done)" = 1 ] || fail "task 1's bars: $(grep -o '<rect class="bar [a-z]*" data-id="1"' r.dom)"
grep -q "attempt 2 of task 1, line 1" r.dom || fail "no hover text of task 1's attempt 2"
grep -A1 "attempt 1 of task 1, line 1" r.dom | grep -q "exit 5" || fail "attempt 1's exit code is not shown"
[ "$(bars r.dom 2)" = 2 ] || fail "task 2 ran twice, the page has $(bars r.dom 2) bars of it"
grep -q "attempt 2 (2 attempts in all)" r.dom || fail "the failures list does not count task 2's attempts"
grep -q "One bar per attempt: each task's last one, and 3 earlier attempts" r.dom || fail "no note of the earlier attempts"

# The same task, killed with the whole run (kill -9) during its second try: the first try survives in
# the journal, the killed one counts as lost on resume (its end unknown), and the resumed run's tries
# follow: failed, lost, failed, done.
cat > k.tasks <<'TASKS'
[% retries=2 %] n=$(cat k.count 2>/dev/null || echo 0); n=$((n+1)); echo $n > k.count; if [ $n = 2 ]; then touch k.running; sleep 60; fi; [ $n -ge 4 ] || exit 5
TASKS
if [ "$NP" = 1 ]; then
  setsid bash -c "exec $MPIQ run $WORK/k.tasks > k1.log 2>&1" &
else
  setsid bash -c "exec mpirun --allow-run-as-root --oversubscribe -np $NP $MPIQ run $WORK/k.tasks > k1.log 2>&1" &
fi
leader=$!
running() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["running"])' k.mpiq/status.json 2>/dev/null || echo 0
}
# Its start is journalled before status.json counts it running.
for _ in $(seq 1 200); do [ -e k.running ] && [ "$(running)" = 1 ] && break; sleep 0.1; done
[ -e k.running ] && [ "$(running)" = 1 ] || fail "the second try did not start: $(cat k1.log)"
pkill -9 -f "^$MPIQ run $WORK/k.tasks" 2>/dev/null || true  # this test's ranks only
kill -9 -- -"$leader" 2>/dev/null || true
wait "$leader" 2>/dev/null || true
"$MPIQ" report k.mpiq -o k1.html > /dev/null
render k1.html > k1.dom
[ "$(bars k1.dom 1 retried)" = 1 ] || fail "after the kill, the first try's bar is gone: $(grep -o '<rect class="bar [a-z]*" data-id="1"' k1.dom)"
expect_code 0 mpiq_run "$WORK/k.tasks" > k2.log 2>&1
"$MPIQ" report k.mpiq -o k2.html > /dev/null
render k2.html > k2.dom
[ "$(bars k2.dom 1)" = 4 ] && [ "$(bars k2.dom 1 retried)" = 2 ] && [ "$(bars k2.dom 1 lost)" = 1 ] &&
  [ "$(bars k2.dom 1 done)" = 1 ] || fail "after the resume: $(grep -o '<rect class="bar [a-z]*" data-id="1"' k2.dom)"
grep -A1 "attempt 2 of task 1, line 1" k2.dom | grep -q "its worker was lost" || fail "the lost try is not said so"
echo "ok: report of 2000 tasks ($(stat -c %s t.mpiq/report.html) bytes; aggregated $size bytes)"
