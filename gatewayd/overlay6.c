/* SPDX-License-Identifier: MIT */
#include "gatewayd/overlay6.h"

#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netfilter.h>
#include <net/if.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>

#include "common/daemon.h"
#include "common/log.h"
#include "gatewayd/admission.h"
#include "gatewayd/events.h"
#include "netlink/nft.h"
#include "netlink/rtnl.h"

#define EGRESS_RECHECK_MS 1000

int pg_overlay6_derive(const char *name, uint32_t vni, struct pg_prefix *out)
{
	uint8_t hash[32];

	if (!name || !*name)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	crypto_generichash(hash, sizeof(hash), (const uint8_t *)name, strlen(name), NULL, 0);
	memset(out, 0, sizeof(*out));
	out->family = AF_INET6;
	out->len = PG_OVERLAY6_LEN;
	out->bytes[0] = 0xfd;
	memcpy(out->bytes + 1, hash, 5);
	out->bytes[6] = (uint8_t)(vni >> 8);
	out->bytes[7] = (uint8_t)vni;
	return 0;
}

void pg_overlay6_complete_config(struct pg_config *cfg)
{
	char name[PG_NAMESPACE_MAX + 1];
	int r;

	if (cfg->overlay6.off || cfg->overlay6.prefix.family)
		return;
	r = pg_events_gateway_name(cfg, name);
	if (r == 0)
		r = pg_overlay6_derive(name, cfg->vxlan_id, &cfg->overlay6.prefix);
	if (r < 0) {
		pg_warn("VXLAN_IPV6_NETWORK: cannot derive a prefix (no gateway name: %s): the "
			"overlay carries no IPv6; set it or EVENTS_GATEWAY_NAME",
			strerror(-r));
		cfg->overlay6.off = true;
	}
}

bool pg_overlay6_configured(const struct pg_config *cfg)
{
	return !cfg->overlay6.off && cfg->overlay6.prefix.family == AF_INET6;
}

/* The host index fills the last 32 bits: an IPv4 overlay is /16 at most. */
void pg_overlay6_host(const struct pg_prefix *net6, const struct pg_prefix *net4, struct in_addr a4,
		      struct pg_prefix *out)
{
	uint32_t index = ntohl(a4.s_addr) - ntohl(pg_prefix_v4(net4).s_addr);

	*out = *net6;
	out->len = 128;
	out->bytes[12] = (uint8_t)(index >> 24);
	out->bytes[13] = (uint8_t)(index >> 16);
	out->bytes[14] = (uint8_t)(index >> 8);
	out->bytes[15] = (uint8_t)index;
}

void pg_overlay6_gateway(const struct pg_prefix *net6, struct pg_prefix *out)
{
	*out = *net6;
	out->len = 128;
	out->bytes[15] = 1;
}

/* IPv6 egress: the route the kernel would take to the internet's IPv6
 * (2000::/3, asked for its first address) leaves through the egress. A
 * lookup, not a search for ::/0, so that a VPN routing 2000::/3 or
 * OpenVPN's redirect-gateway ipv6 halves counts as much as a default. */
static bool egress_routes_internet(struct pg_overlay6 *o)
{
	struct pg_prefix internet = {.family = AF_INET6, .len = 128, .bytes = {0x20}};
	struct pg_route via;
	unsigned ifindex = if_nametoindex(o->egress_if);

	return ifindex && pg_route_lookup(o->rt, &internet, &via) == 0 && via.oif == (int)ifindex;
}

bool pg_overlay6_egress(struct pg_overlay6 *o)
{
	uint64_t now = pg_monotonic_ms();
	bool egress;

	if (!o || !o->on)
		return false;
	if (o->decided && now - o->decided_ms < EGRESS_RECHECK_MS)
		return o->egress;
	egress = egress_routes_internet(o);
	if (!o->decided || egress != o->egress)
		pg_info("IPv6: the internet's IPv6 %s through %s: grants carry %sIPv6 (%s)",
			egress ? "routes" : "does not route", o->egress_if, egress ? "" : "no ",
			pg_prefix_fmt(&o->net, (char[PG_PREFIX_STRLEN]){0}, true));
	o->egress = egress;
	o->decided = true;
	o->decided_ms = now;
	return egress;
}

void pg_overlay6_grant(struct pg_overlay6 *o, const struct pg_lease *l, struct pg_msg *ans)
{
	struct pg_prefix a, gw;

	if (!pg_overlay6_egress(o))
		return;
	pg_overlay6_host(&o->net, &o->net4, l->addr, &a);
	pg_overlay6_gateway(&o->net, &gw);
	memcpy(ans->addr6.s6_addr, a.bytes, 16);
	ans->prefix_len6 = PG_OVERLAY6_LEN;
	memcpy(ans->gateway_addr6.s6_addr, gw.bytes, 16);
	ans->has_addr6 = true;
}

int pg_overlay6_pair_key(const struct pg_prefix *net6, const struct pg_prefix *net4,
			 const struct pg_lease *l, uint8_t key[PG_OVERLAY6_PAIR_KEY_LEN])
{
	struct pg_prefix a;
	long n;

	pg_overlay6_host(net6, net4, l->addr, &a);
	n = pg_nft_key_pack(key, PG_OVERLAY6_PAIR_KEY_LEN, PG_KEY_IPV6, a.bytes, PG_KEY_ETHER,
			    l->mac);
	return n == PG_OVERLAY6_PAIR_KEY_LEN ? 0 : -EINVAL;
}

static bool absent(int r)
{
	return r == -ENOENT || r == -ESRCH;
}

int pg_overlay6_admit(const struct pg_overlay6 *o, const struct pg_admission *a,
		      const struct pg_lease *l, bool add)
{
	uint8_t key[PG_OVERLAY6_PAIR_KEY_LEN];
	struct pg_prefix addr;
	int r, first = 0;

	if (!o || !o->on)
		return 0;
	pg_overlay6_host(&o->net, &o->net4, l->addr, &addr);
	if ((r = pg_overlay6_pair_key(&o->net, &o->net4, l, key)) < 0)
		return r;
	/* As for IPv4: the filter first, then the way to the client. */
	if (add) {
		r = pg_nft_set_update(a->nft, NFPROTO_INET, a->table, PG_SET_CLIENTS6, true, key,
				      sizeof(key), 1);
		return r < 0 ? r : pg_neigh_add(a->rt, a->vxlan_ifindex, &addr, l->mac);
	}
	r = pg_neigh_del(a->rt, a->vxlan_ifindex, &addr);
	if (r < 0 && !absent(r))
		first = r;
	r = pg_nft_set_update(a->nft, NFPROTO_INET, a->table, PG_SET_CLIENTS6, false, key,
			      sizeof(key), 1);
	if (r < 0 && !absent(r) && !first)
		first = r;
	return first;
}

bool pg_overlay6_admitted(const struct pg_overlay6 *o, const struct pg_admission *a,
			  const struct pg_lease *l)
{
	struct pg_prefix addr;
	uint8_t mac[6];
	uint16_t state = 0;

	if (!o || !o->on)
		return true;
	pg_overlay6_host(&o->net, &o->net4, l->addr, &addr);
	return pg_neigh_get(a->rt, a->vxlan_ifindex, &addr, mac, &state) == 0 &&
	       memcmp(mac, l->mac, 6) == 0 && (state & NUD_PERMANENT);
}
