/* SPDX-License-Identifier: MIT */
/* The crawler pod's guard table: built, serialized and read back with
 * libnftnl, as test-nft.c does; no root, no kernel. */
#include "clientd/guard.h"
#include "clientd/replicas.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "check.h"
#include "nftbatch.h"

static void push(struct pg_prefix_list *l, const char *text)
{
	if (l->n >= PG_MAX_PREFIXES)
		abort();
	l->items[l->n++] = nft_test_prefix(text);
}

/* A guard rule's expressions; its table must be the guard's. */
static char *rule_text(const struct nlmsghdr *nlh, char **chain)
{
	char *table = NULL, *text = nft_rule_text(nlh, &table, chain);

	CHECK_STR(table, PG_GUARD_TABLE);
	free(table);
	return text;
}

/* What nft --debug=netlink shows for the guard's rules (the prefixes
 * matched with a mask, as test-nft.c explains). */
#define NOT_ETH0                                                                                   \
	"  [ meta load oifname => reg 1 ]\n"                                                       \
	"  [ cmp neq reg 1 0x30687465 0x00000000 0x00000000 0x00000000 ]\n"                        \
	"  [ immediate reg 0 accept ]\n"
#define IN_SET4(set)                                                                               \
	"  [ meta load nfproto => reg 1 ]\n"                                                       \
	"  [ cmp eq reg 1 0x00000002 ]\n"                                                          \
	"  [ payload load 4b @ network header + 16 => reg 1 ]\n"                                   \
	"  [ lookup reg 1 set " set " ]\n"                                                         \
	"  [ immediate reg 0 accept ]\n"
#define IN_SET6(set)                                                                               \
	"  [ meta load nfproto => reg 1 ]\n"                                                       \
	"  [ cmp eq reg 1 0x0000000a ]\n"                                                          \
	"  [ payload load 16b @ network header + 24 => reg 1 ]\n"                                  \
	"  [ lookup reg 1 set " set " ]\n"                                                         \
	"  [ immediate reg 0 accept ]\n"
#define LINK_SCOPE(mask, value)                                                                    \
	"  [ meta load nfproto => reg 1 ]\n"                                                       \
	"  [ cmp eq reg 1 0x0000000a ]\n"                                                          \
	"  [ payload load 16b @ network header + 24 => reg 1 ]\n"                                  \
	"  [ bitwise reg 1 = ( reg 1 & " mask " 0x00000000 0x00000000 0x00000000 ) ^ "             \
	"0x00000000 0x00000000 0x00000000 0x00000000 ]\n"                                          \
	"  [ cmp eq reg 1 " value " 0x00000000 0x00000000 0x00000000 ]\n"                          \
	"  [ meta load l4proto => reg 1 ]\n"                                                       \
	"  [ cmp eq reg 1 0x0000003a ]\n"                                                          \
	"  [ immediate reg 0 accept ]\n"
/* ip daddr 10.244.0.2 udp dport PORT accept */
#define TO_GATEWAY(port)                                                                           \
	"  [ meta load nfproto => reg 1 ]\n"                                                       \
	"  [ cmp eq reg 1 0x00000002 ]\n"                                                          \
	"  [ payload load 4b @ network header + 16 => reg 1 ]\n"                                   \
	"  [ cmp eq reg 1 0x0200f40a ]\n"                                                          \
	"  [ meta load l4proto => reg 1 ]\n"                                                       \
	"  [ cmp eq reg 1 0x00000011 ]\n"                                                          \
	"  [ payload load 2b @ transport header + 2 => reg 1 ]\n"                                  \
	"  [ cmp eq reg 1 " port " ]\n"                                                            \
	"  [ immediate reg 0 accept ]\n"
#define COUNTED_DROP                                                                               \
	"  [ counter pkts 0 bytes 0 ]\n"                                                           \
	"  [ immediate reg 0 drop ]\n"

static const char *const rules_full[] = {
    NOT_ETH0,
    TO_GATEWAY("0x00001821"), /* 8472: every encapsulated packet, so early */
    TO_GATEWAY("0x00001921"), /* 8473 */
    IN_SET4("cluster4"),
    IN_SET6("cluster6"),
    IN_SET4("dns4"),
    IN_SET6("dns6"),
    LINK_SCOPE("0x0000c0ff", "0x000080fe"), /* fe80::/10 */
    LINK_SCOPE("0x0000ffff", "0x000002ff"), /* ff02::/16 */
    COUNTED_DROP,
};

