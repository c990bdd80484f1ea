#include "support/skip_rule.hpp"

#include <cstdlib>
#include <optional>
#include <string>

namespace mpiq::test {

bool under_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

namespace {

// Remembers the first skip of a test that the hardware exception does not cover, and fails the test
// at its end. Failing from OnTestEnd is allowed (GoogleTest forbids it only in OnTestPartResult) and
// still counts for this test: the current test is reset only after OnTestEnd.
class FailSkipsUnderCi final : public testing::EmptyTestEventListener {
 public:
  void OnTestStart(const testing::TestInfo&) override { skip_.reset(); }
  void OnTestPartResult(const testing::TestPartResult& result) override {
    if (result.skipped() && !skip_ &&
        std::string_view(result.message()).find(kHardwareAbsent) == std::string_view::npos)
      skip_ = result.message();
  }
  void OnTestEnd(const testing::TestInfo&) override {
    if (skip_)
      ADD_FAILURE() << "CI=true: this test may not skip, because CI is supposed to have what it needs; "
                       "the skip said: "
                    << *skip_;
    skip_.reset();
  }

 private:
  std::optional<std::string> skip_;
};

}  // namespace

void install_skip_rule() {
  if (!under_ci()) return;
  testing::UnitTest::GetInstance()->listeners().Append(new FailSkipsUnderCi);
}

}  // namespace mpiq::test
