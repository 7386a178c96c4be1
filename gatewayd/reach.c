/* SPDX-License-Identifier: MIT */
#include "gatewayd/reach.h"

#include <string.h>
#include <sys/socket.h>

/* Never a destination of forwarded overlay traffic, whatever the settings. */
static const struct pg_prefix always_denied[] = {
    {AF_INET, 16, {169, 254}}, /* link-local: the node's and the cloud's metadata */
    {AF_INET, 8, {127}},       /* loopback */
};

/* The same for the IPv6 overlay; IPv4-mapped addresses would reach IPv4
 * destinations around the IPv4 list. */
static const struct pg_prefix always_denied6[] = {
    {AF_INET6, 128, {[15] = 1}},		/* loopback */
    {AF_INET6, 10, {0xfe, 0x80}},		/* link-local */
    {AF_INET6, 96, {[10] = 0xff, [11] = 0xff}}, /* IPv4-mapped */
    {AF_INET6,
     128,
     {0xfd, 0, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54}}, /* EC2's metadata, fd00:ec2::254 */
};

static void push(struct pg_reach_list *l, const struct pg_prefix *p, int family)
{
	/* sized for every source: the bound only guards the arithmetic */
	if (p->family == family && l->n < sizeof(l->items) / sizeof(l->items[0]))
		l->items[l->n++] = *p;
}

static void push_list(struct pg_reach_list *l, const struct pg_prefix_list *from, int family)
{
	for (unsigned i = 0; from && i < from->n; i++)
		push(l, &from->items[i], family);
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

static void denied(const struct pg_config *cfg, const struct pg_prefix_list *underlay, int family,
		   struct pg_reach_list *out)
{
	const struct pg_prefix *fixed = family == AF_INET ? always_denied : always_denied6;
	size_t n = family == AF_INET ? sizeof(always_denied) / sizeof(always_denied[0])
				     : sizeof(always_denied6) / sizeof(always_denied6[0]);

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		push(out, &fixed[i], family);
	push_list(out, underlay, family);
	push_list(out, &cfg->not_routed, family);
	push_list(out, &cfg->dns, family);
	prune(out);
}

void pg_reach_denied(const struct pg_config *cfg, const struct pg_prefix_list *underlay,
		     struct pg_reach_list *out)
{
	denied(cfg, underlay, AF_INET, out);
}

void pg_reach_denied6(const struct pg_config *cfg, const struct pg_prefix_list *underlay,
		      struct pg_reach_list *out)
{
	denied(cfg, underlay, AF_INET6, out);
}

static void add_set(struct pg_nft_table *t, const char *name, const struct pg_reach_list *l,
		    enum pg_nft_key key)
{
	pg_nft_table_add_set(t, name, key, -1, true);
	for (unsigned i = 0; i < l->n; i++)
		pg_nft_table_add_prefix(t, name, &l->items[i]);
}

void pg_reach_add_sets(struct pg_nft_table *t, const struct pg_config *cfg,
		       const struct pg_prefix_list *underlay)
{
	struct pg_reach_list l;

	pg_reach_denied(cfg, underlay, &l);
	add_set(t, PG_SET_OVERLAY_DENY, &l, PG_KEY_IPV4);
	memset(&l, 0, sizeof(l));
	push_list(&l, &cfg->overlay_allow, AF_INET);
	prune(&l);
	add_set(t, PG_SET_OVERLAY_ALLOW, &l, PG_KEY_IPV4);
}

void pg_reach_add_sets6(struct pg_nft_table *t, const struct pg_config *cfg,
			const struct pg_prefix_list *underlay)
{
	struct pg_reach_list l;

	pg_reach_denied6(cfg, underlay, &l);
	add_set(t, PG_SET_OVERLAY_DENY6, &l, PG_KEY_IPV6);
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

/* No allow list for IPv6 (GATEWAY_OVERLAY_ALLOW_CIDRS is IPv4's) and no
 * DNAT from the overlay's IPv6: the list alone decides. */
void pg_reach_forward6(struct pg_nft_table *t, const char *chain, const struct pg_config *cfg)
{
	/* iifname vxlan0 ip6 daddr @overlay_deny6 counter drop */
	struct pg_nft_rule *r = pg_nft_rule_new(t, chain);

	pg_nft_match_iifname(r, cfg->vxlan_if, false);
	pg_nft_match_daddr_in_set(r, AF_INET6, PG_SET_OVERLAY_DENY6, false);
	pg_nft_counter(r);
	pg_nft_drop(r);
}
