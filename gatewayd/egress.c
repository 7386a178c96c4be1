/* SPDX-License-Identifier: MIT */
#include "gatewayd/egress.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "gatewayd/dns.h"

#define CHAIN_KILLSWITCH "killswitch"
#define CHAIN_DNS	 "dns"
#define PRIO_DNAT	 (-100)
#define DNS_PORT	 53

static bool have_vpn(const struct pg_config *cfg)
{
	return cfg->vpn_if[0] != '\0';
}

static bool kill_switch(const struct pg_config *cfg)
{
	return have_vpn(cfg) && cfg->vpn_block;
}

const char *pg_egress_if(const struct pg_config *cfg)
{
	return have_vpn(cfg) ? cfg->vpn_if : cfg->underlay_if;
}

static bool have_local(const struct pg_config *cfg, int family)
{
	for (unsigned i = 0; have_vpn(cfg) && i < cfg->vpn_local.n; i++)
		if (cfg->vpn_local.items[i].family == family)
			return true;
	return false;
}

static const char *local_set(int family)
{
	return family == AF_INET ? PG_SET_VPN_LOCAL : PG_SET_VPN_LOCAL6;
}

int pg_egress_add_sets(struct pg_nft_table *t, const struct pg_config *cfg)
{
	static const int families[] = {AF_INET, AF_INET6};

	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		int family = families[f];

		if (!have_local(cfg, family))
			continue;
		if (pg_nft_table_add_set(t, local_set(family),
					 family == AF_INET ? PG_KEY_IPV4 : PG_KEY_IPV6, -1,
					 true) < 0)
			return -1;
		for (unsigned i = 0; i < cfg->vpn_local.n; i++)
			if (cfg->vpn_local.items[i].family == family &&
			    pg_nft_table_add_prefix(t, local_set(family),
						    &cfg->vpn_local.items[i]) < 0)
				return -1;
	}
	return 0;
}

/* iifname vxlan0 oifname IF ip saddr OVERLAY [ip daddr @vpn_local] accept */
static int accept_out(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg,
		      const char *oif, bool local_only)
{
	struct pg_nft_rule *r = pg_nft_rule_new(t, chain);

	if (!r || pg_nft_match_iifname(r, cfg->vxlan_if, false) ||
	    pg_nft_match_oifname(r, oif, false) || pg_nft_match_saddr(r, &cfg->overlay) ||
	    (local_only && pg_nft_match_daddr_in_set(r, AF_INET, PG_SET_VPN_LOCAL, false)) ||
	    pg_nft_counter(r) || pg_nft_accept(r))
		return -1;
	return 0;
}

int pg_egress_forward(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg)
{
	if (accept_out(t, chain, cfg, pg_egress_if(cfg), false) < 0)
		return -1;
	if (!have_vpn(cfg))
		return 0;
	/* The kill switch: with the VPN down the routes send overlay traffic
	 * to the underlay, and only VPN_LOCAL_CIDRS may go there. */
	if (kill_switch(cfg))
		return have_local(cfg, AF_INET) ? accept_out(t, chain, cfg, cfg->underlay_if, true)
						: 0;
	return accept_out(t, chain, cfg, cfg->underlay_if, false);
}

int pg_egress_nat(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg)
{
	struct pg_nft_rule *r = pg_nft_rule_new(t, chain);

	if (!r || pg_nft_match_saddr(r, &cfg->overlay) ||
	    pg_nft_match_oifname(r, pg_egress_if(cfg), false) || pg_nft_counter(r) ||
	    (cfg->snat_ip.family ? pg_nft_snat(r, &cfg->snat_ip) : pg_nft_masquerade(r)))
		return -1;
	if (!have_vpn(cfg))
		return 0;
	/* What the forward chain lets out of the underlay (VPN_LOCAL_CIDRS,
	 * or everything without the kill switch) takes the pod's address. */
	r = pg_nft_rule_new(t, chain);
	if (!r || pg_nft_match_saddr(r, &cfg->overlay) ||
	    pg_nft_match_oifname(r, cfg->underlay_if, false) || pg_nft_counter(r) ||
	    pg_nft_masquerade(r))
		return -1;
	return 0;
}