/* No gateway known yet: nothing reaches a pod IP but the cluster's. */
static const char *const rules_no_gateway[] = {
    NOT_ETH0,
    IN_SET4("cluster4"),
    IN_SET6("cluster6"),
    IN_SET4("dns4"),
    IN_SET6("dns6"),
    LINK_SCOPE("0x0000c0ff", "0x000080fe"),
    LINK_SCOPE("0x0000ffff", "0x000002ff"),
    COUNTED_DROP,
};

/* The input chain: VXLAN from the gateway's pod IP (when known) or
 * nobody. */
#define IIF_ETH0                                                                                   \
	"  [ meta load iifname => reg 1 ]\n"                                                       \
	"  [ cmp eq reg 1 0x30687465 0x00000000 0x00000000 0x00000000 ]\n"
#define VXLAN_FROM_GATEWAY                                                                         \
	IIF_ETH0 "  [ meta load nfproto => reg 1 ]\n"                                              \
		 "  [ cmp eq reg 1 0x00000002 ]\n"                                                 \
		 "  [ payload load 4b @ network header + 12 => reg 1 ]\n"                          \
		 "  [ cmp eq reg 1 0x0200f40a ]\n"                                                 \
		 "  [ meta load l4proto => reg 1 ]\n"                                              \
		 "  [ cmp eq reg 1 0x00000011 ]\n"                                                 \
		 "  [ payload load 2b @ transport header + 2 => reg 1 ]\n"                         \
		 "  [ cmp eq reg 1 0x00001821 ]\n"                                                 \
		 "  [ immediate reg 0 accept ]\n"
#define VXLAN_DROP                                                                                 \
	IIF_ETH0 "  [ meta load l4proto => reg 1 ]\n"                                              \
		 "  [ cmp eq reg 1 0x00000011 ]\n"                                                 \
		 "  [ payload load 2b @ transport header + 2 => reg 1 ]\n"                         \
		 "  [ cmp eq reg 1 0x00001821 ]\n" COUNTED_DROP

static void check_rules(const struct nft_batch *b, const char *const *want, size_t nwant)
{
	static const char *const chains[] = {"output", "forward"};
	static const char *const input_known[] = {VXLAN_FROM_GATEWAY, VXLAN_DROP};
	const struct nlmsghdr *rules[64];
	size_t n = nft_batch_pick(b, NFT_MSG_NEWRULE, rules, 64);
	/* rules_full has the gateway's rules, rules_no_gateway not */
	size_t nin = want == rules_full ? 2 : 1;

	CHECK(n == 2 * nwant + nin);
	for (size_t i = 2 * nwant; i < n; i++) {
		char *chain = NULL, *text = rule_text(rules[i], &chain);

		CHECK_STR(chain, "input");
		CHECK_STR(text, nin == 2 ? input_known[i - 2 * nwant] : VXLAN_DROP);
		free(chain);
		free(text);
	}
	n = 2 * nwant;
	for (size_t i = 0; i < n && i < 2 * nwant; i++) {
		char *chain = NULL, *text = rule_text(rules[i], &chain);

		CHECK(rules[i]->nlmsg_flags ==
		      (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND));
		CHECK_STR(chain, chains[i / nwant]);
		CHECK_STR(text, want[i % nwant]);
		free(chain);
		free(text);
	}
}

static void check_chains(const struct nft_batch *b)
{
	const struct nlmsghdr *msg[4];
	const uint32_t hooks[] = {NF_INET_LOCAL_OUT, NF_INET_FORWARD, NF_INET_LOCAL_IN};
	const char *const names[] = {"output", "forward", "input"};
	size_t n = nft_batch_pick(b, NFT_MSG_NEWCHAIN, msg, 4);

	CHECK(n == 3);
	for (size_t i = 0; i < n && i < 3; i++) {
		struct nftnl_chain *c = nftnl_chain_alloc();

		CHECK(nftnl_chain_nlmsg_parse(msg[i], c) == 0);
		CHECK_STR(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), PG_GUARD_TABLE);
		CHECK_STR(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), names[i]);
		CHECK_STR(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), "filter");
		CHECK(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) == hooks[i]);
		CHECK(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO) == 0);
		CHECK(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) == NF_ACCEPT);
		nftnl_chain_free(c);
	}
}

