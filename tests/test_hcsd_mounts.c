/* SPDX-License-Identifier: MIT */
/* What a container sees besides its image, through the real docker CLI:
 * -v host binds (rw, :ro, a file, a missing source made), --mount
 * type=bind and type=tmpfs, --tmpfs (a tmpfs, its size a limit),
 * --read-only (the root refuses writes, tmpfs and binds do not),
 * --add-host (in /etc/hosts), dockerd's refusals of bad mounts, and a
 * CI runner's flow: a workspace bound in, exec steps writing to it, the
 * files on the host after rm, an unrelated container running throughout.
 * One daemon per test (hcsd_e2e.h). */
#include "hcsd_e2e.h"

#include "hcs/system/config.h"

TestSuite(hcsd_mounts, .init = he_setup, .fini = he_teardown, .timeout = 240);

/* A directory of the test's temp dir, made empty: its path into out. */
static void host_dir(char *out, size_t n, const char *name) {
  snprintf(out, n, "%s/%s", he.dir, name);
  cr_assert_eq(mkdir(out, 0755), 0, "mkdir %s: %s", out, strerror(errno));
}

/* The contents of a host file (free), or NULL when it is missing. */
static char *host_file(const char *dir, const char *name) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return NULL;
  }
  th_buf_t b = {0};
  char buf[4096];
  ssize_t got;
  while ((got = read(fd, buf, sizeof(buf))) > 0) {
    th_buf_add(&b, buf, (size_t)got);
  }
  close(fd);
  th_buf_add(&b, "", 1);
  return b.p;
}

static void expect_host_file(const char *dir, const char *name,
                             const char *want) {
  char *got = host_file(dir, name);
  cr_assert_not_null(got, "%s/%s is not on the host", dir, name);
  cr_assert_str_eq(got, want, "%s/%s", dir, name);
  free(got);
}

/* -v: a file the container writes is on the host, and a host file is
 * seen; a missing source directory is made, as dockerd makes it. */
Test(hcsd_mounts, volume_bind_is_shared_with_the_host) {
  char ws[256], vol[300], made[256];
  host_dir(ws, sizeof(ws), "ws");
  FILE *f = fopen(strcat(strcpy(made, ws), "/in.txt"), "we");
  cr_assert_not_null(f);
  fputs("from host\n", f);
  fclose(f);
  snprintf(vol, sizeof(vol), "%s:/data", ws);
  he_cmd_t c;
  he_docker(&c, "run", "--rm", "--volume", vol, "busybox", "sh", "-c",
            "cat /data/in.txt && echo from container > /data/out.txt");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "from host\n");
  he_cmd_free(&c);
  expect_host_file(ws, "out.txt", "from container\n");

  /* A missing source is made; a file is bound onto a file. */
  snprintf(made, sizeof(made), "%s/made/below", he.dir);
  char v2[300], v3[300];
  snprintf(v2, sizeof(v2), "%s:/m", made);
  snprintf(v3, sizeof(v3), "%s/in.txt:/etc/app.conf:ro", ws);
  he_docker(&c, "run", "--rm", "-v", v2, "-v", v3, "busybox", "sh", "-c",
            "cat /etc/app.conf && echo x > /m/y");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "from host\n");
  he_cmd_free(&c);
  expect_host_file(made, "y", "x\n");
  he_end();
}

/* :ro and readonly: writes fail with EROFS, as under dockerd. */
Test(hcsd_mounts, read_only_binds_refuse_writes) {
  char ws[256], vol[300], mnt[320];
  host_dir(ws, sizeof(ws), "ws");
  snprintf(vol, sizeof(vol), "%s:/data:ro", ws);
  snprintf(mnt, sizeof(mnt), "type=bind,src=%s,dst=/m,readonly", ws);
  he_cmd_t c;
  he_docker(&c, "run", "--rm", "-v", vol, "busybox", "touch", "/data/x");
  he_expect_code(&c, 1);
  he_expect_has(c.e.p, "Read-only file system");
  he_cmd_free(&c);
  he_docker(&c, "run", "--rm", "--mount", mnt, "busybox", "touch", "/m/x");
  he_expect_code(&c, 1);
  he_expect_has(c.e.p, "Read-only file system");
  he_cmd_free(&c);
  cr_assert_null(host_file(ws, "x"), "a read-only bind was written");
  he_end();
}

