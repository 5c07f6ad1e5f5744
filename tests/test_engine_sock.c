/* SPDX-License-Identifier: MIT */
/* Work, timers and unix stream sockets on the engine's loop (as_loop_work,
 * as_timer_*, as_listen_unix, as_conn_*), reached through the loop of an
 * hcs service (hcs_engine_loop). The server side runs on the
 * engine thread of a no_thread service (the test's main thread, so its
 * callbacks may assert); peers are plain blocking sockets on a thread of
 * their own, which record what they saw for the main thread to check. */
#include "test_engine_util.h"

#include <fcntl.h>
#include <hcs.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

enum { MiB = 1024 * 1024, WATCHDOG_MS = 60000 };

/* A service, a scratch directory with a socket path in it, a watchdog. */
typedef struct env_s {
  hcs_t *hcs;
  int fds0;
  char dir[32];
  char path[96];
  as_timer_t *wd;
} env_t;

static void wd_fire(as_timer_t *t, void *data) {
  (void)t;
  cr_assert_fail("watchdog: %s still running", (const char *)data);
}

static void env_open(env_t *e, const char *what) {
  memset(e, 0, sizeof(*e));
  e->fds0 = te_fd_baseline();
  snprintf(e->dir, sizeof(e->dir), "/tmp/hcs-sock-XXXXXX");
  cr_assert_not_null(mkdtemp(e->dir), "mkdtemp: %s", strerror(errno));
  snprintf(e->path, sizeof(e->path), "%s/s.sock", e->dir);
  hcs_error_t *err = NULL;
  hcs_result_t r = hcs_open(&e->hcs, &(hcs_options_t){.no_thread = true}, &err);
  cr_assert_eq(r, HCS_OK, "hcs_open: %s",
               err != NULL ? hcs_error_message(err) : "?");
  /* Unref'd: it fails the test if the loop outlives it, and does not keep
   * the loop running. */
  cr_assert_eq(as_timer_new(hcs_engine_loop(e->hcs), &e->wd), 0);
  as_timer_arm(e->wd, WATCHDOG_MS, wd_fire, (void *)what);
}

static void env_close(env_t *e) {
  as_timer_free(e->wd);
  hcs_close(e->hcs);
  cr_assert_eq(access(e->path, F_OK), -1, "the socket file is left");
  cr_assert_eq(rmdir(e->dir), 0, "rmdir %s: %s", e->dir, strerror(errno));
  cr_assert_eq(te_fd_count(), e->fds0, "fds leaked");
  te_assert_no_child();
}

static int peer_connect(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -errno;
  }
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  return fd;
}

static int send_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k < 0) {
      return -errno;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Reads until EOF: how many bytes, their hash, the first max of them. */
static ssize_t recv_to_eof(int fd, uint64_t *hash, char *first, size_t max) {
  static char buf[65536];
  size_t total = 0;
  for (;;) {
    ssize_t k = recv(fd, buf, sizeof(buf), 0);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k < 0) {
      return -errno;
    }
    if (k == 0) {
      return (ssize_t)total;
    }
    if (hash != NULL) {
      *hash = te_fnv1a(*hash, buf, (size_t)k);
    }
    if (first != NULL && total < max) {
      size_t room = max - total;
      memcpy(first + total, buf, (size_t)k < room ? (size_t)k : room);
    }
    total += (size_t)k;
  }
}

static unsigned char *pattern_buf(uint64_t seed, size_t n) {
  unsigned char *b = malloc(n);
  cr_assert_not_null(b);
  te_pattern_t p = te_pattern(seed, 0);
  te_pattern_fill(&p, b, n);
  return b;
}

/* Writes through a request of the test's own (the engine lends it until
 * the callback), with a callback in the shape the cases check. */
typedef void (*tw_cb)(as_conn_t *c, int status, void *data);
typedef struct tw_s {
  as_conn_wreq_t req; /* first: the engine hands it back */
  as_conn_t *c;
  tw_cb cb;
  void *data;
} tw_t;

static void tw_done(as_conn_wreq_t *req, int status) {
  tw_t *w = (tw_t *)req;
  if (w->cb != NULL) {
    w->cb(w->c, status, w->data);
  }
  free(w);
}

static int tw_write(as_conn_t *c, const as_iov_t *v, int n, tw_cb cb,
                    void *data) {
  tw_t *w = calloc(1, sizeof(*w));
  cr_assert_not_null(w);
  *w = (tw_t){.c = c, .cb = cb, .data = data};
  int err = as_conn_write(c, &w->req, v, n, tw_done);
  if (err != 0) {
    free(w);
  }
  return err;
}

/* An echo server: echoes the buffers it is lent (held until written), shuts
 * down after the peer's EOF, closes a connection when it is gone, and the
 * listener after want. */
typedef struct echo_s {
  as_listener_t *l;
  int want, accepted, gone, eofs, peer_checked;
} echo_t;

static void echo_written(as_conn_t *c, int status, void *data) {
  (void)status;
  as_conn_release(c, data);
}

static void echo_data(as_conn_t *c, char *buf, size_t len, void *data) {
  echo_t *e = data;
  if (len == 0) {
    e->eofs++;
    as_conn_shutdown(c);
    as_conn_shutdown(c);
    return;
  }
  as_iov_t v = {buf, len};
  as_conn_hold(c, buf);
  cr_assert_eq(tw_write(c, &v, 1, echo_written, buf), 0);
}

