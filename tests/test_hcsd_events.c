/* SPDX-License-Identifier: MIT */
/* docker events through the docker CLI 28.2 (issue 17): a stream
 * filtered by container sees a container's life in dockerd's order
 * (create, start, the exec's three, pause, unpause, the kill, die and
 * stop of docker stop, docker restart's restart after them, destroy),
 * --since/--until replay the kept events and end, the filters by label, image,
 * type and event select what dockerd selects, and clients that leave hold
 * nothing in the daemon. One daemon per test (he_setup), each ending with
 * he_end(). */
#include "hcsd_e2e.h"

#include <time.h>

TestSuite(hcsd_events, .init = he_setup, .fini = he_teardown, .timeout = 240);

/* Now, as the CLI's --since and --until take it. */
static void stamp(char *out, size_t n) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(out, n, "%lld.%09ld", (long long)ts.tv_sec, ts.tv_nsec);
}

static void docker_ok(const char *const *argv) {
  he_cmd_t c;
  he_run_argv(&c, NULL, 0, argv);
  he_expect_code(&c, 0);
  he_cmd_free(&c);
}

#define DOCKER_OK(...) docker_ok(HE_ARGV("docker", __VA_ARGS__))

/* Reads c's stdout until it holds want, for ms at most. */
static void read_until(he_cmd_t *c, const char *want, int64_t ms) {
  int64_t deadline = th_now_ms() + ms;
  while (c->o.p == NULL || strstr(c->o.p, want) == NULL) {
    int64_t left = deadline - th_now_ms();
    cr_assert_gt(left, 0, "`%s`: no \"%s\" in: %s", c->what, want, c->o.p);
    struct pollfd pf = {.fd = c->out, .events = POLLIN};
    if (poll(&pf, 1, (int)left) == 1) {
      char buf[4096];
      ssize_t got = read(c->out, buf, sizeof(buf));
      cr_assert_gt(got, 0, "`%s` ended: %s %s", c->what, c->o.p, c->e.p);
      th_buf_add(&c->o, buf, (size_t)got);
    }
  }
}

static const char lifecycle[] = "create\n"
                                "start\n"
                                "exec_create: true \n"
                                "exec_start: true \n"
                                "exec_die\n"
                                "pause\n"
                                "unpause\n"
                                "kill\n"
                                "die\n"
                                "stop\n"
                                "start\n"
                                "kill\n"
                                "die\n"
                                "stop\n"
                                "start\n"
                                "restart\n"
                                "kill\n"
                                "die\n"
                                "destroy\n";

/* The stream sees ev1's life in order, and only ev1's; a replay of the
 * same time with --until ends by itself. */
Test(hcsd_events, container_lifecycle_in_order) {
  char t0[64], t1[64];
  stamp(t0, sizeof(t0));
  /* --since t0: what happens before the stream is up is replayed. */
  he_cmd_t ev;
  he_cmd_start(&ev,
               HE_ARGV("docker", "events", "--since", t0, "--filter",
                       "container=ev1", "--format", "{{.Status}}"),
               NULL, 0);
  DOCKER_OK("run", "-d", "--name", "other", "busybox", "sleep", "1000");
  DOCKER_OK("run", "-d", "--name", "ev1", "busybox", "sleep", "1000");
  DOCKER_OK("exec", "ev1", "true");
  DOCKER_OK("pause", "ev1");
  DOCKER_OK("unpause", "ev1");
  DOCKER_OK("stop", "-t", "5", "ev1");
  DOCKER_OK("start", "ev1");
  DOCKER_OK("restart", "-t", "5", "ev1");
  DOCKER_OK("kill", "ev1");
  DOCKER_OK("rm", "ev1");
  read_until(&ev, "destroy\n", 20000);
  stamp(t1, sizeof(t1));
  cr_assert_str_eq(ev.o.p, lifecycle);
  kill(ev.pid, SIGKILL);
  he_cmds_wait(&ev, 1, HE_CMD_MS);
  he_cmd_free(&ev);

  /* The replay of t0..t1: the same events, and the CLI exits. */
  he_cmd_t c;
  he_docker_ok(&c, "events", "--since", t0, "--until", t1, "--filter",
               "container=ev1", "--format", "{{.Status}}");
  cr_assert_str_eq(c.o.p, lifecycle);
  he_cmd_free(&c);
  /* The dies with their codes: TERM forwarded by hcs's init, then KILL. */
  he_docker_ok(&c, "events", "--since", t0, "--until", t1, "--filter",
               "container=ev1", "--filter", "event=die", "--format",
               "{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}");
  cr_assert_str_eq(c.o.p, "ev1 143\nev1 143\nev1 137\n");
  he_cmd_free(&c);
  DOCKER_OK("rm", "-f", "other");
  he_end();
}

