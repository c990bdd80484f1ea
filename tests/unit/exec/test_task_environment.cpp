// What a task inherits of its worker's environment (exec/task_environment.hpp, docs/design.md §2).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "exec/task_environment.hpp"

namespace mpiq::exec {
namespace {

TEST(TaskEnvironment, OpenMpisRankVariablesAreNotPassedOn) {
  // As Open MPI 4.1's mpirun sets them for a rank.
  for (const char* e :
       {"OMPI_COMM_WORLD_RANK=0", "OMPI_COMM_WORLD_SIZE=3", "OMPI_FILE_LOCATION=/tmp/ompi",
        "OMPI_MCA_orte_hnp_uri=1.0;tcp://127.0.0.1:1", "OMPI_MCA_ess=^singleton", "OMPI_MCA_ess_base_jobid=1",
        "OMPI_MCA_pmix=^s1", "OMPI_MCA_initial_wdir=/tmp", "OMPI_MCA_mpi_oversubscribe=0",
        "OMPI_MCA_shmem_RUNTIME_QUERY_hint=mmap", "PMIX_RANK=0", "PMIX_SERVER_URI4=x", "PMIX_NAMESPACE=1",
        "PRTE_LAUNCHED=1", "PMI_RANK=0", "PMI_FD=5", "OMPI_COMMAND=mpiq"})
    EXPECT_TRUE(is_launcher_variable(e)) << e;
}

TEST(TaskEnvironment, SlurmsStepVariablesGoButTheJobsStay) {
  for (const char* e :
       {"SLURM_STEP_ID=0", "SLURM_STEP_NUM_TASKS=4", "SLURM_STEPID=0", "SLURM_PROCID=2", "SLURM_LOCALID=1",
        "SLURM_NODEID=0", "SLURM_GTIDS=0,1", "SLURM_TASK_PID=77", "SLURM_CPU_BIND=quiet,mask_cpu:0x1",
        "SLURM_CPU_BIND_LIST=0x1", "SLURM_SRUN_COMM_PORT=1", "SLURM_LAUNCH_NODE_IPADDR=127.0.0.1"})
    EXPECT_TRUE(is_launcher_variable(e)) << e;
  for (const char* e : {"SLURM_JOB_ID=12", "SLURM_JOB_NODELIST=n1", "SLURM_CPUS_ON_NODE=8", "SLURM_NTASKS=4",
                        "SLURM_STEPPING=x"})
    EXPECT_FALSE(is_launcher_variable(e)) << e;
}

TEST(TaskEnvironment, TheUsersOwnSettingsStay) {
  for (const char* e :
       {"OMPI_MCA_btl=self,vader,tcp", "OMPI_MCA_btl_tcp_if_include=lo",
        "OMPI_MCA_hwloc_base_binding_policy=none", "OMPI_MCA_rmaps_base_oversubscribe=1", "PMIX_MCA_gds=hash",
        "PRTE_MCA_plm=rsh", "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1", "PATH=/usr/bin",
        "HOME=/root", "PMIXX=1", "MY_OMPI_X=1", "OMP_NUM_THREADS=4"})
    EXPECT_FALSE(is_launcher_variable(e)) << e;
}

TEST(TaskEnvironment, InheritedDropsTheLaunchersAndTheReplacedInOrder) {
  std::vector<std::string> entries = {"PATH=/bin", "OMPI_COMM_WORLD_RANK=1", "MPIQ_TASK_ID=9", "HOME=/h",
                                      "PMIX_RANK=1"};
  std::vector<char*> env;
  for (auto& e : entries) env.push_back(e.data());
  env.push_back(nullptr);
  const auto replaced = [](std::string_view e) { return e.substr(0, 5) == "MPIQ_"; };
  EXPECT_EQ(inherited_environment(env.data(), replaced), (std::vector<std::string>{"PATH=/bin", "HOME=/h"}));
  EXPECT_EQ(inherited_environment(env.data(), nullptr).size(), 3u);
}

}  // namespace
}  // namespace mpiq::exec
