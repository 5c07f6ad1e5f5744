/* SPDX-License-Identifier: MIT */
/* Containers on an HNS network: two systems whose EndpointList names
 * endpoints of one network talk TCP by address, a NAT mapping reaches a
 * system's server from the host, DNS settings land in its resolv.conf, and
 * the endpoints come back to the host when the systems stop. Traffic stays
 * between namespaces this test makes. */
#include "test_hns_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

TestSuite(container_net, .init = tn_setup, .fini = tn_teardown, .timeout = 120);

static void start_on(const char *id, const char *ep) {
  char cfg[1024];
  snprintf(
      cfg, sizeof(cfg),
      "{\"SystemType\":\"Container\",\"Layers\":[{\"ID\":\"busybox\","
      "\"Path\":\"%s/%s\"}],\"HostName\":\"%s\",\"EndpointList\":[\"%s\"]}",
      hcs_default_image_home(), HCS_DEFAULT_IMAGE, id, ep);
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_CreateComputeSystem(tn.hcs, id, cfg, &err), HCS_OK, "%s",
               err ? hcs_error_message(err) : "");
  cr_assert_eq(hcs_StartComputeSystem(tn.hcs, id, &err), HCS_OK, "%s",
               err ? hcs_error_message(err) : "");
}

/* Runs sh -c cmd in system id; returns its exit code, output in out. */
static int run_in(const char *id, const char *cmd, char *out, size_t n,
                  uint32_t *pid_out, int wait) {
  const char *args[] = {"sh", "-c", cmd, NULL};
  hcs_process_params_t pp;
  memset(&pp, 0, sizeof(pp));
  pp.args = args;
  uint32_t pid;
  int fd = -1;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_CreateProcessInComputeSystem(tn.hcs, id, false, true, false,
                                                &pp, &pid, NULL, &fd, NULL,
                                                &err),
               HCS_OK, "%s", err ? hcs_error_message(err) : "");
  if (pid_out != NULL) {
    *pid_out = pid;
  }
  if (!wait) {
    close(fd);
    return 0;
  }
  size_t got = 0;
  ssize_t r;
  while ((r = read(fd, out + got, n - 1 - got)) > 0) {
    got += (size_t)r;
  }
  out[got] = '\0';
  close(fd);
  int32_t code = -1;
  cr_assert_eq(
      hcs_WaitForProcessInComputeSystem(tn.hcs, id, pid, 30000, &code, NULL),
      HCS_OK);
  return code;
}

static void stop(const char *id) {
  cr_assert_eq(hcs_TerminateComputeSystem(tn.hcs, id, 10000, NULL, NULL),
               HCS_OK);
  cr_assert_eq(hcs_DeleteComputeSystem(tn.hcs, id, NULL), HCS_OK);
}

Test(container_net, two_systems_talk_and_nat_reaches_one) {
  char net[64], ep1[64], ep2[64], body[512], a[64], b[64];
  tn_net(
      tn_id("ctnet", net, sizeof(net)),
      "{\"Name\":\"ctnet\",\"Type\":\"nat\",\"DNSServerList\":\"10.205.3.53\""
      ",\"Subnets\":[{\"AddressPrefix\":\"10.205.3.0/24\"}]");
  int port = 23000 + (int)(getpid() % 1000);
  snprintf(body, sizeof(body),
           "{\"VirtualNetwork\":\"%s\",\"Policies\":[{\"Type\":\"NAT\","
           "\"Protocol\":\"tcp\",\"InternalPort\":8080,\"ExternalPort\":%d}]",
           net, port);
  hcs_hns_endpoint_t *e1 = tn_ep(tn_id("ctep1", ep1, sizeof(ep1)), body);
  snprintf(body, sizeof(body), "{\"VirtualNetwork\":\"%s\"", net);
  hcs_hns_endpoint_t *e2 = tn_ep(tn_id("ctep2", ep2, sizeof(ep2)), body);
  tn_id("cta", a, sizeof(a));
  tn_id("ctb", b, sizeof(b));
  start_on(a, ep1);
  start_on(b, ep2);

  char out[4096], cmd[512];
  /* Its own network: eth0 with the endpoint's address, and the DNS. */
  cr_assert_eq(run_in(a, "ip -4 addr show eth0; cat /etc/resolv.conf", out,
                      sizeof(out), NULL, 1),
               0, "%s", out);
  cr_assert_not_null(strstr(out, e1->ip_address), "%s", out);
  cr_assert_not_null(strstr(out, "nameserver 10.205.3.53"), "%s", out);
  /* Bound from the state directory: the image under it is not written. */
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s/diff/etc/resolv.conf",
           hcs_default_image_home(), HCS_DEFAULT_IMAGE);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0, "%s", path);
  cr_assert_eq(st.st_size, 0, "the image's resolv.conf was written");

  /* A server in a answers b by address, and the host by the mapping. */
  uint32_t server;
  run_in(a, "nc -l -p 8080 -e echo from-a; nc -l -p 8080 -e echo from-a", NULL,
         0, &server, 0);
  snprintf(cmd, sizeof(cmd),
           "for i in $(seq 50); do out=$(nc %s 8080 </dev/null) && "
           "[ -n \"$out\" ] && echo $out && exit 0; sleep 0.1; done; exit 1",
           e1->ip_address);
  cr_assert_eq(run_in(b, cmd, out, sizeof(out), NULL, 1), 0, "%s", out);
  cr_assert_str_eq(out, "from-a\n");

  /* The server listens again between connections: a refused connect in
   * that gap is retried (bounded). */
  char got[32] = {0};
  for (int tries = 0; tries < 50 && got[0] == '\0'; tries++) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
      size_t n = 0;
      ssize_t r;
      while ((r = read(s, got + n, sizeof(got) - 1 - n)) > 0) {
        n += (size_t)r;
      }
    } else {
      struct timespec ts = {0, 20 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    close(s);
  }
  cr_assert_str_eq(got, "from-a\n", "the host's mapping did not answer");
  (void)server;

  stop(a);
  stop(b);
  /* The endpoints are the host's again, ready for another system. */
  cr_assert(tn_link_exists("hcsp", ep1));
  cr_assert(tn_link_exists("hcsp", ep2));
  hcs_hns_endpoint_free(e1);
  hcs_hns_endpoint_free(e2);
}
