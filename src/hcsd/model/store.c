/* SPDX-License-Identifier: MIT */
/* hcsd's records on disk: <state>/containers/<id>/record.json (the
 * container, written whole and renamed into place), execs (one JSON line
 * per finished exec, appended) and its log (load.c reads the records
 * back): Docker's framed records (8-byte
 * header + bytes), bounded by log_max: once it holds
 * log_max bytes the log moves to log.1 and a new one starts, so at least
 * the newest log_max bytes, and at most twice that plus two reads, are
 * kept. */
#include "hcsd/model/ctr_int.h"
#include "hcsd/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

char *hcsd__ctr_dir(hcsd_t *d, const char *id) {
  size_t n = strlen(d->state_dir) + strlen(id) + 16;
  char *p = malloc(n);
  if (p != NULL) {
    snprintf(p, n, "%s/containers/%s", d->state_dir, id);
  }
  return p;
}

char *hcsd__sandbox_home(hcsd_t *d) {
  size_t n = strlen(d->state_dir) + 16;
  char *p = malloc(n);
  if (p != NULL) {
    snprintf(p, n, "%s/sandboxes", d->state_dir);
  }
  return p;
}

json_t *hcsd__exec_json(const hcsd_exec_t *e) {
  return json_pack(
      "{s:s,s:o,s:o,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:i,s:b}", "Id", e->id, "Argv",
      hcsd__strv_to_json(e->argv), "Env", hcsd__strv_to_json(e->env), "User",
      e->user != NULL ? e->user : "", "Cwd", e->cwd != NULL ? e->cwd : "",
      "Tty", e->tty, "In", e->in, "Out", e->out, "Err", e->err, "Detach",
      e->detach, "ExitCode", e->exit_code, "Ended", e->ended);
}

void hcsd__store_save(hcsd_ctr_t *c) {
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s,s:O,s:O,s:o,s:o,s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,"
      "s:b,s:b,s:i,s:i,s:i,s:i,s:s,s:b,s:I,s:I,s:I,s:i}",
      "Id", c->id, "Name", c->name, "Image", c->image, "ImageID",
      c->image_id != NULL ? c->image_id : "", "Config", c->config, "HostConfig",
      c->host_config, "Layers", hcsd__strv_to_json(c->layers), "Argv",
      hcsd__strv_to_json(c->argv), "Env", hcsd__strv_to_json(c->env), "Cwd",
      c->cwd != NULL ? c->cwd : "/", "User", c->user != NULL ? c->user : "",
      "StopSignal", c->stop_signal != NULL ? c->stop_signal : "SIGTERM",
      "Hostname", c->hostname, "NetMode", c->net_mode, "Sandbox",
      c->sandbox != NULL ? c->sandbox : "", "Tty", c->tty, "OpenStdin",
      c->open_stdin, "StdinOnce", c->stdin_once, "AutoRemove", c->auto_remove,
      "Rows", c->rows, "Cols", c->cols, "State", c->state, "ExitCode",
      c->exit_code, "Error", c->error != NULL ? c->error : "", "OOM", c->oom,
      "Created", (json_int_t)c->created_ns, "Started",
      (json_int_t)c->started_ns, "Finished", (json_int_t)c->finished_ns,
      "Exits", c->exits);
  json_object_set_new(o, "RestartCount", json_integer(c->restart_count));
  json_object_set_new(o, "ManuallyStopped", json_boolean(c->manual_stop));
  char *dir = hcsd__ctr_dir(c->d, c->id);
  if (o == NULL || dir == NULL) {
    json_decref(o);
    free(dir);
    return;
  }
  (void)mkdir(dir, 0700);
  char tmp[4200], path[4200];
  snprintf(tmp, sizeof(tmp), "%s/record.json.tmp", dir);
  snprintf(path, sizeof(path), "%s/record.json", dir);
  if (json_dump_file(o, tmp, JSON_COMPACT) == 0) {
    if (rename(tmp, path) != 0) {
      hcsd_log("saving %s: %s", path, strerror(errno));
    }
  }
  json_decref(o);
  free(dir);
}

void hcsd__execs_path(hcsd_ctr_t *c, char *out, size_t n, const char *sfx) {
  char *dir = hcsd__ctr_dir(c->d, c->id);
  snprintf(out, n, "%s/execs%s", dir != NULL ? dir : "/nonexistent", sfx);
  free(dir);
}

static void append_line(int fd, json_t *o) {
  char *t = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  if (t != NULL) {
    size_t n = strlen(t);
    t[n] = '\n';
    ssize_t w = write(fd, t, n + 1);
    (void)w;
    free(t);
  }
}

