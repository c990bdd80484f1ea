/// libFuzzer target: the checkpoint loader (store/checkpoint.hpp), reading the input as checkpoint.h5.
/// A checkpoint it accepts must be a table that passes its own invariant check, with earlier attempts
/// that fit it.

#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "store/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mpiq::fuzz::InputFile file("checkpoint.h5");
  const std::string& path = file.write(mpiq::fuzz::bytes(data, size));
  mpiq::core::TaskTable table;
  mpiq::store::CheckpointMeta meta;
  if (!mpiq::fuzz::accepts("read_checkpoint", [&] { table = mpiq::store::read_checkpoint(path, &meta); }))
    return 0;
  const std::string problem = mpiq::store::find_table_problem(table);
  mpiq::fuzz::check(problem.empty(),
                    "read_checkpoint returned a table that breaks its invariants: " + problem);
  const std::string attempts = meta.earlier_attempts.find_problem(table.size());
  mpiq::fuzz::check(attempts.empty(),
                    "read_checkpoint returned earlier attempts that do not fit: " + attempts);
  return 0;
}
