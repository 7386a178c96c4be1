/* SPDX-License-Identifier: MIT */
/* The injection patch. A pod that asks for a gateway gets exactly the
 * binding provisiond gives its own crawlers (crawlerpod.c): clientd first
 * among the init containers as a native sidecar, the gateway's key Secret
 * and the run emptyDir, the ping sysctl, the podgw.io/gateway label; its
 * settings come from the gateway's ConfigMap. Nothing else of the pod is
 * changed: its seccomp profile, service account, restart policy and
 * containers stay the user's (the sidecar carries its own seccomp). */
#include "provisiond/inject.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "provisiond/crawlerpod.h"

/* Names of clientd containers: podgw's, and the admission controller's. */
static const char *const client_names[] = {PV_POD_SIDECAR, "gateway-sidecar", "gateway-init"};

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	return o && json_object_is_type(o, json_type_object) &&
		       json_object_object_get_ex(o, key, &v)
		   ? v
		   : NULL;
}

static bool is(json_object *v, json_type t)
{
	return v && json_object_is_type(v, t);
}

static int refuse(char why[PV_WHY_MAX], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int refuse(char why[PV_WHY_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, PV_WHY_MAX, fmt, ap);
	va_end(ap);
	/* It quotes the pod's own text: one printable line, for the log too. */
	for (char *c = why; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return -EPERM;
}

/* The value of setGateway, label or annotation: NULL when neither is set;
 * the two must agree when both are. */
static int asked_value(json_object *meta, const char **value, char why[PV_WHY_MAX])
{
	json_object *l = get(get(meta, "labels"), PV_INJECT_KEY);
	json_object *a = get(get(meta, "annotations"), PV_INJECT_KEY);

	*value = NULL;
	if ((l && !is(l, json_type_string)) || (a && !is(a, json_type_string)))
		return refuse(why, "metadata: %s must be a string", PV_INJECT_KEY);
	if (l && a && strcmp(json_object_get_string(l), json_object_get_string(a)) != 0)
		return refuse(why,
			      "metadata: label %s '%.63s' and annotation %s '%.63s' "
			      "name different gateways",
			      PV_INJECT_KEY, json_object_get_string(l), PV_INJECT_KEY,
			      json_object_get_string(a));
	*value = l ? json_object_get_string(l) : a ? json_object_get_string(a) : NULL;
	return 0;
}

static void known_list(const struct pv_settings *s, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < s->n_gateways && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "", s->gateways[i]);
}

/* "true" is the admission controller's: the default gateway, if any. */
static int choose_gateway(const struct pv_settings *s, const char *value, const char **gw,
			  char why[PV_WHY_MAX])
{
	char known[160];

	known_list(s, known, sizeof(known));
	*gw = strcmp(value, "true") == 0 ? s->webhook_default_gateway : value;
	if (strcmp(value, "true") == 0 && !**gw)
		return refuse(why,
			      "%s 'true': no default gateway (WEBHOOK_DEFAULT_GATEWAY); "
			      "name one: %s",
			      PV_INJECT_KEY, known);
	if (!pv_settings_gateway_known(s, *gw))
		return refuse(why, "%s: unknown gateway '%.63s' (known: %s)", PV_INJECT_KEY, *gw,
			      known);
	return 0;
}

static const char *client_in(json_object *list)
{
	for (size_t i = 0; is(list, json_type_array) && i < json_object_array_length(list); i++) {
		const char *n =
		    json_object_get_string(get(json_object_array_get_idx(list, i), "name"));

		for (size_t k = 0; n && k < sizeof(client_names) / sizeof(client_names[0]); k++)
			if (strcmp(n, client_names[k]) == 0)
				return client_names[k];
	}
	return NULL;
}

/* A list of named objects must be a list, and free of podgw's names. */
static int check_list(json_object *spec, const char *field, const char *const *reserved,
		      size_t n_reserved, char why[PV_WHY_MAX])
{
	json_object *list = get(spec, field);

	if (!list)
		return 0;
	if (!is(list, json_type_array))
		return refuse(why, "spec.%s: not a list", field);
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *item = json_object_array_get_idx(list, i);
		const char *n = json_object_get_string(get(item, "name"));

		if (!is(item, json_type_object))
			return refuse(why, "spec.%s[%zu]: not an object", field, i);
		for (size_t k = 0; n && k < n_reserved; k++)
			if (strcmp(n, reserved[k]) == 0)
				return refuse(why, "spec.%s[%zu].name: '%s' is podgw's", field, i,
					      n);
	}
	return 0;
}

/* What no pod that asks for a gateway may be, injected or not. */
static int check_shape(json_object *spec, char why[PV_WHY_MAX])
{
	json_object *v;

	if (!is(spec, json_type_object))
		return refuse(why, "spec: %s", spec ? "not an object" : "missing");
	/* clientd would rewire the node's own network. */
	if ((v = get(spec, "hostNetwork")) && json_object_get_boolean(v))
		return refuse(why, "spec.hostNetwork: a pod on the node's network cannot be "
				   "routed through a gateway (clientd would rewire the node)");
	return 0;
}

/* What the patch needs of a pod it changes. */
static int check_spec(json_object *spec, char why[PV_WHY_MAX])
{
	static const char *const vols[] = {PV_POD_KEY_VOLUME, PV_POD_RUN_VOLUME};
	json_object *sc = get(spec, "securityContext"), *v;
	int r;

	if ((r = check_list(spec, "containers", NULL, 0, why)) < 0 ||
	    (r = check_list(spec, "initContainers", NULL, 0, why)) < 0 ||
	    (r = check_list(spec, "volumes", vols, 2, why)) < 0)
		return r;
	if (sc && !is(sc, json_type_object))
		return refuse(why, "spec.securityContext: not an object");
	if ((v = get(sc, "sysctls")) && !is(v, json_type_array))
		return refuse(why, "spec.securityContext.sysctls: not a list");
	return 0;
}

