#pragma once
/// Moves byte messages between ranks. Two implementations behind one small interface (the Caliper
/// pattern): MpiTransport over MPI point-to-point, and LocalNetwork's endpoints between threads of one
/// process (one-rank runs and tests). Neither blocks: the event loops poll and sleep.

#include <memory>
#include <vector>

#include "core/messages.hpp"

namespace mpiq::transport {

struct Message {
  int source = -1;
  core::MessageKind kind = core::MessageKind::hello;
  std::vector<char> bytes;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Queues `bytes` for `dest`; returns at once. Messages between one pair of ranks arrive in the
  /// order they were sent (MPI's non-overtaking rule; the local network keeps it too).
  virtual void send(int dest, core::MessageKind kind, std::vector<char> bytes) = 0;
  /// The next message that has arrived, if any; never blocks.
  virtual bool poll(Message& out) = 0;
  /// Completes sends; true when nothing is left in flight.
  virtual bool progress() = 0;
};

/// Endpoints connected in one process, for the one-rank run (hub and worker as threads) and tests.
class LocalNetwork {
 public:
  explicit LocalNetwork(int size);
  ~LocalNetwork();
  LocalNetwork(const LocalNetwork&) = delete;
  LocalNetwork& operator=(const LocalNetwork&) = delete;
  /// The endpoint of `rank`; the network must outlive it.
  std::unique_ptr<Transport> endpoint(int rank);

  struct Shared;  ///< the inboxes, shared by the network and its endpoints

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace mpiq::transport
