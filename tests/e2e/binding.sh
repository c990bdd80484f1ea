# Tasks run on exactly the cores they were given (issue 4): two concurrent cores=1 tasks get
# different single CPUs; --bind none leaves them unbound; under mpirun --bind-to core each worker's
# tasks stay inside its rank's cpuset.
source "$(dirname "$0")/lib.sh"
[ "$(nproc)" -ge 2 ] || skip_unless_ci "needs 2 CPUs to tell two bindings apart, this machine has $(nproc)"
allowed() { grep Cpus_allowed_list "$1" | awk '{print $2}'; }
line='[% cores=1 %] grep Cpus_allowed_list /proc/self/status > cpus.$MPIQ_TASK_ID; sleep 1'
printf '%s\n%s\n' "$line" "$line" > b.tasks
expect_code 0 "$MPIQ" run b.tasks > /dev/null
a=$(allowed cpus.1); b=$(allowed cpus.2)
[[ "$a" =~ ^[0-9]+$ && "$b" =~ ^[0-9]+$ ]] || fail "tasks not bound to one CPU each: '$a' '$b'"
[ "$a" != "$b" ] || fail "two concurrent tasks share CPU $a"
rm -f cpus.*
expect_code 0 "$MPIQ" run b.tasks --bind none --fresh > /dev/null
own=$(allowed /proc/self/status)
[ "$(allowed cpus.1)" = "$own" ] && [ "$(allowed cpus.2)" = "$own" ] || fail "--bind none still bound the tasks"

# Under mpirun --bind-to core: 3 ranks on this machine's cores; each task inside its worker's cpuset.
rm -f cpus.*
for i in 1 2 3 4; do echo '[% cores=1 %] echo $MPIQ_RANK $(grep Cpus_allowed_list /proc/self/status | cut -f2) > cpus.$MPIQ_TASK_ID; sleep 0.3'; done > m.tasks
expect_code 0 mpirun --allow-run-as-root --oversubscribe --bind-to core:overload-allowed -np 3 \
  "$MPIQ" run m.tasks > /dev/null 2>&1
"$MPIQ" status m.mpiq --json | /usr/bin/python3 -c '
import json, sys, glob
workers = {w["rank"]: w["cpus"] for w in json.load(sys.stdin)["workers"]}
def expand(s):
    out = set()
    for part in s.split(","):
        lo, _, hi = part.partition("-")
        out |= set(range(int(lo), int(hi or lo) + 1))
    return out
for f in glob.glob("cpus.*"):
    rank, cpus = open(f).read().split()
    if not expand(cpus) <= expand(workers[int(rank)]):
        sys.exit(f"task on rank {rank} ran on {cpus}, outside the worker cpuset {workers[int(rank)]}")
print("workers:", workers)
' || fail "a task left its worker's cpuset"
echo "ok: binding"
