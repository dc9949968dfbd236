#include "shaper.h"

#include <stdlib.h>

void fl_shaper_init(fl_shaper *s, uint64_t seed) { *s = (fl_shaper){.rng = seed ? seed : 1}; }

void fl_shaper_free(fl_shaper *s) {
  free(s->marks);
  s->marks = NULL;
  s->count = s->cap = s->head = 0;
}

/* splitmix64: small, seeded, and the same sequence on every run. */
static uint64_t next_random(fl_shaper *s) {
  uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

int64_t fl_shaper_latency_sample(fl_shaper *s, const fl_shape *p) {
  if (p->jitter_ns <= 0) return p->latency_ns;
  uint64_t span = (uint64_t)p->jitter_ns * 2 + 1;
  return p->latency_ns - p->jitter_ns + (int64_t)(next_random(s) % span);
}

static fl_shaper_mark *mark_at(fl_shaper *s, size_t i) { return &s->marks[(s->head + i) % s->cap]; }

int fl_shaper_add(fl_shaper *s, const fl_shape *p, uint64_t n, int64_t now, int64_t hold_until) {
  if (n == 0) return 0;
  int64_t at = 0;
  if (p->latency_ns > 0) at = now + fl_shaper_latency_sample(s, p);
  if (hold_until > at) at = hold_until;
  if (at < s->last_release_ns) at = s->last_release_ns; /* order is kept */
  s->added += n;
  if (s->count && mark_at(s, s->count - 1)->at_ns == at) {
    mark_at(s, s->count - 1)->end = s->added;
    return 0;
  }
  if (s->count == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    fl_shaper_mark *m = malloc(cap * sizeof *m);
    if (!m) {
      s->added -= n;
      return -1;
    }
    for (size_t i = 0; i < s->count; i++) m[i] = *mark_at(s, i);
    free(s->marks);
    s->marks = m;
    s->cap = cap;
    s->head = 0;
  }
  *mark_at(s, s->count++) = (fl_shaper_mark){s->added, at};
  s->last_release_ns = at;
  return 0;
}

static void set_wake(int64_t *wake, int64_t t) {
  if (!*wake || t < *wake) *wake = t;
}

uint64_t fl_shaper_allowed(fl_shaper *s, const fl_shape *p, int64_t now, int64_t *wake_ns) {
  *wake_ns = 0;
  /* Latency and holds: the marks due by now. */
  while (s->count && mark_at(s, 0)->end <= s->sent) {
    s->head = (s->head + 1) % s->cap;
    s->count--;
  }
  uint64_t released = s->sent;
  for (size_t i = 0; i < s->count; i++) {
    fl_shaper_mark *m = mark_at(s, i);
    if (m->at_ns > now) {
      set_wake(wake_ns, m->at_ns);
      break;
    }
    released = m->end;
  }
  if (!s->count) released = s->added;

  /* Buffer: gather, then let everything gathered go at once. */
  if (p->buffer_bytes || p->buffer_for_ns) {
    if (s->buffered < s->sent) s->buffered = s->sent;
    if (released > s->buffered) {
      if (!s->buffering) {
        s->buffering = true;
        s->buffer_first_ns = now;
      }
      bool full = p->buffer_bytes && released - s->buffered >= p->buffer_bytes;
      bool due = p->buffer_for_ns && now - s->buffer_first_ns >= p->buffer_for_ns;
      if (full || due) {
        s->buffered = released;
        s->buffering = false;
      } else if (p->buffer_for_ns) {
        set_wake(wake_ns, s->buffer_first_ns + p->buffer_for_ns);
      }
    }
    released = s->buffered;
  }

  uint64_t n = released - s->sent;
  if (n == 0) return 0;

  /* Slice: one write of at most size bytes per delay. */
  if (p->slice_size) {
    if (s->next_write_ns > now) {
      set_wake(wake_ns, s->next_write_ns);
      return 0;
    }
    if (n > p->slice_size) n = p->slice_size;
  }

  /* Bandwidth: a token bucket. */
  if (p->rate) {
    double burst = (double)p->rate * 0.005;
    if (burst < 1) burst = 1;
    if (!s->tokens_set) {
      s->tokens = burst;
      s->tokens_set = true;
    } else if (now > s->tokens_ns) {
      s->tokens += (double)(now - s->tokens_ns) * (double)p->rate / 1e9;
      if (s->tokens > burst) s->tokens = burst;
    }
    s->tokens_ns = now;
    uint64_t whole = s->tokens >= 1 ? (uint64_t)s->tokens : 0;
    if (whole < n) {
      double want = (double)(n < (uint64_t)burst ? n : (uint64_t)burst);
      int64_t wait = (int64_t)((want - s->tokens) * 1e9 / (double)p->rate) + 1;
      set_wake(wake_ns, now + (wait > 0 ? wait : 1));
      n = whole;
    }
  }
  return n;
}

void fl_shaper_sent(fl_shaper *s, const fl_shape *p, uint64_t n, int64_t now) {
  s->sent += n;
  if (p->rate) s->tokens -= (double)n;
  if (p->slice_size && n) s->next_write_ns = now + p->slice_delay_ns;
}

void fl_shaper_drop(fl_shaper *s) {
  s->sent = s->added;
  s->buffered = s->added;
  s->count = 0;
  s->head = 0;
}
