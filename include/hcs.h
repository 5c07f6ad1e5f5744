/* SPDX-License-Identifier: MIT */
/* hcs: the Host Compute Service API on Linux.
 *
 * Two faces:
 * - the hcsshim-shaped synchronous calls (hcs_CreateComputeSystem,
 *   hcs_CreateProcessInComputeSystem, ...). They may be called from any
 *   thread: each posts its work to the engine thread and waits for the
 *   answer. Called from the engine thread itself (inside a callback), a
 *   call that would have to wait fails with HCS_WSAEINVAL instead of
 *   deadlocking.
 * - the asynchronous session API (hcs_session_*), for embedders that run
 *   on the engine's loop: every hcs_session_* call must be made on the
 *   engine thread (from a callback, or from a function posted with
 * as_loop_post), and every callback runs there.
 *
 * Results: the synchronous calls return an hcs_result_t from the Windows
 * code space the HCS used (HCS_OK, HCS_WSAEINVAL, ...). When a call fails
 * and err is not NULL, *err receives an error object that the caller owns
 * and frees with hcs_error_free(); on success *err is set to NULL. The
 * session calls return 0 or a negative errno, as libuv does.
 *
 * Process-wide effects: hcs_open() ignores SIGPIPE in the process when its
 * disposition is the default (a write to a closed pipe then fails with
 * EPIPE instead of killing the host); programs started by hcs get SIGPIPE
 * back at its default. Nothing else global is changed.
 */
#ifndef HCS_H
#define HCS_H

#include <hcs-version.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HCS_API __attribute__((visibility("default")))

/* The library's version, "MAJOR.MINOR.PATCH" (a static string), and as
 * HCS_VERSION_HEX encodes it; compare with the HCS_VERSION_* macros of the
 * headers a program was built with. The major version is the soname's
 * (libhcs.so.MAJOR): a program runs with any library of its major version
 * whose minor version is at least its headers'. Any thread. */
HCS_API const char *hcs_version(void);
HCS_API unsigned hcs_version_hex(void);

/* The library's log: what it meets on its own that no call's result
 * reports (a state record it skips when a service opens, a network it
 * cannot bring back, a record it cannot rewrite after a stop). Levels are
 * syslog priorities. Until an embedder sets a callback the library logs
 * nothing: it never writes to stderr or to syslog. */
typedef enum hcs_log_level_e {
  HCS_LOG_ERROR = 3,
  HCS_LOG_WARN = 4,
  HCS_LOG_INFO = 6,
  HCS_LOG_DEBUG = 7,
} hcs_log_level_t;
/* msg is one line without a newline, the library's until cb returns. */
typedef void (*hcs_log_cb)(hcs_log_level_t level, const char *msg, void *data);
/* Sets the process's log callback (one for every service of the process;
 * it replaces the one before): cb(level, msg, data) runs for each message
 * at max_level or more severe (HCS_LOG_WARN: errors and warnings). cb
 * NULL turns the log off again. data stays the caller's.
 *
 * Threads: cb runs on the thread that meets the event: the engine thread
 * of a service, or the thread that calls hcs_open() or hcs_close() while
 * they load or release state; never two calls at once. Once
 * hcs_set_log_cb() returns, the callback it replaced is not running and
 * never runs again, so its data may be freed. cb must return quickly (an
 * engine thread waits for it) and must not call hcs_set_log_cb() or a
 * synchronous hcs call. hcs_set_log_cb() may be called from any thread
 * but not from inside cb. No errors: a max_level below HCS_LOG_ERROR
 * counts as HCS_LOG_ERROR, one above HCS_LOG_DEBUG as HCS_LOG_DEBUG. */
HCS_API void hcs_set_log_cb(hcs_log_cb cb, hcs_log_level_t max_level,
                            void *data);

/* Result codes: the codes the HCS and hcsshim answered, so that code
 * ported from hcsshim tests for the same numbers (docs/hcs-api.md,
 * Constants). Win32 codes are small numbers; the HCS_E_* codes are the
 * HRESULTs of the HCS's own facility. hcs_result_errno() gives the errno
 * nearest to each, for callers who think in errno. */
typedef uint32_t hcs_result_t;

enum {
  HCS_OK = 0,
  HCS_ERROR_PATH_NOT_FOUND = 3, /* older HCS: Shutdown of a system gone */
  HCS_ERROR_INVALID_HANDLE = 6, /* the service is closing or closed */
  HCS_ERROR_INVALID_DATA = 13,  /* a layer tar refused (hostile, too big) */
  HCS_ERROR_OUTOFMEMORY = 14,
  HCS_ERROR_GEN_FAILURE = 31,   /* an operation failed; the error says why */
  HCS_ERROR_NOT_SUPPORTED = 50, /* hcs does not do this (e.g. HvPartition) */
  HCS_ERROR_CALL_NOT_IMPLEMENTED = 120, /* machinery not built yet */
  HCS_ERROR_PROC_NOT_FOUND = 127, /* hcsshim's ErrProcNotFound (not used) */
  HCS_ERROR_BAD_PATHNAME = 161,   /* older HCS: Shutdown of a system gone */
  HCS_ERROR_BUSY = 170,           /* the layer is in use */
  HCS_ERROR_ALREADY_EXISTS = 183, /* duplicate layer id, HNS id or name */
  HCS_WAIT_TIMEOUT = 258,         /* a wait timed out; the object lives on */
  HCS_ERROR_NO_MORE_ITEMS = 259, /* (hcs) a pool (addresses, MACs) is used up */
  HCS_ERROR_SHUTDOWN_IN_PROGRESS = 1115, /* accepted: already stopping */
  /* An unknown or exited process (its result taken), layer or HNS object. */
  HCS_ERROR_NOT_FOUND = 1168,
  HCS_ERROR_CANCELLED = 1223, /* a progress callback asked to stop */
  HCS_WSAEINVAL = 10022,      /* a bad argument (the error names it) */
  /* The name earlier hcs.h gave HCS_WAIT_TIMEOUT. */
  HCS_ERROR_TIMEOUT = HCS_WAIT_TIMEOUT,
};

/* The HCS's HRESULTs (above INT_MAX, so macros rather than enumerators). */
/* The operation goes on in the background (hcs never answers it: every
 * call has finished when it returns). */
#define HCS_E_OPERATION_PENDING ((hcs_result_t)0xC0370103u)
/* The call is not valid in the system's or process's state: Start of a
 * system not Created, a process in a system not running (or paused),
 * Delete of a running system, Pause of a system not running or paused
 * already, Resume of one not paused, a console resize on a process
 * without one. */
#define HCS_E_INVALID_STATE ((hcs_result_t)0xC0370105u)
/* The system's init died during Start. */
#define HCS_E_UNEXPECTED_EXIT ((hcs_result_t)0xC0370106u)
/* A message the service does not know (hcs never answers it). */
#define HCS_E_UNKNOWN_MESSAGE ((hcs_result_t)0xC037010Bu)
/* A document that is not a JSON object. */
#define HCS_E_INVALID_JSON ((hcs_result_t)0xC037010Du)
/* No compute system has the id. */
#define HCS_E_SYSTEM_NOT_FOUND ((hcs_result_t)0xC037010Eu)
/* A compute system with the id exists. */
#define HCS_E_SYSTEM_ALREADY_EXISTS ((hcs_result_t)0xC037010Fu)
/* Shutdown or Terminate of a stopped system: nothing was signalled, and
 * callers treat it as success. */
#define HCS_E_SYSTEM_ALREADY_STOPPED ((hcs_result_t)0xC0370110u)

/* hcsshim's error predicates (IsNotExist, IsAlreadyStopped, ...), on a
 * result code (hcs_error_code() of an error object). As in hcsshim, an
 * unknown process is both "not exist" and "already stopped": a pid whose
 * result was taken cannot be told from one that never was.
 * - hcs_is_not_exist: HCS_E_SYSTEM_NOT_FOUND, HCS_ERROR_NOT_FOUND,
 *   HCS_ERROR_PROC_NOT_FOUND.
 * - hcs_is_already_stopped: HCS_E_SYSTEM_ALREADY_STOPPED,
 *   HCS_ERROR_NOT_FOUND, HCS_ERROR_PROC_NOT_FOUND.
 * - hcs_is_timeout: HCS_WAIT_TIMEOUT, and its HRESULT form 0x80070102.
 * - hcs_is_pending: HCS_E_OPERATION_PENDING.
 * - hcs_is_not_supported: a request the platform does not understand or
 *   do: HCS_E_INVALID_JSON, HCS_ERROR_INVALID_DATA,
 *   HCS_ERROR_NOT_SUPPORTED, HCS_E_UNKNOWN_MESSAGE.
 * - hcs_is_already_closed: HCS_ERROR_INVALID_HANDLE (hcsshim's
 *   ErrAlreadyClosed had no code; hcs answers this one for a call made
 *   while the service closes).
 * Pure functions, any thread. */
HCS_API bool hcs_is_not_exist(hcs_result_t code);
HCS_API bool hcs_is_already_stopped(hcs_result_t code);
HCS_API bool hcs_is_timeout(hcs_result_t code);
HCS_API bool hcs_is_pending(hcs_result_t code);
HCS_API bool hcs_is_not_supported(hcs_result_t code);
HCS_API bool hcs_is_already_closed(hcs_result_t code);
/* The errno nearest to code (positive; 0 for HCS_OK, EIO for a code hcs
 * does not know): ENOENT for the not-found codes, EEXIST for the
 * duplicates, ETIMEDOUT, ESRCH for HCS_E_SYSTEM_ALREADY_STOPPED and
 * HCS_E_UNEXPECTED_EXIT, EINVAL for HCS_WSAEINVAL, HCS_E_INVALID_STATE,
 * HCS_E_INVALID_JSON and HCS_ERROR_INVALID_DATA, EINPROGRESS for a
 * shutdown in progress or a pending operation, ENOTSUP, ENOSYS, EBUSY,
 * ENOSPC (a pool used up), ECANCELED, ENOMEM, EBADF (closed), EIO (a
 * general failure). An error object also carries the errno of its own
 * cause (hcs_error_errno), which may be more precise. */
