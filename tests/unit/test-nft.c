/* SPDX-License-Identifier: MIT */
/* Builds tables through the nft API, serializes them and reads the batch
 * back with libnftnl: no root, no kernel. */
#include "netlink/nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "check.h"
#include "nftbatch.h"

/* The gateway's table, the one the kernel test installs too. */
static struct pg_nft_table *gateway_table(void)
{
	struct pg_nft_table *t = pg_nft_table_new(NFPROTO_INET, "podgw");
	struct pg_prefix overlay = nft_test_prefix("172.16.0.0/24"),
			 nets = nft_test_prefix("10.0.0.0/8");
	struct pg_prefix to = nft_test_prefix("10.0.0.0/24"), v6 = nft_test_prefix("fd00::/64");
	const uint8_t host[4] = {192, 168, 1, 1};
	struct pg_nft_rule *r;

	CHECK(t != NULL);
	if (!t)
		return NULL;
	CHECK(pg_nft_table_add_chain(t, "postrouting", PG_CHAIN_NAT, PG_HOOK_POSTROUTING, 100,
				     false) == 0);
	CHECK(pg_nft_table_add_chain(t, "forward", PG_CHAIN_FILTER, PG_HOOK_FORWARD, 0, true) == 0);
	CHECK(pg_nft_table_add_chain(t, "input", PG_CHAIN_FILTER, PG_HOOK_INPUT, -10, false) == 0);
	CHECK(pg_nft_table_add_set(t, "peers", PG_KEY_IPV4, -1, false) == 0);
	CHECK(pg_nft_table_add_set(t, "pairs", PG_KEY_IPV4, PG_KEY_ETHER, false) == 0);
	CHECK(pg_nft_table_add_set(t, "nets", PG_KEY_IPV4, -1, true) == 0);
	CHECK(pg_nft_table_add_prefix(t, "nets", &nets) == 0);
	CHECK(pg_nft_table_add_elem(t, "nets", host, sizeof(host)) == 0);
	CHECK(pg_nft_table_add_elem(t, "peers", host, sizeof(host)) == 0);

	r = pg_nft_rule_new(t, "postrouting");
	CHECK(pg_nft_match_saddr(r, &overlay) == 0);
	CHECK(pg_nft_match_oifname(r, "eth0", false) == 0);
	CHECK(pg_nft_masquerade(r) == 0);

	r = pg_nft_rule_new(t, "postrouting");
	CHECK(pg_nft_match_saddr(r, &nets) == 0);
	CHECK(pg_nft_snat(r, &to) == 0);

	r = pg_nft_rule_new(t, "forward");
	CHECK(pg_nft_match_ct_state(r, PG_CT_ESTABLISHED | PG_CT_RELATED) == 0);
	CHECK(pg_nft_accept(r) == 0);

	r = pg_nft_rule_new(t, "forward");
	CHECK(pg_nft_match_iifname(r, "vxlan0", false) == 0);
	CHECK(pg_nft_match_oifname(r, "eth0", false) == 0);
	CHECK(pg_nft_accept(r) == 0);

	r = pg_nft_rule_new(t, "forward");
	CHECK(pg_nft_match_iifname(r, "vxlan0", false) == 0);
	CHECK(pg_nft_match_saddr_ether_in_set(r, "pairs", true) == 0);
	CHECK(pg_nft_drop(r) == 0);

	r = pg_nft_rule_new(t, "forward");
	CHECK(pg_nft_match_iifname(r, "vxlan0", false) == 0);
	CHECK(pg_nft_counter(r) == 0);
	CHECK(pg_nft_drop(r) == 0);

	r = pg_nft_rule_new(t, "input");
	CHECK(pg_nft_match_saddr_in_set(r, AF_INET, "peers", false) == 0);
	CHECK(pg_nft_accept(r) == 0);

	r = pg_nft_rule_new(t, "input");
	CHECK(pg_nft_match_dport(r, IPPROTO_UDP, 8472) == 0);
	CHECK(pg_nft_match_saddr_in_set(r, AF_INET, "peers", true) == 0);
	CHECK(pg_nft_drop(r) == 0);

	r = pg_nft_rule_new(t, "input");
	CHECK(pg_nft_match_iifname(r, "lo", true) == 0);
	CHECK(pg_nft_match_saddr(r, &v6) == 0);
	CHECK(pg_nft_accept(r) == 0);
	return t;
}

/* What nft itself emits for the same rules (nft --debug=netlink), except
 * that a byte-aligned prefix is matched with a mask rather than a shorter
 * load. */
