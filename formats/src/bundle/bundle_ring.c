/*
 * bundle_ring: the overlapped image stream (see bundle_ring.h).
 *
 * SHA-512 (~0.5 GB/s here, against ~1.5 GB/s for SHA-256 with SHA-NI and ~1 GB/s for
 * decompression) gets a thread of its own when both digests are listed: whichever core is
 * free runs it, and neither the decompression nor the writes wait for it. A slot is reused only
 * when every reader has passed it. Memory stays constant (UPT_RING_SLOTS buffers). The helpers
 * never call the caller's sink or progress: they run on the calling thread as in the
 * single-threaded path.
 */
#include "bundle_ring.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "upt/limits.h"

struct ring {
	pthread_mutex_t mu;
	pthread_cond_t filled; /* a slot became full, or the producer finished */
	pthread_cond_t freed;  /* a slot became free, or a reader stopped */
	uint8_t *buf[UPT_RING_SLOTS];
	size_t len[UPT_RING_SLOTS];
	uint64_t produced; /* slots published, counted from 0 (slot = count % UPT_RING_SLOTS) */
	uint64_t consumed; /* slots the calling thread is done with */
	uint64_t hashed;   /* slots the SHA-512 thread is done with (= produced without it) */
	bool done;	   /* producer finished: rc and err hold its outcome */
	bool stop;	   /* a reader failed: everyone stops */
	bool has_hasher;
	int rc;
	upt_err err;
	int hash_rc;
	upt_err hash_err;
	upt_hasher *h512; /* the SHA-512 thread's, NULL without it */
	struct upt_image_stream *s;
};

/* Slots no reader needs any more: the producer may fill up to UPT_RING_SLOTS past the
 * slowest. */
static uint64_t ring_free_from(const struct ring *q)
{
	return q->has_hasher && q->hashed < q->consumed ? q->hashed : q->consumed;
}

static void *producer(void *arg)
{
	struct ring *q = arg;
	struct upt_image_stream *s = q->s;
	uint64_t done = 0;
	int rc = UPT_OK;
	upt_err_clear(&q->err);
	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (q->produced - ring_free_from(q) == UPT_RING_SLOTS && !q->stop)
			pthread_cond_wait(&q->freed, &q->mu);
		bool stop = q->stop;
		unsigned tail = (unsigned)(q->produced % UPT_RING_SLOTS);
		pthread_mutex_unlock(&q->mu);
		if (stop)
			break;
		/* the slot at tail is free: only this thread writes it until it is published */
		size_t take = 0;
		enum upt_image_block next = UPT_BLOCK_MORE;
		rc = upt_image_stream_fill(s, done, q->buf[tail], &take, &next, &q->err);
		if (rc)
			break;
		if (take) {
			pthread_mutex_lock(&q->mu);
			q->len[tail] = take;
			q->produced++;
			pthread_cond_broadcast(&q->filled);
			pthread_mutex_unlock(&q->mu);
			done += take;
		}
		if (next == UPT_BLOCK_PAST_SIGNED) {
			rc = upt_image_stream_endless(s, &q->err);
			break;
		}
		if (next == UPT_BLOCK_LAST)
			break;
	}
	pthread_mutex_lock(&q->mu);
	q->rc = rc;
	q->done = true;
	pthread_cond_broadcast(&q->filled);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* The SHA-512 thread: hashes every published slot, in order, until the producer is done. */
static void *hasher(void *arg)
{
	struct ring *q = arg;
	int rc = UPT_OK;
	upt_err_clear(&q->hash_err);
	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (q->hashed == q->produced && !q->done && !q->stop)
			pthread_cond_wait(&q->filled, &q->mu);
		bool finished = q->stop || q->hashed == q->produced;
		unsigned slot = (unsigned)(q->hashed % UPT_RING_SLOTS);
		size_t n = q->len[slot];
		pthread_mutex_unlock(&q->mu);
		if (finished)
			break;
		rc = upt_hasher_update(q->h512, q->buf[slot], n, &q->hash_err);
		pthread_mutex_lock(&q->mu);
		if (rc) {
			q->stop = true;
			pthread_cond_broadcast(&q->filled); /* the calling thread may wait there */
		} else {
			q->hashed++;
		}
		pthread_cond_broadcast(&q->freed);
		pthread_mutex_unlock(&q->mu);
		if (rc)
			break;
	}
	q->hash_rc = rc;
	return NULL;
}

struct hashers {
	upt_hasher *caller; /* SHA-256, or the one digest listed */
	upt_hasher *side;   /* SHA-512 on its own thread when both are listed, else NULL */
};

static void hashers_free(struct hashers *hs)
{
	upt_hasher_free(hs->caller);
	upt_hasher_free(hs->side);
}

static int hashers_new(const upt_hashes *expected, struct hashers *hs, upt_err *e)
{
	bool split = expected->has_sha256 && expected->has_sha512;
	*hs = (struct hashers){NULL, NULL};
	int rc =
	    upt_hasher_new(expected->has_sha256, expected->has_sha512 && !split, &hs->caller, e);
	if (rc == UPT_OK && split)
		rc = upt_hasher_new(false, true, &hs->side, e);
	if (rc)
		hashers_free(hs);
	return rc;
}

