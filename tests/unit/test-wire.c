/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/wire.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BYTES(s)      (const uint8_t *)(s), sizeof(s) - 1

static const struct pg_key key = {{1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
				   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}};
static const struct pg_key other_key = {{32, 31, 30}};

static const uint8_t client_mac[6] = {0x02, 0x42, 0xac, 0x10, 0x00, 0x15};
static const uint8_t gateway_mac[6] = {0x02, 0x42, 0xac, 0x10, 0x00, 0x01};
static const uint8_t a_nonce[PG_WIRE_NONCE_LEN] = {0xde, 0xad, 0xbe, 0xef, 1, 2,  3,  4,
						   5,	 6,    7,    8,	   9, 10, 11, 12};
static const uint64_t a_time = 1700000000;

/* ---- a raw builder, for messages pg_msg_encode() refuses to write ---- */

struct raw {
	uint8_t buf[2 * PG_WIRE_MAX];
	size_t len;
};

static void raw_put(struct raw *r, const void *p, size_t n)
{
	if (r->len + n > sizeof(r->buf))
		abort();
	memcpy(r->buf + r->len, p, n);
	r->len += n;
}

static void raw_u16(struct raw *r, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	raw_put(r, b, sizeof(b));
}

static void raw_header(struct raw *r, uint8_t version, uint8_t type, uint16_t flags)
{
	uint8_t vt[2] = {version, type};
	uint8_t t[8];

	for (size_t i = 0; i < sizeof(t); i++)
		t[i] = (uint8_t)(a_time >> (56 - 8 * i));
	r->len = 0;
	raw_put(r, PG_WIRE_MAGIC, sizeof(PG_WIRE_MAGIC) - 1);
	raw_put(r, vt, sizeof(vt));
	raw_u16(r, flags);
	raw_put(r, t, sizeof(t));
	raw_put(r, a_nonce, sizeof(a_nonce));
	raw_u16(r, 0); /* body length: raw_finish() */
}

static void raw_field(struct raw *r, uint16_t type, const void *value, size_t len)
{
	raw_u16(r, type);
	raw_u16(r, (uint16_t)len);
	raw_put(r, value, len);
}

/* Sets the body length and, with a key, appends the tag. */
static void raw_finish(struct raw *r, const struct pg_key *k)
{
	size_t body = r->len - PG_WIRE_HEADER_LEN;

	r->buf[PG_WIRE_HEADER_LEN - 2] = (uint8_t)(body >> 8);
	r->buf[PG_WIRE_HEADER_LEN - 1] = (uint8_t)body;
	if (k) {
		uint8_t tag[PG_WIRE_TAG_LEN];

		crypto_auth(tag, r->buf, r->len, k->bytes);
		raw_put(r, tag, sizeof(tag));
	}
}

/* A valid value of every field. */
static const struct {
	const uint8_t *v;
	size_t len;
} good[] = {
    [PG_TLV_POD_NAME] = {BYTES("crawler-7d9f-x2")},
    [PG_TLV_POD_NAMESPACE] = {BYTES("crawlers")},
    [PG_TLV_MAC] = {client_mac, 6},
    [PG_TLV_WANTED_ADDR] = {BYTES("\xac\x10\x00\x1e")},
    [PG_TLV_ADDR] = {BYTES("\xac\x10\x00\x15\x18")},
    [PG_TLV_GATEWAY] = {BYTES("\xac\x10\x00\x01\x02\x42\xac\x10\x00\x01")},
    [PG_TLV_MTU] = {BYTES("\x05\xaa")},
    [PG_TLV_LEASE_TIME] = {BYTES("\x00\x00\x00\x1e")},
    [PG_TLV_REQUEST_NONCE] = {a_nonce, PG_WIRE_NONCE_LEN},
    [PG_TLV_ERROR] = {BYTES("\x00\x07")},
    [PG_TLV_ERROR_TEXT] = {BYTES("no lease for crawlers/crawler-7d9f-x2")},
    [PG_TLV_POD_IP] = {BYTES("\x0a\xf4\x00\x0b")},
    [PG_TLV_REPLICA] = {BYTES("foo-0")},
    [PG_TLV_LEASES] = {BYTES("\x00\x00\x00\x2a")},
    /* fd12:3456:789a:2a::15/64, fd12:3456:789a:2a::1, fd00:10:244::b */
    [PG_TLV_ADDR6] = {BYTES("\xfd\x12\x34\x56\x78\x9a\x00\x2a\0\0\0\0\0\0\0\x15\x40")},
    [PG_TLV_GATEWAY6] = {BYTES("\xfd\x12\x34\x56\x78\x9a\x00\x2a\0\0\0\0\0\0\0\x01")},
    [PG_TLV_POD_IP6] = {BYTES("\xfd\x00\x00\x10\x02\x44\0\0\0\0\0\0\0\0\0\x0b")},
};

static void raw_good(struct raw *r, uint16_t tlv)
{
	raw_field(r, tlv, good[tlv].v, good[tlv].len);
}

/* A value of any length: text for text fields, else the valid value cut
 * or padded. */
static void raw_sized(struct raw *r, uint16_t tlv, size_t len)
{
	uint8_t v[PG_WIRE_MAX];
	bool text = tlv == PG_TLV_POD_NAME || tlv == PG_TLV_POD_NAMESPACE ||
		    tlv == PG_TLV_ERROR_TEXT || tlv == PG_TLV_REPLICA;

	memset(v, text ? 'a' : 0x5a, len);
	if (!text)
		memcpy(v, good[tlv].v, len < good[tlv].len ? len : good[tlv].len);
	raw_field(r, tlv, v, len);
}

#define MAX_FIELDS 5
#define REQ(...)                                                                                   \
	{                                                                                          \
		PG_TLV_POD_NAME, PG_TLV_POD_NAMESPACE, PG_TLV_POD_IP, __VA_ARGS__                  \
	}

static const struct {
	uint8_t type;
	uint16_t required[MAX_FIELDS];
	uint16_t optional[2];
} shapes[] = {
    {PG_MSG_JOIN, REQ(PG_TLV_MAC), {PG_TLV_WANTED_ADDR}},
    {PG_MSG_RENEW, REQ(PG_TLV_MAC), {0}},
    {PG_MSG_RELEASE, REQ(0), {0}},
    {PG_MSG_GRANT,
     {PG_TLV_REQUEST_NONCE, PG_TLV_ADDR, PG_TLV_GATEWAY, PG_TLV_MTU, PG_TLV_LEASE_TIME},
     {PG_TLV_REPLICA, PG_TLV_LEASES}},
    {PG_MSG_RELEASED, {PG_TLV_REQUEST_NONCE}, {0}},
    {PG_MSG_ERROR, {PG_TLV_REQUEST_NONCE, PG_TLV_ERROR}, {PG_TLV_ERROR_TEXT}},
    {PG_MSG_INFO, REQ(0), {0}},
    {PG_MSG_INFO_REPLY, {PG_TLV_REQUEST_NONCE, PG_TLV_REPLICA, PG_TLV_LEASES}, {0}},
};

enum { S_JOIN, S_RENEW, S_RELEASE, S_GRANT, S_RELEASED, S_ERROR, S_INFO, S_INFO_REPLY };

static bool in_shape(size_t s, uint16_t tlv)
{
	for (size_t i = 0; i < MAX_FIELDS; i++)
		if (shapes[s].required[i] == tlv && tlv)
			return true;
	return tlv && (shapes[s].optional[0] == tlv || shapes[s].optional[1] == tlv);
}

/* Header and the required fields of shape s with valid values, but skip. */
static void raw_begin(struct raw *r, size_t s, uint16_t skip, bool tagged)
{
	raw_header(r, PG_WIRE_VERSION, shapes[s].type, tagged ? PG_WIRE_FLAG_TAGGED : 0);
	for (size_t i = 0; i < MAX_FIELDS && shapes[s].required[i]; i++)
		if (shapes[s].required[i] != skip)
			raw_good(r, shapes[s].required[i]);
}

/* ---- round trips ---- */

