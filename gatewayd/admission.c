/* SPDX-License-Identifier: MIT */
#include "gatewayd/admission.h"

#include <errno.h>
#include <linux/netfilter.h>
#include <string.h>

#include "gatewayd/overlay6.h"
#include "gatewayd/traffic.h"

#define CLIENT_KEY_LEN 12 /* ipv4_addr . ether_addr, each padded to 4 bytes */
#define PEER_KEY_MAX   24 /* ipv6_addr . a raw MAC: a pod IP of either family */

static int client_key(const struct pg_lease *l, uint8_t key[CLIENT_KEY_LEN])
{
	long n = pg_nft_key_pack(key, CLIENT_KEY_LEN, PG_KEY_IPV4, &l->addr.s_addr, PG_KEY_ETHER,
				 l->mac);

	return n == CLIENT_KEY_LEN ? 0 : -EINVAL;
}

/* The sets of the underlay's family: a pod IP is IPv4 or IPv6. */
static bool v6(const struct pg_lease *l)
{
	return l->pod_ip.family == AF_INET6;
}

static const char *peers_set(const struct pg_lease *l)
{
	return v6(l) ? PG_SET_PEERS6 : PG_SET_PEERS;
}

static const char *peer_macs_set(const struct pg_lease *l)
{
	return v6(l) ? PG_SET_PEER_MACS6 : PG_SET_PEER_MACS;
}

static size_t pod_ip_len(const struct pg_lease *l)
{
	return pg_prefix_bytes(&l->pod_ip);
}

/* (pod IP . MAC) as the peer_macs sets hold it: its length, or -EINVAL. */
static long peer_key(const struct pg_lease *l, uint8_t key[PEER_KEY_MAX])
{
	return pg_nft_key_pack(key, PEER_KEY_MAX, v6(l) ? PG_KEY_IPV6 : PG_KEY_IPV4,
			       l->pod_ip.bytes, PG_KEY_ETHER, l->mac);
}

static void lease_prefixes(const struct pg_lease *l, struct pg_prefix *overlay,
			   struct pg_prefix *pod)
{
	pg_prefix_from_v4(overlay, l->addr, 32);
	*pod = l->pod_ip;
}

int pg_admission_grant(const struct pg_admission *a, const struct pg_lease *l)
{
	struct pg_prefix overlay, pod;
	uint8_t key[CLIENT_KEY_LEN], pkey[PEER_KEY_MAX];
	long plen = peer_key(l, pkey);
	int r;

	lease_prefixes(l, &overlay, &pod);
	if ((r = client_key(l, key)) < 0)
		return r;
	if (plen < 0)
		return (int)plen;
	/* Sets first: traffic can only flow once the FDB points at the pod,
	 * and by then the filters already let it through. */
	r = pg_nft_set_update(a->nft, NFPROTO_INET, a->table, peers_set(l), true, l->pod_ip.bytes,
			      pod_ip_len(l), 1);
	if (r == 0)
		r = pg_nft_set_update(a->nft, NFPROTO_INET, a->table, peer_macs_set(l), true, pkey,
				      (size_t)plen, 1);
	if (r == 0)
		r = pg_nft_set_update(a->nft, NFPROTO_INET, a->table, PG_SET_CLIENTS, true, key,
				      sizeof(key), 1);
	if (r == 0)
		r = pg_nft_set_update(a->nft, NFPROTO_INET, a->table, PG_SET_ARP_SENDERS, true, key,
				      sizeof(key), 1);
	/* Counting starts with the lease; a granted address keeps its counts. */
	if (r == 0)
		r = pg_nft_set_update(a->nft, NFPROTO_INET, a->table, PG_SET_CLIENT_TX, true,
				      &l->addr.s_addr, 4, 1);
	if (r == 0)
		r = pg_nft_set_update(a->nft, NFPROTO_INET, a->table, PG_SET_CLIENT_RX, true,
				      &l->addr.s_addr, 4, 1);
	/* Replaces an entry pointing elsewhere (pg_fdb_add). */
	if (r == 0)
		r = pg_fdb_add(a->rt, a->vxlan_ifindex, l->mac, &pod);
	if (r == 0)
		r = pg_neigh_add(a->rt, a->vxlan_ifindex, &overlay, l->mac);
	if (r == 0)
		r = pg_overlay6_admit(a->v6, a, l, true);
	return r;
}

