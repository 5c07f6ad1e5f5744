/* SPDX-License-Identifier: MIT */
/* Names on user networks: a container on a network of the user's finds
 * every other container there by its name, its short id and its
 * --network-alias names, through its /etc/hosts. dockerd answers these
 * from its embedded DNS server (127.0.0.11); hcsd has none, so it keeps a
 * section at the end of each member's hosts file, rewritten whenever a
 * container joins or leaves one of its networks. The predefined bridge
 * gives no names, as dockerd's default network does not.
 *
 * The hosts file is bound over the container's /etc/hosts (a bind of one
 * inode), so the section is rewritten in place: what comes before the
 * marker (hcsd's loopback names, --add-host, its own name) stays. A
 * reader in the container may see the file mid-write, as with dockerd's
 * own /etc/hosts updates; a resolver reads it again at its next lookup. */
#include "hcsd/model/netsint.h"
#include "hcsd/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARKER "# hcsd: containers on the same user networks\n"

/* The aliases by which links (cid's HostConfig.Links, "container[:alias]",
 * either part maybe with a leading path as dockerd stores them) name
 * the container o called name, each after a space. --link on a user
 * network is such an alias, seen by the linking container only. */
static void link_aliases(FILE *f, json_t *links, const char *o,
                         const char *name) {
  size_t i;
  json_t *l;
  json_array_foreach(links, i, l) {
    const char *s = json_string_value(l);
    if (s == NULL) {
      continue;
    }
    s += s[0] == '/';
    size_t tl = strcspn(s, ":");
    const char *alias = s[tl] == ':' ? s + tl + 1 : s;
    const char *slash = strrchr(alias, '/');
    alias = slash != NULL ? slash + 1 : alias;
    bool is_o = (tl == strlen(name) && strncmp(s, name, tl) == 0) ||
                (tl >= 12 && tl <= strlen(o) && strncmp(s, o, tl) == 0);
    if (is_o && alias[0] != '\0') {
      fprintf(f, " %s", alias);
    }
  }
}

/* The aliases of container o on net: those it was connected with, or
 * its --network-alias names on the network of its NetworkMode. */
static json_t *aliases_on(hcsd_nets_t *n, const char *o,
                          const hcsd_net_t *net) {
  json_t *x = json_object_get(json_object_get(n->extra, o), net->name);
  return x != NULL ? json_object_get(x, "Aliases")
                   : json_object_get(n->aliases, o);
}

/* The section for cid: a line per other member of each user network of
 * cid's, "IP name shortid aliases...". malloc'ed; NULL on ENOMEM. */
static char *section(hcsd_nets_t *n, const char *cid) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (f == NULL) {
    return NULL;
  }
  fputs(MARKER, f);
  for (size_t i = 0; i < n->n; i++) {
    hcsd_net_t *net = n->v[i];
    if (net->predefined || json_object_get(net->containers, cid) == NULL) {
      continue;
    }
    const char *o;
    json_t *ep;
    json_object_foreach(net->containers, o, ep) {
      const char *ip = json_string_value(json_object_get(ep, "IPv4Address"));
      json_t *peer = json_object_get(n->peers, o);
      const char *name = json_string_value(json_object_get(peer, "Name"));
      if (strcmp(o, cid) == 0 || ip == NULL || name == NULL) {
        continue;
      }
      fprintf(f, "%.*s\t%s %.12s", (int)strcspn(ip, "/"), ip, name, o);
      size_t k;
      json_t *a;
      json_array_foreach(aliases_on(n, o, net), k, a) {
        fprintf(f, " %s", json_string_value(a));
      }
      link_aliases(f, json_object_get(json_object_get(n->peers, cid), "Links"),
                   o, name);
      fputc('\n', f);
    }
  }
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* Reads the whole of fd; malloc'ed, NUL-terminated, NULL on failure. */
static char *read_fd(int fd, size_t *len) {
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size > (1 << 20)) {
    return NULL;
  }
  char *s = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (s != NULL && got < (size_t)st.st_size) {
    ssize_t r = pread(fd, s + got, (size_t)st.st_size - got, (off_t)got);
    if (r <= 0) {
      break;
    }
    got += (size_t)r;
  }
  if (s != NULL) {
    s[got] = '\0';
  }
  *len = got;
  return s;
}

static int write_at(int fd, const char *s, size_t len, off_t off) {
  while (len > 0) {
    ssize_t w = pwrite(fd, s, len, off);
    if (w < 0 && errno != EINTR) {
      return -errno;
    }
    if (w > 0) {
      s += w;
      len -= (size_t)w;
      off += w;
    }
  }
  return 0;
}

/* Rewrites the section of cid's hosts file in place; a container that
 * has none (never started, or no hosts file given) is left alone. */
static void rewrite(hcsd_nets_t *n, const char *cid) {
  const char *path = json_string_value(
      json_object_get(json_object_get(n->peers, cid), "Hosts"));
  int fd = path != NULL ? open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW) : -1;
  if (fd < 0) {
    return;
  }
  size_t len = 0;
  char *old = read_fd(fd, &len);
  char *sec = section(n, cid);
  if (old != NULL && sec != NULL) {
    char *m = strstr(old, MARKER);
    size_t keep = m != NULL ? (size_t)(m - old) : len;
    bool empty = strchr(sec, '\n') == sec + strlen(sec) - 1;
    size_t slen = empty ? 0 : strlen(sec);
    if (write_at(fd, sec, slen, (off_t)keep) != 0 ||
        ftruncate(fd, (off_t)(keep + slen)) != 0) {
      hcsd_log("updating the names of user networks in %s: %s", path,
               strerror(errno));
    }
  }
  free(old);
  free(sec);
  close(fd);
}

void hcsd__nets_hosts_refresh(hcsd_nets_t *n, hcsd_net_t *net) {
  if (net->predefined) {
    return;
  }
  const char *cid;
  json_t *ep;
  json_object_foreach(net->containers, cid, ep) { rewrite(n, cid); }
}

void hcsd__nets_hosts_join(hcsd_nets_t *n, const char *cid, const char *name,
                           const char *hosts, json_t *aliases, json_t *links) {
  json_t *peer = json_pack("{s:s, s:s*, s:O*, s:O*}", "Name", name, "Hosts",
                           hosts, "Aliases", aliases, "Links",
                           json_is_array(links) ? links : NULL);
  if (peer != NULL) {
    json_object_set_new(n->peers, cid, peer);
  }
}

void hcsd__nets_hosts_one(hcsd_nets_t *n, const char *cid) { rewrite(n, cid); }

void hcsd_nets_started(hcsd_nets_t *n, const char *container_id) {
  pthread_mutex_lock(&n->lock);
  rewrite(n, container_id);
  pthread_mutex_unlock(&n->lock);
}
