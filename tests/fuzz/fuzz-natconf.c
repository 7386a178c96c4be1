/* SPDX-License-Identifier: MIT */
/* nat.conf comes from a ConfigMap that other people write: the parser must
 * survive any bytes, and a failure must say where and why and leave no
 * reservation behind. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "gatewayd/pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = {0x02, 0x70, 0x67, 0, 0, 1};
	const struct in_addr none = {0};
	struct pg_prefix net;
	struct pg_pool *p;
	struct pg_lease l;
	const char *why;
	unsigned line;
	int r;

	if (pg_prefix_parse("172.16.0.0/24", &net, false) < 0 || pg_pool_new(&net, 20, &p) < 0)
		abort();
	r = pg_pool_parse_nat_conf(p, (const char *)data, size, &line, &why);
	if (r == -EINVAL && (line == 0 || !why || !*why))
		abort();
	if (r == 0 && (line != 0 || why))
		abort();
	/* all or nothing: after a failure every index is still free */
	if (r < 0 && pg_pool_reserve(p, "probe", 2) < 0)
		abort();
	/* the reservations steer allocation without breaking it: more ids
	 * than addresses, named like short nat.conf names */
	for (int i = 0; i < 300; i++) {
		char id[] = {'n', 's', '/', (char)('a' + i % 26), (char)('a' + i / 26), '\0'};

		r = pg_pool_acquire(p, id, id + 3, none, mac, none, (uint64_t)i, &l, NULL, NULL);
		if (r < 0 && r != -ENOSPC)
			abort();
	}
	pg_pool_free(p);
	return 0;
}
