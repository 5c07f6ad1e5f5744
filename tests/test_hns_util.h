/* SPDX-License-Identifier: MIT */
/* Shared by the HNS suites that build real networks (test_hns_net.c,
 * test_hns_traffic.c): a service per test on a state directory of its own,
 * networks and endpoints made through the public calls and remembered, so
 * that the teardown removes every bridge, pair and nftables table the test
 * made even when an assertion cut it short; and children that sit in a
 * network namespace of their own until the test has attached an endpoint
 * to them. Every function is static: each suite is its own program.
 *
 * Names: ids carry the test process's pid, so that tests running at once
 * (Criterion runs them in parallel) and leftovers of an interrupted run
 * never meet; each test passes its own subnet for the same reason. */
#ifndef HCS_TESTS_HNS_UTIL_H
#define HCS_TESTS_HNS_UTIL_H

#include "hcs/hns/hns_attach.h"
#include "hcs/hns/hns_store.h"
#include "hcs/hns/nat.h"
#include "hcs/hns/netlink.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hcs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define TN_UNUSED __attribute__((unused))
#define TN_MAX 32
#define TN_WATCHDOG_MS 15000

static struct {
  char dir[64]; /* the state directory */
  hcs_t *hcs;
  char nets[TN_MAX][80];
  int n_nets;
  char eps[TN_MAX][80];
  int n_eps;
  pid_t kids[8];
  int n_kids;
} tn;

static int tn_rm(const char *path, const struct stat *st, int flag,
                 struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

TN_UNUSED static hcs_t *tn_open(void) {
  hcs_options_t o = {.state_dir = tn.dir};
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_open(&tn.hcs, &o, &err), HCS_OK, "hcs_open: %s",
               err != NULL ? hcs_error_message(err) : "");
  return tn.hcs;
}

TN_UNUSED static void tn_close(void) {
  hcs_close(tn.hcs);
  tn.hcs = NULL;
}

static void tn_setup(void) {
  if (geteuid() != 0) {
    cr_skip_test("HNS networks need root (bridges, veth pairs, nftables)");
  }
  memset(&tn, 0, sizeof(tn));
  strcpy(tn.dir, "/tmp/hcs-hns-XXXXXX");
  cr_assert_not_null(mkdtemp(tn.dir), "mkdtemp: %s", strerror(errno));
  tn_open();
}

/* Whatever the test got to, nothing of it stays: its children (their
 * namespaces go with them), then its links and tables by the names hcs
 * derives from the ids, then its state directory. */
static void tn_teardown(void) {
  for (int i = 0; i < tn.n_kids; i++) {
    kill(tn.kids[i], SIGKILL);
    waitpid(tn.kids[i], NULL, 0);
  }
  if (tn.hcs != NULL) {
    tn_close();
  }
  hcs__nl_t *nl = NULL;
  if (hcs__nl_open(&nl) == 0) {
    char name[HCS__IFNAMSIZ], why[256];
    for (int i = 0; i < tn.n_eps; i++) {
      hcs__hns_link_name("hcsv", tn.eps[i], name);
      (void)hcs__nl_link_del(nl, name);
      hcs__hns_link_name("hcsp", tn.eps[i], name);
      (void)hcs__nl_link_del(nl, name);
    }
    for (int i = 0; i < tn.n_nets; i++) {
      hcs__hns_link_name("hcs", tn.nets[i], name);
      (void)hcs__nl_link_del(nl, name);
      (void)hcs__nat_remove(name, why, sizeof(why));
    }
    hcs__nl_close(nl);
  }
  if (tn.dir[0] != '\0') {
    nftw(tn.dir, tn_rm, 16, FTW_DEPTH | FTW_PHYS);
  }
}

/* "<stem>-<pid>": an id of this test. */
TN_UNUSED static const char *tn_id(const char *stem, char *buf, size_t n) {
  snprintf(buf, n, "%s-%d", stem, (int)getpid());
  return buf;
}

/* Creates a network from body (a JSON object without its closing brace:
 * the id is added) and remembers it; returns the result code. */
TN_UNUSED static hcs_result_t tn_net_try(const char *id, const char *body,
                                         hcs_hns_network_t **out,
                                         hcs_error_t **err) {
  char doc[2048];
  snprintf(doc, sizeof(doc), "%s,\"Id\":\"%s\"}", body, id);
  if (tn.n_nets < TN_MAX) {
    snprintf(tn.nets[tn.n_nets++], sizeof(tn.nets[0]), "%s", id);
  }
  return hcs_HNSNetworkRequest(tn.hcs, "POST", "", doc, out, err);
}

TN_UNUSED static void tn_net(const char *id, const char *body) {
  hcs_hns_network_t *n = NULL;
  hcs_error_t *err = NULL;
  hcs_result_t r = tn_net_try(id, body, &n, &err);
  cr_assert_eq(r, HCS_OK, "network %s: %s", id,
               err != NULL ? hcs_error_message(err) : "");
  cr_assert_str_eq(n->id, id);
  hcs_hns_network_free(n);
}

/* Creates an endpoint (body as for tn_net_try) and remembers it. */
TN_UNUSED static hcs_result_t tn_ep_try(const char *id, const char *body,
                                        hcs_hns_endpoint_t **out,
                                        hcs_error_t **err) {
  char doc[2048];
  snprintf(doc, sizeof(doc), "%s,\"Id\":\"%s\"}", body, id);
  if (tn.n_eps < TN_MAX) {
    snprintf(tn.eps[tn.n_eps++], sizeof(tn.eps[0]), "%s", id);
  }
  return hcs_HNSEndpointRequest(tn.hcs, "POST", "", doc, out, err);
}

