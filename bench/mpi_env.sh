# Sourced by bench/run.sh, bench/output.sh and bench/rank_cpu.sh: how every benchmark runs its MPI
# programs, so that their figures compare. Open MPI as root, no fabric probing (seconds per launch),
# mpirun's own channel on loopback, oversubscription allowed and no binding by mpirun (mpiq binds).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# One node: shared memory alone for every MPI program here (mpiq, the MPI ceiling, mpi4py), which is what
# mpiq picks by itself on one node when OMPI_MCA_btl is unset; with the tests' `self,vader,tcp` every
# rank also polled its TCP sockets (bench-embed 2,000,000 tasks: 1.43-2.14 M/s against 2.11-2.20 M/s).
# And the ob1 messaging layer, also what mpiq picks on one node (OMPI_MCA_pml and OMPI_MCA_mtl unset):
# the others load the network libraries, and Debian's PSM one sleeps ~200 ms in every rank's start,
# which the MPI hello of section 0 would otherwise pay and mpiq not.
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1 OMPI_MCA_oob_tcp_if_include=lo
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
