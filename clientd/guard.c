/* SPDX-License-Identifier: MIT */
#include "clientd/guard.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter.h>

#include "clientd/replicas.h"

/* The sets of allowed destinations, one per kind and family. */
#define SET_CLUSTER4  "cluster4"
#define SET_CLUSTER6  "cluster6"
#define SET_DNS4      "dns4"
#define SET_DNS6      "dns6"
#define SET_REPLICAS4 "replicas4"
#define SET_REPLICAS6 "replicas6"

#define CHAIN_INPUT   "input"
#define CHAIN_DNS     "dns"
#define CHAIN_DNS_OUT "dns_out"
#define CHAIN_DNS_SRC "dns_src"
#define PRIO_SNAT     100
#define PRIO_DNAT     (-100)
#define DNS_PORT      53

static const uint8_t dns_protos[] = {IPPROTO_UDP, IPPROTO_TCP};

/* The chains, both filtering what leaves through the underlay. */
static const struct {
	const char *name;
	enum pg_nft_hook hook;
} chains[] = {
    {"output", PG_HOOK_OUTPUT},
    {"forward", PG_HOOK_FORWARD},
};

/* Where neighbour discovery and its kin talk: never routed off the link,
 * so no leak, and IPv6 towards the cluster needs it as IPv4 needs ARP. */
static const struct pg_prefix link_scope[] = {
    {AF_INET6, 10, {0xfe, 0x80}}, /* link-local unicast */
    {AF_INET6, 16, {0xff, 0x02}}, /* link-local multicast */
};

/* Keeps the first error of a sequence of builder calls. */
static void step(int *err, int r)
{
	if (r < 0 && *err == 0)
		*err = r;
}

static bool ifname_ok(const char *name)
{
	return name && name[0] && strlen(name) < IFNAMSIZ;
}

/* Whether list item i is covered by another item that is kept: one that
 * is wider, or equal and earlier. An interval set refuses overlapping
 * elements, and CIDR lists overlap in practice (10.0.0.0/8 and
 * 10.96.0.0/12). */
static bool covered(const struct pg_prefix_list *l, unsigned i)
{
	for (unsigned j = 0; j < l->n; j++) {
		if (j == i || !pg_prefix_contains(&l->items[j], &l->items[i]))
			continue;
		if (l->items[j].len < l->items[i].len || j < i)
			return true;
	}
	return false;
}

static int add_list(struct pg_nft_table *t, const struct pg_prefix_list *l, const char *set4,
		    const char *set6)
{
	int err = 0;

	if (!l)
		return 0;
	if (l->n > PG_MAX_PREFIXES)
		return -EINVAL;
	for (unsigned i = 0; i < l->n && err == 0; i++) {
		const struct pg_prefix *p = &l->items[i];

		if (p->family != AF_INET && p->family != AF_INET6)
			return -EINVAL;
		if (!covered(l, i))
			step(&err,
			     pg_nft_table_add_prefix(t, p->family == AF_INET ? set4 : set6, p));
	}
	return err;
}

/* A redirected query kept the source address of the route it first took
 * (the pod IP on eth0); the gateway accepts only the leased overlay
 * address from the tunnel. */
static int add_dns_source(struct pg_nft_table *t, const struct pg_guard_params *p)
{
	int err = 0;

	step(&err, pg_nft_table_add_chain(t, CHAIN_DNS_SRC, PG_CHAIN_NAT, PG_HOOK_POSTROUTING,
					  PRIO_SNAT, false));
	for (size_t i = 0; i < sizeof(dns_protos); i++) {
		struct pg_nft_rule *r = pg_nft_rule_new(t, CHAIN_DNS_SRC);

		step(&err, pg_nft_match_oifname(r, p->vxlan_if, false));
		step(&err, pg_nft_match_daddr(r, &p->dns_to));
		step(&err, pg_nft_match_dport(r, dns_protos[i], DNS_PORT));
		step(&err, pg_nft_masquerade(r));
	}
	return err;
}

