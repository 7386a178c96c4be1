/* SPDX-License-Identifier: MIT */
#include "common/wire.h"

#include "common/daemon.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(((struct pg_key *)0)->bytes) == crypto_auth_KEYBYTES, "key size");
_Static_assert(PG_WIRE_TAG_LEN == crypto_auth_BYTES, "tag size");

#define MAGIC_LEN      (sizeof(PG_WIRE_MAGIC) - 1)
#define TLV_HEADER_LEN 4
#define MAC_LEN	       6
#define ADDR_LEN       4
#define ADDR6_LEN      16

_Static_assert(PG_WIRE_HEADER_LEN == MAGIC_LEN + 1 + 1 + 2 + 8 + PG_WIRE_NONCE_LEN + 2, "header");

/* sodium_init() is safe to call more than once; it reports failure (no
 * randomness source) only by its result. */
static int sodium_ready(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

/* ---- cursors: every read and write is checked against what is left ---- */

struct rcur {
	const uint8_t *p;
	size_t left;
};

static int get_bytes(struct rcur *c, void *dst, size_t n)
{
	if (c->left < n)
		return -EBADMSG;
	memcpy(dst, c->p, n);
	c->p += n;
	c->left -= n;
	return 0;
}

static int get_u8(struct rcur *c, uint8_t *v)
{
	return get_bytes(c, v, 1);
}

static int get_u16(struct rcur *c, uint16_t *v)
{
	uint8_t b[2];

	if (get_bytes(c, b, sizeof(b)) < 0)
		return -EBADMSG;
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return 0;
}

static int get_u64(struct rcur *c, uint64_t *v)
{
	uint8_t b[8];

	if (get_bytes(c, b, sizeof(b)) < 0)
		return -EBADMSG;
	*v = 0;
	for (size_t i = 0; i < sizeof(b); i++)
		*v = *v << 8 | b[i];
	return 0;
}

struct wcur {
	uint8_t *p;
	size_t left;
};

static int put_bytes(struct wcur *w, const void *src, size_t n)
{
	if (w->left < n)
		return -EMSGSIZE;
	memcpy(w->p, src, n);
	w->p += n;
	w->left -= n;
	return 0;
}

static int put_u8(struct wcur *w, uint8_t v)
{
	return put_bytes(w, &v, 1);
}

static int put_u16(struct wcur *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	return put_bytes(w, b, sizeof(b));
}

static int put_u32(struct wcur *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	return put_bytes(w, b, sizeof(b));
}

static int put_u64(struct wcur *w, uint64_t v)
{
	uint8_t b[8];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(v >> (8 * (sizeof(b) - 1 - i)));
	return put_bytes(w, b, sizeof(b));
}

static uint16_t be16(const uint8_t *v)
{
	return (uint16_t)(v[0] << 8 | v[1]);
}

static uint32_t be32(const uint8_t *v)
{
	return (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
}

/* ---- fields: one table entry per TLV type ---- */

/* get validates a value whose length is already within [min, max] (so
 * fixed-length fields ignore len) and stores it; the encoder runs it too
 * over what put wrote, so that nothing is sent that a receiver refuses. */
struct field {
	uint16_t min, max;
	bool (*present)(const struct pg_msg *m);
	int (*get)(struct pg_msg *m, const uint8_t *v, size_t len);
	int (*put)(const struct pg_msg *m, struct wcur *w);
};

static bool mac_unicast(const uint8_t *mac)
{
	static const uint8_t zero[MAC_LEN];

	return !(mac[0] & 1) && memcmp(mac, zero, MAC_LEN) != 0;
}

static bool has_pod_name(const struct pg_msg *m)
{
	return m->pod_name[0] != '\0';
}

/* Printable ASCII without spaces: what a log line and "namespace/name"
 * can carry unquoted. */
static int get_pod_name(struct pg_msg *m, const uint8_t *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (v[i] <= ' ' || v[i] > '~')
			return -EBADMSG;
	memcpy(m->pod_name, v, len);
	m->pod_name[len] = '\0';
	return 0;
}

static int put_pod_name(const struct pg_msg *m, struct wcur *w)
{
	return put_bytes(w, m->pod_name, strnlen(m->pod_name, sizeof(m->pod_name)));
}

static bool has_namespace(const struct pg_msg *m)
{
	return m->pod_namespace[0] != '\0';
}

/* DNS-label characters; no '/', so "namespace/name" is unambiguous. */
static int get_namespace(struct pg_msg *m, const uint8_t *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-'))
			return -EBADMSG;
	memcpy(m->pod_namespace, v, len);
	m->pod_namespace[len] = '\0';
	return 0;
}

static int put_namespace(const struct pg_msg *m, struct wcur *w)
{
	return put_bytes(w, m->pod_namespace, strnlen(m->pod_namespace, sizeof(m->pod_namespace)));
}

static bool has_mac(const struct pg_msg *m)
{
	return m->has_mac;
}

/* The gateway programs FDB and neighbour entries with it: a multicast or
 * zero MAC there would misdirect traffic. */
static int get_mac(struct pg_msg *m, const uint8_t *v, size_t len)
{
	(void)len;
	if (!mac_unicast(v))
		return -EBADMSG;
	memcpy(m->mac, v, MAC_LEN);
	m->has_mac = true;
	return 0;
}

static int put_mac(const struct pg_msg *m, struct wcur *w)
{
	return put_bytes(w, m->mac, MAC_LEN);
}

static bool has_wanted(const struct pg_msg *m)
{
	return m->has_wanted;
}

/* Any address: whether it fits the pool is the gateway's answer to give. */
static int get_wanted(struct pg_msg *m, const uint8_t *v, size_t len)
{
	(void)len;
	memcpy(&m->wanted.s_addr, v, ADDR_LEN);
	m->has_wanted = true;
	return 0;
}

static int put_wanted(const struct pg_msg *m, struct wcur *w)
{
	return put_bytes(w, &m->wanted.s_addr, ADDR_LEN);
}

static bool has_addr(const struct pg_msg *m)
{
	return m->has_addr;
}

static int get_addr(struct pg_msg *m, const uint8_t *v, size_t len)
{
	(void)len;
	if (v[ADDR_LEN] < 1 || v[ADDR_LEN] > 32)
		return -EBADMSG;
	memcpy(&m->addr.s_addr, v, ADDR_LEN);
	m->prefix_len = v[ADDR_LEN];
	m->has_addr = true;
	return 0;
}

static int put_addr(const struct pg_msg *m, struct wcur *w)
{
	int r = put_bytes(w, &m->addr.s_addr, ADDR_LEN);

	return r < 0 ? r : put_u8(w, m->prefix_len);
}

static bool has_gateway(const struct pg_msg *m)
{
	return m->has_gateway;
}

static int get_gateway(struct pg_msg *m, const uint8_t *v, size_t len)
{
	(void)len;
	if (!mac_unicast(v + ADDR_LEN))
		return -EBADMSG;
	memcpy(&m->gateway_addr.s_addr, v, ADDR_LEN);
	memcpy(m->gateway_mac, v + ADDR_LEN, MAC_LEN);
	m->has_gateway = true;
	return 0;
}

static int put_gateway(const struct pg_msg *m, struct wcur *w)
{
	int r = put_bytes(w, &m->gateway_addr.s_addr, ADDR_LEN);

	return r < 0 ? r : put_bytes(w, m->gateway_mac, MAC_LEN);
}

static bool has_mtu(const struct pg_msg *m)
{
	return m->mtu != 0;
}

/* 576: the smallest datagram every IPv4 host must accept. */
static int get_mtu(struct pg_msg *m, const uint8_t *v, size_t len)
{
	uint16_t mtu = be16(v);

	(void)len;
	if (mtu < PG_MTU_MIN)
		return -EBADMSG;
	m->mtu = mtu;
	return 0;
}

static int put_mtu(const struct pg_msg *m, struct wcur *w)
{
	return put_u16(w, m->mtu);
}

static bool has_lease_time(const struct pg_msg *m)
{
	return m->lease_time != 0;
}

static int get_lease_time(struct pg_msg *m, const uint8_t *v, size_t len)
{
	(void)len;
	m->lease_time = be32(v);
	return m->lease_time ? 0 : -EBADMSG;
}

static int put_lease_time(const struct pg_msg *m, struct wcur *w)
{
	return put_u32(w, m->lease_time);
}

static bool has_request_nonce(const struct pg_msg *m)
{
	return m->has_request_nonce;
}

static int get_request_nonce(struct pg_msg *m, const uint8_t *v, size_t len)
{
	(void)len;
	memcpy(m->request_nonce, v, PG_WIRE_NONCE_LEN);
	m->has_request_nonce = true;
	return 0;
}

static int put_request_nonce(const struct pg_msg *m, struct wcur *w)
{
	return put_bytes(w, m->request_nonce, PG_WIRE_NONCE_LEN);
}

static bool has_error(const struct pg_msg *m)
{
	return m->error != 0;
}

/* Codes this version does not know are kept: newer gateways may add some,
 * and pg_wire_error_str() names them "unknown error". */
static int get_error(struct pg_msg *m, const uint8_t *v, size_t len)
{
	(void)len;
	m->error = be16(v);
	return m->error ? 0 : -EBADMSG;
}

static int put_error(const struct pg_msg *m, struct wcur *w)
{
	return put_u16(w, m->error);
}

static bool has_error_text(const struct pg_msg *m)
{
	return m->error_text[0] != '\0';
}

static uint8_t printable(uint8_t c)
{
	return c >= ' ' && c <= '~' ? c : '?';
}

/* The text only explains the code, so odd bytes are replaced rather than
 * costing the whole answer. */
static int get_error_text(struct pg_msg *m, const uint8_t *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		m->error_text[i] = (char)printable(v[i]);
	m->error_text[len] = '\0';
	return 0;
}

static int put_error_text(const struct pg_msg *m, struct wcur *w)
{
	size_t len = strnlen(m->error_text, sizeof(m->error_text));

	for (size_t i = 0; i < len; i++) {
		int r = put_u8(w, printable((uint8_t)m->error_text[i]));

		if (r < 0)
			return r;
	}
	return 0;
}

static bool has_pod_ip(const struct pg_msg *m)
{
	return m->has_pod_ip;
}

/* Only what a pod can have: not 0.0.0.0, multicast or broadcast. */
static int get_pod_ip(struct pg_msg *m, const uint8_t *v, size_t len)
{
	uint32_t ip = be32(v);

	(void)len;
	if (ip == 0 || (ip >> 28) == 0xe || ip == UINT32_MAX)
		return -EBADMSG;
	memcpy(&m->pod_ip.s_addr, v, ADDR_LEN);
	m->has_pod_ip = true;
	return 0;
}

static int put_pod_ip(const struct pg_msg *m, struct wcur *w)
{
	return put_bytes(w, &m->pod_ip.s_addr, ADDR_LEN);
}

/* An IPv6 address a pod or an overlay may have: not ::, not multicast,
 * not link-local (no scope travels with it) and not IPv4-mapped (that is
 * POD_IP's). */
static bool ip6_unicast(const uint8_t *v)
{
	static const uint8_t zero[ADDR6_LEN];
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(v, zero, ADDR6_LEN) != 0 && v[0] != 0xff &&
	       !(v[0] == 0xfe && (v[1] & 0xc0) == 0x80) && memcmp(v, mapped, sizeof(mapped)) != 0;
}

static bool has_pod_ip6(const struct pg_msg *m)
{
	return m->has_pod_ip6;
}

static int get_pod_ip6(struct pg_msg *m, const uint8_t *v, size_t len)
{
	(void)len;
	if (!ip6_unicast(v))
		return -EBADMSG;
	memcpy(m->pod_ip6.s6_addr, v, ADDR6_LEN);
	m->has_pod_ip6 = true;
	return 0;
}

static int put_pod_ip6(const struct pg_msg *m, struct wcur *w)
{
	return put_bytes(w, m->pod_ip6.s6_addr, ADDR6_LEN);
}

/* has_addr6 stands for both ADDR6 and GATEWAY6: the rule below makes them
 * travel together. */
static bool has_addr6(const struct pg_msg *m)
{
	return m->has_addr6;
}

/* Prefix lengths 1-128 are read, as ADDR's 1-32 are, though podgw grants
 * a /64: the rule may change without a new version. */
static int get_addr6(struct pg_msg *m, const uint8_t *v, size_t len)
{
	(void)len;
	if (!ip6_unicast(v) || v[ADDR6_LEN] < 1 || v[ADDR6_LEN] > 128)
		return -EBADMSG;
	memcpy(m->addr6.s6_addr, v, ADDR6_LEN);
	m->prefix_len6 = v[ADDR6_LEN];
	m->has_addr6 = true;
	return 0;
}

static int put_addr6(const struct pg_msg *m, struct wcur *w)
{
	int r = put_bytes(w, m->addr6.s6_addr, ADDR6_LEN);

	return r < 0 ? r : put_u8(w, m->prefix_len6);
}

static bool has_gateway6(const struct pg_msg *m)
{
	return m->has_addr6;
}

static int get_gateway6(struct pg_msg *m, const uint8_t *v, size_t len)
{
	(void)len;
	if (!ip6_unicast(v))
		return -EBADMSG;
	memcpy(m->gateway_addr6.s6_addr, v, ADDR6_LEN);
	return 0;
}

static int put_gateway6(const struct pg_msg *m, struct wcur *w)
{
	return put_bytes(w, m->gateway_addr6.s6_addr, ADDR6_LEN);
}

static bool has_replica(const struct pg_msg *m)
{
	return m->replica[0] != '\0';
}

/* A DNS label's characters (what a pod or host name gives): printable,
 * and usable unquoted as a Prometheus label value and in a state file. */
bool pg_replica_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > PG_REPLICA_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '.'))
			return false;
	return true;
}

