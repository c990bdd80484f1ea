// Benchmark 3's ceiling: the fastest a hub rank can hand out no-op tasks over MPI. Rank 0 keeps
// INFLIGHT task messages outstanding per worker (one task per message, a 16-byte payload); each worker
// answers every task with a 16-byte result at once. No scheduling, no bookkeeping: what is left is the
// cost of MPI messaging between the ranks, which no MPI task runner can beat.
//
//   mpirun -np 3 bench_mpi_ceiling [N=1000000] [INFLIGHT=16]
//
// Rank 0 prints `tasks=<n> seconds=<wall> tasks_per_s=<rate>`.

#include <mpi.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {
constexpr int kTaskTag = 1, kResultTag = 2, kStopTag = 3;
struct Payload {
  uint64_t task;
  uint64_t value;
};
}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const int inflight = argc > 2 ? std::atoi(argv[2]) : 16;
  if (size < 2) {
    std::fprintf(stderr, "bench_mpi_ceiling: needs at least 2 ranks\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }

  if (rank == 0) {
    const double start = MPI_Wtime();
    uint64_t sent = 0, done = 0;
    for (int w = 1; w < size; ++w)
      for (int i = 0; i < inflight && sent < n; ++i, ++sent) {
        Payload p{sent, 0};
        MPI_Send(&p, sizeof p, MPI_BYTE, w, kTaskTag, MPI_COMM_WORLD);
      }
    uint64_t checksum = 0;
    while (done < n) {
      Payload r;
      MPI_Status st;
      MPI_Recv(&r, sizeof r, MPI_BYTE, MPI_ANY_SOURCE, kResultTag, MPI_COMM_WORLD, &st);
      checksum += r.value;
      ++done;
      if (sent < n) {
        Payload p{sent++, 0};
        MPI_Send(&p, sizeof p, MPI_BYTE, st.MPI_SOURCE, kTaskTag, MPI_COMM_WORLD);
      }
    }
    const double s = MPI_Wtime() - start;
    for (int w = 1; w < size; ++w) MPI_Send(nullptr, 0, MPI_BYTE, w, kStopTag, MPI_COMM_WORLD);
    std::printf("tasks=%llu seconds=%.3f tasks_per_s=%.1f checksum=%llu\n", static_cast<unsigned long long>(n), s,
                static_cast<double>(n) / s, static_cast<unsigned long long>(checksum));
  } else {
    for (;;) {
      Payload p;
      MPI_Status st;
      MPI_Recv(&p, sizeof p, MPI_BYTE, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
      if (st.MPI_TAG == kStopTag) break;
      p.value = p.task & 1;  // the no-op task
      MPI_Send(&p, sizeof p, MPI_BYTE, 0, kResultTag, MPI_COMM_WORLD);
    }
  }
  MPI_Finalize();
  return 0;
}
