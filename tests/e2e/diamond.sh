# A diamond DAG whose tasks write timestamps: each task starts after its dependencies ended.
source "$(dirname "$0")/lib.sh"
cat > diamond.tasks <<TASKS
# top of the diamond
[% name=top %] date +%s.%N > top.start; sleep 0.2; date +%s.%N > top.end
[# top #] date +%s.%N > left.start; sleep 0.3; date +%s.%N > left.end
[# top #] date +%s.%N > right.start; sleep 0.1; date +%s.%N > right.end
[# 3, 4 #] date +%s.%N > bottom.start
TASKS
expect_code 0 mpiq_run diamond.tasks > /dev/null
before() { python3 -c "import sys; sys.exit(0 if float(open('$1').read()) <= float(open('$2').read()) else 1)"; }
before top.end left.start || fail "left started before top ended"
before top.end right.start || fail "right started before top ended"
before left.end bottom.start || fail "bottom started before left ended"
before right.end bottom.start || fail "bottom started before right ended"
echo "ok: diamond order on $NP rank(s)"
