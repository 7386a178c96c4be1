/* SPDX-License-Identifier: MIT */
#include "netlink/nft.h"
#include "netlink/nlsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

/* Largest message we build: headers, a few small attributes (names are
 * shorter than NFT_NAME_MAXLEN) and one nest, whose length is a u16. nftnl
 * writes without bound checks, so each message is built in a scratch buffer
 * this large and then copied into the batch. */
#define MSG_SMALL_ATTRS 8
#define MSG_MAX                                                                                    \
	(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)) +                                     \
	 MSG_SMALL_ATTRS * NLA_ALIGN(NLA_HDRLEN + NFT_NAME_MAXLEN) + UINT16_MAX)

/* Every expression we emit is under 1 KiB (its largest field is a set name),
 * so a rule's expression nest stays far below the u16 limit above. */
#define RULE_MAX_EXPRS 32

/* What one ACK costs our receive queue, skb overhead included; nft budgets
 * the same when it sizes its socket for a batch. */
#define ACK_COST 1024

/* nft's datatype ids; a concatenation's type is (t1 << 6) | t2. */
#define TYPE_BITS 6

static const struct {
	uint32_t type, len;
} key_info[] = {
    [PG_KEY_IPV4] = {7, 4},	     [PG_KEY_IPV6] = {8, 16}, [PG_KEY_ETHER] = {9, 6},
    [PG_KEY_INET_SERVICE] = {13, 2}, [PG_KEY_RAW4] = {4, 4},  [PG_KEY_RAW6] = {4, 6},
};

static const uint32_t hooknum[] = {
    [PG_HOOK_PREROUTING] = NF_INET_PRE_ROUTING,	  [PG_HOOK_INPUT] = NF_INET_LOCAL_IN,
    [PG_HOOK_FORWARD] = NF_INET_FORWARD,	  [PG_HOOK_OUTPUT] = NF_INET_LOCAL_OUT,
    [PG_HOOK_POSTROUTING] = NF_INET_POST_ROUTING,
};

struct pg_nft {
	int fd;
	uint32_t portid;
	uint32_t seq;
	struct pg_nlbuf rx;
	char *errmsg; /* NULL means "" */
};

struct chain {
	char *name;
	enum pg_nft_chain_type type;
	enum pg_nft_hook hook;
	int prio;
	bool drop;
};

struct set {
	char *name;
	enum pg_nft_key key;
	int key2; /* -1: no concatenation */
	bool interval;
	uint32_t id, key_len;
	uint8_t *keys; /* n keys of key_len bytes, each with its element flags */
	uint32_t *eflags;
	uint64_t *ctr; /* counted sets: packets and bytes of each key to start with */
	size_t n, cap;
	bool counter; /* each element carries a counter that lookups update */
	bool has_typeof;
	struct pg_nft_field parts[2]; /* with has_typeof: where the key is read */
};

struct pg_nft_rule {
	struct pg_nft_table *t;
	size_t chain;
	struct nftnl_rule *nr;
	int nfproto; /* the family matched so far, 0 for any */
	int l4proto; /* -1 for any */
	bool iiftype_ether;
	bool done; /* has its action */
	unsigned nexprs;
};

struct pg_nft_table {
	int family;
	char *name;
	int err; /* first builder error; serialize and commit return it */
	struct chain *chains;
	size_t nchains;
	struct set *sets;
	size_t nsets;
	struct pg_nft_rule **rules;
	size_t nrules;
};

/* A batch being built, in the caller's fixed buffer or a growing heap one. */
struct batch {
	char *buf;
	size_t len, cap;
	bool fixed;
	char *scratch;
	uint32_t first; /* BATCH_BEGIN's sequence number */
	uint32_t seq;	/* the next one */
};

static bool name_ok(const char *name)
{
	return name && name[0] && strlen(name) < NFT_NAME_MAXLEN;
}

static bool key_ok(int key)
{
	return key >= 0 && (size_t)key < sizeof(key_info) / sizeof(key_info[0]);
}

static uint32_t round4(uint32_t n)
{
	return (n + 3) & ~3u;
}

/* ---- element keys ---- */

long pg_nft_key_len(enum pg_nft_key key, enum pg_nft_key key2_or_minus1)
{
	int key2 = (int)key2_or_minus1;

	if (!key_ok(key) || (key2 != -1 && !key_ok(key2)))
		return -EINVAL;
	if (key2 == -1)
		return key_info[key].len;
	return round4(key_info[key].len) + round4(key_info[key2].len);
}

long pg_nft_key_pack(void *out, size_t size, enum pg_nft_key key, const void *v1,
		     enum pg_nft_key key2_or_minus1, const void *v2)
{
	long len = pg_nft_key_len(key, key2_or_minus1);
	int key2 = (int)key2_or_minus1;

	if (len < 0 || !out || !v1 || (key2 != -1 && !v2))
		return -EINVAL;
	if ((size_t)len > size)
		return -ENOBUFS;
	memset(out, 0, len);
	memcpy(out, v1, key_info[key].len);
	if (key2 != -1)
		memcpy((uint8_t *)out + round4(key_info[key].len), v2, key_info[key2].len);
	return len;
}

/* ---- table description ---- */

static int fail(struct pg_nft_table *t, int err)
{
	if (t && !t->err)
		t->err = err;
	return err;
}

static struct chain *find_chain(const struct pg_nft_table *t, const char *name, size_t *index)
{
	for (size_t i = 0; name && i < t->nchains; i++) {
		if (strcmp(t->chains[i].name, name) == 0) {
			if (index)
				*index = i;
			return &t->chains[i];
		}
	}
	return NULL;
}

static struct set *find_set(const struct pg_nft_table *t, const char *name)
{
	for (size_t i = 0; name && i < t->nsets; i++)
		if (strcmp(t->sets[i].name, name) == 0)
			return &t->sets[i];
	return NULL;
}

struct pg_nft_table *pg_nft_table_new(int family, const char *name)
{
	struct pg_nft_table *t;

	if ((family != NFPROTO_INET && family != NFPROTO_IPV4 && family != NFPROTO_IPV6) ||
	    !name_ok(name)) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->family = family;
	t->name = strdup(name);
	if (!t->name) {
		free(t);
		return NULL;
	}
	return t;
}

void pg_nft_table_free(struct pg_nft_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrules; i++) {
		nftnl_rule_free(t->rules[i]->nr);
		free(t->rules[i]);
	}
	for (size_t i = 0; i < t->nchains; i++)
		free(t->chains[i].name);
	for (size_t i = 0; i < t->nsets; i++) {
		free(t->sets[i].name);
		free(t->sets[i].keys);
		free(t->sets[i].eflags);
		free(t->sets[i].ctr);
	}
	free(t->rules);
	free(t->chains);
	free(t->sets);
	free(t->name);
	free(t);
}

int pg_nft_table_error(const struct pg_nft_table *t)
{
	return t ? t->err : -EINVAL;
}

int pg_nft_table_add_chain(struct pg_nft_table *t, const char *chain, enum pg_nft_chain_type type,
			   enum pg_nft_hook hook, int priority, bool policy_drop)
{
	struct chain *c;
	char *name;

	if (!t)
		return -EINVAL;
	if (!name_ok(chain) || (type != PG_CHAIN_FILTER && type != PG_CHAIN_NAT) ||
	    (unsigned)hook > PG_HOOK_POSTROUTING ||
	    (type == PG_CHAIN_NAT && hook == PG_HOOK_FORWARD))
		return fail(t, -EINVAL);
	if (find_chain(t, chain, NULL))
		return fail(t, -EEXIST);
	name = strdup(chain);
	c = realloc(t->chains, (t->nchains + 1) * sizeof(*c));
	if (!name || !c) {
		free(name);
		if (c)
			t->chains = c;
		return fail(t, -ENOMEM);
	}
	t->chains = c;
	t->chains[t->nchains++] = (struct chain){name, type, hook, priority, policy_drop};
	return 0;
}

