/* SPDX-License-Identifier: MIT */
/* hcsd end to end, the docker CLI driving the image commands besides
 * load: docker tag, docker rmi (its Untagged / Deleted lists and
 * dockerd's 409 conflicts, worded as dockerd 20.10 words them), docker
 * history, docker image prune (dangling, -a, filters, the space
 * reclaimed) and docker save, whose archive loads back into hcsd and,
 * when the host has one, into a real dockerd. */
#include "hcsd/util.h"
#include "hcsd_e2e.h"

#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <sys/wait.h>

TestSuite(hcsd_imgops, .init = he_setup, .fini = he_teardown, .timeout = 300);

/* ------------------------------------------------------------------------
 * An image archive made here: two layers of one small file each, a
 * config with a label and a history of three steps (one empty). */

static la_ssize_t mem_write(struct archive *a, void *data, const void *buf,
                            size_t n) {
  (void)a;
  th_buf_add(data, buf, n);
  return (la_ssize_t)n;
}

static void tar_add(struct archive *a, const char *name, const void *data,
                    size_t n) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_size(e, (la_int64_t)n);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_mtime(e, 1735689600, 0);
  cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK, "%s",
               archive_error_string(a));
  cr_assert_eq(archive_write_data(a, data, n), (la_ssize_t)n);
  archive_entry_free(e);
}

static struct archive *tar_open(th_buf_t *b) {
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  cr_assert_eq(archive_write_open(a, b, NULL, mem_write, NULL), ARCHIVE_OK);
  return a;
}

