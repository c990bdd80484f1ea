# The embedding examples, with no launcher (NP=1) and under mpirun: every result is right, the exit
# code is 0. Usage: embed_examples.sh MPIQ NP HELLO PIPELINE
source "$(dirname "$0")/lib.sh"
HELLO=${3:?} PIPELINE=${4:?}
run_example() {
  if [ "$NP" = 1 ]; then "$@"; else mpirun --allow-run-as-root --oversubscribe -np "$NP" "$@"; fi
}
run_example "$HELLO" > hello.out || fail "embed-hello exited $?"
for i in $(seq 1 10); do
  grep -qx "task $i: $((i * i))" hello.out || fail "embed-hello: no 'task $i: $((i * i))' in: $(cat hello.out)"
done
[ "$(wc -l < hello.out)" = 10 ] || fail "embed-hello printed $(wc -l < hello.out) lines, expected 10"
run_example "$PIPELINE" > pipeline.out || fail "embed-pipeline exited $?"
grep -qx "primes below 8000000: 539777" pipeline.out || fail "embed-pipeline: wrong total: $(tail -3 pipeline.out)"
[ "$(grep -c ' end ' pipeline.out)" = 13 ] || fail "embed-pipeline: expected 13 ended tasks"
echo "ok: embed-hello and embed-pipeline on $NP rank(s)"
