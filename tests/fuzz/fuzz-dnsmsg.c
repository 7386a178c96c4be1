/* SPDX-License-Identifier: MIT */
/* DNS messages reach gatewayd's forwarder from any admitted client and
 * from upstream servers, and clientd reads answers and resolv.conf: the
 * readers must survive any bytes, and a question they accept must be
 * written back to the same name. */
#include <errno.h>
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pg_dns_question q;
	struct pg_resolv_conf rc;
	struct in_addr a;

	if (pg_dns_parse(data, size, &q) == 0) {
		if (q.end > size || strlen(q.name) > PG_DNS_NAME_MAX)
			abort();
		round_trip(&q);
		/* The message as an answer to its own question, as a response. */
		q.flags |= PG_DNS_FLAG_QR;
		pg_dns_answer_a(data, size, &q, &a);
	}
	pg_resolv_conf_parse((const char *)data, size, &rc);
	if (rc.n_servers > PG_RESOLV_SERVERS_MAX || rc.n_search > PG_RESOLV_SEARCH_MAX)
		abort();
	return 0;
}
