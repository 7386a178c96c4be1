/* SPDX-License-Identifier: MIT */
#ifndef PODGW_NFT_H
#define PODGW_NFT_H

/* nftables through libnftnl over libmnl. A daemon owns exactly one table:
 * it describes the whole table in memory (struct pg_nft_table) and replaces
 * it in one atomic batch; per-client changes are set-element batches. Tables
 * we do not own are never touched. Calls return 0 or a negative errno; after
 * a failure pg_nft_errmsg() has the kernel's extended-ack text (or ""). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

struct pg_nft;	     /* the netlink socket */
struct pg_nft_table; /* a table description, built then committed */
struct pg_nft_rule;  /* a rule inside a table description */

enum pg_nft_hook {
	PG_HOOK_PREROUTING,
	PG_HOOK_INPUT,
	PG_HOOK_FORWARD,
	PG_HOOK_OUTPUT,
	PG_HOOK_POSTROUTING,
};

enum pg_nft_chain_type { PG_CHAIN_FILTER, PG_CHAIN_NAT };

/* Set key types; a set's key is one type or a concatenation of two. The
 * raw ones are what a raw field (pg_nft_match_fields_in_set) holds: nft's
 * untyped integer of 4 or 6 bytes (an address, a MAC inside a tunnel). */
enum pg_nft_key {
	PG_KEY_IPV4,
	PG_KEY_IPV6,
	PG_KEY_ETHER,
	PG_KEY_INET_SERVICE,
	PG_KEY_RAW4,
	PG_KEY_RAW6,
};

/* ct state bits, as the kernel defines them (NF_CT_STATE_BIT). */
#define PG_CT_INVALID	  (1u << 0)
#define PG_CT_ESTABLISHED (1u << 1)
#define PG_CT_RELATED	  (1u << 2)
#define PG_CT_NEW	  (1u << 3)
/* ct status bits (IPS_SRC_NAT, IPS_DST_NAT): the connection was NATed. */
#define PG_CT_STATUS_SNAT (1u << 4)
#define PG_CT_STATUS_DNAT (1u << 5)

int pg_nft_open(struct pg_nft **out);
void pg_nft_close(struct pg_nft *nft);
const char *pg_nft_errmsg(const struct pg_nft *nft);
/* The socket's netlink port id, which the kernel stamps on the
 * notifications our batches cause (see netlink/monitor.h). */
uint32_t pg_nft_portid(const struct pg_nft *nft);

/* family: NFPROTO_INET, NFPROTO_IPV4 or NFPROTO_IPV6 (else NULL, errno EINVAL). */
struct pg_nft_table *pg_nft_table_new(int family, const char *name);
void pg_nft_table_free(struct pg_nft_table *t);
/* The first builder error that stuck to t (0: none, -EINVAL for NULL). */
int pg_nft_table_error(const struct pg_nft_table *t);
int pg_nft_table_add_chain(struct pg_nft_table *t, const char *chain, enum pg_nft_chain_type type,
			   enum pg_nft_hook hook, int priority, bool policy_drop);
int pg_nft_table_add_set(struct pg_nft_table *t, const char *set, enum pg_nft_key key,
			 enum pg_nft_key key2_or_minus1, bool interval);
/* Elements committed with the table, so a replace never leaves a set empty.
 * key is laid out as for pg_nft_set_update; in an interval set a key is a
 * range of one. Prefixes go into interval sets of ipv4_addr or ipv6_addr.
 * An interval set cannot be a concatenation (-EOPNOTSUPP). */
int pg_nft_table_add_elem(struct pg_nft_table *t, const char *set, const void *key, size_t key_len);
int pg_nft_table_add_prefix(struct pg_nft_table *t, const char *set, const struct pg_prefix *p);
/* Makes set a counted one (before its first element; not an interval set):
 * every element carries a packet and byte counter that a rule's lookup of
 * it (`ip saddr @set`) updates, read back with pg_nft_set_counters. The
 * counted elements of a table description start at the given values, so a
 * replaced table can carry its counts on. */
int pg_nft_table_set_counter(struct pg_nft_table *t, const char *set);
int pg_nft_table_add_elem_counted(struct pg_nft_table *t, const char *set, const void *key,
				  size_t key_len, uint64_t packets, uint64_t bytes);

