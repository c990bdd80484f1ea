// The journal's resync after a bad record (store/journal.cpp, next_valid_frame): how long replay
// takes to refuse a journal whose second record is damaged and followed by MiB of garbage, then one
// valid record, so that the search for a valid record crosses all of the garbage.
//
//   bench_journal_resync [MIB=12] [DIR=/tmp] [KIND=random,sizes]
//
// Prints one row per kind of garbage: random bytes, and words that are plausible record sizes at
// three byte offsets of four (the worst case for a search that checksums each candidate).
//
// Measured on the 2-core VM under load (wall seconds; issue 17): before, checksumming each candidate
// anew, random 12 MiB took 68 s (11.7 s of CPU) and sizes 4 MiB did not end within 120 s; with the
// prefix CRCs, random 12 MiB 0.27 s, sizes 12 MiB 1.8 s, random 48 MiB 1.4 s, sizes 48 MiB 7.0 s.

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "mpiq/error.hpp"
#include "store/journal.hpp"

namespace {
using Clock = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace mpiq;
  const size_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 12;
  const std::string base = argc > 2 ? argv[2] : "/tmp";
  const std::string kinds = argc > 3 ? argv[3] : "random,sizes";
  std::string dir = base + "/mpiq-bench-resync-XXXXXX";
  if (!::mkdtemp(dir.data())) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string path = dir + "/journal";
  {
    store::Journal journal = store::Journal::open(path, 1);
    for (core::TaskIndex row = 0; row < 3; ++row) {
      store::JournalRecord r;
      r.row = row;
      r.state = core::TaskState::done;
      journal.append(r);
    }
    journal.sync();
  }
  const std::string whole = read_file(path);
  constexpr size_t kHeader = 32, kRecord = 64;
  const std::string last = whole.substr(kHeader + 2 * kRecord, kRecord);
  std::mt19937_64 rng(17);
  std::printf("%-10s %6s %10s\n", "garbage", "MiB", "replay_s");
  for (const char* kind : {"random", "sizes"}) {
    if (kinds.find(kind) == std::string::npos) continue;
    std::string garbage(mib << 20, '\0');
    if (std::strcmp(kind, "random") == 0) {
      for (char& c : garbage) c = static_cast<char>(rng());
    } else {
      const char word[4] = {0, 0, 0x10, 0};  // 1 MiB at offset 0, 4 KiB at 1, 16 at 2
      for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = word[i % 4];
    }
    std::string bytes = whole.substr(0, kHeader + kRecord);
    std::string damaged = whole.substr(kHeader + kRecord, kRecord);
    damaged[20] ^= 1;
    bytes += damaged + garbage + last;
    write_file(path, bytes);
    const auto t = Clock::now();
    bool refused = false;
    try {
      store::replay_journal(path, 1, nullptr, nullptr);
    } catch (const InputError&) {
      refused = true;
    }
    const double s = std::chrono::duration<double>(Clock::now() - t).count();
    std::printf("%-10s %6zu %10.3f%s\n", kind, mib, s, refused ? "" : "  (not refused!)");
  }
  std::filesystem::remove_all(dir);
  return 0;
}