/* SYNs both ways get an MSS that fits the route they take: the vxlan MTU
 * toward clients, the egress MTU (a VPN's is often small) outward. */
int pg_egress_mss_clamp(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg)
{
	for (int out = 0; out < 2; out++) {
		struct pg_nft_rule *r = pg_nft_rule_new(t, chain);

		if (!r ||
		    (out ? pg_nft_match_oifname(r, cfg->vxlan_if, false)
			 : pg_nft_match_iifname(r, cfg->vxlan_if, false)) ||
		    pg_nft_match_tcp_flags_syn(r) || pg_nft_clamp_mss_to_pmtu(r))
			return -1;
	}
	return 0;
}

static int accept_port(struct pg_nft_table *t, const struct pg_config *cfg, uint8_t proto,
		       uint16_t port, bool src)
{
	struct pg_nft_rule *r = pg_nft_rule_new(t, CHAIN_KILLSWITCH);

	if (!r || pg_nft_match_oifname(r, cfg->underlay_if, false) ||
	    (src ? pg_nft_match_sport(r, proto, port) : pg_nft_match_dport(r, proto, port)) ||
	    pg_nft_accept(r))
		return -1;
	return 0;
}

/* IPv6 neighbour discovery and MLD on the pod network's link: link-scope
 * multicast and link-local sources never leave the link. */
static int accept_link_local(struct pg_nft_table *t)
{
	struct pg_prefix mcast = {.family = AF_INET6, .len = 16, .bytes = {0xff, 0x02}};
	struct pg_prefix ll = {.family = AF_INET6, .len = 10, .bytes = {0xfe, 0x80}};

	for (int src = 0; src < 2; src++) {
		struct pg_nft_rule *r = pg_nft_rule_new(t, CHAIN_KILLSWITCH);

		if (!r || pg_nft_match_l4proto(r, IPPROTO_ICMPV6) ||
		    (src ? pg_nft_match_saddr(r, &ll) : pg_nft_match_daddr(r, &mcast)) ||
		    pg_nft_accept(r))
			return -1;
	}
	return 0;
}

/* The DNS forwarder's queries for DNS_LOCAL_CIDRS go to the cluster DNS
 * through the underlay, VPN or not. */
static int accept_local_dns(struct pg_nft_table *t, const struct pg_config *cfg)
{
	struct pg_nft_rule *r;

	if (!cfg->dns_forwarder || !cfg->dns_local_server.family)
		return 0;
	r = pg_nft_rule_new(t, CHAIN_KILLSWITCH);
	if (!r || pg_nft_match_oifname(r, cfg->underlay_if, false) ||
	    pg_nft_match_daddr(r, &cfg->dns_local_server) ||
	    pg_nft_match_dport(r, IPPROTO_UDP, DNS_PORT) || pg_nft_accept(r))
		return -1;
	return 0;
}

/* DNS over TCP (a truncated answer's retry) is not served by the
 * forwarder: it goes to the first upstream server, forwarded and NATed
 * like any overlay traffic, so through the egress and its kill switch. */
/* Queries to the overlay address: UDP to the forwarder's unprivileged
 * port, TCP (not proxied) to the first upstream. */
