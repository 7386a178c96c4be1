/* SPDX-License-Identifier: MIT */
/* rtnl without root: argument validation, the requests on the wire and the
 * parsing of kernel ACKs with extended-ack TLVs. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "netlink/rtnl.h"
#include "check.h"

static struct pg_prefix pfx(const char *ip, uint8_t len)
{
	struct pg_prefix p = {.family = strchr(ip, ':') ? AF_INET6 : AF_INET, .len = len};

	if (inet_pton(p.family, ip, p.bytes) != 1)
		p.family = -1;
	return p;
}

static struct nlattr *attr(struct nl_msg *msg, size_t hdrlen, int type)
{
	return nlmsg_find_attr(nlmsg_hdr(msg), hdrlen, type);
}

static struct nlattr *nested(struct nlattr *parent, int type)
{
	return parent ? nla_find(nla_data(parent), nla_len(parent), type) : NULL;
}

static void test_vxlan_request(void)
{
	struct pg_vxlan vx = {
	    .name = "vxlan0",
	    .vni = 42,
	    .port = 8472,
	    .underlay_ifindex = 7,
	    .local = pfx("10.244.0.5", 32),
	    .learning = false,
	    .mtu = 1450,
	};
	struct nlattr *info, *data, *a;
	struct nl_msg *msg = NULL;
	const uint8_t *port;

	CHECK(pg_rtnl_vxlan_request(&vx, &msg) == 0);
	if (!msg)
		return;
	CHECK(nlmsg_hdr(msg)->nlmsg_type == RTM_NEWLINK);
	CHECK((nlmsg_hdr(msg)->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) ==
	      (NLM_F_CREATE | NLM_F_EXCL));
	a = attr(msg, sizeof(struct ifinfomsg), IFLA_IFNAME);
	CHECK_STR(a ? nla_get_string(a) : NULL, "vxlan0");
	a = attr(msg, sizeof(struct ifinfomsg), IFLA_MTU);
	CHECK(a && nla_get_u32(a) == 1450);

	info = attr(msg, sizeof(struct ifinfomsg), IFLA_LINKINFO);
	a = nested(info, IFLA_INFO_KIND);
	CHECK_STR(a ? nla_get_string(a) : NULL, "vxlan");
	data = nested(info, IFLA_INFO_DATA);
	CHECK(data != NULL);
	a = nested(data, IFLA_VXLAN_ID);
	CHECK(a && nla_get_u32(a) == 42);
	a = nested(data, IFLA_VXLAN_LINK);
	CHECK(a && nla_get_u32(a) == 7);
	a = nested(data, IFLA_VXLAN_LEARNING);
	CHECK(a && nla_get_u8(a) == 0);
	a = nested(data, IFLA_VXLAN_LOCAL);
	CHECK(a && nla_len(a) == 4 && memcmp(nla_data(a), vx.local.bytes, 4) == 0);
	/* A big-endian u16, whatever the host (libnl 3.7 alone would send
	 * four bytes; see fix_vxlan_attrs). */
	a = nested(data, IFLA_VXLAN_PORT);
	CHECK(a && nla_len(a) == 2);
	if (a && nla_len(a) == 2) {
		port = nla_data(a);
		CHECK(port[0] == 8472 >> 8 && port[1] == (8472 & 0xff));
	}
	nlmsg_free(msg);

	/* Unset optional fields stay off the wire. */
	vx.port = 0;
	vx.mtu = 0;
	vx.underlay_ifindex = 0;
	vx.local.family = 0;
	msg = NULL;
	CHECK(pg_rtnl_vxlan_request(&vx, &msg) == 0);
	if (msg) {
		data = nested(attr(msg, sizeof(struct ifinfomsg), IFLA_LINKINFO), IFLA_INFO_DATA);
		CHECK(nested(data, IFLA_VXLAN_PORT) == NULL);
		CHECK(nested(data, IFLA_VXLAN_LINK) == NULL);
		CHECK(nested(data, IFLA_VXLAN_LOCAL) == NULL);
		CHECK(attr(msg, sizeof(struct ifinfomsg), IFLA_MTU) == NULL);
		nlmsg_free(msg);
	}
}

