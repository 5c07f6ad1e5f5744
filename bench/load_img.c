/* SPDX-License-Identifier: MIT */
/* Image archives for docker load, made by the bench: the `docker save`
 * layout (manifest.json, <config digest>.json, one <dir>/layer.tar per
 * layer, all uncompressed) in tar files written here by hand (ustar
 * headers), and the POST /images/load that sends one to a daemon.
 *
 * The base layer is the busybox layer's tar (gw_base_tar), the same bytes
 * every time, so a daemon that has it keeps it. The big layer holds files
 * of pseudo-random data (splitmix64, incompressible) seeded by a salt and
 * a salt file: each salt gives a layer no daemon has seen, whose diff_id
 * (its SHA-256, from libcrypto) is computed while it is written. */
#include "gateway.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

enum {
  BLK = 512,
  FILE_MAX = 4 << 20, /* the big layer's files */
  WBUF = 1 << 20,     /* writes and sends go in pieces of this size */
  RESP_MAX = 1 << 16, /* the answer kept (quiet: a few lines) */
  MTIME = 1767225600, /* 2026-01-01: every entry's time */
};

#define LOAD_DIR "hcs-bench-load"

/* Where the archive's bytes go: a buffered file, and a digest while the
 * bytes are a layer's. */
typedef struct out_s {
  int fd;
  char *buf;
  size_t len;
  EVP_MD_CTX *md;
  bool hashing; /* the bytes are a layer's: md takes them too */
  int err;
} out_t;

static void out_flush(out_t *o) {
  size_t off = 0;
  while (o->err == 0 && off < o->len) {
    ssize_t k = write(o->fd, o->buf + off, o->len - off);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k <= 0) {
      o->err = k < 0 ? -errno : -EIO;
      break;
    }
    off += (size_t)k;
  }
  o->len = 0;
}

static void out_put(out_t *o, const void *p, size_t n) {
  if (o->hashing && EVP_DigestUpdate(o->md, p, n) != 1) {
    o->err = o->err != 0 ? o->err : -EIO;
  }
  const char *c = p;
  while (n > 0 && o->err == 0) {
    size_t k = WBUF - o->len < n ? WBUF - o->len : n;
    memcpy(o->buf + o->len, c, k);
    o->len += k;
    c += k;
    n -= k;
    if (o->len == WBUF) {
      out_flush(o);
    }
  }
}

static uint64_t padded(uint64_t n) { return (n + BLK - 1) / BLK * BLK; }

/* Zeros up to the next block. */
static void out_pad(out_t *o, uint64_t n) {
  static const char zeros[BLK];
  out_put(o, zeros, (size_t)(padded(n) - n));
}

/* A ustar header: name (under 100 bytes), type '0' or '5'. */
static void out_header(out_t *o, const char *name, char type, uint64_t size) {
  char h[BLK];
  memset(h, 0, sizeof(h));
  snprintf(h, 100, "%s", name);
  snprintf(h + 100, 8, "%07o", type == '5' ? 0755 : 0644);
  snprintf(h + 108, 8, "%07o", 0);
  snprintf(h + 116, 8, "%07o", 0);
  snprintf(h + 124, 12, "%011llo", (unsigned long long)size);
  snprintf(h + 136, 12, "%011o", (unsigned)MTIME);
  h[156] = type;
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < sizeof(h); i++) {
    sum += (unsigned char)h[i];
  }
  snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  out_put(o, h, sizeof(h));
}

static void out_file(out_t *o, const char *name, const char *text) {
  size_t n = strlen(text);
  out_header(o, name, '0', n);
  out_put(o, text, n);
  out_pad(o, n);
}

static void out_end(out_t *o) {
  static const char zeros[2 * BLK];
  out_put(o, zeros, sizeof(zeros));
}

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* The big layer's tar: its size, and (with o) its bytes. */
static uint64_t big_layer(out_t *o, uint64_t big, uint64_t salt) {
  char salt_text[64], name[64];
  snprintf(salt_text, sizeof(salt_text), "hcs-bench load %llu\n",
           (unsigned long long)salt);
  uint64_t size = BLK + BLK + padded(strlen(salt_text));
  for (uint64_t left = big; left > 0;) {
    uint64_t k = left < FILE_MAX ? left : FILE_MAX;
    size += BLK + padded(k);
    left -= k;
  }
  size += 2 * BLK;
  if (o == NULL) {
    return size;
  }
  out_header(o, LOAD_DIR "/", '5', 0);
  out_file(o, LOAD_DIR "/salt", salt_text);
  uint64_t x = salt * 0x2545f4914f6cdd1dull + 1;
  uint64_t buf[8192];
  unsigned i = 0;
  for (uint64_t left = big; left > 0 && o->err == 0; i++) {
    uint64_t k = left < FILE_MAX ? left : FILE_MAX;
    snprintf(name, sizeof(name), LOAD_DIR "/data-%04u", i);
    out_header(o, name, '0', k);
    for (uint64_t done = 0; done < k && o->err == 0;) {
      size_t n = k - done < sizeof(buf) ? (size_t)(k - done) : sizeof(buf);
      for (size_t w = 0; w < (n + 7) / 8; w++) {
        buf[w] = splitmix64(&x);
      }
      out_put(o, buf, n);
      done += n;
    }
    out_pad(o, k);
    left -= k;
  }
  out_end(o);
  return size;
}

