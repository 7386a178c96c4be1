/* SPDX-License-Identifier: MIT */
/* pod-gateway's nat.conf: reservations, port forwards (pod-gateway's comma
 * form, blanks, remapped ports), and every refusal naming line, field and
 * value. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "common/addr.h"
#include "gatewayd/natconf.h"

static struct pg_prefix overlay(const char *cidr)
{
	struct pg_prefix net;

	CHECK(pg_prefix_parse(cidr, &net, false) == 0);
	return net;
}

static int parse(const char *text, struct pg_natconf **c, struct pg_natconf_error *e)
{
	struct pg_prefix net = overlay("172.16.0.0/24");

	return pg_natconf_parse(&net, text, strlen(text), c, e);
}

static const char *fmt(struct in_addr a)
{
	static char buf[INET_ADDRSTRLEN];

	return inet_ntop(AF_INET, &a, buf, sizeof(buf));
}

static void check_forward(const struct pg_natconf *c, uint8_t proto, uint16_t port,
			  const char *addr, uint16_t to_port, const char *name)
{
	const struct pg_forward *f = pg_natconf_find_forward(c, proto, port);

	CHECK(f != NULL);
	if (!f) {
		fprintf(stderr, "no forward %u:%u\n", proto, port);
		return;
	}
	CHECK_STR(fmt(f->addr), addr);
	CHECK(f->to_port == to_port);
	CHECK_STR(f->name, name);
}

static void test_good(void)
{
	static const char good[] = "# hostname index ports\n"
				   "transmission 10 tcp:51413,udp:51413\n" /* pod-gateway's form */
				   "\n"
				   "   \t\n"
				   "plex\t11 tcp:32400 # a trailing comment\r\n"
				   "sonarr 12\n"
				   "web 14 tcp:8080->80 udp:5353->53, tcp:8443->443\n"
				   "plex 11 udp:32410\n" /* the same pair again: more ports */
				   "last 13";		 /* no final newline */
	const struct pg_reservation *r;
	const struct pg_forward *f;
	struct pg_natconf_error e;
	struct pg_natconf *c = NULL;

	CHECK(parse(good, &c, &e) == 0);
	CHECK(e.line == 0 && e.why == NULL);
	CHECK(pg_natconf_reservations(c, &r) == 5);
	/* sorted by name */
	CHECK_STR(r[0].name, "last");
	CHECK_STR(r[1].name, "plex");
	CHECK(r[1].index == 11 && r[1].line == 5);
	CHECK_STR(fmt(r[1].addr), "172.16.0.11");
	CHECK_STR(r[4].name, "web");
	CHECK(pg_natconf_find(c, "sonarr") && pg_natconf_find(c, "sonarr")->index == 12);
	CHECK(pg_natconf_find(c, "nobody") == NULL);
	CHECK(pg_natconf_forwards(c, &f) == 7);
	/* sorted by protocol (tcp 6 before udp 17) and port */
	CHECK(f[0].proto == IPPROTO_TCP && f[0].port == 8080);
	CHECK(f[6].proto == IPPROTO_UDP && f[6].port == 51413);
	check_forward(c, IPPROTO_TCP, 51413, "172.16.0.10", 51413, "transmission");
	check_forward(c, IPPROTO_UDP, 51413, "172.16.0.10", 51413, "transmission");
	check_forward(c, IPPROTO_TCP, 32400, "172.16.0.11", 32400, "plex");
	check_forward(c, IPPROTO_UDP, 32410, "172.16.0.11", 32410, "plex");
	check_forward(c, IPPROTO_TCP, 8080, "172.16.0.14", 80, "web");
	check_forward(c, IPPROTO_UDP, 5353, "172.16.0.14", 53, "web");
	check_forward(c, IPPROTO_TCP, 8443, "172.16.0.14", 443, "web");
	CHECK(pg_natconf_find_forward(c, IPPROTO_UDP, 8080) == NULL);
	CHECK(pg_natconf_find_forward(c, IPPROTO_TCP, 80) == NULL); /* the client's side */
	pg_natconf_free(c);

	/* empty files and NULL */
	CHECK(pg_natconf_parse(&(struct pg_prefix){0}, "", 0, &c, &e) == -EINVAL);
	CHECK(parse("", &c, &e) == 0 && c != NULL);
	CHECK(pg_natconf_reservations(c, &r) == 0 && pg_natconf_forwards(c, &f) == 0);
	CHECK(pg_natconf_equal(c, NULL) && pg_natconf_equal(NULL, NULL));
	pg_natconf_free(c);
	CHECK(pg_natconf_reservations(NULL, &r) == 0 && pg_natconf_find(NULL, "a") == NULL);
}

