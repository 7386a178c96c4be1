/* SPDX-License-Identifier: MIT */
#include "gatewayd/quota.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/sockaddr.h"

#define QUOTA_SLOTS 4096 /* sources tracked at once; a power of two */

bool pg_bucket_take(struct pg_bucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms)
{
	uint64_t full = (uint64_t)burst * 1000;

	if (!rate)
		return true;
	if (!b->at_ms || now_ms < b->at_ms) {
		b->milli = full;
		b->at_ms = now_ms ? now_ms : 1;
	} else {
		uint64_t add = (now_ms - b->at_ms) * rate;

		b->milli = add >= full || b->milli + add >= full ? full : b->milli + add;
		b->at_ms = now_ms;
	}
	if (b->milli < 1000)
		return false;
	b->milli -= 1000;
	return true;
}

struct quota_slot {
	struct pg_prefix addr; /* family 0: unused */
	struct pg_bucket b;
};

struct pg_quota {
	uint32_t rate, burst;
	uint8_t key[crypto_shorthash_KEYBYTES];
	struct quota_slot slots[QUOTA_SLOTS];
};

struct pg_quota *pg_quota_new(uint32_t rate, uint32_t burst)
{
	struct pg_quota *q;

	if (sodium_init() < 0) {
		errno = EIO;
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->rate = rate;
	q->burst = burst;
	randombytes_buf(q->key, sizeof(q->key));
	return q;
}

void pg_quota_free(struct pg_quota *q)
{
	free(q);
}

bool pg_quota_take_addr(struct pg_quota *q, const struct pg_prefix *src, uint64_t now_ms)
{
	uint8_t h[crypto_shorthash_BYTES];
	struct quota_slot *s;
	uint32_t i;

	if (!q->rate)
		return true;
	crypto_shorthash(h, src->bytes, pg_prefix_bytes(src), q->key);
	memcpy(&i, h, sizeof(i));
	s = &q->slots[i & (QUOTA_SLOTS - 1)];
	if (!pg_addr_equal(&s->addr, src)) {
		s->addr = *src;
		s->b = (struct pg_bucket){0};
	}
	return pg_bucket_take(&s->b, q->rate, q->burst, now_ms);
}

bool pg_quota_take(struct pg_quota *q, struct in_addr src, uint64_t now_ms)
{
	struct pg_prefix p;

	pg_prefix_from_v4(&p, src, 32);
	return pg_quota_take_addr(q, &p, now_ms);
}
