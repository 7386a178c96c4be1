/* SPDX-License-Identifier: MIT */
#include "gatewayd/cloudevent.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Attributes gatewayd sets itself: an override cannot replace them. */
static const char *const reserved[] = {
    "id",      "source",	  "specversion", "type", "time",
    "subject", "datacontenttype", "dataschema",	 "data",
};

static int refuse(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int refuse(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, PG_CE_WHY_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool ext_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > PG_CE_EXT_NAME_MAX)
		return false;
	for (const char *c = name; *c; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c))
			return false;
	return true;
}

static bool header_value_ok(const char *v)
{
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			return false;
	return true;
}

/* K_CE_OVERRIDES as Knative's SinkBinding writes it:
 * {"extensions":{"name":"value"}}. Every other shape is refused. */
static int parse_overrides(struct pg_ce_origin *o, const char *text, char *why)
{
	enum json_tokener_error jerr = json_tokener_success;
	json_object *root, *ext = NULL;
	int r = 0;

	if (!*text)
		return 0;
	root = json_tokener_parse_verbose(text, &jerr);
	if (!root)
		return refuse(why, "not JSON: %s", json_tokener_error_desc(jerr));
	if (!json_object_is_type(root, json_type_object)) {
		r = refuse(why, "not a JSON object");
		goto out;
	}
	json_object_object_foreach(root, key, val)
	{
		if (strcmp(key, "extensions") != 0) {
			r = refuse(why, "unknown member '%.40s' (only \"extensions\")", key);
			goto out;
		}
		ext = val;
	}
	if (!ext)
		goto out;
	if (!json_object_is_type(ext, json_type_object)) {
		r = refuse(why, "\"extensions\" is not an object");
		goto out;
	}
	json_object_object_foreach(ext, name, v)
	{
		const char *value;

		if (!ext_name_ok(name)) {
			r = refuse(why, "extension '%.40s': not 1 to 20 of a-z, 0-9", name);
			goto out;
		}
		for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
			if (strcmp(name, reserved[i]) == 0) {
				r = refuse(why, "extension '%s': an attribute gatewayd sets", name);
				goto out;
			}
		if (!json_object_is_type(v, json_type_string)) {
			r = refuse(why, "extension '%s': the value is not a string", name);
			goto out;
		}
		value = json_object_get_string(v);
		if (strlen(value) > PG_CE_EXT_VALUE_MAX || !header_value_ok(value)) {
			r = refuse(why, "extension '%s': the value is not up to %d printable ASCII",
				   name, PG_CE_EXT_VALUE_MAX);
			goto out;
		}
		if (o->n_ext == PG_CE_MAX_EXTENSIONS) {
			r = refuse(why, "more than %d extensions", PG_CE_MAX_EXTENSIONS);
			goto out;
		}
		snprintf(o->ext_name[o->n_ext], sizeof(o->ext_name[0]), "%s", name);
		snprintf(o->ext_value[o->n_ext], sizeof(o->ext_value[0]), "%s", value);
		o->n_ext++;
	}
out:
	json_object_put(root);
	return r;
}

int pg_ce_origin_init(struct pg_ce_origin *o, const char *gateway, const char *overrides, char *why)
{
	uint8_t rnd[16];

	memset(o, 0, sizeof(*o));
	if (!*gateway || strlen(gateway) >= sizeof(o->gateway))
		return refuse(why, "gateway name '%.80s' is empty or too long", gateway);
	snprintf(o->gateway, sizeof(o->gateway), "%s", gateway);
	snprintf(o->source, sizeof(o->source), "/podgw/gatewayd/%s", gateway);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(o->id_prefix, sizeof(o->id_prefix), rnd, sizeof(rnd));
	return parse_overrides(o, overrides, why);
}

static void add_header(struct pg_ce_message *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_header(struct pg_ce_message *m, const char *fmt, ...)
{
	va_list ap;

	if (m->n_headers == PG_CE_MAX_HEADERS)
		return;
	va_start(ap, fmt);
	vsnprintf(m->headers[m->n_headers++], PG_CE_HEADER_MAX, fmt, ap);
	va_end(ap);
}

/* RFC 3339 in UTC with milliseconds, as Ce-Time wants. */
static void fmt_time(const struct timespec *ts, char out[48])
{
	struct tm tm;
	time_t t = ts->tv_sec;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(out, 48, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 48 - n, ".%03ldZ", (long)(ts->tv_nsec / 1000000) % 1000);
}

static void add_string(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
}

int pg_ce_format(const struct pg_ce_origin *o, const struct pg_ce_record *r,
		 struct pg_ce_message *out)
{
	const struct pg_lease *l = &r->lease;
	const char *slash = strchr(l->id, '/');
	char ns[PG_NAMESPACE_MAX + 1] = "", addr[INET_ADDRSTRLEN], pod[PG_PREFIX_STRLEN], mac[18];
	char when[48];
	json_object *d = json_object_new_object();
	const char *text;

	memset(out, 0, sizeof(*out));
	if (!d)
		return -ENOMEM;
	if (slash && (size_t)(slash - l->id) < sizeof(ns))
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - l->id), l->id);
	inet_ntop(AF_INET, &l->addr, addr, sizeof(addr));
	pg_prefix_fmt(&l->pod_ip, pod, false);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", l->mac[0], l->mac[1], l->mac[2],
		 l->mac[3], l->mac[4], l->mac[5]);
	add_string(d, "pod_name", slash ? slash + 1 : l->id);
	add_string(d, "namespace", ns);
	add_string(d, "gateway_name", o->gateway);
	add_string(d, "overlay_address", addr);
	add_string(d, "pod_ip", pod);
	add_string(d, "mac", mac);
	if (r->kind == PG_CE_DISCONNECTED)
		add_string(d, "reason", r->reason);
	text = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN);
	out->body = text ? strdup(text) : NULL;
	json_object_put(d);
	if (!out->body)
		return -ENOMEM;

	fmt_time(&r->time, when);
	add_header(out, "Ce-Specversion: 1.0");
	add_header(out, "Ce-Id: %s-%llu", o->id_prefix, (unsigned long long)r->seq);
	add_header(out, "Ce-Source: %s", o->source);
	add_header(out, "Ce-Type: %s",
		   r->kind == PG_CE_CONNECTED ? PG_CE_TYPE_CONNECTED : PG_CE_TYPE_DISCONNECTED);
	add_header(out, "Ce-Time: %s", when);
	add_header(out, "Ce-Subject: %s", l->id);
	add_header(out, "Content-Type: application/json");
	for (unsigned i = 0; i < o->n_ext; i++)
		add_header(out, "Ce-%s: %s", o->ext_name[i], o->ext_value[i]);
	return 0;
}

void pg_ce_message_clear(struct pg_ce_message *m)
{
	free(m->body);
	m->body = NULL;
	m->n_headers = 0;
}
