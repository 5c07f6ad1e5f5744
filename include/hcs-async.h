/* SPDX-License-Identifier: MIT */
/* libhcs-async, the engine: one libuv loop carrying many process sessions,
 * with the unix sockets, timers, thread-pool work and cross-thread posting
 * that a front end (hcsd, the bench, an embedder's gateway) drives beside
 * them. libhcs is built on it; hcs_engine_loop() (hcs.h) gives the loop an
 * hcs_t runs on, so a front end adds its own handles to that loop.
 *
 * It does not include <uv.h>: every libuv type stays inside the engine.
 *
 * Threads: all calls are loop-thread calls (from a callback of the loop, or
 * the thread running as_loop_run) unless marked "any thread".
 * Errors: calls return 0 or -errno; results come through out-params.
 * Ownership: handles are the engine's and ended by their _free/_close
 * call; memory passed in is borrowed for the call unless a comment says
 * it is lent until a callback.
 */
#ifndef HCS_ASYNC_H
#define HCS_ASYNC_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sock_fprog;

#define AS_API __attribute__((visibility("default")))

/* Allocation seam: the engine's and hcs's own objects and buffer pools
 * come from mimalloc (loaded privately: the program's malloc/free and
 * libuv's allocator stay untouched), or from libc where mimalloc is not
 * installed or in sanitizer builds. as_free takes only what as_malloc,
 * as_calloc, as_realloc or as_strdup returned. Any thread.
 * as_alloc_init() sets the seam up; it runs at load time and is
 * idempotent. as_alloc_is_mimalloc() says whether mimalloc backs it. */
AS_API void as_alloc_init(void);
AS_API int as_alloc_is_mimalloc(void);
AS_API void *as_malloc(size_t size);
AS_API void *as_calloc(size_t n, size_t size);
AS_API void *as_realloc(void *p, size_t size);
AS_API void as_free(void *p);
AS_API char *as_strdup(const char *s);

/* Buffer pool: size classes of 1, 4, 16, 64 and 256 KiB and 1 MiB
 * (AS_BUF_MAX); freed buffers are kept for reuse up to 1 MiB per class,
 * so an idle loop keeps at most that much whatever ran on it. Loop-thread
 * only.
 *
 * AS_BUF_READ is what one read takes by default: a socket's, and an
 * output stream's. A stream spawned with a larger read_max
 * (as_spawn_opts_t) whose reads fill their buffer reads 256 KiB and then
 * up to read_max at a time, never more than its cap leaves room for (one
 * AS_BUF_READ at least); it goes back to AS_BUF_READ as soon as a read
 * takes less than that, and such a read is handed to the data_cb in a
 * buffer of its own size, so an interactive stream never pins more than
 * AS_BUF_READ per buffer it holds. */
typedef struct as_bufpool_s as_bufpool_t;
typedef struct as_bufpool_stats_s {
  size_t in_use;     /* bytes handed out and not yet returned */
  size_t high_water; /* largest in_use seen */
  size_t cached;     /* bytes kept on free lists */
  uint64_t allocs;   /* buffers handed out */
  uint64_t reuses;   /* of which came from a free list */
} as_bufpool_stats_t;

enum { AS_BUF_READ = 64 * 1024, AS_BUF_MAX = 1024 * 1024 };

AS_API int as_bufpool_new(as_bufpool_t **out);
AS_API void as_bufpool_free(as_bufpool_t *pool);
/* Returns a buffer of at least size bytes (size <= AS_BUF_MAX), or NULL on
 * ENOMEM. as_bufpool_cap() tells its real capacity. */
AS_API void *as_bufpool_get(as_bufpool_t *pool, size_t size);
AS_API void as_bufpool_put(as_bufpool_t *pool, void *buf);
AS_API size_t as_bufpool_cap(const void *buf);
AS_API void as_bufpool_stats(const as_bufpool_t *pool, as_bufpool_stats_t *st);

/* The loop. */
typedef struct as_loop_s as_loop_t;

/* Creates a loop. With uv_loop NULL the engine owns a new libuv loop;
 * otherwise it attaches to the embedder's uv_loop_t (passed as void * so
 * that callers need not see <uv.h>), which must outlive the as_loop_t. */
AS_API int as_loop_new(as_loop_t **out, void *uv_loop);
/* Runs the loop until as_loop_stop() or until nothing is left to do when
 * once is 0; with once set, runs one non-blocking iteration. */
