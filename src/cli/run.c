/* SPDX-License-Identifier: MIT */
/* hcs run: one process on the host, its stdio joined to ours: a temporary
 * compute system without isolation and the exec path of `hcs exec`. */
#include "cli.h"

#include <hcs.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static void run_usage(FILE *f) {
  fprintf(f, "usage: hcs run [-t] [-i] [-e K=V]... [-w DIR] [--timeout MS] -- "
             "CMD [ARGS...]\n"
             "\n"
             "  -t            run under a console (pty); its size follows "
             "yours\n"
             "  -i            pass stdin to the process\n"
             "  -e K=V        set an environment variable\n"
             "  -w DIR        working directory\n"
             "  --timeout MS  kill the process and its group after MS ms\n"
             "\n"
             "Exits with the process's exit code (128+n for signal n); 127 "
             "when CMD is\nnot found, 126 when it cannot be executed.\n");
}

/* environ, then the -e settings over it. */
static int run_env(const cli_proc_opts_t *o, cli_strv_t *env) {
  for (char **e = environ; *e != NULL; e++) {
    /* An environ entry without a NAME= is passed over. */
    if ((*e)[0] != '=' && strchr(*e, '=') != NULL &&
        cli_env_set(env, "hcs run", *e) != 0) {
      return -1;
    }
  }
  for (size_t i = 0; i < o->sets.n; i++) {
    if (cli_env_set(env, "hcs run", o->sets.v[i]) != 0) {
      return -1;
    }
  }
  return 0;
}

static int run_session(hcs_t *hcs, const cli_proc_opts_t *o,
                       const cli_strv_t *env, char **cmd) {
  char id[64];
  snprintf(id, sizeof(id), "run-%d", (int)getpid());
  hcs_error_t *err = NULL;
  if (hcs_CreateComputeSystem(hcs, id,
                              "{\"SystemType\":\"Container\",\"IsDummy\":true}",
                              &err) != HCS_OK ||
      hcs_StartComputeSystem(hcs, id, &err) != HCS_OK) {
    cli_print_error("hcs run", err);
    return CLI_EXEC_HCS_FAILED;
  }
  hcs_process_params_t pp;
  memset(&pp, 0, sizeof(pp));
  pp.args = (const char *const *)cmd;
  pp.environment = env->v;
  pp.working_directory = o->cwd;
  pp.emulate_console = o->tty;
  return cli_exec_process(hcs, id, &pp, o->interactive, o->timeout_ms,
                          "hcs run");
}

int cli_run(int argc, char **argv) {
  cli_proc_opts_t o;
  memset(&o, 0, sizeof(o));
  o.timeout_ms = -1;
  cli_strv_t env = {0};
  int r = cli_proc_opts_parse(argc, argv, "hcs run", false, run_usage, &o);
  if (r == 0 && o.first >= argc) {
    fprintf(stderr, "hcs run: no command given\n");
    run_usage(stderr);
    r = -1;
  }
  if (r == 0 && run_env(&o, &env) != 0) {
    r = -1;
  }
  int code = r > 0 ? CLI_OK : CLI_EXEC_HCS_FAILED;
  if (r == 0) {
    hcs_t *hcs;
    hcs_error_t *err = NULL;
    cli_exec_block_signals();
    if (hcs_open(&hcs, NULL, &err) != HCS_OK) {
      cli_print_error("hcs run", err);
    } else {
      code = run_session(hcs, &o, &env, argv + o.first);
      hcs_close(hcs);
    }
  }
  cli_strv_free(&env);
  cli_strv_free(&o.sets);
  return code;
}
