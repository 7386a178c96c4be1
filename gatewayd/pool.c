/* SPDX-License-Identifier: MIT */
#include "gatewayd/pool.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sockaddr.h"

#define POOL_MIN_LEN   16
#define POOL_MAX_LEN   29
#define FIRST_LEASABLE 2 /* 0 is the network, 1 the gateway */
#define NONE	       UINT32_MAX
#define WORD_BITS      64
#define HTAB_MIN       16
#define LEASES_HEADER  "podgw-leases 1\n"
#define LEASE_FIELDS   5
#define MAC_STRLEN     sizeof("00:00:00:00:00:00")
#define U64_STRLEN     sizeof("18446744073709551615")
/* "id addr mac pod_ip expires\n": each field with its separator; the pod
 * IP is of either family */
#define LEASE_LINE_MAX                                                                             \
	(PG_CLIENT_ID_MAX + 1 + INET_ADDRSTRLEN + MAC_STRLEN + INET6_ADDRSTRLEN + U64_STRLEN)

/* Open addressing with linear probing and backward-shift deletion (no
 * tombstones). A bucket keeps the low bits of its key's hash: they give the
 * home bucket (so the table can grow without the keys) and skip most key
 * compares. Keys hash with SipHash under a per-pool random key, so pod names
 * chosen by others cannot pile up in one probe run. */
struct bucket {
	uint32_t tag;
	uint32_t ref; /* entry + 1; 0: empty */
};

struct htab {
	struct bucket *b;
	uint32_t mask;
	uint32_t count;
};

struct slot {
	struct pg_lease lease;
	uint64_t hash;	   /* of lease.id */
	uint32_t heap_pos; /* a free slot: the next free one */
};

/* Live leases per pod IP, for the per-pod-IP limit. */
struct ipcount {
	struct pg_prefix ip; /* IPv4 or IPv6 */
	uint32_t n;	     /* a free entry: the next free one */
	uint64_t hash;
};

struct resv {
	char *name;
	uint64_t hash;
	uint32_t index;
};

struct pg_pool {
	struct pg_prefix net;
	uint32_t base; /* network address, host order */
	uint32_t size; /* addresses in net */
	uint32_t first_dynamic;
	uint64_t *used;	    /* bit per address: held by a live lease */
	uint64_t *reserved; /* bit per address: reserved for a name */
	/* Per address, the id hash of its last holder (0: none): at most one
	 * remembered id per address keeps "same id, same address" bounded by
	 * the pool size without any eviction policy. */
	uint64_t *last_hash;
	struct slot *slots;
	uint32_t nslots;
	uint32_t free_slot;
	uint32_t *heap; /* slot numbers, a min-heap on expiry */
	uint32_t nheap;
	struct htab by_id;   /* id -> slot */
	struct htab memory;  /* id hash -> address its last lease had */
	struct htab by_name; /* pod name -> reservation */
	struct htab by_mac;  /* a live lease's MAC -> its slot */
	struct htab by_ip;   /* pod IP -> its ipcount */
	struct ipcount *ipc;
	uint32_t nipc;
	uint32_t free_ipc;
	struct resv *resv;
	uint32_t nresv;
	uint32_t resv_alloc;
	struct pg_natconf *nat_conf;	    /* where the reservations came from */
	char resv_ns[PG_NAMESPACE_MAX + 1]; /* of names reserved without one */
	unsigned char key[crypto_shorthash_KEYBYTES];
};

/* ---- small helpers ---- */

static bool bit_test(const uint64_t *map, uint32_t i)
{
	return map[i / WORD_BITS] & (UINT64_C(1) << (i % WORD_BITS));
}

static void bit_set(uint64_t *map, uint32_t i)
{
	map[i / WORD_BITS] |= UINT64_C(1) << (i % WORD_BITS);
}

static void bit_clear(uint64_t *map, uint32_t i)
{
	map[i / WORD_BITS] &= ~(UINT64_C(1) << (i % WORD_BITS));
}

/* Never 0, so that 0 can mean "nobody" in last_hash. */
static uint64_t hash_str(const struct pg_pool *p, const char *s)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, (const unsigned char *)s, strlen(s), p->key);
	memcpy(&h, out, sizeof(h));
	return h ? h : 1;
}

static uint64_t hash_bytes(const struct pg_pool *p, const void *b, size_t n)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, b, n, p->key);
	memcpy(&h, out, sizeof(h));
	return h ? h : 1;
}

static bool valid_chars(const char *s, size_t max, bool slash)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (n >= max)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || (slash && c == '/')))
			return false;
	}
	return n > 0;
}

static bool valid_id(const char *id)
{
	return id && valid_chars(id, PG_CLIENT_ID_MAX, true);
}

static bool valid_name(const char *name)
{
	return name && valid_chars(name, PG_CLIENT_NAME_MAX, false);
}

static uint32_t last_index(const struct pg_pool *p)
{
	return p->size - 1;
}

static uint32_t addr_index(const struct pg_pool *p, struct in_addr a)
{
	return ntohl(a.s_addr) - p->base;
}

