/* SPDX-License-Identifier: MIT */
#ifndef PODGW_POOL_H
#define PODGW_POOL_H

/* The overlay address pool and its leases. Pure bookkeeping: no kernel,
 * no sockets, no clock: times are passed in, in seconds of the lease clock
 * (gatewayd/leaseclock.h), which no wall-clock step moves. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/wire.h" /* PG_NAMESPACE_MAX */
#include "gatewayd/natconf.h"

#define PG_CLIENT_NAME_MAX 253				 /* a pod name */
#define PG_CLIENT_ID_MAX   (63 + 1 + PG_CLIENT_NAME_MAX) /* namespace/name */

struct pg_lease {
	char id[PG_CLIENT_ID_MAX + 1]; /* "namespace/name" */
	struct in_addr addr;	       /* overlay address */
	uint8_t mac[6];		       /* the client's vxlan MAC */
	struct pg_prefix pod_ip;       /* where its VXLAN comes from: IPv4 or IPv6 */
	uint64_t expires;
	uint64_t first_expires;	 /* expires as the lease began: it began a lease time before */
	uint64_t renewed_ms;	 /* last JOIN or RENEW (lease clock, ms): pg_pool_touch() */
	uint64_t tunnel_packets; /* its datagrams when last looked at; not saved */
};

struct pg_pool;

/* net: the overlay (/16../29, IPv4, host bits clear); index 0 (network), 1
 * (the gateway) and the last (broadcast) are never leased; dynamic leases
 * start at index first_dynamic (pod-gateway's VXLAN_GATEWAY_FIRST_DYNAMIC_IP),
 * below it only reservations and explicit wishes. -EINVAL for another net or
 * a first_dynamic below 2 or at/after the broadcast index. */
int pg_pool_new(const struct pg_prefix *net, uint32_t first_dynamic, struct pg_pool **out);
void pg_pool_free(struct pg_pool *p);

/* Where pod-gateway's bare nat.conf names live: "name" reserves for
 * "NS/name" ("default" until set). -EINVAL for anything but a namespace. */
int pg_pool_set_reservation_namespace(struct pg_pool *p, const char *ns);

/* Reserves index for the client "namespace/name", or "NS/name" for a bare
 * name (pod-gateway's nat.conf "name index ports"); reserving the same pair
 * again is 0. -EINVAL for a bad name ([A-Za-z0-9._-], 1..PG_CLIENT_NAME_MAX,
 * after an optional "namespace/") or an index that cannot be leased, -EEXIST if another name has
 * the index or name has another index. A live lease already on the index keeps it until it ends or
 * its holder joins again (it is then moved if another address is free); until then the reserved
 * client gets -EADDRINUSE. */
int pg_pool_reserve(struct pg_pool *p, const char *name, uint32_t index);

/* Grants or refreshes the lease of id ("namespace/name", [A-Za-z0-9._/-];
 * name, which may be NULL for none, is the identity reservations are looked
 * up by: id itself, always, but for a pool that only checks a file). The same id keeps its
 * address, and gets its previous one back after expiry or release while
 * nobody else took it (and it is not reserved for another name). Otherwise
 * it gets its preferred address: a fixed hash of id into the dynamic range,
 * the same in every pool of the same network and first_dynamic (replicas
 * of a gateway, restarts), or the first free one after it. A wish
 * (INADDR_ANY: none) is honoured when free, also below first_dynamic; a
 * differing wish from a live lease moves it, or fails with -EADDRINUSE and
 * leaves it where it was. A reservation for name beats a wish. pod_ip is an
 * address of either family (the underlay's; its length is ignored). A lease on an
 * address since reserved for another name moves when acquired again and another
 * address is free. Errors: -EINVAL bad id or pod IP, -ENOSPC pool exhausted,
 * -EADDRINUSE wish taken (or reserved for another name) or the reserved
 * address held by another id, -EADDRNOTAVAIL mac is another id's live
 * lease's, -ERANGE wish outside the pool or the
 * network/gateway/broadcast address, -ENOMEM; on error nothing changes.
 * *granted gets a copy of the lease; when id held a live lease before the
 * call, *had_previous is set and *previous is a copy of it, so the caller
 * can move kernel state (MAC, pod IP). granted, previous and had_previous
 * may be NULL. */
int pg_pool_acquire(struct pg_pool *p, const char *id, const char *name, struct in_addr wish,
		    const uint8_t mac[6], struct pg_prefix pod_ip, uint64_t expires,
		    struct pg_lease *granted, struct pg_lease *previous, bool *had_previous);

