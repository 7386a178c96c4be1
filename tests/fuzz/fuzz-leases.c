/* SPDX-License-Identifier: MIT */
/* gatewayd reads LEASES_FILE at start. It writes the file itself, but a
 * crash mid-write, a full disk or a hand edit on the volume can leave any
 * bytes there: loading must survive them, take all or nothing, and what it
 * takes must save and load back to the same leases. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/sockaddr.h"
#include "gatewayd/pool.h"
#include "tests/fuzz/scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int found_in(const struct pg_lease *l, void *arg)
{
	const struct pg_lease *m = pg_pool_find(arg, l->id);

	if (!m || m->addr.s_addr != l->addr.s_addr || memcmp(m->mac, l->mac, 6) != 0 ||
	    !pg_addr_equal(&m->pod_ip, &l->pod_ip) || m->expires != l->expires)
		abort();
	return 0;
}

static struct pg_pool *new_pool(void)
{
	struct pg_prefix net;
	struct pg_pool *p;

	if (pg_prefix_parse("172.16.0.0/24", &net, false) < 0 || pg_pool_new(&net, 20, &p) < 0)
		abort();
	return p;
}

/* The two clocks as a start may find them: alike, the lease clock far
 * behind the wall clock, far ahead of it; with and without a cap. */
static const struct clocks {
	uint64_t lease_now, wall_now;
	uint32_t max_left;
} clocks[] = {
    {0, 0, UINT32_MAX},
    {1000, 1700000000, 3600},
    {1700000000, 1000, 30},
};

struct bound {
	const struct clocks *c;
};

/* Nothing restored outlives the cap or ends before the start. */
static int within(const struct pg_lease *l, void *arg)
{
	const struct clocks *c = ((const struct bound *)arg)->c;

	if (l->expires < c->lease_now || l->expires - c->lease_now > c->max_left)
		abort();
	return 0;
}

static void load_with(const struct clocks *c, const char *path, const char *again)
{
	struct pg_pool *p = new_pool(), *q;
	struct bound b = {c};
	unsigned line;
	int r = pg_pool_load(p, path, c->lease_now, c->wall_now, c->max_left, &line);

	/* a corrupt file names its line and loads nothing */
	if (r < 0 && (r != -EBADMSG || line == 0 || pg_pool_count(p) != 0))
		abort();
	if (r == 0) {
		pg_pool_foreach(p, within, &b);
		/* saved and loaded at the same instant: the same leases */
		q = new_pool();
		if (line != 0 || pg_pool_save(p, again, c->lease_now, c->wall_now) < 0 ||
		    pg_pool_load(q, again, c->lease_now, c->wall_now, c->max_left, &line) < 0 ||
		    pg_pool_count(q) != pg_pool_count(p))
			abort();
		pg_pool_foreach(p, found_in, q);
		pg_pool_free(q);
	}
	pg_pool_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[128], again[128];

	if (!path[0]) {
		fuzz_scratch_path("leases", path, sizeof(path));
		fuzz_scratch_path("again", again, sizeof(again));
	}
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		/* a corrupt file is renamed away: write it again each time */
		fuzz_scratch_write(path, data, size);
		load_with(&clocks[i], path, again);
	}
	return 0;
}
