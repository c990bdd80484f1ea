#pragma once
/// Task files on disk: reading one and handing its text to the parser (core/task_file.hpp), which does
/// no I/O of its own.

#include <string>

#include "core/disbatch.hpp"
#include "core/pylauncher.hpp"
#include "core/task_file.hpp"
#include "core/task_table.hpp"

namespace mpiq::store {

/// The bytes of the task file at `path`: a regular file, or a pipe or FIFO (`mpiq check <(gen)`) read to
/// its end. A file that cannot be read is an mpiq::InputError `PATH: cannot read the task file: REASON`
/// with the system's reason (a directory: "Is a directory").
std::string read_task_file(const std::string& path);

/// Reads the file at `path` and parses it with core::parse_task_file, errors naming `path`; a
/// pylauncher file (`format`) is turned into mpiq's lines first (core/pylauncher.hpp), a disBatch file is
/// read by core::parse_disbatch_file. The file's
/// `#MPIQ pernode` commands go to `pernode` (ignored when null).
core::TaskTable load_task_file(const std::string& path, core::TaskFileFormat format = core::TaskFileFormat::mpiq,
                               core::NodeCommands* pernode = nullptr);

}  // namespace mpiq::store