int pg_nft_table_add_set(struct pg_nft_table *t, const char *set, enum pg_nft_key key,
			 enum pg_nft_key key2_or_minus1, bool interval)
{
	long key_len = pg_nft_key_len(key, key2_or_minus1);
	struct set *s;
	char *name;

	if (!t)
		return -EINVAL;
	if (!name_ok(set) || key_len < 0)
		return fail(t, -EINVAL);
	/* A concatenated interval set needs start and end keys per element
	 * (pipapo); nothing here needs one. */
	if (interval && (int)key2_or_minus1 != -1)
		return fail(t, -EOPNOTSUPP);
	if (find_set(t, set))
		return fail(t, -EEXIST);
	name = strdup(set);
	s = realloc(t->sets, (t->nsets + 1) * sizeof(*s));
	if (!name || !s) {
		free(name);
		if (s)
			t->sets = s;
		return fail(t, -ENOMEM);
	}
	t->sets = s;
	/* The id lets rules of the same batch refer to the set before the
	 * kernel has given it a handle. */
	t->sets[t->nsets] = (struct set){
	    .name = name,
	    .key = key,
	    .key2 = (int)key2_or_minus1,
	    .interval = interval,
	    .id = (uint32_t)t->nsets + 1,
	    .key_len = (uint32_t)key_len,
	};
	t->nsets++;
	return 0;
}

static int set_push(struct set *s, const uint8_t *key, uint32_t eflags)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		uint8_t *keys = realloc(s->keys, cap * s->key_len);
		uint32_t *fl;

		if (!keys)
			return -ENOMEM;
		s->keys = keys;
		fl = realloc(s->eflags, cap * sizeof(*fl));
		if (!fl)
			return -ENOMEM;
		s->eflags = fl;
		if (s->counter) {
			uint64_t *ctr = realloc(s->ctr, cap * 2 * sizeof(*ctr));

			if (!ctr)
				return -ENOMEM;
			s->ctr = ctr;
		}
		s->cap = cap;
	}
	memcpy(s->keys + s->n * s->key_len, key, s->key_len);
	if (s->counter)
		s->ctr[2 * s->n] = s->ctr[2 * s->n + 1] = 0;
	s->eflags[s->n++] = eflags;
	return 0;
}

int pg_nft_table_set_counter(struct pg_nft_table *t, const char *set)
{
	struct set *s;

	if (!t)
		return -EINVAL;
	s = find_set(t, set);
	/* before any element: their counters are sized with the keys */
	if (!s || s->interval || s->n)
		return fail(t, -EINVAL);
	s->counter = true;
	return 0;
}

int pg_nft_table_set_typeof(struct pg_nft_table *t, const char *set, const struct pg_nft_field *f)
{
	struct set *s;

	if (!t)
		return -EINVAL;
	s = find_set(t, set);
	if (!s || !f || s->key2 == -1 || (unsigned)f[0].base > PG_BASE_TRANSPORT ||
	    (unsigned)f[1].base > PG_BASE_TRANSPORT)
		return fail(t, -EINVAL);
	s->has_typeof = true;
	memcpy(s->parts, f, sizeof(s->parts));
	return 0;
}

int pg_nft_table_add_elem_counted(struct pg_nft_table *t, const char *set, const void *key,
				  size_t key_len, uint64_t packets, uint64_t bytes)
{
	struct set *s;
	int r;

	if (!t)
		return -EINVAL;
	s = find_set(t, set);
	if (!s || !s->counter || !key || key_len != s->key_len)
		return fail(t, -EINVAL);
	r = set_push(s, key, 0);
	if (r < 0)
		return fail(t, r);
	s->ctr[2 * (s->n - 1)] = packets;
	s->ctr[2 * (s->n - 1) + 1] = bytes;
	return 0;
}

/* An interval set holds [start, end): the start, then the first key past the
 * range flagged as an end. A range reaching the top of the key space has no
 * end element; the kernel reads it as open. */
static int set_push_range(struct set *s, const uint8_t *start, const uint8_t *last)
{
	uint8_t end[NFT_DATA_VALUE_MAXLEN];
	int i, r;

	r = set_push(s, start, 0);
	if (r < 0)
		return r;
	memcpy(end, last, s->key_len);
	for (i = (int)s->key_len - 1; i >= 0; i--)
		if (++end[i] != 0)
			break;
	if (i < 0)
		return 0;
	return set_push(s, end, NFT_SET_ELEM_INTERVAL_END);
}

int pg_nft_table_add_elem(struct pg_nft_table *t, const char *set, const void *key, size_t key_len)
{
	struct set *s;
	int r;

	if (!t)
		return -EINVAL;
	s = find_set(t, set);
	if (!s || !key || key_len != s->key_len)
		return fail(t, -EINVAL);
	r = s->interval ? set_push_range(s, key, key) : set_push(s, key, 0);
	return r < 0 ? fail(t, r) : 0;
}

static bool prefix_ok(const struct pg_prefix *p)
{
	size_t bytes;

	if (!p || (p->family != AF_INET && p->family != AF_INET6))
		return false;
	bytes = p->family == AF_INET ? 4 : 16;
	if (p->len > bytes * 8)
		return false;
	for (unsigned bit = p->len; bit < bytes * 8; bit++)
		if (p->bytes[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

/* The prefix's mask and last address, in network order. */
static void prefix_mask(const struct pg_prefix *p, uint8_t *mask, uint8_t *last, size_t bytes)
{
	for (size_t i = 0; i < bytes; i++) {
		unsigned bits = p->len > i * 8 ? p->len - i * 8 : 0;

		mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);
		if (last)
			last[i] = p->bytes[i] | (uint8_t)~mask[i];
	}
}

int pg_nft_table_add_prefix(struct pg_nft_table *t, const char *set, const struct pg_prefix *p)
{
	uint8_t mask[16], last[16];
	struct set *s;
	int r;

	if (!t)
		return -EINVAL;
	s = find_set(t, set);
	if (!s || !s->interval || !prefix_ok(p) ||
	    (s->key != (p->family == AF_INET ? PG_KEY_IPV4 : PG_KEY_IPV6)))
		return fail(t, -EINVAL);
	prefix_mask(p, mask, last, s->key_len);
	r = set_push_range(s, p->bytes, last);
	return r < 0 ? fail(t, r) : 0;
}

/* ---- rules ---- */

struct pg_nft_rule *pg_nft_rule_new(struct pg_nft_table *t, const char *chain)
{
	struct pg_nft_rule *r, **rules;
	size_t index;

	if (!t) {
		errno = EINVAL;
		return NULL;
	}
	if (!find_chain(t, chain, &index)) {
		fail(t, -EINVAL);
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	rules = realloc(t->rules, (t->nrules + 1) * sizeof(*rules));
	if (rules)
		t->rules = rules;
	if (!r || !rules)
		goto nomem;
	r->nr = nftnl_rule_alloc();
	if (!r->nr || nftnl_rule_set_str(r->nr, NFTNL_RULE_TABLE, t->name) < 0 ||
	    nftnl_rule_set_str(r->nr, NFTNL_RULE_CHAIN, chain) < 0)
		goto nomem;
	nftnl_rule_set_u32(r->nr, NFTNL_RULE_FAMILY, (uint32_t)t->family);
	r->t = t;
	r->chain = index;
	r->nfproto = t->family == NFPROTO_INET ? 0 : t->family;
	r->l4proto = -1;
	t->rules[t->nrules++] = r;
	return r;
nomem:
	if (r && r->nr)
		nftnl_rule_free(r->nr);
	free(r);
	fail(t, -ENOMEM);
	errno = ENOMEM;
	return NULL;
}

static int add_expr(struct pg_nft_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -ENOMEM;
	if (r->nexprs >= RULE_MAX_EXPRS) {
		nftnl_expr_free(e);
		return -E2BIG;
	}
	nftnl_rule_add_expr(r->nr, e);
	r->nexprs++;
	return 0;
}

static int expr_meta(struct pg_nft_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	return add_expr(r, e);
}

static int expr_cmp(struct pg_nft_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		if (nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) < 0) {
			nftnl_expr_free(e);
			return -ENOMEM;
		}
	}
	return add_expr(r, e);
}

static int expr_payload(struct pg_nft_rule *r, uint32_t base, uint32_t off, uint32_t len,
			uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	}
	return add_expr(r, e);
}

