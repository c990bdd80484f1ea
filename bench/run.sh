#!/usr/bin/env bash
# Runs mpiq's benchmarks (issue 7) next to their floors and peers, prints one table and writes it, with
# the date, the machine and the commit, to bench/results.md.
#
#   bench/run.sh [--quick] [--only LIST]
#
# --quick (under 5 minutes) runs the smaller sizes the table names; the full run takes about 25 minutes.
# --only 0,1,8 runs only those sections (0 startup, 1 command throughput, 2 short commands, 3 function
# tasks, 4 DAGs, 5 hub scale, 6 checkpoint and journal, 7 idle cost, 8 scheduler simulation, 9 throughput
# against run size); results.md then holds only their rows.
# Every figure is paired with a floor or a peer measured in the same run: absolute times on a shared
# machine mean little, ratios mean more. A peer that is not installed (and cannot be installed from
# Debian's archive) is reported as missing. Nothing here gates anything: a miss is printed as a miss.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0
ONLY=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --only)
      [ $# -ge 2 ] && [[ $2 =~ ^[0-9](,[0-9])*$ ]] || { echo "bench/run.sh: --only needs a list such as 0,1,8" >&2; exit 2; }
      ONLY=",$2,"; shift ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "usage: bench/run.sh [--quick] [--only LIST]" >&2; exit 2 ;;
  esac
  shift
done
# want N: section N runs.
want() { [ -z "$ONLY" ] || [[ $ONLY == *",$1,"* ]]; }

PY=/usr/bin/python3  # Debian's: the python3 on PATH may be another one, without Debian's modules
BIN=$ROOT/build/bin
MPIQ=$BIN/mpiq
WORK=$(mktemp -d /tmp/mpiq-bench-XXXXXX)
# A tmpfs directory only for benchmark 6's comparison; everything else runs on $WORK (disk).
SHM=$(mktemp -d /dev/shm/mpiq-bench-XXXXXX 2>/dev/null || true)
cleanup() { rm -rf "$WORK"; [ -n "$SHM" ] && rm -rf "$SHM"; return 0; }
trap cleanup EXIT

# How every MPI program here runs (one node, shared memory, ob1, no binding by mpirun): bench/mpi_env.sh.
source "$ROOT/bench/mpi_env.sh"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe)

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }

# --- Build what is needed -------------------------------------------------------------------------
log "building"
if [ ! -f build/CMakeCache.txt ]; then
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${generator[@]}" >/dev/null
fi
targets=(mpiq bench_checkpoint bench_spawn_floor bench_mpi_ceiling bench_hub_scale bench_sched_sim bench_journal)
# A build/ configured before bench/CMakeLists.txt existed does not know the bench targets yet.
cmake --build build --target help 2>/dev/null | grep -q bench_spawn_floor || cmake -S . -B build >/dev/null
cmake --build build -j 2 --target "${targets[@]}" >/dev/null
cmake --build build -j 2 --target bench_micro >/dev/null 2>&1 || log "bench_micro not built (libbenchmark-dev missing?)"
# bench-embed belongs to the embedding API (issue 6); built when its target exists.
cmake --build build -j 2 --target bench-embed >/dev/null 2>&1 || true
cmake --build build -j 2 --target bench_dag_embed >/dev/null 2>&1 || true
cmake --build build -j 2 --target bench_exit_only >/dev/null 2>&1 || log "bench_exit_only not built (x86-64 and aarch64 only)"

source "$ROOT/bench/peers.sh"  # GREASY and disBatch, built from ../shared/peers

# --- Peers, from Debian's archive only --------------------------------------------------------------
declare -A PEER_OK
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
need=()
for p in parallel python3-mpi4py python3-distributed; do have_pkg "$p" || need+=("$p"); done
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
  log "installing peers: ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1; } ||
    log "could not install ${need[*]}"
fi
PEER_OK[parallel]=0; command -v parallel >/dev/null && parallel --version 2>/dev/null | grep -q 'GNU parallel' && PEER_OK[parallel]=1
PEER_OK[mpi4py]=0; $PY -c 'import mpi4py.futures' 2>/dev/null && PEER_OK[mpi4py]=1
PEER_OK[dask]=0; $PY -c 'import dask.distributed' 2>/dev/null && PEER_OK[dask]=1

