# A command with shell syntax runs through `bash -c` where bash exists (else /bin/sh -c; `--shell`
# chooses); one without is exec'd directly, with execvp's meaning (a script without `#!` runs through
# the shell). A probe script records its parent's name and whether it leads its own process group:
# exec'd directly, it is the task's process (group leader, child of mpiq); through the shell, it is the
# shell's child. `[@ dir @]` is GREASY's `cd dir &&`: ~ and $VAR expand, PWD is the task's directory.
# A command longer than one argument may be (E2BIG) still reaches the shell.
source "$(dirname "$0")/lib.sh"
cat > probe <<'PROBE'
#!/bin/bash
echo "$(cat /proc/$PPID/comm) $(( $(ps -o pgid= -p $$) == $$ ))" > "$(dirname "$0")/probe.$1"
PROBE
chmod +x probe
printf 'echo "no shebang $1 in $PWD"\n' > noshebang
chmod +x noshebang
mkdir -p "sub dir" sweep.9
long=$(python3 -c "print(':' + ' abcdefghijklmnopqrstuvwxyz0123456789' * 9000)")
shell=$( [ -x /bin/bash ] && echo bash || echo sh )
cat > x.tasks <<TASKS
$WORK/probe direct
$WORK/probe shell; true
echo \$HOME
printf '%s|' 'a b' c
echo hi &> both.log
$WORK/noshebang one
[@ \$WORK_DIR/sub dir @] pwd; echo "\$PWD"
[@ ~ @] pwd
[@ sweep.\$MPIQ_TASK_ID @] pwd -P > here
$long; echo long done
[@ \$PWD/sub dir @] /usr/bin/env
TASKS
export WORK_DIR=$WORK
export PWD  # $WORK (lib.sh's cd): the worker's PWD, which a task's directory may name
expect_code 0 mpiq_run x.tasks > run.log 2>&1 || { cat run.log >&3; exit 1; }
[ "$(cat probe.direct)" = "mpiq 1" ] || fail "a command without shell syntax was not exec'd by mpiq directly: $(cat probe.direct)"
[ "$(cat probe.shell)" = "$shell 0" ] || fail "a command with ';' did not run through $shell: $(cat probe.shell)"
[ "$("$MPIQ" cat x.mpiq 3)" = "$HOME" ] || fail "\$HOME was not expanded by the shell: $("$MPIQ" cat x.mpiq 3)"
[ "$("$MPIQ" cat x.mpiq 4)" = "a b|c|" ] || fail "quotes were not the shell's: $("$MPIQ" cat x.mpiq 4)"
if [ "$shell" = bash ]; then
  [ "$(cat both.log)" = hi ] || fail "'&>' was not bash's: both.log holds '$(cat both.log)'"
fi
[ "$("$MPIQ" cat x.mpiq 6)" = "no shebang one in $WORK" ] || fail "a script without #!: $("$MPIQ" cat x.mpiq 6 --stderr)"
[ "$("$MPIQ" cat x.mpiq 7)" = "$WORK/sub dir
$WORK/sub dir" ] || fail "[@ \$WORK_DIR/sub dir @]: $("$MPIQ" cat x.mpiq 7; "$MPIQ" cat x.mpiq 7 --stderr)"
[ "$("$MPIQ" cat x.mpiq 8)" = "$HOME" ] || fail "[@ ~ @]: $("$MPIQ" cat x.mpiq 8; "$MPIQ" cat x.mpiq 8 --stderr)"
[ "$(cat sweep.9/here)" = "$WORK/sweep.9" ] || fail "a relative [@ dir @] with the task's own variable"
[ "$("$MPIQ" cat x.mpiq 10)" = "long done" ] || fail "a ${#long}-byte command: $("$MPIQ" cat x.mpiq 10 --stderr)"
# A program exec'd directly reads PWD with getenv, which takes the first: the task's directory (here
# under the worker's $PWD) must be the only PWD it is given, not a second one after the worker's.
[ "$("$MPIQ" cat x.mpiq 11 | grep '^PWD=')" = "PWD=$WORK/sub dir" ] ||
  fail "[@ dir @] of a program exec'd directly: its PWD entries are $("$MPIQ" cat x.mpiq 11 | grep '^PWD=' | tr '\n' ' ')"
# A worker started without PWD (a launcher that sets none) gives its tasks the directory it is in, as
# a shell would.
printf '/usr/bin/env\n[@ $PWD/sub dir @] pwd\n' > nopwd.tasks
(unset PWD; expect_code 0 mpiq_run nopwd.tasks --run-dir nopwd.mpiq > /dev/null 2>&1)
[ "$("$MPIQ" cat nopwd.mpiq 1 | grep '^PWD=')" = "PWD=$WORK" ] ||
  fail "a worker without PWD: its task's PWD entries are $("$MPIQ" cat nopwd.mpiq 1 | grep '^PWD=' | tr '\n' ' ')"
[ "$("$MPIQ" cat nopwd.mpiq 2)" = "$WORK/sub dir" ] || fail "a worker without PWD: [@ \$PWD/sub dir @]: $("$MPIQ" cat nopwd.mpiq 2 --stderr)"
# --shell: another shell, and a bad one refused before anything is written.
expect_code 0 mpiq_run x.tasks --run-dir sh.mpiq --shell /bin/sh > /dev/null 2>&1
[ "$(cat probe.shell)" = "sh 0" ] || fail "--shell /bin/sh: $(cat probe.shell)"
expect_code 2 mpiq_run x.tasks --run-dir bad.mpiq --shell /no/such/shell 2> err
grep -q "shell: '/no/such/shell' is not an executable file" err || fail "--shell /no/such/shell: $(cat err)"
[ ! -e bad.mpiq ] || fail "a bad --shell created the run directory"
echo "ok: shell syntax through $shell, plain commands exec'd with execvp's meaning, on $NP rank(s)"
