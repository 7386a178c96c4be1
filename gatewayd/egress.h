/* SPDX-License-Identifier: MIT */
#ifndef PODGW_EGRESS_H
#define PODGW_EGRESS_H

/* What leaves the gateway and through which interface. The egress is
 * VPN_INTERFACE when set, else the underlay. Overlay traffic leaves through
 * the egress, masqueraded or source-NATed to SNAT_IP; with a VPN, traffic
 * to VPN_LOCAL_CIDRS leaves through the underlay (masqueraded), and without
 * the kill switch (VPN_BLOCK_OTHER_TRAFFIC=false) so does everything the
 * routes send there. With the kill switch the gateway's own output through
 * the underlay is limited to VXLAN and membership traffic, replies,
 * VPN_LOCAL_CIDRS and the VPN endpoint port. TCP MSS is clamped to the path
 * MTU on forwarded overlay traffic, both ways. With the DNS forwarder, TCP
 * port 53 to the gateway's overlay address goes to the first upstream
 * server, and the kill switch lets its UDP queries reach DNS_LOCAL_SERVER
 * through the underlay. Each function adds to a table description; chain
 * names a chain the caller made; errors stick to the table (netlink/nft.h). */

#include "common/config.h"
#include "netlink/nft.h"

#define PG_SET_VPN_LOCAL  "vpn_local"
#define PG_SET_VPN_LOCAL6 "vpn_local6"

/* The egress interface: VPN_INTERFACE, else UNDERLAY_INTERFACE. */
const char *pg_egress_if(const struct pg_config *cfg);
/* The sets of VPN_LOCAL_CIDRS (one per family present; none without a VPN). */
void pg_egress_add_sets(struct pg_nft_table *t, const struct pg_config *cfg);
/* Per family (AF_INET: VXLAN_IP_NETWORK; AF_INET6: the IPv6 overlay, the
 * caller checks it is configured), accept rules for overlay traffic
 * allowed out, for the forward chain... */
void pg_egress_forward(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg,
		       int family);
/* ...and source NAT rules, for a nat postrouting chain (SNAT_IP for IPv4,
 * else masquerade). */
void pg_egress_nat(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg,
		   int family);
/* The MSS clamp's rules, first in the forward chain: in a chain of their
 * own they would cost every forwarded packet one more hook. */
void pg_egress_mss_clamp(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg);
/* Chains of their own: DNS to the overlay address (UDP to the forwarder,
 * TCP to the first upstream), and the kill switch's output filter when a
 * VPN is set and VPN_BLOCK_OTHER_TRAFFIC is true. */
void pg_egress_add_chains(struct pg_nft_table *t, const struct pg_config *cfg);
/* Drop rules for the guard table's postrouting chain (after source NAT):
 * an overlay source of family on any interface overlay traffic may leave
 * through. */
void pg_egress_guard(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg,
		     int family);

#endif
