/* SPDX-License-Identifier: MIT */
/* hcsd's log (log.h). The level, the file and whether stderr is the
 * journal are the process's: set once in main before the engine thread
 * starts, read from any thread after. The file is stderr itself (dup2),
 * so a reopen swaps it under every writer at once. */
#include "hcsd/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_level = HCSD_LOG_INFO;
static bool log_journal;     /* stderr is journald's stream */
static const char *log_file; /* --log-file, or NULL */

static const struct {
  const char *name;
  int level;
} levels[] = {{"error", HCSD_LOG_ERROR},
              {"warn", HCSD_LOG_WARN},
              {"info", HCSD_LOG_INFO},
              {"debug", HCSD_LOG_DEBUG}};

int hcsd_log_level_parse(const char *name) {
  for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
    if (strcmp(name, levels[i].name) == 0) {
      return levels[i].level;
    }
  }
  return -1;
}

/* systemd sets JOURNAL_STREAM to "DEV:INO" of the stream it connected
 * stdout and stderr to (systemd.exec(5)); stderr is the journal only if
 * it is still that file, not one the service redirected it to. */
static bool stderr_is_journal(void) {
  const char *js = getenv("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;
  if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
      fstat(2, &st) != 0) {
    return false;
  }
  return (unsigned long long)st.st_dev == dev &&
         (unsigned long long)st.st_ino == ino;
}

static int open_as_stderr(const char *file) {
  int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    return -errno;
  }
  int err = dup2(fd, 2) < 0 ? -errno : 0;
  close(fd);
  return err;
}

int hcsd_log_setup(int level, const char *file) {
  atomic_store(&log_level, level);
  log_file = file;
  if (file != NULL) {
    int err = open_as_stderr(file);
    if (err != 0) {
      return err;
    }
  }
  log_journal = stderr_is_journal();
  return 0;
}

int hcsd_log_reopen(void) {
  return log_file != NULL ? open_as_stderr(log_file) : 0;
}

bool hcsd_log_on(int level) { return level <= atomic_load(&log_level); }

void hcsd_logl(int level, const char *fmt, ...) {
  if (!hcsd_log_on(level)) {
    return;
  }
  char line[1100];
  int n;
  if (log_journal) {
    n = snprintf(line, sizeof(line), "<%d>", level);
  } else if (log_file != NULL) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(line + n, sizeof(line) - (size_t)n,
                  ".%03ldZ hcsd: ", ts.tv_nsec / 1000000);
  } else {
    n = snprintf(line, sizeof(line), "hcsd: ");
  }
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
  va_end(ap);
  size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
  if (len > sizeof(line) - 2) {
    len = sizeof(line) - 2; /* cut: the line still ends */
  }
  line[len++] = '\n';
  /* Best effort: a log that cannot be written has nowhere to say so. */
  ssize_t w = write(2, line, len);
  (void)w;
}