void hcsd__exec_save(hcsd_exec_t *e, hcsd_ctr_t *c) {
  char path[4200];
  if (c->exec_lines >= 2 * (c->nexecs + 16)) {
    /* Rewrite from the records kept, oldest first, and rename. */
    char tmp[4200];
    hcsd__execs_path(c, tmp, sizeof(tmp), ".tmp");
    hcsd__execs_path(c, path, sizeof(path), "");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      size_t n = 0;
      hcsd_exec_t **v = calloc(c->nexecs + 1, sizeof(*v));
      for (hcsd_exec_t *x = c->execs; v != NULL && x != NULL; x = x->next) {
        if (x->ended && n < c->nexecs) {
          v[n++] = x;
        }
      }
      for (size_t i = n; v != NULL && i > 0; i--) {
        json_t *o = hcsd__exec_json(v[i - 1]);
        append_line(fd, o);
        json_decref(o);
      }
      free(v);
      close(fd);
      if (rename(tmp, path) == 0) {
        c->exec_lines = n;
        if (c->exec_fd >= 0) {
          close(c->exec_fd); /* the file it appended to is gone */
          c->exec_fd = -1;
        }
        return; /* e is among the records written */
      }
    }
  }
  if (c->exec_fd < 0) {
    /* Opened once per container, kept for the next results. */
    hcsd__execs_path(c, path, sizeof(path), "");
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
      char *dir = hcsd__ctr_dir(c->d, c->id);
      if (dir != NULL) {
        (void)mkdir(dir, 0700);
        free(dir);
      }
      fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    }
    if (fd < 0) {
      return;
    }
    c->exec_fd = fd;
  }
  json_t *o = hcsd__exec_json(e);
  append_line(c->exec_fd, o);
  json_decref(o);
  c->exec_lines++;
}

static void rm_tree(int dfd, const char *name) {
  int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    DIR *dir = fdopendir(fd);
    struct dirent *e;
    while (dir != NULL && (e = readdir(dir)) != NULL) {
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
        if (unlinkat(fd, e->d_name, 0) != 0) {
          rm_tree(fd, e->d_name);
        }
      }
    }
    if (dir != NULL) {
      closedir(dir);
    } else {
      close(fd);
    }
  }
  (void)unlinkat(dfd, name, AT_REMOVEDIR);
}

void hcsd__store_remove_dir(hcsd_t *d, const char *id) {
  char *dir = hcsd__ctr_dir(d, "");
  if (dir != NULL) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      rm_tree(fd, id);
      close(fd);
    }
  }
  free(dir);
}

/* ---- logs ---- */

static int log_open(hcsd_ctr_t *c) {
  if (c->log_fd >= 0) {
    return c->log_fd;
  }
  char *dir = hcsd__ctr_dir(c->d, c->id);
  if (dir == NULL) {
    return -1;
  }
  (void)mkdir(dir, 0700);
  char path[4200];
  snprintf(path, sizeof(path), "%s/log", dir);
  free(dir);
  c->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  struct stat st;
  c->log_bytes =
      c->log_fd >= 0 && fstat(c->log_fd, &st) == 0 ? (size_t)st.st_size : 0;
  return c->log_fd;
}

void hcsd__log_close(hcsd_ctr_t *c) {
  if (c->log_fd >= 0) {
    close(c->log_fd);
    c->log_fd = -1;
  }
}

void hcsd__log_append(hcsd_ctr_t *c, int stream, const char *buf, size_t len) {
  if (c->d->opt.log_max == 0 || log_open(c) < 0) {
    return;
  }
  if (c->log_bytes >= c->d->opt.log_max) {
    char *dir = hcsd__ctr_dir(c->d, c->id);
    char a[4200], b[4200];
    snprintf(a, sizeof(a), "%s/log", dir);
    snprintf(b, sizeof(b), "%s/log.1", dir);
    free(dir);
    (void)rename(a, b);
    hcsd__log_close(c);
    if (log_open(c) < 0) {
      return;
    }
  }
  /* A timed record (ctr_io.c log_each): the frame header with byte 1 set,
   * then the time it was read, ns since the epoch, big-endian. */
  uint64_t t = (uint64_t)hcsd_now_ns();
  uint8_t h[16] = {(uint8_t)stream,
                   HCSD_LOG_TIMED,
                   0,
                   0,
                   (uint8_t)(len >> 24),
                   (uint8_t)(len >> 16),
                   (uint8_t)(len >> 8),
                   (uint8_t)len};
  for (int i = 0; i < 8; i++) {
    h[8 + i] = (uint8_t)(t >> (56 - 8 * i));
  }
  struct iovec iov[2] = {{h, sizeof(h)}, {(void *)buf, len}};
  ssize_t n = writev(c->log_fd, iov, 2);
  if (n > 0) {
    c->log_bytes += (size_t)n;
  }
}

static void slurp(const char *path, char **buf, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size > 0) {
    char *b = realloc(*buf, *len + (size_t)st.st_size + 1);
    if (b != NULL) {
      *buf = b;
      ssize_t n;
      size_t got = 0;
      while (got < (size_t)st.st_size &&
             (n = read(fd, b + *len + got, (size_t)st.st_size - got)) > 0) {
        got += (size_t)n;
      }
      *len += got;
    }
  }
  close(fd);
}

char *hcsd__log_read(hcsd_ctr_t *c, size_t *len) {
  char *dir = hcsd__ctr_dir(c->d, c->id);
  char *buf = NULL;
  *len = 0;
  if (dir == NULL) {
    return NULL;
  }
  char a[4200], b[4200];
  snprintf(a, sizeof(a), "%s/log.1", dir);
  snprintf(b, sizeof(b), "%s/log", dir);
  free(dir);
  slurp(a, &buf, len);
  slurp(b, &buf, len);
  return buf;
}
