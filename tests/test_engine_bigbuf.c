/* SPDX-License-Identifier: MIT */
/* Large reads for bulky streams (include/hcs-async.h, the buffer pool and
 * read_max): a stream spawned with read_max AS_BUF_MAX whose reads fill
 * their buffer reads up to that at a time, within its cap, every byte in
 * order; one spawned without it never reads more than AS_BUF_READ; a
 * stream of small writes stays on small buffers, and a bulky one that
 * turns interactive goes back to them. The buffers the data_cb gets show
 * it: as_bufpool_cap() of each. A socket stream grows to 256 KiB by
 * default. */
#include "test_engine_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#if TE_ASAN
#define BULK_TOTAL (16ull << 20)
#else
#define BULK_TOTAL (64ull << 20)
#endif

enum {
  PACE_CAP = 4 << 20, /* held before the engine stops reading */
  QMAX = 8192,        /* buffers held at once, at most cap / 1 KiB */
  MSGS = 64,
};

typedef struct big_s {
  as_loop_t *loop;
  as_session_t *s;
  uv_timer_t timer;
  int pace;         /* hold every buffer; give all back once paused */
  int paused_ticks; /* ticks seen with the stream at its cap */
  int pipe_fd;      /* paced: the stream's pipe, opened through /proc */
  size_t read_max;  /* as_spawn_opts_t's */
  int sock;         /* stdout an AS_STDIO_SOCKET, not a pipe */
  uint64_t bulk;    /* bulkecho: its bulk bytes (pattern k % 251) */
  int gen;          /* gen: hash the bytes instead */
  uint64_t seen;    /* bytes handed to the data_cb */
  uint64_t taken;   /* bytes consumed, in order */
  uint64_t hash;
  char *q[QMAX];
  size_t qlen[QMAX];
  size_t qhead, qn;
  size_t max_cap_bulk;  /* largest buffer while bulky */
  size_t max_cap_after; /* largest buffer after the bulk part */
  size_t max_len;
  size_t buffers_after;
  int msgs_sent;
  size_t echo_got;   /* of the message in flight */
  size_t high_water; /* the pool's, at the end */
  int eof, done, timer_closed;
  as_result_t r;
} big_t;

static const char msg[] = "a small message, as a terminal or an echo "
                          "protocol sends it, answered before the next\n";
#define MSG_LEN (sizeof(msg) - 1)

static void consume(big_t *b, const char *buf, size_t len) {
  if (b->gen) {
    b->hash = te_fnv1a(b->hash, buf, len);
    b->taken += len;
    return;
  }
  for (size_t i = 0; i < len; i++, b->taken++) {
    if (b->taken < b->bulk) {
      cr_assert_eq((unsigned char)buf[i], (unsigned char)(b->taken % 251),
                   "bulk byte %llu", (unsigned long long)b->taken);
    } else {
      size_t at = (size_t)((b->taken - b->bulk) % MSG_LEN);
      cr_assert_eq(buf[i], msg[at], "echo byte %llu",
                   (unsigned long long)(b->taken - b->bulk));
    }
  }
}

static void release_all(big_t *b) {
  while (b->qn > 0) {
    char *buf = b->q[b->qhead];
    consume(b, buf, b->qlen[b->qhead]);
    b->qhead = (b->qhead + 1) % QMAX;
    b->qn--;
    as_session_release(b->s, AS_STDOUT, buf);
  }
}

static void send_msg(big_t *b) {
  b->echo_got = 0;
  if (b->msgs_sent == MSGS) {
    cr_assert_eq(as_session_close_stdin(b->s), 0);
    return;
  }
  b->msgs_sent++;
  cr_assert_eq(as_session_write(b->s, msg, MSG_LEN, NULL, NULL), 0);
}

