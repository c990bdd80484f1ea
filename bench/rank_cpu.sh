#!/usr/bin/env bash
# The CPU each rank of `mpirun -np 3 mpiq run` spends per task (the hub, and its two workers together),
# from `perf record -a` samples: where bench/why.md's "us a task" figures for the ranks come from. CPU,
# not wall time: on a shared machine it moves much less from run to run.
#
#   bench/rank_cpu.sh [--tasks N] [--extra-env N] [--rounds R] [MPIQ_BINARY ...]
#
# Each round runs every binary (default build/bin/mpiq; give two to compare builds, interleaved) on N
# `true` tasks (default 10,000). --extra-env N adds N entries of 100 bytes to the environment, as a
# cluster's grows after `module load`. Prints per run: the wall time (perf's own start and end in it),
# and CPU microseconds per task of the whole machine, of the hub and of both workers. Needs perf, and
# root or perf_event_paranoid <= 0.
set -euo pipefail
SCRIPT=$(realpath "$0")
ROOT=$(dirname "$(dirname "$SCRIPT")")
TASKS=10000 EXTRA=0 ROUNDS=2
BINARIES=()
while [ $# -gt 0 ]; do
  case $1 in
    --tasks | --extra-env | --rounds)
      [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] || { echo "bench/rank_cpu.sh: $1 needs a number" >&2; exit 2; }
      case $1 in --tasks) TASKS=$2 ;; --extra-env) EXTRA=$2 ;; --rounds) ROUNDS=$2 ;; esac
      shift ;;
    -h | --help) sed -n '2,12p' "$SCRIPT"; exit 0 ;;
    -*) echo "usage: bench/rank_cpu.sh [--tasks N] [--extra-env N] [--rounds R] [MPIQ_BINARY ...]" >&2; exit 2 ;;
    *)
      [ -x "$1" ] || { echo "bench/rank_cpu.sh: '$1' is not an executable file" >&2; exit 2; }
      BINARIES+=("$(realpath "$1")") ;;
  esac
  shift
done
[ ${#BINARIES[@]} -gt 0 ] || BINARIES=("$ROOT/build/bin/mpiq")
for tool in perf mpirun bc; do
  command -v $tool > /dev/null || { echo "bench/rank_cpu.sh: needs $tool (scripts/install-deps.sh; perf: linux-perf)" >&2; exit 2; }
done
[ "$TASKS" -gt 0 ] && [ "$ROUNDS" -gt 0 ] || { echo "bench/rank_cpu.sh: --tasks and --rounds must be at least 1" >&2; exit 2; }

WORK=$(mktemp -d /tmp/mpiq-rank-cpu-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
seq "$TASKS" | sed "s/.*/true/" > "$WORK/tasks.txt"
filler=$(printf '%100s' '' | tr ' ' x)
# Not MPIQ_*: those are mpiq's own per-task names, which a task never inherits.
for i in $(seq 1 "$EXTRA"); do export "BENCH_FILLER_$i=$filler"; done
source "$ROOT/bench/mpi_env.sh"  # as bench/run.sh runs its MPI programs
HZ=2999
echo "$TASKS true, np 3, environment $(env | wc -c) bytes; CPU us per task (perf samples at $HZ Hz)"
for round in $(seq 1 "$ROUNDS"); do
  for bin in "${BINARIES[@]}"; do
    rm -rf "$WORK/run" "$WORK/ranks"
    start=$(date +%s.%N)
    # Each rank writes its rank and pid, then becomes mpiq (exec keeps the pid).
    perf record -q -a -F $HZ -o "$WORK/perf.data" -- mpirun --allow-run-as-root --oversubscribe -np 3 \
      sh -c 'echo "$OMPI_COMM_WORLD_RANK $$" >> "$0/ranks"; exec "$1" run "$0/tasks.txt" --run-dir "$0/run"' \
      "$WORK" "$bin" > "$WORK/run.log" 2>&1 || { echo "bench/rank_cpu.sh: the run of $bin failed:" >&2; tail -n 20 "$WORK/run.log" >&2; exit 1; }
    end=$(date +%s.%N)
    perf script -i "$WORK/perf.data" -F pid 2> /dev/null | awk -v ranks="$WORK/ranks" -v n="$TASKS" -v hz=$HZ \
      -v wall="$(echo "$end - $start" | bc)" -v bin="$bin" -v round="$round" '
      BEGIN { while ((getline line < ranks) > 0) { split(line, f, " "); rank[f[2]] = f[1] } }
      { all++; if ($1 in rank) { if (rank[$1] == 0) hub++; else workers++ } }
      END { us = 1e6 / hz / n
            printf "round %d  %s  wall %.2f s  all %.0f  hub %.1f  workers %.1f\n", round, bin, wall, all * us, hub * us, workers * us }'
  done
done