/* reg 1 = (reg 1 & mask) ^ 0 */
static int expr_mask(struct pg_nft_rule *r, const void *mask, uint32_t len)
{
	static const uint8_t zero[NFT_DATA_VALUE_MAXLEN];
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
		if (nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len) < 0 ||
		    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len) < 0) {
			nftnl_expr_free(e);
			return -ENOMEM;
		}
	}
	return add_expr(r, e);
}

static int expr_immediate(struct pg_nft_rule *r, uint32_t dreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
		if (nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len) < 0) {
			nftnl_expr_free(e);
			return -ENOMEM;
		}
	}
	return add_expr(r, e);
}

/* Checks that r can take another match; every builder starts here. */
static int open_rule(struct pg_nft_rule *r)
{
	if (!r)
		return -EINVAL;
	return r->done ? fail(r->t, -EINVAL) : 0;
}

/* Makes the rule match only nfproto: in inet tables with `meta nfproto`,
 * once, as nft adds it before network-header matches; elsewhere the table's
 * family decides. */
static int need_nfproto(struct pg_nft_rule *r, int nfproto)
{
	uint8_t v = (uint8_t)nfproto;
	int e;

	if (r->nfproto == nfproto)
		return 0;
	if (r->nfproto != 0)
		return -EINVAL;
	if ((e = expr_meta(r, NFT_META_NFPROTO)) < 0 || (e = expr_cmp(r, NFT_CMP_EQ, &v, 1)) < 0)
		return e;
	r->nfproto = nfproto;
	return 0;
}

static int need_l4proto(struct pg_nft_rule *r, uint8_t proto)
{
	int e;

	if (r->l4proto == proto)
		return 0;
	if (r->l4proto != -1)
		return -EINVAL;
	if ((e = expr_meta(r, NFT_META_L4PROTO)) < 0 ||
	    (e = expr_cmp(r, NFT_CMP_EQ, &proto, 1)) < 0)
		return e;
	r->l4proto = proto;
	return 0;
}

/* Each builder returns through here so a failure sticks to the table. */
static int done(struct pg_nft_rule *r, int err)
{
	return err < 0 ? fail(r->t, err) : 0;
}

int pg_nft_match_nfproto(struct pg_nft_rule *r, int nfproto)
{
	int e = open_rule(r);

	if (e < 0)
		return e;
	if (nfproto != NFPROTO_IPV4 && nfproto != NFPROTO_IPV6)
		return done(r, -EINVAL);
	return done(r, need_nfproto(r, nfproto));
}

static int match_ifname(struct pg_nft_rule *r, uint32_t key, const char *ifname, bool negate)
{
	/* An exact name compares the whole IFNAMSIZ buffer, NUL padded. */
	char name[IFNAMSIZ] = {0};
	size_t len;
	int e = open_rule(r);

	if (e < 0)
		return e;
	len = ifname ? strnlen(ifname, IFNAMSIZ) : 0;
	if (len == 0 || len >= IFNAMSIZ)
		return done(r, -EINVAL);
	memcpy(name, ifname, len);
	if ((e = expr_meta(r, key)) < 0)
		return done(r, e);
	return done(r, expr_cmp(r, negate ? NFT_CMP_NEQ : NFT_CMP_EQ, name, sizeof(name)));
}

int pg_nft_match_iifname(struct pg_nft_rule *r, const char *ifname, bool negate)
{
	return match_ifname(r, NFT_META_IIFNAME, ifname, negate);
}

int pg_nft_match_oifname(struct pg_nft_rule *r, const char *ifname, bool negate)
{
	return match_ifname(r, NFT_META_OIFNAME, ifname, negate);
}

int pg_nft_match_mark(struct pg_nft_rule *r, uint32_t mark, bool negate)
{
	int e = open_rule(r);

	if (e < 0)
		return e;
	/* The mark is a host-order u32, compared whole. */
	if ((e = expr_meta(r, NFT_META_MARK)) < 0)
		return done(r, e);
	return done(r, expr_cmp(r, negate ? NFT_CMP_NEQ : NFT_CMP_EQ, &mark, sizeof(mark)));
}

/* ct state and ct status are host-order u32 bit sets: (value & bits) != 0
 * matches any of the bits. */
static int match_ct_bits(struct pg_nft_rule *r, uint32_t key, uint32_t bits, uint32_t known,
			 bool none)
{
	const uint32_t zero = 0;
	struct nftnl_expr *ct;
	int e = open_rule(r);

	if (e < 0)
		return e;
	if (bits == 0 || (bits & ~known))
		return done(r, -EINVAL);
	ct = nftnl_expr_alloc("ct");
	if (ct) {
		nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_KEY, key);
		nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	}
	if ((e = add_expr(r, ct)) < 0 || (e = expr_mask(r, &bits, sizeof(bits))) < 0)
		return done(r, e);
	return done(r, expr_cmp(r, none ? NFT_CMP_EQ : NFT_CMP_NEQ, &zero, sizeof(zero)));
}

int pg_nft_match_ct_state(struct pg_nft_rule *r, uint32_t states)
{
	return match_ct_bits(r, NFT_CT_STATE, states,
			     PG_CT_INVALID | PG_CT_ESTABLISHED | PG_CT_RELATED | PG_CT_NEW, false);
}

int pg_nft_match_ct_status(struct pg_nft_rule *r, uint32_t status)
{
	return match_ct_bits(r, NFT_CT_STATUS, status, PG_CT_STATUS_SNAT | PG_CT_STATUS_DNAT,
			     false);
}

int pg_nft_match_ct_status_none(struct pg_nft_rule *r, uint32_t status)
{
	return match_ct_bits(r, NFT_CT_STATUS, status, PG_CT_STATUS_SNAT | PG_CT_STATUS_DNAT, true);
}

/* Network-header offsets of the source and destination address. */
static uint32_t addr_offset(int nfproto, bool src)
{
	if (nfproto == NFPROTO_IPV4)
		return src ? 12 : 16;
	return src ? 8 : 24;
}

static int match_addr(struct pg_nft_rule *r, const struct pg_prefix *p, bool src)
{
	uint8_t mask[16];
	uint32_t len;
	int nfproto, e = open_rule(r);

	if (e < 0)
		return e;
	if (!prefix_ok(p))
		return done(r, -EINVAL);
	nfproto = p->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	len = p->family == AF_INET ? 4 : 16;
	if ((e = need_nfproto(r, nfproto)) < 0)
		return done(r, e);
	/* /0 matches the whole family, which need_nfproto already says. */
	if (p->len == 0)
		return 0;
	if ((e = expr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, addr_offset(nfproto, src), len,
			      NFT_REG_1)) < 0)
		return done(r, e);
	if (p->len < len * 8) {
		prefix_mask(p, mask, NULL, len);
		if ((e = expr_mask(r, mask, len)) < 0)
			return done(r, e);
	}
	return done(r, expr_cmp(r, NFT_CMP_EQ, p->bytes, len));
}

int pg_nft_match_saddr(struct pg_nft_rule *r, const struct pg_prefix *p)
{
	return match_addr(r, p, true);
}

int pg_nft_match_daddr(struct pg_nft_rule *r, const struct pg_prefix *p)
{
	return match_addr(r, p, false);
}

int pg_nft_match_l4proto(struct pg_nft_rule *r, uint8_t proto)
{
	int e = open_rule(r);

	if (e < 0)
		return e;
	return done(r, need_l4proto(r, proto));
}

