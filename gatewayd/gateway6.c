/* SPDX-License-Identifier: MIT */
/* The IPv6 overlay in the gateway's kernel: IPv6 forwarding, PREFIX::1/64
 * on the vxlan link (no link-local address, no DAD: nothing else speaks
 * IPv6 on it), and the underlay's IPv6 networks among the destinations
 * overlay traffic may not reach. Any of it failing leaves the gateway
 * IPv4-only, said once: grants then carry no IPv6, and clients keep IPv6
 * blocked. */
#include <errno.h>
#include <ifaddrs.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "gatewayd/egress.h"
#include "gatewayd/gateway-internal.h"
#include "gatewayd/sysctl.h"

#define MAX_DEFAULTS 8

void gw_overlay6_init(struct pg_gateway *gw)
{
	const struct pg_config *cfg = gw->cfg;

	gw->v6 = (struct pg_overlay6){
	    .net = cfg->overlay6.prefix,
	    .net4 = cfg->overlay,
	    .rt = gw->rt,
	    .egress_if = pg_egress_if(cfg),
	};
}

static void gateway_address(const struct pg_gateway *gw, struct pg_prefix *addr)
{
	pg_overlay6_gateway(&gw->v6.net, addr);
	addr->len = PG_OVERLAY6_LEN;
}

void gw_overlay6_link(struct pg_gateway *gw)
{
	struct pg_prefix addr;
	int r;

	gw->v6.on = false;
	if (!pg_overlay6_configured(gw->cfg) || gw->v6_failed)
		return;
	r = pg_sysctl_enable(PG_SYSCTL_IP6_FORWARD);
	if (r < 0) {
		pg_warn(
		    "net.ipv6.conf.all.forwarding is 0 and cannot be set here (%s): the overlay "
		    "carries no IPv6; set it in the pod (spec.securityContext.sysctls, an unsafe "
		    "sysctl) or VXLAN_IPV6_NETWORK=off",
		    strerror(-r));
		gw->v6_failed = true;
		return;
	}
	gateway_address(gw, &addr);
	r = pg_addr_add(gw->rt, gw->vxlan_ifindex, &addr);
	if (r < 0 && r != -EEXIST) {
		const char *ext = pg_rtnl_errmsg(gw->rt);

		pg_warn("adding %s to %s: %s%s%s: the overlay carries no IPv6",
			pg_prefix_fmt(&addr, (char[PG_PREFIX_STRLEN]){0}, true), gw->cfg->vxlan_if,
			strerror(-r), *ext ? ": " : "", ext);
		gw->v6_failed = true;
		return;
	}
	gw->v6.on = true;
	/* At start the log says at once whether grants carry IPv6. */
	pg_overlay6_egress(&gw->v6);
}

size_t gw_overlay6_fix_address(struct pg_gateway *gw)
{
	struct pg_prefix addr;

	if (!gw->v6.on)
		return 0;
	gateway_address(gw, &addr);
	return pg_addr_add(gw->rt, gw->vxlan_ifindex, &addr) == 0;
}

/* Like the IPv4 ones (routes.c): the pod network's IPv6 networks as this
 * pod sees them, and its IPv6 router when that is not link-local. */
void gw_read_underlay_nets6(struct pg_gateway *gw)
{
	struct pg_prefix_list *l = &gw->underlay_nets;
	struct pg_route defaults[MAX_DEFAULTS];
	struct ifaddrs *ifs, *i;
	size_t n = 0;

	if (!pg_overlay6_configured(gw->cfg))
		return;
	if (getifaddrs(&ifs) == 0) {
		for (i = ifs; i; i = i->ifa_next) {
			const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)i->ifa_addr;
			const struct sockaddr_in6 *m = (const struct sockaddr_in6 *)i->ifa_netmask;
			struct pg_prefix p = {.family = AF_INET6};

			if (!a || !m || a->sin6_family != AF_INET6 ||
			    strcmp(i->ifa_name, gw->cfg->underlay_if) != 0 ||
			    IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr) || l->n >= PG_MAX_PREFIXES)
				continue;
			for (int b = 0; b < 16; b++) {
				p.bytes[b] = a->sin6_addr.s6_addr[b] & m->sin6_addr.s6_addr[b];
				p.len =
				    (uint8_t)(p.len + __builtin_popcount(m->sin6_addr.s6_addr[b]));
			}
			l->items[l->n++] = p;
		}
		freeifaddrs(ifs);
	}
	if (pg_route_defaults(gw->rt, AF_INET6, defaults, MAX_DEFAULTS, &n) < 0)
		return;
	for (size_t d = 0; d < n && d < MAX_DEFAULTS; d++) {
		struct pg_prefix p = defaults[d].gw;

		if (defaults[d].oif != gw->underlay.ifindex || p.family != AF_INET6 ||
		    (p.bytes[0] == 0xfe && (p.bytes[1] & 0xc0) == 0x80) || l->n >= PG_MAX_PREFIXES)
			continue;
		p.len = 128;
		l->items[l->n++] = p;
	}
}

/* VPN_LOCAL_CIDRS' IPv6 entries through the underlay's IPv6 router, as
 * routes.c does for IPv4 (ours join gw->local_routes: restored by repair,
 * removed on exit). Without such a router the pod's routes must do it. */
int gw_add_local_routes6(struct pg_gateway *gw)
{
	const struct pg_config *cfg = gw->cfg;
	struct pg_route defaults[MAX_DEFAULTS];
	const struct pg_route *via = NULL;
	size_t n = 0;
	bool any = false;
	int r;

	for (unsigned i = 0; cfg->vpn_if[0] && i < cfg->vpn_local.n; i++)
		any |= cfg->vpn_local.items[i].family == AF_INET6;
	if (!any)
		return 0;
	r = pg_route_defaults(gw->rt, AF_INET6, defaults, MAX_DEFAULTS, &n);
	for (size_t d = 0; r == 0 && d < n && d < MAX_DEFAULTS && !via; d++)
		if (defaults[d].oif == gw->underlay.ifindex && defaults[d].gw.family == AF_INET6)
			via = &defaults[d];
	if (!via) {
		pg_warn("VPN_LOCAL_CIDRS: no IPv6 default route through %s (%s): no IPv6 routes "
			"added; the pod's routes must send them there",
			cfg->underlay_if, r < 0 ? strerror(-r) : "none found");
		return 0;
	}
	for (unsigned i = 0; i < cfg->vpn_local.n; i++) {
		struct pg_route rt = {
		    .dst = cfg->vpn_local.items[i], .gw = via->gw, .oif = gw->underlay.ifindex};

		if (rt.dst.family != AF_INET6)
			continue;
		r = pg_route_add(gw->rt, &rt, false);
		if (r == -EEXIST)
			continue;
		if (r < 0) {
			const char *ext = pg_rtnl_errmsg(gw->rt);

			pg_err("VPN_LOCAL_CIDRS: adding the route to %s: %s%s%s",
			       pg_prefix_fmt(&rt.dst, (char[PG_PREFIX_STRLEN]){0}, true),
			       strerror(-r), *ext ? ": " : "", ext);
			return r;
		}
		gw->local_routes[gw->n_local_routes++] = rt;
	}
	return 0;
}