/* A renewal: the live lease of id now expires at expires; its address, MAC
 * and pod IP stay (a reservation changed since applies when it joins
 * again). *renewed (may be NULL) gets a copy. -ENOENT when there is none. */
int pg_pool_renew(struct pg_pool *p, const char *id, uint64_t expires, struct pg_lease *renewed);
/* Records when id's live lease was last joined or renewed (in ms); the
 * pool keeps it and never reads it. */
void pg_pool_touch(struct pg_pool *p, const char *id, uint64_t renewed_ms);
/* The lease of id was seen to carry packets datagrams so far: when that
 * differs from the last look, it counts as renewed at now_ms (true). */
bool pg_pool_saw_traffic(struct pg_pool *p, const char *id, uint64_t packets, uint64_t now_ms);
/* Live leases held from pod_ip. */
size_t pg_pool_count_pod_ip(const struct pg_pool *p, struct pg_prefix pod_ip);
/* The live lease with this MAC or NULL; valid until the pool next changes. */
const struct pg_lease *pg_pool_find_mac(const struct pg_pool *p, const uint8_t mac[6]);
/* The live lease of id or NULL; valid until the pool next changes. */
const struct pg_lease *pg_pool_find(const struct pg_pool *p, const char *id);
/* Ends the lease of id; *ended gets a copy. -ENOENT when there is none. */
int pg_pool_release(struct pg_pool *p, const char *id, struct pg_lease *ended);
/* Ends one lease that expired at or before now; 0 with *ended filled, or
 * -ENOENT when none has. Call until -ENOENT. */
int pg_pool_expire_one(struct pg_pool *p, uint64_t now, struct pg_lease *ended);
/* Earliest expiry of a live lease, or UINT64_MAX. */
uint64_t pg_pool_next_expiry(const struct pg_pool *p);

size_t pg_pool_count(const struct pg_pool *p);
size_t pg_pool_capacity(const struct pg_pool *p); /* leasable addresses */
/* Calls fn for every live lease (order unspecified); stops when fn returns
 * non-zero and returns that. */
int pg_pool_foreach(const struct pg_pool *p, int (*fn)(const struct pg_lease *, void *), void *arg);

/* Persistence: a text file replaced atomically (PATH.tmp, fsync, rename,
 * fsync of the directory): a "podgw-leases 1" line, then one
 * "id addr mac pod_ip expires" line per lease (pod_ip IPv4 or IPv6: files
 * written before IPv6 underlays read the same), expires on the wall clock
 * (seconds since the epoch): save converts from the lease clock with the two
 * clocks' now, load converts back, keeping at most max_left seconds (a wall
 * clock set back cannot stretch a lease) and nothing of what passed. Loading reads the whole file
 * first; a corrupt file (bad header or line, a line without its newline, a
 * duplicate id or address) is renamed to PATH.corrupt and -EBADMSG is
 * returned with *line set, nothing loaded. Otherwise each lease is put back
 * with pg_pool_acquire semantics (its address as the wish, the name after
 * the '/' for reservations; expired ones too: the caller expires them);
 * leases outside the pool (the overlay changed) or whose address is now
 * reserved for another name or held by a live lease are dropped: their
 * clients join again. A missing file is 0 with nothing loaded. */
int pg_pool_save(const struct pg_pool *p, const char *path, uint64_t lease_now, uint64_t wall_now);
int pg_pool_load(struct pg_pool *p, const char *path, uint64_t lease_now, uint64_t wall_now,
		 uint32_t max_left, unsigned *line);

/* Replaces every reservation with c's (pod-gateway's nat.conf, see
 * gatewayd/natconf.h), all or nothing: on success the pool owns c and *old
 * gets the previous one (NULL: none; old may be NULL to free it); on an
 * error (-ENOMEM, -EINVAL for an index outside this pool) nothing changed
 * and c is still the caller's. c may be NULL: no reservations. Live leases
 * keep their addresses: a renewal never moves one, and a lease on an
 * address now reserved for another name stays until it ends. */
int pg_pool_set_nat_conf(struct pg_pool *p, struct pg_natconf *c, struct pg_natconf **old);
/* What the reservations came from (NULL: none), with its port forwards. */
const struct pg_natconf *pg_pool_nat_conf(const struct pg_pool *p);

#endif
