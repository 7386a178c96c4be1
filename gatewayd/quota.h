/* SPDX-License-Identifier: MIT */
#ifndef PODGW_QUOTA_H
#define PODGW_QUOTA_H

/* Token buckets: one for a whole kind of answer, and a bounded table of
 * them per source address (for the membership port). Times are
 * milliseconds of any monotonic clock. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/addr.h"

struct pg_bucket {
	uint64_t milli; /* tokens x 1000 */
	uint64_t at_ms; /* last refill; 0: never used (full) */
};

/* Takes one token from b, refilled at rate per second up to burst; false
 * when empty. rate 0: no limit. */
bool pg_bucket_take(struct pg_bucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms);

/* Per-source buckets in a fixed table (direct-mapped by a keyed hash, so
 * chosen addresses cannot aim at one bucket): a source that loses its
 * bucket to another gets a full one back, which only ever errs toward
 * letting it through. */
struct pg_quota;
/* NULL with errno set. */
struct pg_quota *pg_quota_new(uint32_t rate, uint32_t burst);
void pg_quota_free(struct pg_quota *q);
bool pg_quota_take(struct pg_quota *q, struct in_addr src, uint64_t now_ms);
/* The same for a source of either family. */
bool pg_quota_take_addr(struct pg_quota *q, const struct pg_prefix *src, uint64_t now_ms);

#endif
