// The MPI job: one process per rank over MpiTransport; rank 0 is the hub, the others workers.

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <iostream>

#include "hw/binding.hpp"
#include "hw/cpu_list.hpp"
#include "launch/job.hpp"
#include "mpi/mpi_transport.hpp"

namespace mpiq::launch {

namespace {

class MpiJob final : public Job {
 public:
  explicit MpiJob(std::unique_ptr<transport::MpiSession> mpi) : mpi_(std::move(mpi)) {}

  int rank() const noexcept override { return mpi_->world_rank(); }
  int size() const noexcept override { return mpi_->world_size(); }

  NodePlace node_place() override {
    // Every rank of the node says how the launcher bound it (one collective, before any loop starts).
    const auto bindings = mpi_->node_allgather(hw::cpu_list(hw::this_thread_binding()));
    // The hub has no share of its node: the workers on its node split it among themselves.
    const int skip = mpi_->hub_on_node() ? 1 : 0;
    NodePlace p;
    p.index = mpi_->local_rank() - skip;
    p.count = mpi_->local_size() - skip;
    for (size_t i = static_cast<size_t>(skip); i < bindings.size(); ++i)
      p.bindings.push_back(hw::parse_cpu_list(bindings[i]));
    return p;
  }

  bool all_agree(bool ok) override { return mpi_->all_agree(ok); }
  std::vector<uint64_t> gather_to_hub(uint64_t value) override { return mpi_->gather_to_hub(value); }
  std::string broadcast(const std::string& value) override { return mpi_->broadcast_from_hub(value); }

  int run_loops(const std::function<int(transport::Transport&)>& hub,
                const std::function<void(transport::Transport&)>& worker) override {
    try {
      int code = 0;
      {
        transport::MpiTransport net;
        if (rank() == 0)
          code = hub(net);
        else
          worker(net);
      }
      return mpi_->broadcast_from_hub(code);
    } catch (const std::exception& e) {
      // One rank cannot leave a run alone: the others would wait for it forever.
      std::cerr << "mpiq: rank " << rank() << ": " << e.what() << "\n";
      abort(1);
    }
  }

  [[noreturn]] void abort(int code) override { mpi_->abort(code); }

 private:
  std::unique_ptr<transport::MpiSession> mpi_;
};

}  // namespace

std::unique_ptr<Job> make_job(int& argc, char**& argv) {
  if (!transport::launched_by_mpi()) return make_serial_job();
  // Open MPI starts each rank in a process group of its own, so a kill of mpirun (even -9) would leave
  // the ranks running on, unseen. A rank ends with its launcher instead: SIGTERM, the same graceful
  // stop as a forwarded signal.
  const pid_t launcher = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != launcher) raise(SIGTERM);  // the launcher died before the line above
  auto mpi = std::make_unique<transport::MpiSession>(&argc, &argv);
  // A launcher with one rank is the same as none; MPI stays initialised for the program's own use
  // until the job is destroyed.
  if (mpi->world_size() == 1) return make_serial_job(std::shared_ptr<transport::MpiSession>(std::move(mpi)));
  return std::make_unique<MpiJob>(std::move(mpi));
}

}  // namespace mpiq::launch
