#!/usr/bin/env bash
# Runs the test suite under sanitizers, each in a build directory of its own (README: Finding defects):
#
#   scripts/sanitize.sh asan [CTEST ARGS]   build-asan/: AddressSanitizer + UndefinedBehaviorSanitizer
#                                           (g++, -fno-omit-frame-pointer), then ctest -L unit and -L e2e
#   scripts/sanitize.sh tsan [CTEST ARGS]   build-tsan/: ThreadSanitizer over the embedding Session's
#                                           threads (hub, worker, submission queue): the unit tests
#                                           embed.* and the e2e tests embed_* and guard
#   scripts/sanitize.sh [all]               both
#
# A sanitizer report fails the test it comes from: ASan and UBSan abort the process, LeakSanitizer and
# ThreadSanitizer make it exit non-zero. Reports from inside libraries (Open MPI, HDF5, hwloc) are
# suppressed in tests/sanitizers/*.supp, each with the reason; mpiq's own are fixed. MPIQ_WERROR is off:
# the sanitizers' instrumentation makes g++ warn where a plain build does not.
# Left out: e2e idle_cpu (it measures the CPU time of idle ranks, which the sanitizers' runtimes change)
# and the packaging tests embed.InstallAndFindPackage, embed.InstallAndPkgConfig and e2e.deb_package
# (their consumers are built without the sanitizers' runtime).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mode=${1:-all}
[ $# -gt 0 ] && shift
case $mode in asan | tsan | all) ;; *) echo "usage: scripts/sanitize.sh [asan|tsan|all] [CTEST ARGS]" >&2; exit 2 ;; esac

supp=$root/tests/sanitizers
# fast_unwind_on_malloc=0: the leaks Open MPI keeps from MPI_Init are suppressed by library name
# (tests/sanitizers/lsan.supp), and only the slow unwinder gets through Debian's libraries, built
# without frame pointers, to see it.
# intercept_tls_get_addr=0: g++ 12's LeakSanitizer misreads glibc 2.36's dynamic TLS (a "DTLS" range
# of 0xb34-0x400001c36) and its tracer dies on it at exit ("Tracer caught signal 11": `mpiq topology
# --json`, e2e.memory, e2e.gpus_hardware; google/sanitizers#1322); without the interception LSan still
# scans every thread's stack and static TLS.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0:fast_unwind_on_malloc=0:intercept_tls_get_addr=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
# hwloc's pci plugin leaks about 1 KB of libpciaccess's per topology load, and is dlclosed before
# LeakSanitizer reports, so its frames have no module name to suppress: leave it out (this machine's
# live topology has no GPU for it to find; the GPU tests read XML topologies).
export HWLOC_COMPONENTS=${HWLOC_COMPONENTS:--pci}
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export TSAN_OPTIONS="suppressions=$supp/tsan.supp:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"

# configure DIR FLAGS: a RelWithDebInfo build of the tree with FLAGS on every compile and link, with the
# shared libhdf5 (tests/sanitizers/lsan.supp names HDF5's own leaks by its library).
configure() {
  local dir=$1 flags=$2 generator=()
  command -v ninja >/dev/null && [ ! -f "$dir/CMakeCache.txt" ] && generator=(-G Ninja)
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPIQ_WERROR=OFF -DMPIQ_BUILD_BENCH=OFF \
    -DMPIQ_STATIC_HDF5=OFF -DMPIQ_E2E_TIMEOUT=900 \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
    -DCMAKE_SHARED_LINKER_FLAGS="$flags" > /dev/null
}

status=0
if [ "$mode" != tsan ]; then
  configure build-asan "-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  cmake --build build-asan -j "$(nproc)"
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -L 'unit|e2e' \
    -E 'e2e\.idle_cpu|embed\.Install|e2e\.deb_package' "$@" || status=1
fi
if [ "$mode" != asan ]; then
  configure build-tsan "-fsanitize=thread -fno-omit-frame-pointer"
  cmake --build build-tsan -j "$(nproc)" --target mpiq unit_embed embed-hello embed-pipeline embed-commands embed-count
  ctest --test-dir build-tsan --output-on-failure -j "$(nproc)" -R '^embed\.|^e2e\.(embed_|guard)' \
    -E 'embed\.Install' "$@" || status=1
fi
exit $status