HCS_API int hcs_result_errno(hcs_result_t code);

enum {
  HCS_WAIT_ERR_EXEC_FAILED = 32767, /* exit code of a program not started */
  /* Exit code of a process whose exit another wait in the embedding
   * program took: execve makes every program signal SIGCHLD, so a
   * waitpid(-1) or wait() can reap what hcs tracks. On Linux 6.15 and
   * later hcs reads the real status from its pidfd all the same; before,
   * this code says the status is lost (never a made-up code). */
  HCS_WAIT_ERR_EXIT_LOST = 32766,
};

#define HCS_TIMEOUT_INFINITE 0xFFFFFFFFu
/* The signal that ends an "InitSibling" system's init with a status
 * (hcs_CreateComputeSystem): SIGRTMIN + 6 under glibc. */
#define HCS_INIT_EXIT_SIGNAL 40
/* In its value: kill every other process, but do not exit. */
#define HCS_INIT_KILL_ONLY 0x100

/* Where a process that could not be started failed. */
enum {
  HCS_EXEC_STAGE_PROGRAM = 0, /* executing the program (or finding it) */
  HCS_EXEC_STAGE_CWD = 1,     /* entering the working directory */
  HCS_EXEC_STAGE_USER = 2,    /* taking the user's uid and gid */
  HCS_EXEC_STAGE_SETUP = 3,   /* stdio, console, namespaces, limits */
};

/* The seed's own names. Define HCS_NO_SEED_NAMES to leave them out. */
#ifndef HCS_NO_SEED_NAMES
#define WaitErrExecFailed HCS_WAIT_ERR_EXEC_FAILED
#define ERROR_GEN_FAILURE HCS_ERROR_GEN_FAILURE
#define ERROR_SHUTDOWN_IN_PROGRESS HCS_ERROR_SHUTDOWN_IN_PROGRESS
#define WSAEINVAL HCS_WSAEINVAL
#define TimeoutInfinite HCS_TIMEOUT_INFINITE
#endif

/* Errors: the HcsError equivalent. */
typedef struct hcs_error_s hcs_error_t;

/* The result code. */
HCS_API hcs_result_t hcs_error_code(const hcs_error_t *e);
/* The operation, e.g. "hcs::CreateProcessInComputeSystem". */
HCS_API const char *hcs_error_op(const hcs_error_t *e);
/* The object: "id=ID" or "id=ID pid=N"; "" when none. */
HCS_API const char *hcs_error_object(const hcs_error_t *e);
/* What went wrong, in words (names the field, syscall or path at fault). */
HCS_API const char *hcs_error_cause(const hcs_error_t *e);
/* The errno behind it, or 0. */
HCS_API int hcs_error_errno(const hcs_error_t *e);
/* The HcsError text: "<op> failed: <cause> (0x<code>) <object>"; for
 * the HNS calls "HNS failed with error : <cause> (0x<code>) <object>", as
 * hcsshim rendered HNS's errors. The string belongs to e. */
HCS_API const char *hcs_error_message(const hcs_error_t *e);
/* The error as a JSON object {"Operation","Code","Object","Cause","Errno",
 * "Message"}; the caller frees it with hcs_free(). NULL on ENOMEM. */
HCS_API char *hcs_error_json(const hcs_error_t *e);
/* Frees e; NULL is accepted. */
HCS_API void hcs_error_free(hcs_error_t *e);
/* Frees memory that an hcs call handed to the caller. */
HCS_API void hcs_free(void *p);

/* Option structs grow: hcs_options_t, hcs_process_params_t,
 * hcs_session_options_t, hcs_session_in_t and hcs_layer_options_t begin
 * with uint32_t size, which a caller sets to sizeof(the struct) as it
 * compiled it, or leaves 0 for the layout of hcs 0.1 (the first one).
 * Fields a later version appends past a caller's size read as 0, their
 * default, so a program built against older headers keeps working; a
 * size larger than this library knows is accepted when the unknown bytes
 * are zero and refused otherwise (the caller asks for something this
 * library does not do): HCS_WSAEINVAL, or -E2BIG from the session calls.
 * A size below the first layout's is refused likewise (-EINVAL). */

/* The service: the engine thread, its loop and the compute systems. */
typedef struct hcs_s hcs_t;
struct as_loop_s;

typedef struct hcs_options_s {
  uint32_t size; /* sizeof as compiled, or 0 (see "Option structs grow") */
  /* Run the engine on a thread of its own (the usual case). With false,
   * the caller runs the loop (as_loop_run on hcs_engine_loop()) on a
   * thread of its choosing, and that thread is the engine thread. */
  bool no_thread;
  /* An embedder's uv_loop_t to run on (implies no_thread); NULL for a
   * loop of hcs's own. */
  void *uv_loop;
  /* A directory where compute-system records are kept (created 0700 if
   * missing), so that another hcs_open on it finds them again; NULL keeps
   * them in memory only. The hcs command uses /run/hcs. */
  const char *state_dir;
  /* Engine loops, each on a thread of its own (0: one per CPU the process
   * may run on, at most 64; 1: one loop, as before this field existed).
   * Loop 0 is the engine loop: the compute systems, networks and every
   * synchronous call run there (with no_thread or uv_loop, it is the
   * caller's). Loops 1 to threads-1 are always hcs's own threads. They
   * carry the processes of hcs_CreateProcessInComputeSystem (made from a
   * thread other than the engine's, each goes to the next loop in turn:
   * its exit, wait, terminate and resize reach it there), and the
   * asynchronous sessions a front end starts from them (hcs_session_start
   * places a session on the loop of the thread that calls it, and it stays
   * there: its calls and callbacks are that thread's). A front end
   * spreads its sessions by posting its work to hcs_engine_loop_at(). A
   * synchronous call from a worker loop's thread is refused
   * (HCS_WSAEINVAL, errno EDEADLK): it would wait for loop 0, which may
   * be waiting for it. More than 64: HCS_WSAEINVAL naming threads. */
  uint32_t threads;
  /* The records in state_dir need not outlive the machine's boot (as an
   * OCI runtime's root, runc's /run/runc: whoever runs containers there
   * starts over after a reboot). Each record is still replaced whole by
   * a rename, so a reader, or the next hcs_open after a process died
   * part-way, finds the old record or the new one; but none is synced to
   * the disk (no fsync of the file or the directory), which a power loss
   * may then find torn, missing or back after its deletion. hcs-runc
   * sets it: its records go when its container does. */
  bool state_per_boot;
} hcs_options_t;

/* Starts a service. opts may be NULL for the defaults. On success the
 * caller owns *out and ends it with hcs_close(). */
HCS_API hcs_result_t hcs_open(hcs_t **out, const hcs_options_t *opts,
                              hcs_error_t **err);
/* Terminates every process still running and every container (unless the
 * service has a state_dir: containers then keep running for the next
 * service), waits for them, stops the engine thread and frees the service.
 * Every hcs_session_t must have been released, and every handle the
 * caller made on the engine loop closed (listeners and connections keep
 * the loop running). Not from the engine thread. NULL is accepted. */
HCS_API void hcs_close(hcs_t *hcs);
/* The engine loop (libhcs-async, <hcs-async.h>) the service runs on, for
 * a front end that adds its own sockets, timers, work or posts to it
 * (as_loop_post from any thread; the other as_ calls on the engine
 * thread). With no_thread the caller runs it with as_loop_run(): with
 * once 0 it returns when no session, listener or connection is left. The
 * loop stays the service's: it lives until hcs_close(), and every handle
 * the caller made on it must be closed before that. Any thread. */
HCS_API struct as_loop_s *hcs_engine_loop(hcs_t *hcs);
/* The number of engine loops (hcs_options_t.threads as resolved, >= 1),
 * and loop i of them (0 is hcs_engine_loop()); NULL when i is out of
 * range. Loops 1 and up run on hcs's threads until hcs_close(): a front
 * end reaches them with as_loop_post (any thread), and what it makes on
 * one (sessions, sockets, timers) must be ended there before
 * hcs_close(). Any thread. */
HCS_API uint32_t hcs_engine_loops(hcs_t *hcs);
HCS_API struct as_loop_s *hcs_engine_loop_at(hcs_t *hcs, uint32_t i);

