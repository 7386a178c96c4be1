/* SPDX-License-Identifier: MIT */
/* The DNS message reader and writer, and the resolv.conf reader. */
#include <arpa/inet.h>
#include <errno.h>

#include "check.h"
#include "common/dnsmsg.h"
#include "common/resolvconf.h"

/* A query for Svc.Cluster.Local A IN, id 0x1234, RD. */
static const uint8_t query[] = {
    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* header */
    3,	  'S',	'v',  'c',  7,	  'C',	'l',  'u',  's',  't',	'e',  'r',
    5,	  'L',	'o',  'c',  'a',  'l',	0,    0x00, 0x01, 0x00, 0x01,
};

/* Its answer: a CNAME (compressed owner) then an A record, id 0x1234. */
static const uint8_t answer[] = {
    0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 3,	  's',
    'v',  'c',	7,    'c',  'l',  'u',	's',  't',  'e',  'r',	5,    'l',  'o',  'c',
    'a',  'l',	0,    0x00, 0x01, 0x00, 0x01, /* question */
    0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0,    0,    0,	  60,	0,    2,    0xc0, 0x0c, /* CNAME */
    0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0,    0,    0,	  60,	0,    4,    10,	  96,
    0,	  10, /* A 10.96.0.10 */
};

static void test_parse(void)
{
	struct pg_dns_question q;
	uint8_t buf[sizeof(query)];

	CHECK(pg_dns_parse(query, sizeof(query), &q) == 0);
	CHECK(q.id == 0x1234 && q.flags == 0x0100 && q.qtype == 1 && q.qclass == 1);
	CHECK_STR(q.name, "svc.cluster.local");
	CHECK(q.end == sizeof(query));
	/* Every truncation fails. */
	for (size_t n = 0; n < sizeof(query); n++)
		CHECK(pg_dns_parse(query, n, &q) == -EBADMSG);

	memcpy(buf, query, sizeof(buf));
	buf[5] = 2; /* two questions */
	CHECK(pg_dns_parse(buf, sizeof(buf), &q) == -EBADMSG);
	memcpy(buf, query, sizeof(buf));
	buf[12] = 0xc0; /* a compressed question name */
	CHECK(pg_dns_parse(buf, sizeof(buf), &q) == -EBADMSG);
	memcpy(buf, query, sizeof(buf));
	buf[14] = '.'; /* "s.c" as one label would read as two */
	CHECK(pg_dns_parse(buf, sizeof(buf), &q) == -EBADMSG);
	memcpy(buf, query, sizeof(buf));
	buf[14] = 0; /* a NUL inside a label */
	CHECK(pg_dns_parse(buf, sizeof(buf), &q) == -EBADMSG);

	pg_dns_set_id(buf, 0xbeef);
	CHECK(buf[0] == 0xbe && buf[1] == 0xef);
}

static void test_long_names(void)
{
	uint8_t buf[600];
	char name[400];
	struct pg_dns_question q;
	long n;

	/* 4 labels of 63 = 255 text bytes: one too many. */
	memset(name, 'a', sizeof(name));
	for (int i = 63; i < 255; i += 64)
		name[i] = '.';
	name[255] = '\0';
	CHECK(pg_dns_build_query(buf, sizeof(buf), 1, name, 1) == -EINVAL);
	name[253] = '\0'; /* 253: the longest */
	n = pg_dns_build_query(buf, sizeof(buf), 1, name, 1);
	CHECK(n == PG_DNS_HEADER_LEN + 255 + 4);
	CHECK(pg_dns_parse(buf, (size_t)n, &q) == 0 && strlen(q.name) == 253);
	CHECK(pg_dns_build_query(buf, sizeof(buf), 1, "a..b", 1) == -EINVAL);
	CHECK(pg_dns_build_query(buf, 20, 1, "abcdefghij.example", 1) == -ENOBUFS);
	/* The root, and a trailing dot. */
	CHECK(pg_dns_build_query(buf, sizeof(buf), 1, "", 1) == PG_DNS_HEADER_LEN + 1 + 4);
	n = pg_dns_build_query(buf, sizeof(buf), 7, "Example.ORG.", 28);
	CHECK(n > 0 && pg_dns_parse(buf, (size_t)n, &q) == 0);
	CHECK_STR(q.name, "example.org");
	CHECK(q.id == 7 && q.qtype == 28 && (q.flags & PG_DNS_FLAG_RD));
}

