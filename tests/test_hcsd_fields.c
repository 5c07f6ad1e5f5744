/* SPDX-License-Identifier: MIT */
/* The rule of issue 17: every field of a create or exec body is honoured
 * or refused with a 400 naming it, never stored and ignored. The table
 * "docker run flags in hcsd" of README.md is parsed here: it must list
 * every flag of `docker run --help`, each refused row is run with the real
 * docker CLI (exit 125, "hcsd does not support --X"), and each honoured
 * row names a test that runs the flag; the honoured flags without a home
 * elsewhere are checked here by what they do (limits that bite, a
 * working directory made, an entrypoint cleared, metadata in inspect). */
#include "hcsd_e2e.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <sys/utsname.h>

TestSuite(hcsd_fields, .init = he_setup, .fini = he_teardown, .timeout = 300);

#define MAXROWS 160
#define MAXARGS 16

typedef struct row_s {
  char flags[4][48]; /* the long flag first, then its short form */
  int nflags;
  char status[16];
  char example[160];
  char notes[400];
} row_t;

/* The text of file, NUL-terminated (free). */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "re");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  th_buf_t b = {0};
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
    th_buf_add(&b, buf, n);
  }
  fclose(f);
  th_buf_add(&b, "", 1);
  return b.p;
}

/* Cell i (0-based) of a "| a | b |" line, trimmed, into out. */
static void cell(const char *line, int i, char *out, size_t n) {
  const char *p = line;
  for (int k = 0; k <= i; k++) {
    p = strchr(p, '|');
    cr_assert_not_null(p, "a table row with too few cells: %s", line);
    p++;
  }
  const char *end = strchr(p, '|');
  cr_assert_not_null(end, "an unterminated row: %s", line);
  while (p < end && *p == ' ') {
    p++;
  }
  size_t len = (size_t)(end - p);
  while (len > 0 && p[len - 1] == ' ') {
    len--;
  }
  snprintf(out, n, "%.*s", (int)len, p);
}

/* The rows of README.md's "docker run flags in hcsd" table. */
static int readme_rows(row_t *rows) {
  char *text = slurp(HCS_SOURCE_DIR "/README.md");
  const char *sec = strstr(text, "\n## docker run flags in hcsd\n");
  cr_assert_not_null(sec, "README.md has no section \"docker run flags in "
                          "hcsd\"");
  const char *end = strstr(sec + 1, "\n## ");
  int n = 0;
  for (const char *p = sec + 1; p != NULL && (end == NULL || p < end);) {
    const char *nl = strchr(p, '\n');
    char line[1024];
    snprintf(line, sizeof(line), "%.*s",
             (int)(nl != NULL ? nl - p : (ptrdiff_t)strlen(p)), p);
    p = nl != NULL ? nl + 1 : NULL;
    if (strncmp(line, "| `-", 4) != 0) {
      continue;
    }
    cr_assert_lt(n, MAXROWS);
    row_t *r = &rows[n++];
    memset(r, 0, sizeof(*r));
    char f[160];
    cell(line, 0, f, sizeof(f));
    for (char *q = strchr(f, '`'); q != NULL && r->nflags < 4;) {
      char *close = strchr(q + 1, '`');
      cr_assert_not_null(close, "%s", line);
      snprintf(r->flags[r->nflags++], sizeof(r->flags[0]), "%.*s",
               (int)(close - q - 1), q + 1);
      q = strchr(close + 1, '`');
    }
    cell(line, 1, r->status, sizeof(r->status));
    char ex[200];
    cell(line, 2, ex, sizeof(ex));
    size_t el = strlen(ex);
    if (el >= 2 && ex[0] == '`' && ex[el - 1] == '`') {
      snprintf(r->example, sizeof(r->example), "%.*s", (int)(el - 2), ex + 1);
    }
    cell(line, 3, r->notes, sizeof(r->notes));
  }
  free(text);
  return n;
}

