/* SPDX-License-Identifier: MIT */
/* exec-gateway: a small exec gateway embedding libhcs.
 *
 * The server listens on a unix socket. A client sends one command line
 * ended by '\n', run by /bin/sh -c; every byte after it goes to the
 * command's stdin, and the client shutting its writing side closes that
 * stdin. The answer is a series of frames, each a text header line and,
 * for output, that many bytes:
 *
 *   stdout N\n<N bytes>    stderr N\n<N bytes>
 *   exit CODE\n            (last: 0-255, 128+n after signal n)
 *   error TEXT\n           (last: the command could not be started)
 *
 * Everything runs on one thread, the hcs engine loop (hcs_open with
 * no_thread): the listener and the connections are libhcs-async handles
 * on that loop, the commands hcs sessions on it. Output is held in the
 * session's buffers until the client has taken it, so a slow client slows
 * its command down instead of growing a buffer; a client that goes away
 * has its command killed.
 *
 * The same program is also a client: exec-gateway -c SOCKET [-i] CMD...
 */
#include <hcs-async.h>
#include <hcs.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { LINE_MAX_BYTES = 4096, HDR_BYTES = 48 };

typedef struct gateway_s gateway_t;

/* One connection: lives in the connection's extra bytes (as_conn_extra),
 * so its memory goes with the connection. */
typedef struct client_s {
  gateway_t *gw;
  as_conn_t *conn;
  struct client_s *prev, *next; /* the gateway's list */
  hcs_session_t *session;       /* while the command runs */
  char line[LINE_MAX_BYTES];
  size_t line_len;
  int gone;                /* the peer went away */
  int closed;              /* as_conn_close was called */
  as_conn_wreq_t last_req; /* the exit or error frame */
  char last_hdr[HDR_BYTES];
} client_t;

struct gateway_s {
  hcs_t *hcs;
  as_loop_t *loop;
  as_listener_t *listener;
  client_t *clients;
  int stopping;
};

/* An output frame in flight: the session's buffer is held until the
 * connection has written it. */
typedef struct frame_s {
  as_conn_wreq_t req;
  hcs_session_t *session;
  int stream;
  char *buf;
  char hdr[HDR_BYTES];
} frame_t;

/* Bytes for the command's stdin, held in the connection's buffer until
 * the session has written them. */
typedef struct input_s {
  as_conn_t *conn;
  char *buf;
} input_t;

static void client_close(client_t *cl) {
  if (cl->closed) {
    return;
  }
  cl->closed = 1;
  if (cl->prev != NULL) {
    cl->prev->next = cl->next;
  } else {
    cl->gw->clients = cl->next;
  }
  if (cl->next != NULL) {
    cl->next->prev = cl->prev;
  }
  as_conn_close(cl->conn);
}

static void last_written(as_conn_wreq_t *req, int status) {
  client_t *cl = (client_t *)((char *)req - offsetof(client_t, last_req));
  (void)status;
  /* What was written stays in the peer's receive queue after close. */
  client_close(cl);
}

