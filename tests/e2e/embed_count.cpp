// embed-hello's ten squares, each execution also appended as a line to the file named by
// MPIQ_TEST_COUNT (on whichever rank runs it): tests/e2e/embed_status.sh counts how often each ran,
// since a resumed run delivers stored results through on_end too and its output alone cannot tell.
// MPIQ_TEST_HUB_DELAY_S=S makes the hub wait S seconds between its submissions and run(), as a program
// that prepares its tasks for a while does (tests/e2e/idle_cpu.sh: the workers wait without spinning).
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mpiq/mpiq.hpp>
#include <string>
#include <thread>

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
    if (const char* delay = std::getenv("MPIQ_TEST_HUB_DELAY_S"))
      std::this_thread::sleep_for(std::chrono::duration<double>(std::atof(delay)));
  }
  return mpiq::exit_status(session.run());
}