static int get_replica(struct pg_msg *m, const uint8_t *v, size_t len)
{
	if (!pg_replica_name_ok((const char *)v, len))
		return -EBADMSG;
	memcpy(m->replica, v, len);
	m->replica[len] = '\0';
	return 0;
}

static int put_replica(const struct pg_msg *m, struct wcur *w)
{
	return put_bytes(w, m->replica, strnlen(m->replica, sizeof(m->replica)));
}

static bool has_leases(const struct pg_msg *m)
{
	return m->has_leases;
}

static int get_leases(struct pg_msg *m, const uint8_t *v, size_t len)
{
	(void)len;
	m->leases = be32(v);
	m->has_leases = true;
	return 0;
}

static int put_leases(const struct pg_msg *m, struct wcur *w)
{
	return put_u32(w, m->leases);
}

#define FIELD(name) has_##name, get_##name, put_##name

/* Indexed by enum pg_tlv_type; in this order the encoder writes them. */
static const struct field fields[] = {
    [PG_TLV_POD_NAME] = {1, PG_POD_NAME_MAX, FIELD(pod_name)},
    [PG_TLV_POD_NAMESPACE] = {1, PG_NAMESPACE_MAX, FIELD(namespace)},
    [PG_TLV_MAC] = {MAC_LEN, MAC_LEN, FIELD(mac)},
    [PG_TLV_WANTED_ADDR] = {ADDR_LEN, ADDR_LEN, FIELD(wanted)},
    [PG_TLV_ADDR] = {ADDR_LEN + 1, ADDR_LEN + 1, FIELD(addr)},
    [PG_TLV_GATEWAY] = {ADDR_LEN + MAC_LEN, ADDR_LEN + MAC_LEN, FIELD(gateway)},
    [PG_TLV_MTU] = {2, 2, FIELD(mtu)},
    [PG_TLV_LEASE_TIME] = {4, 4, FIELD(lease_time)},
    [PG_TLV_REQUEST_NONCE] = {PG_WIRE_NONCE_LEN, PG_WIRE_NONCE_LEN, FIELD(request_nonce)},
    [PG_TLV_ERROR] = {2, 2, FIELD(error)},
    [PG_TLV_ERROR_TEXT] = {0, PG_ERROR_TEXT_MAX, FIELD(error_text)},
    [PG_TLV_POD_IP] = {ADDR_LEN, ADDR_LEN, FIELD(pod_ip)},
    [PG_TLV_REPLICA] = {1, PG_REPLICA_MAX, FIELD(replica)},
    [PG_TLV_LEASES] = {4, 4, FIELD(leases)},
    [PG_TLV_ADDR6] = {ADDR6_LEN + 1, ADDR6_LEN + 1, FIELD(addr6)},
    [PG_TLV_GATEWAY6] = {ADDR6_LEN, ADDR6_LEN, FIELD(gateway6)},
    [PG_TLV_POD_IP6] = {ADDR6_LEN, ADDR6_LEN, FIELD(pod_ip6)},
};

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))
#define BIT(t)	 (1u << (t))