static void test_vxlan_validation(void)
{
	struct pg_vxlan vx = {.name = "vxlan0", .vni = (1u << 24) - 1};
	struct nl_msg *msg = NULL;

	CHECK(pg_rtnl_vxlan_request(&vx, &msg) == 0);
	nlmsg_free(msg);
	msg = NULL;
	vx.vni = 1u << 24;
	CHECK(pg_rtnl_vxlan_request(&vx, &msg) == -EINVAL);
	CHECK(msg == NULL);
	vx.vni = UINT32_MAX;
	CHECK(pg_rtnl_vxlan_request(&vx, &msg) == -EINVAL);
	vx.vni = 1;
	vx.name = "a-name-far-too-long-for-ifnamsiz";
	CHECK(pg_rtnl_vxlan_request(&vx, &msg) == -EINVAL);
	vx.name = "";
	CHECK(pg_rtnl_vxlan_request(&vx, &msg) == -EINVAL);
	vx.name = NULL;
	CHECK(pg_rtnl_vxlan_request(&vx, &msg) == -EINVAL);
	vx.name = "vxlan0";
	vx.local = pfx("10.0.0.1", 32);
	vx.local.family = AF_UNIX;
	CHECK(pg_rtnl_vxlan_request(&vx, &msg) == -EAFNOSUPPORT);
	CHECK(msg == NULL);
}

static void test_route_request(void)
{
	struct pg_route r = {.dst = pfx("198.51.100.0", 24), .gw = pfx("10.244.0.9", 32), .oif = 3};
	struct nl_msg *msg = NULL;
	struct rtmsg *rtm;
	struct nlattr *a;

	CHECK(pg_rtnl_route_request(RTM_NEWROUTE, &r, NLM_F_CREATE | NLM_F_REPLACE, &msg) == 0);
	if (msg) {
		rtm = nlmsg_data(nlmsg_hdr(msg));
		CHECK(nlmsg_hdr(msg)->nlmsg_type == RTM_NEWROUTE);
		CHECK(nlmsg_hdr(msg)->nlmsg_flags & NLM_F_REPLACE);
		CHECK(rtm->rtm_family == AF_INET && rtm->rtm_dst_len == 24);
		CHECK(rtm->rtm_scope == RT_SCOPE_UNIVERSE);
		CHECK(rtm->rtm_protocol == RTPROT_STATIC);
		CHECK(rtm->rtm_type == RTN_UNICAST);
		a = attr(msg, sizeof(*rtm), RTA_GATEWAY);
		CHECK(a && nla_len(a) == 4 && memcmp(nla_data(a), r.gw.bytes, 4) == 0);
		a = attr(msg, sizeof(*rtm), RTA_OIF);
		CHECK(a && nla_get_u32(a) == 3);
		a = attr(msg, sizeof(*rtm), RTA_TABLE);
		CHECK(a && nla_get_u32(a) == RT_TABLE_MAIN);
		a = attr(msg, sizeof(*rtm), RTA_DST);
		CHECK(a && nla_len(a) == 4 && memcmp(nla_data(a), r.dst.bytes, 4) == 0);
		nlmsg_free(msg);
		msg = NULL;
	}

	/* On-link: scope link, and our protocol and table. */
	r.gw.family = 0;
	r.protocol = RTPROT_BOOT;
	r.table = 1000;
	CHECK(pg_rtnl_route_request(RTM_NEWROUTE, &r, NLM_F_CREATE, &msg) == 0);
	if (msg) {
		rtm = nlmsg_data(nlmsg_hdr(msg));
		CHECK(rtm->rtm_scope == RT_SCOPE_LINK);
		CHECK(rtm->rtm_protocol == RTPROT_BOOT);
		CHECK(attr(msg, sizeof(*rtm), RTA_GATEWAY) == NULL);
		a = attr(msg, sizeof(*rtm), RTA_TABLE);
		CHECK(a && nla_get_u32(a) == 1000);
		nlmsg_free(msg);
		msg = NULL;
	}

	/* Delete: wildcard scope and protocol. */
	r.protocol = 0;
	CHECK(pg_rtnl_route_request(RTM_DELROUTE, &r, 0, &msg) == 0);
	if (msg) {
		rtm = nlmsg_data(nlmsg_hdr(msg));
		CHECK(nlmsg_hdr(msg)->nlmsg_type == RTM_DELROUTE);
		CHECK(rtm->rtm_scope == RT_SCOPE_NOWHERE);
		CHECK(rtm->rtm_protocol == 0);
		nlmsg_free(msg);
		msg = NULL;
	}

	/* Neither gateway nor oif; gateway of the other family; bad dst. */
	r.oif = 0;
	CHECK(pg_rtnl_route_request(RTM_NEWROUTE, &r, 0, &msg) == -EINVAL);
	r.gw = pfx("fd00::1", 128);
	CHECK(pg_rtnl_route_request(RTM_NEWROUTE, &r, 0, &msg) == -EINVAL);
	r.gw = pfx("10.244.0.9", 32);
	r.dst.len = 33;
	CHECK(pg_rtnl_route_request(RTM_NEWROUTE, &r, 0, &msg) == -EINVAL);
	r.dst.len = 24;
	r.dst.family = AF_PACKET;
	CHECK(pg_rtnl_route_request(RTM_NEWROUTE, &r, 0, &msg) == -EAFNOSUPPORT);
	r.dst.family = AF_INET;
	CHECK(pg_rtnl_route_request(RTM_GETROUTE, &r, 0, &msg) == -EINVAL);
	CHECK(msg == NULL);
}

