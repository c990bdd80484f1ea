#!/usr/bin/env bash
# Runs every example task file with the freshly built mpiq and shows what happened.
# Run directories go to examples/runs/ (ignored by git); each run starts fresh.
set -euo pipefail
cd "$(dirname "$0")/.."
mpiq=build/bin/mpiq
mkdir -p examples/runs
for f in examples/*.tasks; do
  name=$(basename "$f" .tasks)
  echo "=== mpiq check $f"
  "$mpiq" check "$f"
  echo "=== mpiq run $f"
  code=0
  "$mpiq" run "$f" --run-dir "examples/runs/$name.mpiq" --fresh --log-level warn || code=$?
  # failures.tasks fails on purpose (exit 1); any other example must succeed.
  want=$([ "$name" = failures ] && echo 1 || echo 0)
  if [ "$code" != "$want" ]; then
    echo "examples/run.sh: mpiq run $f exited $code, not $want" >&2
    exit 1
  fi
  echo "=== mpiq status examples/runs/$name.mpiq"
  "$mpiq" status "examples/runs/$name.mpiq"
  echo
done
# A task's output (kept in a few stream files per run, not a file per task): by id, by name, by
# sweep element; the failed tasks with the end of their stderr; the attempts of a retried task.
echo "=== mpiq cat examples/runs/hello.mpiq greet"
"$mpiq" cat examples/runs/hello.mpiq greet
echo "=== mpiq cat examples/runs/sweep.mpiq '5[35]'"
"$mpiq" cat examples/runs/sweep.mpiq '5[35]'
echo "=== mpiq cat examples/runs/failures.mpiq --failed"
"$mpiq" cat examples/runs/failures.mpiq --failed
echo "=== mpiq status examples/runs/failures.mpiq --tasks failed,skipped"
"$mpiq" status examples/runs/failures.mpiq --tasks failed,skipped
echo "=== mpiq cat examples/runs/failures.mpiq 11 --stderr --attempt 1"
"$mpiq" cat examples/runs/failures.mpiq 11 --stderr --attempt 1
# One HTML page of a run: timeline per worker, node use, failures (open it in a browser).
echo "=== mpiq report examples/runs/pipeline.mpiq"
"$mpiq" report examples/runs/pipeline.mpiq
echo
# The embedding examples are the programs of examples/embed/ (embed-NAME for NAME.cpp); build/bin
# also holds test helpers, which are not examples.
for src in examples/embed/*.cpp; do
  exe=build/bin/embed-$(basename "$src" .cpp)
  if [ ! -x "$exe" ]; then
    echo "examples/run.sh: $exe is missing: build with scripts/build.sh first" >&2
    exit 1
  fi
  echo "=== $exe"
  (cd examples/runs && "../../$exe")
done