/* Output chains see the interface routing chose before the DNAT below
 * moved a query to the gateway, so they let redirected DNS pass, and the
 * postrouting chain (which sees the real interface) judges it. */
static int add_dns_accept(struct pg_nft_table *t, const char *chain, const struct pg_prefix *to)
{
	int err = 0;

	for (size_t i = 0; i < sizeof(dns_protos); i++) {
		struct pg_nft_rule *r = pg_nft_rule_new(t, chain);

		step(&err, pg_nft_match_daddr(r, to));
		step(&err, pg_nft_match_dport(r, dns_protos[i], DNS_PORT));
		step(&err, pg_nft_accept(r));
	}
	return err;
}

/* Port 53 never leaves through the pod network but clientd's own marked
 * lookups: what the DNAT missed (IPv6, forwarded traffic, the time before
 * the tunnel) stops here. */
static int add_dns_block(struct pg_nft_table *t, const char *underlay_if)
{
	int err = 0;

	step(&err, pg_nft_table_add_chain(t, CHAIN_DNS_OUT, PG_CHAIN_FILTER, PG_HOOK_POSTROUTING, 0,
					  false));
	for (size_t i = 0; i < sizeof(dns_protos); i++) {
		struct pg_nft_rule *r = pg_nft_rule_new(t, CHAIN_DNS_OUT);

		step(&err, pg_nft_match_oifname(r, underlay_if, false));
		step(&err, pg_nft_match_mark(r, PG_GUARD_DNS_MARK, true));
		step(&err, pg_nft_match_dport(r, dns_protos[i], DNS_PORT));
		step(&err, pg_nft_counter(r));
		step(&err, pg_nft_drop(r));
	}
	return err;
}

/* The pod's DNS, to whichever server resolv.conf names, goes to the
 * gateway: resolv.conf is often read-only in Kubernetes. */
static int add_dns_redirect(struct pg_nft_table *t, const struct pg_prefix *to)
{
	struct pg_nft_rule *r;
	int err = 0;

	step(&err,
	     pg_nft_table_add_chain(t, CHAIN_DNS, PG_CHAIN_NAT, PG_HOOK_OUTPUT, PRIO_DNAT, false));
	r = pg_nft_rule_new(t, CHAIN_DNS);
	step(&err, pg_nft_match_mark(r, PG_GUARD_DNS_MARK, false));
	step(&err, pg_nft_accept(r));
	/* A resolver inside the pod (a cache sidecar) is asked as before. */
	r = pg_nft_rule_new(t, CHAIN_DNS);
	step(&err, pg_nft_match_oifname(r, "lo", false));
	step(&err, pg_nft_accept(r));
	for (size_t i = 0; i < sizeof(dns_protos); i++) {
		r = pg_nft_rule_new(t, CHAIN_DNS);
		step(&err, pg_nft_match_dport(r, dns_protos[i], DNS_PORT));
		step(&err, pg_nft_counter(r));
		step(&err, pg_nft_dnat(r, to, 0));
	}
	return err;
}

/* The replicas' set, of the family of the gateway's pod IPs (the underlay's). */
static const char *replicas_set(const struct pg_guard_params *p)
{
	return p->gateway_pod_ip.family == AF_INET6 ? SET_REPLICAS6 : SET_REPLICAS4;
}