/* Compute systems. ids are 1 to 128 characters of [A-Za-z0-9_.-], not
 * starting with '.' or '-'.
 *
 * Configuration JSON: the ContainerConfig Docker sent (SystemType
 * "Container" required; docs/hcs-api.md lists the fields), read as
 * Go marshalled it: null is an absent array, object or raw field (a nil
 * slice, map or pointer: "Layers": null, "EndpointList": null), and "" an
 * absent string Go always wrote ("VolumePath": "" is no volume path). The
 * fields of hcsshim's and Docker's structs that hcs has no meaning for
 * ("Devices", "HvRuntime", "MappedPipes", "MappedVirtualDisks",
 * "AssignedDevices", "NetworkSharedContainerName", "ContainerType",
 * "TerminateOnLastHandleClosed", a mapped directory's "BandwidthMaximum",
 * "IOPSMaximum", "CreateInUtilityVM", "LinuxMetadata") are accepted null,
 * false, 0, "", [] or {}, and refused otherwise with
 * HCS_ERROR_NOT_SUPPORTED naming the field: never kept and ignored. Text
 * that is not a JSON object: HCS_E_INVALID_JSON. Checked strictly, where
 * hcs differs from HCS on purpose (HCS ignored fields it did not know, so
 * a misspelt limit was silently dropped): an unknown field, a wrong type
 * or an out-of-range number is HCS_WSAEINVAL naming the field. A
 * duplicate id: HCS_E_SYSTEM_ALREADY_EXISTS. The hcs extensions:
 * "PidsMaximum" (a
 * pids limit), "Environment" ({"NAME": "value"}, the default environment
 * of the system's processes), "UidMap"/"GidMap" ([{ContainerID, HostID,
 * Size}]: the maps of a new user namespace (Namespaces); without one,
 * accepted and recorded), "HostNetwork" (true: the system shares
 * the host's network namespace; not with an EndpointList),
 * "Namespaces" ([{Type, Path, Host}], Type one of pid, mount, uts, ipc,
 * network, cgroup, user, each at most once: with Path (absolute, a
 * namespace file such as /proc/PID/ns/net, or .../pid_for_children) the
 * system joins that namespace, with "Host": true it shares the host's
 * (the embedding process's), with neither it gets a new one, as it does
 * for a type not listed (but user: the host's when not listed). Every
 * process of the system is in them: init joins them before building the
 * root, in a joined mount namespace too (its other members then see that
 * root, as with runc), a joined uts namespace takes HostName, and exec
 * joins init's. In a pid namespace it does not make, init is not pid 1:
 * what it would signal to every process of its namespace (shutdown's
 * SIGTERM, InitSibling's kill) goes to the members of the system's
 * cgroup, each through a pidfd, and no other process. Refused naming the
 * entry: an unknown or repeated Type, a relative Path, Path with Host,
 * the host's network (that is "HostNetwork"), network with HostNetwork,
 * a joined network with an EndpointList, the host's uts with HostName
 * (HCS_WSAEINVAL); joining a user namespace (HCS_ERROR_NOT_SUPPORTED).
 * The host's mount namespace ({"Type": "mount", "Host": true}) is as runc
 * has it without one: init builds the root there, under a private bind
 * of the system's mount point (nothing propagates out), enters it by
 * chroot, and its /proc, /dev, /sys, masked and read-only paths are made
 * under it; each process chroots into init's root once it has joined the
 * other namespaces (no spawner); they are all unmounted when the system
 * is found ended (after a crash of the embedder: when it is opened and
 * deleted), or when init's setup fails. A process there with
 * CAP_SYS_CHROOT can leave a chroot: it is not the barrier a mount
 * namespace is (README). A Path that is no namespace of its
 * Type fails the start naming it. A new user namespace ({"Type":
 * "user"}) takes "UidMap" and "GidMap" (its maps, written by a fork of
 * the engine) and every other namespace new but cgroup (whose mount,
 * hcs-runc's, binds the system's groups), owned by it (else
 * HCS_ERROR_NOT_SUPPORTED naming what is missing): init and every
 * process are its root (ContainerID 0, which the maps must hold) or the
 * User given, so files they make on the host belong to the mapped ids;
 * /dev's nodes are the host's bound (a node made in a user namespace
 * opens nothing); the root needs its mount points (/proc, /dev, /sys),
 * which its root cannot make in an image the host's root owns, and
 * VolumePath is opened before init changes uid. Its processes are
 * started without a spawner.
 * "SeccompProfile" ("default" when absent: Docker's default profile;
 * "unconfined": no filter; or a profile in Docker's seccomp JSON format
 * as a string, compiled at create, HCS_WSAEINVAL naming what is wrong),
 * "Tmpfs" ([{ContainerPath, Options}]: a tmpfs there, always nosuid and
 * nodev; Options comma-separated, a later one winning: size=, mode=
 * (octal), uid=, gid=, nr_inodes=, ro, rw, exec, noexec, nosuid, nodev,
 * private, rprivate, shared, rshared, slave, rslave, unbindable,
 * runbindable (the propagation), strictatime, relatime, noatime, nodiratime,
 * diratime; any other is HCS_WSAEINVAL naming it),
 * "ReadOnlyRoot" (true: the root is remounted read-only once its mount
 * points are made; the mappings and tmpfs on it keep their own flags, as
 * with docker run --read-only); neither with "IsDummy" (HCS_WSAEINVAL).
 * "CapAdd"/"CapDrop" (capability names, with or without CAP_, any case,
 * or "ALL"): the processes' set is the default set less CapDrop plus
 * CapAdd, and the default seccomp filter then allows what Docker's
 * default profile allows to those capabilities (mount, unshare, setns
 * for CAP_SYS_ADMIN, ...); an unknown name is HCS_WSAEINVAL naming it.
 * "Ulimits" ([{Name, Soft, Hard}], Name as docker run --ulimit spells it:
 * nofile, nproc, core, cpu, data, fsize, locks, memlock, msgqueue, nice,
 * rss, rtprio, rttime, sigpending, stack, and as (RLIMIT_AS, which an
 * OCI config may set); -1 unlimited; Soft above Hard
 * or another name is HCS_WSAEINVAL): set in every process before it
 * runs (such a system's processes are not cloned from a spawner, whose
 * clones could not raise a hard limit). "ShmSizeInBytes": the size of
 * its /dev/shm (64 MiB when 0 or absent). "CpusetCpus", "CpusetMems"
 * (lists as "0-2,4"): its cpuset group (v1 joins the cpuset hierarchy).
 * "SwapMaximumInMB": swap beside MemoryMaximumInMB (0, the default: none;
 * -1: unlimited). "MemoryReservationInMB": a soft limit (v1
 * memory.soft_limit_in_bytes, v2 memory.low). "OomScoreAdj" (-1000 to
 * 1000; 0: the host's): every process's /proc/PID/oom_score_adj (a value
 * below the embedding process's needs CAP_SYS_RESOURCE there, else each
 * process fails to start). As an OCI runtime sets a process:
 * "CapInheritable", "CapAmbient" (names as CapAdd's; an ambient one must
 * be inheritable and in the processes' set, else HCS_WSAEINVAL naming
 * it), "CapsForUser" (true: a User other than root keeps the
 * capabilities instead of losing them), "GroupAdd" (gid numbers: the
 * supplementary groups), "Umask" (0 to 0777) and "NoNewPrivileges"
 * (false: no_new_privs is not set; the seccomp filter then goes on
 * before the uid and capabilities change). A system with any of these
 * but NoNewPrivileges starts each process without a spawner.
 * "InitSibling" (true; false the default): the system's init is cloned
 * as a sibling of the embedding process (CLONE_PARENT), so that the
 * embedder's parent (a subreaper such as containerd's shim, which waits
 * for an OCI runtime's container process) reaps it and reads its exit
 * status; libhcs, not its parent, learns of its end from its pidfd (the
 * status the kernel keeps once the parent has reaped it, Linux 6.15;
 * else the init's result is lost, which libhcs does not use). Such an
 * init also takes HCS_INIT_EXIT_SIGNAL queued to it (pidfd_send_signal
 * or sigqueue, si_code SI_QUEUE) with a status 0-255 as its value: it
 * kills every process of its pid namespace and, once none is left, exits
 * with that status (128 + n says "killed by signal n", as a shim reports
 * one; the first status given stands; a value with HCS_INIT_KILL_ONLY
 * kills and leaves init running); a process of the system that may
 * signal its init may do this too. Such an init passes SIGTERM, SIGINT,
 * SIGHUP and SIGPWR (hcs_ShutdownComputeSystem's) on to every process of
 * its namespace and ends only by HCS_INIT_EXIT_SIGNAL or a kill, so a
 * shutdown lasts until the embedder ends it; and it kills them all and
 * exits as killed (137) once the embedding process is gone (its end of a
 * pipe closes), so that no container runs on without the process that
 * runs its programs. Refused on an IsDummy
 * system (HCS_WSAEINVAL), and at start (HCS_ERROR_GEN_FAILURE, EINVAL)
 * when the embedding process is the init of a pid namespace, which the
 * kernel lets have no sibling.
 *
 * - "IsDummy": true: no isolation; processes run directly on the host.
 * - otherwise (root only, else HCS_ERROR_NOT_SUPPORTED) a Linux container:
 *   its own pid, mount, uts and ipc namespaces; a root from "VolumePath"
 *   (a directory, bound) or from "Layers" (an overlay, nearest first, with
 *   upper and work directories in "LayerFolderPath" when given; without a
 *   sandbox the root is read-only); "MappedDirectories" bound
 *   (ReadOnly honoured; the hcs extension "Options", comma-separated, a
 *   later one winning: ro, rw, nosuid, suid, nodev, dev, noexec, exec,
 *   relatime, noatime, strictatime, nodiratime, diratime set on the bind
 *   and every mount under it, and one propagation, private, shared,
 *   slave or unbindable, r-prefixed for the mounts under it too; bind
 *   (the directory's own mount alone) or rbind (with the mounts under
 *   it, the default); a key=value option (mode=755, size=1k: a
 *   filesystem's data) goes to the kernel as the data of the bind's
 *   mount(2), as runc hands it, and the kernel reads none for a bind;
 *   any other is HCS_WSAEINVAL naming it; no symlink is followed on the
 *   container side; a
 *   HostPath that is not a directory is bound onto a file, made empty
 *   when missing) and "Tmpfs" mounted after /proc, /dev and /sys, in
 *   increasing "Order" (an hcs extension on both, 1 or more; absent: 0),
 *   then shallowest ContainerPath first, then MappedDirectories before
 *   Tmpfs, each in its array's order (an OCI runtime gives each its
 *   place in the config, Docker none);
 *   a fresh /proc (mounted first, before the mappings, with Docker's
 *   masked and read-only paths: /proc/sys, /proc/sysrq-trigger,
 *   /proc/irq, /proc/bus, /proc/fs read-only; /proc/kcore, /proc/keys,
 *   /proc/timer_list, ... covered), a read-only /sys (/sys/firmware
 *   covered), a private /dev (null, zero, full, random, urandom, tty,
 *   devpts with ptmx, shm, mqueue) and a device cgroup that opens only
 *   those (Docker's default list less /dev/console); its own cgroup
 *   namespace; "HostName"; limits from MemoryMaximumInMB,
 *   PidsMaximum, ProcessorWeight, ProcessorMaximum, ProcessorCount in its
 *   own cgroup (v1 or v2), or the hcs extensions "CpuShares" (2-262144:
 *   cpu.shares, or on v2 cpu.weight 1 + (shares - 2) * 9999 / 262142),
 *   "CpuQuota" (us, -1 none) and "CpuPeriod" (us, 1000-1000000) as
 *   given (cpu.cfs_quota_us/cfs_period_us, or cpu.max), not with
 *   ProcessorWeight / ProcessorMaximum / ProcessorCount (HCS_WSAEINVAL);
 *   pid 1 is hcs's init, which reaps orphans and on
 *   shutdown asks every process to stop. Its processes keep Docker's
 *   default capabilities (bounding set cut to them, inheritable and
 *   ambient empty), run with no_new_privs under the system's seccomp
 *   filter, and see only fds 0-2. A ReadOnly mapping is read-only with
 *   every mount below it (Linux 5.12). The process that embeds hcs is made
 *   undumpable (PR_SET_DUMPABLE 0) at its first exec into a container:
 *   the spawn child shares its memory until execve and is visible in the
 *   container meanwhile; no container process can then read it. From its
 *   first exec until its init exits, a running container has a thread
 *   of the embedding process for each engine loop that started a process
 *   in it (a spawner: it has joined the container's namespaces,
 *   capabilities and seccomp filter once, and every process that loop
 *   starts in the container is a clone of it); a container program's
 *   signals all start at their defaults.
 *   "EndpointList" names HNS endpoints (hcs_HNSEndpointRequest): the
 *   container then gets a network namespace of its own with them as
 *   eth0, eth1, ..., their routes and a resolv.conf; an unknown endpoint
 *   is HCS_WSAEINVAL naming it; the first endpoint's DNS settings are
 *   bound over its /etc/resolv.conf from the state directory (the image is
 *   not written). Without endpoints it has a network namespace with only
 *   loopback, unless "HostNetwork" is true.
 *   "HvPartition": true answers HCS_ERROR_NOT_SUPPORTED.
 *
 * With hcs_options_t.state_dir, a record per system is kept there; a
 * container keeps running when the service closes, and the next service
 * on the same directory finds it again (its init is checked by pid and
 * start time; a stale record becomes Stopped). Services in several
 * processes may share the directory: create, start, shutdown, terminate
 * and delete take a lock per id there, so that calls on one id happen one
 * at a time (a call waits while another process works on that id) and
 * each sees what the last one left. A record is written atomically and
 * synced; a call whose record cannot be written fails
 * (HCS_ERROR_GEN_FAILURE with the errno, e.g. ENOSPC) and undoes what it
 * did. hcs_open takes back a start whose caller died half-way: its init
 * is killed, its cgroups and root mount point removed, and the system is
 * Created again. */