static void test_domains(void)
{
	CHECK(pg_dns_name_in_domain("svc.cluster.local", "local"));
	CHECK(pg_dns_name_in_domain("svc.cluster.local", "cluster.local"));
	CHECK(pg_dns_name_in_domain("local", "local"));
	CHECK(!pg_dns_name_in_domain("notlocal", "local"));
	CHECK(!pg_dns_name_in_domain("local.example", "local"));
	CHECK(!pg_dns_name_in_domain("cal", "local"));
	CHECK(pg_dns_name_in_domain("anything", ""));
}

static void test_answer(void)
{
	struct pg_dns_question q;
	struct in_addr a;
	uint8_t buf[sizeof(answer)];

	pg_dns_parse(query, sizeof(query), &q);
	CHECK(pg_dns_answer_a(answer, sizeof(answer), &q, &a) == 0);
	CHECK(a.s_addr == inet_addr("10.96.0.10"));
	for (size_t n = 0; n < sizeof(answer); n++)
		CHECK(pg_dns_answer_a(answer, n, &q, &a) != 0);

	memcpy(buf, answer, sizeof(buf));
	buf[1] = 0x35; /* another ID */
	CHECK(pg_dns_answer_a(buf, sizeof(buf), &q, &a) == -EBADMSG);
	memcpy(buf, answer, sizeof(buf));
	buf[2] &= 0x7f; /* not a response */
	CHECK(pg_dns_answer_a(buf, sizeof(buf), &q, &a) == -EBADMSG);
	memcpy(buf, answer, sizeof(buf));
	buf[3] = 0x83; /* NXDOMAIN */
	CHECK(pg_dns_answer_a(buf, sizeof(buf), &q, &a) == -ENOENT);
	memcpy(buf, answer, sizeof(buf));
	buf[7] = 1; /* only the CNAME */
	CHECK(pg_dns_answer_a(buf, sizeof(buf), &q, &a) == -ENOENT);
	memcpy(buf, answer, sizeof(buf));
	buf[7] = 9; /* more records than there are */
	CHECK(pg_dns_answer_a(buf, sizeof(buf), &q, &a) == 0);
	memcpy(buf, answer, sizeof(buf));
	buf[sizeof(buf) - 5] = 5; /* RDLENGTH past the end */
	CHECK(pg_dns_answer_a(buf, sizeof(buf), &q, &a) == -EBADMSG);
}

/* A headless Service: one A record per ready pod, all of them wanted. */
static void test_answers_several(void)
{
	static const uint8_t rr[] = {0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0, 0, 0, 60, 0, 4};
	uint8_t buf[sizeof(answer) + 2 * (sizeof(rr) + 4)];
	struct pg_dns_question q;
	struct in_addr a[4];
	size_t n = sizeof(answer);

	pg_dns_parse(query, sizeof(query), &q);
	memcpy(buf, answer, sizeof(answer));
	for (uint8_t i = 2; i <= 3; i++) {
		memcpy(buf + n, rr, sizeof(rr));
		n += sizeof(rr);
		memcpy(buf + n, (uint8_t[]){10, 244, 0, i}, 4);
		n += 4;
	}
	buf[7] = 4; /* CNAME and three A */
	CHECK(pg_dns_answers_a(buf, n, &q, a, 4) == 3);
	CHECK(a[0].s_addr == inet_addr("10.96.0.10"));
	CHECK(a[1].s_addr == inet_addr("10.244.0.2"));
	CHECK(a[2].s_addr == inet_addr("10.244.0.3"));
	CHECK(pg_dns_answers_a(buf, n, &q, a, 2) == 2);
	CHECK(pg_dns_answer_a(buf, n, &q, a) == 0 && a[0].s_addr == inet_addr("10.96.0.10"));
	/* Cut inside the last record: the complete ones count. */
	CHECK(pg_dns_answers_a(buf, n - 1, &q, a, 4) == 2);
}

