/* SPDX-License-Identifier: MIT */
/* With a VPN, VPN_LOCAL_CIDRS go to the pod network's router (the
 * underlay's default gateway), as pod-gateway does, so that a VPN client's
 * 0/1 and 128/1 routes do not take them. A route someone else already
 * made is left alone; ours are removed on exit. */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "gatewayd/gateway-internal.h"

#define MAX_DEFAULTS 8

static const struct pg_route *underlay_default(struct pg_gateway *gw, struct pg_route *defaults,
					       int *r)
{
	size_t n = 0;

	*r = pg_route_defaults(gw->rt, AF_INET, defaults, MAX_DEFAULTS, &n);
	for (size_t i = 0; *r == 0 && i < n && i < MAX_DEFAULTS; i++)
		if (defaults[i].oif == gw->underlay.ifindex && defaults[i].gw.family == AF_INET)
			return &defaults[i];
	return NULL;
}

static void push_net(struct pg_gateway *gw, const struct pg_prefix *p)
{
	if (gw->underlay_nets.n < PG_MAX_PREFIXES)
		gw->underlay_nets.items[gw->underlay_nets.n++] = *p;
}

/* The pod network as this pod sees it (its addresses' networks) and its
 * router, which is the node or the node's way into everything: none of it
 * is the internet the overlay is for. A failure to read leaves the list
 * shorter, never the gateway down: the settings' ranges still hold. */
void gw_read_underlay_nets(struct pg_gateway *gw)
{
	struct pg_route defaults[MAX_DEFAULTS];
	const struct pg_route *via;
	struct ifaddrs *ifs, *i;
	int r;

	gw->underlay_nets.n = 0;
	if (getifaddrs(&ifs) == 0) {
		for (i = ifs; i; i = i->ifa_next) {
			const struct sockaddr_in *a = (const struct sockaddr_in *)i->ifa_addr;
			const struct sockaddr_in *m = (const struct sockaddr_in *)i->ifa_netmask;
			struct pg_prefix p;
			struct in_addr net;

			if (!a || !m || a->sin_family != AF_INET ||
			    strcmp(i->ifa_name, gw->cfg->underlay_if) != 0)
				continue;
			net.s_addr = a->sin_addr.s_addr & m->sin_addr.s_addr;
			pg_prefix_from_v4(&p, net, (uint8_t)__builtin_popcount(m->sin_addr.s_addr));
			push_net(gw, &p);
		}
		freeifaddrs(ifs);
	} else {
		pg_warn("reading %s's addresses: %s; its network is not kept from the overlay",
			gw->cfg->underlay_if, strerror(errno));
	}
	via = underlay_default(gw, defaults, &r);
	if (via) {
		struct pg_prefix p = via->gw;

		p.len = 32;
		push_net(gw, &p);
	}
}

int gw_add_local_routes(struct pg_gateway *gw)
{
	const struct pg_config *cfg = gw->cfg;
	struct pg_route defaults[MAX_DEFAULTS];
	const struct pg_route *via;
	int r;

	if (!cfg->vpn_if[0] || !cfg->vpn_local.n)
		return 0;
	via = underlay_default(gw, defaults, &r);
	if (!via) {
		pg_warn("VPN_LOCAL_CIDRS: no IPv4 default route through %s (%s): no routes added; "
			"the pod's routes must send them there",
			cfg->underlay_if, r < 0 ? strerror(-r) : "none found");
		return 0;
	}
	for (unsigned i = 0; i < cfg->vpn_local.n; i++) {
		struct pg_route rt = {
		    .dst = cfg->vpn_local.items[i], .gw = via->gw, .oif = gw->underlay.ifindex};
		char a[PG_PREFIX_STRLEN];

		if (rt.dst.family != AF_INET)
			continue;
		r = pg_route_add(gw->rt, &rt, false);
		if (r == -EEXIST)
			continue;
		if (r < 0) {
			const char *ext = pg_rtnl_errmsg(gw->rt);

			pg_err("VPN_LOCAL_CIDRS: adding the route to %s: %s%s%s",
			       pg_prefix_fmt(&rt.dst, a, true), strerror(-r), *ext ? ": " : "",
			       ext);
			return r;
		}
		gw->local_routes[gw->n_local_routes++] = rt;
	}
	return 0;
}

/* Puts back the routes we made that someone deleted; adding one that is
 * there fails with EEXIST and notifies nobody. */
int gw_restore_local_routes(struct pg_gateway *gw)
{
	int restored = 0;

	for (size_t i = 0; i < gw->n_local_routes; i++)
		if (pg_route_add(gw->rt, &gw->local_routes[i], false) == 0)
			restored++;
	return restored;
}

void gw_delete_local_routes(struct pg_gateway *gw)
{
	int r;

	for (size_t i = 0; i < gw->n_local_routes; i++)
		if ((r = pg_route_del(gw->rt, &gw->local_routes[i])) < 0 && r != -ESRCH)
			pg_warn("deleting the route to %s: %s",
				pg_prefix_fmt(&gw->local_routes[i].dst, (char[PG_PREFIX_STRLEN]){0},
					      true),
				strerror(-r));
}