/* A layer's bytes from the tar file at path, hashed on the way. */
static int copy_file(out_t *o, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -errno;
  }
  char buf[65536];
  ssize_t k = 0;
  while (o->err == 0 &&
         ((k = read(fd, buf, sizeof(buf))) > 0 || (k < 0 && errno == EINTR))) {
    if (k > 0) {
      out_put(o, buf, (size_t)k);
    }
  }
  int err = k < 0 ? -errno : o->err;
  close(fd);
  return err;
}

/* "sha256:<hex>" of what md took, into id. */
static int digest_end(EVP_MD_CTX *md, char id[72]) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (EVP_DigestFinal_ex(md, d, &n) != 1 || n != 32) {
    return -EIO;
  }
  int off = snprintf(id, 72, "sha256:");
  for (unsigned i = 0; i < n; i++) {
    off += snprintf(id + off, 72 - (size_t)off, "%02x", d[i]);
  }
  return 0;
}

/* A layer's bytes start: its digest with them. */
static int layer_begin(out_t *o) {
  o->hashing = EVP_DigestInit_ex(o->md, EVP_sha256(), NULL) == 1;
  return o->hashing ? 0 : -EIO;
}

/* They end: its diff_id into id. */
static int layer_end(out_t *o, char id[72]) {
  o->hashing = false;
  return o->err != 0 ? o->err : digest_end(o->md, id);
}

/* The config's architecture: Go's name for this machine's. */
static const char *go_arch(void) {
  struct utsname u;
  if (uname(&u) != 0) {
    return "amd64";
  }
  return strcmp(u.machine, "aarch64") == 0  ? "arm64"
         : strcmp(u.machine, "x86_64") == 0 ? "amd64"
                                            : "amd64";
}

/* The layers: base, then (big > 0) the big one; their diff_ids. */
static int write_layers(out_t *o, const char *base_tar, uint64_t big,
                        uint64_t salt, char ids[2][72]) {
  struct stat st;
  if (stat(base_tar, &st) != 0) {
    return -errno;
  }
  out_header(o, "base/", '5', 0);
  out_header(o, "base/layer.tar", '0', (uint64_t)st.st_size);
  int err = layer_begin(o);
  err = err == 0 ? copy_file(o, base_tar) : err;
  err = err == 0 ? layer_end(o, ids[0]) : err;
  out_pad(o, (uint64_t)st.st_size);
  if (err != 0 || big == 0) {
    return err != 0 ? err : o->err;
  }
  out_header(o, "big/", '5', 0);
  uint64_t size = big_layer(NULL, big, salt);
  out_header(o, "big/layer.tar", '0', size);
  err = layer_begin(o);
  if (err == 0) {
    (void)big_layer(o, big, salt);
    err = layer_end(o, ids[1]);
  }
  out_pad(o, size);
  return err != 0 ? err : o->err;
}

static int write_meta(out_t *o, uint64_t big, uint64_t salt, const char *tag,
                      char ids[2][72], load_img_t *img) {
  char diff_ids[200], history[200], config[1400], manifest[600], name[96];
  static const char hist[] = "{\"created\":\"2026-01-01T00:00:00Z\","
                             "\"created_by\":\"hcs-bench: ";
  if (big > 0) {
    snprintf(diff_ids, sizeof(diff_ids), "\"%s\",\"%s\"", ids[0], ids[1]);
    snprintf(history, sizeof(history), "%sbusybox\"},%sload %llu\"}", hist,
             hist, (unsigned long long)salt);
  } else {
    snprintf(diff_ids, sizeof(diff_ids), "\"%s\"", ids[0]);
    snprintf(history, sizeof(history), "%sbusybox\"}", hist);
  }
  snprintf(config, sizeof(config),
           "{\"architecture\":\"%s\",\"os\":\"linux\","
           "\"created\":\"2026-01-01T00:00:00Z\","
           "\"config\":{\"Cmd\":[\"sh\"],\"Env\":[\"PATH=/usr/local/sbin:"
           "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"]},"
           "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]},"
           "\"history\":[%s]}",
           go_arch(), diff_ids, history);
  if (EVP_DigestInit_ex(o->md, EVP_sha256(), NULL) != 1 ||
      EVP_DigestUpdate(o->md, config, strlen(config)) != 1 ||
      digest_end(o->md, img->config) != 0) {
    return -EIO;
  }
  snprintf(name, sizeof(name), "%s.json", img->config + 7);
  out_file(o, name, config);
  snprintf(manifest, sizeof(manifest),
           "[{\"Config\":\"%s\",\"RepoTags\":[\"%s\"],\"Layers\":"
           "[\"base/layer.tar\"%s]}]",
           name, tag, big > 0 ? ",\"big/layer.tar\"" : "");
  out_file(o, "manifest.json", manifest);
  out_end(o);
  return o->err;
}

