/* SPDX-License-Identifier: MIT */
/* The change monitor: one rtnetlink and one nfnetlink socket subscribed to
 * the groups whose state the daemons keep, behind one epoll fd. Every
 * notification is classified on its own; ours (by port id) and the kernel's
 * constant housekeeping are dropped, the rest become PG_CHANGED_* bits. */

#include "netlink/monitor.h"
#include "netlink/nlsock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

/* Every nftables object message names its table in attribute 1, whatever
 * the object; one lookup serves them all. */
#define NFTA_ANY_TABLE 1
_Static_assert(NFTA_TABLE_NAME == NFTA_ANY_TABLE && NFTA_CHAIN_TABLE == NFTA_ANY_TABLE &&
		   NFTA_RULE_TABLE == NFTA_ANY_TABLE && NFTA_SET_TABLE == NFTA_ANY_TABLE &&
		   NFTA_SET_ELEM_LIST_TABLE == NFTA_ANY_TABLE && NFTA_OBJ_TABLE == NFTA_ANY_TABLE &&
		   NFTA_FLOWTABLE_TABLE == NFTA_ANY_TABLE,
	       "nftables messages name their table in attribute 1");

/* Room for the events of one big change (an `ip route flush` of a full
 * table, `nft flush ruleset`, a link going away with all it carried) while
 * the daemon is busy; past it the kernel drops events and we repair all. */
#define RCVBUF_BYTES (8 << 20)

/* Datagrams read per socket and call, so an event storm cannot starve the
 * caller's loop; what is left keeps the fd readable. */
#define READ_SLICE 256

static const unsigned rtnl_groups[] = {RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE,
				       RTNLGRP_IPV6_ROUTE, RTNLGRP_NEIGH};
static const unsigned nft_groups[] = {NFNLGRP_NFTABLES};

struct sock {
	int fd; /* -1: not watched */
	int protocol;
	uint32_t own_portid;
};

struct pg_monitor {
	int epfd;
	struct sock rt, nf;
	int nft_family;
	char **tables;
	size_t n_tables;
	struct pg_nlbuf rx;
};

/* Classification. A message too short to tell counts as a change: a
 * needless repair pass is cheap, a missed one is not. */

static unsigned classify_link(const struct nlmsghdr *nlh)
{
	struct ifinfomsg ifi;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(ifi))
		return PG_CHANGED_LINK;
	memcpy(&ifi, mnl_nlmsg_get_payload(nlh), sizeof(ifi));
	/* IPv6 per-device settings (router advertisement flags), which
	 * every RA may touch; the link itself is reported as AF_UNSPEC. */
	return ifi.ifi_family == AF_INET6 ? 0 : PG_CHANGED_LINK;
}

static unsigned classify_route(const struct nlmsghdr *nlh)
{
	const struct nlattr *a;
	struct rtmsg rtm;
	uint32_t table;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(rtm))
		return PG_CHANGED_ROUTE;
	memcpy(&rtm, mnl_nlmsg_get_payload(nlh), sizeof(rtm));
	table = rtm.rtm_table;
	mnl_attr_for_each(a, nlh, sizeof(rtm))
	{
		if (mnl_attr_get_type(a) == RTA_TABLE && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			table = mnl_attr_get_u32(a);
	}
	/* Local and broadcast routes, cached clones and the prefix routes
	 * the kernel derives from addresses come and go with addresses and
	 * links, which are reported themselves; the kernel stamps them with
	 * port id 0 even when our own request caused them. */
	if (table == RT_TABLE_LOCAL || (rtm.rtm_flags & RTM_F_CLONED) ||
	    rtm.rtm_protocol == RTPROT_KERNEL)
		return 0;
	return PG_CHANGED_ROUTE;
}

static unsigned classify_neigh(const struct nlmsghdr *nlh)
{
	struct ndmsg ndm;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(ndm))
		return PG_CHANGED_NEIGH;
	memcpy(&ndm, mnl_nlmsg_get_payload(nlh), sizeof(ndm));
	/* Dynamic entries change state (reachable, stale, probe...) all
	 * the time; only what someone configured, FDB entries and removals
	 * can undo our state. */
	if (ndm.ndm_family == AF_BRIDGE || nlh->nlmsg_type == RTM_DELNEIGH ||
	    (ndm.ndm_state & (NUD_PERMANENT | NUD_NOARP)))
		return PG_CHANGED_NEIGH;
	return 0;
}

static unsigned classify_rtnl(const struct nlmsghdr *nlh)
{
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		return classify_link(nlh);
	case RTM_NEWADDR:
	case RTM_DELADDR:
		return PG_CHANGED_ADDR;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return classify_route(nlh);
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		return classify_neigh(nlh);
	default:
		return 0;
	}
}

static unsigned classify_nft(const struct nlmsghdr *nlh, int family, const char *const *tables,
			     size_t n_tables)
{
	const struct nlattr *a;
	struct nfgenmsg g;
	unsigned msg;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return 0;
	msg = NFNL_MSG_TYPE(nlh->nlmsg_type);
	/* The end of a transaction, whose objects came one by one. */
	if (msg == NFT_MSG_NEWGEN || msg == NFT_MSG_TRACE)
		return 0;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(g))
		return PG_CHANGED_NFT;
	memcpy(&g, mnl_nlmsg_get_payload(nlh), sizeof(g));
	if (g.nfgen_family != family)
		return 0;
	mnl_attr_for_each(a, nlh, sizeof(g))
	{
		if (mnl_attr_get_type(a) != NFTA_ANY_TABLE)
			continue;
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
			return PG_CHANGED_NFT;
		for (size_t i = 0; i < n_tables; i++)
			if (strcmp(mnl_attr_get_str(a), tables[i]) == 0)
				return PG_CHANGED_NFT;
		return 0;
	}
	return PG_CHANGED_NFT; /* a message type we do not know */
}

