# GPU tasks without a GPU machine: the node's topology comes from an hwloc XML of a real GPU node
# (shared/topologies), binding is off (those CPUs are not this machine's), and each task's
# CUDA_VISIBLE_DEVICES shows which GPU it was given. Every check here needs no GPU, so it runs
# everywhere (CI included). `gpus.sh MPIQ 1 hardware` is the real-GPU check: it runs on this
# machine's own GPUs and skips, with the reason, where there are none.
source "$(dirname "$0")/lib.sh"
# Not the caller's GPU allocation: each check sets what it needs.
unset CUDA_VISIBLE_DEVICES ROCR_VISIBLE_DEVICES ZE_AFFINITY_MASK SLURM_STEP_GPUS

if [ "${3:-}" = hardware ]; then
  count=$("$MPIQ" topology --json | /usr/bin/python3 -c 'import json, sys; print(len(json.load(sys.stdin)["gpus"]))')
  [ "$count" -gt 0 ] || skip_hardware "mpiq topology finds no GPU on this machine; the real-GPU check needs one"
  for i in $(seq "$count"); do echo '[% gpus=1 %] echo "$CUDA_VISIBLE_DEVICES" > gpu.$MPIQ_TASK_ID; sleep 1'; done > real.tasks
  echo 'echo "[$CUDA_VISIBLE_DEVICES]" > cpu.only' >> real.tasks
  expect_code 0 "$MPIQ" run real.tasks > /dev/null
  given=$(cat gpu.* | sort -u | wc -l)
  [ "$given" = "$count" ] || fail "$count concurrent gpus=1 tasks on $count GPUs got $given distinct GPUs: $(cat gpu.* | tr '\n' ' ')"
  [ "$(cat cpu.only)" = "[]" ] || fail "a CPU-only task could see GPUs: $(cat cpu.only)"
  if command -v nvidia-smi > /dev/null; then
    printf '[%% gpus=1 %%] nvidia-smi -L > seen\n' > smi.tasks
    expect_code 0 "$MPIQ" run smi.tasks > /dev/null
    [ "$(wc -l < seen)" = 1 ] || fail "a gpus=1 task saw $(wc -l < seen) GPUs: $(cat seen)"
  fi
  echo "ok: $count real GPU(s), one per task"
  exit 0
fi

topo="$(cd "$TESTS_DIR/../../.." && pwd)/shared/topologies/power8-2pkg-4xP100.xml"
[ -f "$topo" ] || skip_unless_ci "$topo not found (the shared/ directory beside the repository)"
for i in 1 2 3 4; do echo '[% gpus=1 %] echo "$CUDA_VISIBLE_DEVICES $MPIQ_CORES" > gpu.$MPIQ_TASK_ID; sleep 1'; done > g.tasks
echo 'echo "[$CUDA_VISIBLE_DEVICES]" > cpu.only' >> g.tasks
expect_code 0 "$MPIQ" run g.tasks --topology-xml "$topo" --bind none > /dev/null
ids=$(cat gpu.* | awk '{print $1}' | sort | tr '\n' ' ')
[ "$ids" = "0 1 2 3 " ] || fail "four concurrent gpus=1 tasks should get GPUs 0-3 once each, got: $ids"
[ "$(cat cpu.only)" = "[]" ] || fail "a CPU-only task could see GPUs: $(cat cpu.only)"
# Cores near the GPU: on this node GPUs 0-1 sit on NUMA node 0 (PUs 0-31), 2-3 on node 1 (PUs 80-105).
while read -r gpu cores; do
  first=${cores%%[-,]*}
  if [ "$gpu" -le 1 ]; then [ "$first" -lt 80 ]; else [ "$first" -ge 80 ]; fi || fail "GPU $gpu got far cores $cores"
done < <(cat gpu.*)
# A GPU request on a node without GPUs is refused before anything runs. The node is a synthetic one,
# so the check means the same on a machine that has GPUs.
lstopo-no-graphics -i "pack:1 core:2 pu:1" --of xml nogpu.xml
printf '[%% gpus=1 %%] true\n' > nogpu.tasks
set +e; out=$("$MPIQ" run nogpu.tasks --topology-xml nogpu.xml --bind none 2>&1); code=$?; set -e
[ "$code" = 2 ] && echo "$out" | grep -q "nogpu.tasks:1:4: task 1 asks for 1 GPU, but no worker has a GPU: none found on this node" ||
  fail "gpus=1 without GPUs: expected exit 2 and a message, got $code: $out"
[ ! -e nogpu.mpiq ] || fail "gpus=1 without GPUs: the run directory was created"
# A malformed CUDA_VISIBLE_DEVICES is bad input.
set +e; out=$(CUDA_VISIBLE_DEVICES=0,,x "$MPIQ" run g.tasks --topology-xml "$topo" --bind none --fresh 2>&1); code=$?; set -e
[ "$code" = 2 ] && echo "$out" | grep -q "CUDA_VISIBLE_DEVICES" || fail "malformed CUDA_VISIBLE_DEVICES: got $code: $out"
echo "ok: GPU assignment"