static void big_data(as_session_t *s, int stream, char *buf, size_t len,
                     void *data) {
  big_t *b = data;
  cr_assert_eq(stream, AS_STDOUT);
  if (len == 0) {
    b->eof = 1;
    return;
  }
  size_t cap = as_bufpool_cap(buf);
  cr_assert_geq(cap, len);
  cr_assert_lt(as_session_held(s, AS_STDOUT), (size_t)PACE_CAP + AS_BUF_READ,
               "held bytes passed the cap by a large read");
  int bulky = b->gen || b->seen < b->bulk;
  b->seen += len;
  if (len > b->max_len) {
    b->max_len = len;
  }
  if (bulky) {
    b->max_cap_bulk = cap > b->max_cap_bulk ? cap : b->max_cap_bulk;
  } else {
    b->max_cap_after = cap > b->max_cap_after ? cap : b->max_cap_after;
    b->buffers_after++;
  }
  if (b->pace && !b->gen && b->seen >= b->bulk) {
    /* The bulk part is all here: the rest is a conversation. */
    b->pace = 0;
    release_all(b);
  }
  if (b->pace) {
    cr_assert_lt(b->qn, QMAX, "more buffers held than the cap allows");
    as_session_hold(s, stream, buf);
    b->q[(b->qhead + b->qn) % QMAX] = buf;
    b->qlen[(b->qhead + b->qn) % QMAX] = len;
    b->qn++;
  } else {
    consume(b, buf, len);
  }
  if (b->gen || b->seen < b->bulk) {
    return;
  }
  if (b->taken == b->bulk) {
    send_msg(b); /* the first */
  } else if ((b->echo_got += len) >= MSG_LEN) {
    cr_assert_eq(b->echo_got, MSG_LEN, "echoes ran together");
    send_msg(b);
  }
}

static void big_done(as_session_t *s, const as_result_t *r, void *data) {
  big_t *b = data;
  (void)s;
  b->done = 1;
  b->r = *r;
}

static void big_timer_closed(uv_handle_t *h) {
  big_t *b = h->data;
  b->timer_closed = 1;
}

/* Whether the writer has filled the pipe (its writes are at most 64 KiB,
 * so it is blocked once less than that is free), or will write no more
 * (exited: its drain timer runs). Gives up waiting after a second. */
static int pipe_full(big_t *b) {
  int size = fcntl(b->pipe_fd, F_GETPIPE_SZ);
  int queued = 0;
  cr_assert_geq(size, 0);
  cr_assert_eq(ioctl(b->pipe_fd, FIONREAD, &queued), 0);
  return queued + AS_BUF_READ >= size || as_session_exited(b->s, NULL) ||
         b->paused_ticks > 1000;
}

/* The slow consumer: once the engine has stopped reading (the held bytes
 * at the cap) and the writer has filled its pipe, all go back at once,
 * and the engine finds a full pipe. */
static void big_tick(uv_timer_t *t) {
  big_t *b = t->data;
  if (b->s != NULL && b->pace &&
      as_session_held(b->s, AS_STDOUT) >= (size_t)PACE_CAP) {
    b->paused_ticks++;
    if (pipe_full(b)) {
      b->paused_ticks = 0;
      release_all(b);
    }
  }
  if (b->done) {
    release_all(b);
    uv_close((uv_handle_t *)t, big_timer_closed);
  }
}

