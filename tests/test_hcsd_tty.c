/* SPDX-License-Identifier: MIT */
/* docker run -it and docker exec -it against hcsd through a real terminal:
 * a private tmux server (tmux -L <unique name> -f /dev/null) whose pane
 * runs a shell; the pane's output comes back through `pipe-pane` into a
 * FIFO the test reads, so every wait is on output, with a watchdog. The
 * container's shell reports `stty size` (the tmux window's rows and
 * columns), again after `tmux resize-window`, and its `exit 7` becomes
 * the CLI's exit code, which the pane's shell prints as EXIT=7. */
#include "hcsd_e2e.h"

#define TX_MS 30000

TestSuite(hcsd_tty, .timeout = 180);

typedef struct tx_s {
  char name[64];  /* the -L socket name */
  char fifo[192]; /* the pane's output */
  int fd;         /* our read end of the FIFO */
  th_buf_t out;   /* the pane's output so far */
  size_t seen;    /* bytes of out already matched */
  pid_t server;   /* the tmux server (our child: we are its subreaper) */
} tx_t;

static tx_t tx;

/* tmux -L name -f /dev/null ARGS...: asserts exit 0. */
#define tmux_ok(...)                                                           \
  do {                                                                         \
    he_cmd_t tx_c_;                                                            \
    he_run_argv(                                                               \
        &tx_c_, NULL, 0,                                                       \
        HE_ARGV("tmux", "-L", tx.name, "-f", "/dev/null", __VA_ARGS__));       \
    he_expect_code(&tx_c_, 0);                                                 \
    he_cmd_free(&tx_c_);                                                       \
  } while (0)

/* Reads pane output until needle appears past tx.seen; moves tx.seen past
 * it. */
static void tx_expect(const char *needle) {
  int64_t deadline = th_now_ms() + TX_MS;
  for (;;) {
    if (tx.out.p != NULL) {
      const char *hit = memmem(tx.out.p + tx.seen, tx.out.len - tx.seen, needle,
                               strlen(needle));
      if (hit != NULL) {
        tx.seen = (size_t)(hit - tx.out.p) + strlen(needle);
        return;
      }
    }
    int64_t left = deadline - th_now_ms();
    cr_assert(left > 0,
              "no \"%s\" in the pane after %d ms; pane:\n%s\n"
              "daemon log:\n%s",
              needle, TX_MS, tx.out.p != NULL ? tx.out.p + tx.seen : "",
              he_log_tail());
    struct pollfd pf = {.fd = tx.fd, .events = POLLIN};
    if (poll(&pf, 1, (int)left) <= 0) {
      continue;
    }
    char buf[4096];
    ssize_t n = read(tx.fd, buf, sizeof(buf));
    if (n > 0) {
      th_buf_add(&tx.out, buf, (size_t)n);
    }
  }
}

/* Reads until the next "SZ=<rows> <cols>=" the container's shell prints
 * (skipping the echo of the typed command, "SZ=$(stty size)="). */
static void tx_size(int *rows, int *cols) {
  for (;;) {
    tx_expect("SZ=");
    int used = 0;
    const char *p = tx.out.p + tx.seen;
    if (sscanf(p, "%d %d%n", rows, cols, &used) == 2 && p[used] == '=') {
      return;
    }
  }
}

static void tx_type(const char *text) {
  tmux_ok("send-keys", "-t", "e2e", "-l", text);
  tmux_ok("send-keys", "-t", "e2e", "Enter");
}

/* The daemon, then a tmux server whose one window is cols x rows, its pane
 * a shell with DOCKER_HOST set, its output piped to our FIFO. */
