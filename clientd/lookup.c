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

#define TRY_TIMEOUT_MS 700 /* per server and name: the sidecar's loop waits */
#define ANSWER_MAX     1232
#define HOSTS_LINE_MAX 1024
#define CANDIDATES_MAX (PG_RESOLV_SEARCH_MAX + 1)

/* Appends a to out[*n] unless it is there already or out is full. */
static void add_unique(struct in_addr *out, unsigned max, unsigned *n, struct in_addr a)
{
	for (unsigned i = 0; i < *n; i++)
		if (out[i].s_addr == a.s_addr)
			return;
	if (*n < max)
		out[(*n)++] = a;
}

/* The hosts file, as the C library reads it first: "IP name alias...";
 * every line that names it (a gateway's replicas), in the file's order. */
static int hosts_lookup(const char *path, const char *name, struct in_addr *out, unsigned max)
{
	char line[HOSTS_LINE_MAX];
	FILE *f = fopen(path, "re");
	unsigned n = 0;

	if (!f)
		return -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *ip, *word;
		struct in_addr a;

		line[strcspn(line, "#\n")] = '\0';
		ip = strtok_r(line, " \t", &save);
		if (!ip || inet_pton(AF_INET, ip, &a) != 1)
			continue;
		while ((word = strtok_r(NULL, " \t", &save)))
			if (strcasecmp(word, name) == 0) {
				add_unique(out, max, &n, a);
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

static int open_socket(struct in_addr server, uint32_t mark)
{
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons(PG_DNS_PORT), .sin_addr = server};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	/* connect: only that server's datagrams are received. */
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* Waits for the answer to q until the deadline; others are ignored. */
static int await_answer(int fd, const struct pg_dns_question *q, struct in_addr *out, unsigned max)
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
		if (n > 0 && (r = pg_dns_answers_a(buf, (size_t)n, q, out, max)) != -EBADMSG)
			return r;
	}
	return -ETIMEDOUT;
}

static int ask(struct in_addr server, uint32_t mark, const char *name, struct in_addr *out,
	       unsigned max)
{
	uint8_t query[PG_DNS_HEADER_LEN + PG_DNS_NAME_MAX + 2 + 4];
	struct pg_dns_question q;
	uint16_t id;
	long len;
	int fd, r;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		return -EIO;
	len = pg_dns_build_query(query, sizeof(query), id, name, PG_DNS_TYPE_A);
	if (len < 0)
		return (int)len;
	pg_dns_parse(query, (size_t)len, &q);
	q.flags |= PG_DNS_FLAG_QR;
	fd = open_socket(server, mark);
	if (fd < 0)
		return fd;
	r = send(fd, query, (size_t)len, 0) == len ? await_answer(fd, &q, out, max) : -errno;
	close(fd);
	return r;
}

/* A server's answer may repeat an address: kept once, in its order. */
static int unique(struct in_addr *out, int n)
{
	unsigned k = 0;

	for (int i = 0; i < n; i++)
		add_unique(out, (unsigned)n, &k, out[i]);
	return (int)k;
}

int pg_lookup_ipv4(const char *name, const char *hosts, const char *resolv_conf, uint32_t mark,
		   struct in_addr *out, unsigned max)
{
	char names[CANDIDATES_MAX][PG_DNS_NAME_MAX + 2];
	struct pg_resolv_conf rc;
	unsigned n;
	int r;

	if (max == 0)
		return -EINVAL;
	if ((r = hosts_lookup(hosts, name, out, max)) > 0)
		return r;
	if ((r = pg_resolv_conf_read(resolv_conf, &rc)) < 0)
		return r;
	if (rc.n_servers == 0)
		return -ESRCH;
	n = candidates(name, &rc, names);
	for (unsigned i = 0; i < n; i++) {
		bool answered = false;

		/* A server that says no (NXDOMAIN, no address) speaks for all;
		 * one that is silent or unreachable hands on to the next. */
		for (unsigned s = 0; s < rc.n_servers && !answered; s++) {
			r = ask(rc.servers[s], mark, names[i], out, max);
			if (r > 0)
				return unique(out, r);
			answered = r == -ENOENT;
		}
		if (!answered)
			return r == -ECONNREFUSED ? -ETIMEDOUT : r;
	}
	return -ENOENT;
}