static int match_port(struct pg_nft_rule *r, uint8_t proto, uint16_t port, uint32_t off)
{
	uint16_t be = htons(port);
	int e = open_rule(r);

	if (e < 0)
		return e;
	/* The protocols whose source and destination ports are the first two
	 * u16s. */
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_UDPLITE &&
	    proto != IPPROTO_SCTP && proto != IPPROTO_DCCP)
		return done(r, -EINVAL);
	if ((e = need_l4proto(r, proto)) < 0 ||
	    (e = expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, off, sizeof(be), NFT_REG_1)) < 0)
		return done(r, e);
	return done(r, expr_cmp(r, NFT_CMP_EQ, &be, sizeof(be)));
}

int pg_nft_match_dport(struct pg_nft_rule *r, uint8_t proto, uint16_t port)
{
	return match_port(r, proto, port, 2);
}

int pg_nft_match_sport(struct pg_nft_rule *r, uint8_t proto, uint16_t port)
{
	return match_port(r, proto, port, 0);
}

static int expr_lookup(struct pg_nft_rule *r, const struct set *s, bool negate)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, s->id);
		if (negate)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
		if (nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, s->name) < 0) {
			nftnl_expr_free(e);
			return -ENOMEM;
		}
	}
	return add_expr(r, e);
}

static int match_addr_in_set(struct pg_nft_rule *r, int family, const char *set, bool negate,
			     bool src)
{
	const struct set *s;
	int nfproto, e = open_rule(r);

	if (e < 0)
		return e;
	if (family != AF_INET && family != AF_INET6)
		return done(r, -EINVAL);
	s = find_set(r->t, set);
	if (!s || s->key2 != -1 || s->key != (family == AF_INET ? PG_KEY_IPV4 : PG_KEY_IPV6))
		return done(r, -EINVAL);
	nfproto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	if ((e = need_nfproto(r, nfproto)) < 0 ||
	    (e = expr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, addr_offset(nfproto, src), s->key_len,
			      NFT_REG_1)) < 0)
		return done(r, e);
	return done(r, expr_lookup(r, s, negate));
}

int pg_nft_match_saddr_in_set(struct pg_nft_rule *r, int family, const char *set, bool negate)
{
	return match_addr_in_set(r, family, set, negate, true);
}

int pg_nft_match_daddr_in_set(struct pg_nft_rule *r, int family, const char *set, bool negate)
{
	return match_addr_in_set(r, family, set, negate, false);
}

int pg_nft_match_saddr_ether_in_set(struct pg_nft_rule *r, const char *set, bool negate)
{
	const uint16_t ether = ARPHRD_ETHER;
	const struct set *s;
	enum pg_nft_hook hook;
	int nfproto, e = open_rule(r);

	if (e < 0)
		return e;
	s = find_set(r->t, set);
	hook = r->t->chains[r->chain].hook;
	if (!s || (s->key != PG_KEY_IPV4 && s->key != PG_KEY_IPV6) || s->key2 != PG_KEY_ETHER ||
	    (hook != PG_HOOK_PREROUTING && hook != PG_HOOK_INPUT && hook != PG_HOOK_FORWARD))
		return done(r, -EINVAL);
	/* The set's address type says the family: ip or ip6 saddr. */
	nfproto = s->key == PG_KEY_IPV4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
	if ((e = need_nfproto(r, nfproto)) < 0)
		return done(r, e);
	/* The MAC is only meaningful behind an Ethernet header. */
	if (!r->iiftype_ether) {
		if ((e = expr_meta(r, NFT_META_IIFTYPE)) < 0 ||
		    (e = expr_cmp(r, NFT_CMP_EQ, &ether, sizeof(ether))) < 0)
			return done(r, e);
		r->iiftype_ether = true;
	}
	/* Concatenated keys sit in consecutive 32-bit registers, each field
	 * padded to 4 bytes: the address in the first (named NFT_REG_1, as nft
	 * does, which is the same storage as NFT_REG32_00), the MAC from the
	 * next. */
	if ((e = expr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, addr_offset(nfproto, true),
			      key_info[s->key].len, NFT_REG_1)) < 0 ||
	    (e = expr_payload(r, NFT_PAYLOAD_LL_HEADER, 6, key_info[PG_KEY_ETHER].len,
			      NFT_REG32_00 + round4(key_info[s->key].len) / 4)) < 0)
		return done(r, e);
	return done(r, expr_lookup(r, s, negate));
}

static const uint32_t payload_base[] = {
    [PG_BASE_LL] = NFT_PAYLOAD_LL_HEADER,
    [PG_BASE_NETWORK] = NFT_PAYLOAD_NETWORK_HEADER,
    [PG_BASE_TRANSPORT] = NFT_PAYLOAD_TRANSPORT_HEADER,
};

/* Whether what a field of base means is known by now (see nft.h). */
static int need_base(struct pg_nft_rule *r, enum pg_nft_base base)
{
	const uint16_t ether = ARPHRD_ETHER;
	enum pg_nft_hook hook = r->t->chains[r->chain].hook;
	int e;

	switch (base) {
	case PG_BASE_TRANSPORT:
		return r->l4proto == -1 ? -EINVAL : 0;
	case PG_BASE_NETWORK:
		return r->nfproto == 0 ? -EINVAL : 0;
	case PG_BASE_LL:
		if (hook != PG_HOOK_PREROUTING && hook != PG_HOOK_INPUT && hook != PG_HOOK_FORWARD)
			return -EINVAL;
		if (r->iiftype_ether)
			return 0;
		if ((e = expr_meta(r, NFT_META_IIFTYPE)) < 0 ||
		    (e = expr_cmp(r, NFT_CMP_EQ, &ether, sizeof(ether))) < 0)
			return e;
		r->iiftype_ether = true;
		return 0;
	}
	return -EINVAL;
}

int pg_nft_match_raw(struct pg_nft_rule *r, struct pg_nft_field f, const void *data, size_t len,
		     bool negate)
{
	int e = open_rule(r);

	if (e < 0)
		return e;
	if (!data || len == 0 || len > 16 || (unsigned)f.base > PG_BASE_TRANSPORT)
		return done(r, -EINVAL);
	if ((e = need_base(r, f.base)) < 0 ||
	    (e = expr_payload(r, payload_base[f.base], f.offset, (uint32_t)len, NFT_REG_1)) < 0)
		return done(r, e);
	return done(r, expr_cmp(r, negate ? NFT_CMP_NEQ : NFT_CMP_EQ, data, (uint32_t)len));
}

int pg_nft_match_fields_in_set(struct pg_nft_rule *r, const char *set, const struct pg_nft_field *f,
			       bool negate)
{
	const struct set *s;
	int keys[2], e = open_rule(r);
	uint32_t reg = NFT_REG32_00;

	if (e < 0)
		return e;
	s = find_set(r->t, set);
	if (!s || !f || s->interval)
		return done(r, -EINVAL);
	keys[0] = (int)s->key;
	keys[1] = s->key2;
	/* A concatenation's fields sit in consecutive 32-bit registers, each
	 * padded to 4 bytes (see pg_nft_match_saddr_ether_in_set). */
	for (int i = 0; i < 2 && keys[i] != -1; i++) {
		uint32_t len = key_info[keys[i]].len;

		if ((unsigned)f[i].base > PG_BASE_TRANSPORT)
			return done(r, -EINVAL);
		if ((e = need_base(r, f[i].base)) < 0 ||
		    (e = expr_payload(r, payload_base[f[i].base], f[i].offset, len,
				      i == 0 ? NFT_REG_1 : reg)) < 0)
			return done(r, e);
		reg += round4(len) / 4;
	}
	return done(r, expr_lookup(r, s, negate));
}

int pg_nft_counter(struct pg_nft_rule *r)
{
	int e = open_rule(r);

	if (e < 0)
		return e;
	return done(r, add_expr(r, nftnl_expr_alloc("counter")));
}