AS_API int as_loop_run(as_loop_t *loop, int once);
AS_API void as_loop_stop(as_loop_t *loop);
/* With on set, an idle loop keeps running (waiting for posts) instead of
 * returning from as_loop_run. */
AS_API void as_loop_keepalive(as_loop_t *loop, int on);
/* Frees the loop. Every session must have been released (its callbacks
 * may still be due: the loop runs here until they are done). */
AS_API void as_loop_free(as_loop_t *loop);
AS_API as_bufpool_t *as_loop_pool(as_loop_t *loop);
AS_API void *as_loop_uv(as_loop_t *loop);
AS_API uint64_t as_loop_now(as_loop_t *loop);
/* Sends sig to every session's process that has not exited. */
AS_API void as_loop_kill_all(as_loop_t *loop, int sig);
/* Number of sessions alive on the loop. */
AS_API size_t as_loop_sessions(const as_loop_t *loop);

/* Cross-thread posting. as_loop_post may be called from any thread: fn runs
 * once on the loop thread, in order of posting. Returns -ESHUTDOWN once the
 * loop is being freed. */
typedef void (*as_post_cb)(as_loop_t *loop, void *data);
AS_API int as_loop_post(as_loop_t *loop, as_post_cb fn, void *data);
/* 1 when the calling thread is the one running the loop. */
AS_API int as_loop_on_thread(const as_loop_t *loop);

/* Work on libuv's thread pool. work(data) runs on a pool thread; then
 * done(loop, status, data) runs once on the loop thread, never inside
 * this call: status 0, or -ECANCELED when the loop ended before work
 * started (work then never ran). A pending job keeps the loop alive, so
 * as_loop_free waits for it. Loop thread; 0 or -ENOMEM. */
typedef void (*as_work_fn)(void *data);
typedef void (*as_work_done_cb)(as_loop_t *loop, int status, void *data);
AS_API int as_loop_work(as_loop_t *loop, as_work_fn work, as_work_done_cb done,
                        void *data);

/* Sessions: one process and its stdio. */
typedef struct as_session_s as_session_t;

enum as_stream {
  AS_STDIN = 0,
  AS_STDOUT = 1,
  AS_STDERR = 2,
};

enum as_stdio_mode {
  AS_STDIO_NULL = 0, /* /dev/null in the child */
  AS_STDIO_PIPE,     /* a pipe the engine pumps (or hands out, AS_FDS) */
  AS_STDIO_FD,       /* the caller's fd, dup'ed into the child */
  /* AS_STDOUT and AS_STDERR only (else -EINVAL): as AS_STDIO_PIPE, over
   * one end of a unix socketpair (SOCK_STREAM) instead of a pipe. It
   * moves bulk output faster than a pipe (the writer queues whole
   * socket buffers and the reader takes them in one read; it is what
   * libuv gives a child's stdout), but the child sees a socket: opening
   * /dev/stdout or /proc/self/fd/1 fails (ENXIO), and programs that
   * fstat their output see S_IFSOCK. Not for raw output (as_session_raw
   * refuses it: splice(2) needs a pipe on one side). */
  AS_STDIO_SOCKET,
};

enum as_flags {
  AS_PTY = 1u << 0, /* console: stdin/stdout on a pty, stderr merged */
  AS_FDS = 1u << 1, /* hand the caller's pipe ends out instead of pumping */
};

/* AS_EXIT_LOST: the exit code of a process that another wait in this
 * program reaped (a waitpid(-1)) where the kernel kept no status for the
 * engine (before Linux 6.15). */
enum {
  AS_EXIT_EXEC_FAILED = 32767,
  AS_EXIT_LOST = 32766,
  AS_DRAIN_DEFAULT_MS = 2000
};

/* Where a process that could not be started failed (hcs.h mirrors it). */
enum as_stage {
  AS_STAGE_EXEC = 0,  /* execve of the program (or its PATH search) */
  AS_STAGE_CWD = 1,   /* chdir to the working directory */
  AS_STAGE_USER = 2,  /* taking the uid and gid */
  AS_STAGE_SETUP = 3, /* stdio, console, namespaces, cgroups, caps */
};

typedef struct as_result_s {
  int exit_code;    /* 0-255, 128+signal, AS_EXIT_EXEC_FAILED/_LOST */
  int signal;       /* the signal that killed it, else 0 */
  int exec_errno;   /* errno of the failed exec, else 0 */
  int exec_stage;   /* with exec_errno: enum as_stage, what failed */
  int output_cut;   /* output still open after the drain timeout */
  uint64_t exit_ms; /* loop time of the exit, ms */
} as_result_t;

