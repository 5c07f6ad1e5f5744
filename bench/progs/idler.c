/* SPDX-License-Identifier: MIT */
/* idler: blocks reading stdin and exits 0 at EOF. The idle scenario's
 * program: a session that holds its streams open and does nothing. Where
 * the build knows the architecture (HCS_BENCH_NOSTDLIB) it is libc-free,
 * so that starting thousands of them costs the host's spawn, not glibc's
 * start-up in each. */
#if defined(HCS_BENCH_NOSTDLIB) && (defined(__x86_64__) || defined(__aarch64__))
#if defined(__x86_64__)
enum { SYS_READ = 0, SYS_EXIT_GROUP = 231 };

static long sys3(long nr, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "a"(nr), "D"(a), "S"(b), "d"(c)
                   : "rcx", "r11", "memory");
  return r;
}
#else
enum { SYS_READ = 63, SYS_EXIT_GROUP = 94 };

static long sys3(long nr, long a, long b, long c) {
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
}
#endif

enum { EINTR_NEG = -4 };

void _start(void);

void _start(void) {
  char c;
  long n;
  do {
    n = sys3(SYS_READ, 0, (long)&c, 1);
  } while (n > 0 || n == EINTR_NEG);
  sys3(SYS_EXIT_GROUP, n < 0, 0, 0);
  for (;;) {
  }
}
#else
#include <errno.h>
#include <unistd.h>

int main(void) {
  char c;
  for (;;) {
    ssize_t n = read(0, &c, 1);
    if (n > 0 || (n < 0 && errno == EINTR)) {
      continue;
    }
    _exit(n < 0 ? 1 : 0);
  }
}
#endif