_Static_assert(N_FIELDS <= 32, "field bits fit an unsigned");
/* Every field at its longest, and the tag, still fit PG_WIRE_MAX. */
_Static_assert(PG_WIRE_HEADER_LEN + (N_FIELDS - 1) * TLV_HEADER_LEN + PG_POD_NAME_MAX +
		       PG_NAMESPACE_MAX + MAC_LEN + ADDR_LEN + ADDR_LEN + 1 + ADDR_LEN + MAC_LEN +
		       2 + 4 + PG_WIRE_NONCE_LEN + 2 + PG_ERROR_TEXT_MAX + ADDR_LEN +
		       PG_REPLICA_MAX + 4 + ADDR6_LEN + 1 + ADDR6_LEN + ADDR6_LEN +
		       PG_WIRE_TAG_LEN <=
		   PG_WIRE_MAX,
	       "largest message fits");

static const struct field *field_of(uint16_t type)
{
	return type < N_FIELDS && fields[type].present ? &fields[type] : NULL;
}

/* ---- message types: which fields each must and may carry ---- */

/* one_of: exactly one of these must be present (they are optional too);
 * together: all of these or none. */
struct msg_rule {
	uint8_t type;
	unsigned required;
	unsigned optional;
	unsigned one_of;
	unsigned together;
};

