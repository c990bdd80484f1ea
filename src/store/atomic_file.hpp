#pragma once
/// Replacing a file so that a reader, or a restart after a crash at any moment, sees either the whole
/// old content or the whole new one, never a mix (docs/design.md §6-§7: checkpoint.h5, status.json).

#include <string>
#include <string_view>

namespace mpiq::store {

/// Replaces the file at `path` with `contents`: writes `path + ".tmp"` in the same directory, fsyncs
/// it, renames it over `path` and fsyncs the directory. On failure the old file is untouched, the
/// temporary file is removed (best effort), and mpiq::Error says which step failed.
void write_file_atomically(const std::string& path, std::string_view contents);

/// Replaces the file at `path` with `contents` for readers: writes `path + ".tmp"` and renames it over
/// `path`, so a reader sees the whole old or the whole new content, but syncs nothing. For live views
/// that are rewritten every second (status.json): two fsyncs a second would cost the hub milliseconds
/// on a busy or parallel file system, and after a crash of the node the view is rewritten anyway.
void write_file_for_readers(const std::string& path, std::string_view contents);

/// The last steps of an atomic replace, for files written by other means (the HDF5 checkpoint):
/// fsyncs the complete file `tmp_path`, renames it over `path` and fsyncs their directory. Both must be
/// in the same directory (rename(2) is atomic only within one file system).
void replace_file(const std::string& tmp_path, const std::string& path);

}  // namespace mpiq::store
