/// libFuzzer target: the task file parsers (core/task_file.hpp, core/disbatch.hpp), in mpiq's format,
/// pylauncher's and disBatch's.
/// A file it accepts must be a table the checkpoint writer accepts (store::find_table_problem).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/disbatch.hpp"
#include "core/pylauncher.hpp"
#include "core/task_file.hpp"
#include "fuzz_support.hpp"
#include "store/checkpoint.hpp"

namespace {

void parse_and_check(std::string_view text, bool disbatch = false) {
  mpiq::core::TaskTable table;
  if (!mpiq::fuzz::accepts("parse_task_file", [&] {
        table = disbatch ? mpiq::core::parse_disbatch_file(text, "fuzz.db")
                         : mpiq::core::parse_task_file(text, "fuzz.tasks");
      }))
    return;
  const std::string problem = mpiq::store::find_table_problem(table);
  mpiq::fuzz::check(problem.empty(), "parse_task_file returned a table the checkpoint refuses: " + problem);
  mpiq::fuzz::check(table.size() > 0, "parse_task_file returned no rows without an error");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = mpiq::fuzz::bytes(data, size);
  if (!mpiq::fuzz::sweep_fits(text)) return 0;
  parse_and_check(text);
  parse_and_check(text, true);
  bool pylauncher = false;
  mpiq::fuzz::accepts("looks_like_pylauncher", [&] { pylauncher = mpiq::core::looks_like_pylauncher(text); });
  if (pylauncher) {
    std::string converted;
    if (mpiq::fuzz::accepts("pylauncher_as_task_file",
                            [&] { converted = mpiq::core::pylauncher_as_task_file(text, "fuzz.txt"); }))
      parse_and_check(converted);
  }
  return 0;
}