static void check_table(const struct nft_batch *b)
{
	const struct nlmsghdr *msg[4];
	size_t n = nft_batch_pick(b, NFT_MSG_NEWTABLE, msg, 4);

	/* create, (delete,) create: an atomic replace of an inet table */
	CHECK(n == 2);
	CHECK(nft_batch_pick(b, NFT_MSG_DELTABLE, msg + 2, 1) == 1);
	for (size_t i = 0; i < 3 && i < n + 1; i++) {
		struct nftnl_table *t = nftnl_table_alloc();
		const struct nfgenmsg *g = mnl_nlmsg_get_payload(msg[i]);

		CHECK(g->nfgen_family == NFPROTO_INET);
		CHECK(nftnl_table_nlmsg_parse(msg[i], t) == 0);
		CHECK_STR(nftnl_table_get_str(t, NFTNL_TABLE_NAME), PG_GUARD_TABLE);
		nftnl_table_free(t);
	}
	CHECK(b->n >= 2 && b->msg[0]->nlmsg_type == NFNL_MSG_BATCH_BEGIN &&
	      b->msg[b->n - 1]->nlmsg_type == NFNL_MSG_BATCH_END);
}

/* Set NAME is an interval set of key_len-byte keys holding want. */
static void check_set_flags(const struct nft_batch *b, const char *name, uint32_t key_len,
			    uint32_t flags, const struct nft_elem *want, size_t nwant)
{
	const struct nlmsghdr *sets[8], *elems[8];
	size_t ns = nft_batch_pick(b, NFT_MSG_NEWSET, sets, 8),
	       ne = nft_batch_pick(b, NFT_MSG_NEWSETELEM, elems, 8);
	struct nft_elem got[16];
	bool found = false;
	size_t n = 0;

	for (size_t i = 0; i < ns; i++) {
		struct nftnl_set *s = nftnl_set_alloc();

		CHECK(nftnl_set_nlmsg_parse(sets[i], s) == 0);
		if (strcmp(nftnl_set_get_str(s, NFTNL_SET_NAME), name) == 0) {
			found = true;
			CHECK(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) == flags);
			CHECK(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN) == key_len);
		}
		nftnl_set_free(s);
	}
	CHECK(found);
	for (size_t i = 0; i < ne; i++) {
		char *set = NULL;
		long k = nft_elems_read(elems[i], &set, got + n, n < 16 ? 16 - n : 0);

		CHECK(k >= 0);
		if (k > 0 && set && strcmp(set, name) == 0)
			n += (size_t)k;
		free(set);
	}
	for (size_t i = 0; i < n && i < nwant && i < 16; i++)
		CHECK(nft_elem_equal(&got[i], &want[i]));
	CHECK(n == nwant);
	if (n != nwant)
		fprintf(stderr, "set %s: %zu elements, want %zu\n", name, n, nwant);
}

static void check_set(const struct nft_batch *b, const char *name, uint32_t key_len,
		      const struct nft_elem *want, size_t nwant)
{
	check_set_flags(b, name, key_len, NFT_SET_INTERVAL, want, nwant);
}

static struct pg_guard_params base_params(void)
{
	struct pg_guard_params p = {
	    .underlay_if = "eth0",
	    .vxlan_if = "vxlan0",
	    .vxlan_port = 8472,
	    .control_port = 8473,
	};

	if (pg_addr_parse("10.244.0.2", &p.gateway_pod_ip) < 0)
		abort();
	return p;
}