typedef struct as_session_cbs_s {
  /* Output: buf holds len bytes of stream (AS_STDOUT or AS_STDERR; AS_STDOUT
   * for a console), lent for the call unless as_session_hold() keeps it.
   * len == 0 means EOF. */
  void (*data_cb)(as_session_t *s, int stream, char *buf, size_t len,
                  void *data);
  /* The process exited (output may still be arriving). */
  void (*exit_cb)(as_session_t *s, const as_result_t *r, void *data);
  /* The session is complete: exited and every output stream at EOF, or the
   * drain timeout passed (r->output_cut). Runs exactly once for a spawned
   * session. */
  void (*done_cb)(as_session_t *s, const as_result_t *r, void *data);
} as_session_cbs_t;

/* A spawner: an engine-owned thread that joins a container once, so that
 * every process started into it (as_spawn_opts_t.spawner) is a clone of
 * a thread already in place rather than a child that joins on its own
 * (spawner.c says what that saves). */
typedef struct as_spawner_s as_spawner_t;
/* The namespaces a spawner may join. */
#define AS_SPAWNER_NS                                                          \
  (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET |   \
   CLONE_NEWCGROUP)
typedef struct as_spawner_opts_s {
  int ns_pidfd;      /* a process whose namespaces to join (the caller's) */
  unsigned ns_flags; /* CLONE_NEW* of AS_SPAWNER_NS */
  int set_caps;      /* keep only caps: bounding, permitted, effective */
  uint64_t caps;
  int no_new_privs;
  const struct sock_fprog *seccomp; /* installed on the thread; NULL: none.
                                       Borrowed until the call returns. It
                                       must allow futex and clone without
                                       namespace flags. */
} as_spawner_opts_t;
/* Starts the thread and waits until it has joined. Makes the process
 * undumpable (spawn.c). Any thread. 0, -EINVAL (bad opts), -ENOMEM,
 * -EAGAIN (no thread), or the -errno of a failed join (unshare, setns,
 * prctl, capset, seccomp). */
AS_API int as_spawner_new(const as_spawner_opts_t *o, as_spawner_t **out);
/* Stops and joins the thread. No spawn may be under way with it. Any
 * thread; NULL is a no-op. */
AS_API void as_spawner_free(as_spawner_t *sp);

/* A resource limit of a child (setrlimit(2)); UINT64_MAX: unlimited. */
typedef struct as_rlimit_s {
  int resource; /* RLIMIT_* */
  uint64_t soft, hard;
} as_rlimit_t;