/* Every request says where it comes from, under the tag: a captured
 * request sent again from another pod IP is refused. The pod IP is of the
 * underlay's family: POD_IP or POD_IP6, never both. */
#define IDENTITY (BIT(PG_TLV_POD_NAME) | BIT(PG_TLV_POD_NAMESPACE))
#define POD_IPS	 (BIT(PG_TLV_POD_IP) | BIT(PG_TLV_POD_IP6))
#define V6	 (BIT(PG_TLV_ADDR6) | BIT(PG_TLV_GATEWAY6))

static const struct msg_rule rules[] = {
    {PG_MSG_JOIN, IDENTITY | BIT(PG_TLV_MAC), BIT(PG_TLV_WANTED_ADDR) | POD_IPS, POD_IPS, 0},
    {PG_MSG_RENEW, IDENTITY | BIT(PG_TLV_MAC), POD_IPS, POD_IPS, 0},
    {PG_MSG_RELEASE, IDENTITY, POD_IPS, POD_IPS, 0},
    {PG_MSG_INFO, IDENTITY, POD_IPS, POD_IPS, 0},
    /* REPLICA, LEASES, ADDR6 and GATEWAY6 are optional: gateways before
     * them did not send them, and clients before them skip them as
     * unknown. */
    {PG_MSG_GRANT,
     BIT(PG_TLV_REQUEST_NONCE) | BIT(PG_TLV_ADDR) | BIT(PG_TLV_GATEWAY) | BIT(PG_TLV_MTU) |
	 BIT(PG_TLV_LEASE_TIME),
     BIT(PG_TLV_REPLICA) | BIT(PG_TLV_LEASES) | V6, 0, V6},
    {PG_MSG_RELEASED, BIT(PG_TLV_REQUEST_NONCE), 0, 0, 0},
    {PG_MSG_INFO_REPLY, BIT(PG_TLV_REQUEST_NONCE) | BIT(PG_TLV_REPLICA) | BIT(PG_TLV_LEASES), 0, 0,
     0},
    {PG_MSG_ERROR, BIT(PG_TLV_REQUEST_NONCE) | BIT(PG_TLV_ERROR), BIT(PG_TLV_ERROR_TEXT), 0, 0},
};

