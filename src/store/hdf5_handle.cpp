#include "store/hdf5_handle.hpp"

#include <cstdio>

namespace mpiq::store::detail {

void log_failed_close(const char* call) noexcept {
  try {
    throw_h5(call);
  } catch (const Hdf5Error& e) {
    std::fprintf(stderr, "mpiq: %s while releasing an HDF5 id\n%s", e.what(), e.stack().c_str());
  } catch (...) {
    std::fprintf(stderr, "mpiq: %s failed while releasing an HDF5 id\n", call);
  }
}

}  // namespace mpiq::store::detail
