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
  "$mpiq" run "$f" --run-dir "examples/runs/$name.mpiq" --fresh --log-level warn
  echo "=== mpiq status examples/runs/$name.mpiq"
  "$mpiq" status "examples/runs/$name.mpiq"
  echo
done
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
