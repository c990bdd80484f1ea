#pragma once
/// The version of mpiq, as `mpiq --version` prints it and checkpoints record it.

namespace mpiq {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace mpiq
