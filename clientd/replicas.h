/* SPDX-License-Identifier: MIT */
#ifndef PODGW_REPLICAS_H
#define PODGW_REPLICAS_H

/* A gateway's replicas (every pod IP its name resolves to) and the order
 * in which this pod tries them: rendezvous (highest-random-weight) hashing
 * of the pod's identity with each pod IP, so that pods spread evenly and a
 * change in the set moves only the pods of the replica that came or went.
 * REPLICA_SELECTION=least-loaded reorders by the lease counts the replicas
 * report (INFO); pin keeps only the replica named REPLICA. */

#include <stdbool.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/wire.h"

#define PG_REPLICAS_MAX 16

struct pg_key;

struct pg_replica {
	struct pg_prefix ip;	       /* pod IP, /32 or /128 */
	char name[PG_REPLICA_MAX + 1]; /* from its INFO answer or GRANT; "" unknown */
	bool answered;		       /* to the last INFO */
	bool has_leases;
	uint32_t leases;
};

struct pg_replicas {
	unsigned n;
	struct pg_replica r[PG_REPLICAS_MAX];
};

/* The weight of pod IP ip for the pod namespace/name: a keyed hash with a
 * key that is the same everywhere, so every pod computes the same order
 * for itself whatever the order of the name's addresses. */
uint64_t pg_replica_weight(const char *ns, const char *name, const struct pg_prefix *ip);
/* Sorts s by weight for namespace/name, highest first. */
void pg_replicas_rendezvous(struct pg_replicas *s, const char *ns, const char *name);
/* Stable: replicas that reported their lease count first, fewest first;
 * the others after, in their order (the rendezvous order). */
void pg_replicas_by_load(struct pg_replicas *s);
/* Index of ip in s, or -1. */
int pg_replicas_find(const struct pg_replicas *s, const struct pg_prefix *ip);
/* Whether a and b hold the same pod IPs, whatever their order. */
bool pg_replicas_same_ips(const struct pg_replicas *a, const struct pg_replicas *b);
/* Sends INFO to every replica of s and waits at most timeout_ms for the
 * answers, filling name, leases and answered. Replicas that do not answer
 * (old gateways, dead pods) are left unknown. 0 or a negative errno. */
int pg_replicas_query(const struct pg_config *cfg, const struct pg_key *key, const uint8_t mac[6],
		      struct pg_replicas *s, unsigned timeout_ms);
/* The order setup and failover try: rendezvous; by load for
 * least-loaded (queries the replicas); for pin, only the replica named
 * REPLICA (queries them; none when it does not answer). */
void pg_replicas_order(const struct pg_config *cfg, const struct pg_key *key, const uint8_t mac[6],
		       struct pg_replicas *s);

#endif