HCS_API hcs_result_t hcs_CreateComputeSystem(hcs_t *hcs, const char *id,
                                             const char *configuration,
                                             hcs_error_t **err);
/* Created -> Running. Unknown id: HCS_E_SYSTEM_NOT_FOUND; a system not
 * Created (a second start, a stopped system): HCS_E_INVALID_STATE; a
 * container whose init died while setting up (a mapped directory that is
 * not there, ...): HCS_E_UNEXPECTED_EXIT with the errno, and the system is
 * still Created. */
HCS_API hcs_result_t hcs_StartComputeSystem(hcs_t *hcs, const char *id,
                                            hcs_error_t **err);
/* Asks every process of the system to stop (SIGTERM) and waits up to
 * timeout ms; the system is Stopped once they are all gone, else the call
 * answers HCS_WAIT_TIMEOUT and the system keeps running. A shutdown
 * while another is pending: HCS_ERROR_SHUTDOWN_IN_PROGRESS. On a stopped
 * system: HCS_E_SYSTEM_ALREADY_STOPPED, nothing signalled (callers treat
 * it as success); on one never started: HCS_E_INVALID_STATE; unknown id:
 * HCS_E_SYSTEM_NOT_FOUND. context is recorded text: it appears in the
 * call's errors ("; context: <context>"), an empty one not at all. */
HCS_API hcs_result_t hcs_ShutdownComputeSystem(hcs_t *hcs, const char *id,
                                               uint32_t timeout,
                                               const char *context,
                                               hcs_error_t **err);
/* Kills every process of the system and waits up to timeout ms for them
 * to be gone (HCS_WAIT_TIMEOUT otherwise). The other codes and context as
 * for hcs_ShutdownComputeSystem. */
HCS_API hcs_result_t hcs_TerminateComputeSystem(hcs_t *hcs, const char *id,
                                                uint32_t timeout,
                                                const char *context,
                                                hcs_error_t **err);
/* Pause: freezes every process of a running system (its cgroups), which
 * Inspect then shows as "Paused"; Resume thaws them. While paused no
 * process can be created in it (HCS_E_INVALID_STATE), and Shutdown or
 * Terminate thaw it after signalling, so that their signals act. Pause
 * of a system not running (or stopping), or paused already, and Resume
 * of one not paused: HCS_E_INVALID_STATE; a system without isolation
 * (IsDummy: no group of its own): HCS_ERROR_NOT_SUPPORTED; unknown id:
 * HCS_E_SYSTEM_NOT_FOUND; a freezer that would not settle:
 * HCS_ERROR_GEN_FAILURE with the errno (and the system left running). */
HCS_API hcs_result_t hcs_PauseComputeSystem(hcs_t *hcs, const char *id,
                                            hcs_error_t **err);
HCS_API hcs_result_t hcs_ResumeComputeSystem(hcs_t *hcs, const char *id,
                                             hcs_error_t **err);
/* HcsModifyComputeSystem's place, for the one request hcs takes: the
 * resource limits of a running container changed in place (docker
 * update). request: {"ResourcePath": "Limits", "RequestType": "Update"
 * (may be left out), "Settings": {...}}, Settings holding any of the
 * configuration's MemoryMaximumInMB, SwapMaximumInMB,
 * MemoryReservationInMB, ProcessorWeight, ProcessorMaximum,
 * ProcessorCount, CpuShares, CpuQuota, CpuPeriod, PidsMaximum,
 * CpusetCpus, CpusetMems. They are merged
 * into its configuration, which is checked as at create (HCS_WSAEINVAL
 * naming the field), applied to its cgroups at once (on v1 a hierarchy
 * not joined before is joined, every member moved with the group
 * frozen) and kept: InspectComputeSystem and the next start show them.
 * Another field of Settings: HCS_WSAEINVAL naming it; another
 * ResourcePath or RequestType: HCS_ERROR_NOT_SUPPORTED; not JSON:
 * HCS_E_INVALID_JSON; a system not running: HCS_E_INVALID_STATE; IsDummy:
 * HCS_ERROR_NOT_SUPPORTED; a cgroup write the kernel refuses (a memory
 * limit below what is in use, a cpu the machine lacks):
 * HCS_ERROR_GEN_FAILURE with the file and the errno, the limits written
 * before it kept.
 * The network requests (hcsshim's HotAttachEndpoint/HotDetachEndpoint):
 * {"ResourcePath": "Network", "RequestType": "Add" or "Remove",
 * "Settings": {"EndpointId": ID}}. Add moves the HNS endpoint into the
 * running container's network namespace as its next free ethN, with its
 * address, MAC and QoS as at start; Remove gives it back to the host's
 * side (where HNSEndpointRequest DELETE may then take it). The endpoint
 * joins or leaves the configuration's EndpointList, in its record.
 * Unknown endpoint: HCS_ERROR_NOT_FOUND; added already, not attached, or
 * attached to another system: HCS_WSAEINVAL; a system on the host's
 * network: HCS_ERROR_NOT_SUPPORTED. */
HCS_API hcs_result_t hcs_ModifyComputeSystem(hcs_t *hcs, const char *id,
                                             const char *request,
                                             hcs_error_t **err);
/* hcs: forgets a system that is Created or Stopped, with its process
 * records. A running one: HCS_E_INVALID_STATE; unknown id:
 * HCS_E_SYSTEM_NOT_FOUND. */
HCS_API hcs_result_t hcs_DeleteComputeSystem(hcs_t *hcs, const char *id,
                                             hcs_error_t **err);

/* hcs: the systems as JSON, {"Systems":[{"Id","Name","State",
 * "IsDummy","Processes"}]}; *json is the caller's (hcs_free). */
HCS_API hcs_result_t hcs_ListComputeSystems(hcs_t *hcs, char **json,
                                            hcs_error_t **err);
/* hcs: one system as JSON, {"Id","Name","State","IsDummy","Processes",
 * "Configuration"}; unknown id: HCS_E_SYSTEM_NOT_FOUND. */
HCS_API hcs_result_t hcs_InspectComputeSystem(hcs_t *hcs, const char *id,
                                              char **json, hcs_error_t **err);

/* Processes. */

/* How a process's piped stdout and stderr reach hcs (stdio_transport of
 * hcs_process_params_t and hcs_session_options_t; "StdioTransport" in
 * CreateProcessParams). Pipes by default. A socket (one end of a unix
 * socketpair, SOCK_STREAM, as libuv gives a child) moves bulk output
 * faster, but the program sees a socket: opening /dev/stdout or
 * /proc/self/fd/1 fails (ENXIO), fstat says S_IFSOCK, and a caller's end
 * handed out by hcs_CreateProcessInComputeSystem is a socket too. Not
 * with a console (EmulateConsole: its pty is the transport); hcsd's
 * spliced output needs pipes, and copies a socket's bytes instead. */
typedef enum hcs_stdio_transport {
  HCS_STDIO_PIPE = 0,
  HCS_STDIO_SOCKET = 1,
} hcs_stdio_transport_t;

