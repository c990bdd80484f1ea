#include "exec/orphans.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "exec/clock.hpp"
#include "exec/guard.hpp"

namespace mpiq::exec {

namespace {
std::atomic<bool> g_subreaper{false};

// The whole of a small /proc file ("" when it cannot be read: the process is gone).
std::string read_proc_file(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// The value of `name` in NUL-separated K=V bytes; nullptr when absent.
bool find_variable(const std::string& env, const char* name, std::string* value) {
  const size_t len = std::strlen(name);
  size_t at = 0;
  while (at < env.size()) {
    size_t end = env.find('\0', at);
    if (end == std::string::npos) end = env.size();
    if (end - at > len && env.compare(at, len, name) == 0 && env[at + len] == '=') {
      *value = env.substr(at + len + 1, end - at - len - 1);
      return true;
    }
    at = end + 1;
  }
  return false;
}

// The state (R, S, Z, ...) and process group of `pid`, fields 3 and 5 of /proc/PID/stat (after the
// parenthesised name); false if it is gone.
bool state_and_group(pid_t pid, char* state, pid_t* group) {
  const std::string stat = read_proc_file("/proc/" + std::to_string(pid) + "/stat");
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return false;
  long ppid = 0, pgrp = 0;
  if (std::sscanf(stat.c_str() + close + 1, " %c %ld %ld", state, &ppid, &pgrp) != 3) return false;
  *group = static_cast<pid_t>(pgrp);
  return true;
}

// Calls `f` with each pid of a /proc/.../children list (space-separated); false as soon as `f` is.
template <class F>
bool each_pid(const char* list, F&& f) {
  char* end = nullptr;
  for (long v = std::strtol(list, &end, 10); end != list; v = std::strtol(list, &end, 10)) {
    if (!f(static_cast<pid_t>(v))) return false;
    list = end;
  }
  return true;
}
}  // namespace

bool become_subreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) return false;
  g_subreaper = true;
  return true;
}

bool is_subreaper() noexcept {
  return g_subreaper.load(std::memory_order_relaxed);
}

std::string task_attempt_key(const std::string& environ_bytes) {
  std::string id, attempt, element, run_dir;
  if (!find_variable(environ_bytes, "MPIQ_TASK_ID", &id) ||
      !find_variable(environ_bytes, "MPIQ_ATTEMPT", &attempt))
    return "";
  find_variable(environ_bytes, "MPIQ_RUN_DIR", &run_dir);
  std::string key = std::move(run_dir);
  key.append("|").append(id);
  if (find_variable(environ_bytes, "MPIQ_REPEAT_INDEX", &element)) key.append("/").append(element);
  return key.append("#").append(attempt);
}

std::string task_attempt_key(const std::string& run_dir, uint64_t id, uint32_t element, bool has_element,
                             uint32_t attempt) {
  std::string key = run_dir;
  key.append("|").append(std::to_string(id));
  if (has_element) key.append("/").append(std::to_string(element));
  return key.append("#").append(std::to_string(attempt));
}

std::vector<pid_t> children_of_this_process() {
  std::vector<pid_t> pids;
  DIR* d = ::opendir("/proc/self/task");
  if (!d) return pids;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const std::string list = read_proc_file(std::string("/proc/self/task/") + e->d_name + "/children");
    each_pid(list.c_str(), [&](pid_t pid) {
      pids.push_back(pid);
      return true;
    });
  }
  ::closedir(d);
  return pids;
}

bool only_known_children(const std::function<bool(pid_t)>& known) {
  if (!is_subreaper()) return false;
  // The first thread's file and the calling thread's, opened once per thread (-2: cannot be read).
  struct Files {
    int fd[2] = {-1, -1};
    ~Files() {
      for (int f : fd)
        if (f >= 0) ::close(f);
    }
  };
  thread_local Files files;
  const pid_t first = ::getpid(), self = static_cast<pid_t>(::gettid());
  for (int i = 0; i < (first == self ? 1 : 2); ++i) {
    int& fd = files.fd[i];
    if (fd == -1) {
      const std::string path = "/proc/self/task/" + std::to_string(i == 0 ? first : self) + "/children";
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) fd = -2;
    }
    if (fd < 0) return false;
    char buf[4096];
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n < 0 || n == static_cast<ssize_t>(sizeof buf - 1)) return false;  // unreadable, or too many
    buf[n] = '\0';
    if (!each_pid(buf, known)) return false;
  }
  return true;
}

void Orphans::end(pid_t pid, Adopted& a, double now, double grace_s) {
  ::kill(a.group > 0 ? -a.group : pid, SIGTERM);
  a.kill_at = now + grace_s;
}

void Orphans::reap_ended() {
  for (auto it = adopted_.begin(); it != adopted_.end();) {
    int status = 0;
    const pid_t r = ::waitpid(it->first, &status, WNOHANG);
    if (r == 0) {
      ++it;
      continue;
    }
    // Ended (or not ours any more): what is left of its group goes with it, as a task's does.
    if (it->second.group > 0) {
      if (it->second.kill_at != 0) ::kill(-it->second.group, SIGKILL);
      guard_forget(it->second.group);
    }
    it = adopted_.erase(it);
  }
}

void Orphans::sweep(double now, double grace_s, const std::function<bool(pid_t)>& known,
                    const std::function<bool(const std::string&)>& running) {
  if (!is_subreaper()) return;
  for (pid_t pid : children_of_this_process()) {
    if (known(pid) || adopted_.count(pid)) continue;
    // A zombie outside this process's own group: what a task left behind (`(cmd &)`, a daemon's
    // parent, the members of a killed group) and what ended before a sweep saw it alive, now this
    // subreaper's child. Nobody else reaps it: left, they piled up, one for every such task, towards
    // the user's process limit, and kept the worker from passing pipes on (only_known_children).
    // Zombies in this process's group are children it started itself (capture_output, an embedding
    // program's): theirs to reap.
    char state = 0;
    pid_t group = -1;
    const bool seen = state_and_group(pid, &state, &group);
    if (!seen) group = -1;  // gone
    if (seen && state == 'Z' && group != ::getpgrp() && pid != guard_pid()) {
      ::waitpid(pid, nullptr, WNOHANG);
      continue;
    }
    const std::string key = task_attempt_key(read_proc_file("/proc/" + std::to_string(pid) + "/environ"));
    // Not a task of this run (or a zombie already, whose environment reads empty): not ours to end.
    if (key.compare(0, prefix_.size(), prefix_) != 0) continue;
    Adopted a;
    a.key = key;
    if (group == pid) a.group = pid;
    if (a.group > 0) guard_watch(a.group);
    adopted_.emplace(pid, std::move(a));
  }
  for (auto& [pid, a] : adopted_) {
    if (a.kill_at == 0) {
      if (!running(a.key)) end(pid, a, now, grace_s);
    } else if (now >= a.kill_at) {
      ::kill(a.group > 0 ? -a.group : pid, SIGKILL);
    }
  }
  reap_ended();
}

void Orphans::end_all(double grace_s, const std::function<bool(pid_t)>& known) {
  if (!is_subreaper()) return;
  const auto none = [](const std::string&) { return false; };
  const double deadline = mono_now() + grace_s;
  // Ending one orphan can leave its own children to this process: look again until none is left.
  for (int round = 0; round < 100000; ++round) {
    const double now = mono_now();
    sweep(now, grace_s, known, none);
    if (adopted_.empty()) return;
    if (now >= deadline + 1) break;  // KILLed a second ago and still not reaped: leave them
    ::usleep(10000);
  }
}

}  // namespace mpiq::exec
