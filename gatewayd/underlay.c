/* SPDX-License-Identifier: MIT */
/* The pod network that carries the tunnel: its family (UNDERLAY_FAMILY;
 * auto: IPv4 when UNDERLAY_INTERFACE has an IPv4 address, else IPv6) and
 * this pod's address in it. An IPv6 tunnel needs that address as the vxlan
 * link's local one (it is what makes the link IPv6), costs 20 bytes more
 * than IPv4's, and takes membership requests on an IPv6 socket. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <string.h>

#include "common/daemon.h"
#include "common/log.h"
#include "gatewayd/gateway-internal.h"

/* Link-local addresses carry no scope in FDB entries or POD_IP6: never
 * the tunnel's. */
static bool usable(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET)
		return true;
	return sa->sa_family == AF_INET6 && !IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) &&
	       !IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) && !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr);
}

bool gw_pod_addr(const char *ifname, int family, struct pg_prefix *out)
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	if (getifaddrs(&ifs) < 0)
		return false;
	for (i = ifs; i && !found; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;

		if (!sa || sa->sa_family != family || strcmp(i->ifa_name, ifname) != 0 ||
		    !usable(sa))
			continue;
		memset(out, 0, sizeof(*out));
		out->family = family;
		if (family == AF_INET) {
			out->len = 32;
			memcpy(out->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		} else {
			out->len = 128;
			memcpy(out->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		}
		found = true;
	}
	freeifaddrs(ifs);
	return found;
}

unsigned gw_vxlan_overhead(const struct pg_gateway *gw)
{
	return gw->underlay_family == AF_INET6 ? GW_VXLAN_OVERHEAD6 : GW_VXLAN_OVERHEAD;
}

int gw_choose_underlay(struct pg_gateway *gw)
{
	const struct pg_config *cfg = gw->cfg;
	bool have4 = gw_pod_addr(cfg->underlay_if, AF_INET, &gw->pod_ip);
	char a[PG_PREFIX_STRLEN];

	gw->underlay_family = cfg->underlay_family;
	/* auto, and neither family: IPv4 as ever (no local address). */
	if (gw->underlay_family == AF_UNSPEC)
		gw->underlay_family = have4 || !gw_pod_addr(cfg->underlay_if, AF_INET6, &gw->pod_ip)
					  ? AF_INET
					  : AF_INET6;
	if (gw->underlay_family == AF_INET) {
		if (!have4 && cfg->underlay_family == AF_INET) {
			pg_err("UNDERLAY_FAMILY: 'ipv4': %s has no IPv4 address", cfg->underlay_if);
			return PG_EXIT_CONFIG;
		}
		/* The IPv4 link keeps no local address: the kernel picks the
		 * source by the route, as it always did. */
		gw->pod_ip.family = have4 ? AF_INET : 0;
		return PG_EXIT_OK;
	}
	if (!gw_pod_addr(cfg->underlay_if, AF_INET6, &gw->pod_ip)) {
		pg_err("UNDERLAY_FAMILY: 'ipv6': %s has no IPv6 address (other than link-local)",
		       cfg->underlay_if);
		return PG_EXIT_CONFIG;
	}
	if (gw->underlay.mtu <= GW_VXLAN_OVERHEAD6 + 68) {
		pg_err("UNDERLAY_INTERFACE: '%s': MTU %u is too small for VXLAN over IPv6",
		       cfg->underlay_if, gw->underlay.mtu);
		return PG_EXIT_CONFIG;
	}
	pg_info("underlay: IPv6, the tunnel runs from %s on %s",
		pg_prefix_fmt(&gw->pod_ip, a, false), cfg->underlay_if);
	return PG_EXIT_OK;
}
