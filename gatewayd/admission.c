/* SPDX-License-Identifier: MIT */
#include "gatewayd/admission.h"

#include <errno.h>
#include <linux/netfilter.h>
#include <string.h>

#include "gatewayd/overlay6.h"
#include "gatewayd/traffic.h"

#define CLIENT_KEY_LEN 12 /* ipv4_addr . ether_addr, each padded to 4 bytes */

static int client_key(const struct pg_lease *l, uint8_t key[CLIENT_KEY_LEN])
{
	long n = pg_nft_key_pack(key, CLIENT_KEY_LEN, PG_KEY_IPV4, &l->addr.s_addr, PG_KEY_ETHER,
				 l->mac);

	return n == CLIENT_KEY_LEN ? 0 : -EINVAL;
}

static int peer_key(const struct pg_lease *l, uint8_t key[CLIENT_KEY_LEN])
{
	long n = pg_nft_key_pack(key, CLIENT_KEY_LEN, PG_KEY_IPV4, &l->pod_ip.s_addr, PG_KEY_ETHER,
				 l->mac);

	return n == CLIENT_KEY_LEN ? 0 : -EINVAL;
}

static void lease_prefixes(const struct pg_lease *l, struct pg_prefix *overlay,
			   struct pg_prefix *pod)
{
	pg_prefix_from_v4(overlay, l->addr, 32);
	pg_prefix_from_v4(pod, l->pod_ip, 32);
}

int pg_admission_grant(const struct pg_admission *a, const struct pg_lease *l)
{
	struct pg_prefix overlay, pod;
	uint8_t key[CLIENT_KEY_LEN], pkey[CLIENT_KEY_LEN];
	int r;

	lease_prefixes(l, &overlay, &pod);
	if ((r = client_key(l, key)) < 0 || (r = peer_key(l, pkey)) < 0)
		return r;
	/* Sets first: traffic can only flow once the FDB points at the pod,
	 * and by then the filters already let it through. */
	r = pg_nft_set_update(a->nft, NFPROTO_INET, a->table, PG_SET_PEERS, true, &l->pod_ip.s_addr,
			      4, 1);
	if (r == 0)
		r = pg_nft_set_update(a->nft, NFPROTO_INET, a->table, PG_SET_PEER_MACS, true, pkey,
				      sizeof(pkey), 1);
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
	uint8_t key[CLIENT_KEY_LEN];
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
	r = peer_key(l, key);
	if (r == 0)
		r = pg_nft_set_update(a->nft, NFPROTO_INET, a->table, PG_SET_PEER_MACS, false, key,
				      sizeof(key), 1);
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
		r = pg_nft_set_update(a->nft, NFPROTO_INET, a->table, PG_SET_PEERS, false,
				      &l->pod_ip.s_addr, 4, 1);
		if (r < 0 && r != -ENOENT && !first)
			first = r;
	}
	return first;
}

struct peer_count {
	uint8_t key[CLIENT_KEY_LEN];
	uint64_t packets;
	bool found;
};

static int take_peer(const void *key, size_t key_len, uint64_t packets, uint64_t bytes, void *arg)
{
	struct peer_count *pc = arg;

	(void)bytes;
	if (key_len == CLIENT_KEY_LEN && memcmp(key, pc->key, CLIENT_KEY_LEN) == 0) {
		pc->packets = packets;
		pc->found = true;
	}
	return 0;
}

int pg_admission_peer_packets(const struct pg_admission *a, const struct pg_lease *l,
			      uint64_t *packets)
{
	struct peer_count pc = {0};
	int r = peer_key(l, pc.key);

	/* A dump interrupted by a change is redone, a few times at most. */
	for (int i = 0; r == 0 && i < 3; i++) {
		pc.found = false;
		r = pg_nft_set_counters(a->nft, NFPROTO_INET, a->table, PG_SET_PEER_MACS, take_peer,
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
	uint8_t key[CLIENT_KEY_LEN], pkey[CLIENT_KEY_LEN];
	int r = client_key(l, key);

	if (r == 0)
		r = peer_key(l, pkey);
	if (r == 0)
		r = pg_nft_table_add_elem(a->t, PG_SET_PEERS, &l->pod_ip.s_addr, 4);
	/* Two leases of one pod IP: each its own (pod IP . MAC). */
	if (r == 0)
		r = pg_nft_table_add_elem(a->t, PG_SET_PEER_MACS, pkey, sizeof(pkey));
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
	int r = pg_nft_table_add_set(t, PG_SET_PEERS, PG_KEY_IPV4, -1, false);

	/* Keys the rules read from inside the datagram (ruleset.c), for nft
	 * to list them as it loads them. */
	if (r == 0)
		r = pg_nft_table_add_set(t, PG_SET_PEER_MACS, PG_KEY_IPV4, PG_KEY_RAW6, false);
	if (r == 0)
		r = pg_nft_table_set_typeof(
		    t, PG_SET_PEER_MACS,
		    (const struct pg_nft_field[]){{PG_BASE_NETWORK, 12},
						  {PG_BASE_TRANSPORT, PG_VXLAN_INNER_ETH_SRC}});
	if (r == 0)
		r = pg_nft_table_set_counter(t, PG_SET_PEER_MACS);
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
