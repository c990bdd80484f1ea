# Quick start line 1 runs examples/run.sh after the build: it must run every example, the embedding
# programs included, and exit 0. Runs a copy of examples/ against this build, so that the source tree
# is left as it was. Usage: examples_run.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
SRC=${1:?}; BUILD=${2:?}
WORK=$(mktemp -d /tmp/mpiq-examples-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/build"
cp -r "$SRC/examples" "$WORK/examples"
rm -rf "$WORK/examples/runs"
ln -s "$BUILD/bin" "$WORK/build/bin"
bash "$WORK/examples/run.sh" > "$WORK/out" 2>&1 || { tail -20 "$WORK/out"; echo "FAIL: examples/run.sh exited non-zero"; exit 1; }
for src in "$SRC"/examples/embed/*.cpp; do
  name=embed-$(basename "$src" .cpp)
  grep -q "^=== build/bin/$name$" "$WORK/out" || { echo "FAIL: examples/run.sh did not run $name"; exit 1; }
done
for f in "$SRC"/examples/*.tasks; do
  n=$(basename "$f" .tasks)
  [ -f "$WORK/examples/runs/$n.mpiq/checkpoint.h5" ] || { echo "FAIL: $f did not run"; exit 1; }
done
echo "ok: examples/run.sh ran every example"