typedef struct as_spawn_opts_s {
  const char *file;    /* program: a path, or a name searched in PATH */
  char *const *argv;   /* NULL-terminated; argv[0] defaults to file */
  char *const *envp;   /* NULL: the engine's environ */
  const char *cwd;     /* NULL: inherit */
  unsigned flags;      /* enum as_flags */
  int stdio[3];        /* enum as_stdio_mode per stream (ignored with AS_PTY) */
  int stdio_fd[3];     /* the fd for AS_STDIO_FD */
  uint16_t rows, cols; /* console size, 0 = leave the kernel's */
  const char *ptmx;    /* AS_PTY: the ptmx to open; NULL: /dev/ptmx */
  int set_ids;         /* run as uid/gid (no supplementary groups) */
  uid_t uid;
  gid_t gid;
  /* Joining a container: the namespaces (CLONE_NEW* flags) of the process
   * behind ns_pidfd, and the cgroups whose cgroup.procs files are open for
   * writing in cgroup_fds. The fds stay the caller's. */
  int ns_pidfd;
  unsigned ns_flags;
  const int *cgroup_fds;
  size_t n_cgroup_fds;
  int set_caps; /* keep only the capabilities whose bits are set in caps */
  uint64_t caps;
  int no_new_privs;
  /* A seccomp filter (struct sock_fprog, borrowed until the call returns)
   * installed as the child's last act before execve; needs no_new_privs
   * or CAP_SYS_ADMIN. NULL: none. */
  const struct sock_fprog *seccomp;
  /* A spawner that has joined the container (as_spawner_new): the child
   * is cloned from it and starts in its namespaces, with its
   * capabilities, no_new_privs and seccomp filter; ns_pidfd, ns_flags,
   * set_caps, caps and no_new_privs above are then ignored (cgroup_fds
   * are still joined, seccomp is installed on top). NULL: none. */
  as_spawner_t *spawner;
  /* A container that shares the caller's mount namespace, its root a
   * chroot rather than a mount namespace's own (an OCI config without a
   * mount namespace): with set_root the child changes its root to the
   * directory root_fd names (fchdir, chroot: needs CAP_SYS_CHROOT, before
   * set_caps drops it) once it has joined the namespaces and cgroups,
   * and cwd is then found under that root. root_fd (such as an O_PATH
   * descriptor of /proc/INIT/root) stays the caller's. The spawner's
   * clones (spawner below) hold only its capabilities: not with one
   * (-EINVAL). */
  int set_root;
  int root_fd;
  /* The child leads a new process group (setpgid(0, 0)), so that
   * as_session_kill_group reaches what it started; a console session is a
   * new session and so a new group anyway. */
  int new_pgrp;
  /* Instead of a program: a child (a fork, in new namespaces clone_flags)
   * that runs child_fn(child_arg, ready_fd); see as__spawn_fn. The session
   * then has no stdio and file/argv are ignored; a failed setup completes
   * it with AS_EXIT_EXEC_FAILED and the errno. The call blocks until the
   * setup is done. With CLONE_PARENT in clone_flags the child is the
   * calling process's sibling, with its exit signal: its parent (not the
   * engine) reaps it, and the session reads the status the kernel keeps
   * for the pidfd once that is done (Linux 6.15), or ends AS_EXIT_LOST
   * when the parent has not reaped it within 255 ms of the exit. The
   * kernel refuses CLONE_PARENT (-EINVAL) to a pid namespace's init. */
  int (*child_fn)(void *arg, int ready_fd, char *why, size_t why_len);
  void *child_arg;
  unsigned clone_flags;
  size_t stream_cap; /* bytes an output stream may hold; 0 = 1 MiB */
  /* The largest read a bulky output stream grows to (the buffer pool
   * says how), rounded down to 64 KiB, 256 KiB or 1 MiB; 0 (or below
   * AS_BUF_READ): AS_BUF_READ, no growth; above AS_BUF_MAX: -EINVAL. Off
   * by default because it measured slower on a pipe (BENCHMARKS.md,
   * issue 16): a pipe wakes a writer blocked on it only once a read
   * ends (pipe_read), so a large read stalls the writer for longer, and
   * a buffer larger than the core's L2 cache takes the copy slower.
   * An AS_STDIO_SOCKET stream, whose writer is woken as each buffer of
   * its queue is read, grows to 256 KiB when read_max is 0. */
  size_t read_max;
  uint32_t drain_ms; /* after exit; 0 = AS_DRAIN_DEFAULT_MS */
  as_session_cbs_t cbs;
  void *data;
  size_t extra_size; /* bytes allocated with the session for its owner */
  /* Set in the child before its ids and capabilities change (raising a
   * hard limit needs CAP_SYS_RESOURCE, which a spawner's clone no longer
   * has); a refused one fails the spawn at AS_STAGE_SETUP. Borrowed until
   * the call returns. */
  const as_rlimit_t *rlimits;
  size_t n_rlimits;
  /* Written to the child's /proc/self/oom_score_adj before it joins a
   * container (-1000 to 1000; below the engine's own needs
   * CAP_SYS_RESOURCE, else the spawn fails at AS_STAGE_SETUP). */
  int set_oom_score_adj;
  int oom_score_adj;
  /* With set_caps, as an OCI runtime sets a process (not with a
   * spawner): the inheritable set, and the ambient capabilities raised
   * after the uid change (each must be in caps and caps_inheritable, else
   * the spawn fails at AS_STAGE_SETUP). */
  uint64_t caps_inheritable;
  uint64_t caps_ambient;
  /* With set_ids and set_caps: a process that becomes a user other than
   * root keeps caps (PR_SET_KEEPCAPS across the uid change) instead of
   * losing them all. */
  int user_keeps_caps;
  /* With set_ids: the supplementary groups (borrowed until the call
   * returns); none when n_groups is 0. */
  const gid_t *groups;
  size_t n_groups;
  int set_umask; /* umask(umask) before execve */
  unsigned umask;
} as_spawn_opts_t;