# --- Helpers ------------------------------------------------------------------------------------------
ROWS=()   # "benchmark|mpiq|peer or floor|ratio|target|verdict"
NOTES=()  # lines under the table
row() { ROWS+=("$1|$2|$3|$4|$5|$6"); printf '  %s | %s | %s | %s | %s | %s\n' "$1" "$2" "$3" "$4" "$5" "$6" >&2; }
note() { NOTES+=("$1"); }
now() { date +%s.%N; }
# lines TEXT N FILE: FILE holds N lines of TEXT.
lines() { awk -v t="$1" -v n="$2" 'BEGIN { for (i = 0; i < n; i++) print t }' >"$3"; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
# kv KEY TEXT: the value of KEY=value in TEXT (last occurrence).
kv() { grep -oE "(^| )$1=[^ ]*" <<<"$2" | tail -1 | cut -d= -f2; }
# verdict VALUE OP LIMIT: "met" or "MISSED".
verdict() { awk "BEGIN { exit !($1 $2 $3) }" && echo met || echo MISSED; }
# timed VAR CMD...: runs CMD (output to $WORK/last.log), stores its wall seconds in VAR; returns its status.
timed() {
  local __var=$1; shift
  local t0 t1 rc=0
  t0=$(now)
  "$@" >"$WORK/last.log" 2>&1 || rc=$?
  t1=$(now)
  printf -v "$__var" '%s' "$(calc "$t1 - $t0" 3)"
  return $rc
}
mpiq_np3() { "${MPIRUN[@]}" -np 3 "$MPIQ" run "$@"; }

if [ $QUICK = 1 ]; then
  N1=2000; N1_PARALLEL=100; N1_PY=300; N1_DASK=200; N1_DB=100; N2_FLOOR=500
  STAB_CMD=(2000 20000); STAB_FN=(10000 1000000)
  N3_CEIL=1000000; N3_C64=100000; N3_C1=5000; N3_DASK=1000; N3_EMBED=500000
  SCALE=(1000000); SIM_WORKERS=(10000); SIM_TASKS=1000000; STENCIL_W=1000; IDLE_S=8
else
  N1=20000; N1_PARALLEL=1000; N1_PY=5000; N1_DASK=1000; N1_DB=100; N2_FLOOR=2000
  STAB_CMD=(20000 200000); STAB_FN=(10000 1000000)
  N3_CEIL=5000000; N3_C64=1000000; N3_C1=20000; N3_DASK=10000; N3_EMBED=2000000
  SCALE=(1000000 10000000); SIM_WORKERS=(10000 100000); SIM_TASKS=1000000; STENCIL_W=10000; IDLE_S=10
fi
rate() { calc "$1 / $2" 0; }  # tasks / seconds
REPS=3  # rounds of the rows quoted as min and median
# stats V...: "MIN MEDIAN" of the values.
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[1], a[int((NR+1)/2)]}'; }
mm() { local x; x=($(stats "$@")); echo "${x[0]} / ${x[1]} s"; }  # "min / median s"
med() { stats "$@" | cut -d' ' -f2; }
least() { stats "$@" | cut -d' ' -f1; }
MPIQ1_S=0; MPIQ1_RATE=0; EMBED=""

# --- 0. Startup ---------------------------------------------------------------------------------------
if want 0; then
log "0. startup: a 1-task run against mpirun of an MPI hello"
echo true >"$WORK/one.txt"
printf '#include <mpi.h>\nint main(int c, char** v) { MPI_Init(&c, &v); MPI_Finalize(); return 0; }\n' >"$WORK/hello.c"
if mpicc -O2 -o "$WORK/hello" "$WORK/hello.c" 2>"$WORK/last.log"; then
  H=(); M0=(); R1=()
  for rep in 1 2 3 4 5; do
    timed T "${MPIRUN[@]}" -np 3 "$WORK/hello" && H+=("$T")
    rm -rf "$WORK/r0"; timed T mpiq_np3 "$WORK/one.txt" --run-dir "$WORK/r0" && M0+=("$T")
    rm -rf "$WORK/r0"; timed T "$MPIQ" run "$WORK/one.txt" --run-dir "$WORK/r0" && R1+=("$T")
  done
  row "0. a 1-task run, np 3: mpiq vs \`mpirun -np 3\` of an MPI hello (min / median of 5)" "$(mm "${M0[@]}")" \
    "$(mm "${H[@]}")" "+$(calc "($(med "${M0[@]}") - $(med "${H[@]}")) * 1000" 0) ms" "<= +50 ms" \
    "$(verdict "$(med "${M0[@]}") - $(med "${H[@]}")" '<=' 0.05)"
  row "0. a 1-task run, one rank (no launcher) (min / median of 5)" "$(mm "${R1[@]}")" "-" "-" "<= 0.030 s" \
    "$(verdict "$(med "${R1[@]}")" '<=' 0.03)"
else
  row "0. startup" "-" "mpicc failed: $(tail -1 "$WORK/last.log")" "-" "-" "missing"
fi
note "0. Wall time of the whole command, run directory on disk (its fsyncs included), launched from this script."
fi

# --- 1. Command throughput -------------------------------------------------------------------------
if want 1; then
log "1. command throughput: $N1 x true, $REPS rounds"
lines true "$N1" "$WORK/true.txt"
GREASY_OK=0; peer_greasy_build && GREASY_OK=1 || GREASY_WHY=$PEER_WHY
DISBATCH_OK=0; peer_disbatch_build && DISBATCH_OK=1 || DISBATCH_WHY=$PEER_WHY
# Rounds of floor, mpiq (streams), mpiq (files), xargs and GREASY, interleaved so that a busy minute on this
# shared machine falls on all of them alike. Min and median of the rounds are quoted; ratios are of medians.
F1=(); M1=(); MF1=(); X1=(); G1=(); MPIQ1_OK=1
for rep in $(seq $REPS); do
  timed T "$BIN/bench_spawn_floor" "$N1" 2 /bin/true && F1+=("$T")
  rm -rf "$WORK/r1"
  if timed T mpiq_np3 "$WORK/true.txt" --run-dir "$WORK/r1"; then M1+=("$T"); else MPIQ1_OK=0; cp "$WORK/last.log" "$WORK/mpiq1.log"; fi
  rm -rf "$WORK/r1f"; timed T mpiq_np3 "$WORK/true.txt" --run-dir "$WORK/r1f" --task-output files && MF1+=("$T")
  timed T sh -c "xargs -P 2 -I{} sh -c {} < '$WORK/true.txt'" && X1+=("$T")
  if [ $GREASY_OK = 1 ]; then
    rm -rf "$WORK/g1" && mkdir -p "$WORK/g1" && cp "$WORK/true.txt" "$WORK/g1/"
    timed T peer_greasy_run 3 "$WORK/g1/true.txt" && G1+=("$T") || GREASY_WHY="run failed: $(tail -1 "$WORK/last.log")"
  fi