TN_UNUSED static hcs_hns_endpoint_t *tn_ep(const char *id, const char *body) {
  hcs_hns_endpoint_t *e = NULL;
  hcs_error_t *err = NULL;
  hcs_result_t r = tn_ep_try(id, body, &e, &err);
  cr_assert_eq(r, HCS_OK, "endpoint %s: %s", id,
               err != NULL ? hcs_error_message(err) : "");
  return e;
}

/* The request fails with code and a cause holding needle. */
TN_UNUSED static void tn_expect(hcs_result_t r, hcs_error_t *err,
                                hcs_result_t code, const char *needle) {
  cr_assert_eq(r, code, "got %u (%s), wanted %u", (unsigned)r,
               err != NULL ? hcs_error_message(err) : "no error", code);
  cr_assert_not_null(err);
  cr_assert_not_null(strstr(hcs_error_cause(err), needle),
                     "cause \"%s\" lacks \"%s\"", hcs_error_cause(err), needle);
  hcs_error_free(err);
}

/* The index of the link of that derived name on the host, or -ENODEV. */
TN_UNUSED static int tn_link_index(const char *prefix, const char *id) {
  char name[HCS__IFNAMSIZ];
  hcs__hns_link_name(prefix, id, name);
  hcs__nl_t *nl = NULL;
  cr_assert_eq(hcs__nl_open(&nl), 0);
  int r = hcs__nl_ifindex(nl, name);
  hcs__nl_close(nl);
  return r;
}

/* Whether a link of that derived name exists on the host. */
TN_UNUSED static int tn_link_exists(const char *prefix, const char *id) {
  return tn_link_index(prefix, id) > 0;
}

/* Waits, on rtnetlink's link events (with the watchdog), until the link
 * of that derived name is gone: a namespace is freed by a kernel worker
 * some time after its last process exits, and its links with it. */
TN_UNUSED static void tn_wait_link_gone(const char *prefix, const char *id) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  cr_assert_geq(s, 0);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
  cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
  while (tn_link_exists(prefix, id)) {
    struct pollfd p = {.fd = s, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, TN_WATCHDOG_MS), 1, "the link stays");
    char buf[8192];
    (void)recv(s, buf, sizeof(buf), 0);
  }
  close(s);
}

/* Children in namespaces of their own. A child unshares its network
 * namespace, says 'R' on its pipe, waits for the test's go byte (sent once
 * the endpoint is in), runs body and exits with its result. */
typedef struct tn_kid_s {
  pid_t pid;
  int to_kid, from_kid;
} tn_kid_t;

TN_UNUSED static void tn_kid_start(tn_kid_t *k, int (*body)(int out, void *arg),
                                   void *arg) {
  int up[2], down[2];
  cr_assert_eq(pipe2(up, O_CLOEXEC), 0);
  cr_assert_eq(pipe2(down, O_CLOEXEC), 0);
  k->pid = fork();
  cr_assert_geq(k->pid, 0, "fork: %s", strerror(errno));
  if (k->pid == 0) {
    close(up[0]);
    close(down[1]);
    char go = 0;
    if (unshare(CLONE_NEWNET) != 0 || write(up[1], "R", 1) != 1 ||
        read(down[0], &go, 1) != 1 || go != 'G') {
      _exit(100);
    }
    _exit(body(up[1], arg));
  }
  tn.kids[tn.n_kids++] = k->pid;
  close(up[1]);
  close(down[0]);
  k->to_kid = down[1];
  k->from_kid = up[0];
  char ready = 0;
  struct pollfd p = {.fd = k->from_kid, .events = POLLIN};
  cr_assert_eq(poll(&p, 1, TN_WATCHDOG_MS), 1, "child never got ready");
  cr_assert_eq(read(k->from_kid, &ready, 1), 1);
  cr_assert_eq(ready, 'R');
}

TN_UNUSED static void tn_kid_go(tn_kid_t *k) {
  cr_assert_eq(write(k->to_kid, "G", 1), 1);
}

/* Reads one byte the child reports; -1 at EOF or after the watchdog. */
TN_UNUSED static int tn_kid_byte(tn_kid_t *k) {
  struct pollfd p = {.fd = k->from_kid, .events = POLLIN};
  char c;
  if (poll(&p, 1, TN_WATCHDOG_MS) != 1 || read(k->from_kid, &c, 1) != 1) {
    return -1;
  }
  return (unsigned char)c;
}

/* Waits for the child's exit (SIGKILL after the watchdog); its status. */
TN_UNUSED static int tn_kid_wait(tn_kid_t *k) {
  int pfd = (int)syscall(SYS_pidfd_open, k->pid, 0);
  cr_assert_geq(pfd, 0, "pidfd_open: %s", strerror(errno));
  struct pollfd p = {.fd = pfd, .events = POLLIN};
  if (poll(&p, 1, TN_WATCHDOG_MS) != 1) {
    kill(k->pid, SIGKILL);
  }
  close(pfd);
  int status = 0;
  cr_assert_eq(waitpid(k->pid, &status, 0), k->pid);
  for (int i = 0; i < tn.n_kids; i++) {
    if (tn.kids[i] == k->pid) {
      tn.kids[i] = tn.kids[--tn.n_kids];
    }
  }
  close(k->to_kid);
  close(k->from_kid);
  return status;
}

TN_UNUSED static void tn_attach(const char *ep, tn_kid_t *k,
                                const char *ifname) {
  char why[256];
  int r = hcs__hns_attach(tn.hcs, ep, k->pid, ifname, why, sizeof(why));
  cr_assert_eq(r, 0, "attach %s: %s (%s)", ep, strerror(-r), why);
}

#endif
