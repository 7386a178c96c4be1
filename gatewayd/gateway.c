/* SPDX-License-Identifier: MIT */
/* gatewayd's setup and teardown: the other rooms (gateway-internal.h) in
 * the order the start needs them, undone in reverse. */
#include "gatewayd/gateway.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/daemon.h"
#include "common/log.h"
#include "gatewayd/confwatch.h"
#include "gatewayd/dns.h"
#include "gatewayd/events.h"
#include "gatewayd/gateway-internal.h"
#include "gatewayd/membership.h"
#include "gatewayd/pool.h"
#include "gatewayd/sysctl.h"
#include "gatewayd/traffic.h"

static int open_membership(struct pg_gateway *gw, const struct pg_vxlan *vx,
			   const struct pg_prefix *addr)
{
	struct pg_membership_params params = {
	    .cfg = gw->cfg,
	    .admission = &gw->admission,
	    .pool = gw->pool,
	    .key = gw->have_key ? &gw->key : NULL,
	    .gateway_addr = pg_prefix_v4(addr),
	    .v6 = &gw->v6,
	    .mtu = (uint16_t)vx->mtu,
	    .events = gw->events,
	    .stats = &gw->stats,
	    .family = gw->underlay_family,
	};
	int r;

	memcpy(params.gateway_mac, vx->mac, sizeof(params.gateway_mac));
	r = pg_membership_open(&params, &gw->membership);
	if (r < 0)
		pg_err("GATEWAY_CONTROL_PORT: '%u': %s", gw->cfg->control_port, strerror(-r));
	return r;
}

/* Opened before capabilities are dropped: the first cluster DNS socket's
 * device binding may need CAP_NET_RAW (dns.c). */
static int open_dns(struct pg_gateway *gw, const struct pg_prefix *addr)
{
	int r;

	if (!gw->cfg->dns_forwarder)
		return 0;
	r = pg_dns_open(gw->cfg, pg_prefix_v4(addr), &gw->vxlan_ifindex, &gw->stats, &gw->dns);
	if (r < 0)
		pg_err("DNS_FORWARDER: cannot serve DNS on %s port 53: %s",
		       pg_prefix_fmt(addr, (char[PG_PREFIX_STRLEN]){0}, false), strerror(-r));
	return r;
}

/* The underlay carries the tunnel: it must exist and fit VXLAN plus a
 * minimal IPv4 packet. An enum pg_exit. */
static int read_underlay(struct pg_gateway *gw)
{
	const struct pg_config *cfg = gw->cfg;
	int r = pg_link_get(gw->rt, cfg->underlay_if, &gw->underlay);

	if (r < 0) {
		pg_err("UNDERLAY_INTERFACE: '%s': %s", cfg->underlay_if,
		       r == -ENODEV ? "no such interface" : strerror(-r));
		return r == -ENODEV ? PG_EXIT_CONFIG : PG_EXIT_RUNTIME;
	}
	if (gw->underlay.mtu <= GW_VXLAN_OVERHEAD + 68) {
		pg_err("UNDERLAY_INTERFACE: '%s': MTU %u is too small for VXLAN", cfg->underlay_if,
		       gw->underlay.mtu);
		return PG_EXIT_CONFIG;
	}
	return PG_EXIT_OK;
}

static int enable_forwarding(void)
{
	int r = pg_sysctl_enable(PG_SYSCTL_IP_FORWARD);

	if (r < 0)
		/* In a pod /proc/sys is read-only: the pod itself must ask. */
		pg_err("net.ipv4.ip_forward is 0 and cannot be set here (%s): set it in the pod, "
		       "spec.securityContext.sysctls: [{name: net.ipv4.ip_forward, value: \"1\"}] "
		       "(an unsafe sysctl: the node's kubelet needs "
		       "--allowed-unsafe-sysctls=net.ipv4.ip_forward)",
		       strerror(-r));
	return r;
}

/* The files and the sockets, before the kernel's state is touched: a bad
 * file or a port in use changes nothing. An enum pg_exit. */
static int open_all(struct pg_gateway *gw, const struct pg_vxlan *vx, const struct pg_prefix *addr)
{
	int r, status = gw_load_state(gw);

	if (status != PG_EXIT_OK)
		return status;
	if ((r = pg_events_open(gw->cfg, &gw->events)) < 0)
		return r == -EINVAL ? PG_EXIT_CONFIG : PG_EXIT_RUNTIME;
	if (open_membership(gw, vx, addr) < 0 || open_dns(gw, addr) < 0 ||
	    gw_open_observability(gw) < 0)
		return PG_EXIT_RUNTIME;
	return PG_EXIT_OK;
}