/* --mount type=bind: shared with the host; dockerd's refusals of a
 * missing source, a relative one, a bad volume name and "/"; the socket
 * --use-api-socket binds. */
Test(hcsd_mounts, mount_bind_and_its_refusals) {
  char ws[256], mnt[320];
  host_dir(ws, sizeof(ws), "ws");
  snprintf(mnt, sizeof(mnt), "type=bind,source=%s,target=/w", ws);
  he_cmd_t c;
  he_docker_ok(&c, "run", "--rm", "--mount", mnt, "busybox", "sh", "-c",
               "echo m > /w/m.txt");
  he_cmd_free(&c);
  expect_host_file(ws, "m.txt", "m\n");

  /* --use-api-socket: the CLI binds the socket it talks to, hcsd's. */
  he_docker(&c, "run", "--rm", "--use-api-socket", "busybox", "sh", "-c",
            "test -S /var/run/docker.sock && echo socket");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "socket\n");
  he_cmd_free(&c);

  snprintf(mnt, sizeof(mnt), "type=bind,src=%s/missing,dst=/w", ws);
  he_docker_fails(125, "bind source path does not exist", "run", "--rm",
                  "--mount", mnt, "busybox", "true");
  he_docker_fails(125, "invalid characters for a local volume name", "run",
                  "--rm", "-v", "my@vol:/data", "busybox", "true");
  char root[300];
  snprintf(root, sizeof(root), "%s:/", ws);
  he_docker_fails(125, "destination can't be '/'", "run", "--rm", "-v", root,
                  "busybox", "true");
  char dup1[300], dup2[300];
  snprintf(dup1, sizeof(dup1), "%s:/d", ws);
  snprintf(dup2, sizeof(dup2), "%s:/d/", ws);
  he_docker_fails(125, "Duplicate mount point: /d", "run", "--rm", "-v", dup1,
                  "-v", dup2, "busybox", "true");
  he_request_fails("POST", "/v1.50/containers/create",
                   "{\"Image\":\"busybox\",\"HostConfig\":{\"Mounts\":[{"
                   "\"Type\":\"bind\",\"Source\":\"rel\",\"Target\":\"/x\"}]}}",
                   400, "mount path must be absolute");
  he_docker_ok(&c, "ps", "-aq");
  cr_assert_str_eq(c.o.p, "", "refused creates left containers: %s", c.o.p);
  he_cmd_free(&c);
  he_end();
}

/* --tmpfs and --mount type=tmpfs: a tmpfs (in /proc/mounts), with
 * dockerd's defaults (noexec, nosuid, nodev), its size a limit, its mode;
 * an option libhcs does not take is refused naming it. */