done
FLOOR_S=$(med "${F1[@]}"); FLOOR_RATE=$(rate "$N1" "$FLOOR_S")
if [ $MPIQ1_OK = 1 ]; then
  MPIQ1_S=$(med "${M1[@]}"); MPIQ1_RATE=$(rate "$N1" "$MPIQ1_S")
  row "1. $N1 \`true\`, 2 workers: mpiq (np 3, task output streams) vs floor (2 posix_spawn in flight)" "$(mm "${M1[@]}")" \
    "$(mm "${F1[@]}")" "$(calc "$MPIQ1_S / $FLOOR_S")" "<= 1.05" "$(verdict "$MPIQ1_S / $FLOOR_S" '<=' 1.05)"
  row "1. the same with \`--task-output files\` (2 files per task), for the record" "$(mm "${MF1[@]}")" "$(mm "${F1[@]}")" \
    "$(calc "$(med "${MF1[@]}") / $FLOOR_S")" "(info)" "-"
  row "1. $N1 \`true\`: mpiq (np 3) vs \`xargs -P 2 -I{} sh -c {}\`" "$(mm "${M1[@]}")" "$(mm "${X1[@]}")" \
    "$(calc "$MPIQ1_S / $(med "${X1[@]}")")" "<= 0.67" "$(verdict "$MPIQ1_S / $(med "${X1[@]}")" '<=' 0.67)"
  if [ ${#G1[@]} -gt 0 ]; then
    row "1. $N1 \`true\`: mpiq (np 3) vs GREASY 2.2.3 (np 3: a master and 2 workers, built from ../shared/peers)" \
      "$(mm "${M1[@]}")" "$(mm "${G1[@]}")" "$(calc "$MPIQ1_S / $(med "${G1[@]}")")" "<= 0.5" \
      "$(verdict "$MPIQ1_S / $(med "${G1[@]}")" '<=' 0.5)"
  else
    row "1. $N1 \`true\`: GREASY 2.2.3" "$(mm "${M1[@]}")" "missing (${GREASY_WHY:-not built})" "-" "<= 0.5" "missing"
  fi
else
  row "1. $N1 \`true\`, mpiq (np 3)" "FAILED (see note)" "$(mm "${F1[@]}")" "-" "<= 1.05" "MISSED"
  note "1. mpiq run failed: $(tail -3 "$WORK/mpiq1.log" | tr '\n' ' ')"
fi
if [ $DISBATCH_OK = 1 ]; then
  head -n "$N1_DB" "$WORK/true.txt" >"$WORK/true_db.txt"
  rm -rf "$WORK/db1" && mkdir -p "$WORK/db1" && cp "$WORK/true_db.txt" "$WORK/db1/"
  if timed T peer_disbatch_run 2 "$WORK/db1/true_db.txt"; then
    row "1. \`true\`: mpiq (np 3) vs disBatch (-s localhost:2, $N1_DB tasks, built from ../shared/peers)" "${MPIQ1_RATE}/s" \
      "$(rate "$N1_DB" "$T")/s ($T s)" "$(calc "$(rate "$N1_DB" "$T") / $MPIQ1_RATE")" "(info)" "-"
  else
    row "1. \`true\`: disBatch" "${MPIQ1_RATE}/s" "failed: $(tail -1 "$WORK/last.log")" "-" "(info)" "-"
  fi
else
  row "1. \`true\`: disBatch" "${MPIQ1_RATE}/s" "missing (${DISBATCH_WHY})" "-" "(info)" "missing"
fi
timed FLOOR2P_S "$BIN/bench_spawn_floor" --procs 2 "$N1" 2 /bin/true
row "1. $N1 \`true\`: mpiq (np 3) vs a stricter floor: 2 spawning processes, 1 in flight each (as 2 worker ranks)" \
  "${MPIQ1_RATE}/s" "$(rate "$N1" "$FLOOR2P_S")/s (${FLOOR2P_S} s)" "$(calc "$MPIQ1_S / $FLOOR2P_S")" "(info)" "-"
# The same without the task's own noise: a program that only exits (bench/exit_only.c: no libc, no loader,
# whose CPUID probes are most of a `true` process here), so what is left is the kernel's exec and exit
# and the launcher's own cost per task. Interleaved rounds, as above.
if [ -x "$BIN/bench_exit_only" ]; then
  lines "$BIN/bench_exit_only" "$N1" "$WORK/exit.txt"
  EF=(); EF2=(); EM=()
  for rep in $(seq $REPS); do
    timed T "$BIN/bench_spawn_floor" "$N1" 2 "$BIN/bench_exit_only" && EF+=("$T")
    timed T "$BIN/bench_spawn_floor" --procs 2 "$N1" 2 "$BIN/bench_exit_only" && EF2+=("$T")
    rm -rf "$WORK/r1e"; timed T mpiq_np3 "$WORK/exit.txt" --run-dir "$WORK/r1e" && EM+=("$T")
  done
  if [ ${#EM[@]} = "$REPS" ]; then
    row "1. $N1 tasks of a program that only exits (bench/exit_only.c), 2 workers: mpiq (np 3) vs floor" \
      "$(mm "${EM[@]}")" "$(mm "${EF[@]}")" "$(calc "$(med "${EM[@]}") / $(med "${EF[@]}")")" "(info)" "-"
    row "1. the same vs the stricter floor (2 spawning processes)" "$(mm "${EM[@]}")" "$(mm "${EF2[@]}")" \
      "$(calc "$(med "${EM[@]}") / $(med "${EF2[@]}")")" "(info)" "-"
    note "1. The exit-only rows show mpiq's own cost per task, which a \`true\` process's start hides on this VM: \
(mpiq - the stricter floor) x 2 cores / $N1 tasks = $(calc "($(med "${EM[@]}") - $(med "${EF2[@]}")) * 2 / $N1 * 1000000" 0) us \
of CPU a task (medians)."
  else
    row "1. $N1 tasks of a program that only exits: mpiq (np 3)" "FAILED: $(tail -1 "$WORK/last.log")" "$(mm "${EF[@]}")" "-" "(info)" "-"
  fi
fi
rm -rf "$WORK/r1b"
if timed MPIQ1B_S "$MPIQ" run "$WORK/true.txt" --run-dir "$WORK/r1b"; then
  row "1. $N1 \`true\`: mpiq one rank (hub thread + 1 worker on both cores) vs floor" "$(rate "$N1" "$MPIQ1B_S")/s (${MPIQ1B_S} s)" \
    "${FLOOR_RATE}/s" "$(calc "$MPIQ1B_S / $FLOOR_S")" "(info)" "-"
fi
if [ "${PEER_OK[parallel]}" = 1 ]; then
  head -n "$N1_PARALLEL" "$WORK/true.txt" >"$WORK/true_par.txt"
  timed PAR_S sh -c "parallel --will-cite -j 2 < '$WORK/true_par.txt'"
  PAR_RATE=$(rate "$N1_PARALLEL" "$PAR_S")
  row "1. \`true\`: mpiq (np 3) vs GNU parallel -j 2 ($N1_PARALLEL tasks)" "${MPIQ1_RATE}/s" "${PAR_RATE}/s" \
    "$(calc "$PAR_RATE / $MPIQ1_RATE")" "(info)" "-"
else
  row "1. \`true\`: GNU parallel" "${MPIQ1_RATE}/s" "missing (parallel)" "-" "(info)" "missing"
fi
if [ "${PEER_OK[mpi4py]}" = 1 ]; then
  head -n "$N1_PY" "$WORK/true.txt" >"$WORK/true_py.txt"
  if timed X "${MPIRUN[@]}" -np 3 $PY -m mpi4py.futures "$ROOT/bench/peers/mpi4py_commands.py" "$WORK/true_py.txt"; then
    PY_S=$(kv seconds "$(cat "$WORK/last.log")")
    row "1. \`true\`: mpiq (np 3) vs mpi4py.futures + subprocess.run, 2 workers ($N1_PY tasks)" "${MPIQ1_RATE}/s" \
      "$(rate "$N1_PY" "$PY_S")/s" "$(calc "$(rate "$N1_PY" "$PY_S") / $MPIQ1_RATE")" "(info)" "-"
  else
    row "1. \`true\`: mpi4py.futures" "${MPIQ1_RATE}/s" "failed: $(tail -1 "$WORK/last.log")" "-" "(info)" "-"
  fi
else
  row "1. \`true\`: mpi4py.futures" "${MPIQ1_RATE}/s" "missing (python3-mpi4py)" "-" "(info)" "missing"
fi
if [ "${PEER_OK[dask]}" = 1 ]; then
  head -n "$N1_DASK" "$WORK/true.txt" >"$WORK/true_dask.txt"
  if timed X $PY "$ROOT/bench/peers/dask_tasks.py" commands "$WORK/true_dask.txt"; then
    DASK_RATE=$(kv tasks_per_s "$(cat "$WORK/last.log")")
    row "1. \`true\`: mpiq (np 3) vs Dask distributed + subprocess.run, 2 workers ($N1_DASK tasks)" "${MPIQ1_RATE}/s" \
      "$(calc "$DASK_RATE" 0)/s" "$(calc "$DASK_RATE / $MPIQ1_RATE")" "(info)" "-"
  else
    row "1. \`true\`: Dask distributed" "${MPIQ1_RATE}/s" "failed: $(tail -1 "$WORK/last.log")" "-" "(info)" "-"
  fi
else
  row "1. \`true\`: Dask distributed" "${MPIQ1_RATE}/s" "missing (python3-distributed)" "-" "(info)" "missing"
fi
note "1. Figures are tasks/s over the command's whole wall time (mpirun's start included for mpiq and mpi4py; \
the pool or cluster start excluded for mpi4py and Dask). Ratios: mpiq time / floor time, mpiq time / xargs time, and \
peer rate / mpiq rate (below 1: the peer is slower). Peers marked with a task count ran fewer tasks than mpiq: their rate is \
what that many gave."
fi

# --- 2. Short command latency ------------------------------------------------------------------------
if want 2; then
log "2. 2000 x sleep 0.01"
lines 'sleep 0.01' 2000 "$WORK/sleep.txt"
S2=(); S2F=()
for rep in $(seq $REPS); do
  timed T "$BIN/bench_spawn_floor" 2000 2 /bin/sleep 0.01 && S2F+=("$T")
  rm -rf "$WORK/r2"; timed T mpiq_np3 "$WORK/sleep.txt" --run-dir "$WORK/r2" && S2+=("$T")
done
if [ ${#S2[@]} -gt 0 ]; then
  row "2. 2,000 \`sleep 0.01\`, 2 workers: mpiq (np 3) vs floor (the same sleeps by posix_spawn, 2 in flight)" \
    "$(mm "${S2[@]}")" "$(mm "${S2F[@]}")" "$(calc "$(med "${S2[@]}") / $(med "${S2F[@]}")")" "<= 1.05" \
    "$(verdict "$(med "${S2[@]}") / $(med "${S2F[@]}")" '<=' 1.05)"
else
  row "2. 2,000 \`sleep 0.01\`" "FAILED" "$(mm "${S2F[@]}")" "-" "<= 1.05" "MISSED"
fi
row "2. floor: wall vs ideal (n x 0.01 / 2)" "" "$(med "${S2F[@]}") s" "$(calc "$(med "${S2F[@]}") / 10")" "(info)" "-"
if [ $QUICK = 0 ]; then
  timed S2X sh -c "xargs -P 2 -I{} sh -c {} < '$WORK/sleep.txt'"
  row "2. 2,000 \`sleep 0.01\`: xargs -P 2 wall vs ideal, for reference" "" "${S2X} s" "$(calc "$S2X / 10")" "(info)" "-"
fi
note "2. The floor row shows what starting \`sleep\` costs on this machine: even with nothing but posix_spawn and \
waitpid, each 10 ms task takes 10 ms plus a process start, so no tool reaches the ideal here."
fi

# --- 3. Function-task throughput --------------------------------------------------------------------
if want 3; then
log "3. function tasks"
if [ -x "$BIN/bench-embed" ]; then
  # End to end: submission plus run(), as a pool's map() is timed; run() alone reported beside it.
  # REPS rounds: the lowest and the median rate quoted, the verdict on the median.
  E3=(); E3_RUN=(); ok=1
  for i in $(seq "$REPS"); do
    if timed X "${MPIRUN[@]}" -np 3 "$BIN/bench-embed" "$N3_EMBED" --mode ahead; then
      E3+=("$(kv tasks_per_s "$(cat "$WORK/last.log")")")
      E3_RUN+=("$(grep -oE 'run-only [0-9.]+' "$WORK/last.log" | awk '{print $2}')")
    else
      ok=0; break
    fi
  done
  if [ $ok = 1 ]; then
    EMBED=$(med "${E3[@]}")
    note "3. bench-embed $N3_EMBED --mode ahead, np 3, tasks/s of the $REPS rounds: ${E3[*]}; run() alone: ${E3_RUN[*]}"
    row "3. $N3_EMBED no-op function tasks, 2 workers (np 3): mpiq embedding API, submission + run (bench-embed; min / median of $REPS)" \
      "$(calc "$(least "${E3[@]}")" 0) / $(calc "$EMBED" 0)/s" ">= 2,000,000/s" "$(calc "$EMBED / 2000000")" ">= 1.0" \
      "$(verdict "$EMBED" '>=' 2000000)"
    row "3. the same, run() alone (tasks submitted before it; median)" "$(calc "$(med "${E3_RUN[@]}")" 0)/s" "-" \
      "-" "(info)" "-"
  else
    EMBED=""
    row "3. no-op function tasks: bench-embed" "FAILED: $(tail -1 "$WORK/last.log")" ">= 2,000,000/s" "-" ">= 1.0" "MISSED"
  fi
  if timed X "${MPIRUN[@]}" -np 3 "$BIN/bench-embed" "$N3_EMBED" --mode stream; then
    R=$(kv tasks_per_s "$(cat "$WORK/last.log")")
    row "3. the same, submitted by a second thread while run() runs them (Session::hold)" "$(calc "${R:-0}" 0)/s" \
      ">= 1,000,000/s" "$(calc "${R:-0} / 1000000")" "(info)" "-"
  fi
else
  EMBED=""
  row "3. no-op function tasks: mpiq embedding API" "pending (issue 6 API)" ">= 1,000,000/s" "-" ">= 1.0" "pending"
fi
if timed X "${MPIRUN[@]}" -np 3 "$BIN/bench_mpi_ceiling" "$N3_CEIL" 16; then
  CEIL=$(kv tasks_per_s "$(cat "$WORK/last.log")")
  row "3. ceiling: raw MPI hub/worker loop, 16 messages in flight per worker" "${EMBED:+$(calc "$EMBED" 0)/s}" \
    "$(calc "$CEIL" 0)/s" "${EMBED:+$(calc "$EMBED / $CEIL")}" "(info)" "-"
fi
if [ "${PEER_OK[mpi4py]}" = 1 ]; then
  for cs in 64 1; do
    n=$N3_C64; [ $cs = 1 ] && n=$N3_C1
    if timed X "${MPIRUN[@]}" -np 3 $PY -m mpi4py.futures "$ROOT/bench/peers/mpi4py_noop.py" "$n" "$cs"; then
      R=$(kv tasks_per_s "$(cat "$WORK/last.log")")
      row "3. peer: mpi4py.futures MPIPoolExecutor.map, chunksize $cs ($n tasks)" "${EMBED:+$(calc "$EMBED" 0)/s}" \
        "$(calc "$R" 0)/s" "${EMBED:+$(calc "$R / $EMBED")}" "(info)" "-"
    fi
  done
else
  row "3. peer: mpi4py.futures" "" "missing (python3-mpi4py)" "-" "(info)" "missing"
fi
if [ "${PEER_OK[dask]}" = 1 ]; then
  if timed X $PY "$ROOT/bench/peers/dask_tasks.py" noop "$N3_DASK"; then
    R=$(kv tasks_per_s "$(cat "$WORK/last.log")")
    row "3. peer: Dask distributed client.map, 2 worker processes ($N3_DASK tasks)" "${EMBED:+$(calc "$EMBED" 0)/s}" \
      "$(calc "$R" 0)/s" "${EMBED:+$(calc "$R / $EMBED")}" "(info)" "-"
  fi
else
  row "3. peer: Dask distributed" "" "missing (python3-distributed)" "-" "(info)" "missing"
fi

fi

# --- 4. DAG -------------------------------------------------------------------------------------------
if want 4; then
log "4. DAG"
for g in stencil fan; do
  if [ -x "$BIN/bench_dag_embed" ]; then
    if timed X "${MPIRUN[@]}" -np 3 "$BIN/bench_dag_embed" $g 100000 1000; then
      R=$(tail -1 "$WORK/last.log" | grep -o 'tasks_per_s=[0-9.]*' | cut -d= -f2)
      row "4. 100,000-task $g DAG, no-op function tasks, 2 workers (np 3): embedding API" "$(calc "${R:-0}" 0) tasks/s" \
        "-" "-" "(info)" "-"
    else
      row "4. 100,000-task $g DAG, no-op function tasks: embedding API" "FAILED: $(tail -1 "$WORK/last.log")" "-" "-" "(info)" "-"
    fi
  else
    row "4. 100,000-task $g DAG, no-op function tasks: embedding API" "pending (issue 6 API)" "-" "-" "(info)" "pending"
  fi
done
for g in stencil fan; do
  out=$("$BIN/bench_sched_sim" --graph $g --tasks 100000 --width 1000 --workers 2 --durations zero)
  row "4. 100,000-task $g DAG, no-op tasks: hub scheduling core with 2 instant simulated workers" \
    "$(calc "$(kv tasks_per_s "$out")" 0) tasks/s" "-" "-" "(info)" "-"
done
note "4. No-op DAG throughput twice: through the embedding API's hub and 2 worker ranks (bench_dag_embed, the \
run() time of tasks submitted beforehand), and on the hub's scheduling core alone (core::Scheduler) with simulated \
workers that finish every task the moment it is assigned: the hub's ceiling, without messages. Stencil: levels of \
1,000 tasks, each waiting for 3 of the level before; fan: blocks of 1 -> 1,000 -> 1."
SLEEP_DAGS=(stencil fan); [ $QUICK = 1 ] && SLEEP_DAGS=(stencil)
for g in "${SLEEP_DAGS[@]}"; do
  width=10; [ $g = fan ] && width=48
  bounds=$($PY "$ROOT/bench/peers/dag_tasks.py" $g 200 $width 2 7 "$WORK/dag_$g.txt")
  B=$(kv bound "$bounds")
  rm -rf "$WORK/r4$g"
  if timed S4 mpiq_np3 "$WORK/dag_$g.txt" --run-dir "$WORK/r4$g"; then
    HUB4=$(grep -o 'finished in this run in [0-9.]* s' "$WORK/last.log" | grep -o '[0-9.]* s' | cut -d' ' -f1)
    row "4. 200 sleep tasks (10-90 ms) on a $g DAG, 2 workers: makespan vs max(critical path, work/2)" \
      "${S4} s (hub ${HUB4} s)" "${B} s" "$(calc "$S4 / $B")" "(info)" "-"
  fi
done
note "4. Real runs through \`mpirun -np 3 mpiq run\`; makespan is the command's wall time (the hub's own time in \
brackets: without mpirun's start). Bounds from bench/peers/dag_tasks.py, seed 7."

fi

# --- 5. Hub scale -----------------------------------------------------------------------------------
if want 5; then
for n in "${SCALE[@]}"; do
  log "5. hub scale: $n tasks"
  "$BIN/bench_hub_scale" generate "$n" "$WORK/scale.txt"
  # Three loads, the one with the median parse time reported (the machine is shared).
  outs=()
  for i in 1 2 3; do outs+=("$("$BIN/bench_hub_scale" load "$WORK/scale.txt" | tr '\n' ' ')"); done
  rm -f "$WORK/scale.txt"
  out=$(for o in "${outs[@]}"; do echo "$(kv parse_s_per_million "$o") $o"; done | sort -n | sed -n 2p | cut -d' ' -f2-)
  PARSES=$(for o in "${outs[@]}"; do kv parse_s_per_million "$o"; done | tr '\n' ' ')
  P=$(kv parse_s_per_million "$out")
  row "5. parse $n tasks (40-byte commands, 1 dependency each): s per million" "$(calc "$P" 3) s" "-" "-" "<= 1 s" \
    "$(verdict "$P" '<=' 1)"
  PEAK=$(kv peak_b_per_task "$out"); STEADY=$(kv steady_b_per_task "$out")
  row "5. hub memory per task, $n tasks, excluding command bytes: peak RSS (steady after load)" \
    "$(calc "$PEAK" 0) B ($(calc "$STEADY" 0) B)" "-" "-" "<= 150 B" "$(verdict "$PEAK" '<=' 150) (steady: $(verdict "$STEADY" '<=' 150))"
  note "5. $n tasks: parse s per million in the 3 loads: $PARSES; the median load: $out"
done
note "5. bench_hub_scale parses the file with the hub's parser and builds the hub's Scheduler. Peak = (VmHWM - RSS \
at start - command bytes) / tasks: the high-water mark while the hub loads, the file's text and the parser's \
temporaries included. Steady = the same with VmRSS once the Scheduler is built: what the hub keeps for the run."

fi

# --- 6. Checkpoint and journal ------------------------------------------------------------------------
if want 6; then
log "6. checkpoint and journal"
out=$("$BIN/bench_checkpoint" 1000000 "$WORK")
W6=$(grep 'write checkpoint, replacing' <<<"$out" | awk -F'|' '{print $3}' | grep -o '[0-9.]*')
W6N=$(grep 'write checkpoint, new file' <<<"$out" | awk -F'|' '{print $3}' | grep -o '[0-9.]*')
L6=$(grep -F 'load checkpoint (all checks)' <<<"$out" | awk -F'|' '{print $3}' | grep -o '[0-9.]*')
row "6. checkpoint write, 1,000,000 tasks (replacing; new file)" "${W6} s (${W6N} s)" "-" "-" "<= 1 s" "$(verdict "$W6" '<=' 1)"
row "6. checkpoint load, 1,000,000 tasks (all checks)" "${L6} s" "-" "-" "<= 1 s" "$(verdict "$L6" '<=' 1)"
out=$("$BIN/bench_journal" 20000 "$WORK" 1)
AF=$(kv append_flush_us "$out"); SY=$(kv sync_us "$out")
if [ "$MPIQ1_S" != 0 ]; then
  TASK_US=$(calc "$MPIQ1_S / $N1 * 1000000" 1)
else  # benchmark 1 did not run (--only): its time per task from 2,000 `true` here
  lines true 2000 "$WORK/true2k.txt"
  rm -rf "$WORK/r6t" "$WORK/o6t"
  timed T mpiq_np3 "$WORK/true2k.txt" --run-dir "$WORK/r6t" --output "$WORK/o6t" || T=0
  rm -rf "$WORK/r6t" "$WORK/o6t"
  TASK_US=$(calc "$T / 2000 * 1000000" 1)
fi
CPU_PART=$(calc "$AF / $TASK_US * 100" 2); SYNC_PART=$(calc "$SY / 50000 * 100" 2)
OVER=$(calc "$CPU_PART + $SYNC_PART" 2)
row "6. journal overhead on benchmark 1, upper bound from its costs: append+flush ${AF} us per task, fdatasync ${SY} us per 50 ms" \
  "${OVER} % (append ${CPU_PART} % + sync ${SYNC_PART} %)" "task: ${TASK_US} us" "-" "<= 5 %" \
  "$(verdict "$OVER" '<=' 5)$([ $QUICK = 1 ] && echo ' (bound; the full run measures it)')"
note "6. mpiq has no switch to turn the journal off. Computed overhead = append+flush per task / benchmark 1's \
time per task + fdatasync time / 50 ms (the hub syncs at most every 50 ms), both measured by bench_journal on the \
same file system as the run directory (disk). It is an upper bound: it charges every fdatasync to the run's wall \
time, although the hub only waits on the disk while it syncs and each worker still holds prefetched tasks (a 1-core \
worker holds 3), so a few milliseconds of hub stall need not delay any task. The full run also measures it (A/B row)."
if [ $QUICK = 0 ] && [ -n "$SHM" ]; then
  # The same run with the run directory on tmpfs (journal writes cost a memcpy, fdatasync nothing) and on disk;
  # task output on disk both times. Alternated, 3 pairs, medians.
  lines true 2000 "$WORK/true2k.txt"
  disk=(); tmp=()
  for i in 1 2 3; do
    rm -rf "$WORK/r6" "$WORK/o6" "$SHM/r6"
    timed T mpiq_np3 "$WORK/true2k.txt" --run-dir "$WORK/r6" --output "$WORK/o6" && disk+=("$T")
    rm -rf "$WORK/o6"
    timed T mpiq_np3 "$WORK/true2k.txt" --run-dir "$SHM/r6" --output "$WORK/o6" && tmp+=("$T")
  done
  median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  MD=$(median "${disk[@]}"); MT=$(median "${tmp[@]}")
  row "6. journal overhead, measured: 2,000 \`true\` with run directory on disk vs on tmpfs (median of 3)" "${MD} s" \
    "${MT} s" "$(calc "$MD / $MT" 3)" "<= 1.05" "$(verdict "$MD / $MT" '<=' 1.05)"
  note "6. Measured A/B: disk runs ${disk[*]} s, tmpfs runs ${tmp[*]} s. On tmpfs the journal's fdatasync and the \
checkpoint's fsyncs cost nothing; the difference also holds status.json and checkpoint writes, and run-to-run noise \
on this shared machine is a few percent."
fi

fi

# --- 7. Idle cost ----------------------------------------------------------------------------------
if want 7; then
log "7. idle cost"
TCK=$(getconf CLK_TCK)
# cpu_ticks PID...: utime+stime of each.
cpu_ticks() { for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0; done; }
# wakeups PID...: voluntary context switches of each, all threads summed (how often it sleeps and wakes).
wakeups() {
  for p in "$@"; do cat /proc/$p/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s + 0}'; done
}
# descendants PID: every process under PID.
descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
idle_case() {  # idle_case LABEL CMD...: measures mpiq processes under CMD while 2 tasks sleep IDLE_S s
  local label=$1; shift
  printf 'sleep %s\nsleep %s\n' "$IDLE_S" "$IDLE_S" >"$WORK/idle.txt"
  rm -rf "$WORK/r7"
  "$@" "$WORK/idle.txt" --run-dir "$WORK/r7" >"$WORK/idle.log" 2>&1 &
  local top=$! window=$((IDLE_S - 4))
  sleep 2
  local pids=()
  for p in $top $(descendants $top); do
    [ "$(cat /proc/$p/comm 2>/dev/null)" = mpiq ] && pids+=("$p")
  done
  local before after wbefore wafter t0 t1 wk=()
  before=($(cpu_ticks "${pids[@]}")); wbefore=($(wakeups "${pids[@]}")); t0=$(now)
  sleep "$window"
  after=($(cpu_ticks "${pids[@]}")); wafter=($(wakeups "${pids[@]}")); t1=$(now)
  wait $top || true
  local dt worst=0 total=0 each=()
  dt=$(calc "$t1 - $t0" 3)
  for i in "${!pids[@]}"; do
    local c; c=$(calc "(${after[$i]} - ${before[$i]}) / $TCK / $dt" 4)
    each+=("$c"); total=$(calc "$total + $c" 4)
    wk+=("$(calc "(${wafter[$i]} - ${wbefore[$i]}) / $dt" 0)")
    awk "BEGIN { exit !($c > $worst) }" && worst=$c
  done
  row "7. idle CPU while 2 tasks sleep: $label, busiest mpiq process (all ${#pids[@]} together)" \
    "$worst s/s ($total s/s)" "-" "-" "<= 0.02 each" "$(verdict "$worst" '<=' 0.02)"
  note "7. $label: per mpiq process (ranks with their threads, and the task guards): ${each[*]} CPU s per wall s, \
${wk[*]} wakeups (voluntary context switches) per s, over ${dt} s."
}
idle_case "mpirun -np 3 (hub + 2 workers)" mpiq_np3
idle_case "one rank (hub and worker threads)" "$MPIQ" run

fi

# --- 8. Scheduler simulation -------------------------------------------------------------------------
if want 8; then
for w in "${SIM_WORKERS[@]}"; do
  log "8. scheduler simulation: $w workers, $SIM_TASKS tasks"
  out=$("$BIN/bench_sched_sim" --graph bag --tasks "$SIM_TASKS" --workers "$w" --durations uniform)
  want_rate=1000000; [ "$w" -le 10000 ] && want_rate=2000000
  SD=$(kv scheduler_decisions_per_s "$out")
  row "8. simulated: $w one-core workers, $SIM_TASKS tasks of 0.5-1.5 s: decisions per second of the scheduler's own time" \
    "$(calc "$SD" 0)/s" "-" "-" ">= $want_rate/s" "$(verdict "$SD" '>=' "$want_rate")"
  row "8. the same, per second of the whole simulation (its event heap included)" \
    "$(calc "$(kv decisions_per_s "$out")" 0)/s" "-" "-" "(info)" "-"
  row "8. simulated: $w workers: makespan vs max(sum of durations / workers, longest task)" \
    "$(kv makespan "$out") s" "$(kv bound "$out") s" "$(calc "$(kv makespan_over_bound "$out")" 3)" "(info)" "-"
done
[ $QUICK = 1 ] && note "8. --quick simulates 10,000 workers for the bag and 1,000 for the stencil; the full run \
adds 100,000 workers for the bag and uses 10,000 for the stencil (the larger runs take over a minute each)."
note "8. Durations uniform in [0.5, 1.5) s; workers start a task the moment a core is free, messages take no time, \
so the makespan ratio measures the scheduler's decisions alone."
out=$("$BIN/bench_sched_sim" --graph stencil --tasks "$SIM_TASKS" --width "$STENCIL_W" --workers "$STENCIL_W" --durations uniform)
row "8. simulated: stencil DAG of $SIM_TASKS tasks (levels of $STENCIL_W), $STENCIL_W workers: makespan vs critical path" \
  "$(kv makespan "$out") s" "$(kv bound "$out") s" "$(calc "$(kv makespan_over_bound "$out")" 3)" "(info)" \
  "$(calc "$(kv decisions_per_s "$out")" 0) decisions/s"

fi

# --- 9. Throughput against run size --------------------------------------------------------------------
if want 9; then
log "9. throughput against run size"
# Command tasks: the per-second rate of the larger run within 10 % of the smaller one's, each net of the
# start and end of a run (a 1-task run's time, measured here too).
echo true >"$WORK/one9.txt"; rm -rf "$WORK/r9"
timed T9_1 mpiq_np3 "$WORK/one9.txt" --run-dir "$WORK/r9"
C9=()
for n in "${STAB_CMD[@]}"; do
  lines true "$n" "$WORK/stab.txt"; rm -rf "$WORK/r9"
  if timed T mpiq_np3 "$WORK/stab.txt" --run-dir "$WORK/r9"; then C9+=("$(calc "$n / ($T - $T9_1)" 0)"); else C9+=(0); fi
done
rm -rf "$WORK/r9" "$WORK/stab.txt"
row "9. command tasks (\`true\`, np 3): ${STAB_CMD[1]} tasks vs ${STAB_CMD[0]}, tasks/s net of a 1-task run (${T9_1} s)" \
  "${C9[1]}/s" "${C9[0]}/s" "$(calc "${C9[1]} / ${C9[0]}")" ">= 0.90" "$(verdict "${C9[1]} / ${C9[0]}" '>=' 0.9)"
if [ -x "$BIN/bench-embed" ]; then
  E9=()
  for n in "${STAB_FN[@]}"; do
    if timed X "${MPIRUN[@]}" -np 3 "$BIN/bench-embed" "$n" --mode ahead; then
      E9+=("$(calc "$(kv tasks_per_s "$(cat "$WORK/last.log")")" 0)")
    else
      E9+=(0)
    fi
  done
  row "9. no-op function tasks (np 3, submission + run): ${STAB_FN[1]} tasks vs ${STAB_FN[0]}, tasks/s" "${E9[1]}/s" \
    "${E9[0]}/s" "$(calc "${E9[1]} / ${E9[0]}")" ">= 0.90" "$(verdict "${E9[1]} / ${E9[0]}" '>=' 0.9)"
fi
note "9. Function-task rates are bench-embed's own (submission + run, inside the program, without mpirun's start); \
the smaller run still carries the workers' first exchanges and the growth of their windows over fewer tasks, so a \
ratio above 1 is that, not a scheduler that speeds up. What the row checks is that the larger run is not slower."
fi

# --- Micro-benchmarks -------------------------------------------------------------------------------
MICRO=""
if [ -x "$BIN/bench_micro" ]; then
  log "micro-benchmarks"
  MICRO=$("$BIN/bench_micro" --benchmark_min_time=0.05 2>/dev/null | grep -E '^BM_' || true)
fi

# --- Report ---------------------------------------------------------------------------------------
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (working tree modified)" || true)
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
MEM=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
{
  echo "# mpiq benchmark results"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- mode: $([ $QUICK = 1 ] && echo '--quick' || echo full)"
  echo "- machine: $(nproc) cores ($CPU), $MEM memory, $(uname -r)"
  echo "- commit: $COMMIT$DIRTY"
  echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared)"
  echo
  echo "| benchmark | mpiq | peer / floor | ratio | target | verdict |"
  echo "|---|---|---|---|---|---|"
  for r in "${ROWS[@]}"; do echo "| ${r//|/ | } |"; done
  echo
  echo "## Notes"
  echo
  for n in "${NOTES[@]}"; do echo "- $n"; done
  echo
  cat "$ROOT/bench/why.md"
  if [ -n "$MICRO" ]; then
    echo
    echo "## Micro-benchmarks (build/bin/bench_micro --benchmark_min_time=0.05)"
    echo
    echo '```'
    echo "$MICRO"
    echo '```'
  fi
} >"$ROOT/bench/results.md"
echo
cat "$ROOT/bench/results.md"