/* Sends the closing frame (exit or error) and then closes. */
static void client_finish(client_t *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void client_finish(client_t *cl, const char *fmt, ...) {
  if (cl->gone || cl->closed) {
    client_close(cl);
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(cl->last_hdr, sizeof(cl->last_hdr), fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(cl->last_hdr)) {
    n = snprintf(cl->last_hdr, sizeof(cl->last_hdr), "error frame\n");
  }
  as_iov_t iov = {cl->last_hdr, (size_t)n};
  if (as_conn_write(cl->conn, &cl->last_req, &iov, 1, last_written) != 0) {
    client_close(cl);
  }
}

static void frame_written(as_conn_wreq_t *req, int status) {
  frame_t *f = (frame_t *)req;
  (void)status;
  hcs_session_release(f->session, f->stream, f->buf);
  hcs_session_unref(f->session);
  as_free(f);
}

static void on_output(hcs_session_t *s, int stream, char *buf, size_t len,
                      void *data) {
  client_t *cl = data;
  if (len == 0 || cl->gone) {
    return; /* EOF: the done callback ends the answer */
  }
  frame_t *f = as_malloc(sizeof(*f));
  if (f == NULL) {
    hcs_session_kill(s, SIGKILL); /* output can no longer be delivered */
    return;
  }
  int n = snprintf(f->hdr, sizeof(f->hdr), "%s %zu\n",
                   stream == HCS_STDERR ? "stderr" : "stdout", len);
  f->session = s;
  f->stream = stream;
  f->buf = buf;
  as_iov_t iov[2] = {{f->hdr, (size_t)n}, {buf, len}};
  hcs_session_hold(s, stream, buf);
  hcs_session_ref(s);
  if (as_conn_write(cl->conn, &f->req, iov, 2, frame_written) != 0) {
    frame_written(&f->req, -EPIPE);
  }
}

static void on_done(hcs_session_t *s, const hcs_process_result_t *r,
                    void *data) {
  client_t *cl = data;
  cl->session = NULL;
  hcs_session_unref(s);
  if (r->exec_errno != 0) {
    client_finish(cl, "error cannot run /bin/sh: %s\n",
                  strerror(r->exec_errno));
  } else {
    client_finish(cl, "exit %d\n", (int)r->exit_code);
  }
}

static void input_written(hcs_session_t *s, int status, void *data) {
  input_t *in = data;
  (void)s;
  (void)status; /* a command that does not read its stdin is no error */
  as_conn_release(in->conn, in->buf);
  as_free(in);
}

/* Passes len bytes at buf + off (buf being the connection's buffer of
 * the data callback under way) to the command's stdin. */
static void client_input(client_t *cl, char *buf, size_t off, size_t len) {
  input_t *in = as_malloc(sizeof(*in));
  if (in == NULL) {
    hcs_session_kill(cl->session, SIGKILL);
    return;
  }
  in->conn = cl->conn;
  in->buf = buf;
  as_conn_hold(cl->conn, buf);
  if (hcs_session_write(cl->session, buf + off, len, input_written, in) != 0) {
    input_written(cl->session, -EPIPE, in);
  }
}

static int client_start(client_t *cl) {
  cl->line[cl->line_len] = '\0';
  const char *argv[] = {"/bin/sh", "-c", cl->line, NULL};
  hcs_session_options_t o;
  memset(&o, 0, sizeof(o));
  o.argv = argv;
  o.use_stdin = o.use_stdout = o.use_stderr = true;
  o.cb.data = on_output;
  o.cb.done = on_done;
  o.data = cl;
  int rc = hcs_session_start(cl->gw->hcs, &o, &cl->session);
  if (rc != 0) {
    cl->session = NULL;
    client_finish(cl, "error cannot start: %s\n", strerror(-rc));
  }
  return rc;
}

static void on_conn_data(as_conn_t *c, char *buf, size_t len, void *data) {
  client_t *cl = data;
  (void)c;
  if (cl->session != NULL) {
    if (len == 0) {
      hcs_session_close_stdin(cl->session);
    } else {
      client_input(cl, buf, 0, len);
    }
    return;
  }
  if (cl->closed || cl->last_hdr[0] != '\0') {
    return; /* answered already; the rest is ignored */
  }
  char *nl = len > 0 ? memchr(buf, '\n', len) : NULL;
  size_t take = nl != NULL ? (size_t)(nl - buf) : len;
  if (cl->line_len + take >= sizeof(cl->line)) {
    client_finish(cl, "error command line longer than %d bytes\n",
                  LINE_MAX_BYTES - 1);
    return;
  }
  memcpy(cl->line + cl->line_len, buf, take);
  cl->line_len += take;
  if (nl == NULL && len > 0) {
    return; /* the line goes on in the next read */
  }
  if (client_start(cl) != 0) {
    return;
  }
  if (len == 0) {
    hcs_session_close_stdin(cl->session);
  } else if (take + 1 < len) {
    client_input(cl, buf, take + 1, len - take - 1);
  }
}

static void on_conn_gone(as_conn_t *c, int status, void *data) {
  client_t *cl = data;
  (void)c;
  (void)status;
  cl->gone = 1;
  if (cl->session != NULL) {
    /* on_done closes the connection once the command has ended. */
    hcs_session_kill(cl->session, SIGKILL);
  } else {
    client_close(cl);
  }
}

static void on_accept(as_listener_t *l, as_conn_t *c, void *data) {
  gateway_t *gw = data;
  (void)l;
  client_t *cl = as_conn_extra(c);
  cl->gw = gw;
  cl->conn = c;
  cl->next = gw->clients;
  if (gw->clients != NULL) {
    gw->clients->prev = cl;
  }
  gw->clients = cl;
  static const as_conn_cbs_t cbs = {on_conn_data, on_conn_gone};
  as_conn_start(c, &cbs, cl);
}

/* Runs on the loop: no new clients; running commands get SIGTERM and
 * answer as usual, idle connections are closed. as_loop_run returns when
 * the last connection is gone. */
static void stop_fn(as_loop_t *loop, void *data) {
  gateway_t *gw = data;
  (void)loop;
  gw->stopping = 1;
  as_listener_close(gw->listener);
  gw->listener = NULL;
  client_t *next;
  for (client_t *cl = gw->clients; cl != NULL; cl = next) {
    next = cl->next;
    if (cl->session != NULL) {
      hcs_session_kill(cl->session, SIGTERM);
    } else if (cl->last_hdr[0] == '\0') {
      client_close(cl);
    }
  }
}

/* SIGINT and SIGTERM are blocked in every thread; this one takes them. */
static void *signal_thread(void *arg) {
  gateway_t *gw = arg;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig;
  if (sigwait(&set, &sig) == 0) {
    fprintf(stderr, "exec-gateway: signal %d: stopping\n", sig);
    (void)as_loop_post(gw->loop, stop_fn, gw);
  }
  return NULL;
}

static int serve(const char *path) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);

  gateway_t gw;
  memset(&gw, 0, sizeof(gw));
  hcs_options_t ho = {.no_thread = true};
  hcs_error_t *err = NULL;
  if (hcs_open(&gw.hcs, &ho, &err) != HCS_OK) {
    fprintf(stderr, "exec-gateway: %s\n", hcs_error_message(err));
    hcs_error_free(err);
    return 1;
  }
  gw.loop = hcs_engine_loop(gw.hcs);
  int rc = as_listen_unix(gw.loop, path, 0600, -1, sizeof(client_t), on_accept,
                          &gw, &gw.listener);
  if (rc != 0) {
    fprintf(stderr, "exec-gateway: listen on %s: %s\n", path, strerror(-rc));
    hcs_close(gw.hcs);
    return 1;
  }
  pthread_t tid;
  if (pthread_create(&tid, NULL, signal_thread, &gw) != 0) {
    fprintf(stderr, "exec-gateway: cannot start the signal thread\n");
    as_listener_close(gw.listener);
    hcs_close(gw.hcs);
    return 1;
  }
  printf("exec-gateway: libhcs %s, listening on %s\n", hcs_version(), path);
  fflush(stdout);
  as_loop_run(gw.loop, 0);
  pthread_join(tid, NULL);
  hcs_close(gw.hcs);
  return 0;
}

