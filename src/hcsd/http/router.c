/* SPDX-License-Identifier: MIT */
/* hcsd's routes: the version prefix, the small endpoints (ping, version,
 * info), the refusal of the endpoints hcsd does not serve
 * (unsupported.c) and the dispatch to the handlers of containers, execs,
 * images and networks. */
#include "hcsd/http/h_system.h"
#include "hcsd/http/http.h"
#include "hcsd/util.h"

#include <errno.h>
#include <http_parser.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void ping(hcsd_req_t *r) {
  if (r->head) {
    hcsd_reply(r, 200, "text/plain; charset=utf-8", NULL, 0);
  } else {
    hcsd_reply(r, 200, "text/plain; charset=utf-8", "OK", 2);
  }
}

static void version(hcsd_req_t *r) {
  struct utsname u;
  uname(&u);
  json_t *details =
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ApiVersion",
                HCSD_API_VERSION, "MinAPIVersion", HCSD_API_MIN, "Os", "linux",
                "Arch", "amd64", "GitCommit", "hcsd", "GoVersion", "n/a (C)",
                "KernelVersion", u.release, "BuildTime",
                "2026-11-28T00:00:00.000000000+00:00", "Experimental", "false");
  json_t *v = json_pack(
      "{s:{s:s},s:[{s:s,s:s,s:o}],s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
      "Platform", "Name", "hcs (Host Compute Service for Linux)", "Components",
      "Name", "Engine", "Version", HCSD_VERSION, "Details", details, "Version",
      HCSD_VERSION, "ApiVersion", HCSD_API_VERSION, "MinAPIVersion",
      HCSD_API_MIN, "GitCommit", "hcsd", "GoVersion", "n/a (C)", "Os", "linux",
      "Arch", "amd64", "KernelVersion", u.release, "BuildTime",
      "2026-11-28T00:00:00.000000000+00:00");
  hcsd_reply_json(r, 200, v);
}