static void test_lookup_request(void)
{
	struct pg_prefix dst = pfx("198.51.100.7", 32);
	struct nl_msg *msg = NULL;
	struct rtmsg *rtm;
	struct nlattr *a;

	CHECK(pg_rtnl_lookup_request(&dst, &msg) == 0);
	if (msg) {
		rtm = nlmsg_data(nlmsg_hdr(msg));
		CHECK(nlmsg_hdr(msg)->nlmsg_type == RTM_GETROUTE);
		CHECK(!(nlmsg_hdr(msg)->nlmsg_flags & NLM_F_DUMP));
		CHECK(rtm->rtm_family == AF_INET && rtm->rtm_dst_len == 32);
		a = attr(msg, sizeof(*rtm), RTA_DST);
		CHECK(a && nla_len(a) == 4 && memcmp(nla_data(a), dst.bytes, 4) == 0);
		nlmsg_free(msg);
		msg = NULL;
	}

	dst = pfx("2001:db8::7", 128);
	CHECK(pg_rtnl_lookup_request(&dst, &msg) == 0);
	if (msg) {
		rtm = nlmsg_data(nlmsg_hdr(msg));
		CHECK(rtm->rtm_family == AF_INET6 && rtm->rtm_dst_len == 128);
		a = attr(msg, sizeof(*rtm), RTA_DST);
		CHECK(a && nla_len(a) == 16 && memcmp(nla_data(a), dst.bytes, 16) == 0);
		nlmsg_free(msg);
		msg = NULL;
	}

	dst.family = 0;
	CHECK(pg_rtnl_lookup_request(&dst, &msg) == -EAFNOSUPPORT);
	CHECK(msg == NULL);
}

static void test_fdb_request(void)
{
	static const uint8_t zero[6];
	struct pg_prefix dst = pfx("10.244.0.2", 32);
	struct nl_msg *msg = NULL;
	struct ndmsg *ndm;
	struct nlattr *a;

	CHECK(pg_rtnl_fdb_request(RTM_NEWNEIGH, 5, zero, &dst, &msg) == 0);
	if (msg) {
		ndm = nlmsg_data(nlmsg_hdr(msg));
		CHECK((nlmsg_hdr(msg)->nlmsg_flags & (NLM_F_CREATE | NLM_F_APPEND)) ==
		      (NLM_F_CREATE | NLM_F_APPEND));
		CHECK(!(nlmsg_hdr(msg)->nlmsg_flags & (NLM_F_EXCL | NLM_F_REPLACE)));
		CHECK(ndm->ndm_family == AF_BRIDGE);
		CHECK(ndm->ndm_ifindex == 5);
		CHECK(ndm->ndm_flags == NTF_SELF);
		CHECK(ndm->ndm_state == NUD_PERMANENT);
		a = attr(msg, sizeof(*ndm), NDA_DST);
		CHECK(a && nla_len(a) == 4 && memcmp(nla_data(a), dst.bytes, 4) == 0);
		a = attr(msg, sizeof(*ndm), NDA_LLADDR);
		CHECK(a && nla_len(a) == 6 && memcmp(nla_data(a), zero, 6) == 0);
		nlmsg_free(msg);
		msg = NULL;
	}
	CHECK(pg_rtnl_fdb_request(RTM_NEWNEIGH, 0, zero, &dst, &msg) == -EINVAL);
	dst.family = AF_UNIX;
	CHECK(pg_rtnl_fdb_request(RTM_NEWNEIGH, 5, zero, &dst, &msg) == -EAFNOSUPPORT);
	CHECK(msg == NULL);
}

/* An NLMSG_ERROR as the kernel sends it: nlmsgerr, the echoed request
 * payload unless capped (an odd length, so the TLVs need aligning), then
 * an NLMSGERR_ATTR_MSG. */
static struct nl_msg *error_msg(int error, bool capped, const char *text)
{
	uint8_t echoed[5] = {1, 2, 3, 4, 5};
	struct nlmsgerr e = {.error = error};
	int flags = (capped ? NLM_F_CAPPED : 0) | (text ? NLM_F_ACK_TLVS : 0);
	struct nl_msg *msg = nlmsg_alloc_simple(NLMSG_ERROR, flags);

