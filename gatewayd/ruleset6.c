/* SPDX-License-Identifier: MIT */
#include "gatewayd/ruleset6.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "gatewayd/egress.h"
#include "gatewayd/overlay6.h"
#include "gatewayd/reach.h"

struct pairs {
	struct pg_nft_table *t;
	const struct pg_config *cfg;
};

static int add_lease_pair(const struct pg_lease *l, void *arg)
{
	const struct pairs *p = arg;
	uint8_t key[PG_OVERLAY6_PAIR_KEY_LEN];
	int r = pg_overlay6_pair_key(&p->cfg->overlay6.prefix, &p->cfg->overlay, l, key);

	if (r < 0)
		return r;
	return pg_nft_table_add_elem(p->t, PG_SET_CLIENTS6, key, sizeof(key));
}

void pg_ruleset6_add_sets(struct pg_nft_table *t, const struct pg_config *cfg,
			  const struct pg_pool *pool, const struct pg_prefix_list *underlay)
{
	struct pairs p = {t, cfg};

	if (!pg_overlay6_configured(cfg))
		return;
	pg_nft_table_add_set(t, PG_SET_CLIENTS6, PG_KEY_IPV6, PG_KEY_ETHER, false);
	/* A failed element sticks to the table (netlink/nft.h). */
	if (pool)
		pg_pool_foreach(pool, add_lease_pair, &p);
	pg_reach_add_sets6(t, cfg, underlay);
}

/* iifname vxlan0 ip6 saddr . ether saddr != @clients6 counter drop */
static void antispoof(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg)
{
	struct pg_nft_rule *r = pg_nft_rule_new(t, chain);

	pg_nft_match_iifname(r, cfg->vxlan_if, false);
	pg_nft_match_saddr_ether_in_set(r, PG_SET_CLIENTS6, true);
	pg_nft_counter(r);
	pg_nft_drop(r);
}

void pg_ruleset6_input(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg)
{
	static const uint8_t echo_request = 128;
	struct pg_prefix self;
	struct pg_nft_rule *r;

	if (!pg_overlay6_configured(cfg))
		return;
	antispoof(t, chain, cfg);
	/* iifname vxlan0 ip6 daddr SELF6 icmpv6 type echo-request accept.
	 * Neighbour discovery is not needed: both ends have permanent entries. */
	pg_overlay6_gateway(&cfg->overlay6.prefix, &self);
	r = pg_nft_rule_new(t, chain);
	pg_nft_match_iifname(r, cfg->vxlan_if, false);
	pg_nft_match_daddr(r, &self);
	pg_nft_match_l4proto(r, IPPROTO_ICMPV6);
	pg_nft_match_raw(r, (struct pg_nft_field){PG_BASE_TRANSPORT, 0}, &echo_request, 1, false);
	pg_nft_accept(r);
}

/* After the anti-spoofing and refused destinations, out as IPv4 goes
 * (egress.c): the egress, and with a VPN the underlay for VPN_LOCAL_CIDRS
 * or, without the kill switch, everything. */
void pg_ruleset6_forward(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg)
{
	if (!pg_overlay6_configured(cfg))
		return;
	antispoof(t, chain, cfg);
	pg_reach_forward6(t, chain, cfg);
	pg_egress_forward(t, chain, cfg, AF_INET6);
}

void pg_ruleset6_nat(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg)
{
	if (pg_overlay6_configured(cfg))
		pg_egress_nat(t, chain, cfg, AF_INET6);
}

void pg_ruleset6_guard(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg)
{
	if (pg_overlay6_configured(cfg))
		pg_egress_guard(t, chain, cfg, AF_INET6);
}
