#!/usr/bin/env bash
# Configures and builds mpiq into build/ (Release): build/bin/mpiq and the test binaries. Warnings are
# errors under g++ (MPIQ_WERROR); set MPIQ_WERROR=OFF in the environment to build anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
[ -f build/CMakeCache.txt ] && generator=()  # keep whatever generator build/ was made with
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMPIQ_WERROR="${MPIQ_WERROR:-ON}" "${generator[@]}" > /dev/null
cmake --build build -j "$(nproc)"
