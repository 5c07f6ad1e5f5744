/* SPDX-License-Identifier: MIT */
/* Published ports against hcsd with the real docker CLI: -p HOST:CTR, -p
 * CTR (a host port of the dynamic range), /udp, -P with --expose, on the
 * default network and on a user network; bytes from a busybox `nc -l`
 * in the container read through the host port; NetworkSettings.Ports,
 * `docker port` and `docker ps` as dockerd shows them; a port already
 * allocated, one a host process holds, and the refusals; no DNAT rule
 * left once the containers are gone.
 *
 * "The host" is the daemon's network namespace (hcsd_e2e.h): the client
 * side runs on a thread that joins it with setns. One daemon per test
 * (he_setup), each ending with he_end()'s checks. */
#include "hcsd_e2e.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>

TestSuite(hcsd_ports, .init = he_setup, .fini = he_teardown, .timeout = 300);

/* A client in the daemon's network namespace. */
typedef struct peer_s {
  unsigned port;
  bool udp;
  const char *send; /* a datagram (udp) */
  char got[256];    /* what a TCP connection read until EOF */
  int err;          /* errno of the last failed connect */
} peer_t;

static int daemon_netns(void) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)he.pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
  return fd;
}

/* Connects to 127.0.0.1:port and reads to EOF; the server may not listen
 * yet, so a refused connection or an empty answer is tried again for 30
 * s. UDP: sends the datagram once. */
static void *peer_run(void *arg) {
  peer_t *p = arg;
  int ns = daemon_netns();
  if (setns(ns, CLONE_NEWNET) != 0) {
    p->err = errno;
    close(ns);
    return NULL;
  }
  close(ns);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)p->port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int64_t deadline = th_now_ms() + 30000;
  do {
    int s =
        socket(AF_INET, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    if (s < 0) {
      p->err = errno;
      return NULL;
    }
    struct timeval tv = {.tv_sec = 5};
    (void)setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
      p->err = errno;
    } else if (p->udp) {
      p->err = send(s, p->send, strlen(p->send), 0) < 0 ? errno : 0;
      close(s);
      return NULL;
    } else {
      size_t n = 0;
      ssize_t r;
      while (n + 1 < sizeof(p->got) &&
             (r = read(s, p->got + n, sizeof(p->got) - 1 - n)) > 0) {
        n += (size_t)r;
      }
      p->got[n] = '\0';
      p->err = 0;
    }
    close(s);
    if (p->got[0] == '\0') {
      usleep(200 * 1000);
    }
  } while (p->got[0] == '\0' && th_now_ms() < deadline);
  return NULL;
}

static void peer(peer_t *p) {
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, peer_run, p), 0);
  cr_assert_eq(pthread_join(t, NULL), 0);
}

/* What a TCP client reads from 127.0.0.1:port (asserting it read some). */
static void tcp_read(unsigned port, char *out, size_t n) {
  peer_t p = {.port = port};
  peer(&p);
  cr_assert(p.got[0] != '\0', "nothing read from port %u (errno %d: %s)\n%s",
            port, p.err, strerror(p.err), he_log_tail());
  snprintf(out, n, "%s", p.got);
}

/* `nft list ruleset` in the daemon's namespace, into out. */
static void ruleset(th_buf_t *out) {
  char ns[64];
  snprintf(ns, sizeof(ns), "--net=/proc/%d/ns/net", (int)he.pid);
  he_cmd_t c;
  he_run_argv(&c, NULL, 0, HE_ARGV("nsenter", ns, "nft", "list", "ruleset"));
  he_expect_code(&c, 0);
  th_buf_add(out, c.o.p, c.o.len);
  th_buf_add(out, "", 0);
  he_cmd_free(&c);
}

/* A detached server: `nc -l -p 80` answering msg to each client. */
#define serve(name, msg, ...)                                                  \
  do {                                                                         \
    char id_[128];                                                             \
    he_docker_line(id_, sizeof(id_), "run", "-d", "--name", (name),            \
                   __VA_ARGS__, "busybox", "sh", "-c",                         \
                   "while true; do echo " msg " | nc -l -p 80; done");         \
  } while (0)