static void test_equal(void)
{
	struct pg_natconf *a, *b;
	struct pg_natconf_error e;

	CHECK(parse("a 10 tcp:80\nb 11\n", &a, &e) == 0);
	CHECK(parse("# moved lines\nb 11\n\na 10 tcp:80\n", &b, &e) == 0);
	CHECK(pg_natconf_equal(a, b));
	pg_natconf_free(b);
	CHECK(parse("a 10 tcp:80->81\nb 11\n", &b, &e) == 0);
	CHECK(!pg_natconf_equal(a, b));
	pg_natconf_free(b);
	CHECK(parse("a 12 tcp:80\nb 11\n", &b, &e) == 0);
	CHECK(!pg_natconf_equal(a, b));
	pg_natconf_free(b);
	CHECK(parse("a 10 tcp:80\n", &b, &e) == 0);
	CHECK(!pg_natconf_equal(a, b) && !pg_natconf_equal(a, NULL));
	pg_natconf_free(b);
	pg_natconf_free(a);
}

static void test_bad(void)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *field, *value;
	} bad[] = {
	    {"transmission\n", 1, "index", ""},
	    {"a 10\nb x10\n", 2, "index", "x10"},
	    {"a 0\n", 1, "index", "0"},
	    {"a 1\n", 1, "index", "1"},
	    {"a 255\n", 1, "index", "255"},
	    {"a 256\n", 1, "index", "256"},
	    {"a -3\n", 1, "index", "-3"},
	    {"a 99999999999999999999\n", 1, "index", "99999999999999999999"},
	    {"a 10 tcp:0\n", 1, "port", "tcp:0"},
	    {"a 10 tcp:65536\n", 1, "port", "tcp:65536"},
	    {"a 10 sctp:80\n", 1, "port", "sctp:80"},
	    {"a 10 TCP:80\n", 1, "port", "TCP:80"},
	    {"a 10 tcp\n", 1, "port", "tcp"},
	    {"a 10 tcp:\n", 1, "port", "tcp:"},
	    {"a 10 :80\n", 1, "port", ":80"},
	    {"a 10 tcp:8o\n", 1, "port", "tcp:8o"},
	    {"a 10 tcp:80->\n", 1, "port", "tcp:80->"},
	    {"a 10 tcp:->80\n", 1, "port", "tcp:->80"},
	    {"a 10 tcp:80->0\n", 1, "port", "tcp:80->0"},
	    {"a 10 tcp:80->8o\n", 1, "port", "tcp:80->8o"},
	    {"a 10 tcp:80->81->82\n", 1, "port", "tcp:80->81->82"},
	    {"a 10 tcp:80-81\n", 1, "port", "tcp:80-81"},
	    {"a 10 tcp:80,udp:x\n", 1, "port", "udp:x"},
	    {"# c\na 10\nb 10\n", 3, "index", "10"},
	    {"a 10\na 11\n", 2, "name", "a"},
	    {"a/b/c 10\n", 1, "name", "a/b/c"},
	    {"A/b 10\n", 1, "name", "A/b"},
	    {"/b 10\n", 1, "name", "/b"},
	    {"a/ 10\n", 1, "name", "a/"},
	    {"a 10 udp:1 tcp:65535 udp:+5\n", 1, "port", "udp:+5"},
	    /* an outside port forwarded twice, also to the same client */
	    {"a 10 tcp:80\nb 11 udp:80\nc 12 tcp:80->8080\n", 3, "port", "tcp:80"},
	    {"a 10 udp:53,udp:53\n", 1, "port", "udp:53"},
	    /* the earliest problem is the one told */
	    {"a 10 tcp:1\nb 11\nb 12\na 13\nc 14 tcp:1\n", 3, "name", "b"},
	    {"a 10\nb 11 tcp:9\nx 10\nb 11 tcp:9\n", 3, "index", "10"},
	};
	struct pg_natconf_error e;
	struct pg_natconf *c = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r;

		r = parse(bad[i].text, &c, &e);
		if (r != -EINVAL || e.line != bad[i].line || !e.field ||
		    strcmp(e.field, bad[i].field) != 0 || strcmp(e.value, bad[i].value) != 0)
			fprintf(stderr, "nat.conf case %zu: %d line %u %s '%s': %s\n", i, r, e.line,
				e.field ? e.field : "(none)", e.value, e.why ? e.why : "");
		CHECK(r == -EINVAL);
		CHECK(c == NULL);
		CHECK(e.line == bad[i].line);
		CHECK(e.field && strcmp(e.field, bad[i].field) == 0);
		CHECK_STR(e.value, bad[i].value);
		CHECK(e.why != NULL && *e.why);
	}
	/* a NUL byte: no field; an unprintable value is shown with '?' */
	CHECK(pg_natconf_parse(&(struct pg_prefix){0}, "", 0, &c, &e) == -EINVAL);
	{
		struct pg_prefix net = overlay("172.16.0.0/24");

		CHECK(pg_natconf_parse(&net, "a 14\0b 15\n", 10, &c, &e) == -EINVAL);
		CHECK(e.line == 1 && e.field == NULL && e.why != NULL);
	}
	CHECK(parse("a\x01 10\n", &c, &e) == -EINVAL);
	CHECK_STR(e.value, "a?");
	/* a smaller overlay has fewer indexes */
	{
		struct pg_prefix net = overlay("172.16.0.0/29");

		CHECK(pg_natconf_parse(&net, "a 6\n", 4, &c, &e) == 0);
		pg_natconf_free(c);
		CHECK(pg_natconf_parse(&net, "a 7\n", 4, &c, &e) == -EINVAL);
	}
}

