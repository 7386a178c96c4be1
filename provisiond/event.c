/* SPDX-License-Identifier: MIT */
/* CloudEvents 1.0 HTTP binding: the pending event in, the reply event out.
 * Every input here comes from whoever can reach the port, so each field is
 * length-checked and reported by name, and nothing is trusted to be text. */
#include "provisiond/event.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

/* Deep enough for any real event, shallow enough that a hostile body cannot
 * make the tokener recurse far. */
#define PV_JSON_DEPTH 16

static int refuse(char why[PV_WHY_MAX], int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(char why[PV_WHY_MAX], int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, PV_WHY_MAX, fmt, ap);
	va_end(ap);
	return status;
}

/* A value quoted in an error line: printable ASCII only, at most 40 bytes,
 * so a hostile value can neither forge log lines nor flood them. */
static const char *printable(const char *s, size_t len, char out[48])
{
	size_t i, n = 0;

	for (i = 0; i < len && n < 40; i++)
		out[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (i < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

/* The media type of a Content-Type value without parameters, lower case. */
static void media_type(const char *ct, char out[64])
{
	size_t n = 0;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	for (; *ct && *ct != ';' && *ct != ' ' && *ct != '\t' && n < 63; ct++)
		out[n++] = (char)tolower((unsigned char)*ct);
	out[n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Copies one attribute, checking what the spec asks of id, source and type:
 * a non-empty string; ours are also bounded and free of control bytes (they
 * end up in logs and in the names of what we create). Binary mode headers
 * are percent-encoded (CloudEvents HTTP binding 3.1.3.2). */
static int copy_attr(const char *name, const char *v, size_t len, bool percent,
		     char out[PV_ATTR_MAX + 1], char why[PV_WHY_MAX])
{
	size_t i, n = 0;
	char q[48];

	if (len == 0)
		return refuse(why, 400, "%s: empty", name);
	for (i = 0; i < len; i++) {
		int c = (unsigned char)v[i];

		if (percent && c == '%') {
			int hi = i + 2 < len ? hexval(v[i + 1]) : -1;
			int lo = i + 2 < len ? hexval(v[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return refuse(why, 400, "%s: '%s': bad percent-encoding", name,
					      printable(v, len, q));
			c = hi << 4 | lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return refuse(why, 400, "%s: '%s': control character", name,
				      printable(v, len, q));
		if (n == PV_ATTR_MAX)
			return refuse(why, 400, "%s: longer than %d bytes", name, PV_ATTR_MAX);
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

int pv_dns_label_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > PV_GATEWAY_MAX || s[0] == '-' || s[len - 1] == '-')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return 0;
	return 1;
}

/* A JSON string member as C text: refused when absent, not a string, or
 * holding a NUL (json-c keeps \u0000 inside the length). */
static int json_member_string(json_object *obj, const char *key, const char *field,
			      const char **out, size_t *len, char why[PV_WHY_MAX])
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return refuse(why, 400, "%s: missing", field);
	if (!json_object_is_type(v, json_type_string))
		return refuse(why, 400, "%s: not a string", field);
	*out = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	if (strlen(*out) != *len)
		return refuse(why, 400, "%s: contains a NUL byte", field);
	return 0;
}

/* Parses the whole body as one JSON object (trailing white space only). */
static int json_parse_object(const char *body, size_t len, const char *what, json_object **out,
			     char why[PV_WHY_MAX])
{
	struct json_tokener *tok;
	json_object *obj;
	size_t end;

	*out = NULL;
	if (len == 0)
		return refuse(why, 400, "%s: empty body", what);
	tok = json_tokener_new_ex(PV_JSON_DEPTH);
	if (!tok)
		return refuse(why, 500, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	if (!obj) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		json_tokener_free(tok);
		if (e == json_tokener_continue)
			return refuse(why, 400, "%s: bad JSON: unexpected end", what);
		return refuse(why, 400, "%s: bad JSON: %s", what, json_tokener_error_desc(e));
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < len && strchr(" \t\r\n", body[end]) && body[end])
		end++;
	if (end != len) {
		json_object_put(obj);
		return refuse(why, 400, "%s: bad JSON: trailing bytes after the value", what);
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return refuse(why, 400, "%s: not a JSON object", what);
	}
	*out = obj;
	return 0;
}

/* data: {"gateway_name": "<DNS label>"}; other members are ignored, as the
 * reference provisioner does. */
static int parse_data(json_object *data, struct pv_event *ev, char why[PV_WHY_MAX])
{
	const char *gw;
	size_t len;
	char q[48];
	int r;

	r = json_member_string(data, "gateway_name", "data.gateway_name", &gw, &len, why);
	if (r)
		return r;
	if (len > PV_GATEWAY_MAX || !pv_dns_label_ok(gw))
		return refuse(why, 400, "data.gateway_name: '%s': not a DNS label (a-z, 0-9, -)",
			      printable(gw, len, q));
	memcpy(ev->gateway, gw, len + 1);
	return 0;
}

static int check_type(const struct pv_event *ev, const char *field, char why[PV_WHY_MAX])
{
	char q[48];

	if (strcmp(ev->type, PV_TYPE_PENDING) != 0)
		return refuse(why, 400, "%s: '%s': only " PV_TYPE_PENDING " is handled", field,
			      printable(ev->type, strlen(ev->type), q));
	return 0;
}

static int check_specversion(const char *v, size_t len, const char *field, char why[PV_WHY_MAX])
{
	char q[48];

	if (len != 3 || memcmp(v, "1.0", 3) != 0)
		return refuse(why, 400, "%s: '%s': only 1.0 is supported", field,
			      printable(v, len, q));
	return 0;
}

static bool is_json_media(const char *mt)
{
	return strcmp(mt, "application/json") == 0;
}

static int parse_binary(const struct pv_request *req, struct pv_event *ev, char why[PV_WHY_MAX])
{
	json_object *data;
	char mt[64], q[48];
	int r;

	r = check_specversion(req->ce_specversion, strlen(req->ce_specversion), "ce-specversion",
			      why);
	if (r)
		return r;
	if (!req->ce_id)
		return refuse(why, 400, "ce-id: missing header");
	if (!req->ce_source)
		return refuse(why, 400, "ce-source: missing header");
	if (!req->ce_type)
		return refuse(why, 400, "ce-type: missing header");
	if ((r = copy_attr("ce-id", req->ce_id, strlen(req->ce_id), true, ev->id, why)) ||
	    (r = copy_attr("ce-source", req->ce_source, strlen(req->ce_source), true, ev->source,
			   why)) ||
	    (r = copy_attr("ce-type", req->ce_type, strlen(req->ce_type), true, ev->type, why)) ||
	    (r = check_type(ev, "ce-type", why)))
		return r;
	if (!req->content_type)
		return refuse(why, 415,
			      "content-type: missing (the data must be application/json)");
	media_type(req->content_type, mt);
	if (!is_json_media(mt))
		return refuse(why, 415, "content-type: '%s': the data must be application/json",
			      printable(mt, strlen(mt), q));
	r = json_parse_object(req->body, req->body_len, "data", &data, why);
	if (r)
		return r;
	r = parse_data(data, ev, why);
	json_object_put(data);
	return r;
}

/* The attributes of a structured event; the caller holds the object. */
static int structured_attrs(json_object *obj, struct pv_event *ev, char why[PV_WHY_MAX])
{
	static const struct {
		const char *key;
		size_t off;
	} attrs[] = {
	    {"id", offsetof(struct pv_event, id)},
	    {"source", offsetof(struct pv_event, source)},
	    {"type", offsetof(struct pv_event, type)},
	};
	const char *v;
	size_t len;
	int r;

	r = json_member_string(obj, "specversion", "specversion", &v, &len, why);
	if (r || (r = check_specversion(v, len, "specversion", why)))
		return r;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		r = json_member_string(obj, attrs[i].key, attrs[i].key, &v, &len, why);
		if (r ||
		    (r = copy_attr(attrs[i].key, v, len, false, (char *)ev + attrs[i].off, why)))
			return r;
	}
	return check_type(ev, "type", why);
}

static int parse_structured(const struct pv_request *req, struct pv_event *ev, char why[PV_WHY_MAX])
{
	json_object *obj, *data;
	const char *v;
	size_t len;
	char mt[64], q[48];
	int r;

	r = json_parse_object(req->body, req->body_len, "event", &obj, why);
	if (r)
		return r;
	r = structured_attrs(obj, ev, why);
	if (r)
		goto out;
	if (json_object_object_get_ex(obj, "datacontenttype", NULL)) {
		r = json_member_string(obj, "datacontenttype", "datacontenttype", &v, &len, why);
		if (r)
			goto out;
		media_type(v, mt);
		if (!is_json_media(mt)) {
			r = refuse(why, 415,
				   "datacontenttype: '%s': the data must be application/json",
				   printable(v, len, q));
			goto out;
		}
	}
	if (json_object_object_get_ex(obj, "data_base64", NULL)) {
		r = refuse(why, 415,
			   "data_base64: binary data is not supported; send data as JSON");
		goto out;
	}
	if (!json_object_object_get_ex(obj, "data", &data) ||
	    json_object_is_type(data, json_type_null)) {
		r = refuse(why, 400, "data: missing");
		goto out;
	}
	if (!json_object_is_type(data, json_type_object)) {
		r = refuse(why, 400, "data: not a JSON object");
		goto out;
	}
	r = parse_data(data, ev, why);
out:
	json_object_put(obj);
	return r;
}

int pv_event_parse(const struct pv_request *req, struct pv_event *ev, char why[PV_WHY_MAX])
{
	char mt[64], q[48];

	memset(ev, 0, sizeof(*ev));
	why[0] = '\0';
	/* ce-specversion marks binary mode whatever the content type says
	 * (HTTP binding 3.1: a structured event has no ce- headers). */
	if (req->ce_specversion) {
		ev->mode = PV_MODE_BINARY;
		return parse_binary(req, ev, why);
	}
	if (!req->content_type)
		return refuse(why, 415,
			      "content-type: missing (application/cloudevents+json, or "
			      "application/json with ce-* headers)");
	media_type(req->content_type, mt);
	if (strcmp(mt, "application/cloudevents+json") == 0) {
		ev->mode = PV_MODE_STRUCTURED;
		return parse_structured(req, ev, why);
	}
	if (strcmp(mt, "application/cloudevents-batch+json") == 0)
		return refuse(why, 415, "content-type: batched mode is not supported");
	if (is_json_media(mt))
		return refuse(why, 400, "ce-specversion: missing header (binary mode)");
	return refuse(why, 415,
		      "content-type: '%s': not application/cloudevents+json (structured mode) "
		      "nor application/json with ce-* headers (binary mode)",
		      printable(mt, strlen(mt), q));
}

/* Binary mode header values: percent-encode what HTTP cannot carry as is
 * (spec 3.1.3.2: space, '"', '%' and anything outside printable ASCII). */
static char *header_encode(const char *s)
{
	size_t len = strlen(s), n = 0;
	char *out = malloc(len * 3 + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '%')
			n += (size_t)sprintf(out + n, "%%%02X", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

static int add_header(struct pv_http_reply *r, const char *name, char *value)
{
	if (!value)
		return -ENOMEM;
	r->headers[r->n_headers].name = name;
	r->headers[r->n_headers].value = value;
	r->n_headers++;
	return 0;
}

static int render_binary(const char *type, const char *id, const char *source,
			 const char *data_json, struct pv_http_reply *out)
{
	out->content_type = strdup("application/json");
	out->body = strdup(data_json);
	if (!out->content_type || !out->body)
		return -ENOMEM;
	out->body_len = strlen(out->body);
	if (add_header(out, "ce-specversion", strdup("1.0")) < 0 ||
	    add_header(out, "ce-id", header_encode(id)) < 0 ||
	    add_header(out, "ce-source", header_encode(source)) < 0 ||
	    add_header(out, "ce-type", header_encode(type)) < 0)
		return -ENOMEM;
	return 0;
}

static int render_structured(const char *type, const char *id, const char *source,
			     const char *data_json, struct pv_http_reply *out)
{
	json_object *ev = json_object_new_object(), *data = json_tokener_parse(data_json);
	const char *text;
	int r = -ENOMEM;

	if (!ev || !data)
		goto out;
	if (json_object_object_add(ev, "specversion", json_object_new_string("1.0")) ||
	    json_object_object_add(ev, "id", json_object_new_string(id)) ||
	    json_object_object_add(ev, "source", json_object_new_string(source)) ||
	    json_object_object_add(ev, "type", json_object_new_string(type)) ||
	    json_object_object_add(ev, "datacontenttype",
				   json_object_new_string("application/json")))
		goto out;
	if (json_object_object_add(ev, "data", data))
		goto out;
	data = NULL;
	text = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN);
	out->content_type = strdup("application/cloudevents+json");
	out->body = text ? strdup(text) : NULL;
	if (!out->content_type || !out->body)
		goto out;
	out->body_len = strlen(out->body);
	r = 0;
out:
	json_object_put(data);
	json_object_put(ev);
	return r;
}

int pv_reply_render(enum pv_mode mode, const char *type, const char *id, const char *source,
		    const char *data_json, struct pv_http_reply *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (mode == PV_MODE_BINARY)
		r = render_binary(type, id, source, data_json, out);
	else
		r = render_structured(type, id, source, data_json, out);
	if (r < 0)
		pv_reply_free(out);
	return r;
}

void pv_reply_free(struct pv_http_reply *r)
{
	free(r->content_type);
	free(r->body);
	for (unsigned i = 0; i < r->n_headers; i++)
		free(r->headers[i].value);
	memset(r, 0, sizeof(*r));
}