static int add_rules(struct pg_nft_table *t, const char *chain, const struct pg_guard_params *p)
{
	static const struct {
		int family;
		const char *set;
	} allowed[] = {
	    {AF_INET, SET_CLUSTER4},
	    {AF_INET6, SET_CLUSTER6},
	    {AF_INET, SET_DNS4},
	    {AF_INET6, SET_DNS6},
	};
	const uint16_t ports[] = {p->vxlan_port, p->control_port};
	static const uint8_t nd_types[] = {135, 136}; /* neighbour solicitation, advertisement */
	struct pg_nft_rule *r;
	int err = 0;

	/* Only the underlay is guarded: lo and the tunnel pass. */
	r = pg_nft_rule_new(t, chain);
	step(&err, pg_nft_match_oifname(r, p->underlay_if, true));
	step(&err, pg_nft_accept(r));
	/* The tunnel and membership, to the gateway's pod IP only; first, as
	 * every encapsulated packet comes this way. */
	for (size_t i = 0; p->gateway_pod_ip.family != 0 && i < 2; i++) {
		if (i == 1 && ports[1] == ports[0])
			break;
		r = pg_nft_rule_new(t, chain);
		if (p->replicas)
			step(&err, pg_nft_match_daddr_in_set(r, p->gateway_pod_ip.family,
							     replicas_set(p), false));
		else
			step(&err, pg_nft_match_daddr(r, &p->gateway_pod_ip));
		step(&err, pg_nft_match_dport(r, IPPROTO_UDP, ports[i]));
		step(&err, pg_nft_accept(r));
	}
	/* Over an IPv6 underlay, neighbour discovery with the gateway's pod
	 * IP goes to that unicast address too (reachability probes, answers
	 * to its solicitations), as ARP does unfiltered for IPv4. Only that:
	 * an echo or any other ICMPv6 to the gateway is not the tunnel's. */
	for (size_t i = 0; p->gateway_pod_ip.family == AF_INET6 && i < sizeof(nd_types); i++) {
		/* ip6 daddr GATEWAY icmpv6 type TYPE accept */
		r = pg_nft_rule_new(t, chain);
		if (p->replicas)
			step(&err, pg_nft_match_daddr_in_set(r, AF_INET6, replicas_set(p), false));
		else
			step(&err, pg_nft_match_daddr(r, &p->gateway_pod_ip));
		step(&err, pg_nft_match_l4proto(r, IPPROTO_ICMPV6));
		step(&err, pg_nft_match_raw(r, (struct pg_nft_field){PG_BASE_TRANSPORT, 0},
					    &nd_types[i], 1, false));
		step(&err, pg_nft_accept(r));
	}
	if (p->dns_to.family)
		step(&err, add_dns_accept(t, chain, &p->dns_to));

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		r = pg_nft_rule_new(t, chain);
		step(&err, pg_nft_match_daddr_in_set(r, allowed[i].family, allowed[i].set, false));
		step(&err, pg_nft_accept(r));
	}
	for (size_t i = 0; i < sizeof(link_scope) / sizeof(link_scope[0]); i++) {
		r = pg_nft_rule_new(t, chain);
		step(&err, pg_nft_match_daddr(r, &link_scope[i]));
		step(&err, pg_nft_match_l4proto(r, IPPROTO_ICMPV6));
		step(&err, pg_nft_accept(r));
	}
	r = pg_nft_rule_new(t, chain);
	step(&err, pg_nft_counter(r));
	step(&err, pg_nft_drop(r));
	return err;
}

/* The tunnel's datagrams come from the gateway's pod IP only: any pod can
 * send to our VXLAN port, and the vxlan driver would decapsulate what it
 * sends and the pod would answer it. Until the gateway is known, from
 * nobody. */
static int add_input(struct pg_nft_table *t, const struct pg_guard_params *p)
{
	struct pg_nft_rule *r;
	int err = 0;

	step(&err,
	     pg_nft_table_add_chain(t, CHAIN_INPUT, PG_CHAIN_FILTER, PG_HOOK_INPUT, 0, false));
	if (p->gateway_pod_ip.family) {
		/* iifname UNDERLAY ip saddr GATEWAY udp dport VXLAN_PORT accept */
		r = pg_nft_rule_new(t, CHAIN_INPUT);
		step(&err, pg_nft_match_iifname(r, p->underlay_if, false));
		if (p->replicas)
			step(&err, pg_nft_match_saddr_in_set(r, p->gateway_pod_ip.family,
							     replicas_set(p), false));
		else
			step(&err, pg_nft_match_saddr(r, &p->gateway_pod_ip));
		step(&err, pg_nft_match_dport(r, IPPROTO_UDP, p->vxlan_port));
		step(&err, pg_nft_accept(r));
	}
	/* iifname UNDERLAY udp dport VXLAN_PORT counter drop */
	r = pg_nft_rule_new(t, CHAIN_INPUT);
	step(&err, pg_nft_match_iifname(r, p->underlay_if, false));
	step(&err, pg_nft_match_dport(r, IPPROTO_UDP, p->vxlan_port));
	step(&err, pg_nft_counter(r));
	step(&err, pg_nft_drop(r));
	return err;
}

