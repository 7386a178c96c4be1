/* SPDX-License-Identifier: MIT */
/* The IPv6 overlay in the gateway's kernel: IPv6 forwarding, PREFIX::1/64
 * on the vxlan link (no link-local address, no DAD: nothing else speaks
 * IPv6 on it). Any of it failing leaves the gateway
 * IPv4-only, said once: grants then carry no IPv6, and clients keep IPv6
 * blocked. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "gatewayd/egress.h"
#include "gatewayd/gateway-internal.h"
#include "gatewayd/sysctl.h"

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