static void echo_gone(as_conn_t *c, int status, void *data) {
  echo_t *e = data;
  cr_assert_eq(status, -EPIPE, "gone: %s", strerror(-status));
  as_conn_close(c);
  if (++e->gone == e->want) {
    as_listener_close(e->l);
  }
}

static void echo_accept(as_listener_t *l, as_conn_t *c, void *data) {
  echo_t *e = data;
  cr_assert_eq(l, e->l);
  e->accepted++;
  if (!e->peer_checked) {
    int pid = 0;
    unsigned uid = 1, gid = 1;
    cr_assert_eq(as_conn_peer(c, &pid, &uid, &gid), 0);
    cr_assert_eq(pid, (int)getpid());
    cr_assert_eq(uid, (unsigned)getuid());
    cr_assert_eq(gid, (unsigned)getgid());
    cr_assert_eq(as_conn_peer(c, NULL, NULL, NULL), 0);
    as_iov_t v[AS_CONN_IOV_MAX + 1];
    memset(v, 0, sizeof(v));
    cr_assert_eq(tw_write(c, v, 0, NULL, NULL), -EINVAL);
    cr_assert_eq(tw_write(c, v, AS_CONN_IOV_MAX + 1, NULL, NULL), -EINVAL);
    e->peer_checked = 1;
  }
  as_conn_start(c, &(as_conn_cbs_t){echo_data, echo_gone}, e);
}

/* n peers at once: each sends its message, shuts down, reads the echo. */
typedef struct echo_peers_s {
  const char *path;
  int n;
  size_t msg_len;
  int failed; /* the first failing peer + 1 */
  char why[128];
} echo_peers_t;

static void peers_fail(echo_peers_t *p, int i, const char *what, int err) {
  if (p->failed == 0) {
    p->failed = i + 1;
    snprintf(p->why, sizeof(p->why), "%s: %s", what, strerror(-err));
  }
}

static void *echo_peers_main(void *arg) {
  echo_peers_t *p = arg;
  int *fd = calloc((size_t)p->n, sizeof(int));
  char *msg = malloc(p->msg_len), *back = malloc(p->msg_len + 1);
  for (int i = 0; i < p->n; i++) {
    fd[i] = peer_connect(p->path);
    if (fd[i] < 0) {
      peers_fail(p, i, "connect", fd[i]);
      p->n = i;
      break;
    }
  }
  for (int i = 0; i < p->n; i++) {
    memset(msg, 'a' + i % 26, p->msg_len);
    snprintf(msg, p->msg_len, "peer %d", i);
    int err = send_all(fd[i], msg, p->msg_len);
    if (err != 0 || shutdown(fd[i], SHUT_WR) != 0) {
      peers_fail(p, i, "send", err != 0 ? err : -errno);
    }
  }
  for (int i = 0; i < p->n; i++) {
    memset(msg, 'a' + i % 26, p->msg_len);
    snprintf(msg, p->msg_len, "peer %d", i);
    ssize_t got = recv_to_eof(fd[i], NULL, back, p->msg_len + 1);
    if (got != (ssize_t)p->msg_len || memcmp(back, msg, p->msg_len) != 0) {
      peers_fail(p, i, "echo", got < 0 ? (int)got : -EBADMSG);
    }
    close(fd[i]);
  }
  free(fd);
  free(msg);
  free(back);
  return NULL;
}

Test(engine_sock, listen_echo_mode_group) {
  env_t env;
  env_open(&env, "echo");
  gid_t gid = geteuid() == 0 ? 4242 : getgid();
  echo_t e = {.want = 3};
  cr_assert_eq(as_listen_unix(hcs_engine_loop(env.hcs), env.path, 0660,
                              (int)gid, 0, echo_accept, &e, &e.l),
               0);
  struct stat st;
  cr_assert_eq(lstat(env.path, &st), 0);
  cr_assert(S_ISSOCK(st.st_mode));
  cr_assert_eq(st.st_mode & 07777, 0660, "mode %o", st.st_mode & 07777);
  cr_assert_eq(st.st_gid, gid);

  echo_peers_t p = {.path = env.path, .n = 3, .msg_len = 100000};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, echo_peers_main, &p), 0);
  cr_assert_eq(as_loop_run(hcs_engine_loop(env.hcs), 0), 0);
  pthread_join(th, NULL);
  cr_assert_eq(p.failed, 0, "peer %d: %s", p.failed - 1, p.why);
  cr_assert_eq(e.accepted, 3);
  cr_assert_eq(e.eofs, 3);
  cr_assert_eq(e.gone, 3);
  cr_assert_eq(access(env.path, F_OK), -1, "listener close removes the file");
  env_close(&env);
}

/* A socket bound and listening before the engine sees it, as a service
 * manager hands one over (sd_listen_fds(3)). */
static int bound_listening(const char *path, int flags) {
  int fd = socket(AF_UNIX, SOCK_STREAM | flags, 0);
  cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind: %s",
               strerror(errno));
  return fd;
}

Test(engine_sock, listen_fd_adopts) {
  env_t env;
  env_open(&env, "adopted listener");
  /* Blocking and inherited, as systemd passes it. */
  int fd = bound_listening(env.path, 0);
  cr_assert_eq(listen(fd, 16), 0);
  echo_t e = {.want = 2};
  cr_assert_eq(
      as_listen_fd(hcs_engine_loop(env.hcs), fd, 0, echo_accept, &e, &e.l), 0);
  cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK, "the fd is made non-blocking");
  cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC, "the fd is made close-on-exec");

  echo_peers_t p = {.path = env.path, .n = 2, .msg_len = 5000};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, echo_peers_main, &p), 0);
  cr_assert_eq(as_loop_run(hcs_engine_loop(env.hcs), 0), 0);
  pthread_join(th, NULL);
  cr_assert_eq(p.failed, 0, "peer %d: %s", p.failed - 1, p.why);
  cr_assert_eq(e.accepted, 2);
  cr_assert_eq(e.gone, 2);
  cr_assert_eq(fcntl(fd, F_GETFD), -1, "as_listener_close closes the fd");
  cr_assert_eq(access(env.path, F_OK), 0, "an adopted socket's file stays");
  cr_assert_eq(unlink(env.path), 0);
  env_close(&env);
}

