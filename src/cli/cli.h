/* SPDX-License-Identifier: MIT */
/* The subcommands of hcs and what they share. Each subcommand returns the
 * process's exit status: 0 when the call succeeded, 1 when it failed (the
 * HcsError text is on stderr), 2 for a usage error. `hcs run` and `hcs
 * exec` exit with their process's status instead, and 125 when hcs
 * itself fails. */
#ifndef HCS_CLI_CLI_H
#define HCS_CLI_CLI_H

#include <hcs.h>

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum {
  CLI_OK = 0,
  CLI_FAILED = 1,            /* the hcs call failed */
  CLI_USAGE = 2,             /* the command line was wrong */
  CLI_EXEC_HCS_FAILED = 125, /* hcs run/exec: hcs failed, or usage */
};

/* Options given before the subcommand. */
typedef struct cli_ctx_s {
  const char *state_dir; /* --state-dir, $HCS_STATE_DIR or /run/hcs */
} cli_ctx_t;

int cli_run(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_system(const cli_ctx_t *ctx, int argc, char **argv);
int cli_exec(const cli_ctx_t *ctx, int argc, char **argv);
int cli_layer(const cli_ctx_t *ctx, int argc, char **argv);
int cli_hns(const cli_ctx_t *ctx, int argc, char **argv);
int cli_guid(const cli_ctx_t *ctx, int argc, char **argv);

/* common.c */

/* getopt_long with the messages prefixed by prog (argv[0] is only the
 * subcommand's name); set optind to 0 before the first call. Returns the
 * option, -1 after the last one, or '?' once the mistake is printed.
 * shorts must not start with ':' ('+' is allowed). */
int cli_getopt(int argc, char **argv, const char *prog, const char *shorts,
               const struct option *longs);
/* Prints "prog: <the HcsError text>" on stderr and frees err. */
void cli_print_error(const char *prog, hcs_error_t *err);
/* Opens the service on ctx's state directory; prints the error. */
int cli_open(const cli_ctx_t *ctx, const char *prog, hcs_t **out);
/* Parses milliseconds (0 to 0xFFFFFFFE) for option opt; prints the
 * mistake and returns -1 when text is not that. */
int cli_parse_ms(const char *prog, const char *opt, const char *text,
                 uint32_t *out);
/* Parses a decimal number from min to max (min >= 0) given for what (an
 * option or an argument's name); prints the mistake, naming what and
 * text, and returns -1 when text is not that. */
int cli_parse_int(const char *prog, const char *what, const char *text, int min,
                  int max, int *out);
/* Reads the whole of path ("-": stdin) into a NUL-terminated string the
 * caller frees; prints why and returns NULL when it cannot. */
char *cli_read_text(const char *prog, const char *path);
/* Prints JSON text from an hcs call on stdout, newline-terminated. */
void cli_print_json(const char *text);

/* A growing NULL-terminated list of borrowed strings. */
typedef struct cli_strv_s {
  const char **v;
  size_t n;
} cli_strv_t;

/* Appends s; -1 (message printed) on ENOMEM. */
int cli_strv_add(cli_strv_t *sv, const char *prog, const char *s);
/* Sets NAME=value, replacing an entry of the same NAME. kv without '=',
 * or with an empty NAME, is refused with a message (-1). */
int cli_env_set(cli_strv_t *env, const char *prog, const char *kv);
void cli_strv_free(cli_strv_t *sv);

/* exec.c: a process in a compute system, its stdio joined to ours. */

/* The options shared by `hcs run` and `hcs exec`. */
typedef struct cli_proc_opts_s {
  bool tty, interactive;
  const char *cwd;
  long timeout_ms;    /* -1: none */
  cli_strv_t sets;    /* the -e NAME=value, in order */
  const char *params; /* exec --params FILE, or NULL */
  int first;          /* argv index of CMD, or argc when none */
} cli_proc_opts_t;

/* Parses [-t] [-i] [-e K=V]... [-w DIR] [--timeout MS] (and --params FILE
 * when with_params) up to CMD. Returns 0, 1 after printing usage for
 * --help, or -1 after printing the mistake. The caller frees o->sets. */
int cli_proc_opts_parse(int argc, char **argv, const char *prog,
                        bool with_params, void (*usage)(FILE *f),
                        cli_proc_opts_t *o);
/* Blocks the signals the relay reads from a signalfd. Call it before
 * hcs_open() so that the engine thread inherits the mask. */
void cli_exec_block_signals(void);
/* Starts params in running system id with our stdin (when interactive),
 * stdout and stderr joined to it, relays until its output ends (killing
 * it after timeout_ms unless -1), and returns its exit status: the exit
 * code, 128+n for signal n, 127 when the program was not found, 126 when
 * it could not be executed, 125 when hcs failed (the error printed with
 * prog). SIGINT, SIGTERM and SIGHUP kill the process; SIGWINCH resizes its
 * console. */
int cli_exec_process(hcs_t *hcs, const char *id,
                     const hcs_process_params_t *params, bool interactive,
                     long timeout_ms, const char *prog);

#endif
