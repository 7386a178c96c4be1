/* SPDX-License-Identifier: MIT */
#include "common/dnsmsg.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#define LABEL_MAX     63
#define WIRE_NAME_MAX 255
#define POINTER_BITS  0xc0
/* Names in an answer are skipped, not read: a bound on the labels and
 * pointers one name may take keeps a crafted loop finite. */
#define SKIP_STEPS_MAX 128
#define TTL_LEN	       4

/* A read cursor over one message. */
struct cursor {
	const uint8_t *msg;
	size_t len, pos;
};

static int get_u16(struct cursor *c, uint16_t *v)
{
	if (c->len - c->pos < 2)
		return -EBADMSG;
	*v = (uint16_t)(c->msg[c->pos] << 8 | c->msg[c->pos + 1]);
	c->pos += 2;
	return 0;
}

static int skip_bytes(struct cursor *c, size_t n)
{
	if (c->len - c->pos < n)
		return -EBADMSG;
	c->pos += n;
	return 0;
}

static bool label_byte_ok(uint8_t b)
{
	return b > ' ' && b < 0x7f && b != '.';
}

/* Reads an uncompressed name into text form. */
static int read_name(struct cursor *c, char name[PG_DNS_NAME_MAX + 1])
{
	size_t out = 0, wire = 0;

	for (;;) {
		uint8_t n;

		if (c->pos >= c->len)
			return -EBADMSG;
		n = c->msg[c->pos++];
		wire += 1u + n;
		if (n == 0)
			break;
		if ((n & POINTER_BITS) || wire > WIRE_NAME_MAX || c->len - c->pos < n)
			return -EBADMSG;
		if (out + (out ? 1u : 0u) + n > PG_DNS_NAME_MAX)
			return -EBADMSG;
		if (out)
			name[out++] = '.';
		for (uint8_t i = 0; i < n; i++) {
			uint8_t b = c->msg[c->pos++];

			if (!label_byte_ok(b))
				return -EBADMSG;
			name[out++] = (char)tolower(b);
		}
	}
	name[out] = '\0';
	return 0;
}

/* Steps over a possibly compressed name in an answer. */
static int skip_name(struct cursor *c)
{
	for (unsigned steps = 0; steps < SKIP_STEPS_MAX; steps++) {
		uint8_t n;

		if (c->pos >= c->len)
			return -EBADMSG;
		n = c->msg[c->pos];
		if ((n & POINTER_BITS) == POINTER_BITS) {
			return skip_bytes(c, 2); /* a pointer ends the name */
		}
		if (n & POINTER_BITS) /* 0x40 and 0x80: reserved label types */
			return -EBADMSG;
		if (skip_bytes(c, 1u + n) < 0)
			return -EBADMSG;
		if (n == 0)
			return 0;
	}
	return -EBADMSG;
}

int pg_dns_parse(const uint8_t *msg, size_t len, struct pg_dns_question *q)
{
	struct cursor c = {.msg = msg, .len = len};
	uint16_t qdcount = 0;

	memset(q, 0, sizeof(*q));
	if (!msg || len < PG_DNS_HEADER_LEN || len > PG_DNS_MSG_MAX)
		return -EBADMSG;
	/* Cannot fail: the header is there. The answer, authority and
	 * additional counts that follow do not matter to a question. */
	get_u16(&c, &q->id);
	get_u16(&c, &q->flags);
	get_u16(&c, &qdcount);
	c.pos = PG_DNS_HEADER_LEN;
	if (qdcount != 1 || read_name(&c, q->name) < 0 || get_u16(&c, &q->qtype) < 0 ||
	    get_u16(&c, &q->qclass) < 0)
		return -EBADMSG;
	q->end = c.pos;
	return 0;
}

void pg_dns_set_id(uint8_t *msg, uint16_t id)
{
	msg[0] = (uint8_t)(id >> 8);
	msg[1] = (uint8_t)id;
}

