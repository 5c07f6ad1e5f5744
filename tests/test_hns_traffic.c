/* SPDX-License-Identifier: MIT */
/* HNS endpoints carrying traffic: children in network namespaces of their
 * own get endpoints through hcs__hns_attach (as a compute system does at
 * start) and then ping and talk TCP to each other by address, serve a NAT
 * mapping reached from the host's loopback and bridge address (TCP and
 * UDP), and send under a QoS cap that is measured. Traffic only flows
 * between namespaces these tests make and the host. */
#include "test_hns_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

TestSuite(hns_traffic, .init = tn_setup, .fini = tn_teardown, .timeout = 60);

#define KID_MS 10000

typedef struct kid_args_s {
  char ip[16];
  int port, udp_port, conns;
} kid_args_t;

static int wait_fd(int fd, short events, int ms) {
  struct pollfd p = {.fd = fd, .events = events};
  return poll(&p, 1, ms) == 1 ? 0 : -1;
}

static void to_addr(struct sockaddr_in *sa, const char *ip, int port) {
  memset(sa, 0, sizeof(*sa));
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, ip, &sa->sin_addr);
}

/* Kid bodies: they run after fork, so they report through exit codes. */

static int serve_one(int lfd) {
  char buf[4];
  if (wait_fd(lfd, POLLIN, KID_MS) != 0) {
    return 11;
  }
  int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0 || wait_fd(c, POLLIN, KID_MS) != 0 || read(c, buf, 4) != 4 ||
      memcmp(buf, "ping", 4) != 0 || write(c, "pong", 4) != 4) {
    return 12;
  }
  close(c);
  return 0;
}

static int kid_server(int out, void *arg) {
  const kid_args_t *a = arg;
  struct sockaddr_in sa;
  to_addr(&sa, "0.0.0.0", a->port);
  int one = 1;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
      listen(lfd, 8) != 0) {
    return 10;
  }
  to_addr(&sa, "0.0.0.0", a->udp_port);
  if (a->udp_port != 0 && bind(ufd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    return 13;
  }
  if (write(out, "L", 1) != 1) {
    return 14;
  }
  for (int i = 0; i < a->conns; i++) {
    int r = serve_one(lfd);
    if (r != 0) {
      return r;
    }
  }
  if (a->udp_port != 0) {
    char buf[8];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    if (wait_fd(ufd, POLLIN, KID_MS) != 0 ||
        recvfrom(ufd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) !=
            4 ||
        sendto(ufd, "pong", 4, 0, (struct sockaddr *)&from, fl) != 4) {
      return 15;
    }
  }
  return 0;
}

static uint16_t icmp_sum(const void *p, size_t n) {
  const uint8_t *b = p;
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) {
    s += (uint32_t)(b[i] << 8 | b[i + 1]);
  }
  while (s >> 16) {
    s = (s & 0xffff) + (s >> 16);
  }
  return htons((uint16_t)~s);
}

