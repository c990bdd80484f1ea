# `mpiq status RUN_DIR --watch` on a real terminal (tmux: a detached session, capture-pane): the table
# is redrawn with changing counts while the run goes, and --watch ends with the run's exit code.
source "$(dirname "$0")/lib.sh"
command -v tmux > /dev/null || skip_unless_ci "tmux is not installed (scripts/install-deps.sh)"
{ for i in $(seq 1 6); do echo "sleep 1"; done; echo "exit 4"; } > t.tasks
mpiq_start t.tasks --worker-cores 1 > run.log 2>&1
pid=$!
for _ in $(seq 1 100); do [ -f t.mpiq/status.json ] && break; sleep 0.1; done
sock="mpiq-watch-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$WORK"' EXIT
tmux -L "$sock" new-session -d -s w -x 120 -y 40 \
  "TERM=xterm $MPIQ status t.mpiq --watch --interval 1s; echo \"watch exit \$?\" > $WORK/watch.code; sleep 30"
seen=""
for _ in $(seq 1 40); do
  screen=$(tmux -L "$sock" capture-pane -p -t w)
  done_line=$(grep -m1 -E '^tasks +7 +done' <<< "$screen" || true)
  [ -n "$done_line" ] && ! grep -qxF "$done_line" <<< "$seen" && seen+="$done_line"$'\n'
  [ -f watch.code ] && break
  sleep 0.5
done
expect_code 1 wait $pid
for _ in $(seq 1 20); do [ -f watch.code ] && break; sleep 0.25; done
[ "$(cat watch.code 2>/dev/null)" = "watch exit 1" ] || fail "--watch did not end with the run's exit code: $(cat watch.code 2>/dev/null)"
[ "$(grep -c . <<< "$seen")" -ge 3 ] || fail "the watched counts did not change (saw: $seen)"
echo "ok: --watch under tmux saw $(grep -c . <<< "$seen") different counts, exit 1"