static int verdict(struct pg_nft_rule *r, int code)
{
	struct nftnl_expr *v;
	int e = open_rule(r);

	if (e < 0)
		return e;
	v = nftnl_expr_alloc("immediate");
	if (v) {
		nftnl_expr_set_u32(v, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(v, NFTNL_EXPR_IMM_VERDICT, (uint32_t)code);
	}
	if ((e = add_expr(r, v)) < 0)
		return done(r, e);
	r->done = true;
	return 0;
}

int pg_nft_accept(struct pg_nft_rule *r)
{
	return verdict(r, NF_ACCEPT);
}

int pg_nft_drop(struct pg_nft_rule *r)
{
	return verdict(r, NF_DROP);
}

int pg_nft_masquerade(struct pg_nft_rule *r)
{
	const struct chain *c;
	int e = open_rule(r);

	if (e < 0)
		return e;
	c = &r->t->chains[r->chain];
	if (c->type != PG_CHAIN_NAT || c->hook != PG_HOOK_POSTROUTING)
		return done(r, -EINVAL);
	if ((e = add_expr(r, nftnl_expr_alloc("masq"))) < 0)
		return done(r, e);
	r->done = true;
	return 0;
}

/* snat or dnat to an address (a prefix: a range of them) and, with port
 * non-zero, that port; a port needs a protocol with ports matched first. */
static int nat(struct pg_nft_rule *r, uint32_t type, const struct pg_prefix *to, uint16_t port)
{
	uint8_t mask[16], last[16];
	uint16_t be = htons(port);
	struct nftnl_expr *e;
	uint32_t len, preg;
	int nfproto, err;

	nfproto = to->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	len = to->family == AF_INET ? 4 : 16;
	if (port && r->l4proto != IPPROTO_TCP && r->l4proto != IPPROTO_UDP &&
	    r->l4proto != IPPROTO_UDPLITE && r->l4proto != IPPROTO_SCTP &&
	    r->l4proto != IPPROTO_DCCP)
		return done(r, -EINVAL);
	/* An inet nat rule only acts on its own family: say so in the match. */
	if ((err = need_nfproto(r, nfproto)) < 0 ||
	    (err = expr_immediate(r, NFT_REG_1, to->bytes, len)) < 0)
		return done(r, err);
	if (to->len < len * 8) {
		prefix_mask(to, mask, last, len);
		if ((err = expr_immediate(r, NFT_REG_2, last, len)) < 0)
			return done(r, err);
	}
	/* The port in the register after the address(es), as nft does. */
	preg = to->len < len * 8 ? NFT_REG_3 : NFT_REG_2;
	if (port && (err = expr_immediate(r, preg, &be, sizeof(be))) < 0)
		return done(r, err);
	e = nftnl_expr_alloc("nat");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, type);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, (uint32_t)nfproto);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
		if (to->len < len * 8)
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, NFT_REG_2);
		if (port) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, preg);
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
		}
	}
	if ((err = add_expr(r, e)) < 0)
		return done(r, err);
	r->done = true;
	return 0;
}

/* A NAT statement where the kernel takes it: SNAT in postrouting or input,
 * DNAT in prerouting or output, always in a nat chain. */
static int nat_in_chain(struct pg_nft_rule *r, uint32_t type, const struct pg_prefix *to,
			uint16_t port)
{
	bool src = type == NFT_NAT_SNAT;
	const struct chain *c;
	int e = open_rule(r);

	if (e < 0)
		return e;
	c = &r->t->chains[r->chain];
	if (c->type != PG_CHAIN_NAT ||
	    (c->hook != (src ? PG_HOOK_POSTROUTING : PG_HOOK_PREROUTING) &&
	     c->hook != (src ? PG_HOOK_INPUT : PG_HOOK_OUTPUT)) ||
	    !prefix_ok(to))
		return done(r, -EINVAL);
	return nat(r, type, to, port);
}

int pg_nft_snat(struct pg_nft_rule *r, const struct pg_prefix *to)
{
	return nat_in_chain(r, NFT_NAT_SNAT, to, 0);
}

int pg_nft_dnat(struct pg_nft_rule *r, const struct pg_prefix *to, uint16_t port)
{
	return nat_in_chain(r, NFT_NAT_DNAT, to, port);
}

int pg_nft_match_tcp_flags_syn(struct pg_nft_rule *r)
{
	const uint8_t syn = 0x02, zero = 0;
	int e = open_rule(r);

	if (e < 0)
		return e;
	/* tcp flags syn: the SYN bit set, whatever else (SYN-ACK too). */
	if ((e = need_l4proto(r, IPPROTO_TCP)) < 0 ||
	    (e = expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1)) < 0 ||
	    (e = expr_mask(r, &syn, sizeof(syn))) < 0)
		return done(r, e);
	return done(r, expr_cmp(r, NFT_CMP_NEQ, &zero, sizeof(zero)));
}