/* The client: plain blocking sockets, nothing of hcs. */

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k <= 0) {
      return -1;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Reads one header line (without its '\n') into hdr. */
static int read_header(FILE *in, char *hdr, size_t size) {
  if (fgets(hdr, (int)size, in) == NULL) {
    return -1;
  }
  size_t n = strlen(hdr);
  if (n == 0 || hdr[n - 1] != '\n') {
    return -1;
  }
  hdr[n - 1] = '\0';
  return 0;
}

/* Copies n bytes of a frame from in to out. */
static int copy_bytes(FILE *in, FILE *out, size_t n) {
  char buf[8192];
  while (n > 0) {
    size_t want = n < sizeof(buf) ? n : sizeof(buf);
    size_t got = fread(buf, 1, want, in);
    if (got == 0) {
      return -1;
    }
    fwrite(buf, 1, got, out);
    n -= got;
  }
  fflush(out);
  return 0;
}

static int read_answer(int fd) {
  FILE *in = fdopen(fd, "r");
  if (in == NULL) {
    close(fd);
    return 125;
  }
  char hdr[HDR_BYTES + LINE_MAX_BYTES];
  int code = 125;
  while (read_header(in, hdr, sizeof(hdr)) == 0) {
    size_t n;
    if (sscanf(hdr, "stdout %zu", &n) == 1 && copy_bytes(in, stdout, n) == 0) {
      continue;
    }
    if (sscanf(hdr, "stderr %zu", &n) == 1 && copy_bytes(in, stderr, n) == 0) {
      continue;
    }
    if (sscanf(hdr, "exit %d", &code) == 1) {
      code = code >= 0 && code <= 255 ? code : 125;
    } else if (strncmp(hdr, "error ", 6) == 0) {
      fprintf(stderr, "exec-gateway: %s\n", hdr + 6);
    } else {
      fprintf(stderr, "exec-gateway: bad frame \"%s\"\n", hdr);
    }
    break;
  }
  fclose(in);
  return code;
}

static int client(const char *path, int pass_stdin, int argc, char **argv) {
  char line[LINE_MAX_BYTES];
  size_t len = 0;
  for (int i = 0; i < argc; i++) {
    int n =
        snprintf(line + len, sizeof(line) - len, "%s%s", i ? " " : "", argv[i]);
    if (n < 0 || (size_t)n >= sizeof(line) - len - 1) {
      fprintf(stderr, "exec-gateway: command line too long\n");
      return 125;
    }
    len += (size_t)n;
  }
  line[len++] = '\n';
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) {
    fprintf(stderr, "exec-gateway: socket path too long\n");
    return 125;
  }
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
      write_all(fd, line, len) != 0) {
    fprintf(stderr, "exec-gateway: %s: %s\n", path, strerror(errno));
    if (fd >= 0) {
      close(fd);
    }
    return 125;
  }
  /* Sent whole before the answer is read: a gateway extended to answer
   * while it reads would want a poll loop here. */
  char buf[8192];
  ssize_t n;
  while (pass_stdin && (n = read(0, buf, sizeof(buf))) > 0) {
    if (write_all(fd, buf, (size_t)n) != 0) {
      break;
    }
  }
  shutdown(fd, SHUT_WR);
  return read_answer(fd);
}

static void usage(FILE *f) {
  fprintf(f, "usage: exec-gateway [-s SOCKET]\n"
             "       exec-gateway -c SOCKET [-i] COMMAND...\n"
             "\n"
             "  -s SOCKET  serve on SOCKET (default: exec-gateway.sock)\n"
             "  -c SOCKET  send COMMAND to the gateway on SOCKET, print its\n"
             "             output and exit with its exit code\n"
             "  -i         with -c: pass stdin to the command\n");
}

int main(int argc, char **argv) {
  const char *serve_path = "exec-gateway.sock", *client_path = NULL;
  int pass_stdin = 0, c;
  while ((c = getopt(argc, argv, "+s:c:ih")) != -1) {
    switch (c) {
    case 's':
      serve_path = optarg;
      break;
    case 'c':
      client_path = optarg;
      break;
    case 'i':
      pass_stdin = 1;
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (client_path != NULL) {
    if (optind >= argc) {
      usage(stderr);
      return 2;
    }
    return client(client_path, pass_stdin, argc - optind, argv + optind);
  }
  if (optind != argc) {
    usage(stderr);
    return 2;
  }
  return serve(serve_path);
}
