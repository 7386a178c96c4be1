/* SPDX-License-Identifier: MIT */
#include "gatewayd/traffic.h"

#include <errno.h>
#include <linux/netfilter.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define READ_ATTEMPTS 3 /* a dump interrupted by a change is redone */

struct pg_traffic {
	struct pg_traffic_count *c; /* sorted by address */
	size_t n, cap;
};

int pg_traffic_new(struct pg_traffic **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void pg_traffic_free(struct pg_traffic *tr)
{
	if (!tr)
		return;
	free(tr->c);
	free(tr);
}

static int cmp_addr(const void *a, const void *b)
{
	uint32_t x = ntohl(((const struct pg_traffic_count *)a)->addr.s_addr);
	uint32_t y = ntohl(((const struct pg_traffic_count *)b)->addr.s_addr);

	return x < y ? -1 : x > y;
}

static struct pg_traffic_count *find(const struct pg_traffic *tr, struct in_addr addr)
{
	struct pg_traffic_count key = {.addr = addr};

	return tr->n ? bsearch(&key, tr->c, tr->n, sizeof(key), cmp_addr) : NULL;
}

const struct pg_traffic_count *pg_traffic_find(const struct pg_traffic *tr, struct in_addr addr)
{
	return tr ? find(tr, addr) : NULL;
}

static int append(struct pg_traffic *tr, const struct pg_traffic_count *c)
{
	if (tr->n == tr->cap) {
		size_t cap = tr->cap ? 2 * tr->cap : 16;
		struct pg_traffic_count *grown = realloc(tr->c, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		tr->c = grown;
		tr->cap = cap;
	}
	tr->c[tr->n++] = *c;
	return 0;
}

/* Sorts, then folds the tx and rx entries of each address into one. */
static void settle(struct pg_traffic *tr)
{
	size_t out = 0;

	if (!tr->n)
		return;
	qsort(tr->c, tr->n, sizeof(*tr->c), cmp_addr);
	for (size_t i = 1; i < tr->n; i++) {
		struct pg_traffic_count *o = &tr->c[out], *c = &tr->c[i];

		if (o->addr.s_addr == c->addr.s_addr) {
			o->tx_packets += c->tx_packets;
			o->tx_bytes += c->tx_bytes;
			o->rx_packets += c->rx_packets;
			o->rx_bytes += c->rx_bytes;
		} else {
			tr->c[++out] = *c;
		}
	}
	tr->n = out + 1;
}

int pg_traffic_put(struct pg_traffic *tr, const struct pg_traffic_count *c)
{
	struct pg_traffic_count *hit = find(tr, c->addr);
	int r;

	if (hit) {
		*hit = *c;
		return 0;
	}
	r = append(tr, c);
	if (r == 0)
		qsort(tr->c, tr->n, sizeof(*tr->c), cmp_addr);
	return r;
}

struct reading {
	struct pg_traffic *into;
	bool rx;
};

static int take(const void *key, size_t key_len, uint64_t packets, uint64_t bytes, void *arg)
{
	struct reading *rd = arg;
	struct pg_traffic_count c = {0};

	if (key_len != 4)
		return 0;
	memcpy(&c.addr.s_addr, key, 4);
	if (rd->rx) {
		c.rx_packets = packets;
		c.rx_bytes = bytes;
	} else {
		c.tx_packets = packets;
		c.tx_bytes = bytes;
	}
	return append(rd->into, &c);
}

static int read_set(struct pg_traffic *into, struct pg_nft *nft, const char *table, bool rx)
{
	struct reading rd = {into, rx};
	size_t mark = into->n;
	int r = -EAGAIN;

	for (int i = 0; i < READ_ATTEMPTS && r == -EAGAIN; i++) {
		into->n = mark; /* a redone dump replaces what the interrupted one gave */
		r = pg_nft_set_counters(nft, NFPROTO_INET, table,
					rx ? PG_SET_CLIENT_RX : PG_SET_CLIENT_TX, take, &rd);
	}
	return r;
}

int pg_traffic_read(struct pg_traffic *tr, struct pg_nft *nft, const char *table)
{
	struct pg_traffic fresh = {0};
	int r = read_set(&fresh, nft, table, false);

	if (r == 0)
		r = read_set(&fresh, nft, table, true);
	if (r < 0) {
		free(fresh.c);
		return r;
	}
	settle(&fresh);
	free(tr->c);
	*tr = fresh;
	return 0;
}
