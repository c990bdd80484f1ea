#include "mpi/mpi_transport.hpp"

#include <dlfcn.h>
#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>

namespace mpiq::transport {

namespace {
// Waits for `request` without burning a core: a blocking collective under Open MPI spins at ~100% CPU,
// and ranks may wait in one for seconds (the hub reading a large task file). Sleeps back off from
// 20 us to 1 ms, the event loops' cap.
void wait_quietly(MPI_Request& request, const char* call) {
  long ns = 20'000;
  for (;;) {
    int done = 0;
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), call);
    if (done) return;
    const timespec pause{0, ns};
    nanosleep(&pause, nullptr);
    ns = std::min(ns * 2, 1'000'000L);
  }
}
}  // namespace

void check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw MpiError(std::string(call) + " failed: " + std::string(text, static_cast<size_t>(len)));
}

namespace {
// Every rank of the job on one node (mpirun's OMPI_MCA_orte_num_nodes, else Slurm's step node count):
// Open MPI's shared memory carries every message, and the rest of what its MPI_Init sets up is for a
// network the job does not use. So, for what the user did not choose, this rank asks for its MPI_Init
// (docs/design.md §1):
// - shared memory alone (`OMPI_MCA_btl=self,vader`; OMPI_MCA_btl unset): Open MPI's TCP transport
//   would listen on every interface of the node for peers that never come;
// - the ob1 messaging layer (`OMPI_MCA_pml=ob1`; neither OMPI_MCA_pml nor OMPI_MCA_mtl set), which
//   carries shared memory: choosing among the others loads every network library they are built with,
//   and Debian's Open MPI loads PSM's through its `psm` component, whose start calibrates a clock by
//   sleeping. `mpirun -np 3` of an MPI hello here: 380-412 ms, 184-197 ms with ob1 named.
// What it set is removed again after MPI_Init (OneNodeTransport's destructor): the tasks must not
// inherit it (an MPI task over several nodes needs its network).
class OneNodeTransport {
 public:
  OneNodeTransport() {
    const char* nodes = std::getenv("OMPI_MCA_orte_num_nodes");
    if (!nodes) nodes = std::getenv("SLURM_STEP_NUM_NODES");
    if (!nodes || std::strcmp(nodes, "1") != 0) return;
    if (!std::getenv("OMPI_MCA_btl")) btl_ = ::setenv("OMPI_MCA_btl", "self,vader", 0) == 0;
    if (!std::getenv("OMPI_MCA_pml") && !std::getenv("OMPI_MCA_mtl"))
      pml_ = ::setenv("OMPI_MCA_pml", "ob1", 0) == 0;
  }
  ~OneNodeTransport() {
    if (btl_) ::unsetenv("OMPI_MCA_btl");
    if (pml_) ::unsetenv("OMPI_MCA_pml");
  }
  OneNodeTransport(const OneNodeTransport&) = delete;
  OneNodeTransport& operator=(const OneNodeTransport&) = delete;

 private:
  bool btl_ = false, pml_ = false;
};

// No yield when idle, once the ranks have met (MPI_Init and the communicators of the start). On a
// node with more ranks than cores (mpirun --oversubscribe; the hub beside its workers) Open MPI calls
// sched_yield in every progress call that finds nothing, and an mpiq loop polls without blocking and
// sleeps by itself: a worker woken by its task's end yielded its core to whatever else could run
// there before it started the next task. 20,000 `true`, np 3 on 2 cores: from one task's end to the
// next start, mean 77-90 us (90th percentile 200-450 us) with the yield, 16-21 us (5-6 us) without.
// The start keeps it: MPI_Init, MPI_Comm_split_type and MPI_Comm_dup wait for the other ranks in the
// progress loop, where the yield lets a rank that is still starting have the core. Open MPI's switch
// is its own (libopen-pal), looked up at run time: nothing under another MPI, and nothing where the
// user set mpi_yield_when_idle.
void stop_yielding_when_idle() {
  if (std::getenv("OMPI_MCA_mpi_yield_when_idle")) return;
  using Setter = bool (*)(bool);
  if (auto set = reinterpret_cast<Setter>(dlsym(RTLD_DEFAULT, "opal_progress_set_yield_when_idle")))
    set(false);
}
}  // namespace

MpiSession::MpiSession(int* argc, char*** argv) {
  int provided = 0;
  {
    const OneNodeTransport one_node;
    // FUNNELED: only the thread that initialised MPI calls it (the event loop).
    check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node_),
            "MPI_Comm_split_type");
  MPI_Comm_rank(node_, &local_rank_);
  MPI_Comm_size(node_, &local_size_);
  int lowest = rank_;
  MPI_Request r;
  check_mpi(MPI_Iallreduce(&rank_, &lowest, 1, MPI_INT, MPI_MIN, node_, &r), "MPI_Iallreduce");
  wait_quietly(r, "MPI_Iallreduce");
  hub_on_node_ = lowest == 0;
}