/* Filters by label, image, type and event, replayed. */
Test(hcsd_events, filters_select) {
  char t0[64], t1[64];
  stamp(t0, sizeof(t0));
  DOCKER_OK("create", "--name", "x1", "--label", "job=1", "busybox", "true");
  DOCKER_OK("create", "--name", "x2", "--label", "job=2", "busybox", "true");
  DOCKER_OK("volume", "create", "v1");
  DOCKER_OK("rename", "x2", "x3");
  stamp(t1, sizeof(t1));
  static const struct {
    const char *filter, *want;
  } cases[] = {
      {"label=job=1", "create x1\n"},
      {"label=job", "create x1\ncreate x2\nrename x3\n"},
      {"image=busybox", "create x1\ncreate x2\nrename x3\n"},
      {"image=nosuch", ""},
      {"container=x2", "create x2\n"},
      {"container=x3", "rename x3\n"},
      {"event=destroy", ""},
      {"type=container", "create x1\ncreate x2\nrename x3\n"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    he_cmd_t c;
    he_docker_ok(&c, "events", "--since", t0, "--until", t1, "--filter",
                 cases[i].filter, "--format",
                 "{{.Action}} {{.Actor.Attributes.name}}");
    cr_assert_str_eq(c.o.p, cases[i].want, "--filter %s", cases[i].filter);
    he_cmd_free(&c);
  }
  /* A volume's event is its own type. */
  he_cmd_t c;
  he_docker_ok(&c, "events", "--since", t0, "--until", t1, "--filter",
               "type=volume", "--format",
               "{{.Type}} {{.Action}} {{.Actor.ID}}");
  cr_assert_str_eq(c.o.p, "volume create v1\n");
  he_cmd_free(&c);
  /* A rename names the new name and the old one. */
  he_docker_ok(&c, "events", "--since", t0, "--until", t1, "--filter",
               "event=rename", "--format",
               "{{.Actor.Attributes.name}} {{.Actor.Attributes.oldName}}");
  cr_assert_str_eq(c.o.p, "x3 /x2\n");
  he_cmd_free(&c);
  he_docker_fails(1, "Invalid filter 'bogus'", "events", "--since", t0,
                  "--until", t1, "--filter", "bogus=1");
  he_request_fails("GET", "/v1.50/events?since=x", NULL, 400, "since");
  he_request_fails("GET", "/v1.50/events?since=20&until=10.5", NULL, 400,
                   "`since` time (20) cannot be after `until` time (10.5)");
  DOCKER_OK("rm", "x1", "x3");
  DOCKER_OK("volume", "rm", "v1");
  he_end();
}

/* docker run without -d attaches before it starts; docker top is told
 * too, as dockerd tells them. */
Test(hcsd_events, attach_and_top) {
  char t0[64], t1[64];
  stamp(t0, sizeof(t0));
  DOCKER_OK("run", "--name", "at", "busybox", "true");
  DOCKER_OK("run", "-d", "--name", "tp", "busybox", "sleep", "1000");
  DOCKER_OK("top", "tp");
  DOCKER_OK("rm", "-f", "at", "tp");
  stamp(t1, sizeof(t1));
  he_cmd_t c;
  he_docker_ok(&c, "events", "--since", t0, "--until", t1, "--filter",
               "container=at", "--format", "{{.Status}}");
  cr_assert_str_eq(c.o.p, "create\nattach\nstart\ndie\ndestroy\n");
  he_cmd_free(&c);
  he_docker_ok(&c, "events", "--since", t0, "--until", t1, "--filter",
               "container=tp", "--filter", "event=top", "--format",
               "{{.Status}} {{.Actor.Attributes.name}}");
  cr_assert_str_eq(c.o.p, "top tp\n");
  he_cmd_free(&c);
  he_end();
}

/* A network's life: create, a container's connect and disconnect at its
 * start and exit, destroy. */
Test(hcsd_events, network_events) {
  char t0[64], t1[64];
  stamp(t0, sizeof(t0));
  DOCKER_OK("network", "create", "n1");
  DOCKER_OK("run", "--rm", "--name", "nc", "--network", "n1", "busybox",
            "true");
  /* A running container's connect and disconnect are told at once. */
  DOCKER_OK("run", "-d", "--name", "nr", "busybox", "sleep", "1000");
  DOCKER_OK("network", "connect", "n1", "nr");
  DOCKER_OK("network", "disconnect", "n1", "nr");
  DOCKER_OK("rm", "-f", "nr");
  DOCKER_OK("network", "rm", "n1");
  stamp(t1, sizeof(t1));
  he_cmd_t c;
  he_docker_ok(&c, "events", "--since", t0, "--until", t1, "--filter",
               "type=network", "--filter", "network=n1", "--format",
               "{{.Action}} {{.Actor.Attributes.name}} "
               "{{.Actor.Attributes.type}}");
  cr_assert_str_eq(c.o.p, "create n1 bridge\nconnect n1 bridge\n"
                          "disconnect n1 bridge\nconnect n1 bridge\n"
                          "disconnect n1 bridge\ndestroy n1 bridge\n");
  he_cmd_free(&c);
  /* connect names the container; network= selects by the network. */
  char id[80];
  he_docker_ok(&c, "events", "--since", t0, "--until", t1, "--filter",
               "container=nc", "--filter", "event=create", "--format",
               "{{.Actor.ID}}");
  snprintf(id, sizeof(id), "%s", c.o.p);
  he_cmd_free(&c);
  cr_assert_eq(strlen(id), 65, "the create of nc: %s", id);
  he_docker_ok(&c, "events", "--since", t0, "--until", t1, "--filter",
               "network=n1", "--filter", "event=connect", "--format",
               "{{.Actor.Attributes.container}}");
  cr_assert(strncmp(c.o.p, id, strlen(id)) == 0 &&
                strchr(c.o.p + strlen(id), '\n') != NULL,
            "the connects of n1: %s, nc is %s", c.o.p, id);
  he_cmd_free(&c);
  he_end();
}

/* An image's tag, untag and load. */
Test(hcsd_events, image_events) {
  char t0[64], t1[64], tar[192];
  snprintf(tar, sizeof(tar), "%s/b.tar", he.dir);
  DOCKER_OK("save", "-o", tar, "busybox");
  char id[128];
  he_docker_line(id, sizeof(id), "image", "inspect", "-f", "{{.Id}}",
                 "busybox");
  stamp(t0, sizeof(t0));
  DOCKER_OK("tag", "busybox", "x:1");
  DOCKER_OK("rmi", "x:1");
  DOCKER_OK("load", "-i", tar);
  stamp(t1, sizeof(t1));
  he_cmd_t c;
  he_docker_ok(&c, "events", "--since", t0, "--until", t1, "--filter",
               "type=image", "--format",
               "{{.Action}} {{.Actor.Attributes.name}}");
  cr_assert_str_eq(c.o.p, "tag x:1\nuntag x:1\nload busybox:latest\n");
  he_cmd_free(&c);
  /* The tag's actor is the image's id, as image= finds it by either. */
  he_docker_ok(&c, "events", "--since", t0, "--until", t1, "--filter",
               "image=x:1", "--format", "{{.Action}} {{.Actor.ID}}");
  char want[256];
  snprintf(want, sizeof(want), "tag %s\nuntag %s\n", id, id);
  cr_assert_str_eq(c.o.p, want);
  he_cmd_free(&c);
  he_end();
}

/* A client that reads nothing is dropped once HCSD_OUT_MAX (8 MiB) of
 * events wait for it, rather than kept in the daemon's memory: here each
 * event carries a 48 KiB label, and 400 of them (19 MiB) are made. */
Test(hcsd_events, slow_client_is_dropped) {
  static char label[48 * 1024 + 8];
  memcpy(label, "big=", 4);
  memset(label + 4, 'x', sizeof(label) - 5);
  label[sizeof(label) - 1] = '\0';
  DOCKER_OK("run", "-d", "--name", "big", "--label", label, "busybox", "sleep",
            "1000");
  int slow = he_raw_connect();
  int small = 4096;
  (void)setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  cr_assert(he_raw_send_str(slow, "GET /v1.50/events HTTP/1.1\r\n"
                                  "Host: x\r\n\r\n"));
  (void)he_read_head(slow, "HTTP/1.1 200");
  long rss0 = he_daemon_rss_kib();
  for (int i = 0; i < 400; i++) {
    he_http_t r;
    he_request("POST",
               i % 2 == 0 ? "/v1.50/containers/big/pause"
                          : "/v1.50/containers/big/unpause",
               NULL, &r);
    cr_assert_eq(r.status, 204, "%s", r.body.p);
    he_http_free(&r);
  }
  long rss1 = he_daemon_rss_kib();
  /* Dropped: what was queued arrives, then the end, well short of all. */
  size_t got = 0;
  int64_t deadline = th_now_ms() + 30000;
  for (;;) {
    cr_assert_lt(th_now_ms(), deadline, "still open after %zu bytes", got);
    struct pollfd pf = {.fd = slow, .events = POLLIN};
    if (poll(&pf, 1, 1000) != 1) {
      continue;
    }
    char buf[65536];
    ssize_t n = recv(slow, buf, sizeof(buf), 0);
    if (n <= 0) {
      break;
    }
    got += (size_t)n;
  }
  close(slow);
  cr_assert_lt(got, (size_t)12 << 20, "%zu bytes reached the slow client", got);
#ifndef __SANITIZE_ADDRESS__
  /* (Under ASan freed memory waits in its quarantine: no measure.) */
  cr_assert_lt(rss1 - rss0, 40 * 1024, "the daemon grew %ld KiB", rss1 - rss0);
#else
  (void)rss0;
  (void)rss1;
#endif
  /* The daemon says why in its log. */
  FILE *f = fopen(he.log, "re");
  cr_assert_not_null(f);
  char line[1024];
  bool said = false;
  while (!said && fgets(line, sizeof(line), f) != NULL) {
    said = strstr(line, "/events: the client fell") != NULL;
  }
  fclose(f);
  cr_assert(said, "no drop in the daemon's log");
  DOCKER_OK("rm", "-f", "big");
  he_end();
}

/* Streams whose clients vanish are let go: the daemon's fds come back,
 * and events go on for the one that stays. */
Test(hcsd_events, vanished_clients_hold_nothing) {
  int fds = he_daemon_fds();
  int socks[16];
  for (int i = 0; i < 16; i++) {
    socks[i] = he_raw_connect();
    cr_assert(he_raw_send_str(socks[i], "GET /v1.50/events HTTP/1.1\r\n"
                                        "Host: x\r\n\r\n"));
    (void)he_read_head(socks[i], "HTTP/1.1 200");
  }
  he_conn_t keep = {.fd = he_raw_connect()};
  cr_assert(he_raw_send_str(keep.fd, "GET /v1.50/events?filters=%7B%22type"
                                     "%22%3A%5B%22container%22%5D%7D "
                                     "HTTP/1.1\r\nHost: x\r\n\r\n"));
  (void)he_read_head(keep.fd, "HTTP/1.1 200");
  for (int i = 0; i < 16; i++) {
    close(socks[i]);
  }
  DOCKER_OK("create", "--name", "after", "busybox", "true");
  (void)he_conn_find(&keep, "\"Action\":\"create\"", th_now_ms() + 10000);
  he_expect_has(keep.in.p, "\"status\":\"create\"");
  he_expect_has(keep.in.p, "\"name\":\"after\"");
  he_conn_close(&keep);
  int now = he_daemon_settle_fds(fds, 10000);
  cr_assert_leq(now, fds, "the daemon holds %d fds, %d before", now, fds);
  DOCKER_OK("rm", "after");
  he_end();
}