static void op(json_object *patch, const char *verb, const char *path, json_object *value)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "op", json_object_new_string(verb));
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "value", value);
	json_object_array_add(patch, o);
}

static json_object *one(json_object *item)
{
	json_object *a = json_object_new_array();

	json_object_array_add(a, item);
	return a;
}

static json_object *ping_sysctl(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(PV_POD_PING_SYSCTL));
	json_object_object_add(o, "value", json_object_new_string(PV_POD_PING_RANGE));
	return o;
}

/* The ICMP sysctl, added or set to the one value that works. */
static void patch_sysctl(json_object *patch, json_object *spec)
{
	json_object *sc = get(spec, "securityContext"), *list = get(sc, "sysctls");
	char path[96];

	if (!sc) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "sysctls", one(ping_sysctl()));
		op(patch, "add", "/spec/securityContext", o);
		return;
	}
	if (!list) {
		op(patch, "add", "/spec/securityContext/sysctls", one(ping_sysctl()));
		return;
	}
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *e = json_object_array_get_idx(list, i);
		const char *n = json_object_get_string(get(e, "name"));
		const char *v = json_object_get_string(get(e, "value"));

		if (!n || strcmp(n, PV_POD_PING_SYSCTL) != 0)
			continue;
		if (v && strcmp(v, PV_POD_PING_RANGE) == 0)
			return;
		snprintf(path, sizeof(path), "/spec/securityContext/sysctls/%zu/value", i);
		op(patch, get(e, "value") ? "replace" : "add", path,
		   json_object_new_string(PV_POD_PING_RANGE));
		return;
	}
	op(patch, "add", "/spec/securityContext/sysctls/-", ping_sysctl());
}

static int build_patch(const struct pv_settings *s, json_object *pod, const char *gw,
		       json_object *patch)
{
	const struct pv_binding b = {.gateway = gw, .settings_configmap = true};
	json_object *spec = get(pod, "spec"), *side, *vols, *labels;

	side = pv_client_sidecar(s, &b);
	vols = pv_client_volumes(&b);
	if (!side || !vols) {
		json_object_put(side);
		json_object_put(vols);
		return -ENOMEM;
	}
	/* First: the pod's own init containers run routed too. */
	if (get(spec, "initContainers"))
		op(patch, "add", "/spec/initContainers/0", side);
	else
		op(patch, "add", "/spec/initContainers", one(side));
	if (get(spec, "volumes")) {
		for (size_t i = 0; i < json_object_array_length(vols); i++)
			op(patch, "add", "/spec/volumes/-",
			   json_object_get(json_object_array_get_idx(vols, i)));
		json_object_put(vols);
	} else {
		op(patch, "add", "/spec/volumes", vols);
	}
	patch_sysctl(patch, spec);
	labels = get(get(pod, "metadata"), "labels");
	if (is(labels, json_type_object)) {
		op(patch, "add", "/metadata/labels/podgw.io~1gateway", json_object_new_string(gw));
	} else {
		json_object *l = json_object_new_object();

		json_object_object_add(l, PV_POD_GATEWAY_LABEL, json_object_new_string(gw));
		if (is(get(pod, "metadata"), json_type_object)) {
			op(patch, "add", "/metadata/labels", l);
		} else {
			json_object *m = json_object_new_object();

			json_object_object_add(m, "labels", l);
			op(patch, "add", "/metadata", m);
		}
	}
	return 0;
}

int pv_inject(const struct pv_settings *s, json_object *pod, json_object **patch,
	      char gateway[PV_GATEWAY_MAX + 1], char why[PV_WHY_MAX])
{
	json_object *meta = get(pod, "metadata"), *spec = get(pod, "spec");
	const char *value, *gw, *has;
	int r;

	*patch = NULL;
	gateway[0] = '\0';
	if (!is(pod, json_type_object))
		return refuse(why, "request.object: not a Pod object");
	if (meta && !is(meta, json_type_object))
		return refuse(why, "metadata: not an object");
	if ((r = asked_value(meta, &value, why)) < 0)
		return r;
	if (!value || strcmp(value, "false") == 0) {
		snprintf(why, PV_WHY_MAX, "%s", value ? "setGateway is false" : "no setGateway");
		return PV_INJECT_SKIP;
	}
	if ((r = choose_gateway(s, value, &gw, why)) < 0)
		return r;
	snprintf(gateway, PV_GATEWAY_MAX + 1, "%s", gw);
	if ((r = check_shape(spec, why)) < 0)
		return r;
	/* Idempotent: a reinvocation, or a pod written by hand or by provisiond. */
	if ((has = client_in(get(spec, "initContainers"))) ||
	    (has = client_in(get(spec, "containers")))) {
		snprintf(why, PV_WHY_MAX, "already has clientd (container %s)", has);
		return PV_INJECT_SKIP;
	}
	if ((r = check_spec(spec, why)) < 0)
		return r;
	*patch = json_object_new_array();
	if (!*patch || build_patch(s, pod, gw, *patch) < 0) {
		json_object_put(*patch);
		*patch = NULL;
		snprintf(why, PV_WHY_MAX, "out of memory");
		return -ENOMEM;
	}
	snprintf(why, PV_WHY_MAX, "clientd injected for gateway %s", gw);
	return PV_INJECT_PATCH;
}