static void info(hcsd_t *d, hcsd_req_t *r) {
  struct utsname u;
  uname(&u);
  char host[256] = "";
  gethostname(host, sizeof(host) - 1);
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  json_t *o = json_pack(
      "{s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:{s:[],s:[s,s,s],s:[]},s:s,s:s,s:s,"
      "s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:{s:s},s:[],s:s,s:s}",
      "ID", "hcsd", "Containers", (json_int_t)d->nctrs, "ContainersRunning",
      (json_int_t)hcsd_ctrs_count(d, "running"), "ContainersPaused",
      (json_int_t)hcsd_ctrs_count(d, "paused"), "ContainersStopped",
      (json_int_t)(d->nctrs - hcsd_ctrs_count(d, "running") -
                   hcsd_ctrs_count(d, "paused")),
      "Images", (json_int_t)hcsd_imgs_count(d), "Driver", "overlay", "Plugins",
      "Volume", "Network", "bridge", "host", "null", "Log", "KernelVersion",
      u.release, "OperatingSystem", "hcs on Linux", "OSVersion", u.release,
      "OSType", "linux", "Architecture", u.machine, "NCPU",
      (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "MemTotal",
      (json_int_t)pages * psize, "DockerRootDir", d->state_dir, "Name", host,
      "ServerVersion", HCSD_VERSION, "Isolation", "process", "LoggingDriver",
      "hcsd-bounded", "Swarm", "LocalNodeState", "inactive", "Warnings",
      "CgroupDriver", "cgroupfs", "DefaultRuntime", "hcs");
  hcsd_reply_json(r, 200, o);
}

/* ---- dispatch ---- */

/* Strips "/vX.Y"; answers 400 for versions out of range. 0: go on. */
static int strip_version(hcsd_req_t *r, const char **path) {
  const char *p = r->path;
  if (p[0] != '/' || p[1] != 'v' || p[2] < '0' || p[2] > '9') {
    *path = p;
    return 0;
  }
  const char *slash = strchr(p + 1, '/');
  char ver[32];
  size_t n = slash != NULL ? (size_t)(slash - p - 2) : strlen(p + 2);
  if (n >= sizeof(ver)) {
    hcsd_reply_error(r, 400, "malformed API version");
    return -1;
  }
  memcpy(ver, p + 2, n);
  ver[n] = '\0';
  unsigned maj = 0, min = 0;
  char extra;
  if (sscanf(ver, "%u.%u%c", &maj, &min, &extra) != 2) {
    hcsd_reply_error(r, 400, "malformed API version: %s", ver);
    return -1;
  }
  unsigned v = maj * 1000 + min, max = 1 * 1000 + 50, lo = 1 * 1000 + 24;
  if (v > max) {
    hcsd_reply_error(r, 400,
                     "client version %s is too new. Maximum supported API "
                     "version is " HCSD_API_VERSION,
                     ver);
    return -1;
  }
  if (v < lo) {
    hcsd_reply_error(r, 400,
                     "client version %s is too old. Minimum supported API "
                     "version is " HCSD_API_MIN
                     ", please upgrade your client to a newer version",
                     ver);
    return -1;
  }
  *path = slash != NULL ? slash : "/";
  return 0;
}

/* "/containers/ID/verb": id and verb (verb NULL for "/containers/ID"). */
static int split2(const char *rest, char *id, size_t n, const char **verb) {
  const char *s = strchr(rest, '/');
  size_t len = s != NULL ? (size_t)(s - rest) : strlen(rest);
  if (len == 0 || len >= n) {
    return -1;
  }
  memcpy(id, rest, len);
  id[len] = '\0';
  *verb = s != NULL ? s + 1 : NULL;
  return 0;
}

static void containers_route(hcsd_t *d, hcsd_req_t *r, const char *rest) {
  int m = r->method;
  if (strcmp(rest, "create") == 0 && m == HTTP_POST) {
    hcsd_h_ctr_create(d, r);
    return;
  }
  if (strcmp(rest, "json") == 0 && m == HTTP_GET) {
    hcsd_h_ctr_list(d, r);
    return;
  }
  if (strcmp(rest, "prune") == 0 && m == HTTP_POST) {
    hcsd_h_ctr_prune(d, r);
    return;
  }
  char id[256];
  const char *verb;
  if (split2(rest, id, sizeof(id), &verb) == 0) {
    if (verb == NULL && m == HTTP_DELETE) {
      hcsd_h_ctr_delete(d, r, id);
      return;
    }
    if (verb != NULL) {
      static const struct {
        const char *verb;
        int method;
        void (*fn)(hcsd_t *, hcsd_req_t *, const char *);
      } t[] = {
          {"json", HTTP_GET, hcsd_h_ctr_inspect},
          {"start", HTTP_POST, hcsd_h_ctr_start},
          {"attach", HTTP_POST, hcsd_h_ctr_attach},
          {"wait", HTTP_POST, hcsd_h_ctr_wait},
          {"kill", HTTP_POST, hcsd_h_ctr_kill},
          {"stop", HTTP_POST, hcsd_h_ctr_stop},
          {"restart", HTTP_POST, hcsd_h_ctr_restart},
          {"resize", HTTP_POST, hcsd_h_ctr_resize},
          {"logs", HTTP_GET, hcsd_h_ctr_logs},
          {"exec", HTTP_POST, hcsd_h_exec_create},
          {"top", HTTP_GET, hcsd_h_ctr_top},
          {"stats", HTTP_GET, hcsd_h_ctr_stats},
          {"pause", HTTP_POST, hcsd_h_ctr_pause},
          {"unpause", HTTP_POST, hcsd_h_ctr_unpause},
          {"rename", HTTP_POST, hcsd_h_ctr_rename},
          {"update", HTTP_POST, hcsd_h_ctr_update},
          {"archive", HTTP_GET, hcsd_h_ctr_archive},
          {"archive", HTTP_HEAD, hcsd_h_ctr_archive},
          {"archive", HTTP_PUT, hcsd_h_ctr_archive},
          {"changes", HTTP_GET, hcsd_h_ctr_changes},
          {"export", HTTP_GET, hcsd_h_ctr_export},
      };
      for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (strcmp(verb, t[i].verb) == 0 && m == t[i].method) {
          t[i].fn(d, r, id);
          return;
        }
      }
    }
  }
  hcsd_reply_error(r, 404, "page not found");
}