/* Starts a process. On success *out holds one reference that the caller
 * drops with as_session_unref(); callbacks run on the loop, never inside
 * this call. On failure nothing was started and no callback runs. A
 * program that cannot be executed is not a failure here: the session
 * completes with AS_EXIT_EXEC_FAILED and r->exec_errno. */
AS_API int as_session_spawn(as_loop_t *loop, const as_spawn_opts_t *opts,
                            as_session_t **out);
/* Watches a running process that is not (or no longer known as) a child
 * of this engine, e.g. a compute system's init found again after a
 * restart: only exit_cb/done_cb of opts (and data) are used. Its exit
 * status is known if it is still our child or the kernel keeps it for
 * the pidfd (Linux 6.15); otherwise the result says SIGKILL. */
AS_API int as_session_adopt(as_loop_t *loop, pid_t pid,
                            const as_spawn_opts_t *opts, as_session_t **out);
/* Stops watching the process, leaves it running, drops the caller's
 * reference: no callback runs after this. */
AS_API void as_session_abandon(as_session_t *s);
AS_API void as_session_ref(as_session_t *s);
/* Dropping the last reference of a running session detaches it: the engine
 * keeps pumping and reaping it but calls no callback; its output is
 * discarded. */
AS_API void as_session_unref(as_session_t *s);

AS_API pid_t as_session_pid(const as_session_t *s);
/* The pid as the process's own pid namespace sees it (the same as
 * as_session_pid unless it joined a container). */
AS_API pid_t as_session_ns_pid(const as_session_t *s);
/* The pidfd while the process is unreaped, else -1. Stays the session's. */
AS_API int as_session_pidfd(const as_session_t *s);
/* Known from the spawn on: the errno of a failed exec (or child_fn setup),
 * else 0. */
AS_API int as_session_exec_errno(const as_session_t *s);
/* With the errno above: the step that failed (enum as_stage). */
AS_API int as_session_exec_stage(const as_session_t *s);
/* With a failed child_fn setup: the sentence child_fn wrote into its why
 * (the step and the path at fault, at most AS_WHY_MAX bytes with its
 * NUL), else "". Stays the session's. */
enum { AS_WHY_MAX = 256 };
AS_API const char *as_session_setup_why(const as_session_t *s);
AS_API void *as_session_data(const as_session_t *s);
/* The opts->extra_size bytes (zeroed) that live as long as the session. */
AS_API void *as_session_extra(as_session_t *s);
/* 1 and the result once the process has exited / the session completed. */
AS_API int as_session_exited(const as_session_t *s, as_result_t *r);
AS_API int as_session_done(const as_session_t *s, as_result_t *r);
/* With AS_FDS: takes the caller's end of stream (AS_STDIN etc.); the caller
 * owns it (close-on-exec set). -EBADF when there is none or it was taken. */
AS_API int as_session_take_fd(as_session_t *s, int stream);

/* Queues len bytes for stdin; buf is lent until cb runs (status 0, or
 * -EPIPE/-ECANCELED when the bytes could not all be written). */
typedef void (*as_write_cb)(as_session_t *s, int status, void *data);
AS_API int as_session_write(as_session_t *s, const void *buf, size_t len,
                            as_write_cb cb, void *data);
/* Closes stdin once every queued byte has been written (a console gets its
 * EOF character instead). Idempotent. */
AS_API int as_session_close_stdin(as_session_t *s);
/* Sends sig through the pidfd. 0 after the process has exited (nothing is
 * signalled): idempotent. */
AS_API int as_session_kill(as_session_t *s, int sig);
/* Sends sig to the process group the session's program leads (new_pgrp,
 * or a console session): its descendants too, unless they left the group.
 * -EINVAL when the session leads no group; 0 when the group is empty. */
AS_API int as_session_kill_group(as_session_t *s, int sig);
/* Resizes the console; -ENOTTY without one. */
AS_API int as_session_resize(as_session_t *s, uint16_t rows, uint16_t cols);
/* Keeps the buffer of the data_cb under way; it then counts against the
 * stream's cap until as_session_release(). */
AS_API void as_session_hold(as_session_t *s, int stream, char *buf);
AS_API void as_session_release(as_session_t *s, int stream, char *buf);
/* Bytes of stream held by the consumer. */
AS_API size_t as_session_held(const as_session_t *s, int stream);