static void refuse_accept(as_listener_t *l, as_conn_t *c, void *data) {
  (void)l;
  (void)data;
  as_conn_close(c);
  cr_assert_fail("nothing is adopted, so nothing is accepted");
}

Test(engine_sock, listen_fd_refuses) {
  env_t env;
  env_open(&env, "refused adoption");
  as_loop_t *loop = hcs_engine_loop(env.hcs);
  as_listener_t *l = NULL;
  int bound = bound_listening(env.path, SOCK_CLOEXEC);
  cr_assert_eq(as_listen_fd(loop, bound, 0, refuse_accept, NULL, &l), -EINVAL,
               "bound, not listening");
  cr_assert_eq(listen(bound, 1), 0);
  cr_assert_eq(as_listen_fd(loop, bound, 0, NULL, NULL, &l), -EINVAL,
               "no callback");
  cr_assert_eq(as_listen_fd(loop, -1, 0, refuse_accept, NULL, &l), -EINVAL);
  int pfd[2];
  cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
  cr_assert_eq(as_listen_fd(loop, pfd[0], 0, refuse_accept, NULL, &l),
               -ENOTSOCK);
  cr_assert_null(l);
  /* Failure leaves each fd open and the caller's. */
  cr_assert_neq(fcntl(bound, F_GETFD), -1);
  cr_assert_neq(fcntl(pfd[0], F_GETFD), -1);
  close(pfd[0]);
  close(pfd[1]);
  close(bound);
  cr_assert_eq(unlink(env.path), 0);
  env_close(&env);
}

Test(engine_sock, thousand_connections) {
  te_raise_nofile(8192);
  env_t env;
  env_open(&env, "1000 connections");
  echo_t e = {.want = 1000};
  cr_assert_eq(as_listen_unix(hcs_engine_loop(env.hcs), env.path, 0600, -1, 0,
                              echo_accept, &e, &e.l),
               0);
  echo_peers_t p = {.path = env.path, .n = 1000, .msg_len = 3000};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, echo_peers_main, &p), 0);
  cr_assert_eq(as_loop_run(hcs_engine_loop(env.hcs), 0), 0);
  pthread_join(th, NULL);
  cr_assert_eq(p.failed, 0, "peer %d: %s", p.failed - 1, p.why);
  cr_assert_eq(e.accepted, 1000);
  cr_assert_eq(e.gone, 1000);
  env_close(&env);
}

static void never_accept(as_listener_t *l, as_conn_t *c, void *data) {
  (void)l;
  (void)c;
  (void)data;
  cr_assert_fail("accept");
}

Test(engine_sock, path_rules) {
  env_t env;
  env_open(&env, "path rules");
  as_listener_t *l = NULL;
  /* A regular file is not replaced. */
  int fd = open(env.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, "keep", 4), 4);
  close(fd);
  cr_assert_eq(as_listen_unix(hcs_engine_loop(env.hcs), env.path, 0600, -1, 0,
                              never_accept, NULL, &l),
               -EEXIST);
  struct stat st;
  cr_assert_eq(lstat(env.path, &st), 0);
  cr_assert(S_ISREG(st.st_mode) && st.st_size == 4);
  cr_assert_eq(unlink(env.path), 0);

  /* A stale socket file is. */
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", env.path);
  cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
  close(s);
  cr_assert_eq(as_listen_unix(hcs_engine_loop(env.hcs), env.path, 0640, -1, 0,
                              never_accept, NULL, &l),
               0);
  cr_assert_eq(lstat(env.path, &st), 0);
  cr_assert(S_ISSOCK(st.st_mode));
  cr_assert_eq(st.st_mode & 0777, 0640);
  as_listener_close(l);
  cr_assert_eq(access(env.path, F_OK), -1);
  as_listener_close(NULL);

  char lng[200];
  memset(lng, 'x', sizeof(lng) - 1);
  lng[0] = '/';
  lng[sizeof(lng) - 1] = '\0';
  cr_assert_eq(as_listen_unix(hcs_engine_loop(env.hcs), lng, 0600, -1, 0,
                              never_accept, NULL, &l),
               -ENAMETOOLONG);
  char missing[160];
  snprintf(missing, sizeof(missing), "%s/no/such/dir", env.dir);
  cr_assert_eq(as_listen_unix(hcs_engine_loop(env.hcs), missing, 0600, -1, 0,
                              never_accept, NULL, &l),
               -ENOENT);
  cr_assert_eq(as_loop_run(hcs_engine_loop(env.hcs), 0), 0);
  env_close(&env);
}

