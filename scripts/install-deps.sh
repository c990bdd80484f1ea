#!/usr/bin/env bash
# Installs everything mpiq needs to build, test and benchmark, from Debian's archive only.
# Idempotent: packages already present are left alone and apt-get is skipped entirely.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libopenmpi-dev openmpi-bin          # MPI transport and launcher
  libhwloc-dev hwloc                  # topology, binding, GPU discovery
  libhdf5-dev hdf5-tools              # checkpoint (h5dump is used by the tests)
  libcli11-dev                        # command line
  nlohmann-json3-dev                  # status.json and --json output
  libgtest-dev libbenchmark-dev       # tests and micro-benchmarks
  slurm-wlm slurm-client munge        # the local Slurm the Slurm tests start
  libpmix-dev                         # Slurm's mpi/pmix plugin dlopens libpmix.so (srun --mpi=pmix)
  python3-h5py                        # README example and checkpoint tests read with h5py
  util-linux procps                   # flock, setsid, ps
  strace                              # e2e idle_cpu: counts the ranks' sched_yield calls
  dpkg-dev file binutils              # cpack -G DEB: dpkg-shlibdeps, dpkg-deb; readelf for the run path
  tmux                                # e2e: mpiq status --watch on a real terminal (send-keys, capture-pane)
  chromium                            # e2e: mpiq report's page rendered by headless Chromium
  clang libclang-rt-14-dev            # tests/fuzz: libFuzzer and clang's sanitizer runtimes (only recommended by clang)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