/* Raw output, for forwarding without copies. With a raw callback set on
 * an output stream the engine stops reading that stream's pipe: when
 * bytes wait in it, cb(s, stream, fd, avail, data) says that avail > 0
 * bytes are at the head of the pipe fd (non-blocking, the engine's, lent
 * until as_session_raw_next), and the consumer moves them out itself,
 * with splice(2) into a socket say (as_conn_write_pipe), in order with
 * anything else it sends. Nobody else reads the pipe meanwhile, so those
 * avail bytes stay there until the consumer takes them; the process may
 * fill the pipe and then blocks in write(), which is the flow control.
 * The stream is not watched until the consumer calls
 * as_session_raw_next(s, stream), once per cb, when it is done with the
 * fd (all, some or none of the bytes taken); the next cb says what is in
 * the pipe then, from a later loop phase. Until then the fd stays open
 * and the session's memory stays valid, even after the session
 * completed (drain timeout) or the caller dropped its reference. EOF and
 * completion are as in copy mode: data_cb gets len 0 once the pipe is
 * empty and its writers gone, and the session is done only after that.
 *
 * as_session_raw(s, stream, cb, data) sets the mode from now on; cb NULL
 * returns the stream to copy mode (once an outstanding cb was answered):
 * whatever is left in the pipe then goes to data_cb. Detaching the
 * session (its last as_session_unref) does the same. 0, -EINVAL (stream
 * not AS_STDOUT or AS_STDERR), -ENOTTY (a console: its master is no
 * pipe, the copying path stays), -ENOTSUP (an AS_STDIO_SOCKET stream, no
 * pipe either: the copying path stays), -EBADF (the stream is not
 * pumped, or at EOF). Loop thread. */
typedef void (*as_raw_cb)(as_session_t *s, int stream, int fd, size_t avail,
                          void *data);
AS_API int as_session_raw(as_session_t *s, int stream, as_raw_cb cb,
                          void *data);
AS_API void as_session_raw_next(as_session_t *s, int stream);

/* Timers (timer.c): one-shot, re-armable. An armed timer does not keep
 * the loop running. */
typedef struct as_timer_s as_timer_t;
typedef void (*as_timer_cb)(as_timer_t *t, void *data);
AS_API int as_timer_new(as_loop_t *loop, as_timer_t **out);
/* cb(t, data) runs once, ms from now; re-arming replaces deadline and cb. */
AS_API void as_timer_arm(as_timer_t *t, uint64_t ms, as_timer_cb cb,
                         void *data);
AS_API void as_timer_disarm(as_timer_t *t);
/* Disarms; the memory goes in a later loop phase, so this may be called
 * from t's own callback. NULL is accepted. */
AS_API void as_timer_free(as_timer_t *t);

/* Unix stream sockets (sock.c), on the engine's epoll set. A listener and
 * each connection not yet closed keep the loop running. */
typedef struct as_listener_s as_listener_t;
typedef struct as_conn_s as_conn_t;
typedef void (*as_accept_cb)(as_listener_t *l, as_conn_t *c, void *data);

/* Listens at path (a socket file there is replaced, any other file is
 * -EEXIST), chmod'ed to mode and chown'ed to gid unless gid is -1 before
 * listen(), so that no connection gets in under the umask's mode. Every
 * accepted connection carries conn_extra zeroed bytes for its owner
 * (as_conn_extra). -ENAMETOOLONG, -EINVAL, -ENOMEM or -errno. */
AS_API int as_listen_unix(as_loop_t *loop, const char *path, unsigned mode,
                          int gid, size_t conn_extra, as_accept_cb cb,
                          void *data, as_listener_t **out);
/* Adopts fd, a unix stream socket already bound and listening (one a
 * service manager passed, sd_listen_fds(3)): it is made non-blocking and
 * close-on-exec and watched like as_listen_unix's. On success fd belongs
 * to the listener: as_listener_close closes it and unlinks nothing. On
 * failure fd is left open and still the caller's. -EINVAL when fd is not
 * a listening unix stream socket (or cb is NULL), -ENOMEM or -errno.
 * Engine thread, as as_listen_unix. */
AS_API int as_listen_fd(as_loop_t *loop, int fd, size_t conn_extra,
                        as_accept_cb cb, void *data, as_listener_t **out);
/* Stops accepting and removes the socket file (if it is still ours; an
 * adopted socket has none). NULL is accepted. */
AS_API void as_listener_close(as_listener_t *l);