std::vector<std::string> MpiSession::node_allgather(const std::string& value) const {
  int len = static_cast<int>(value.size());
  std::vector<int> lens(static_cast<size_t>(local_size_)), displs(static_cast<size_t>(local_size_));
  // Non-blocking and waited for quietly, as every collective after MPI_Init: the ranks of a node meet
  // here when each calls run(), and an embedding program's hub may submit for seconds before it does
  // (a blocking MPI_Allgather spun its workers at 100% of a core, next to the hub's submissions).
  MPI_Request r;
  check_mpi(MPI_Iallgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, node_, &r), "MPI_Iallgather");
  wait_quietly(r, "MPI_Iallgather");
  int total = 0;
  for (size_t i = 0; i < lens.size(); ++i) {
    displs[i] = total;
    total += lens[i];
  }
  std::string all(static_cast<size_t>(total), '\0');
  check_mpi(MPI_Iallgatherv(value.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(), MPI_CHAR,
                            node_, &r),
            "MPI_Iallgatherv");
  wait_quietly(r, "MPI_Iallgatherv");
  std::vector<std::string> out;
  for (size_t i = 0; i < lens.size(); ++i)
    out.push_back(all.substr(static_cast<size_t>(displs[i]), static_cast<size_t>(lens[i])));
  return out;
}

int MpiSession::broadcast_from_hub(int value) const {
  MPI_Request r;
  check_mpi(MPI_Ibcast(&value, 1, MPI_INT, 0, MPI_COMM_WORLD, &r), "MPI_Ibcast");
  wait_quietly(r, "MPI_Ibcast");
  return value;
}

std::string MpiSession::broadcast_from_hub(const std::string& value) const {
  int len = static_cast<int>(value.size());
  len = broadcast_from_hub(len);
  std::string out = rank_ == 0 ? value : std::string(static_cast<size_t>(len), '\0');
  MPI_Request r;
  check_mpi(MPI_Ibcast(out.data(), len, MPI_CHAR, 0, MPI_COMM_WORLD, &r), "MPI_Ibcast");
  wait_quietly(r, "MPI_Ibcast");
  return out;
}

bool MpiSession::all_agree(bool ok) const {
  int mine = ok ? 1 : 0, all = 0;
  MPI_Request r;
  check_mpi(MPI_Iallreduce(&mine, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD, &r), "MPI_Iallreduce");
  wait_quietly(r, "MPI_Iallreduce");
  return all != 0;
}

std::vector<uint64_t> MpiSession::gather_to_hub(uint64_t value) const {
  std::vector<uint64_t> all(rank_ == 0 ? static_cast<size_t>(size_) : 0);
  MPI_Request r;
  check_mpi(MPI_Igather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, 0, MPI_COMM_WORLD, &r),
            "MPI_Igather");
  wait_quietly(r, "MPI_Igather");
  return all;
}

MpiSession::~MpiSession() {
  if (node_ != MPI_COMM_NULL) MPI_Comm_free(&node_);
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void MpiSession::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

MpiTransport::MpiTransport() {
  check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  stop_yielding_when_idle();  // after the blocking collectives of the start (MPI_Comm_dup above)
}

MpiTransport::~MpiTransport() {
  // Sends still pending at teardown are cancelled: the peer is gone or no longer listening.
  for (Pending& p : pending_) {
    MPI_Cancel(&p.request);
    MPI_Request_free(&p.request);
  }
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiTransport::send(int dest, core::MessageKind kind, std::vector<char> bytes) {
  pending_.push_back({MPI_REQUEST_NULL, std::move(bytes)});
  Pending& p = pending_.back();
  check_mpi(MPI_Isend(p.bytes.data(), static_cast<int>(p.bytes.size()), MPI_BYTE, dest,
                      static_cast<int>(kind), comm_, &p.request),
            "MPI_Isend");
}

bool MpiTransport::poll(Message& out) {
  progress();
  int flag = 0;
  MPI_Message msg;
  MPI_Status status;
  check_mpi(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &flag, &msg, &status), "MPI_Improbe");
  if (!flag) return false;
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  out.source = status.MPI_SOURCE;
  out.kind = static_cast<core::MessageKind>(status.MPI_TAG);
  out.bytes.resize(static_cast<size_t>(count));
  check_mpi(MPI_Mrecv(out.bytes.data(), count, MPI_BYTE, &msg, MPI_STATUS_IGNORE), "MPI_Mrecv");
  return true;
}

bool MpiTransport::progress() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    int done = 0;
    check_mpi(MPI_Test(&it->request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    it = done ? pending_.erase(it) : std::next(it);
  }
  return pending_.empty();
}

}  // namespace mpiq::transport
