/* SPDX-License-Identifier: MIT */
#include "gatewayd/ruleset.h"

#include <linux/netfilter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdbool.h>

#include "gatewayd/admission.h"
#include "gatewayd/dns.h"
#include "gatewayd/egress.h"
#include "gatewayd/overlay6.h"
#include "gatewayd/reach.h"
#include "gatewayd/ruleset6.h"

#define PRIO_DSTNAT (-100) /* as nft's "dstnat" */

/* Each rule is written as its nft line; a builder error sticks to the
 * table (netlink/nft.h), so none is checked here. */

/* iifname vxlan0 ip saddr . ether saddr != @clients counter drop: only a
 * leased (overlay IP . MAC) pair may send from the overlay. */
static void add_antispoof(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg)
{
	struct pg_nft_rule *r = pg_nft_rule_new(t, chain);

	pg_nft_match_iifname(r, cfg->vxlan_if, false);
	pg_nft_match_saddr_ether_in_set(r, PG_SET_CLIENTS, true);
	pg_nft_counter(r);
	pg_nft_drop(r);
}

#define INNER_ETH_SRC	PG_VXLAN_INNER_ETH_SRC
#define INNER_ETHERTYPE PG_VXLAN_INNER_ETHERTYPE
#define INNER_ARP_SHA	PG_VXLAN_INNER_ARP_SHA
#define INNER_ARP_SPA	PG_VXLAN_INNER_ARP_SPA

static const uint8_t ethertype_ipv4[] = {0x08, 0x00}, ethertype_arp[] = {0x08, 0x06},
		     ethertype_ipv6[] = {0x86, 0xdd};

/* udp dport VXLAN_PORT: the start of every rule about encapsulated packets
 * of one underlay family. */
