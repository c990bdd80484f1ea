// MpiTransport and MpiSession between two real ranks: run by ctest as
//   mpirun --allow-run-as-root --oversubscribe -np 2 unit_mpi_two_ranks
// Every test runs on both ranks, in the same order; each ends at a barrier, so the two stay in step.
// Rank 1 prints only its failures (--gtest_brief); the exit code is the worse of the two ranks'.

#include <gtest/gtest.h>
#include <mpi.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mpi/mpi_transport.hpp"
#include "support/skip_rule.hpp"

namespace mpiq::transport {
namespace {

// The process's MPI session, made by main() before any test runs.
const MpiSession* session_for_tests = nullptr;

// Polls `net` until a message arrives or 20 s pass (a peer that never sends must not hang the test).
std::optional<Message> receive(Transport& net) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  Message m;
  while (std::chrono::steady_clock::now() < deadline) {
    if (net.poll(m)) return m;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return std::nullopt;
}

std::vector<char> pattern(size_t n, int seed) {
  std::vector<char> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<char>((i * 131 + static_cast<size_t>(seed)) & 0xff);
  return v;
}

// Completes every send of `net` (its buffers must stay alive until then), within 20 s.
bool flush(Transport& net) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!net.progress())
    if (std::chrono::steady_clock::now() > deadline) return false;
  return true;
}

class TwoRanks : public ::testing::Test {
 protected:
  void SetUp() override {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    int size = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    ASSERT_EQ(size, 2) << "run under mpirun -np 2";
  }
  void TearDown() override { MPI_Barrier(MPI_COMM_WORLD); }
  int rank_ = -1;
};

TEST_F(TwoRanks, MessagesArriveInOrderWithTheirSourceKindAndBytes) {
  MpiTransport net;
  EXPECT_EQ(net.rank(), rank_);
  EXPECT_EQ(net.size(), 2);
  // Sizes from empty to 4 MiB: past every eager limit, so the large ones take the rendezvous path.
  const std::vector<size_t> sizes{0, 1, 100, 70'000, size_t{4} << 20};
  if (rank_ == 1) {
    for (size_t i = 0; i < sizes.size(); ++i)
      net.send(0, i % 2 ? core::MessageKind::report : core::MessageKind::hello, pattern(sizes[i], int(i)));
    EXPECT_TRUE(flush(net));
    const auto reply = receive(net);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->source, 0);
    EXPECT_EQ(reply->kind, core::MessageKind::stop);
    EXPECT_EQ(std::string(reply->bytes.begin(), reply->bytes.end()), "got 5");
  } else {
    for (size_t i = 0; i < sizes.size(); ++i) {
      const auto m = receive(net);
      ASSERT_TRUE(m) << "message " << i << " never came";
      EXPECT_EQ(m->source, 1);
      EXPECT_EQ(m->kind, i % 2 ? core::MessageKind::report : core::MessageKind::hello) << i;
      EXPECT_EQ(m->bytes, pattern(sizes[i], int(i))) << "message " << i << " of " << sizes[i] << " bytes";
    }
    const std::string got = "got 5";
    net.send(1, core::MessageKind::stop, {got.begin(), got.end()});
    EXPECT_TRUE(flush(net));
  }
  Message extra;
  EXPECT_FALSE(net.poll(extra)) << "an unexpected message from rank " << extra.source;
}

TEST_F(TwoRanks, PollWithNothingSentReturnsAtOnce) {
  MpiTransport net;
  Message m;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) ASSERT_FALSE(net.poll(m));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_TRUE(net.progress());
}

// mpiq's traffic has a communicator of its own: an embedding program's message on MPI_COMM_WORLD,
// even with a tag that is one of mpiq's kinds, never reaches the transport.
TEST_F(TwoRanks, TrafficOnTheWorldCommunicatorNeverReachesTheTransport) {
  MpiTransport net;
  const int tag = static_cast<int>(core::MessageKind::report);
  int value = 0;
  if (rank_ == 1) {
    value = 42;
    MPI_Send(&value, 1, MPI_INT, 0, tag, MPI_COMM_WORLD);
    net.send(0, core::MessageKind::bye, {});
    EXPECT_TRUE(flush(net));
  } else {
    const auto m = receive(net);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->kind, core::MessageKind::bye) << "the world's message reached the transport";
    Message none;
    EXPECT_FALSE(net.poll(none));
    MPI_Recv(&value, 1, MPI_INT, 1, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    EXPECT_EQ(value, 42);
  }
}

TEST_F(TwoRanks, SessionNodeAllgatherGivesEveryLocalRanksValueInOrder) {
  const MpiSession& session = *session_for_tests;
  ASSERT_EQ(session.local_size(), 2) << "both ranks run on this machine";
  EXPECT_EQ(session.local_rank(), rank_);
  EXPECT_TRUE(session.hub_on_node());
  const std::string mine = rank_ == 0 ? "hub" : std::string(300, 'w');  // lengths differ
  const std::vector<std::string> all = session.node_allgather(mine);
  EXPECT_EQ(all, (std::vector<std::string>{"hub", std::string(300, 'w')}));
  EXPECT_EQ(session.node_allgather(""), (std::vector<std::string>{"", ""}));
}

TEST_F(TwoRanks, SessionBroadcastGivesEveryRankTheHubsValue) {
  const MpiSession& session = *session_for_tests;
  EXPECT_EQ(session.world_rank(), rank_);
  EXPECT_EQ(session.world_size(), 2);
  EXPECT_EQ(session.broadcast_from_hub(rank_ == 0 ? 3 : -1), 3);
}

TEST_F(TwoRanks, AFailedCallThrowsWithItsNameAndMpisMessage) {
  try {
    check_mpi(MPI_ERR_RANK, "MPI_Isend");
    FAIL() << "check_mpi accepted an error code";
  } catch (const MpiError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("MPI_Isend failed: ", 0), 0u) << what;
    EXPECT_GT(what.size(), std::string("MPI_Isend failed: ").size()) << "MPI's error string is missing";
  }
  EXPECT_NO_THROW(check_mpi(MPI_SUCCESS, "MPI_Test"));
}

}  // namespace
}  // namespace mpiq::transport

int main(int argc, char** argv) {
  mpiq::transport::MpiSession session(&argc, &argv);
  mpiq::transport::session_for_tests = &session;
  if (session.world_rank() != 0) GTEST_FLAG_SET(brief, true);  // read by InitGoogleTest
  testing::InitGoogleTest(&argc, argv);
  mpiq::test::install_skip_rule();
  int code = RUN_ALL_TESTS();
  int worst = code;
  MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return worst;
}
