// The lexical pieces of the task file language (core/task_syntax.hpp), one line at a time.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/task_syntax.hpp"
#include "mpiq/error.hpp"

namespace mpiq::core {
namespace {

using namespace syntax;

const std::string kPath = "s.tasks";
const LineRef kLine7{kPath, 7};

// --- Durations ---

TEST(Duration, AcceptsSecondsAndUnitsInOrder) {
  EXPECT_EQ(parse_duration("0"), 0u);
  EXPECT_EQ(parse_duration("90"), 90u);
  EXPECT_EQ(parse_duration("90s"), 90u);
  EXPECT_EQ(parse_duration("30m"), 1800u);
  EXPECT_EQ(parse_duration("2h"), 7200u);
  EXPECT_EQ(parse_duration("1h30m"), 5400u);
  EXPECT_EQ(parse_duration("1h30m15s"), 5415u);
  EXPECT_EQ(parse_duration("1h15s"), 3615u);
  EXPECT_EQ(parse_duration("90m"), 5400u);
  EXPECT_EQ(parse_duration("4294967295"), 4294967295u);
}

TEST(Duration, RejectsEmptyNegativeGarbageAndOverflow) {
  for (std::string_view bad : {"", "-5", "+5", "h", "1h30", "1m1h", "1h1h", "5x", "5 m", " 5", "5 ", "1.5h",
                               "4294967296", "1193047h", "71582789m", "99999999999999999999s"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(parse_duration(bad), std::nullopt);
  }
}

// --- Names, blanks, continuation lines ---

TEST(TaskSyntax, NamesStartWithALetterOrUnderscore) {
  for (std::string_view good : {"a", "_", "prep", "step_2", "v1.2-rc", "A-b.c_d"}) {
    SCOPED_TRACE(good);
    EXPECT_TRUE(is_valid_name(good));
  }
  for (std::string_view bad : {"", "1a", "-a", ".a", "a b", "a,b", "a/b", "a=b", "é"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(is_valid_name(bad));
  }
}

TEST(TaskSyntax, TrimBlanksDropsSpacesAndTabsAtBothEnds) {
  EXPECT_EQ(trim_blanks(" \t a b \t"), "a b");
  EXPECT_EQ(trim_blanks(" \t "), "");
  EXPECT_EQ(skip_blanks("  x", 0), 2u);
  EXPECT_EQ(skip_blanks("  ", 1), 2u);
}

TEST(TaskSyntax, OddNumberOfTrailingBackslashesContinuesTheLine) {
  EXPECT_TRUE(ends_with_continuation("echo a \\"));
  EXPECT_FALSE(ends_with_continuation("echo a \\\\"));
  EXPECT_TRUE(ends_with_continuation("\\\\\\"));
  EXPECT_FALSE(ends_with_continuation("echo a"));
  EXPECT_FALSE(ends_with_continuation(""));
}

TEST(TaskSyntax, LargeNumbersSaturate) {
  EXPECT_EQ(saturating_u32("0"), 0u);
  EXPECT_EQ(saturating_u32("4294967294"), 4294967294u);
  EXPECT_EQ(saturating_u32("4294967295"), kSaturated);
  EXPECT_EQ(saturating_u32("99999999999999999999"), kSaturated);
}

// --- Prefixes ---

TEST(TaskSyntax, PrefixIsABracketAMarkAndItsClosingMark) {
  const std::string_view line = "  [# 1, 2 #] [@ /tmp @]echo";
  const auto deps = prefix_at(kLine7, line, 2);
  ASSERT_TRUE(deps);
  EXPECT_EQ(deps->mark, '#');
  EXPECT_EQ(line.substr(deps->body, deps->close - deps->body), " 1, 2 ");
  const auto dir = prefix_at(kLine7, line, deps->close + 3);
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir->mark, '@');
  EXPECT_EQ(line.substr(dir->close + 2), "echo");
  EXPECT_FALSE(prefix_at(kLine7, line, 0));
  EXPECT_FALSE(prefix_at(kLine7, "[x] a", 0));
  EXPECT_FALSE(prefix_at(kLine7, "[", 0));
}

TEST(TaskSyntax, UnclosedPrefixIsAnErrorAtItsBracket) {
  try {
    prefix_at(kLine7, "a [% cores=2 ]", 2);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "s.tasks:7:3: unterminated '[%' (no closing '%]' on this line)");
  }
}

// --- Dependency tokens ---

TEST(TaskSyntax, DependencyTokensAreIdsRangesRelativeIdsOrNames) {
  std::vector<DepRef> refs;
  const std::string_view line = "3, 5 - 7,-1 ,prep,99999999999";
  for_each_dep(kLine7, line, 0, line.size(), [&](const DepRef& r) { refs.push_back(r); });
  ASSERT_EQ(refs.size(), 5u);
  EXPECT_EQ(refs[0].kind, RefKind::id);
  EXPECT_EQ(refs[0].a, 3u);
  EXPECT_EQ(refs[0].column, 1u);
  EXPECT_EQ(refs[1].kind, RefKind::range);
  EXPECT_EQ(refs[1].a, 5u);
  EXPECT_EQ(refs[1].b, 7u);
  EXPECT_EQ(refs[1].token, "5 - 7");
  EXPECT_EQ(refs[1].column, 4u);
  EXPECT_EQ(refs[2].kind, RefKind::relative);
  EXPECT_EQ(refs[2].a, 1u);
  EXPECT_EQ(refs[3].kind, RefKind::name);
  EXPECT_EQ(refs[3].token, "prep");
  EXPECT_EQ(refs[4].a, kSaturated);
}

TEST(TaskSyntax, BlankDependencyListIsNoDependency) {
  int calls = 0;
  for_each_dep(kLine7, "[#  #]", 2, 4, [&](const DepRef&) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(TaskSyntax, DependencyTokenErrorsComeAfterTheEarlierTokens) {
  std::vector<std::string_view> seen;
  try {
    for_each_dep(kLine7, "1, x y", 0, 6, [&](const DepRef& r) { seen.push_back(r.token); });
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(seen, (std::vector<std::string_view>{"1"}));
    EXPECT_EQ(e.column(), 4u);
    EXPECT_EQ(e.message(),
              "bad dependency 'x y': expected an id (3), a range (5-7), a relative id (-1) or a task name");
  }
}

// --- Settings ---

TEST(TaskSyntax, SettingsOverwriteTheDefaultsTheyName) {
  Settings s;
  s.gpus = 3;
  NameSetting name;
  const std::string_view line = " name=prep cores=4  timeout=1h30m priority=-2 ";
  EXPECT_EQ(parse_settings(kLine7, line, 0, line.size(), s, &name), 4u);
  EXPECT_EQ(name.value, "prep");
  EXPECT_EQ(name.column, 7u);
  EXPECT_EQ(s.cores, 4u);
  EXPECT_EQ(s.gpus, 3u);
  EXPECT_EQ(s.timeout_s, 5400u);
  EXPECT_EQ(s.retries, 0u);
  EXPECT_EQ(s.priority, -2);
}

TEST(TaskSyntax, SettingErrorsSayWhatAndWhere) {
  auto error = [](std::string_view line, NameSetting* name) {
    Settings s;
    try {
      parse_settings(kLine7, line, 0, line.size(), s, name);
    } catch (const InputError& e) {
      return std::to_string(e.column()) + ": " + e.message();
    }
    return std::string("no error");
  };
  NameSetting name;
  EXPECT_EQ(error("cores=0", &name), "7: cores=0 is out of range: expected 1 to 4294967295");
  EXPECT_EQ(error("gpus=x", &name), "6: bad value 'x' for gpus: expected an integer >= 0");
  EXPECT_EQ(error("name=a", nullptr), "1: 'name' cannot have a default: names are unique");
  EXPECT_EQ(error("retries=1 retries=2", &name), "11: setting 'retries' given twice");
  EXPECT_EQ(error("mem=4", &name),
            "5: bad memory size '4' for mem: expected a whole number with a unit K, M, G or T (powers of "
            "1024), e.g. mem=512M or mem=4G, at most 1024T");
  EXPECT_EQ(error("cores=2 mem=1.5G", &name).substr(0, 33), "13: bad memory size '1.5G' for me");
  EXPECT_EQ(error("mem=-1G", &name).substr(0, 25), "5: bad memory size '-1G' ");
  EXPECT_EQ(error("mem=4GB", &name).substr(0, 25), "5: bad memory size '4GB' ");
  EXPECT_EQ(error("mem=1025T", &name).substr(0, 27), "5: bad memory size '1025T' ");
  EXPECT_EQ(error("mem=1G mem=2G", &name), "8: setting 'mem' given twice");
}

TEST(TaskSyntax, MemorySizesArePowersOf1024InKib) {
  EXPECT_EQ(parse_memory("0"), 0u);
  EXPECT_EQ(parse_memory("100K"), 100u);
  EXPECT_EQ(parse_memory("512M"), 512u << 10);
  EXPECT_EQ(parse_memory("4G"), 4u << 20);
  EXPECT_EQ(parse_memory("4g"), 4u << 20);
  EXPECT_EQ(parse_memory("2T"), 2ull << 30);
  EXPECT_EQ(parse_memory("1024T"), kMaxMemoryKb);
  for (const char* bad :
       {"", "G", "4", "4 G", "+4G", "-4G", "4.5G", "4GB", "4GiB", "4X", "1025T", "99999999999999999999K"})
    EXPECT_EQ(parse_memory(bad), std::nullopt) << bad;
  EXPECT_EQ(format_memory(0), "0");
  EXPECT_EQ(format_memory(4u << 20), "4G");
  EXPECT_EQ(format_memory(1536u << 10), "1536M");
  EXPECT_EQ(format_memory(100), "100K");
  EXPECT_EQ(format_memory(24683584), "23.5G");
  for (const char* exact : {"4G", "1536M", "100K", "3T"})
    EXPECT_EQ(format_memory(*parse_memory(exact)), exact);
}

TEST(TaskSyntax, MemorySettingIsRead) {
  Settings s;
  NameSetting name;
  const std::string_view line = "mem=14G cores=2";
  EXPECT_EQ(parse_settings(kLine7, line, 0, line.size(), s, &name), 2u);
  EXPECT_EQ(s.mem_kb, 14ull << 20);
}

}  // namespace
}  // namespace mpiq::core
