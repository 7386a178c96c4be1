/* SPDX-License-Identifier: MIT */
/* Settings files come from ConfigMaps that other people write: the reader
 * must survive any bytes. What a gateway accepts goes on as gatewayd takes
 * it: K_CE_OVERRIDES (JSON) becomes CloudEvents extension headers, which
 * must then be header lines that cannot smuggle another header. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "gatewayd/cloudevent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_header(const char *h)
{
	const char *colon = strstr(h, ": ");

	if (!colon || colon == h || strnlen(h, PG_CE_HEADER_MAX) >= PG_CE_HEADER_MAX - 1)
		abort();
	for (const char *c = h; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || (c < colon && *c == ' '))
			abort();
}

static void overrides(const struct pg_config *cfg)
{
	static struct pg_ce_origin o;
	struct pg_ce_record r = {.kind = PG_CE_DISCONNECTED, .reason = "expired", .seq = 7};
	struct pg_ce_message m;
	char why[PG_CE_WHY_MAX];

	why[0] = '\0';
	if (pg_ce_origin_init(&o, cfg->events_gateway[0] ? cfg->events_gateway : "gw",
			      cfg->ce_overrides, why) < 0) {
		if (!why[0] || strnlen(why, sizeof(why)) == sizeof(why))
			abort();
		return;
	}
	snprintf(r.lease.id, sizeof(r.lease.id), "ns/pod");
	if (pg_ce_format(&o, &r, &m) < 0)
		return;
	for (size_t i = 0; i < m.n_headers; i++)
		check_header(m.headers[i]);
	pg_ce_message_clear(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct pg_config cfg;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (pg_config_load_text(&cfg, PG_ROLE_GATEWAY, "fuzz", (const char *)data, size, sink) == 0)
		overrides(&cfg);
	pg_config_load_text(&cfg, PG_ROLE_CLIENT, "fuzz", (const char *)data, size, sink);
	return 0;
}
