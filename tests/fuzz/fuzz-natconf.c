/* SPDX-License-Identifier: MIT */
/* nat.conf comes from a ConfigMap that other people write: the parser must
 * survive any bytes, a failure must say where and why, and what it accepts
 * must go into a pool (all or nothing) and steer allocation without
 * breaking it. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "gatewayd/natconf.h"
#include "gatewayd/pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What was accepted is sorted, unique and inside the pool. */
static void check_accepted(const struct pg_natconf *c)
{
	const struct pg_reservation *r;
	const struct pg_forward *f;
	size_t nr = pg_natconf_reservations(c, &r), nf = pg_natconf_forwards(c, &f);

	for (size_t i = 0; i < nr; i++) {
		if (r[i].index < 2 || r[i].index > 254 || pg_natconf_find(c, r[i].name) != &r[i])
			abort();
		if (i && strcmp(r[i - 1].name, r[i].name) >= 0)
			abort();
	}
	for (size_t i = 0; i < nf; i++) {
		if (!f[i].port || !f[i].to_port ||
		    pg_natconf_find_forward(c, f[i].proto, f[i].port) != &f[i])
			abort();
	}
	if (!pg_natconf_equal(c, c))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct in_addr none = {0};
	const struct pg_prefix pod = {.family = AF_INET, .len = 32};
	struct pg_natconf_error err;
	struct pg_natconf *c = NULL;
	struct pg_prefix net;
	struct pg_pool *p;
	struct pg_lease l;
	int r;

	if (pg_prefix_parse("172.16.0.0/24", &net, false) < 0 || pg_pool_new(&net, 20, &p) < 0)
		abort();
	r = pg_natconf_parse(&net, (const char *)data, size, &c, &err);
	if (r < 0 && c != NULL)
		abort();
	if (r == -EINVAL && (err.line == 0 || !err.why || !*err.why))
		abort();
	if (r == 0 && (err.line != 0 || !c))
		abort();
	if (r == 0) {
		check_accepted(c);
		if (pg_pool_set_nat_conf(p, c, NULL) < 0)
			abort();
	}
	/* the reservations steer allocation without breaking it: more ids
	 * than addresses, named like short nat.conf names */
	for (int i = 0; i < 300; i++) {
		char id[] = {'n', 's', '/', (char)('a' + i % 26), (char)('a' + i / 26), '\0'};
		/* a MAC is one client's */
		const uint8_t mac[6] = {0x02, 0x70, 0x67, 0, (uint8_t)(i >> 8), (uint8_t)i};

		r = pg_pool_acquire(p, id, id + 3, none, mac, pod, (uint64_t)i, &l, NULL, NULL);
		if (r < 0 && r != -ENOSPC && r != -EADDRINUSE)
			abort();
	}
	/* replacing them with none keeps the leases */
	if (pg_pool_set_nat_conf(p, NULL, NULL) < 0 || pg_pool_count(p) == 0)
		abort();
	pg_pool_free(p);
	return 0;
}
