# While tasks sleep, the hub and workers must not spin. A spinning rank uses ~100% of a core; the
# bound here is loose (25%) so a busy CI machine cannot fail it; bench/ measures the real figure.
source "$(dirname "$0")/lib.sh"
printf 'sleep 4\nsleep 4\nsleep 4\n' > idle.tasks
mpiq_run idle.tasks > /dev/null 2>&1 &
launcher=$!
sleep 1.5
pids=$(pgrep -f "$MPIQ run idle.tasks" | grep -v "^$launcher\$" || true)
[ -n "$pids" ] || fail "no mpiq process found"
ticks() { for p in $pids; do awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0; done; }
a=($(ticks)); sleep 2; b=($(ticks))
hz=$(getconf CLK_TCK)
for i in "${!a[@]}"; do
  pct=$(( (b[i] - a[i]) * 100 / (2 * hz) ))
  echo "process $i: ${pct}% of a core"
  [ "$pct" -lt 25 ] || fail "an mpiq rank spins while its tasks sleep (${pct}%)"
done
wait $launcher || fail "run failed"
echo "ok: idle ranks do not spin"