/* An element key as the kernel wants it: values in network order, each field
 * of a concatenation padded to 4 bytes (ipv4_addr . ether_addr is 12 bytes:
 * address, MAC, two zero bytes). v1 and v2 have the type's natural length
 * (4, 16, 6, 2). Both return the key length or -EINVAL (-ENOBUFS if size is
 * too small). */
long pg_nft_key_len(enum pg_nft_key key, enum pg_nft_key key2_or_minus1);
long pg_nft_key_pack(void *out, size_t size, enum pg_nft_key key, const void *v1,
		     enum pg_nft_key key2_or_minus1, const void *v2);

/* A rule is a sequence of matches ending in one action, appended to chain in
 * the order built. Matches fail with -EINVAL on nonsense (e.g. v6 prefix in
 * an ip match, host bits under a prefix, a match after the action, an
 * unknown set); pg_nft_rule_new gives NULL with errno EINVAL for an unknown
 * chain. The first error of any builder call sticks to the table: serialize
 * and commit return it, so a half-built table is never installed. In inet
 * tables address matches add `meta nfproto` as nft does. */
struct pg_nft_rule *pg_nft_rule_new(struct pg_nft_table *t, const char *chain);
int pg_nft_match_iifname(struct pg_nft_rule *r, const char *ifname, bool negate);
int pg_nft_match_oifname(struct pg_nft_rule *r, const char *ifname, bool negate);
int pg_nft_match_nfproto(struct pg_nft_rule *r, int nfproto);
int pg_nft_match_ct_state(struct pg_nft_rule *r, uint32_t states);
int pg_nft_match_ct_status(struct pg_nft_rule *r, uint32_t status);	 /* any of the bits */
int pg_nft_match_ct_status_none(struct pg_nft_rule *r, uint32_t status); /* none of them */
/* `meta mark MARK` (or !=): the packet's mark, which only a socket of a
 * process with CAP_NET_ADMIN (SO_MARK) or a rule can set. */
int pg_nft_match_mark(struct pg_nft_rule *r, uint32_t mark, bool negate);
int pg_nft_match_saddr(struct pg_nft_rule *r, const struct pg_prefix *p); /* ip or ip6 */
int pg_nft_match_daddr(struct pg_nft_rule *r, const struct pg_prefix *p);
int pg_nft_match_l4proto(struct pg_nft_rule *r, uint8_t proto);
int pg_nft_match_dport(struct pg_nft_rule *r, uint8_t proto, uint16_t port); /* host order */
int pg_nft_match_sport(struct pg_nft_rule *r, uint8_t proto, uint16_t port); /* host order */
int pg_nft_match_saddr_in_set(struct pg_nft_rule *r, int family, const char *set, bool negate);
int pg_nft_match_daddr_in_set(struct pg_nft_rule *r, int family, const char *set, bool negate);
/* ip saddr . ether saddr against a set of ipv4_addr . ether_addr (ip6
 * saddr . ether saddr for one of ipv6_addr . ether_addr); needs a
 * link-layer header, so only in prerouting, input and forward chains (adds
 * `meta iiftype ether` as nft does). */
int pg_nft_match_saddr_ether_in_set(struct pg_nft_rule *r, const char *set, bool negate);
/* Raw packet fields, for what nft has no name for (the frame a VXLAN
 * datagram carries). A transport field needs a protocol matched first
 * (pg_nft_match_l4proto or a port match), a network field a family
 * (pg_nft_match_nfproto or an address match), a link-layer field a
 * prerouting, input or forward chain (adds `meta iiftype ether`). A field
 * beyond the packet's end makes the rule not match. */
enum pg_nft_base { PG_BASE_LL, PG_BASE_NETWORK, PG_BASE_TRANSPORT };
struct pg_nft_field {
	enum pg_nft_base base;
	uint32_t offset; /* bytes */
};
/* `@th,OFFSET,LEN == DATA` (or !=), len 1 to 16 bytes in network order. */
int pg_nft_match_raw(struct pg_nft_rule *r, struct pg_nft_field f, const void *data, size_t len,
		     bool negate);