static void tar_close(struct archive *a) {
  cr_assert_eq(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

static void sha(const void *p, size_t n, char out[65]) {
  cr_assert_eq(hcsd_sha256_hex(p, n, out), 0);
}

typedef struct img_s {
  char cfg[65];      /* the config's sha256: the image id's hex */
  char chain[2][65]; /* the layers' chain ids, base first */
} img_t;

/* Writes the archive of image tag to path; seed makes its files (and so
 * its id) differ from another's; label the value of its label "keep". */
static void make_image(const char *path, const char *tag, const char *seed,
                       const char *label, img_t *img) {
  char diff[2][65];
  th_buf_t layer[2] = {{0}};
  for (int i = 0; i < 2; i++) {
    char name[16], body[128];
    snprintf(name, sizeof(name), "%c.txt", 'a' + i);
    int n = snprintf(body, sizeof(body), "layer %d of %s\n", i + 1, seed);
    struct archive *a = tar_open(&layer[i]);
    tar_add(a, name, body, (size_t)n);
    tar_close(a);
    sha(layer[i].p, layer[i].len, diff[i]);
  }
  snprintf(img->chain[0], 65, "%s", diff[0]);
  char two[200];
  int n = snprintf(two, sizeof(two), "sha256:%s sha256:%s", diff[0], diff[1]);
  sha(two, (size_t)n, img->chain[1]);
  char cfg[2048];
  int cn = snprintf(
      cfg, sizeof(cfg),
      "{\"architecture\":\"amd64\",\"config\":{\"Cmd\":[\"/a.txt\"],"
      "\"Labels\":{\"keep\":\"%s\"}},\"created\":\"2025-01-03T00:00:00Z\","
      "\"history\":[{\"created\":\"2025-01-01T00:00:00Z\",\"created_by\":"
      "\"ADD a.txt /\"},{\"created\":\"2025-01-02T00:00:00Z\","
      "\"created_by\":\"LABEL keep=%s\",\"empty_layer\":true},{\"created\":"
      "\"2025-01-03T00:00:00Z\",\"created_by\":\"ADD b.txt /\",\"comment\":"
      "\"second\"}],\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
      "\"diff_ids\":[\"sha256:%s\",\"sha256:%s\"]}}",
      label, label, diff[0], diff[1]);
  sha(cfg, (size_t)cn, img->cfg);
  char manifest[1024], name[128];
  int mn = snprintf(manifest, sizeof(manifest),
                    "[{\"Config\":\"%s.json\",\"RepoTags\":[\"%s\"],"
                    "\"Layers\":[\"l1/layer.tar\",\"l2/layer.tar\"]}]",
                    img->cfg, tag);
  th_buf_t out = {0};
  struct archive *a = tar_open(&out);
  tar_add(a, "l1/layer.tar", layer[0].p, layer[0].len);
  tar_add(a, "l2/layer.tar", layer[1].p, layer[1].len);
  snprintf(name, sizeof(name), "%s.json", img->cfg);
  tar_add(a, name, cfg, (size_t)cn);
  tar_add(a, "manifest.json", manifest, (size_t)mn);
  tar_close(a);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
  th_write_all(fd, out.p, out.len);
  close(fd);
  th_buf_free(&out);
  th_buf_free(&layer[0]);
  th_buf_free(&layer[1]);
}

/* Makes and loads image tag. */
static void load_image(const char *tag, const char *seed, const char *label,
                       img_t *img) {
  char path[192];
  snprintf(path, sizeof(path), "%s/%s.tar", he.dir, seed);
  make_image(path, tag, seed, label, img);
  he_cmd_t c;
  he_docker_ok(&c, "load", "-q", "-i", path);
  he_cmd_free(&c);
}

/* Asserts a docker command's stdout is exactly want. */
#define expect_out(want, ...)                                                  \
  do {                                                                         \
    he_cmd_t eo_;                                                              \
    he_docker_ok(&eo_, __VA_ARGS__);                                           \
    cr_assert_str_eq(eo_.o.p, (want), "`%s`", eo_.what);                       \
    he_cmd_free(&eo_);                                                         \
  } while (0)

static void image_id(const char *ref, char *out, size_t n) {
  he_docker_line(out, n, "image", "inspect", "-f", "{{.Id}}", ref);
}

/* ------------------------------------------------------------------------ */

Test(hcsd_imgops, tag_history_rm) {
  img_t img;
  load_image("hist:1", "h", "yes", &img);
  char want[1024], id[80];
  snprintf(id, sizeof(id), "sha256:%s", img.cfg);

  /* docker tag: both names, one image. */
  expect_out("", "tag", "hist:1", "me/hist:2");
  expect_out("", "image", "tag", id, "hist");
  he_cmd_t c;
  he_docker_ok(&c, "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}",
               "--filter", "label=keep=yes");
  static const char *const names[] = {"hist:1", "hist:latest", "me/hist:2"};
  for (int i = 0; i < 3; i++) {
    snprintf(want, sizeof(want), "%s %.12s\n", names[i], img.cfg);
    he_expect_has(c.o.p, want);
  }
  cr_assert_eq(strlen(c.o.p), 3 * 14 + 6 + 11 + 9, "%s", c.o.p);
  he_cmd_free(&c);
  /* A tag moves from the image that had it. */
  expect_out("", "tag", "busybox", "hist:latest");
  char line[256];
  image_id("hist:latest", line, sizeof(line));
  cr_assert_str_neq(line, id);
  he_docker_fails(1, "No such image: nothere:latest", "tag", "nothere", "x:1");
  he_request_fails("POST", "/v1.41/images/hist:1/tag?repo=Upper", NULL, 400,
                   "invalid reference format: repository name must be "
                   "lowercase");
  he_request_fails("POST", "/v1.41/images/nothere/tag?repo=x", NULL, 404,
                   "No such image: nothere:latest");

  /* docker history: newest first, the empty step without size, the
   * image's id and tags on its top line only. */
  he_docker_ok(&c, "history", "--no-trunc", "--human=false", "--format",
               "{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}", "hist:1");
  char sz[2][32];
  he_http_t r;
  he_request("GET", "/v1.41/images/hist:1/history", NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body.p);
  json_t *h = he_json(r.body.p);
  cr_assert_eq(json_array_size(h), 3, "%s", r.body.p);
  json_t *top = json_array_get(h, 0);
  cr_assert_str_eq(json_string_value(json_object_get(top, "Id")), id);
  json_t *tags = json_object_get(top, "Tags");
  cr_assert_eq(json_array_size(tags), 2, "%s", r.body.p);
  cr_assert_str_eq(json_string_value(json_array_get(tags, 0)), "hist:1");
  cr_assert_str_eq(json_string_value(json_array_get(tags, 1)), "me/hist:2");
  cr_assert(json_is_null(json_object_get(json_array_get(h, 1), "Tags")));
  cr_assert_eq(
      json_integer_value(json_object_get(json_array_get(h, 0), "Created")),
      1735862400);
  json_int_t s0 = json_integer_value(
                 json_object_get(json_array_get(h, 0), "Size")),
             s2 = json_integer_value(
                 json_object_get(json_array_get(h, 2), "Size"));
  cr_assert_gt(s0, 0);
  cr_assert_gt(s2, 0);
  cr_assert_eq(
      json_integer_value(json_object_get(json_array_get(h, 1), "Size")), 0);
  char isize[32];
  he_docker_line(isize, sizeof(isize), "image", "inspect", "-f", "{{.Size}}",
                 "hist:1");
  cr_assert_eq(s0 + s2, atoll(isize), "layer sizes %lld + %lld, image %s",
               (long long)s0, (long long)s2, isize);
  snprintf(sz[0], sizeof(sz[0]), "%lld", (long long)s0);
  snprintf(sz[1], sizeof(sz[1]), "%lld", (long long)s2);
  json_decref(h);
  he_http_free(&r);
  snprintf(want, sizeof(want),
           "%s|ADD b.txt /|%s|second\n<missing>|LABEL keep=yes|0|\n"
           "<missing>|ADD a.txt /|%s|\n",
           id, sz[0], sz[1]);
  cr_assert_str_eq(c.o.p, want);
  he_cmd_free(&c);
  he_docker_fails(1, "No such image: nothere:latest\n", "history", "nothere");

  /* docker rmi: a tag of several goes alone; an id with one tag left
   * takes it, the image and its layers, top first. */
  expect_out("Untagged: me/hist:2\n", "rmi", "me/hist:2");
  snprintf(want, sizeof(want),
           "Untagged: hist:1\nDeleted: %s\nDeleted: sha256:%s\n"
           "Deleted: sha256:%s\n",
           id, img.chain[1], img.chain[0]);
  snprintf(line, sizeof(line), "%.12s", img.cfg);
  expect_out(want, "rmi", line);
  he_docker_fails(1, "No such image: hist:1", "rmi", "hist:1");
  expect_out("", "images", "-q", "--filter", "label=keep");
  /* Its layers are gone from the store. */
  char layers[256];
  snprintf(layers, sizeof(layers), "%s/images/layers/%s", he.state,
           img.chain[0]);
  cr_assert_neq(access(layers, F_OK), 0, "%s is still there", layers);
  he_end();
}

Test(hcsd_imgops, rm_conflicts) {
  char id[80], short_id[16], c1[80], c2[80], msg[512];
  image_id("busybox", id, sizeof(id));
  snprintf(short_id, sizeof(short_id), "%.12s", id + 7);
  he_cmd_t c;
  he_docker_line(c1, sizeof(c1), "create", "busybox", "true");
  expect_out("", "tag", "busybox", "other:2");
  snprintf(msg, sizeof(msg),
           "conflict: unable to delete %s (must be forced) - image is "
           "referenced in multiple repositories",
           short_id);
  he_docker_fails(1, msg, "rmi", short_id);
  expect_out("Untagged: other:2\n", "rmi", "other:2");
  snprintf(msg, sizeof(msg),
           "conflict: unable to remove repository reference \"busybox\" "
           "(must force) - container %.12s is using its referenced image %s",
           c1, short_id);
  he_docker_fails(1, msg, "rmi", "busybox");
  snprintf(msg, sizeof(msg),
           "conflict: unable to delete %s (must be forced) - image is being "
           "used by stopped container %.12s",
           short_id, c1);
  he_docker_fails(1, msg, "rmi", short_id);
  char path[128];
  snprintf(path, sizeof(path), "/v1.41/images/%s", short_id);
  he_request_fails("DELETE", path, NULL, 409, "stopped container");

  he_docker_line(c2, sizeof(c2), "run", "-d", "busybox", "sleep", "100");
  snprintf(msg, sizeof(msg),
           "conflict: unable to delete %s (cannot be forced) - image is "
           "being used by running container %.12s",
           short_id, c2);
  he_docker_fails(1, msg, "rmi", "-f", short_id);
  /* Forced by its name while a container runs from it: only the tag. */
  expect_out("Untagged: busybox:latest\n", "rmi", "-f", "busybox");
  expect_out("", "tag", id, "busybox");
  he_docker_ok(&c, "rm", "-f", c2);
  he_cmd_free(&c);

  /* Forced with a stopped container: the image goes, the container
   * keeps its root and still runs. */
  snprintf(msg, sizeof(msg), "Untagged: busybox:latest\nDeleted: %s\n", id);
  expect_out(msg, "rmi", "-f", "busybox");
  he_docker_fails(1, "No such image: busybox", "image", "inspect", "busybox");
  he_docker_ok(&c, "start", "-a", c1);
  he_cmd_free(&c);
  he_docker_line(msg, sizeof(msg), "inspect", "-f", "{{.Image}}", c1);
  cr_assert_str_eq(msg, id);
  he_docker_ok(&c, "rm", c1);
  he_cmd_free(&c);

  /* The built-in image stays removed across a restart. */
  he_daemon_stop();
  he_daemon_start();
  expect_out("", "images", "-q");
  he_end();
}

/* rmi -f of an image a stopped container stands on: the image goes, its
 * layers stay for the container, across a restart of hcsd, and go once
 * the container is gone. */
Test(hcsd_imgops, rm_forced_keeps_layers) {
  img_t img;
  load_image("k:1", "k", "yes", &img);
  he_cmd_t c;
  he_docker_ok(&c, "create", "--name", "kc", "k:1");
  he_cmd_free(&c);
  char want[256];
  snprintf(want, sizeof(want), "Untagged: k:1\nDeleted: sha256:%s\n", img.cfg);
  expect_out(want, "rmi", "-f", "k:1");
  he_daemon_stop();
  he_daemon_start();
  he_docker_ok(&c, "export", "kc");
  cr_assert_not_null(memmem(c.o.p, c.o.len, "layer 1 of k", 12), "a.txt lost");
  cr_assert_not_null(memmem(c.o.p, c.o.len, "layer 2 of k", 12), "b.txt lost");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "kc");
  he_cmd_free(&c);
  expect_out("Total reclaimed space: 0B\n", "image", "prune", "-f");
  for (int i = 0; i < 2; i++) {
    char layer[256];
    snprintf(layer, sizeof(layer), "%s/images/layers/%s", he.state,
             img.chain[i]);
    cr_assert_neq(access(layer, F_OK), 0, "%s is still there", layer);
  }
  he_end();
}

/* An rmi while a load runs: the image goes, its layers wait (a load may
 * be about to use them) and go at the next prune once no load runs. */
Test(hcsd_imgops, rm_during_load) {
  img_t img, other;
  load_image("gone:1", "g", "yes", &img);
  char path[192];
  snprintf(path, sizeof(path), "%s/slow.tar", he.dir);
  make_image(path, "slow:1", "s", "yes", &other);
  th_buf_t tar = {0};
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  cr_assert_geq(fd, 0);
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    th_buf_add(&tar, buf, (size_t)n);
  }
  close(fd);
  /* The load's head and half its body: it runs, waiting for the rest. */
  he_conn_t c = {.fd = he_raw_connect()};
  char head[256];
  snprintf(head, sizeof(head),
           "POST /v1.41/images/load?quiet=1 HTTP/1.1\r\nHost: x\r\n"
           "Content-Type: application/x-tar\r\nContent-Length: %zu\r\n\r\n",
           tar.len);
  cr_assert(he_raw_send_str(c.fd, head));
  cr_assert(he_raw_send(c.fd, tar.p, tar.len / 2, 10000));
  char want[256];
  snprintf(want, sizeof(want), "Untagged: gone:1\nDeleted: sha256:%s\n",
           img.cfg);
  expect_out(want, "rmi", "gone:1");
  char layer[256];
  snprintf(layer, sizeof(layer), "%s/images/layers/%s", he.state, img.chain[0]);
  cr_assert_eq(access(layer, F_OK), 0, "a layer went while a load ran");
  cr_assert(
      he_raw_send(c.fd, tar.p + tar.len / 2, tar.len - tar.len / 2, 10000));
  he_http_t r;
  cr_assert(he_conn_response(&c, &r, false, 30000));
  cr_assert_eq(r.status, 200, "%s", r.body.p);
  he_expect_has(r.body.p, "Loaded image: slow:1");
  he_http_free(&r);
  he_conn_close(&c);
  th_buf_free(&tar);
  expect_out("Total reclaimed space: 0B\n", "image", "prune", "-f");
  cr_assert_neq(access(layer, F_OK), 0, "%s is still there", layer);
  he_end();
}