static int add_dns(struct pg_nft_table *t, const struct pg_config *cfg)
{
	struct pg_prefix self;
	struct pg_nft_rule *r;

	if (!cfg->dns_forwarder)
		return 0;
	pg_prefix_host(&cfg->overlay, 1, &self);
	self.len = 32;
	if (pg_nft_table_add_chain(t, CHAIN_DNS, PG_CHAIN_NAT, PG_HOOK_PREROUTING, PRIO_DNAT,
				   false) < 0)
		return -1;
	r = pg_nft_rule_new(t, CHAIN_DNS);
	if (!r || pg_nft_match_iifname(r, cfg->vxlan_if, false) || pg_nft_match_daddr(r, &self) ||
	    pg_nft_match_dport(r, IPPROTO_UDP, DNS_PORT) || pg_nft_counter(r) ||
	    pg_nft_dnat(r, &self, PG_DNS_FORWARDER_PORT))
		return -1;
	if (cfg->dns_upstream.n == 0)
		return 0;
	r = pg_nft_rule_new(t, CHAIN_DNS);
	if (!r || pg_nft_match_iifname(r, cfg->vxlan_if, false) || pg_nft_match_daddr(r, &self) ||
	    pg_nft_match_dport(r, IPPROTO_TCP, DNS_PORT) || pg_nft_counter(r) ||
	    pg_nft_dnat(r, &cfg->dns_upstream.items[0], 0))
		return -1;
	return 0;
}

/* The gateway's own output through the underlay. Clients live on the pod
 * network, possibly on other nodes' subnets: VXLAN toward them (destination
 * port VXLAN_PORT) and membership replies (source port
 * GATEWAY_CONTROL_PORT) are matched by port, not by address. */
static int add_kill_switch(struct pg_nft_table *t, const struct pg_config *cfg)
{
	struct pg_nft_rule *r;

	if (pg_nft_table_add_chain(t, CHAIN_KILLSWITCH, PG_CHAIN_FILTER, PG_HOOK_OUTPUT, 0, false) <
	    0)
		return -1;
	r = pg_nft_rule_new(t, CHAIN_KILLSWITCH);
	if (!r || pg_nft_match_oifname(r, cfg->underlay_if, true) || pg_nft_accept(r))
		return -1;
	/* Replies to connections others opened (probes, metrics). */
	r = pg_nft_rule_new(t, CHAIN_KILLSWITCH);
	if (!r || pg_nft_match_ct_state(r, PG_CT_ESTABLISHED | PG_CT_RELATED) || pg_nft_accept(r))
		return -1;
	if (accept_port(t, cfg, IPPROTO_UDP, (uint16_t)cfg->vxlan_port, false) < 0 ||
	    accept_port(t, cfg, IPPROTO_UDP, (uint16_t)cfg->control_port, true) < 0 ||
	    accept_port(t, cfg, IPPROTO_UDP, (uint16_t)cfg->vpn_port, false) < 0 ||
	    accept_port(t, cfg, IPPROTO_TCP, (uint16_t)cfg->vpn_port, false) < 0)
		return -1;
	if (accept_link_local(t) < 0 || accept_local_dns(t, cfg) < 0)
		return -1;
	for (int family = AF_INET; family; family = family == AF_INET ? AF_INET6 : 0) {
		if (!have_local(cfg, family))
			continue;
		r = pg_nft_rule_new(t, CHAIN_KILLSWITCH);
		if (!r || pg_nft_match_daddr_in_set(r, family, local_set(family), false) ||
		    pg_nft_accept(r))
			return -1;
	}
	r = pg_nft_rule_new(t, CHAIN_KILLSWITCH);
	if (!r || pg_nft_counter(r) || pg_nft_drop(r))
		return -1;
	return 0;
}

int pg_egress_add_chains(struct pg_nft_table *t, const struct pg_config *cfg)
{
	if (add_dns(t, cfg) < 0)
		return -1;
	return kill_switch(cfg) ? add_kill_switch(t, cfg) : 0;
}

int pg_egress_guard(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg)
{
	const char *oifs[] = {pg_egress_if(cfg), have_vpn(cfg) ? cfg->underlay_if : NULL};

	for (size_t i = 0; i < sizeof(oifs) / sizeof(oifs[0]) && oifs[i]; i++) {
		struct pg_nft_rule *r = pg_nft_rule_new(t, chain);

		if (!r || pg_nft_match_oifname(r, oifs[i], false) ||
		    pg_nft_match_saddr(r, &cfg->overlay) || pg_nft_counter(r) || pg_nft_drop(r))
			return -1;
	}
	return 0;
}
