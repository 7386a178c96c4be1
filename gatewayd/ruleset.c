/* SPDX-License-Identifier: MIT */
#include "gatewayd/gateway.h"

#include <linux/netfilter.h>
#include <netinet/in.h>
#include <stdbool.h>

#include "gatewayd/admission.h"
#include "gatewayd/egress.h"

/* Only a leased (overlay IP . MAC) pair may send from the overlay: no
 * spoofed address, no address without a lease. */
static int add_antispoof(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg)
{
	struct pg_nft_rule *r = pg_nft_rule_new(t, chain);

	if (!r || pg_nft_match_iifname(r, cfg->vxlan_if, false) ||
	    pg_nft_match_saddr_ether_in_set(r, PG_SET_CLIENTS, true) || pg_nft_counter(r) ||
	    pg_nft_drop(r))
		return -1;
	return 0;
}

/* input: VXLAN datagrams only from the pod IPs of live leases, so a pod
 * that builds its own tunnel toward us is not even decapsulated. */
static int add_input(struct pg_nft_table *t, const struct pg_config *cfg)
{
	struct pg_nft_rule *r;

	if (pg_nft_table_add_chain(t, "input", PG_CHAIN_FILTER, PG_HOOK_INPUT, 0, false) < 0)
		return -1;
	r = pg_nft_rule_new(t, "input");
	if (!r || pg_nft_match_dport(r, IPPROTO_UDP, (uint16_t)cfg->vxlan_port) ||
	    pg_nft_match_saddr_in_set(r, AF_INET, PG_SET_PEERS, true) || pg_nft_counter(r) ||
	    pg_nft_drop(r))
		return -1;
	return add_antispoof(t, "input", cfg);
}

/* forward: overlay sources may leave only where egress.c says, replies come
 * back, and everything else entering or leaving the overlay is dropped (no
 * client-to-client traffic, no IPv6). */
static int add_forward(struct pg_nft_table *t, const struct pg_config *cfg)
{
	struct pg_nft_rule *r;

	if (pg_nft_table_add_chain(t, "forward", PG_CHAIN_FILTER, PG_HOOK_FORWARD, 0, false) < 0 ||
	    add_antispoof(t, "forward", cfg) < 0)
		return -1;

	if (pg_egress_forward(t, "forward", cfg) < 0)
		return -1;

	r = pg_nft_rule_new(t, "forward");
	if (!r || pg_nft_match_oifname(r, cfg->vxlan_if, false) ||
	    pg_nft_match_ct_state(r, PG_CT_ESTABLISHED | PG_CT_RELATED) || pg_nft_counter(r) ||
	    pg_nft_accept(r))
		return -1;

	r = pg_nft_rule_new(t, "forward");
	if (!r || pg_nft_match_iifname(r, cfg->vxlan_if, false) || pg_nft_counter(r) ||
	    pg_nft_drop(r))
		return -1;

	r = pg_nft_rule_new(t, "forward");
	if (!r || pg_nft_match_oifname(r, cfg->vxlan_if, false) || pg_nft_counter(r) ||
	    pg_nft_drop(r))
		return -1;
	return 0;
}

static int add_nat(struct pg_nft_table *t, const struct pg_config *cfg)
{
	if (pg_nft_table_add_chain(t, "postrouting", PG_CHAIN_NAT, PG_HOOK_POSTROUTING, 100,
				   false) < 0)
		return -1;
	return pg_egress_nat(t, "postrouting", cfg);
}

struct pg_nft_table *pg_gateway_ruleset(const struct pg_config *cfg, const struct pg_pool *pool)
{
	struct pg_nft_table *t = pg_nft_table_new(NFPROTO_INET, PG_GATEWAY_TABLE);

	if (!t)
		return NULL;
	if (pg_admission_add_sets(t, pool) < 0 || pg_egress_add_sets(t, cfg) < 0 ||
	    add_input(t, cfg) < 0 || add_forward(t, cfg) < 0 || add_nat(t, cfg) < 0 ||
	    pg_egress_add_chains(t, cfg) < 0) {
		pg_nft_table_free(t);
		return NULL;
	}
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
	if (pg_nft_table_add_chain(t, "postrouting", PG_CHAIN_FILTER, PG_HOOK_POSTROUTING, 300,
				   false) < 0 ||
	    pg_egress_guard(t, "postrouting", cfg) < 0) {
		pg_nft_table_free(t);
		return NULL;
	}
	return t;
}