/* An ICMP echo to ip through a raw socket; 0 when the reply came. */
static int ping(const char *ip) {
  int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
  if (s < 0) {
    return -1;
  }
  struct sockaddr_in sa;
  to_addr(&sa, ip, 0);
  for (int seq = 1; seq <= 3; seq++) {
    struct icmphdr h;
    memset(&h, 0, sizeof(h));
    h.type = ICMP_ECHO;
    h.un.echo.id = htons(0x4853);
    h.un.echo.sequence = htons((uint16_t)seq);
    h.checksum = icmp_sum(&h, sizeof(h));
    if (sendto(s, &h, sizeof(h), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
      break;
    }
    uint8_t buf[256];
    while (wait_fd(s, POLLIN, 2000) == 0) {
      ssize_t n = recv(s, buf, sizeof(buf), 0);
      const struct iphdr *iph = (const void *)buf;
      size_t hl = n > 0 ? (size_t)iph->ihl * 4 : 0;
      const struct icmphdr *r = (const void *)(buf + hl);
      if (n >= (ssize_t)(hl + sizeof(*r)) && r->type == ICMP_ECHOREPLY &&
          r->un.echo.id == htons(0x4853)) {
        close(s);
        return 0;
      }
    }
  }
  close(s);
  return -1;
}

/* A TCP "ping"/"pong" with ip:port; 0 when it went through. */
static int talk(const char *ip, int port) {
  struct sockaddr_in sa;
  to_addr(&sa, ip, port);
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  char buf[4];
  int ok = s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
           write(s, "ping", 4) == 4 && wait_fd(s, POLLIN, KID_MS) == 0 &&
           read(s, buf, 4) == 4 && memcmp(buf, "pong", 4) == 0;
  if (s >= 0) {
    close(s);
  }
  return ok ? 0 : -1;
}

static int kid_client(int out, void *arg) {
  const kid_args_t *a = arg;
  (void)out;
  if (ping(a->ip) != 0) {
    return 20;
  }
  return talk(a->ip, a->port) == 0 ? 0 : 21;
}

/* Sends as fast as the link lets it until the receiver hangs up. */
static int kid_sender(int out, void *arg) {
  const kid_args_t *a = arg;
  (void)out;
  struct sockaddr_in sa;
  to_addr(&sa, a->ip, a->port);
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  /* The cap is measured, not the congestion control: cubic fills the
   * shaper's queue and keeps it filled, where a host default such as BBR
   * paces below the rate in some of its phases. */
  static const char cc[] = "cubic";
  (void)setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, cc, sizeof(cc) - 1);
  if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    return 30;
  }
  static char chunk[65536];
  for (;;) {
    if (wait_fd(s, POLLOUT, KID_MS) != 0) {
      return 31;
    }
    if (send(s, chunk, sizeof(chunk), MSG_NOSIGNAL) < 0) {
      return errno == EPIPE || errno == ECONNRESET ? 0 : 32;
    }
  }
}

static void expect_exit(tn_kid_t *k, int code) {
  int st = tn_kid_wait(k);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == code,
            "child %d: status 0x%x, wanted exit %d", (int)k->pid, st, code);
}

static int host_port(int base) { return base + (int)(getpid() % 4000); }

Test(hns_traffic, two_namespaces_ping_and_talk_tcp) {
  char net[64], ea[64], eb[64];
  tn_net(tn_id("tcp-net", net, sizeof(net)),
         "{\"Name\":\"tcpnet\",\"Type\":\"internal\",\"Subnets\":[{"
         "\"AddressPrefix\":\"10.203.1.0/24\"}]");
  char body[256];
  snprintf(body, sizeof(body), "{\"VirtualNetwork\":\"%s\"", net);
  hcs_hns_endpoint_t *a = tn_ep(tn_id("tcp-a", ea, sizeof(ea)), body);
  hcs_hns_endpoint_t *b = tn_ep(tn_id("tcp-b", eb, sizeof(eb)), body);

  static kid_args_t sa = {.port = 7000, .conns = 1};
  static kid_args_t ca = {.port = 7000};
  snprintf(ca.ip, sizeof(ca.ip), "%s", a->ip_address);
  tn_kid_t server, client;
  tn_kid_start(&server, kid_server, &sa);
  tn_kid_start(&client, kid_client, &ca);
  tn_attach(ea, &server, "eth0");
  tn_attach(eb, &client, "eth0");
  tn_kid_go(&server);
  cr_assert_eq(tn_kid_byte(&server), 'L');
  tn_kid_go(&client);
  expect_exit(&client, 0);
  expect_exit(&server, 0);
  hcs_hns_endpoint_free(a);
  hcs_hns_endpoint_free(b);
}

/* connect to ip:port from the host and trade ping for pong. */
static void host_talk(const char *ip, int port) {
  cr_assert_eq(talk(ip, port), 0, "tcp %s:%d: %s", ip, port, strerror(errno));
}

static void host_udp(const char *ip, int port) {
  struct sockaddr_in sa;
  to_addr(&sa, ip, port);
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(s, 0);
  char buf[8];
  cr_assert_eq(sendto(s, "ping", 4, 0, (struct sockaddr *)&sa, sizeof(sa)), 4);
  cr_assert_eq(wait_fd(s, POLLIN, KID_MS), 0, "no UDP answer from %s:%d", ip,
               port);
  cr_assert_eq(recv(s, buf, sizeof(buf), 0), 4);
  cr_assert_eq(memcmp(buf, "pong", 4), 0);
  close(s);
}