/* One connection with a scripted server; the peer runs peer_fn. */
typedef struct one_s {
  env_t *env;
  as_listener_t *l;
  as_conn_t *c;
  as_timer_t *t;
  as_conn_cbs_t cbs;                 /* the server's, started on accept */
  void (*accepted)(struct one_s *o); /* then this, if set */
  /* server side */
  int eofs, gones, gone_status, data_after_eof, writes_done, write_status;
  int in_close, order_ok, cancelled, zero, pieces;
  size_t got, queued_first, queued_last;
  uint64_t hash;
  char text[64];
  char *held[64];
  int nheld, max_held, holding;
  /* peer side */
  sem_t go;
  size_t peer_sent, peer_stalled_at;
  ssize_t peer_got;
  uint64_t peer_hash;
  int peer_err;
  char peer_text[64];
} one_t;

static void one_init(one_t *o, env_t *env) {
  memset(o, 0, sizeof(*o));
  o->env = env;
  o->hash = o->peer_hash = TE_FNV_BASIS;
  o->order_ok = 1;
  sem_init(&o->go, 0, 0);
}

static void one_finish(one_t *o) {
  as_conn_close(o->c);
  o->c = NULL;
  as_listener_close(o->l);
  o->l = NULL;
}

static void one_record(one_t *o, char *buf, size_t len) {
  if (len == 0) {
    o->eofs++;
    return;
  }
  if (o->eofs) {
    o->data_after_eof = 1;
  }
  if (o->got < sizeof(o->text) - 1) {
    size_t room = sizeof(o->text) - 1 - o->got;
    memcpy(o->text + o->got, buf, len < room ? len : room);
  }
  o->got += len;
  o->hash = te_fnv1a(o->hash, buf, len);
}

static void one_accept(as_listener_t *l, as_conn_t *c, void *data) {
  one_t *o = data;
  cr_assert_eq(l, o->l);
  o->c = c;
  as_conn_start(c, &o->cbs, o);
  if (o->accepted != NULL) {
    o->accepted(o);
  }
}

static void one_listen(one_t *o, env_t *env, void *(*peer)(void *)) {
  cr_assert_eq(as_listen_unix(hcs_engine_loop(env->hcs), env->path, 0600, -1, 0,
                              one_accept, o, &o->l),
               0);
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, peer, o), 0);
  cr_assert_eq(as_loop_run(hcs_engine_loop(env->hcs), 0), 0);
  pthread_join(th, NULL);
  cr_assert_null(o->l, "the listener is still open");
  sem_destroy(&o->go);
}

/* A service, one connection served with cbs (then accepted), one peer. */
static void one_run(one_t *o, env_t *env, const char *what, as_conn_cbs_t cbs,
                    void (*accepted)(one_t *o), void *(*peer)(void *)) {
  env_open(env, what);
  one_init(o, env);
  o->cbs = cbs;
  o->accepted = accepted;
  one_listen(o, env, peer);
}

/* The peer's end, or -1 with peer_err set. */
static int one_connect(one_t *o) {
  int fd = peer_connect(o->env->path);
  if (fd < 0) {
    o->peer_err = fd;
  }
  return fd;
}

/* Half-close: the peer's EOF is data len 0 and the reply still reaches
 * it; writes after our shutdown are refused. */
static void half_written(as_conn_t *c, int status, void *data) {
  one_t *o = data;
  o->writes_done++;
  o->write_status = status;
  as_conn_shutdown(c);
  as_iov_t v = {"late", 4};
  cr_assert_eq(tw_write(c, &v, 1, NULL, NULL), -EPIPE);
}

static void half_data(as_conn_t *c, char *buf, size_t len, void *data) {
  one_t *o = data;
  one_record(o, buf, len);
  if (len == 0) {
    cr_assert_eq(o->gones, 0);
    static const char a[] = "reply ", b[] = "after eof";
    as_iov_t v[2] = {{a, 6}, {b, 9}};
    cr_assert_eq(tw_write(c, v, 2, half_written, o), 0);
    cr_assert_eq(o->writes_done, 0, "write callback inside the call");
  }
}

static void one_gone(as_conn_t *c, int status, void *data) {
  one_t *o = data;
  cr_assert_eq(c, o->c);
  o->gones++;
  o->gone_status = status;
  as_iov_t v = {"x", 1};
  cr_assert_eq(tw_write(c, &v, 1, NULL, NULL), -EPIPE);
  cr_assert_eq(as_conn_queued(c), 0);
  one_finish(o);
}

static void *half_peer(void *arg) {
  one_t *o = arg;
  int fd = one_connect(o);
  if (fd < 0) {
    return NULL;
  }
  (void)send_all(fd, "ping", 4);
  shutdown(fd, SHUT_WR);
  o->peer_got = recv_to_eof(fd, NULL, o->peer_text, sizeof(o->peer_text) - 1);
  close(fd);
  return NULL;
}

Test(engine_sock, peer_half_close) {
  env_t env;
  one_t o;
  one_run(&o, &env, "half close", (as_conn_cbs_t){half_data, one_gone}, NULL,
          half_peer);
  cr_assert_eq(o.peer_err, 0);
  cr_assert_str_eq(o.text, "ping");
  cr_assert_eq(o.eofs, 1);
  cr_assert_eq(o.data_after_eof, 0);
  cr_assert_eq(o.writes_done, 1);
  cr_assert_eq(o.write_status, 0);
  cr_assert_eq(o.peer_got, 15);
  cr_assert_str_eq(o.peer_text, "reply after eof");
  cr_assert_eq(o.gones, 1);
  cr_assert_eq(o.gone_status, -EPIPE);
  env_close(&env);
}

/* Full close: what the peer sent arrives, then gone, once. */
static void full_data(as_conn_t *c, char *buf, size_t len, void *data) {
  (void)c;
  one_record(data, buf, len);
}

