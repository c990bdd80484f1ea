# Memory (mem=) is each node's own (docs/design.md §2, §5): with one worker on each of n2 and n3, two
# mem=14G tasks run at the same time, one per node; with both workers on n2 they never overlap (this
# machine's budget is below 28G). status.json and mpiq status show each node's budget.
source "$(dirname "$0")/lib.sh"
budget_kb=$("$MPIQ" topology --json | python3 -c "import json,sys; print(json.load(sys.stdin)['memory_kb'])")
if [ "$budget_kb" -lt $((14 << 20)) ] || [ "$budget_kb" -ge $((28 << 20)) ]; then
  skip_unless_ci "the node gives its tasks ${budget_kb} KiB; the test needs 14G to 28G (a 24 GiB machine)"
fi
task='s=$(date +%s.%N); sleep 1; echo "$s $(date +%s.%N)" >'
printf '[%% mem=14G %%] %s %s/a\n[%% mem=14G %%] %s %s/b\n' "$task" "$WORK" "$task" "$WORK" > m.tasks
overlap() {
  python3 -c "import sys; a=open('$1').read().split(); b=open('$2').read().split(); \
sys.exit(0 if float(a[0]) < float(b[1]) and float(b[0]) < float(a[1]) else 1)"
}
expect_code 0 nodes_mpirun n1:1,n2:1,n3:1 3 m.tasks --run-dir two.mpiq > two.log 2>&1
overlap a b || fail "one mem=14G task on each of two nodes did not overlap: $(cat a) / $(cat b)"
rows=$(json_field two.mpiq/status.json "' '.join('%s:%d:%d' % (n['host'], n['mem_kb'], n['mem_reserved_kb']) for n in sorted(d['nodes'], key=lambda n: n['host']))")
[ "$rows" = "n2:$budget_kb:0 n3:$budget_kb:0" ] || fail "status.json's node memory: $rows"
"$MPIQ" status two.mpiq | grep -q "^n2 .* 0 of " || fail "mpiq status shows no memory for n2: $("$MPIQ" status two.mpiq)"
rm -f a b
expect_code 0 nodes_mpirun n1:1,n2:2 3 m.tasks --run-dir one.mpiq > one.log 2>&1
overlap a b && fail "two mem=14G tasks on the two workers of n2 overlapped: $(cat a) / $(cat b)"
echo "ok: mem=14G tasks overlap across nodes, not within one ($((budget_kb >> 20)) GiB a node)"
