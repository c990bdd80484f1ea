#pragma once
/// Move-only owners of HDF5 ids (HighFive's model): each id is closed exactly once, by the matching
/// H5?close, when its owner goes away. Destructors never throw; a failed close there is logged.
/// Code that must know a close succeeded (the checkpoint's file, whose close writes its metadata)
/// calls `close()`, which throws.

#include <hdf5.h>

#include <utility>

#include "store/hdf5_error.hpp"

namespace mpiq::store {

namespace detail {
/// Writes "mpiq: CALL failed while releasing an HDF5 id: STACK" to stderr and clears the error stack.
void log_failed_close(const char* call) noexcept;
}  // namespace detail

/// Owner of one HDF5 id of the kind that `Close` releases (`CallName` names it in messages).
template <herr_t (*Close)(hid_t), const char* CallName>
class H5Handle {
 public:
  /// No id.
  H5Handle() noexcept = default;
  /// Takes ownership of `id`, which must be valid: wrap the creating call in check_h5.
  explicit H5Handle(hid_t id) noexcept : id_(id) {}
  H5Handle(H5Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  H5Handle& operator=(H5Handle&& other) noexcept {
    if (this != &other) {
      release();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  ~H5Handle() noexcept { release(); }

  /// The id, for passing to HDF5 calls; H5I_INVALID_HID when none is held.
  hid_t get() const noexcept { return id_; }
  /// True when an id is held.
  explicit operator bool() const noexcept { return id_ >= 0; }
  /// Closes the id now; throws Hdf5Error when HDF5 reports a failure.
  void close() {
    if (id_ >= 0) check_h5(Close(std::exchange(id_, H5I_INVALID_HID)), CallName);
  }

 private:
  void release() noexcept {
    if (id_ >= 0 && Close(std::exchange(id_, H5I_INVALID_HID)) < 0) detail::log_failed_close(CallName);
  }

  hid_t id_ = H5I_INVALID_HID;
};

namespace detail {
inline constexpr char kH5Fclose[] = "H5Fclose";
inline constexpr char kH5Gclose[] = "H5Gclose";
inline constexpr char kH5Dclose[] = "H5Dclose";
inline constexpr char kH5Sclose[] = "H5Sclose";
inline constexpr char kH5Tclose[] = "H5Tclose";
inline constexpr char kH5Aclose[] = "H5Aclose";
inline constexpr char kH5Pclose[] = "H5Pclose";
}  // namespace detail

/// An open HDF5 file (H5Fcreate, H5Fopen).
using H5File = H5Handle<H5Fclose, detail::kH5Fclose>;
/// An open group (H5Gcreate2, H5Gopen2).
using H5Group = H5Handle<H5Gclose, detail::kH5Gclose>;
/// An open dataset (H5Dcreate2, H5Dopen2).
using H5Dataset = H5Handle<H5Dclose, detail::kH5Dclose>;
/// A dataspace (H5Screate_simple, H5Dget_space, H5Aget_space).
using H5Dataspace = H5Handle<H5Sclose, detail::kH5Sclose>;
/// A datatype the caller owns (H5Tcopy, H5Tenum_create, H5Dget_type); never a predefined type.
using H5Type = H5Handle<H5Tclose, detail::kH5Tclose>;
/// An open attribute (H5Acreate2, H5Aopen).
using H5Attribute = H5Handle<H5Aclose, detail::kH5Aclose>;
/// A property list (H5Pcreate, H5Dget_create_plist).
using H5PropertyList = H5Handle<H5Pclose, detail::kH5Pclose>;

}  // namespace mpiq::store