static const char *const expected_rules[][2] = {
    {"postrouting", "  [ meta load nfproto => reg 1 ]\n"
		    "  [ cmp eq reg 1 0x00000002 ]\n"
		    "  [ payload load 4b @ network header + 12 => reg 1 ]\n"
		    "  [ bitwise reg 1 = ( reg 1 & 0x00ffffff ) ^ 0x00000000 ]\n"
		    "  [ cmp eq reg 1 0x000010ac ]\n"
		    "  [ meta load oifname => reg 1 ]\n"
		    "  [ cmp eq reg 1 0x30687465 0x00000000 0x00000000 0x00000000 ]\n"
		    "  [ masq ]\n"},
    {"postrouting", "  [ meta load nfproto => reg 1 ]\n"
		    "  [ cmp eq reg 1 0x00000002 ]\n"
		    "  [ payload load 4b @ network header + 12 => reg 1 ]\n"
		    "  [ bitwise reg 1 = ( reg 1 & 0x000000ff ) ^ 0x00000000 ]\n"
		    "  [ cmp eq reg 1 0x0000000a ]\n"
		    "  [ immediate reg 1 0x0000000a ]\n"
		    "  [ immediate reg 2 0xff00000a ]\n"
		    "  [ nat snat ip addr_min reg 1 addr_max reg 2 ]\n"},
    {"forward", "  [ ct load state => reg 1 ]\n"
		"  [ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ]\n"
		"  [ cmp neq reg 1 0x00000000 ]\n"
		"  [ immediate reg 0 accept ]\n"},
    {"forward", "  [ meta load iifname => reg 1 ]\n"
		"  [ cmp eq reg 1 0x616c7876 0x0000306e 0x00000000 0x00000000 ]\n"
		"  [ meta load oifname => reg 1 ]\n"
		"  [ cmp eq reg 1 0x30687465 0x00000000 0x00000000 0x00000000 ]\n"
		"  [ immediate reg 0 accept ]\n"},
    {"forward", "  [ meta load iifname => reg 1 ]\n"
		"  [ cmp eq reg 1 0x616c7876 0x0000306e 0x00000000 0x00000000 ]\n"
		"  [ meta load nfproto => reg 1 ]\n"
		"  [ cmp eq reg 1 0x00000002 ]\n"
		"  [ meta load iiftype => reg 1 ]\n"
		"  [ cmp eq reg 1 0x00000001 ]\n"
		"  [ payload load 4b @ network header + 12 => reg 1 ]\n"
		"  [ payload load 6b @ link header + 6 => reg 9 ]\n"
		"  [ lookup reg 1 set pairs 0x1 ]\n"
		"  [ immediate reg 0 drop ]\n"},
    {"forward", "  [ meta load iifname => reg 1 ]\n"
		"  [ cmp eq reg 1 0x616c7876 0x0000306e 0x00000000 0x00000000 ]\n"
		"  [ counter pkts 0 bytes 0 ]\n"
		"  [ immediate reg 0 drop ]\n"},
    {"input", "  [ meta load nfproto => reg 1 ]\n"
	      "  [ cmp eq reg 1 0x00000002 ]\n"
	      "  [ payload load 4b @ network header + 12 => reg 1 ]\n"
	      "  [ lookup reg 1 set peers ]\n"
	      "  [ immediate reg 0 accept ]\n"},
    {"input", "  [ meta load l4proto => reg 1 ]\n"
	      "  [ cmp eq reg 1 0x00000011 ]\n"
	      "  [ payload load 2b @ transport header + 2 => reg 1 ]\n"
	      "  [ cmp eq reg 1 0x00001821 ]\n"
	      "  [ meta load nfproto => reg 1 ]\n"
	      "  [ cmp eq reg 1 0x00000002 ]\n"
	      "  [ payload load 4b @ network header + 12 => reg 1 ]\n"
	      "  [ lookup reg 1 set peers 0x1 ]\n"
	      "  [ immediate reg 0 drop ]\n"},
    {"input", "  [ meta load iifname => reg 1 ]\n"
	      "  [ cmp neq reg 1 0x00006f6c 0x00000000 0x00000000 0x00000000 ]\n"
	      "  [ meta load nfproto => reg 1 ]\n"
	      "  [ cmp eq reg 1 0x0000000a ]\n"
	      "  [ payload load 16b @ network header + 8 => reg 1 ]\n"
	      "  [ bitwise reg 1 = ( reg 1 & 0xffffffff 0xffffffff 0x00000000 0x00000000 ) ^ "
	      "0x00000000 0x00000000 0x00000000 0x00000000 ]\n"
	      "  [ cmp eq reg 1 0x000000fd 0x00000000 0x00000000 0x00000000 ]\n"
	      "  [ immediate reg 0 accept ]\n"},
};

static void check_table(const struct nlmsghdr *nlh, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();

	CHECK(nlh->nlmsg_type == nft_msg_type(type));
	CHECK(nlh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK | flags));
	CHECK(nft_msg_family(nlh) == NFPROTO_INET);
	CHECK(nftnl_table_nlmsg_parse(nlh, t) == 0);
	CHECK_STR(nftnl_table_get_str(t, NFTNL_TABLE_NAME), "podgw");
	nftnl_table_free(t);
}

static void check_chain(const struct nlmsghdr *nlh, const char *name, const char *type,
			uint32_t hook, int32_t prio, uint32_t policy)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	CHECK(nlh->nlmsg_type == nft_msg_type(NFT_MSG_NEWCHAIN));
	CHECK(nlh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE));
	CHECK(nftnl_chain_nlmsg_parse(nlh, c) == 0);
	CHECK_STR(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), "podgw");
	CHECK_STR(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), name);
	CHECK_STR(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), type);
	CHECK(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) == hook);
	CHECK(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO) == prio);
	CHECK(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) == policy);
	nftnl_chain_free(c);
}

static void check_set(const struct nlmsghdr *nlh, const char *name, uint32_t key_type,
		      uint32_t key_len, uint32_t flags, uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();

	CHECK(nlh->nlmsg_type == nft_msg_type(NFT_MSG_NEWSET));
	CHECK(nlh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE));
	CHECK(nftnl_set_nlmsg_parse(nlh, s) == 0);
	CHECK_STR(nftnl_set_get_str(s, NFTNL_SET_TABLE), "podgw");
	CHECK_STR(nftnl_set_get_str(s, NFTNL_SET_NAME), name);
	CHECK(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE) == key_type);
	CHECK(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN) == key_len);
	CHECK(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) == flags);
	CHECK(nftnl_set_get_u32(s, NFTNL_SET_ID) == id);
	nftnl_set_free(s);
}

/* A set element message of type for set, holding want. */
static void check_elems(const struct nlmsghdr *nlh, uint16_t type, const char *set,
			const struct nft_elem *want, size_t n)
{
	struct nft_elem got[16];
	char *name = NULL;
	long k;

	CHECK(nlh->nlmsg_type == nft_msg_type(type));
	k = nft_elems_read(nlh, &name, got, 16);
	CHECK_STR(name, set);
	for (size_t i = 0; k > 0 && i < (size_t)k && i < n && i < 16; i++)
		CHECK(nft_elem_equal(&got[i], &want[i]));
	CHECK(k == (long)n);
	free(name);
}

struct expr_walk {
	unsigned n;
	bool saw_concat_payload, saw_lookup;
};

/* Reads the concatenation rule expression by expression. */
static int walk_expr(struct nftnl_expr *e, void *data)
{
	struct expr_walk *w = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	w->n++;
	if (strcmp(name, "payload") == 0 &&
	    nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE) == NFT_PAYLOAD_LL_HEADER) {
		/* The MAC follows the 4-byte address: the second 32-bit reg. */
		CHECK(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG) == NFT_REG32_01);
		CHECK(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET) == 6);
		CHECK(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN) == 6);
		w->saw_concat_payload = true;
	}
	if (strcmp(name, "lookup") == 0) {
		CHECK_STR(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), "pairs");
		CHECK(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SET_ID) == 2);
		CHECK(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SREG) == NFT_REG_1);
		CHECK(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_FLAGS) == NFT_LOOKUP_F_INV);
		w->saw_lookup = true;
	}
	return 0;
}