/* Forwarding, the link, the tables and routes, then the leases' entries. */
static int build_kernel_state(struct pg_gateway *gw, const struct pg_vxlan *vx,
			      const struct pg_prefix *addr)
{
	gw->underlay_nets.n = 0;
	gw_read_underlay_nets(gw, AF_INET);
	gw_read_underlay_nets(gw, AF_INET6);
	if (enable_forwarding() < 0 || gw_create_link(gw, vx, addr) < 0 ||
	    gw_install_tables(gw) < 0 || gw_add_local_routes(gw, AF_INET) < 0 ||
	    gw_add_local_routes(gw, AF_INET6) < 0)
		return -1;
	gw->admission = (struct pg_admission){
	    .rt = gw->rt,
	    .nft = gw->nft,
	    .table = PG_GATEWAY_TABLE,
	    .vxlan_ifindex = gw->vxlan_ifindex,
	    .v6 = &gw->v6,
	};
	if (gw_restore_leases(gw) < 0) {
		pg_err("restoring leases: out of memory");
		return -1;
	}
	return 0;
}

int pg_gateway_setup(const struct pg_config *cfg, struct pg_gateway **out)
{
	struct pg_gateway *gw = calloc(1, sizeof(*gw));
	struct pg_vxlan vx;
	struct pg_prefix addr;
	int r, status = PG_EXIT_RUNTIME;

	*out = NULL;
	if (!gw) {
		pg_err("out of memory");
		return PG_EXIT_RUNTIME;
	}
	gw->cfg = cfg;
	if (pg_events_gateway_name(cfg, gw->name) < 0)
		gw->name[0] = '\0';
	if ((r = pg_traffic_new(&gw->traffic)) < 0 || (r = pg_rtnl_open(&gw->rt)) < 0 ||
	    (r = pg_nft_open(&gw->nft)) < 0) {
		pg_err("opening netlink sockets: %s", strerror(-r));
		goto fail;
	}
	if ((status = read_underlay(gw)) != PG_EXIT_OK ||
	    (status = gw_choose_underlay(gw)) != PG_EXIT_OK)
		goto fail;
	gw_overlay6_init(gw);
	gw_wanted_link(gw, &vx, &addr);
	if ((status = open_all(gw, &vx, &addr)) != PG_EXIT_OK ||
	    (status = gw_adopt_or_remove_leftover(gw, &vx)) != PG_EXIT_OK)
		goto fail;
	status = PG_EXIT_RUNTIME;
	if (build_kernel_state(gw, &vx, &addr) < 0)
		goto fail;

	pg_info("ready: %s vni %u port %u on %s, overlay %s, egress %s%s, membership on port %u, "
		"mtu %u",
		cfg->vxlan_if, cfg->vxlan_id, cfg->vxlan_port, cfg->underlay_if,
		pg_prefix_fmt(&cfg->overlay, (char[PG_PREFIX_STRLEN]){0}, true),
		cfg->vpn_if[0] ? cfg->vpn_if : cfg->underlay_if,
		cfg->vpn_if[0] && cfg->vpn_block ? " (kill switch)" : "", cfg->control_port,
		vx.mtu);
	pg_dns_describe(cfg);
	*out = gw;
	return PG_EXIT_OK;

fail:
	pg_gateway_teardown(gw);
	return status;
}

/* In reverse: the sockets (leases saved), then the kernel's state. */
void pg_gateway_teardown(struct pg_gateway *gw)
{
	if (!gw)
		return;
	gw_close_observability(gw);
	pg_confwatch_close(gw->nat_watch);
	if (gw->membership) {
		pg_membership_save(gw->membership);
		pg_membership_close(gw->membership);
	}
	pg_dns_close(gw->dns);
	pg_events_close(gw->events);
	pg_pool_free(gw->pool);
	sodium_memzero(&gw->key, sizeof(gw->key));
	gw_delete_local_routes(gw);
	gw_delete_tables(gw);
	gw_delete_link(gw);
	if (gw->nft)
		pg_nft_close(gw->nft);
	if (gw->rt)
		pg_rtnl_close(gw->rt);
	pg_traffic_free(gw->traffic);
	free(gw);
}