static void fill(struct pg_msg *m, uint8_t type, bool optional)
{
	pg_msg_init(m, type);
	switch (type) {
	case PG_MSG_JOIN:
	case PG_MSG_RENEW:
		memcpy(m->mac, client_mac, sizeof(m->mac));
		m->has_mac = true;
		if (optional && type == PG_MSG_JOIN) {
			inet_pton(AF_INET, "172.16.0.30", &m->wanted);
			m->has_wanted = true;
		}
		/* fall through */
	case PG_MSG_RELEASE:
	case PG_MSG_INFO:
		snprintf(m->pod_name, sizeof(m->pod_name), "crawler-7d9f-x2");
		snprintf(m->pod_namespace, sizeof(m->pod_namespace), "crawlers");
		inet_pton(AF_INET, "10.244.0.11", &m->pod_ip);
		m->has_pod_ip = true;
		break;
	case PG_MSG_GRANT:
		inet_pton(AF_INET, "172.16.0.21", &m->addr);
		m->prefix_len = 24;
		m->has_addr = true;
		inet_pton(AF_INET, "172.16.0.1", &m->gateway_addr);
		memcpy(m->gateway_mac, gateway_mac, sizeof(m->gateway_mac));
		m->has_gateway = true;
		m->mtu = 1450;
		m->lease_time = 30;
		if (optional) {
			snprintf(m->replica, sizeof(m->replica), "foo-1.gw");
			m->leases = 7;
			m->has_leases = true;
		}
		/* fall through */
	case PG_MSG_RELEASED:
		memcpy(m->request_nonce, a_nonce, sizeof(m->request_nonce));
		m->has_request_nonce = true;
		break;
	case PG_MSG_INFO_REPLY:
		memcpy(m->request_nonce, a_nonce, sizeof(m->request_nonce));
		m->has_request_nonce = true;
		snprintf(m->replica, sizeof(m->replica), "foo-2");
		m->leases = optional ? UINT32_MAX : 0; /* zero leases is a value, not absence */
		m->has_leases = true;
		break;
	case PG_MSG_ERROR:
		memcpy(m->request_nonce, a_nonce, sizeof(m->request_nonce));
		m->has_request_nonce = true;
		m->error = PG_ERR_POOL_EXHAUSTED;
		if (optional)
			snprintf(m->error_text, sizeof(m->error_text), "no free address in %s",
				 "172.16.0.0/24");
		break;
	}
}

static bool same(const struct pg_msg *a, const struct pg_msg *b)
{
	return a->version == b->version && a->type == b->type && a->time == b->time &&
	       !memcmp(a->nonce, b->nonce, sizeof(a->nonce)) && !strcmp(a->pod_name, b->pod_name) &&
	       !strcmp(a->pod_namespace, b->pod_namespace) && a->has_mac == b->has_mac &&
	       !memcmp(a->mac, b->mac, sizeof(a->mac)) && a->has_wanted == b->has_wanted &&
	       a->wanted.s_addr == b->wanted.s_addr && a->has_addr == b->has_addr &&
	       a->addr.s_addr == b->addr.s_addr && a->prefix_len == b->prefix_len &&
	       a->has_gateway == b->has_gateway &&
	       a->gateway_addr.s_addr == b->gateway_addr.s_addr &&
	       !memcmp(a->gateway_mac, b->gateway_mac, sizeof(a->gateway_mac)) &&
	       a->mtu == b->mtu && a->lease_time == b->lease_time &&
	       a->has_request_nonce == b->has_request_nonce &&
	       !memcmp(a->request_nonce, b->request_nonce, sizeof(a->request_nonce)) &&
	       a->error == b->error && !strcmp(a->error_text, b->error_text) &&
	       a->has_pod_ip == b->has_pod_ip && a->pod_ip.s_addr == b->pod_ip.s_addr &&
	       !strcmp(a->replica, b->replica) && a->has_leases == b->has_leases &&
	       a->leases == b->leases && a->has_pod_ip6 == b->has_pod_ip6 &&
	       !memcmp(&a->pod_ip6, &b->pod_ip6, sizeof(a->pod_ip6)) &&
	       a->has_addr6 == b->has_addr6 && !memcmp(&a->addr6, &b->addr6, sizeof(a->addr6)) &&
	       a->prefix_len6 == b->prefix_len6 &&
	       !memcmp(&a->gateway_addr6, &b->gateway_addr6, sizeof(a->gateway_addr6));
}

static void test_round_trips(void)
{
	for (size_t s = 0; s < ARRAY_SIZE(shapes); s++) {
		for (int variant = 0; variant < 4; variant++) {
			bool optional = variant & 1, keyed = variant & 2;
			const struct pg_key *k = keyed ? &key : NULL;
			uint8_t buf[PG_WIRE_MAX];
			struct pg_msg m, d;
			int n;

			fill(&m, shapes[s].type, optional);
			n = pg_msg_encode(&m, k, buf, sizeof(buf));
			CHECK(n > PG_WIRE_HEADER_LEN);
			if (n < 0)
				continue;
			CHECK(pg_msg_decode(buf, (size_t)n, k, &d) == 0);
			CHECK(same(&m, &d));
			CHECK(d.authenticated == keyed);
			/* Without a key a tag is skipped, unverified. */
			CHECK(pg_msg_decode(buf, (size_t)n, NULL, &d) == 0);
			CHECK(same(&m, &d) && !d.authenticated);
			for (int size = 0; size < n; size++)
				CHECK(pg_msg_encode(&m, k, buf, (size_t)size) == -EMSGSIZE);
		}
	}
}

/* The exact bytes, so that the format cannot drift unnoticed; the same
 * message is shown in docs/membership.md. */
static void test_golden(void)
{
	static const uint8_t want[] = {
	    'P',  'G',	'W',  'M',  2,	  1,	0,   1,	  0,   0,   0,	 0,   0x65, 0x53,
	    0xf1, 0x00, 0xde, 0xad, 0xbe, 0xef, 1,   2,	  3,   4,   5,	 6,   7,    8,
	    9,	  10,	11,   12,   0,	  0x31, 0,   1,	  0,   15,  'c', 'r', 'a',  'w',
	    'l',  'e',	'r',  '-',  '7',  'd',	'9', 'f', '-', 'x', '2', 0,   2,    0,
	    8,	  'c',	'r',  'a',  'w',  'l',	'e', 'r', 's', 0,   3,	 0,   6,    0x02,
	    0x42, 0xac, 0x10, 0x00, 0x15, 0,	12,  0,	  4,   10,  244, 0,   11,
	};
	static const uint8_t want_tag[PG_WIRE_TAG_LEN] = {
	    0x5a, 0xed, 0x42, 0x72, 0xee, 0xb0, 0x68, 0x0b, 0x5e, 0x8d, 0xa9,
	    0xb9, 0x03, 0x93, 0xd6, 0xe9, 0x03, 0x88, 0x75, 0xbb, 0x94, 0x19,
	    0x62, 0xc5, 0x73, 0x02, 0x80, 0xe2, 0x9b, 0x9f, 0xa6, 0xe8,
	};
	uint8_t buf[PG_WIRE_MAX];
	struct pg_msg m;
	int n;

	fill(&m, PG_MSG_JOIN, false);
	m.time = a_time;
	memcpy(m.nonce, a_nonce, sizeof(m.nonce));
	n = pg_msg_encode(&m, &key, buf, sizeof(buf));
	CHECK(n == (int)sizeof(want) + PG_WIRE_TAG_LEN);
	CHECK(n > 0 && memcmp(buf, want, sizeof(want)) == 0);
	/* The tag is HMAC-SHA-512-256 over everything before it. */
	CHECK(n > 0 && crypto_auth_hmacsha512256_verify(buf + sizeof(want), buf, sizeof(want),
							key.bytes) == 0);
	/* as docs/membership.md prints it */
	CHECK(n > 0 && memcmp(buf + sizeof(want), want_tag, sizeof(want_tag)) == 0);
}

/* A version 1 ERROR is what an old gateway answers a version 2 request
 * with, and what we answer an old client with: both ways it reads. */
