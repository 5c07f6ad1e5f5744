/* SPDX-License-Identifier: MIT */
/* The HostConfig fields of issue 17 that reach the container's
 * processes and cgroups, through the real docker CLI: --cap-add and
 * --cap-drop (the effective set, and what it lets a process do), --ulimit
 * (in the main process and in an exec), --shm-size (/dev/shm's size),
 * --cpuset-cpus and --cpuset-mems (the cpus a process may run on),
 * --memory-swap and --memory-reservation (the memory cgroup),
 * --oom-score-adj, anonymous volumes (-v /path, an image's VOLUME), and
 * dockerd's refusals of bad values. One daemon per test (hcsd_e2e.h). */
#include "hcsd_cgroup.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

TestSuite(hcsd_hostcfg, .init = he_setup, .fini = he_teardown, .timeout = 240);

/* The output of `docker run --rm ARGS... busybox sh -c script`, which
 * must exit 0, into out. */
#define run_sh(out, n, script, ...)                                            \
  do {                                                                         \
    he_cmd_t rs_;                                                              \
    he_docker_ok(&rs_, "run", "--rm", __VA_ARGS__, "busybox", "sh", "-c",      \
                 (script));                                                    \
    snprintf((out), (n), "%s", rs_.o.p);                                       \
    he_cmd_free(&rs_);                                                         \
  } while (0)

/* The value of "Name:\tvalue" in a /proc/PID/status text. */
static void status_field(const char *text, const char *name, char *out,
                         size_t n) {
  char key[64];
  snprintf(key, sizeof(key), "%s:", name);
  const char *p = strstr(text, key);
  cr_assert_not_null(p, "no %s in \"%s\"", name, text);
  p += strlen(key);
  p += strspn(p, " \t");
  snprintf(out, n, "%.*s", (int)strcspn(p, "\n"), p);
}

/* The effective capabilities of a container's process, run with args. */
#define cap_eff(out, ...)                                                      \
  do {                                                                         \
    char ce_[4096];                                                            \
    run_sh(ce_, sizeof(ce_), "cat /proc/self/status", __VA_ARGS__);            \
    status_field(ce_, "CapEff", (out), 32);                                    \
  } while (0)

/* --cap-drop and --cap-add change the set from Docker's default
 * (a80425fb), by name with or without CAP_, in any case, and ALL. */
Test(hcsd_hostcfg, capabilities_follow_cap_add_and_cap_drop) {
  char v[32];
  cap_eff(v, "--name", "c0");
  cr_assert_str_eq(v, "00000000a80425fb");
  cap_eff(v, "--cap-drop", "NET_RAW");
  cr_assert_str_eq(v, "00000000a80405fb"); /* bit 13 gone */
  cap_eff(v, "--cap-drop", "all");
  cr_assert_str_eq(v, "0000000000000000");
  cap_eff(v, "--cap-drop", "ALL", "--cap-add", "CAP_CHOWN");
  cr_assert_str_eq(v, "0000000000000001");
  cap_eff(v, "--cap-add", "sys_admin");
  cr_assert_str_eq(v, "00000000a82425fb"); /* bit 21 in */
  /* ALL: every capability the daemon holds (a sandbox may have taken
   * some from it, as from this test). */
  char mine[4096], prm[32];
  FILE *f = fopen("/proc/self/status", "re");
  cr_assert_not_null(f);
  size_t got = fread(mine, 1, sizeof(mine) - 1, f);
  mine[got] = '\0';
  fclose(f);
  status_field(mine, "CapPrm", prm, sizeof(prm));
  cap_eff(v, "--cap-add", "ALL");
  cr_assert_str_eq(v, prm);
  he_docker_fails(125, "unknown capability", "run", "--rm", "--cap-add",
                  "NOT_A_CAP", "busybox", "true");
  he_end();
}

/* What the capabilities let a process do: ping needs NET_RAW (a default
 * one), mount needs SYS_ADMIN (and the seccomp rules Docker gives it). */
