/* SPDX-License-Identifier: MIT */
#ifndef PODGW_EVENTS_H
#define PODGW_EVENTS_H

/* Lease events to K_SINK: io.podgateway.client.connected when a client
 * gets a new lease, ...disconnected when one ends (released, expired,
 * replaced by a join of the same pod from another pod IP or MAC, refused by
 * the kernel on a rejoin). Renewals and rejoins that keep the lease send
 * nothing; leases restored at start were announced by the run that granted
 * them. Posting never blocks the caller: events wait in a bounded queue
 * (the oldest is dropped when it is full) and go out one at a time, in
 * order, through libcurl's multi interface driven by the gateway's poll
 * loop; failed posts are retried a few times with backoff, then dropped.
 * Every function accepts NULL (no K_SINK) and then does nothing. */

struct pg_source;

#include "common/config.h"
#include "gatewayd/pool.h"

#define PG_EVENTS_NFDS	     4 /* one transfer at a time: a resolver pipe, two eyeballs */
#define PG_EVENTS_QUEUE	     1024
#define PG_EVENTS_TIMEOUT_MS 5000
#define PG_EVENTS_ATTEMPTS   5 /* retries after 0.5, 1, 2 and 4 s */

struct pg_events;

/* Checks K_CE_OVERRIDES and the gateway name; reports "KEY: 'value': why"
 * and returns -EINVAL when they are unusable. */
int pg_events_check_config(const struct pg_config *cfg);

/* The gateway's own name, as events, metrics and status give it:
 * EVENTS_GATEWAY_NAME, else the first label of the hostname. 0 or a negative
 * errno. */
int pg_events_gateway_name(const struct pg_config *cfg, char out[PG_NAMESPACE_MAX + 1]);
/* *out is NULL when K_SINK is empty. 0 or a negative errno. */
int pg_events_open(const struct pg_config *cfg, struct pg_events **out);
/* Gives queued events up to a second, then frees everything. */
void pg_events_close(struct pg_events *ev);

/* A JOIN was granted: previous (NULL: none) is the lease the id held. */
void pg_events_joined(struct pg_events *ev, const struct pg_lease *previous,
		      const struct pg_lease *granted);
/* A lease ended; reason: released, expired, refused. */
void pg_events_ended(struct pg_events *ev, const struct pg_lease *l, const char *reason);

/* The event loop's source (gatewayd/loop.h): the transfer's descriptors
 * (PG_EVENTS_NFDS slots) and libcurl's and the retries' timers. */
void pg_events_source(struct pg_events *ev, struct pg_source *out);

#endif