static void test_version1_error(void)
{
	uint8_t buf[PG_WIRE_MAX];
	struct pg_msg m, d;
	int n;

	fill(&m, PG_MSG_ERROR, true);
	m.version = PG_WIRE_VERSION_V1;
	m.error = PG_ERR_UNSUPPORTED_VERSION;
	n = pg_msg_encode(&m, &key, buf, sizeof(buf));
	CHECK(n > 0 && buf[4] == 1);
	CHECK(n > 0 && pg_msg_decode(buf, (size_t)n, &key, &d) == 0);
	CHECK(same(&m, &d) && d.authenticated);
	/* a version 1 request is another version */
	fill(&m, PG_MSG_JOIN, false);
	n = pg_msg_encode(&m, NULL, buf, sizeof(buf));
	CHECK(n > 0);
	buf[4] = 1;
	CHECK(n > 0 && pg_msg_decode(buf, (size_t)n, NULL, &d) == -EPROTONOSUPPORT);
	CHECK(d.version == 1 && d.type == PG_MSG_JOIN);
	CHECK(strcmp(pg_wire_error_str(PG_ERR_LEASE_HELD), "unknown error") != 0);
}

static void test_init(void)
{
	struct pg_msg a, b, reply;

	CHECK(pg_msg_init(&a, PG_MSG_JOIN) == 0);
	CHECK(pg_msg_init(&b, PG_MSG_JOIN) == 0);
	CHECK(a.version == PG_WIRE_VERSION && a.type == PG_MSG_JOIN);
	CHECK(memcmp(a.nonce, b.nonce, sizeof(a.nonce)) != 0);
	CHECK(a.time > a_time && b.time - a.time < 5);
	CHECK(pg_msg_init_reply(&reply, PG_MSG_RELEASED, &a) == 0);
	CHECK(reply.type == PG_MSG_RELEASED && reply.has_request_nonce &&
	      !memcmp(reply.request_nonce, a.nonce, sizeof(a.nonce)));
	CHECK(memcmp(reply.nonce, a.nonce, sizeof(a.nonce)) != 0);
}

/* ---- fields: lengths, values, duplicates, presence, unknown types ---- */

static const struct {
	uint16_t tlv;
	size_t shape; /* a message type that carries it */
	size_t min, max;
} bounds[] = {
    {PG_TLV_POD_NAME, S_JOIN, 1, PG_POD_NAME_MAX},
    {PG_TLV_POD_NAMESPACE, S_JOIN, 1, PG_NAMESPACE_MAX},
    {PG_TLV_MAC, S_JOIN, 6, 6},
    {PG_TLV_WANTED_ADDR, S_JOIN, 4, 4},
    {PG_TLV_ADDR, S_GRANT, 5, 5},
    {PG_TLV_GATEWAY, S_GRANT, 10, 10},
    {PG_TLV_MTU, S_GRANT, 2, 2},
    {PG_TLV_LEASE_TIME, S_GRANT, 4, 4},
    {PG_TLV_REQUEST_NONCE, S_RELEASED, 16, 16},
    {PG_TLV_ERROR, S_ERROR, 2, 2},
    {PG_TLV_ERROR_TEXT, S_ERROR, 0, PG_ERROR_TEXT_MAX},
    {PG_TLV_REPLICA, S_GRANT, 1, PG_REPLICA_MAX},
    {PG_TLV_REPLICA, S_INFO_REPLY, 1, PG_REPLICA_MAX},
    {PG_TLV_LEASES, S_GRANT, 4, 4},
    {PG_TLV_LEASES, S_INFO_REPLY, 4, 4},
};

static int decode_sized(size_t s, uint16_t tlv, size_t len, const struct pg_key *k)
{
	struct raw r;
	struct pg_msg m;

	raw_begin(&r, s, tlv, k != NULL);
	raw_sized(&r, tlv, len);
	raw_finish(&r, k);
	return pg_msg_decode(r.buf, r.len, k, &m);
}

static void test_lengths(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bounds); i++) {
		size_t s = bounds[i].shape, min = bounds[i].min, max = bounds[i].max;
		uint16_t t = bounds[i].tlv;

		CHECK(decode_sized(s, t, min, NULL) == 0);
		CHECK(decode_sized(s, t, max, NULL) == 0);
		CHECK(min == 0 || decode_sized(s, t, min - 1, NULL) == -EBADMSG);
		CHECK(decode_sized(s, t, max + 1, NULL) == -EBADMSG);
		/* Authenticated does not mean well-formed. */
		CHECK(decode_sized(s, t, max, &key) == 0);
		CHECK(decode_sized(s, t, max + 1, &key) == -EBADMSG);
	}
}

static const struct {
	size_t shape;
	uint16_t tlv;
	const uint8_t *v;
	size_t len;
	int result;
} values[] = {
    {S_JOIN, PG_TLV_POD_NAME, BYTES("a"), 0},
    {S_JOIN, PG_TLV_POD_NAME, BYTES("web-0.x_y:z/~!"), 0},
    {S_JOIN, PG_TLV_POD_NAME, BYTES("a b"), -EBADMSG},
    {S_JOIN, PG_TLV_POD_NAME, BYTES("a\tb"), -EBADMSG},
    {S_JOIN, PG_TLV_POD_NAME, BYTES("a\x7f"), -EBADMSG},
    {S_JOIN, PG_TLV_POD_NAME, BYTES("a\0b"), -EBADMSG},
    {S_JOIN, PG_TLV_POD_NAME, BYTES("\xc3\xa9t\xc3\xa9"), -EBADMSG},
    {S_JOIN, PG_TLV_POD_NAMESPACE, BYTES("kube-system-2"), 0},
    {S_JOIN, PG_TLV_POD_NAMESPACE, BYTES("Crawlers"), -EBADMSG},
    {S_JOIN, PG_TLV_POD_NAMESPACE, BYTES("crawl_ers"), -EBADMSG},
    {S_JOIN, PG_TLV_POD_NAMESPACE, BYTES("a.b"), -EBADMSG},
    {S_JOIN, PG_TLV_POD_NAMESPACE, BYTES("a/b"), -EBADMSG},
    {S_JOIN, PG_TLV_MAC, BYTES("\x02\x00\x00\x00\x00\x01"), 0},
    {S_JOIN, PG_TLV_MAC, BYTES("\x01\x00\x5e\x00\x00\x01"), -EBADMSG},
    {S_JOIN, PG_TLV_MAC, BYTES("\xff\xff\xff\xff\xff\xff"), -EBADMSG},
    {S_JOIN, PG_TLV_MAC, BYTES("\x00\x00\x00\x00\x00\x00"), -EBADMSG},
    {S_RENEW, PG_TLV_MAC, BYTES("\x03\x00\x00\x00\x00\x01"), -EBADMSG},
    {S_JOIN, PG_TLV_WANTED_ADDR, BYTES("\x00\x00\x00\x00"), 0},
    {S_GRANT, PG_TLV_ADDR, BYTES("\xac\x10\x00\x15\x00"), -EBADMSG},
    {S_GRANT, PG_TLV_ADDR, BYTES("\xac\x10\x00\x15\x01"), 0},
    {S_GRANT, PG_TLV_ADDR, BYTES("\xac\x10\x00\x15\x20"), 0},
    {S_GRANT, PG_TLV_ADDR, BYTES("\xac\x10\x00\x15\x21"), -EBADMSG},
    {S_GRANT, PG_TLV_ADDR, BYTES("\xac\x10\x00\x15\xff"), -EBADMSG},
    {S_GRANT, PG_TLV_GATEWAY, BYTES("\xac\x10\x00\x01\x01\x00\x5e\x00\x00\x01"), -EBADMSG},
    {S_GRANT, PG_TLV_GATEWAY, BYTES("\xac\x10\x00\x01\x00\x00\x00\x00\x00\x00"), -EBADMSG},
    {S_GRANT, PG_TLV_MTU, BYTES("\x00\x00"), -EBADMSG},
    {S_GRANT, PG_TLV_MTU, BYTES("\x02\x3f"), -EBADMSG},
    {S_GRANT, PG_TLV_MTU, BYTES("\x02\x40"), 0},
    {S_GRANT, PG_TLV_MTU, BYTES("\xff\xff"), 0},
    {S_GRANT, PG_TLV_LEASE_TIME, BYTES("\x00\x00\x00\x00"), -EBADMSG},
    {S_GRANT, PG_TLV_LEASE_TIME, BYTES("\x00\x00\x00\x01"), 0},
    {S_GRANT, PG_TLV_LEASE_TIME, BYTES("\xff\xff\xff\xff"), 0},
    {S_ERROR, PG_TLV_ERROR, BYTES("\x00\x00"), -EBADMSG},
    {S_ERROR, PG_TLV_ERROR, BYTES("\x00\x01"), 0},
    {S_ERROR, PG_TLV_ERROR, BYTES("\xff\xff"), 0}, /* a newer gateway's code */
    {S_ERROR, PG_TLV_ERROR_TEXT, BYTES(""), 0},
    {S_GRANT, PG_TLV_REPLICA, BYTES("foo-0.gw-7"), 0},
    {S_INFO_REPLY, PG_TLV_REPLICA, BYTES("0"), 0},
    {S_INFO_REPLY, PG_TLV_REPLICA, BYTES("Foo-0"), -EBADMSG},
    {S_GRANT, PG_TLV_REPLICA, BYTES("foo_0"), -EBADMSG},
    {S_GRANT, PG_TLV_REPLICA, BYTES("foo 0"), -EBADMSG},
    {S_GRANT, PG_TLV_REPLICA, BYTES("foo/0"), -EBADMSG},
    {S_GRANT, PG_TLV_REPLICA, BYTES("foo\n"), -EBADMSG},
    {S_GRANT, PG_TLV_REPLICA, BYTES("foo\"0"), -EBADMSG},
    {S_GRANT, PG_TLV_REPLICA, BYTES("a\0b"), -EBADMSG},
    {S_INFO_REPLY, PG_TLV_REPLICA, BYTES(""), -EBADMSG},
    {S_INFO_REPLY, PG_TLV_LEASES, BYTES("\x00\x00\x00\x00"), 0},
    {S_GRANT, PG_TLV_LEASES, BYTES("\xff\xff\xff\xff"), 0},
};