static void test_gateway_table(void)
{
	const size_t nrules = sizeof(expected_rules) / sizeof(expected_rules[0]);
	const struct nft_elem nets[] = {
	    {{10, 0, 0, 0}, 4, 0},
	    {{11, 0, 0, 0}, 4, NFT_SET_ELEM_INTERVAL_END},
	    {{192, 168, 1, 1}, 4, 0},
	    {{192, 168, 1, 2}, 4, NFT_SET_ELEM_INTERVAL_END},
	};
	const struct nft_elem peers[] = {{{192, 168, 1, 1}, 4, 0}};
	struct pg_nft_table *t = gateway_table();
	struct nft_batch b;
	size_t i, m;

	if (!t)
		return;
	CHECK(nft_batch_serialize(t, &b) == 0);
	/* begin, 3 table, 3 chain, 3 set, 2 element, the rules, end */
	CHECK(b.n == 1 + 3 + 3 + 3 + 2 + nrules + 1);
	if (b.n != 1 + 3 + 3 + 3 + 2 + nrules + 1)
		goto out;

	for (i = 0; i < b.n; i++)
		CHECK(b.msg[i]->nlmsg_seq == i + 1);
	CHECK(b.msg[0]->nlmsg_type == NFNL_MSG_BATCH_BEGIN);
	CHECK(b.msg[0]->nlmsg_flags == NLM_F_REQUEST);
	CHECK(b.msg[b.n - 1]->nlmsg_type == NFNL_MSG_BATCH_END);
	CHECK(b.msg[b.n - 1]->nlmsg_flags == NLM_F_REQUEST);
	CHECK(ntohs(((const struct nfgenmsg *)mnl_nlmsg_get_payload(b.msg[0]))->res_id) ==
	      NFNL_SUBSYS_NFTABLES);

	/* Create (no-op if present), delete, create: a replace. */
	check_table(b.msg[1], NFT_MSG_NEWTABLE, NLM_F_CREATE);
	check_table(b.msg[2], NFT_MSG_DELTABLE, 0);
	check_table(b.msg[3], NFT_MSG_NEWTABLE, NLM_F_CREATE);
	CHECK(!(b.msg[1]->nlmsg_flags & NLM_F_EXCL));

	check_chain(b.msg[4], "postrouting", "nat", NF_INET_POST_ROUTING, 100, NF_ACCEPT);
	check_chain(b.msg[5], "forward", "filter", NF_INET_FORWARD, 0, NF_DROP);
	check_chain(b.msg[6], "input", "filter", NF_INET_LOCAL_IN, -10, NF_ACCEPT);

	check_set(b.msg[7], "peers", 7, 4, 0, 1);
	check_elems(b.msg[8], NFT_MSG_NEWSETELEM, "peers", peers, 1);
	check_set(b.msg[9], "pairs", 7 << 6 | 9, 12, 0, 2);
	check_set(b.msg[10], "nets", 7, 4, NFT_SET_INTERVAL, 3);
	check_elems(b.msg[11], NFT_MSG_NEWSETELEM, "nets", nets, 4);

	for (i = 0, m = 12; i < nrules; i++, m++) {
		char *chain = NULL, *text = nft_rule_text(b.msg[m], NULL, &chain);

		CHECK(b.msg[m]->nlmsg_type == nft_msg_type(NFT_MSG_NEWRULE));
		CHECK(b.msg[m]->nlmsg_flags ==
		      (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND));
		CHECK(nft_msg_family(b.msg[m]) == NFPROTO_INET);
		CHECK_STR(chain, expected_rules[i][0]);
		CHECK_STR(text, expected_rules[i][1]);
		free(chain);
		free(text);
	}

	/* The concatenation rule once more, attribute by attribute. */
	{
		struct nftnl_rule *r = nftnl_rule_alloc();
		struct expr_walk w = {0};

		CHECK(nftnl_rule_nlmsg_parse(b.msg[12 + 4], r) == 0);
		CHECK(nftnl_expr_foreach(r, walk_expr, &w) == 0);
		CHECK(w.n == 10 && w.saw_concat_payload && w.saw_lookup);
		nftnl_rule_free(r);
	}
out:
	nft_batch_free(&b);
	pg_nft_table_free(t);
}

static void test_buffer_sizes(void)
{
	struct pg_nft_table *t = gateway_table();
	struct nft_batch b;
	char *exact;

	if (!t)
		return;
	CHECK(nft_batch_serialize(t, &b) == 0);
	exact = malloc((size_t)b.len);
	CHECK(exact && pg_nft_table_serialize(t, exact, (size_t)b.len) == b.len);
	CHECK(exact && memcmp(exact, b.buf, (size_t)b.len) == 0);
	CHECK(pg_nft_table_serialize(t, exact, (size_t)b.len - 1) == -ENOBUFS);
	CHECK(pg_nft_table_serialize(t, exact, 0) == -ENOBUFS);
	CHECK(pg_nft_table_serialize(t, NULL, 0) == -EINVAL);
	free(exact);
	nft_batch_free(&b);
	pg_nft_table_free(t);
}

/* Builds a rule in a fresh table and returns its table's serialize result. */
static long serialize_result(struct pg_nft_table *t)
{
	struct nft_batch b;
	int r = nft_batch_serialize(t, &b);

	nft_batch_free(&b);
	return r;
}

