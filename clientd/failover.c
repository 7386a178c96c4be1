/* SPDX-License-Identifier: MIT */
#include "clientd/failover.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientd/client-internal.h"
#include "common/daemon.h"
#include "common/log.h"

/* A live sibling answers within a round trip; a dead one must not hold
 * the move back for long, since each one tried adds this much. */
#define FAILOVER_JOIN_MS   200
#define FAILOVER_RESEND_MS 60

static const uint8_t zero_mac[6];

/* JOIN asking for our address; ADDRESS_TAKEN: any address. */
static int join_sibling(struct pg_client *c, struct pg_grant *g)
{
	char why[PG_ERROR_TEXT_MAX + 64];
	uint16_t error = 0;
	int r;

	r = pg_member_request(c->member, PG_MSG_JOIN, pg_prefix_v4(&c->grant.addr),
			      FAILOVER_JOIN_MS, FAILOVER_RESEND_MS, g, &error, why, sizeof(why));
	if (r == -EPROTO && error == PG_ERR_ADDRESS_TAKEN)
		r = pg_member_request(c->member, PG_MSG_JOIN, (struct in_addr){0}, FAILOVER_JOIN_MS,
				      FAILOVER_RESEND_MS, g, &error, why, sizeof(why));
	if (r == -EPROTO)
		pg_warn("replica %s refused the move: %s",
			pg_prefix_fmt(&c->gw_pod_ip, (char[PG_PREFIX_STRLEN]){0}, false), why);
	return r;
}

/* The tunnel toward to: neighbour (its MAC) first, so that frames still
 * sent to the old pod are not its own and it drops them; then the FDB.
 * Between the two nothing is sent at all: fail-closed. */
static void point_tunnel(struct pg_client *c, const struct pg_prefix *from,
			 const struct pg_prefix *to, const struct pg_grant *g)
{
	int r;

	if (g && (r = pg_neigh_add(c->rt, c->vxlan_ifindex, &g->gateway, g->gateway_mac)) < 0)
		client_fail_netlink(c, "pointing the gateway's neighbour at the sibling", r);
	pg_fdb_del(c->rt, c->vxlan_ifindex, zero_mac, from);
	r = pg_fdb_add(c->rt, c->vxlan_ifindex, zero_mac, to);
	if (r < 0 && r != -EEXIST)
		client_fail_netlink(c, "pointing the FDB at the sibling", r);
}

/* A pod IP that left the set keeps no host route (a new pod may get it). */
static void forget_route(struct pg_client *c, const struct pg_prefix *ip)
{
	struct pg_route old = c->path;

	if (pg_replicas_find(&c->replicas, ip) >= 0)
		return;
	old.dst = *ip;
	old.table = 0;
	old.priority = 0;
	old.protocol = 0;
	pg_route_del(c->rt, &old);
}

/* A replica's pod IP may now belong to a new pod (a replaced replica that
 * got the same IP): the pod network's neighbour entry learned before
 * names a MAC nobody has, and the kernel would trust it for up to half a
 * minute. Forgotten, it costs one ARP exchange. */
static void forget_neighbour(struct pg_client *c, const struct pg_prefix *ip)
{
	if (c->path.oif)
		pg_neigh_del(c->rt, c->path.oif, ip);
}

static void drop_undo(struct pg_client *c)
{
	free(c->undo); /* keep_local records undo entries that mean nothing now */
	c->undo = NULL;
	c->n_undo = 0;
}

/* A changed set: the guard admits the new pod IPs (one commit, before
 * anything points there) and they are routed on the pod network. */
