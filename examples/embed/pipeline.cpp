// A DAG of function tasks with a worker class whose pre_work is expensive (a lookup table built once per
// worker rank and kept across tasks), and hub hooks that print progress.
//
//   build/bin/embed-pipeline                  # one process
//   mpirun -np 3 build/bin/embed-pipeline     # rank 0 the hub, ranks 1-2 workers
//
// The graph: 8 "prime_count" tasks each count primes in a range; one "sum" task per pair adds two
// counts; a final "sum" adds those. Results travel as decimal text.

#include <chrono>
#include <iostream>
#include <mpiq/mpiq.hpp>
#include <string>
#include <vector>

namespace {

// Counts the primes in [from, to) with a sieve built once per worker object.
class PrimeCounter final : public mpiq::TaskWorker {
 public:
  void pre_work() override {
    // The expensive part, once per rank: a sieve up to kLimit.
    is_prime_.assign(kLimit, true);
    is_prime_[0] = is_prime_[1] = false;
    for (size_t i = 2; i * i < kLimit; ++i)
      if (is_prime_[i])
        for (size_t j = i * i; j < kLimit; j += i) is_prime_[j] = false;
  }
  std::string work(mpiq::TaskContext&, std::string_view payload) override {
    const std::string text(payload);
    const size_t comma = text.find(',');
    const size_t from = std::stoul(text.substr(0, comma)), to = std::stoul(text.substr(comma + 1));
    if (to > kLimit || from > to) throw std::invalid_argument("range " + text + " is outside the sieve");
    size_t count = 0;
    for (size_t i = from; i < to; ++i) count += is_prime_[i];
    return std::to_string(count);
  }

 private:
  static constexpr size_t kLimit = 8'000'000;
  std::vector<bool> is_prime_;
};

}  // namespace

int main(int argc, char** argv) {
  mpiq::Session session(argc, argv);
  session.register_kind<PrimeCounter>("prime_count");
  // A sum task gets the ids of the tasks it adds in its payload and their results... through the hub:
  // the hub fills the payload when it submits the sum, once both inputs are done (see on_end below).
  session.register_function("sum", [](mpiq::TaskContext&, std::string_view payload) {
    long total = 0;
    std::string text(payload);
    for (size_t at = 0; at < text.size();) {
      const size_t next = std::min(text.find(' ', at), text.size());
      total += std::stol(text.substr(at, next - at));
      at = next + 1;
    }
    return std::to_string(total);
  });
  if (!session.is_hub()) return mpiq::exit_status(session.run());

  constexpr int kParts = 8;
  constexpr long kSpan = 1'000'000;
  std::vector<mpiq::TaskId> counts;
  for (int i = 0; i < kParts; ++i) {
    mpiq::TaskOptions o;
    o.name = "count" + std::to_string(i);
    counts.push_back(
        session.submit("prime_count", std::to_string(i * kSpan) + "," + std::to_string((i + 1) * kSpan), o));
  }
  // Pairs are summed as soon as both counts are in (submitted from a hook, during the run); the final
  // sum waits for every pair by name.
  std::vector<std::string> results(kParts);
  int pairs_submitted = 0;
  const auto started = std::chrono::steady_clock::now();
  const auto ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
        .count();
  };
  session.on_send([&](const mpiq::TaskInfo& t) {
    std::cout << "[" << ms() << " ms] sent   " << t.kind << " " << t.id << " to rank " << t.worker_rank
              << "\n";
  });
  session.on_start([&](const mpiq::TaskInfo& t) {
    std::cout << "[" << ms() << " ms] start  " << t.kind << " " << t.id << " on rank " << t.worker_rank
              << "\n";
  });
  std::vector<std::string> pair_sums;
  session.on_end([&](const mpiq::Result& r) {
    std::cout << "[" << ms() << " ms] end    " << r.kind << " " << r.id
              << (r.from_checkpoint ? " (saved)" : "") << ": " << (r.ok() ? r.bytes : "FAILED: " + r.error)
              << "\n";
    if (!r.ok()) return;
    if (r.kind == "prime_count") {
      const int i = std::stoi(r.name.substr(5));
      results[static_cast<size_t>(i)] = r.bytes;
      const int j = i ^ 1;  // its partner
      if (!results[static_cast<size_t>(j)].empty()) {
        mpiq::TaskOptions o;
        o.name = "pair" + std::to_string(std::min(i, j) / 2);
        o.after = {counts[static_cast<size_t>(i)], counts[static_cast<size_t>(j)]};
        session.submit(
            "sum",
            results[static_cast<size_t>(std::min(i, j))] + " " + results[static_cast<size_t>(std::max(i, j))],
            o);
        ++pairs_submitted;
      }
    } else if (r.name.rfind("pair", 0) == 0) {
      pair_sums.push_back(r.bytes);
      if (pair_sums.size() == kParts / 2) {
        mpiq::TaskOptions o;
        o.name = "total";
        for (int p = 0; p < kParts / 2; ++p) o.after_names.push_back("pair" + std::to_string(p));
        std::string payload;
        for (const std::string& s : pair_sums) payload += (payload.empty() ? "" : " ") + s;
        session.submit("sum", payload, o);
      }
    } else if (r.name == "total") {
      std::cout << "primes below " << kParts * kSpan << ": " << r.bytes << "\n";
    }
  });
  return mpiq::exit_status(session.run());
}