static void test_invalid(void)
{
	struct pg_prefix v6 = nft_test_prefix("fd00::/64"), v4 = nft_test_prefix("10.1.0.0/16");
	struct pg_prefix hostbits = v4;
	struct pg_nft_table *t;
	struct pg_nft_rule *r;

	hostbits.bytes[3] = 1; /* 10.1.0.1/16 */

	CHECK(pg_nft_table_new(NFPROTO_BRIDGE, "x") == NULL && errno == EINVAL);
	CHECK(pg_nft_table_new(NFPROTO_INET, "") == NULL && errno == EINVAL);

	/* An ip table takes no IPv6. */
	t = pg_nft_table_new(NFPROTO_IPV4, "v4");
	CHECK(pg_nft_table_add_chain(t, "in", PG_CHAIN_FILTER, PG_HOOK_INPUT, 0, false) == 0);
	CHECK(pg_nft_table_add_set(t, "s6", PG_KEY_IPV6, -1, false) == 0);
	r = pg_nft_rule_new(t, "in");
	CHECK(r != NULL);
	CHECK(pg_nft_match_saddr(r, &v6) == -EINVAL);
	CHECK(pg_nft_match_saddr_in_set(r, AF_INET6, "s6", false) == -EINVAL);
	CHECK(pg_nft_match_nfproto(r, NFPROTO_IPV6) == -EINVAL);
	CHECK(serialize_result(t) == -EINVAL);
	pg_nft_table_free(t);

	/* ...but v4 matches work there, without a meta nfproto. */
	t = pg_nft_table_new(NFPROTO_IPV4, "v4");
	CHECK(pg_nft_table_add_chain(t, "in", PG_CHAIN_FILTER, PG_HOOK_INPUT, 0, false) == 0);
	r = pg_nft_rule_new(t, "in");
	CHECK(pg_nft_match_saddr(r, &v4) == 0);
	CHECK(pg_nft_accept(r) == 0);
	{
		struct nft_batch b;
		char *text;

		CHECK(nft_batch_serialize(t, &b) == 0);
		CHECK(b.n == 7);
		CHECK(b.n == 7 && nft_msg_family(b.msg[5]) == NFPROTO_IPV4);
		text = b.n == 7 ? nft_rule_text(b.msg[5], NULL, NULL) : NULL;
		CHECK_STR(text, "  [ payload load 4b @ network header + 12 => reg 1 ]\n"
				"  [ bitwise reg 1 = ( reg 1 & 0x0000ffff ) ^ 0x00000000 ]\n"
				"  [ cmp eq reg 1 0x0000010a ]\n"
				"  [ immediate reg 0 accept ]\n");
		free(text);
		nft_batch_free(&b);
	}
	pg_nft_table_free(t);

	/* Names. */
	t = pg_nft_table_new(NFPROTO_INET, "t");
	CHECK(pg_nft_table_add_chain(t, "in", PG_CHAIN_FILTER, PG_HOOK_INPUT, 0, false) == 0);
	r = pg_nft_rule_new(t, "in");
	CHECK(pg_nft_match_iifname(r, "0123456789abcdef", false) == -EINVAL); /* 16 > 15 */
	CHECK(pg_nft_match_oifname(r, "", false) == -EINVAL);
	CHECK(pg_nft_match_iifname(r, "0123456789abcde", false) == 0); /* 15 fits */
	CHECK(serialize_result(t) == -EINVAL);
	pg_nft_table_free(t);

	/* An unknown chain gives no rule and spoils the table. */
	t = pg_nft_table_new(NFPROTO_INET, "t");
	CHECK(pg_nft_table_add_chain(t, "in", PG_CHAIN_FILTER, PG_HOOK_INPUT, 0, false) == 0);
	errno = 0;
	CHECK(pg_nft_rule_new(t, "nope") == NULL && errno == EINVAL);
	CHECK(pg_nft_accept(NULL) == -EINVAL);
	CHECK(serialize_result(t) == -EINVAL);
	pg_nft_table_free(t);

	/* Everything else a builder refuses. */
	t = pg_nft_table_new(NFPROTO_INET, "t");
	CHECK(pg_nft_table_add_chain(t, "in", PG_CHAIN_FILTER, PG_HOOK_INPUT, 0, false) == 0);
	CHECK(pg_nft_table_add_chain(t, "out", PG_CHAIN_FILTER, PG_HOOK_OUTPUT, 0, false) == 0);
	CHECK(pg_nft_table_add_chain(t, "in", PG_CHAIN_FILTER, PG_HOOK_INPUT, 0, false) == -EEXIST);
	CHECK(pg_nft_table_add_chain(t, "fw", PG_CHAIN_NAT, PG_HOOK_FORWARD, 0, false) == -EINVAL);
	CHECK(pg_nft_table_add_chain(t, "x", PG_CHAIN_FILTER, (enum pg_nft_hook)9, 0, false) ==
	      -EINVAL);
	CHECK(pg_nft_table_add_set(t, "s", PG_KEY_IPV4, -1, false) == 0);
	CHECK(pg_nft_table_add_set(t, "s", PG_KEY_IPV4, -1, false) == -EEXIST);
	CHECK(pg_nft_table_add_set(t, "c", PG_KEY_IPV4, PG_KEY_ETHER, true) == -EOPNOTSUPP);
	CHECK(pg_nft_table_add_set(t, "k", (enum pg_nft_key)7, -1, false) == -EINVAL);
	CHECK(pg_nft_table_add_prefix(t, "s", &v4) == -EINVAL); /* not an interval set */
	CHECK(pg_nft_table_add_elem(t, "s", "\1\2\3", 3) == -EINVAL);
	r = pg_nft_rule_new(t, "in");
	CHECK(pg_nft_match_saddr(r, &hostbits) == -EINVAL);
	CHECK(pg_nft_match_saddr_in_set(r, AF_INET, "nope", false) == -EINVAL);
	CHECK(pg_nft_match_saddr_in_set(r, AF_INET6, "s", false) == -EINVAL);
	CHECK(pg_nft_match_saddr_ether_in_set(r, "s", false) == -EINVAL);
	CHECK(pg_nft_match_ct_state(r, 1u << 7) == -EINVAL);
	CHECK(pg_nft_match_ct_status(r, PG_CT_NEW) == -EINVAL); /* a state, not a status */
	CHECK(pg_nft_match_ct_status(r, 0) == -EINVAL);
	CHECK(pg_nft_match_dport(r, IPPROTO_ICMP, 1) == -EINVAL);
	CHECK(pg_nft_masquerade(r) == -EINVAL); /* not a nat chain */
	CHECK(pg_nft_snat(r, &v4) == -EINVAL);
	CHECK(pg_nft_match_saddr(r, &v4) == 0);
	CHECK(pg_nft_match_daddr(r, &v6) == -EINVAL); /* already bound to ipv4 */
	CHECK(pg_nft_match_l4proto(r, IPPROTO_TCP) == 0);
	CHECK(pg_nft_match_dport(r, IPPROTO_UDP, 53) == -EINVAL); /* already tcp */
	CHECK(pg_nft_accept(r) == 0);
	CHECK(pg_nft_drop(r) == -EINVAL); /* one action */
	CHECK(pg_nft_counter(r) == -EINVAL);
	r = pg_nft_rule_new(t, "out");
	CHECK(pg_nft_match_saddr_ether_in_set(r, "s", false) == -EINVAL); /* no L2 in output */
	r = pg_nft_rule_new(t, "in");
	for (int i = 0; i < 32; i++)
		CHECK(pg_nft_counter(r) == 0);
	CHECK(pg_nft_counter(r) == -E2BIG);
	pg_nft_table_free(t);
}

/* The rules of one table as text, in order; NULL-terminated. */
static char **table_rules(const struct pg_nft_table *t)
{
	struct nft_batch b;
	char **out = NULL;
	size_t n = 0;

	CHECK(nft_batch_serialize(t, &b) == 0);
	if (b.len < 0)
		return NULL;
	out = calloc(b.n + 1, sizeof(*out));
	if (!out)
		abort();
	for (size_t i = 0; i < b.n; i++)
		if (b.msg[i]->nlmsg_type == nft_msg_type(NFT_MSG_NEWRULE))
			out[n++] = nft_rule_text(b.msg[i], NULL, NULL);
	nft_batch_free(&b);
	return out;
}

static void free_rules(char **rules)
{
	for (size_t i = 0; rules && rules[i]; i++)
		free(rules[i]);
	free(rules);
}

/* dnat, sport, tcp flags syn and the MSS clamp, against what nft emits
 * (nft --debug=netlink) for the same rules; our inet dnat also says
 * `meta nfproto ipv4`, as our snat does. */
