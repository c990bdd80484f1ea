/* The task guard's loop (exec/guard.hpp), in C so that it builds into two things: a static program
 * of its own (with -DMPIQ_GUARD_PROGRAM: its main), carried inside mpiq_exec as bytes (guard_image.c)
 * and run from a memfd, and the fallback inside the library itself (guard.cpp's constructor calls
 * mpiq_guard_main when the program is started again as /proc/self/exe). The static program loads no
 * shared library: the fallback loads the program's libraries and runs their constructors, which took
 * 24-67 ms of CPU at every worker's start when mpiq loaded 47 of them (bench/why.md §0).
 *
 * Interface: stdin is the read end of the worker's pipe, descriptor 3 the shared table (CAPACITY int32
 * slots, a live task group's id or 0), MPIQ_GUARD_GRACE the seconds between SIGTERM and SIGKILL. When
 * the pipe reaches end-of-file (the worker has gone, however), every group still in the table gets
 * SIGTERM, then SIGKILL after the grace period unless it has gone. */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "exec/guard_main.h"

#define CAPACITY MPIQ_GUARD_CAPACITY
#define TABLE_FD MPIQ_GUARD_TABLE_FD

/* The decimal number at *p (advanced past it). */
static long parse_long(const char** p) {
  long v = 0;
  int neg = **p == '-';
  if (neg) ++*p;
  while (**p >= '0' && **p <= '9') v = v * 10 + (*(*p)++ - '0');
  return neg ? -v : v;
}

/* Whether any process of group `pgid` is alive. Zombies do not count: kill(-pgid, 0) would, and an
 * orphan's zombie can linger for good where the container's init does not reap. No stdio: it would
 * make the static image twice the size. */
static int group_alive(pid_t pgid) {
  DIR* proc = opendir("/proc");
  if (!proc) return kill(-pgid, 0) == 0;
  int alive = 0;
  struct dirent* e;
  while (!alive && (e = readdir(proc)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || strlen(e->d_name) > 20) continue;
    char path[40] = "/proc/", buf[512];
    strcat(strcat(path, e->d_name), "/stat");
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    const ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    /* `pid (comm) state ppid pgrp ...`: the command name may hold spaces and parentheses. */
    const char* rest = strrchr(buf, ')');
    if (!rest || rest[1] != ' ' || rest[2] == '\0' || rest[3] != ' ') continue;
    const char state = rest[2];
    const char* p = rest + 4;
    parse_long(&p); /* ppid */
    if (*p++ != ' ') continue;
    if (parse_long(&p) == pgid && state != 'Z' && state != 'X') alive = 1;
  }
  closedir(proc);
  return alive;
}

int mpiq_guard_main(void) {
  /* Named in ps and top (run from /proc/self/fd/N, it would be called N). */
  prctl(PR_SET_NAME, "mpiq-guard", 0, 0, 0);
  /* The worker's end of things is the pipe, not signals: a Ctrl-C to the terminal's group must not end
   * the guard before its worker. */
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGUSR1, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  const char* grace_text = getenv(MPIQ_GUARD_GRACE_VARIABLE);
  const double grace = grace_text ? strtod(grace_text, NULL) : 10;
  /* Hold none of the worker's files past its end: only the pipe (stdin) and the table are the guard's. */
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 1);
    dup2(null, 2);
  }
  close_range(TABLE_FD + 1, ~0u, 0);
  const size_t bytes = (size_t)CAPACITY * sizeof(int32_t);
  void* map = mmap(NULL, bytes, PROT_READ, MAP_SHARED, TABLE_FD, 0);
  char buf[4096];
  for (;;) {
    const ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
  }
  if (map == MAP_FAILED) return 1;
  static pid_t groups[CAPACITY];
  uint32_t count = 0;
  const volatile int32_t* slots = map;
  for (uint32_t i = 0; i < CAPACITY; ++i)
    if (slots[i] > 0) groups[count++] = slots[i];
  if (count == 0) return 0;
  for (uint32_t i = 0; i < count; ++i) kill(-groups[i], SIGTERM);
  /* Wait for the groups to go, up to the grace period, then kill what is left. */
  const struct timespec step = {0, 50 * 1000 * 1000};
  for (double waited = 0; waited < grace; waited += 0.05) {
    int any = 0;
    for (uint32_t i = 0; i < count && !any; ++i) any = group_alive(groups[i]);
    if (!any) return 0;
    nanosleep(&step, NULL);
  }
  for (uint32_t i = 0; i < count; ++i) kill(-groups[i], SIGKILL);
  return 0;
}

#ifdef MPIQ_GUARD_PROGRAM
int main(void) {
  return mpiq_guard_main();
}
#endif