/* Best effort through every step: a half-revoked lease would keep part of
 * its access. The first error is returned; absent entries are not errors. */
int pg_admission_revoke(const struct pg_admission *a, const struct pg_lease *l, bool keep_peer)
{
	struct pg_prefix overlay, pod;
	uint8_t key[CLIENT_KEY_LEN], pkey[PEER_KEY_MAX];
	long plen = peer_key(l, pkey);
	int r, first = 0;

	lease_prefixes(l, &overlay, &pod);
	first = pg_overlay6_admit(a->v6, a, l, false);
	r = pg_neigh_del(a->rt, a->vxlan_ifindex, &overlay);
	if (r < 0 && r != -ENOENT && r != -ESRCH && !first)
		first = r;
	r = pg_fdb_del(a->rt, a->vxlan_ifindex, l->mac, &pod);
	if (r < 0 && r != -ENOENT && r != -ESRCH && !first)
		first = r;
	r = client_key(l, key);
	for (int i = 0; r == 0 && i < 2; i++) {
		int d = pg_nft_set_update(a->nft, NFPROTO_INET, a->table,
					  i ? PG_SET_ARP_SENDERS : PG_SET_CLIENTS, false, key,
					  sizeof(key), 1);

		if (d < 0 && d != -ENOENT && !first)
			first = d;
	}
	if (r < 0 && !first)
		first = r;
	r = plen < 0 ? (int)plen
		     : pg_nft_set_update(a->nft, NFPROTO_INET, a->table, peer_macs_set(l), false,
					 pkey, (size_t)plen, 1);
	if (r < 0 && r != -ENOENT && !first)
		first = r;
	for (int i = 0; i < 2; i++) {
		r = pg_nft_set_update(a->nft, NFPROTO_INET, a->table,
				      i ? PG_SET_CLIENT_RX : PG_SET_CLIENT_TX, false,
				      &l->addr.s_addr, 4, 1);
		if (r < 0 && r != -ENOENT && !first)
			first = r;
	}
	if (!keep_peer) {
		r = pg_nft_set_update(a->nft, NFPROTO_INET, a->table, peers_set(l), false,
				      l->pod_ip.bytes, pod_ip_len(l), 1);
		if (r < 0 && r != -ENOENT && !first)
			first = r;
	}
	return first;
}

struct peer_count {
	uint8_t key[PEER_KEY_MAX];
	size_t len;
	uint64_t packets;
	bool found;
};

static int take_peer(const void *key, size_t key_len, uint64_t packets, uint64_t bytes, void *arg)
{
	struct peer_count *pc = arg;

	(void)bytes;
	if (key_len == pc->len && memcmp(key, pc->key, pc->len) == 0) {
		pc->packets = packets;
		pc->found = true;
	}
	return 0;
}

int pg_admission_peer_packets(const struct pg_admission *a, const struct pg_lease *l,
			      uint64_t *packets)
{
	struct peer_count pc = {0};
	long len = peer_key(l, pc.key);
	int r = len < 0 ? (int)len : 0;

	pc.len = len < 0 ? 0 : (size_t)len;
	/* A dump interrupted by a change is redone, a few times at most. */
	for (int i = 0; r == 0 && i < 3; i++) {
		pc.found = false;
		r = pg_nft_set_counters(a->nft, NFPROTO_INET, a->table, peer_macs_set(l), take_peer,
					&pc);
		if (r != -EAGAIN)
			break;
	}
	if (r == 0 && !pc.found)
		r = -ENOENT;
	if (r == 0)
		*packets = pc.packets;
	return r;
}

struct elems_arg {
	struct pg_nft_table *t;
	const struct pg_traffic *carry;
};