Test(hcsd_imgops, prune) {
  img_t a, b, l;
  load_image("p:1", "pa", "no", &a);
  load_image("p:1", "pb", "no", &b); /* a is dangling now */
  load_image("lab:1", "pl", "yes", &l);
  char want[1024];
  he_cmd_t c;
  he_docker_fails(1, "Invalid filter 'bogus'", "image", "prune", "-f",
                  "--filter", "bogus=1");
  he_docker_fails(1, "failed to parse value as time or duration: \"junk\"",
                  "image", "prune", "-f", "--filter", "until=junk");

  /* Dangling only: a, with its layers and their bytes. */
  he_http_t r;
  he_request("GET", "/v1.41/images/json", NULL, &r);
  json_t *list = he_json(r.body.p);
  json_int_t asize = -1;
  for (size_t i = 0; i < json_array_size(list); i++) {
    json_t *o = json_array_get(list, i);
    if (strstr(json_string_value(json_object_get(o, "Id")), a.cfg) != NULL) {
      asize = json_integer_value(json_object_get(o, "Size"));
    }
  }
  json_decref(list);
  he_http_free(&r);
  cr_assert_gt(asize, 0);
  he_request("POST", "/v1.41/images/prune", NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body.p);
  json_t *rep = he_json(r.body.p);
  cr_assert_eq(json_integer_value(json_object_get(rep, "SpaceReclaimed")),
               asize, "%s", r.body.p);
  snprintf(want, sizeof(want),
           "[{\"Deleted\":\"sha256:%s\"},{\"Deleted\":\"sha256:%s\"},"
           "{\"Deleted\":\"sha256:%s\"}]",
           a.cfg, a.chain[1], a.chain[0]);
  char *got = json_dumps(json_object_get(rep, "ImagesDeleted"), JSON_COMPACT);
  cr_assert_str_eq(got, want);
  free(got);
  json_decref(rep);
  he_http_free(&r);
  /* Nothing dangling is left: nothing to say. */
  expect_out("Total reclaimed space: 0B\n", "image", "prune", "-f");

  /* -a with a label filter: only the labelled one (no container uses
   * it); then -a takes every image without a container. */
  he_docker_line(want, sizeof(want), "create", "p:1", "x");
  he_docker_ok(&c, "image", "prune", "-a", "-f", "--filter", "label=keep=yes");
  he_expect_has(c.o.p, "untagged: lab:1\n");
  he_expect_has(c.o.p, l.cfg);
  cr_assert_null(strstr(c.o.p, "busybox"), "%s", c.o.p);
  he_cmd_free(&c);
  he_docker_ok(&c, "image", "prune", "-a", "-f", "--filter",
               "until=2000-01-01T00:00:00Z");
  cr_assert_str_eq(c.o.p, "Total reclaimed space: 0B\n");
  he_cmd_free(&c);
  he_docker_ok(&c, "image", "prune", "-a", "-f");
  he_expect_has(c.o.p, "untagged: busybox:latest\n");
  cr_assert_null(strstr(c.o.p, b.cfg), "%s", c.o.p);
  he_cmd_free(&c);
  char idb[80];
  snprintf(idb, sizeof(idb), "p:1 %.12s\n", b.cfg);
  expect_out(idb, "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}");
  he_docker_ok(&c, "rm", want);
  he_cmd_free(&c);
  he_end();
}

