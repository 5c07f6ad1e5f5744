/* SPDX-License-Identifier: MIT */
/* Small helpers shared by hcsd's modules. */
#include "hcsd/util.h"
#include "hcsd/hcsd.h"
#include "hcsd/log.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <nettle/base64.h>
#include <nettle/sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

void hcsd_random_id(char out[65]) {
  uint8_t b[32];
  size_t got = 0;
  while (got < sizeof(b)) {
    ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
    if (n > 0) {
      got += (size_t)n;
    }
  }
  for (size_t i = 0; i < sizeof(b); i++) {
    snprintf(out + 2 * i, 3, "%02x", b[i]);
  }
  out[64] = '\0';
}

static void to_hex(const unsigned char *md, unsigned n, char *out) {
  for (unsigned i = 0; i < n; i++) {
    snprintf(out + 2 * i, 3, "%02x", md[i]);
  }
  out[2 * n] = '\0';
}

/* The running digest is nettle's context (see src/hcs/api/digest.h for
 * why nettle). */
struct hcsd_sha256_s {
  struct sha256_ctx ctx;
};

hcsd_sha256_t *hcsd_sha256_new(void) {
  hcsd_sha256_t *s = malloc(sizeof(*s));
  if (s != NULL) {
    sha256_init(&s->ctx);
  }
  return s;
}

void hcsd_sha256_update(hcsd_sha256_t *s, const void *p, size_t n) {
  if (s != NULL && n > 0) {
    sha256_update(&s->ctx, n, p);
  }
}

void hcsd_sha256_end(hcsd_sha256_t *s, char out[65]) {
  unsigned char md[SHA256_DIGEST_SIZE];
  if (s == NULL) {
    out[0] = '\0';
    return;
  }
  sha256_digest(&s->ctx, sizeof(md), md);
  to_hex(md, sizeof(md), out);
  free(s);
}

int hcsd_sha256_hex(const void *p, size_t n, char out[65]) {
  struct sha256_ctx ctx;
  unsigned char md[SHA256_DIGEST_SIZE];
  sha256_init(&ctx);
  if (n > 0) {
    sha256_update(&ctx, n, p);
  }
  sha256_digest(&ctx, sizeof(md), md);
  to_hex(md, sizeof(md), out);
  return 0;
}

char *hcsd_base64(const void *p, size_t n) {
  char *b = malloc(BASE64_ENCODE_RAW_LENGTH(n) + 1);
  if (b != NULL) {
    base64_encode_raw(b, n, p);
    b[BASE64_ENCODE_RAW_LENGTH(n)] = '\0';
  }
  return b;
}

char *hcsd_message_json(const char *text) {
  json_t *o = json_pack("{s:s}", "message", text != NULL ? text : "");
  char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return s;
}

typedef struct job_s {
  void (*work)(void *data);
  void (*done)(void *data);
  void *data;
} job_t;

static void job_work(void *data) {
  job_t *j = data;
  j->work(j->data);
}

static void job_done(as_loop_t *loop, int status, void *data) {
  job_t *j = data;
  (void)loop;
  if (status != 0) {
    /* The service is closing: the work never ran; done still runs so
     * that its owner lets go. */
  }
  j->done(j->data);
  free(j);
}

int hcsd_work(hcsd_t *d, void (*work)(void *data), void (*done)(void *data),
              void *data) {
  job_t *j = malloc(sizeof(*j));
  if (j == NULL) {
    return -ENOMEM;
  }
  j->work = work;
  j->done = done;
  j->data = data;
  int r = as_loop_work(d->loop, job_work, job_done, j);
  if (r != 0) {
    free(j);
  }
  return r;
}

int64_t hcsd_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void hcsd_time_rfc3339(int64_t ns, char out[40]) {
  if (ns <= 0) {
    snprintf(out, 40, "0001-01-01T00:00:00Z");
    return;
  }
  time_t s = (time_t)(ns / 1000000000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char base[24];
  strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, 40, "%s.%09lldZ", base, (long long)(ns % 1000000000));
}

static const struct {
  const char *name;
  int sig;
} signals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},       {"QUIT", SIGQUIT},
    {"ILL", SIGILL},       {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},
    {"BUS", SIGBUS},       {"FPE", SIGFPE},       {"KILL", SIGKILL},
    {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},     {"CONT", SIGCONT},
    {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU},     {"URG", SIGURG},       {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},         {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

int hcsd_signal_number(const char *name) {
  if (name == NULL || name[0] == '\0') {
    return 0;
  }
  char *end;
  long n = strtol(name, &end, 10);
  if (*end == '\0') {
    return n > 0 && n < 65 ? (int)n : 0;
  }
  const char *s = strncasecmp(name, "SIG", 3) == 0 ? name + 3 : name;
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
    if (strcasecmp(s, signals[i].name) == 0) {
      return signals[i].sig;
    }
  }
  if (strncasecmp(s, "RTMIN+", 6) == 0) {
    return SIGRTMIN + atoi(s + 6);
  }
  return 0;
}

void hcsd_log(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  hcsd_logl(HCSD_LOG_WARN, "%s", msg);
}

/* ---- string vectors ---- */

size_t hcsd__strv_len(char *const *v) {
  size_t n = 0;
  while (v != NULL && v[n] != NULL) {
    n++;
  }
  return n;
}

void hcsd__strv_free(char **v) {
  for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
    free(v[i]);
  }
  free(v);
}

char **hcsd__strv_dup(char *const *v) {
  if (v == NULL) {
    return NULL;
  }
  size_t n = hcsd__strv_len(v);
  char **o = calloc(n + 1, sizeof(char *));
  for (size_t i = 0; o != NULL && i < n; i++) {
    o[i] = strdup(v[i]);
  }
  return o;
}

/* A JSON array of strings (or one string) to a vector; NULL for null. */
char **hcsd__strv_from_json(json_t *a) {
  if (json_is_string(a)) {
    char **o = calloc(2, sizeof(char *));
    if (o != NULL) {
      o[0] = strdup(json_string_value(a));
    }
    return o;
  }
  if (!json_is_array(a)) {
    return NULL;
  }
  size_t n = json_array_size(a);
  char **o = calloc(n + 1, sizeof(char *));
  size_t k = 0;
  for (size_t i = 0; o != NULL && i < n; i++) {
    const char *s = json_string_value(json_array_get(a, i));
    if (s != NULL) {
      o[k++] = strdup(s);
    }
  }
  return o;
}

json_t *hcsd__strv_to_json(char *const *v) {
  if (v == NULL) {
    return json_null();
  }
  json_t *a = json_array();
  for (size_t i = 0; v[i] != NULL; i++) {
    json_array_append_new(a, json_string(v[i]));
  }
  return a;
}

void hcsd_frame_header(uint8_t h[8], int stream, size_t len) {
  h[0] = (uint8_t)stream;
  h[1] = h[2] = h[3] = 0;
  h[4] = (uint8_t)(len >> 24);
  h[5] = (uint8_t)(len >> 16);
  h[6] = (uint8_t)(len >> 8);
  h[7] = (uint8_t)len;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw) {
  (void)st;
  (void)ftw;
  (void)(flag == FTW_DP ? rmdir(path) : unlink(path));
  return 0;
}

void hcsd_rmtree(const char *path) {
  (void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}
