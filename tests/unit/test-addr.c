/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#include "check.h"
#include "clientd/probe.h"
#include "common/addr.h"

static const struct {
	const char *text;
	bool allow_host;
	int ok;
	const char *shown;
} cases[] = {
    {"172.16.0.0/24", false, 1, "172.16.0.0/24"},
    {"172.16.0.1/24", false, 0, NULL},
    {"172.16.0.1/24", true, 1, "172.16.0.1/24"},
    {"10.0.0.0/8", false, 1, "10.0.0.0/8"},
    {"0.0.0.0/0", false, 1, "0.0.0.0/0"},
    {"10.244.0.7", false, 1, "10.244.0.7/32"},
    {"fd00::/8", false, 1, "fd00::/8"},
    {"fd00::1/64", false, 0, NULL},
    {"2001:db8::1", false, 1, "2001:db8::1/128"},
    {"10.0.0.0/33", false, 0, NULL},
    {"10.0.0.0/", false, 0, NULL},
    {"10.0.0.0/-1", false, 0, NULL},
    {"10.0.0.0/+8", false, 0, NULL},
    {"10.0.0.0/8x", false, 0, NULL},
    {"300.0.0.0/8", false, 0, NULL},
    {"/8", false, 0, NULL},
    {"", false, 0, NULL},
    {"abc", false, 0, NULL},
    {"fd00::/129", false, 0, NULL},
};

int main(void)
{
	char buf[PG_PREFIX_STRLEN];
	struct pg_prefix p, net, host;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = pg_prefix_parse(cases[i].text, &p, cases[i].allow_host);

		if ((r == 0) != cases[i].ok)
			fprintf(stderr, "case '%s'\n", cases[i].text);
		CHECK((r == 0) == cases[i].ok);
		if (r == 0 && cases[i].shown)
			CHECK_STR(pg_prefix_fmt(&p, buf, true), cases[i].shown);
	}

	CHECK(pg_addr_parse("10.1.2.3/32", &p) < 0);
	CHECK(pg_addr_parse("10.1.2.3", &p) == 0 && p.len == 32);

	pg_prefix_parse("172.16.0.0/24", &net, false);
	CHECK(pg_prefix_host(&net, 1, &host) == 0);
	CHECK_STR(pg_prefix_fmt(&host, buf, true), "172.16.0.1/24");
	CHECK(pg_prefix_host(&net, 255, &host) == 0);
	CHECK_STR(pg_prefix_fmt(&host, buf, false), "172.16.0.255");
	CHECK(pg_prefix_host(&net, 256, &host) == -ERANGE);
	pg_addr_parse("172.16.0.200", &p);
	CHECK(pg_prefix_contains(&net, &p));
	pg_addr_parse("172.16.1.1", &p);
	CHECK(!pg_prefix_contains(&net, &p));
	pg_addr_parse("fd00::1", &p);
	CHECK(!pg_prefix_contains(&net, &p));
	pg_prefix_parse("0.0.0.0/0", &net, false);
	pg_addr_parse("203.0.113.9", &p);
	CHECK(pg_prefix_contains(&net, &p));

	uint8_t mac[6];
	pg_addr_parse("172.16.0.11", &p);
	pg_overlay_mac(&p, mac);
	CHECK(memcmp(mac, (uint8_t[]){0x02, 'p', 'g', 16, 0, 11}, 6) == 0);

	/* RFC 1071's example words sum to 0xddf2, so the checksum is ~0xddf2. */
	const uint8_t words[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	CHECK(pg_inet_checksum(words, sizeof(words)) == htons(0x220d));
	return check_result();
}