static void test_full(void)
{
	static struct pg_prefix_list cluster, dns;
	const uint32_t end = NFT_SET_ELEM_INTERVAL_END;
	const struct nft_elem cluster4[] = {
	    {{10, 244, 0, 0}, 4, 0},
	    {{10, 245, 0, 0}, 4, end},
	    {{10, 96, 0, 0}, 4, 0},
	    {{10, 112, 0, 0}, 4, end},
	};
	const struct nft_elem cluster6[] = {
	    {{0xfd, 0, 0, 0x10}, 16, 0},
	    {{0xfd, 0, 0, 0x10, 0, 0, 1}, 16, end},
	};
	const struct nft_elem dns4[] = {
	    {{10, 96, 0, 10}, 4, 0},
	    {{10, 96, 0, 11}, 4, end},
	};
	const struct nft_elem dns6[] = {
	    {{0xfd, 0, 0, 0x10, [15] = 0x0a}, 16, 0},
	    {{0xfd, 0, 0, 0x10, [15] = 0x0b}, 16, end},
	};
	struct pg_guard_params p = base_params();
	struct pg_nft_table *t;
	struct nft_batch b;

	/* Overlaps and duplicates, as real settings have them: an interval
	 * set refuses overlapping elements, so the narrower ones go. */
	push(&cluster, "10.244.0.0/16");
	push(&cluster, "10.96.0.0/12");
	push(&cluster, "10.96.0.0/16");
	push(&cluster, "fd00:10::/56");
	push(&cluster, "10.244.0.0/16");
	push(&cluster, "fd00:10::/64");
	push(&dns, "10.96.0.10");
	push(&dns, "fd00:10::a");
	push(&dns, "10.96.0.10");
	p.cluster_cidrs = &cluster;
	p.dns = &dns;
	t = pg_guard_table(&p);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK(nft_batch_serialize(t, &b) == 0);
	check_table(&b);
	check_chains(&b);
	check_set(&b, "cluster4", 4, cluster4, 4);
	check_set(&b, "cluster6", 16, cluster6, 2);
	check_set(&b, "dns4", 4, dns4, 2);
	check_set(&b, "dns6", 16, dns6, 2);
	check_rules(&b, rules_full, sizeof(rules_full) / sizeof(rules_full[0]));
	nft_batch_free(&b);
	pg_nft_table_free(t);
}

/* No cluster CIDRs, no DNS, no gateway yet: still a whole table, whose
 * sets are empty and which drops everything out of eth0 but link-scope
 * ICMPv6. */
static void test_empty(void)
{
	static const struct pg_prefix_list none;
	struct pg_guard_params p = base_params();
	struct pg_nft_table *t;
	struct nft_batch b;

	memset(&p.gateway_pod_ip, 0, sizeof(p.gateway_pod_ip));
	p.cluster_cidrs = &none;
	p.dns = NULL;
	t = pg_guard_table(&p);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK(nft_batch_serialize(t, &b) == 0);
	check_table(&b);
	check_chains(&b);
	check_set(&b, "cluster4", 4, NULL, 0);
	check_set(&b, "cluster6", 16, NULL, 0);
	check_set(&b, "dns4", 4, NULL, 0);
	check_set(&b, "dns6", 16, NULL, 0);
	check_rules(&b, rules_no_gateway, sizeof(rules_no_gateway) / sizeof(rules_no_gateway[0]));
	nft_batch_free(&b);
	pg_nft_table_free(t);
}

/* A moved gateway is a new table: same shape, the new address. */
static void test_gateway_moved(void)
{
	struct pg_guard_params p = base_params();
	struct pg_nft_table *t;
	const struct nlmsghdr *rules[64];
	struct nft_batch b;
	size_t n;

	CHECK(pg_addr_parse("10.244.0.3", &p.gateway_pod_ip) == 0);
	p.control_port = p.vxlan_port; /* one port: one rule */
	t = pg_guard_table(&p);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK(nft_batch_serialize(t, &b) == 0);
	n = nft_batch_pick(&b, NFT_MSG_NEWRULE, rules, 64);
	CHECK(n == 2 * 9 + 2);
	if (n == 2 * 9 + 2) {
		char *chain = NULL, *text = rule_text(rules[1], &chain);

		CHECK_STR(chain, "output");
		CHECK(text && strstr(text, "[ cmp eq reg 1 0x0300f40a ]") != NULL);
		CHECK(text && strstr(text, "[ cmp eq reg 1 0x00001821 ]") != NULL);
		free(chain);
		free(text);
	}
	nft_batch_free(&b);
	pg_nft_table_free(t);
}

/* DNS through the tunnel: two rules more near the top of each filter
 * chain (UDP and TCP port 53 to the gateway pass), a nat chain redirecting
 * port 53 to the gateway, one masquerading it into the tunnel and a
 * postrouting chain dropping unmarked port 53 out of eth0. */