/* The long flags of `docker run --help`, as "--a --b ... " into out. */
static void run_help_flags(th_buf_t *out) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "--help");
  th_buf_add(out, " ", 1);
  for (const char *p = c.o.p; p != NULL && *p != '\0';) {
    const char *nl = strchr(p, '\n');
    size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
    const char *f = memmem(p, len, "--", 2);
    /* An option line: indented, its first word -x, or --long. */
    if (len > 2 && p[0] == ' ' && f != NULL && (p[strspn(p, " ")] == '-') &&
        f - p < 12) {
      size_t fl = strcspn(f, " \n");
      th_buf_add(out, f, fl);
      th_buf_add(out, " ", 1);
    }
    p = nl != NULL ? nl + 1 : NULL;
  }
  th_buf_add(out, "", 1);
  he_cmd_free(&c);
}

/* The example's words (a "..." word keeps its spaces) into argv[at..];
 * the index past them. */
static int split_example(char *ex, const char **argv, int at) {
  for (char *p = ex; *p != '\0';) {
    while (*p == ' ') {
      p++;
    }
    if (*p == '\0') {
      break;
    }
    cr_assert_lt(at, MAXARGS - 4);
    if (*p == '"') {
      char *close = strchr(p + 1, '"');
      cr_assert_not_null(close, "unbalanced quote in %s", ex);
      *close = '\0';
      argv[at++] = p + 1;
      p = close + 1;
    } else {
      argv[at++] = p;
      p += strcspn(p, " ");
      if (*p == ' ') {
        *p++ = '\0';
      }
    }
  }
  return at;
}

static bool word_in(const char *words, const char *w) {
  char key[64];
  snprintf(key, sizeof(key), " %s ", w);
  return strstr(words, key) != NULL;
}

/* The table and `docker run --help` list the same flags; each honoured
 * row names a test program that runs the flag. */
Test(hcsd_fields, readme_table_lists_every_run_flag) {
  static row_t rows[MAXROWS];
  int n = readme_rows(rows);
  th_buf_t help = {0};
  run_help_flags(&help);
  th_buf_t listed = {0};
  th_buf_add(&listed, " ", 1);
  for (int i = 0; i < n; i++) {
    const row_t *r = &rows[i];
    cr_assert(strcmp(r->status, "honoured") == 0 ||
                  strcmp(r->status, "refused") == 0 ||
                  strcmp(r->status, "client") == 0 ||
                  strcmp(r->status, "left") == 0,
              "%s: status \"%s\"", r->flags[0], r->status);
    cr_assert(word_in(help.p, r->flags[0]),
              "README lists %s, which `docker run --help` lacks", r->flags[0]);
    th_buf_add(&listed, r->flags[0], strlen(r->flags[0]));
    th_buf_add(&listed, " ", 1);
    cr_assert(strcmp(r->status, "refused") != 0 || r->example[0] != '\0',
              "%s: a refused row without an example", r->flags[0]);
    if (strcmp(r->status, "honoured") == 0) {
      char name[48], prog[64];
      cr_assert_eq(sscanf(r->notes, "test_%47[a-z_]", name), 1,
                   "%s: an honoured row names no test: %s", r->flags[0],
                   r->notes);
      snprintf(prog, sizeof(prog), "test_%s", name);
      char path[256];
      snprintf(path, sizeof(path), "%s/tests/%s.c", HCS_SOURCE_DIR, prog);
      char *src = slurp(path);
      bool found = false;
      for (int k = 0; k < r->nflags && !found; k++) {
        char q[64];
        snprintf(q, sizeof(q), "\"%s\"", r->flags[k]);
        found = strstr(src, q) != NULL;
      }
      free(src);
      cr_assert(found, "%s names %s, which never passes %s", r->flags[0], prog,
                r->flags[0]);
    }
  }
  th_buf_add(&listed, "", 1);
  for (char *save = NULL, *w = strtok_r(help.p, " ", &save); w != NULL;
       w = strtok_r(NULL, " ", &save)) {
    cr_assert(word_in(listed.p, w),
              "`docker run --help` has %s, which README's table lacks", w);
  }
  th_buf_free(&help);
  th_buf_free(&listed);
  he_end();
}

