/* SPDX-License-Identifier: MIT */
/* Request handling: check the sender's token, collect the body (bounded),
 * read the event, answer with the reply event (Knative's reply convention:
 * the event in the HTTP response) or with a 4xx naming what was wrong.
 * Errors are text/plain, one line, so `curl` shows them as they are.
 *
 * One thread polls every connection (libmicrohttpd's internal thread,
 * epoll): an idle or slow connection costs a descriptor, never a thread, and
 * /healthz is answered whatever the others do. An event, which may wait for
 * its crawler to be routed, is handled by a thread of its own while its
 * connection is suspended; there are at most MAX_CONNECTIONS of them. */
#include "provisiond/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/log.h"
#include "provisiond/httpbody.h"

struct pv_server {
	const struct pv_settings *s;
	struct pv_provisioner *p;
	const struct pv_auth *auth;
	struct MHD_Daemon *d;
	struct pg_ratelimit rl_auth; /* the polling thread's only */
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned workers; /* events being handled */
};

struct request {
	struct pv_server *srv;
	struct MHD_Connection *conn;
	struct pv_body body;
	bool started, done; /* handed to a worker; its answer is below */
	struct pv_event ev;
	unsigned status; /* 200: rep; else why as text */
	struct pv_http_reply rep;
	char why[PV_WHY_MAX];
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
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"provisiond\"");
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

/* In the worker: the provisioner's answer, rendered for the response. */
static void answer_event(struct pv_server *srv, struct request *rq)
{
	char reply_id[PV_REPLY_ID_MAX + 1];
	struct pv_answer ans = {0};
	int r;

	r = pv_provisioner_handle(srv->p, &rq->ev, &ans);
	if (r < 0) {
		rq->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		snprintf(rq->why, sizeof(rq->why), "cannot answer now (%s): retry later",
			 strerror(-r));
		pg_warn("event %s from %s: %s", rq->ev.id, rq->ev.source, rq->why);
		return;
	}
	pv_reply_id(rq->ev.source, rq->ev.id, reply_id);
	r = pv_reply_render(rq->ev.mode, ans.type, reply_id, srv->s->event_source, ans.data_json,
			    &rq->rep);
	pv_answer_clear(&ans);
	if (r < 0) {
		rq->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		snprintf(rq->why, sizeof(rq->why), "out of memory");
		return;
	}
	rq->status = MHD_HTTP_OK;
}

static void worker_done(struct pv_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	if (--srv->workers == 0)
		pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
}

static void *work(void *arg)
{
	struct request *rq = arg;
	struct pv_server *srv = rq->srv;

	answer_event(srv, rq);
	rq->done = true;
	/* From here the polling thread owns rq again (and may free it). */
	MHD_resume_connection(rq->conn);
	worker_done(srv);
	return NULL;
}

/* Suspends the connection and hands the event to a thread of its own. */
static enum MHD_Result start_worker(struct pv_server *srv, struct MHD_Connection *c,
				    struct request *rq)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	rq->srv = srv;
	rq->conn = c;
	rq->started = true;
	pthread_mutex_lock(&srv->lock);
	srv->workers++;
	pthread_mutex_unlock(&srv->lock);
	MHD_suspend_connection(c);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, work, rq);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		rq->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		snprintf(rq->why, sizeof(rq->why), "cannot answer now (%s): retry later",
			 strerror(r));
		rq->done = true;
		MHD_resume_connection(c);
		worker_done(srv);
	}
	return MHD_YES;
}

static enum MHD_Result finish(struct pv_server *srv, struct MHD_Connection *c, struct request *rq)
{
	struct pv_request req = {
	    .content_type = header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
	    .ce_specversion = header(c, "ce-specversion"),
	    .ce_id = header(c, "ce-id"),
	    .ce_source = header(c, "ce-source"),
	    .ce_type = header(c, "ce-type"),
	    .body = rq->body.data ? rq->body.data : "",
	    .body_len = rq->body.len,
	};
	int status;

	if (rq->done)
		return rq->status == MHD_HTTP_OK ? send_reply(c, &rq->rep)
						 : send_text(c, rq->status, rq->why);
	if (rq->started) /* still being handled */
		return MHD_YES;
	if (rq->body.too_big)
		return send_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "body: larger than MAX_BODY_BYTES");
	status = pv_event_parse(&req, &rq->ev, rq->why);
	if (status) {
		pg_info("refused (%d): %s", status, rq->why);
		return send_text(c, (unsigned)status, rq->why);
	}
	return start_worker(srv, c, rq);
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
		if (!pv_auth_check(
			srv->auth, header(c, MHD_HTTP_HEADER_AUTHORIZATION),
			MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "access_token"))) {
			const union MHD_ConnectionInfo *ci =
			    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
			char ip[INET_ADDRSTRLEN] = "?";

			if (ci && ci->client_addr->sa_family == AF_INET)
				inet_ntop(AF_INET,
					  &((const struct sockaddr_in *)ci->client_addr)->sin_addr,
					  ip, sizeof(ip));
			pg_log_limited(&srv->rl_auth, PG_LOG_WARN,
				       "refused %s %s from %s: no or a wrong bearer token", method,
				       url, ip);
			return send_text(
			    c, MHD_HTTP_UNAUTHORIZED,
			    "authorization: missing or wrong bearer token "
			    "(\"Authorization: Bearer TOKEN\", PROVISIOND_TOKEN_FILE)");
		}
		if (strcmp(method, "POST") != 0)
			return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					 "method: only POST carries events");
		if (pv_body_declared_too_big(c, srv->s->max_body))
			return send_text(c, MHD_HTTP_CONTENT_TOO_LARGE,
					 "body: larger than MAX_BODY_BYTES");
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (pv_body_append(&rq->body, upload_data, *upload_data_size, srv->s->max_body) < 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	return finish(srv, c, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	if (rq) {
		if (rq->done && rq->status == MHD_HTTP_OK)
			pv_reply_free(&rq->rep);
		pv_body_free(&rq->body);
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

int pv_server_start(const struct pv_settings *s, const struct pv_auth *auth,
		    struct pv_provisioner *p, struct pv_server **out)
{
	struct pv_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return -ENOMEM;
	srv->s = s;
	srv->p = p;
	srv->auth = auth;
	srv->rl_auth = (struct pg_ratelimit)PG_RATELIMIT_INIT(10, 5);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->idle, NULL);
	/* The logger first: MHD reports option errors through it. */
	srv->d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
		MHD_USE_ERROR_LOG,
	    0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, srv,
	    MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&s->listen, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)s->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned)s->max_per_ip, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->conn_timeout,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_END);
	if (!srv->d) {
		pthread_cond_destroy(&srv->idle);
		pthread_mutex_destroy(&srv->lock);
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
	/* No new connections; the events being handled still get their
	 * answers (a worker resumes its connection: the daemon must live). */
	int listen_fd = MHD_quiesce_daemon(srv->d);

	pthread_mutex_lock(&srv->lock);
	while (srv->workers)
		pthread_cond_wait(&srv->idle, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
	MHD_stop_daemon(srv->d);
	/* quiesced: the listening socket is ours to close */
	if (listen_fd >= 0)
		close(listen_fd);
	pthread_cond_destroy(&srv->idle);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