int load_img_write(const char *path, const char *base_tar, uint64_t big,
                   uint64_t salt, const char *tag, load_img_t *img,
                   const char **why) {
  memset(img, 0, sizeof(*img));
  snprintf(img->tag, sizeof(img->tag), "%s", tag);
  out_t o = {.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600),
             .buf = malloc(WBUF),
             .md = EVP_MD_CTX_new()};
  int err = o.fd < 0 ? -errno : o.buf == NULL || o.md == NULL ? -ENOMEM : 0;
  char ids[2][72] = {"", ""};
  *why = "writing the image archive";
  if (err == 0) {
    err = write_layers(&o, base_tar, big, salt, ids);
  }
  if (err == 0) {
    err = write_meta(&o, big, salt, tag, ids, img);
  }
  out_flush(&o);
  err = err != 0 ? err : o.err;
  struct stat st;
  if (err == 0 && fstat(o.fd, &st) == 0) {
    img->size = (uint64_t)st.st_size;
  }
  if (o.fd >= 0 && close(o.fd) != 0 && err == 0) {
    err = -errno;
  }
  free(o.buf);
  EVP_MD_CTX_free(o.md);
  *why = err != 0 ? *why : NULL;
  return err;
}

static int send_all(int sock, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(sock, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k < 0) {
      return -errno;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* The request and the archive. A daemon that answers early (a refusal)
 * may close before all is sent: its answer still counts. */
static int send_archive(int sock, const char *api, int fd, uint64_t size) {
  char head[512];
  int n = snprintf(head, sizeof(head),
                   "POST %s/images/load?quiet=1 HTTP/1.1\r\n"
                   "Host: api.moby.localhost\r\nUser-Agent: hcs-bench\r\n"
                   "Connection: close\r\nContent-Type: application/x-tar\r\n"
                   "Content-Length: %llu\r\n\r\n",
                   api, (unsigned long long)size);
  int err = send_all(sock, head, (size_t)n);
  char *buf = err == 0 ? malloc(WBUF) : NULL;
  err = err == 0 && buf == NULL ? -ENOMEM : err;
  for (uint64_t left = size; err == 0 && left > 0;) {
    ssize_t k = read(fd, buf, left < WBUF ? (size_t)left : WBUF);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k <= 0) {
      err = k < 0 ? -errno : -EIO;
      break;
    }
    err = send_all(sock, buf, (size_t)k);
    left -= (uint64_t)k;
  }
  free(buf);
  return err == -EPIPE || err == -ECONNRESET ? 0 : err;
}

/* The answer to its end (Connection: close), its first RESP_MAX bytes
 * into resp; its length. */
static ssize_t read_answer(int sock, char *resp, size_t size) {
  size_t got = 0;
  char sink[4096];
  for (;;) {
    char *dst = got < size - 1 ? resp + got : sink;
    size_t room = got < size - 1 ? size - 1 - got : sizeof(sink);
    ssize_t k = read(sock, dst, room);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k < 0) {
      return -errno;
    }
    if (k == 0) {
      break;
    }
    got += dst == resp + got ? (size_t)k : 0;
  }
  resp[got] = '\0';
  return (ssize_t)got;
}

int load_img_post(const char *sock, const char *api, const char *path,
                  char *why, size_t whysize) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    int err = -errno;
    snprintf(why, whysize, "opening the archive: %s", strerror(-err));
    if (fd >= 0) {
      close(fd);
    }
    return err;
  }
  int s = httpc_connect(sock, false);
  int err = s < 0 ? s : send_archive(s, api, fd, (uint64_t)st.st_size);
  close(fd);
  char *resp = err == 0 ? malloc(RESP_MAX) : NULL;
  ssize_t n = err != 0 ? err : resp == NULL ? -ENOMEM : 0;
  if (n == 0) {
    n = read_answer(s, resp, RESP_MAX);
  }
  if (s >= 0) {
    close(s);
  }
  if (n < 0) {
    snprintf(why, whysize, "docker load: %s", strerror((int)-n));
    free(resp);
    return (int)n;
  }
  httpc_head_t h;
  int hl = httpc_parse_head(resp, (size_t)n, &h);
  bool ok = hl > 0 && h.status == 200 && strstr(resp, "Loaded image") != NULL &&
            strstr(resp + hl, "\"error") == NULL;
  if (!ok) {
    const char *body = hl > 0 ? resp + hl : resp;
    for (char *c = resp; *c != '\0'; c++) {
      *c = *c == '\r' || *c == '\n' ? ' ' : *c;
    }
    snprintf(why, whysize, "docker load: %d %.120s", hl > 0 ? h.status : 0,
             body);
  }
  free(resp);
  return ok ? 0 : -EPROTO;
}