static void test_egress_exprs(void)
{
	struct pg_prefix host = nft_test_prefix("10.0.0.1/32"), to = nft_test_prefix("10.1.2.3/32");
	struct pg_prefix range = nft_test_prefix("10.1.2.0/30");
	struct pg_nft_table *t = pg_nft_table_new(NFPROTO_INET, "t");
	struct pg_nft_rule *r;
	char **rules;
	static const char *const want[] = {
	    "  [ meta load nfproto => reg 1 ]\n"
	    "  [ cmp eq reg 1 0x00000002 ]\n"
	    "  [ payload load 4b @ network header + 16 => reg 1 ]\n"
	    "  [ cmp eq reg 1 0x0100000a ]\n"
	    "  [ immediate reg 1 0x0302010a ]\n"
	    "  [ nat dnat ip addr_min reg 1 ]\n",
	    "  [ meta load l4proto => reg 1 ]\n"
	    "  [ cmp eq reg 1 0x00000006 ]\n"
	    "  [ payload load 2b @ transport header + 2 => reg 1 ]\n"
	    "  [ cmp eq reg 1 0x00005000 ]\n"
	    "  [ meta load nfproto => reg 1 ]\n"
	    "  [ cmp eq reg 1 0x00000002 ]\n"
	    "  [ immediate reg 1 0x0302010a ]\n"
	    "  [ immediate reg 2 0x0000901f ]\n"
	    "  [ nat dnat ip addr_min reg 1 proto_min reg 2 flags 0x2 ]\n",
	    "  [ meta load l4proto => reg 1 ]\n"
	    "  [ cmp eq reg 1 0x00000011 ]\n"
	    "  [ meta load nfproto => reg 1 ]\n"
	    "  [ cmp eq reg 1 0x00000002 ]\n"
	    "  [ immediate reg 1 0x0002010a ]\n"
	    "  [ immediate reg 2 0x0302010a ]\n"
	    "  [ immediate reg 3 0x00003500 ]\n"
	    "  [ nat dnat ip addr_min reg 1 addr_max reg 2 proto_min reg 3 flags 0x2 ]\n",
	    "  [ meta load l4proto => reg 1 ]\n"
	    "  [ cmp eq reg 1 0x00000011 ]\n"
	    "  [ payload load 2b @ transport header + 0 => reg 1 ]\n"
	    "  [ cmp eq reg 1 0x00001921 ]\n"
	    "  [ immediate reg 0 accept ]\n",
	    "  [ meta load l4proto => reg 1 ]\n"
	    "  [ cmp eq reg 1 0x00000006 ]\n"
	    "  [ payload load 1b @ transport header + 13 => reg 1 ]\n"
	    "  [ bitwise reg 1 = ( reg 1 & 0x00000002 ) ^ 0x00000000 ]\n"
	    "  [ cmp neq reg 1 0x00000000 ]\n"
	    "  [ rt load tcpmss => reg 1 ]\n"
	    "  [ byteorder reg 1 = hton(reg 1, 2, 2) ]\n"
	    "  [ exthdr write tcpopt reg 1 => 2b @ 2 + 2 ]\n",
	    "  [ meta load mark => reg 1 ]\n"
	    "  [ cmp neq reg 1 0x50474457 ]\n"
	    "  [ immediate reg 0 accept ]\n",
	};

	CHECK(pg_nft_table_add_chain(t, "pre", PG_CHAIN_NAT, PG_HOOK_PREROUTING, -100, false) == 0);
	CHECK(pg_nft_table_add_chain(t, "out", PG_CHAIN_FILTER, PG_HOOK_OUTPUT, 0, false) == 0);
	CHECK(pg_nft_table_add_chain(t, "mss", PG_CHAIN_FILTER, PG_HOOK_FORWARD, -150, false) == 0);
	r = pg_nft_rule_new(t, "pre"); /* ip daddr 10.0.0.1 dnat ip to 10.1.2.3 */
	CHECK(pg_nft_match_daddr(r, &host) == 0);
	CHECK(pg_nft_dnat(r, &to, 0) == 0);
	r = pg_nft_rule_new(t, "pre"); /* tcp dport 80 dnat ip to 10.1.2.3:8080 */
	CHECK(pg_nft_match_dport(r, IPPROTO_TCP, 80) == 0);
	CHECK(pg_nft_dnat(r, &to, 8080) == 0);
	r = pg_nft_rule_new(t, "pre"); /* meta l4proto udp dnat ip to 10.1.2.0-10.1.2.3:53 */
	CHECK(pg_nft_match_l4proto(r, IPPROTO_UDP) == 0);
	CHECK(pg_nft_dnat(r, &range, 53) == 0);
	r = pg_nft_rule_new(t, "out"); /* udp sport 8473 accept */
	CHECK(pg_nft_match_sport(r, IPPROTO_UDP, 8473) == 0);
	CHECK(pg_nft_accept(r) == 0);
	r = pg_nft_rule_new(t, "mss"); /* tcp flags syn tcp option maxseg size set rt mtu */
	CHECK(pg_nft_match_tcp_flags_syn(r) == 0);
	CHECK(pg_nft_clamp_mss_to_pmtu(r) == 0);
	CHECK(pg_nft_accept(r) == -EINVAL); /* the clamp ends the rule */
	pg_nft_table_free(t);

	/* The same without the refused accept. */
	t = pg_nft_table_new(NFPROTO_INET, "t");
	CHECK(pg_nft_table_add_chain(t, "pre", PG_CHAIN_NAT, PG_HOOK_PREROUTING, -100, false) == 0);
	CHECK(pg_nft_table_add_chain(t, "out", PG_CHAIN_FILTER, PG_HOOK_OUTPUT, 0, false) == 0);
	CHECK(pg_nft_table_add_chain(t, "mss", PG_CHAIN_FILTER, PG_HOOK_FORWARD, -150, false) == 0);
	r = pg_nft_rule_new(t, "pre");
	CHECK(pg_nft_match_daddr(r, &host) == 0 && pg_nft_dnat(r, &to, 0) == 0);
	r = pg_nft_rule_new(t, "pre");
	CHECK(pg_nft_match_dport(r, IPPROTO_TCP, 80) == 0 && pg_nft_dnat(r, &to, 8080) == 0);
	r = pg_nft_rule_new(t, "pre");
	CHECK(pg_nft_match_l4proto(r, IPPROTO_UDP) == 0 && pg_nft_dnat(r, &range, 53) == 0);
	r = pg_nft_rule_new(t, "out");
	CHECK(pg_nft_match_sport(r, IPPROTO_UDP, 8473) == 0 && pg_nft_accept(r) == 0);
	r = pg_nft_rule_new(t, "mss");
	CHECK(pg_nft_match_tcp_flags_syn(r) == 0 && pg_nft_clamp_mss_to_pmtu(r) == 0);
	r = pg_nft_rule_new(t, "out"); /* meta mark != 0x50474457 accept */
	CHECK(pg_nft_match_mark(r, 0x50474457, true) == 0 && pg_nft_accept(r) == 0);
	rules = table_rules(t);
	for (size_t i = 0; rules && i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_STR(rules[i], want[i]);
	CHECK(rules && !rules[sizeof(want) / sizeof(want[0])]);
	free_rules(rules);
	pg_nft_table_free(t);

	/* What they refuse, each spoiling its table. */
	struct {
		enum pg_nft_chain_type type;
		enum pg_nft_hook hook;
		int what;
	} bad[] = {
	    {PG_CHAIN_NAT, PG_HOOK_POSTROUTING, 0},   /* dnat after routing */
	    {PG_CHAIN_FILTER, PG_HOOK_PREROUTING, 0}, /* dnat in a filter chain */
	    {PG_CHAIN_NAT, PG_HOOK_PREROUTING, 1},    /* a port without a protocol */
	    {PG_CHAIN_FILTER, PG_HOOK_FORWARD, 2},    /* a clamp without tcp */
	    {PG_CHAIN_FILTER, PG_HOOK_INPUT, 3},      /* a clamp without a route */
	    {PG_CHAIN_NAT, PG_HOOK_POSTROUTING, 3},   /* a clamp in a nat chain */
	    {PG_CHAIN_FILTER, PG_HOOK_FORWARD, 4},    /* syn after udp */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = pg_nft_table_new(NFPROTO_INET, "t");
		CHECK(pg_nft_table_add_chain(t, "c", bad[i].type, bad[i].hook, 0, false) == 0);
		r = pg_nft_rule_new(t, "c");
		switch (bad[i].what) {
		case 0:
			CHECK(pg_nft_dnat(r, &to, 0) == -EINVAL);
			break;
		case 1:
			CHECK(pg_nft_dnat(r, &to, 53) == -EINVAL);
			break;
		case 2:
			CHECK(pg_nft_clamp_mss_to_pmtu(r) == -EINVAL);
			break;
		case 3:
			CHECK(pg_nft_match_tcp_flags_syn(r) == 0);
			CHECK(pg_nft_clamp_mss_to_pmtu(r) == -EINVAL);
			break;
		case 4:
			CHECK(pg_nft_match_l4proto(r, IPPROTO_UDP) == 0);
			CHECK(pg_nft_match_tcp_flags_syn(r) == -EINVAL);
			break;
		}
		CHECK(serialize_result(t) == -EINVAL);
		pg_nft_table_free(t);
	}
}

static void test_keys(void)
{
	const uint8_t ip[4] = {172, 16, 0, 2}, mac[6] = {2, 0, 0, 0, 0, 1};
	const uint8_t want[12] = {172, 16, 0, 2, 2, 0, 0, 0, 0, 1, 0, 0};
	uint8_t key[16];

	CHECK(pg_nft_key_len(PG_KEY_IPV4, -1) == 4);
	CHECK(pg_nft_key_len(PG_KEY_ETHER, -1) == 6);
	CHECK(pg_nft_key_len(PG_KEY_IPV4, PG_KEY_ETHER) == 12);
	CHECK(pg_nft_key_len(PG_KEY_IPV6, PG_KEY_INET_SERVICE) == 20);
	CHECK(pg_nft_key_len((enum pg_nft_key)9, -1) == -EINVAL);
	memset(key, 0xaa, sizeof(key));
	CHECK(pg_nft_key_pack(key, sizeof(key), PG_KEY_IPV4, ip, PG_KEY_ETHER, mac) == 12);
	CHECK(memcmp(key, want, sizeof(want)) == 0);
	CHECK(pg_nft_key_pack(key, 11, PG_KEY_IPV4, ip, PG_KEY_ETHER, mac) == -ENOBUFS);
	CHECK(pg_nft_key_pack(key, sizeof(key), PG_KEY_IPV4, ip, PG_KEY_ETHER, NULL) == -EINVAL);
	CHECK(pg_nft_key_pack(key, sizeof(key), PG_KEY_IPV4, ip, -1, NULL) == 4);
}

static void test_set_update(void)
{
	const size_t many = 10000;
	uint8_t pair[2][12];
	struct nft_elem want[2];
	struct nft_batch b;
	uint32_t *keys;
	size_t size, total;

	for (int i = 0; i < 2; i++) {
		const uint8_t ip[4] = {172, 16, 0, (uint8_t)(2 + i)}, mac[6] = {2, 0, 0, 0, 0, 1};

		CHECK(pg_nft_key_pack(pair[i], sizeof(pair[i]), PG_KEY_IPV4, ip, PG_KEY_ETHER,
				      mac) == 12);
		memcpy(want[i].key, pair[i], 12);
		want[i].len = 12;
		want[i].flags = 0;
	}
	size = MNL_SOCKET_BUFFER_SIZE;
	b.buf = malloc(size);
	b.len = pg_nft_set_update_serialize(NFPROTO_INET, "podgw", "pairs", false, pair, 12, 2,
					    b.buf, size);
	CHECK(b.len > 0);
	CHECK(nft_batch_split(&b));
	CHECK(b.n == 3);
	if (b.n == 3) {
		CHECK(b.msg[0]->nlmsg_type == NFNL_MSG_BATCH_BEGIN);
		CHECK(b.msg[1]->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK));
		check_elems(b.msg[1], NFT_MSG_DELSETELEM, "pairs", want, 2);
		CHECK(b.msg[2]->nlmsg_type == NFNL_MSG_BATCH_END);
	}
	nft_batch_free(&b);

	CHECK(pg_nft_set_update_serialize(NFPROTO_INET, "podgw", "pairs", true, NULL, 12, 1, pair,
					  sizeof(pair)) == -EINVAL);
	CHECK(pg_nft_set_update_serialize(NFPROTO_INET, "podgw", "pairs", true, pair, 0, 1, pair,
					  sizeof(pair)) == -EINVAL);
	CHECK(pg_nft_set_update_serialize(NFPROTO_INET, "podgw", "pairs", true, pair, 65, 1, pair,
					  sizeof(pair)) == -EINVAL);

	/* Many keys are split over messages, each nest under 64 KiB. */
	keys = calloc(many, sizeof(*keys));
	size = 1u << 20;
	b.buf = malloc(size);
	if (!keys || !b.buf)
		abort();
	for (size_t i = 0; i < many; i++)
		keys[i] = htonl(0x0a000000u + (uint32_t)i);
	b.len = pg_nft_set_update_serialize(NFPROTO_INET, "podgw", "peers", true, keys, 4, many,
					    b.buf, size);
	CHECK(b.len > 0);
	CHECK(nft_batch_split(&b));
	CHECK(b.n > 3);
	total = 0;
	for (size_t i = 1; i + 1 < b.n; i++) {
		struct nftnl_set *s = nftnl_set_alloc();
		struct nftnl_set_elems_iter *it;

		CHECK(b.msg[i]->nlmsg_type == nft_msg_type(NFT_MSG_NEWSETELEM));
		CHECK(b.msg[i]->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE));
		CHECK(b.msg[i]->nlmsg_len < UINT16_MAX + 512u);
		CHECK(nftnl_set_elems_nlmsg_parse(b.msg[i], s) == 0);
		it = nftnl_set_elems_iter_create(s);
		while (it && nftnl_set_elems_iter_next(it))
			total++;
		if (it)
			nftnl_set_elems_iter_destroy(it);
		nftnl_set_free(s);
	}
	CHECK(total == many);
	nft_batch_free(&b);
	free(keys);
}