	if (!msg)
		return NULL;
	e.msg.nlmsg_type = RTM_NEWLINK;
	e.msg.nlmsg_len = NLMSG_HDRLEN + (capped ? 0 : sizeof(echoed));
	if (nlmsg_append(msg, &e, sizeof(e), NLMSG_ALIGNTO) < 0 ||
	    (!capped && nlmsg_append(msg, echoed, sizeof(echoed), NLMSG_ALIGNTO) < 0) ||
	    (text && nla_put_string(msg, NLMSGERR_ATTR_MSG, text) < 0)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static void check_ack(struct nl_msg *msg, int want_ret, int want_err, const char *want_text)
{
	const char *text = NULL;
	size_t len = 0;
	int error = 1;

	CHECK(msg != NULL);
	if (!msg)
		return;
	CHECK(pg_rtnl_parse_ack(nlmsg_hdr(msg), &error, &text, &len) == want_ret);
	CHECK(error == want_err);
	CHECK(text != NULL && len == strlen(want_text) && strncmp(text, want_text, len) == 0);
	nlmsg_free(msg);
}

static void test_parse_ack(void)
{
	struct nl_msg *msg;
	int done_err = -EINVAL;

	check_ack(error_msg(-EEXIST, false, "File exists here"), 0, -EEXIST, "File exists here");
	check_ack(error_msg(-ENODEV, true, "Unknown device"), 0, -ENODEV, "Unknown device");
	check_ack(error_msg(-EPERM, false, NULL), 0, -EPERM, "");
	check_ack(error_msg(0, true, NULL), 0, 0, "");

	/* A dump's end carries an int error, then the TLVs. */
	msg = nlmsg_alloc_simple(NLMSG_DONE, NLM_F_MULTI | NLM_F_ACK_TLVS);
	if (msg && (nlmsg_append(msg, &done_err, sizeof(done_err), NLMSG_ALIGNTO) < 0 ||
		    nla_put_string(msg, NLMSGERR_ATTR_MSG, "bad dump") < 0)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	check_ack(msg, 0, -EINVAL, "bad dump");

	/* The echoed request claims more than there is. */
	msg = error_msg(-EEXIST, false, "x");
	if (msg) {
		struct nlmsgerr *e = nlmsg_data(nlmsg_hdr(msg));

		e->msg.nlmsg_len = 4096;
	}
	check_ack(msg, -EBADMSG, -EEXIST, "");

	/* Too short for a nlmsgerr. */
	msg = nlmsg_alloc_simple(NLMSG_ERROR, 0);
	check_ack(msg, -EBADMSG, 0, "");

	msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
	check_ack(msg, -EINVAL, 0, "");
}

/* Calls that must fail before anything reaches the kernel; the socket
 * itself needs no privilege. */
static void test_calls(void)
{
	struct pg_vxlan vx = {.name = "vxlan0", .vni = 1u << 24};
	struct pg_prefix bad = {.family = AF_UNIX};
	struct pg_route routes[2];
	struct pg_rtnl *rt = NULL;
	struct pg_link_info info;
	size_t n = 99;
	int r;

	CHECK_STR(pg_rtnl_errmsg(NULL), "");
	r = pg_rtnl_open(&rt);
	if (r < 0) {
		fprintf(stderr, "no rtnetlink socket (%s): skipping calls\n", strerror(-r));
		return;
	}
	CHECK_STR(pg_rtnl_errmsg(rt), "");
	CHECK(pg_link_vxlan_create(rt, &vx, NULL) == -EINVAL);
	CHECK(pg_route_defaults(rt, AF_UNIX, routes, 2, &n) == -EAFNOSUPPORT);
	CHECK(n == 0);
	CHECK(pg_route_lookup(rt, &bad, &routes[0]) == -EAFNOSUPPORT);
	CHECK(pg_addr_add(rt, 1, &bad) == -EAFNOSUPPORT);
	CHECK(pg_addr_add(rt, 0, &bad) == -EINVAL);
	CHECK(pg_neigh_del(rt, 1, &bad) == -EAFNOSUPPORT);
	CHECK(pg_link_get(rt, "", &info) == -EINVAL);
	CHECK(pg_link_get_index(rt, 0, &info) == -EINVAL);
	CHECK(pg_link_delete(rt, -1) == -EINVAL);

	/* Reading needs no privilege either: a name nobody has. */
	CHECK(pg_link_get(rt, "pg-no-such0", &info) == -ENODEV);
	r = pg_link_get(rt, "lo", &info);
	CHECK(r == 0);
	if (r == 0) {
		CHECK(info.ifindex > 0);
		CHECK_STR(info.name, "lo");
	}
	pg_rtnl_close(rt);
}

int main(void)
{
	test_vxlan_request();
	test_vxlan_validation();
	test_route_request();
	test_lookup_request();
	test_fdb_request();
	test_parse_ack();
	test_calls();
	return check_result();
}