/* ------------------------------------------------------------------------
 * docker save: the archive loads back here, and into dockerd. */

/* The members of the tar at path, one per line. */
static void tar_names(const char *path, th_buf_t *out) {
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  cr_assert_eq(archive_read_open_filename(a, path, 65536), ARCHIVE_OK, "%s",
               archive_error_string(a));
  struct archive_entry *e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    th_buf_add(out, archive_entry_pathname(e),
               strlen(archive_entry_pathname(e)));
    th_buf_add(out, "\n", 1);
  }
  th_buf_add(out, "", 0);
  archive_read_free(a);
}

Test(hcsd_imgops, save_load) {
  img_t img;
  load_image("sv:1", "s", "yes", &img);
  expect_out("", "tag", "sv:1", "sv:2");
  char path[192], id[80], bid[80];
  snprintf(path, sizeof(path), "%s/out.tar", he.dir);
  image_id("busybox", bid, sizeof(bid));
  snprintf(id, sizeof(id), "sha256:%s", img.cfg);
  he_cmd_t c;
  he_docker_ok(&c, "save", "-o", path, "sv", "busybox");
  he_cmd_free(&c);
  th_buf_t names = {0};
  tar_names(path, &names);
  he_expect_has(names.p, "manifest.json\n");
  he_expect_has(names.p, "repositories\n");
  he_expect_has(names.p, "/layer.tar\n");
  he_expect_has(names.p, "/VERSION\n");
  th_buf_free(&names);

  /* Gone, then loaded back: the same ids (the layers export as they
   * were made: pax, in name order), every tag named. */
  he_docker_ok(&c, "rmi", "sv:1", "sv:2", "busybox");
  he_cmd_free(&c);
  expect_out("", "images", "-q");
  he_docker_ok(&c, "load", "-i", path);
  he_expect_has(c.o.p, "Loaded image: sv:1\n");
  he_expect_has(c.o.p, "Loaded image: sv:2\n");
  he_expect_has(c.o.p, "Loaded image: busybox:latest\n");
  he_cmd_free(&c);
  char line[128];
  image_id("sv:2", line, sizeof(line));
  cr_assert_str_eq(line, id);
  /* The built-in image's config names no layers (its layer is made at
   * build time): the saved one names the tar written, so its id is new. */
  he_docker_line(line, sizeof(line), "image", "inspect", "-f",
                 "{{len .RootFS.Layers}} {{.Id}}", "busybox");
  cr_assert_eq(line[0], '1', "%s", line);
  cr_assert_str_neq(line + 2, bid);
  he_docker_ok(&c, "run", "--rm", "busybox", "echo", "reloaded");
  cr_assert_str_eq(c.o.p, "reloaded\n");
  he_cmd_free(&c);

  /* To stdout, by id: no tag. */
  he_http_t r;
  he_request("GET", "/v1.41/images/get?names=sv%3A1&names=nothere", NULL, &r);
  he_expect_error(&r, 404, "No such image: nothere");
  he_http_free(&r);
  he_docker_fails(1, "No such image: nothere\n", "save", "-o", path, "nothere");
  he_docker_fails(1, "reference does not exist\n", "save", "-o", path, "sv:3");
  snprintf(line, sizeof(line), "/v1.41/images/%.12s/get", img.cfg);
  he_request("GET", line, NULL, &r);
  cr_assert_eq(r.status, 200);
  cr_assert_not_null(memmem(r.body.p, r.body.len, "\"RepoTags\":null", 15),
                     "an id saved with a tag");
  he_http_free(&r);
  he_end();
}