static int add_lease_elems(const struct pg_lease *l, void *arg)
{
	const struct elems_arg *a = arg;
	const struct pg_traffic_count *c = pg_traffic_find(a->carry, l->addr);
	uint8_t key[CLIENT_KEY_LEN], pkey[PEER_KEY_MAX];
	long plen = peer_key(l, pkey);
	int r = client_key(l, key);

	if (r == 0 && plen < 0)
		r = (int)plen;
	if (r == 0)
		r = pg_nft_table_add_elem(a->t, peers_set(l), l->pod_ip.bytes, pod_ip_len(l));
	/* Two leases of one pod IP: each its own (pod IP . MAC). */
	if (r == 0)
		r = pg_nft_table_add_elem(a->t, peer_macs_set(l), pkey, (size_t)plen);
	if (r == 0)
		r = pg_nft_table_add_elem(a->t, PG_SET_CLIENTS, key, sizeof(key));
	if (r == 0)
		r = pg_nft_table_add_elem(a->t, PG_SET_ARP_SENDERS, key, sizeof(key));
	if (r == 0)
		r = pg_nft_table_add_elem_counted(a->t, PG_SET_CLIENT_TX, &l->addr.s_addr, 4,
						  c ? c->tx_packets : 0, c ? c->tx_bytes : 0);
	if (r == 0)
		r = pg_nft_table_add_elem_counted(a->t, PG_SET_CLIENT_RX, &l->addr.s_addr, 4,
						  c ? c->rx_packets : 0, c ? c->rx_bytes : 0);
	return r;
}

int pg_admission_add_sets(struct pg_nft_table *t, const struct pg_pool *pool,
			  const struct pg_traffic *carry)
{
	struct elems_arg a = {t, carry};
	int r = 0;

	/* The peers of either underlay family. Keys the rules read from
	 * inside the datagram (ruleset.c), for nft to list them as it loads
	 * them. */
	for (int i = 0; r == 0 && i < 2; i++) {
		const char *peers = i ? PG_SET_PEERS6 : PG_SET_PEERS;
		const char *macs = i ? PG_SET_PEER_MACS6 : PG_SET_PEER_MACS;
		enum pg_nft_key key = i ? PG_KEY_IPV6 : PG_KEY_IPV4;

		r = pg_nft_table_add_set(t, peers, key, -1, false);
		if (r == 0)
			r = pg_nft_table_add_set(t, macs, key, PG_KEY_RAW6, false);
		if (r == 0)
			r = pg_nft_table_set_typeof(
			    t, macs,
			    (const struct pg_nft_field[]){
				{PG_BASE_NETWORK, i ? PG_IP6_SADDR_OFFSET : PG_IP_SADDR_OFFSET},
				{PG_BASE_TRANSPORT, PG_VXLAN_INNER_ETH_SRC}});
		if (r == 0)
			r = pg_nft_table_set_counter(t, macs);
	}
	if (r == 0)
		r = pg_nft_table_add_set(t, PG_SET_ARP_SENDERS, PG_KEY_RAW4, PG_KEY_RAW6, false);
	if (r == 0)
		r = pg_nft_table_set_typeof(
		    t, PG_SET_ARP_SENDERS,
		    (const struct pg_nft_field[]){{PG_BASE_TRANSPORT, PG_VXLAN_INNER_ARP_SPA},
						  {PG_BASE_TRANSPORT, PG_VXLAN_INNER_ARP_SHA}});
	if (r == 0)
		r = pg_nft_table_add_set(t, PG_SET_CLIENTS, PG_KEY_IPV4, PG_KEY_ETHER, false);
	for (int i = 0; r == 0 && i < 2; i++) {
		const char *set = i ? PG_SET_CLIENT_RX : PG_SET_CLIENT_TX;

		r = pg_nft_table_add_set(t, set, PG_KEY_IPV4, -1, false);
		if (r == 0)
			r = pg_nft_table_set_counter(t, set);
	}
	if (r == 0 && pool)
		r = pg_pool_foreach(pool, add_lease_elems, &a);
	return r;
}