Test(hns_traffic, nat_mapping_reaches_the_namespace_from_the_host) {
  char net[64], ep[64], body[512];
  int tcp = host_port(21000), udp = host_port(26000);
  tn_net(tn_id("nat-net", net, sizeof(net)),
         "{\"Name\":\"natnet\",\"Type\":\"nat\",\"Subnets\":[{"
         "\"AddressPrefix\":\"10.203.2.0/24\"}]");
  snprintf(body, sizeof(body),
           "{\"VirtualNetwork\":\"%s\",\"Policies\":[{\"Type\":\"NAT\","
           "\"Protocol\":\"tcp\",\"InternalPort\":8080,\"ExternalPort\":%d},"
           "{\"Type\":\"NAT\",\"Protocol\":\"udp\",\"InternalPort\":5353,"
           "\"ExternalPort\":%d}]",
           net, tcp, udp);
  hcs_hns_endpoint_t *e = tn_ep(tn_id("nat-ep", ep, sizeof(ep)), body);
  cr_assert_eq(e->n_nat_policies, 2);

  static kid_args_t sa = {.port = 8080, .udp_port = 5353, .conns = 2};
  tn_kid_t server;
  tn_kid_start(&server, kid_server, &sa);
  tn_attach(ep, &server, "eth0");
  tn_kid_go(&server);
  cr_assert_eq(tn_kid_byte(&server), 'L');
  host_talk("127.0.0.1", tcp);
  host_talk(e->gateway_address, tcp);
  host_udp("127.0.0.1", udp);
  expect_exit(&server, 0);
  hcs_hns_endpoint_free(e);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(hns_traffic, qos_caps_egress_within_a_fifth) {
  const double rate = 1250000; /* bytes per second: 10 Mbit/s */
  char net[64], ep[64], body[512];
  tn_net(tn_id("qos-net", net, sizeof(net)),
         "{\"Name\":\"qosnet\",\"Type\":\"nat\",\"Subnets\":[{"
         "\"AddressPrefix\":\"10.203.3.0/24\"}]");
  snprintf(body, sizeof(body),
           "{\"VirtualNetwork\":\"%s\",\"Policies\":[{\"Type\":\"QOS\","
           "\"MaximumOutgoingBandwidthInBytes\":%.0f}]",
           net, rate);
  hcs_hns_endpoint_t *e = tn_ep(tn_id("qos-ep", ep, sizeof(ep)), body);

  /* The receiver is this process, on the bridge's address. Its small
   * receive window keeps the sender's data in flight under the shaper's
   * queue (tbf's 50 ms, qos.c): a bulk sender that overflows it loses
   * packets, and the retransmission stalls of its recovery would be
   * measured with the cap. */
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int rcvbuf = 32 * 1024;
  cr_assert_eq(setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)),
               0);
  struct sockaddr_in sa;
  to_addr(&sa, e->gateway_address, host_port(31000));
  cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind: %s",
               strerror(errno));
  cr_assert_eq(listen(lfd, 1), 0);
  static kid_args_t ka;
  snprintf(ka.ip, sizeof(ka.ip), "%s", e->gateway_address);
  ka.port = host_port(31000);
  tn_kid_t sender;
  tn_kid_start(&sender, kid_sender, &ka);
  tn_attach(ep, &sender, "eth0");
  tn_kid_go(&sender);
  cr_assert_eq(wait_fd(lfd, POLLIN, KID_MS), 0, "the sender never came");
  int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  cr_assert_geq(c, 0);

  static char buf[65536];
  double start = 0, end = 0;
  size_t bytes = 0;
  /* Counted from the first byte for 2 s. */
  for (;;) {
    cr_assert_eq(wait_fd(c, POLLIN, KID_MS), 0, "the sender stalled");
    ssize_t n = read(c, buf, sizeof(buf));
    cr_assert_gt(n, 0);
    double t = now_s();
    if (start == 0) {
      start = t;
      continue;
    }
    bytes += (size_t)n;
    end = t;
    if (end - start >= 2.0) {
      break;
    }
  }
  close(c);
  close(lfd);
  double measured = (double)bytes / (end - start);
  cr_log_info("QoS: measured %.0f B/s against a cap of %.0f B/s", measured,
              rate);
  cr_assert(measured > rate * 0.8 && measured < rate * 1.2,
            "measured %.0f B/s against a cap of %.0f B/s", measured, rate);
  expect_exit(&sender, 0);
  hcs_hns_endpoint_free(e);
}