static void test_values(void)
{
	struct raw r;
	struct pg_msg m;

	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		int got;

		raw_begin(&r, values[i].shape, values[i].tlv, false);
		raw_field(&r, values[i].tlv, values[i].v, values[i].len);
		raw_finish(&r, NULL);
		got = pg_msg_decode(r.buf, r.len, NULL, &m);
		if (got != values[i].result)
			fprintf(stderr, "values[%zu]: %d\n", i, got);
		CHECK(got == values[i].result);
	}

	/* Decoded values land in the right members. */
	raw_begin(&r, S_GRANT, 0, false);
	raw_finish(&r, NULL);
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == 0);
	CHECK(m.has_addr && m.addr.s_addr == htonl(0xac100015) && m.prefix_len == 24);
	CHECK(m.has_gateway && m.gateway_addr.s_addr == htonl(0xac100001) &&
	      !memcmp(m.gateway_mac, gateway_mac, 6));
	CHECK(m.mtu == 1450 && m.lease_time == 30);
	CHECK(m.has_request_nonce && !memcmp(m.request_nonce, a_nonce, sizeof(a_nonce)));
	CHECK(m.time == a_time && !memcmp(m.nonce, a_nonce, sizeof(a_nonce)));
	/* A GRANT from a gateway before REPLICA and LEASES reads as before. */
	CHECK(m.replica[0] == '\0' && !m.has_leases && m.leases == 0);

	raw_begin(&r, S_GRANT, 0, false);
	raw_good(&r, PG_TLV_LEASES);
	raw_good(&r, PG_TLV_REPLICA);
	raw_finish(&r, NULL);
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == 0);
	CHECK_STR(m.replica, "foo-0");
	CHECK(m.has_leases && m.leases == 42);
	raw_begin(&r, S_INFO_REPLY, 0, false);
	raw_finish(&r, NULL);
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == 0);
	CHECK(m.type == PG_MSG_INFO_REPLY && m.has_leases && m.leases == 42);
	CHECK_STR(m.replica, "foo-0");

	/* Error text is made printable rather than refused. */
	raw_begin(&r, S_ERROR, 0, false);
	raw_field(&r, PG_TLV_ERROR_TEXT, BYTES("bad\x1b[31m\n\0x\xff"));
	raw_finish(&r, NULL);
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == 0);
	CHECK_STR(m.error_text, "bad?[31m??x?");
	CHECK(m.error == PG_ERR_NO_LEASE);
}

static void test_presence(void)
{
	struct raw r;
	struct pg_msg m;

	for (size_t s = 0; s < ARRAY_SIZE(shapes); s++) {
		/* Each known field twice. */
		for (uint16_t t = PG_TLV_POD_NAME; t <= PG_TLV_LEASES; t++) {
			if (!in_shape(s, t))
				continue;
			raw_begin(&r, s, t, false);
			raw_good(&r, t);
			raw_finish(&r, NULL);
			CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == 0);
			raw_begin(&r, s, t, false);
			raw_good(&r, t);
			raw_good(&r, t);
			raw_finish(&r, NULL);
			CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == -EBADMSG);
		}
		/* Each required field missing. */
		for (size_t i = 0; i < MAX_FIELDS && shapes[s].required[i]; i++) {
			raw_begin(&r, s, shapes[s].required[i], false);
			raw_finish(&r, NULL);
			CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == -EBADMSG);
		}
		/* A known field that the type does not carry. */
		for (uint16_t t = PG_TLV_POD_NAME; t <= PG_TLV_LEASES; t++) {
			if (in_shape(s, t))
				continue;
			raw_begin(&r, s, 0, false);
			raw_good(&r, t);
			raw_finish(&r, NULL);
			CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == -EBADMSG);
		}
	}
}

static void test_unknown_fields(void)
{
	static const uint8_t big[300];
	struct pg_msg plain, m;
	struct raw r;

	raw_begin(&r, S_JOIN, 0, true);
	raw_finish(&r, &key);
	CHECK(pg_msg_decode(r.buf, r.len, &key, &plain) == 0);

	/* Before, between and after known ones; repeated; empty; long. */
	raw_header(&r, PG_WIRE_VERSION, PG_MSG_JOIN, PG_WIRE_FLAG_TAGGED);
	raw_field(&r, 0, BYTES("zero"));
	raw_good(&r, PG_TLV_POD_NAME);
	raw_field(&r, 99, BYTES(""));
	raw_field(&r, 99, BYTES("again"));
	raw_good(&r, PG_TLV_POD_NAMESPACE);
	raw_field(&r, 0x8000, big, sizeof(big));
	raw_good(&r, PG_TLV_MAC);
	raw_field(&r, 0xffff, BYTES("\x01\x02\x03"));
	raw_good(&r, PG_TLV_POD_IP);
	raw_finish(&r, &key);
	CHECK(pg_msg_decode(r.buf, r.len, &key, &m) == 0);
	CHECK(same(&plain, &m) && m.authenticated);

	/* An unknown field's length must still fit the body. */
	raw_begin(&r, S_JOIN, 0, false);
	raw_u16(&r, 99);
	raw_u16(&r, 5);
	raw_put(&r, "abcd", 4);
	raw_finish(&r, NULL);
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == -EBADMSG);
	/* A TLV header cut short. */
	raw_begin(&r, S_JOIN, 0, false);
	raw_put(&r, "\x00\x63\x00", 3);
	raw_finish(&r, NULL);
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == -EBADMSG);
}

/* ---- the header ---- */

