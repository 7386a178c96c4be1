/* SPDX-License-Identifier: MIT */
/* DNS messages reach gatewayd's forwarder from any admitted client and
 * from upstream servers, and clientd reads answers and resolv.conf: the
 * readers must survive any bytes, and a question they accept must be
 * written back to the same name. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/dnsmsg.h"
#include "common/resolvconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct pg_dns_question *q)
{
	uint8_t buf[PG_DNS_HEADER_LEN + 256 + 4];
	struct pg_dns_question again;
	long n = pg_dns_build_query(buf, sizeof(buf), q->id, q->name, q->qtype);

	if (n < 0 || pg_dns_parse(buf, (size_t)n, &again) != 0 ||
	    strcmp(again.name, q->name) != 0 || again.qtype != q->qtype || again.id != q->id)
		abort();
}

/* gatewayd sends names under DNS_LOCAL_CIDRS' domains to the cluster DNS
 * through the underlay: a name must not match a domain it is not under. */
static void local_domains(const char *name)
{
	static const char *const domains[] = {"local", "cluster.local", "svc.cluster.local"};
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
		size_t d = strlen(domains[i]);
		bool under =
		    strcmp(name, domains[i]) == 0 ||
		    (n > d && name[n - d - 1] == '.' && strcmp(name + n - d, domains[i]) == 0);

		if (pg_dns_name_in_domain(name, domains[i]) != under)
			abort();
	}
	for (size_t i = 0; i < n; i++)
		if (isupper((unsigned char)name[i]) || (unsigned char)name[i] <= ' ' ||
		    (name[i] == '.' && (i == 0 || name[i - 1] == '.')))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pg_dns_question q;
	struct pg_resolv_conf rc;
	struct in_addr a;

	if (pg_dns_parse(data, size, &q) == 0) {
		if (q.end > size || strlen(q.name) > PG_DNS_NAME_MAX)
			abort();
		round_trip(&q);
		local_domains(q.name);
		/* The message as an answer to its own question, as a response. */
		q.flags |= PG_DNS_FLAG_QR;
		pg_dns_answer_a(data, size, &q, &a);
	}
	pg_resolv_conf_parse((const char *)data, size, &rc);
	if (rc.n_servers > PG_RESOLV_SERVERS_MAX || rc.n_search > PG_RESOLV_SEARCH_MAX ||
	    rc.n_nameservers > PG_RESOLV_SERVERS_MAX || rc.n_servers > rc.n_nameservers)
		abort();
	for (unsigned i = 0; i < rc.n_nameservers; i++)
		if (rc.nameservers[i].family != AF_INET && rc.nameservers[i].family != AF_INET6)
			abort();
	return 0;
}