static void test_file(void)
{
	char dir[] = "/tmp/podgw-natconf-XXXXXX", path[sizeof(dir) + sizeof("/nat.conf")];
	struct pg_prefix net = overlay("172.16.0.0/24");
	struct pg_natconf_error e;
	struct pg_natconf *c;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/nat.conf", dir);
	CHECK(pg_natconf_load(&net, path, &c, &e) == -ENOENT);
	CHECK(e.line == 0 && e.why != NULL && c == NULL);
	CHECK(pg_natconf_load(&net, dir, &c, &e) == -EINVAL); /* a folder */
	CHECK(e.line == 0 && e.why != NULL);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("ok 30 tcp:80->8080\nbad 31 tcp:99999\n", f);
	fclose(f);
	CHECK(pg_natconf_load(&net, path, &c, &e) == -EINVAL);
	CHECK(e.line == 2 && strcmp(e.field, "port") == 0);
	f = fopen(path, "w");
	fputs("ok 30 tcp:80->8080\n", f);
	fclose(f);
	CHECK(pg_natconf_load(&net, path, &c, &e) == 0);
	check_forward(c, IPPROTO_TCP, 80, "172.16.0.30", 8080, "ok");
	pg_natconf_free(c);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_good();
	test_equal();
	test_bad();
	test_file();
	return check_result();
}
