# Builds and runs the peer tools of ../shared/peers (GREASY, disBatch) for bench/run.sh, in a scratch
# directory outside the repository ($MPIQ_PEERS_DIR, default /tmp/mpiq-bench-peers), once: later runs
# reuse the build. Sourced; every function returns non-zero, with the reason in PEER_WHY, when the
# peer cannot be built or run here, so that the table reports it as missing instead of failing.
#
#   peer_greasy_build            -> $PEER_DIR/greasy/install/bin/greasybin
#   peer_greasy_run NP FILE      runs FILE with NP ranks (1 master + NP-1 workers), in FILE's directory
#   peer_disbatch_build          -> $PEER_DIR/disbatch (the unpacked source; Python, nothing to build)
#   peer_disbatch_run SLOTS FILE runs FILE with SLOTS tasks at a time on this machine
PEER_SRC=${MPIQ_SHARED_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared}/peers
PEER_DIR=${MPIQ_PEERS_DIR:-/tmp/mpiq-bench-peers}
PEER_WHY=""

peer_greasy_build() {
  local bin=$PEER_DIR/greasy/install/bin/greasybin
  [ -x "$bin" ] && return 0
  local tgz
  tgz=$(ls "$PEER_SRC"/greasy-*.tar.gz 2>/dev/null | head -1)
  [ -n "$tgz" ] || { PEER_WHY="no greasy-*.tar.gz in $PEER_SRC"; return 1; }
  local need=()
  for p in autoconf automake libtool; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { PEER_WHY="needs ${need[*]} (not root)"; return 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
      { PEER_WHY="cannot install ${need[*]}"; return 1; }
  fi
  rm -rf "$PEER_DIR/greasy" && mkdir -p "$PEER_DIR/greasy/src" && tar xzf "$tgz" -C "$PEER_DIR/greasy/src" || {
    PEER_WHY="cannot unpack $tgz"
    return 1
  }
  # As ../shared/peers/README.md says: g++ 12 needs <ctime> included for greasytimer.cpp.
  if ! (cd "$PEER_DIR/greasy/src" && aclocal && autoconf && automake --add-missing &&
    ./configure --prefix="$PEER_DIR/greasy/install" --enable-mpi-engine --disable-doc &&
    make -j 2 CXXFLAGS="-g -O2 -include ctime" && make install CXXFLAGS="-g -O2 -include ctime") \
    >"$PEER_DIR/greasy/build.log" 2>&1; then
    PEER_WHY="build failed (see $PEER_DIR/greasy/build.log)"
    return 1
  fi
  [ -x "$bin" ] || { PEER_WHY="built, but $bin is missing"; return 1; }
}

peer_greasy_run() {
  # SLURM_JOB_NUM_NODES: GREASY's summary reads it and crashes outside a Slurm job (README of peers).
  (cd "$(dirname "$2")" && SLURM_JOB_NUM_NODES=1 GREASY_LOGFILE=greasy.log \
    mpirun --allow-run-as-root --oversubscribe -np "$1" "$PEER_DIR/greasy/install/bin/greasybin" "$(basename "$2")")
}

peer_disbatch_build() {
  [ -f "$PEER_DIR/disbatch/disbatch/__main__.py" ] && return 0
  local tgz
  tgz=$(ls "$PEER_SRC"/disbatch-*.tar.gz 2>/dev/null | head -1)
  [ -n "$tgz" ] || { PEER_WHY="no disbatch-*.tar.gz in $PEER_SRC"; return 1; }
  rm -rf "$PEER_DIR/disbatch" && mkdir -p "$PEER_DIR/disbatch" && tar xzf "$tgz" -C "$PEER_DIR/disbatch" || {
    PEER_WHY="cannot unpack $tgz"
    return 1
  }
  /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' || { PEER_WHY="needs Python 3.9+"; return 1; }
}

peer_disbatch_run() {
  (cd "$(dirname "$2")" && PYTHONPATH="$PEER_DIR/disbatch" /usr/bin/python3 -m disbatch -s "localhost:$1" \
    --use-address=localhost:0 "$(basename "$2")")
}
