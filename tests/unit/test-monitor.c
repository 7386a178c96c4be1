/* SPDX-License-Identifier: MIT */
/* The monitor's classifier without root: notifications as the kernel would
 * send them, built in a buffer, and what each one is reported as. */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "netlink/monitor.h"
#include "check.h"

#define OWN   4242u
#define OTHER 777u

static const char *const tables[] = {"podgw", "guard"};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

/* One message at a time; far larger than any built here. */
static union {
	struct nlmsghdr align;
	char bytes[4096];
} buf;

static struct nlmsghdr *msg(uint16_t type, uint32_t pid, const void *hdr, size_t hdrlen)
{
	struct nlmsghdr *nlh;

	memset(&buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf.bytes);
	nlh->nlmsg_type = type;
	nlh->nlmsg_pid = pid;
	memcpy(mnl_nlmsg_put_extra_header(nlh, hdrlen), hdr, hdrlen);
	return nlh;
}

static unsigned rt(const struct nlmsghdr *nlh)
{
	return pg_monitor_classify(NETLINK_ROUTE, nlh, OWN, NFPROTO_INET, tables, N_TABLES);
}

static unsigned nf(const struct nlmsghdr *nlh)
{
	return pg_monitor_classify(NETLINK_NETFILTER, nlh, OWN, NFPROTO_INET, tables, N_TABLES);
}

static void test_link_addr(void)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 3};
	struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = 24, .ifa_index = 3};
	struct nlmsghdr *nlh;

	CHECK(rt(msg(RTM_NEWLINK, 0, &ifi, sizeof(ifi))) == PG_CHANGED_LINK);
	CHECK(rt(msg(RTM_NEWLINK, OTHER, &ifi, sizeof(ifi))) == PG_CHANGED_LINK);
	CHECK(rt(msg(RTM_DELLINK, 0, &ifi, sizeof(ifi))) == PG_CHANGED_LINK);
	CHECK(rt(msg(RTM_NEWLINK, OWN, &ifi, sizeof(ifi))) == 0);
	CHECK(rt(msg(RTM_DELLINK, OWN, &ifi, sizeof(ifi))) == 0);
	/* Port id 0 is the kernel's, even for a caller without a socket. */
	CHECK(pg_monitor_classify(NETLINK_ROUTE, msg(RTM_NEWLINK, 0, &ifi, sizeof(ifi)), 0,
				  NFPROTO_INET, tables, N_TABLES) == PG_CHANGED_LINK);
	ifi.ifi_family = AF_INET6; /* RA flags of the device */
	CHECK(rt(msg(RTM_NEWLINK, 0, &ifi, sizeof(ifi))) == 0);
	/* Too short to tell: counted. */
	CHECK(rt(msg(RTM_NEWLINK, 0, &ifi, 4)) == PG_CHANGED_LINK);

	CHECK(rt(msg(RTM_NEWADDR, 0, &ifa, sizeof(ifa))) == PG_CHANGED_ADDR);
	CHECK(rt(msg(RTM_DELADDR, OTHER, &ifa, sizeof(ifa))) == PG_CHANGED_ADDR);
	CHECK(rt(msg(RTM_NEWADDR, OWN, &ifa, sizeof(ifa))) == 0);
	CHECK(rt(msg(RTM_DELADDR, OWN, &ifa, sizeof(ifa))) == 0);

	/* Of no interest, and a header shorter than a header. */
	CHECK(rt(msg(RTM_NEWRULE, 0, &ifa, sizeof(ifa))) == 0);
	CHECK(rt(msg(NLMSG_ERROR, 0, &ifa, sizeof(ifa))) == 0);
	nlh = msg(RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	nlh->nlmsg_len = NLMSG_HDRLEN - 1;
	CHECK(rt(nlh) == 0);
	/* An rtnetlink message on the nfnetlink socket means nothing. */
	CHECK(nf(msg(RTM_NEWLINK, 0, &ifi, sizeof(ifi))) == 0);
}