Test(hns_traffic, attach_detach_and_reclaim) {
  char net[64], ep[64], body[512], why[256];
  tn_net(tn_id("att-net", net, sizeof(net)),
         "{\"Name\":\"attnet\",\"Type\":\"nat\",\"Subnets\":[{"
         "\"AddressPrefix\":\"10.203.4.0/24\"}],\"DNSServerList\":"
         "\"10.203.4.1,2001:db8::53\",\"DNSSuffix\":\"a.example,b.example\"");
  snprintf(body, sizeof(body), "{\"VirtualNetworkName\":\"attnet\"");
  hcs_hns_endpoint_free(tn_ep(tn_id("att-ep", ep, sizeof(ep)), body));

  char conf[256];
  cr_assert_eq(hcs__hns_resolv_conf(tn.hcs, ep, conf, sizeof(conf)), 0);
  cr_assert_str_eq(conf, "nameserver 10.203.4.1\nnameserver 2001:db8::53\n"
                         "search a.example b.example\n");
  cr_assert_eq(hcs__hns_resolv_conf(tn.hcs, ep, conf, 10), -ENOSPC);
  cr_assert_eq(hcs__hns_resolv_conf(tn.hcs, "nosuch", conf, sizeof(conf)),
               -ENOENT);
  cr_assert_eq(
      hcs__hns_attach(tn.hcs, "nosuch", getpid(), "eth0", why, sizeof(why)),
      -ENOENT);
  cr_assert(hcs__hns_endpoint_known(tn.hcs, ep));
  cr_assert(!hcs__hns_endpoint_known(tn.hcs, "nosuch"));

  static kid_args_t sa = {.port = 7001, .conns = 0};
  tn_kid_t k1, k2;
  tn_kid_start(&k1, kid_server, &sa);
  tn_attach(ep, &k1, "eth1");
  cr_assert(!tn_link_exists("hcsp", ep), "the p end is still on the host");
  cr_assert_eq(hcs__hns_attach(tn.hcs, ep, k1.pid, "eth2", why, sizeof(why)),
               -EBUSY);
  hcs_error_t *err = NULL;
  hcs_hns_endpoint_t *none = NULL;
  hcs_result_t r =
      hcs_HNSEndpointRequest(tn.hcs, "DELETE", ep, NULL, &none, &err);
  tn_expect(r, err, HCS_WSAEINVAL, "attached to a compute system");

  /* The system dies without a detach: its namespace takes the pair. The
   * next attach makes it again. */
  kill(k1.pid, SIGKILL);
  tn_kid_wait(&k1);
  tn_kid_start(&k2, kid_server, &sa);
  tn_wait_link_gone("hcsv", ep);
  tn_attach(ep, &k2, "eth0");
  hcs__hns_detach(tn.hcs, ep);
  cr_assert(tn_link_exists("hcsp", ep), "detach left the p end away");
  cr_assert(tn_link_exists("hcsv", ep));
  hcs__hns_detach(tn.hcs, ep); /* twice is fine */
  hcs__hns_detach(tn.hcs, "nosuch");
  tn_attach(ep, &k2, "eth0");
  hcs__hns_detach(tn.hcs, ep);
  cr_assert_eq(hcs_HNSEndpointRequest(tn.hcs, "DELETE", ep, NULL, &none, NULL),
               HCS_OK);
  cr_assert(!tn_link_exists("hcsv", ep));
}
