/* SPDX-License-Identifier: MIT */
#ifndef PODGW_TEST_NFTBATCH_H
#define PODGW_TEST_NFTBATCH_H

/* The unit tests' one way to read an nftables batch back: serialize a
 * table, split the buffer into its netlink messages, and turn rules,
 * chains and sets into text with libnftnl. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#include "common/addr.h"
#include "netlink/nft.h"

struct nft_batch {
	char *buf;
	long len;
	const struct nlmsghdr **msg;
	size_t n;
};

/* A prefix from test text (host bits allowed); aborts on a typo. */
struct pg_prefix nft_test_prefix(const char *text);

/* Serializes t into a buffer grown until it fits and splits it. Returns 0
 * or the serializer's negative errno (then b->len holds it). */
int nft_batch_serialize(const struct pg_nft_table *t, struct nft_batch *b);

/* Splits b->buf[0..b->len) into b->msg; false when bytes are left over. */
bool nft_batch_split(struct nft_batch *b);

void nft_batch_free(struct nft_batch *b);

/* The netlink type of an nftables message. */
uint16_t nft_msg_type(uint16_t msg);

int nft_msg_family(const struct nlmsghdr *nlh);

/* The messages of one nftables type, in order, at most max. */
size_t nft_batch_pick(const struct nft_batch *b, uint16_t type, const struct nlmsghdr **out,
		      size_t max);

/* A NEWRULE's expressions as libnftnl prints them (without the first
 * line, which names family, table and chain); its table and chain copied
 * when asked. NULL when it does not parse. */
char *nft_rule_text(const struct nlmsghdr *nlh, char **table, char **chain);

/* A NEWCHAIN as "name type hook prio". */
char *nft_chain_text(const struct nlmsghdr *nlh);

/* A NEWSET's name. */
char *nft_set_name(const struct nlmsghdr *nlh);

/* One set element: key and flags. */
struct nft_elem {
	uint8_t key[16];
	uint32_t len, flags;
};

/* The elements of a set element message, in order: at most max into out,
 * the set's name copied to *set. Returns how many the message holds, or -1
 * when it does not parse. */
long nft_elems_read(const struct nlmsghdr *nlh, char **set, struct nft_elem *out, size_t max);

bool nft_elem_equal(const struct nft_elem *a, const struct nft_elem *b);

#endif
