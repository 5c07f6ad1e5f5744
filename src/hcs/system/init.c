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

/* pid 1: reaps orphans; on SIGTERM (or INT, HUP, PWR) asks every process
 * to stop and exits once none is left. The kernel drops signals from the
 * parent namespace for which an init has no handler, so the ones it
 * waits for get a handler that is never run (they stay blocked). With
 * exit_sig (InitSibling), that signal queued (SI_QUEUE) kills every
 * process and ends init with its value (the first one given; with
 * HCS_INIT_KILL_ONLY it only kills), and the others are passed on to
 * every process, as a runc container's pid 1 gets them. */
__attribute__((noreturn)) static void init_loop(int exit_sig) {
  const int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPWR, exit_sig};
  sigset_t all;
  sigfillset(&all);
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
    if (exit_sig > 0 && sig == exit_sig) {
      /* The first status stands; HCS_INIT_KILL_ONLY kills and stays. */
      int v = si.si_code == SI_QUEUE ? si.si_value.sival_int : 0;
      if (si.si_code == SI_QUEUE && !(v & HCS_INIT_KILL_ONLY) && !exiting) {
        status = v & 0xff;
        stopping = exiting = 1;
      }
      if (si.si_code == SI_QUEUE) {
        (void)kill(-1, SIGKILL);
      }
    } else if (exit_sig > 0 && sig > 0 && sig != SIGCHLD) {
      (void)kill(-1, sig); /* passed on: init ends by exit_sig only */
    } else if (!stopping && sig > 0 && sig != SIGCHLD) {
      stopping = 1;
      (void)kill(-1, SIGTERM);
    } else if (stopping && tick_ms < 20) {
      tick_ms = tick_ms * 2 < 20 ? tick_ms * 2 : 20;
    }
    if (stopping && kill(-1, 0) != 0 && errno == ESRCH) {
      _exit(status);
    }
  }
}

/* init in a pid namespace it does not own (the host's, or one joined by
 * path): kill(-1) there would reach processes that are not the system's.
 * It waits for a signal and exits (with exit_sig queued, with its value);
 * the engine then kills what the system's cgroup holds. */
__attribute__((noreturn)) static void member_loop(int exit_sig) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  for (;;) {
    siginfo_t si;
    int sig = sigtimedwait(&all, &si, NULL);
    if (sig > 0 && sig == exit_sig && si.si_code == SI_QUEUE &&
        !(si.si_value.sival_int & HCS_INIT_KILL_ONLY)) {
      _exit(si.si_value.sival_int & 0xff);
    }
    if (sig > 0 && sig != SIGCHLD && sig != exit_sig) {
      _exit(0);
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
  syscall(SYS_close_range, 4, ~0U, 0);
  setsid();
  prctl(PR_SET_NAME, "hcs-init", 0, 0, 0);
  close(3); /* ready: the engine goes on */
  int exit_sig = ct->cfg.init_sibling ? HCS_INIT_EXIT_SIGNAL : 0;
  if (!(ct->ns_new & CLONE_NEWPID)) {
    member_loop(exit_sig);
  }
  init_loop(exit_sig);
}
