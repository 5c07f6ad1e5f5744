/* SPDX-License-Identifier: MIT */
/* The hcs program, run as a user runs it: `hcs run` exit codes (the
 * program's, 128+n for a signal, 127/126 when it cannot be run, 125 for
 * hcs's own errors), stdout/stderr passthrough, stdin with -i, -e and -w,
 * --timeout, bad usage, --help, and -t under a real pty of the test's own:
 * the console size before the start and a resize after SIGWINCH. */
#include "test_hcs_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>

typedef struct cli_s {
  pid_t pid;
  int in, out, err; /* our ends; in is -1 when stdin is /dev/null */
} cli_t;

/* Starts hcs with argv (argv[0] is ignored) and env additions ("K=V",
 * NULL-terminated, or NULL), its stdio on pipes (stdin on a pipe when
 * with_stdin, else /dev/null). */
static cli_t cli_start(const char *const *argv, const char *const *env,
                       int with_stdin) {
  int pin[2] = {-1, -1}, pout[2], perr[2];
  if (with_stdin) {
    cr_assert_eq(pipe2(pin, O_CLOEXEC), 0);
  }
  cr_assert_eq(pipe2(pout, O_CLOEXEC), 0);
  cr_assert_eq(pipe2(perr, O_CLOEXEC), 0);
  const char *path = th_hcs_path();
  pid_t pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    int in = with_stdin ? pin[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || dup2(in, 0) < 0 || dup2(pout[1], 1) < 0 ||
        dup2(perr[1], 2) < 0) {
      _exit(120);
    }
    for (const char *const *e = env; e != NULL && *e != NULL; e++) {
      if (putenv((char *)*e) != 0) {
        _exit(121);
      }
    }
    execv(path, (char *const *)argv);
    _exit(122);
  }
  if (with_stdin) {
    close(pin[0]);
  }
  close(pout[1]);
  close(perr[1]);
  return (cli_t){.pid = pid, .in = pin[1], .out = pout[0], .err = perr[0]};
}

/* Writes data (len bytes) to its stdin, then closes it, while reading its
 * stdout and stderr to EOF; returns its exit code, or -N when signal N
 * killed it. The whole run must end within ms. */