static void test_header(void)
{
	static const uint8_t types[] = {0, 5, 0x7f, 0x80, 0x82, 0x85, 0xfe};
	static const uint16_t bad_flags[] = {0x0002, 0x0100, 0x8000, 0xffff};
	static const uint8_t versions[] = {0, 1, 3, 255};
	static const uint8_t pad[PG_WIRE_MAX];
	struct pg_msg m;
	struct raw r;
	size_t room;

	raw_begin(&r, S_RELEASE, 0, false);
	raw_finish(&r, NULL);
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == 0);
	r.buf[3] = 'X';
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == -EBADMSG);

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		raw_begin(&r, S_RELEASE, 0, false);
		r.buf[5] = types[i];
		raw_finish(&r, NULL);
		CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == -EBADMSG);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_flags); i++) {
		raw_begin(&r, S_RELEASE, 0, false);
		r.buf[6] = (uint8_t)(bad_flags[i] >> 8);
		r.buf[7] = (uint8_t)bad_flags[i];
		raw_finish(&r, bad_flags[i] & PG_WIRE_FLAG_TAGGED ? &key : NULL);
		CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == -EBADMSG);
		CHECK(pg_msg_decode(r.buf, r.len, &key, &m) == -EBADMSG);
	}

	/* Body length one off either way, and a byte after the end. */
	raw_begin(&r, S_RELEASE, 0, false);
	raw_finish(&r, NULL);
	r.buf[PG_WIRE_HEADER_LEN - 1]++;
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == -EBADMSG);
	r.buf[PG_WIRE_HEADER_LEN - 1] -= 2;
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == -EBADMSG);
	raw_begin(&r, S_RELEASE, 0, false);
	raw_finish(&r, NULL);
	raw_put(&r, "", 1);
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == -EBADMSG);
	raw_begin(&r, S_RELEASE, 0, true);
	raw_finish(&r, &key);
	raw_put(&r, "", 1);
	CHECK(pg_msg_decode(r.buf, r.len, &key, &m) == -EBADMSG);
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == -EBADMSG);

	/* PG_WIRE_MAX bytes at most, however they are made up. */
	raw_begin(&r, S_RELEASE, 0, true);
	room = PG_WIRE_MAX - r.len - PG_WIRE_TAG_LEN - 4;
	raw_field(&r, 4242, pad, room);
	raw_finish(&r, &key);
	CHECK(r.len == PG_WIRE_MAX && pg_msg_decode(r.buf, r.len, &key, &m) == 0);
	raw_begin(&r, S_RELEASE, 0, true);
	raw_field(&r, 4242, pad, room + 1);
	raw_finish(&r, &key);
	CHECK(pg_msg_decode(r.buf, r.len, &key, &m) == -EBADMSG);

	/* Another version: answerable, so the header is filled. */
	for (size_t i = 0; i < ARRAY_SIZE(versions); i++) {
		raw_header(&r, versions[i], PG_MSG_JOIN, 0x1234);
		raw_put(&r, "whatever version 3 carries", 26);
		CHECK(pg_msg_decode(r.buf, r.len, &key, &m) == -EPROTONOSUPPORT);
		CHECK(m.version == versions[i] && m.type == PG_MSG_JOIN && m.time == a_time);
		CHECK(!memcmp(m.nonce, a_nonce, sizeof(a_nonce)) && !m.authenticated);
		CHECK(pg_msg_decode(r.buf, PG_WIRE_HEADER_LEN - 2, NULL, &m) == -EPROTONOSUPPORT);
		CHECK(pg_msg_decode(r.buf, PG_WIRE_HEADER_LEN - 3, NULL, &m) == -EBADMSG);
	}
}

static void test_truncation(void)
{
	for (size_t s = 0; s < ARRAY_SIZE(shapes); s++) {
		for (int keyed = 0; keyed < 2; keyed++) {
			const struct pg_key *k = keyed ? &key : NULL;
			uint8_t buf[PG_WIRE_MAX];
			struct pg_msg m;
			int n;

			fill(&m, shapes[s].type, true);
			n = pg_msg_encode(&m, k, buf, sizeof(buf));
			CHECK(n > 0);
			for (int len = 0; len < n; len++) {
				CHECK(pg_msg_decode(buf, (size_t)len, NULL, &m) == -EBADMSG);
				CHECK(pg_msg_decode(buf, (size_t)len, &key, &m) == -EBADMSG);
			}
		}
	}
}

/* ---- authentication ---- */

static void test_auth(void)
{
	uint8_t buf[PG_WIRE_MAX];
	struct pg_msg m, d;
	struct raw r;
	int n;

	fill(&m, PG_MSG_JOIN, true);
	n = pg_msg_encode(&m, &key, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK(pg_msg_decode(buf, (size_t)n, &other_key, &d) == -EACCES);

	/* Every bit: the header's first eight bytes are checked before the
	 * tag (bad magic, version, type or flags), the body length decides
	 * where the tag is; everything else is the tag's to refuse. */
	for (int bit = 0; bit < 8 * n; bit++) {
		int got, at = bit / 8;

		buf[at] ^= (uint8_t)(1 << bit % 8);
		got = pg_msg_decode(buf, (size_t)n, &key, &d);
		buf[at] ^= (uint8_t)(1 << bit % 8);
		if (at < 8)
			CHECK(got == -EBADMSG || got == -EPROTONOSUPPORT || got == -EACCES);
		else if (at >= PG_WIRE_HEADER_LEN - 2 && at < PG_WIRE_HEADER_LEN)
			CHECK(got == -EBADMSG);
		else
			CHECK(got == -EACCES);
	}
	CHECK(pg_msg_decode(buf, (size_t)n, &key, &d) == 0 && d.authenticated);

	/* Untagged when a key is set: refused, but answerable. */
	n = pg_msg_encode(&m, NULL, buf, sizeof(buf));
	CHECK(pg_msg_decode(buf, (size_t)n, &key, &d) == -EACCES);
	CHECK(d.type == PG_MSG_JOIN && !memcmp(d.nonce, m.nonce, sizeof(m.nonce)));
	CHECK(d.pod_name[0] == '\0' && !d.has_mac && !d.authenticated);

	/* The tag is checked before the body is read: a malformed body with
	 * a wrong tag is an authentication failure, not a parse error. */
	raw_begin(&r, S_JOIN, 0, true);
	raw_sized(&r, PG_TLV_MAC, 7);
	raw_finish(&r, &other_key);
	CHECK(pg_msg_decode(r.buf, r.len, &key, &d) == -EACCES);
	CHECK(pg_msg_decode(r.buf, r.len, &other_key, &d) == -EBADMSG);
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &d) == -EBADMSG);
}

/* ---- the encoder refuses what the decoder would ---- */

