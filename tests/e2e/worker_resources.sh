# --worker-cores, --worker-gpus and --output from the command line. GPUs come from the hwloc XML
# of a 4-GPU node (shared/topologies), binding off, as in gpus.sh.
source "$(dirname "$0")/lib.sh"
source "$TESTS_DIR/lib_extra.sh"
workers=$((NP == 1 ? 1 : NP - 1))

# --output DIR: task output goes there, not to RUN_DIR/out.
printf 'echo to-stdout\necho to-stderr >&2\n' > o.tasks
expect_code 0 mpiq_run o.tasks --output outs --task-output files > run.o.log 2>&1
[ "$(cat outs/1.out)" = to-stdout ] && [ "$(cat outs/2.err)" = to-stderr ] || fail "--output: outs/ lacks the tasks' output"
expect_code 0 mpiq_run o.tasks --fresh --output streams > run.s.log 2>&1
ls streams/rank-*.stream > /dev/null || fail "--output: no streams in streams/: $(ls streams)"
[ "$("$MPIQ" cat o.mpiq 1)" = to-stdout ] && [ "$("$MPIQ" cat o.mpiq 2 --stderr)" = to-stderr ] ||
  fail "mpiq cat does not find the streams that --output moved"
[ -z "$(ls o.mpiq/out 2>/dev/null)" ] || fail "--output: output written to the run directory too: $(ls o.mpiq/out)"

# --worker-cores 1 on one rank (whose worker would have both cores): a cores=2 task fits no worker,
# and two cores=1 tasks share the one CPU the worker kept.
if [ "$NP" = 1 ] && [ "$(nproc)" -ge 2 ]; then
  printf '[%% cores=2 %%] true\n' > c2.tasks
  expect_code 0 mpiq_run c2.tasks > run.c2.log 2>&1  # fits the whole share
  set +e; out=$(mpiq_run c2.tasks --worker-cores 1 --fresh 2>&1); code=$?; set -e
  [ "$code" = 2 ] || fail "--worker-cores 1: a cores=2 task should be refused with exit 2, got $code: $out"
  for i in 1 2 3; do echo 'echo $MPIQ_CORES > cores.$MPIQ_TASK_ID'; done > c1.tasks
  expect_code 0 mpiq_run c1.tasks --worker-cores 1 > run.c1.log 2>&1
  [ "$(cat cores.* | sort -u | wc -l)" = 1 ] || fail "--worker-cores 1: tasks ran on CPUs $(cat cores.* | sort -u | tr '\n' ' ')"
  [ "$(json_field c1.mpiq/status.json 'd["workers"][0]["cpus"]')" = "$(cat cores.1)" ] ||
    fail "--worker-cores 1: status.json shows the worker's CPUs as $(json_field c1.mpiq/status.json 'd["workers"][0]["cpus"]')"
fi

topo="$(cd "$TESTS_DIR/../../.." && pwd)/shared/topologies/power8-2pkg-4xP100.xml"
if [ ! -f "$topo" ]; then
  [ "${CI:-}" != true ] || fail "$topo not found (the shared/ directory beside the repository)"
  echo "SKIP: --worker-gpus untested: $topo not found (--output and --worker-cores passed)"; exit 77
fi
# Without --worker-gpus every worker has at least 2 of the 4 GPUs; with 1 each, four gpus=1 tasks
# see only as many distinct GPUs as there are workers.
for i in 1 2 3 4; do echo '[% gpus=1 %] echo "$CUDA_VISIBLE_DEVICES" > gpu.$MPIQ_TASK_ID; sleep 0.5'; done > g.tasks
expect_code 0 mpiq_run g.tasks --topology-xml "$topo" --bind none --worker-gpus 1 > run.g.log 2>&1
used=$(cat gpu.* | sort -u | wc -l)
[ "$used" = "$workers" ] || fail "--worker-gpus 1: $workers worker(s) used $used GPUs: $(cat gpu.* | tr '\n' ' ')"
per_worker=$(json_field g.mpiq/status.json '" ".join(str(len([g for g in str(w["gpus"]).split(",") if g])) for w in d["workers"])')
[ "$per_worker" = "$(printf '1 %.0s' $(seq $workers) | sed 's/ $//')" ] || fail "--worker-gpus 1: GPUs per worker in status.json: $per_worker"
set +e; out=$(mpiq_run g.tasks --topology-xml "$topo" --bind none --worker-gpus 0 --fresh 2>&1); code=$?; set -e
[ "$code" = 2 ] || fail "--worker-gpus 0: a gpus=1 task should be refused with exit 2, got $code: $out"
echo "ok: --output, --worker-cores, --worker-gpus on $NP rank(s)"
