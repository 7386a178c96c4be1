/* SPDX-License-Identifier: MIT */
#include "gatewayd/egress.h"

#include <linux/netfilter.h>
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

void pg_egress_add_sets(struct pg_nft_table *t, const struct pg_config *cfg)
{
	static const int families[] = {AF_INET, AF_INET6};

	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		int family = families[f];

		if (!have_local(cfg, family))
			continue;
		pg_nft_table_add_set(t, local_set(family),
				     family == AF_INET ? PG_KEY_IPV4 : PG_KEY_IPV6, -1, true);
		for (unsigned i = 0; i < cfg->vpn_local.n; i++)
			if (cfg->vpn_local.items[i].family == family)
				pg_nft_table_add_prefix(t, local_set(family),
							&cfg->vpn_local.items[i]);
	}
}

/* The overlay network of family: VXLAN_IP_NETWORK or the IPv6 overlay. */
static const struct pg_prefix *overlay_of(const struct pg_config *cfg, int family)
{
	return family == AF_INET6 ? &cfg->overlay6.prefix : &cfg->overlay;
}

/* iifname vxlan0 oifname IF ip[6] saddr OVERLAY [ip[6] daddr @vpn_local[6]] counter accept */
static void accept_out(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg,
		       int family, const char *oif, bool local_only)
{
	struct pg_nft_rule *r = pg_nft_rule_new(t, chain);

	pg_nft_match_iifname(r, cfg->vxlan_if, false);
	pg_nft_match_oifname(r, oif, false);
	pg_nft_match_saddr(r, overlay_of(cfg, family));
	if (local_only)
		pg_nft_match_daddr_in_set(r, family, local_set(family), false);
	pg_nft_counter(r);
	pg_nft_accept(r);
}

void pg_egress_forward(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg,
		       int family)
{
	accept_out(t, chain, cfg, family, pg_egress_if(cfg), false);
	if (!have_vpn(cfg))
		return;
	/* The kill switch: with the VPN down the routes send overlay traffic
	 * to the underlay, and only VPN_LOCAL_CIDRS may go there. */
	if (!kill_switch(cfg))
		accept_out(t, chain, cfg, family, cfg->underlay_if, false);
	else if (have_local(cfg, family))
		accept_out(t, chain, cfg, family, cfg->underlay_if, true);
}

/* ip[6] saddr OVERLAY oifname IF counter masquerade|snat to SNAT_IP */
static void nat_out(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg,
		    int family, const char *oif, const struct pg_prefix *snat)
{
	struct pg_nft_rule *r = pg_nft_rule_new(t, chain);

	pg_nft_match_saddr(r, overlay_of(cfg, family));
	pg_nft_match_oifname(r, oif, false);
	pg_nft_counter(r);
	if (snat)
		pg_nft_snat(r, snat);
	else
		pg_nft_masquerade(r);
}

void pg_egress_nat(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg,
		   int family)
{
	/* SNAT_IP is an IPv4 address: IPv6 is always masqueraded. */
	const struct pg_prefix *snat =
	    family == AF_INET && cfg->snat_ip.family ? &cfg->snat_ip : NULL;

	nat_out(t, chain, cfg, family, pg_egress_if(cfg), snat);
	/* What the forward chain lets out of the underlay (VPN_LOCAL_CIDRS,
	 * or everything without the kill switch) takes the pod's address. */
	if (have_vpn(cfg))
		nat_out(t, chain, cfg, family, cfg->underlay_if, NULL);
}

/* SYNs both ways get an MSS that fits the route they take: the vxlan MTU
 * toward clients, the egress MTU (a VPN's is often small) outward. */
void pg_egress_mss_clamp(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg)
{
	for (int out = 0; out < 2; out++) {
		/* iifname|oifname vxlan0 tcp flags syn tcp option maxseg size set rt mtu */
		struct pg_nft_rule *r = pg_nft_rule_new(t, chain);

		if (out)
			pg_nft_match_oifname(r, cfg->vxlan_if, false);
		else
			pg_nft_match_iifname(r, cfg->vxlan_if, false);
		pg_nft_match_tcp_flags_syn(r);
		pg_nft_clamp_mss_to_pmtu(r);
	}
}

