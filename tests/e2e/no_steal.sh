# --no-steal: the same run as steal.sh (one worker is handed every task by a large prefetch) moves
# work to the idle worker by default, and with --no-steal moves none: status.json counts no stolen
# task and the checkpoint shows every task ran on one worker rank.
source "$(dirname "$0")/lib.sh"
source "$TESTS_DIR/lib_extra.sh"
for i in $(seq 1 8); do echo "sleep 0.3"; done > s.tasks
ranks_used() { ckpt_column "$1" worker_rank | awk '{print $2}' | sort -u | wc -l; }
# First the run with stealing, so that this test fails if the setup stops giving stealing a reason.
expect_code 0 mpiq_run s.tasks --prefetch 20 > run1.log 2>&1
stolen=$(json_field s.mpiq/status.json 'd["stolen"]')
[ "$stolen" -gt 0 ] && [ "$(ranks_used s.mpiq)" = 2 ] ||
  fail "the run with stealing moved nothing (stolen $stolen), so --no-steal is not tested: $(cat run1.log)"
expect_code 0 mpiq_run s.tasks --prefetch 20 --no-steal --fresh > run2.log 2>&1
[ "$(json_field s.mpiq/status.json 'd["stolen"]')" = 0 ] || fail "--no-steal: status.json counts stolen tasks"
[ "$(ranks_used s.mpiq)" = 1 ] || fail "--no-steal: tasks ran on $(ranks_used s.mpiq) worker ranks"
[ "$(state_count s.mpiq done)" = 8 ] || fail "--no-steal: not every task done"
echo "ok: --no-steal took no task from the busy worker ($NP ranks)"