/* The set's key read from the packet: its first type's length at f[0] and,
 * for a concatenation, its second's at f[1] (e.g. `ip saddr . @th,176,48`
 * against ipv4_addr . ether_addr). */
int pg_nft_match_fields_in_set(struct pg_nft_rule *r, const char *set, const struct pg_nft_field *f,
			       bool negate);
/* Tells nft where a concatenated set's key parts are read from (its
 * `typeof`: an IPv4 part at network offset 12 is `ip saddr`, an IPv6 one at
 * offset 8 `ip6 saddr`, anything else a raw field), which nft needs to list raw keys in a form it
 * loads back
 * (`nft list ruleset > f; nft -f f`). f has one field per key part. */
int pg_nft_table_set_typeof(struct pg_nft_table *t, const char *set, const struct pg_nft_field *f);
int pg_nft_counter(struct pg_nft_rule *r);
int pg_nft_accept(struct pg_nft_rule *r);
int pg_nft_drop(struct pg_nft_rule *r);
/* Both need a nat chain: masquerade in postrouting, snat in postrouting or
 * input. A prefix as snat target is a range of addresses. */
int pg_nft_masquerade(struct pg_nft_rule *r);
int pg_nft_snat(struct pg_nft_rule *r, const struct pg_prefix *to);
/* dnat to an address (a prefix: a range) in a nat prerouting or output
 * chain; port (host order) non-zero also rewrites the destination port and
 * needs a protocol with ports matched first (pg_nft_match_l4proto or
 * pg_nft_match_dport); 0 keeps it. */
int pg_nft_dnat(struct pg_nft_rule *r, const struct pg_prefix *to, uint16_t port);
/* `tcp flags syn`: the SYN bit set (SYN-ACK too). */
int pg_nft_match_tcp_flags_syn(struct pg_nft_rule *r);
/* `tcp option maxseg size set rt mtu`: lowers (never raises) the MSS option
 * to what the route's MTU allows. Needs a TCP match first (usually
 * pg_nft_match_tcp_flags_syn) and a filter chain in forward, output or
 * postrouting; ends the rule like an action. */
int pg_nft_clamp_mss_to_pmtu(struct pg_nft_rule *r);

/* Builds the batch (create table, delete it, create it with everything) into
 * buf without sending; for tests and fuzzers. Sequence numbers start at 1.
 * Returns bytes used, -ENOBUFS if buf is too small, or the table's error. */
long pg_nft_table_serialize(const struct pg_nft_table *t, void *buf, size_t size);
/* Replaces the kernel's table with this description in one transaction:
 * afterwards its sets hold only the description's elements. -ENOBUFS means
 * our receive queue overflowed and the outcome is unknown; commit again. */
int pg_nft_table_commit(struct pg_nft *nft, const struct pg_nft_table *t);
int pg_nft_table_delete(struct pg_nft *nft, int family, const char *name); /* -ENOENT if absent */

/* Adds (add=true) or deletes set elements in one batch. Each key is
 * key_len bytes, network order (an IPv4 address is 4 bytes; see
 * pg_nft_key_pack for concatenations). Adding a present key is not an error;
 * deleting an absent one fails with -ENOENT and changes nothing. Not for
 * interval sets. */
int pg_nft_set_update(struct pg_nft *nft, int family, const char *table, const char *set, bool add,
		      const void *keys, size_t key_len, size_t count);
/* Dumps a counted set of the kernel's table: fn gets each element's key and
 * counts (0, 0 for an uncounted set); a non-zero return from fn stops the
 * dump's processing and is returned. -ENOENT: no such table or set; -EAGAIN:
 * the set changed during the dump (fn saw part of it): ask again. */
int pg_nft_set_counters(struct pg_nft *nft, int family, const char *table, const char *set,
			int (*fn)(const void *key, size_t key_len, uint64_t packets, uint64_t bytes,
				  void *arg),
			void *arg);

/* The batch pg_nft_set_update sends, for tests and fuzzers (as serialize). */
long pg_nft_set_update_serialize(int family, const char *table, const char *set, bool add,
				 const void *keys, size_t key_len, size_t count, void *buf,
				 size_t size);

#endif
