#include <deque>
#include <mutex>

#include "mpi/transport.hpp"

namespace mpiq::transport {

struct LocalNetwork::Shared {
  struct Inbox {
    std::mutex mutex;
    std::deque<Message> messages;
  };
  explicit Shared(int n) : inboxes(static_cast<size_t>(n)) {}
  std::vector<Inbox> inboxes;
};

namespace {
class LocalEndpoint final : public Transport {
 public:
  LocalEndpoint(std::shared_ptr<LocalNetwork::Shared> shared, int rank)
      : shared_(std::move(shared)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return static_cast<int>(shared_->inboxes.size()); }
  void send(int dest, core::MessageKind kind, std::vector<char> bytes) override {
    auto& inbox = shared_->inboxes.at(static_cast<size_t>(dest));
    std::lock_guard lock(inbox.mutex);
    inbox.messages.push_back({rank_, kind, std::move(bytes)});
  }
  bool poll(Message& out) override {
    auto& inbox = shared_->inboxes[static_cast<size_t>(rank_)];
    std::lock_guard lock(inbox.mutex);
    if (inbox.messages.empty()) return false;
    out = std::move(inbox.messages.front());
    inbox.messages.pop_front();
    return true;
  }
  bool progress() override { return true; }

 private:
  std::shared_ptr<LocalNetwork::Shared> shared_;
  int rank_;
};
}  // namespace

LocalNetwork::LocalNetwork(int size) : shared_(std::make_shared<Shared>(size)) {}
LocalNetwork::~LocalNetwork() = default;

std::unique_ptr<Transport> LocalNetwork::endpoint(int rank) {
  return std::make_unique<LocalEndpoint>(shared_, rank);
}

}  // namespace mpiq::transport
