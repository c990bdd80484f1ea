# GREASY 2.2.3 (built from ../shared/peers by bench/peers.sh, once, into its scratch directory) and
# mpiq side by side on GREASY's own example files and on a file of dependencies, ranges and failures:
# the same tasks run, in an order their dependencies allow, and end the same way (GREASY's cancelled
# is mpiq's skipped); every line GREASY marks invalid is an error at that line in mpiq; where the
# README says the two differ, the test holds each to what it says.
source "$(dirname "$0")/lib.sh"
source "$TESTS_DIR/../../bench/peers.sh"
peer_greasy_build || skip_unless_ci "GREASY: $PEER_WHY"
tar xzf "$(ls "$PEER_SRC"/greasy-*.tar.gz | head -1)" example/example.txt example/short-example.txt
# The examples' sleeps, in tenths of a second: the same tasks and lines, in seconds instead of a minute.
for f in example short-example; do sed -E 's#/bin/sleep ([0-9]+)#/bin/sleep 0.\1#' example/$f.txt >$f.txt; done

# Each task of the files below records its start and end: `rec.sh ID [EXIT]`.
cat >rec.sh <<'REC'
#!/bin/sh
echo "$1 start $(date +%s%N)" >>"$ORDER_LOG"; sleep 0.2; echo "$1 end $(date +%s%N)" >>"$ORDER_LOG"; exit "${2:-0}"
REC
chmod +x rec.sh
R=$WORK/rec.sh
cat >deps.txt <<EOF2
# dependencies, ranges and a failure, in GREASY's syntax
$R 2
$R 3
[# 2 #] $R 4
[# -1 #] $R 5
[# 2-4 #] $R 6
[# 6-3 #] $R 7
[# 3,#] $R 8
$R 9 1
[# 9 #] $R 10
[# -1 #] $R 11
[# 8-10 #] $R 12
[@ sub @] [# 4 #] $R 13
[# 13-14 #] $R 14
EOF2
# What each line waits for (a reversed range read forwards; a range that covers its task leaves it out).
deps_of() {
  case $1 in 4|5) echo 2 ;; 6) echo 2 3 4 ;; 7) echo 3 4 5 6 ;; 8) echo 3 ;; 10) echo 9 ;; 11) echo 10 ;;
    12) echo 8 9 10 ;; 13) echo 4 ;; 14) echo 13 ;; esac
}

# run_both NAME FILE [GREASY_VAR=VALUE]: FILE under GREASY (3 ranks: a master and 2 workers) in g-NAME/ and
# under mpiq (2 workers) in m-NAME/; each leaves NAME.greasy and NAME.mpiq, one "LINE STATE" a task
# (ok, failed, cancelled, invalid), and the tasks' records in NAME.greasy.order, NAME.mpiq.order.
run_both() {
  local name=$1 file=$2 var=${3:-GREASY_LogLevel=3}
  mkdir -p "g-$name/sub" "m-$name/sub"
  cp "$file" "g-$name/" && cp "$file" "m-$name/"
  env "$var" ORDER_LOG="$WORK/$name.greasy.order" bash -c "source '$TESTS_DIR/../../bench/peers.sh'; peer_greasy_run 3 '$WORK/g-$name/$(basename "$file")'" \
    >"g-$name/out.txt" 2>&1 || true
  sed -nE 's/.*located in line ([0-9]+) completed successfully.*/\1 ok/p
    s/.*located in line ([0-9]+) failed with exit code.*/\1 failed/p
    s/.*Cancelling task ([0-9]+) because.*/\1 cancelled/p
    s/.*: Task ([0-9]+) does not seem to be correct.*/\1 invalid/p
    s/.*: Dependency [0-9]+ of task ([0-9]+) is not valid.*/\1 invalid/p' "g-$name/greasy.log" | sort -n -u >"$name.greasy"
  (cd "m-$name" && ORDER_LOG="$WORK/$name.mpiq.order" mpirun --allow-run-as-root --oversubscribe -np 3 \
    "$MPIQ" run "$(basename "$file")" >out.txt 2>&1) || true
  local rd="m-$name/$(basename "${file%.*}").mpiq"
  if [ -d "$rd" ]; then
    "$MPIQ" status "$rd" --json --tasks done,failed,skipped,cancelled,waiting,ready | python3 -c '
import json, sys
name = {"done": "ok", "failed": "failed", "skipped": "cancelled"}
for t in json.load(sys.stdin): print(t["id"], name.get(t["state"], t["state"]))' | sort -n >"$name.mpiq"
  else
    : >"$name.mpiq"
  fi
}

# check_order NAME [TOOLS]: in each tool's records, every task started after each of its dependencies
# ended (deps_of).
check_order() {
  local tool line d
  for tool in ${2:-greasy mpiq}; do
    for line in $(awk '$2 == "start" { print $1 }' "$1.$tool.order"); do
      for d in $(deps_of "$line"); do
        awk -v t="$line" -v d="$d" '$1 == t && $2 == "start" { s = $3 } $1 == d && $2 == "end" { e = $3 }
          END { exit !(s != "" && e != "" && s >= e) }' "$1.$tool.order" ||
          fail "$tool: task $line started before its dependency $d ended: $(cat "$1.$tool.order")"
      done
    done
  done
}

# 1. GREASY's short example: three tasks, all done in both.
run_both short short-example.txt
[ "$(cat short.greasy)" = "$(printf '1 ok\n2 ok\n3 ok')" ] || fail "GREASY, short example: $(cat short.greasy)"
diff short.greasy short.mpiq >/dev/null || fail "short example: GREASY $(cat short.greasy) / mpiq $(cat short.mpiq)"

# 2. GREASY's example, its correct lines (1-17): the same tasks end the same way (17's [@ /home/user @]
# fails in both, as there is no /home/user here).
head -17 example.txt >example-valid.txt
run_both valid example-valid.txt
grep -qx '17 failed' valid.greasy || fail "GREASY, line 17: $(cat valid.greasy)"
[ "$(wc -l <valid.greasy)" = 13 ] || fail "GREASY ran other than the 13 tasks of lines 1-17: $(cat valid.greasy)"
diff valid.greasy valid.mpiq >valid.diff || fail "example lines 1-17:$(printf '\n%s' "$(cat valid.diff)")"

# 3. The whole example, with its lines GREASY calls "not Ok". With its default StrictCheck=yes GREASY
# refuses the file and runs nothing; so does mpiq (exit 2, at the first such line, nothing written).
# With StrictCheck=no GREASY runs the rest and marks them invalid: mpiq still refuses the file
# (README: a mistake is an error before anything runs), and every line GREASY marks invalid is an
# error at that line in mpiq (the lines above it kept, the other invalid lines blanked).
run_both strict example.txt
[ ! -s strict.mpiq ] && [ ! -d m-strict/example.mpiq ] || fail "mpiq ran or wrote a run directory for example.txt"
grep -q '^mpiq: example.txt:25:1: ' m-strict/out.txt || fail "mpiq, example.txt: $(cat m-strict/out.txt)"
! grep -q ' ok$' strict.greasy || fail "GREASY (StrictCheck=yes) ran tasks of example.txt: $(cat strict.greasy)"
run_both lax example.txt GREASY_StrictCheck=no
invalid=$(awk '$2 == "invalid" { print $1 }' lax.greasy | tr '\n' ' ')
[ "$invalid" = "25 28 29 31 33 34 " ] || fail "GREASY's invalid lines: '$invalid'"
# The rest runs alike: the file with those lines blanked, in mpiq, ends as GREASY's run did (the
# `[ 1 ]` lines 24 and 26 are commands in both, and fail).
grep -v invalid lax.greasy >lax.valid
awk -v bad="$invalid" 'index(" " bad, " " NR " ") { print ""; next } { print }' example.txt >example-blanked.txt
run_both blanked example-blanked.txt
grep -qx '24 failed' lax.valid && grep -qx '26 failed' lax.valid || fail "GREASY, lines 24 and 26: $(cat lax.valid)"
diff lax.valid blanked.mpiq >blanked.diff || fail "example.txt without its invalid lines:$(printf '\n%s' "$(cat blanked.diff)")"
for line in $invalid; do
  awk -v l="$line" -v bad="$invalid" 'NR == l { print; exit } index(" " bad, " " NR " ") { print ""; next } { print }' \
    example.txt >one.txt
  set +e
  "$MPIQ" check one.txt >/dev/null 2>one.err
  rc=$?
  set -e
  [ "$rc" = 2 ] && grep -q "^mpiq: one.txt:$line:" one.err || fail "line $line: mpiq check exit $rc: $(cat one.err)"
done

# 4. Dependencies, ranges and a failure: the same tasks end the same way, in dependency order.
run_both deps deps.txt
expected=$(printf '%s\n' '2 ok' '3 ok' '4 ok' '5 ok' '6 ok' '7 ok' '8 ok' '9 failed' '10 cancelled' \
  '11 cancelled' '12 cancelled' '13 ok' '14 ok')
[ "$(cat deps.greasy)" = "$expected" ] || fail "GREASY, deps.txt:$(printf '\n%s' "$(cat deps.greasy)")"
diff deps.greasy deps.mpiq >deps.diff || fail "deps.txt, GREASY < > mpiq:$(printf '\n%s' "$(cat deps.diff)")"
check_order deps

# 5. Where the README says they differ. A range over a comment line: GREASY marks the task invalid and
# never runs it; mpiq skips the comment. `#MPIQ barrier`: a comment for GREASY, a barrier for mpiq.
# A line ending in `\`: continued in mpiq; in GREASY the `\` is the command's and the next line a task.
cat >differ.txt <<EOF2
$R 1
# a comment inside the range below
$R 3
[# 1-3 #] $R 4
#MPIQ barrier
$R 6 \\
0
EOF2
deps_of() { case $1 in 4) echo 1 3 ;; 6) echo 1 3 4 ;; esac; }
run_both differ differ.txt GREASY_StrictCheck=no
grep -qx '4 invalid' differ.greasy && grep -qx '7 failed' differ.greasy && ! grep -q '^4 start' differ.greasy.order ||
  fail "GREASY, differ.txt (4 invalid and never run, 7 a task of its own): $(cat differ.greasy)"
[ "$(cat differ.mpiq | tr '\n' ' ')" = "1 ok 3 ok 4 ok 6 ok " ] || fail "mpiq, differ.txt: $(cat differ.mpiq)"
check_order differ mpiq  # 4 after 1 and 3; 6 (`rec.sh 6 0`, joined) after the barrier
echo "PASS"
