# Installs the build into a prefix under the build directory and builds the consumer program with
# nothing but `c++ $(pkg-config --cflags --libs mpiq)` against it (PKG_CONFIG_PATH), then runs it.
# Usage: pkgconfig_consumer.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=${1:?} src=${2:?}
work=$build/pkgconfig-test prefix=$build/pkgconfig-test/prefix
rm -rf "$work"
cmake --install "$build" --prefix "$prefix" > /dev/null
pcdir=$(dirname "$(find "$prefix" -name mpiq.pc)")
[ -f "$pcdir/mpiq.pc" ] || { echo "FAIL: no mpiq.pc installed under $prefix"; exit 1; }
export PKG_CONFIG_PATH=$pcdir
version=$(sed -n 's/.*kVersion = "\(.*\)";/\1/p' "$src/include/mpiq/version.hpp")
[ "$(pkg-config --modversion mpiq)" = "$version" ] ||
  { echo "FAIL: pkg-config --modversion mpiq is '$(pkg-config --modversion mpiq)', mpiq is $version"; exit 1; }
# The flags name the temporary prefix, wherever the file was installed.
[[ $(pkg-config --cflags mpiq) == *"-I$prefix/"* || $(pkg-config --cflags mpiq) == *"-I$pcdir/"* ]] ||
  { echo "FAIL: pkg-config --cflags mpiq does not point into $prefix: $(pkg-config --cflags mpiq)"; exit 1; }
cd "$work"
# shellcheck disable=SC2046  # the flags are words
c++ -O1 -o consumer "$src/tests/unit/embed/consumer/main.cpp" $(pkg-config --cflags --libs mpiq) ||
  { echo "FAIL: c++ \$(pkg-config --cflags --libs mpiq) did not build the consumer"; exit 1; }
out=$(env -u OMPI_COMM_WORLD_SIZE ./consumer)
[ "$out" = 55 ] || { echo "FAIL: the consumer printed '$out', expected 55"; exit 1; }
echo "ok: built with pkg-config --cflags --libs mpiq ($(pkg-config --libs mpiq | wc -w) words) and ran"
