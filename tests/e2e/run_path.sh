#!/usr/bin/env bash
# The mpiq binary's run path names only absolute directories: an empty entry (or a relative one) makes
# the loader look for libhwloc, libmpi, ... in the current directory of whoever runs mpiq, so a
# library dropped in a shared working directory would run inside every rank. And mpiq started from
# a directory that holds a broken libhwloc.so.15 still runs.
source "$(dirname "$0")/lib.sh"

command -v readelf >/dev/null || skip_unless_ci "readelf (binutils) is not installed"
path=$(readelf -d "$MPIQ" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p')
IFS=: read -r -a entries <<<"$path"
[[ $path != :* && $path != *: && $path != *::* ]] || fail "the run path '$path' has an empty entry"
for e in "${entries[@]}"; do
  [[ $e == /* ]] || fail "the run path '$path' has a relative entry '$e'"
done

# A library of the same name as one mpiq needs, in the current directory, is not loaded.
echo "not a library" >libhwloc.so.15
echo true >tasks.txt
"$MPIQ" check tasks.txt >check.out 2>&1 || fail "mpiq check failed beside a fake libhwloc.so.15: $(cat check.out)"
echo "ok"
