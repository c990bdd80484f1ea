#!/usr/bin/env bash
# Configures and builds mpiq into build/ (Release): build/bin/mpiq and the test binaries. Warnings are
# errors under g++ (MPIQ_WERROR); set MPIQ_WERROR=OFF in the environment to build anyway.
#
# Then installs it (cmake --install: the mpiq command, its man page and bash completion, the embedding
# library and its CMake package) under MPIQ_PREFIX, by default /usr/local when run as root, so that
# `mpiq` is on PATH; MPIQ_PREFIX=none (or not root without MPIQ_PREFIX) skips the install.
set -euo pipefail
cd "$(dirname "$0")/.."
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
[ -f build/CMakeCache.txt ] && generator=()  # keep whatever generator build/ was made with
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMPIQ_WERROR="${MPIQ_WERROR:-ON}" "${generator[@]}" > /dev/null
cmake --build build -j "$(nproc)"
prefix=${MPIQ_PREFIX:-}
[ -z "$prefix" ] && [ "$(id -u)" = 0 ] && prefix=/usr/local
if [ -n "$prefix" ] && [ "$prefix" != none ]; then
  cmake --install build --prefix "$prefix" > /dev/null
  echo "mpiq: installed $prefix/bin/mpiq (man mpiq; bash completion under $prefix/share/bash-completion)"
else
  echo "mpiq: built $PWD/build/bin/mpiq (not installed: run as root, or set MPIQ_PREFIX=DIR)"
fi
