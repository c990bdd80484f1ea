# The Debian package: `cpack -G DEB` from the build directory gives a .deb whose dependencies
# (dpkg-shlibdeps) name Open MPI, hwloc and HDF5 (libhdf5, or the szip library of the archive that
# MPIQ_STATIC_HDF5 links into mpiq), which holds the command, its man page and bash
# completion, the embedding library with its headers, CMake package and mpiq.pc, and whose mpiq,
# extracted with dpkg-deb -x, runs tasks, and whose library links a program through its mpiq.pc.
# Usage: deb_package.sh MPIQ_BINARY 1 BUILD_DIR
source "$(dirname "$0")/lib.sh"
build=${3:?usage: $0 MPIQ_BINARY 1 BUILD_DIR}
for tool in cpack dpkg-deb dpkg-shlibdeps file; do
  command -v "$tool" >/dev/null || skip_unless_ci "$tool is not installed (scripts/install-deps.sh)"
done
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$WORK/pkg" >cpack.log 2>&1 ||
  fail "cpack -G DEB failed: $(tail -5 cpack.log)"
debs=("$WORK"/pkg/*.deb)
if [ ${#debs[@]} != 1 ] || [ ! -f "${debs[0]}" ]; then fail "expected one .deb in $WORK/pkg, found: ${debs[*]}"; fi
deb=${debs[0]}

depends=$(dpkg-deb -f "$deb" Depends)
hdf5=libhdf5
readelf -d "$build/bin/mpiq" | grep -q 'NEEDED.*libhdf5' || hdf5=libsz  # HDF5 linked statically
for lib in libopenmpi libhwloc $hdf5; do
  [[ $depends == *"$lib"* ]] || fail "the package's Depends does not name $lib: '$depends'"
done

dpkg-deb -x "$deb" root
for f in bin/mpiq share/man/man1/mpiq.1 share/bash-completion/completions/mpiq include/mpiq/mpiq.hpp \
  lib/libmpiq_embed.a lib/libmpiq_core.a lib/cmake/mpiq/mpiqConfig.cmake lib/cmake/mpiq/mpiqTargets.cmake \
  lib/pkgconfig/mpiq.pc; do
  [ -s "root/usr/$f" ] || fail "the package holds no /usr/$f"
done

# Its mpiq, with no help from the environment: the run path finds Open MPI and HDF5 in their
# system directories.
MPIQ=$PWD/root/usr/bin/mpiq
version=$(env -u LD_LIBRARY_PATH "$MPIQ" --version)
[ "$version" = "mpiq $(dpkg-deb -f "$deb" Version)" ] ||
  fail "the packaged mpiq --version printed '$version', the package is $(dpkg-deb -f "$deb" Version)"
printf 'echo first > first.out\necho second > second.out\n' >tasks.txt
expect_code 0 env -u LD_LIBRARY_PATH "$MPIQ" run tasks.txt >run.log 2>&1
[ "$(cat first.out second.out)" = "$(printf 'first\nsecond')" ] || fail "the packaged mpiq did not run both tasks"
# Its embedding library, through its own mpiq.pc (the prefix is found from where the file lies).
# shellcheck disable=SC2046  # the flags are words
c++ -o consumer "$TESTS_DIR/../unit/embed/consumer/main.cpp" \
  $(PKG_CONFIG_PATH=$PWD/root/usr/lib/pkgconfig pkg-config --cflags --libs mpiq) ||
  fail "the packaged mpiq.pc did not build a program against the packaged library"
[ "$(env -u OMPI_COMM_WORLD_SIZE ./consumer)" = 55 ] || fail "the program built against the package did not print 55"
echo "ok: $(basename "$deb") depends on $depends; its mpiq ran 2 tasks"