static void full_check(as_timer_t *t, void *data) {
  one_t *o = data;
  cr_assert_eq(o->gones, 1);
  as_iov_t v = {"x", 1};
  cr_assert_eq(tw_write(o->c, &v, 1, NULL, NULL), -EPIPE);
  cr_assert_eq(as_conn_peer(o->c, NULL, NULL, NULL), -ENOTCONN);
  as_conn_shutdown(o->c);
  as_conn_pause(o->c, true);
  one_finish(o);
  as_timer_free(t);
}

static void full_gone(as_conn_t *c, int status, void *data) {
  one_t *o = data;
  cr_assert_eq(c, o->c);
  o->gones++;
  o->gone_status = status;
  /* Closed a little later: no second gone in between. */
  cr_assert_eq(as_timer_new(hcs_engine_loop(o->env->hcs), &o->t), 0);
  as_timer_arm(o->t, 50, full_check, o);
}

static void *full_peer(void *arg) {
  one_t *o = arg;
  int fd = one_connect(o);
  if (fd < 0) {
    return NULL;
  }
  (void)send_all(fd, "bye", 3);
  close(fd);
  return NULL;
}

Test(engine_sock, peer_full_close_gone_once) {
  env_t env;
  one_t o;
  one_run(&o, &env, "full close", (as_conn_cbs_t){full_data, full_gone}, NULL,
          full_peer);
  cr_assert_eq(o.peer_err, 0);
  cr_assert_str_eq(o.text, "bye");
  cr_assert_eq(o.gones, 1);
  cr_assert_eq(o.gone_status, -EPIPE);
  env_close(&env);
}

/* A peer that does not read: writes queue from the caller's memory, their
 * callbacks wait, then everything arrives in order and intact. */
enum { SLOW_PIECES = 128, SLOW_PIECE = 64 * 1024 };
static unsigned char *slow_src;

static void slow_written(as_conn_t *c, int status, void *data) {
  one_t *o = data;
  cr_assert_eq(status, 0, "write %d: %s", o->writes_done, strerror(-status));
  o->writes_done++;
  if (o->writes_done == SLOW_PIECES) {
    cr_assert_eq(as_conn_queued(c), 0);
  }
}

static void slow_check(as_timer_t *t, void *data) {
  one_t *o = data;
  cr_assert_lt(o->writes_done, SLOW_PIECES, "all written to a stalled peer");
  cr_assert_gt(as_conn_queued(o->c), 0);
  as_timer_free(t);
  sem_post(&o->go);
}

static void slow_accepted(one_t *o) {
  as_conn_t *c = o->c;
  for (int i = 0; i < SLOW_PIECES; i++) {
    const unsigned char *p = slow_src + (size_t)i * SLOW_PIECE;
    as_iov_t v[3] = {{p, 1000}, {p + 1000, 0}, {p + 1000, SLOW_PIECE - 1000}};
    cr_assert_eq(tw_write(c, v, 3, slow_written, o), 0);
    if (i == 0) {
      o->queued_first = as_conn_queued(c);
    }
  }
  o->queued_last = as_conn_queued(c);
  cr_assert_eq(o->writes_done, 0, "write callback inside the call");
  cr_assert_eq(as_timer_new(hcs_engine_loop(o->env->hcs), &o->t), 0);
  as_timer_arm(o->t, 100, slow_check, o);
}

static void *slow_peer_reads_all(void *arg) {
  one_t *o = arg;
  int fd = one_connect(o);
  if (fd < 0) {
    return NULL;
  }
  sem_wait(&o->go);
  size_t want = (size_t)SLOW_PIECES * SLOW_PIECE, got = 0;
  static char buf[65536];
  while (got < want) {
    ssize_t k = recv(fd, buf, sizeof(buf), 0);
    if (k <= 0) {
      o->peer_err = k < 0 ? -errno : -EPIPE;
      break;
    }
    o->peer_hash = te_fnv1a(o->peer_hash, buf, (size_t)k);
    got += (size_t)k;
  }
  o->peer_got = (ssize_t)got;
  close(fd);
  return NULL;
}

Test(engine_sock, slow_peer_queues_writes) {
  env_t env;
  size_t total = (size_t)SLOW_PIECES * SLOW_PIECE;
  slow_src = pattern_buf(3, total);
  one_t o;
  one_run(&o, &env, "slow peer", (as_conn_cbs_t){full_data, one_gone},
          slow_accepted, slow_peer_reads_all);
  cr_assert_eq(o.peer_err, 0, "peer: %s", strerror(-o.peer_err));
  cr_assert_eq(o.writes_done, SLOW_PIECES);
  cr_assert_gt(o.queued_last, o.queued_first);
  cr_assert_gt(o.queued_last, total / 2);
  cr_assert_eq((size_t)o.peer_got, total);
  cr_assert_eq(o.peer_hash, te_pattern_hash(3, 0, total), "bytes differ");
  cr_assert_eq(o.gones, 1);
  free(slow_src);
  env_close(&env);
}

/* Sends pattern 5 without blocking until the server stops taking it (the
 * socket refuses more and stays full for a while), then has fn run on the
 * engine, then sends the rest of total and shuts down. */
enum { STALL_TOTAL = 8 * MiB, STALL_MS = 300 };

typedef struct stall_s {
  one_t o;
  void (*fn)(as_loop_t *loop, void *data);
  unsigned char *src;
} stall_t;

