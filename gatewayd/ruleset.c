/* SPDX-License-Identifier: MIT */
#include "gatewayd/ruleset.h"

#include <linux/netfilter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdbool.h>

#include "gatewayd/admission.h"
#include "gatewayd/egress.h"

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

/* input: VXLAN datagrams only from the pod IPs of live leases, so a pod
 * that builds its own tunnel toward us is not even decapsulated. */
static void add_input(struct pg_nft_table *t, const struct pg_config *cfg)
{
	struct pg_nft_rule *r;

	pg_nft_table_add_chain(t, "input", PG_CHAIN_FILTER, PG_HOOK_INPUT, 0, false);
	/* udp dport VXLAN_PORT ip saddr != @peers counter drop */
	r = pg_nft_rule_new(t, "input");
	pg_nft_match_dport(r, IPPROTO_UDP, cfg->vxlan_port);
	pg_nft_match_saddr_in_set(r, AF_INET, PG_SET_PEERS, true);
	pg_nft_counter(r);
	pg_nft_drop(r);
	add_antispoof(t, "input", cfg);
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

/* forward: overlay sources may leave only where egress.c says, replies and
 * port forwards come in, and everything else entering or leaving the
 * overlay is dropped (no client-to-client traffic, no IPv6). */
static void add_forward(struct pg_nft_table *t, const struct pg_config *cfg,
			const struct pg_pool *pool)
{
	struct pg_nft_rule *r;

	pg_nft_table_add_chain(t, "forward", PG_CHAIN_FILTER, PG_HOOK_FORWARD, 0, false);
	pg_egress_mss_clamp(t, "forward", cfg);
	add_antispoof(t, "forward", cfg);
	add_traffic_counts(t, cfg);
	pg_egress_forward(t, "forward", cfg);
	/* oifname vxlan0 ct state established,related counter accept */
	r = pg_nft_rule_new(t, "forward");
	pg_nft_match_oifname(r, cfg->vxlan_if, false);
	pg_nft_match_ct_state(r, PG_CT_ESTABLISHED | PG_CT_RELATED);
	pg_nft_counter(r);
	pg_nft_accept(r);
	accept_forwarded(t, cfg, pool);
	drop_overlay(t, cfg, false);
	drop_overlay(t, cfg, true);
}

struct pg_nft_table *pg_gateway_ruleset(const struct pg_config *cfg, const struct pg_pool *pool)
{
	return pg_gateway_ruleset_counted(cfg, pool, NULL);
}

struct pg_nft_table *pg_gateway_ruleset_counted(const struct pg_config *cfg,
						const struct pg_pool *pool,
						const struct pg_traffic *carry)
{
	struct pg_nft_table *t = pg_nft_table_new(NFPROTO_INET, PG_GATEWAY_TABLE);

	if (!t)
		return NULL;
	pg_admission_add_sets(t, pool, carry);
	pg_egress_add_sets(t, cfg);
	add_input(t, cfg);
	add_forward(t, cfg, pool);
	add_port_forwards(t, cfg, pool);
	pg_nft_table_add_chain(t, "postrouting", PG_CHAIN_NAT, PG_HOOK_POSTROUTING, 100, false);
	pg_egress_nat(t, "postrouting", cfg);
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
	pg_egress_guard(t, "postrouting", cfg);
	return t;
}