/* Every refused row, run as its example says: the CLI exits 125 with the
 * daemon's 400 naming the flag, and no container is left. */
Test(hcsd_fields, refused_flags_are_named) {
  static row_t rows[MAXROWS];
  int n = readme_rows(rows);
  int ran = 0;
  for (int i = 0; i < n; i++) {
    row_t *r = &rows[i];
    if (strcmp(r->status, "refused") != 0) {
      continue;
    }
    const char *argv[MAXARGS] = {"docker", "run"};
    int at = split_example(r->example, argv, 2);
    argv[at++] = "busybox";
    argv[at++] = "true";
    argv[at] = NULL;
    char want[96];
    const char *as = strstr(r->notes, "named as `");
    if (as != NULL) {
      snprintf(want, sizeof(want), "hcsd does not support %.*s",
               (int)strcspn(as + 10, "`"), as + 10);
    } else {
      snprintf(want, sizeof(want), "hcsd does not support %s", r->flags[0]);
    }
    he_cmd_t c;
    he_run_argv(&c, NULL, 0, argv);
    he_expect_code(&c, 125);
    cr_assert(strstr(c.e.p, want) != NULL, "`%s`: stderr \"%s\" lacks \"%s\"",
              c.what, c.e.p, want);
    he_cmd_free(&c);
    ran++;
  }
  cr_assert_gt(ran, 40, "only %d refused rows", ran);
  he_cmd_t c;
  he_docker_ok(&c, "ps", "-aq");
  cr_assert_str_eq(c.o.p, "", "refused creates left containers: %s", c.o.p);
  he_cmd_free(&c);
  he_end();
}

static void create_fails(const char *body, const char *want) {
  he_request_fails("POST", "/v1.50/containers/create", body, 400, want);
}

/* What no flag of the linux CLI sends, refused by the API all the same:
 * the Windows-only limits, fields without a flag; a second network that
 * is not there. */
Test(hcsd_fields, api_only_fields_are_refused) {
  create_fails("{\"Image\":\"busybox\",\"HostConfig\":{\"CpuCount\":1}}",
               "hcsd does not support --cpu-count");
  create_fails("{\"Image\":\"busybox\",\"HostConfig\":{\"CpuPercent\":5}}",
               "hcsd does not support --cpu-percent");
  create_fails("{\"Image\":\"busybox\",\"HostConfig\":{\"IOMaximumIOps\":5}}",
               "hcsd does not support --io-maxiops");
  create_fails(
      "{\"Image\":\"busybox\",\"HostConfig\":{\"IOMaximumBandwidth\":5}}",
      "hcsd does not support --io-maxbandwidth");
  create_fails("{\"Image\":\"busybox\",\"HostConfig\":{\"Cgroup\":\"x\"}}",
               "hcsd does not support HostConfig.Cgroup");
  create_fails("{\"Image\":\"busybox\",\"NetworkDisabled\":true}",
               "hcsd does not support NetworkDisabled");
  create_fails("{\"Image\":\"busybox\",\"HostConfig\":{\"KernelMemory\":"
               "10485760}}",
               "hcsd does not support --kernel-memory");
  /* Names that no network id can start with (a hex prefix would name
   * one), the first looked at either (members come in hash order). */
  create_fails("{\"Image\":\"busybox\",\"NetworkingConfig\":{"
               "\"EndpointsConfig\":{\"nosuch-a\":{},\"nosuch-b\":{}}}}",
               "network nosuch-");
  create_fails("{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":"
               "\"default\"},\"NetworkingConfig\":{\"EndpointsConfig\":{"
               "\"n1\":{}}}}",
               "network n1 not found");
  create_fails("{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":1000}}",
               "Minimum memory limit allowed is 6MB");
  create_fails("{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":"
               "999000000000}}",
               "Range of CPUs is from 0.01");
  create_fails("{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":\"1g\"}}",
               "HostConfig.Memory");
  create_fails("{\"Image\":\"busybox\",\"HostConfig\":{\"LogConfig\":{"
               "\"Type\":\"syslog\"}}}",
               "hcsd does not support --log-driver syslog");
  create_fails("{\"Image\":\"busybox\",\"HostConfig\":{\"RestartPolicy\":{"
               "\"Name\":\"bogus\"}}}",
               "invalid restart policy: unknown policy 'bogus'");
  he_cmd_t c;
  he_docker_ok(&c, "ps", "-aq");
  cr_assert_str_eq(c.o.p, "", "refused creates left containers: %s", c.o.p);
  he_cmd_free(&c);
  he_end();
}