static void *stall_peer(void *arg) {
  stall_t *s = arg;
  one_t *o = &s->o;
  int fd = one_connect(o);
  if (fd < 0) {
    return NULL;
  }
  size_t off = 0;
  while (off < STALL_TOTAL) {
    size_t n = STALL_TOTAL - off < 65536 ? STALL_TOTAL - off : 65536;
    ssize_t k = send(fd, s->src + off, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k > 0) {
      off += (size_t)k;
      continue;
    }
    if (k < 0 && errno != EAGAIN && errno != EINTR) {
      o->peer_err = -errno;
      break;
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (k < 0 && errno == EAGAIN && poll(&p, 1, STALL_MS) == 0) {
      break; /* stalled: the server does not read */
    }
  }
  o->peer_stalled_at = off;
  if (as_loop_post(hcs_engine_loop(o->env->hcs), s->fn, s) != 0) {
    o->peer_err = -ESHUTDOWN;
  }
  if (o->peer_err == 0) {
    o->peer_err = send_all(fd, s->src + off, STALL_TOTAL - off);
  }
  o->peer_sent = STALL_TOTAL;
  shutdown(fd, SHUT_WR);
  o->peer_got = recv_to_eof(fd, NULL, NULL, 0);
  close(fd);
  return NULL;
}

static void stall_data(as_conn_t *c, char *buf, size_t len, void *data) {
  one_t *o = data;
  one_record(o, buf, len);
  if (len == 0) {
    cr_assert_eq(o->got, STALL_TOTAL);
    cr_assert_eq(o->hash, te_pattern_hash(5, 0, STALL_TOTAL), "bytes differ");
    one_finish(o);
    return;
  }
  if (o->holding) {
    cr_assert_lt(o->nheld, 64);
    as_conn_hold(c, buf);
    o->held[o->nheld++] = buf;
    if (o->nheld > o->max_held) {
      o->max_held = o->nheld;
    }
  }
}

static void stall_run(stall_t *s, env_t *env, const char *what,
                      void (*accepted)(one_t *o)) {
  s->src = pattern_buf(5, STALL_TOTAL);
  one_run(&s->o, env, what, (as_conn_cbs_t){stall_data, one_gone}, accepted,
          stall_peer);
  free(s->src);
  cr_assert_eq(s->o.peer_err, 0, "peer: %s", strerror(-s->o.peer_err));
  cr_assert_lt(s->o.peer_stalled_at, STALL_TOTAL, "the peer never stalled");
  cr_assert_eq(s->o.got, STALL_TOTAL);
  cr_assert_eq(s->o.eofs, 1);
}

/* Pause: nothing is read until resumed; then everything arrives. */
static void pause_resume(as_loop_t *loop, void *data) {
  stall_t *s = data;
  (void)loop;
  cr_assert_eq(s->o.got, 0, "read while paused");
  as_conn_pause(s->o.c, false);
  as_conn_pause(s->o.c, false);
}

static void pause_accepted(one_t *o) {
  as_conn_pause(o->c, true);
  as_conn_pause(o->c, true);
}

Test(engine_sock, pause_and_resume) {
  env_t env;
  stall_t s = {.fn = pause_resume};
  stall_run(&s, &env, "pause", pause_accepted);
  env_close(&env);
}

/* Holding more than 1 MiB stops reading until buffers come back. */
static void hold_release(as_loop_t *loop, void *data) {
  stall_t *s = data;
  (void)loop;
  s->o.holding = 0;
  for (int i = 0; i < s->o.nheld; i++) {
    as_conn_release(s->o.c, s->o.held[i]);
  }
  s->o.nheld = 0;
}

/* Runs before any data callback: those come from the loop. */
static void hold_accepted(one_t *o) { o->holding = 1; }

Test(engine_sock, hold_stops_reading) {
  env_t env;
  stall_t s = {.fn = hold_release};
  stall_run(&s, &env, "hold", hold_accepted);
  /* 64 KiB buffers: reading stops with the first one past 1 MiB. */
  cr_assert_leq(s.o.max_held, MiB / (64 * 1024) + 1, "held %d buffers",
                s.o.max_held);
  cr_assert_geq(s.o.max_held, 2);
  env_close(&env);
}

/* Close with writes pending: they complete inside the close, in order,
 * the written ones with 0 and the rest with -ECANCELED. */
enum { CLOSE_PIECES = 64, CLOSE_PIECE = 512 * 1024 };

static void close_written(as_conn_t *c, int status, void *data) {
  one_t *o = data;
  (void)c;
  cr_assert(o->in_close, "write callback outside the close");
  cr_assert(status == 0 || status == -ECANCELED, "status %d", status);
  if (status == 0) {
    o->zero++;
    if (o->cancelled) {
      o->order_ok = 0;
    }
  } else {
    o->cancelled++;
  }
  o->writes_done++;
  as_iov_t v = {"x", 1};
  cr_assert_eq(tw_write(c, &v, 1, NULL, NULL), -EPIPE);
}

static void close_gone(as_conn_t *c, int status, void *data) {
  (void)c;
  (void)status;
  (void)data;
  cr_assert_fail("gone after close");
}

/* Writes pieces until some stay queued (the peer reads nothing until the
 * close: how much the socket takes first depends on the machine's
 * buffers), then closes with those writes pending. */
static void close_accepted(one_t *o) {
  static char zeros[CLOSE_PIECE];
  as_conn_t *c = o->c;
  while (o->pieces < CLOSE_PIECES && as_conn_queued(c) == 0) {
    as_iov_t v = {zeros, sizeof(zeros)};
    cr_assert_eq(tw_write(c, &v, 1, close_written, o), 0);
    o->pieces++;
  }
  for (int i = 0; i < 2; i++) {
    as_iov_t v = {zeros, sizeof(zeros)};
    cr_assert_eq(tw_write(c, &v, 1, close_written, o), 0);
    o->pieces++;
  }
  cr_assert_gt(as_conn_queued(c), 0);
  o->in_close = 1;
  as_conn_close(c);
  o->in_close = 0;
  o->c = NULL;
  cr_assert_eq(o->writes_done, o->pieces);
  as_listener_close(o->l);
  o->l = NULL;
  sem_post(&o->go);
}

static void *eof_peer(void *arg) {
  one_t *o = arg;
  int fd = one_connect(o);
  if (fd < 0) {
    return NULL;
  }
  (void)send_all(fd, "keepme", 6);
  o->peer_got = recv_to_eof(fd, NULL, NULL, 0);
  close(fd);
  return NULL;
}

/* Sends, then reads to EOF once the server has closed. */
static void *close_peer(void *arg) {
  one_t *o = arg;
  int fd = one_connect(o);
  if (fd < 0) {
    return NULL;
  }
  (void)send_all(fd, "keepme", 6);
  while (sem_wait(&o->go) != 0) {
  }
  o->peer_got = recv_to_eof(fd, NULL, NULL, 0);
  close(fd);
  return NULL;
}

Test(engine_sock, close_cancels_pending_writes) {
  env_t env;
  one_t o;
  one_run(&o, &env, "close", (as_conn_cbs_t){full_data, close_gone},
          close_accepted, close_peer);
  cr_assert_eq(o.writes_done, o.pieces);
  cr_assert_gt(o.cancelled, 0);
  cr_assert(o.order_ok, "a 0 after a -ECANCELED");
  env_close(&env);
}

/* A held buffer outlives the connection's close. */
static void keep_data(as_conn_t *c, char *buf, size_t len, void *data) {
  one_t *o = data;
  one_record(o, buf, len);
  if (o->got >= 6 && o->nheld == 0) {
    as_conn_hold(c, buf);
    o->held[o->nheld++] = buf;
    o->queued_first = len;
    as_conn_close(c);
    as_listener_close(o->l);
    o->l = NULL;
  }
}

Test(engine_sock, held_buffer_outlives_close) {
  env_t env;
  one_t o;
  one_run(&o, &env, "held after close", (as_conn_cbs_t){keep_data, close_gone},
          NULL, eof_peer);
  cr_assert_eq(o.nheld, 1);
  /* The peer's bytes all came in one read here: it sent them at once. */
  cr_assert_eq(o.queued_first, 6);
  cr_assert_eq(memcmp(o.held[0], "keepme", 6), 0);
  memset(o.held[0], 0, 65536);
  as_conn_release(o.c, o.held[0]);
  env_close(&env);
}

/* Timers, on a service with its own engine thread. */
typedef struct tm_s {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int finished;
  hcs_t *hcs;
  as_timer_t *once, *rearm, *off, *self;
  int once_n, rearm_old, rearm_new, off_n, self_n, on_engine_n;
  uint64_t armed_at;
} tm_t;

static void tm_count(as_timer_t *t, void *data) {
  int *n = data;
  (void)t;
  (*n)++;
}

static void tm_self(as_timer_t *t, void *data) {
  tm_t *s = data;
  s->self_n++;
  as_timer_free(t);
  s->self = NULL;
}

static void tm_end(as_timer_t *t, void *data) {
  tm_t *s = data;
  as_timer_free(t);
  as_timer_free(s->once);
  as_timer_free(s->rearm);
  as_timer_free(s->off);
  pthread_mutex_lock(&s->lock);
  s->finished = 1;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->lock);
}

