#!/usr/bin/env bash
# Lists, for each module of src/, the modules and libraries its files include, split into those its
# headers include (they must be PUBLIC in src/CMakeLists.txt) and those only its sources include
# (PRIVATE). Compare with the mpiq_module() lines: `bash scripts/check-module-deps.sh`.
set -euo pipefail
cd "$(dirname "$0")/../src"
libs() {  # file... -> the module or library each #include names, one a line
  { grep -ho '^#include [<"][^>"]*[>"]' "$@" 2>/dev/null || true; } | sed 's/^#include [<"]//; s/[>"]$//' |
    awk -F/ '
      $1 == "nlohmann" { print "nlohmann_json"; next }
      $1 == "hwloc.h" || $1 == "hwloc" { print "hwloc"; next }
      $1 ~ /^(hdf5|H5)/ { print "HDF5"; next }
      $1 == "mpi.h" { print "MPI"; next }
      $1 == "CLI" { print "CLI11"; next }
      $1 == "thread" || $1 == "mutex" || $1 == "condition_variable" || $1 == "pthread.h" { print "Threads"; next }
      NF > 1 && $1 != "sys" && $1 != "linux" && $1 != "bits" && $1 != "mpiq" { print $1 }'
}
for dir in */; do
  m=${dir%/}
  public=$(libs "$m"/*.hpp | { grep -vx "$m" || true; } | sort -u | tr '\n' ' ')
  all=$(libs "$m"/*.hpp "$m"/*.cpp | { grep -vx "$m" || true; } | sort -u)
  private=$(comm -23 <(echo "$all") <(echo "$public" | tr ' ' '\n' | sort -u) | grep . | tr '\n' ' ' || true)
  printf '%-7s PUBLIC: %-40s PRIVATE: %s\n' "$m" "$public" "$private"
done
