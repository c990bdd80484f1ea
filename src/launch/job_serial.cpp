// The single-process job: the hub on the calling thread, one worker on a second thread, over the
// in-process network (mpi/local_transport.cpp). Same loops and messages as over MPI.

#include <cstdlib>
#include <thread>

#include "core/messages.hpp"
#include "launch/job.hpp"

namespace mpiq::launch {

namespace {

class SerialJob final : public Job {
 public:
  explicit SerialJob(std::shared_ptr<void> keep_alive) : keep_alive_(std::move(keep_alive)) {}
  int rank() const noexcept override { return 0; }
  int size() const noexcept override { return 1; }
  NodePlace node_place() override { return {}; }  // the only worker: all of what this process may use
  bool all_agree(bool ok) override { return ok; }
  std::vector<uint64_t> gather_to_hub(uint64_t value) override { return {value}; }
  std::string broadcast(const std::string& value) override { return value; }

  int run_loops(const std::function<int(transport::Transport&)>& hub,
                const std::function<void(transport::Transport&)>& worker) override {
    transport::LocalNetwork network(2);
    auto hub_end = network.endpoint(0);
    auto worker_end = network.endpoint(1);
    std::thread worker_thread([&] { worker(*worker_end); });
    int code = 2;
    try {
      code = hub(*hub_end);
    } catch (...) {
      // The worker leaves only when told: tell it, so that its thread can be joined (a joinable thread
      // destroyed would call std::terminate).
      hub_end->send(1, core::MessageKind::stop, core::encode(core::Stop{true}));
      worker_thread.join();
      throw;
    }
    worker_thread.join();
    return code;
  }

  [[noreturn]] void abort(int code) override { std::exit(code); }

 private:
  std::shared_ptr<void> keep_alive_;
};

}  // namespace

std::unique_ptr<Job> make_serial_job(std::shared_ptr<void> keep_alive) {
  return std::make_unique<SerialJob>(std::move(keep_alive));
}

}  // namespace mpiq::launch