static void tm_setup(as_loop_t *loop, void *data) {
  tm_t *s = data;
  as_timer_t *end;
  if (as_timer_new(loop, &s->once) != 0 || as_timer_new(loop, &s->rearm) ||
      as_timer_new(loop, &s->off) || as_timer_new(loop, &s->self) ||
      as_timer_new(loop, &end)) {
    return; /* the test's wait times out */
  }
  as_timer_arm(s->once, 10, tm_count, &s->once_n);
  as_timer_arm(s->rearm, 5000, tm_count, &s->rearm_old);
  as_timer_arm(s->rearm, 20, tm_count, &s->rearm_new);
  as_timer_arm(s->off, 30, tm_count, &s->off_n);
  as_timer_disarm(s->off);
  as_timer_disarm(s->off);
  as_timer_arm(s->self, 5, tm_self, s);
  as_timer_arm(end, 200, tm_end, s);
  as_timer_free(NULL);
}

static void tm_wait(tm_t *s) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += WATCHDOG_MS / 1000;
  pthread_mutex_lock(&s->lock);
  while (!s->finished) {
    int r = pthread_cond_timedwait(&s->cond, &s->lock, &ts);
    cr_assert_neq(r, ETIMEDOUT, "timers never finished");
  }
  pthread_mutex_unlock(&s->lock);
}

Test(engine_sock, timers) {
  int fds0 = te_fd_baseline();
  tm_t s = {.lock = PTHREAD_MUTEX_INITIALIZER,
            .cond = PTHREAD_COND_INITIALIZER};
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_open(&s.hcs, NULL, &err), HCS_OK);
  cr_assert_eq(as_loop_post(hcs_engine_loop(s.hcs), tm_setup, &s), 0);
  tm_wait(&s);
  hcs_close(s.hcs);
  cr_assert_eq(s.once_n, 1);
  cr_assert_eq(s.rearm_old, 0, "the replaced callback ran");
  cr_assert_eq(s.rearm_new, 1);
  cr_assert_eq(s.off_n, 0, "a disarmed timer fired");
  cr_assert_eq(s.self_n, 1);
  cr_assert_eq(te_fd_count(), fds0);
}

