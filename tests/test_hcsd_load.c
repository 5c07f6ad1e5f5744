/* SPDX-License-Identifier: MIT */
/* docker load streamed (issue 16): the archive goes from the socket to
 * its reader as it arrives, in the engine's buffers, with no temp file.
 *
 * - A chunked body (what the docker CLI sends) of a 96 MiB layer loads,
 *   and the daemon's RSS grows by far less than the body while it comes.
 * - A body cut off halfway, and one whose layer does not match its
 *   diff_id, leave nothing behind: no staging folder, no layer; the next
 *   load of the same image works.
 * - Two loads at once: the second waits for the first (its client held
 *   back) and both load.
 * - SIGTERM during loads: they give up and the daemon exits cleanly. */
#include "hcsd_e2e.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <pthread.h>

#define LD_BIG (96u << 20)

typedef struct ld_img_s {
  th_buf_t tar; /* the docker save archive */
  char tag[64];
} ld_img_t;

static void sha_hex(const void *p, size_t n, char out[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  cr_assert_eq(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL), 1);
  for (unsigned i = 0; i < len; i++) {
    snprintf(out + 2 * i, 3, "%02x", md[i]);
  }
}

static la_ssize_t to_buf(struct archive *a, void *data, const void *p,
                         size_t n) {
  (void)a;
  th_buf_add(data, p, n);
  return (la_ssize_t)n;
}

static void tar_file(struct archive *a, const char *name, const void *p,
                     size_t n) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, (la_int64_t)n);
  archive_entry_set_mtime(e, 1767225600, 0);
  cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK);
  for (size_t off = 0; off < n;) {
    size_t k = n - off < (1u << 20) ? n - off : (1u << 20);
    cr_assert_eq(archive_write_data(a, (const char *)p + off, k),
                 (la_ssize_t)k);
    off += k;
  }
  archive_entry_free(e);
}

