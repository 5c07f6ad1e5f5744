/* SPDX-License-Identifier: MIT */
/* Namespaces a test holds (a process of its own, paused in them) for
 * systems and containers to join by path, and what /proc/PID/ns/TYPE
 * says of a process. */
#ifndef HCS_TESTS_NS_HOLD_H
#define HCS_TESTS_NS_HOLD_H

#include <criterion/criterion.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A process of the test's in new namespaces (flags), its host name
 * "held" when it has a uts one, paused until killed. With CLONE_NEWPID it
 * forks the namespace's pid 1, which *member names (0 otherwise). */
static inline pid_t ns_hold(int flags, pid_t *member) {
  int p[2];
  cr_assert_eq(pipe(p), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    pid_t m = 0;
    if (unshare(flags) != 0 ||
        ((flags & CLONE_NEWUTS) && sethostname("held", 4) != 0)) {
      _exit(1);
    }
    if ((flags & CLONE_NEWPID) && (m = fork()) == 0) {
      for (;;) {
        pause();
      }
    }
    (void)!write(p[1], &m, sizeof(m));
    for (;;) {
      pause();
    }
  }
  close(p[1]);
  pid_t m = -1;
  cr_assert_eq(read(p[0], &m, sizeof(m)), (ssize_t)sizeof(m),
               "the holder could not unshare");
  close(p[0]);
  *member = m;
  return pid;
}

/* Ends the holder and its pid namespace's pid 1 (member, 0 for none),
 * which the test inherits as a subreaper or init would. */
static inline void ns_unhold(pid_t pid, pid_t member) {
  if (member > 0) {
    kill(member, SIGKILL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

static inline void ns_link_of(pid_t pid, const char *ns, char *out, size_t n) {
  char p[64];
  snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, ns);
  ssize_t k = readlink(p, out, n - 1);
  cr_assert_gt(k, 0, "%s", p);
  out[k] = '\0';
}

/* Appends to out (n bytes) the link of each namespace of pid named in
 * kinds ("net ipc uts"), one a line. */
static inline void ns_links(pid_t pid, const char *kinds, char *out, size_t n) {
  char k[16], l[128];
  for (const char *p = kinds; *p != '\0';) {
    size_t len = strcspn(p, " ");
    snprintf(k, sizeof(k), "%.*s", (int)len, p);
    ns_link_of(pid, k, l, sizeof(l));
    snprintf(out + strlen(out), n - strlen(out), "%s\n", l);
    p += len + (p[len] == ' ');
  }
}

#endif
