/* SPDX-License-Identifier: MIT */
/* A streamed request body: pieces queued by the loop, taken in order by
 * the consumer. The pieces of one engine buffer are consecutive (the
 * parser cuts one read into several around chunk headers), so a buffer
 * is let go when the consumer moves to a piece of another buffer, or at
 * the end; buffers let go are released on the loop (as_conn_release is
 * a loop call), one post at a time. */
#include "hcsd/body.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct piece_s {
  struct piece_s *next;
  char *buf;  /* a held engine buffer to release, or NULL */
  char *copy; /* the piece's own bytes (malloc), or NULL */
  const char *p;
  size_t n;
} piece_t;

struct hcsd_body_s {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  as_loop_t *loop;
  as_conn_t *c;
  piece_t *head, *tail; /* waiting for the consumer */
  piece_t *cur;         /* the consumer's last, its buffer still held */
  piece_t *done;        /* to release on the loop */
  char *held;           /* loop side: the engine buffer held last */
  int status;           /* of the end */
  bool ended;
  bool reader;        /* a consumer took its reference */
  bool consumer_gone; /* and dropped it, or never will */
  bool posted;
  int refs;
};

hcsd_body_t *hcsd_body_new(as_loop_t *loop, as_conn_t *c) {
  hcsd_body_t *b = calloc(1, sizeof(*b));
  if (b == NULL) {
    return NULL;
  }
  if (pthread_mutex_init(&b->mu, NULL) != 0) {
    free(b);
    return NULL;
  }
  if (pthread_cond_init(&b->cv, NULL) != 0) {
    pthread_mutex_destroy(&b->mu);
    free(b);
    return NULL;
  }
  b->loop = loop;
  b->c = c;
  b->refs = 1;
  return b;
}

static void body_free(hcsd_body_t *b) {
  /* Only pieces whose buffers could not be posted back are left (the
   * loop is being freed): their copies go, the buffers with the loop. */
  for (piece_t *q = b->done; q != NULL;) {
    piece_t *next = q->next;
    free(q->copy);
    free(q);
    q = next;
  }
  pthread_cond_destroy(&b->cv);
  pthread_mutex_destroy(&b->mu);
  free(b);
}

/* With mu held: q is let go; its buffer too unless keep. */
static void let_go(hcsd_body_t *b, piece_t *q, bool keep) {
  if (keep) {
    q->buf = NULL;
  }
  q->next = b->done;
  b->done = q;
}

/* With mu held: every piece the consumer has not taken, and its last,
 * let go (each buffer once). */
static void let_all_go(hcsd_body_t *b) {
  piece_t *q = b->cur != NULL ? b->cur : b->head;
  if (b->cur != NULL) {
    b->cur->next = b->head;
  }
  b->cur = NULL;
  b->head = b->tail = NULL;
  while (q != NULL) {
    piece_t *next = q->next;
    let_go(b, q, next != NULL && q->buf != NULL && next->buf == q->buf);
    q = next;
  }
}

static void release_posted(as_loop_t *loop, void *data);

/* With mu held: asks the loop to release what was let go. */
static void post_release(hcsd_body_t *b) {
  if (b->done == NULL || b->posted) {
    return;
  }
  if (as_loop_post(b->loop, release_posted, b) == 0) {
    b->posted = true;
    b->refs++;
  }
}

static void release_posted(as_loop_t *loop, void *data) {
  hcsd_body_t *b = data;
  (void)loop;
  pthread_mutex_lock(&b->mu);
  piece_t *q = b->done;
  b->done = NULL;
  b->posted = false;
  pthread_mutex_unlock(&b->mu);
  while (q != NULL) {
    piece_t *next = q->next;
    if (q->buf != NULL) {
      as_conn_release(b->c, q->buf);
    }
    free(q->copy);
    free(q);
    q = next;
  }
  pthread_mutex_lock(&b->mu);
  int left = --b->refs;
  pthread_mutex_unlock(&b->mu);
  if (left == 0) {
    body_free(b);
  }
}

hcsd_body_t *hcsd_body_reader(hcsd_body_t *b) {
  pthread_mutex_lock(&b->mu);
  b->reader = true;
  b->refs++;
  pthread_mutex_unlock(&b->mu);
  return b;
}

int hcsd_body_put(hcsd_body_t *b, char *buf, const char *p, size_t n) {
  if (n == 0) {
    return 0;
  }
  piece_t *q = calloc(1, sizeof(*q));
  char *copy = q != NULL && buf == NULL ? malloc(n) : NULL;
  if (q == NULL || (buf == NULL && copy == NULL)) {
    free(q);
    return -ENOMEM;
  }
  if (copy != NULL) {
    memcpy(copy, p, n);
    p = copy;
  }
  *q = (piece_t){.buf = buf, .copy = copy, .p = p, .n = n};
  /* Checked and queued under one lock: a consumer that leaves in
   * between would never let the piece go. */
  pthread_mutex_lock(&b->mu);
  if (b->ended || b->consumer_gone) {
    pthread_mutex_unlock(&b->mu);
    free(copy);
    free(q);
    return -EPIPE;
  }
  if (buf != NULL && buf != b->held) {
    /* A buffer held for the last piece is held until a later piece is
     * taken, so the same address again is the same read. */
    as_conn_hold(b->c, buf);
  }
  b->held = buf;
  if (b->tail != NULL) {
    b->tail->next = q;
  } else {
    b->head = q;
  }
  b->tail = q;
  pthread_cond_signal(&b->cv);
  pthread_mutex_unlock(&b->mu);
  return 0;
}

void hcsd_body_end(hcsd_body_t *b, int status) {
  pthread_mutex_lock(&b->mu);
  if (!b->ended) {
    b->ended = true;
    b->status = status;
    pthread_cond_signal(&b->cv);
  }
  pthread_mutex_unlock(&b->mu);
}

int hcsd_body_waiting(hcsd_body_t *b) {
  pthread_mutex_lock(&b->mu);
  int w = b->head != NULL;
  pthread_mutex_unlock(&b->mu);
  return w;
}

ssize_t hcsd_body_read(hcsd_body_t *b, const void **p) {
  pthread_mutex_lock(&b->mu);
  while (b->head == NULL && !b->ended) {
    pthread_cond_wait(&b->cv, &b->mu);
  }
  piece_t *q = b->head;
  if (b->cur != NULL) {
    /* Its buffer stays held while the next piece points into it. */
    let_go(b, b->cur,
           q != NULL && b->cur->buf != NULL && q->buf == b->cur->buf);
    b->cur = NULL;
  }
  ssize_t r;
  if (q != NULL) {
    b->head = q->next;
    if (b->head == NULL) {
      b->tail = NULL;
    }
    q->next = NULL;
    b->cur = q;
    *p = q->p;
    r = (ssize_t)q->n;
  } else {
    *p = NULL;
    r = b->status;
  }
  post_release(b);
  pthread_mutex_unlock(&b->mu);
  return r;
}

void hcsd_body_unref(hcsd_body_t *b, bool consumer) {
  pthread_mutex_lock(&b->mu);
  if (!b->ended) {
    b->ended = true;
    b->status = -EPIPE;
    pthread_cond_signal(&b->cv);
  }
  if (consumer || !b->reader) {
    /* The pieces the consumer still had, or would have had, are its own
     * no longer. */
    b->consumer_gone = true;
    let_all_go(b);
    post_release(b);
  }
  int left = --b->refs;
  pthread_mutex_unlock(&b->mu);
  if (left == 0) {
    body_free(b);
  }
}