static void exec_route(hcsd_t *d, hcsd_req_t *r, const char *rest) {
  char id[256];
  const char *verb;
  if (split2(rest, id, sizeof(id), &verb) == 0 && verb != NULL) {
    if (strcmp(verb, "start") == 0 && r->method == HTTP_POST) {
      hcsd_h_exec_start(d, r, id);
      return;
    }
    if (strcmp(verb, "resize") == 0 && r->method == HTTP_POST) {
      hcsd_h_exec_resize(d, r, id);
      return;
    }
    if (strcmp(verb, "json") == 0 && r->method == HTTP_GET) {
      hcsd_h_exec_inspect(d, r, id);
      return;
    }
  }
  hcsd_reply_error(r, 404, "page not found");
}

static const char *after(const char *path, const char *prefix) {
  size_t n = strlen(prefix);
  if (strncmp(path, prefix, n) != 0) {
    return NULL;
  }
  return path + n;
}

void hcsd_dispatch(hcsd_t *d, hcsd_req_t *r) {
  const char *path;
  if (strcmp(r->path, "/_ping") == 0 &&
      (r->method == HTTP_GET || r->method == HTTP_HEAD)) {
    ping(r);
    return;
  }
  if (strip_version(r, &path) != 0) {
    return;
  }
  const char *rest;
  const char *what = hcsd_unsupported(r->method, path);
  if (what != NULL) {
    hcsd_reply_error(r, 501, "not supported by hcsd: %s", what);
    return;
  }
  if (strcmp(path, "/_ping") == 0 &&
      (r->method == HTTP_GET || r->method == HTTP_HEAD)) {
    ping(r);
  } else if (strcmp(path, "/version") == 0 && r->method == HTTP_GET) {
    version(r);
  } else if (strcmp(path, "/info") == 0 && r->method == HTTP_GET) {
    info(d, r);
  } else if (strcmp(path, "/events") == 0 && r->method == HTTP_GET) {
    hcsd_h_events(d, r);
  } else if ((rest = after(path, "/containers/")) != NULL) {
    containers_route(d, r, rest);
  } else if ((rest = after(path, "/exec/")) != NULL) {
    exec_route(d, r, rest);
  } else if ((rest = after(path, "/images/")) != NULL) {
    hcsd_h_images(d, r, rest);
  } else if (strcmp(path, "/system/df") == 0 && r->method == HTTP_GET) {
    hcsd_h_system_df(d, r);
  } else if (strcmp(path, "/networks/prune") == 0 && r->method == HTTP_POST) {
    hcsd_h_networks_prune(d, r);
  } else if (strcmp(path, "/build/prune") == 0 && r->method == HTTP_POST) {
    hcsd_h_build_prune(d, r);
  } else if (strcmp(path, "/networks") == 0) {
    hcsd_h_networks(d, r, NULL);
  } else if ((rest = after(path, "/networks/")) != NULL) {
    hcsd_h_networks(d, r, rest);
  } else if (strcmp(path, "/volumes") == 0) {
    hcsd_h_volumes(d, r, NULL);
  } else if ((rest = after(path, "/volumes/")) != NULL) {
    hcsd_h_volumes(d, r, rest);
  } else if ((rest = after(path, "/plugins/")) != NULL &&
             r->method == HTTP_GET) {
    hcsd_reply_error(r, 404, "plugin \"%.*s\" not found",
                     (int)strcspn(rest, "/"), rest);
  } else {
    hcsd_reply_error(r, 404, "page not found");
  }
}
