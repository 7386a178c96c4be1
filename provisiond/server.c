/* SPDX-License-Identifier: MIT */
/* Request handling: collect the body (bounded), read the event, answer
 * with the reply event (Knative's reply convention: the event in the HTTP
 * response) or with a 4xx naming what was wrong. Errors are text/plain, one
 * line, so `curl` shows them as they are. */
#include "provisiond/server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "common/log.h"

/* Idle connections are closed after this long. */
#define CONN_TIMEOUT_S 60

struct pv_server {
	const struct pv_settings *s;
	struct pv_provisioner *p;
	struct MHD_Daemon *d;
};

struct request {
	char *body;
	size_t len;
	bool too_big;
};

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	char line[PV_WHY_MAX + 2];
	struct MHD_Response *r;
	enum MHD_Result ret;

	snprintf(line, sizeof(line), "%s\n", text);
	r = MHD_create_response_from_buffer(strlen(line), line, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, const struct pv_http_reply *rep)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(rep->body_len, rep->body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
	for (unsigned i = 0; i < rep->n_headers; i++)
		MHD_add_response_header(r, rep->headers[i].name, rep->headers[i].value);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Refused early: a declared length over the limit is not read at all. */
static bool declared_too_big(struct MHD_Connection *c, uint32_t max)
{
	const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end;
	unsigned long long n;

	if (!cl)
		return false;
	n = strtoull(cl, &end, 10);
	return *end == '\0' && n > max;
}

static int append(struct request *rq, const char *data, size_t len, uint32_t max)
{
	char *grown;

	if (rq->too_big || rq->len + len > max) {
		rq->too_big = true;
		return 0;
	}
	grown = realloc(rq->body, rq->len + len + 1);
	if (!grown)
		return -ENOMEM;
	rq->body = grown;
	memcpy(rq->body + rq->len, data, len);
	rq->len += len;
	rq->body[rq->len] = '\0';
	return 0;
}

static enum MHD_Result answer_event(struct pv_server *srv, struct MHD_Connection *c,
				    struct request *rq)
{
	struct pv_request req = {
	    .content_type = header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
	    .ce_specversion = header(c, "ce-specversion"),
	    .ce_id = header(c, "ce-id"),
	    .ce_source = header(c, "ce-source"),
	    .ce_type = header(c, "ce-type"),
	    .body = rq->body ? rq->body : "",
	    .body_len = rq->len,
	};
	char why[PV_WHY_MAX], reply_id[PV_REPLY_ID_MAX + 1];
	struct pv_answer ans = {0};
	struct pv_http_reply rep;
	struct pv_event ev;
	enum MHD_Result ret;
	int status, r;

	status = pv_event_parse(&req, &ev, why);
	if (status) {
		pg_info("refused (%d): %s", status, why);
		return send_text(c, (unsigned)status, why);
	}
	r = pv_provisioner_handle(srv->p, &ev, &ans);
	if (r < 0) {
		snprintf(why, sizeof(why), "cannot answer now (%s): retry later", strerror(-r));
		pg_warn("event %s from %s: %s", ev.id, ev.source, why);
		return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, why);
	}
	pv_reply_id(ev.source, ev.id, reply_id);
	r = pv_reply_render(ev.mode, ans.type, reply_id, srv->s->event_source, ans.data_json, &rep);
	pv_answer_clear(&ans);
	if (r < 0)
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	ret = send_reply(c, &rep);
	pv_reply_free(&rep);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct pv_server *srv = cls;
	struct request *rq = *con_cls;

	if (!rq) {
		if (strcmp(method, "GET") == 0 && strcmp(url, "/healthz") == 0)
			return send_text(c, MHD_HTTP_OK, "ok");
		if (strcmp(method, "POST") != 0)
			return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					 "method: only POST carries events");
		if (declared_too_big(c, srv->s->max_body))
			return send_text(c, MHD_HTTP_CONTENT_TOO_LARGE,
					 "body: larger than MAX_BODY_BYTES");
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (append(rq, upload_data, *upload_data_size, srv->s->max_body) < 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->too_big)
		return send_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "body: larger than MAX_BODY_BYTES");
	return answer_event(srv, c, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	pg_warn("http: %s", line);
}

int pv_server_start(const struct pv_settings *s, struct pv_provisioner *p, struct pv_server **out)
{
	struct pv_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return -ENOMEM;
	srv->s = s;
	srv->p = p;
	/* The logger first: MHD reports option errors through it. */
	srv->d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, srv,
	    MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&s->listen, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)s->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_END);
	if (!srv->d) {
		free(srv);
		return -EADDRINUSE; /* MHD says why through the logger */
	}
	*out = srv;
	return 0;
}

uint16_t pv_server_port(const struct pv_server *srv)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);

	return i ? i->port : 0;
}

void pv_server_stop(struct pv_server *srv)
{
	if (!srv)
		return;
	MHD_stop_daemon(srv->d);
	free(srv);
}