Test(hcsd_ports, publish_fixed_random_inspect_port_ps_and_cleanup) {
  char line[1024];
  serve("s1", "hello-fixed", "-p", "18080:80");
  tcp_read(18080, line, sizeof(line));
  cr_assert_str_eq(line, "hello-fixed\n");

  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{json .NetworkSettings.Ports}}", "s1");
  cr_assert_str_eq(line, "{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\","
                         "\"HostPort\":\"18080\"}]}");
  he_cmd_t c;
  he_docker_ok(&c, "port", "s1");
  cr_assert_str_eq(c.o.p, "80/tcp -> 0.0.0.0:18080\n");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "ps", "--filter", "name=s1", "--format",
                 "{{.Ports}}");
  cr_assert_str_eq(line, "0.0.0.0:18080->80/tcp");

  /* -p 80 with --expose 81: a port of the dynamic range, 81 unpublished. */
  serve("s2", "hello-random", "-p", "80", "--expose", "81");
  he_docker_line(line, sizeof(line), "port", "s2", "80");
  unsigned lo = 0, hi = 0, got = 0;
  FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
  cr_assert_not_null(f);
  cr_assert_eq(fscanf(f, "%u %u", &lo, &hi), 2);
  fclose(f);
  cr_assert_eq(sscanf(line, "0.0.0.0:%u", &got), 1, "%s", line);
  cr_assert(got >= lo && got <= hi, "host port %u outside %u-%u", got, lo, hi);
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{json (index .NetworkSettings.Ports \"81/tcp\")}}", "s2");
  cr_assert_str_eq(line, "null");
  tcp_read(got, line, sizeof(line));
  cr_assert_str_eq(line, "hello-random\n");

  /* The port s1 holds. */
  he_docker_fails(125,
                  "Bind for 0.0.0.0:18080 failed: port is already "
                  "allocated",
                  "run", "-d", "--name", "s3", "-p", "18080:80", "busybox",
                  "sleep", "60");
  he_docker_line(line, sizeof(line), "inspect", "-f", "{{.State.Status}}",
                 "s3");
  cr_assert_str_eq(line, "created");
  /* One container asking twice for a host port. */
  he_docker_fails(125,
                  "Bind for 0.0.0.0:18089 failed: port is already "
                  "allocated",
                  "run", "--rm", "-p", "18089:80", "-p", "18089:81", "busybox",
                  "true");

  th_buf_t rs = {0};
  ruleset(&rs);
  he_expect_has(rs.p, "tcp dport 18080 dnat");
  th_buf_free(&rs);
  /* Stopped: no mappings, none shown. */
  he_docker_ok(&c, "rm", "-f", "s1", "s2", "s3");
  he_cmd_free(&c);
  memset(&rs, 0, sizeof(rs));
  ruleset(&rs);
  cr_assert(strstr(rs.p, "dnat to") == NULL, "DNAT rules left:\n%s", rs.p);
  th_buf_free(&rs);

  /* The port is free again, and a stopped container shows no ports. */
  serve("s4", "hello-again", "-p", "18080:80");
  tcp_read(18080, line, sizeof(line));
  cr_assert_str_eq(line, "hello-again\n");
  /* A range: its first port that is free. */
  serve("s5", "hello-range", "-p", "18080-18085:80");
  he_docker_line(line, sizeof(line), "port", "s5", "80");
  cr_assert_str_eq(line, "0.0.0.0:18081");
  tcp_read(18081, line, sizeof(line));
  cr_assert_str_eq(line, "hello-range\n");
  he_docker_ok(&c, "rm", "-f", "s5");
  he_cmd_free(&c);
  he_docker_ok(&c, "stop", "-t", "1", "s4");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{json .NetworkSettings.Ports}}", "s4");
  cr_assert_str_eq(line, "{}");
  he_docker_ok(&c, "port", "s4");
  cr_assert_str_eq(c.o.p, "");
  he_cmd_free(&c);
  he_end();
}