static int cli_finish(cli_t *c, const void *data, size_t len, th_buf_t *out,
                      th_buf_t *err, int64_t ms) {
  int64_t deadline = th_now_ms() + ms;
  size_t off = 0;
  if (c->in >= 0) {
    cr_assert_eq(fcntl(c->in, F_SETFL, O_NONBLOCK), 0);
    if (len == 0) {
      close(c->in);
      c->in = -1;
    }
  }
  while (c->out >= 0 || c->err >= 0 || c->in >= 0) {
    struct pollfd p[3];
    int n = 0, i_in = -1, i_out = -1, i_err = -1;
    if (c->in >= 0) {
      i_in = n;
      p[n++] = (struct pollfd){.fd = c->in, .events = POLLOUT};
    }
    if (c->out >= 0) {
      i_out = n;
      p[n++] = (struct pollfd){.fd = c->out, .events = POLLIN};
    }
    if (c->err >= 0) {
      i_err = n;
      p[n++] = (struct pollfd){.fd = c->err, .events = POLLIN};
    }
    int64_t left = deadline - th_now_ms();
    cr_assert(left > 0, "hcs still running after %lld ms", (long long)ms);
    int r = poll(p, (nfds_t)n, (int)left);
    cr_assert(r >= 0 || errno == EINTR, "poll: %s", strerror(errno));
    if (r <= 0) {
      continue;
    }
    if (i_in >= 0 && p[i_in].revents != 0) {
      ssize_t w = write(c->in, (const char *)data + off, len - off);
      if (w > 0) {
        off += (size_t)w;
      }
      cr_assert(w > 0 || errno == EAGAIN || errno == EINTR,
                "writing hcs's stdin: %s", strerror(errno));
      if (off == len) {
        close(c->in);
        c->in = -1;
      }
    }
    int *fds[2] = {&c->out, &c->err};
    int idx[2] = {i_out, i_err};
    th_buf_t *bufs[2] = {out, err};
    for (int k = 0; k < 2; k++) {
      if (idx[k] < 0 || p[idx[k]].revents == 0) {
        continue;
      }
      char buf[65536];
      ssize_t got = read(*fds[k], buf, sizeof(buf));
      if (got > 0) {
        th_buf_add(bufs[k], buf, (size_t)got);
      } else if (got == 0 || errno != EINTR) {
        close(*fds[k]);
        *fds[k] = -1;
      }
    }
  }
  int status;
  cr_assert_eq(waitpid(c->pid, &status, 0), c->pid);
  if (out->p == NULL) {
    th_buf_add(out, "", 0);
  }
  if (err->p == NULL) {
    th_buf_add(err, "", 0);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

/* Runs hcs with argv, no stdin, and returns its exit code. */
static int cli_run(const char *const *argv, th_buf_t *out, th_buf_t *err) {
  cli_t c = cli_start(argv, NULL, 0);
  return cli_finish(&c, NULL, 0, out, err, 60000);
}

static void end_check(int fds0) {
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0, "fds leaked");
}

#define ARGV(...) ((const char *const[]){"hcs", __VA_ARGS__, NULL})

Test(cli, exit_codes) {
  int fds0 = th_fd_count();
  th_buf_t out = {0}, err = {0};
  int code = cli_run(ARGV("run", "--", TH_HELPER("cli_exit"), "0"), &out, &err);
  cr_assert_eq(code, 0, "stderr: %s", err.p);
  cr_assert_str_eq(out.p, "");
  cr_assert_str_eq(err.p, "");
  th_buf_free(&out);
  th_buf_free(&err);

  code = cli_run(ARGV("run", "--", TH_HELPER("cli_exit"), "7"), &out, &err);
  cr_assert_eq(code, 7, "stderr: %s", err.p);
  th_buf_free(&out);
  th_buf_free(&err);

  /* Killed by SIGTERM / SIGKILL: 128+n. */
  code = cli_run(ARGV("run", "--", TH_HELPER("cli_exit"), "-15"), &out, &err);
  cr_assert_eq(code, 143, "stderr: %s", err.p);
  th_buf_free(&out);
  th_buf_free(&err);
  code = cli_run(ARGV("run", "--", TH_HELPER("cli_exit"), "-9"), &out, &err);
  cr_assert_eq(code, 137, "stderr: %s", err.p);
  th_buf_free(&out);
  th_buf_free(&err);

  /* Not found: 127 and the errno's words. */
  code = cli_run(ARGV("run", "--", "/nonexistent/hcs-prog", "a"), &out, &err);
  cr_assert_eq(code, 127, "stderr: %s", err.p);
  cr_assert(strstr(err.p, "/nonexistent/hcs-prog: No such file or directory"),
            "stderr: %s", err.p);
  cr_assert_str_eq(out.p, "");
  th_buf_free(&out);
  th_buf_free(&err);

  /* A missing working directory is not a missing program: 126, and the
   * message names the directory. */
  code = cli_run(ARGV("run", "-w", "/nonexistent/hcs-dir", "--", "true"), &out,
                 &err);
  cr_assert_eq(code, 126, "stderr: %s", err.p);
  cr_assert(strstr(err.p, "working directory /nonexistent/hcs-dir"),
            "stderr: %s", err.p);
  th_buf_free(&out);
  th_buf_free(&err);

  /* Not executable: 126. */
  char dir[] = "/tmp/hcs-cli-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char file[64];
  snprintf(file, sizeof(file), "%s/noexec", dir);
  int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  cr_assert_geq(fd, 0);
  th_write_all(fd, "#!/bin/sh\nexit 0\n", 17);
  close(fd);
  code = cli_run(ARGV("run", "--", file), &out, &err);
  cr_assert_eq(code, 126, "stderr: %s", err.p);
  cr_assert(strstr(err.p, "Permission denied"), "stderr: %s", err.p);
  th_buf_free(&out);
  th_buf_free(&err);
  unlink(file);
  rmdir(dir);
  end_check(fds0);
}

Test(cli, timeout_kills) {
  int fds0 = th_fd_count();
  th_buf_t out = {0}, err = {0};
  int64_t t0 = th_now_ms();
  int code =
      cli_run(ARGV("run", "--timeout", "300", "--", TH_HELPER("cli_sleeper")),
              &out, &err);
  int64_t took = th_now_ms() - t0;
  cr_assert_eq(code, 137, "stderr: %s", err.p);
  cr_assert(took >= 300 && took < 20000, "took %lld ms", (long long)took);
  th_buf_free(&out);
  th_buf_free(&err);
  /* A process that ends first is not killed. */
  code = cli_run(
      ARGV("run", "--timeout", "60000", "--", TH_HELPER("cli_exit"), "4"), &out,
      &err);
  cr_assert_eq(code, 4, "stderr: %s", err.p);
  th_buf_free(&out);
  th_buf_free(&err);
  end_check(fds0);
}

/* SIGTERM to hcs terminates its process, and hcs reports how it ended. */
Test(cli, signal_to_hcs_terminates) {
  int fds0 = th_fd_count();
  cli_t c = cli_start(
      ARGV("run", "--", TH_HELPER("cli_sleeper"), "ignore-term"), NULL, 0);
  th_buf_t out = {0}, err = {0};
  th_read_until(c.out, &out, "ready\n", 30000);
  cr_assert_eq(kill(c.pid, SIGTERM), 0);
  int code = cli_finish(&c, NULL, 0, &out, &err, 60000);
  cr_assert_eq(code, 137, "stderr: %s", err.p);
  cr_assert_str_eq(out.p, "ready\n");
  th_buf_free(&out);
  th_buf_free(&err);
  end_check(fds0);
}

Test(cli, stdout_and_stderr_pass_through) {
  int fds0 = th_fd_count();
  th_buf_t out = {0}, err = {0};
  int code = cli_run(ARGV("run", "--", TH_HELPER("cli_exit"), "3",
                          "to out\nline 2\n", "to err\n"),
                     &out, &err);
  cr_assert_eq(code, 3);
  cr_assert_str_eq(out.p, "to out\nline 2\n");
  cr_assert_str_eq(err.p, "to err\n");
  th_buf_free(&out);
  th_buf_free(&err);
  end_check(fds0);
}

Test(cli, stdin_with_i) {
  int fds0 = th_fd_count();
  enum { MIB = 1 << 20 };
  unsigned char *data = malloc(MIB);
  cr_assert_not_null(data);
  uint64_t x = 0x1234567;
  for (size_t i = 0; i < MIB; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    data[i] = (unsigned char)(x >> 56);
  }
  th_buf_t out = {0}, err = {0};
  cli_t c = cli_start(ARGV("run", "-i", "--", TH_HELPER("cli_cat")), NULL, 1);
  int code = cli_finish(&c, data, MIB, &out, &err, 120000);
  cr_assert_eq(code, 0, "stderr: %s", err.p);
  cr_assert_eq(out.len, (size_t)MIB);
  cr_assert(memcmp(out.p, data, MIB) == 0, "the bytes differ");
  th_buf_free(&out);
  th_buf_free(&err);
  free(data);

  /* Without -i the process's stdin is /dev/null: it reads EOF at once. */
  c = cli_start(ARGV("run", "--", TH_HELPER("cli_cat")), NULL, 1);
  code = cli_finish(&c, "not for it\n", 11, &out, &err, 60000);
  cr_assert_eq(code, 0, "stderr: %s", err.p);
  cr_assert_str_eq(out.p, "");
  th_buf_free(&out);
  th_buf_free(&err);

  /* -i with an empty stdin: EOF reaches the process. */
  c = cli_start(ARGV("run", "-i", "--", TH_HELPER("cli_cat")), NULL, 1);
  code = cli_finish(&c, NULL, 0, &out, &err, 60000);
  cr_assert_eq(code, 0, "stderr: %s", err.p);
  cr_assert_str_eq(out.p, "");
  th_buf_free(&out);
  th_buf_free(&err);
  end_check(fds0);
}

static int has_line(const char *text, const char *line) {
  size_t n = strlen(line);
  for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
    if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0')) {
      return 1;
    }
  }
  return 0;
}

