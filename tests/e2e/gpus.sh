# GPU tasks without a GPU machine: the node's topology comes from an hwloc XML of a real GPU node
# (shared/topologies), binding is off (those CPUs are not this machine's), and each task's
# CUDA_VISIBLE_DEVICES shows which GPU it was given. The real-GPU check runs on a GPU machine.
source "$(dirname "$0")/lib.sh"
topo="$(cd "$TESTS_DIR/../../.." && pwd)/shared/topologies/power8-2pkg-4xP100.xml"
[ -f "$topo" ] || { echo "SKIP: $topo not found (the shared/ directory beside the repository)"; exit 77; }
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
# A GPU request on a machine without GPUs is refused before anything runs.
printf '[%% gpus=1 %%] true\n' > nogpu.tasks
set +e; out=$("$MPIQ" run nogpu.tasks 2>&1); code=$?; set -e
[ "$code" = 2 ] && echo "$out" | grep -q "GPUs" || fail "gpus=1 without GPUs: expected exit 2 and a message, got $code: $out"
# A malformed CUDA_VISIBLE_DEVICES is bad input.
set +e; out=$(CUDA_VISIBLE_DEVICES=0,,x "$MPIQ" run g.tasks --topology-xml "$topo" --bind none --fresh 2>&1); code=$?; set -e
[ "$code" = 2 ] && echo "$out" | grep -q "CUDA_VISIBLE_DEVICES" || fail "malformed CUDA_VISIBLE_DEVICES: got $code: $out"
echo "ok: GPU assignment"