static void test_dns_through_tunnel(void)
{
	static const char *const dns_chain[] = {
	    "  [ meta load mark => reg 1 ]\n"
	    "  [ cmp eq reg 1 0x50474457 ]\n"
	    "  [ immediate reg 0 accept ]\n",
	    "  [ meta load oifname => reg 1 ]\n"
	    "  [ cmp eq reg 1 0x00006f6c 0x00000000 0x00000000 0x00000000 ]\n"
	    "  [ immediate reg 0 accept ]\n",
	    "  [ meta load l4proto => reg 1 ]\n"
	    "  [ cmp eq reg 1 0x00000011 ]\n"
	    "  [ payload load 2b @ transport header + 2 => reg 1 ]\n"
	    "  [ cmp eq reg 1 0x00003500 ]\n"
	    "  [ counter pkts 0 bytes 0 ]\n"
	    "  [ meta load nfproto => reg 1 ]\n"
	    "  [ cmp eq reg 1 0x00000002 ]\n"
	    "  [ immediate reg 1 0x010010ac ]\n"
	    "  [ nat dnat ip addr_min reg 1 ]\n",
	};
	struct pg_guard_params p = base_params();
	const struct nlmsghdr *rules[64];
	struct pg_nft_table *t;
	struct nft_batch b;
	size_t n, in_dns = 0;

	p.dns_to = nft_test_prefix("172.16.0.1/32");
	t = pg_guard_table(&p);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK(nft_batch_serialize(t, &b) == 0);
	n = nft_batch_pick(&b, NFT_MSG_NEWRULE, rules, 64);
	CHECK(n == 2 * 12 + 2 + 4 + 2 + 2);
	for (size_t i = 0; i < n; i++) {
		char *chain = NULL, *text = rule_text(rules[i], &chain);

		if (chain && strcmp(chain, "dns") == 0) {
			if (in_dns < 3)
				CHECK_STR(text, dns_chain[in_dns]);
			in_dns++;
		}
		/* After the tunnel's two rules in each filter chain: UDP port 53
		 * to the gateway. */
		if (i == 3 || i == 15)
			CHECK(text && strstr(text, "[ cmp eq reg 1 0x010010ac ]") &&
			      strstr(text, "[ cmp eq reg 1 0x00003500 ]"));
		if (chain && strcmp(chain, "dns_src") == 0)
			CHECK(text && strstr(text, "[ cmp eq reg 1 0x010010ac ]") &&
			      strstr(text, "[ masq ]"));
		if (chain && strcmp(chain, "dns_out") == 0)
			CHECK(text && strstr(text, "[ meta load oifname => reg 1 ]") &&
			      strstr(text, "[ cmp neq reg 1 0x50474457 ]") &&
			      strstr(text, "[ immediate reg 0 drop ]"));
		free(chain);
		free(text);
	}
	CHECK(in_dns == 4);
	nft_batch_free(&b);
	pg_nft_table_free(t);
}

static void expect_einval(const struct pg_guard_params *p, const char *what)
{
	struct pg_nft_table *t;

	errno = 0;
	t = pg_guard_table(p);
	if (t || errno != EINVAL)
		fprintf(stderr, "not refused with EINVAL: %s\n", what);
	CHECK(t == NULL && errno == EINVAL);
	pg_nft_table_free(t);
}

static void test_invalid(void)
{
	static struct pg_prefix_list bad;
	struct pg_guard_params p;

	expect_einval(NULL, "no parameters");
	p = base_params();
	p.underlay_if = NULL;
	expect_einval(&p, "no underlay");
	p.underlay_if = "";
	expect_einval(&p, "empty underlay");
	p.underlay_if = "0123456789abcdef";
	expect_einval(&p, "underlay name too long");
	p = base_params();
	p.vxlan_if = "eth0";
	expect_einval(&p, "vxlan link is the underlay");
	p = base_params();
	p.vxlan_port = 0;
	expect_einval(&p, "vxlan port 0");
	p = base_params();
	p.control_port = 0;
	expect_einval(&p, "control port 0");
	p = base_params();
	p.gateway_pod_ip = nft_test_prefix("10.244.0.0/24");
	expect_einval(&p, "gateway is a network");
	p = base_params();
	p.gateway_pod_ip.family = AF_UNIX;
	expect_einval(&p, "gateway of a strange family");
	p = base_params();
	bad.n = 1;
	bad.items[0] = nft_test_prefix("10.0.0.0/8");
	bad.items[0].bytes[3] = 1; /* host bits */
	p.cluster_cidrs = &bad;
	expect_einval(&p, "cluster CIDR with host bits");
	bad.items[0].family = 0;
	expect_einval(&p, "cluster CIDR without a family");
	p = base_params();
	p.dns_to = nft_test_prefix("fd00::1/128");
	expect_einval(&p, "DNS to an IPv6 address");
	p.dns_to = nft_test_prefix("172.16.0.0/24");
	expect_einval(&p, "DNS to a network");
	p.dns_to = nft_test_prefix("172.16.0.1/32");
	p.vxlan_if = NULL;
	expect_einval(&p, "DNS to the tunnel without its link");
}

