# A task starts with its stdin, stdout and stderr and with what mpiq itself was started with (a
# descriptor the job script opened: with one rank; mpirun passes none to its ranks), and with no
# descriptor mpiq's processes opened later: under mpirun every task used to inherit Open MPI's PMIx
# socket to the launcher (docs/design.md §1, src/exec/spawn.cpp).
source "$(dirname "$0")/lib.sh"
cat > f.tasks <<TASKS
ls -l /proc/self/fd > $WORK/fds.1
[# 1 #] ls -l /proc/self/fd > $WORK/fds.2
TASKS
[ "$NP" != 1 ] || echo 'echo passed >&7' >> f.tasks
exec 7>> "$WORK/seven"
# What this shell gives mpiq beside 0-2 (the test's own stderr on 3, fd 7, whatever the harness
# passed): "NUMBER -> TARGET" lines.
given=$(ls -l /proc/$$/fd | sed -n 's/.* \([0-9]*\) -> \(.*\)/\1 -> \2/p' | grep -v -e '^[012] ' | sort)
expect_code 0 mpiq_run f.tasks --run-dir rd > run.log 2>&1
exec 7>&-
for f in fds.1 fds.2; do
  [ -s $f ] || fail "$f is empty: $(cat run.log)"
  grep -q ' 0 -> /dev/null$' $f || fail "$f: stdin is not /dev/null: $(cat $f)"
  # Beyond 0-2 and the directory ls reads, only what mpiq was given.
  extra=$(sed -n 's/.* \([0-9]*\) -> \(.*\)/\1 -> \2/p' $f | grep -v -e '^[012] ' -e ' -> /proc/[0-9]*/fd$' | sort |
    comm -23 - <(echo "$given") || true)
  [ -z "$extra" ] || fail "$f: a task inherited descriptors of mpiq's: $extra (all: $(cat $f))"
done
if [ "$NP" = 1 ]; then
  grep -q " 7 -> $WORK/seven\$" fds.1 || fail "fd 7, which mpiq was started with, did not reach the task: $(cat fds.1)"
  [ "$(cat seven)" = passed ] || fail "the task could not write to fd 7: '$(cat seven)'"
fi
echo "ok: the tasks started with their own descriptors and those mpiq was given, none of mpiq's own"
