#pragma once
/// Errors of the hwloc C API, and the checked wrappers that turn a failed call into one.

#include <hwloc.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "mpiq/error.hpp"

namespace mpiq::hw {

/// A call into hwloc failed. `what()` names the call and carries errno's text.
class HwlocError : public Error {
 public:
  using Error::Error;
};

/// Returns `rc` when it is >= 0; otherwise throws HwlocError naming `call` and errno (hwloc reports
/// failures as -1 with errno set).
inline int check_hwloc(int rc, const char* call) {
  if (rc < 0) {
    const int err = errno;
    throw HwlocError(std::string(call) + " failed: " + (err != 0 ? std::strerror(err) : "unknown error"));
  }
  return rc;
}

/// Returns `ptr` when it is not null; otherwise throws HwlocError naming `call` (for the allocating
/// calls, e.g. hwloc_bitmap_alloc, which report failure as NULL).
template <typename T>
T* check_hwloc_ptr(T* ptr, const char* call) {
  if (ptr == nullptr)
    throw HwlocError(std::string(call) + " failed: " + std::strerror(errno ? errno : ENOMEM));
  return ptr;
}

/// An owned hwloc bitmap (cpuset or nodeset), freed on destruction. Move-only.
class Bitmap {
 public:
  /// An empty bitmap.
  Bitmap() : bitmap_(check_hwloc_ptr(hwloc_bitmap_alloc(), "hwloc_bitmap_alloc")) {}
  /// A copy of `other` (which may be null: then an empty bitmap).
  explicit Bitmap(hwloc_const_bitmap_t other) : Bitmap() {
    if (other != nullptr) check_hwloc(hwloc_bitmap_copy(bitmap_, other), "hwloc_bitmap_copy");
  }
  /// Takes `other`'s bitmap; `other` may only be destroyed afterwards.
  Bitmap(Bitmap&& other) noexcept : bitmap_(other.bitmap_) { other.bitmap_ = nullptr; }
  /// Frees this bitmap and takes `other`'s.
  Bitmap& operator=(Bitmap&& other) noexcept {
    if (this != &other) {
      hwloc_bitmap_free(bitmap_);
      bitmap_ = other.bitmap_;
      other.bitmap_ = nullptr;
    }
    return *this;
  }
  Bitmap(const Bitmap&) = delete;
  Bitmap& operator=(const Bitmap&) = delete;
  /// Frees the bitmap.
  ~Bitmap() { hwloc_bitmap_free(bitmap_); }

  /// The handle, for hwloc calls; stays owned by this object.
  hwloc_bitmap_t get() const noexcept { return bitmap_; }

 private:
  hwloc_bitmap_t bitmap_;
};

}  // namespace mpiq::hw
