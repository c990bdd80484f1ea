# Tasks never outlive their worker: kill -9 of the process that runs them (the `mpiq` binary, or a
# program that embeds mpiq and loads a task file) ends them through the guard (src/exec/guard.hpp).
# Usage: guard.sh MPIQ NP EMBED_COMMANDS
source "$(dirname "$0")/lib.sh"
EMBED=${3:?}
MARK="300.$$$RANDOM"  # sleep accepts a fraction: a pattern no other test's process has
printf 'sleep %s\nsleep %s\n' "$MARK" "$MARK" > g.tasks
tasks_alive() {  # this test's sleeps that are not zombies
  local n=0
  for pid in $(pgrep -f "^sleep $MARK\$" || true); do
    [ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null || echo Z)" = Z ] || n=$((n + 1))
  done
  echo $n
}
check() {  # check WHAT RANK_BINARY COMMAND...: start it, wait for both tasks, kill -9 it, tasks must end
  local what=$1 ranks=$2; shift 2
  setsid "$@" > "$what.log" 2>&1 &
  local leader=$!
  for _ in $(seq 1 200); do [ "$(tasks_alive)" = 2 ] && break; sleep 0.05; done
  [ "$(tasks_alive)" = 2 ] || fail "$what: the two tasks did not start: $(tail -3 "$what.log")"
  # Every rank of the job (each in a process group of its own under mpirun), then the launcher.
  pkill -9 -f "^$ranks .*$WORK/g.tasks" 2>/dev/null || true
  kill -9 -- -"$leader" 2>/dev/null || true
  wait "$leader" 2>/dev/null || true
  for _ in $(seq 1 100); do [ "$(tasks_alive)" = 0 ] && break; sleep 0.05; done
  [ "$(tasks_alive)" = 0 ] || { pkill -9 -f "^sleep $MARK\$" || true; fail "$what: tasks outlived the killed job"; }
}
if [ "$NP" = 1 ]; then
  check mpiq "$MPIQ" "$MPIQ" run "$WORK/g.tasks" --grace 1s
  check embedded "$EMBED" "$EMBED" "$WORK/g.tasks" --run-dir e.mpiq
else
  check mpiq "$MPIQ" mpirun --allow-run-as-root --oversubscribe -np "$NP" "$MPIQ" run "$WORK/g.tasks" --grace 1s
  check embedded "$EMBED" mpirun --allow-run-as-root --oversubscribe -np "$NP" "$EMBED" "$WORK/g.tasks" --run-dir e.mpiq
fi
echo "ok: tasks ended with their killed workers (mpiq run and an embedding program, $NP rank(s))"
