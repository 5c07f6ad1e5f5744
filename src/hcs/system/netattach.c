/* SPDX-License-Identifier: MIT */
/* A container's endpoints: moved into init's network namespace at start,
 * given back to the host's side when it stops, and the DNS settings they
 * carry as the system's resolv.conf. */
#include "hcs/system/container.h"

#include "hcs/hns/hns_attach.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Gives the endpoints back to the host's side, ready for another system. */
void hcs__container_detach(hcs__system_t *s) {
  hcs__container_t *ct = s->ct;
  for (size_t i = 0; i < ct->n_attached; i++) {
    hcs__hns_detach(s->hcs, ct->cfg.endpoint_list[i]);
  }
  ct->n_attached = 0;
}

/* Moves each endpoint of EndpointList into init's network namespace as
 * eth0, eth1, ... */
int hcs__container_attach(hcs__system_t *s, char *why, size_t n) {
  hcs__container_t *ct = s->ct;
  char **eps = ct->cfg.endpoint_list;
  for (size_t i = 0; eps != NULL && eps[i] != NULL; i++) {
    char ifname[32];
    snprintf(ifname, sizeof(ifname), "eth%u", (unsigned)(i % 1000));
    char detail[200] = "";
    int e = hcs__hns_attach(s->hcs, eps[i], ct->init_pid, ifname, detail,
                            sizeof(detail));
    if (e != 0) {
      snprintf(why, n, "EndpointList[%zu] %s: %s", i, eps[i], detail);
      return e;
    }
    ct->n_attached = i + 1;
  }
  return 0;
}

/* The DNS settings of the first endpoint that has any, in a file of the
 * state directory that init binds over the system's /etc/resolv.conf.
 * Nothing when no endpoint gives any. */
int hcs__container_resolv_conf(hcs__system_t *s, const char *run) {
  hcs__container_t *ct = s->ct;
  char **eps = ct->cfg.endpoint_list;
  char dns[1024] = "";
  for (size_t i = 0; eps != NULL && eps[i] != NULL && dns[0] == '\0'; i++) {
    (void)hcs__hns_resolv_conf(s->hcs, eps[i], dns, sizeof(dns));
  }
  if (dns[0] == '\0') {
    return 0;
  }
  snprintf(ct->resolv, sizeof(ct->resolv), "%s/%s.resolv.conf", run, s->id);
  int fd = open(ct->resolv, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = -errno;
    ct->resolv[0] = '\0';
    return err;
  }
  size_t len = strlen(dns);
  int err = write(fd, dns, len) == (ssize_t)len ? 0 : errno ? -errno : -EIO;
  if (close(fd) != 0 && err == 0) {
    err = -errno;
  }
  return err;
}
