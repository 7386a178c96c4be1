/* SPDX-License-Identifier: MIT */
#ifndef PODGW_DNSMSG_H
#define PODGW_DNSMSG_H

/* The little of DNS (RFC 1035) that podgw reads and writes: a message's
 * header and its one question, a query for one name, and the first IPv4
 * address of an answer. Messages come from the network: every read is
 * checked against the remaining length, names are bounded, and names in
 * answers are stepped over, never followed through compression pointers.
 * Nothing else of a message is interpreted; a forwarder relays the rest
 * unchanged. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PG_DNS_PORT	  53
#define PG_DNS_HEADER_LEN 12
#define PG_DNS_NAME_MAX	  253 /* text form, without the final dot */
#define PG_DNS_MSG_MAX	  65535

#define PG_DNS_FLAG_QR	      0x8000 /* a response */
#define PG_DNS_FLAG_RD	      0x0100 /* recursion desired */
#define PG_DNS_OPCODE(f)      (((f) >> 11) & 0xf)
#define PG_DNS_RCODE(f)	      ((f)&0xf)
#define PG_DNS_RCODE_NXDOMAIN 3

#define PG_DNS_TYPE_A	 1
#define PG_DNS_TYPE_AAAA 28
#define PG_DNS_CLASS_IN	 1

struct pg_dns_question {
	uint16_t id;
	uint16_t flags;
	/* Lower case, labels joined by '.', no final dot; "" is the root. A
	 * label holding a '.', a space or a byte outside printable ASCII is
	 * refused, so the text names exactly one wire name. */
	char name[PG_DNS_NAME_MAX + 1];
	uint16_t qtype;
	uint16_t qclass;
	size_t end; /* offset just past the question */
};

/* Reads the header and the single question (QDCOUNT must be 1; the
 * question's name must not be compressed). 0, or -EBADMSG. */
int pg_dns_parse(const uint8_t *msg, size_t len, struct pg_dns_question *q);
/* Rewrites the ID of a message of at least PG_DNS_HEADER_LEN bytes. */
void pg_dns_set_id(uint8_t *msg, uint16_t id);
/* Whether name (as pg_dns_parse writes it) is domain or lies under it;
 * domain is lower case without a final dot. */
bool pg_dns_name_in_domain(const char *name, const char *domain);
/* Writes a recursive query for name (a trailing dot is allowed) into buf;
 * returns its length, or -EINVAL for a bad name, -ENOBUFS. */
long pg_dns_build_query(uint8_t *buf, size_t size, uint16_t id, const char *name, uint16_t qtype);
/* From a response to question q (same ID, name, type and class): 0 with
 * the first IN A record of its answer section, -ENOENT when it has none
 * (NXDOMAIN, no data), -EBADMSG for a malformed or unrelated message. */
int pg_dns_answer_a(const uint8_t *msg, size_t len, const struct pg_dns_question *q,
		    struct in_addr *out);
/* The same with up to max IN A records, in the answer's order: their
 * number, or -ENOENT, -EBADMSG. */
int pg_dns_answers_a(const uint8_t *msg, size_t len, const struct pg_dns_question *q,
		     struct in_addr *out, unsigned max);
/* The same with IN AAAA records. */
int pg_dns_answers_aaaa(const uint8_t *msg, size_t len, const struct pg_dns_question *q,
			struct in6_addr *out, unsigned max);

#endif