/* The honoured values of flags that are otherwise refused, spelt out
 * on the command line: accepted, and the container runs. */
Test(hcsd_fields, honoured_values_of_refused_flags) {
  struct utsname u;
  cr_assert_eq(uname(&u), 0);
  char platform[80];
  snprintf(platform, sizeof(platform), "linux/%s",
           strcmp(u.machine, "x86_64") == 0    ? "amd64"
           : strcmp(u.machine, "aarch64") == 0 ? "arm64"
                                               : u.machine);
  he_cmd_t c;
  he_docker(&c, "run", "--rm", "--log-driver", "json-file", "--restart", "no",
            "--isolation", "default", "--ipc", "private", "--cgroupns",
            "private", "--platform", platform, "--memory-swappiness", "-1",
            "busybox", "echo", "ok");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "ok\n");
  he_cmd_free(&c);
  he_end();
}

/* docker inspect NAME's first element (json_decref). */
static json_t *inspect_json(const char *name) {
  he_cmd_t c;
  he_docker_ok(&c, "inspect", name);
  json_t *arr = he_json(c.o.p);
  cr_assert(json_is_array(arr) && json_array_size(arr) == 1, "%s", c.o.p);
  json_t *o = json_incref(json_array_get(arr, 0));
  json_decref(arr);
  he_cmd_free(&c);
  return o;
}

/* A body as the Python SDK and compose send it (few fields, defaults
 * spelt their way) is accepted, and inspect shows the json-file log the
 * SDK's containers.run reads. */
Test(hcsd_fields, defaults_of_other_clients_and_log_config) {
  he_http_t r;
  he_request("POST", "/v1.50/containers/create?name=sdk",
             "{\"Image\":\"busybox\",\"Cmd\":[\"true\"],\"HostConfig\":{"
             "\"NetworkMode\":\"default\",\"RestartPolicy\":{\"Name\":\"\"},"
             "\"MemorySwappiness\":null,\"Binds\":[],\"Init\":null,"
             "\"Healthcheck\":null,\"IpcMode\":\"private\",\"Isolation\":"
             "\"default\",\"LogConfig\":{\"Type\":\"json-file\",\"Config\":"
             "{}}},\"Healthcheck\":{\"Test\":[\"NONE\"]},\"Volumes\":null,"
             "\"NetworkingConfig\":{\"EndpointsConfig\":{\"default\":{"
             "\"Aliases\":null,\"IPAMConfig\":{}}}}}",
             &r);
  cr_assert_eq(r.status, 201, "%s%s", r.head.p, r.body.p);
  he_http_free(&r);
  he_request("POST", "/v1.50/containers/create?name=bare",
             "{\"Image\":\"busybox\",\"Cmd\":[\"true\"]}", &r);
  cr_assert_eq(r.status, 201, "%s%s", r.head.p, r.body.p);
  he_http_free(&r);
  const char *names[] = {"sdk", "bare"};
  for (int i = 0; i < 2; i++) {
    json_t *o = inspect_json(names[i]);
    json_t *lc = json_object_get(json_object_get(o, "HostConfig"), "LogConfig");
    cr_assert_str_eq(json_string_value(json_object_get(lc, "Type")),
                     "json-file", "%s: LogConfig %s", names[i],
                     json_dumps(lc, 0));
    cr_assert(json_is_object(json_object_get(lc, "Config")));
    json_decref(o);
  }
  he_cmd_t c;
  he_docker_ok(&c, "rm", "sdk", "bare");
  he_cmd_free(&c);
  he_end();
}

