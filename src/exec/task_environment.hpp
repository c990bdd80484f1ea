#pragma once
/// The environment a task inherits from its worker (docs/design.md §2): the worker's own, less what
/// its MPI launcher put there for the worker rank itself. A task that is an MPI program (`mpirun -np 4
/// ./app`, `srun --overlap -n 4 ./app`) would otherwise take itself for a rank of the worker's job
/// (Open MPI's OMPI_COMM_WORLD_*, PMIx's server URIs, Slurm's step ids) and fail or hang.
///
/// Built once per worker (Worker's constructor), never per task: a pure function of the entries.

#include <string>
#include <string_view>
#include <vector>

namespace mpiq::exec {

/// True for an entry (`NAME=value`) that the launcher set for the worker's own rank, which a task must
/// not inherit: `OMPI_*`, `PMIX_*`, `PRTE_*`, `PMI_*`, and Slurm's step variables (`SLURM_STEP_*`,
/// `SLURM_PROCID`, `SLURM_LOCALID`, `SLURM_NODEID`, `SLURM_GTIDS`, `SLURM_TASK_PID`, `SLURM_CPU_BIND*`,
/// `SLURM_SRUN_COMM_*`, `SLURM_LAUNCH_NODE_IPADDR`, `SLURM_STEPID`). The user's own settings are kept:
/// MCA parameters (`OMPI_MCA_*`, `PMIX_MCA_*`, `PRTE_MCA_*`) other than those the launcher sets for
/// its ranks (`OMPI_MCA_orte_*`, `OMPI_MCA_ess*`, `OMPI_MCA_pmix*`, `OMPI_MCA_initial_wdir`, ...), and
/// `OMPI_ALLOW_RUN_AS_ROOT*`. The job's Slurm variables (`SLURM_JOB_*`, `SLURM_CPUS_ON_NODE`, ...) are
/// kept: an `srun` inside a task needs them.
bool is_launcher_variable(std::string_view entry);

/// The entries of `environ`-style `env` (null-terminated) that a task inherits: without the launcher's
/// variables and without those `replaced(entry)` says the worker sets per task.
std::vector<std::string> inherited_environment(char** env, bool (*replaced)(std::string_view entry));

}  // namespace mpiq::exec
