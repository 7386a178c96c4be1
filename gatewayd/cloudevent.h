/* SPDX-License-Identifier: MIT */
#ifndef PODGW_CLOUDEVENT_H
#define PODGW_CLOUDEVENT_H

/* The CloudEvents gatewayd posts to K_SINK, in the HTTP binding's binary
 * content mode: io.podgateway.client.connected and ...disconnected, built
 * from a lease. Pure formatting: no sockets, no clock (the event's time is
 * passed in), so the unit test can compare whole messages. */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/wire.h"
#include "gatewayd/pool.h"

#define PG_CE_TYPE_CONNECTED	"io.podgateway.client.connected"
#define PG_CE_TYPE_DISCONNECTED "io.podgateway.client.disconnected"
#define PG_CE_MAX_EXTENSIONS	16
#define PG_CE_EXT_NAME_MAX	20 /* the spec's advice; [a-z0-9] */
#define PG_CE_EXT_VALUE_MAX	256
#define PG_CE_HEADER_MAX	(PG_CLIENT_ID_MAX + 32) /* Ce-Subject: the lease id */
#define PG_CE_MAX_HEADERS	(8 + PG_CE_MAX_EXTENSIONS)
#define PG_CE_WHY_MAX		160

enum pg_ce_kind { PG_CE_CONNECTED, PG_CE_DISCONNECTED };

/* The sender: the same for every event of a process. */
struct pg_ce_origin {
	char gateway[PG_NAMESPACE_MAX + 1];
	char source[PG_NAMESPACE_MAX + 32]; /* /podgw/gatewayd/<gateway> */
	char id_prefix[33]; /* random per process: ids stay unique across restarts */
	unsigned n_ext;
	char ext_name[PG_CE_MAX_EXTENSIONS][PG_CE_EXT_NAME_MAX + 1];
	char ext_value[PG_CE_MAX_EXTENSIONS][PG_CE_EXT_VALUE_MAX + 1];
};

/* One event, as queued: formatted only when it is sent. */
struct pg_ce_record {
	enum pg_ce_kind kind;
	char reason[16]; /* disconnected: released, expired, replaced, refused */
	uint64_t seq;
	struct timespec time; /* CLOCK_REALTIME when it happened */
	struct pg_lease lease;
};

/* What goes on the wire: "Name: value" header lines and the JSON body. */
struct pg_ce_message {
	char *body; /* malloc'd */
	size_t n_headers;
	char headers[PG_CE_MAX_HEADERS][PG_CE_HEADER_MAX];
};

/* Fills o for gateway (a DNS label) with a random id prefix; overrides is
 * K_CE_OVERRIDES ("" for none: {"extensions":{"name":"value",...}}).
 * -EINVAL with why (PG_CE_WHY_MAX bytes) filled when it is not usable. */
int pg_ce_origin_init(struct pg_ce_origin *o, const char *gateway, const char *overrides,
		      char *why);
/* Builds the headers and body of r. 0 or -ENOMEM. */
int pg_ce_format(const struct pg_ce_origin *o, const struct pg_ce_record *r,
		 struct pg_ce_message *out);
void pg_ce_message_clear(struct pg_ce_message *m);

#endif
