// embed-hello's ten squares, each execution also appended as a line to the file named by
// MPIQ_TEST_COUNT (on whichever rank runs it): tests/e2e/embed_status.sh counts how often each ran,
// since a resumed run delivers stored results through on_end too and its output alone cannot tell.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mpiq/mpiq.hpp>
#include <string>

int main(int argc, char** argv) {
  mpiq::Session session(argc, argv);
  session.register_function("square", [](mpiq::TaskContext&, std::string_view payload) {
    const long x = std::stol(std::string(payload));
    if (const char* path = std::getenv("MPIQ_TEST_COUNT")) std::ofstream(path, std::ios::app) << x << "\n";
    return std::to_string(x * x);
  });
  if (session.is_hub()) {
    for (int i = 1; i <= 10; ++i) session.submit("square", std::to_string(i));
    session.on_end([](const mpiq::Result& r) { std::cout << "task " << r.id << ": " << r.bytes << "\n"; });
  }
  return mpiq::exit_status(session.run());
}