/* exec's body: --privileged and --detach-keys refused by name. */
Test(hcsd_fields, exec_fields_are_refused) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", "x", "busybox", "sleep", "300");
  he_cmd_free(&c);
  he_docker_fails(1, "hcsd does not support --privileged", "exec",
                  "--privileged", "x", "true");
  he_docker_fails(1, "hcsd does not support --detach-keys", "exec",
                  "--detach-keys", "ctrl-x", "x", "true");
  he_docker_ok(&c, "exec", "x", "true");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", "x");
  he_cmd_free(&c);
  he_end();
}

/* -w of a directory the image lacks: made at create (as dockerd does),
 * its parents too; a relative one is refused as dockerd refuses it. */
Test(hcsd_fields, workdir_is_made) {
  he_cmd_t c;
  he_docker(&c, "run", "--rm", "-w", "/missing/deeper", "busybox", "pwd");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "/missing/deeper\n");
  he_cmd_free(&c);
  he_docker(&c, "run", "--rm", "--workdir", "/etc/new", "busybox", "sh", "-c",
            "pwd; ls /etc/passwd");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "/etc/new\n/etc/passwd\n");
  he_cmd_free(&c);
  he_docker_fails(125, "needs to be an absolute path", "run", "--rm", "-w",
                  "rel", "busybox", "pwd");
  /* A file where the directory would be: create fails, leaving nothing. */
  he_docker_fails(125, "Cannot mkdir", "run", "--rm", "-w", "/etc/passwd/x",
                  "busybox", "pwd");
  he_docker_ok(&c, "ps", "-aq");
  cr_assert_str_eq(c.o.p, "", "a failed create left %s", c.o.p);
  he_cmd_free(&c);
  he_end();
}

/* A tar entry: a regular file of n bytes of data, or (link) a symlink
 * to data. */
static void tar_put(struct archive *a, const char *name, const char *data,
                    size_t n, bool link) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, link ? AE_IFLNK : AE_IFREG);
  archive_entry_set_perm(e, link ? 0777 : 0644);
  if (link) {
    archive_entry_set_symlink(e, data);
  } else {
    archive_entry_set_size(e, (la_int64_t)n);
  }
  cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK, "%s",
               archive_error_string(a));
  if (!link) {
    cr_assert_eq(archive_write_data(a, data, n), (la_ssize_t)n);
  }
  archive_entry_free(e);
}

static void sha256_of(const void *p, size_t n, char out[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  cr_assert(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) == 1 && len == 32);
  for (unsigned i = 0; i < len; i++) {
    snprintf(out + 2 * i, 3, "%02x", md[i]);
  }
}

/* At path, what `docker load` takes (the `docker save` layout): the image
 * symimg:1, one layer holding only the symlink /escape -> target. */
static void make_symlink_image(const char *path, const char *target) {
  static char layer[65536];
  size_t used = 0;
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  cr_assert_eq(archive_write_open_memory(a, layer, sizeof(layer), &used),
               ARCHIVE_OK);
  tar_put(a, "escape", target, 0, true);
  archive_write_close(a);
  archive_write_free(a);
  char layer_sha[65], cfg_sha[65], cfg[512], manifest[512];
  sha256_of(layer, used, layer_sha);
  int cn = snprintf(cfg, sizeof(cfg),
                    "{\"architecture\":\"amd64\",\"os\":\"linux\","
                    "\"config\":{\"Cmd\":[\"/nothing\"]},\"rootfs\":{"
                    "\"type\":\"layers\",\"diff_ids\":[\"sha256:%s\"]}}",
                    layer_sha);
  sha256_of(cfg, (size_t)cn, cfg_sha);
  int mn = snprintf(manifest, sizeof(manifest),
                    "[{\"Config\":\"%s.json\",\"RepoTags\":[\"symimg:1\"],"
                    "\"Layers\":[\"%s/layer.tar\"]}]",
                    cfg_sha, layer_sha);
  char name[160];
  a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  cr_assert_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
  snprintf(name, sizeof(name), "%s/layer.tar", layer_sha);
  tar_put(a, name, layer, used, false);
  snprintf(name, sizeof(name), "%s.json", cfg_sha);
  tar_put(a, name, cfg, (size_t)cn, false);
  tar_put(a, "manifest.json", manifest, (size_t)mn, false);
  archive_write_close(a);
  archive_write_free(a);
}

