/* SPDX-License-Identifier: MIT */
/* nop: exits 0 at once. The spawn scenario's program: its cost must be
 * the host's (spawn, exec, exit, reap), not its own, so where the build
 * knows the architecture (HCS_BENCH_NOSTDLIB) it is a bare _start making
 * one exit_group call: a static glibc program spends about three times as
 * long in its own start-up as the kernel spends on the whole exec. */
#if defined(HCS_BENCH_NOSTDLIB) && defined(__x86_64__)
__asm__(".globl _start\n"
        "_start:\n"
        "  movl $231, %eax\n" /* exit_group */
        "  xorl %edi, %edi\n"
        "  syscall\n"
        "  hlt\n");
#elif defined(HCS_BENCH_NOSTDLIB) && defined(__aarch64__)
__asm__(".globl _start\n"
        "_start:\n"
        "  mov x0, #0\n"
        "  mov x8, #94\n" /* exit_group */
        "  svc #0\n");
#else
#include <unistd.h>

int main(void) { _exit(0); }
#endif