typedef struct hcs_process_params_s {
  uint32_t size; /* sizeof as compiled, or 0 (see "Option structs grow") */
  const char *application_name; /* program; NULL: argv[0] */
  /* Split into argv by the Windows rules (docs/hcs-api.md). Inside
   * quotes, "" is a literal quote: the rule of Windows since 2008, where
   * hcs differs on purpose from Go's parser (there "" closes and reopens
   * the quotes). */
  const char *command_line;
  const char *const *args;       /* hcs: NULL-terminated argv; wins */
  const char *working_directory; /* NULL: the service's */
  /* NULL-terminated "NAME=value" strings; NULL: the service's environment
   * on the host, the system's default (PATH, HOSTNAME, its Environment) in
   * a container */
  const char *const *environment;
  bool emulate_console;     /* a pty: stdin/stdout on it, stderr merged */
  uint16_t console_size[2]; /* [height, width]; 0: the kernel's default */
  /* hcs: "uid[:gid]" or "name[:group]" (names from the host's databases
   * on a system without isolation, from the container's /etc/passwd and
   * /etc/group otherwise); NULL: root in a container, the caller's on the
   * host. */
  const char *user;
  /* hcs: the engine's per-process tunables; 0 for the defaults. */
  uint32_t drain_timeout_ms;
  /* hcs: the process leads a process group of its own (a console process
   * leads its session), and hcs_TerminateProcessInComputeSystem kills the
   * group with it: the process's descendants too, unless they left the
   * group. */
  bool process_group;
  /* hcsshim's CreateStdInPipe, CreateStdOutPipe, CreateStdErrPipe: the
   * stream is created as if the call's use_stdin (use_stdout, use_stderr)
   * asked for it; hcs_CreateProcessInComputeSystem then needs its fd
   * out-parameter. */
  bool create_stdin_pipe, create_stdout_pipe, create_stderr_pipe;
  /* hcs: hcs_stdio_transport_t of stdout and stderr; another value, or
   * HCS_STDIO_SOCKET with emulate_console: HCS_WSAEINVAL naming
   * StdioTransport. */
  int stdio_transport;
} hcs_process_params_t;

/* CreateProcessParams as JSON: {"ApplicationName", "CommandLine",
 * "WorkingDirectory", "Environment": {"NAME": "value"}, "EmulateConsole",
 * "ConsoleSize": [height, width]}, the keys hcsshim's ProcessConfig added
 * ("User"; "CreateStdInPipe", "CreateStdOutPipe", "CreateStdErrPipe",
 * honoured as create_*_pipe; "CommandArgs", argv as "Args" is;
 * "CreateInUtilityVm" and "OCISpecification", accepted only false and
 * null: HCS_ERROR_NOT_SUPPORTED otherwise) and the hcs extensions
 * "Args": [...], "DrainTimeoutMs", "StdioTransport": "Pipe" or "Socket"
 * (stdio_transport; any other string is refused naming it). Documents
 * as Go marshalled them read
 * as Go meant them: null is an absent field (a nil map or slice), and ""
 * an absent string. A ConsoleSize without EmulateConsole is [0, 0], as
 * HCS took it. Text that is not a JSON object: HCS_E_INVALID_JSON.
 * Strict, unlike HCS (which ignored what it did not know): an unknown
 * field, a wrong type or an out-of-range number is HCS_WSAEINVAL naming
 * the field, and nothing is returned. *out is the caller's, freed with
 * hcs_process_params_free(). Any thread. */
HCS_API hcs_result_t hcs_process_params_from_json(const char *json,
                                                  hcs_process_params_t **out,
                                                  hcs_error_t **err);
HCS_API void hcs_process_params_free(hcs_process_params_t *p);
/* The JSON text of p (hcs_free), in the form from_json reads back; a
 * console_size without emulate_console is left out. NULL on ENOMEM, or
 * for a p that no document can say (a size it does not know, an unknown
 * stdio_transport). */
HCS_API char *hcs_process_params_json(const hcs_process_params_t *p);

/* Starts a process in a running system. On success *pid names it (as the
 * system sees it), and each requested stream's (by use_* or by params'
 * create_*_pipe) caller end is returned in
 * *stdin_fd / *stdout_fd / *stderr_fd: the caller owns these fds
 * (close-on-exec, blocking) and reads them to EOF or closes them. An
 * unrequested stream is /dev/null in the process and its fd is -1. With a
 * console, stdin and stdout are two fds of the pty master and stderr is
 * -1. A program that cannot be executed still gives a pid: its wait
 * answers HCS_WAIT_ERR_EXEC_FAILED with the errno in the result. Unknown
 * id: HCS_E_SYSTEM_NOT_FOUND; system not running (or stopping):
 * HCS_E_INVALID_STATE. */
HCS_API hcs_result_t hcs_CreateProcessInComputeSystem(
    hcs_t *hcs, const char *id, bool use_stdin, bool use_stdout,
    bool use_stderr, const hcs_process_params_t *params, uint32_t *pid,
    int *stdin_fd, int *stdout_fd, int *stderr_fd, hcs_error_t **err);

typedef struct hcs_process_result_s {
  int32_t exit_code;  /* 0-255, 128+signal, HCS_WAIT_ERR_EXEC_FAILED or
                         HCS_WAIT_ERR_EXIT_LOST */
  int32_t signal;     /* the signal that killed it, else 0 */
  int32_t exec_errno; /* why the program could not be started, else 0 */
  int32_t exec_stage; /* with exec_errno: HCS_EXEC_STAGE_*, what failed */
  bool output_cut;    /* hcs pumped output that was still open at the end */
  bool oom_killed;    /* killed by the system's memory limit */
} hcs_process_result_t;

/* Waits up to timeout ms (HCS_TIMEOUT_INFINITE: no limit) for the process
 * to exit. On HCS_OK, *exit_code is set and the record is released: the
 * pid is unknown to later calls (HCS_ERROR_NOT_FOUND, as for a pid the
 * system never had), so it can never name a stranger. HCS_WAIT_TIMEOUT
 * leaves the process running and waitable again. Unknown system id:
 * HCS_E_SYSTEM_NOT_FOUND. exit_code may be NULL. */
HCS_API hcs_result_t hcs_WaitForProcessInComputeSystem(
    hcs_t *hcs, const char *id, uint32_t pid, uint32_t timeout,
    int32_t *exit_code, hcs_error_t **err);
/* The same, with the whole result. */
HCS_API hcs_result_t hcs_WaitForProcessResult(hcs_t *hcs, const char *id,
                                              uint32_t pid, uint32_t timeout,
                                              hcs_process_result_t *result,
                                              hcs_error_t **err);
/* Kills the process (SIGKILL through its pidfd), and its process group when
 * it was started with process_group. After it exited: HCS_OK, nothing
 * signalled. Idempotent. */
HCS_API hcs_result_t hcs_TerminateProcessInComputeSystem(hcs_t *hcs,
                                                         const char *id,
                                                         uint32_t pid,
                                                         hcs_error_t **err);
/* Resizes the console of the process, at any time while it has one. A
 * process without a console: HCS_E_INVALID_STATE. */
HCS_API hcs_result_t hcs_ResizeConsoleInComputeSystem(
    hcs_t *hcs, const char *id, uint32_t pid, uint16_t height, uint16_t width,
    hcs_error_t **err);

/* Asynchronous sessions on the engine's loops. A session lives on the
 * loop whose thread started it (hcs_session_start and hcs_session_start_in
 * from any engine loop's thread): every call on it must be made on that
 * loop's thread, and every callback runs there. */
typedef struct hcs_session_s hcs_session_t;

enum {
  HCS_STDIN = 0,
  HCS_STDOUT = 1,
  HCS_STDERR = 2,
};

typedef struct hcs_session_callbacks_s {
  /* len bytes of stream (HCS_STDOUT, HCS_STDERR; HCS_STDOUT for a
   * console) in buf, lent for the call unless hcs_session_hold() keeps
   * it. len 0: that stream is at EOF. */
  void (*data)(hcs_session_t *s, int stream, char *buf, size_t len, void *data);
  /* The process exited; output may still be arriving. */
  void (*exit)(hcs_session_t *s, const hcs_process_result_t *r, void *data);
  /* The session is complete: exited and all output at EOF, or the drain
   * timeout after exit passed (r->output_cut). Exactly once. */
  void (*done)(hcs_session_t *s, const hcs_process_result_t *r, void *data);
} hcs_session_callbacks_t;

typedef struct hcs_session_options_s {
  uint32_t size; /* sizeof as compiled, or 0 (see "Option structs grow") */
  const char *const *argv; /* NULL-terminated; argv[0] is the program */
  const char *file;        /* program when not argv[0]; NULL: argv[0] */
  const char *const *envp; /* NULL: the service's environment */
  const char *cwd;         /* NULL: inherit */
  bool use_stdin, use_stdout, use_stderr; /* else /dev/null */
  bool console;                           /* a pty; stderr merged */
  uint16_t rows, cols;       /* console size before the program starts */
  size_t stream_cap;         /* bytes held per stream before reading stops;
                                0: 1 MiB */
  uint32_t drain_timeout_ms; /* 0: 2000 */
  hcs_session_callbacks_t cb;
  void *data;
  /* hcs_stdio_transport_t of stdout and stderr; another value, or
   * HCS_STDIO_SOCKET with console: -EINVAL. */
  int stdio_transport;
} hcs_session_options_t;

/* Starts a process on the host, as a session of the engine loop the
 * calling thread runs (from a thread that runs none, loop 0's: with
 * no_thread, before the caller runs it). On success *out holds a reference the
 * caller drops with hcs_session_unref(); callbacks run later, never inside
 * this call. Errors: -EINVAL (no argv), -EMFILE/-ENFILE, -ENOMEM, -EAGAIN
 * (process limit). A program that cannot be executed is not an error here:
 * the session completes with HCS_WAIT_ERR_EXEC_FAILED. */
HCS_API int hcs_session_start(hcs_t *hcs, const hcs_session_options_t *opts,
                              hcs_session_t **out);
/* Dropping the last reference detaches a running session: it is still
 * drained and reaped, and no callback runs any more. */
