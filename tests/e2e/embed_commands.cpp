// The smallest embedding program that runs command tasks: loads the task file given as its first
// argument and runs it. tests/e2e/guard.sh kills it mid-run to check that its tasks die with it.
#include <mpiq/mpiq.hpp>

#include <iostream>

int main(int argc, char** argv) {
  mpiq::Session session(argc, argv);
  if (argc < 2) {
    std::cerr << "usage: embed-commands TASK_FILE [mpiq options]\n";
    return 2;
  }
  if (session.is_hub()) session.load_task_file(argv[1]);
  return mpiq::exit_status(session.run());
}