/* oifname UNDERLAY PROTO sport|dport PORT accept */
static void accept_port(struct pg_nft_table *t, const struct pg_config *cfg, uint8_t proto,
			uint16_t port, bool src)
{
	struct pg_nft_rule *r = pg_nft_rule_new(t, CHAIN_KILLSWITCH);

	pg_nft_match_oifname(r, cfg->underlay_if, false);
	if (src)
		pg_nft_match_sport(r, proto, port);
	else
		pg_nft_match_dport(r, proto, port);
	pg_nft_accept(r);
}

/* IPv6 neighbour discovery and MLD on the pod network's link: link-scope
 * multicast and link-local sources never leave the link. */
static void accept_link_local(struct pg_nft_table *t)
{
	struct pg_prefix mcast = {.family = AF_INET6, .len = 16, .bytes = {0xff, 0x02}};
	struct pg_prefix ll = {.family = AF_INET6, .len = 10, .bytes = {0xfe, 0x80}};

	for (int src = 0; src < 2; src++) {
		/* meta l4proto ipv6-icmp ip6 daddr ff02::/16 | ip6 saddr fe80::/10 accept */
		struct pg_nft_rule *r = pg_nft_rule_new(t, CHAIN_KILLSWITCH);

		pg_nft_match_l4proto(r, IPPROTO_ICMPV6);
		if (src)
			pg_nft_match_saddr(r, &ll);
		else
			pg_nft_match_daddr(r, &mcast);
		pg_nft_accept(r);
	}
}

/* Neighbour solicitations and advertisements between pod IPs on an IPv6
 * pod network (the tunnel's underlay): a client that asks for the
 * gateway's MAC from its global address is answered at that address, which
 * neither rule above lets out. */
static void accept_neighbour_discovery(struct pg_nft_table *t, const struct pg_config *cfg)
{
	static const uint8_t types[] = {135, 136}; /* neighbour solicitation, advertisement */

	for (size_t i = 0; i < sizeof(types); i++) {
		/* oifname UNDERLAY meta nfproto ipv6 meta l4proto ipv6-icmp
		 * @th,0,8 TYPE accept: an IPv4 packet of protocol 58 is no
		 * neighbour discovery. */
		struct pg_nft_rule *r = pg_nft_rule_new(t, CHAIN_KILLSWITCH);

		pg_nft_match_oifname(r, cfg->underlay_if, false);
		pg_nft_match_nfproto(r, NFPROTO_IPV6);
		pg_nft_match_l4proto(r, IPPROTO_ICMPV6);
		pg_nft_match_raw(r, (struct pg_nft_field){PG_BASE_TRANSPORT, 0}, &types[i], 1,
				 false);
		pg_nft_accept(r);
	}
}

/* The DNS forwarder's queries for DNS_LOCAL_CIDRS go to the cluster DNS
 * through the underlay, VPN or not. */
static void accept_local_dns(struct pg_nft_table *t, const struct pg_config *cfg)
{
	struct pg_nft_rule *r;

	if (!cfg->dns_forwarder || !cfg->dns_local_server.family)
		return;
	/* oifname UNDERLAY ip daddr DNS_LOCAL_SERVER udp dport 53 accept */
	r = pg_nft_rule_new(t, CHAIN_KILLSWITCH);
	pg_nft_match_oifname(r, cfg->underlay_if, false);
	pg_nft_match_daddr(r, &cfg->dns_local_server);
	pg_nft_match_dport(r, IPPROTO_UDP, DNS_PORT);
	pg_nft_accept(r);
}

/* iifname vxlan0 ip daddr SELF PROTO dport 53 counter dnat to TO[:PORT] */
static void dnat_dns(struct pg_nft_table *t, const struct pg_config *cfg,
		     const struct pg_prefix *self, uint8_t proto, const struct pg_prefix *to,
		     uint16_t port)
{
	struct pg_nft_rule *r = pg_nft_rule_new(t, CHAIN_DNS);

	pg_nft_match_iifname(r, cfg->vxlan_if, false);
	pg_nft_match_daddr(r, self);
	pg_nft_match_dport(r, proto, DNS_PORT);
	pg_nft_counter(r);
	pg_nft_dnat(r, to, port);
}

/* DNS over TCP (a truncated answer's retry) is not served by the
 * forwarder: it goes to the first IPv4 upstream server (a query to the
 * IPv4 overlay address cannot be translated to IPv6), forwarded and NATed
 * like any overlay traffic, so through the egress and its kill switch. */