/* The rules beyond required and optional, over the fields present. */
static bool combination_ok(const struct msg_rule *rule, unsigned present)
{
	unsigned one = present & rule->one_of, both = present & rule->together;

	if (rule->one_of && (one == 0 || (one & (one - 1)) != 0))
		return false;
	return both == 0 || both == rule->together;
}

static const struct msg_rule *rule_of(uint8_t type)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].type == type)
			return &rules[i];
	return NULL;
}

/* ---- messages ---- */

/* Nonces are cut from a pool that one randombytes_buf() call fills for 32
 * messages: a daemon answering keepalives makes one getrandom() call per
 * 32 answers, not one each. Per process; nothing here forks (a forked
 * copy would repeat nonces, which the receiver refuses as replays). */
#define NONCE_POOL_LEN (32 * PG_WIRE_NONCE_LEN)

static void fresh_nonce(uint8_t out[PG_WIRE_NONCE_LEN])
{
	static uint8_t pool[NONCE_POOL_LEN];
	static size_t used = NONCE_POOL_LEN;

	if (used == NONCE_POOL_LEN) {
		randombytes_buf(pool, sizeof(pool));
		used = 0;
	}
	memcpy(out, pool + used, PG_WIRE_NONCE_LEN);
	sodium_memzero(pool + used, PG_WIRE_NONCE_LEN);
	used += PG_WIRE_NONCE_LEN;
}

int pg_msg_init(struct pg_msg *m, enum pg_msg_type type)
{
	time_t now = time(NULL);

	memset(m, 0, sizeof(*m));
	m->version = PG_WIRE_VERSION;
	m->type = (uint8_t)type;
	m->time = now > 0 ? (uint64_t)now : 0;
	if (sodium_ready() < 0)
		return -EIO;
	fresh_nonce(m->nonce);
	return 0;
}

int pg_msg_init_reply(struct pg_msg *m, enum pg_msg_type type, const struct pg_msg *request)
{
	int r = pg_msg_init(m, type);

	memcpy(m->request_nonce, request->nonce, sizeof(m->request_nonce));
	m->has_request_nonce = true;
	return r;
}

