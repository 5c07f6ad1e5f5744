/* SPDX-License-Identifier: MIT */
/* Named volumes against hcsd with the real docker CLI: create, ls with
 * its filters, inspect, rm and prune; data that outlives its container;
 * a volume in use that rm refuses. One daemon per test (he_setup), each
 * ending with he_end()'s checks. */
#include "hcsd_e2e.h"

TestSuite(hcsd_volumes, .init = he_setup, .fini = he_teardown, .timeout = 240);

/* docker volume ls -q with the extra arguments: the names, one a line. */
#define vol_names(out, n, ...)                                                 \
  do {                                                                         \
    he_cmd_t vn_;                                                              \
    he_docker_ok(&vn_, "volume", "ls", "-q", __VA_ARGS__);                     \
    snprintf((out), (n), "%s", vn_.o.p);                                       \
    he_cmd_free(&vn_);                                                         \
  } while (0)

Test(hcsd_volumes, create_ls_inspect_rm_prune) {
  char line[512], want[512];
  he_docker_line(line, sizeof(line), "volume", "create", "--label", "team=a",
                 "v1");
  cr_assert_str_eq(line, "v1");
  he_docker_line(line, sizeof(line), "volume", "create", "v2");
  cr_assert_str_eq(line, "v2");
  /* Again: the same volume, no error, as dockerd. */
  he_docker_line(line, sizeof(line), "volume", "create", "v2");
  cr_assert_str_eq(line, "v2");

  vol_names(line, sizeof(line), "--filter", "dangling=true");
  cr_assert_str_eq(line, "v1\nv2\n");
  vol_names(line, sizeof(line), "--filter", "label=team=a");
  cr_assert_str_eq(line, "v1\n");
  vol_names(line, sizeof(line), "--filter", "label=team");
  cr_assert_str_eq(line, "v1\n");
  vol_names(line, sizeof(line), "--filter", "name=2");
  cr_assert_str_eq(line, "v2\n");
  vol_names(line, sizeof(line), "--filter", "driver=local");
  cr_assert_str_eq(line, "v1\nv2\n");
  vol_names(line, sizeof(line), "--filter", "dangling=false");
  cr_assert_str_eq(line, "");
  he_docker_fails(1, "Invalid filter", "volume", "ls", "--filter", "nope=1");

  he_docker_line(line, sizeof(line), "volume", "inspect", "-f",
                 "{{.Name}} {{.Driver}} {{.Scope}} {{.Labels.team}} "
                 "{{.Mountpoint}}",
                 "v1");
  snprintf(want, sizeof(want), "v1 local local a %s/volumes/v1/_data",
           he.state);
  cr_assert_str_eq(line, want);
  struct stat st;
  cr_assert_eq(stat(want + strlen("v1 local local a "), &st), 0);
  cr_assert(S_ISDIR(st.st_mode));

  he_docker_fails(1, "includes invalid characters for a local volume name",
                  "volume", "create", "bad/name");
  he_docker_fails(1, "does not support volume driver", "volume", "create", "-d",
                  "nfs", "v3");

  he_docker_line(line, sizeof(line), "volume", "rm", "v1");
  cr_assert_str_eq(line, "v1");
  he_docker_fails(1, "no such volume", "volume", "inspect", "v1");
  he_docker_fails(1, "no such volume", "volume", "rm", "v1");
  he_cmd_t c;
  he_docker_ok(&c, "volume", "rm", "-f", "v1");
  he_cmd_free(&c);

  /* prune takes only anonymous volumes unless --all. */
  he_docker_ok(&c, "volume", "prune", "-f");
  he_cmd_free(&c);
  vol_names(line, sizeof(line), "--filter", "name=v");
  cr_assert_str_eq(line, "v2\n");
  /* 8 KiB in v2, which its prune reclaims. */
  snprintf(want, sizeof(want), "%s/volumes/v2/_data/blob", he.state);
  FILE *f = fopen(want, "w");
  cr_assert_not_null(f);
  for (int i = 0; i < 8192; i++) {
    fputc('x', f);
  }
  fclose(f);
  he_docker_ok(&c, "volume", "prune", "-af");
  he_expect_has(c.o.p, "v2");
  he_expect_has(c.o.p, "Total reclaimed space: 8.192kB");
  he_cmd_free(&c);
  vol_names(line, sizeof(line), "--filter", "name=v");
  cr_assert_str_eq(line, "");
  snprintf(want, sizeof(want), "%s/volumes/v2", he.state);
  cr_assert(access(want, F_OK) != 0, "%s is still there", want);
  he_end();
}

Test(hcsd_volumes, data_outlives_containers_and_in_use_is_kept) {
  char line[512];
  he_cmd_t c;
  /* Made on first use, as dockerd does. */
  he_docker_ok(&c, "run", "--name", "w", "-v", "data:/data", "busybox", "sh",
               "-c", "printf hi > /data/f");
  he_cmd_free(&c);
  vol_names(line, sizeof(line), "--filter", "name=data");
  cr_assert_str_eq(line, "data\n");
  he_docker_line(line, sizeof(line), "run", "--rm", "-v", "data:/data:ro",
                 "busybox", "cat", "/data/f");
  cr_assert_str_eq(line, "hi");
  he_docker_line(line, sizeof(line), "run", "--rm", "--mount",
                 "type=volume,source=data,target=/m", "busybox", "cat", "/m/f");
  cr_assert_str_eq(line, "hi");
  /* Read-only is honoured. */
  he_docker(&c, "run", "--rm", "-v", "data:/data:ro", "busybox", "touch",
            "/data/g");
  cr_assert_neq(c.code, 0, "touch on a read-only volume succeeded");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} "
                 "{{.RW}}{{end}}",
                 "w");
  cr_assert_str_eq(line, "volume data /data true");

  he_docker_fails(1, "volume is in use", "volume", "rm", "data");
  he_docker_fails(1, "volume is in use", "volume", "rm", "-f", "data");
  vol_names(line, sizeof(line), "--filter", "dangling=false");
  cr_assert_str_eq(line, "data\n");
  he_docker_ok(&c, "volume", "prune", "-af");
  he_cmd_free(&c);
  vol_names(line, sizeof(line), "--filter", "name=data");
  cr_assert_str_eq(line, "data\n");

  he_docker_ok(&c, "rm", "w");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "volume", "rm", "data");
  cr_assert_str_eq(line, "data");
  he_docker_fails(125, "invalid characters for a local volume name", "run",
                  "--rm", "-v", "b@d:/x", "busybox", "true");
  he_end();
}
