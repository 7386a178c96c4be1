/* SPDX-License-Identifier: MIT */
/* A ring of answered events. Linear search over a few thousand entries with
 * a hash compared first costs microseconds, far below creating a crawler,
 * and keeps eviction (oldest first, never one in progress) obvious. */
#include "provisiond/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct entry {
	bool used;
	bool pending;
	uint64_t hash;
	char *key; /* source '\0' id */
	size_t key_len;
	struct pv_answer answer;
};

struct pv_store {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	unsigned capacity;
	unsigned next; /* the ring's oldest slot */
	struct entry *entries;
};

static uint64_t fnv1a(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static char *make_key(const char *source, const char *id, size_t *len)
{
	size_t ls = strlen(source), li = strlen(id);
	char *k = malloc(ls + li + 2);

	if (!k)
		return NULL;
	memcpy(k, source, ls + 1);
	memcpy(k + ls + 1, id, li + 1);
	*len = ls + li + 1;
	return k;
}

int pv_store_new(unsigned capacity, struct pv_store **out)
{
	struct pv_store *s = calloc(1, sizeof(*s));

	if (!s || capacity == 0)
		goto fail;
	s->entries = calloc(capacity, sizeof(*s->entries));
	if (!s->entries)
		goto fail;
	s->capacity = capacity;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);
	*out = s;
	return 0;
fail:
	free(s);
	return capacity == 0 ? -EINVAL : -ENOMEM;
}

static void entry_clear(struct entry *e)
{
	free(e->key);
	pv_answer_clear(&e->answer);
	memset(e, 0, sizeof(*e));
}

void pv_store_free(struct pv_store *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->capacity; i++)
		entry_clear(&s->entries[i]);
	free(s->entries);
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void pv_answer_clear(struct pv_answer *a)
{
	free(a->data_json);
	memset(a, 0, sizeof(*a));
}

static struct entry *find(struct pv_store *s, const char *key, size_t len, uint64_t h)
{
	for (unsigned i = 0; i < s->capacity; i++) {
		struct entry *e = &s->entries[i];

		if (e->used && e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
			return e;
	}
	return NULL;
}

/* The oldest slot not in progress, starting at the ring's head. */
static struct entry *take_slot(struct pv_store *s)
{
	for (unsigned n = 0; n < s->capacity; n++) {
		unsigned i = (s->next + n) % s->capacity;
		struct entry *e = &s->entries[i];

		if (!e->pending) {
			s->next = (i + 1) % s->capacity;
			entry_clear(e);
			return e;
		}
	}
	return NULL;
}

static int copy_answer(const struct pv_answer *from, struct pv_answer *to)
{
	memcpy(to->type, from->type, sizeof(to->type));
	to->data_json = strdup(from->data_json ? from->data_json : "{}");
	return to->data_json ? 0 : -ENOMEM;
}

int pv_store_claim(struct pv_store *s, const char *source, const char *id, unsigned wait_s,
		   struct pv_answer *out)
{
	struct timespec deadline;
	size_t len;
	char *key = make_key(source, id, &len);
	uint64_t h;
	struct entry *e;
	int r;

	memset(out, 0, sizeof(*out));
	if (!key)
		return -ENOMEM;
	h = fnv1a(key, len);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += wait_s;
	pthread_mutex_lock(&s->lock);
	while ((e = find(s, key, len, h)) && e->pending) {
		if (pthread_cond_timedwait(&s->changed, &s->lock, &deadline) == ETIMEDOUT) {
			r = -ETIMEDOUT;
			goto out;
		}
	}
	if (e) {
		r = copy_answer(&e->answer, out) < 0 ? -ENOMEM : 1;
		goto out;
	}
	e = take_slot(s);
	if (!e) {
		r = -EBUSY;
		goto out;
	}
	e->used = e->pending = true;
	e->hash = h;
	e->key = key;
	e->key_len = len;
	key = NULL;
	r = 0;
out:
	pthread_mutex_unlock(&s->lock);
	free(key);
	return r;
}

static struct entry *find_pending(struct pv_store *s, const char *source, const char *id)
{
	size_t len;
	char *key = make_key(source, id, &len);
	struct entry *e = NULL;

	if (key) {
		e = find(s, key, len, fnv1a(key, len));
		free(key);
	}
	return e && e->pending ? e : NULL;
}

int pv_store_finish(struct pv_store *s, const char *source, const char *id,
		    const struct pv_answer *a)
{
	struct entry *e;
	int r = -ENOENT;

	pthread_mutex_lock(&s->lock);
	e = find_pending(s, source, id);
	if (e) {
		r = copy_answer(a, &e->answer);
		e->pending = false;
		if (r < 0)
			entry_clear(e);
	}
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	return r;
}

void pv_store_abandon(struct pv_store *s, const char *source, const char *id)
{
	struct entry *e;

	pthread_mutex_lock(&s->lock);
	e = find_pending(s, source, id);
	if (e)
		entry_clear(e);
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
}