/* Writes one TLV, then checks the value with the decoder's own rules. */
static int encode_field(const struct pg_msg *m, uint16_t type, const struct field *f,
			struct wcur *w)
{
	struct pg_msg scratch;
	uint8_t *len_at, *value;
	size_t len;
	int r;

	r = put_u16(w, type);
	if (r < 0)
		return r;
	len_at = w->p;
	r = put_u16(w, 0);
	if (r < 0)
		return r;
	value = w->p;
	r = f->put(m, w);
	if (r < 0)
		return r;
	len = (size_t)(w->p - value);
	if (len < f->min || len > f->max || f->get(&scratch, value, len) < 0)
		return -EINVAL;
	len_at[0] = (uint8_t)(len >> 8);
	len_at[1] = (uint8_t)len;
	return 0;
}

int pg_msg_encode(const struct pg_msg *m, const struct pg_key *key, uint8_t *buf, size_t size)
{
	const struct msg_rule *rule = rule_of(m->type);
	struct wcur w = {buf, size};
	unsigned present = 0;
	size_t body_len;
	int r;

	if (!rule || !(m->version == PG_WIRE_VERSION ||
		       (m->version == PG_WIRE_VERSION_V1 && m->type == PG_MSG_ERROR)))
		return -EINVAL;
	if (size < PG_WIRE_HEADER_LEN)
		return -EMSGSIZE;

	/* The body first: its length goes into the header. */
	w.p += PG_WIRE_HEADER_LEN;
	w.left -= PG_WIRE_HEADER_LEN;
	for (uint16_t t = 0; t < N_FIELDS; t++) {
		const struct field *f = field_of(t);

		if (!f || !f->present(m))
			continue;
		if (!((rule->required | rule->optional) & BIT(t)))
			return -EINVAL;
		r = encode_field(m, t, f, &w);
		if (r < 0)
			return r;
		present |= BIT(t);
	}
	if ((present & rule->required) != rule->required || !combination_ok(rule, present))
		return -EINVAL;
	body_len = (size_t)(w.p - buf) - PG_WIRE_HEADER_LEN;

	w = (struct wcur){buf, PG_WIRE_HEADER_LEN};
	if (put_bytes(&w, PG_WIRE_MAGIC, MAGIC_LEN) < 0 || put_u8(&w, m->version) < 0 ||
	    put_u8(&w, m->type) < 0 || put_u16(&w, key ? PG_WIRE_FLAG_TAGGED : 0) < 0 ||
	    put_u64(&w, m->time) < 0 || put_bytes(&w, m->nonce, sizeof(m->nonce)) < 0 ||
	    put_u16(&w, (uint16_t)body_len) < 0)
		return -EMSGSIZE;

	if (key) {
		if (size - PG_WIRE_HEADER_LEN - body_len < PG_WIRE_TAG_LEN)
			return -EMSGSIZE;
		crypto_auth(buf + PG_WIRE_HEADER_LEN + body_len, buf, PG_WIRE_HEADER_LEN + body_len,
			    key->bytes);
		body_len += PG_WIRE_TAG_LEN;
	}
	return (int)(PG_WIRE_HEADER_LEN + body_len);
}

static int decode_fields(struct rcur *c, const struct msg_rule *rule, struct pg_msg *out)
{
	unsigned seen = 0;

	while (c->left) {
		const struct field *f;
		uint16_t type, len;

		if (get_u16(c, &type) < 0 || get_u16(c, &len) < 0 || c->left < len)
			return -EBADMSG;
		f = field_of(type);
		/* Unknown types are skipped: newer senders may add fields. */
		if (f) {
			if (!((rule->required | rule->optional) & BIT(type)) ||
			    (seen & BIT(type)) || len < f->min || len > f->max ||
			    f->get(out, c->p, len) < 0)
				return -EBADMSG;
			seen |= BIT(type);
		}
		c->p += len;
		c->left -= len;
	}
	return (seen & rule->required) == rule->required && combination_ok(rule, seen) ? 0
										       : -EBADMSG;
}

