#pragma once
/// This machine's name: the one place mpiq asks the system for it (status rows, MPIQ_HOST, the lock's
/// `host pid`, inbox file names).

#include <string>

namespace mpiq::exec {

/// The host name (gethostname), read once per process; "" when the system gives none.
const std::string& host_name();

}  // namespace mpiq::exec