Test(hcsd_mounts, tmpfs_is_tmpfs_with_its_size) {
  he_cmd_t c;
  he_docker(&c, "run", "--rm", "--tmpfs", "/t:size=1m", "--mount",
            "type=tmpfs,dst=/u,tmpfs-size=2097152,tmpfs-mode=1770", "busybox",
            "sh", "-c",
            "grep -E ' /(t|u) ' /proc/mounts; "
            "dd if=/dev/zero of=/t/big bs=1024 count=2048 2>&1; echo dd=$?");
  he_expect_code(&c, 0);
  he_expect_has(c.o.p, "tmpfs /t tmpfs rw,nosuid,nodev,noexec");
  he_expect_has(c.o.p, "size=1024k");
  he_expect_has(c.o.p, "tmpfs /u tmpfs rw,nosuid,nodev,noexec");
  he_expect_has(c.o.p, "size=2048k,mode=1770");
  he_expect_has(c.o.p, "No space left on device");
  he_expect_has(c.o.p, "dd=1");
  he_cmd_free(&c);
  he_docker(&c, "run", "--rm", "--tmpfs", "/t:exec,mode=700", "busybox", "sh",
            "-c", "grep ' /t ' /proc/mounts");
  he_expect_code(&c, 0);
  he_expect_has(c.o.p, "tmpfs /t tmpfs rw,nosuid,nodev,relatime,mode=700");
  he_cmd_free(&c);
  /* The atime options (containerd's spec asks strictatime of its /run). */
  he_docker(&c, "run", "--rm", "--tmpfs", "/t:noatime,nodiratime", "--tmpfs",
            "/u:strictatime", "busybox", "sh", "-c",
            "grep -E ' /(t|u) ' /proc/mounts");
  he_expect_code(&c, 0);
  he_expect_has(c.o.p,
                "tmpfs /t tmpfs rw,nosuid,nodev,noexec,noatime,nodiratime");
  he_expect_has(c.o.p, "tmpfs /u tmpfs rw,nosuid,nodev,noexec ");
  he_cmd_free(&c);
  he_docker_fails(125, "hcsd does not support --tmpfs option \"suid\"", "run",
                  "--rm", "--tmpfs", "/t:suid", "busybox", "true");
  he_end();
}

/* --read-only: the root refuses writes (EROFS), tmpfs and binds stay
 * writable, /etc/hosts is there. */
Test(hcsd_mounts, read_only_root_keeps_its_mounts_writable) {
  char ws[256], vol[300];
  host_dir(ws, sizeof(ws), "ws");
  snprintf(vol, sizeof(vol), "%s:/w", ws);
  he_cmd_t c;
  he_docker(&c, "run", "--rm", "--read-only", "--tmpfs", "/t", "-v", vol,
            "busybox", "sh", "-c",
            "touch /x; echo root=$?; touch /t/y && touch /w/z && "
            "grep -c localhost /etc/hosts");
  he_expect_code(&c, 0);
  he_expect_has(c.o.p, "root=1\n");
  he_expect_has(c.e.p, "Read-only file system");
  he_expect_has(c.o.p, "2\n");
  he_cmd_free(&c);
  expect_host_file(ws, "z", "");
  he_docker(&c, "run", "--rm", "busybox", "sh", "-c", "touch /x && echo rw");
  he_expect_code(&c, 0);
  cr_assert_str_eq(c.o.p, "rw\n", "without --read-only the root is writable");
  he_cmd_free(&c);
  he_end();
}

/* --add-host: its lines in /etc/hosts, after the loopback names, then
 * the container's address and host name. */
Test(hcsd_mounts, add_host_lines_in_etc_hosts) {
  he_cmd_t c;
  he_docker(&c, "run", "--rm", "--hostname", "hx", "--add-host", "db:10.1.2.3",
            "--add-host", "v6=fd00::7", "busybox", "sh", "-c",
            "cat /etc/hosts; echo ip=$(hostname -i)");
  he_expect_code(&c, 0);
  he_expect_has(c.o.p, "127.0.0.1\tlocalhost\n");
  he_expect_has(c.o.p, "10.1.2.3\tdb\n");
  he_expect_has(c.o.p, "fd00::7\tv6\n");
  /* Its own address and name last, as dockerd writes them. */
  char *ip = strstr(c.o.p, "ip=");
  cr_assert(ip != NULL && ip[3] >= '1' && ip[3] <= '9', "%s", c.o.p);
  char own[64];
  snprintf(own, sizeof(own), "%.*s\thx\n", (int)strcspn(ip + 3, "\n"), ip + 3);
  he_expect_has(c.o.p, own);
  he_cmd_free(&c);
  he_docker_fails(125, "hcsd does not support --add-host x:host-gateway", "run",
                  "--rm", "--add-host", "x:host-gateway", "busybox", "true");
  he_end();
}

/* A CI runner: create with the workspace bound in, start, exec steps
 * that write to it, files on the host, rm; an unrelated container runs
 * throughout and is untouched. */
