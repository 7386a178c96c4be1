/* SPDX-License-Identifier: MIT */
#include "clientd/lookup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/dnsmsg.h"
#include "common/resolvconf.h"
#include "common/sockaddr.h"

#define TRY_TIMEOUT_MS 700 /* per server and name: the sidecar's loop waits */
#define ANSWER_MAX     1232
#define LINE_MAX_BYTES 1024
#define CANDIDATES_MAX (PG_RESOLV_SEARCH_MAX + 1)
#define ADDRS_MAX      64 /* records read from one answer */

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Appends the address in bytes to out[*n] unless it is there already or
 * out is full. */
static void add_unique(struct pg_prefix *out, unsigned max, unsigned *n, int family,
		       const void *bytes)
{
	struct pg_prefix p = {.family = family, .len = (uint8_t)(addr_len(family) * 8)};

	memcpy(p.bytes, bytes, addr_len(family));
	for (unsigned i = 0; i < *n; i++)
		if (out[i].family == family && memcmp(out[i].bytes, bytes, addr_len(family)) == 0)
			return;
	if (*n < max)
		out[(*n)++] = p;
}

/* The hosts file, as the C library reads it first: "IP name alias...";
 * every line of the family that names it (a gateway's replicas), in the
 * file's order. */
static int hosts_lookup(const char *path, const char *name, int family, struct pg_prefix *out,
			unsigned max)
{
	char line[LINE_MAX_BYTES];
	FILE *f = fopen(path, "re");
	unsigned n = 0;

	if (!f)
		return -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *ip, *word;
		uint8_t a[16];

		line[strcspn(line, "#\n")] = '\0';
		ip = strtok_r(line, " \t", &save);
		if (!ip || inet_pton(family, ip, a) != 1)
			continue;
		while ((word = strtok_r(NULL, " \t", &save)))
			if (strcasecmp(word, name) == 0) {
				add_unique(out, max, &n, family, a);
				break;
			}
	}
	fclose(f);
	return n ? (int)n : -ENOENT;
}

/* The names to ask for, in the C library's order: as given first when it
 * has ndots dots or more, else the search list first. */
static unsigned candidates(const char *name, const struct pg_resolv_conf *rc,
			   char out[CANDIDATES_MAX][PG_DNS_NAME_MAX + 2])
{
	size_t len = strlen(name);
	unsigned dots = 0, n = 0;
	bool absolute = len && name[len - 1] == '.';

	for (const char *c = name; *c; c++)
		dots += *c == '.';
	if (absolute || dots >= rc->ndots)
		snprintf(out[n++], PG_DNS_NAME_MAX + 2, "%s", name);
	for (unsigned i = 0; !absolute && i < rc->n_search; i++)
		if (len + 1 + strlen(rc->search[i]) <= PG_DNS_NAME_MAX)
			snprintf(out[n++], PG_DNS_NAME_MAX + 2, "%s.%s", name, rc->search[i]);
	if (!absolute && dots < rc->ndots)
		snprintf(out[n++], PG_DNS_NAME_MAX + 2, "%s", name);
	return n;
}

