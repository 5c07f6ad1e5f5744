/* SPDX-License-Identifier: MIT */
/* A container's init, in the child: a fork of the engine, single-threaded,
 * that joins the system's cgroups, enters its namespaces, builds the root
 * (rootfs.c), pivots into it and then reaps orphans until told to stop.
 * Only async-signal-safe calls; a failure is a sentence in why. */
#include "hcs/system/init.h"

#include "hcs/system/ns.h"
#include "hcs/system/rootfs.h"

#include "hcs.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The loopback interface of a new network namespace starts down. */
static int loopback_up(void) {
  int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sk < 0) {
    return -errno;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
  int err = 0;
  if (ioctl(sk, SIOCGIFFLAGS, &ifr) != 0) {
    err = -errno;
  } else {
    ifr.ifr_flags |= IFF_UP;
    err = ioctl(sk, SIOCSIFFLAGS, &ifr) != 0 ? -errno : 0;
  }
  close(sk);
  return err;
}

static void noop_handler(int sig) { (void)sig; }

/* Reads path into buf (n bytes, NUL-ended): its length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t n) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t k = fd < 0 ? -1 : read(fd, buf, n - 1);
  if (fd >= 0) {
    close(fd);
  }
  buf[k > 0 ? k : 0] = '\0';
  return k;
}

/* Signals pid with sig through a pidfd, if it is in init's own group
 * (self: init's /proc/self/cgroup) once the pidfd holds it: a pid read
 * from the group's list may have been reused since. */
static void signal_member(pid_t pid, int sig, const char *self) {
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pfd < 0) {
    return; /* gone, or a thread of a process listed too */
  }
  char path[64], theirs[512];
  snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
  if (read_small(path, theirs, sizeof(theirs)) > 0 &&
      strcmp(theirs, self) == 0) {
    (void)syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0);
  }
  close(pfd);
}

/* A member that has exited stays listed until its parent (outside the
 * system, once it is orphaned) reaps it. */
static int zombie(pid_t pid) {
  char path[64], stat[256];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  if (read_small(path, stat, sizeof(stat)) <= 0) {
    return 1; /* gone */
  }
  const char *end = strrchr(stat, ')');
  return end != NULL && (end[2] == 'Z' || end[2] == 'X');
}

/* The processes of the system but init, as its cgroup lists them
 * (members: a descriptor of the group's member list): each is signalled
 * with sig (0: none); how many were listed. */
static int each_member(int members, int sig) {
  char self[512], buf[1024];
  if (sig != 0 && read_small("/proc/self/cgroup", self, sizeof(self)) <= 0) {
    return 0;
  }
  pid_t me = getpid();
  long v = -1;
  int count = 0;
  ssize_t k;
  (void)lseek(members, 0, SEEK_SET);
  while ((k = read(members, buf, sizeof(buf))) > 0) {
    for (ssize_t i = 0; i < k; i++) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        v = (v < 0 ? 0 : v * 10) + (buf[i] - '0');
        continue;
      }
      if (v > 0 && v != me && !zombie((pid_t)v)) {
        count++;
        if (sig != 0) {
          signal_member((pid_t)v, sig, self);
        }
      }
      v = -1;
    }
  }
  return count;
}

/* Every other process of the system: kill(-1) in a pid namespace of its
 * own (members -1), else the members of its cgroup. */
static void signal_rest(int members, int sig) {
  if (members < 0) {
    (void)kill(-1, sig);
  } else {
    (void)each_member(members, sig);
  }
}

static int none_left(int members) {
  if (members < 0) {
    return kill(-1, 0) != 0 && errno == ESRCH;
  }
  return each_member(members, 0) == 0;
}

/* pid 1: reaps orphans; on SIGTERM (or INT, HUP, PWR) asks every process
 * to stop and exits once none is left (with members, an init that is not
 * its namespace's pid 1: every member of the system's cgroup). The kernel
 * drops signals from the parent namespace for which an init has no
 * handler, so the ones it waits for get a handler that is never run
 * (they stay blocked). With exit_sig (InitSibling), that signal queued
 * (SI_QUEUE) kills every process and ends init with its value (the
 * first one given; with HCS_INIT_KILL_ONLY it only kills), and the others
 * are passed on to every process, as a runc container's pid 1 gets
 * them. */
__attribute__((noreturn)) static void init_loop(int exit_sig, int members,
                                                int life) {
  const int io = life >= 0 ? SIGIO : 0;
  const int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPWR, exit_sig, io};
  sigset_t all;
  sigfillset(&all);
  /* Taken by sigtimedwait only: a handler run would make it return. */
  sigprocmask(SIG_BLOCK, &all, NULL);
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = noop_handler;
    if (sigs[i] > 0) {
      sigaction(sigs[i], &sa, NULL);
    }
  }
  int stopping = 0, status = 0, exiting = 0;
  long tick_ms = 1;
  for (;;) {
    siginfo_t si;
    /* While stopping, the processes the engine started in the namespace
     * are not init's children and end without a SIGCHLD here: their end
     * is polled, 1 ms first and backing off to 20 ms, so that a quick
     * stop is seen at once and a slow one costs few wake-ups. */
    struct timespec tick = {0, tick_ms * 1000 * 1000};
    int sig = sigtimedwait(&all, &si, stopping ? &tick : NULL);
    while (waitpid(-1, NULL, WNOHANG | __WALL) > 0) {
    }
    char c;
    if (sig == SIGIO && life >= 0 && read(life, &c, 1) == 0) {
      /* The embedder is gone (killed): nothing ends its programs' sessions
       * any more, so init ends them and itself, as killed. */
      if (!exiting) {
        status = 128 + SIGKILL;
        stopping = exiting = 1;
      }
      signal_rest(members, SIGKILL);
    } else if (exit_sig > 0 && sig == exit_sig) {
      /* The first status stands; HCS_INIT_KILL_ONLY kills and stays. */
      int v = si.si_code == SI_QUEUE ? si.si_value.sival_int : 0;
      if (si.si_code == SI_QUEUE && !(v & HCS_INIT_KILL_ONLY) && !exiting) {
        status = v & 0xff;
        stopping = exiting = 1;
      }
      if (si.si_code == SI_QUEUE) {
        signal_rest(members, SIGKILL);
      }
    } else if (exit_sig > 0 && sig > 0 && sig != SIGCHLD) {
      signal_rest(members, sig); /* passed on: ends by exit_sig only */
    } else if (!stopping && sig > 0 && sig != SIGCHLD) {
      stopping = 1;
      signal_rest(members, SIGTERM);
    } else if (stopping && tick_ms < 20) {
      tick_ms = tick_ms * 2 < 20 ? tick_ms * 2 : 20;
    }
    if (stopping && none_left(members)) {
      _exit(status);
    }
  }
}

