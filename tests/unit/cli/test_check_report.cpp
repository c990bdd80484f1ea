// What `mpiq check` prints (cli/check_report.hpp), as lines and as JSON.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli/check_report.hpp"
#include "core/graph.hpp"
#include "core/task_file.hpp"

namespace mpiq::cli {
namespace {

// Three independent tasks, a barrier, then d, e after d, and f.
constexpr std::string_view kBarrierFile =
    "[% cores=4 %] a\n"  // 1
    "[% gpus=2 %] b\n"   // 2
    "c\n"                // 3
    "#MPIQ barrier\n"    // 4
    "d\n"                // 5
    "[# 5 #] e\n"        // 6
    "f\n";               // 7

core::TaskTable parse(std::string_view text) {
  return core::parse_task_file(text, "g.tasks");
}

TEST(CheckReport, IsOneItemPerLine) {
  const core::TaskTable t = parse(std::string(kBarrierFile) + "[% name=last %] g\n");
  EXPECT_EQ(check_report(t, core::summarize(t), false),
            "tasks 7\nedges 8\nroots 3\ndepth 3\nwidest_level 3\nmax_cores 4\nmax_gpus 2\nmax_mem_kb "
            "0\nbarriers 1\nsweeps 0\nnamed 1\n");
}

TEST(CheckReport, JsonIsOneObject) {
  const core::TaskTable t = parse(kBarrierFile);
  const std::string report = check_report(t, core::summarize(t), true);
  EXPECT_EQ(report,
            "{\"tasks\":6,\"edges\":7,\"roots\":3,\"depth\":3,\"widest_level\":3,\"max_cores\":4,\"max_"
            "gpus\":2,\"max_mem_kb\":0,"
            "\"barriers\":1,\"sweeps\":0,\"named\":0}\n");
  const nlohmann::json j = nlohmann::json::parse(report);
  EXPECT_EQ(j.at("tasks"), 6);
  EXPECT_EQ(j.at("barriers"), 1);
}

}  // namespace
}  // namespace mpiq::cli
