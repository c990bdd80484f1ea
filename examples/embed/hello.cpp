// The smallest embedded mpiq program: square numbers on the workers, print the results on rank 0.
//
//   build/bin/embed-hello                     # one process: the hub and one worker
//   mpirun -np 3 build/bin/embed-hello        # rank 0 the hub, ranks 1-2 workers

#include <iostream>
#include <mpiq/mpiq.hpp>
#include <string>

int main(int argc, char** argv) {
  mpiq::Session session(argc, argv);
  session.register_function("square", [](mpiq::TaskContext&, std::string_view payload) {
    const long x = std::stol(std::string(payload));
    return std::to_string(x * x);
  });
  if (session.is_hub()) {
    for (int i = 1; i <= 10; ++i) session.submit("square", std::to_string(i));
    session.on_end([](const mpiq::Result& r) { std::cout << "task " << r.id << ": " << r.bytes << "\n"; });
  }
  return mpiq::exit_status(session.run());
}
