/* SPDX-License-Identifier: MIT */
/* hcsd's log: one line per event on stderr (or --log-file), filtered by
 * level. Under systemd, when stderr is the journal (JOURNAL_STREAM names
 * it), each line starts with its syslog priority, "<3>" to "<7>", which
 * journald strips and keeps (sd-daemon(3)); else lines start "hcsd: ",
 * with the time first in a log file. Any thread may log: a line is one
 * write(2), so lines from threads do not interleave. */
#ifndef HCSD_LOG_H
#define HCSD_LOG_H

#include <stdbool.h>

/* The syslog priorities of the levels --log-level names. */
enum {
  HCSD_LOG_ERROR = 3,
  HCSD_LOG_WARN = 4,
  HCSD_LOG_INFO = 6,
  HCSD_LOG_DEBUG = 7,
};

/* "error", "warn", "info" or "debug" to its priority; -1 for any other. */
int hcsd_log_level_parse(const char *name);
/* Sets the level (messages above it are dropped; info at start) and the
 * file (NULL: stderr as it is), which is opened for appending and made
 * stderr, so that anything else written there lands in it too. Call
 * before any other thread starts. 0, or -errno when the file cannot be
 * opened. */
int hcsd_log_setup(int level, const char *file);
/* Opens the log file again (after logrotate moved it), when there is
 * one: 0, or -errno with the old file still in use. */
int hcsd_log_reopen(void);
/* Whether a message at level would be written. */
bool hcsd_log_on(int level);
/* One line at level. */
void hcsd_logl(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
