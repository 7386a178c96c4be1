/* SPDX-License-Identifier: MIT */
#ifndef PODGW_MONITOR_H
#define PODGW_MONITOR_H

/* Watches the kernel for changes made by others to the state a daemon keeps
 * (links, IPv4 addresses, routes, neighbour and FDB entries, its nftables
 * tables), so that it can repair them at once. Changes our own request
 * sockets caused are told apart by the port id the kernel stamps on their
 * notifications. It only says what kind of thing changed: the caller's
 * repair pass finds out what. Calls return 0 or a negative errno. */

#include <stddef.h>
#include <stdint.h>

#define PG_CHANGED_LINK	 (1u << 0)
#define PG_CHANGED_ADDR	 (1u << 1)
#define PG_CHANGED_ROUTE (1u << 2)
#define PG_CHANGED_NEIGH (1u << 3) /* neighbour and FDB entries */
#define PG_CHANGED_NFT	 (1u << 4)
#define PG_CHANGED_ALL                                                                             \
	(PG_CHANGED_LINK | PG_CHANGED_ADDR | PG_CHANGED_ROUTE | PG_CHANGED_NEIGH | PG_CHANGED_NFT)

struct pg_monitor;
struct nlmsghdr;

/* Open it before the first repair pass, so no change slips in between.
 * own_*_portid: pg_rtnl_portid() and pg_nft_portid() of the caller's
 * request sockets (0: none). Not every notification of our own requests
 * carries our port id: the kernel stamps 0 on link changes, vxlan FDB
 * changes and the removal half of a neighbour delete, so those come back
 * as foreign and cost one (idempotent) repair pass. nftables events count
 * only for the tables named here, of family nft_family (NFPROTO_INET,
 * _IPV4 or _IPV6); the names are copied. With n_tables 0 nftables is not
 * watched at all. Subscribing to nftables events needs CAP_NET_ADMIN. */
int pg_monitor_open(uint32_t own_rtnl_portid, uint32_t own_nft_portid, int nft_family,
		    const char *const *nft_tables, size_t n_tables, struct pg_monitor **out);
void pg_monitor_close(struct pg_monitor *m);
/* Readable (poll/epoll, level-triggered) while events are queued. */
int pg_monitor_fd(const struct pg_monitor *m);
/* Reads the queued events without blocking and sets *changed to the
 * PG_CHANGED_* bits of the foreign ones (0: nothing of interest). When the
 * kernel dropped events because our queue was full, *changed is
 * PG_CHANGED_ALL. A burst is read in slices so as not to starve the
 * caller's loop: the fd then stays readable for the rest. */
int pg_monitor_read(struct pg_monitor *m, unsigned *changed);

/* For tests: the PG_CHANGED_* bits one notification stands for, 0 when it
 * is ours (nlmsg_pid == own_portid, unless that is 0) or of no interest.
 * protocol is NETLINK_ROUTE or NETLINK_NETFILTER; the caller has checked
 * nlmsg_len against the bytes it holds. */
unsigned pg_monitor_classify(int protocol, const struct nlmsghdr *nlh, uint32_t own_portid,
			     int nft_family, const char *const *nft_tables, size_t n_tables);

#endif