Test(hcsd_hostcfg, capabilities_decide_what_a_process_may_do) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "--rm", "busybox", "ping", "-c", "1", "127.0.0.1");
  he_cmd_free(&c);
  he_docker(&c, "run", "--rm", "--cap-drop", "NET_RAW", "busybox", "ping", "-c",
            "1", "127.0.0.1");
  cr_assert_neq(c.code, 0, "ping without NET_RAW: %s", c.o.p);
  he_expect_has(c.e.p, "permission denied");
  he_cmd_free(&c);
  const char *mnt = "mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && "
                    "grep ' /tmp/m ' /proc/mounts";
  he_docker(&c, "run", "--rm", "busybox", "sh", "-c", mnt);
  cr_assert_neq(c.code, 0, "mount without SYS_ADMIN: %s", c.o.p);
  he_cmd_free(&c);
  he_docker_ok(&c, "run", "--rm", "--cap-add", "SYS_ADMIN", "busybox", "sh",
               "-c", mnt);
  he_expect_has(c.o.p, "none /tmp/m tmpfs");
  he_cmd_free(&c);
  /* An exec has the container's set too. */
  he_docker_ok(&c, "run", "-d", "--name", "adm", "--cap-add", "SYS_ADMIN",
               "busybox", "sleep", "600");
  he_cmd_free(&c);
  he_docker_ok(&c, "exec", "adm", "sh", "-c", mnt);
  he_expect_has(c.o.p, "none /tmp/m tmpfs");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", "adm");
  he_cmd_free(&c);
  he_end();
}

/* --ulimit: soft and hard limits in the main process and in an exec. */
Test(hcsd_hostcfg, ulimits_reach_every_process) {
  char out[4096];
  run_sh(out, sizeof(out), "ulimit -n; ulimit -Hn", "--ulimit",
         "nofile=100:200");
  cr_assert_str_eq(out, "100\n200\n");
  run_sh(out, sizeof(out), "grep 'core file' /proc/self/limits", "--ulimit",
         "core=1024:4096");
  cr_assert(strstr(out, "1024") != NULL && strstr(out, "4096") != NULL, "%s",
            out);
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", "u", "--ulimit", "nofile=64",
               "busybox", "sleep", "600");
  he_cmd_free(&c);
  he_docker_ok(&c, "exec", "u", "sh", "-c", "ulimit -n; ulimit -Hn");
  cr_assert_str_eq(c.o.p, "64\n64\n");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", "u");
  he_cmd_free(&c);
  he_end();
}

/* --shm-size: the size of the container's /dev/shm (64 MiB without). */
Test(hcsd_hostcfg, shm_size_sizes_dev_shm) {
  char out[4096];
  run_sh(out, sizeof(out), "grep ' /dev/shm ' /proc/mounts", "--shm-size",
         "1m");
  he_expect_has(out, "size=1024k");
  run_sh(out, sizeof(out), "grep ' /dev/shm ' /proc/mounts", "--name", "d");
  he_expect_has(out, "size=65536k");
  /* A write past it fails. */
  he_cmd_t c;
  he_docker(&c, "run", "--rm", "--shm-size", "1m", "busybox", "sh", "-c",
            "dd if=/dev/zero of=/dev/shm/f bs=1k count=2048");
  cr_assert_neq(c.code, 0, "2 MiB went into a 1 MiB /dev/shm: %s", c.e.p);
  he_cmd_free(&c);
  he_end();
}

/* --cpuset-cpus / --cpuset-mems: the cpus the container's processes may
 * run on; a cpu the machine lacks is refused at create. */
Test(hcsd_hostcfg, cpuset_limits_the_cpus) {
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu < 2) {
    cr_skip_test("one cpu: no cpuset to choose");
  }
  char out[4096], v[32];
  run_sh(out, sizeof(out), "cat /proc/self/status", "--cpuset-cpus", "1",
         "--cpuset-mems", "0");
  status_field(out, "Cpus_allowed_list", v, sizeof(v));
  cr_assert_str_eq(v, "1");
  status_field(out, "Mems_allowed_list", v, sizeof(v));
  cr_assert_str_eq(v, "0");
  run_sh(out, sizeof(out), "cat /proc/self/status", "--name", "all");
  status_field(out, "Cpus_allowed_list", v, sizeof(v));
  char want[32];
  snprintf(want, sizeof(want), "0-%ld", ncpu - 1);
  cr_assert_str_eq(v, want);
  he_docker_fails(125, "Requested CPUs are not available", "run", "--rm",
                  "--cpuset-cpus", "4095", "busybox", "true");
  he_end();
}

