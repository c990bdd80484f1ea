#include "store/hdf5_error.hpp"

#include <string_view>
#include <utility>

namespace mpiq::store {
namespace {

struct StackText {
  std::string summary;  // the descriptions, outermost call first, joined by "; "
  std::string lines;    // one entry per line, with HDF5's function, file and line
};

herr_t append_entry(unsigned n, const H5E_error2_t* entry, void* data) {
  auto* text = static_cast<StackText*>(data);
  const std::string desc = entry->desc ? entry->desc : "";
  if (!desc.empty()) {
    if (!text->summary.empty()) text->summary += "; ";
    text->summary += desc;
  }
  // Appended piece by piece: `"#" + std::to_string(n)` trips GCC 12's false -Wrestrict (PR 105329).
  std::string& line = text->lines;
  line += '#';
  line += std::to_string(n);
  line += ' ';
  line += entry->file_name ? entry->file_name : "?";
  line += ':';
  line += std::to_string(entry->line);
  line += " in ";
  line += entry->func_name ? entry->func_name : "?";
  line += "(): ";
  line += desc;
  line += '\n';
  return 0;
}

StackText take_error_stack() {
  StackText text;
  // Failures of the walk itself are ignored: the error being reported is the caller's.
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, append_entry, &text);
  H5Eclear2(H5E_DEFAULT);
  return text;
}

}  // namespace

Hdf5Error::Hdf5Error(const std::string& call, const std::string& summary, std::string stack)
    : Error(call + " failed" + (summary.empty() ? std::string() : ": " + summary)),
      call_(call),
      stack_(std::move(stack)) {}

void throw_h5(const char* call) {
  StackText text = take_error_stack();
  throw Hdf5Error(call, text.summary, std::move(text.lines));
}

herr_t check_h5(herr_t status, const char* call) {
  if (status < 0) throw_h5(call);
  return status;
}

hid_t check_h5(hid_t id, const char* call) {
  if (id < 0) throw_h5(call);
  return id;
}

namespace {
int errno_in(std::string_view text) noexcept {
  constexpr std::string_view kKey = "errno = ";
  const size_t at = text.find(kKey);
  if (at == std::string_view::npos) return 0;
  int err = 0;
  for (size_t i = at + kKey.size(); i < text.size() && text[i] >= '0' && text[i] <= '9' && err < 100000; ++i)
    err = err * 10 + (text[i] - '0');
  return err;
}
}  // namespace

int hdf5_write_errno(const Hdf5Error& e) noexcept {
  // The descriptions are in the stack's lines and in what() (its summary) alike.
  if (const int err = errno_in(e.stack())) return err;
  return errno_in(e.what());
}

void silence_hdf5_error_printing() noexcept {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

}  // namespace mpiq::store
