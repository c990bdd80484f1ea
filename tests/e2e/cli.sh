#!/usr/bin/env bash
# The command line explains itself: bare `mpiq` lists the commands (exit 2), an unknown command is named
# with the nearest one (exit 2), `mpiq help COMMAND` shows that command's help, `mpiq help tasks` the
# task-file language, -V and --version the version.
source "$(dirname "$0")/lib.sh"

set +e
"$MPIQ" >bare.out 2>&1; rc=$?
set -e
[ $rc = 2 ] || fail "bare mpiq: exit $rc, expected 2"
commands=$(sed -n '/^commands:/,/^$/p' bare.out | awk 'NF && !/^commands:/ {print $1}')
for c in run check topology status submit cat help; do
  grep -qx "$c" <<<"$commands" || fail "bare mpiq does not list '$c': $(cat bare.out)"
done
for c in $commands; do
  "$MPIQ" help "$c" >help.out 2>&1 || fail "mpiq help $c failed: $(cat help.out)"
  grep -q "^Usage: mpiq $c" help.out || fail "mpiq help $c shows no usage line: $(head -3 help.out)"
done
# Every description is one line in the list (a paragraph there is unreadable).
awk '/^commands:/ {on=1; next} on && NF == 0 {exit} on && length($0) > 100 {bad=1} END {exit bad}' bare.out ||
  fail "a command's line in the list is longer than 100 characters: $(cat bare.out)"

set +e
"$MPIQ" stauts >typo.out 2>&1; rc=$?
set -e
[ $rc = 2 ] || fail "mpiq stauts: exit $rc, expected 2"
grep -q "unknown command 'stauts'; did you mean 'status'?" typo.out || fail "typo message: $(head -2 typo.out)"
set +e
"$MPIQ" help nosuchtopic >topic.out 2>&1; rc=$?
set -e
[ $rc = 2 ] || fail "mpiq help nosuchtopic: exit $rc, expected 2"
grep -q "no command or topic 'nosuchtopic'" topic.out || fail "unknown topic message: $(cat topic.out)"

"$MPIQ" help tasks >tasks.out 2>&1 || fail "mpiq help tasks failed"
grep -q '\[# ' tasks.out && grep -q '#MPIQ barrier' tasks.out || fail "mpiq help tasks: $(head -3 tasks.out)"
for v in -V --version; do
  out=$("$MPIQ" $v) || fail "mpiq $v failed"
  [[ $out =~ ^mpiq\ [0-9]+\.[0-9]+ ]] || fail "mpiq $v printed '$out'"
done
echo "ok"
