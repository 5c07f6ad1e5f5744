/* SPDX-License-Identifier: MIT */
/* hcsd end to end: docker system df (-v, --format, the API's type=) with
 * sizes measured on disk, and docker system prune (-f, -a, --volumes)
 * with the prunes it calls: containers, networks, volumes, images and the
 * build cache (none: hcsd builds nothing). */
#include "hcsd_e2e.h"

#include <criterion/criterion.h>

TestSuite(hcsd_sysdf, .init = he_setup, .fini = he_teardown, .timeout = 300);

/* The object of array a whose field key is value (or starts with it). */
static json_t *find(json_t *a, const char *key, const char *value) {
  size_t i;
  json_t *o;
  json_array_foreach(a, i, o) {
    const char *v = json_string_value(json_object_get(o, key));
    if (v == NULL) {
      v = json_string_value(json_array_get(json_object_get(o, key), 0));
    }
    if (v != NULL && strncmp(v, value, strlen(value)) == 0) {
      return o;
    }
  }
  cr_assert_fail("no %s %s in %s", key, value, json_dumps(a, JSON_COMPACT));
  return NULL;
}

static json_int_t num(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  cr_assert(json_is_integer(v), "%s is no number", key);
  return json_integer_value(v);
}

Test(hcsd_sysdf, system_df) {
  he_cmd_t c;
  char c1[80], c2[80];
  he_docker_line(c1, sizeof(c1), "run", "-d", "-v", "vol1:/data", "busybox",
                 "sh", "-c",
                 "head -c 100000 /dev/zero > /data/f; "
                 "head -c 50000 /dev/zero > /big; sleep 100");
  he_docker_line(c2, sizeof(c2), "create", "busybox", "true");
  he_docker_ok(&c, "volume", "create", "vol2");
  he_cmd_free(&c);
  /* Written once the exec sees both files. */
  he_docker_ok(&c, "exec", c1, "sh", "-c",
               "while [ $(cat /data/f /big 2>/dev/null | wc -c) != 150000 ]; "
               "do usleep 10000; done");
  he_cmd_free(&c);
  char bsize[32];
  he_docker_line(bsize, sizeof(bsize), "image", "inspect", "-f", "{{.Size}}",
                 "busybox");

  he_http_t r;
  he_request("GET", "/v1.41/system/df", NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body.p);
  json_t *df = he_json(r.body.p);
  cr_assert_eq(num(df, "LayersSize"), atoll(bsize));
  json_t *img = find(json_object_get(df, "Images"), "RepoTags", "busybox");
  cr_assert_eq(num(img, "Containers"), 2);
  cr_assert_eq(num(img, "Size"), atoll(bsize));
  json_t *ctr = find(json_object_get(df, "Containers"), "Id", c1);
  cr_assert_geq(num(ctr, "SizeRw"), 50000);
  cr_assert_eq(num(ctr, "SizeRootFs"), num(ctr, "SizeRw") + atoll(bsize));
  cr_assert_str_eq(json_string_value(json_object_get(ctr, "State")), "running");
  /* Its volume, which the CLI counts as LOCAL VOLUMES. */
  json_t *m = json_array_get(json_object_get(ctr, "Mounts"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(m, "Name")), "vol1");
  cr_assert_str_eq(json_string_value(json_object_get(m, "Driver")), "local");
  find(json_object_get(df, "Containers"), "Id", c2);
  json_t *v1 = json_object_get(
      find(json_object_get(df, "Volumes"), "Name", "vol1"), "UsageData");
  json_t *v2 = json_object_get(
      find(json_object_get(df, "Volumes"), "Name", "vol2"), "UsageData");
  cr_assert_eq(num(v1, "Size"), 100000);
  cr_assert_eq(num(v1, "RefCount"), 1);
  cr_assert_eq(num(v2, "Size"), 0);
  cr_assert_eq(num(v2, "RefCount"), 0);
  cr_assert(json_is_array(json_object_get(df, "BuildCache")));
  cr_assert_eq(json_array_size(json_object_get(df, "BuildCache")), 0);
  json_decref(df);
  he_http_free(&r);

  /* One part asked for: the others left out. */
  he_request("GET", "/v1.44/system/df?type=volume", NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body.p);
  df = he_json(r.body.p);
  cr_assert(json_is_null(json_object_get(df, "Images")), "%s", r.body.p);
  cr_assert(json_is_null(json_object_get(df, "Containers")), "%s", r.body.p);
  cr_assert_eq(json_array_size(json_object_get(df, "Volumes")), 2);
  json_decref(df);
  he_http_free(&r);
  he_request_fails("GET", "/v1.44/system/df?type=bogus", NULL, 400,
                   "unknown object type: bogus");

  /* The CLI's table, its summary counts and the volume's size. */
  he_docker_ok(&c, "system", "df", "--format",
               "{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}");
  he_expect_has(c.o.p, "Images|1|1|");
  he_expect_has(c.o.p, "Containers|2|1|");
  he_expect_has(c.o.p, "Local Volumes|2|1|100kB\n");
  he_expect_has(c.o.p, "Build Cache|0|0|0B\n");
  he_cmd_free(&c);
  he_docker_ok(&c, "system", "df", "-v");
  he_expect_has(c.o.p, "Images space usage:");
  he_expect_has(c.o.p, "Local Volumes space usage:");
  he_expect_has(c.o.p, "vol1          1         100kB\n");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", c1, c2);
  he_cmd_free(&c);
  he_docker_ok(&c, "volume", "rm", "vol1", "vol2");
  he_cmd_free(&c);
  he_end();
}