unsigned pg_monitor_classify(int protocol, const struct nlmsghdr *nlh, uint32_t own_portid,
			     int nft_family, const char *const *nft_tables, size_t n_tables)
{
	if (nlh->nlmsg_len < NLMSG_HDRLEN)
		return 0;
	/* The kernel puts the requester's port id on the notifications of
	 * its request; 0 is the kernel's own and never ours. */
	if (own_portid && nlh->nlmsg_pid == own_portid)
		return 0;
	switch (protocol) {
	case NETLINK_ROUTE:
		return classify_rtnl(nlh);
	case NETLINK_NETFILTER:
		return classify_nft(nlh, nft_family, nft_tables, n_tables);
	default:
		return 0;
	}
}

/* Sockets */

static int sock_open(struct sock *s, int epfd, int protocol, uint32_t own_portid,
		     const unsigned *groups, size_t n_groups)
{
	const struct pg_nl_opts opts = {
	    .nonblock = true, .rcvbuf = RCVBUF_BYTES, .groups = groups, .n_groups = n_groups};
	struct epoll_event ev = {.events = EPOLLIN};

	s->protocol = protocol;
	s->own_portid = own_portid;
	s->fd = pg_nl_open(protocol, &opts);
	if (s->fd < 0)
		return s->fd;
	ev.data.fd = s->fd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		return -errno;
	return 0;
}

static bool table_name_ok(const char *name)
{
	return name && *name && strlen(name) < NFT_NAME_MAXLEN;
}

int pg_monitor_open(uint32_t own_rtnl_portid, uint32_t own_nft_portid, int nft_family,
		    const char *const *nft_tables, size_t n_tables, struct pg_monitor **out)
{
	struct pg_monitor *m;
	int r;

	if (!out || (n_tables && !nft_tables))
		return -EINVAL;
	if (n_tables && nft_family != NFPROTO_INET && nft_family != NFPROTO_IPV4 &&
	    nft_family != NFPROTO_IPV6)
		return -EINVAL;
	for (size_t i = 0; i < n_tables; i++)
		if (!table_name_ok(nft_tables[i]))
			return -EINVAL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->epfd = m->rt.fd = m->nf.fd = -1;
	m->nft_family = nft_family;
	m->tables = calloc(n_tables ? n_tables : 1, sizeof(*m->tables));
	if (!m->tables || pg_nlbuf_init(&m->rx) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	for (; m->n_tables < n_tables; m->n_tables++) {
		m->tables[m->n_tables] = strdup(nft_tables[m->n_tables]);
		if (!m->tables[m->n_tables]) {
			r = -ENOMEM;
			goto fail;
		}
	}
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0) {
		r = -errno;
		goto fail;
	}
	r = sock_open(&m->rt, m->epfd, NETLINK_ROUTE, own_rtnl_portid, rtnl_groups,
		      sizeof(rtnl_groups) / sizeof(rtnl_groups[0]));
	if (r == 0 && n_tables)
		r = sock_open(&m->nf, m->epfd, NETLINK_NETFILTER, own_nft_portid, nft_groups,
			      sizeof(nft_groups) / sizeof(nft_groups[0]));
	if (r < 0)
		goto fail;
	*out = m;
	return 0;

fail:
	pg_monitor_close(m);
	return r;
}

void pg_monitor_close(struct pg_monitor *m)
{
	if (!m)
		return;
	if (m->rt.fd >= 0)
		close(m->rt.fd);
	if (m->nf.fd >= 0)
		close(m->nf.fd);
	if (m->epfd >= 0)
		close(m->epfd);
	for (size_t i = 0; i < m->n_tables; i++)
		free(m->tables[i]);
	free(m->tables);
	pg_nlbuf_free(&m->rx);
	free(m);
}

int pg_monitor_fd(const struct pg_monitor *m)
{
	return m ? m->epfd : -EINVAL;
}

static int drain(struct pg_monitor *m, const struct sock *s, unsigned *changed)
{
	for (int i = 0; i < READ_SLICE; i++) {
		long n = pg_nl_recv(s->fd, &m->rx);
		const struct nlmsghdr *nlh = (const void *)m->rx.data; /* after a realloc */
		int rem;

		if (n == -ENOBUFS) {
			*changed |= PG_CHANGED_ALL;
			continue;
		}
		if (n <= 0)
			return (int)n;
		rem = (int)n;
		for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem))
			*changed |=
			    pg_monitor_classify(s->protocol, nlh, s->own_portid, m->nft_family,
						(const char *const *)m->tables, m->n_tables);
	}
	return 0;
}

int pg_monitor_read(struct pg_monitor *m, unsigned *changed)
{
	int r;

	if (!m || !changed)
		return -EINVAL;
	*changed = 0;
	r = drain(m, &m->rt, changed);
	if (r == 0 && m->nf.fd >= 0)
		r = drain(m, &m->nf, changed);
	return r;
}