Test(cli, environment_and_workdir) {
  int fds0 = th_fd_count();
  char dir[] = "/tmp/hcs-cli-w-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  const char *env[] = {"HCS_CLI_INH=yes", "HCS_CLI_OVR=old", NULL};
  cli_t c =
      cli_start(ARGV("run", "-e", "HCS_CLI_A=1", "-e", "HCS_CLI_B=two words",
                     "-e", "HCS_CLI_OVR=new", "-e", "HCS_CLI_EQ=a=b", "-w", dir,
                     "--", TH_HELPER("cli_env")),
                env, 0);
  th_buf_t out = {0}, err = {0};
  int code = cli_finish(&c, NULL, 0, &out, &err, 60000);
  cr_assert_eq(code, 0, "stderr: %s", err.p);
  char want[64];
  snprintf(want, sizeof(want), "cwd=%s", dir);
  cr_assert(has_line(out.p, want), "%s", out.p);
  cr_assert(has_line(out.p, "env=HCS_CLI_A=1"), "%s", out.p);
  cr_assert(has_line(out.p, "env=HCS_CLI_B=two words"), "%s", out.p);
  cr_assert(has_line(out.p, "env=HCS_CLI_EQ=a=b"), "%s", out.p);
  cr_assert(has_line(out.p, "env=HCS_CLI_INH=yes"), "inherited: %s", out.p);
  cr_assert(has_line(out.p, "env=HCS_CLI_OVR=new"), "%s", out.p);
  cr_assert(!has_line(out.p, "env=HCS_CLI_OVR=old"), "%s", out.p);
  th_buf_free(&out);
  th_buf_free(&err);
  rmdir(dir);
  end_check(fds0);
}

