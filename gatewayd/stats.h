/* SPDX-License-Identifier: MIT */
#ifndef PODGW_STATS_H
#define PODGW_STATS_H

/* What gatewayd counts for /metrics: plain counters bumped by the
 * membership service and the repair pass, read by the metrics renderer. */

#include <stdint.h>

/* Why a membership request was refused or dropped (the label values of
 * podgw_rejections_total{reason}). */
enum pg_reject {
	PG_REJECT_AUTH,		  /* bad or missing tag */
	PG_REJECT_REPLAY,	  /* a replayed message */
	PG_REJECT_STALE,	  /* too old or too new: clocks */
	PG_REJECT_MALFORMED,	  /* undecodable, oversized or not a request */
	PG_REJECT_VERSION,	  /* another protocol version */
	PG_REJECT_POOL_EXHAUSTED, /* no free address */
	PG_REJECT_ADDRESS_TAKEN,  /* the wanted address is taken or reserved */
	PG_REJECT_OUTSIDE_POOL,	  /* the wanted address is outside the pool */
	PG_REJECT_NO_LEASE,	  /* a renewal or release without a lease of its own */
	PG_REJECT_INTERNAL,	  /* the kernel refused the admission */
	PG_REJECT_LEASE_HELD,	  /* a JOIN for a lease renewed lately from another pod IP */
	PG_REJECT_MAC_TAKEN,	  /* a JOIN with a MAC leased to another client */
	PG_REJECT_POD_IP_LEASES,  /* the pod IP holds LEASES_PER_POD_IP leases already */
	PG_REJECT_RATE,		  /* over JOIN_RATE_PER_POD_IP */
	PG_REJECT_POD_IP,	  /* POD_IP is not the source address */
	PG_REJECT_COUNT
};

/* What a repair put back (podgw_repairs_total{kind}). */
enum pg_repair {
	PG_REPAIR_LINK,
	PG_REPAIR_LINK_UP,
	PG_REPAIR_ADDRESS,
	PG_REPAIR_TABLES,
	PG_REPAIR_ROUTES,
	PG_REPAIR_LEASE_ENTRIES,
	PG_REPAIR_COUNT
};

/* What the DNS forwarder dropped (podgw_dns_dropped_total{reason}). */
enum pg_dns_drop {
	PG_DNS_DROP_CLIENT_QUOTA, /* the client had DNS_CLIENT_MAX_PENDING outstanding */
	PG_DNS_DROP_TABLE_FULL,	  /* no slot, and no client with more to give one up */
	PG_DNS_DROP_EVICTED,	  /* an outstanding query given up for a client with fewer */
	PG_DNS_DROP_MALFORMED,	  /* not a query we read */
	PG_DNS_DROP_NOT_CLIENT,	  /* not from an overlay client on the vxlan link */
	PG_DNS_DROP_NO_SERVER,	  /* no server for its route */
	PG_DNS_DROP_SEND,	  /* no socket, or the send failed (the kill switch) */
	PG_DNS_DROP_TIMEOUT,	  /* unanswered for PG_DNS_TIMEOUT_MS */
	PG_DNS_DROP_UNEXPECTED,	  /* an answer matching no outstanding query */
	PG_DNS_DROP_COUNT
};

struct pg_stats {
	uint64_t leases_granted; /* new leases: a client without a live one joined */
	uint64_t joins;		 /* JOINs answered with a grant (new leases and rejoins) */
	uint64_t renewals;
	uint64_t releases;
	uint64_t expiries;
	uint64_t rejections[PG_REJECT_COUNT];
	/* Answers to unauthenticated or failed requests not sent: over their
	 * rate, or longer than the request. */
	uint64_t answers_suppressed;
	uint64_t info_requests; /* INFOs answered */
	uint64_t repairs[PG_REPAIR_COUNT];
	uint64_t start_time; /* seconds since the epoch */
	uint64_t dns_forwarded;
	uint64_t dns_dropped[PG_DNS_DROP_COUNT];
};

const char *pg_reject_name(enum pg_reject r);
const char *pg_repair_name(enum pg_repair r);
const char *pg_dns_drop_name(enum pg_dns_drop r);

#endif