/* --memory-swap and --memory-reservation reach the memory cgroup. */
Test(hcsd_hostcfg, memory_swap_and_reservation_reach_the_cgroup) {
  if (access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) != 0) {
    cr_skip_test("no cgroup v1 memory hierarchy with swap accounting");
  }
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", "m", "--memory", "32m",
               "--memory-swap", "64m", "--memory-reservation", "16m", "busybox",
               "sleep", "600");
  he_cmd_free(&c);
  he_docker_ok(&c, "run", "-d", "--name", "unl", "--memory", "32m",
               "--memory-swap", "-1", "busybox", "sleep", "600");
  he_cmd_free(&c);
  char pid[32], v[64];
  he_docker_line(pid, sizeof(pid), "inspect", "-f", "{{.State.Pid}}", "m");
  cr_assert(cgroup_v1_read(atoi(pid), "memory", "memory.limit_in_bytes", v,
                           sizeof(v)));
  cr_assert_str_eq(v, "33554432");
  cr_assert(cgroup_v1_read(atoi(pid), "memory", "memory.memsw.limit_in_bytes",
                           v, sizeof(v)));
  cr_assert_str_eq(v, "67108864");
  cr_assert(cgroup_v1_read(atoi(pid), "memory", "memory.soft_limit_in_bytes", v,
                           sizeof(v)));
  cr_assert_str_eq(v, "16777216");
  he_docker_line(pid, sizeof(pid), "inspect", "-f", "{{.State.Pid}}", "unl");
  cr_assert(cgroup_v1_read(atoi(pid), "memory", "memory.memsw.limit_in_bytes",
                           v, sizeof(v)));
  cr_assert_gt(atoll(v), 1LL << 60, "memsw %s", v);
  he_docker_ok(&c, "rm", "-f", "m", "unl");
  he_cmd_free(&c);
  he_docker_fails(125, "Minimum memoryswap limit should be larger", "run",
                  "--rm", "--memory", "64m", "--memory-swap", "32m", "busybox",
                  "true");
  he_docker_fails(125, "memory reservation", "run", "--rm", "--memory", "16m",
                  "--memory-reservation", "32m", "busybox", "true");
  he_end();
}

/* The names of the volumes, one a line, into out. */
static void volume_names(char *out, size_t n) {
  he_cmd_t c;
  he_docker_ok(&c, "volume", "ls", "-q");
  snprintf(out, n, "%s", c.o.p);
  he_cmd_free(&c);
}

/* -v /path and --mount type=volume without a source: a fresh volume
 * (its data outlives the container), taken by docker rm -v and by --rm,
 * kept by a plain docker rm. */
Test(hcsd_hostcfg, anonymous_volumes_come_and_go) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "--name", "a", "-v", "/data", "busybox", "sh", "-c",
               "echo hi > /data/f");
  he_cmd_free(&c);
  char name[128], line[512];
  he_docker_line(name, sizeof(name), "inspect", "-f",
                 "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}"
                 "{{end}}",
                 "a");
  char vol[80];
  cr_assert_eq(sscanf(name, "volume %64s /data", vol), 1, "%s", name);
  cr_assert_eq(strlen(vol), 64, "%s", vol);
  volume_names(line, sizeof(line));
  he_expect_has(line, vol);
  char spec[128];
  snprintf(spec, sizeof(spec), "%s:/x", vol);
  he_docker_ok(&c, "run", "--rm", "-v", spec, "busybox", "cat", "/x/f");
  cr_assert_str_eq(c.o.p, "hi\n");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-v", "a");
  he_cmd_free(&c);
  volume_names(line, sizeof(line));
  cr_assert_str_eq(line, "", "rm -v left volumes");

  he_docker_ok(&c, "run", "--rm", "-v", "/data", "--mount",
               "type=volume,dst=/v", "busybox", "sh", "-c",
               "touch /data/f /v/f");
  he_cmd_free(&c);
  volume_names(line, sizeof(line));
  cr_assert_str_eq(line, "", "--rm left volumes");

  he_docker_ok(&c, "run", "--name", "k", "--mount", "type=volume,dst=/v",
               "busybox", "true");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "k");
  he_cmd_free(&c);
  volume_names(line, sizeof(line));
  cr_assert_eq(strlen(line), 65, "a plain rm took the volume: \"%s\"", line);
  he_docker_ok(&c, "volume", "prune", "-f");
  he_cmd_free(&c);
  volume_names(line, sizeof(line));
  cr_assert_str_eq(line, "");
  he_request_fails("POST", "/v1.50/containers/create",
                   "{\"Image\":\"busybox\",\"Volumes\":{\"rel\":{}}}", 400,
                   "must be an absolute path");
  he_end();
}