Test(hcsd_sysdf, system_prune) {
  he_cmd_t c;
  char done_id[80], live[80], net[80];
  he_docker_line(done_id, sizeof(done_id), "run", "-d", "busybox", "true");
  he_docker_ok(&c, "wait", done_id);
  he_cmd_free(&c);
  he_docker_line(live, sizeof(live), "run", "-d", "busybox", "sleep", "100");
  he_docker_line(net, sizeof(net), "network", "create", "n1");
  he_docker_ok(&c, "network", "create", "--label", "keep=1", "n2");
  he_cmd_free(&c);
  he_docker_ok(&c, "tag", "busybox", "other:1");
  he_cmd_free(&c);

  he_docker_fails(1, "Invalid filter 'bogus'", "network", "prune", "-f",
                  "--filter", "bogus=1");
  /* Labelled ones only, then the rest. */
  he_docker_ok(&c, "network", "prune", "-f", "--filter", "label=keep=1");
  cr_assert_str_eq(c.o.p, "Deleted Networks:\nn2\n\n");
  he_cmd_free(&c);

  he_docker_ok(&c, "system", "prune", "-f");
  char want[256];
  snprintf(want, sizeof(want), "Deleted Containers:\n%s\n", done_id);
  he_expect_has(c.o.p, want);
  he_expect_has(c.o.p, "Deleted Networks:\nn1\n");
  he_expect_has(c.o.p, "Total reclaimed space:");
  cr_assert_null(strstr(c.o.p, live), "a running container pruned");
  he_cmd_free(&c);
  he_docker_ok(&c, "network", "ls", "--format", "{{.Name}}");
  cr_assert_null(strstr(c.o.p, "n1"), "%s", c.o.p);
  he_expect_has(c.o.p, "bridge\n");
  he_cmd_free(&c);
  he_docker_ok(&c, "ps", "-a", "-q", "--no-trunc");
  snprintf(want, sizeof(want), "%s\n", live);
  cr_assert_str_eq(c.o.p, want);
  he_cmd_free(&c);

  /* -a: the images no container uses; busybox runs, so both tags stay. */
  he_docker_ok(&c, "system", "prune", "-a", "-f", "--volumes");
  he_expect_has(c.o.p, "Total reclaimed space: 0B");
  he_cmd_free(&c);
  he_docker_ok(&c, "images", "--format", "{{.Repository}}:{{.Tag}}");
  he_expect_has(c.o.p, "busybox:latest\n");
  he_expect_has(c.o.p, "other:1\n");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", live);
  he_cmd_free(&c);
  he_docker_ok(&c, "system", "prune", "-a", "-f");
  he_expect_has(c.o.p, "untagged: other:1\n");
  he_expect_has(c.o.p, "untagged: busybox:latest\n");
  he_cmd_free(&c);
  he_docker_ok(&c, "images", "-q");
  cr_assert_str_eq(c.o.p, "");
  he_cmd_free(&c);
  he_end();
}

Test(hcsd_sysdf, container_prune) {
  he_cmd_t c;
  char old[80], plain[80], live[80], want[256];
  he_docker_line(old, sizeof(old), "run", "-d", "--label", "keep=1", "busybox",
                 "sh", "-c", "head -c 30000 /dev/zero > /f");
  he_docker_line(plain, sizeof(plain), "run", "-d", "busybox", "true");
  he_docker_ok(&c, "wait", old, plain);
  he_cmd_free(&c);
  he_docker_line(live, sizeof(live), "run", "-d", "busybox", "sleep", "100");

  he_docker_fails(1, "Invalid filter 'bogus'", "container", "prune", "-f",
                  "--filter", "bogus=1");
  he_docker_fails(1, "failed to parse value as time or duration: \"junk\"",
                  "container", "prune", "-f", "--filter", "until=junk");
  he_docker_ok(&c, "container", "prune", "-f", "--filter",
               "until=2000-01-01T00:00:00Z");
  cr_assert_str_eq(c.o.p, "Total reclaimed space: 0B\n");
  he_cmd_free(&c);
  /* The labelled one, its writable layer's bytes reclaimed. */
  he_docker_ok(&c, "container", "prune", "-f", "--filter", "label=keep=1");
  snprintf(want, sizeof(want),
           "Deleted Containers:\n%s\n\nTotal reclaimed space: 30kB\n", old);
  cr_assert_str_eq(c.o.p, want);
  he_cmd_free(&c);
  he_docker_ok(&c, "container", "prune", "-f", "--filter", "label!=keep=1");
  snprintf(want, sizeof(want), "Deleted Containers:\n%s\n", plain);
  he_expect_has(c.o.p, want);
  he_cmd_free(&c);
  he_docker_ok(&c, "ps", "-a", "-q", "--no-trunc");
  snprintf(want, sizeof(want), "%s\n", live);
  cr_assert_str_eq(c.o.p, want);
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", live);
  he_cmd_free(&c);
  he_end();
}
