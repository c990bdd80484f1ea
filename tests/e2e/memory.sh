# Memory is a node's resource (docs/design.md §2): tasks on all workers of a node together never ask for
# more than the node gives (its memory, the Slurm allocation, the cgroup limit: `mpiq topology`). Two
# 14G tasks on two workers of a node with less than 28G never overlap; two 1G tasks do. A request
# above the node's budget is bad input at its line before anything is written.
source "$(dirname "$0")/lib.sh"
budget_kb=$("$MPIQ" topology --json | python3 -c "import json,sys; print(json.load(sys.stdin)['memory_kb'])")
workers=$((NP == 1 ? 1 : NP - 1))
[ "$workers" -ge 2 ] || fail "this test needs at least 2 workers (run it with 3 ranks)"
[ "$(nproc)" -ge 2 ] || skip_unless_ci "2 CPUs are needed for two tasks to overlap"
if [ "$budget_kb" -lt $((14 << 20)) ] || [ "$budget_kb" -ge $((28 << 20)) ]; then
  skip_unless_ci "the node gives its tasks ${budget_kb} KiB; the test needs 14G to 28G (a 24 GiB machine)"
fi
# Each task records its start and end; the times of a pair show whether they overlapped.
task='s=$(date +%s.%N); sleep 1; echo "$s $(date +%s.%N)" >'
# The small pair after the big one, so that each pair has both workers to itself.
printf '[%% mem=14G %%] %s big1\n[%% mem=14G %%] %s big2\n#MPIQ barrier\n#MPIQ defaults mem=1G\n%s small1\n%s small2\n' \
  "$task" "$task" "$task" "$task" > mem.tasks
expect_code 0 mpiq_run mem.tasks > /dev/null 2>&1
overlap() {  # overlap A B: true when the two tasks ran at the same time
  python3 -c "import sys; a=open('$1').read().split(); b=open('$2').read().split(); \
sys.exit(0 if float(a[0]) < float(b[1]) and float(b[0]) < float(a[1]) else 1)"
}
overlap big1 big2 && fail "the two mem=14G tasks overlapped on a node that gives ${budget_kb} KiB: $(cat big1) / $(cat big2)"
overlap small1 small2 || fail "the two mem=1G tasks did not overlap: $(cat small1) / $(cat small2)"
# status.json's node rows: the budget, and nothing reserved once the run is over.
python3 - "$budget_kb" <<'PY' || fail "status.json's node memory: $(cat mem.mpiq/status.json)"
import json, sys
nodes = json.load(open("mem.mpiq/status.json"))["nodes"]
assert len(nodes) == 1 and nodes[0]["mem_kb"] == int(sys.argv[1]) and nodes[0]["mem_reserved_kb"] == 0, nodes
PY

# Too big for the node: exit 2 at the setting's column, nothing written; mpiq check --ranks says so too.
printf 'echo a\n[%% cores=1 mem=1000T %%] echo b\n' > big.tasks
expect_code 2 mpiq_run big.tasks 2> err
grep -q "big.tasks:2:12: task 2 asks for 1000T of memory, but the node with the most gives its tasks " err ||
  fail "the memory request: $(cat err)"
[ ! -e big.mpiq ] || fail "the run directory was created for a request no node can meet"
expect_code 2 "$MPIQ" check big.tasks --ranks "$NP" 2> err > /dev/null
grep -q "big.tasks:2:12: task 2 asks for 1000T of memory" err || fail "check --ranks: $(cat err)"
printf '#MPIQ defaults mem=4\necho a\n' > bad.tasks
expect_code 2 mpiq_run bad.tasks 2> err
grep -q "bad.tasks:1:20: bad memory size '4' for mem" err || fail "a size without a unit: $(cat err)"
[ ! -e bad.mpiq ] || fail "the run directory was created for a bad mem="
echo "ok: two mem=14G tasks never overlapped on a node of $((budget_kb >> 20)) GiB, two mem=1G tasks did"
