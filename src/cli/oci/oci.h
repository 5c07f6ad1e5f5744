/* SPDX-License-Identifier: MIT */
/* hcs-runc: an OCI runtime with runc's command line, on libhcs.
 *
 * The shape (why it is not runc's): libhcs gives a container hcs's init
 * as pid 1 and starts the container's programs as processes of the
 * service that asks for them (a libhcs session, pumped by that service's
 * engine). containerd-shim-runc-v2 and dockerd wait for the pid that
 * `create --pid-file` names and take its exit status as the container's.
 * So `create` leaves behind a keeper: a host process that holds a libhcs
 * service on the state under ROOT/ID, makes and starts the compute system
 * with its init cloned as the keeper's sibling (InitSibling: its parent is
 * `create`, then the shim, a subreaper, which reaps it), waits on
 * ROOT/ID/exec.fifo for `start`, then runs the OCI process as a session in
 * the system, relays its stdio to the fds it was given (or a console it
 * sends to --console-socket), forwards the signals `kill` sends it, and
 * when the process ends has init exit with its status (the process was
 * the container's life, as pid 1 is under runc), then terminates the
 * system. The pid file and `state` name that init: a process of the
 * container, in its cgroup and namespaces, where the keeper is in
 * neither. `exec` hands its process to that keeper, which runs it as
 * another session (keeper.c, exec.c). */
#ifndef HCS_CLI_OCI_OCI_H
#define HCS_CLI_OCI_OCI_H

#include <hcs.h>

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define OCI_DEFAULT_ROOT "/run/hcs-runc"
#define OCI_VERSION "1.0.2"

/* Options before the command. */
typedef struct oci_global_s {
  const char *root; /* --root */
  const char *log;  /* --log, or NULL */
  bool log_json;    /* --log-format json */
  bool debug;       /* --debug */
} oci_global_t;

/* main.c: errors in runc's form. oci_error() says what failed (to the
 * --log file, as JSON with --log-format json, and to stderr); returns 1. */