/* Raw fields (what a VXLAN datagram carries) and their concatenations,
 * laid out as nft lays out `ip saddr . @th,176,48 @set`; and what they
 * refuse: a transport field before a protocol, a network field before a
 * family, a link-layer field in output, a length out of range. */
static void test_raw_fields(void)
{
	static const uint8_t arp[] = {0x08, 0x06};
	static const struct pg_nft_field outer_inner[] = {{PG_BASE_NETWORK, 12},
							  {PG_BASE_TRANSPORT, 22}};
	struct pg_nft_table *t = pg_nft_table_new(NFPROTO_INET, "raw");
	struct pg_nft_rule *r;
	char **rules;

	CHECK(pg_nft_table_add_chain(t, "in", PG_CHAIN_FILTER, PG_HOOK_INPUT, 0, false) == 0);
	CHECK(pg_nft_table_add_chain(t, "out", PG_CHAIN_FILTER, PG_HOOK_OUTPUT, 0, false) == 0);
	CHECK(pg_nft_table_add_set(t, "pm", PG_KEY_IPV4, PG_KEY_ETHER, false) == 0);
	r = pg_nft_rule_new(t, "in");
	CHECK(pg_nft_match_nfproto(r, NFPROTO_IPV4) == 0);
	CHECK(pg_nft_match_l4proto(r, IPPROTO_UDP) == 0);
	CHECK(pg_nft_match_raw(r, (struct pg_nft_field){PG_BASE_TRANSPORT, 28}, arp, 2, true) == 0);
	CHECK(pg_nft_match_fields_in_set(r, "pm", outer_inner, true) == 0);
	CHECK(pg_nft_match_ct_status_none(r, PG_CT_STATUS_DNAT) == 0);
	CHECK(pg_nft_drop(r) == 0);
	CHECK(pg_nft_table_error(t) == 0);
	rules = table_rules(t);
	CHECK(rules && rules[0] && !rules[1]);
	if (rules && rules[0])
		CHECK_STR(rules[0], "  [ meta load nfproto => reg 1 ]\n"
				    "  [ cmp eq reg 1 0x00000002 ]\n"
				    "  [ meta load l4proto => reg 1 ]\n"
				    "  [ cmp eq reg 1 0x00000011 ]\n"
				    "  [ payload load 2b @ transport header + 28 => reg 1 ]\n"
				    "  [ cmp neq reg 1 0x00000608 ]\n"
				    "  [ payload load 4b @ network header + 12 => reg 1 ]\n"
				    "  [ payload load 6b @ transport header + 22 => reg 9 ]\n"
				    "  [ lookup reg 1 set pm 0x1 ]\n"
				    "  [ ct load status => reg 1 ]\n"
				    "  [ bitwise reg 1 = ( reg 1 & 0x00000020 ) ^ 0x00000000 ]\n"
				    "  [ cmp eq reg 1 0x00000000 ]\n"
				    "  [ immediate reg 0 drop ]\n");
	free_rules(rules);
	pg_nft_table_free(t);

	t = pg_nft_table_new(NFPROTO_INET, "raw");
	CHECK(pg_nft_table_add_chain(t, "in", PG_CHAIN_FILTER, PG_HOOK_INPUT, 0, false) == 0);
	CHECK(pg_nft_table_add_chain(t, "out", PG_CHAIN_FILTER, PG_HOOK_OUTPUT, 0, false) == 0);
	CHECK(pg_nft_table_add_set(t, "pm", PG_KEY_IPV4, PG_KEY_ETHER, false) == 0);
	r = pg_nft_rule_new(t, "in");
	CHECK(pg_nft_match_raw(r, (struct pg_nft_field){PG_BASE_TRANSPORT, 0}, arp, 2, false) ==
	      -EINVAL);
	CHECK(pg_nft_match_fields_in_set(r, "pm", outer_inner, false) == -EINVAL);
	CHECK(pg_nft_match_raw(r, (struct pg_nft_field){PG_BASE_LL, 12}, arp, 0, false) == -EINVAL);
	CHECK(pg_nft_match_raw(r, (struct pg_nft_field){PG_BASE_LL, 12}, arp, 17, false) ==
	      -EINVAL);
	CHECK(pg_nft_match_raw(r, (struct pg_nft_field){PG_BASE_LL, 12}, arp, 2, false) == 0);
	CHECK(pg_nft_match_fields_in_set(r, "nope", outer_inner, false) == -EINVAL);
	CHECK(pg_nft_match_ct_status_none(r, PG_CT_NEW) == -EINVAL);
	r = pg_nft_rule_new(t, "out");
	CHECK(pg_nft_match_raw(r, (struct pg_nft_field){PG_BASE_LL, 12}, arp, 2, false) == -EINVAL);
	pg_nft_table_free(t);
}