/* --oom-score-adj: every process of the container has it (a raise: the
 * daemon may lack CAP_SYS_RESOURCE, which a lowering needs). */
Test(hcsd_hostcfg, oom_score_adj_reaches_every_process) {
  char out[256];
  run_sh(out, sizeof(out), "cat /proc/self/oom_score_adj", "--oom-score-adj",
         "500");
  cr_assert_str_eq(out, "500\n");
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", "o", "--oom-score-adj", "700",
               "busybox", "sleep", "600");
  he_cmd_free(&c);
  he_docker_ok(&c, "exec", "o", "cat", "/proc/self/oom_score_adj");
  cr_assert_str_eq(c.o.p, "700\n");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", "o");
  he_cmd_free(&c);
  he_docker_fails(125, "range for oom score adj", "run", "--rm",
                  "--oom-score-adj", "1001", "busybox", "true");
  he_end();
}

static void tar_file(struct archive *a, const char *name, const void *data,
                     size_t n) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, (la_int64_t)n);
  cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK, "%s",
               archive_error_string(a));
  cr_assert_eq(archive_write_data(a, data, n), (la_ssize_t)n);
  archive_entry_free(e);
}

static void sha256_hex(const void *p, size_t n, char out[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  cr_assert(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) == 1 && len == 32);
  for (unsigned i = 0; i < len; i++) {
    snprintf(out + 2 * i, 3, "%02x", md[i]);
  }
}

/* At path, what `docker load` takes: volimg:1, one layer with one file,
 * its config declaring VOLUME /vol. */
static void make_volume_image(const char *path) {
  static char layer[16384];
  size_t used = 0;
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  cr_assert_eq(archive_write_open_memory(a, layer, sizeof(layer), &used),
               ARCHIVE_OK);
  tar_file(a, "hello", "hi\n", 3);
  archive_write_close(a);
  archive_write_free(a);
  char layer_sha[65], cfg_sha[65], cfg[512], manifest[512], name[160];
  sha256_hex(layer, used, layer_sha);
  int cn = snprintf(cfg, sizeof(cfg),
                    "{\"architecture\":\"amd64\",\"os\":\"linux\","
                    "\"config\":{\"Cmd\":[\"/nothing\"],\"Volumes\":{"
                    "\"/vol\":{}}},\"rootfs\":{\"type\":\"layers\","
                    "\"diff_ids\":[\"sha256:%s\"]}}",
                    layer_sha);
  sha256_hex(cfg, (size_t)cn, cfg_sha);
  int mn = snprintf(manifest, sizeof(manifest),
                    "[{\"Config\":\"%s.json\",\"RepoTags\":[\"volimg:1\"],"
                    "\"Layers\":[\"%s/layer.tar\"]}]",
                    cfg_sha, layer_sha);
  a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  cr_assert_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
  snprintf(name, sizeof(name), "%s/layer.tar", layer_sha);
  tar_file(a, name, layer, used);
  snprintf(name, sizeof(name), "%s.json", cfg_sha);
  tar_file(a, name, cfg, (size_t)cn);
  tar_file(a, "manifest.json", manifest, (size_t)mn);
  archive_write_close(a);
  archive_write_free(a);
}

/* An image's VOLUME: each container of it gets an anonymous volume
 * there, unless a mount covers the path. */
Test(hcsd_hostcfg, image_volumes_are_anonymous_volumes) {
  char img[160];
  snprintf(img, sizeof(img), "%s/volimg.tar", he.dir);
  make_volume_image(img);
  he_cmd_t c;
  he_docker_ok(&c, "load", "-i", img);
  he_cmd_free(&c);
  he_docker_ok(&c, "create", "--name", "iv", "volimg:1");
  he_cmd_free(&c);
  char line[256], vol[80];
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}"
                 "{{end}}",
                 "iv");
  cr_assert_eq(sscanf(line, "volume %64s /vol", vol), 1, "%s", line);
  cr_assert_eq(strlen(vol), 64, "%s", vol);
  he_docker_ok(&c, "create", "--name", "named", "-v", "mine:/vol", "volimg:1");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{range .Mounts}}{{.Name}};{{end}}", "named");
  cr_assert_str_eq(line, "mine;", "a -v on the path is the only mount");
  he_docker_ok(&c, "rm", "-v", "iv", "named");
  he_cmd_free(&c);
  he_end();
}
