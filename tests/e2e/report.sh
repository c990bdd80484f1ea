# mpiq report: the page of a 2,000-task run with failures, rendered by headless Chromium (Debian's):
# one bar per task, the failures listed with their stderr, nothing fetched (no URL in the page). Then
# the same run with --max-bars below its size: the aggregated chart, and a page that stays small.
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
echo "ok: report of 2000 tasks ($(stat -c %s t.mpiq/report.html) bytes; aggregated $size bytes)"
