/* SPDX-License-Identifier: MIT */
#ifndef PODGW_METRICS_H
#define PODGW_METRICS_H

/* What operators look at: /metrics in the Prometheus text format (0.0.4)
 * and the status command's lease table and JSON, rendered from the pool,
 * the last traffic reading and the counters. No kernel, no sockets, no
 * clock: everything comes in through struct pg_view, so tests render it. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gatewayd/pool.h"
#include "gatewayd/stats.h"
#include "gatewayd/traffic.h"

/* A growing text buffer; after a failed allocation it stays failed and
 * keeps what it had. */
struct pg_buf {
	char *data;
	size_t len, cap;
	bool failed;
};

void pg_buf_printf(struct pg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pg_buf_free(struct pg_buf *b);

struct pg_view {
	const char *gateway; /* GATEWAY_NAME or "" */
	const char *replica; /* REPLICA_NAME */
	const char *version; /* PODGW_VERSION */
	const struct pg_pool *pool;
	const struct pg_traffic *traffic; /* may be NULL */
	const struct pg_stats *stats;
	uint32_t lease_time;   /* seconds */
	uint64_t now;	       /* seconds since the epoch */
	uint64_t lease_now;    /* the lease clock's now (leaseclock.h): its times are shown
				  on the wall clock */
	struct pg_prefix ipv6; /* the IPv6 overlay; family 0: off */
	bool ipv6_egress;      /* grants carry IPv6 now */
	bool ipv6_failed;      /* configured, but its setup failed: IPv4 only */
};

void pg_metrics_render(struct pg_buf *b, const struct pg_view *v);
/* The status command's output: a table with a header line, or JSON. */
void pg_status_render_table(struct pg_buf *b, const struct pg_view *v);
void pg_status_render_json(struct pg_buf *b, const struct pg_view *v);

#endif
