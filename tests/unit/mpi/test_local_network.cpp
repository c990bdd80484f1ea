// The in-process transport of one-rank runs and tests: the same contract as MpiTransport (source,
// kind and bytes arrive; order between a pair of ranks is kept; nothing blocks), between threads.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mpi/mpi_transport.hpp"
#include "mpi/transport.hpp"

namespace mpiq::transport {
namespace {

std::vector<char> bytes(const std::string& s) {
  return {s.begin(), s.end()};
}
std::string text(const Message& m) {
  return {m.bytes.begin(), m.bytes.end()};
}

TEST(LocalNetwork, EndpointsKnowTheirRankAndTheSize) {
  LocalNetwork net(3);
  auto a = net.endpoint(0), c = net.endpoint(2);
  EXPECT_EQ(a->rank(), 0);
  EXPECT_EQ(c->rank(), 2);
  EXPECT_EQ(a->size(), 3);
  EXPECT_EQ(c->size(), 3);
}

TEST(LocalNetwork, AMessageArrivesWithItsSourceKindAndBytes) {
  LocalNetwork net(2);
  auto hub = net.endpoint(0), worker = net.endpoint(1);
  worker->send(0, core::MessageKind::report, bytes("done 7"));
  worker->send(0, core::MessageKind::bye, {});
  EXPECT_TRUE(worker->progress());
  Message m;
  ASSERT_TRUE(hub->poll(m));
  EXPECT_EQ(m.source, 1);
  EXPECT_EQ(m.kind, core::MessageKind::report);
  EXPECT_EQ(text(m), "done 7");
  ASSERT_TRUE(hub->poll(m));
  EXPECT_EQ(m.kind, core::MessageKind::bye);
  EXPECT_TRUE(m.bytes.empty());
  EXPECT_FALSE(hub->poll(m));
  EXPECT_FALSE(worker->poll(m)) << "a message went to its sender";
}

TEST(LocalNetwork, PollOnAnEmptyInboxReturnsAtOnce) {
  LocalNetwork net(1);
  auto only = net.endpoint(0);
  Message m;
  EXPECT_FALSE(only->poll(m));
  only->send(0, core::MessageKind::hello, bytes("self"));  // the one-rank run talks to itself
  ASSERT_TRUE(only->poll(m));
  EXPECT_EQ(m.source, 0);
  EXPECT_EQ(text(m), "self");
}

TEST(LocalNetwork, MessagesFromEachSenderKeepTheirOrderAcrossThreads) {
  constexpr int kSenders = 4, kEach = 20000;
  LocalNetwork net(kSenders + 1);
  auto hub = net.endpoint(0);
  std::vector<std::thread> senders;
  for (int r = 1; r <= kSenders; ++r)
    senders.emplace_back([&net, r] {
      auto end = net.endpoint(r);
      for (int i = 0; i < kEach; ++i) end->send(0, core::MessageKind::report, bytes(std::to_string(i)));
    });
  std::map<int, int> next;
  int received = 0;
  Message m;
  while (received < kSenders * kEach) {
    if (!hub->poll(m)) {
      std::this_thread::yield();
      continue;
    }
    ASSERT_EQ(text(m), std::to_string(next[m.source])) << "from rank " << m.source;
    ++next[m.source];
    ++received;
  }
  for (auto& t : senders) t.join();
  EXPECT_FALSE(hub->poll(m));
  for (int r = 1; r <= kSenders; ++r) EXPECT_EQ(next[r], kEach);
}

// What makes `mpiq run` initialise MPI: the variables launchers set, and nothing else.
TEST(LaunchedByMpi, TrueExactlyWhenALaunchersVariableIsSet) {
  const char* kVariables[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"};
  std::map<std::string, std::optional<std::string>> saved;
  for (const char* v : kVariables) {
    const char* value = getenv(v);
    saved[v] = value ? std::optional<std::string>(value) : std::nullopt;
    unsetenv(v);
  }
  EXPECT_FALSE(launched_by_mpi());
  for (const char* v : kVariables) {
    setenv(v, "1", 1);
    EXPECT_TRUE(launched_by_mpi()) << v;
    unsetenv(v);
  }
  for (auto& [name, value] : saved)
    if (value) setenv(name.c_str(), value->c_str(), 1);
}

}  // namespace
}  // namespace mpiq::transport
