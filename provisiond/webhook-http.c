/* SPDX-License-Identifier: MIT */
/* The webhook's HTTPS server: libmicrohttpd with GnuTLS, one polling thread
 * (a patch is computed in microseconds, so nothing blocks it, and a peer
 * trickling handshakes holds sockets, not threads), the event server's
 * per-IP limit and idle timeout, bounded bodies, one line of text for every
 * error. */
#include "provisiond/webhook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "common/log.h"
#include "provisiond/httpbody.h"
#include "provisiond/admission.h"

#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct pv_webhook_http {
	const struct pv_settings *s;
	struct MHD_Daemon *d;
};

struct request {
	struct pv_body body;
};

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status, const char *type,
				 const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *line)
{
	char buf[PV_WHY_MAX + 2];

	snprintf(buf, sizeof(buf), "%s\n", line);
	return send_body(c, status, "text/plain; charset=utf-8", buf, strlen(buf));
}

static bool json_type_ok(struct MHD_Connection *c)
{
	const char *t =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = strlen("application/json");

	return t && strncasecmp(t, "application/json", n) == 0 && (t[n] == '\0' || t[n] == ';');
}

static enum MHD_Result answer(struct pv_webhook_http *h, struct MHD_Connection *c,
			      struct request *rq)
{
	struct pv_admission_reply rep;
	enum MHD_Result ret;

	if (pv_admission_answer(h->s, rq->body.data ? rq->body.data : "", rq->body.len, &rep) < 0)
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	if (rep.status != 200)
		pg_info("review refused (%u): %s", rep.status, rep.body);
	ret = send_body(c, rep.status, rep.content_type, rep.body, rep.len);
	pv_admission_reply_free(&rep);
	return ret;
}

/* First call of a request: everything that can be answered from the
 * headers alone. NULL: go on reading the body. */
static const char *refuse_early(struct pv_webhook_http *h, struct MHD_Connection *c,
				const char *url, const char *method, unsigned *status)
{
	*status = MHD_HTTP_NOT_FOUND;
	if (strcmp(url, PV_WEBHOOK_PATH) != 0 && strcmp(url, PV_WEBHOOK_PATH_SHORT) != 0)
		return "path: reviews go to " PV_WEBHOOK_PATH " (or " PV_WEBHOOK_PATH_SHORT ")";
	*status = MHD_HTTP_METHOD_NOT_ALLOWED;
	if (strcmp(method, "POST") != 0)
		return "method: only POST carries an AdmissionReview";
	*status = MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
	if (!json_type_ok(c))
		return "content-type: application/json is expected";
	*status = MHD_HTTP_CONTENT_TOO_LARGE;
	if (pv_body_declared_too_big(c, h->s->max_body))
		return "body: larger than MAX_BODY_BYTES";
	return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct pv_webhook_http *h = cls;
	struct request *rq = *con_cls;
	const char *no;
	unsigned status;

	if (!rq) {
		if (strcmp(method, "GET") == 0 && strcmp(url, "/healthz") == 0)
			return send_text(c, MHD_HTTP_OK, "ok");
		if ((no = refuse_early(h, c, url, method, &status)))
			return send_text(c, status, no);
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (pv_body_append(&rq->body, upload_data, *upload_data_size, h->s->max_body) < 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->body.too_big)
		return send_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "body: larger than MAX_BODY_BYTES");
	return answer(h, c, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	if (rq) {
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
	if (cls)
		pg_warn("https: %s", line);
}

bool pv_webhook_tls_usable(const char *cert, const char *key)
{
	struct MHD_Daemon *d;

	/* No listening socket, no thread: only the credentials are loaded.
	 * Its complaints are the reload's to report, in its own words. */
	d = MHD_start_daemon(MHD_USE_TLS | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG, 0, NULL,
			     NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, NULL,
			     MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_MEM_CERT, cert,
			     MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES, MHD_OPTION_END);
	if (!d)
		return false;
	MHD_stop_daemon(d);
	return true;
}

int pv_webhook_http_start(const struct pv_settings *s, const char *cert, const char *key,
			  int listen_fd, struct pv_webhook_http **out)
{
	struct pv_webhook_http *h = calloc(1, sizeof(*h));
	unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			 MHD_USE_ERROR_LOG | MHD_USE_ITC;

	if (!h)
		return -ENOMEM;
	h->s = s;
	{
		/* A reload serves on the socket the previous server handed over. */
		struct MHD_OptionItem where =
		    listen_fd >= 0
			? (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, listen_fd, NULL}
			: (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)&s->listen};
		struct MHD_OptionItem opts[] = {
		    where,
		    {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)key},
		    {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cert},
		    {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES},
		    {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)s->max_connections, NULL},
		    {MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)s->max_per_ip, NULL},
		    {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)s->conn_timeout, NULL},
		    {MHD_OPTION_END, 0, NULL},
		};

		/* The logger first: MHD reports option errors through it. */
		h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
					MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, h,
					MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
					MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	}
	if (!h->d) {
		free(h);
		return -EADDRINUSE;
	}
	*out = h;
	return 0;
}

int pv_webhook_http_quiesce(struct pv_webhook_http *h)
{
	return (int)MHD_quiesce_daemon(h->d);
}

void pv_webhook_http_stop(struct pv_webhook_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}

uint16_t pv_webhook_http_port(const struct pv_webhook_http *h)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);

	return i ? i->port : 0;
}