static void test_encode_errors(void)
{
	uint8_t buf[PG_WIRE_MAX];
	struct pg_msg m;

	fill(&m, PG_MSG_JOIN, true);
	CHECK(pg_msg_encode(&m, NULL, buf, sizeof(buf)) > 0);
#define REFUSED(type, change)                                                                      \
	do {                                                                                       \
		fill(&m, type, true);                                                              \
		change;                                                                            \
		CHECK(pg_msg_encode(&m, &key, buf, sizeof(buf)) == -EINVAL);                       \
	} while (0)
	REFUSED(PG_MSG_JOIN, m.version = 1); /* version 1: ERROR only */
	REFUSED(PG_MSG_JOIN, m.version = 3);
	REFUSED(PG_MSG_JOIN, m.has_pod_ip = false);
	REFUSED(PG_MSG_JOIN, m.pod_ip.s_addr = 0);
	REFUSED(PG_MSG_JOIN, m.pod_ip.s_addr = htonl(0xe0000001));
	REFUSED(PG_MSG_JOIN, m.pod_ip.s_addr = htonl(0xffffffff));
	REFUSED(PG_MSG_GRANT, m.has_pod_ip = true);
	REFUSED(PG_MSG_JOIN, m.version = 0);
	REFUSED(PG_MSG_JOIN, m.type = 0x42);
	REFUSED(PG_MSG_JOIN, m.has_mac = false);
	REFUSED(PG_MSG_JOIN, m.pod_name[0] = '\0');
	REFUSED(PG_MSG_JOIN, m.pod_namespace[0] = '\0');
	REFUSED(PG_MSG_JOIN, strcpy(m.pod_name, "a b"));
	REFUSED(PG_MSG_JOIN, memset(m.pod_name, 'a', sizeof(m.pod_name)));
	REFUSED(PG_MSG_JOIN, strcpy(m.pod_namespace, "Crawlers"));
	REFUSED(PG_MSG_JOIN, memset(m.pod_namespace, 'a', sizeof(m.pod_namespace)));
	REFUSED(PG_MSG_JOIN, m.mac[0] = 1);
	REFUSED(PG_MSG_JOIN, memset(m.mac, 0, sizeof(m.mac)));
	REFUSED(PG_MSG_JOIN, m.has_addr = true);
	REFUSED(PG_MSG_JOIN, m.has_request_nonce = true);
	REFUSED(PG_MSG_RENEW, m.has_wanted = true);
	REFUSED(PG_MSG_RELEASE, m.has_mac = true);
	REFUSED(PG_MSG_GRANT, m.prefix_len = 0);
	REFUSED(PG_MSG_GRANT, m.prefix_len = 33);
	REFUSED(PG_MSG_GRANT, m.mtu = PG_MTU_MIN - 1);
	REFUSED(PG_MSG_GRANT, m.mtu = 0);
	REFUSED(PG_MSG_GRANT, m.lease_time = 0);
	REFUSED(PG_MSG_GRANT, m.gateway_mac[0] = 0xff);
	REFUSED(PG_MSG_GRANT, m.has_request_nonce = false);
	REFUSED(PG_MSG_GRANT, strcpy(m.pod_name, "x"));
	REFUSED(PG_MSG_RELEASED, m.error = PG_ERR_INTERNAL);
	REFUSED(PG_MSG_ERROR, m.error = 0);
	REFUSED(PG_MSG_GRANT, strcpy(m.replica, "Foo"));
	REFUSED(PG_MSG_GRANT, memset(m.replica, 'a', sizeof(m.replica)));
	REFUSED(PG_MSG_INFO_REPLY, m.replica[0] = '\0');
	REFUSED(PG_MSG_INFO_REPLY, m.has_leases = false);
	REFUSED(PG_MSG_INFO_REPLY, m.has_addr = true);
	REFUSED(PG_MSG_INFO, m.has_mac = true);
	REFUSED(PG_MSG_INFO, m.has_pod_ip = false);
	REFUSED(PG_MSG_JOIN, m.has_leases = true);
	REFUSED(PG_MSG_RELEASED, strcpy(m.replica, "foo-0"));
#undef REFUSED

	/* Error text is sent printable and at most PG_ERROR_TEXT_MAX long. */
	fill(&m, PG_MSG_ERROR, false);
	strcpy(m.error_text, "tab\there");
	{
		struct pg_msg d;
		int n = pg_msg_encode(&m, NULL, buf, sizeof(buf));

		CHECK(n > 0 && pg_msg_decode(buf, (size_t)n, NULL, &d) == 0);
		CHECK_STR(d.error_text, "tab?here");
	}
	memset(m.error_text, 'x', sizeof(m.error_text));
	CHECK(pg_msg_encode(&m, NULL, buf, sizeof(buf)) == -EINVAL);
}

/* ---- replay protection ---- */

static struct pg_msg with(uint8_t n, uint64_t time)
{
	struct pg_msg m = {.time = time};

	memset(m.nonce, n, sizeof(m.nonce));
	return m;
}

static void test_replay(void)
{
	const uint64_t now = a_time;
	struct pg_replay *r = pg_replay_new(30, 4);
	struct pg_msg m;

	CHECK(r != NULL);
	if (!r)
		return;
	m = with(1, now);
	CHECK(pg_replay_check(r, &m, now) == 0);
	CHECK(pg_replay_check(r, &m, now) == -EALREADY);
	CHECK(pg_replay_check(r, &m, now + 10) == -EALREADY);
	m = with(1, now + 1); /* same nonce, other time: still a replay */
	CHECK(pg_replay_check(r, &m, now) == -EALREADY);
	m = with(2, now - 30);
	CHECK(pg_replay_check(r, &m, now) == 0);
	m = with(3, now + 30);
	CHECK(pg_replay_check(r, &m, now) == 0);
	m = with(4, now - 31);
	CHECK(pg_replay_check(r, &m, now) == -ETIME);
	m = with(4, now + 31);
	CHECK(pg_replay_check(r, &m, now) == -ETIME);
	m = with(4, 0);
	CHECK(pg_replay_check(r, &m, now) == -ETIME);
	m = with(4, UINT64_MAX);
	CHECK(pg_replay_check(r, &m, now) == -ETIME);
	m = with(4, now); /* not remembered when refused for its time */
	CHECK(pg_replay_check(r, &m, now) == 0);

	/* Full: the oldest (1) goes; the rest are still known. */
	m = with(5, now);
	CHECK(pg_replay_check(r, &m, now) == 0);
	for (uint8_t n = 2; n <= 5; n++) {
		m = with(n, now);
		CHECK(pg_replay_check(r, &m, now) == -EALREADY);
	}
	m = with(1, now);
	CHECK(pg_replay_check(r, &m, now) == 0);

	/* A nonce that left the window is forgotten: with a new time it is
	 * another message (the old one is refused for its time). */
	m = with(6, now);
	CHECK(pg_replay_check(r, &m, now) == 0);
	m = with(6, now + 31);
	CHECK(pg_replay_check(r, &m, now + 31) == 0);
	CHECK(pg_replay_check(r, &m, now + 31) == -EALREADY);
	m = with(6, now);
	CHECK(pg_replay_check(r, &m, now + 31) == -ETIME);
	pg_replay_free(r);

	CHECK(pg_replay_new(30, 0) == NULL && errno == EINVAL);
	pg_replay_free(NULL);
}

static struct pg_msg numbered(int i)
{
	struct pg_msg m = {.time = a_time};

	memcpy(m.nonce, &i, sizeof(i));
	return m;
}

/* Many more nonces than room, through a small index: every deletion must
 * leave the probe chains of the remaining entries intact. */
static void test_replay_churn(void)
{
	enum { CAPACITY = 3, TOTAL = 3000, BIG = 1000 };
	struct pg_replay *r = pg_replay_new(30, CAPACITY);
	struct pg_msg m;

	CHECK(r != NULL);
	if (!r)
		return;
	for (int i = 0; i < TOTAL; i++) {
		m = numbered(i);
		CHECK(pg_replay_check(r, &m, a_time) == 0);
		for (int j = i; j >= 0 && j > i - CAPACITY; j--) {
			m = numbered(j);
			CHECK(pg_replay_check(r, &m, a_time) == -EALREADY);
		}
	}
	pg_replay_free(r);

	r = pg_replay_new(30, BIG);
	CHECK(r != NULL);
	if (!r)
		return;
	for (int i = 0; i < TOTAL; i++) {
		m = numbered(i);
		CHECK(pg_replay_check(r, &m, a_time) == 0);
	}
	for (int i = TOTAL - BIG; i < TOTAL; i++) {
		m = numbered(i);
		CHECK(pg_replay_check(r, &m, a_time) == -EALREADY);
	}
	for (int i = TOTAL - 2 * BIG; i < TOTAL - BIG; i++) {
		m = numbered(i);
		CHECK(pg_replay_check(r, &m, a_time) == 0);
	}
	pg_replay_free(r);
}

/* ---- key files ---- */

static char dir[] = "/tmp/test-wire-XXXXXX";

static void write_file(const char *name, const void *data, size_t len, mode_t mode)
{
	char path[sizeof(dir) + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) < 0)
		abort();
	close(fd);
}

