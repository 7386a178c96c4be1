/* SPDX-License-Identifier: MIT */
#ifndef PODGW_OVERLAY6_H
#define PODGW_OVERLAY6_H

/* The IPv6 overlay beside the IPv4 one (docs/membership.md, "IPv6"): a /64
 * (VXLAN_IPV6_NETWORK, or derived from the gateway's name and VXLAN_ID),
 * the gateway at PREFIX::1, each client at the prefix plus its IPv4
 * lease's host index, so that the lease decides both families. A GRANT
 * carries IPv6 only while the internet's IPv6 routes through the egress. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/wire.h"
#include "gatewayd/pool.h"

struct pg_admission;
struct pg_rtnl;
struct pg_nft;

#define PG_SET_CLIENTS6 "clients6" /* overlay IPv6 . MAC: what may send from the overlay */
#define PG_OVERLAY6_LEN 64

/* fd, the first 40 bits of BLAKE2b-256(name), the low 16 bits of vni:
 * fdXX:XXXX:XXXX:VVVV::/64. -EINVAL for an empty name, -EIO when
 * libsodium cannot initialise. */
int pg_overlay6_derive(const char *name, uint32_t vni, struct pg_prefix *out);

/* Fills cfg->overlay6.prefix when VXLAN_IPV6_NETWORK was left empty (from
 * pg_events_gateway_name()); leaves it alone when set or off. On failure
 * (no name) it logs and turns the IPv6 overlay off. */
void pg_overlay6_complete_config(struct pg_config *cfg);

/* Whether the configuration has an IPv6 overlay (after completion). */
bool pg_overlay6_configured(const struct pg_config *cfg);

/* The IPv6 overlay address of the IPv4 overlay address a4 (/128): net6
 * plus a4's host index in net4. index 1 is the gateway's. */
void pg_overlay6_host(const struct pg_prefix *net6, const struct pg_prefix *net4, struct in_addr a4,
		      struct pg_prefix *out);
void pg_overlay6_gateway(const struct pg_prefix *net6, struct pg_prefix *out);

/* Lease l's element of PG_SET_CLIENTS6: its IPv6 overlay address (as
 * pg_overlay6_host) . its MAC, padded to 8 bytes. 0, or -EINVAL. */
#define PG_OVERLAY6_PAIR_KEY_LEN 24
int pg_overlay6_pair_key(const struct pg_prefix *net6, const struct pg_prefix *net4,
			 const struct pg_lease *l, uint8_t key[PG_OVERLAY6_PAIR_KEY_LEN]);

/* The running gateway's IPv6 state. */
struct pg_overlay6 {
	bool on;	      /* the link carries PREFIX::1 and IPv6 forwarding is on */
	struct pg_prefix net; /* the /64 */
	struct pg_prefix net4;
	struct pg_rtnl *rt;
	const char *egress_if; /* VPN_INTERFACE, else UNDERLAY_INTERFACE */
	bool egress;	       /* the last decision */
	bool decided;
	uint64_t decided_ms;
};

/* Whether GRANTs carry IPv6 now: on, and the egress has an IPv6 default
 * route. Asks the kernel at most once a second; a change is logged. */
bool pg_overlay6_egress(struct pg_overlay6 *o);

/* Adds ADDR6 and GATEWAY6 for lease l to a GRANT when IPv6 is granted. */
void pg_overlay6_grant(struct pg_overlay6 *o, const struct pg_lease *l, struct pg_msg *ans);

/* A lease's IPv6 kernel state: its permanent neighbour (address -> MAC)
 * on the vxlan link and its (address . MAC) pair in PG_SET_CLIENTS6. With
 * add false, best effort through both; absent entries are not errors. 0
 * when o is NULL or off. */
int pg_overlay6_admit(const struct pg_overlay6 *o, const struct pg_admission *a,
		      const struct pg_lease *l, bool add);
/* Whether the lease's neighbour entry is in place (repair's read-only
 * check); true when o is NULL or off. */
bool pg_overlay6_admitted(const struct pg_overlay6 *o, const struct pg_admission *a,
			  const struct pg_lease *l);

#endif
