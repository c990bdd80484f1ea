// Squares 1..5 through an installed libmpiq; prints the sum of the results (55).
#include <iostream>
#include <mpiq/mpiq.hpp>
#include <string>

int main(int argc, char** argv) {
  mpiq::Session session(argc, argv);
  session.register_function("square", [](mpiq::TaskContext&, std::string_view p) {
    const long x = std::stol(std::string(p));
    return std::to_string(x * x);
  });
  long sum = 0;
  if (session.is_hub()) {
    for (int i = 1; i <= 5; ++i) session.submit("square", std::to_string(i));
    session.on_end([&](const mpiq::Result& r) { sum += std::stol(r.bytes); });
  }
  const int code = mpiq::exit_status(session.run());
  if (session.is_hub()) std::cout << sum << "\n";
  return code;
}