static struct archive *tar_open(th_buf_t *out) {
  struct archive *a = archive_write_new();
  cr_assert_not_null(a);
  cr_assert_eq(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  cr_assert_eq(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
  cr_assert_eq(archive_write_open(a, out, NULL, to_buf, NULL), ARCHIVE_OK);
  return a;
}

static void tar_close(struct archive *a) {
  cr_assert_eq(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

/* An image of one layer holding `size` bytes of noise (seeded by seed),
 * tagged tag; with bad, its config names another diff_id. */
static void make_image(ld_img_t *img, size_t size, uint64_t seed,
                       const char *tag, bool bad) {
  memset(img, 0, sizeof(*img));
  snprintf(img->tag, sizeof(img->tag), "%s", tag);
  char *noise = malloc(size);
  cr_assert_not_null(noise);
  uint64_t x = seed * 0x9e3779b97f4a7c15u + 1;
  for (size_t i = 0; i + 8 <= size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    memcpy(noise + i, &x, 8);
  }
  th_buf_t layer = {0};
  struct archive *a = tar_open(&layer);
  tar_file(a, "noise.bin", noise, size);
  tar_close(a);
  free(noise);
  char diff[65];
  sha_hex(layer.p, layer.len, diff);
  if (bad) {
    diff[0] = diff[0] == '0' ? '1' : '0';
  }
  char config[512];
  snprintf(config, sizeof(config),
           "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":"
           "[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":"
           "[\"sha256:%s\"]},\"created\":\"2026-01-01T00:00:00Z\"}",
           diff);
  char cid[65], cname[80], manifest[512];
  sha_hex(config, strlen(config), cid);
  snprintf(cname, sizeof(cname), "%s.json", cid);
  snprintf(manifest, sizeof(manifest),
           "[{\"Config\":\"%s\",\"RepoTags\":[\"%s\"],\"Layers\":["
           "\"l1/layer.tar\"]}]",
           cname, tag);
  a = tar_open(&img->tar);
  tar_file(a, "l1/layer.tar", layer.p, layer.len);
  tar_file(a, cname, config, strlen(config));
  tar_file(a, "manifest.json", manifest, strlen(manifest));
  tar_close(a);
  th_buf_free(&layer);
}

static const char ld_head[] =
    "POST /v1.50/images/load?quiet=1 HTTP/1.1\r\nHost: x\r\n"
    "Content-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n";

/* Sends tar[from, to) in chunks of 32 KiB (as Go's io.Copy makes them). */
static bool send_chunks(int fd, const th_buf_t *tar, size_t from, size_t to) {
  for (size_t off = from; off < to;) {
    size_t n = to - off < 32768 ? to - off : 32768;
    char hex[16];
    snprintf(hex, sizeof(hex), "%zx\r\n", n);
    if (!he_raw_send_str(fd, hex) || !he_raw_send(fd, tar->p + off, n, 60000) ||
        !he_raw_send_str(fd, "\r\n")) {
      return false;
    }
    off += n;
  }
  return true;
}

/* A load on a new connection, of tar up to upto, ended when whole. */
static int post_load(const th_buf_t *tar, size_t upto) {
  int fd = he_raw_connect();
  cr_assert(he_raw_send_str(fd, ld_head));
  cr_assert(send_chunks(fd, tar, 0, upto));
  if (upto == tar->len) {
    cr_assert(he_raw_send_str(fd, "0\r\n\r\n"));
  }
  return fd;
}

/* The answer to a load whose body was all sent: its body text. */
static void load_answer(int fd, th_buf_t *body) {
  he_conn_t c = {.fd = fd};
  he_http_t r;
  cr_assert(he_conn_response(&c, &r, false, 120000),
            "no answer to the load\ndaemon log:\n%s", he_log_tail());
  cr_assert_eq(r.status, 200, "%s", r.body.p);
  *body = (th_buf_t){0};
  th_buf_add(body, r.body.p, r.body.len);
  he_http_free(&r);
  th_buf_free(&c.in);
}

static void expect_loaded(int fd, const ld_img_t *img) {
  th_buf_t body;
  load_answer(fd, &body);
  char want[128];
  snprintf(want, sizeof(want), "Loaded image: %s", img->tag);
  cr_assert_not_null(strstr(body.p, want), "%s", body.p);
  th_buf_free(&body);
}

static int entries(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    return 0;
  }
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    n += strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
         strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  }
  closedir(d);
  return n;
}

/* Waits until the store holds no staging folder and `layers` layers. */
static void expect_store(int layers) {
  char images[192], ldir[256];
  snprintf(images, sizeof(images), "%s/images", he.state);
  snprintf(ldir, sizeof(ldir), "%s/layers", images);
  int64_t deadline = th_now_ms() + 30000;
  int staged = entries(images, ".load-"), have = entries(ldir, "");
  while ((staged != 0 || have != layers) && th_now_ms() < deadline) {
    (void)poll(NULL, 0, 20);
    staged = entries(images, ".load-");
    have = entries(ldir, "");
  }
  cr_assert_eq(staged, 0, "staging folders left in %s", images);
  cr_assert_eq(have, layers, "%d layers in %s, want %d", have, ldir, layers);
}

TestSuite(hcsd_load, .init = he_setup, .fini = he_teardown);

Test(hcsd_load, chunked_body_streams_in_bounded_memory) {
  ld_img_t img;
  make_image(&img, LD_BIG, 1, "streamed:1", false);
  char ldir[256];
  snprintf(ldir, sizeof(ldir), "%s/images/layers", he.state);
  int layers0 = entries(ldir, "");
  he_expect_ping();
  long rss0 = he_daemon_rss_kib(), peak = rss0;
  int fd = he_raw_connect();
  cr_assert(he_raw_send_str(fd, ld_head));
  size_t step = img.tar.len / 16;
  for (size_t off = 0; off < img.tar.len; off += step) {
    size_t end = off + step < img.tar.len ? off + step : img.tar.len;
    cr_assert(send_chunks(fd, &img.tar, off, end));
    long rss = he_daemon_rss_kib();
    peak = rss > peak ? rss : peak;
  }
  cr_assert(he_raw_send_str(fd, "0\r\n\r\n"));
  expect_loaded(fd, &img);
  close(fd);
  /* The body is 96 MiB: a daemon that kept it would grow by as much. */
  cr_assert_lt(peak - rss0, 32 * 1024,
               "RSS grew by %ld KiB while a %u MiB body came", peak - rss0,
               LD_BIG >> 20);
  expect_store(layers0 + 1);
  th_buf_free(&img.tar);
  he_end();
}

Test(hcsd_load, cut_or_corrupt_body_leaves_nothing) {
  ld_img_t img, bad;
  make_image(&img, 8u << 20, 2, "cut:1", false);
  make_image(&bad, 1u << 20, 3, "corrupt:1", true);
  char ldir[256];
  snprintf(ldir, sizeof(ldir), "%s/images/layers", he.state);
  int layers0 = entries(ldir, "");

  /* Cut off halfway: the client leaves. */
  close(post_load(&img.tar, img.tar.len / 2));
  expect_store(layers0);
  he_expect_ping();

  /* Cut off halfway: the client sends its EOF and waits for the answer. */
  int fd = post_load(&img.tar, img.tar.len / 2);
  cr_assert_eq(shutdown(fd, SHUT_WR), 0);
  th_buf_t body;
  load_answer(fd, &body);
  cr_assert_not_null(strstr(body.p, "\"error\""), "%s", body.p);
  th_buf_free(&body);
  close(fd);
  expect_store(layers0);

  /* A layer that is not what its config says. */
  fd = post_load(&bad.tar, bad.tar.len);
  load_answer(fd, &body);
  cr_assert_not_null(strstr(body.p, "invalid diffID"), "%s", body.p);
  th_buf_free(&body);
  close(fd);
  expect_store(layers0);

  /* The whole archive loads after all that. */
  fd = post_load(&img.tar, img.tar.len);
  expect_loaded(fd, &img);
  close(fd);
  expect_store(layers0 + 1);
  th_buf_free(&img.tar);
  th_buf_free(&bad.tar);
  he_end();
}

typedef struct sender_s {
  int fd;
  const th_buf_t *tar;
  bool ok;
} sender_t;

static void *send_all_chunks(void *data) {
  sender_t *s = data;
  s->ok = send_chunks(s->fd, s->tar, 0, s->tar->len) &&
          he_raw_send_str(s->fd, "0\r\n\r\n");
  return NULL;
}

Test(hcsd_load, second_load_waits_for_the_first) {
  ld_img_t a, b;
  make_image(&a, 16u << 20, 4, "first:1", false);
  make_image(&b, 16u << 20, 5, "second:1", false);
  char ldir[256];
  snprintf(ldir, sizeof(ldir), "%s/images/layers", he.state);
  int layers0 = entries(ldir, "");
  int fa = he_raw_connect(), fb = he_raw_connect();
  cr_assert(he_raw_send_str(fa, ld_head));
  cr_assert(send_chunks(fa, &a.tar, 0, a.tar.len / 2));
  /* b's client is held back while a's load waits for the rest of a. */
  cr_assert(he_raw_send_str(fb, ld_head));
  sender_t sb = {fb, &b.tar, false};
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, send_all_chunks, &sb), 0);
  he_expect_ping();
  cr_assert(send_chunks(fa, &a.tar, a.tar.len / 2, a.tar.len));
  cr_assert(he_raw_send_str(fa, "0\r\n\r\n"));
  expect_loaded(fa, &a);
  pthread_join(t, NULL);
  cr_assert(sb.ok, "the second client could not send its archive");
  expect_loaded(fb, &b);
  close(fa);
  close(fb);
  expect_store(layers0 + 2);
  th_buf_free(&a.tar);
  th_buf_free(&b.tar);
  he_end();
}

/* SIGTERM while a load reads its body and another waits its turn: the
 * loads give up, and the daemon stops cleanly (nothing leaked, nothing
 * used after the store is closed: he_daemon_stop checks its exit). */
Test(hcsd_load, stop_during_loads) {
  ld_img_t img;
  make_image(&img, 8u << 20, 6, "stopped:1", false);
  int fa = post_load(&img.tar, img.tar.len / 2);
  int fb = post_load(&img.tar, 256u << 10); /* what waits unread */
  he_expect_ping();
  he_daemon_stop();
  close(fa);
  close(fb);
  th_buf_free(&img.tar);
  he_end();
}