/* -w through a symlink of the image that points at a host directory
 * (which exists there): the walk follows it inside the container's root,
 * as dockerd's does, and makes nothing on the host; nor does a ".." past
 * the root. */
Test(hcsd_fields, workdir_stays_in_the_root) {
  char outside[160], img[160], wd[200], wd2[200], host2[200];
  snprintf(outside, sizeof(outside), "%s/outside", he.dir);
  cr_assert_eq(mkdir(outside, 0755), 0, "%s", strerror(errno));
  snprintf(img, sizeof(img), "%s/symimg.tar", he.dir);
  make_symlink_image(img, outside);
  he_cmd_t c;
  he_docker_ok(&c, "load", "-i", img);
  he_cmd_free(&c);
  snprintf(wd, sizeof(wd), "/escape/made");
  const char *base = strrchr(he.dir, '/') + 1;
  snprintf(wd2, sizeof(wd2), "/escape/../../../../../../%s-made", base);
  snprintf(host2, sizeof(host2), "/%s-made", base);
  he_docker_ok(&c, "create", "--name", "a", "-w", wd, "symimg:1");
  he_cmd_free(&c);
  he_docker_ok(&c, "create", "--name", "b", "-w", wd2, "symimg:1");
  he_cmd_free(&c);
  char made[200];
  snprintf(made, sizeof(made), "%s/made", outside);
  cr_assert(access(made, F_OK) != 0 && errno == ENOENT,
            "-w %s made %s on the host", wd, made);
  cr_assert(access(host2, F_OK) != 0 && errno == ENOENT,
            "-w %s made %s on the host", wd2, host2);
  he_docker_ok(&c, "rm", "a", "b");
  he_cmd_free(&c);
  he_end();
}

/* --entrypoint "" clears the image's entrypoint and Cmd: the command
 * given runs alone, and with none there is nothing to run. */
Test(hcsd_fields, empty_entrypoint_clears) {
  he_cmd_t c;
  he_docker(&c, "run", "--rm", "--entrypoint", "", "busybox", "echo", "hi");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "hi\n");
  he_cmd_free(&c);
  he_docker(&c, "run", "--rm", "--entrypoint", "echo", "busybox", "a", "b");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "a b\n");
  he_cmd_free(&c);
  he_docker_fails(125, "No command specified", "run", "--rm", "--entrypoint",
                  "", "busybox");
  he_end();
}

/* The flags that are metadata or plain process settings, seen from
 * inside and in inspect. */