int pg_nft_clamp_mss_to_pmtu(struct pg_nft_rule *r)
{
	struct nftnl_expr *rt, *bo, *ex;
	int e = open_rule(r);

	if (e < 0)
		return e;
	/* Only a SYN carries the option; rewriting needs a filter chain that
	 * sees the route (forward, output, postrouting). */
	if (r->l4proto != IPPROTO_TCP || r->t->chains[r->chain].type != PG_CHAIN_FILTER ||
	    (r->t->chains[r->chain].hook != PG_HOOK_FORWARD &&
	     r->t->chains[r->chain].hook != PG_HOOK_OUTPUT &&
	     r->t->chains[r->chain].hook != PG_HOOK_POSTROUTING))
		return done(r, -EINVAL);
	rt = nftnl_expr_alloc("rt");
	if (rt) {
		nftnl_expr_set_u32(rt, NFTNL_EXPR_RT_KEY, NFT_RT_TCPMSS);
		nftnl_expr_set_u32(rt, NFTNL_EXPR_RT_DREG, NFT_REG_1);
	}
	if ((e = add_expr(r, rt)) < 0)
		return done(r, e);
	/* rt tcpmss is a host-order u16 in a u32 register. */
	bo = nftnl_expr_alloc("byteorder");
	if (bo) {
		nftnl_expr_set_u32(bo, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
		nftnl_expr_set_u32(bo, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
		nftnl_expr_set_u32(bo, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
		nftnl_expr_set_u32(bo, NFTNL_EXPR_BYTEORDER_LEN, 2);
		nftnl_expr_set_u32(bo, NFTNL_EXPR_BYTEORDER_SIZE, 2);
	}
	if ((e = add_expr(r, bo)) < 0)
		return done(r, e);
	/* TCP option 2 (maxseg): its 2-byte value after kind and length. The
	 * kernel lowers it only, never raises it. */
	ex = nftnl_expr_alloc("exthdr");
	if (ex) {
		nftnl_expr_set_u32(ex, NFTNL_EXPR_EXTHDR_SREG, NFT_REG_1);
		nftnl_expr_set_u8(ex, NFTNL_EXPR_EXTHDR_TYPE, 2);
		nftnl_expr_set_u32(ex, NFTNL_EXPR_EXTHDR_OFFSET, 2);
		nftnl_expr_set_u32(ex, NFTNL_EXPR_EXTHDR_LEN, 2);
		nftnl_expr_set_u32(ex, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT);
	}
	if ((e = add_expr(r, ex)) < 0)
		return done(r, e);
	r->done = true;
	return 0;
}

/* ---- batches ---- */

static int batch_init(struct batch *b, void *buf, size_t size, uint32_t seq)
{
	*b =
	    (struct batch){.buf = buf, .cap = size, .fixed = buf != NULL, .first = seq, .seq = seq};
	b->scratch = malloc(MSG_MAX);
	return b->scratch ? 0 : -ENOMEM;
}

static void batch_release(struct batch *b)
{
	free(b->scratch);
	if (!b->fixed)
		free(b->buf);
}

/* Starts a message in the scratch buffer. */
static struct nlmsghdr *batch_msg(struct batch *b, uint16_t type, int family, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(b->scratch, type, (uint16_t)family, flags | NLM_F_ACK,
				     b->seq++);
}

/* Appends the message built in the scratch buffer. */
static int batch_put(struct batch *b, const struct nlmsghdr *nlh)
{
	size_t len = NLMSG_ALIGN(nlh->nlmsg_len);

	if (len > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : MSG_MAX;
		char *buf;

		if (b->fixed)
			return -ENOBUFS;
		while (cap - b->len < len)
			cap *= 2;
		buf = realloc(b->buf, cap);
		if (!buf)
			return -ENOMEM;
		b->buf = buf;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, nlh, len);
	b->len += len;
	return 0;
}

/* The batch markers carry no NLM_F_ACK: kernels before 6.10 ignore it, and
 * some 6.10 releases oops on it. Errors about the batch itself still come
 * back under BATCH_BEGIN's sequence number. */
static int batch_begin(struct batch *b)
{
	return batch_put(b, nftnl_batch_begin(b->scratch, b->seq++));
}

static int batch_end(struct batch *b)
{
	return batch_put(b, nftnl_batch_end(b->scratch, b->seq++));
}

/* A counter expression of an element: its nest, name and two u64 values. */
#define COUNTER_ATTRS_LEN (4 * NLA_HDRLEN + NLA_ALIGN(sizeof("counter")) + 2 * (NLA_HDRLEN + 8))

static struct nftnl_expr *counter_expr(uint64_t packets, uint64_t bytes)
{
	struct nftnl_expr *c = nftnl_expr_alloc("counter");

	if (c) {
		nftnl_expr_set_u64(c, NFTNL_EXPR_CTR_PACKETS, packets);
		nftnl_expr_set_u64(c, NFTNL_EXPR_CTR_BYTES, bytes);
	}
	return c;
}

/* Elements go in one nest, whose length is a u16: this many fit, counting
 * the element, key and value headers and the flags attribute. */
static size_t elems_per_msg(size_t key_len)
{
	size_t one = 3 * NLA_HDRLEN + NLA_ALIGN(key_len) + NLA_HDRLEN + sizeof(uint32_t);

	return (UINT16_MAX - NLA_HDRLEN) / one;
}

/* NEWSETELEM or DELSETELEM messages for keys (with per-key flags or none).
 * The list is built here, not by nftnl_set_elems_nlmsg_build_payload: that
 * numbers the element nests 1, 2, 3... where the kernel's own format (and
 * nftnl's parser) has NFTA_LIST_ELEM on each. */
static int put_elems(struct batch *b, uint16_t type, int family, const char *table, const char *set,
		     uint32_t set_id, const uint8_t *keys, const uint32_t *eflags, size_t key_len,
		     size_t count, const uint64_t *ctr)
{
	size_t per = elems_per_msg(key_len + (ctr ? COUNTER_ATTRS_LEN : 0));
	struct nftnl_set_elem *e = NULL;
	int ret = 0;

	for (size_t i = 0; i < count && ret == 0; i += per) {
		struct nlmsghdr *nlh;
		struct nlattr *list;

		nlh = batch_msg(b, type, family, type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
		if (set_id)
			mnl_attr_put_u32(nlh, NFTA_SET_ELEM_LIST_SET_ID, htonl(set_id));
		list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		for (size_t j = i; j < count && j < i + per; j++) {
			e = nftnl_set_elem_alloc();
			if (!e) {
				ret = -ENOMEM;
				goto out;
			}
			if (nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, keys + j * key_len,
					       (uint32_t)key_len) < 0) {
				ret = -EINVAL;
				goto out;
			}
			if (eflags && eflags[j])
				nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, eflags[j]);
			if (ctr && (ctr[2 * j] || ctr[2 * j + 1])) {
				struct nftnl_expr *c = counter_expr(ctr[2 * j], ctr[2 * j + 1]);

				if (!c) {
					ret = -ENOMEM;
					goto out;
				}
				nftnl_set_elem_add_expr(e, c);
			}
			nftnl_set_elem_nlmsg_build(nlh, e, NFTA_LIST_ELEM);
			nftnl_set_elem_free(e);
			e = NULL;
		}
		mnl_attr_nest_end(nlh, list);
		ret = batch_put(b, nlh);
	}
out:
	if (e)
		nftnl_set_elem_free(e);
	return ret;
}

static int put_table(struct batch *b, int family, const char *name, uint16_t type, uint16_t flags)
{
	struct nftnl_table *nt = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int ret;

	if (!nt || nftnl_table_set_str(nt, NFTNL_TABLE_NAME, name) < 0) {
		if (nt)
			nftnl_table_free(nt);
		return -ENOMEM;
	}
	nlh = batch_msg(b, type, family, flags);
	nftnl_table_nlmsg_build_payload(nlh, nt);
	ret = batch_put(b, nlh);
	nftnl_table_free(nt);
	return ret;
}

static int put_chain(struct batch *b, const struct pg_nft_table *t, const struct chain *c)
{
	struct nftnl_chain *nc = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!nc || nftnl_chain_set_str(nc, NFTNL_CHAIN_TABLE, t->name) < 0 ||
	    nftnl_chain_set_str(nc, NFTNL_CHAIN_NAME, c->name) < 0 ||
	    nftnl_chain_set_str(nc, NFTNL_CHAIN_TYPE, c->type == PG_CHAIN_NAT ? "nat" : "filter") <
		0)
		goto out;
	nftnl_chain_set_u32(nc, NFTNL_CHAIN_HOOKNUM, hooknum[c->hook]);
	nftnl_chain_set_s32(nc, NFTNL_CHAIN_PRIO, c->prio);
	nftnl_chain_set_u32(nc, NFTNL_CHAIN_POLICY, c->drop ? NF_DROP : NF_ACCEPT);
	nlh = batch_msg(b, NFT_MSG_NEWCHAIN, t->family, NLM_F_CREATE);
	nftnl_chain_nlmsg_build_payload(nlh, nc);
	ret = batch_put(b, nlh);
out:
	if (nc)
		nftnl_chain_free(nc);
	return ret;
}

/* nft's names in a set's userdata (its typeof): expression kinds, the
 * payload descriptions of `ip saddr` and `ip6 saddr`, and its protocol
 * bases (one more than the kernel's NFT_PAYLOAD_*_HEADER). As nft 1.0.6
 * writes them. */
#define UD_EXPR_CONCAT	13
#define UD_EXPR_PAYLOAD 7
#define UD_DESC_IP	12
#define UD_IP_SADDR	11
#define UD_DESC_IP6	13
#define UD_IP6_SADDR	8

/* One key part's typeof: its expression kind and its description. */
static void typeof_part(struct nftnl_udata_buf *u, int i, enum pg_nft_key key,
			const struct pg_nft_field *f)
{
	struct nftnl_udata *part = nftnl_udata_nest_start(u, (uint8_t)i), *data;

	nftnl_udata_put_u32(u, NFTNL_UDATA_SET_TYPEOF_EXPR, UD_EXPR_PAYLOAD);
	data = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_TYPEOF_DATA);
	if (key == PG_KEY_IPV4 && f->base == PG_BASE_NETWORK && f->offset == 12) {
		nftnl_udata_put_u32(u, 0, UD_DESC_IP);
		nftnl_udata_put_u32(u, 1, UD_IP_SADDR);
	} else if (key == PG_KEY_IPV6 && f->base == PG_BASE_NETWORK && f->offset == 8) {
		nftnl_udata_put_u32(u, 0, UD_DESC_IP6);
		nftnl_udata_put_u32(u, 1, UD_IP6_SADDR);
	} else {
		nftnl_udata_put_u32(u, 0, 0);
		nftnl_udata_put_u32(u, 1, 0);
		nftnl_udata_put_u32(u, 2, payload_base[f->base] + 1);
		nftnl_udata_put_u32(u, 3, f->offset * 8);
		nftnl_udata_put_u32(u, 4, key_info[key].len * 8);
	}
	nftnl_udata_nest_end(u, data);
	nftnl_udata_nest_end(u, part);
}