static const struct pg_prefix *tcp_upstream(const struct pg_config *cfg)
{
	for (unsigned i = 0; i < cfg->dns_upstream.n; i++)
		if (cfg->dns_upstream.items[i].family == AF_INET)
			return &cfg->dns_upstream.items[i];
	return NULL;
}

/* Queries to the overlay address: UDP to the forwarder's unprivileged
 * port, TCP (not proxied) to the first IPv4 upstream. */
static void add_dns(struct pg_nft_table *t, const struct pg_config *cfg)
{
	const struct pg_prefix *tcp = tcp_upstream(cfg);
	struct pg_prefix self;

	if (!cfg->dns_forwarder)
		return;
	pg_prefix_host(&cfg->overlay, 1, &self);
	self.len = 32;
	pg_nft_table_add_chain(t, CHAIN_DNS, PG_CHAIN_NAT, PG_HOOK_PREROUTING, PRIO_DNAT, false);
	dnat_dns(t, cfg, &self, IPPROTO_UDP, &self, PG_DNS_FORWARDER_PORT);
	if (tcp)
		dnat_dns(t, cfg, &self, IPPROTO_TCP, tcp, 0);
}

/* The gateway's own output through the underlay. Clients live on the pod
 * network, possibly on other nodes' subnets: VXLAN toward them (destination
 * port VXLAN_PORT) and membership replies (source port
 * GATEWAY_CONTROL_PORT) are matched by port, not by address. */
static void add_kill_switch(struct pg_nft_table *t, const struct pg_config *cfg)
{
	struct pg_nft_rule *r;

	pg_nft_table_add_chain(t, CHAIN_KILLSWITCH, PG_CHAIN_FILTER, PG_HOOK_OUTPUT, 0, false);
	/* oifname != UNDERLAY accept */
	r = pg_nft_rule_new(t, CHAIN_KILLSWITCH);
	pg_nft_match_oifname(r, cfg->underlay_if, true);
	pg_nft_accept(r);
	/* ct state established,related accept: replies to connections others
	 * opened (probes, metrics). */
	r = pg_nft_rule_new(t, CHAIN_KILLSWITCH);
	pg_nft_match_ct_state(r, PG_CT_ESTABLISHED | PG_CT_RELATED);
	pg_nft_accept(r);
	accept_port(t, cfg, IPPROTO_UDP, cfg->vxlan_port, false);
	accept_port(t, cfg, IPPROTO_UDP, cfg->control_port, true);
	accept_port(t, cfg, IPPROTO_UDP, cfg->vpn_port, false);
	accept_port(t, cfg, IPPROTO_TCP, cfg->vpn_port, false);
	accept_link_local(t);
	accept_neighbour_discovery(t, cfg);
	accept_local_dns(t, cfg);
	for (int family = AF_INET; family; family = family == AF_INET ? AF_INET6 : 0) {
		if (!have_local(cfg, family))
			continue;
		/* ip daddr @vpn_local accept, ip6 daddr @vpn_local6 accept */
		r = pg_nft_rule_new(t, CHAIN_KILLSWITCH);
		pg_nft_match_daddr_in_set(r, family, local_set(family), false);
		pg_nft_accept(r);
	}
	/* counter drop */
	r = pg_nft_rule_new(t, CHAIN_KILLSWITCH);
	pg_nft_counter(r);
	pg_nft_drop(r);
}

void pg_egress_add_chains(struct pg_nft_table *t, const struct pg_config *cfg)
{
	add_dns(t, cfg);
	if (kill_switch(cfg))
		add_kill_switch(t, cfg);
}

void pg_egress_guard(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg,
		     int family)
{
	const char *oifs[] = {pg_egress_if(cfg), have_vpn(cfg) ? cfg->underlay_if : NULL};

	for (size_t i = 0; i < sizeof(oifs) / sizeof(oifs[0]) && oifs[i]; i++) {
		/* oifname IF ip[6] saddr OVERLAY counter drop */
		struct pg_nft_rule *r = pg_nft_rule_new(t, chain);

		pg_nft_match_oifname(r, oifs[i], false);
		pg_nft_match_saddr(r, overlay_of(cfg, family));
		pg_nft_counter(r);
		pg_nft_drop(r);
	}
}
