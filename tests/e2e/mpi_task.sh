# A task that is itself an MPI program (docs/design.md §2): under `mpirun -np N mpiq run`, a task runs
# `mpirun -np 2 ./hello` and gets a job of its own, of 2 ranks, instead of taking itself for a rank of
# mpiq's job (the launcher's OMPI_*/PMIX_* variables are not passed on; the user's MCA settings are).
source "$(dirname "$0")/lib.sh"
command -v mpicc > /dev/null || skip_unless_ci "mpicc not found (Open MPI's development files)"
cat > hello.c <<'C'
#include <mpi.h>
#include <stdio.h>
int main(int argc, char** argv) {
  int rank, size;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  printf("hello from rank %d of %d\n", rank, size);
  MPI_Finalize();
  return 0;
}
C
mpicc -o hello hello.c
cat > mpi.tasks <<TASKS
mpirun --allow-run-as-root --oversubscribe -np 2 $WORK/hello > $WORK/hello.out
env > $WORK/task.env
TASKS
expect_code 0 mpiq_run mpi.tasks > run.log 2>&1 || { cat run.log >&3; exit 1; }
[ "$(sort hello.out | tr '\n' ';')" = "hello from rank 0 of 2;hello from rank 1 of 2;" ] ||
  fail "the task's own MPI job: $(cat hello.out)"
! grep -E "^(OMPI_COMM_WORLD|PMIX_RANK|PMIX_SERVER|OMPI_MCA_orte_hnp_uri|OMPI_MCA_ess_base)" task.env ||
  fail "the launcher's variables reached the task"
grep -q "^OMPI_MCA_btl=self,vader,tcp$" task.env || fail "the user's MCA setting did not reach the task"
echo "ok: an MPI program as a task under $NP rank(s)"
