#include "hw/cpu_list.hpp"

#include <algorithm>
#include <charconv>

#include "mpiq/error.hpp"

namespace mpiq::hw {

std::string cpu_list(const std::vector<int>& pus) {
  std::vector<int> sorted = pus;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string out;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(sorted[i]);
    if (j > i) out += '-' + std::to_string(sorted[j]);
    i = j + 1;
  }
  return out;
}

namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

bool parse_index(std::string_view s, int& value) {
  s = trim(s);
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && end == s.data() + s.size() && value >= 0;
}

}  // namespace

std::vector<int> parse_cpu_list(std::string_view text) {
  std::vector<int> pus;
  if (trim(text).empty()) return pus;
  const auto bad = [&](std::string_view why) {
    return InputError("invalid CPU list '" + std::string(text) + "': " + std::string(why));
  };
  // A bound on the expansion so that "0-2000000000" is an error, not an exhausted memory.
  constexpr int kMaxIndex = 1 << 20;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string_view item = text.substr(pos, comma - pos);
    const size_t dash = item.find('-');
    int first = 0;
    int last = 0;
    if (dash == std::string_view::npos) {
      if (!parse_index(item, first)) throw bad("'" + std::string(trim(item)) + "' is not a CPU index");
      last = first;
    } else if (!parse_index(item.substr(0, dash), first) || !parse_index(item.substr(dash + 1), last)) {
      throw bad("'" + std::string(trim(item)) + "' is not a range FIRST-LAST");
    } else if (last < first) {
      throw bad("range '" + std::string(trim(item)) + "' is decreasing");
    }
    if (last > kMaxIndex) throw bad("CPU index " + std::to_string(last) + " is too large");
    for (int pu = first; pu <= last; ++pu) pus.push_back(pu);
    pos = comma + 1;
  }
  std::sort(pus.begin(), pus.end());
  pus.erase(std::unique(pus.begin(), pus.end()), pus.end());
  return pus;
}

}  // namespace mpiq::hw