static int open_socket(const struct pg_prefix *server, uint32_t mark)
{
	union pg_sockaddr to;
	socklen_t to_len = pg_sockaddr_from(&to, server, PG_DNS_PORT);
	int fd = socket(server->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	/* connect: only that server's datagrams are received. */
	if ((mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) ||
	    connect(fd, &to.sa, to_len) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* The addresses of family in a response to q, as prefixes. */
static int read_answer(const uint8_t *buf, size_t len, const struct pg_dns_question *q, int family,
		       struct pg_prefix *out, unsigned max)
{
	struct in6_addr a6[ADDRS_MAX];
	struct in_addr a4[ADDRS_MAX];
	unsigned k = 0;
	int n = family == AF_INET ? pg_dns_answers_a(buf, len, q, a4, ADDRS_MAX)
				  : pg_dns_answers_aaaa(buf, len, q, a6, ADDRS_MAX);

	/* A server's answer may repeat an address: kept once, in its order. */
	for (int i = 0; i < n; i++)
		add_unique(out, max, &k, family,
			   family == AF_INET ? (void *)&a4[i] : (void *)&a6[i]);
	return n < 0 ? n : (int)k;
}

/* Waits for the answer to q until the deadline; others are ignored. */
static int await_answer(int fd, const struct pg_dns_question *q, int family, struct pg_prefix *out,
			unsigned max)
{
	uint64_t deadline = pg_monotonic_ms() + TRY_TIMEOUT_MS;
	uint8_t buf[ANSWER_MAX];

	for (uint64_t now = pg_monotonic_ms(); now < deadline; now = pg_monotonic_ms()) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;
		int r;

		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno; /* e.g. ECONNREFUSED: nothing listens there */
		if (n > 0 && (r = read_answer(buf, (size_t)n, q, family, out, max)) != -EBADMSG)
			return r;
	}
	return -ETIMEDOUT;
}

static int ask(const struct pg_prefix *server, uint32_t mark, const char *name, int family,
	       struct pg_prefix *out, unsigned max)
{
	uint8_t query[PG_DNS_HEADER_LEN + PG_DNS_NAME_MAX + 2 + 4];
	struct pg_dns_question q;
	uint16_t id;
	long len;
	int fd, r;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		return -EIO;
	len = pg_dns_build_query(query, sizeof(query), id, name,
				 family == AF_INET ? PG_DNS_TYPE_A : PG_DNS_TYPE_AAAA);
	if (len < 0)
		return (int)len;
	pg_dns_parse(query, (size_t)len, &q);
	q.flags |= PG_DNS_FLAG_QR;
	fd = open_socket(server, mark);
	if (fd < 0)
		return fd;
	r = send(fd, query, (size_t)len, 0) == len ? await_answer(fd, &q, family, out, max)
						   : -errno;
	close(fd);
	return r;
}

static int dns_lookup(const char *name, int family, const struct pg_resolv_conf *rc,
		      const struct pg_prefix *servers, unsigned n_servers, uint32_t mark,
		      struct pg_prefix *out, unsigned max)
{
	char names[CANDIDATES_MAX][PG_DNS_NAME_MAX + 2];
	unsigned n = candidates(name, rc, names);
	int r = -ENOENT;

	for (unsigned i = 0; i < n; i++) {
		bool answered = false;

		/* A server that says no (NXDOMAIN, no address) speaks for all;
		 * one that is silent or unreachable hands on to the next. */
		for (unsigned s = 0; s < n_servers && !answered; s++) {
			r = ask(&servers[s], mark, names[i], family, out, max);
			if (r > 0)
				return r;
			answered = r == -ENOENT;
		}
		if (!answered)
			return r == -ECONNREFUSED ? -ETIMEDOUT : r;
	}
	return -ENOENT;
}

int pg_lookup_hosts(const char *name, int family, const char *hosts, struct pg_prefix *out,
		    unsigned max)
{
	int r = -ENOENT;

	if (max == 0 || (family != AF_UNSPEC && family != AF_INET && family != AF_INET6))
		return -EINVAL;
	if (family != AF_INET6)
		r = hosts_lookup(hosts, name, AF_INET, out, max);
	if (r == -ENOENT && family != AF_INET)
		r = hosts_lookup(hosts, name, AF_INET6, out, max);
	return r;
}

int pg_lookup_ipv6_nameserver(const char *resolv_conf, struct pg_prefix *out)
{
	struct pg_resolv_conf rc;
	int r = pg_resolv_conf_read(resolv_conf, &rc);

	for (unsigned i = 0; r == 0 && i < rc.n_nameservers; i++)
		if (rc.nameservers[i].family == AF_INET6) {
			*out = rc.nameservers[i];
			return 0;
		}
	return r < 0 ? r : -ENOENT;
}

int pg_lookup_gateway(const char *name, int family, const char *hosts, const char *resolv_conf,
		      uint32_t mark, struct pg_prefix *out, unsigned max)
{
	const int both[] = {AF_INET, AF_INET6};
	const int *fams = family == AF_UNSPEC ? both : &family;
	unsigned n_fams = family == AF_UNSPEC ? 2 : 1;
	struct pg_resolv_conf rc;
	int r;

	if ((r = pg_lookup_hosts(name, family, hosts, out, max)) != -ENOENT)
		return r;
	/* Its nameservers of both families, search list and ndots. */
	if ((r = pg_resolv_conf_read(resolv_conf, &rc)) < 0)
		return r;
	if (rc.n_nameservers == 0)
		return -ESRCH;
	for (unsigned f = 0; f < n_fams; f++) {
		r = dns_lookup(name, fams[f], &rc, rc.nameservers, rc.n_nameservers, mark, out,
			       max);
		if (r != -ENOENT)
			return r;
	}
	return -ENOENT;
}