/* Datagrams to 127.0.0.1:15353 until the container's udprecv logs one
 * (it may not be bound yet when the first ones come). */
static void he_expect_udp(const char *ctr) {
  int64_t deadline = th_now_ms() + 30000;
  for (;;) {
    peer_t p = {.port = 15353, .udp = true, .send = "hello-udp"};
    peer(&p);
    cr_assert_eq(p.err, 0, "send: %s", strerror(p.err));
    he_cmd_t c;
    he_docker_ok(&c, "logs", ctr);
    bool got = strstr(c.o.p, "hello-udp") != NULL;
    he_cmd_free(&c);
    if (got) {
      return;
    }
    cr_assert_lt(th_now_ms(), deadline, "no datagram reached %s", ctr);
    usleep(300 * 1000);
  }
}

Test(hcsd_ports, user_network_udp_and_publish_all) {
  char line[1024];
  he_cmd_t c;
  he_docker_ok(&c, "network", "create", "n1");
  he_cmd_free(&c);
  char id[128], vol[512];
  snprintf(vol, sizeof(vol), "%s:/h:ro", HCS_TEST_HELPERS_DIR);
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "u1", "--network", "n1",
                 "-p", "18082:80", "-p", "15353:53/udp", "-v", vol, "busybox",
                 "sh", "-c",
                 "/h/udprecv 53 & while true; do echo hello-user-net | nc -l "
                 "-p 80; done");
  tcp_read(18082, line, sizeof(line));
  cr_assert_str_eq(line, "hello-user-net\n");
  he_docker_ok(&c, "port", "u1");
  cr_assert_str_eq(c.o.p, "53/udp -> 0.0.0.0:15353\n"
                          "80/tcp -> 0.0.0.0:18082\n");
  he_cmd_free(&c);
  th_buf_t rs = {0};
  ruleset(&rs);
  he_expect_has(rs.p, "udp dport 15353 dnat");
  th_buf_free(&rs);
  he_expect_udp("u1");

  /* -P publishes each exposed port on a port of the dynamic range. */
  serve("u2", "hello-all", "--network", "n1", "--expose", "80", "-P");
  he_docker_line(line, sizeof(line), "port", "u2", "80/tcp");
  unsigned got = 0;
  cr_assert_eq(sscanf(line, "0.0.0.0:%u", &got), 1, "%s", line);
  tcp_read(got, line, sizeof(line));
  cr_assert_str_eq(line, "hello-all\n");

  he_docker_ok(&c, "rm", "-f", "u1", "u2");
  he_cmd_free(&c);
  he_docker_ok(&c, "network", "rm", "n1");
  he_cmd_free(&c);
  he_end();
}

Test(hcsd_ports, refusals_and_a_port_the_host_holds) {
  he_docker_fails(125, "host address", "run", "--rm", "-p",
                  "127.0.0.1:18081:80/tcp", "busybox", "true");
  he_docker_fails(125, "port publishing", "run", "--rm", "--network", "none",
                  "-p", "80:80", "busybox", "true");
  he_docker_fails(125, "port publishing", "run", "--rm", "--network", "host",
                  "-p", "80:80", "busybox", "true");
  he_docker_fails(125, "sctp", "run", "--rm", "-p", "80:80/sctp", "busybox",
                  "true");

  /* A host process listens on 18090: dockerd's proxy could not bind it. */
  int ns = daemon_netns();
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  cr_assert_geq(self, 0);
  cr_assert_eq(setns(ns, CLONE_NEWNET), 0, "setns: %s", strerror(errno));
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(18090)};
  cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind: %s",
               strerror(errno));
  cr_assert_eq(listen(s, 1), 0);
  cr_assert_eq(setns(self, CLONE_NEWNET), 0, "setns back: %s", strerror(errno));
  close(self);
  close(ns);
  he_docker_fails(125, "address already in use", "run", "--name", "h1", "-p",
                  "18090:80", "busybox", "true");
  close(s);
  he_cmd_t c;
  he_docker_ok(&c, "rm", "h1");
  he_cmd_free(&c);
  he_end();
}
