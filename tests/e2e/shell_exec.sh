# A command with shell syntax runs through /bin/sh -c; one without is exec'd directly. A probe
# script records its parent's name and whether it leads its own process group: exec'd directly,
# it is the task's process (group leader, child of mpiq); through the shell, it is sh's child.
source "$(dirname "$0")/lib.sh"
cat > probe <<'PROBE'
#!/bin/bash
echo "$(cat /proc/$PPID/comm) $(( $(ps -o pgid= -p $$) == $$ ))" > "$(dirname "$0")/probe.$1"
PROBE
chmod +x probe
cat > x.tasks <<TASKS
$WORK/probe direct
$WORK/probe shell; true
echo \$HOME
printf '%s|' 'a b' c
TASKS
expect_code 0 mpiq_run x.tasks > run.log 2>&1
[ "$(cat probe.direct)" = "mpiq 1" ] || fail "a command without shell syntax was not exec'd by mpiq directly: $(cat probe.direct)"
[ "$(cat probe.shell)" = "sh 0" ] || fail "a command with ';' did not run through sh: $(cat probe.shell)"
[ "$("$MPIQ" cat x.mpiq 3)" = "$HOME" ] || fail "\$HOME was not expanded by the shell: $("$MPIQ" cat x.mpiq 3)"
[ "$("$MPIQ" cat x.mpiq 4)" = "a b|c|" ] || fail "quotes were not the shell's: $("$MPIQ" cat x.mpiq 4)"
echo "ok: shell syntax through /bin/sh, plain commands exec'd, on $NP rank(s)"
