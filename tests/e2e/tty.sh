# An interactive run (mpiq on a terminal: script(1) gives it one here) whose task reads the terminal
# (ssh's or sudo's prompt, `read < /dev/tty`): the task has no controlling terminal (it gives up
# mpiq's), so it fails at once with the error in its stderr. It was a background process group reading
# the terminal, stopped by SIGTTIN, and the run waited for it for good (src/exec/spawn.cpp).
source "$(dirname "$0")/lib.sh"
command -v script > /dev/null || skip_unless_ci "needs script(1) (util-linux) for a terminal"
cat > t.tasks <<'TASKS'
read x < /dev/tty || exit 7
tty > tty.2 || true
TASKS
set +e
timeout 60 script -qec "'$MPIQ' run t.tasks --run-dir rd" /dev/null > run.log 2>&1
code=$?
set -e
[ "$code" != 124 ] || fail "the run hung: a task that read the terminal was never ended: $(tail -5 run.log)"
[ "$code" = 1 ] || fail "exit $code, not 1 (task 1 failed): $(tail -5 run.log)"
[ "$(task_ids rd 1-2 't["state"] == "failed" and t["exit_code"] == 7')" = 1 ] ||
  fail "task 1 did not fail with its own exit code: $("$MPIQ" status rd --tasks 1-2)"
"$MPIQ" cat rd 1 --stderr | grep -q '/dev/tty' || fail "task 1's stderr does not say why: $("$MPIQ" cat rd 1 --stderr)"
[ "$(cat tty.2)" = "not a tty" ] || fail "task 2 has a terminal: $(cat tty.2)"
echo "ok: a task that reads the terminal fails at once instead of stopping the run"
