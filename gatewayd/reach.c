/* SPDX-License-Identifier: MIT */
#include "gatewayd/reach.h"

#include <string.h>
#include <sys/socket.h>

/* Never a destination of forwarded overlay traffic, whatever the settings. */
static const struct pg_prefix always_denied[] = {
    {AF_INET, 16, {169, 254}}, /* link-local: the node's and the cloud's metadata */
    {AF_INET, 8, {127}},       /* loopback */
};

static void push(struct pg_reach_list *l, const struct pg_prefix *p)
{
	/* sized for every source: the bound only guards the arithmetic */
	if (p->family == AF_INET && l->n < sizeof(l->items) / sizeof(l->items[0]))
		l->items[l->n++] = *p;
}

static void push_list(struct pg_reach_list *l, const struct pg_prefix_list *from)
{
	for (unsigned i = 0; from && i < from->n; i++)
		push(l, &from->items[i]);
}

/* Drops the items another item covers: a wider one, or an equal earlier
 * one. CIDRs either nest or are disjoint, so what is left never overlaps. */
static void prune(struct pg_reach_list *l)
{
	struct pg_reach_list in = *l;

	l->n = 0;
	for (unsigned i = 0; i < in.n; i++) {
		bool covered = false;

		for (unsigned j = 0; j < in.n && !covered; j++)
			covered = j != i && pg_prefix_contains(&in.items[j], &in.items[i]) &&
				  (in.items[j].len < in.items[i].len || j < i);
		if (!covered)
			l->items[l->n++] = in.items[i];
	}
}

void pg_reach_denied(const struct pg_config *cfg, const struct pg_prefix_list *underlay,
		     struct pg_reach_list *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(always_denied) / sizeof(always_denied[0]); i++)
		push(out, &always_denied[i]);
	push_list(out, underlay);
	push_list(out, &cfg->not_routed);
	push_list(out, &cfg->dns);
	prune(out);
}

static void add_set(struct pg_nft_table *t, const char *name, const struct pg_reach_list *l)
{
	pg_nft_table_add_set(t, name, PG_KEY_IPV4, -1, true);
	for (unsigned i = 0; i < l->n; i++)
		pg_nft_table_add_prefix(t, name, &l->items[i]);
}

void pg_reach_add_sets(struct pg_nft_table *t, const struct pg_config *cfg,
		       const struct pg_prefix_list *underlay)
{
	struct pg_reach_list l;

	pg_reach_denied(cfg, underlay, &l);
	add_set(t, PG_SET_OVERLAY_DENY, &l);
	memset(&l, 0, sizeof(l));
	push_list(&l, &cfg->overlay_allow);
	prune(&l);
	add_set(t, PG_SET_OVERLAY_ALLOW, &l);
}

void pg_reach_forward(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg)
{
	/* iifname vxlan0 ct status != dnat ip daddr @overlay_deny
	 * ip daddr != @overlay_allow counter drop */
	struct pg_nft_rule *r = pg_nft_rule_new(t, chain);

	pg_nft_match_iifname(r, cfg->vxlan_if, false);
	pg_nft_match_ct_status_none(r, PG_CT_STATUS_DNAT);
	pg_nft_match_daddr_in_set(r, AF_INET, PG_SET_OVERLAY_DENY, false);
	pg_nft_match_daddr_in_set(r, AF_INET, PG_SET_OVERLAY_ALLOW, true);
	pg_nft_counter(r);
	pg_nft_drop(r);
}