/* Work: off the engine thread, done on it; a synchronous call from the
 * work finds the engine running. */
typedef struct wk_s {
  hcs_t *hcs;
  pthread_t engine;
  int work_off_engine, done_on_engine, status, done_n;
  hcs_result_t list_r;
  char *json;
} wk_t;

static void wk_work(void *data) {
  wk_t *w = data;
  w->work_off_engine = !pthread_equal(pthread_self(), w->engine);
  w->list_r = hcs_ListComputeSystems(w->hcs, &w->json, NULL);
}

static void wk_done(as_loop_t *loop, int status, void *data) {
  wk_t *w = data;
  (void)loop;
  w->done_on_engine = pthread_equal(pthread_self(), w->engine);
  w->status = status;
  w->done_n++;
}

Test(engine_sock, work_off_the_engine) {
  env_t env;
  env_open(&env, "work");
  struct {
    wk_t w;
  } job = {.w = {.hcs = env.hcs, .engine = pthread_self(), .status = 1}};
  cr_assert_eq(as_loop_work(hcs_engine_loop(env.hcs), wk_work, wk_done, &job.w),
               0);
  cr_assert_eq(job.w.done_n, 0, "done inside as_loop_work");
  cr_assert_eq(as_loop_run(hcs_engine_loop(env.hcs), 0), 0);
  cr_assert_eq(job.w.done_n, 1);
  cr_assert_eq(job.w.status, 0);
  cr_assert(job.w.work_off_engine);
  cr_assert(job.w.done_on_engine);
  cr_assert_eq(job.w.list_r, HCS_OK);
  cr_assert_not_null(job.w.json);
  cr_assert_not_null(strstr(job.w.json, "Systems"), "%s", job.w.json);
  hcs_free(job.w.json);
  env_close(&env);
}

/* Out of fds: accept4 fails with EMFILE while a connection waits in the
 * backlog, which stays readable. The listener must not spin on it: it
 * pauses accepting, and takes the connection once fds are back. */
typedef struct emfile_s {
  as_listener_t *l;
  as_conn_t *c;
  int accepted;
  struct rlimit old;
  struct rusage r0;
  long cpu_ms;
  int checks;
  as_timer_t *t;
} emfile_t;

static void emfile_accept(as_listener_t *l, as_conn_t *c, void *data) {
  emfile_t *m = data;
  (void)l;
  m->accepted++;
  m->c = c;
}

/* Once fds are back, the connection is taken within a back-off or two
 * (valgrind may be much slower: up to 10 s is waited). */
static void emfile_end(as_timer_t *t, void *data) {
  emfile_t *m = data;
  if (m->accepted == 0 && ++m->checks < 200) {
    as_timer_arm(t, 50, emfile_end, m);
    return;
  }
  as_conn_close(m->c);
  as_listener_close(m->l);
}

static void emfile_restore(as_timer_t *t, void *data) {
  emfile_t *m = data;
  struct rusage r1;
  getrusage(RUSAGE_SELF, &r1);
  m->cpu_ms = (r1.ru_utime.tv_sec - m->r0.ru_utime.tv_sec) * 1000 +
              (r1.ru_utime.tv_usec - m->r0.ru_utime.tv_usec) / 1000 +
              (r1.ru_stime.tv_sec - m->r0.ru_stime.tv_sec) * 1000 +
              (r1.ru_stime.tv_usec - m->r0.ru_stime.tv_usec) / 1000;
  cr_assert_eq(m->accepted, 0, "accepted with no fd to spare");
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &m->old), 0);
  as_timer_arm(t, 50, emfile_end, m);
}

Test(engine_sock, out_of_fds_backs_off) {
  if (RUNNING_ON_VALGRIND) {
    /* Valgrind keeps fds of its own at the top of the table and applies a
     * soft limit of its own to the fds it hands out: what an exhausted
     * table looks like there is not what the kernel does. */
    cr_skip_test("fd exhaustion is not the kernel's under valgrind");
  }
  env_t env;
  env_open(&env, "out of fds");
  emfile_t m;
  memset(&m, 0, sizeof(m));
  cr_assert_eq(as_listen_unix(hcs_engine_loop(env.hcs), env.path, 0600, -1, 0,
                              emfile_accept, &m, &m.l),
               0);
  cr_assert_eq(as_timer_new(hcs_engine_loop(env.hcs), &m.t), 0);
  int peer = peer_connect(env.path); /* waits in the backlog */
  cr_assert_geq(peer, 0, "connect: %s", strerror(-peer));
  cr_assert_eq(getrlimit(RLIMIT_NOFILE, &m.old), 0);
  int lowest = dup(0);
  cr_assert_geq(lowest, 0);
  close(lowest);
  struct rlimit low = {.rlim_cur = (rlim_t)lowest, .rlim_max = m.old.rlim_max};
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
  getrusage(RUSAGE_SELF, &m.r0);
  as_timer_arm(m.t, 500, emfile_restore, &m);
  cr_assert_eq(as_loop_run(hcs_engine_loop(env.hcs), 0), 0);
  as_timer_free(m.t);
  close(peer);
  cr_assert_eq(m.accepted, 1, "the waiting connection was never taken");
  /* A spinning listener burns the whole 500 ms. */
  cr_assert_lt(m.cpu_ms, 150, "%ld ms of CPU in 500 ms without fds", m.cpu_ms);
  env_close(&env);
}