static struct in_addr index_addr(const struct pg_pool *p, uint32_t index)
{
	struct in_addr a = {.s_addr = htonl(p->base + index)};

	return a;
}

/* The index of a that a lease may have, or -ERANGE. */
static int leasable_index(const struct pg_pool *p, struct in_addr a, uint32_t *index)
{
	uint32_t i = addr_index(p, a); /* wraps for addresses below the pool */

	if (i < FIRST_LEASABLE || i >= last_index(p))
		return -ERANGE;
	*index = i;
	return 0;
}

/* ---- hash tables ---- */

typedef bool match_fn(const struct pg_pool *p, uint32_t ref, uint64_t hash, const char *key);

static bool match_lease(const struct pg_pool *p, uint32_t ref, uint64_t hash, const char *key)
{
	const struct slot *s = &p->slots[ref - 1];

	return s->hash == hash && strcmp(s->lease.id, key) == 0;
}

/* Remembered ids are known by their 64-bit hash alone: a collision would
 * only offer one id a free address another one had, which is harmless. */
static bool match_memory(const struct pg_pool *p, uint32_t ref, uint64_t hash, const char *key)
{
	(void)key;
	return p->last_hash[ref - 1] == hash;
}

static bool match_mac(const struct pg_pool *p, uint32_t ref, uint64_t hash, const char *key)
{
	const struct slot *s = &p->slots[ref - 1];

	(void)hash;
	return memcmp(s->lease.mac, key, sizeof(s->lease.mac)) == 0;
}

static bool match_ip(const struct pg_pool *p, uint32_t ref, uint64_t hash, const char *key)
{
	const struct ipcount *c = &p->ipc[ref - 1];

	return c->hash == hash &&
	       pg_addr_equal(&c->ip, (const struct pg_prefix *)(const void *)key);
}

static bool match_resv(const struct pg_pool *p, uint32_t ref, uint64_t hash, const char *key)
{
	const struct resv *r = &p->resv[ref - 1];

	return r->hash == hash && strcmp(r->name, key) == 0;
}

static uint32_t htab_find(const struct htab *t, uint64_t hash, match_fn *match,
			  const struct pg_pool *p, const char *key)
{
	uint32_t tag = (uint32_t)hash;

	if (!t->b)
		return 0;
	for (uint32_t i = tag & t->mask;; i = (i + 1) & t->mask) {
		const struct bucket *b = &t->b[i];

		if (!b->ref)
			return 0;
		if (b->tag == tag && match(p, b->ref, hash, key))
			return b->ref;
	}
}

/* Makes room for n entries; the load stays at most 3/4, so probe runs stay
 * short and an empty bucket ends every search. */
