#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/CMakeLists.txt) in build-fuzz/ with clang, ASan and UBSan,
# and runs each for SECONDS (default 30) from its seed corpus, one after the other.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      e.g. tests/fuzz/run.sh 300 journal inbox
#
# Each target's corpus grows in build-fuzz/fuzz/TARGET/corpus (kept between runs; the seeds in
# tests/fuzz/corpus/TARGET are only read). A crash, a sanitizer report, a leak, an input that runs
# longer than 10 s or takes more than 2 GiB is saved as build-fuzz/fuzz/TARGET/crash-* (timeout-*,
# leak-*, oom-*); the script goes on with the next target, prints every reproducer and exits 1.
# Rerun one with `build-fuzz/bin/fuzz_TARGET FILE`. Environment: MPIQ_FUZZ_BUILD (the build directory).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(task_file journal checkpoint messages output_stream inbox)
build=${MPIQ_FUZZ_BUILD:-$root/build-fuzz}

generator=()
command -v ninja >/dev/null && [ ! -f "$build/CMakeCache.txt" ] && generator=(-G Ninja)
CC=clang CXX=clang++ cmake -S "$root" -B "$build" "${generator[@]}" -DMPIQ_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMPIQ_BUILD_TESTS=OFF -DMPIQ_BUILD_BENCH=OFF -DMPIQ_BUILD_EXAMPLES=OFF > /dev/null
cmake --build "$build" --target fuzz -j "$(nproc)"

# Open MPI and HDF5 keep memory for the life of the process: only leaks in mpiq's code are reports.
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# The checkpoint loader parses in a child under a time budget (store/child_check.hpp): a hang in
# libhdf5 is a refusal after it, well within libFuzzer's -timeout below.
export MPIQ_CHECKPOINT_LOAD_TIMEOUT=${MPIQ_CHECKPOINT_LOAD_TIMEOUT:-3}
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
failed=()
for t in "${targets[@]}"; do
  out=$build/fuzz/$t
  mkdir -p "$out/corpus"
  log=$out/log
  set +e
  "$build/bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/" "$out/corpus" "$root/tests/fuzz/corpus/$t" > "$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "fuzz $t: ${seconds} s, ${runs:-?} executions, corpus $(ls "$out/corpus" | wc -l) inputs, no crash"
  else
    reproducer=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
    echo "fuzz $t: FAILED (exit $rc) after ${runs:-?} executions; reproducer: ${reproducer:-none written}"
    echo "  rerun: $build/bin/fuzz_$t ${reproducer:-}; log: $log"
    grep -E "^(==[0-9]+==ERROR|SUMMARY|mpiq fuzz:|.*runtime error:)" "$log" | head -5 | sed 's/^/  /'
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, no crash"