int pg_msg_decode(const uint8_t *buf, size_t len, const struct pg_key *key, struct pg_msg *out)
{
	struct rcur c = {buf, len};
	const struct msg_rule *rule;
	uint8_t magic[MAGIC_LEN];
	uint16_t flags, body_len;
	size_t signed_len;

	memset(out, 0, sizeof(*out));
	/* Magic to nonce keep their layout in every version, so that an
	 * unsupported version can still be answered. */
	if (get_bytes(&c, magic, sizeof(magic)) < 0 ||
	    memcmp(magic, PG_WIRE_MAGIC, MAGIC_LEN) != 0 || get_u8(&c, &out->version) < 0 ||
	    get_u8(&c, &out->type) < 0 || get_u16(&c, &flags) < 0 || get_u64(&c, &out->time) < 0 ||
	    get_bytes(&c, out->nonce, sizeof(out->nonce)) < 0)
		return -EBADMSG;
	/* A version 1 ERROR reads the same (an old gateway refusing us). */
	if (out->version != PG_WIRE_VERSION &&
	    !(out->version == PG_WIRE_VERSION_V1 && out->type == PG_MSG_ERROR))
		return -EPROTONOSUPPORT;
	if (get_u16(&c, &body_len) < 0 || len > PG_WIRE_MAX || (flags & ~PG_WIRE_FLAG_TAGGED))
		return -EBADMSG;
	rule = rule_of(out->type);
	if (!rule)
		return -EBADMSG;
	if (c.left != (size_t)body_len + (flags & PG_WIRE_FLAG_TAGGED ? PG_WIRE_TAG_LEN : 0))
		return -EBADMSG;

	/* Nothing past the header is looked at before the tag verifies. */
	signed_len = PG_WIRE_HEADER_LEN + body_len;
	if (key) {
		if (!(flags & PG_WIRE_FLAG_TAGGED) ||
		    crypto_auth_verify(buf + signed_len, buf, signed_len, key->bytes) != 0)
			return -EACCES;
		out->authenticated = true;
	}
	c.left = body_len;
	return decode_fields(&c, rule, out);
}

const char *pg_wire_error_str(uint16_t error)
{
	switch (error) {
	case PG_ERR_BAD_REQUEST:
		return "bad request";
	case PG_ERR_UNSUPPORTED_VERSION:
		return "unsupported protocol version";
	case PG_ERR_AUTH:
		return "authentication failed";
	case PG_ERR_POOL_EXHAUSTED:
		return "address pool exhausted";
	case PG_ERR_ADDRESS_TAKEN:
		return "address taken";
	case PG_ERR_ADDRESS_OUTSIDE_POOL:
		return "address outside the pool";
	case PG_ERR_NO_LEASE:
		return "no lease";
	case PG_ERR_INTERNAL:
		return "internal error";
	case PG_ERR_LEASE_HELD:
		return "lease held from another pod IP";
	case PG_ERR_RATE:
		return "too many requests";
	case PG_ERR_POD_IP:
		return "POD_IP is not the source address";
	}
	return "unknown error";
}

const char *pg_msg_type_str(uint8_t type)
{
	switch (type) {
	case PG_MSG_JOIN:
		return "JOIN";
	case PG_MSG_RENEW:
		return "RENEW";
	case PG_MSG_RELEASE:
		return "RELEASE";
	case PG_MSG_INFO:
		return "INFO";
	case PG_MSG_INFO_REPLY:
		return "INFO_REPLY";
	case PG_MSG_GRANT:
		return "GRANT";
	case PG_MSG_RELEASED:
		return "RELEASED";
	case PG_MSG_ERROR:
		return "ERROR";
	}
	return "unknown";
}

/* ---- keys ---- */

int pg_key_load(const char *path, struct pg_key *key, const char **why)
{
	uint8_t buf[PG_KEY_FILE_MAX + 1]; /* one more, to see a file that is too long */
	size_t len = 0;
	struct stat st;
	int fd, r = 0;

	if (sodium_ready() < 0) {
		*why = "libsodium cannot initialise";
		return -EIO;
	}
	fd = pg_open_regular(path, &st);
	if (fd < 0) {
		*why = fd == -EINVAL ? "not a regular file" : strerror(-fd);
		return fd;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		r = -EPERM;
		*why = "accessible to group or others (chmod 600)";
		goto out;
	}
	r = pg_read_full(fd, buf, sizeof(buf), &len);
	if (r < 0) {
		*why = strerror(-r);
		goto out;
	}
	if (len < PG_KEY_FILE_MIN || len > PG_KEY_FILE_MAX) {
		r = -EINVAL;
		*why = len < PG_KEY_FILE_MIN ? "shorter than 16 bytes" : "longer than 4096 bytes";
		goto out;
	}
	crypto_generichash(key->bytes, sizeof(key->bytes), buf, len, NULL, 0);
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return r;
}

/* ---- replay protection ---- */