/* An IPv6 pod network: AAAA records; A and other records are passed over. */
static void test_answers_aaaa(void)
{
	static const uint8_t rr6[] = {0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01, 0, 0, 0, 60, 0, 16};
	uint8_t buf[sizeof(answer) + 2 * (sizeof(rr6) + 16)], q6[sizeof(query)];
	struct pg_dns_question q;
	struct in6_addr a[4], want;
	size_t n = sizeof(answer);

	memcpy(q6, query, sizeof(q6));
	q6[sizeof(q6) - 3] = PG_DNS_TYPE_AAAA;
	pg_dns_parse(q6, sizeof(q6), &q);
	memcpy(buf, answer, sizeof(answer));
	buf[sizeof(query) - 3] = PG_DNS_TYPE_AAAA; /* the answer's question */
	for (uint8_t i = 2; i <= 3; i++) {
		memcpy(buf + n, rr6, sizeof(rr6));
		n += sizeof(rr6);
		inet_pton(AF_INET6, "fd00:10:244::2", buf + n);
		buf[n + 15] = i;
		n += 16;
	}
	buf[7] = 4; /* CNAME, A and two AAAA */
	CHECK(pg_dns_answers_aaaa(buf, n, &q, a, 4) == 2);
	inet_pton(AF_INET6, "fd00:10:244::2", &want);
	CHECK(memcmp(&a[0], &want, 16) == 0);
	want.s6_addr[15] = 3;
	CHECK(memcmp(&a[1], &want, 16) == 0);
	CHECK(pg_dns_answers_aaaa(buf, n, &q, a, 1) == 1);
	/* The same answer read for A: its question does not match. */
	pg_dns_parse(query, sizeof(query), &q);
	CHECK(pg_dns_answers_a(buf, n, &q, (struct in_addr *)a, 4) == -EBADMSG);
	/* Only the CNAME and the A: no AAAA. */
	pg_dns_parse(q6, sizeof(q6), &q);
	buf[7] = 2;
	CHECK(pg_dns_answers_aaaa(buf, n, &q, a, 4) == -ENOENT);
	/* Cut inside the last record: the complete one counts. */
	buf[7] = 4;
	CHECK(pg_dns_answers_aaaa(buf, n - 1, &q, a, 4) == 1);
}

static void test_resolv_conf(void)
{
	static const char text[] = "# generated\n"
				   "search ns1.svc.cluster.local svc.cluster.local. cluster.local\n"
				   "nameserver 10.96.0.10\r\n"
				   "nameserver fd00::10\n"
				   "nameserver bogus\n"
				   "nameserver 10.96.0.11 ; second\n"
				   "options ndots:5 timeout:1\n"
				   "options ndots:99\n";
	struct pg_resolv_conf rc;
	char many[1024] = "";

	pg_resolv_conf_parse(text, sizeof(text) - 1, &rc);
	CHECK(rc.n_servers == 2);
	CHECK(rc.servers[0].s_addr == inet_addr("10.96.0.10"));
	CHECK(rc.servers[1].s_addr == inet_addr("10.96.0.11"));
	/* Both families, in order; a scoped address is skipped. */
	CHECK(rc.n_nameservers == 3);
	CHECK(rc.nameservers[0].family == AF_INET && rc.nameservers[0].len == 32);
	CHECK(rc.nameservers[1].family == AF_INET6 && rc.nameservers[1].len == 128);
	CHECK_STR(pg_prefix_fmt(&rc.nameservers[1], (char[PG_PREFIX_STRLEN]){0}, false),
		  "fd00::10");
	CHECK(pg_prefix_v4(&rc.nameservers[2]).s_addr == inet_addr("10.96.0.11"));
	CHECK(rc.n_search == 3);
	CHECK_STR(rc.search[1], "svc.cluster.local");
	CHECK(rc.ndots == PG_RESOLV_NDOTS_MAX);
	pg_resolv_conf_parse("nameserver fe80::1%eth0\nnameserver 2001:db8::53\n", 48, &rc);
	CHECK(rc.n_servers == 0 && rc.n_nameservers == 1);
	CHECK_STR(pg_prefix_fmt(&rc.nameservers[0], (char[PG_PREFIX_STRLEN]){0}, false),
		  "2001:db8::53");

	pg_resolv_conf_parse("domain Example.org\n", 19, &rc);
	CHECK(rc.n_search == 1 && rc.ndots == 1 && rc.n_servers == 0);
	CHECK_STR(rc.search[0], "example.org");
	for (int i = 0; i < 10; i++)
		strcat(many, "nameserver 192.0.2.1\nsearch a b c d e f g h\n");
	pg_resolv_conf_parse(many, strlen(many), &rc);
	CHECK(rc.n_servers == PG_RESOLV_SERVERS_MAX && rc.n_search == PG_RESOLV_SEARCH_MAX);
	CHECK(rc.n_nameservers == PG_RESOLV_SERVERS_MAX);
	CHECK(pg_resolv_conf_read("/nonexistent/resolv.conf", &rc) == -ENOENT);
}

int main(void)
{
	test_parse();
	test_long_names();
	test_domains();
	test_answer();
	test_answers_several();
	test_answers_aaaa();
	test_resolv_conf();
	return check_result();
}
