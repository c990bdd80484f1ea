# More helpers for the end-to-end tests, sourced after lib.sh: reading the checkpoint and
# status.json from disk, and waiting for a condition with a bound instead of a fixed sleep.

# ckpt_column RUN_DIR COLUMN: one line "ID VALUE" per task row of checkpoint.h5, states by name.
ckpt_column() {
  /usr/bin/python3 - "$1/checkpoint.h5" "$2" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    col = f["tasks/" + sys.argv[2]]
    names = h5py.check_enum_dtype(col.dtype)
    names = {v: k for k, v in names.items()} if names else None
    for i, v in zip(f["tasks/id"][:], col[:]):
        print(int(i), names[v] if names else v)
PY
}

# ckpt_value RUN_DIR COLUMN ID: COLUMN of task ID in checkpoint.h5.
ckpt_value() {
  ckpt_column "$1" "$2" | awk -v id="$3" '$1 == id { print $2 }'
}

# json_field FILE EXPR: a Python expression over the document `d` of the JSON file FILE.
json_field() {
  /usr/bin/python3 -c "import json,sys; d = json.load(open(sys.argv[1])); print($2)" "$1"
}

# wait_until SECONDS CMD...: runs CMD every 0.1 s until it succeeds; returns 1 after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

# lines FILE: how many lines FILE has (0 when it does not exist).
lines() {
  if [ -e "$1" ]; then wc -l < "$1"; else echo 0; fi
}