HCS_API void hcs_session_ref(hcs_session_t *s);
HCS_API void hcs_session_unref(hcs_session_t *s);
HCS_API int hcs_session_pid(const hcs_session_t *s);
/* Known as soon as the start call returned: the errno of a program that
 * could not be executed (the session then completes with
 * HCS_WAIT_ERR_EXEC_FAILED), else 0. */
HCS_API int hcs_session_exec_errno(const hcs_session_t *s);
/* With the errno above: the step that failed (HCS_EXEC_STAGE_*). */
HCS_API int hcs_session_exec_stage(const hcs_session_t *s);
/* Queues len bytes for stdin; buf is lent until cb runs with 0, or a
 * negative errno (-EPIPE: the reader went away; -ECANCELED: the session
 * ended first). -EPIPE at once when stdin is closed or was not asked. */
HCS_API int hcs_session_write(hcs_session_t *s, const void *buf, size_t len,
                              void (*cb)(hcs_session_t *s, int status,
                                         void *data),
                              void *data);
/* Closes stdin after every queued byte is written. A console cannot be
 * closed: it gets ^D, which a program in canonical mode reads as EOF only
 * at the start of a line (after a partial line it just delivers that
 * line). Idempotent. */
HCS_API int hcs_session_close_stdin(hcs_session_t *s);
/* Sends sig through the pidfd; 0 and nothing sent once it exited. */
HCS_API int hcs_session_kill(hcs_session_t *s, int sig);
/* -ENOTTY without a console. */
HCS_API int hcs_session_resize(hcs_session_t *s, uint16_t rows, uint16_t cols);
/* Inside the data callback: keep buf beyond the call. Held bytes count
 * against the stream's cap; at the cap hcs stops reading the stream (the
 * process blocks in write) until hcs_session_release() returns buffers. */
HCS_API void hcs_session_hold(hcs_session_t *s, int stream, char *buf);
HCS_API void hcs_session_release(hcs_session_t *s, int stream, char *buf);
/* The engine's session (libhcs-async, <hcs-async.h>) that s is, for the
 * engine's calls on its streams beyond these (as_session_raw: output
 * moved by splice, never copied). It is s itself under its engine name:
 * it lives as long as s, and s's callbacks stay as they are. Engine
 * thread. */
struct as_session_s;
HCS_API struct as_session_s *hcs_session_engine(hcs_session_t *s);

/* Processes in a compute system as pumped sessions: the async face of
 * hcs_CreateProcessInComputeSystem, for daemons that stream a process's
 * stdio themselves (hcsd). The process is defined by params exactly as
 * for the sync call (argv, environment, working directory, user, console
 * and its size) and counts as one of the system's processes (shutdown and
 * terminate reach it; the system's records know it); its streams are the
 * engine's pumps, with cb, hold/release and the drain contract of
 * hcs_session_start. stream_cap and drain_timeout_ms as in
 * hcs_session_options_t (0: defaults). On an engine loop's thread only
 * (other threads: HCS_WSAEINVAL): the session lives on that loop. From a
 * worker loop (1 and up) the call waits for loop 0 to check the system
 * and make the process's record, then spawns on the worker's own loop;
 * loop 0 never waits for a worker, so this cannot deadlock, but the
 * worker's loop stands still for that wait. On HCS_OK
 * *out holds a reference the caller drops with hcs_session_unref(); the
 * callbacks run later, never inside this call. Errors as
 * hcs_CreateProcessInComputeSystem: HCS_E_SYSTEM_NOT_FOUND (unknown id),
 * HCS_E_INVALID_STATE (system not running), HCS_WSAEINVAL (empty command
 * line, bad User),
 * HCS_ERROR_GEN_FAILURE (a system call failed). A program that cannot be
 * executed is not an error here: the session completes with
 * HCS_WAIT_ERR_EXEC_FAILED and exec_errno. */
typedef struct hcs_session_in_s {
  uint32_t size; /* sizeof as compiled, or 0 (see "Option structs grow") */
  bool use_stdin, use_stdout, use_stderr;
  size_t stream_cap;
  hcs_session_callbacks_t cb;
  void *data;
} hcs_session_in_t;
HCS_API hcs_result_t hcs_session_start_in(hcs_t *hcs, const char *id,
                                          const hcs_process_params_t *params,
                                          const hcs_session_in_t *opts,
                                          hcs_session_t **out,
                                          hcs_error_t **err);

/* Layers. A layer lives in info->home_dir/<id>; ids follow the rules of
 * system ids. parent_layer_paths lists the parents' folders nearest first,
 * base last, NULL-terminated (NULL for none). A parent is a layer folder
 * of any store (its files are in <path>/diff) or a plain directory (used
 * as it is). These calls do disk work on the calling thread and may be
 * called from any thread but the engine's. The calls on one store take a
 * lock on its home (flock): short changes hold it exclusively, the long
 * reads of export and copy hold it shared.
 *
 * What is on disk (the home and a layer folder are made 0700; the calls
 * that make layers create a missing home and its parents, 0755):
 * - <id>/layer.json: {"Id", "Parent" (the parent's id, "" for a base),
 *   "Kind" ("ro" or "sandbox"), "Flavour", "Created" (RFC 3339, UTC),
 *   "Base" (listed by GetSharedBaseImages), "Name", "Version"}, and for a
 *   sandbox "Parents", the parent_layer_paths it was made over.
 * - HCS_FLAVOUR_FILTER (1, overlayfs): a read-only layer keeps only its
 *   own changes in <id>/diff, as overlayfs keeps them: a deletion is a
 *   0/0 character device, an opaque directory has the extended attribute
 *   trusted.overlay.opaque "y". A sandbox has upper/ and work/ (these are
 *   what a compute system's "LayerFolderPath" names) and merged/, where
 *   PrepareLayer mounts the overlay of the parents' diffs and upper.
 * - HCS_FLAVOUR_DIFF (0, full copies, for file systems where overlayfs
 *   cannot stack): every layer, sandboxes too, keeps a full copy of its
 *   chain in <id>/diff, marked by an empty file <id>/full; preparing only
 *   counts.
 * New layers take info->flavour; a layer keeps the flavour it was made
 * with, and the calls on it follow that one (a copy takes its source's).
 * Chains may mix flavours: a full copy ends the chain below it. Layers are
 * made under a temporary name (".tmp-<id>-*") and renamed into place
 * whole, and removed by renaming them away first (".destroy-<id>-*"): a
 * host that dies in the middle may leave such folders, which are no
 * layers (ids never start with '.') and may be removed.
 *
 * Errors common to these calls: HCS_WSAEINVAL for an argument (the field
 * named) or a call the layer's kind forbids; HCS_ERROR_NOT_FOUND for a
 * layer, parent or transport folder that is not there;
 * HCS_ERROR_ALREADY_EXISTS for an id taken; HCS_ERROR_BUSY when
 * DestroyLayer meets a layer in use; HCS_ERROR_INVALID_DATA for a transport
 * folder ImportLayer refuses; HCS_ERROR_CANCELLED when a progress callback
 * stopped the call; HCS_ERROR_GEN_FAILURE when a system call failed (the cause
 * names it, the path and the errno). Trees nested deeper than
 * HCS_LAYER_MAX_DEPTH directories are refused (import) or fail (copy, export)
 * with ELOOP. */
typedef struct hcs_driver_info_s {
  int flavour;          /* HCS_FLAVOUR_DIFF (0, full copies) or
                           HCS_FLAVOUR_FILTER (1, overlayfs) */
  const char *home_dir; /* absolute path of the layer store */
} hcs_driver_info_t;

enum { HCS_FLAVOUR_DIFF = 0, HCS_FLAVOUR_FILTER = 1 };

#define HCS_LAYER_MAX_DEPTH 256

/* Makes the layer's storage available / releases it: a flag in the layer
 * folder (the file "active"), nothing mounted. Unknown layer:
 * HCS_ERROR_NOT_FOUND. */
HCS_API hcs_result_t hcs_ActivateLayer(const hcs_driver_info_t *info,
                                       const char *id, hcs_error_t **err);
HCS_API hcs_result_t hcs_DeactivateLayer(const hcs_driver_info_t *info,
                                         const char *id, hcs_error_t **err);
/* Commits sandbox layer src_id's changes as a new read-only layer dst_id
 * on src_id's parent: its upper (flavour 1: modes, owners, extended
 * attributes, symlinks, hard links, whiteouts and opaque directories as
 * they are) or its full copy (flavour 0) becomes dst_id's diff. A
 * read-only src_id is copied as it is. parent_layer_paths is accepted and
 * not needed. The sandbox may be prepared; what changes in it during the
 * copy may or may not be in dst_id. */
HCS_API hcs_result_t hcs_CopyLayer(const hcs_driver_info_t *info,
                                   const char *src_id, const char *dst_id,
                                   const char *const *parent_layer_paths,
                                   hcs_error_t **err);
/* A new, empty read-only layer on parent, a layer of the same store (NULL
 * or "" for a base). Flavour 0 copies the parent's chain into it. */
HCS_API hcs_result_t hcs_CreateLayer(const hcs_driver_info_t *info,
                                     const char *id, const char *parent,
                                     hcs_error_t **err);
/* A new sandbox (read-write) layer over the chain parent_layer_paths
 * (each must be a directory; NULL: over nothing), recorded as its
 * "Parents"; parent_id (may be NULL or "") is recorded as its "Parent".
 * parent_id may also be the parent's folder, an absolute path, as
 * Docker's windowsfilter driver passed it (layerChain[0]): its last
 * component is the id recorded.
 * Flavour 1 makes upper/, work/ and merged/; flavour 0 copies the chain. */
HCS_API hcs_result_t hcs_CreateSandboxLayer(
    const hcs_driver_info_t *info, const char *id, const char *parent_id,
    const char *const *parent_layer_paths, hcs_error_t **err);
/* Removes the layer's files and folder. Refused with HCS_ERROR_BUSY (the
 * folder untouched) while the layer is prepared or its merged/ is a mount
 * point, or while another layer of the store names it as "Parent" or
 * among its "Parents". The removal does not follow symlinks and does not
 * cross into another mount. */
