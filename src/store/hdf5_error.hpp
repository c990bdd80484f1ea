#pragma once
/// The checked boundary to the HDF5 C library: every HDF5 call that can fail goes
/// through `check_h5`, which turns a negative return into an Hdf5Error carrying HDF5's error stack.

#include <hdf5.h>

#include <string>

#include "mpiq/error.hpp"

namespace mpiq::store {

/// A failed HDF5 call. `what()` is "CALL failed: " followed by the error stack's descriptions,
/// outermost first; `stack()` has one line per stack entry with HDF5's function, file and line.
class Hdf5Error : public Error {
 public:
  /// An error for the failed `call`, with the text of HDF5's error stack.
  Hdf5Error(const std::string& call, const std::string& summary, std::string stack);
  /// The HDF5 function that failed, e.g. "H5Dwrite".
  const std::string& call() const noexcept { return call_; }
  /// HDF5's error stack, one entry per line ("" when HDF5 recorded none).
  const std::string& stack() const noexcept { return stack_; }

 private:
  std::string call_;
  std::string stack_;
};

/// Returns `status` when it is not negative (herr_t and htri_t results), else throws Hdf5Error for `call`
/// with the current thread's error stack, which it then clears.
herr_t check_h5(herr_t status, const char* call);

/// Returns `id` when it is valid (not negative), else throws Hdf5Error for `call` with the error stack.
hid_t check_h5(hid_t id, const char* call);

/// Throws Hdf5Error for `call` with the current error stack; for calls whose failure value is not
/// negative (H5Tget_size returns 0, H5Tget_class H5T_NO_CLASS).
[[noreturn]] void throw_h5(const char* call);

/// The errno of the failed system call that `e` reports, from the text HDF5's POSIX file driver puts in
/// its error stack ("..., errno = 28, error message = 'No space left on device', ..."); 0 when it
/// reports none (the failure was not a system call's).
int hdf5_write_errno(const Hdf5Error& e) noexcept;

/// Turns off HDF5's automatic printing of error stacks to stderr for the calling thread, so errors reach
/// the user only through exceptions. HDF5 keeps this setting per thread in thread-safe builds (Debian's
/// is one), so every store entry point calls it; it is cheap.
void silence_hdf5_error_printing() noexcept;

}  // namespace mpiq::store
