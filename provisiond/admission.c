/* SPDX-License-Identifier: MIT */
/* One AdmissionReview: read, checked field by field, answered. The
 * decision is inject.c's; this file knows the review's envelope. */
#include "provisiond/admission.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "common/log.h"
#include "provisiond/inject.h"

#define REVIEW_API "admission.k8s.io/v1"
#define UID_MAX	   128 /* the API server's are UUIDs */
/* AdmissionReview > request > object > spec > containers > [i] >
 * securityContext > ...; managedFields nest deeper. */
#define DEPTH_MAX 64

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	return o && json_object_is_type(o, json_type_object) &&
		       json_object_object_get_ex(o, key, &v)
		   ? v
		   : NULL;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int text(struct pv_admission_reply *out, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int text(struct pv_admission_reply *out, unsigned status, const char *fmt, ...)
{
	char line[PV_WHY_MAX + 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	/* It quotes the request's own text: one printable line. */
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[n++] = '\n';
	line[n] = '\0';
	out->status = status;
	out->content_type = "text/plain; charset=utf-8";
	out->body = strdup(line);
	out->len = (size_t)n;
	return out->body ? 0 : -ENOMEM;
}

static char *base64(const char *data, size_t len)
{
	size_t size = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *b = malloc(size);

	if (b)
		sodium_bin2base64(b, size, (const unsigned char *)data, len,
				  sodium_base64_VARIANT_ORIGINAL);
	return b;
}

/* The response review; patch may be NULL. Takes patch. */
static int respond(struct pv_admission_reply *out, const char *uid, bool allowed, unsigned code,
		   const char *message, json_object *patch)
{
	json_object *review = json_object_new_object(), *resp = json_object_new_object();
	const char *s;
	int r = 0;

	json_object_object_add(review, "apiVersion", json_object_new_string(REVIEW_API));
	json_object_object_add(review, "kind", json_object_new_string("AdmissionReview"));
	json_object_object_add(review, "response", resp);
	json_object_object_add(resp, "uid", json_object_new_string(uid));
	json_object_object_add(resp, "allowed", json_object_new_boolean(allowed));
	if (!allowed) {
		json_object *st = json_object_new_object();

		json_object_object_add(st, "code", json_object_new_int((int)code));
		json_object_object_add(st, "message", json_object_new_string(message));
		json_object_object_add(resp, "status", st);
	}
	if (patch) {
		const char *p = json_object_to_json_string_ext(
		    patch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		char *b = base64(p, strlen(p));

		if (!b)
			r = -ENOMEM;
		else {
			json_object_object_add(resp, "patchType",
					       json_object_new_string("JSONPatch"));
			json_object_object_add(resp, "patch", json_object_new_string(b));
			free(b);
		}
		json_object_put(patch);
	}
	s = json_object_to_json_string_ext(review,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	out->status = 200;
	out->content_type = "application/json";
	out->body = r == 0 && s ? strdup(s) : NULL;
	out->len = out->body ? strlen(out->body) : 0;
	json_object_put(review);
	return out->body ? 0 : -ENOMEM;
}

static json_object *parse(const char *body, size_t len, char why[PV_WHY_MAX])
{
	struct json_tokener *tok = json_tokener_new_ex(DEPTH_MAX);
	json_object *o;
	size_t end;

	if (!tok) {
		snprintf(why, PV_WHY_MAX, "out of memory");
		return NULL;
	}
	if (len > (size_t)INT32_MAX)
		len = INT32_MAX;
	o = json_tokener_parse_ex(tok, body, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (!o && json_tokener_get_error(tok) == json_tokener_continue)
		snprintf(why, PV_WHY_MAX, "body: not JSON: it ends early");
	else if (!o)
		snprintf(why, PV_WHY_MAX, "body: not JSON: %s at byte %zu",
			 json_tokener_error_desc(json_tokener_get_error(tok)), end);
	else if (end < len && body[end + strspn(body + end, " \t\r\n")] != '\0') {
		snprintf(why, PV_WHY_MAX, "body: not JSON: data after the object at byte %zu", end);
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* Printable, bounded text of an untrusted name, for the log. */
static void printable(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src && *src && i + 1 < size; src++)
		dst[i++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	dst[i] = '\0';
}

static void log_decision(json_object *req, json_object *pod, const char *verb, const char *why)
{
	json_object *meta = get(pod, "metadata");
	const char *name = str(meta, "name");
	char ns[64], n[128];

	printable(ns, sizeof(ns), str(req, "namespace"));
	printable(n, sizeof(n), name && *name ? name : str(meta, "generateName"));
	pg_info("%s/%s%s: %s: %s", ns, n, name && *name ? "" : "*", verb, why);
}

/* A review of one Pod CREATE; anything else the webhook never asked for. */
static int answer_request(const struct pv_settings *s, json_object *req, const char *uid,
			  struct pv_admission_reply *out)
{
	json_object *kind = get(req, "kind"), *pod = get(req, "object"), *patch = NULL;
	const char *group = str(kind, "group"), *version = str(kind, "version"),
		   *k = str(kind, "kind");
	const char *opn = str(req, "operation");
	char why[PV_WHY_MAX], gw[PV_GATEWAY_MAX + 1], line[PV_WHY_MAX + 64];
	int r;

	if (!group || !version || !k)
		return respond(out, uid, false, 400,
			       "request.kind: group, version and kind (strings) are needed", NULL);
	if (*group || strcmp(version, "v1") != 0 || strcmp(k, "Pod") != 0) {
		snprintf(line, sizeof(line),
			 "request.kind: '%.40s/%.20s %.40s': only v1 Pod is injected", group,
			 version, k);
		return respond(out, uid, false, 400, line, NULL);
	}
	if (!opn || strcmp(opn, "CREATE") != 0) {
		snprintf(line, sizeof(line), "request.operation: '%.20s': only CREATE is injected",
			 opn ? opn : "");
		printable(line, sizeof(line), line);
		return respond(out, uid, false, 400, line, NULL);
	}
	if (!pod || !json_object_is_type(pod, json_type_object))
		return respond(out, uid, false, 400, "request.object: missing or not an object",
			       NULL);
	r = pv_inject(s, pod, &patch, gw, why);
	if (r == -ENOMEM)
		return -ENOMEM;
	if (r < 0) {
		log_decision(req, pod, "refused", why);
		snprintf(line, sizeof(line), "podgw: %s", why);
		return respond(out, uid, false, 403, line, NULL);
	}
	log_decision(req, pod, r == PV_INJECT_PATCH ? "injected" : "left alone", why);
	return respond(out, uid, true, 0, NULL, patch);
}

int pv_admission_answer(const struct pv_settings *s, const char *body, size_t len,
			struct pv_admission_reply *out)
{
	json_object *review, *req;
	const char *api, *kind, *uid;
	char why[PV_WHY_MAX];
	int r;

	memset(out, 0, sizeof(*out));
	review = parse(body, len, why);
	if (!review)
		return text(out, 400, "%s", why);
	api = str(review, "apiVersion");
	kind = str(review, "kind");
	req = get(review, "request");
	uid = str(req, "uid");
	if (!json_object_is_type(review, json_type_object))
		r = text(out, 400, "body: not a JSON object (an AdmissionReview is expected)");
	else if (!api || strcmp(api, REVIEW_API) != 0)
		r = text(out, 400, "apiVersion: '%.60s': only " REVIEW_API " is served",
			 api ? api : "");
	else if (!kind || strcmp(kind, "AdmissionReview") != 0)
		r = text(out, 400, "kind: '%.60s': an AdmissionReview is expected",
			 kind ? kind : "");
	else if (!req || !json_object_is_type(req, json_type_object))
		r = text(out, 400, "request: missing or not an object");
	else if (!uid || !*uid || strlen(uid) > UID_MAX)
		r = text(out, 400, "request.uid: missing, empty or longer than %d", UID_MAX);
	else
		r = answer_request(s, req, uid, out);
	json_object_put(review);
	return r;
}

void pv_admission_reply_free(struct pv_admission_reply *r)
{
	free(r->body);
	r->body = NULL;
}
