# One worker is handed every task (large prefetch); the idle one steals and runs some of them.
source "$(dirname "$0")/lib.sh"
for i in $(seq 1 8); do echo "sleep 0.3"; done > s.tasks
expect_code 0 mpiq_run s.tasks --prefetch 20 --log-level debug > run.log 2>&1
ranks=$(/usr/bin/python3 - <<PY
import h5py
with h5py.File("s.mpiq/checkpoint.h5", "r") as f:
    print(len(set(f["tasks/worker_rank"][:])))
PY
)
[ "$ranks" -ge 2 ] || fail "all tasks ran on one worker: $(cat run.log)"
grep -q "gave back" s.mpiq/hub.log || fail "no steal in the hub log"
echo "ok: stolen tasks ran on the idle worker ($NP ranks)"