/* A set keyed by `ip saddr . @th,176,48` carries the typeof nft 1.0.6
 * writes for `set s { typeof ip saddr . @th,176,48; }` (seen with nft
 * --debug=mnl), byte for byte, so that nft lists it as it loads it. */
static void test_typeof(void)
{
	static const uint8_t want[] = {
	    0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x03, 0x46, 0x00, 0x04, 0x0d, 0x00, 0x00,
	    0x00, 0x01, 0x3e, 0x00, 0x14, 0x00, 0x04, 0x07, 0x00, 0x00, 0x00, 0x01, 0x0c,
	    0x00, 0x04, 0x0c, 0x00, 0x00, 0x00, 0x01, 0x04, 0x0b, 0x00, 0x00, 0x00, 0x01,
	    0x26, 0x00, 0x04, 0x07, 0x00, 0x00, 0x00, 0x01, 0x1e, 0x00, 0x04, 0x00, 0x00,
	    0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x03, 0x00, 0x00,
	    0x00, 0x03, 0x04, 0xb0, 0x00, 0x00, 0x00, 0x04, 0x04, 0x30, 0x00, 0x00, 0x00,
	};
	static const struct pg_nft_field parts[] = {{PG_BASE_NETWORK, 12}, {PG_BASE_TRANSPORT, 22}};
	static const struct pg_nft_field parts6[] = {{PG_BASE_NETWORK, 8}, {PG_BASE_TRANSPORT, 22}};
	uint8_t want6[sizeof(want)];
	struct pg_nft_table *t = pg_nft_table_new(NFPROTO_INET, "raw");
	const struct nlmsghdr *msg[2];
	struct nft_batch b;
	size_t n;

	CHECK(pg_nft_table_add_set(t, "one", PG_KEY_IPV4, -1, false) == 0);
	CHECK(pg_nft_table_set_typeof(t, "one", parts) == -EINVAL); /* not a concatenation */
	pg_nft_table_free(t);
	t = pg_nft_table_new(NFPROTO_INET, "raw");
	CHECK(pg_nft_table_add_set(t, "pm", PG_KEY_IPV4, PG_KEY_RAW6, false) == 0);
	CHECK(pg_nft_table_set_typeof(t, "pm", parts) == 0);
	CHECK(nft_batch_serialize(t, &b) == 0);
	n = nft_batch_pick(&b, NFT_MSG_NEWSET, msg, 2);
	CHECK(n == 1);
	if (n == 1) {
		struct nftnl_set *st = nftnl_set_alloc();
		uint32_t len = 0;
		const void *ud;

		CHECK(nftnl_set_nlmsg_parse(msg[0], st) == 0);
		CHECK(nftnl_set_get_u32(st, NFTNL_SET_KEY_TYPE) == (7u << 6 | 4));
		CHECK(nftnl_set_get_u32(st, NFTNL_SET_KEY_LEN) == 12);
		ud = nftnl_set_get_data(st, NFTNL_SET_USERDATA, &len);
		CHECK(ud && len == sizeof(want) && memcmp(ud, want, sizeof(want)) == 0);
		nftnl_set_free(st);
	}
	nft_batch_free(&b);
	pg_nft_table_free(t);

	/* `ip6 saddr . @th,176,48`, as nft writes it: the same but for the
	 * description (ip6, 13) and the field (saddr, 8). */
	memcpy(want6, want, sizeof(want));
	want6[28] = 0x0d;
	want6[34] = 0x08;
	t = pg_nft_table_new(NFPROTO_INET, "raw");
	CHECK(pg_nft_table_add_set(t, "pm6", PG_KEY_IPV6, PG_KEY_RAW6, false) == 0);
	CHECK(pg_nft_table_set_typeof(t, "pm6", parts6) == 0);
	CHECK(nft_batch_serialize(t, &b) == 0);
	n = nft_batch_pick(&b, NFT_MSG_NEWSET, msg, 2);
	CHECK(n == 1);
	if (n == 1) {
		struct nftnl_set *st = nftnl_set_alloc();
		uint32_t len = 0;
		const void *ud;

		CHECK(nftnl_set_nlmsg_parse(msg[0], st) == 0);
		CHECK(nftnl_set_get_u32(st, NFTNL_SET_KEY_TYPE) == (8u << 6 | 4));
		CHECK(nftnl_set_get_u32(st, NFTNL_SET_KEY_LEN) == 24);
		ud = nftnl_set_get_data(st, NFTNL_SET_USERDATA, &len);
		CHECK(ud && len == sizeof(want6) && memcmp(ud, want6, sizeof(want6)) == 0);
		nftnl_set_free(st);
	}
	nft_batch_free(&b);
	pg_nft_table_free(t);
}

