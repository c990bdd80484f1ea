#include "exec/task_environment.hpp"

namespace mpiq::exec {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

bool is_launcher_variable(std::string_view entry) {
  const std::string_view name = entry.substr(0, entry.find('='));
  if (starts_with(name, "OMPI_MCA_")) {
    // What Open MPI's mpirun sets for its ranks (4.1: orte_*, ess*, pmix, initial_wdir,
    // mpi_oversubscribe, shmem_RUNTIME_QUERY_hint; 5.x: prte_*): never the user's.
    static constexpr std::string_view kLauncher[] = {"OMPI_MCA_orte_",
                                                     "OMPI_MCA_ess",
                                                     "OMPI_MCA_pmix",
                                                     "OMPI_MCA_prte_",
                                                     "OMPI_MCA_initial_wdir",
                                                     "OMPI_MCA_mpi_oversubscribe",
                                                     "OMPI_MCA_shmem_RUNTIME_QUERY_hint"};
    for (std::string_view p : kLauncher)
      if (starts_with(name, p)) return true;
    return false;
  }
  if (starts_with(name, "PMIX_MCA_") || starts_with(name, "PRTE_MCA_") ||
      starts_with(name, "OMPI_ALLOW_RUN_AS_ROOT"))
    return false;
  static constexpr std::string_view kPrefixes[] = {"OMPI_",       "PMIX_",          "PRTE_",           "PMI_",
                                                   "SLURM_STEP_", "SLURM_CPU_BIND", "SLURM_SRUN_COMM_"};
  for (std::string_view p : kPrefixes)
    if (starts_with(name, p)) return true;
  static constexpr std::string_view kNames[] = {
      "SLURM_PROCID", "SLURM_LOCALID",           "SLURM_NODEID", "SLURM_GTIDS", "SLURM_TASK_PID",
      "SLURM_STEPID", "SLURM_LAUNCH_NODE_IPADDR"};
  for (std::string_view n : kNames)
    if (name == n) return true;
  return false;
}

std::vector<std::string> inherited_environment(char** env, bool (*replaced)(std::string_view entry)) {
  std::vector<std::string> out;
  for (char** e = env; e && *e; ++e)
    if (!is_launcher_variable(*e) && !(replaced && replaced(*e))) out.emplace_back(*e);
  return out;
}

}  // namespace mpiq::exec