static int set_typeof(struct nftnl_set *ns, const struct set *s)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	struct nftnl_udata *top, *data;
	int r = 0;

	if (!u)
		return -ENOMEM;
	nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, 0);
	top = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_KEY_TYPEOF);
	nftnl_udata_put_u32(u, NFTNL_UDATA_SET_TYPEOF_EXPR, UD_EXPR_CONCAT);
	data = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_TYPEOF_DATA);
	typeof_part(u, 0, s->key, &s->parts[0]);
	typeof_part(u, 1, (enum pg_nft_key)s->key2, &s->parts[1]);
	nftnl_udata_nest_end(u, data);
	nftnl_udata_nest_end(u, top);
	if (nftnl_set_set_data(ns, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u),
			       nftnl_udata_buf_len(u)) < 0)
		r = -ENOMEM;
	nftnl_udata_buf_free(u);
	return r;
}

static int put_set(struct batch *b, const struct pg_nft_table *t, const struct set *s)
{
	struct nftnl_set *ns = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	uint32_t type;
	int ret = -ENOMEM;

	if (!ns || nftnl_set_set_str(ns, NFTNL_SET_TABLE, t->name) < 0 ||
	    nftnl_set_set_str(ns, NFTNL_SET_NAME, s->name) < 0)
		goto out;
	type = key_info[s->key].type;
	if (s->key2 != -1)
		type = type << TYPE_BITS | key_info[s->key2].type;
	nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, (uint32_t)t->family);
	nftnl_set_set_u32(ns, NFTNL_SET_FLAGS, s->interval ? NFT_SET_INTERVAL : 0);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_TYPE, type);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_LEN, s->key_len);
	nftnl_set_set_u32(ns, NFTNL_SET_ID, s->id);
	if (s->has_typeof && set_typeof(ns, s) < 0)
		goto out;
	if (s->counter) {
		struct nftnl_expr *c = counter_expr(0, 0);

		if (!c)
			goto out;
		nftnl_set_add_expr(ns, c);
	}
	nlh = batch_msg(b, NFT_MSG_NEWSET, t->family, NLM_F_CREATE);
	nftnl_set_nlmsg_build_payload(nlh, ns);
	ret = batch_put(b, nlh);
	if (ret == 0)
		ret = put_elems(b, NFT_MSG_NEWSETELEM, t->family, t->name, s->name, s->id, s->keys,
				s->eflags, s->key_len, s->n, s->ctr);
out:
	if (ns)
		nftnl_set_free(ns);
	return ret;
}

/* create (a no-op if it exists), delete, create: the whole table is replaced
 * whether or not it was there, in one transaction. */
static int build_table(const struct pg_nft_table *t, struct batch *b)
{
	int ret;

	if (!t)
		return -EINVAL;
	if (t->err)
		return t->err;
	if ((ret = batch_begin(b)) < 0 ||
	    (ret = put_table(b, t->family, t->name, NFT_MSG_NEWTABLE, NLM_F_CREATE)) < 0 ||
	    (ret = put_table(b, t->family, t->name, NFT_MSG_DELTABLE, 0)) < 0 ||
	    (ret = put_table(b, t->family, t->name, NFT_MSG_NEWTABLE, NLM_F_CREATE)) < 0)
		return ret;
	for (size_t i = 0; i < t->nchains; i++)
		if ((ret = put_chain(b, t, &t->chains[i])) < 0)
			return ret;
	for (size_t i = 0; i < t->nsets; i++)
		if ((ret = put_set(b, t, &t->sets[i])) < 0)
			return ret;
	for (size_t i = 0; i < t->nrules; i++) {
		struct nlmsghdr *nlh =
		    batch_msg(b, NFT_MSG_NEWRULE, t->family, NLM_F_CREATE | NLM_F_APPEND);

		nftnl_rule_nlmsg_build_payload(nlh, t->rules[i]->nr);
		if ((ret = batch_put(b, nlh)) < 0)
			return ret;
	}
	return batch_end(b);
}

long pg_nft_table_serialize(const struct pg_nft_table *t, void *buf, size_t size)
{
	struct batch b;
	long ret;

	if (!buf)
		return -EINVAL;
	ret = batch_init(&b, buf, size, 1);
	if (ret == 0)
		ret = build_table(t, &b);
	if (ret == 0)
		ret = (long)b.len;
	batch_release(&b);
	return ret;
}

static int build_set_update(struct batch *b, int family, const char *table, const char *set,
			    bool add, const void *keys, size_t key_len, size_t count)
{
	int ret;

	if ((family != NFPROTO_INET && family != NFPROTO_IPV4 && family != NFPROTO_IPV6) ||
	    !name_ok(table) || !name_ok(set) || key_len == 0 || key_len > NFT_DATA_VALUE_MAXLEN ||
	    (count && !keys))
		return -EINVAL;
	if ((ret = batch_begin(b)) < 0 ||
	    (ret = put_elems(b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, family, table, set,
			     0, keys, NULL, key_len, count, NULL)) < 0)
		return ret;
	return batch_end(b);
}

long pg_nft_set_update_serialize(int family, const char *table, const char *set, bool add,
				 const void *keys, size_t key_len, size_t count, void *buf,
				 size_t size)
{
	struct batch b;
	long ret;

	if (!buf)
		return -EINVAL;
	ret = batch_init(&b, buf, size, 1);
	if (ret == 0)
		ret = build_set_update(&b, family, table, set, add, keys, key_len, count);
	if (ret == 0)
		ret = (long)b.len;
	batch_release(&b);
	return ret;
}

/* ---- the socket ---- */

int pg_nft_open(struct pg_nft **out)
{
	/* Errors without a copy of our (possibly large) request. */
	static const struct pg_nl_opts opts = {.cap_ack = true};
	struct pg_nft *nft;
	int ret;

	nft = calloc(1, sizeof(*nft));
	if (!nft)
		return -ENOMEM;
	nft->fd = -1;
	if (pg_nlbuf_init(&nft->rx) < 0) {
		ret = -ENOMEM;
		goto fail;
	}
	nft->fd = pg_nl_open(NETLINK_NETFILTER, &opts);
	if (nft->fd < 0) {
		ret = nft->fd;
		goto fail;
	}
	nft->portid = pg_nl_portid(nft->fd);
	nft->seq = (uint32_t)time(NULL);
	*out = nft;
	return 0;
fail:
	pg_nft_close(nft);
	return ret;
}

void pg_nft_close(struct pg_nft *nft)
{
	if (!nft)
		return;
	if (nft->fd >= 0)
		close(nft->fd);
	pg_nlbuf_free(&nft->rx);
	free(nft->errmsg);
	free(nft);
}

const char *pg_nft_errmsg(const struct pg_nft *nft)
{
	return nft && nft->errmsg ? nft->errmsg : "";
}

uint32_t pg_nft_portid(const struct pg_nft *nft)
{
	return nft ? nft->portid : 0;
}

static void clear_errmsg(struct pg_nft *nft)
{
	free(nft->errmsg);
	nft->errmsg = NULL;
}

struct acks {
	uint32_t first, count; /* the batch's sequence numbers, markers included */
	uint8_t *seen;
	uint32_t pending; /* requests not yet acknowledged */
	int err;
};

/* The kernel's words for an error ACK. */
static void save_extack(struct pg_nft *nft, const struct nlmsghdr *nlh)
{
	clear_errmsg(nft);
	nft->errmsg = pg_nl_ack_text(nlh);
}

/* An ACK's error (0 or a negative errno), read as every ACK is
 * (nlsock.h); -EPROTO for one the kernel should never send. */
static int ack_error(const struct nlmsghdr *nlh, int *error)
{
	const char *msg;
	size_t len;

	if (pg_nl_parse_ack(nlh, error, &msg, &len) < 0 || *error > 0)
		return -EPROTO;
	return 0;
}