/* ------------------------------------------------------------------------
 * The same archive into a real dockerd (Debian's docker.io), run in a
 * network namespace of its own with its own data and exec roots, and
 * stopped by its pid. */

typedef struct dockerd_s {
  char dir[64];
  char sock[128];
  char host[192];
  char saved_host[192];
  pid_t pid;
} dockerd_t;

static void dockerd_use(dockerd_t *k, bool on) {
  if (on) {
    snprintf(k->saved_host, sizeof(k->saved_host), "%s", he.env_host);
    snprintf(he.env_host, sizeof(he.env_host), "%s", k->host);
  } else {
    snprintf(he.env_host, sizeof(he.env_host), "%s", k->saved_host);
  }
}

static void dockerd_start(dockerd_t *k) {
  snprintf(k->dir, sizeof(k->dir), "/tmp/hcsd-dockerd-XXXXXX");
  cr_assert_not_null(mkdtemp(k->dir));
  snprintf(k->sock, sizeof(k->sock), "%s/d.sock", k->dir);
  snprintf(k->host, sizeof(k->host), "DOCKER_HOST=unix://%s", k->sock);
  char root[128], exec_root[128], pidfile[128], log[128];
  snprintf(root, sizeof(root), "%s/root", k->dir);
  snprintf(exec_root, sizeof(exec_root), "%s/exec", k->dir);
  snprintf(pidfile, sizeof(pidfile), "%s/d.pid", k->dir);
  snprintf(log, sizeof(log), "%s/log", k->dir);
  k->pid = fork();
  cr_assert_geq(k->pid, 0);
  if (k->pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ||
        unshare(CLONE_NEWNET) != 0 || !he_lo_up()) {
      _exit(120);
    }
    execl("/usr/sbin/dockerd", "dockerd", "--host", k->host + 12, "--data-root",
          root, "--exec-root", exec_root, "--pidfile", pidfile, "--bridge=none",
          "--iptables=false", "--ip6tables=false", NULL);
    _exit(127);
  }
  int64_t deadline = th_now_ms() + 60000;
  for (;;) {
    int fd = he_raw_connect_to(k->sock);
    if (fd >= 0) {
      close(fd);
      break;
    }
    cr_assert_lt(th_now_ms(), deadline, "dockerd did not listen in time");
    cr_assert_eq(waitpid(k->pid, NULL, WNOHANG), 0, "dockerd died");
    struct pollfd none;
    (void)poll(&none, 0, 100); /* polling a socket path that appears */
  }
}