static int htab_reserve(struct htab *t, uint32_t n)
{
	uint32_t size = t->b ? t->mask + 1 : 0, want = HTAB_MIN;
	struct bucket *b;

	if ((uint64_t)n * 4 <= (uint64_t)size * 3)
		return 0;
	while ((uint64_t)n * 4 > (uint64_t)want * 3)
		want *= 2;
	b = calloc(want, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (uint32_t i = 0; i < size; i++) {
		uint32_t j;

		if (!t->b[i].ref)
			continue;
		for (j = t->b[i].tag & (want - 1); b[j].ref; j = (j + 1) & (want - 1))
			;
		b[j] = t->b[i];
	}
	free(t->b);
	t->b = b;
	t->mask = want - 1;
	return 0;
}

/* Needs htab_reserve(t, t->count + 1) first. */
static void htab_insert(struct htab *t, uint64_t hash, uint32_t ref)
{
	uint32_t i;

	for (i = (uint32_t)hash & t->mask; t->b[i].ref; i = (i + 1) & t->mask)
		;
	t->b[i].tag = (uint32_t)hash;
	t->b[i].ref = ref;
	t->count++;
}

/* Removes ref, which must be there, and shifts later members of the probe
 * run back so that no search stops early at the hole. */
static void htab_remove(struct htab *t, uint64_t hash, uint32_t ref)
{
	uint32_t i, j;

	for (i = (uint32_t)hash & t->mask; t->b[i].ref != ref; i = (i + 1) & t->mask)
		;
	for (j = (i + 1) & t->mask; t->b[j].ref; j = (j + 1) & t->mask) {
		uint32_t home = t->b[j].tag & t->mask;
		/* j stays when its home lies cyclically in (i, j] */
		bool stays = i < j ? (home > i && home <= j) : (home > i || home <= j);

		if (!stays) {
			t->b[i] = t->b[j];
			i = j;
		}
	}
	t->b[i].tag = 0;
	t->b[i].ref = 0;
	t->count--;
}

/* ---- the expiry heap ---- */

static uint64_t expiry_at(const struct pg_pool *p, uint32_t pos)
{
	return p->slots[p->heap[pos]].lease.expires;
}

static void heap_place(struct pg_pool *p, uint32_t pos, uint32_t slot)
{
	p->heap[pos] = slot;
	p->slots[slot].heap_pos = pos;
}

static void heap_fix(struct pg_pool *p, uint32_t pos)
{
	uint32_t slot = p->heap[pos];
	uint64_t key = p->slots[slot].lease.expires;

	while (pos > 0 && expiry_at(p, (pos - 1) / 2) > key) {
		heap_place(p, pos, p->heap[(pos - 1) / 2]);
		pos = (pos - 1) / 2;
	}
	for (;;) {
		uint32_t child = 2 * pos + 1;

		if (child >= p->nheap)
			break;
		if (child + 1 < p->nheap && expiry_at(p, child + 1) < expiry_at(p, child))
			child++;
		if (expiry_at(p, child) >= key)
			break;
		heap_place(p, pos, p->heap[child]);
		pos = child;
	}
	heap_place(p, pos, slot);
}

static void heap_remove(struct pg_pool *p, uint32_t pos)
{
	uint32_t last = p->heap[--p->nheap];

	if (pos < p->nheap) {
		heap_place(p, pos, last);
		heap_fix(p, pos);
	}
}

/* ---- pool ---- */

int pg_pool_new(const struct pg_prefix *net, uint32_t first_dynamic, struct pg_pool **out)
{
	struct pg_pool *p = NULL;
	uint32_t base, size, words;
	int r = 0;

	*out = NULL;
	if (net->family != AF_INET || net->len < POOL_MIN_LEN || net->len > POOL_MAX_LEN)
		return -EINVAL;
	memcpy(&base, net->bytes, sizeof(base));
	base = ntohl(base);
	size = UINT32_C(1) << (32 - net->len);
	if ((base & (size - 1)) || first_dynamic < FIRST_LEASABLE || first_dynamic >= size - 1)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->net = *net;
	p->base = base;
	p->size = size;
	p->first_dynamic = first_dynamic;
	strcpy(p->resv_ns, "default");
	p->free_slot = NONE;
	words = (size + WORD_BITS - 1) / WORD_BITS;
	p->used = calloc(words, sizeof(*p->used));
	p->reserved = calloc(words, sizeof(*p->reserved));
	p->last_hash = calloc(size, sizeof(*p->last_hash));
	if (!p->used || !p->reserved || !p->last_hash) {
		r = -ENOMEM;
		goto out;
	}
	crypto_shorthash_keygen(p->key);
	*out = p;
	p = NULL;
out:
	pg_pool_free(p);
	return r;
}

static void free_reservations(struct resv *resv, uint32_t n, struct htab *by_name,
			      uint64_t *reserved)
{
	for (uint32_t i = 0; i < n; i++)
		free(resv[i].name);
	free(resv);
	free(by_name->b);
	free(reserved);
}

void pg_pool_free(struct pg_pool *p)
{
	if (!p)
		return;
	free_reservations(p->resv, p->nresv, &p->by_name, p->reserved);
	pg_natconf_free(p->nat_conf);
	free(p->by_id.b);
	free(p->by_mac.b);
	free(p->by_ip.b);
	free(p->ipc);
	free(p->memory.b);
	free(p->heap);
	free(p->slots);
	free(p->last_hash);
	free(p->used);
	free(p);
}

size_t pg_pool_count(const struct pg_pool *p)
{
	return p->nheap;
}

size_t pg_pool_capacity(const struct pg_pool *p)
{
	return p->size - 3; /* network, gateway, broadcast */
}

static uint32_t reservation_of(const struct pg_pool *p, const char *id)
{
	uint32_t ref;

	if (!p->nresv || !id || !*id)
		return NONE;
	ref = htab_find(&p->by_name, hash_str(p, id), match_resv, p, id);
	return ref ? p->resv[ref - 1].index : NONE;
}

int pg_pool_set_reservation_namespace(struct pg_pool *p, const char *ns)
{
	if (!ns || !*ns || strlen(ns) >= sizeof(p->resv_ns))
		return -EINVAL;
	for (const char *c = ns; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			return -EINVAL;
	strcpy(p->resv_ns, ns);
	return 0;
}

/* "namespace/name", or pod-gateway's bare "name" in the reservation
 * namespace: a reservation is one identity's, never a name's in any
 * namespace. */
static int qualify(const struct pg_pool *p, const char *name, char out[PG_CLIENT_ID_MAX + 1])
{
	const char *slash = name ? strchr(name, '/') : NULL;
	int n;

	if (slash) {
		if (slash == name || (size_t)(slash - name) > PG_NAMESPACE_MAX ||
		    strchr(slash + 1, '/') || !valid_name(slash + 1) ||
		    strlen(name) > PG_CLIENT_ID_MAX)
			return -EINVAL;
		for (const char *c = name; c < slash; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
				return -EINVAL;
		strcpy(out, name);
		return 0;
	}
	if (!valid_name(name))
		return -EINVAL;
	n = snprintf(out, PG_CLIENT_ID_MAX + 1, "%s/%s", p->resv_ns, name);
	return n > 0 && n <= PG_CLIENT_ID_MAX ? 0 : -EINVAL;
}

int pg_pool_reserve(struct pg_pool *p, const char *name, uint32_t index)
{
	char id[PG_CLIENT_ID_MAX + 1];
	uint32_t have;
	struct resv *r;

	if (qualify(p, name, id) < 0 || !valid_id(id) || index < FIRST_LEASABLE ||
	    index >= last_index(p))
		return -EINVAL;
	name = id;
	have = reservation_of(p, name);
	if (have != NONE)
		return have == index ? 0 : -EEXIST;
	if (bit_test(p->reserved, index))
		return -EEXIST;
	if (p->nresv == p->resv_alloc) {
		uint32_t n = p->resv_alloc ? 2 * p->resv_alloc : HTAB_MIN;
		struct resv *grown = realloc(p->resv, n * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		p->resv = grown;
		p->resv_alloc = n;
	}
	if (htab_reserve(&p->by_name, p->by_name.count + 1) < 0)
		return -ENOMEM;
	r = &p->resv[p->nresv];
	r->name = strdup(name);
	if (!r->name)
		return -ENOMEM;
	r->hash = hash_str(p, name);
	r->index = index;
	htab_insert(&p->by_name, r->hash, ++p->nresv);
	bit_set(p->reserved, index);
	return 0;
}

/* The reservations as a whole, so that a new nat.conf replaces them all or
 * nothing. */
struct resv_set {
	struct resv *resv;
	uint32_t nresv, resv_alloc;
	struct htab by_name;
	uint64_t *reserved;
};

static struct resv_set take_reservations(struct pg_pool *p, uint64_t *reserved)
{
	struct resv_set s = {p->resv, p->nresv, p->resv_alloc, p->by_name, p->reserved};

	p->resv = NULL;
	p->nresv = p->resv_alloc = 0;
	p->by_name = (struct htab){0};
	p->reserved = reserved;
	return s;
}

int pg_pool_set_nat_conf(struct pg_pool *p, struct pg_natconf *c, struct pg_natconf **old)
{
	size_t words = (p->size + WORD_BITS - 1) / WORD_BITS;
	uint64_t *reserved = calloc(words, sizeof(*reserved));
	const struct pg_reservation *r;
	size_t n = pg_natconf_reservations(c, &r);
	struct resv_set prev;
	int e = 0;

	if (!reserved)
		return -ENOMEM;
	prev = take_reservations(p, reserved);
	for (size_t i = 0; i < n && e == 0; i++)
		e = pg_pool_reserve(p, r[i].name, r[i].index);
	if (e < 0) {
		struct resv_set failed = take_reservations(p, prev.reserved);

		p->resv = prev.resv;
		p->nresv = prev.nresv;
		p->resv_alloc = prev.resv_alloc;
		p->by_name = prev.by_name;
		prev = failed;
	}
	free_reservations(prev.resv, prev.nresv, &prev.by_name, prev.reserved);
	if (e < 0)
		return e;
	if (old)
		*old = p->nat_conf;
	else
		pg_natconf_free(p->nat_conf);
	p->nat_conf = c;
	return 0;
}

const struct pg_natconf *pg_pool_nat_conf(const struct pg_pool *p)
{
	return p->nat_conf;
}

static bool is_free(const struct pg_pool *p, uint32_t i)
{
	return !bit_test(p->used, i) && !bit_test(p->reserved, i);
}

/* The first index in [from, to) neither used nor reserved, a word at a time. */
static uint32_t find_free(const struct pg_pool *p, uint32_t from, uint32_t to)
{
	uint32_t i = from;

	while (i < to) {
		uint32_t w = i / WORD_BITS;
		uint64_t avail = ~(p->used[w] | p->reserved[w]) & (~UINT64_C(0) << (i % WORD_BITS));

		if (avail) {
			uint32_t found = w * WORD_BITS + (uint32_t)__builtin_ctzll(avail);

			return found < to ? found : NONE;
		}
		i = (w + 1) * WORD_BITS;
	}
	return NONE;
}

/* Not a secret, and the same on every replica and every restart: replicas
 * of a gateway share the overlay, so an id that moves to a sibling finds
 * its address free there unless another id took it (docs/membership.md,
 * "Replicas"). Choosing names to land on someone's address gains nothing
 * over asking for it with WANTED_ADDR. */
static const unsigned char preferred_key[crypto_shorthash_KEYBYTES] = "podgw-preferred";

/* The id's preferred dynamic address, or the first free one after it (in
 * a ring over the dynamic range): a fixed hash of the id, so that every
 * replica and every restart offers the same one, rather than the lowest
 * free one, which every replica would hand to someone else. */
static uint32_t preferred(const struct pg_pool *p, const char *id)
{
	uint32_t span = last_index(p) - p->first_dynamic, start, i;
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, (const unsigned char *)id, strlen(id), preferred_key);
	/* little-endian whatever the host: replicas may run on other CPUs */
	h = 0;
	for (size_t k = sizeof(out); k-- > 0;)
		h = h << 8 | out[k];
	start = p->first_dynamic + (uint32_t)(h % span);
	i = find_free(p, start, last_index(p));
	return i != NONE ? i : find_free(p, p->first_dynamic, start);
}

static uint32_t remembered(const struct pg_pool *p, uint64_t hash)
{
	uint32_t ref = htab_find(&p->memory, hash, match_memory, p, NULL);

	return ref ? ref - 1 : NONE;
}

/* Best effort: a remembered address is a preference, not a promise, so an
 * allocation failure here only forgets. */
static void remember(struct pg_pool *p, uint64_t hash, uint32_t index)
{
	uint32_t old = remembered(p, hash);

	if (old != NONE) {
		htab_remove(&p->memory, hash, old + 1);
		p->last_hash[old] = 0;
	}
	if (p->last_hash[index]) {
		htab_remove(&p->memory, p->last_hash[index], index + 1);
		p->last_hash[index] = 0;
	}
	if (htab_reserve(&p->memory, p->memory.count + 1) < 0)
		return;
	p->last_hash[index] = hash;
	htab_insert(&p->memory, hash, index + 1);
}

/* Decides where id (hash, name; cur: its live lease's index or NONE) goes,
 * changing nothing. */
static int choose(const struct pg_pool *p, const char *id, uint64_t hash, const char *name,
		  struct in_addr wish, uint32_t cur, uint32_t *index)
{
	uint32_t resv = reservation_of(p, name), i;
	int r;

	if (resv != NONE) {
		if (resv != cur && bit_test(p->used, resv))
			return -EADDRINUSE;
		*index = resv;
		return 0;
	}
	if (wish.s_addr != htonl(INADDR_ANY)) {
		r = leasable_index(p, wish, &i);
		if (r < 0)
			return r;
		if (i != cur) {
			/* name has no reservation: a reserved index is another's */
			if (!is_free(p, i))
				return -EADDRINUSE;
			*index = i;
			return 0;
		}
	}
	if (cur != NONE && !bit_test(p->reserved, cur)) {
		*index = cur;
		return 0;
	}
	i = remembered(p, hash);
	if (i != NONE && is_free(p, i)) {
		*index = i;
		return 0;
	}
	i = preferred(p, id);
	if (i != NONE) {
		*index = i;
		return 0;
	}
	/* a lease on an address since reserved for another name, with nowhere
	 * else to go, stays where it is */
	if (cur != NONE) {
		*index = cur;
		return 0;
	}
	return -ENOSPC;
}

/* Ensures a free slot (and heap room for it) and id table room. */
static int make_room(struct pg_pool *p)
{
	if (p->free_slot == NONE) {
		uint32_t n = p->nslots ? 2 * p->nslots : HTAB_MIN;
		struct slot *slots;
		uint32_t *heap;

		/* live leases hold distinct addresses: never more than capacity */
		if (n > pg_pool_capacity(p))
			n = (uint32_t)pg_pool_capacity(p);
		if (n <= p->nslots)
			return -ENOSPC;
		slots = realloc(p->slots, n * sizeof(*slots));
		if (!slots)
			return -ENOMEM;
		p->slots = slots;
		heap = realloc(p->heap, n * sizeof(*heap));
		if (!heap)
			return -ENOMEM;
		p->heap = heap;
		for (uint32_t i = n; i-- > p->nslots;) {
			p->slots[i].heap_pos = p->free_slot;
			p->free_slot = i;
		}
		p->nslots = n;
	}
	return htab_reserve(&p->by_id, p->by_id.count + 1);
}

/* Room for one more pod IP: distinct pod IPs never outnumber live leases,
 * and a moving lease holds its new one before it lets go of the old. */
static int ip_room(struct pg_pool *p)
{
	uint32_t want = p->nslots + 1;

	if (p->nipc < want) {
		struct ipcount *grown = realloc(p->ipc, want * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		p->ipc = grown;
		if (!p->nipc)
			p->free_ipc = NONE;
		for (uint32_t i = want; i-- > p->nipc;) {
			p->ipc[i].n = p->free_ipc;
			p->free_ipc = i;
		}
		p->nipc = want;
	}
	return htab_reserve(&p->by_ip, p->by_ip.count + 1);
}

/* An address of either family hashes its own bytes: a v4 and a v6 one
 * never compare equal anyway (match_ip). */
static uint32_t ip_find(const struct pg_pool *p, const struct pg_prefix *ip, uint64_t *hash)
{
	*hash = hash_bytes(p, ip->bytes, pg_prefix_bytes(ip));
	return htab_find(&p->by_ip, *hash, match_ip, p, (const char *)(const void *)ip);
}

/* Needs ip_room() first. */
static void ip_add(struct pg_pool *p, const struct pg_prefix *ip)
{
	uint64_t hash;
	uint32_t ref = ip_find(p, ip, &hash), i;

	if (ref) {
		p->ipc[ref - 1].n++;
		return;
	}
	i = p->free_ipc;
	p->free_ipc = p->ipc[i].n;
	p->ipc[i] = (struct ipcount){.ip = *ip, .n = 1, .hash = hash};
	htab_insert(&p->by_ip, hash, i + 1);
}

static void ip_del(struct pg_pool *p, const struct pg_prefix *ip)
{
	uint64_t hash;
	uint32_t ref = ip_find(p, ip, &hash);

	if (!ref || --p->ipc[ref - 1].n)
		return;
	htab_remove(&p->by_ip, hash, ref);
	p->ipc[ref - 1].n = p->free_ipc;
	p->free_ipc = ref - 1;
}

size_t pg_pool_count_pod_ip(const struct pg_pool *p, struct pg_prefix pod_ip)
{
	uint64_t hash;
	uint32_t ref = ip_find(p, &pod_ip, &hash);

	return ref ? p->ipc[ref - 1].n : 0;
}

/* A pod IP as a lease keeps it: a host address, nothing but its bytes. */
static int pod_ip_key(const struct pg_prefix *in, struct pg_prefix *out)
{
	if (in->family != AF_INET && in->family != AF_INET6)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->family = in->family;
	out->len = (uint8_t)(pg_prefix_bytes(in) * 8);
	memcpy(out->bytes, in->bytes, pg_prefix_bytes(in));
	return 0;
}

static uint64_t mac_hash(const struct pg_pool *p, const uint8_t mac[6])
{
	return hash_bytes(p, mac, 6);
}

const struct pg_lease *pg_pool_find_mac(const struct pg_pool *p, const uint8_t mac[6])
{
	uint32_t ref = htab_find(&p->by_mac, mac_hash(p, mac), match_mac, p, (const char *)mac);

	return ref ? &p->slots[ref - 1].lease : NULL;
}

int pg_pool_acquire(struct pg_pool *p, const char *id, const char *name, struct in_addr wish,
		    const uint8_t mac[6], struct pg_prefix pod, uint64_t expires,
		    struct pg_lease *granted, struct pg_lease *previous, bool *had_previous)
{
	uint32_t ref, mref, cur = NONE, index, s;
	struct pg_prefix pod_ip;
	struct pg_lease *l;
	uint64_t hash;
	int r;

	if (!valid_id(id) || !mac || pod_ip_key(&pod, &pod_ip) < 0)
		return -EINVAL;
	hash = hash_str(p, id);
	ref = htab_find(&p->by_id, hash, match_lease, p, id);
	if (ref)
		cur = addr_index(p, p->slots[ref - 1].lease.addr);
	/* A MAC is one client's: the FDB has one entry per MAC, so a second
	 * holder would take the first one's traffic or get none. */
	mref = htab_find(&p->by_mac, mac_hash(p, mac), match_mac, p, (const char *)mac);
	if (mref && mref != ref)
		return -EADDRNOTAVAIL;
	r = choose(p, id, hash, name, wish, cur, &index);
	if (r < 0)
		return r;
	if (!ref) {
		r = make_room(p);
		if (r < 0)
			return r;
	}
	if ((r = ip_room(p)) < 0 || (r = htab_reserve(&p->by_mac, p->by_mac.count + 1)) < 0)
		return r;

	/* nothing fails from here on */
	if (had_previous)
		*had_previous = ref != 0;
	if (ref) {
		s = ref - 1;
		if (previous)
			*previous = p->slots[s].lease;
		if (index != cur) {
			bit_clear(p->used, cur);
			bit_set(p->used, index);
		}
		l = &p->slots[s].lease;
		if (memcmp(l->mac, mac, sizeof(l->mac)) != 0) {
			htab_remove(&p->by_mac, mac_hash(p, l->mac), s + 1);
			htab_insert(&p->by_mac, mac_hash(p, mac), s + 1);
		}
		if (!pg_addr_equal(&l->pod_ip, &pod_ip)) {
			ip_add(p, &pod_ip);
			ip_del(p, &l->pod_ip);
		}
		/* Another (pod IP, MAC): another admission element, counted from 0. */
		if (!pg_addr_equal(&l->pod_ip, &pod_ip) || memcmp(l->mac, mac, sizeof(l->mac)) != 0)
			l->tunnel_packets = 0;
	} else {
		s = p->free_slot;
		p->free_slot = p->slots[s].heap_pos;
		memset(&p->slots[s], 0, sizeof(p->slots[s]));
		strcpy(p->slots[s].lease.id, id); /* valid_id bounded its length */
		p->slots[s].hash = hash;
		htab_insert(&p->by_id, hash, s + 1);
		heap_place(p, p->nheap++, s);
		bit_set(p->used, index);
		htab_insert(&p->by_mac, mac_hash(p, mac), s + 1);
		ip_add(p, &pod_ip);
	}
	l = &p->slots[s].lease;
	l->addr = index_addr(p, index);
	memcpy(l->mac, mac, sizeof(l->mac));
	l->pod_ip = pod_ip;
	l->expires = expires;
	if (!ref)
		l->first_expires = expires;
	heap_fix(p, p->slots[s].heap_pos);
	if (granted)
		*granted = *l;
	return 0;
}

const struct pg_lease *pg_pool_find(const struct pg_pool *p, const char *id)
{
	uint32_t ref;

	if (!valid_id(id))
		return NULL;
	ref = htab_find(&p->by_id, hash_str(p, id), match_lease, p, id);
	return ref ? &p->slots[ref - 1].lease : NULL;
}

void pg_pool_touch(struct pg_pool *p, const char *id, uint64_t renewed_ms)
{
	uint32_t ref;

	if (!valid_id(id))
		return;
	ref = htab_find(&p->by_id, hash_str(p, id), match_lease, p, id);
	if (ref)
		p->slots[ref - 1].lease.renewed_ms = renewed_ms;
}

bool pg_pool_saw_traffic(struct pg_pool *p, const char *id, uint64_t packets, uint64_t now_ms)
{
	struct pg_lease *l;
	uint32_t ref;

	if (!valid_id(id))
		return false;
	ref = htab_find(&p->by_id, hash_str(p, id), match_lease, p, id);
	if (!ref)
		return false;
	l = &p->slots[ref - 1].lease;
	if (l->tunnel_packets == packets)
		return false;
	l->tunnel_packets = packets;
	l->renewed_ms = now_ms;
	return true;
}

int pg_pool_renew(struct pg_pool *p, const char *id, uint64_t expires, struct pg_lease *renewed)
{
	uint32_t ref;
	struct slot *sl;

	if (!valid_id(id))
		return -ENOENT;
	ref = htab_find(&p->by_id, hash_str(p, id), match_lease, p, id);
	if (!ref)
		return -ENOENT;
	sl = &p->slots[ref - 1];
	sl->lease.expires = expires;
	heap_fix(p, sl->heap_pos);
	if (renewed)
		*renewed = sl->lease;
	return 0;
}

static void end_lease(struct pg_pool *p, uint32_t s, struct pg_lease *ended)
{
	struct slot *sl = &p->slots[s];
	uint32_t index = addr_index(p, sl->lease.addr);

	if (ended)
		*ended = sl->lease;
	bit_clear(p->used, index);
	remember(p, sl->hash, index);
	htab_remove(&p->by_id, sl->hash, s + 1);
	htab_remove(&p->by_mac, mac_hash(p, sl->lease.mac), s + 1);
	ip_del(p, &sl->lease.pod_ip);
	heap_remove(p, sl->heap_pos);
	sl->heap_pos = p->free_slot;
	p->free_slot = s;
}

int pg_pool_release(struct pg_pool *p, const char *id, struct pg_lease *ended)
{
	uint32_t ref;

	if (!valid_id(id))
		return -ENOENT;
	ref = htab_find(&p->by_id, hash_str(p, id), match_lease, p, id);
	if (!ref)
		return -ENOENT;
	end_lease(p, ref - 1, ended);
	return 0;
}

int pg_pool_expire_one(struct pg_pool *p, uint64_t now, struct pg_lease *ended)
{
	if (!p->nheap || expiry_at(p, 0) > now)
		return -ENOENT;
	end_lease(p, p->heap[0], ended);
	return 0;
}

uint64_t pg_pool_next_expiry(const struct pg_pool *p)
{
	return p->nheap ? expiry_at(p, 0) : UINT64_MAX;
}

int pg_pool_foreach(const struct pg_pool *p, int (*fn)(const struct pg_lease *, void *), void *arg)
{
	/* the heap holds exactly the live slots */
	for (uint32_t i = 0; i < p->nheap; i++) {
		int r = fn(&p->slots[p->heap[i]].lease, arg);

		if (r)
			return r;
	}
	return 0;
}

/* ---- persistence ---- */

struct save_ctx {
	FILE *f;
	uint64_t lease_now, wall_now;
};

static int write_lease(const struct pg_lease *l, void *arg)
{
	char addr[INET_ADDRSTRLEN], pod_ip[PG_PREFIX_STRLEN];
	const struct save_ctx *c = arg;
	FILE *f = c->f;
	/* The file holds wall-clock times: the lease clock starts again with
	 * every process (and every boot). */
	uint64_t wall = l->expires >= c->lease_now ? c->wall_now + (l->expires - c->lease_now)
						   : c->wall_now - (c->lease_now - l->expires);

	inet_ntop(AF_INET, &l->addr, addr, sizeof(addr));
	pg_prefix_fmt(&l->pod_ip, pod_ip, false);
	if (fprintf(f, "%s %s %02x:%02x:%02x:%02x:%02x:%02x %s %" PRIu64 "\n", l->id, addr,
		    l->mac[0], l->mac[1], l->mac[2], l->mac[3], l->mac[4], l->mac[5], pod_ip,
		    wall) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

/* Makes a rename in path's directory durable. */
static int sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL;
	int fd, r = 0;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
out:
	free(dir);
	return r;
}

int pg_pool_save(const struct pg_pool *p, const char *path, uint64_t lease_now, uint64_t wall_now)
{
	struct save_ctx ctx = {.lease_now = lease_now, .wall_now = wall_now};
	char *tmp = NULL;
	FILE *f = NULL;
	int fd, r;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		goto out;
	}
	if (fputs(LEASES_HEADER, f) < 0) {
		r = errno ? -errno : -EIO;
		goto out;
	}
	ctx.f = f;
	r = pg_pool_foreach(p, write_lease, &ctx);
	if (r < 0)
		goto out;
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		r = errno ? -errno : -EIO;
		goto out;
	}
	r = fclose(f);
	f = NULL;
	if (r != 0 || rename(tmp, path) < 0) {
		r = errno ? -errno : -EIO;
		goto out;
	}
	r = sync_dir(path);
out:
	if (f)
		fclose(f);
	if (r < 0)
		unlink(tmp);
	free(tmp);
	return r;
}

static int parse_mac(const char *text, uint8_t mac[6])
{
	if (strlen(text) != MAC_STRLEN - 1)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		const char *c = text + 3 * i;
		char hex[] = {c[0], c[1], '\0'};

		if (!isxdigit((unsigned char)c[0]) || !isxdigit((unsigned char)c[1]) ||
		    (i < 5 && c[2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)strtoul(hex, NULL, 16); /* two hex digits, checked */
	}
	return 0;
}

static int parse_u64(const char *text, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

struct load_clock {
	uint64_t lease_now, wall_now;
	uint32_t max_left;
};

/* What is left of a lease that ends at wall-clock time wall, on the lease
 * clock. A wall clock set back while we were away cannot make it outlive a
 * lease time; one set forward ends it early (its client joins again). */
static uint64_t from_wall(const struct load_clock *c, uint64_t wall)
{
	uint64_t left = wall > c->wall_now ? wall - c->wall_now : 0;

	return c->lease_now + (left < c->max_left ? left : c->max_left);
}

/* One "id addr mac pod_ip expires\n" line of n bytes into tmp, the pool
 * that checks the file for duplicates; the pod IP is IPv4 (every file
 * before IPv6 underlays) or IPv6. -EBADMSG when malformed. */
static int load_line(const struct pg_pool *p, struct pg_pool *tmp, const struct load_clock *clk,
		     char *line, size_t n)
{
	char *field[LEASE_FIELDS], *rest = line;
	struct pg_lease l;
	uint32_t index;
	bool dup;
	int r;

	/* our writer ends every line; a line without one was torn */
	if (n > LEASE_LINE_MAX || line[n - 1] != '\n' || strlen(line) != n)
		return -EBADMSG;
	line[n - 1] = '\0';
	for (int i = 0; i < LEASE_FIELDS; i++) {
		field[i] = strsep(&rest, " ");
		if (!field[i] || !*field[i])
			return -EBADMSG;
	}
	if (rest || !valid_id(field[0]) || inet_pton(AF_INET, field[1], &l.addr) != 1 ||
	    parse_mac(field[2], l.mac) < 0 || pg_addr_parse(field[3], &l.pod_ip) < 0 ||
	    parse_u64(field[4], &l.expires) < 0)
		return -EBADMSG;
	/* outside the pool: the overlay changed since; the client rejoins */
	if (leasable_index(p, l.addr, &index) < 0)
		return 0;
	r = pg_pool_acquire(tmp, field[0], NULL, l.addr, l.mac, l.pod_ip, from_wall(clk, l.expires),
			    NULL, NULL, &dup);
	if (r == -EADDRINUSE || r == -EADDRNOTAVAIL || (r == 0 && dup))
		return -EBADMSG;
	return r;
}

static int adopt(const struct pg_lease *l, void *arg)
{
	struct pg_pool *p = arg;
	int r = pg_pool_acquire(p, l->id, l->id, l->addr, l->mac, l->pod_ip, l->expires, NULL, NULL,
				NULL);

	/* taken meanwhile or reserved for another name: the client rejoins */
	if (r == -EADDRINUSE || r == -ERANGE || r == -ENOSPC || r == -EADDRNOTAVAIL)
		return 0;
	return r;
}

int pg_pool_load(struct pg_pool *p, const char *path, uint64_t lease_now, uint64_t wall_now,
		 uint32_t max_left, unsigned *line)
{
	const struct load_clock clk = {lease_now, wall_now, max_left};
	struct pg_pool *tmp = NULL;
	char *buf = NULL, *corrupt = NULL;
	size_t cap = 0;
	unsigned n = 0;
	FILE *f;
	int r;

	*line = 0;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	r = pg_pool_new(&p->net, p->first_dynamic, &tmp);
	if (r < 0)
		goto out;
	for (;;) {
		ssize_t len;

		errno = 0;
		len = getline(&buf, &cap, f);
		if (len < 0) {
			if (ferror(f))
				r = errno ? -errno : -EIO;
			else if (n == 0)
				r = -EBADMSG; /* no header */
			break;
		}
		n++;
		if (n == 1)
			r = strcmp(buf, LEASES_HEADER) == 0 && (size_t)len == strlen(buf)
				? 0
				: -EBADMSG;
		else
			r = load_line(p, tmp, &clk, buf, (size_t)len);
		if (r < 0)
			break;
	}
	if (r == -EBADMSG) {
		*line = n ? n : 1;
		/* set aside for a human; the next save starts afresh */
		if (asprintf(&corrupt, "%s.corrupt", path) >= 0)
			rename(path, corrupt);
		else
			corrupt = NULL;
		goto out;
	}
	if (r == 0)
		r = pg_pool_foreach(tmp, adopt, p);
out:
	fclose(f);
	pg_pool_free(tmp);
	free(corrupt);
	free(buf);
	return r;
}
