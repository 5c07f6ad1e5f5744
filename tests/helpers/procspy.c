/* SPDX-License-Identifier: MIT */
/* An attacker inside a container (tests/test_isolation.c): watches for
 * new processes, which in a private pid namespace get the next numbers,
 * and tries to get a handle on each one's memory, executable, environment
 * and maps. A handle on a process whose executable is not a file of the
 * container's own is a hit: that process runs host code (the engine's
 * spawn child before its execve, or a fork of the engine).
 *
 * procspy MS: runs for MS milliseconds, or until /tmp/procspy.stop exists,
 * then prints "hits H seen S" and, for the first hit, what was opened;
 * meanwhile /tmp/procspy.seen holds S so far.
 * A process counts as seen when any of its /proc files could be stat'ed
 * while it ran something that is not this spy. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The container's own programs: this spy and busybox. */
static struct stat own[2];

static int foreign(int exe_fd) {
  struct stat st;
  if (fstat(exe_fd, &st) != 0) {
    return 0;
  }
  for (int i = 0; i < 2; i++) {
    if (st.st_dev == own[i].st_dev && st.st_ino == own[i].st_ino) {
      return 0;
    }
  }
  return 1;
}

static int hits;
static char first[256];

/* One try at pid: every file that gives a handle on the process. */
static int probe(int pid) {
  static const struct {
    const char *name;
    int flags;
  } files[] = {{"mem", O_RDWR},
               {"mem", O_RDONLY},
               {"exe", O_RDONLY},
               {"environ", O_RDONLY},
               {"maps", O_RDONLY}};
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/exe", pid);
  int alive = access(path, F_OK) == 0 || errno != ENOENT;
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    snprintf(path, sizeof(path), "/proc/%d/%s", pid, files[i].name);
    int fd = open(path, files[i].flags | O_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    /* Whose is it? The executable decides; opened after the file, so a
     * process that exec'ed meanwhile is judged by its new program and
     * the hit is missed, never invented. */
    snprintf(path, sizeof(path), "/proc/%d/exe", pid);
    int exe = open(path, O_RDONLY | O_CLOEXEC);
    if (exe >= 0 && foreign(exe)) {
      if (hits++ == 0) {
        snprintf(first, sizeof(first), "/proc/%d/%s (flags %d)", pid,
                 files[i].name, files[i].flags);
      }
    }
    if (exe >= 0) {
      close(exe);
    }
    close(fd);
  }
  return alive;
}

static int highest_pid(void) {
  DIR *d = opendir("/proc");
  int high = 0;
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    int pid = atoi(e->d_name);
    if (pid > high) {
      high = pid;
    }
  }
  if (d != NULL) {
    closedir(d);
  }
  return high;
}

int main(int argc, char **argv) {
  long long until = now_ms() + (argc > 1 ? atoll(argv[1]) : 10000);
  if (stat("/proc/self/exe", &own[0]) != 0 ||
      stat("/bin/busybox", &own[1]) != 0) {
    perror("stat");
    return 2;
  }
  int next = getpid() + 1, seen = 0;
  unsigned long iter = 0;
  while (now_ms() < until) {
    /* The next few numbers, over and over: a new process is caught in
     * the microseconds between its clone and its execve. */
    int top = next;
    for (int pid = next; pid < next + 8; pid++) {
      if (probe(pid)) {
        seen += pid >= top;
        top = pid + 1;
      }
    }
    next = top;
    if ((++iter & 1023) == 0) {
      if (access("/tmp/procspy.stop", F_OK) == 0) {
        break;
      }
      /* Fallen behind (the numbers in the window came and went unseen):
       * start again after the highest pid alive now. */
      int high = highest_pid();
      if (high >= next) {
        next = high + 1;
      }
      /* Progress for the test, which makes execs until enough were seen. */
      char num[32];
      int len = snprintf(num, sizeof(num), "%d\n", seen);
      int fd = open("/tmp/procspy.seen",
                    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) {
        (void)!write(fd, num, (size_t)len);
        close(fd);
      }
    }
  }
  printf("hits %d seen %d\n", hits, seen);
  if (hits > 0) {
    printf("first %s\n", first);
  }
  return 0;
}