static int load(const char *name, struct pg_key *k, const char **why)
{
	char path[sizeof(dir) + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*why = NULL;
	return pg_key_load(path, k, why);
}

static void test_key_files(void)
{
	static const char text[] = "0123456789abcdef0123456789abcdef";
	/* b2sum -l 256 of the file: what a second implementation computes. */
	static const uint8_t want[32] = {0x27, 0x88, 0x63, 0x6b, 0xe2, 0x5c, 0xac, 0xe0,
					 0xbd, 0x9e, 0x45, 0xbd, 0xde, 0x65, 0x0b, 0x4f,
					 0xc0, 0xe9, 0x79, 0x57, 0x5d, 0x7f, 0x3d, 0x58,
					 0xc6, 0x24, 0x8b, 0x18, 0xab, 0x23, 0x76, 0x09};
	static const mode_t open_modes[] = {0644, 0640, 0604, 0620, 0602, 0610, 0601, 0666};
	static const char *const names[] = {"key",  "open", "short", "min", "max",
					    "long", "link", "dir",   "fifo"};
	uint8_t big[PG_KEY_FILE_MAX + 1];
	struct pg_key k;
	const char *why;
	char path[sizeof(dir) + 32];

	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	write_file("key", text, sizeof(text) - 1, 0600);
	CHECK(load("key", &k, &why) == 0 && why == NULL);
	CHECK(!memcmp(k.bytes, want, sizeof(want)));
	write_file("key", text, sizeof(text) - 1, 0400);
	CHECK(load("key", &k, &why) == 0);

	for (size_t i = 0; i < ARRAY_SIZE(open_modes); i++) {
		write_file("open", text, sizeof(text) - 1, open_modes[i]);
		CHECK(load("open", &k, &why) == -EPERM);
		CHECK(why && strstr(why, "chmod 600"));
	}

	memset(big, 'k', sizeof(big));
	write_file("short", big, PG_KEY_FILE_MIN - 1, 0600);
	CHECK(load("short", &k, &why) == -EINVAL);
	CHECK_STR(why, "shorter than 16 bytes");
	write_file("min", big, PG_KEY_FILE_MIN, 0600);
	CHECK(load("min", &k, &why) == 0);
	write_file("max", big, PG_KEY_FILE_MAX, 0600);
	CHECK(load("max", &k, &why) == 0);
	write_file("long", big, PG_KEY_FILE_MAX + 1, 0600);
	CHECK(load("long", &k, &why) == -EINVAL);
	CHECK_STR(why, "longer than 4096 bytes");

	/* A Kubernetes Secret volume: the key is a symlink (mode 0777) to
	 * the file, whose own mode is what counts. */
	snprintf(path, sizeof(path), "%s/link", dir);
	CHECK(symlink("key", path) == 0);
	CHECK(load("link", &k, &why) == 0 && !memcmp(k.bytes, want, sizeof(want)));

	snprintf(path, sizeof(path), "%s/dir", dir);
	CHECK(mkdir(path, 0700) == 0);
	CHECK(load("dir", &k, &why) == -EINVAL);
	CHECK_STR(why, "not a regular file");
	snprintf(path, sizeof(path), "%s/fifo", dir);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK(load("fifo", &k, &why) == -EINVAL); /* without waiting for a writer */
	CHECK(load("missing", &k, &why) == -ENOENT && why != NULL);

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (unlink(path) < 0)
			rmdir(path);
	}
	CHECK(rmdir(dir) == 0);
}

/* ---- IPv6: ADDR6 and GATEWAY6 in GRANT, POD_IP6 in requests ---- */

static void test_ipv6_round_trips(void)
{
	static const uint8_t types[] = {PG_MSG_JOIN, PG_MSG_RENEW, PG_MSG_RELEASE, PG_MSG_INFO};
	uint8_t buf[PG_WIRE_MAX];
	struct pg_msg m, d;
	int n;

	fill(&m, PG_MSG_GRANT, true);
	inet_pton(AF_INET6, "fd12:3456:789a:2a::15", &m.addr6);
	m.prefix_len6 = 64;
	inet_pton(AF_INET6, "fd12:3456:789a:2a::1", &m.gateway_addr6);
	m.has_addr6 = true;
	n = pg_msg_encode(&m, &key, buf, sizeof(buf));
	CHECK(n > 0 && pg_msg_decode(buf, (size_t)n, &key, &d) == 0);
	CHECK(same(&m, &d) && d.has_addr6 && d.prefix_len6 == 64);
	/* an IPv6 GRANT is an IPv4 GRANT with two more fields */
	fill(&m, PG_MSG_GRANT, true);
	CHECK(pg_msg_encode(&m, NULL, buf, sizeof(buf)) + 4 + 17 + 4 + 16 == n - PG_WIRE_TAG_LEN);

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		fill(&m, types[i], true);
		m.has_pod_ip = false;
		m.pod_ip.s_addr = 0;
		inet_pton(AF_INET6, "fd00:10:244::b", &m.pod_ip6);
		m.has_pod_ip6 = true;
		n = pg_msg_encode(&m, &key, buf, sizeof(buf));
		CHECK(n > 0 && pg_msg_decode(buf, (size_t)n, &key, &d) == 0);
		CHECK(same(&m, &d) && d.has_pod_ip6 && !d.has_pod_ip);
		/* both pod IPs, or neither: refused */
		m.has_pod_ip = true;
		CHECK(pg_msg_encode(&m, &key, buf, sizeof(buf)) == -EINVAL);
		m.has_pod_ip = m.has_pod_ip6 = false;
		CHECK(pg_msg_encode(&m, &key, buf, sizeof(buf)) == -EINVAL);
	}

	/* Invalid values are not sent either. */
	fill(&m, PG_MSG_GRANT, false);
	m.has_addr6 = true;
	m.prefix_len6 = 64;
	CHECK(pg_msg_encode(&m, NULL, buf, sizeof(buf)) == -EINVAL); /* :: */
	inet_pton(AF_INET6, "fd12::15", &m.addr6);
	CHECK(pg_msg_encode(&m, NULL, buf, sizeof(buf)) == -EINVAL); /* gateway6 :: */
	inet_pton(AF_INET6, "fd12::1", &m.gateway_addr6);
	CHECK(pg_msg_encode(&m, NULL, buf, sizeof(buf)) > 0);
	m.prefix_len6 = 129;
	CHECK(pg_msg_encode(&m, NULL, buf, sizeof(buf)) == -EINVAL);
	/* not in the other messages */
	fill(&m, PG_MSG_JOIN, false);
	m.has_addr6 = true;
	m.prefix_len6 = 64;
	inet_pton(AF_INET6, "fd12::15", &m.addr6);
	inet_pton(AF_INET6, "fd12::1", &m.gateway_addr6);
	CHECK(pg_msg_encode(&m, NULL, buf, sizeof(buf)) == -EINVAL);
	fill(&m, PG_MSG_GRANT, false);
	m.has_pod_ip6 = true;
	inet_pton(AF_INET6, "fd00:10:244::b", &m.pod_ip6);
	CHECK(pg_msg_encode(&m, NULL, buf, sizeof(buf)) == -EINVAL);
}

static const struct {
	size_t shape;
	uint16_t tlv;
	const uint8_t *v;
	size_t len;
	int result;
} values6[] = {
    {S_JOIN, PG_TLV_POD_IP6, BYTES("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"), 0},
    {S_JOIN, PG_TLV_POD_IP6, BYTES("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"), -EBADMSG},
    {S_JOIN, PG_TLV_POD_IP6, BYTES("\xff\x02\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"), -EBADMSG},
    {S_RENEW, PG_TLV_POD_IP6, BYTES("\xfe\x80\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"), -EBADMSG},
    {S_RENEW, PG_TLV_POD_IP6, BYTES("\xfe\xbf\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"), -EBADMSG},
    {S_RENEW, PG_TLV_POD_IP6, BYTES("\xfe\xc0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"), 0},
    {S_INFO, PG_TLV_POD_IP6, BYTES("\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\xf4\0\x0b"), -EBADMSG},
    {S_GRANT, PG_TLV_ADDR6, BYTES("\xfd\x12\0\0\0\0\0\0\0\0\0\0\0\0\0\x15\x00"), -EBADMSG},
    {S_GRANT, PG_TLV_ADDR6, BYTES("\xfd\x12\0\0\0\0\0\0\0\0\0\0\0\0\0\x15\x01"), 0},
    {S_GRANT, PG_TLV_ADDR6, BYTES("\xfd\x12\0\0\0\0\0\0\0\0\0\0\0\0\0\x15\x80"), 0},
    {S_GRANT, PG_TLV_ADDR6, BYTES("\xfd\x12\0\0\0\0\0\0\0\0\0\0\0\0\0\x15\x81"), -EBADMSG},
    {S_GRANT, PG_TLV_ADDR6, BYTES("\xff\x12\0\0\0\0\0\0\0\0\0\0\0\0\0\x15\x40"), -EBADMSG},
    {S_GRANT, PG_TLV_GATEWAY6, BYTES("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"), -EBADMSG},
    {S_GRANT, PG_TLV_GATEWAY6, BYTES("\xfe\x80\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"), -EBADMSG},
};

