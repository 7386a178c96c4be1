/* SPDX-License-Identifier: MIT */
#ifndef PODGW_RTNL_H
#define PODGW_RTNL_H

/* rtnetlink through libnl-route-3: links, vxlan, addresses, routes, FDB and
 * neighbour entries, route lookups. Every call returns 0 or a negative errno;
 * after a failure pg_rtnl_errmsg() gives the kernel's extended-ack text (or
 * "" when the kernel gave none). Addresses of a family other than AF_INET
 * or AF_INET6 give -EAFNOSUPPORT, prefix lengths too long for the family
 * -EINVAL, both before anything is sent. No policy lives here. */

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

struct pg_rtnl;

int pg_rtnl_open(struct pg_rtnl **out);
void pg_rtnl_close(struct pg_rtnl *rt);
const char *pg_rtnl_errmsg(const struct pg_rtnl *rt);
/* The socket's netlink port id: the kernel stamps it on the notifications
 * our requests cause, so a change monitor can tell them from others'. */
uint32_t pg_rtnl_portid(const struct pg_rtnl *rt);

struct pg_link_info {
	int ifindex;
	unsigned mtu;
	bool up;
	uint8_t mac[6];
	char name[IF_NAMESIZE];
	char kind[16]; /* "vxlan", "veth", ... or "" */
	/* Packets the link received (IFLA_STATS64); it only grows while the
	 * link lives. A tunnel's says whether its peer sent anything. */
	uint64_t rx_packets;
	/* Filled for kind "vxlan" only, so that a daemon can keep a matching
	 * link (and the peers' FDB and neighbour state on it) across a crash. */
	struct {
		uint32_t vni;
		uint16_t port;
		int underlay_ifindex;
		bool learning;
		struct pg_prefix local; /* family 0: none; IPv6: the tunnel runs over IPv6 */
	} vxlan;
};

struct pg_vxlan {
	const char *name;
	uint32_t vni;
	uint16_t port; /* host order; converted to big-endian on the wire */
	int underlay_ifindex;
	struct pg_prefix local; /* family 0: unset */
	bool learning;
	unsigned mtu;	/* 0: kernel default */
	uint8_t mac[6]; /* all zero: the kernel picks a random one */
	bool no_ipv6;	/* no IPv6 link-local address: no ND or MLD chatter */
};

int pg_link_get(struct pg_rtnl *rt, const char *name, struct pg_link_info *out); /* -ENODEV */
int pg_link_get_index(struct pg_rtnl *rt, int ifindex, struct pg_link_info *out);
/* NLM_F_CREATE|NLM_F_EXCL: -EEXIST when the name is taken; -EINVAL for a
 * VNI >= 2^24 or a bad name, before anything is sent. ifindex may be NULL. */
int pg_link_vxlan_create(struct pg_rtnl *rt, const struct pg_vxlan *vx, int *ifindex);
int pg_link_delete(struct pg_rtnl *rt, int ifindex);
int pg_link_set_up(struct pg_rtnl *rt, int ifindex, bool up);

/* addr is the local address with the subnet's prefix length; add fails
 * with -EEXIST when it is already there. IPv6 addresses are added without
 * duplicate address detection (IFA_F_NODAD). */
int pg_addr_add(struct pg_rtnl *rt, int ifindex, const struct pg_prefix *addr);
int pg_addr_del(struct pg_rtnl *rt, int ifindex, const struct pg_prefix *addr);
/* The same with IFA_F_* flags, e.g. IFA_F_NODAD: an IPv6 address usable at
 * once, without duplicate address detection on the link. */
int pg_addr_add_flags(struct pg_rtnl *rt, int ifindex, const struct pg_prefix *addr,
		      unsigned flags);

struct pg_route {
	struct pg_prefix dst; /* len 0: default route */
	struct pg_prefix gw;  /* family 0: no gateway (on-link) */
	int oif;	      /* 0: none */
	uint32_t table;	      /* 0: main */
	uint32_t priority;    /* metric */
	uint8_t protocol;     /* 0: RTPROT_STATIC */
	/* Read only: the source address a lookup's answer names
	 * (RTA_PREFSRC); family 0 when it names none. */
	struct pg_prefix prefsrc;
};

/* Needs a gateway (of dst's family) or an oif; scope is link without a
 * gateway, universe with one. replace: NLM_F_CREATE|NLM_F_REPLACE, else
 * NLM_F_CREATE|NLM_F_EXCL (-EEXIST). */
int pg_route_add(struct pg_rtnl *rt, const struct pg_route *r, bool replace);
/* protocol 0 matches a route of any protocol; gw and oif, when given, must
 * match. -ESRCH when no such route exists. */
int pg_route_del(struct pg_rtnl *rt, const struct pg_route *r);
/* What path would a packet to dst take (RTM_GETROUTE). */
int pg_route_lookup(struct pg_rtnl *rt, const struct pg_prefix *dst, struct pg_route *out);
/* Default routes of the main table of one family, one entry per nexthop;
 * *n is set to how many were found, at most max are stored. A dump the
 * kernel marks interrupted is redone; -EAGAIN if that keeps happening. */
int pg_route_defaults(struct pg_rtnl *rt, int family, struct pg_route *out, size_t max, size_t *n);

/* Bridge FDB entries on a vxlan link: mac -> remote underlay address. A
 * unicast MAC's entry is created or replaced (it never keeps pointing at an
 * old remote); the all-zero MAC's are appended, so several may coexist. */
int pg_fdb_add(struct pg_rtnl *rt, int ifindex, const uint8_t mac[6], const struct pg_prefix *dst);
int pg_fdb_del(struct pg_rtnl *rt, int ifindex, const uint8_t mac[6], const struct pg_prefix *dst);

/* Permanent neighbour (ARP/NDP) entries, created or replaced. */
int pg_neigh_add(struct pg_rtnl *rt, int ifindex, const struct pg_prefix *ip, const uint8_t mac[6]);
int pg_neigh_del(struct pg_rtnl *rt, int ifindex, const struct pg_prefix *ip);
/* Reads one neighbour entry without touching it (a rewrite would notify
 * every monitor): its MAC (all zero when it has none) and NUD_* state.
 * -ENOENT when there is no such entry. mac and state may be NULL. */
int pg_neigh_get(struct pg_rtnl *rt, int ifindex, const struct pg_prefix *ip, uint8_t mac[6],
		 uint16_t *state);

/* Request builders and the ACK parser, exposed so unit tests can check the
 * wire format without a kernel. The builders validate like the calls above
 * and return 0 or a negative errno; *out is then the caller's (nlmsg_free). */
struct nl_msg;
struct nlmsghdr;
int pg_rtnl_vxlan_request(const struct pg_vxlan *vx, struct nl_msg **out);
int pg_rtnl_route_request(int cmd, const struct pg_route *r, int flags, struct nl_msg **out);
int pg_rtnl_lookup_request(const struct pg_prefix *dst, struct nl_msg **out);
int pg_rtnl_fdb_request(int cmd, int ifindex, const uint8_t mac[6], const struct pg_prefix *dst,
			struct nl_msg **out);
/* The error and extended-ack text of an NLMSG_ERROR or NLMSG_DONE whose
 * nlmsg_len the caller has checked against what it received. *msg points
 * into nlh (not NUL-terminated; *msglen bytes, "" when none). Returns 0, or
 * -EBADMSG when the message is malformed, -EINVAL for another type. */
int pg_rtnl_parse_ack(const struct nlmsghdr *nlh, int *error, const char **msg, size_t *msglen);

#endif