int oci_error(const oci_global_t *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A warning line in the log (the shim shows only errors). */
void oci_warn(const oci_global_t *g, const char *msg);
/* The hcs error's text as an oci_error (err freed); returns 1. */
int oci_hcs_error(const oci_global_t *g, const char *what, hcs_error_t *err);

/* spec.c: config.json mapped onto libhcs. */
typedef struct oci_process_s {
  char **args; /* NULL-terminated */
  char **env;  /* NULL-terminated */
  char *cwd;
  char user[48]; /* "uid:gid" */
  bool terminal;
  uint16_t rows, cols;
} oci_process_t;

/* late.c: what the keeper makes once the system runs (see late.c). */
typedef struct oci_late_s {
  json_t *sysctl; /* linux.sysctl (a reference): net.* keys only */
  bool cgroup;    /* the cgroup tree on /sys/fs/cgroup */
  bool cgroup_ro;
  json_t *masked;   /* linux.maskedPaths beyond hcs's own (a reference) */
  json_t *readonly; /* linux.readonlyPaths beyond hcs's own */
  unsigned long root_propagation; /* linux.rootfsPropagation: MS_*; 0 */
  json_t *devices; /* linux.devices (checked), made in the container */
} oci_late_t;

/* A pidfd of the init of system id (checked by its start time), or -1. */
int oci_init_pidfd(const oci_global_t *g, const char *id);

/* hooks.c: config.json's hooks. */
/* Whether hooks is a valid hooks object; -1 with why naming the field. */
int oci_hooks_check(json_t *hooks, char *why, size_t wn);
/* Whether hooks has any hook of kind. */
bool oci_hooks_any(json_t *hooks, const char *kind);
/* The state a hook reads on its stdin, as JSON text (free()), or NULL. */
char *oci_hook_state(const char *id, const char *status, pid_t pid,
                     const char *bundle, json_t *annotations);
/* Runs hooks.kind in order with state on stdin, in the namespaces of the
 * process behind pidfd (>= 0: createContainer, startContainer) or in
 * ours; 0, or -1 with why naming the hook that failed and how. */
int oci_hooks_run(json_t *hooks, const char *kind, const char *state, int pidfd,
                  char *why, size_t wn);

/* In the namespaces of running system id; -1 with why on failure. */
int oci_late_setup(const oci_global_t *g, const char *id, const oci_late_t *w,
                   char *why, size_t wn);

typedef struct oci_spec_s {
  char *system_json; /* the ContainerConfig for CreateComputeSystem */
  char *rootfs;      /* root.path, absolute */
  oci_process_t proc;
  oci_late_t late;
  json_t *hooks;       /* config.json's hooks (checked), or NULL */
  json_t *annotations; /* its annotations, or NULL */
  /* What hcs does other than asked, though not against the spec's
   * intent: sentences for the log ("" for none). */
  char notes[1024];
} oci_spec_t;

/* Reads BUNDLE/config.json into spec; on a field hcs cannot honour,
 * writes a sentence naming it into why and returns -1. */
int oci_spec_load(const char *bundle, oci_spec_t *spec, char *why, size_t wn);
/* A process object ("process" of config.json, or exec's --process file)
 * into p; -1 with why as above. path names it in messages. */
int oci_process_parse(json_t *o, const char *path, oci_process_t *p, char *why,
                      size_t wn);
void oci_process_free(oci_process_t *p);
/* linux.resources (as `update --resources` gives them) as the Settings
 * of hcs_ModifyComputeSystem's Limits request; NULL with why when a
 * field cannot be honoured. */
json_t *oci_resources_settings(json_t *res, char *why, size_t wn);
void oci_spec_free(oci_spec_t *spec);

/* state.c: what a container keeps under ROOT/ID. */
typedef struct oci_state_s {
  char id[129];
  pid_t pid;                     /* the keeper */
  unsigned long long start_time; /* its start time (proc(5) field 22) */
  /* The container's init (libhcs's, a sibling of the keeper): the pid
   * `state` and --pid-file give; 0 in a state written before it was. */
  pid_t init_pid;
  unsigned long long init_start;
  char bundle[4096];
  char rootfs[4096];
  char created[64]; /* RFC 3339 */
} oci_state_t;

typedef enum oci_status {
  OCI_CREATED,
  OCI_RUNNING,
  OCI_PAUSED,
  OCI_STOPPED,
} oci_status_t;

/* ROOT/ID/name into out. */
int oci_path(const oci_global_t *g, const char *id, const char *name, char *out,
             size_t n);
/* The state dir of libhcs for container id: ROOT/ID/hcs. */
void oci_hcs_dir(const oci_global_t *g, const char *id, char *out, size_t n);
/* libhcs's record of the system (its Cgroup, its Init), or NULL when it
 * has none (never made, or deleted). */
json_t *oci_hcs_record(const oci_global_t *g, const char *id);
int oci_state_write(const oci_global_t *g, const oci_state_t *st);
/* 0, -ENOENT when there is no container ID, or another -errno. */
int oci_state_read(const oci_global_t *g, const char *id, oci_state_t *st);
/* A pidfd of the keeper while it is the process st names, else -1. */
int oci_keeper_pidfd(const oci_state_t *st);
/* A pidfd of pid while its start time is start (and it has not exited),
 * else -1. */
int oci_pidfd_checked(pid_t pid, unsigned long long start);
/* The init of system id as libhcs's record names it (pid, start time):
 * 0, or -1 when there is none. */
int oci_init_read(const oci_global_t *g, const char *id, pid_t *pid,
                  unsigned long long *start);
oci_status_t oci_status(const oci_global_t *g, const oci_state_t *st);
const char *oci_status_name(oci_status_t s);
/* file of the container's cgroup (as libhcs's record names it), opened
 * for reading; NULL when it has none. */
FILE *oci_cgroup_open(const oci_global_t *g, const char *id, const char *file);
/* Removes ROOT/ID and what is in it. */
void oci_state_remove(const oci_global_t *g, const char *id);
/* The address of ROOT/ID/exec.sock, through *dirfd (the caller closes
 * it after bind or connect); 0 or -errno. */
struct sockaddr_un;
int oci_sock_addr(const oci_global_t *g, const char *id, struct sockaddr_un *sa,
                  int *dirfd);
/* Makes ROOT and its missing parents: 0 or -errno. */
int oci_make_root(const oci_global_t *g);
/* Starts a libhcs service on ROOT/ID/hcs. */
int oci_open(const oci_global_t *g, const char *id, hcs_t **out);
/* proc(5) field 22 of pid, 0 when it is gone. */
unsigned long long oci_start_time(pid_t pid);

/* keeper.c */
typedef struct oci_keeper_opts_s {
  const oci_global_t *g;
  const char *id;
  const oci_spec_t *spec;     /* the system to make */
  const oci_process_t *proc;  /* its process */
  const char *console_socket; /* or NULL */
  const char *fifo;           /* waits for start on it */
  const char *bundle;         /* absolute, for the hooks' state */
  const char *start_ack;      /* a fifo `start` waits on, or NULL */
} oci_keeper_opts_t;

/* Forks the keeper; returns its pid once it has made and started the
 * system, listens for exec and waits for `start`; -1 after oci_error()
 * otherwise. */
pid_t oci_keeper_spawn(const oci_keeper_opts_t *o);

/* Makes a pty, sends its master to the console socket at path and
 * gives the slave (raw, made the caller's controlling terminal); -1 with
 * why otherwise. */
int oci_console_make(const char *path, int *slave, char *why, size_t wn);
/* The signals forwarded to a container's process. */
void oci_forward_sigset(sigset_t *set);
/* Points fds 0-2 at /dev/null. */
void oci_stdio_to_null(void);
/* Closes every fd above 2 but keep (-1: none): what the caller of
 * create or exec left open (the shim's socket, a daemon's pipes) is not
 * held by a process that outlives the command, as runc's init closes
 * them before it runs the container's process. */
void oci_close_inherited(int keep);
/* main.c: the command line (/proc/PID/cmdline) becomes title; returns
 * what it was (NULL if it could not be kept), which oci_title_restore
 * puts back and frees. */
char *oci_title_set(const char *title);
void oci_title_restore(char *old);

/* The signal `kill` sends a keeper, carrying the container's signal as
 * its value (sigqueue(3)). */
#define OCI_KILL_SIGNAL (SIGRTMIN + 1)

/* Commands (cmd.c, exec.c). argv[0] is the command's name. */
int oci_cmd_create(const oci_global_t *g, int argc, char **argv);
int oci_cmd_start(const oci_global_t *g, int argc, char **argv);
int oci_cmd_state(const oci_global_t *g, int argc, char **argv);
int oci_cmd_kill(const oci_global_t *g, int argc, char **argv);
int oci_cmd_delete(const oci_global_t *g, int argc, char **argv);
int oci_cmd_pause(const oci_global_t *g, int argc, char **argv);
int oci_cmd_resume(const oci_global_t *g, int argc, char **argv);
int oci_cmd_ps(const oci_global_t *g, int argc, char **argv);
int oci_cmd_exec(const oci_global_t *g, int argc, char **argv);
int oci_cmd_features(const oci_global_t *g, int argc, char **argv);
int oci_cmd_update(const oci_global_t *g, int argc, char **argv);

/* Writes pid to path as runc does (the number, no newline), atomically. */
int oci_write_pid_file(const char *path, pid_t pid);

#endif /* HCS_CLI_OCI_OCI_H */
