# A request no worker can meet is bad input at its line and column, found before the run directory is
# created (exit 2, nothing on disk); `mpiq check --ranks N` says so ahead of time (docs/design.md §11).
source "$(dirname "$0")/lib.sh"
ncores=$("$MPIQ" topology --json | python3 -c "import json,sys; print(json.load(sys.stdin)['machine']['cores'])" 2>/dev/null || nproc)
printf 'echo fine\n#MPIQ defaults timeout=1m\n[# 1 #] [%% cores=1 gpus=1 %%] ./train\n' > gpu.tasks
expect_code 2 mpiq_run gpu.tasks 2> err
grep -q "gpu.tasks:3:20: task 3 asks for 1 GPU, but no worker has a GPU: none found on this node" err ||
  fail "the GPU request: $(cat err)"
[ ! -e gpu.mpiq ] || fail "the run directory was created for a request no worker can meet"
printf 'echo a\n[%% repeat=4 cores=100000 %%] echo b\n' > cores.tasks
expect_code 2 mpiq_run cores.tasks 2> err
grep -q "cores.tasks:2:13: task 2 asks for 100000 cores, but the largest worker has [0-9]* (see --worker-cores, or run fewer ranks per node)" err ||
  fail "the cores request: $(cat err)"
[ ! -e cores.mpiq ] || fail "the run directory was created"
# An existing run directory is not touched either.
printf 'echo ok\n' > ok.tasks
expect_code 0 mpiq_run ok.tasks --run-dir kept.mpiq > /dev/null
before=$(find kept.mpiq -printf '%p %T@ %s %m\n' | sort)
expect_code 2 mpiq_run gpu.tasks --run-dir kept.mpiq 2> /dev/null
after=$(find kept.mpiq -printf '%p %T@ %s %m\n' | sort)
[ "$before" = "$after" ] || fail "the run directory changed: $before // $after"

# mpiq check --ranks N: whether every task fits N ranks here, or on a node an XML describes.
expect_code 2 "$MPIQ" check gpu.tasks --ranks "$NP" 2> err > /dev/null
grep -q "gpu.tasks:3:20: task 3 asks for 1 GPU" err || fail "check --ranks: $(cat err)"
"$MPIQ" check ok.tasks --ranks "$NP" | grep -q "every task fits $NP rank(s)" || fail "check --ranks of a fitting file"
topo="$(cd "$TESTS_DIR/../../.." && pwd)/shared/topologies/dgx2-trimmed-16xV100.xml"
if [ -f "$topo" ]; then
  # 4 cores and 16 GPUs: 3 ranks are 2 workers of 2 cores and 8 GPUs each.
  printf '[%% cores=2 gpus=8 %%] x\n' > big.tasks
  "$MPIQ" check big.tasks --ranks 3 --topology-xml "$topo" | grep -q "every task fits 3 rank(s): 2 worker(s), the largest with 2 cores and 8 GPUs" ||
    fail "check --ranks 3 on the DGX-2 XML: $("$MPIQ" check big.tasks --ranks 3 --topology-xml "$topo")"
  expect_code 2 "$MPIQ" check big.tasks --ranks 5 --topology-xml "$topo" 2> err > /dev/null
  grep -q "big.tasks:1:12: task 1 asks for 8 GPUs, but the worker with the most has 4" err || fail "check --ranks 5: $(cat err)"
elif [ "${CI:-}" = true ]; then
  fail "$topo not found (the shared/ directory beside the repository)"
fi
expect_code 2 "$MPIQ" check ok.tasks --topology-xml x.xml 2> /dev/null
# A pylauncher file: refused as an mpiq file (exit 2, nothing written), run with --format pylauncher.
printf '# pylauncher\n1,echo one\n1,echo "two $OMP_NUM_THREADS"\n' > pl.txt
expect_code 2 mpiq_run pl.txt 2> err
grep -q "pl.txt:1:1: this is a pylauncher file (every task line is CORES,COMMAND): run it with --format pylauncher" err ||
  fail "a pylauncher file as mpiq's: $(cat err)"
[ ! -e pl.mpiq ] || fail "the refused pylauncher file created its run directory"
expect_code 0 mpiq_run pl.txt --format pylauncher > /dev/null 2>&1
[ "$("$MPIQ" cat pl.mpiq 3)" = "two 1" ] || fail "--format pylauncher: $("$MPIQ" cat pl.mpiq 3)"
"$MPIQ" check pl.txt --format pylauncher | grep -qx "tasks 2" || fail "mpiq check --format pylauncher"
echo "ok: unmeetable requests refused at their line before anything is written, on $NP rank(s) ($ncores cores)"
