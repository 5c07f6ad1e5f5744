/* SPDX-License-Identifier: MIT */
/* The README's container example, run as it stands (the fenced block after
 * the line naming this file) from a scratch directory whose build/ is this
 * build tree, with its own state dir and layer store; and the start that
 * fails (a VolumePath that is not there): its error names the path, and it
 * leaves nothing in the state dir but the system's record. */
#include "test_hcs_util.h"

#include <fcntl.h>
#include <sys/stat.h>

#define README_MARK "<!-- tests/test_readme.c runs this block as it stands -->"

/* The fenced block after README_MARK, malloc'ed. */
static char *readme_block(void) {
  FILE *f = fopen(HCS_SOURCE_DIR "/README.md", "r");
  cr_assert_not_null(f, "README.md: %s", strerror(errno));
  th_buf_t all = {0};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
    th_buf_add(&all, buf, n);
  }
  fclose(f);
  const char *mark = strstr(all.p, README_MARK);
  cr_assert_not_null(mark, "README.md has no line %s", README_MARK);
  const char *open = strstr(mark, "\n```\n");
  cr_assert_not_null(open, "no fenced block after the mark");
  open += 5;
  const char *close = strstr(open, "\n```\n");
  cr_assert_not_null(close, "the fenced block is not closed");
  char *block = strndup(open, (size_t)(close - open) + 1);
  cr_assert_not_null(block);
  th_buf_free(&all);
  return block;
}

typedef struct scratch_s {
  char dir[PATH_MAX], state[PATH_MAX + 8], layers[PATH_MAX + 8];
} scratch_t;

/* A scratch directory holding build -> this build tree. */
static void scratch_make(scratch_t *s) {
  snprintf(s->dir, sizeof(s->dir), "/tmp/hcs-readme-XXXXXX");
  cr_assert_not_null(mkdtemp(s->dir), "mkdtemp: %s", strerror(errno));
  char build[PATH_MAX], link[PATH_MAX + 8];
  snprintf(build, sizeof(build), "%s", th_hcs_path());
  *strrchr(build, '/') = '\0';
  snprintf(link, sizeof(link), "%s/build", s->dir);
  cr_assert_eq(symlink(build, link), 0, "symlink: %s", strerror(errno));
  snprintf(s->state, sizeof(s->state), "%s/state", s->dir);
  snprintf(s->layers, sizeof(s->layers), "%s/layers", s->dir);
}

static void scratch_remove(scratch_t *s) {
  char cmd[PATH_MAX + 32];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
  cr_assert_eq(system(cmd), 0);
}

/* Runs script with bash -eu in s->dir, HCS_STATE_DIR and HCS_LAYER_HOME
 * pointing into it; returns bash's exit status, output in out and err. */
static int run_script(scratch_t *s, const char *script, th_buf_t *out,
                      th_buf_t *err) {
  int po[2], pe[2];
  cr_assert_eq(pipe2(po, O_CLOEXEC), 0);
  cr_assert_eq(pipe2(pe, O_CLOEXEC), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    if (chdir(s->dir) != 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0 ||
        setenv("HCS_STATE_DIR", s->state, 1) != 0 ||
        setenv("HCS_LAYER_HOME", s->layers, 1) != 0) {
      _exit(120);
    }
    execl("/bin/bash", "bash", "-eu", "-o", "pipefail", "-c", script,
          (char *)NULL);
    _exit(121);
  }
  close(po[1]);
  close(pe[1]);
  int fds[2] = {po[0], pe[0]};
  th_buf_t bufs[2] = {{0}, {0}};
  th_read_all(fds, bufs, 2, 120000);
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  *out = bufs[0];
  *err = bufs[1];
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The names in dir other than . and .., joined by spaces. */
static void dir_names(const char *dir, th_buf_t *names) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      th_buf_add(names, e->d_name, strlen(e->d_name));
      th_buf_add(names, " ", 1);
    }
  }
  closedir(d);
}

Test(readme, container_example_runs) {
  scratch_t s;
  scratch_make(&s);
  char *block = readme_block();
  th_buf_t out, err;
  int code = run_script(&s, block, &out, &err);
  cr_assert_eq(code, 0,
               "the README's example exited %d\nstdout:\n%s\nstderr:\n%s", code,
               out.p != NULL ? out.p : "", err.p != NULL ? err.p : "");
  cr_assert(out.p != NULL && strstr(out.p, "hello from box\n") != NULL,
            "no greeting from the container: %s", out.p ? out.p : "");
  cr_assert(strstr(out.p, "\"Id\":\"box\"") != NULL ||
                strstr(out.p, "\"Id\": \"box\"") != NULL,
            "inspect did not show the system: %s", out.p);
  /* Torn down: no system record, no layer left. */
  th_buf_t left = {0};
  dir_names(s.state, &left);
  cr_assert(left.p == NULL, "left in the state dir: %s", left.p);
  th_buf_t layers = {0};
  dir_names(s.layers, &layers);
  cr_assert(layers.p == NULL || strstr(layers.p, "box-rw") == NULL,
            "the sandbox layer is left: %s", layers.p);
  th_buf_free(&left);
  th_buf_free(&layers);
  th_buf_free(&out);
  th_buf_free(&err);
  free(block);
  scratch_remove(&s);
}

Test(readme, failed_start_names_the_path_and_cleans_up) {
  scratch_t s;
  scratch_make(&s);
  char script[2 * PATH_MAX];
  snprintf(script, sizeof(script),
           "echo '{\"SystemType\":\"Container\",\"VolumePath\":"
           "\"%s/no-such-rootfs\",\"HostName\":\"box\"}' > box.json\n"
           "build/hcs system create box box.json\n"
           "if build/hcs system start box; then exit 10; fi\n",
           s.dir);
  th_buf_t out, err;
  int code = run_script(&s, script, &out, &err);
  cr_assert_eq(code, 0, "exit %d\nstderr:\n%s", code, err.p ? err.p : "");
  char want[PATH_MAX + 32];
  snprintf(want, sizeof(want), "%s/no-such-rootfs", s.dir);
  cr_assert(err.p != NULL && strstr(err.p, want) != NULL &&
                strstr(err.p, "No such file or directory") != NULL,
            "the error does not name %s: %s", want, err.p ? err.p : "");
  /* Only the record (and its lock) of the created system remain: no root
   * directory or mount of the failed start. */
  th_buf_t names = {0};
  dir_names(s.state, &names);
  cr_assert(names.p != NULL && strstr(names.p, ".root") == NULL,
            "the failed start left: %s", names.p ? names.p : "");
  th_buf_free(&out);
  th_buf_free(&err);
  code = run_script(&s, "build/hcs system delete box", &out, &err);
  cr_assert_eq(code, 0, "delete after a failed start: %s", err.p ? err.p : "");
  th_buf_free(&names);
  dir_names(s.state, &names);
  cr_assert(names.p == NULL, "left after delete: %s", names.p);
  th_buf_free(&out);
  th_buf_free(&err);
  scratch_remove(&s);
}
