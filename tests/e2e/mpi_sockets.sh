# On one node the ranks talk through shared memory only: with no transport chosen (OMPI_MCA_btl unset),
# no mpiq rank listens on a TCP port (Open MPI's TCP transport would listen on every interface); with no
# messaging layer chosen (OMPI_MCA_pml and OMPI_MCA_mtl unset) the ranks take ob1 and load none of the
# network layers (mtl: Debian's PSM one sleeps ~200 ms in its start); the tasks inherit neither choice
# (docs/design.md §1). The same for the hwloc plugins the mpiq command skips at its start
# (HWLOC_PLUGINS_BLACKLIST, hw/topology.hpp): set for mpiq's processes only.
source "$(dirname "$0")/lib.sh"
unset OMPI_MCA_btl OMPI_MCA_btl_tcp_if_include OMPI_MCA_pml OMPI_MCA_mtl HWLOC_PLUGINS_BLACKLIST
printf 'env > %s/env.1; sleep 3\nenv > %s/env.2; sleep 3\n' "$WORK" "$WORK" > s.tasks
listening() {  # listening PID: the TCP ports PID listens on (IPv4 and IPv6)
  local inodes
  inodes=$(ls -l /proc/"$1"/fd 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]/\1/p' | sort -u)
  [ -n "$inodes" ] || return 0
  awk -v want="$(echo $inodes)" 'BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) ok[w[i]] = 1 }
    $4 == "0A" && ($10 in ok) { print $2 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
mpiq_start "$WORK/s.tasks" > run.log 2>&1
pid=$!
for _ in $(seq 1 100); do [ -e env.1 ] && [ -e env.2 ] && break; sleep 0.1; done
[ -e env.1 ] && [ -e env.2 ] || fail "the tasks did not start: $(cat run.log)"
ranks=$(pgrep -f "^$MPIQ run $WORK/s.tasks" || true)
[ -n "$ranks" ] || fail "no mpiq rank found"
for r in $ranks; do
  ports=$(listening "$r")
  [ -z "$ports" ] || fail "mpiq rank $r listens on TCP ($ports) on a one-node run"
done
wait $pid || fail "the run failed: $(cat run.log)"
! grep -q '^OMPI_MCA_btl=' env.1 env.2 || fail "a task inherited mpiq's choice of transport: $(grep -h OMPI_MCA_btl env.1 env.2)"
! grep -q '^OMPI_MCA_pml=' env.1 env.2 || fail "a task inherited mpiq's choice of pml: $(grep -h OMPI_MCA_pml env.1 env.2)"
! grep -q '^HWLOC_PLUGINS_BLACKLIST=' env.1 env.2 ||
  fail "a task inherited the hwloc plugins mpiq skips: $(grep -h HWLOC_PLUGINS_BLACKLIST env.1 env.2)"
# Open MPI's own account of what it loaded (its verbose output, which mpiq leaves alone): the ob1 layer
# alone, no network layer (mtl) registered.
printf 'true\n' > one.tasks
OMPI_MCA_pml_base_verbose=10 OMPI_MCA_mtl_base_verbose=10 mpiq_run "$WORK/one.tasks" > verbose.log 2>&1 ||
  fail "the verbose run failed: $(tail -5 verbose.log)"
grep -q 'select: component ob1 selected' verbose.log || fail "no rank selected ob1: $(grep -m5 'pml\|mtl' verbose.log)"
! grep -q 'registering framework mtl components' verbose.log ||
  fail "a one-node rank loaded Open MPI's network layers: $(grep -m5 'mtl' verbose.log)"
# What the user chose is theirs, and the tasks inherit it.
OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_pml=ob1 HWLOC_PLUGINS_BLACKLIST=hwloc_opencl \
  mpiq_run "$WORK/s.tasks" --fresh > run2.log 2>&1 || fail "the run with the user's transport failed: $(cat run2.log)"
grep -q '^OMPI_MCA_btl=self,vader,tcp$' env.1 || fail "a task did not inherit the user's OMPI_MCA_btl"
grep -q '^OMPI_MCA_pml=ob1$' env.1 || fail "a task did not inherit the user's OMPI_MCA_pml"
grep -q '^HWLOC_PLUGINS_BLACKLIST=hwloc_opencl$' env.1 || fail "a task did not inherit the user's HWLOC_PLUGINS_BLACKLIST"
echo "ok: no TCP listener and no network layer in a one-node run of $NP ranks, no variable of mpiq's start in the tasks; the user's choices kept"