Test(hcsd_fields, process_settings_and_metadata) {
  char envf[256], labf[256];
  snprintf(envf, sizeof(envf), "%s/env.list", he.dir);
  snprintf(labf, sizeof(labf), "%s/labels.list", he.dir);
  FILE *f = fopen(envf, "we");
  cr_assert_not_null(f);
  fputs("FROMFILE=yes\n", f);
  fclose(f);
  f = fopen(labf, "we");
  cr_assert_not_null(f);
  fputs("lf=1\n", f);
  fclose(f);
  he_cmd_t c;
  he_docker(&c, "run", "--name", "m", "--env", "A=1", "-e", "B=2", "--env-file",
            envf, "--hostname", "hx", "--user", "1234:5678", "--label", "k=v",
            "--label-file", labf, "--expose", "8080", "--stop-signal",
            "SIGUSR1", "--no-healthcheck", "busybox", "sh", "-c",
            "echo $A$B$FROMFILE $(hostname) $(id -u):$(id -g)");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "12yes hx 1234:5678\n");
  he_cmd_free(&c);
  json_t *o = inspect_json("m");
  json_t *cfg = json_object_get(o, "Config");
  json_t *labels = json_object_get(cfg, "Labels");
  cr_assert_str_eq(json_string_value(json_object_get(labels, "k")), "v");
  cr_assert_str_eq(json_string_value(json_object_get(labels, "lf")), "1");
  cr_assert_not_null(
      json_object_get(json_object_get(cfg, "ExposedPorts"), "8080/tcp"));
  json_decref(o);
  he_docker_ok(&c, "rm", "m");
  he_cmd_free(&c);
  /* --stop-signal: stop sends it (the trap answers it, not SIGTERM). */
  he_docker_ok(&c, "run", "-d", "--name", "s", "--stop-signal", "SIGUSR1",
               "busybox", "sh", "-c",
               "trap 'echo usr1; exit 7' USR1; trap 'exit 9' TERM; "
               "echo ready; while :; do sleep 0.1; done");
  he_cmd_free(&c);
  for (int64_t end = th_now_ms() + 20000;;) {
    he_docker_ok(&c, "logs", "s");
    bool ready = strstr(c.o.p, "ready") != NULL;
    he_cmd_free(&c);
    if (ready) {
      break;
    }
    cr_assert_lt(th_now_ms(), end, "the container never got ready");
    struct pollfd none;
    (void)poll(&none, 0, 50); /* polling docker logs: bounded above */
  }
  he_docker_ok(&c, "stop", "s");
  he_cmd_free(&c);
  char code[32];
  he_docker_line(code, sizeof(code), "inspect", "-f", "{{.State.ExitCode}}",
                 "s");
  cr_assert_str_eq(code, "7");
  he_docker_ok(&c, "rm", "s");
  he_cmd_free(&c);
  he_end();
}

/* --init: the program is not pid 1, and an orphan it leaves is reaped
 * (no zombie stays under the program's pid namespace). */
Test(hcsd_fields, init_reaps) {
  he_cmd_t c;
  he_docker(&c, "run", "--rm", "--init", "busybox", "sh", "-c",
            "sh -c 'sleep 0.2 &' ; sleep 1; echo $$; "
            "ps -o stat= | grep -c Z || true");
  he_expect_code(&c, 0);
  int pid = 0, zombies = -1;
  cr_assert_eq(sscanf(c.o.p, "%d %d", &pid, &zombies), 2, "%s", c.o.p);
  cr_assert_neq(pid, 1, "the program is pid 1");
  cr_assert_eq(zombies, 0, "zombies: %s", c.o.p);
  he_cmd_free(&c);
  he_end();
}

/* --memory: a hog past the limit is OOM-killed and inspect says so; the
 * same hog under a larger limit runs to its end. */
Test(hcsd_fields, memory_limit_bites) {
  he_cmd_t c;
  he_docker(&c, "run", "--name", "hog", "--memory", "32m", "busybox", "dd",
            "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1");
  he_expect_code(&c, 137);
  he_cmd_free(&c);
  json_t *o = inspect_json("hog");
  json_t *st = json_object_get(o, "State");
  cr_assert(json_is_true(json_object_get(st, "OOMKilled")), "State: %s",
            json_dumps(st, 0));
  cr_assert_eq(json_integer_value(
                   json_object_get(json_object_get(o, "HostConfig"), "Memory")),
               32 * 1024 * 1024);
  json_decref(o);
  he_docker(&c, "run", "--rm", "-m", "128m", "busybox", "dd", "if=/dev/zero",
            "of=/dev/null", "bs=64M", "count=1");
  he_expect_code(&c, 0);
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "hog");
  he_cmd_free(&c);
  he_end();
}