/* ip6 saddr . ether saddr: the IPv6 overlay's anti-spoofing pairs, as nft
 * writes `iifname vxlan0 ip6 saddr . ether saddr != @clients6 drop`. */
static void test_ip6_ether_pairs(void)
{
	struct pg_nft_table *t = pg_nft_table_new(NFPROTO_INET, "podgw");
	struct nft_batch b;
	const struct nlmsghdr *rules[4];
	struct pg_nft_rule *r;
	char *text;
	uint8_t key[32];

	CHECK(pg_nft_table_add_chain(t, "forward", PG_CHAIN_FILTER, PG_HOOK_FORWARD, 0, false) ==
	      0);
	CHECK(pg_nft_table_add_chain(t, "out", PG_CHAIN_FILTER, PG_HOOK_OUTPUT, 0, false) == 0);
	CHECK(pg_nft_table_add_set(t, "clients6", PG_KEY_IPV6, PG_KEY_ETHER, false) == 0);
	CHECK(pg_nft_key_len(PG_KEY_IPV6, PG_KEY_ETHER) == 24);
	CHECK(pg_nft_key_pack(key, sizeof(key), PG_KEY_IPV6,
			      "\xfd\x12\0\0\0\0\0\0\0\0\0\0\0\0\0\x17", PG_KEY_ETHER,
			      "\x02\x42\xac\x10\x00\x17") == 24);
	CHECK(pg_nft_table_add_elem(t, "clients6", key, 24) == 0);
	r = pg_nft_rule_new(t, "forward");
	CHECK(pg_nft_match_iifname(r, "vxlan0", false) == 0);
	CHECK(pg_nft_match_saddr_ether_in_set(r, "clients6", true) == 0);
	CHECK(pg_nft_drop(r) == 0);
	/* an IPv4 match after it: the rule is IPv6's */
	r = pg_nft_rule_new(t, "forward");
	CHECK(pg_nft_match_saddr_ether_in_set(r, "clients6", true) == 0);
	CHECK(pg_nft_match_saddr(r, &(struct pg_prefix){AF_INET, 8, {10}}) == -EINVAL);
	r = pg_nft_rule_new(t, "out");
	CHECK(pg_nft_match_saddr_ether_in_set(r, "clients6", true) == -EINVAL); /* no L2 */
	pg_nft_table_free(t);

	t = pg_nft_table_new(NFPROTO_INET, "podgw");
	CHECK(pg_nft_table_add_chain(t, "forward", PG_CHAIN_FILTER, PG_HOOK_FORWARD, 0, false) ==
	      0);
	CHECK(pg_nft_table_add_set(t, "clients6", PG_KEY_IPV6, PG_KEY_ETHER, false) == 0);
	r = pg_nft_rule_new(t, "forward");
	CHECK(pg_nft_match_iifname(r, "vxlan0", false) == 0);
	CHECK(pg_nft_match_saddr_ether_in_set(r, "clients6", true) == 0);
	CHECK(pg_nft_drop(r) == 0);
	CHECK(nft_batch_serialize(t, &b) == 0);
	CHECK(nft_batch_pick(&b, NFT_MSG_NEWRULE, rules, 4) == 1);
	text = nft_rule_text(rules[0], NULL, NULL);
	CHECK_STR(text, "  [ meta load iifname => reg 1 ]\n"
			"  [ cmp eq reg 1 0x616c7876 0x0000306e 0x00000000 0x00000000 ]\n"
			"  [ meta load nfproto => reg 1 ]\n"
			"  [ cmp eq reg 1 0x0000000a ]\n"
			"  [ meta load iiftype => reg 1 ]\n"
			"  [ cmp eq reg 1 0x00000001 ]\n"
			"  [ payload load 16b @ network header + 8 => reg 1 ]\n"
			"  [ payload load 6b @ link header + 6 => reg 12 ]\n"
			"  [ lookup reg 1 set clients6 0x1 ]\n"
			"  [ immediate reg 0 drop ]\n");
	free(text);
	nft_batch_free(&b);
	pg_nft_table_free(t);
}

int main(void)
{
	test_ip6_ether_pairs();
	test_raw_fields();
	test_typeof();
	test_gateway_table();
	test_buffer_sizes();
	test_invalid();
	test_egress_exprs();
	test_keys();
	test_set_update();
	return check_result();
}