static void test_route(void)
{
	struct rtmsg rtm = {
	    .rtm_family = AF_INET,
	    .rtm_table = RT_TABLE_MAIN,
	    .rtm_protocol = RTPROT_STATIC,
	    .rtm_type = RTN_UNICAST,
	};
	struct rtmsg r;
	struct nlmsghdr *nlh;

	CHECK(rt(msg(RTM_NEWROUTE, 0, &rtm, sizeof(rtm))) == PG_CHANGED_ROUTE);
	CHECK(rt(msg(RTM_DELROUTE, OTHER, &rtm, sizeof(rtm))) == PG_CHANGED_ROUTE);
	CHECK(rt(msg(RTM_NEWROUTE, OWN, &rtm, sizeof(rtm))) == 0);
	CHECK(rt(msg(RTM_DELROUTE, OWN, &rtm, sizeof(rtm))) == 0);
	CHECK(rt(msg(RTM_DELROUTE, 0, &rtm, 8)) == PG_CHANGED_ROUTE);

	r = rtm;
	r.rtm_protocol = RTPROT_DHCP;
	r.rtm_family = AF_INET6;
	CHECK(rt(msg(RTM_DELROUTE, 0, &r, sizeof(r))) == PG_CHANGED_ROUTE);

	r = rtm;
	r.rtm_table = RT_TABLE_LOCAL;
	r.rtm_type = RTN_LOCAL;
	CHECK(rt(msg(RTM_NEWROUTE, 0, &r, sizeof(r))) == 0);

	r = rtm;
	r.rtm_flags = RTM_F_CLONED;
	CHECK(rt(msg(RTM_NEWROUTE, 0, &r, sizeof(r))) == 0);

	/* The prefix route of an address we added ourselves: port id 0. */
	r = rtm;
	r.rtm_protocol = RTPROT_KERNEL;
	CHECK(rt(msg(RTM_NEWROUTE, 0, &r, sizeof(r))) == 0);

	/* RTA_TABLE overrides the u8 field, which says "compat" past 255. */
	r = rtm;
	r.rtm_table = RT_TABLE_COMPAT;
	nlh = msg(RTM_NEWROUTE, 0, &r, sizeof(r));
	mnl_attr_put_u32(nlh, RTA_PRIORITY, 100);
	mnl_attr_put_u32(nlh, RTA_TABLE, 1000);
	CHECK(rt(nlh) == PG_CHANGED_ROUTE);
	nlh = msg(RTM_NEWROUTE, 0, &r, sizeof(r));
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_LOCAL);
	CHECK(rt(nlh) == 0);
}

static void test_neigh(void)
{
	static const uint16_t dynamic[] = {NUD_INCOMPLETE, NUD_REACHABLE, NUD_STALE,
					   NUD_DELAY,	   NUD_PROBE,	  NUD_FAILED};
	struct ndmsg ndm = {.ndm_family = AF_INET, .ndm_ifindex = 3};

	for (size_t i = 0; i < sizeof(dynamic) / sizeof(dynamic[0]); i++) {
		ndm.ndm_state = dynamic[i];
		CHECK(rt(msg(RTM_NEWNEIGH, 0, &ndm, sizeof(ndm))) == 0);
		/* A removal counts whatever the state. */
		CHECK(rt(msg(RTM_DELNEIGH, 0, &ndm, sizeof(ndm))) == PG_CHANGED_NEIGH);
		CHECK(rt(msg(RTM_DELNEIGH, OWN, &ndm, sizeof(ndm))) == 0);
	}
	ndm.ndm_state = NUD_PERMANENT;
	CHECK(rt(msg(RTM_NEWNEIGH, 0, &ndm, sizeof(ndm))) == PG_CHANGED_NEIGH);
	CHECK(rt(msg(RTM_NEWNEIGH, OTHER, &ndm, sizeof(ndm))) == PG_CHANGED_NEIGH);
	CHECK(rt(msg(RTM_NEWNEIGH, OWN, &ndm, sizeof(ndm))) == 0);
	ndm.ndm_state = NUD_NOARP;
	ndm.ndm_family = AF_INET6;
	CHECK(rt(msg(RTM_NEWNEIGH, 0, &ndm, sizeof(ndm))) == PG_CHANGED_NEIGH);

	/* FDB entries, learned ones included. */
	ndm.ndm_family = AF_BRIDGE;
	ndm.ndm_state = NUD_REACHABLE;
	ndm.ndm_flags = NTF_SELF;
	CHECK(rt(msg(RTM_NEWNEIGH, 0, &ndm, sizeof(ndm))) == PG_CHANGED_NEIGH);
	CHECK(rt(msg(RTM_DELNEIGH, 0, &ndm, sizeof(ndm))) == PG_CHANGED_NEIGH);
	CHECK(rt(msg(RTM_NEWNEIGH, OWN, &ndm, sizeof(ndm))) == 0);
	CHECK(rt(msg(RTM_NEWNEIGH, 0, &ndm, 2)) == PG_CHANGED_NEIGH);
}

static struct nlmsghdr *nft_msg(int type, uint8_t family, uint32_t pid)
{
	struct nfgenmsg g = {.nfgen_family = family, .version = NFNETLINK_V0};

	return msg(NFNL_SUBSYS_NFTABLES << 8 | type, pid, &g, sizeof(g));
}