typedef struct as_conn_cbs_s {
  /* len bytes in buf, lent for the call unless as_conn_hold() keeps it;
   * len 0: the peer shut its writing side. */
  void (*data_cb)(as_conn_t *c, char *buf, size_t len, void *data);
  /* The peer is gone (status -errno); runs once, no data_cb after. */
  void (*gone_cb)(as_conn_t *c, int status, void *data);
} as_conn_cbs_t;

typedef struct as_iov_s {
  const void *base;
  size_t len;
} as_iov_t;

enum {
  AS_CONN_IOV_MAX = 16,
  AS_CONN_HOLD_MAX = 1024 * 1024, /* reading stops above this many held */
};

/* A write request, lent to the engine from as_conn_write() until its
 * callback; the owner finds its own state around it (container_of). */
typedef struct as_conn_wreq_s as_conn_wreq_t;
typedef void (*as_conn_write_cb)(as_conn_wreq_t *req, int status);
struct as_conn_wreq_s {
  /* The engine's. */
  as_conn_wreq_t *next;
  as_conn_write_cb cb;
  as_iov_t iov[AS_CONN_IOV_MAX];
  int n, i;         /* pieces; the first not fully written */
  size_t off, left; /* into iov[i]; bytes not yet written */
  int pipe_fd;      /* as_conn_write_pipe: the pipe, after the pieces */
  size_t pipe_left; /* its bytes not yet moved */
};

AS_API void *as_conn_extra(as_conn_t *c);
AS_API void as_conn_start(as_conn_t *c, const as_conn_cbs_t *cbs, void *data);
AS_API void as_conn_pause(as_conn_t *c, int paused);
AS_API void as_conn_hold(as_conn_t *c, char *buf);
AS_API void as_conn_release(as_conn_t *c, char *buf);
/* Queues the n pieces (their memory lent until cb) after everything
 * queued before; cb(req, status) runs from the loop, never inside this
 * call: 0, -EPIPE/-ECONNRESET (peer gone) or -ECANCELED (closed first).
 * -EPIPE at once when the peer is gone or after as_conn_shutdown(),
 * -EINVAL for a bad n. */
AS_API int as_conn_write(as_conn_t *c, as_conn_wreq_t *req, const as_iov_t *iov,
                         int n, as_conn_write_cb cb);
/* As as_conn_write, then len bytes taken from the pipe pipe_fd: moved
 * with splice(2), so that the socket gets the pipe's pages without a copy
 * (where the kernel refuses splice, EINVAL, they are read and sent
 * through a buffer of the engine's). The len bytes must be in the pipe
 * already, and nothing else may read it until cb runs; a pipe that ends
 * before them fails the connection with -EIO. pipe_fd is borrowed until
 * cb; n may be 0 (no pieces before the pipe's bytes). Errors as
 * as_conn_write. splice(2) has no MSG_NOSIGNAL: a peer that leaves while
 * bytes move raises SIGPIPE, which the engine ignores unless the program
 * installed a handler of its own (as_loop_new). */
AS_API int as_conn_write_pipe(as_conn_t *c, as_conn_wreq_t *req,
                              const as_iov_t *iov, int n, int pipe_fd,
                              size_t len, as_conn_write_cb cb);
AS_API size_t as_conn_queued(const as_conn_t *c);
/* The connection's socket, -1 once closed: borrowed, for a caller that
 * moves the connection to another loop (a dup(2) of it to as_conn_adopt
 * there, then as_conn_close here). */
AS_API int as_conn_fd(const as_conn_t *c);
/* Watches fd, a connected unix stream socket, as a connection of loop
 * (made non-blocking and close-on-exec), as if accepted there; it starts
 * with as_conn_start. On success fd belongs to the connection
 * (as_conn_close closes it); on failure it is left open, the caller's.
 * -ENOMEM or -errno. loop's thread. */
AS_API int as_conn_adopt(as_loop_t *loop, int fd, as_conn_t **out);
AS_API void as_conn_shutdown(as_conn_t *c);
/* SO_PEERCRED; -ENOTCONN once the peer is gone. */
AS_API int as_conn_peer(const as_conn_t *c, pid_t *pid, uid_t *uid, gid_t *gid);
/* Closes at once: written requests complete with 0 and queued ones with
 * -ECANCELED inside this call, and no callback runs after. Held buffers
 * stay valid until released; the memory goes after the last one. */
AS_API void as_conn_close(as_conn_t *c);

#endif