static void dockerd_stop(dockerd_t *k) {
  kill(k->pid, SIGTERM);
  int status;
  cr_assert_eq(waitpid(k->pid, &status, 0), k->pid);
  /* What its containerd left to this subreaper. */
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  FILE *f = fopen("/proc/self/mountinfo", "re");
  char line[4096], mps[64][512];
  int n = 0;
  while (f != NULL && fgets(line, sizeof(line), f) != NULL && n < 64) {
    if (sscanf(line, "%*s %*s %*s %*s %511s", mps[n]) == 1 &&
        strncmp(mps[n], k->dir, strlen(k->dir)) == 0) {
      n++;
    }
  }
  if (f != NULL) {
    fclose(f);
  }
  while (n > 0) {
    (void)umount2(mps[--n], MNT_DETACH);
  }
  cr_assert_eq(he_rm_tree(k->dir), 0);
}

Test(hcsd_imgops, save_into_dockerd) {
  if (access("/usr/sbin/dockerd", X_OK) != 0) {
    he_end();
    cr_skip_test("no dockerd on this host (Debian's docker.io)");
  }
  img_t img;
  load_image("sv:1", "d", "yes", &img);
  char path[192], id[80], line[256];
  snprintf(path, sizeof(path), "%s/out.tar", he.dir);
  he_cmd_t c;
  he_docker_ok(&c, "save", "-o", path, "sv:1", "busybox");
  he_cmd_free(&c);
  image_id("sv:1", id, sizeof(id));

  dockerd_t k;
  dockerd_start(&k);
  dockerd_use(&k, true);
  he_docker(&c, "load", "-i", path);
  dockerd_use(&k, false);
  he_expect_code(&c, 0);
  he_expect_has(c.o.p, "Loaded image: sv:1\n");
  he_expect_has(c.o.p, "Loaded image: busybox:latest\n");
  he_cmd_free(&c);
  dockerd_use(&k, true);
  he_docker(&c, "image", "inspect", "-f", "{{.Id}} {{.Config.Labels.keep}}",
            "sv:1");
  he_cmd_t run;
  he_docker(&run, "run", "--rm", "--network", "none", "busybox", "cat",
            "/etc/passwd");
  dockerd_use(&k, false);
  dockerd_stop(&k);
  he_expect_code(&c, 0);
  snprintf(line, sizeof(line), "%s yes\n", id);
  cr_assert_str_eq(c.o.p, line);
  he_cmd_free(&c);
  he_expect_code(&run, 0);
  he_expect_has(run.o.p, "root:");
  he_cmd_free(&run);
  he_end();
}

