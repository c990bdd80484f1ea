#pragma once
/// The transport over MPI, and the process-wide MPI session.

#include <mpi.h>

#include <list>
#include <string>
#include <vector>

#include "mpi/transport.hpp"
#include "mpiq/error.hpp"

namespace mpiq::transport {

/// An MPI call failed; carries the call's name and MPI's error string.
class MpiError : public Error {
 public:
  using Error::Error;
};

/// Throws MpiError unless `rc` is MPI_SUCCESS.
void check_mpi(int rc, const char* call);

/// MPI_Init_thread / MPI_Finalize for the life of the object (only `mpiq run` makes one).
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int world_rank() const noexcept { return rank_; }
  int world_size() const noexcept { return size_; }
  /// Rank and size among the ranks on this node (MPI_COMM_TYPE_SHARED).
  int local_rank() const noexcept { return local_rank_; }
  int local_size() const noexcept { return local_size_; }
  /// True when world rank 0 (the hub) runs on this node.
  bool hub_on_node() const noexcept { return hub_on_node_; }
  /// Every node-local rank's `value`, indexed by local rank (a collective over the node).
  std::vector<std::string> node_allgather(const std::string& value) const;
  /// Rank 0's `value`, on every rank (a collective over all ranks; waits without spinning).
  int broadcast_from_hub(int value) const;
  std::string broadcast_from_hub(const std::string& value) const;
  /// True on every rank when `ok` is true on every rank (a collective; waits without spinning).
  bool all_agree(bool ok) const;
  /// Every rank's `value`, by world rank, on rank 0; empty on the others (a collective; waits without
  /// spinning).
  std::vector<uint64_t> gather_to_hub(uint64_t value) const;
  /// Ends the whole job at once (MPI_Abort).
  [[noreturn]] void abort(int code) const;

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  bool hub_on_node_ = true;
  MPI_Comm node_ = MPI_COMM_NULL;
};

/// True when this process was started by an MPI launcher (mpirun, srun) rather than by hand, so a
/// plain `mpiq run` needs no MPI at all.
bool launched_by_mpi();

class MpiTransport final : public Transport {
 public:
  /// Duplicates MPI_COMM_WORLD so mpiq's traffic never mixes with an embedding program's.
  MpiTransport();
  ~MpiTransport() override;
  MpiTransport(const MpiTransport&) = delete;
  MpiTransport& operator=(const MpiTransport&) = delete;
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void send(int dest, core::MessageKind kind, std::vector<char> bytes) override;
  bool poll(Message& out) override;
  bool progress() override;

 private:
  struct Pending {
    MPI_Request request;
    std::vector<char> bytes;  // must live until the send completes
  };
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  std::list<Pending> pending_;
};

}  // namespace mpiq::transport
