#pragma once
/// The embedding API of mpiq: everything a C++ program that links mpiq::mpiq may use.
///
///   mpiq::Session session(argc, argv);
///   session.register_function("square", [](mpiq::TaskContext&, std::string_view x) { ... });
///   if (session.is_hub()) session.submit("square", "7");
///   return mpiq::exit_status(session.run());
///
/// README.md ("Embedding") shows more; docs/design.md §10 has the contract.

#include "mpiq/error.hpp"
#include "mpiq/exit_code.hpp"
#include "mpiq/session.hpp"
#include "mpiq/task.hpp"
#include "mpiq/version.hpp"
#include "mpiq/worker.hpp"