/* docker system df of two images on the same layers: each shares them
 * all, and the layers count once in LayersSize. */
Test(hcsd_imgops, df_shared_layers) {
  img_t a, b;
  load_image("sa:1", "same", "yes", &a);
  char path[192];
  snprintf(path, sizeof(path), "%s/other.tar", he.dir);
  make_image(path, "sb:1", "same", "no", &b);
  he_cmd_t c;
  he_docker_ok(&c, "load", "-q", "-i", path);
  he_cmd_free(&c);
  cr_assert_str_eq(a.chain[1], b.chain[1]);
  cr_assert_str_neq(a.cfg, b.cfg);
  char bsize[32], asize[32];
  he_docker_line(bsize, sizeof(bsize), "image", "inspect", "-f", "{{.Size}}",
                 "busybox");
  he_docker_line(asize, sizeof(asize), "image", "inspect", "-f", "{{.Size}}",
                 "sa:1");
  he_http_t r;
  he_request("GET", "/v1.41/system/df", NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body.p);
  json_t *df = he_json(r.body.p);
  cr_assert_eq(json_integer_value(json_object_get(df, "LayersSize")),
               atoll(bsize) + atoll(asize), "%s", r.body.p);
  size_t i;
  json_t *o;
  int seen = 0;
  json_array_foreach(json_object_get(df, "Images"), i, o) {
    const char *id = json_string_value(json_object_get(o, "Id"));
    json_int_t shared = json_integer_value(json_object_get(o, "SharedSize"));
    if (strstr(id, a.cfg) != NULL || strstr(id, b.cfg) != NULL) {
      cr_assert_eq(shared, atoll(asize), "%s", r.body.p);
      seen++;
    } else {
      cr_assert_eq(shared, 0, "%s", r.body.p);
    }
  }
  cr_assert_eq(seen, 2);
  json_decref(df);
  he_http_free(&r);
  he_end();
}