/* Bad usage: 125 and a message, nothing run. */
Test(cli, bad_usage) {
  int fds0 = th_fd_count();
  const struct {
    const char *const *argv;
    int code;
    const char *msg;
  } cases[] = {
      {ARGV("run"), 125, "no command given"},
      {ARGV("run", "-i"), 125, "no command given"},
      {ARGV("run", "--timeout", "soon", "--", TH_HELPER("cli_exit"), "0"), 125,
       "--timeout soon: expected milliseconds"},
      {ARGV("run", "--timeout", "-5", "--", TH_HELPER("cli_exit"), "0"), 125,
       "expected milliseconds"},
      {ARGV("run", "-e", "NOEQUALS", "--", TH_HELPER("cli_exit"), "0"), 125,
       "expected NAME=value"},
      {ARGV("run", "-e", "=v", "--", TH_HELPER("cli_exit"), "0"), 125,
       "expected NAME=value"},
      {ARGV("run", "-Z", "--", TH_HELPER("cli_exit"), "0"), 125,
       "usage: hcs run"},
      {ARGV("run", "--bogus", "--", TH_HELPER("cli_exit"), "0"), 125,
       "usage: hcs run"},
      {ARGV("run", "-w"), 125, "usage: hcs run"},
      {ARGV("bogus"), 2, "unknown command \"bogus\""},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    th_buf_t out = {0}, err = {0};
    int code = cli_run(cases[i].argv, &out, &err);
    cr_assert_eq(code, cases[i].code, "case %zu (%s): %d, stderr: %s", i,
                 cases[i].argv[1], code, err.p);
    cr_assert(strstr(err.p, cases[i].msg) != NULL,
              "case %zu: stderr lacks \"%s\": %s", i, cases[i].msg, err.p);
    cr_assert_str_eq(out.p, "", "case %zu", i);
    th_buf_free(&out);
    th_buf_free(&err);
  }
  /* No command at all: usage on stderr, 2. */
  th_buf_t out = {0}, err = {0};
  cli_t c = cli_start((const char *const[]){"hcs", NULL}, NULL, 0);
  int code = cli_finish(&c, NULL, 0, &out, &err, 60000);
  cr_assert_eq(code, 2);
  cr_assert(strstr(err.p, "usage: hcs") != NULL, "%s", err.p);
  th_buf_free(&out);
  th_buf_free(&err);
  end_check(fds0);
}