static int adopt_set(struct pg_client *c, const struct pg_replicas *set)
{
	struct pg_replicas old = c->replicas;
	struct pg_prefix old_ip = c->gw_pod_ip;
	int r;

	if (pg_replicas_same_ips(set, &c->replicas))
		return 0;
	c->replicas = *set;
	/* Ours left: the guard stops admitting it (its IP may go to any pod). */
	if (pg_replicas_find(set, &c->gw_pod_ip) < 0)
		c->gw_pod_ip = set->r[0].ip;
	r = client_install_guard(c);
	if (r != PG_EXIT_OK) {
		c->replicas = old;
		c->gw_pod_ip = old_ip;
		pg_warn("the guard still allows only the previous replicas");
		return -EIO;
	}
	client_keep_replicas_local(c);
	drop_undo(c);
	return 0;
}

enum pg_failover_result pg_failover(struct pg_client *c, bool lost, uint64_t since_ms)
{
	const struct pg_config *cfg = c->cfg;
	struct pg_replicas set, order;
	struct pg_prefix from = c->gw_pod_ip;
	char a[PG_PREFIX_STRLEN], b[PG_PREFIX_STRLEN], old_name[sizeof(c->grant.replica)];
	uint8_t mac[6];
	bool gone;

	/* The underlay's family, chosen at setup, stays. */
	if (client_resolve_once(cfg, from.family, &set) != 0 || set.n == 0)
		return PG_FAILOVER_STAYED;
	gone = pg_replicas_find(&set, &from) < 0;
	if (lost)
		forget_neighbour(c, &from);
	pg_replicas_rendezvous(&set, cfg->pod_namespace, cfg->pod_name);
	if (!gone && (!lost || cfg->replica_selection == PG_REPLICA_PIN || set.n == 1)) {
		adopt_set(c, &set);
		return PG_FAILOVER_STAYED;
	}
	if (adopt_set(c, &set) < 0)
		return PG_FAILOVER_STAYED;
	order = set;
	pg_member_mac(c->member, mac);
	pg_replicas_order(cfg, c->have_key ? &c->key : NULL, mac, &order);
	snprintf(old_name, sizeof(old_name), "%s",
		 c->grant.replica[0] ? c->grant.replica : "unknown");
	for (unsigned i = 0; i < order.n; i++) {
		const struct pg_prefix *to = &order.r[i].ip;
		struct pg_grant g;
		int r;

		if (to->family == from.family &&
		    memcmp(to->bytes, from.bytes, pg_prefix_bytes(to)) == 0)
			continue;
		c->gw_pod_ip = *to;
		forget_neighbour(c, to);
		if (pg_member_retarget(c->member, to) < 0 || join_sibling(c, &g) < 0)
			continue;
		point_tunnel(c, &from, to, &g);
		if ((r = client_follow_address(c, &g)) < 0)
			client_fail_netlink(c, "moving to the sibling's address", r);
		client_follow_v6(c, &g); /* its MAC, and whether it grants IPv6 */
		c->grant = g;
		forget_route(c, &from);
		pg_info("moved from replica %s (%s) to %s (%s) after %llu ms", old_name,
			pg_prefix_fmt(&from, a, false), g.replica[0] ? g.replica : "unknown",
			pg_prefix_fmt(to, b, false),
			(unsigned long long)(pg_monotonic_ms() - since_ms));
		return PG_FAILOVER_MOVED;
	}
	if (!gone || order.n == 0) {
		c->gw_pod_ip = from;
		pg_member_retarget(c->member, &from);
		return PG_FAILOVER_STAYED;
	}
	/* Our pod is gone from the name and nobody answered yet (a replaced
	 * pod still starting): point at the first, as keepalives (JOINs
	 * while lost) will reach it. */
	c->gw_pod_ip = order.r[0].ip;
	pg_info("gateway %s moved from %s to %s", cfg->gateway, pg_prefix_fmt(&from, a, false),
		pg_prefix_fmt(&c->gw_pod_ip, b, false));
	pg_member_retarget(c->member, &c->gw_pod_ip);
	point_tunnel(c, &from, &c->gw_pod_ip, NULL);
	forget_route(c, &from);
	return PG_FAILOVER_FOLLOWING;
}