static int hashers_final(struct hashers *hs, upt_hashes *got, upt_err *e)
{
	int rc = upt_hasher_final(hs->caller, got, e);
	if (rc || !hs->side)
		return rc;
	upt_hashes side;
	rc = upt_hasher_final(hs->side, &side, e);
	if (rc)
		return rc;
	got->has_sha512 = side.has_sha512;
	memcpy(got->sha512, side.sha512, sizeof(got->sha512));
	return UPT_OK;
}

/* The calling thread's part: delivers every published slot, in order, to hash + sink. */
static int consume(struct ring *q, upt_hasher *h, uint64_t *done, upt_err *e)
{
	int rc = UPT_OK;
	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (q->consumed == q->produced && !q->done && !q->stop)
			pthread_cond_wait(&q->filled, &q->mu);
		if (q->stop || q->consumed == q->produced) { /* a helper failed, or all delivered */
			pthread_mutex_unlock(&q->mu);
			return UPT_OK;
		}
		unsigned slot = (unsigned)(q->consumed % UPT_RING_SLOTS);
		size_t n = q->len[slot];
		pthread_mutex_unlock(&q->mu);

		rc = upt_image_stream_deliver(q->s, h, q->buf[slot], n, *done, e);

		pthread_mutex_lock(&q->mu);
		if (rc) {
			q->stop = true;
			pthread_cond_broadcast(&q->filled); /* the hasher may wait there */
		} else {
			q->consumed++;
		}
		pthread_cond_broadcast(&q->freed);
		pthread_mutex_unlock(&q->mu);
		if (rc)
			return rc;
		*done += n;
	}
}

/* With the threads running: the calling thread's part, the joins, then the verdict. The first
 * failure wins: the caller's own, else the producer's, else the hasher's. */
static int run(struct ring *q, pthread_t ptid, pthread_t htid, struct hashers *hs, upt_err *e)
{
	uint64_t done = 0;
	int rc = consume(q, hs->caller, &done, e);
	pthread_join(ptid, NULL);
	if (q->has_hasher)
		pthread_join(htid, NULL);
	if (rc == UPT_OK && q->rc) {
		rc = q->rc;
		if (e)
			*e = q->err;
	}
	if (rc == UPT_OK && q->hash_rc) {
		rc = q->hash_rc;
		if (e)
			*e = q->hash_err;
	}
	if (rc == UPT_OK) {
		upt_hashes got;
		rc = hashers_final(hs, &got, e);
		if (rc == UPT_OK)
			rc = upt_image_stream_check(q->s, done, &got, e);
	}
	return rc;
}

/* Starts the helpers, the SHA-512 one first: if one cannot start, nothing was read yet and
 * the caller falls back (UPT_RING_NO_THREAD), with none left running. */
static enum upt_ring_outcome start_and_run(struct ring *q, struct hashers *hs, int *rc, upt_err *e)
{
	pthread_t ptid, htid;
	memset(&htid, 0, sizeof(htid)); /* joined only when started */
	if (q->has_hasher && pthread_create(&htid, NULL, hasher, q) != 0)
		return UPT_RING_NO_THREAD;
	if (pthread_create(&ptid, NULL, producer, q) != 0) {
		if (q->has_hasher) {
			pthread_mutex_lock(&q->mu);
			q->stop = true;
			pthread_cond_broadcast(&q->filled);
			pthread_mutex_unlock(&q->mu);
			pthread_join(htid, NULL);
		}
		return UPT_RING_NO_THREAD;
	}
	*rc = run(q, ptid, htid, hs, e);
	return UPT_RING_STREAMED;
}

enum upt_ring_outcome upt_ring_stream(uint8_t *const bufs[UPT_RING_SLOTS],
				      struct upt_image_stream *s, int *rc, upt_err *e)
{
	struct hashers hs;
	*rc = hashers_new(s->expected, &hs, e);
	if (*rc)
		return UPT_RING_STREAMED;
	struct ring q;
	memset(&q, 0, sizeof(q));
	q.s = s;
	q.h512 = hs.side;
	q.has_hasher = hs.side != NULL;
	for (unsigned i = 0; i < UPT_RING_SLOTS; i++)
		q.buf[i] = bufs[i];
	enum upt_ring_outcome how = UPT_RING_NO_THREAD;
	if (pthread_mutex_init(&q.mu, NULL) != 0)
		goto out;
	if (pthread_cond_init(&q.filled, NULL) != 0)
		goto out_mu;
	if (pthread_cond_init(&q.freed, NULL) != 0)
		goto out_filled;
	how = start_and_run(&q, &hs, rc, e);
	pthread_cond_destroy(&q.freed);
out_filled:
	pthread_cond_destroy(&q.filled);
out_mu:
	pthread_mutex_destroy(&q.mu);
out:
	hashers_free(&hs);
	return how;
}
