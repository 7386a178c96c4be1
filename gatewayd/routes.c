/* SPDX-License-Identifier: MIT */
/* With a VPN, VPN_LOCAL_CIDRS go to the pod network's router (the
 * underlay's default gateway), as pod-gateway does, so that a VPN client's
 * 0/1 and 128/1 routes do not take them. A route someone else already
 * made is left alone; ours are removed on exit. Each family on its own:
 * a pod has an IPv4 router, an IPv6 one, or both. */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "gatewayd/gateway-internal.h"

#define MAX_DEFAULTS 8

static const char *family_name(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}

/* The default routes of family through the underlay: n of them. */
static size_t underlay_defaults(struct pg_gateway *gw, int family, struct pg_route *defaults,
				int *r)
{
	size_t n = 0, kept = 0;

	*r = pg_route_defaults(gw->rt, family, defaults, MAX_DEFAULTS, &n);
	for (size_t i = 0; *r == 0 && i < n && i < MAX_DEFAULTS; i++)
		if (defaults[i].oif == gw->underlay.ifindex && defaults[i].gw.family == family)
			defaults[kept++] = defaults[i];
	return kept;
}

static void push_net(struct pg_gateway *gw, const struct pg_prefix *p)
{
	if (gw->underlay_nets.n < PG_MAX_PREFIXES)
		gw->underlay_nets.items[gw->underlay_nets.n++] = *p;
}

/* An interface address's network, or false for none worth keeping (another
 * family, or IPv6 link-local: fe80::/64 leaves no link). */
static bool net_of(const struct ifaddrs *i, int family, struct pg_prefix *p)
{
	const void *a, *m;
	size_t len;

	if (!i->ifa_addr || !i->ifa_netmask || i->ifa_addr->sa_family != family)
		return false;
	if (family == AF_INET) {
		a = &((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr;
		m = &((const struct sockaddr_in *)(const void *)i->ifa_netmask)->sin_addr;
		len = 4;
	} else {
		a = &((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr;
		m = &((const struct sockaddr_in6 *)(const void *)i->ifa_netmask)->sin6_addr;
		len = 16;
		if (IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)a))
			return false;
	}
	*p = (struct pg_prefix){.family = (uint8_t)family};
	for (size_t b = 0; b < len; b++) {
		p->bytes[b] = ((const uint8_t *)a)[b] & ((const uint8_t *)m)[b];
		p->len = (uint8_t)(p->len + __builtin_popcount(((const uint8_t *)m)[b]));
	}
	return true;
}

static bool link_local_router(const struct pg_prefix *p)
{
	return p->family == AF_INET6 && p->bytes[0] == 0xfe && (p->bytes[1] & 0xc0) == 0x80;
}

/* The pod network as this pod sees it (its addresses' networks) and its
 * routers, which are the node or the node's way into everything: none of
 * it is the internet the overlay is for (an IPv6 link-local router is
 * never a destination anyway). A failure to read leaves the list shorter,
 * never the gateway down: the settings' ranges still hold. */
void gw_read_underlay_nets(struct pg_gateway *gw, int family)
{
	struct pg_route defaults[MAX_DEFAULTS];
	struct ifaddrs *ifs, *i;
	size_t n;
	int r;

	if (getifaddrs(&ifs) == 0) {
		for (i = ifs; i; i = i->ifa_next) {
			struct pg_prefix p;

			if (strcmp(i->ifa_name, gw->cfg->underlay_if) == 0 && net_of(i, family, &p))
				push_net(gw, &p);
		}
		freeifaddrs(ifs);
	} else {
		pg_warn("reading %s's addresses: %s; its %s network is not kept from the overlay",
			gw->cfg->underlay_if, strerror(errno), family_name(family));
	}
	n = underlay_defaults(gw, family, defaults, &r);
	for (size_t d = 0; d < n; d++) {
		struct pg_prefix p = defaults[d].gw;

		if (link_local_router(&p))
			continue;
		p.len = family == AF_INET6 ? 128 : 32;
		push_net(gw, &p);
	}
}

int gw_add_local_routes(struct pg_gateway *gw, int family)
{
	const struct pg_config *cfg = gw->cfg;
	struct pg_route defaults[MAX_DEFAULTS];
	bool any = false;
	int r;

	for (unsigned i = 0; cfg->vpn_if[0] && i < cfg->vpn_local.n; i++)
		any |= cfg->vpn_local.items[i].family == family;
	if (!any)
		return 0;
	/* The first will do: a link-local router is reached through the
	 * underlay's ifindex like any other. */
	if (underlay_defaults(gw, family, defaults, &r) == 0) {
		pg_warn("VPN_LOCAL_CIDRS: no %s default route through %s (%s): no %s routes added; "
			"the pod's routes must send them there",
			family_name(family), cfg->underlay_if, r < 0 ? strerror(-r) : "none found",
			family_name(family));
		return 0;
	}
	for (unsigned i = 0; i < cfg->vpn_local.n; i++) {
		struct pg_route rt = {.dst = cfg->vpn_local.items[i],
				      .gw = defaults[0].gw,
				      .oif = gw->underlay.ifindex};
		char a[PG_PREFIX_STRLEN];

		if (rt.dst.family != family)
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