int hcs__init_main(void *arg, int ready_fd, char *why, size_t n) {
  hcs__container_t *ct = arg;
  /* A copy of the engine's memory, running the host's binary: no process
   * of the container may read it or open its executable (spawn.c says
   * why for the exec path; the same holds here). */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return hcs__setup_fail(why, n, errno, "prctl(PR_SET_DUMPABLE)");
  }
  if (ct->life_r >= 0) { /* out of the way of the fds set below */
    ct->life_r = fcntl(ct->life_r, F_DUPFD_CLOEXEC, 100);
  }
  for (int i = 0; i < ct->cg.nprocs; i++) {
    if (write(ct->cg.procs[i], "0", 1) != 1) {
      return hcs__setup_fail(why, n, errno, "joining its cgroups: write(%s/%s)",
                             ct->cg.id, hcs__cgroup_join_file(&ct->cg));
    }
  }
  if (ct->userns_sock >= 0) {
    /* Its root, a host uid, may not pass the state directory: root_mnt
     * is opened now (in its own mount namespace) and its r reached
     * through that descriptor (container.c made both). */
    int d = open(ct->root_mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) {
      return hcs__setup_fail(why, n, errno, "open(%s)", ct->root_mnt);
    }
    snprintf(ct->root_mnt, sizeof(ct->root_mnt), "/proc/self/fd/%d/r", d);
    /* So is VolumePath, bound from a descriptor opened now. */
    d = ct->cfg.volume_path == NULL
            ? -1
            : open(ct->cfg.volume_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ct->cfg.volume_path != NULL && d < 0) {
      return hcs__setup_fail(why, n, errno, "VolumePath: open(%s)",
                             ct->cfg.volume_path);
    }
    if (d >= 0) {
      snprintf(ct->vol_fd, sizeof(ct->vol_fd), "/proc/self/fd/%d", d);
      ct->cfg.volume_path = ct->vol_fd;
    }
  }
  int err = hcs__ns_become_root(ct->userns_sock, why, n);
  if (err == 0) {
    err = hcs__ns_join(ct->ns_fd, why, n);
  }
  if (err != 0) {
    return err;
  }
  if ((ct->ns_new & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) != 0) {
    return hcs__setup_fail(why, n, errno, "unshare(CLONE_NEWCGROUP)");
  }
  if ((ct->ns_new & CLONE_NEWNET) && (err = loopback_up()) != 0) {
    return hcs__setup_fail(why, n, err, "bringing up its loopback interface");
  }
  if ((err = hcs__rootfs_build(ct, why, n)) != 0 ||
      (err = hcs__rootfs_enter(ct, why, n)) != 0) {
    return -err;
  }
  /* Nothing of the host stays open in pid 1. */
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3 && null >= 0; fd++) {
    dup2(null, fd);
  }
  if (dup3(ready_fd, 3, O_CLOEXEC) < 0) {
    return hcs__setup_fail(why, n, errno, "dup3(ready pipe, 3)");
  }
  /* In a pid namespace it did not make, init is not its pid 1: kill(-1)
   * there would reach processes that are not the system's, so it stops
   * the system's through its cgroup's member list (as fd 4). */
  int members = -1;
  if (!(ct->ns_new & CLONE_NEWPID)) {
    char p[64];
    snprintf(p, sizeof(p), "/proc/self/fd/%d", ct->cg.procs[0]);
    if (ct->cg.nprocs == 0 || (members = open(p, O_RDONLY | O_CLOEXEC)) < 0 ||
        dup3(members, 4, O_CLOEXEC) < 0) {
      return hcs__setup_fail(why, n, errno,
                             "opening its cgroup's member list (%s)",
                             hcs__cgroup_join_file(&ct->cg));
    }
    members = 4;
  }
  /* InitSibling: the read end of a pipe the engine holds the other end
   * of, as the next fd, signalling SIGIO once that closes. */
  int next = members < 0 ? 4 : 5, life = next;
  if (ct->life_r < 0 || dup3(ct->life_r, life, O_CLOEXEC) < 0 ||
      fcntl(life, F_SETOWN, getpid()) != 0 ||
      fcntl(life, F_SETFL, O_ASYNC | O_NONBLOCK) != 0) {
    life = -1;
  }
  syscall(SYS_close_range, life >= 0 ? life + 1 : next, ~0U, 0);
  setsid();
  prctl(PR_SET_NAME, "hcs-init", 0, 0, 0);
  close(3); /* ready: the engine goes on */
  init_loop(ct->cfg.init_sibling ? HCS_INIT_EXIT_SIGNAL : 0, members, life);
}