static void test_nft(void)
{
	static const int objects[] = {
	    NFT_MSG_NEWTABLE,	  NFT_MSG_DELTABLE,	NFT_MSG_NEWCHAIN, NFT_MSG_DELCHAIN,
	    NFT_MSG_NEWRULE,	  NFT_MSG_DELRULE,	NFT_MSG_NEWSET,	  NFT_MSG_DELSET,
	    NFT_MSG_NEWSETELEM,	  NFT_MSG_DELSETELEM,	NFT_MSG_NEWOBJ,	  NFT_MSG_DELOBJ,
	    NFT_MSG_NEWFLOWTABLE, NFT_MSG_DELFLOWTABLE,
	};
	struct nlmsghdr *nlh;

	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
		int t = objects[i];

		nlh = nft_msg(t, NFPROTO_INET, 0);
		mnl_attr_put_strz(nlh, 1, "podgw");
		CHECK(nf(nlh) == PG_CHANGED_NFT);
		nlh = nft_msg(t, NFPROTO_INET, OTHER);
		mnl_attr_put_strz(nlh, 1, "guard");
		CHECK(nf(nlh) == PG_CHANGED_NFT);
		nlh = nft_msg(t, NFPROTO_INET, OWN);
		mnl_attr_put_strz(nlh, 1, "podgw");
		CHECK(nf(nlh) == 0);
		nlh = nft_msg(t, NFPROTO_INET, 0);
		mnl_attr_put_strz(nlh, 1, "other");
		CHECK(nf(nlh) == 0);
		nlh = nft_msg(t, NFPROTO_IPV4, 0); /* same name, other family */
		mnl_attr_put_strz(nlh, 1, "podgw");
		CHECK(nf(nlh) == 0);
		/* The same message on the rtnetlink socket means nothing. */
		nlh = nft_msg(t, NFPROTO_INET, 0);
		mnl_attr_put_strz(nlh, 1, "podgw");
		CHECK(rt(nlh) == 0);
	}

	/* The table is found wherever it is among the attributes. */
	nlh = nft_msg(NFT_MSG_NEWRULE, NFPROTO_INET, 0);
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, "podgw");
	mnl_attr_put_u64(nlh, NFTA_RULE_HANDLE, 7);
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, "other");
	CHECK(nf(nlh) == 0);
	nlh = nft_msg(NFT_MSG_NEWRULE, NFPROTO_INET, 0);
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, "input");
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, "podgw");
	CHECK(nf(nlh) == PG_CHANGED_NFT);

	/* Names compare whole. */
	nlh = nft_msg(NFT_MSG_NEWTABLE, NFPROTO_INET, 0);
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, "podgw2");
	CHECK(nf(nlh) == 0);
	nlh = nft_msg(NFT_MSG_NEWTABLE, NFPROTO_INET, 0);
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, "podg");
	CHECK(nf(nlh) == 0);

	/* The end of a transaction names no table. */
	nlh = nft_msg(NFT_MSG_NEWGEN, NFPROTO_UNSPEC, 0);
	mnl_attr_put_u32(nlh, NFTA_GEN_ID, 12);
	CHECK(nf(nlh) == 0);

	/* Unreadable: counted when of our family. */
	nlh = nft_msg(NFT_MSG_NEWTABLE, NFPROTO_INET, 0);
	mnl_attr_put(nlh, NFTA_TABLE_NAME, 5, "podgw"); /* no NUL */
	CHECK(nf(nlh) == PG_CHANGED_NFT);
	nlh = nft_msg(NFT_MSG_NEWTABLE, NFPROTO_INET, 0);
	CHECK(nf(nlh) == PG_CHANGED_NFT);
	nlh = nft_msg(NFT_MSG_NEWTABLE, NFPROTO_INET, 0);
	nlh->nlmsg_len = NLMSG_HDRLEN + 2;
	CHECK(nf(nlh) == PG_CHANGED_NFT);

	/* Other netfilter subsystems (conntrack) are not ours. */
	nlh = msg(NFNL_SUBSYS_CTNETLINK << 8, 0, &(struct nfgenmsg){.nfgen_family = NFPROTO_INET},
		  sizeof(struct nfgenmsg));
	mnl_attr_put_strz(nlh, 1, "podgw");
	CHECK(nf(nlh) == 0);

	/* Without tables nothing is reported. */
	nlh = nft_msg(NFT_MSG_NEWTABLE, NFPROTO_INET, 0);
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, "podgw");
	CHECK(pg_monitor_classify(NETLINK_NETFILTER, nlh, OWN, NFPROTO_INET, NULL, 0) == 0);
}

static void test_open_args(void)
{
	static const char *const bad_names[] = {"podgw", ""};
	struct pg_monitor *m = NULL;

	CHECK(pg_monitor_open(1, 2, NFPROTO_INET, NULL, 1, &m) == -EINVAL);
	CHECK(pg_monitor_open(1, 2, NFPROTO_INET, bad_names, 2, &m) == -EINVAL);
	CHECK(pg_monitor_open(1, 2, NFPROTO_ARP, tables, 1, &m) == -EINVAL);
	CHECK(pg_monitor_open(1, 2, NFPROTO_INET, tables, 1, NULL) == -EINVAL);
	CHECK(m == NULL);
	CHECK(pg_monitor_read(NULL, &(unsigned){0}) == -EINVAL);
	pg_monitor_close(NULL);
}

int main(void)
{
	test_link_addr();
	test_route();
	test_neigh();
	test_nft();
	test_open_args();
	return check_result();
}
