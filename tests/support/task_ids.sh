# task_ids RUN_DIR SELECTION [CONDITION]: the ids of the tasks `mpiq status RUN_DIR --tasks SELECTION`
# lists, sorted, one a line; with CONDITION (a Python expression on the task's JSON object `t`, e.g.
# 't.get("crashes", 0) > 0') only those it holds for. Read from the --json form: the table's own
# lines include a count line ("13 task(s)") whose first word looks like an id, which made a node-loss
# test see task 13 as done when 13 tasks were. Sourced by tests/e2e/lib.sh and tests/slurm/lib.sh;
# needs $MPIQ. A status that fails fails the pipeline (the tests run with pipefail).
task_ids() {
  "$MPIQ" status "$1" --tasks "$2" --json |
    python3 -c 'import json, sys
for t in sorted(json.load(sys.stdin), key=lambda t: t["id"]):
    if eval(sys.argv[1], {}, {"t": t}):
        print(t["id"])' "${3:-True}"
}
