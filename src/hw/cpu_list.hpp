#pragma once
/// CPU lists in hwloc's (and Linux's) list syntax: `0-3,8,10-11`.

#include <string>
#include <string_view>
#include <vector>

namespace mpiq::hw {

/// `pus` (any order, duplicates allowed) as a list of ascending ranges, e.g. {8,0,1,2,3} -> "0-3,8".
/// An empty list gives "".
std::string cpu_list(const std::vector<int>& pus);

/// The sorted, duplicate-free indices of a list such as "0-3,8" (whitespace around items allowed; ""
/// is the empty list). Throws InputError naming the text for anything else ("0-", "3-1", "a", "1,,2").
std::vector<int> parse_cpu_list(std::string_view text);

}  // namespace mpiq::hw