/* --pids-limit: forks past the limit fail inside the container. */
Test(hcsd_fields, pids_limit_bites) {
  const char *script = "i=0; while [ $i -lt 20 ]; do sleep 30 & "
                       "i=$((i+1)); done; echo done";
  he_cmd_t c;
  he_docker(&c, "run", "--rm", "--pids-limit", "6", "busybox", "sh", "-c",
            script);
  cr_assert_neq(c.code, 0, "all 20 forks went through the limit of 6");
  he_expect_has(c.e.p, "can't fork");
  cr_assert(strstr(c.o.p, "done") == NULL, "%s", c.o.p);
  he_cmd_free(&c);
  he_docker(&c, "run", "--rm", "busybox", "sh", "-c", script);
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "done\n");
  he_cmd_free(&c);
  he_end();
}

/* The value of a cgroup v1 file of the process pid's group in
 * controller ctrl, read from the host; false when that hierarchy is not
 * mounted there. */
static bool cgroup_read(int pid, const char *ctrl, const char *file, char *out,
                        size_t n) {
  char path[512];
  snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
  char *text = slurp(path);
  bool ok = false;
  for (char *save = NULL, *l = strtok_r(text, "\n", &save); l != NULL;
       l = strtok_r(NULL, "\n", &save)) {
    char ctrls[128], grp[384];
    if (sscanf(l, "%*d:%127[^:]:%383s", ctrls, grp) != 2) {
      continue;
    }
    bool has = false;
    for (char *s2 = NULL, *k = strtok_r(ctrls, ",", &s2); k != NULL;
         k = strtok_r(NULL, ",", &s2)) {
      has = has || strcmp(k, ctrl) == 0;
    }
    if (!has) {
      continue;
    }
    snprintf(path, sizeof(path), "/sys/fs/cgroup/%s%s/%s", ctrl, grp, file);
    FILE *f = fopen(path, "re");
    if (f != NULL) {
      size_t got = fread(out, 1, n - 1, f);
      out[got] = '\0';
      ok = got > 0;
      fclose(f);
    }
  }
  free(text);
  return ok;
}

/* --cpus and --cpu-shares reach the container's cpu cgroup (a quota of
 * half the period, shares near those asked), and a busy loop under the
 * quota is throttled. */
Test(hcsd_fields, cpu_limits_reach_the_cgroup) {
  if (access("/sys/fs/cgroup/cpu/cpu.shares", F_OK) != 0) {
    cr_skip_test("no cgroup v1 cpu hierarchy at /sys/fs/cgroup/cpu");
  }
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", "busy", "--cpus", "0.5",
               "--cpu-shares", "512", "busybox", "sh", "-c",
               "while :; do :; done");
  he_cmd_free(&c);
  char pid[32];
  he_docker_line(pid, sizeof(pid), "inspect", "-f", "{{.State.Pid}}", "busy");
  char quota[64], period[64], shares[64], stat[512];
  cr_assert(
      cgroup_read(atoi(pid), "cpu", "cpu.cfs_quota_us", quota, sizeof(quota)),
      "no cpu cgroup for pid %s", pid);
  cr_assert(cgroup_read(atoi(pid), "cpu", "cpu.cfs_period_us", period,
                        sizeof(period)));
  cr_assert(
      cgroup_read(atoi(pid), "cpu", "cpu.shares", shares, sizeof(shares)));
  cr_assert_eq(atoll(quota) * 2, atoll(period), "quota %s period %s", quota,
               period);
  cr_assert(llabs(atoll(shares) - 512) <= 27, "cpu.shares %s", shares);
  /* Throttled within a few periods of a busy loop. */
  for (int64_t end = th_now_ms() + 10000;;) {
    cr_assert(cgroup_read(atoi(pid), "cpu", "cpu.stat", stat, sizeof(stat)));
    const char *t = strstr(stat, "nr_throttled ");
    cr_assert_not_null(t, "cpu.stat: %s", stat);
    if (atoll(t + 13) > 0) {
      break;
    }
    cr_assert_lt(th_now_ms(), end, "never throttled: %s", stat);
    struct pollfd none;
    (void)poll(&none, 0, 50); /* the kernel's counter: bounded above */
  }
  he_docker_ok(&c, "rm", "-f", "busy");
  he_cmd_free(&c);
  he_end();
}