bool pg_dns_name_in_domain(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (d == 0)
		return true; /* the root holds every name */
	if (n < d || strcmp(name + n - d, domain) != 0)
		return false;
	/* "notlocal" is not under "local": the match ends at a label. */
	return n == d || name[n - d - 1] == '.';
}

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Writes name in wire form at buf; returns its length or -EINVAL/-ENOBUFS. */
static long put_name(uint8_t *buf, size_t size, const char *name)
{
	size_t len = strlen(name), pos = 0;
	const char *label = name;

	if (len && name[len - 1] == '.')
		len--;
	if (len > PG_DNS_NAME_MAX)
		return -EINVAL;
	while (label < name + len) {
		const char *dot = memchr(label, '.', (size_t)(name + len - label));
		size_t n = dot ? (size_t)(dot - label) : (size_t)(name + len - label);

		if (n == 0 || n > LABEL_MAX)
			return -EINVAL;
		if (size - pos < 1 + n)
			return -ENOBUFS;
		buf[pos++] = (uint8_t)n;
		memcpy(buf + pos, label, n);
		pos += n;
		label += n + 1;
	}
	if (size - pos < 1)
		return -ENOBUFS;
	buf[pos++] = 0;
	return (long)pos;
}

long pg_dns_build_query(uint8_t *buf, size_t size, uint16_t id, const char *name, uint16_t qtype)
{
	long n;

	if (size < PG_DNS_HEADER_LEN + 4)
		return -ENOBUFS;
	memset(buf, 0, PG_DNS_HEADER_LEN);
	put_u16(buf, id);
	put_u16(buf + 2, PG_DNS_FLAG_RD);
	put_u16(buf + 4, 1); /* one question */
	n = put_name(buf + PG_DNS_HEADER_LEN, size - PG_DNS_HEADER_LEN - 4, name);
	if (n < 0)
		return n;
	n += PG_DNS_HEADER_LEN;
	put_u16(buf + n, qtype);
	put_u16(buf + n + 2, PG_DNS_CLASS_IN);
	return n + 4;
}

/* Whether r is the response to q. */
static bool answers(const struct pg_dns_question *r, const struct pg_dns_question *q)
{
	return (r->flags & PG_DNS_FLAG_QR) && r->id == q->id && r->qtype == q->qtype &&
	       r->qclass == q->qclass && strcmp(r->name, q->name) == 0;
}

/* Up to max IN records of type want whose data is size bytes (an address)
 * from the answer section of the response to q, stored back to back. */
static int answers_of(const uint8_t *msg, size_t len, const struct pg_dns_question *q,
		      uint16_t want, uint16_t size, uint8_t *out, unsigned max)
{
	struct pg_dns_question r;
	struct cursor c = {.msg = msg, .len = len};
	uint16_t ancount = 0;
	unsigned n = 0;

	if (pg_dns_parse(msg, len, &r) < 0 || !answers(&r, q))
		return -EBADMSG;
	if (PG_DNS_RCODE(r.flags) != 0)
		return -ENOENT;
	c.pos = 6;
	get_u16(&c, &ancount);
	c.pos = r.end;
	for (unsigned i = 0; i < ancount && n < max; i++) {
		uint16_t type, class, rdlen;

		if (skip_name(&c) < 0 || get_u16(&c, &type) < 0 || get_u16(&c, &class) < 0 ||
		    skip_bytes(&c, TTL_LEN) < 0 || get_u16(&c, &rdlen) < 0 || c.len - c.pos < rdlen)
			return n ? (int)n : -EBADMSG;
		if (type == want && class == PG_DNS_CLASS_IN && rdlen == size)
			memcpy(out + (size_t)size * n++, msg + c.pos, size);
		skip_bytes(&c, rdlen);
	}
	return n ? (int)n : -ENOENT;
}

int pg_dns_answers_a(const uint8_t *msg, size_t len, const struct pg_dns_question *q,
		     struct in_addr *out, unsigned max)
{
	/* An array of in_addr is 4 bytes an entry, as the wire has them. */
	return answers_of(msg, len, q, PG_DNS_TYPE_A, sizeof(*out), (uint8_t *)out, max);
}

int pg_dns_answers_aaaa(const uint8_t *msg, size_t len, const struct pg_dns_question *q,
			struct in6_addr *out, unsigned max)
{
	return answers_of(msg, len, q, PG_DNS_TYPE_AAAA, sizeof(*out), (uint8_t *)out, max);
}

int pg_dns_answer_a(const uint8_t *msg, size_t len, const struct pg_dns_question *q,
		    struct in_addr *out)
{
	int r = pg_dns_answers_a(msg, len, q, out, 1);

	return r > 0 ? 0 : r;
}
