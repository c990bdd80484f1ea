# Bad input: a clear message FILE:LINE:COL, exit 2, nothing written.
source "$(dirname "$0")/lib.sh"
printf 'echo a\n[# 1, nosuch #] echo b\n' > bad.tasks
set +e; out=$(mpiq_run bad.tasks 2>&1); code=$?; set -e
[ "$code" = 2 ] || fail "expected exit 2, got $code: $out"
grep -q "bad.tasks:2:.*unknown dependency 'nosuch'" <<< "$out" || fail "message lacks position: $out"
[ ! -e bad.mpiq ] || fail "a run directory was created for bad input"
set +e; out=$("$MPIQ" check bad.tasks 2>&1); code=$?; set -e
[ "$code" = 2 ] || fail "check: expected exit 2, got $code"
printf 'a\n[# 3 #] b\n[# 2 #] c\n' > cycle.tasks
set +e; out=$(mpiq_run cycle.tasks 2>&1); code=$?; set -e
[ "$code" = 2 ] && grep -q "cycle" <<< "$out" || fail "cycle not reported (exit $code): $out"
: > empty.tasks
expect_code 2 mpiq_run empty.tasks
expect_code 2 mpiq_run missing-file.tasks
# A bad option value on a valid task file: refused for the option alone, before anything runs.
printf 'touch %s/ran\n' "$WORK" > good.tasks
set +e; out=$(mpiq_run good.tasks --time-limit soon 2>&1); code=$?; set -e
[ "$code" = 2 ] && grep -q -- "--time-limit: 'soon'" <<< "$out" || fail "--time-limit soon: expected exit 2 and a message, got $code: $out"
[ ! -e ran ] && [ ! -e good.mpiq ] || fail "--time-limit soon: a task ran or a run directory was made"
[ ! -e cycle.mpiq ] && [ ! -e empty.mpiq ] && [ ! -e missing-file.mpiq ] && [ ! -e bad.mpiq ] || fail "bad input left a run directory"
mkdir notrun && touch notrun/precious
printf 'true\n' > ok.tasks
expect_code 2 mpiq_run ok.tasks --run-dir notrun
[ "$(ls notrun)" = precious ] || fail "mpiq wrote into a directory that is not a run directory"
echo "ok: bad input refused on $NP rank(s)"