HCS_API hcs_result_t hcs_DestroyLayer(const hcs_driver_info_t *info,
                                      const char *id, hcs_error_t **err);
/* Creates folder (its parent must exist; an existing directory is
 * reused) and writes the transport format into it: layer.tar, an OCI
 * layer tar (pax, entries in name order, so that equal layers give equal
 * tars) with whiteouts (".wh.NAME" for a deletion, ".wh..wh..opq" for an
 * opaque directory), and layer.json {"Id", "Parents" (the ids or paths of
 * parent_layer_paths), "Digest" ("sha256:" and the tar's hex digest),
 * "Size" (the tar's bytes)}. A read-only layer exports its diff, a
 * sandbox its upper; a flavour-0 layer exports its differences from its
 * parent chain (parent_layer_paths, else its recorded parents). Extended
 * attributes: user.* and security.capability travel; ACLs and others do
 * not. */
HCS_API hcs_result_t hcs_ExportLayer(const hcs_driver_info_t *info,
                                     const char *id, const char *folder,
                                     const char *const *parent_layer_paths,
                                     hcs_error_t **err);
/* Creates read-only layer id from a transport folder: folder/layer.tar (a
 * tar, compressed or not) and, when present, folder/layer.json, whose
 * "Digest" is checked. parent_layer_paths are its parents, which must
 * exist ("Parent" is the nearest one's id); flavour 0 copies their chain
 * and applies the tar to it. Owners, modes, user.* and
 * security.capability attributes, modification times, hard links,
 * symlinks, FIFOs and the devices null, zero, full, random, urandom, tty,
 * console and ptmx are restored; whiteouts become overlay's markers; a
 * directory the tar names no entry for is made 0755, owned by root.
 * Nothing is ever written outside the layer: the import fails, naming the
 * entry, with HCS_ERROR_INVALID_DATA and leaves no layer behind when an
 * entry's name is absolute (a leading "/" is refused, not stripped), has a
 * ".." component (or a "." one after the start), or goes through a
 * symlink or a non-directory; when a hard link's target is not an earlier
 * entry of the tar inside the layer; when a relative symlink climbs above
 * the layer's root (absolute targets are normal in images and resolve
 * inside the container: accepted); for whiteouts named ".", ".." or
 * ".wh." alone, or a ".wh." name used as a directory; for devices outside
 * the set above, block devices and sockets; past the limits (see
 * hcs_layer_options_t). The defaults are the same as with
 * hcs_layer_import(info, ..., NULL, err). */
HCS_API hcs_result_t hcs_ImportLayer(const hcs_driver_info_t *info,
                                     const char *id, const char *folder,
                                     const char *const *parent_layer_paths,
                                     hcs_error_t **err);
/* Where the merged view of a prepared sandbox is (flavour 1: <id>/merged,
 * flavour 0: <id>/diff), otherwise the layer folder. *path is the
 * caller's, freed with hcs_free(). */
HCS_API hcs_result_t hcs_GetLayerMountPath(const hcs_driver_info_t *info,
                                           const char *id, char **path,
                                           hcs_error_t **err);
/* JSON {"Images":[{"Name","Version","Path","Size","CreatedTime"}]} of the
 * layers of the store whose layer.json says "Base": true (such as the
 * built-in busybox image, see hcs_default_image_home()), in id order; Size
 * is the bytes of its regular files, CreatedTime its "Created". A missing
 * home has none. *json is the caller's (hcs_free). */
HCS_API hcs_result_t hcs_GetSharedBaseImages(const hcs_driver_info_t *info,
                                             char **json, hcs_error_t **err);
/* *exists: whether the store knows the layer (its layer.json is there). A
 * missing home knows none. */
HCS_API hcs_result_t hcs_LayerExists(const hcs_driver_info_t *info,
                                     const char *id, bool *exists,
                                     hcs_error_t **err);
/* Mounts the merged view of a sandbox layer (flavour 1: an overlay of the
 * parents' diffs, parent_layer_paths or else the recorded "Parents", with
 * upper and work, on <id>/merged, in the caller's mount namespace). A
 * second prepare only counts (the count is the file "prepared" of the
 * layer folder); flavour 0 only counts. A read-only layer:
 * HCS_WSAEINVAL. */
HCS_API hcs_result_t hcs_PrepareLayer(const hcs_driver_info_t *info,
                                      const char *id,
                                      const char *const *parent_layer_paths,
                                      hcs_error_t **err);
/* Counts a prepare down and unmounts the view at zero (lazily when it is
 * still in use). A layer not prepared: HCS_WSAEINVAL. */
HCS_API hcs_result_t hcs_UnprepareLayer(const hcs_driver_info_t *info,
                                        const char *id, hcs_error_t **err);

/* hcs: the long layer calls with limits and progress. */
typedef struct hcs_layer_progress_s {
  /* import: bytes of layer.tar read; export and copy: bytes of files */
  uint64_t bytes;
  uint64_t total_bytes;   /* what bytes will reach; 0 when unknown */
  uint64_t entries;       /* files, directories, links, ... done */
  uint64_t total_entries; /* 0 when unknown (import) */
  bool done;              /* the last report of a call that succeeded */
} hcs_layer_progress_t;

#define HCS_LAYER_MAX_BYTES_DEFAULT (UINT64_C(64) << 30) /* 64 GiB */
#define HCS_LAYER_MAX_ENTRIES_DEFAULT UINT64_C(4000000)

typedef struct hcs_layer_options_s {
  uint32_t size; /* sizeof as compiled, or 0 (see "Option structs grow") */
  /* Import: the file bytes (the sizes the tar's entries declare, sparse
   * holes included) and the entries it may hold; 0 for the defaults
   * above. Past them: HCS_ERROR_INVALID_DATA, errno EFBIG. */
  uint64_t max_bytes;
  uint64_t max_entries;
  /* Called on the calling thread at the start, at most every 50 ms while
   * the call works, and with done set at its successful end. p is lent
   * for the call. Returning non-zero stops the call: it answers
   * HCS_ERROR_CANCELLED and leaves nothing behind. NULL: no reports. */
  int (*progress)(const hcs_layer_progress_t *p, void *data);
  void *data;
} hcs_layer_options_t;

/* ImportLayer, ExportLayer and CopyLayer with options (NULL: the
 * defaults, no progress). */
HCS_API hcs_result_t hcs_layer_import(const hcs_driver_info_t *info,
                                      const char *id, const char *folder,
                                      const char *const *parent_layer_paths,
                                      const hcs_layer_options_t *opts,
                                      hcs_error_t **err);
HCS_API hcs_result_t hcs_layer_export(const hcs_driver_info_t *info,
                                      const char *id, const char *folder,
                                      const char *const *parent_layer_paths,
                                      const hcs_layer_options_t *opts,
                                      hcs_error_t **err);
HCS_API hcs_result_t hcs_layer_copy(const hcs_driver_info_t *info,
                                    const char *src_id, const char *dst_id,
                                    const char *const *parent_layer_paths,
                                    const hcs_layer_options_t *opts,
                                    hcs_error_t **err);

/* The same on the engine's thread pool, for callers on the engine thread
 * (from a callback, or from a function posted with as_loop_post) that must not
 * block it. The arguments are copied. On 0, done(result, err, data) runs
 * exactly once on the engine thread, never inside this call, with the
 * call's result and error (err is the callback's to free; NULL on
 * HCS_OK); opts->progress runs on the pool thread, and is the way to stop
 * the call early. A service closing waits for a call that started. The
 * arguments are checked by the call, so their faults come to done.
 * -EINVAL (not on the engine thread; hcs, info or done NULL), -ENOMEM:
 * done never runs. */
typedef void (*hcs_layer_done_cb)(hcs_result_t result, hcs_error_t *err,
                                  void *data);
HCS_API int hcs_layer_import_start(hcs_t *hcs, const hcs_driver_info_t *info,
                                   const char *id, const char *folder,
                                   const char *const *parent_layer_paths,
                                   const hcs_layer_options_t *opts,
                                   hcs_layer_done_cb done, void *data);
HCS_API int hcs_layer_export_start(hcs_t *hcs, const hcs_driver_info_t *info,
                                   const char *id, const char *folder,
                                   const char *const *parent_layer_paths,
                                   const hcs_layer_options_t *opts,
                                   hcs_layer_done_cb done, void *data);
HCS_API int hcs_layer_copy_start(hcs_t *hcs, const hcs_driver_info_t *info,
                                 const char *src_id, const char *dst_id,
                                 const char *const *parent_layer_paths,
                                 const hcs_layer_options_t *opts,
                                 hcs_layer_done_cb done, void *data);

/* The layer store that holds the built-in base image: $HCS_IMAGE_HOME
 * (an absolute path) when set; else the one installed with hcs,
 * <prefix>/share/hcs/images, the prefix found from where libhcs (or the
 * program linked with libhcs.a) lies; else the build tree's. It holds
 * HCS_DEFAULT_IMAGE: Debian's static busybox in bin/ with a relative
 * symlink per applet, /etc/passwd (root, nobody), /etc/group, /tmp
 * (1777), and /proc, /dev and /sys to mount on. Its layer.json says
 * "Base": true, "Name": "busybox" and busybox's version. A flavour-free
 * base: both flavours build on it. The string is static. Any thread. */
#define HCS_DEFAULT_IMAGE "busybox"
HCS_API const char *hcs_default_image_home(void);
/* (Re)makes base layer id in the layer store home (an absolute path,
 * created if missing) from the static busybox binary at busybox, with the
 * contents described above; a layer id already there is replaced. The
 * build makes HCS_DEFAULT_IMAGE this way (hcs-mkimage). A busybox that
 * needs a dynamic loader is refused with HCS_WSAEINVAL. Blocking, any
 * thread; *err as for the other synchronous calls. */