Test(hcsd_mounts, ci_runner_workspace) {
  char ws[256], vol[300];
  host_dir(ws, sizeof(ws), "workspace");
  snprintf(vol, sizeof(vol), "%s:/workspace", ws);
  he_cmd_t c;
  he_docker_ok(&c, "run", "-d", "--name", "other", "busybox", "sleep", "600");
  he_cmd_free(&c);
  he_docker_ok(&c, "create", "--name", "job", "-v", vol, "-w", "/workspace",
               "busybox", "sleep", "600");
  he_cmd_free(&c);
  he_docker_ok(&c, "start", "job");
  he_cmd_free(&c);
  he_docker_ok(&c, "exec", "job", "sh", "-c", "echo step1 > a.txt");
  he_cmd_free(&c);
  he_docker_ok(
      &c, "exec", "job", "sh", "-c",
      "mkdir -p out && cat a.txt > out/b.txt && echo art >> out/b.txt");
  he_cmd_free(&c);
  he_docker(&c, "exec", "job", "sh", "-c", "exit 3");
  he_expect_code(&c, 3);
  he_cmd_free(&c);
  expect_host_file(ws, "a.txt", "step1\n");
  expect_host_file(ws, "out/b.txt", "step1\nart\n");
  he_docker_ok(&c, "rm", "-f", "job");
  he_cmd_free(&c);
  expect_host_file(ws, "out/b.txt", "step1\nart\n");
  char running[16];
  he_docker_line(running, sizeof(running), "inspect", "-f",
                 "{{.State.Running}}", "other");
  cr_assert_str_eq(running, "true", "the unrelated container stopped");
  he_docker_ok(&c, "rm", "-f", "other");
  he_cmd_free(&c);
  he_end();
}

/* libhcs's side: Tmpfs and ReadOnlyRoot round trip through the config,
 * and an option it does not take is refused naming the entry. */
Test(hcs_tmpfs_config, fields_kept_and_bad_options_named) {
  static const char doc[] =
      "{\"SystemType\":\"Container\",\"ReadOnlyRoot\":true,\"Tmpfs\":[{"
      "\"ContainerPath\":\"/t\",\"Options\":\"size=1m,mode=1770,exec\"}]}";
  hcs__config_t cfg;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs__config_parse(doc, &cfg, "id=x", &err), HCS_OK, "%s",
               err != NULL ? hcs_error_message(err) : "");
  cr_assert(cfg.read_only_root);
  cr_assert_eq(cfg.n_tmpfs, 1);
  cr_assert_str_eq(cfg.tmpfs[0].options, "size=1m,mode=1770,exec");
  char *text = hcs__config_json(&cfg);
  json_t *a = json_loads(doc, 0, NULL), *b = json_loads(text, 0, NULL);
  cr_assert(json_equal(a, b), "round trip changed it: %s", text);
  json_decref(a);
  json_decref(b);
  hcs_free(text);
  hcs__config_free(&cfg);
  static const char *const bad[][2] = {
      {"{\"SystemType\":\"Container\",\"Tmpfs\":[{\"ContainerPath\":\"/t\","
       "\"Options\":\"size=1m,suid\"}]}",
       "Tmpfs[0].Options: \"suid\""},
      {"{\"SystemType\":\"Container\",\"Tmpfs\":[{\"ContainerPath\":\"t\"}]}",
       "Tmpfs[0].ContainerPath: must be an absolute path"},
      {"{\"SystemType\":\"Container\",\"Tmpfs\":[{\"Options\":\"ro\"}]}",
       "ContainerPath"},
      {"{\"SystemType\":\"Container\",\"IsDummy\":true,\"ReadOnlyRoot\":"
       "true}",
       "ReadOnlyRoot: a system without isolation"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err = NULL;
    cr_assert_eq(hcs__config_parse(bad[i][0], &cfg, "id=x", &err),
                 HCS_WSAEINVAL, "%s", bad[i][0]);
    cr_assert(strstr(hcs_error_message(err), bad[i][1]) != NULL,
              "\"%s\" lacks \"%s\"", hcs_error_message(err), bad[i][1]);
    hcs_error_free(err);
  }
}
