# Installs the build into a prefix under the build directory, configures and builds a consumer project
# against it with find_package(mpiq) in a CXX-only project, runs it, and checks that no private header
# was installed.
# Usage: install_consumer.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=${1:?} src=${2:?}
prefix=$build/install-test/prefix consumer=$build/install-test/consumer
rm -rf "$build/install-test"
cmake --install "$build" --prefix "$prefix" > /dev/null
[ -f "$prefix/include/mpiq/mpiq.hpp" ] || { echo "FAIL: mpiq/mpiq.hpp not installed"; exit 1; }
if find "$prefix/include" -name '*.hpp' | grep -v '/mpiq/' | grep -q .; then
  echo "FAIL: headers outside include/mpiq installed"; exit 1
fi
# The public headers include only public headers and the standard library.
if grep -h '#include "' "$prefix"/include/mpiq/*.hpp | grep -v '"mpiq/' | grep -q .; then
  echo "FAIL: a public header includes a private one"; exit 1
fi
# What only mpiq's own build needs is not needed here: with HDF5, nlohmann_json and PkgConfig made
# unfindable, find_package(mpiq) still succeeds in the consumer's CXX-only project.
if ! cmake -S "$src/tests/unit/embed/consumer" -B "$consumer" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_DISABLE_FIND_PACKAGE_HDF5=ON -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON \
  -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON --no-warn-unused-cli > "$build/install-test/configure.log" 2>&1; then
  echo "FAIL: the CXX-only consumer did not configure:"; tail -20 "$build/install-test/configure.log"; exit 1
fi
cmake --build "$consumer" -j 2 > /dev/null
cd "$build/install-test"
out=$(env -u OMPI_COMM_WORLD_SIZE "$consumer/consumer")
[ "$out" = 55 ] || { echo "FAIL: the consumer printed '$out', expected 55"; exit 1; }
# A library the package records that is not on this machine is named by find_package.
sed -i 's|[^";]*/libhwloc\.so|/nonexistent/libhwloc.so|' "$prefix"/lib/cmake/mpiq/mpiqTargets.cmake
if cmake -S "$src/tests/unit/embed/consumer" -B "$build/install-test/missing" -DCMAKE_PREFIX_PATH="$prefix" \
  > "$build/install-test/missing.log" 2>&1; then
  echo "FAIL: find_package(mpiq) succeeded with its hwloc library missing"; exit 1
fi
grep -q "/nonexistent/libhwloc.so, which is not on this" "$build/install-test/missing.log" ||
  { echo "FAIL: the missing hwloc library was not named:"; tail -20 "$build/install-test/missing.log"; exit 1; }
echo "ok: installed, found with find_package(mpiq), built and ran a consumer"