HCS_API hcs_result_t hcs_make_base_image(const char *home, const char *id,
                                         const char *busybox,
                                         hcs_error_t **err);

/* HNS: networks and endpoints. A request takes a method ("GET", "POST",
 * "DELETE"), a path (an id, or "" to list or create) and a JSON body (the
 * object to create, for POST; NULL or "" otherwise), as the HNS service
 * does. Objects come back as structs the caller frees.
 *
 * On Linux (hcs): a network is a bridge named "hcs" + 8 hex digits of
 * hcs_NewGUID(network id), with each subnet's GatewayAddress on it (the
 * subnet's first host address when not given). Type "nat" adds, in an
 * nftables table of its own ("table ip <bridge>"), masquerading for its
 * subnets and its endpoints' port mappings, and turns IPv4 forwarding on;
 * Type "internal" is the same without NAT (endpoints reach each other and
 * the host). Other types are HCS_ERROR_NOT_SUPPORTED, as are network
 * Policies. A network needs at least one subnet of /30 or wider, none
 * overlapping another network's, a route of the host, or a range no
 * network may hold (0.0.0.0/8, loopback 127.0.0.0/8, link-local
 * 169.254.0.0/16, multicast 224.0.0.0/4, 240.0.0.0/4 with the broadcast
 * address).
 * An endpoint gets an address of its network's subnets and a MAC of its
 * MacPools (the lowest free ones; without MacPools, 02-15 followed by the
 * address), or the ones it asks for when they are inside and free; a veth
 * pair "hcsv<8 hex>" (a port of the bridge) / "hcsp<8 hex>", whose second
 * end a compute system naming the endpoint in its EndpointList takes into
 * its network namespace as eth0, eth1, ... with the address, MAC, default
 * route and DNS settings. PrefixLength and GatewayAddress, when given,
 * must be the subnet's; the answer fills them, VirtualNetwork(Name), and
 * the network's DNS settings unless the endpoint has its own. A NAT policy
 * maps a host port (tcp or udp, one mapping per host port and protocol)
 * to the endpoint's port, for traffic addressed to any address of the
 * host, 127.0.0.1 included; only on "nat" networks. A QOS policy caps the
 * endpoint's egress at MaximumOutgoingBandwidthInBytes per second (a tbf
 * qdisc on its end, counting Ethernet frames). An Id not given is a new
 * random GUID; a Name not given is the Id. A GUID id is kept in capitals,
 * as HNS gave ids (hcs_guid_ToString's text upper-cased), and found in any
 * form hcs_guid_parse reads; MACs, MacPools' too, are written as HNS wrote
 * them, "00-15-5D-0A-0B-0C", whatever form the request used.
 *
 * Errors: HCS_WSAEINVAL for a malformed request (naming the field) or one
 * that cannot apply (overlapping subnets, an address or MAC outside its
 * pool or in use, a host port mapped already, deleting a network that
 * still has endpoints or an endpoint attached to a running system);
 * HCS_ERROR_NOT_FOUND for an unknown id or network name;
 * HCS_ERROR_ALREADY_EXISTS for a duplicate id or network name;
 * HCS_ERROR_NO_MORE_ITEMS when the addresses or MACs are used up;
 * HCS_ERROR_GEN_FAILURE when the kernel refused (the error says what and
 * its errno). A refused request changes nothing. The message of these
 * errors is "HNS failed with error : <cause> (0x<code>) <object>": hcsshim
 * turned HNS's refusals into "HNS failed with error : <Error>", and code
 * ported from it looks for that text (hcs_error_op() still names the
 * call).
 *
 * State: with a state_dir, networks and endpoints are kept as JSON files
 * in state_dir/hns, and hcs_open on it finds them again and makes again
 * what the kernel lost (after a reboot, or a system that died holding an
 * endpoint). A bridge deleted behind hcs is made again, with every
 * endpoint's host end (running systems' too) a port of it again, at that
 * open or at the next request that needs it (an endpoint's creation, a
 * system's start). Without one they live in memory and hcs_close takes their
 * bridges, pairs and tables down. Needs root (CAP_NET_ADMIN).
 *
 * Threads: any thread but the engine's; the calls wait for the kernel's
 * answers (milliseconds) on the calling thread, one at a time per
 * service. */
typedef struct hcs_subnet_s {
  char *address_prefix;  /* "10.0.0.0/24" */
  char *gateway_address; /* "10.0.0.1" */
} hcs_subnet_t;

typedef struct hcs_mac_pool_s {
  char *start_mac_address; /* "00-15-5D-00-00-00" */
  char *end_mac_address;
} hcs_mac_pool_t;

typedef struct hcs_nat_policy_s {
  char *protocol; /* "tcp" or "udp" */
  uint16_t internal_port, external_port;
} hcs_nat_policy_t;

typedef struct hcs_qos_policy_s {
  uint64_t maximum_outgoing_bandwidth_in_bytes;
} hcs_qos_policy_t;

typedef struct hcs_hns_network_s {
  char *id, *name;
  char *type;     /* "nat", "transparent", "l2bridge", "l2tunnel", ... */
  char *policies; /* raw JSON array, or NULL */
  hcs_mac_pool_t *mac_pools;
  size_t n_mac_pools;
  hcs_subnet_t *subnets;
  size_t n_subnets;
  char *dns_suffix, *dns_server_list; /* or NULL */
} hcs_hns_network_t;

typedef struct hcs_hns_endpoint_s {
  char *id, *name;
  char *virtual_network, *virtual_network_name;
  char *policies; /* raw JSON array, or NULL */
  char *mac_address, *ip_address, *gateway_address; /* or NULL */
  uint8_t prefix_length;                            /* 0: not given */
  char *dns_server_list, *dns_suffix;               /* or NULL */
  /* Decoded from policies: */
  hcs_nat_policy_t *nat_policies;
  size_t n_nat_policies;
  hcs_qos_policy_t *qos_policy; /* or NULL */
} hcs_hns_endpoint_t;

/* Acts on "/networks/" + path. GET with a path and POST give one network
 * in *out (caller frees with hcs_hns_network_free); DELETE gives nothing,
 * and out may be NULL for it (as hcsshim passed no output there). */
HCS_API hcs_result_t hcs_HNSNetworkRequest(hcs_t *hcs, const char *method,
                                           const char *path,
                                           const char *request,
                                           hcs_hns_network_t **out,
                                           hcs_error_t **err);
/* GET "/networks/" + path: every network (path "") in *out, *n of them
 * (hcs_hns_networks_free; *out is NULL when there are none), or the one
 * network of id path. */
HCS_API hcs_result_t hcs_HNSListNetworkRequest(hcs_t *hcs, const char *method,
                                               const char *path,
                                               const char *request,
                                               hcs_hns_network_t **out,
                                               size_t *n, hcs_error_t **err);
/* Acts on "/endpoints/" + path, like hcs_HNSNetworkRequest. */
HCS_API hcs_result_t hcs_HNSEndpointRequest(hcs_t *hcs, const char *method,
                                            const char *path,
                                            const char *request,
                                            hcs_hns_endpoint_t **out,
                                            hcs_error_t **err);
HCS_API void hcs_hns_network_free(hcs_hns_network_t *n);
HCS_API void hcs_hns_networks_free(hcs_hns_network_t *v, size_t n);
HCS_API void hcs_hns_endpoint_free(hcs_hns_endpoint_t *e);
/* The HNS JSON text of an object; the caller frees it with hcs_free(). */
HCS_API char *hcs_hns_network_json(const hcs_hns_network_t *n);
HCS_API char *hcs_hns_endpoint_json(const hcs_hns_endpoint_t *e);

/* GUIDs: 16 bytes in the Windows layout (hcsshim's GUID [16]byte): the
 * first three fields (4, 2 and 2 bytes) little-endian, then 8 bytes in
 * order. Pure functions, any thread. */
typedef struct hcs_guid_s {
  uint8_t b[16];
} hcs_guid_t;

#define HCS_GUID_STRLEN 37 /* 36 characters and the NUL */

/* NewGUID(source): deterministic, the first 16 bytes of SHA-1(source)
 * (NULL hashes as ""). */
HCS_API hcs_guid_t hcs_NewGUID(const char *source);
/* NameToGuid(name): the same GUID for the same name on every host and
 * release. The Windows derivation is not public; hcs gives the RFC 4122
 * version-5 (SHA-1) GUID of the name's UTF-8 bytes under the namespace
 * c2b7ea9e-3f1d-4a5c-8e6b-9d0f4a2c1b7e, fixed forever, so that its
 * ToString is the RFC text of that UUID. Here hcs differs from HCS on
 * purpose: the same name gives another GUID than Windows gave (a client
 * that stored Windows' GUIDs must map them). Errors: HCS_WSAEINVAL for
 * NULL. */
HCS_API hcs_result_t hcs_NameToGuid(const char *name, hcs_guid_t *out,
                                    hcs_error_t **err);
/* ToString: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower-case, the first
 * three fields byte-reversed from storage as Windows prints them. */
HCS_API void hcs_guid_ToString(const hcs_guid_t *g, char out[HCS_GUID_STRLEN]);
/* The inverse of ToString (either case, braces allowed). HCS_WSAEINVAL
 * naming the text when it is not a GUID. */
HCS_API hcs_result_t hcs_guid_parse(const char *text, hcs_guid_t *out,
                                    hcs_error_t **err);

/* Engine statistics of one loop, for harnesses: the loop whose thread
 * calls; from a thread that runs no engine loop, loop 0's (then only while
 * nobody runs it: no_thread). */
typedef struct hcs_stats_s {
  size_t sessions;       /* alive (not yet freed) */
  size_t buf_in_use;     /* pool bytes handed out */
  size_t buf_high_water; /* most pool bytes out at once */
  size_t buf_cached;     /* pool bytes kept for reuse */
} hcs_stats_t;
HCS_API void hcs_stats(hcs_t *hcs, hcs_stats_t *st);

#ifdef __cplusplus
}
#endif

#endif