/* Decodes shape s with the fields of the shape but those in skip, then
 * extra (type, value) pairs; 0 ends each list. */
static int decode_with(size_t s, const uint16_t *skip, const uint16_t *extra)
{
	struct raw r;
	struct pg_msg m;

	raw_header(&r, PG_WIRE_VERSION, shapes[s].type, 0);
	for (size_t i = 0; i < MAX_FIELDS && shapes[s].required[i]; i++) {
		bool skipped = false;

		for (size_t j = 0; skip[j]; j++)
			skipped |= skip[j] == shapes[s].required[i];
		if (!skipped)
			raw_good(&r, shapes[s].required[i]);
	}
	for (size_t j = 0; extra[j]; j++)
		raw_good(&r, extra[j]);
	raw_finish(&r, NULL);
	return pg_msg_decode(r.buf, r.len, NULL, &m);
}

static void test_ipv6_fields(void)
{
	static const uint16_t none[] = {0};
	static const uint16_t pod_ip[] = {PG_TLV_POD_IP, 0};
	static const uint16_t pod_ip6[] = {PG_TLV_POD_IP6, 0};
	static const uint16_t v6[] = {PG_TLV_ADDR6, PG_TLV_GATEWAY6, 0};
	static const uint16_t v6_reversed[] = {PG_TLV_GATEWAY6, PG_TLV_ADDR6, 0};
	static const uint16_t addr6[] = {PG_TLV_ADDR6, 0};
	static const uint16_t gateway6[] = {PG_TLV_GATEWAY6, 0};
	static const uint16_t twice[] = {PG_TLV_POD_IP6, PG_TLV_POD_IP6, 0};
	static const size_t requests[] = {S_JOIN, S_RENEW, S_RELEASE, S_INFO};
	static const size_t replies[] = {S_RELEASED, S_ERROR, S_INFO_REPLY};
	struct raw r;
	struct pg_msg m;

	for (size_t i = 0; i < ARRAY_SIZE(requests); i++) {
		size_t s = requests[i];

		CHECK(decode_with(s, pod_ip, pod_ip6) == 0);
		CHECK(decode_with(s, none, pod_ip6) == -EBADMSG); /* both */
		CHECK(decode_with(s, pod_ip, none) == -EBADMSG);  /* neither */
		CHECK(decode_with(s, pod_ip, twice) == -EBADMSG);
		CHECK(decode_with(s, pod_ip, v6) == -EBADMSG);
		CHECK(decode_with(s, none, gateway6) == -EBADMSG);
	}
	CHECK(decode_with(S_GRANT, none, v6) == 0);
	CHECK(decode_with(S_GRANT, none, v6_reversed) == 0);
	CHECK(decode_with(S_GRANT, none, addr6) == -EBADMSG); /* together or not at all */
	CHECK(decode_with(S_GRANT, none, gateway6) == -EBADMSG);
	CHECK(decode_with(S_GRANT, none, pod_ip6) == -EBADMSG);
	for (size_t i = 0; i < ARRAY_SIZE(replies); i++) {
		CHECK(decode_with(replies[i], none, v6) == -EBADMSG);
		CHECK(decode_with(replies[i], none, pod_ip6) == -EBADMSG);
	}

	/* Lengths: fixed. */
	for (uint16_t t = PG_TLV_ADDR6; t <= PG_TLV_POD_IP6; t++) {
		size_t s = t == PG_TLV_POD_IP6 ? S_JOIN : S_GRANT;
		uint16_t partner = t == PG_TLV_ADDR6 ? PG_TLV_GATEWAY6 : PG_TLV_ADDR6;

		for (size_t len = good[t].len - 1; len <= good[t].len + 1; len++) {
			raw_begin(&r, s, s == S_JOIN ? PG_TLV_POD_IP : 0, false);
			if (s == S_GRANT)
				raw_good(&r, partner);
			raw_sized(&r, t, len);
			raw_finish(&r, NULL);
			CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) ==
			      (len == good[t].len ? 0 : -EBADMSG));
		}
	}

	for (size_t i = 0; i < ARRAY_SIZE(values6); i++) {
		int got;

		raw_begin(&r, values6[i].shape, values6[i].shape == S_GRANT ? 0 : PG_TLV_POD_IP,
			  false);
		if (values6[i].shape == S_GRANT)
			raw_good(&r,
				 values6[i].tlv == PG_TLV_ADDR6 ? PG_TLV_GATEWAY6 : PG_TLV_ADDR6);
		raw_field(&r, values6[i].tlv, values6[i].v, values6[i].len);
		raw_finish(&r, NULL);
		got = pg_msg_decode(r.buf, r.len, NULL, &m);
		if (got != values6[i].result)
			fprintf(stderr, "values6[%zu]: %d\n", i, got);
		CHECK(got == values6[i].result);
	}

	/* Decoded values land in the right members. */
	raw_begin(&r, S_GRANT, 0, false);
	raw_good(&r, PG_TLV_GATEWAY6);
	raw_good(&r, PG_TLV_ADDR6);
	raw_finish(&r, NULL);
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == 0);
	CHECK(m.has_addr6 && m.prefix_len6 == 64 &&
	      !memcmp(m.addr6.s6_addr, good[PG_TLV_ADDR6].v, 16));
	CHECK(!memcmp(m.gateway_addr6.s6_addr, good[PG_TLV_GATEWAY6].v, 16));
	raw_begin(&r, S_RENEW, PG_TLV_POD_IP, false);
	raw_good(&r, PG_TLV_POD_IP6);
	raw_finish(&r, NULL);
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == 0);
	CHECK(m.has_pod_ip6 && !m.has_pod_ip &&
	      !memcmp(m.pod_ip6.s6_addr, good[PG_TLV_POD_IP6].v, 16));
	/* A GRANT without them reads as before: no IPv6. */
	raw_begin(&r, S_GRANT, 0, false);
	raw_finish(&r, NULL);
	CHECK(pg_msg_decode(r.buf, r.len, NULL, &m) == 0 && !m.has_addr6);
}

static void test_names(void)
{
	CHECK_STR(pg_wire_error_str(PG_ERR_NO_LEASE), "no lease");
	CHECK_STR(pg_wire_error_str(PG_ERR_UNSUPPORTED_VERSION), "unsupported protocol version");
	CHECK_STR(pg_wire_error_str(0), "unknown error");
	CHECK_STR(pg_wire_error_str(999), "unknown error");
	CHECK_STR(pg_msg_type_str(PG_MSG_GRANT), "GRANT");
	CHECK_STR(pg_msg_type_str(PG_MSG_ERROR), "ERROR");
	CHECK_STR(pg_msg_type_str(PG_MSG_INFO), "INFO");
	CHECK_STR(pg_msg_type_str(PG_MSG_INFO_REPLY), "INFO_REPLY");
	CHECK_STR(pg_msg_type_str(0x42), "unknown");
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_init();
	test_version1_error();
	test_round_trips();
	test_golden();
	test_lengths();
	test_values();
	test_presence();
	test_unknown_fields();
	test_header();
	test_truncation();
	test_auth();
	test_encode_errors();
	test_replay();
	test_replay_churn();
	test_key_files();
	test_ipv6_round_trips();
	test_ipv6_fields();
	test_names();
	return check_result();
}
