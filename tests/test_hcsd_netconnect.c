/* SPDX-License-Identifier: MIT */
/* Containers on networks against hcsd with the real docker CLI: names
 * (and --network-alias names) that resolve between the containers of a
 * user network (and not on the default one, as dockerd), kept up to date
 * as containers come and go; docker network connect and disconnect of
 * stopped and running containers. One daemon per test (he_setup), each
 * ending with he_end()'s checks. */
#include "hcsd_e2e.h"

TestSuite(hcsd_netconnect, .init = he_setup, .fini = he_teardown,
          .timeout = 300);

/* A detached container that sleeps, on network net ("" for the default). */
static void sleeper(const char *name, const char *net) {
  char id[128];
  if (net[0] != '\0') {
    he_docker_line(id, sizeof(id), "run", "-d", "--name", name, "--network",
                   net, "busybox", "sleep", "300");
  } else {
    he_docker_line(id, sizeof(id), "run", "-d", "--name", name, "busybox",
                   "sleep", "300");
  }
}

/* `docker ARGS` must succeed; its output is not needed. */
#define ok(...)                                                                \
  do {                                                                         \
    he_cmd_t ok_c_;                                                            \
    he_docker_ok(&ok_c_, __VA_ARGS__);                                         \
    he_cmd_free(&ok_c_);                                                       \
  } while (0)

/* `docker exec from ping -c1 -W2 to`: its exit code (output in c). */
static int ping(he_cmd_t *c, const char *from, const char *to) {
  return he_docker(c, "exec", from, "ping", "-c1", "-W2", to);
}

/* from reaches to by that name (reach) or does not (!reach). */
static void reaches(const char *from, const char *to, bool reach) {
  he_cmd_t c;
  int code = ping(&c, from, to);
  if (reach) {
    he_expect_code(&c, 0);
  } else {
    cr_assert_neq(code, 0, "%s still reaches %s", from, to);
  }
  he_cmd_free(&c);
}

/* The names of network net's members, in either order of a and b. */
static void members_are(const char *net, const char *a, const char *b) {
  char line[1024], ab[128], ba[128];
  he_docker_line(line, sizeof(line), "network", "inspect", "-f",
                 "{{range .Containers}}{{.Name}} {{end}}", net);
  snprintf(ab, sizeof(ab), "%s %s ", a, b);
  snprintf(ba, sizeof(ba), "%s %s ", b, a);
  cr_assert(strcmp(line, ab) == 0 || strcmp(line, ba) == 0, "%s", line);
}

Test(hcsd_netconnect, names_resolve_on_user_networks_only) {
  he_cmd_t c;
  char line[1024], want[256], id[128];
  ok("network", "create", "n1");
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "a", "--network", "n1",
                 "--network-alias", "db", "busybox", "sleep", "300");
  sleeper("b", "n1");
  /* b came after a: a's file was rewritten while a ran. */
  reaches("a", "b", true);
  reaches("b", "a", true);
  reaches("b", "db", true);
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{json .NetworkSettings.Networks.n1.Aliases}}", "a");
  cr_assert_str_eq(line, "[\"db\"]");
  he_docker_line(id, sizeof(id), "inspect", "-f", "{{.Id}}", "b");
  snprintf(want, sizeof(want), "%.12s", id);
  reaches("a", want, true);
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{json .NetworkSettings.Networks.n1.DNSNames}}", "b");
  snprintf(want, sizeof(want), "[\"b\",\"%.12s\"]", id);
  cr_assert_str_eq(line, want);
  members_are("n1", "a", "b");

  /* b leaves: a no longer finds it. */
  ok("rm", "-f", "b");
  he_docker_ok(&c, "exec", "a", "cat", "/etc/hosts");
  cr_assert(strstr(c.o.p, "\tb ") == NULL, "b still listed:\n%s", c.o.p);
  he_cmd_free(&c);
  reaches("a", "b", false);

  /* The default network gives no names, as dockerd's. */
  sleeper("x", "");
  sleeper("y", "");
  cr_assert_neq(ping(&c, "x", "y"), 0, "x reaches y by name: %s", c.o.p);
  he_expect_has(c.e.p, "bad address");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{json .NetworkSettings.Networks.bridge.DNSNames}}", "y");
  cr_assert_str_eq(line, "null");
  /* The CLI keeps --network-alias off the default network; the API says
   * why when a client does not. */
  he_request_fails("POST", "/v1.50/containers/create",
                   "{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":"
                   "\"bridge\"},\"NetworkingConfig\":{\"EndpointsConfig\":{"
                   "\"bridge\":{\"Aliases\":[\"x\"]}}}}",
                   400, "network-scoped alias");

  ok("rm", "-f", "a", "x", "y");
  ok("network", "rm", "n1");
  he_end();
}

/* Whether `docker exec ctr ip -o -4 addr show dev` succeeds; its output in
 * out. */
static int addr_of(const char *ctr, const char *dev, char *out, size_t n) {
  he_cmd_t c;
  int code = he_docker(&c, "exec", ctr, "ip", "-o", "-4", "addr", "show", dev);
  snprintf(out, n, "%s", c.o.p);
  he_cmd_free(&c);
  return code;
}

