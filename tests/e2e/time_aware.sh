# Time-aware dispatch: near --time-limit mpiq does not start a task whose timeout cannot fit in the
# time left; when only such tasks are left it stops at once (exit 3) instead of idling to the limit,
# and the rerun runs them.
source "$(dirname "$0")/lib.sh"
cat > t.tasks <<TASKS
sleep 1; touch $WORK/short.1
sleep 1; touch $WORK/short.2
[% timeout=5m %] touch $WORK/long.3
[% timeout=10m %] touch $WORK/long.4
TASKS
start=$(date +%s)
expect_code 3 mpiq_run t.tasks --time-limit 60s --stop-margin 5s > run1.log 2>&1
took=$(( $(date +%s) - start ))
[ "$took" -lt 30 ] || fail "waited ${took}s for the time limit although nothing left could fit"
[ -e short.1 ] && [ -e short.2 ] || fail "the short tasks did not run"
[ ! -e long.3 ] && [ ! -e long.4 ] || fail "a task whose timeout exceeds the time left was started"
grep -q "cannot finish in the" t.mpiq/hub.log || fail "hub.log does not say why it stopped"
[ "$(state_count t.mpiq ready)" = 2 ] || fail "the held tasks are not left for the next run"
expect_code 0 mpiq_run t.tasks > run2.log 2>&1
[ -e long.3 ] && [ -e long.4 ] || fail "the rerun did not run the held tasks"
echo "ok: time-aware dispatch on $NP rank(s) (stopped after ${took}s of a 60s limit)"
