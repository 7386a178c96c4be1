/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_EVENT_H
#define PODGW_PROVISIOND_EVENT_H

/* The CloudEvents 1.0 HTTP binding, as far as provisiond needs it: reading
 * one io.podgateway.client.pending event in binary mode (ce-* headers, JSON
 * body) or structured mode (application/cloudevents+json), and writing the
 * reply event in the request's mode. Pure code: no I/O, no global state, so
 * the fuzzer and the unit tests drive it directly. */

#include <stddef.h>

#define PV_TYPE_PENDING "io.podgateway.client.pending"
#define PV_TYPE_DONE	"io.podgateway.client.scheduling.done"
#define PV_TYPE_FAILED	"io.podgateway.client.scheduling.failed"

#define PV_ATTR_MAX    255 /* id, source, type: longer is refused */
#define PV_GATEWAY_MAX 63  /* a DNS label */
#define PV_WHY_MAX     256

enum pv_mode { PV_MODE_BINARY, PV_MODE_STRUCTURED };

/* What the HTTP layer saw. Absent headers are NULL; the body need not be
 * NUL-terminated. */
struct pv_request {
	const char *content_type;
	const char *ce_specversion;
	const char *ce_id;
	const char *ce_source;
	const char *ce_type;
	const char *body;
	size_t body_len;
};

struct pv_event {
	enum pv_mode mode;
	char id[PV_ATTR_MAX + 1];
	char source[PV_ATTR_MAX + 1];
	char type[PV_ATTR_MAX + 1];
	char gateway[PV_GATEWAY_MAX + 1];
};

/* Reads and validates a pending event. Returns 0, or the HTTP status to
 * answer (400 bad event, 415 unsupported content type) with one line in
 * why naming the field ("data.gateway_name: missing"). */
int pv_event_parse(const struct pv_request *req, struct pv_event *ev, char why[PV_WHY_MAX]);

/* A reply as the HTTP layer sends it; every string is malloc'd. */
#define PV_REPLY_HEADERS 6
struct pv_http_reply {
	char *content_type;
	char *body;
	size_t body_len;
	unsigned n_headers;
	struct {
		const char *name; /* static */
		char *value;
	} headers[PV_REPLY_HEADERS];
};

/* Renders the reply event (type, id, source, data as JSON object text) in
 * mode: binary puts the attributes in ce-* headers and data in the body,
 * structured puts the whole event in the body. Returns 0 or -ENOMEM. */
int pv_reply_render(enum pv_mode mode, const char *type, const char *id, const char *source,
		    const char *data_json, struct pv_http_reply *out);
void pv_reply_free(struct pv_http_reply *r);

/* True for a DNS-1123 label: what Kubernetes accepts in a name. */
int pv_dns_label_ok(const char *s);

#endif
