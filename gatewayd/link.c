/* SPDX-License-Identifier: MIT */
/* The vxlan link's lifecycle: what it should be, adopting or replacing a
 * leftover, creating it with its address, deleting it. */
#include <errno.h>
#include <string.h>

#include "common/daemon.h"
#include "common/log.h"
#include "gatewayd/gateway-internal.h"

/* The overlay's packets leave through the egress after decapsulation: the
 * smaller of what the underlay carries inside VXLAN and VPN_INTERFACE_MTU.
 * Clients learn it from the grant. */
static unsigned vxlan_mtu(const struct pg_gateway *gw)
{
	const struct pg_config *cfg = gw->cfg;
	unsigned mtu = gw->underlay.mtu - gw_vxlan_overhead(gw);

	return cfg->vpn_mtu && cfg->vpn_mtu < mtu ? cfg->vpn_mtu : mtu;
}

void gw_wanted_link(const struct pg_gateway *gw, struct pg_vxlan *vx, struct pg_prefix *addr)
{
	const struct pg_config *cfg = gw->cfg;

	*vx = (struct pg_vxlan){
	    .name = cfg->vxlan_if,
	    .vni = cfg->vxlan_id,
	    .port = cfg->vxlan_port,
	    .underlay_ifindex = gw->underlay.ifindex,
	    /* Membership programs the FDB: nothing is learned from packets. */
	    .learning = false,
	    .mtu = vxlan_mtu(gw),
	    .no_ipv6 = true, /* no link-local address: the IPv6 overlay's PREFIX::1 needs none */
	};
	/* An IPv6 tunnel: the link's local address makes it one. */
	if (gw->underlay_family == AF_INET6)
		vx->local = gw->pod_ip;
	pg_prefix_host(&cfg->overlay, 1, addr);
	pg_overlay_mac(addr, vx->mac);
}

bool gw_link_matches(const struct pg_link_info *l, const struct pg_vxlan *vx)
{
	return l->vxlan.vni == vx->vni && l->vxlan.port == vx->port &&
	       l->vxlan.underlay_ifindex == vx->underlay_ifindex &&
	       l->vxlan.learning == vx->learning && l->mtu == vx->mtu &&
	       l->vxlan.local.family == vx->local.family &&
	       memcmp(l->vxlan.local.bytes, vx->local.bytes, sizeof(vx->local.bytes)) == 0 &&
	       memcmp(l->mac, vx->mac, sizeof(l->mac)) == 0;
}

/* A link of our name left by a crashed gatewayd is kept when it matches,
 * which keeps what the kernel learned about clients on it (so they resume
 * at once), and replaced otherwise: vxlan settings cannot change on a live
 * link. Anything else carrying the name is the operator's and is refused. */
int gw_adopt_or_remove_leftover(struct pg_gateway *gw, const struct pg_vxlan *vx)
{
	struct pg_link_info old;
	int r = pg_link_get(gw->rt, gw->cfg->vxlan_if, &old);

	if (r == -ENODEV)
		return 0;
	if (r < 0) {
		pg_err("looking up %s: %s", gw->cfg->vxlan_if, strerror(-r));
		return PG_EXIT_RUNTIME;
	}
	if (strcmp(old.kind, "vxlan") != 0) {
		pg_err("VXLAN_INTERFACE: '%s': exists and is not a vxlan link", gw->cfg->vxlan_if);
		return PG_EXIT_CONFIG;
	}
	if (gw_link_matches(&old, vx)) {
		pg_info("adopting leftover %s", gw->cfg->vxlan_if);
		gw->vxlan_ifindex = old.ifindex;
		return 0;
	}
	pg_info("replacing leftover %s: its settings differ", gw->cfg->vxlan_if);
	r = pg_link_delete(gw->rt, old.ifindex);
	if (r < 0) {
		pg_err("deleting leftover %s: %s", gw->cfg->vxlan_if, strerror(-r));
		return PG_EXIT_RUNTIME;
	}
	return 0;
}

int gw_create_link(struct pg_gateway *gw, const struct pg_vxlan *vx, const struct pg_prefix *addr)
{
	const char *step = "creating";
	int r = 0;

	if (!gw->vxlan_ifindex)
		r = pg_link_vxlan_create(gw->rt, vx, &gw->vxlan_ifindex);
	if (r == 0) {
		step = "adding the overlay address to";
		r = pg_addr_add(gw->rt, gw->vxlan_ifindex, addr);
		if (r == -EEXIST) /* an adopted link */
			r = 0;
	}
	if (r == 0) {
		step = "bringing up";
		r = pg_link_set_up(gw->rt, gw->vxlan_ifindex, true);
	}
	if (r == 0)
		gw_overlay6_link(gw);
	if (r < 0) {
		const char *ext = pg_rtnl_errmsg(gw->rt);

		pg_err("%s %s: %s%s%s", step, gw->cfg->vxlan_if, strerror(-r), *ext ? ": " : "",
		       ext);
	}
	return r;
}

void gw_delete_link(struct pg_gateway *gw)
{
	int r;

	if (gw->vxlan_ifindex && (r = pg_link_delete(gw->rt, gw->vxlan_ifindex)) < 0 &&
	    r != -ENODEV)
		pg_warn("deleting %s: %s", gw->cfg->vxlan_if, strerror(-r));
}