static void tx_setup(void) {
  he_setup();
  memset(&tx, 0, sizeof(tx));
  tx.fd = -1;
  snprintf(tx.name, sizeof(tx.name), "hcsd-e2e-%d", (int)getpid());
  snprintf(tx.fifo, sizeof(tx.fifo), "%s/pane.fifo", he.dir);
  cr_assert_eq(mkfifo(tx.fifo, 0600), 0, "mkfifo: %s", strerror(errno));
  /* Read-write: we are a writer too, so the FIFO never reads as EOF while
   * tmux's `cat` comes and goes, and poll() waits for real output. */
  tx.fd = open(tx.fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  cr_assert_geq(tx.fd, 0, "open %s: %s", tx.fifo, strerror(errno));
  char shell[512];
  snprintf(shell, sizeof(shell), "env %s %s PS1='$ ' /bin/sh", he.env_host,
           he.env_cfg);
  tmux_ok("new-session", "-d", "-s", "e2e", "-x", "100", "-y", "30", shell);
  tmux_ok("set-option", "-g", "status", "off");
  he_cmd_t c;
  he_run_argv(&c, NULL, 0,
              HE_ARGV("tmux", "-L", tx.name, "display-message", "-p", "-t",
                      "e2e", "#{pid}"));
  he_expect_code(&c, 0);
  tx.server = (pid_t)atoi(c.o.p);
  cr_assert_gt(tx.server, 0, "tmux server pid: %s", c.o.p);
  he_cmd_free(&c);
  char pipe_cmd[256];
  snprintf(pipe_cmd, sizeof(pipe_cmd), "cat >> %s", tx.fifo);
  tmux_ok("pipe-pane", "-t", "e2e", pipe_cmd);
  tx_type("echo READY-$((6*7))");
  tx_expect("READY-42");
}

/* kill-server, then wait (not kill) for the server and the pane's
 * processes, which this subreaper inherits, to end. */
static void tx_stop(void) {
  tmux_ok("kill-server");
  int64_t deadline = th_now_ms() + TX_MS;
  for (;;) {
    pid_t kids[64];
    int n = he_children(kids, 64), others = 0;
    for (int i = 0; i < n && i < 64; i++) {
      if (kids[i] == he.pid) {
        continue;
      }
      others++;
      int pfd = he_pidfd_open(kids[i]);
      if (pfd >= 0) {
        struct pollfd pf = {.fd = pfd, .events = POLLIN};
        int64_t left = deadline - th_now_ms();
        (void)poll(&pf, 1, (int)(left > 0 ? left : 0));
        close(pfd);
      }
      (void)waitpid(kids[i], NULL, WNOHANG);
    }
    if (others == 0) {
      break;
    }
    cr_assert(th_now_ms() < deadline, "%d processes of tmux still running",
              others);
  }
  tx.server = 0;
  close(tx.fd);
  tx.fd = -1;
  th_buf_free(&tx.out);
}

static void tx_teardown(void) {
  if (tx.server != 0) {
    /* Only our private server, by its -L name. */
    he_cmd_t c;
    he_cmd_start(
        &c, HE_ARGV("tmux", "-L", tx.name, "-f", "/dev/null", "kill-server"),
        NULL, 0);
    tx.server = 0;
    he_cmds_wait(&c, 1, 10000);
    he_cmd_free(&c);
  }
  if (tx.fd >= 0) {
    close(tx.fd);
  }
  he_teardown();
}

/* Types `echo SZ=$(stty size)=` until the shell reports rows x cols (a
 * resize reaches the container after the CLI's SIGWINCH round trip). */
static void tx_expect_size(int want_rows, int want_cols) {
  int rows = 0, cols = 0;
  for (int i = 0; i < 20; i++) {
    tx_type("echo SZ=$(stty size)=");
    tx_size(&rows, &cols);
    if (rows == want_rows && cols == want_cols) {
      return;
    }
  }
  cr_assert_fail("stty size says %d %d, want %d %d", rows, cols, want_rows,
                 want_cols);
}

Test(hcsd_tty, run_it, .init = tx_setup, .fini = tx_teardown) {
  tx_type("docker run -it --rm --name tt busybox sh; echo EXIT=$?");
  tx_expect_size(30, 100);
  /* The container's stdin is the terminal, its stdout too. */
  tx_type("[ -t 0 ] && [ -t 1 ] && echo TTY-$((1+1))");
  tx_expect("TTY-2");
  tmux_ok("resize-window", "-t", "e2e", "-x", "120", "-y", "40");
  tx_expect_size(40, 120);
  tx_type("exit 7");
  tx_expect("EXIT=7");
  he_cmd_t c;
  he_docker_ok(&c, "ps", "-a", "--format", "{{.Names}}");
  cr_assert_str_eq(c.o.p, "", "--rm left: %s", c.o.p);
  he_cmd_free(&c);
  tx_stop();
  he_end();
}

Test(hcsd_tty, exec_it, .init = tx_setup, .fini = tx_teardown) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", "tx", "busybox", "sleep", "300");
  he_cmd_free(&c);
  tx_type("docker exec -it tx sh; echo EXIT=$?");
  tx_expect_size(30, 100);
  tx_type("[ -t 0 ] && [ -t 1 ] && echo TTY-$((1+1))");
  tx_expect("TTY-2");
  tmux_ok("resize-window", "-t", "e2e", "-x", "90", "-y", "25");
  tx_expect_size(25, 90);
  tx_type("exit 7");
  tx_expect("EXIT=7");
  /* The container runs on. */
  char line[64];
  he_docker_line(line, sizeof(line), "inspect", "-f", "{{.State.Running}}",
                 "tx");
  cr_assert_str_eq(line, "true");
  he_docker_ok(&c, "rm", "-f", "tx");
  he_cmd_free(&c);
  tx_stop();
  he_end();
}