static void big_run(big_t *b, char *const *argv, const char *what) {
  int fds0 = te_fd_baseline();
  cr_assert_eq(as_loop_new(&b->loop, NULL), 0);
  as_spawn_opts_t o = te_opts(argv[0], argv);
  o.stdio[AS_STDIN] = b->gen ? AS_STDIO_NULL : AS_STDIO_PIPE;
  o.stdio[AS_STDOUT] = b->sock ? AS_STDIO_SOCKET : AS_STDIO_PIPE;
  o.stream_cap = PACE_CAP;
  o.read_max = b->read_max;
  o.cbs.data_cb = big_data;
  o.cbs.done_cb = big_done;
  o.data = b;
  b->hash = TE_FNV_BASIS;
  cr_assert_eq(as_session_spawn(b->loop, &o, &b->s), 0);
  b->pipe_fd = -1;
  if (b->pace) {
    /* The child is still writing (or blocked): its stdout is the pipe. */
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd/1", (int)as_session_pid(b->s));
    b->pipe_fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(b->pipe_fd, 0, "open %s: %s", path, strerror(errno));
  }
  cr_assert_eq(uv_timer_init(as_loop_uv(b->loop), &b->timer), 0);
  b->timer.data = b;
  cr_assert_eq(uv_timer_start(&b->timer, big_tick, 1, 1), 0);
  if (!b->gen && b->bulk == 0) {
    send_msg(b);
  }
  te_watchdog_t wd;
  te_watchdog_start(b->loop, &wd, 120000, what);
  as_loop_run(b->loop, 0);
  te_watchdog_stop(&wd);
  cr_assert(b->done && b->eof && b->timer_closed, "%s: done %d eof %d", what,
            b->done, b->eof);
  cr_assert_eq(b->r.exit_code, 0, "%s: exit %d", what, b->r.exit_code);
  cr_assert_eq(b->r.output_cut, 0);
  cr_assert_eq(b->qn, 0);
  as_bufpool_stats_t st;
  as_bufpool_stats(as_loop_pool(b->loop), &st);
  cr_assert_eq(st.in_use, 0, "%s: %zu bytes of buffers still out", what,
               st.in_use);
  cr_assert_leq(st.cached, 6u << 20, "the free lists are bounded");
  b->high_water = st.high_water;
  as_session_unref(b->s);
  b->s = NULL;
  if (b->pipe_fd >= 0) {
    close(b->pipe_fd);
  }
  as_loop_free(b->loop);
  cr_assert_eq(te_fd_count(), fds0, "%s: fds leaked", what);
  te_assert_no_child();
}

/* gen writes BULK_TOTAL bytes of seed's pattern; every one arrives, in
 * order. */
static big_t *gen_run_on(uint64_t seed, int pace, size_t read_max, int sock) {
  big_t *b = calloc(1, sizeof(*b));
  cr_assert_not_null(b);
  b->sock = sock;
  char total[32], seed_arg[32];
  snprintf(total, sizeof(total), "%llu", (unsigned long long)BULK_TOTAL);
  snprintf(seed_arg, sizeof(seed_arg), "%llu", (unsigned long long)seed);
  char *argv[] = {HELPER("gen"), total, "0", seed_arg, NULL};
  b->gen = 1;
  b->pace = pace;
  b->read_max = read_max;
  big_run(b, argv, pace ? "gen, paced" : "gen");
  cr_assert_eq(b->taken, BULK_TOTAL);
  cr_assert_eq(b->hash, te_pattern_hash(seed, 0, BULK_TOTAL),
               "the bytes differ from what gen wrote");
  return b;
}

static big_t *gen_run(uint64_t seed, int pace, size_t read_max) {
  return gen_run_on(seed, pace, read_max, 0);
}

/* Growth needs reads that fill their buffer: a full pipe when the held
 * bytes go back. The slow consumer waits for one, but under a sanitizer
 * and a loaded machine the writer may not fill it in time (big_tick
 * gives up after 1000 ticks); a few runs, each checked whole, and the
 * largest buffer of any. */
Test(engine_bigbuf, bulk_stream_reads_large_buffers) {
  size_t cap = 0, len = 0;
  for (uint64_t run = 0; run < 4 && cap < (size_t)AS_BUF_MAX; run++) {
    big_t *b = gen_run(91 + run, 1, AS_BUF_MAX);
    cap = b->max_cap_bulk > cap ? b->max_cap_bulk : cap;
    len = b->max_len > len ? b->max_len : len;
    free(b);
  }
  cr_assert_eq(cap, (size_t)AS_BUF_MAX,
               "no read took a %d-byte buffer (largest %zu)", AS_BUF_MAX, cap);
  cr_assert_gt(len, (size_t)AS_BUF_READ, "no read took more than %d bytes",
               AS_BUF_READ);
}

/* Without read_max (the default), the same paced writer is read
 * AS_BUF_READ at a time. */
Test(engine_bigbuf, no_growth_by_default) {
  big_t *b = gen_run(93, 1, 0);
  cr_assert_leq(b->max_cap_bulk, (size_t)AS_BUF_READ,
                "a %zu-byte buffer without read_max", b->max_cap_bulk);
  free(b);
}

/* A socket stream grows to 256 KiB without read_max, and no further;
 * every byte arrives in order (gen_run). Growth needs a read that fills
 * 64 KiB, a writer ahead of the loop: a few runs, the largest buffer of
 * any. */