static bool params_ok(const struct pg_guard_params *p)
{
	const struct pg_prefix *gw;

	if (!p || !ifname_ok(p->underlay_if) || p->vxlan_port == 0 || p->control_port == 0)
		return false;
	/* Filtering the tunnel's own link would make it the guard's business. */
	if (p->vxlan_if && strcmp(p->vxlan_if, p->underlay_if) == 0)
		return false;
	if (p->dns_to.family &&
	    (p->dns_to.family != AF_INET || p->dns_to.len != 32 || !ifname_ok(p->vxlan_if)))
		return false;
	gw = &p->gateway_pod_ip;
	if (p->replicas) {
		if ((gw->family != AF_INET && gw->family != AF_INET6) || p->replicas->n == 0 ||
		    p->replicas->n > PG_REPLICAS_MAX)
			return false;
		/* One underlay family: the gateway's. */
		for (unsigned i = 0; i < p->replicas->n; i++)
			if (p->replicas->r[i].ip.family != gw->family ||
			    p->replicas->r[i].ip.len != pg_prefix_bytes(gw) * 8)
				return false;
	}
	if (gw->family == 0)
		return true;
	/* One address, not a network. */
	return (gw->family == AF_INET && gw->len == 32) ||
	       (gw->family == AF_INET6 && gw->len == 128);
}

struct pg_nft_table *pg_guard_table(const struct pg_guard_params *p)
{
	struct pg_nft_table *t;
	int err = 0;

	if (!params_ok(p)) {
		errno = EINVAL;
		return NULL;
	}
	t = pg_nft_table_new(NFPROTO_INET, PG_GUARD_TABLE);
	if (!t)
		return NULL;
	for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++)
		step(&err, pg_nft_table_add_chain(t, chains[i].name, PG_CHAIN_FILTER,
						  chains[i].hook, 0, false));
	step(&err, pg_nft_table_add_set(t, SET_CLUSTER4, PG_KEY_IPV4, -1, true));
	step(&err, pg_nft_table_add_set(t, SET_CLUSTER6, PG_KEY_IPV6, -1, true));
	step(&err, pg_nft_table_add_set(t, SET_DNS4, PG_KEY_IPV4, -1, true));
	step(&err, pg_nft_table_add_set(t, SET_DNS6, PG_KEY_IPV6, -1, true));
	if (p->replicas) {
		bool v6 = p->gateway_pod_ip.family == AF_INET6;

		step(&err, pg_nft_table_add_set(t, replicas_set(p), v6 ? PG_KEY_IPV6 : PG_KEY_IPV4,
						-1, false));
		for (unsigned i = 0; err == 0 && i < p->replicas->n; i++)
			step(&err,
			     pg_nft_table_add_elem(t, replicas_set(p), p->replicas->r[i].ip.bytes,
						   pg_prefix_bytes(&p->gateway_pod_ip)));
	}
	if (err == 0)
		step(&err, add_list(t, p->cluster_cidrs, SET_CLUSTER4, SET_CLUSTER6));
	if (err == 0)
		step(&err, add_list(t, p->dns, SET_DNS4, SET_DNS6));
	for (size_t i = 0; err == 0 && i < sizeof(chains) / sizeof(chains[0]); i++)
		step(&err, add_rules(t, chains[i].name, p));
	if (err == 0)
		step(&err, add_input(t, p));
	if (err == 0 && p->dns_to.family) {
		step(&err, add_dns_redirect(t, &p->dns_to));
		step(&err, add_dns_source(t, p));
		step(&err, add_dns_block(t, p->underlay_if));
	}
	if (err < 0) {
		pg_nft_table_free(t);
		errno = -err;
		return NULL;
	}
	return t;
}