/* A gateway with replicas: their pod IPs in one set that the tunnel and
 * control port rules look up (a move among them needs no new table); as
 * many rules as with one gateway. */
static void test_replicas(void)
{
	const struct nft_elem want[] = {
	    {{10, 244, 0, 2}, 4, 0},
	    {{10, 244, 0, 4}, 4, 0},
	    {{10, 244, 0, 5}, 4, 0},
	};
	struct pg_guard_params p = base_params();
	static struct pg_replicas set = {.n = 3};
	const struct nlmsghdr *rules[64];
	struct pg_nft_table *t;
	struct nft_batch b;
	size_t n, lookups = 0;

	set.r[0].ip = nft_test_prefix("10.244.0.2/32");
	set.r[1].ip = nft_test_prefix("10.244.0.4/32");
	set.r[2].ip = nft_test_prefix("10.244.0.5/32");
	p.replicas = &set;
	t = pg_guard_table(&p);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK(nft_batch_serialize(t, &b) == 0);
	check_set_flags(&b, "replicas4", 4, 0, want, 3);
	n = nft_batch_pick(&b, NFT_MSG_NEWRULE, rules, 64);
	CHECK(n == 2 * 10 + 2);
	for (size_t i = 0; i < n; i++) {
		char *chain = NULL, *text = rule_text(rules[i], &chain);

		if (text && strstr(text, "lookup reg 1 set replicas4"))
			lookups++;
		free(chain);
		free(text);
	}
	CHECK(lookups == 2 * 2 + 1); /* both ports in output and forward, input */
	nft_batch_free(&b);
	pg_nft_table_free(t);

	set.r[1].ip = nft_test_prefix("10.244.0.0/24"); /* a network: refused */
	CHECK(pg_guard_table(&p) == NULL);
}

/* An IPv6 underlay: the replicas' pod IPs in an ipv6_addr set, looked up
 * by the same rules; a replica of the other family is refused. */
static void test_replicas_v6(void)
{
	const struct nft_elem want[] = {
	    {{0xfd, 0, 0, 0x10, 0x02, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}, 16, 0},
	    {{0xfd, 0, 0, 0x10, 0x02, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4}, 16, 0},
	};
	struct pg_guard_params p = base_params();
	static struct pg_replicas set = {.n = 2};
	const struct nlmsghdr *rules[64];
	struct pg_nft_table *t;
	struct nft_batch b;
	size_t n, lookups = 0, nd = 0;

	p.gateway_pod_ip = nft_test_prefix("fd00:10:244::2/128");
	set.r[0].ip = nft_test_prefix("fd00:10:244::2/128");
	set.r[1].ip = nft_test_prefix("fd00:10:244::4/128");
	p.replicas = &set;
	t = pg_guard_table(&p);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK(nft_batch_serialize(t, &b) == 0);
	check_set_flags(&b, "replicas6", 16, 0, want, 2);
	n = nft_batch_pick(&b, NFT_MSG_NEWRULE, rules, 64);
	for (size_t i = 0; i < n; i++) {
		char *chain = NULL, *text = rule_text(rules[i], &chain);

		if (text && strstr(text, "lookup reg 1 set replicas6"))
			lookups++;
		CHECK(!text || !strstr(text, "replicas4"));
		/* ICMPv6 to the replicas: neighbour discovery only */
		if (text && strstr(text, "lookup reg 1 set replicas6") &&
		    strstr(text, "cmp eq reg 1 0x0000003a ]")) {
			nd++;
			CHECK(strstr(text, "[ payload load 1b @ transport header + 0 => reg 1 ]\n"
					   "  [ cmp eq reg 1 0x00000087 ]") ||
			      strstr(text, "[ payload load 1b @ transport header + 0 => reg 1 ]\n"
					   "  [ cmp eq reg 1 0x00000088 ]"));
		}
		free(chain);
		free(text);
	}
	/* both ports and ICMPv6 neighbour solicitations and advertisements
	 * in output and forward, input */
	CHECK(nd == 2 * 2);
	CHECK(lookups == 2 * 4 + 1);
	nft_batch_free(&b);
	pg_nft_table_free(t);

	set.r[1].ip = nft_test_prefix("10.244.0.4/32");
	CHECK(pg_guard_table(&p) == NULL);
}

int main(void)
{
	test_full();
	test_replicas();
	test_replicas_v6();
	test_empty();
	test_gateway_moved();
	test_dns_through_tunnel();
	test_invalid();
	return check_result();
}