/* The nonces live in a ring in arrival order (FIFO eviction); an open
 * addressing index (linear probing, at most half full) finds them. Its
 * hash is keyed SipHash, so chosen nonces cannot pile up in one chain. */
struct replay_entry {
	uint8_t nonce[PG_WIRE_NONCE_LEN];
	uint64_t time;
	uint64_t hash;
};

struct pg_replay {
	unsigned window;
	size_t capacity;
	struct replay_entry *ring;
	size_t head, count;
	uint32_t *slots; /* ring index + 1; 0: empty */
	size_t mask;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

#define REPLAY_CAPACITY_MAX ((size_t)1 << 24)

struct pg_replay *pg_replay_new(unsigned window, size_t capacity)
{
	struct pg_replay *r;
	size_t n_slots = 1;

	if (capacity == 0 || capacity > REPLAY_CAPACITY_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (sodium_ready() < 0) {
		errno = EIO;
		return NULL;
	}
	while (n_slots < 2 * capacity)
		n_slots <<= 1;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->window = window;
	r->capacity = capacity;
	r->mask = n_slots - 1;
	r->ring = calloc(capacity, sizeof(*r->ring));
	r->slots = calloc(n_slots, sizeof(*r->slots));
	if (!r->ring || !r->slots) {
		pg_replay_free(r);
		errno = ENOMEM;
		return NULL;
	}
	randombytes_buf(r->hash_key, sizeof(r->hash_key));
	return r;
}

void pg_replay_free(struct pg_replay *r)
{
	if (!r)
		return;
	free(r->ring);
	free(r->slots);
	free(r);
}

static uint64_t replay_hash(const struct pg_replay *r, const uint8_t *nonce)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h;

	_Static_assert(sizeof(out) == sizeof(h), "shorthash is 64 bits");
	crypto_shorthash(out, nonce, PG_WIRE_NONCE_LEN, r->hash_key);
	memcpy(&h, out, sizeof(h));
	return h;
}

/* The slot holding nonce, or the empty slot ending its probe sequence. */
static size_t replay_probe(const struct pg_replay *r, const uint8_t *nonce, uint64_t hash)
{
	size_t i = (size_t)hash & r->mask;

	while (r->slots[i]) {
		const struct replay_entry *e = &r->ring[r->slots[i] - 1];

		if (e->hash == hash && memcmp(e->nonce, nonce, PG_WIRE_NONCE_LEN) == 0)
			break;
		i = (i + 1) & r->mask;
	}
	return i;
}

/* Backward-shift deletion: entries after the hole move up unless that
 * would put them before their home slot, so no tombstones are needed. */
static void replay_unslot(struct pg_replay *r, size_t hole)
{
	size_t j = hole;

	r->slots[hole] = 0;
	for (;;) {
		size_t home;

		j = (j + 1) & r->mask;
		if (!r->slots[j])
			return;
		home = (size_t)r->ring[r->slots[j] - 1].hash & r->mask;
		/* Stays when its home lies cyclically in (hole, j]. */
		if (hole <= j ? (hole < home && home <= j) : (hole < home || home <= j))
			continue;
		r->slots[hole] = r->slots[j];
		r->slots[j] = 0;
		hole = j;
	}
}

static void replay_evict_oldest(struct pg_replay *r)
{
	const struct replay_entry *e = &r->ring[r->head];

	replay_unslot(r, replay_probe(r, e->nonce, e->hash));
	r->head = (r->head + 1) % r->capacity;
	r->count--;
}

static uint64_t distance(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

int pg_replay_check(struct pg_replay *r, const struct pg_msg *m, uint64_t now)
{
	struct replay_entry *e;
	uint64_t hash;
	size_t i, at;

	if (distance(m->time, now) > r->window)
		return -ETIME;
	/* Entries that left the window are refused by time already. Arrival
	 * order is only roughly time order, so some may stay until evicted. */
	while (r->count && r->ring[r->head].time < now && now - r->ring[r->head].time > r->window)
		replay_evict_oldest(r);

	hash = replay_hash(r, m->nonce);
	if (r->slots[replay_probe(r, m->nonce, hash)])
		return -EALREADY;
	if (r->count == r->capacity)
		replay_evict_oldest(r);

	at = (r->head + r->count) % r->capacity;
	e = &r->ring[at];
	memcpy(e->nonce, m->nonce, sizeof(e->nonce));
	e->time = m->time;
	e->hash = hash;
	r->count++;
	/* Eviction may have shifted slots: probe again for the free one. */
	i = replay_probe(r, m->nonce, hash);
	r->slots[i] = (uint32_t)(at + 1);
	return 0;
}