Test(engine_bigbuf, socket_stream_grows_by_default) {
  size_t cap = 0;
  for (uint64_t run = 0; run < 4 && cap < (size_t)AS_BUF_READ * 4; run++) {
    big_t *b = gen_run_on(94 + run, 0, 0, 1);
    cr_assert_leq(b->max_cap_bulk, (size_t)AS_BUF_READ * 4,
                  "a %zu-byte buffer on a socket", b->max_cap_bulk);
    cap = b->max_cap_bulk > cap ? b->max_cap_bulk : cap;
    free(b);
  }
  cr_assert_eq(cap, (size_t)AS_BUF_READ * 4,
               "no socket read took a %d-byte buffer (largest %zu)",
               AS_BUF_READ * 4, cap);
}

/* read_max AS_BUF_READ keeps a socket stream on 64 KiB reads. */
Test(engine_bigbuf, socket_stream_read_max_holds) {
  big_t *b = gen_run_on(98, 0, AS_BUF_READ, 1);
  cr_assert_leq(b->max_cap_bulk, (size_t)AS_BUF_READ,
                "a %zu-byte buffer with read_max %d", b->max_cap_bulk,
                AS_BUF_READ);
  free(b);
}

/* A consumer that takes every byte at once (the common case): the same
 * bytes, and nothing left out of the pool (big_run). */
Test(engine_bigbuf, bulk_stream_unpaced) { free(gen_run(92, 0, AS_BUF_MAX)); }

/* More than the largest class is refused, and nothing starts. */
Test(engine_bigbuf, read_max_past_the_pool_is_refused) {
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[] = {HELPER("bulkecho"), "0", NULL};
  as_spawn_opts_t o = te_opts(argv[0], argv);
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  o.read_max = (size_t)AS_BUF_MAX + 1;
  as_session_t *s = NULL;
  cr_assert_eq(as_session_spawn(loop, &o, &s), -EINVAL);
  as_loop_free(loop);
  te_assert_no_child();
}

/* Small writes answered one at a time never fill a read: every buffer
 * is a small one, and the pool never lent more than one at a time. */
Test(engine_bigbuf, interactive_stream_stays_small) {
  big_t *b = calloc(1, sizeof(*b));
  cr_assert_not_null(b);
  char *argv[] = {HELPER("bulkecho"), "0", NULL};
  b->read_max = AS_BUF_MAX; /* allowed to grow, and never does */
  big_run(b, argv, "echo");
  cr_assert_eq(b->msgs_sent, MSGS);
  cr_assert_eq(b->taken, (uint64_t)MSGS * MSG_LEN);
  cr_assert_geq(b->buffers_after, MSGS);
  cr_assert_leq(b->max_cap_after, (size_t)AS_BUF_READ);
  cr_assert_leq(b->max_len, (size_t)MSG_LEN);
  cr_assert_leq(b->high_water, (size_t)AS_BUF_READ,
                "the pool lent %zu bytes at once", b->high_water);
  free(b);
}

/* 16 MiB in bulk (large reads), then a conversation: each answer comes
 * in a small buffer again, however large the reads were before. */
Test(engine_bigbuf, bulky_then_interactive_goes_back_to_small) {
  big_t *b = calloc(1, sizeof(*b));
  cr_assert_not_null(b);
  char *argv[] = {HELPER("bulkecho"), "16777216", NULL};
  b->bulk = 16u << 20;
  b->pace = 1;
  b->read_max = AS_BUF_MAX;
  big_run(b, argv, "bulk then echo");
  cr_assert_eq(b->taken, b->bulk + (uint64_t)MSGS * MSG_LEN);
  cr_assert_eq(b->max_cap_bulk, (size_t)AS_BUF_MAX,
               "the bulk part never read large (largest buffer %zu)",
               b->max_cap_bulk);
  cr_assert_geq(b->buffers_after, 1);
  cr_assert_leq(b->max_cap_after, (size_t)AS_BUF_READ,
                "an answer came in a %zu-byte buffer", b->max_cap_after);
  free(b);
}