Test(cli, help) {
  int fds0 = th_fd_count();
  th_buf_t out = {0}, err = {0};
  int code = cli_run(ARGV("--help"), &out, &err);
  cr_assert_eq(code, 0);
  cr_assert(strstr(out.p, "usage: hcs") != NULL, "%s", out.p);
  cr_assert(strstr(out.p, "  run ") != NULL, "%s", out.p);
  cr_assert_str_eq(err.p, "");
  th_buf_free(&out);
  th_buf_free(&err);
  code = cli_run(ARGV("run", "--help"), &out, &err);
  cr_assert_eq(code, 0);
  cr_assert(strstr(out.p, "usage: hcs run") != NULL, "%s", out.p);
  cr_assert(strstr(out.p, "--timeout") != NULL, "%s", out.p);
  cr_assert_str_eq(err.p, "");
  th_buf_free(&out);
  th_buf_free(&err);
  end_check(fds0);
}

/* hcs run -t -i under a pty of ours that is its controlling terminal: the
 * process's console starts at our size, and follows it after SIGWINCH. */
Test(cli, tty_size_follows_terminal) {
  int fds0 = th_fd_count();
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  cr_assert_geq(m, 0, "posix_openpt: %s", strerror(errno));
  cr_assert_eq(grantpt(m), 0);
  cr_assert_eq(unlockpt(m), 0);
  char name[64];
  cr_assert_eq(ptsname_r(m, name, sizeof(name)), 0);
  struct winsize ws = {.ws_row = 33, .ws_col = 101};
  cr_assert_eq(ioctl(m, TIOCSWINSZ, &ws), 0);
  /* Opened here first, so that the master never sees a pty without a
   * slave (EIO) before hcs has it. */
  int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  cr_assert_geq(s, 0, "%s: %s", name, strerror(errno));
  const char *path = th_hcs_path();
  const char *const *argv =
      ARGV("run", "-t", "-i", "--", TH_HELPER("cli_winsz"));
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    /* A session of its own with our pty as its controlling terminal. */
    if (setsid() < 0 || ioctl(s, TIOCSCTTY, 0) != 0 || dup2(s, 0) < 0 ||
        dup2(s, 1) < 0 || dup2(s, 2) < 0) {
      _exit(120);
    }
    execv(path, (char *const *)argv);
    _exit(122);
  }
  close(s);
  th_buf_t b = {0};
  th_read_until(m, &b, "SIZE 33 101", 30000);

  ws = (struct winsize){.ws_row = 50, .ws_col = 132};
  cr_assert_eq(ioctl(m, TIOCSWINSZ, &ws), 0);
  /* The kernel signals the terminal's foreground group (hcs); say it
   * again the way a terminal emulator's parent might. */
  cr_assert_eq(kill(pid, SIGWINCH), 0);
  th_write_all(m, "x", 1);
  th_read_until(m, &b, "SIZE 50 132", 30000);

  ws = (struct winsize){.ws_row = 20, .ws_col = 70};
  cr_assert_eq(ioctl(m, TIOCSWINSZ, &ws), 0);
  cr_assert_eq(kill(pid, SIGWINCH), 0);
  th_write_all(m, "x", 1);
  th_read_until(m, &b, "SIZE 20 70", 30000);

  th_write_all(m, "q", 1);
  th_read_all(&m, &b, 1, 30000); /* EIO once hcs, the last user, is gone */
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "hcs status 0x%x; output: %s", status, b.p);
  cr_assert(strstr(b.p, "SIZE 33 101") < strstr(b.p, "SIZE 50 132"));
  th_buf_free(&b);
  end_check(fds0);
}