static int process(struct pg_nft *nft, struct acks *a, size_t len)
{
	const struct nlmsghdr *nlh = (const void *)nft->rx.data;
	int rem = (int)len;

	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		uint32_t idx = nlh->nlmsg_seq - a->first;
		int error;

		/* Only replies to this batch count; anything else is a
		 * leftover of an earlier request or not meant for us. */
		if (nlh->nlmsg_pid != nft->portid || idx >= a->count ||
		    nlh->nlmsg_type != NLMSG_ERROR)
			continue;
		if (ack_error(nlh, &error) < 0)
			return -EPROTO;
		if (error < 0) {
			if (!a->err) {
				a->err = error;
				save_extack(nft, nlh);
			}
		} else if (!a->seen[idx] && idx > 0 && idx < a->count - 1) {
			a->seen[idx] = 1;
			a->pending--;
		}
	}
	return 0;
}

/* Sends the batch and collects one ACK per request. nfnetlink handles a
 * batch inside our sendmsg() and queues every reply before it returns (nft
 * relies on this too), so afterwards reading until the queue is empty sees
 * them all, errors and late ACKs included, and never blocks. */
static int talk(struct pg_nft *nft, struct batch *b)
{
	struct acks a = {.first = b->first, .count = b->seq - b->first};
	long n;
	int ret = 0;

	a.pending = a.count - 2;
	a.seen = calloc(a.count, 1);
	if (!a.seen)
		return -ENOMEM;
	pg_nl_grow_buf(nft->fd, SO_SNDBUF, b->len);
	pg_nl_grow_buf(nft->fd, SO_RCVBUF, (size_t)a.count * ACK_COST);
	ret = pg_nl_send(nft->fd, b->buf, b->len);
	if (ret < 0)
		goto out;
	/* Read everything even after a bad reply, so that nothing of this
	 * batch is left for the next request to trip over. */
	while ((n = pg_nl_recv(nft->fd, &nft->rx)) > 0) {
		int r = process(nft, &a, (size_t)n);

		if (r < 0 && ret == 0)
			ret = r;
	}
	if (ret == 0 && n < 0)
		ret = (int)n;
	if (ret == 0 && a.err)
		ret = a.err;
	if (ret == 0 && a.pending)
		ret = -EPROTO; /* the kernel skipped a request it should ACK */
out:
	nft->seq = b->seq;
	free(a.seen);
	return ret;
}

int pg_nft_table_commit(struct pg_nft *nft, const struct pg_nft_table *t)
{
	struct batch b;
	int ret;

	if (!nft)
		return -EINVAL;
	clear_errmsg(nft);
	ret = batch_init(&b, NULL, 0, nft->seq);
	if (ret == 0)
		ret = build_table(t, &b);
	if (ret == 0)
		ret = talk(nft, &b);
	batch_release(&b);
	return ret;
}

int pg_nft_table_delete(struct pg_nft *nft, int family, const char *name)
{
	struct batch b;
	int ret;

	if (!nft)
		return -EINVAL;
	clear_errmsg(nft);
	if ((family != NFPROTO_INET && family != NFPROTO_IPV4 && family != NFPROTO_IPV6) ||
	    !name_ok(name))
		return -EINVAL;
	ret = batch_init(&b, NULL, 0, nft->seq);
	if (ret == 0 && (ret = batch_begin(&b)) == 0 &&
	    (ret = put_table(&b, family, name, NFT_MSG_DELTABLE, 0)) == 0 &&
	    (ret = batch_end(&b)) == 0)
		ret = talk(nft, &b);
	batch_release(&b);
	return ret;
}

int pg_nft_set_update(struct pg_nft *nft, int family, const char *table, const char *set, bool add,
		      const void *keys, size_t key_len, size_t count)
{
	struct batch b;
	int ret;

	if (!nft)
		return -EINVAL;
	clear_errmsg(nft);
	ret = batch_init(&b, NULL, 0, nft->seq);
	if (ret == 0)
		ret = build_set_update(&b, family, table, set, add, keys, key_len, count);
	/* Nothing to change: nothing to send. */
	if (ret == 0 && count > 0)
		ret = talk(nft, &b);
	batch_release(&b);
	return ret;
}

/* ---- reading counted sets ---- */

struct dump_state {
	int (*fn)(const void *key, size_t key_len, uint64_t packets, uint64_t bytes, void *arg);
	void *arg;
	int err;
};

static int elem_counter(struct nftnl_expr *e, void *data)
{
	uint64_t *pb = data;

	if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") == 0) {
		pb[0] = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		pb[1] = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
	}
	return 0;
}

static int dump_elems(const struct nlmsghdr *nlh, struct dump_state *st)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it = NULL;
	struct nftnl_set_elem *e;
	int ret = 0;

	if (!s)
		return -ENOMEM;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		ret = -EPROTO;
		goto out;
	}
	it = nftnl_set_elems_iter_create(s);
	if (!it) {
		ret = -ENOMEM;
		goto out;
	}
	while (ret == 0 && (e = nftnl_set_elems_iter_next(it))) {
		uint64_t pb[2] = {0, 0};
		uint32_t len = 0;
		const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);

		if (!key)
			continue;
		nftnl_set_elem_expr_foreach(e, elem_counter, pb);
		ret = st->fn(key, len, pb[0], pb[1], st->arg);
	}
out:
	if (it)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return ret;
}

/* A dump is answered while we read it (netlink continues it from recvmsg),
 * so a bounded wait for each part is enough: it never takes long. */
#define DUMP_WAIT_MS 1000

/* One datagram of the dump: the messages answering our request. Returns
 * 1 once the dump is done, 0 while more is to come, or a negative errno. */
static int dump_part(struct pg_nft *nft, uint32_t seq, struct dump_state *st, long n)
{
	const struct nlmsghdr *m = (const void *)nft->rx.data;
	int rem = (int)n, error, done = 0;

	for (; mnl_nlmsg_ok(m, rem); m = mnl_nlmsg_next(m, &rem)) {
		if (m->nlmsg_pid != nft->portid || m->nlmsg_seq != seq)
			continue; /* a leftover of an earlier request */
		if (m->nlmsg_flags & NLM_F_DUMP_INTR)
			st->err = st->err ? st->err : -EAGAIN;
		if (m->nlmsg_type == NLMSG_DONE) {
			done = 1;
		} else if (m->nlmsg_type == NLMSG_ERROR) {
			if (ack_error(m, &error) < 0)
				return -EPROTO;
			save_extack(nft, m);
			return error < 0 ? error : -EPROTO;
		} else if (st->err == 0) {
			st->err = dump_elems(m, st);
		}
	}
	return done;
}

/* The next part of a dump: 0 once readable, -ETIMEDOUT, or an errno. */
static int wait_part(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int p = poll(&pfd, 1, DUMP_WAIT_MS);

	if (p < 0 && errno != EINTR)
		return -errno;
	return p == 0 ? -ETIMEDOUT : 0;
}

int pg_nft_set_counters(struct pg_nft *nft, int family, const char *table, const char *set,
			int (*fn)(const void *key, size_t key_len, uint64_t packets, uint64_t bytes,
				  void *arg),
			void *arg)
{
	struct dump_state st = {fn, arg, 0};
	char buf[NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)) +
		 2 * NLA_ALIGN(NLA_HDRLEN + NFT_NAME_MAXLEN)];
	struct nlmsghdr *nlh;
	uint32_t seq = nft->seq++;
	int r = 0;

	clear_errmsg(nft);
	if (!name_ok(table) || !name_ok(set) || !fn)
		return -EINVAL;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, (uint16_t)family, NLM_F_DUMP, seq);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	if ((r = pg_nl_send(nft->fd, nlh, nlh->nlmsg_len)) < 0)
		return r;
	while (r == 0) {
		long n = pg_nl_recv(nft->fd, &nft->rx);

		if (n == 0)
			r = wait_part(nft->fd);
		else
			r = n < 0 ? (int)n : dump_part(nft, seq, &st, n);
	}
	return r < 0 ? r : st.err;
}
