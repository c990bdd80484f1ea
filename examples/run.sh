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
for exe in build/bin/embed-*; do
  [ -x "$exe" ] || continue
  echo "=== $exe"
  (cd examples/runs && "../../$exe")
done