Test(hcsd_netconnect, connect_and_disconnect_stopped_and_running) {
  char line[1024], ip[64], out[1024];
  ok("network", "create", "n1");
  ok("network", "create", "n2");
  sleeper("p", "n2");
  ok("create", "--name", "c", "--network", "n1", "busybox", "sleep", "300");

  ok("network", "connect", "--alias", "web", "n2", "c");
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{json .NetworkSettings.Networks.n2.Aliases}}", "c");
  cr_assert_str_eq(line, "[\"web\"]");
  he_docker_fails(1, "already exists in network n2", "network", "connect", "n2",
                  "c");
  he_docker_fails(1, "--ip", "network", "connect", "--ip", "172.30.9.9", "n2",
                  "c");
  he_docker_fails(1, "No such container", "network", "connect", "n2", "nope");
  he_docker_fails(1, "not found", "network", "connect", "nonet", "c");

  /* At start: eth0 on n1, eth1 on n2, and the names of n2. */
  ok("start", "c");
  he_docker_line(ip, sizeof(ip), "inspect", "-f",
                 "{{.NetworkSettings.Networks.n2.IPAddress}}", "c");
  cr_assert_neq(ip[0], '\0', "no address on n2");
  cr_assert_eq(addr_of("c", "eth1", out, sizeof(out)), 0, "no eth1");
  he_expect_has(out, ip);
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{.NetworkSettings.Networks.n1.IPAddress}}", "c");
  cr_assert_eq(addr_of("c", "eth0", out, sizeof(out)), 0, "no eth0");
  he_expect_has(out, line);
  reaches("c", "p", true);
  reaches("p", "web", true);
  reaches("p", "c", true);
  members_are("n2", "c", "p");

  /* Running: p gets an interface on n1 at once, and loses it again. */
  ok("network", "connect", "--alias", "pp", "n1", "p");
  he_docker_line(ip, sizeof(ip), "inspect", "-f",
                 "{{.NetworkSettings.Networks.n1.IPAddress}}", "p");
  cr_assert_neq(ip[0], '\0', "p has no address on n1");
  cr_assert_eq(addr_of("p", "eth1", out, sizeof(out)), 0, "p has no eth1");
  he_expect_has(out, ip);
  reaches("c", "pp", true);
  ok("network", "disconnect", "n1", "p");
  cr_assert_neq(addr_of("p", "eth1", out, sizeof(out)), 0, "eth1 left: %s",
                out);
  reaches("c", "pp", false);

  ok("stop", "-t", "1", "c");
  ok("network", "disconnect", "n2", "c");
  he_docker_fails(1, "is not connected to network n2", "network", "disconnect",
                  "n2", "c");
  he_docker_fails(1, "NetworkMode", "network", "disconnect", "n1", "c");
  ok("start", "c");
  cr_assert_neq(addr_of("c", "eth1", out, sizeof(out)), 0, "eth1 left: %s",
                out);
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
                 "c");
  cr_assert_str_eq(line, "n1 ");
  reaches("p", "web", false);

  ok("rm", "-f", "c", "p");
  ok("network", "rm", "n1", "n2");
  he_end();
}

/* What connect and --network-alias recorded is there after hcsd restarts
 * on its state directory, and the container starts with it. */
Test(hcsd_netconnect, records_survive_a_restart) {
  char line[1024], out[1024], id[128];
  ok("network", "create", "n1");
  ok("network", "create", "n2");
  ok("create", "--name", "c", "--network", "n1", "--network-alias", "db",
     "busybox", "sleep", "300");
  ok("network", "connect", "--alias", "web", "n2", "c");

  he_daemon_stop();
  he_daemon_start();

  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{json .NetworkSettings.Networks.n2.Aliases}}", "c");
  cr_assert_str_eq(line, "[\"web\"]");
  ok("start", "c");
  cr_assert_eq(addr_of("c", "eth1", out, sizeof(out)), 0, "no eth1");
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "p", "--network", "n1",
                 "busybox", "sleep", "300");
  reaches("p", "db", true);
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{json .NetworkSettings.Networks.n1.Aliases}}", "c");
  cr_assert_str_eq(line, "[\"db\"]");

  ok("rm", "-f", "c", "p");
  ok("network", "rm", "n1", "n2");
  he_end();
}

/* docker run --network n1 --network n2: both at create, an interface on
 * each, the names of both. */
Test(hcsd_netconnect, two_networks_at_create) {
  he_cmd_t c;
  char line[1024], out[1024], id[128];
  ok("network", "create", "n1");
  ok("network", "create", "n2");
  sleeper("p", "n2");
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "m", "--network", "n1",
                 "--network", "n2", "busybox", "sleep", "300");
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
                 "m");
  cr_assert_str_eq(line, "n1 n2 ");
  he_docker_line(line, sizeof(line), "inspect", "-f",
                 "{{.NetworkSettings.Networks.n2.IPAddress}}", "m");
  cr_assert_eq(addr_of("m", "eth1", out, sizeof(out)), 0, "no eth1");
  he_expect_has(out, line);
  reaches("m", "p", true);
  reaches("p", "m", true);
  /* m is on n2 by its second --network, p by its NetworkMode. */
  he_cmd_t f;
  he_docker_ok(&f, "ps", "--filter", "network=n2", "--format", "{{.Names}}");
  cr_assert(strstr(f.o.p, "m\n") != NULL && strstr(f.o.p, "p\n") != NULL,
            "ps --filter network=n2: %s", f.o.p);
  he_cmd_free(&f);
  he_docker_fails(1, "network nonet not found", "create", "--network", "n1",
                  "--network", "nonet", "busybox", "true");
  he_docker_ok(&c, "ps", "-aq");
  cr_assert_eq(strlen(c.o.p), 26, "containers left: %s", c.o.p);
  he_cmd_free(&c);

  ok("rm", "-f", "m", "p");
  ok("network", "rm", "n1", "n2");
  he_end();
}
