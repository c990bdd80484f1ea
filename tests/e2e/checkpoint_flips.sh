# Random bit flips in a real checkpoint (issue 17): every load of a damaged copy ends either in the
# same table as the undamaged one or in a refusal with exit 2 that names checkpoint.h5 and says how to
# start over; never a signal, a crash, a hang or a table that differs. Each flip is on a fresh copy.
#
# MPIQ_CHECKPOINT_FLIPS (default 60, for CI) sets how many; MPIQ_CHECKPOINT_FLIP_SEED (default 17) the
# seed. A third argument names a checkpoint to damage instead of the run's own, e.g. a format 1 file,
# whose variable-length string attributes crashed and hung libhdf5 before loads ran in a child. A
# longer run: MPIQ_CHECKPOINT_FLIPS=2000 bash tests/e2e/checkpoint_flips.sh $PWD/build/bin/mpiq 1
source "$(dirname "$0")/lib.sh"
flips=${MPIQ_CHECKPOINT_FLIPS:-60}
file=${3:-}
[ -z "$file" ] || [[ $file = /* ]] || fail "give the checkpoint to damage by its absolute path: $file"
RANDOM=${MPIQ_CHECKPOINT_FLIP_SEED:-17}
# A hang is cut at this budget by mpiq itself; `timeout -s KILL` only catches mpiq failing to.
export MPIQ_CHECKPOINT_LOAD_TIMEOUT=5

# Names, dependencies, a sweep, a failure with its stderr kept as the result, a skipped dependant.
cat > f.tasks <<'EOF'
[% name=prep %] echo prepared
[% repeat=3 %] echo part $MPIQ_REPEAT_INDEX
[# prep #] echo "after prep: grüße ✓"
sh -c 'echo broken >&2; exit 3'
[# -1 #] echo never
EOF
expect_code 1 mpiq_run f.tasks > /dev/null 2>&1
[ -f f.mpiq/checkpoint.h5 ] || fail "the run wrote no checkpoint"
if [ -n "$file" ]; then
  cp "$file" f.mpiq/checkpoint.h5
  rm f.mpiq/journal  # of the run's own checkpoint
fi

# load DIR: what `mpiq status` and its task list print from the checkpoint (stdout), exit code last.
load() {
  set +e
  {
    timeout -s KILL 60 "$MPIQ" status "$1" --json && timeout -s KILL 60 "$MPIQ" status "$1" --tasks 1-5 --json
  } > "$1.out" 2> "$1.err"
  local code=$?
  set -e
  return $code
}

rm -rf d && cp -a f.mpiq d
load d || fail "the undamaged checkpoint does not load: $(cat d.err)"
mv d.out reference.out
size=$(stat -c %s f.mpiq/checkpoint.h5)

same=0 differs=0 refused=0 crashed=0 timed_out=0
for ((i = 0; i < flips; i++)); do
  offset=$(((RANDOM * 32768 + RANDOM) % size)) bit=$((RANDOM % 8))
  rm -rf d && cp -a f.mpiq d
  byte=$(od -An -tu1 -j "$offset" -N1 d/checkpoint.h5 | tr -d ' ')
  printf "$(printf '\\%03o' $((byte ^ (1 << bit))))" |
    dd of=d/checkpoint.h5 bs=1 seek="$offset" conv=notrunc status=none
  where="flip $i: bit $bit of byte $offset"
  if load d; then
    if cmp -s d.out reference.out; then
      same=$((same + 1))
    elif [ -n "$file" ]; then
      differs=$((differs + 1))  # formats 1-3: the string attributes carry no checksum of their own
    else
      fail "$where: loaded, but not the table that was saved: $(diff d.out reference.out | head -5)"
    fi
    continue
  else
    code=$?
  fi
  [ "$code" = 2 ] || fail "$where: exit $code (a signal, a crash or a hang), expected 0 or 2: $(tail -3 d.err)"
  grep -q "checkpoint.h5" d.err || fail "$where: the message does not name checkpoint.h5: $(cat d.err)"
  grep -q "use --fresh to start over" d.err || fail "$where: the message does not say how to start over: $(cat d.err)"
  if grep -q "the HDF5 library failed reading it" d.err; then
    crashed=$((crashed + 1))
  elif grep -q "did not end within" d.err; then
    timed_out=$((timed_out + 1))
  else
    refused=$((refused + 1))
  fi
done
echo "checkpoint_flips: $flips flips of $size bytes (seed ${MPIQ_CHECKPOINT_FLIP_SEED:-17}): $same loaded" \
  "the saved table, $differs loaded another (an older format's unchecked strings), $refused refused as damaged, $crashed crashed libhdf5 in the child," \
  "$timed_out hung libhdf5 past the budget; none took mpiq down"
