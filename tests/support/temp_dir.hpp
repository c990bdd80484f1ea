#pragma once
/// A private temporary directory for one test, removed with everything in it when the test ends.

#include <string>

namespace mpiq::test {

/// A fresh directory under $TMPDIR (or /tmp), mode 0700, removed with its contents by the destructor.
class TempDir {
 public:
  /// Creates the directory; throws std::runtime_error if it cannot.
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// The directory's absolute path.
  const std::string& path() const noexcept { return path_; }
  /// `name` inside the directory.
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// The whole content of the file at `path` ("" when it cannot be read).
std::string read_bytes(const std::string& path);
/// Replaces the file at `path` with `bytes`.
void write_bytes(const std::string& path, const std::string& bytes);

}  // namespace mpiq::test
