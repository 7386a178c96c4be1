/* SPDX-License-Identifier: MIT */
#include "nftbatch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nfnetlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>

/* A helper that cannot do its job means a broken test, not a failed
 * check. */
static void *must(void *p)
{
	if (!p) {
		fprintf(stderr, "nftbatch: out of memory\n");
		abort();
	}
	return p;
}

struct pg_prefix nft_test_prefix(const char *text)
{
	struct pg_prefix p;

	memset(&p, 0, sizeof(p));
	if (pg_prefix_parse(text, &p, false) < 0) {
		fprintf(stderr, "bad test prefix %s\n", text);
		abort();
	}
	return p;
}

int nft_batch_serialize(const struct pg_nft_table *t, struct nft_batch *b)
{
	size_t size = MNL_SOCKET_BUFFER_SIZE;

	memset(b, 0, sizeof(*b));
	for (;;) {
		b->buf = must(malloc(size));
		b->len = pg_nft_table_serialize(t, b->buf, size);
		if (b->len != -ENOBUFS)
			break;
		free(b->buf);
		size *= 2;
	}
	if (b->len < 0)
		return (int)b->len;
	return nft_batch_split(b) ? 0 : -EBADMSG;
}

bool nft_batch_split(struct nft_batch *b)
{
	const struct nlmsghdr *nlh;
	int rem = (int)(b->len > 0 ? b->len : 0);

	b->msg = must(calloc((size_t)rem / NLMSG_HDRLEN + 1, sizeof(*b->msg)));
	b->n = 0;
	for (nlh = (const void *)b->buf; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem))
		b->msg[b->n++] = nlh;
	return rem == 0;
}

void nft_batch_free(struct nft_batch *b)
{
	free(b->msg);
	free(b->buf);
	b->msg = NULL;
	b->buf = NULL;
}

uint16_t nft_msg_type(uint16_t msg)
{
	return (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | msg);
}

int nft_msg_family(const struct nlmsghdr *nlh)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);

	return g->nfgen_family;
}

size_t nft_batch_pick(const struct nft_batch *b, uint16_t type, const struct nlmsghdr **out,
		      size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n; i++)
		if (b->msg[i]->nlmsg_type == nft_msg_type(type) && n < max)
			out[n++] = b->msg[i];
	return n;
}

char *nft_rule_text(const struct nlmsghdr *nlh, char **table, char **chain)
{
	struct nftnl_rule *r = must(nftnl_rule_alloc());
	char *text = NULL, *exprs = NULL;
	size_t len;
	FILE *f;

	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		return NULL;
	}
	if (table)
		*table = must(strdup(nftnl_rule_get_str(r, NFTNL_RULE_TABLE)));
	if (chain)
		*chain = must(strdup(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN)));
	f = must(open_memstream(&text, &len));
	nftnl_rule_fprintf(f, r, NFTNL_OUTPUT_DEFAULT, 0);
	fclose(f);
	if (strchr(text, '\n'))
		exprs = must(strdup(strchr(text, '\n') + 1));
	free(text);
	nftnl_rule_free(r);
	return exprs;
}

char *nft_chain_text(const struct nlmsghdr *nlh)
{
	struct nftnl_chain *c = must(nftnl_chain_alloc());
	char *s = NULL;

	if (nftnl_chain_nlmsg_parse(nlh, c) < 0 ||
	    asprintf(&s, "%s %s %u %d", nftnl_chain_get_str(c, NFTNL_CHAIN_NAME),
		     nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE),
		     nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM),
		     nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO)) < 0)
		s = NULL;
	nftnl_chain_free(c);
	return s;
}

char *nft_set_name(const struct nlmsghdr *nlh)
{
	struct nftnl_set *st = must(nftnl_set_alloc());
	char *s = NULL;

	if (nftnl_set_nlmsg_parse(nlh, st) == 0)
		s = must(strdup(nftnl_set_get_str(st, NFTNL_SET_NAME)));
	nftnl_set_free(st);
	return s;
}

long nft_elems_read(const struct nlmsghdr *nlh, char **set, struct nft_elem *out, size_t max)
{
	struct nftnl_set *s = must(nftnl_set_alloc());
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	long n = 0;

	*set = NULL;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		return -1;
	}
	*set = must(strdup(nftnl_set_get_str(s, NFTNL_SET_NAME)));
	it = must(nftnl_set_elems_iter_create(s));
	while ((e = nftnl_set_elems_iter_next(it)) != NULL) {
		uint32_t len = 0;
		const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);

		if ((size_t)n < max) {
			struct nft_elem *o = &out[n];

			memset(o, 0, sizeof(*o));
			o->len = len;
			if (key)
				memcpy(o->key, key, len < sizeof(o->key) ? len : sizeof(o->key));
			if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
				o->flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
		}
		n++;
	}
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return n;
}

bool nft_elem_equal(const struct nft_elem *a, const struct nft_elem *b)
{
	return a->len == b->len && a->len <= sizeof(a->key) && a->flags == b->flags &&
	       memcmp(a->key, b->key, a->len) == 0;
}
