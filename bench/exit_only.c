/* Benchmark 1's unmasked task: a program that only exits 0, with no C library and no dynamic loader.
 *
 * A `true` process here spends most of its CPU in glibc's start (its CPU feature probes trap to the
 * hypervisor on this VM, ~70 % of the process), the same under mpiq and the floor: a launcher's own
 * cost per task hides in that process's noise. This one costs only the kernel's exec and exit, so
 * bench/run.sh runs it under mpiq and both floors to show mpiq's own per-task cost.
 * Built static, without startup files: `_start` is the entry point. */

#if defined(__x86_64__)
__attribute__((noreturn)) void _start(void) {
  __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
  __builtin_unreachable();
}
#elif defined(__aarch64__)
__attribute__((noreturn)) void _start(void) {
  __asm__ volatile("mov x8, #93\n\tmov x0, #0\n\tsvc #0");
  __builtin_unreachable();
}
#else
#error "bench_exit_only: x86-64 and aarch64 only"
#endif
