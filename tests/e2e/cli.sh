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

# The manual page and the bash completion (generated from the command line, installed by cmake
# --install) name every command and every long option of each.
"$MPIQ" help --man >mpiq.1 || fail "mpiq help --man failed"
"$MPIQ" help --bash-completion >completion.bash || fail "mpiq help --bash-completion failed"
bash -n completion.bash || fail "the bash completion is not valid bash"
grep -q '^\.TH MPIQ 1' mpiq.1 || fail "mpiq.1 has no .TH line"
for section in NAME SYNOPSIS COMMANDS "TASK FILES" "EXIT STATUS" SIGNALS ENVIRONMENT; do
  grep -q "^\.SH $section" mpiq.1 || fail "mpiq.1 has no $section section"
done
if command -v man >/dev/null; then
  MANWIDTH=100 man -l mpiq.1 >man.txt 2>man.err || fail "man cannot render mpiq.1: $(cat man.err)"
fi
complete_words() {  # complete_words WORD...: what the completion offers for the last word
  bash -c 'source ./completion.bash; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mpiq; printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
[ "$(complete_words mpiq stat)" = status ] || fail "completion of 'mpiq stat': $(complete_words mpiq stat)"
for c in $commands; do
  grep -q "^\.SS \"$c\"" mpiq.1 || fail "mpiq.1 does not describe '$c'"
  offered=$(complete_words mpiq "$c" --)
  # The options of the command: the first word of each option line of its help ("  -n,--name TEXT ...").
  for opt in $("$MPIQ" help "$c" | awk '/^ +-/ {n = split($1, a, ","); for (i = 1; i <= n; i++) if (a[i] ~ /^--/) print a[i]}'); do
    grep -qx -- "$opt" <<<"$offered" || fail "completion of 'mpiq $c --' lacks $opt"
    grep -q -- "${opt//-/\\\\-}" mpiq.1 || fail "mpiq.1 does not name $opt of '$c'"
  done
done
echo "ok"