static struct pg_nft_rule *vxlan_rule(struct pg_nft_table *t, const struct pg_config *cfg,
				      int family)
{
	struct pg_nft_rule *r = pg_nft_rule_new(t, "input");

	pg_nft_match_nfproto(r, family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	pg_nft_match_dport(r, IPPROTO_UDP, cfg->vxlan_port);
	return r;
}

static void counted_drop(struct pg_nft_rule *r)
{
	pg_nft_counter(r);
	pg_nft_drop(r);
}

/* The encapsulated packet, before the vxlan driver sees it: it must come
 * from the pod IP of a live lease, and its inner frame from a MAC leased
 * to that same pod IP (another lease's MAC would make the gateway answer
 * the other client); only IPv4 and ARP are carried, and an ARP packet's
 * sender must be the leased (address, MAC) pair of that pod too, or it
 * could teach the gateway's neighbour table anything. The same for either
 * underlay family (ip or ip6 saddr, peers or peers6): a gateway's tunnel
 * runs over one, and the other's datagrams find no lease either. */
static void add_vxlan_admission(struct pg_nft_table *t, const struct pg_config *cfg, int family)
{
	const struct pg_nft_field th_ethertype = {PG_BASE_TRANSPORT, INNER_ETHERTYPE};
	const bool v6 = family == AF_INET6;
	const char *peers = v6 ? PG_SET_PEERS6 : PG_SET_PEERS;
	const char *peer_macs = v6 ? PG_SET_PEER_MACS6 : PG_SET_PEER_MACS;
	const struct pg_nft_field saddr = {PG_BASE_NETWORK,
					   v6 ? PG_IP6_SADDR_OFFSET : PG_IP_SADDR_OFFSET};
	struct pg_nft_rule *r;

	/* udp dport VXLAN_PORT ip saddr != @peers counter drop */
	r = vxlan_rule(t, cfg, family);
	pg_nft_match_saddr_in_set(r, family, peers, true);
	counted_drop(r);
	/* udp dport VXLAN_PORT ip saddr . @th,176,48 != @peer_macs counter drop */
	r = vxlan_rule(t, cfg, family);
	pg_nft_match_fields_in_set(
	    r, peer_macs, (struct pg_nft_field[]){saddr, {PG_BASE_TRANSPORT, INNER_ETH_SRC}}, true);
	counted_drop(r);
	/* udp dport VXLAN_PORT @th,224,16 != 0x0800 @th,224,16 != 0x0806 counter drop */
	r = vxlan_rule(t, cfg, family);
	pg_nft_match_raw(r, th_ethertype, ethertype_ipv4, 2, true);
	pg_nft_match_raw(r, th_ethertype, ethertype_arp, 2, true);
	/* ... @th,224,16 != 0x86dd: IPv6 too, when the overlay carries it */
	if (pg_overlay6_configured(cfg))
		pg_nft_match_raw(r, th_ethertype, ethertype_ipv6, 2, true);
	counted_drop(r);
	/* udp dport VXLAN_PORT @th,224,16 0x0806 ip saddr . @th,304,48 != @peer_macs drop */
	r = vxlan_rule(t, cfg, family);
	pg_nft_match_raw(r, th_ethertype, ethertype_arp, 2, false);
	pg_nft_match_fields_in_set(
	    r, peer_macs, (struct pg_nft_field[]){saddr, {PG_BASE_TRANSPORT, INNER_ARP_SHA}}, true);
	counted_drop(r);
	/* udp dport VXLAN_PORT @th,224,16 0x0806 @th,352,32 . @th,304,48 != @arp_senders drop */
	r = vxlan_rule(t, cfg, family);
	pg_nft_match_raw(r, th_ethertype, ethertype_arp, 2, false);
	pg_nft_match_fields_in_set(r, PG_SET_ARP_SENDERS,
				   (struct pg_nft_field[]){{PG_BASE_TRANSPORT, INNER_ARP_SPA},
							   {PG_BASE_TRANSPORT, INNER_ARP_SHA}},
				   true);
	counted_drop(r);
	/* udp dport VXLAN_PORT ip saddr . @th,176,48 @peer_macs: no verdict,
	 * the lookup counts the datagram in its lease's element. A client
	 * renews only every LEASE_TIME / 3 while its tunnel is in use, so the
	 * membership server asks these counts whether a quiet lease is still
	 * held before it lets another pod IP take it. (A negated lookup above
	 * counts nothing: only a match updates an element.) */
	r = vxlan_rule(t, cfg, family);
	pg_nft_match_fields_in_set(
	    r, peer_macs, (struct pg_nft_field[]){saddr, {PG_BASE_TRANSPORT, INNER_ETH_SRC}},
	    false);
}

/* What clients may ask of the gateway itself over the overlay: DNS (the
 * forwarder's port, where port 53 was redirected), echo requests to the
 * overlay address (clientd's check) and what belongs to connections the
 * gateway opened. Nothing else: not the pod IP's listeners (metrics,
 * membership), which a crawler could reach through the tunnel by binding
 * its socket to the vxlan link. */
static void add_overlay_input(struct pg_nft_table *t, const struct pg_config *cfg)
{
	static const uint8_t echo_request = 8;
	struct pg_prefix self;
	struct pg_nft_rule *r;

	pg_prefix_host(&cfg->overlay, 1, &self);
	self.len = 32;
	/* iifname vxlan0 ct state established,related accept */
	r = pg_nft_rule_new(t, "input");
	pg_nft_match_iifname(r, cfg->vxlan_if, false);
	pg_nft_match_ct_state(r, PG_CT_ESTABLISHED | PG_CT_RELATED);
	pg_nft_accept(r);
	if (cfg->dns_forwarder) {
		/* iifname vxlan0 ip daddr SELF udp dport 10053 accept */
		r = pg_nft_rule_new(t, "input");
		pg_nft_match_iifname(r, cfg->vxlan_if, false);
		pg_nft_match_daddr(r, &self);
		pg_nft_match_dport(r, IPPROTO_UDP, PG_DNS_FORWARDER_PORT);
		pg_nft_accept(r);
	}
	/* iifname vxlan0 ip daddr SELF icmp type echo-request accept */
	r = pg_nft_rule_new(t, "input");
	pg_nft_match_iifname(r, cfg->vxlan_if, false);
	pg_nft_match_daddr(r, &self);
	pg_nft_match_l4proto(r, IPPROTO_ICMP);
	pg_nft_match_raw(r, (struct pg_nft_field){PG_BASE_TRANSPORT, 0}, &echo_request, 1, false);
	pg_nft_accept(r);
	/* iifname vxlan0 counter drop */
	r = pg_nft_rule_new(t, "input");
	pg_nft_match_iifname(r, cfg->vxlan_if, false);
	counted_drop(r);
}

/* input: the tunnel's datagrams, then what arrives through it. */
static void add_input(struct pg_nft_table *t, const struct pg_config *cfg)
{
	pg_nft_table_add_chain(t, "input", PG_CHAIN_FILTER, PG_HOOK_INPUT, 0, false);
	add_vxlan_admission(t, cfg, AF_INET);
	add_vxlan_admission(t, cfg, AF_INET6);
	add_antispoof(t, "input", cfg);
	pg_ruleset6_input(t, "input", cfg);
	add_overlay_input(t, cfg);
}

static size_t forwards_of(const struct pg_pool *pool, const struct pg_forward **f)
{
	return pg_natconf_forwards(pool ? pg_pool_nat_conf(pool) : NULL, f);
}

/* Port forwards (nat.conf): a forwarded port arriving on the egress goes to
 * the address reserved for the client, at its own port or the remapped one.
 * Nothing else of the egress is ever translated toward the overlay. */
static void add_port_forwards(struct pg_nft_table *t, const struct pg_config *cfg,
			      const struct pg_pool *pool)
{
	const struct pg_forward *f;
	size_t n = forwards_of(pool, &f);

	if (!n)
		return;
	pg_nft_table_add_chain(t, "prerouting", PG_CHAIN_NAT, PG_HOOK_PREROUTING, PRIO_DSTNAT,
			       false);
	for (size_t i = 0; i < n; i++) {
		/* iifname EGRESS PROTO dport PORT counter dnat to ADDR[:TO_PORT] */
		struct pg_nft_rule *r = pg_nft_rule_new(t, "prerouting");
		struct pg_prefix to;

		pg_prefix_from_v4(&to, f[i].addr, 32);
		pg_nft_match_iifname(r, pg_egress_if(cfg), false);
		pg_nft_match_dport(r, f[i].proto, f[i].port);
		pg_nft_counter(r);
		pg_nft_dnat(r, &to, f[i].to_port);
	}
}

/* What the port forwards translated may enter the overlay: only connections
 * our prerouting rules DNATed from the egress (their later packets and the
 * replies are established). The kill switch is untouched: replies leave
 * through the egress like any overlay traffic, and are un-NATed by
 * conntrack, never masqueraded (NAT chains see only a connection's first
 * packet). */
static void accept_forwarded(struct pg_nft_table *t, const struct pg_config *cfg,
			     const struct pg_pool *pool)
{
	const struct pg_forward *f;
	struct pg_nft_rule *r;

	if (!forwards_of(pool, &f))
		return;
	/* iifname EGRESS oifname vxlan0 ct status dnat counter accept */
	r = pg_nft_rule_new(t, "forward");
	pg_nft_match_iifname(r, pg_egress_if(cfg), false);
	pg_nft_match_oifname(r, cfg->vxlan_if, false);
	pg_nft_match_ct_status(r, PG_CT_STATUS_DNAT);
	pg_nft_counter(r);
	pg_nft_accept(r);
}

/* Per-client counts: a lookup in a counted set, no verdict. Only leased
 * sources are left by now; what comes back is counted before the filters. */
static void add_traffic_counts(struct pg_nft_table *t, const struct pg_config *cfg)
{
	/* iifname vxlan0 ip saddr @client_tx */
	struct pg_nft_rule *r = pg_nft_rule_new(t, "forward");

	pg_nft_match_iifname(r, cfg->vxlan_if, false);
	pg_nft_match_saddr_in_set(r, AF_INET, PG_SET_CLIENT_TX, false);
	/* oifname vxlan0 ip daddr @client_rx */
	r = pg_nft_rule_new(t, "forward");
	pg_nft_match_oifname(r, cfg->vxlan_if, false);
	pg_nft_match_daddr_in_set(r, AF_INET, PG_SET_CLIENT_RX, false);
}

/* iifname|oifname vxlan0 counter drop */
static void drop_overlay(struct pg_nft_table *t, const struct pg_config *cfg, bool out)
{
	struct pg_nft_rule *r = pg_nft_rule_new(t, "forward");

	if (out)
		pg_nft_match_oifname(r, cfg->vxlan_if, false);
	else
		pg_nft_match_iifname(r, cfg->vxlan_if, false);
	pg_nft_counter(r);
	pg_nft_drop(r);
}

/* forward: overlay sources may leave only where egress.c (and for IPv6
 * ruleset6.c) says, replies and port forwards come in, and everything else
 * entering or leaving the overlay is dropped (no client-to-client traffic;
 * no IPv6 without an IPv6 overlay). The gateway routes for its clients
 * only: forwarding is on for both families, so a pod that took the
 * gateway's pod IP as its next hop would otherwise be routed (eth0 to eth0
 * or the VPN) un-NATed, past the kill switch. */
static void add_forward(struct pg_nft_table *t, const struct pg_config *cfg,
			const struct pg_pool *pool)
{
	struct pg_nft_rule *r;

	pg_nft_table_add_chain(t, "forward", PG_CHAIN_FILTER, PG_HOOK_FORWARD, 0, false);
	pg_egress_mss_clamp(t, "forward", cfg);
	add_antispoof(t, "forward", cfg);
	pg_reach_forward(t, "forward", cfg);
	/* after their IPv4 twins: rules of one family never see the other's */
	pg_ruleset6_forward(t, "forward", cfg);
	add_traffic_counts(t, cfg);
	pg_egress_forward(t, "forward", cfg, AF_INET);
	/* oifname vxlan0 ct state established,related counter accept */
	r = pg_nft_rule_new(t, "forward");
	pg_nft_match_oifname(r, cfg->vxlan_if, false);
	pg_nft_match_ct_state(r, PG_CT_ESTABLISHED | PG_CT_RELATED);
	pg_nft_counter(r);
	pg_nft_accept(r);
	accept_forwarded(t, cfg, pool);
	drop_overlay(t, cfg, false);
	drop_overlay(t, cfg, true);
	/* counter drop: what neither comes from nor goes to the overlay */
	r = pg_nft_rule_new(t, "forward");
	counted_drop(r);
}

struct pg_nft_table *pg_gateway_ruleset(const struct pg_config *cfg, const struct pg_pool *pool)
{
	return pg_gateway_ruleset_counted(cfg, pool, NULL, NULL);
}

struct pg_nft_table *pg_gateway_ruleset_counted(const struct pg_config *cfg,
						const struct pg_pool *pool,
						const struct pg_traffic *carry,
						const struct pg_prefix_list *underlay)
{
	struct pg_nft_table *t = pg_nft_table_new(NFPROTO_INET, PG_GATEWAY_TABLE);

	if (!t)
		return NULL;
	pg_admission_add_sets(t, pool, carry);
	pg_egress_add_sets(t, cfg);
	pg_reach_add_sets(t, cfg, underlay);
	pg_ruleset6_add_sets(t, cfg, pool, underlay);
	add_input(t, cfg);
	add_forward(t, cfg, pool);
	add_port_forwards(t, cfg, pool);
	pg_nft_table_add_chain(t, "postrouting", PG_CHAIN_NAT, PG_HOOK_POSTROUTING, 100, false);
	pg_egress_nat(t, "postrouting", cfg, AF_INET);
	pg_ruleset6_nat(t, "postrouting", cfg);
	pg_egress_add_chains(t, cfg);
	return t;
}

/* A second table whose only job is to stop overlay addresses leaving
 * un-NATed: it runs after source NAT, so anything still carrying an overlay
 * source there escaped the masquerade (our table flushed or deleted by
 * someone, a rule missing). Two tables must go before anything leaks. */
struct pg_nft_table *pg_gateway_guard(const struct pg_config *cfg)
{
	struct pg_nft_table *t = pg_nft_table_new(NFPROTO_INET, PG_GATEWAY_GUARD_TABLE);

	if (!t)
		return NULL;
	pg_nft_table_add_chain(t, "postrouting", PG_CHAIN_FILTER, PG_HOOK_POSTROUTING, 300, false);
	pg_egress_guard(t, "postrouting", cfg, AF_INET);
	pg_ruleset6_guard(t, "postrouting", cfg);
	return t;
}
