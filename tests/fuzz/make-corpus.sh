#!/usr/bin/env bash
# Writes the seed corpus of the fuzz targets, tests/fuzz/corpus/TARGET/, from real inputs:
#   task_file      the example task files and tests/data's GREASY files, and a few of mpiq's syntax
#   journal, checkpoint, output_stream
#                  what a real run of the seeds' run (seed_run.hpp) leaves: killed with kill -9
#                  mid-way after a submission and a cancel (a journal with records of every kind a
#                  command run writes, the start snapshot), then resumed to its end
#   inbox          that submission and cancel request, behind the byte that picks the parser
#   messages       one message of each kind, from mpiq's encoders (fuzz_write_seeds)
# Usage: tests/fuzz/make-corpus.sh [MPIQ] (default build/bin/mpiq; run tests/fuzz/run.sh first, for
# build-fuzz/bin/fuzz_write_seeds). Commit what it writes; a rerun replaces the generated seeds.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mpiq=${1:-$root/build/bin/mpiq}
seeds=${MPIQ_FUZZ_BUILD:-$root/build-fuzz}/bin/fuzz_write_seeds
corpus=$root/tests/fuzz/corpus
for tool in "$mpiq" "$seeds"; do
  [ -x "$tool" ] || { echo "make-corpus: $tool is not built" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$corpus"/{task_file,journal,checkpoint,output_stream,inbox,messages}

# Task files.
cp "$root"/examples/*.tasks "$corpus/task_file/"
for f in "$root"/tests/data/*.tasks; do cp "$f" "$corpus/task_file/$(basename "$f")"; done
"$seeds" --run-file > "$corpus/task_file/seed-run.tasks"
printf '#MPIQ defaults cores=2 timeout=1h30m retries=1\n[# 1, 3-5, -1 #] [@ ~/x @] cmd \\\n  continued\r\n[%% mem=4G gpus=1 name=g %%] run\n#MPIQ pernode start echo up\n' \
  > "$corpus/task_file/syntax.tasks"
printf '4,./simulate a.dat\n# comment\n1,echo done\n' > "$corpus/task_file/pylauncher.txt"

# A real run, killed mid-way, then resumed.
cd "$work"
"$seeds" --run-file > run.tasks
printf '[# slow #] echo after slow\n[%% name=late %%] [# prep #] echo late\n' > submit.tasks
"$mpiq" run run.tasks --run-dir run.mpiq > run.log 2>&1 &
hub=$!
sleep 1.5  # every task but the slow one (sleep 6) has ended
"$mpiq" submit run.mpiq submit.tasks > /dev/null
"$mpiq" cancel run.mpiq 1001 > /dev/null  # the submission's first line (base 1000), waiting on slow
sleep 0.5
kill -9 $hub
wait $hub 2>/dev/null || true
cp run.mpiq/journal "$corpus/journal/killed"
cp run.mpiq/checkpoint.h5 "$corpus/checkpoint/start.h5"
cp run.mpiq/out/rank-*.stream "$corpus/output_stream/killed.stream"
"$mpiq" run run.tasks --run-dir run.mpiq > resume.log 2>&1 || true  # `false` fails: exit 1
cp run.mpiq/journal "$corpus/journal/header-only"
cp run.mpiq/checkpoint.h5 "$corpus/checkpoint/finished.h5"

# Earlier attempts (journal kind 6, checkpoint /attempts): a task that fails, is killed with the run
# (kill -9) during its second try, then after the resume fails once more and succeeds.
cat > k.tasks <<'TASKS'
[% retries=2 %] n=$(cat k.count 2>/dev/null || echo 0); n=$((n+1)); echo $n > k.count; if [ $n = 2 ]; then touch k.running; sleep 60; fi; [ $n -ge 4 ] || exit 5
true
TASKS
"$mpiq" run k.tasks --run-dir k.mpiq > k1.log 2>&1 &
hub=$!
for _ in $(seq 1 100); do
  [ -e k.running ] && grep -q '"running": *1' k.mpiq/status.json 2>/dev/null && break
  sleep 0.1
done
kill -9 $hub
wait $hub 2>/dev/null || true
cp k.mpiq/journal "$corpus/journal/earlier-attempts"
"$mpiq" run k.tasks --run-dir k.mpiq > k2.log 2>&1
cp k.mpiq/checkpoint.h5 "$corpus/checkpoint/earlier-attempts.h5"

# The inbox's files: byte 0 even for a submission, odd for a cancel request.
{ printf '\0'; cat submit.tasks; } > "$corpus/inbox/submission"
printf '\1grace 5\ntask prep\ntask 2[1]\nstate waiting\n' > "$corpus/inbox/cancel"
printf '\1drain\n' > "$corpus/inbox/drain"

"$seeds" "$corpus/messages"
echo "make-corpus: wrote $(find "$corpus" -type f | wc -l) seeds ($(du -sh "$corpus" | cut -f1)) in $corpus"
