/* SPDX-License-Identifier: MIT */
/* A container's environment as the kubelet makes it: envFrom, then env in
 * order (value with $(VAR) references, fieldRef, secretKeyRef,
 * configMapKeyRef), and the Secrets and ConfigMaps it reads, decoded. Pure,
 * like the rest of the podman translation. */
#include "provisiond/podman.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "provisiond/podman-json.h"

/* A Secret or ConfigMap of the pod's namespace (or of none). */
json_object *pv_kobj_find(const struct pv_kpod *kp, const char *kind, const char *name)
{
	for (size_t i = 0; i < alen(kp->objects); i++) {
		json_object *obj = json_object_array_get_idx(kp->objects, i);
		json_object *meta = get(obj, "metadata");
		const char *k = str(obj, "kind"), *n = str(meta, "name"),
			   *ns = str(meta, "namespace");

		if (k && n && strcmp(k, kind) == 0 && strcmp(n, name) == 0 &&
		    (!ns || strcmp(ns, kp->ns) == 0))
			return obj;
	}
	return NULL;
}

/* The value of key in a Secret (decoded) or ConfigMap: a new json string
 * (it may hold any bytes), or NULL. */
json_object *pv_kobj_value(json_object *obj, const char *key, bool secret)
{
	const char *v;
	unsigned char *bin;
	size_t len;
	json_object *out;

	if ((v = str(get(obj, secret ? "stringData" : "data"), key)))
		return jstr(v);
	v = str(get(obj, secret ? "data" : "binaryData"), key);
	if (!v)
		return NULL;
	len = strlen(v);
	bin = malloc(len + 1);
	if (!bin)
		return NULL;
	if (sodium_base642bin(bin, len + 1, v, len, " \n\r", &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(bin);
		return NULL;
	}
	out = json_object_new_string_len((const char *)bin, (int)len);
	free(bin);
	return out;
}

/* Every key of a Secret or ConfigMap, decoded: {key: value}. */
json_object *pv_kobj_all(json_object *obj, bool secret, const char **bad)
{
	const char *fields[2] = {secret ? "data" : "binaryData", secret ? "stringData" : "data"};
	json_object *all = json_object_new_object();

	for (int f = 0; f < 2; f++) {
		json_object *m = get(obj, fields[f]);

		if (!m || !json_object_is_type(m, json_type_object))
			continue;
		json_object_object_foreach(m, key, val)
		{
			json_object *v = pv_kobj_value(obj, key, secret);

			(void)val;
			if (!v) {
				*bad = key;
				json_object_put(all);
				return NULL;
			}
			json_object_object_add(all, key, v);
		}
	}
	return all;
}

/* Kubernetes' $(VAR) references: known names are replaced, $$ is a
 * literal $, anything else stays as written. */
static char *expand(const char *in, json_object *env)
{
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);

	if (!f)
		return NULL;
	for (const char *p = in; *p;) {
		const char *close, *v;
		char name[256];

		if (p[0] == '$' && p[1] == '$') {
			fputc('$', f);
			p += 2;
		} else if (p[0] == '$' && p[1] == '(' && (close = strchr(p + 2, ')')) &&
			   (size_t)(close - p - 2) < sizeof(name)) {
			memcpy(name, p + 2, (size_t)(close - p - 2));
			name[close - p - 2] = '\0';
			v = str(env, name);
			if (v)
				fputs(v, f);
			else
				fwrite(p, 1, (size_t)(close - p + 1), f);
			p = close + 1;
		} else {
			fputc(*p++, f);
		}
	}
	fclose(f);
	return out;
}

/* metadata.labels['k'] -> the label k, or NULL when not that shape. */
static const char *subscript(const char *path, const char *prefix, char *key, size_t size)
{
	size_t n = strlen(prefix), len;

	if (strncmp(path, prefix, n) != 0 || path[n] != '[' ||
	    (path[n + 1] != '\'' && path[n + 1] != '"'))
		return NULL;
	len = strlen(path + n + 2);
	if (len < 2 || path[n + 2 + len - 1] != ']' || path[n + 2 + len - 2] != path[n + 1] ||
	    len - 2 >= size)
		return NULL;
	memcpy(key, path + n + 2, len - 2);
	key[len - 2] = '\0';
	return key;
}

static int field_ref(const struct pv_kpod *kp, const char *path, const char *pod_ip,
		     const struct pv_podman_opts *o, const char **out, const char *where,
		     char why[PV_WHY_MAX])
{
	char key[256];
	const char *sa = str(kp->spec, "serviceAccountName");

	if (!path)
		return WHY("%s.fieldPath: missing", where);
	if (strcmp(path, "metadata.name") == 0)
		*out = kp->name;
	else if (strcmp(path, "metadata.namespace") == 0)
		*out = kp->ns;
	else if (strcmp(path, "spec.nodeName") == 0)
		*out = o && o->node_name ? o->node_name : "localhost";
	else if (strcmp(path, "spec.serviceAccountName") == 0)
		*out = sa ? sa : "default";
	else if (strcmp(path, "status.podIP") == 0 || strcmp(path, "status.podIPs") == 0)
		*out = pod_ip ? pod_ip : "";
	else if (subscript(path, "metadata.labels", key, sizeof(key)))
		*out = str(get(kp->meta, "labels"), key) ? str(get(kp->meta, "labels"), key) : "";
	else if (subscript(path, "metadata.annotations", key, sizeof(key)))
		*out = str(get(kp->meta, "annotations"), key)
			   ? str(get(kp->meta, "annotations"), key)
			   : "";
	else
		return WHY("%s.fieldPath: '%.80s': not modelled by the podman runner", where, path);
	return 0;
}

/* secretKeyRef / configMapKeyRef: 0 with *out (new, or NULL when optional
 * and missing), or an error. */
static int key_ref(const struct pv_kpod *kp, json_object *ref, bool secret, json_object **out,
		   const char *where, char why[PV_WHY_MAX])
{
	const char *name = str(ref, "name"), *key = str(ref, "key");
	json_object *obj;

	*out = NULL;
	if (!name || !key)
		return WHY("%s: name and key needed", where);
	obj = pv_kobj_find(kp, secret ? "Secret" : "ConfigMap", name);
	if (obj)
		*out = pv_kobj_value(obj, key, secret);
	if (!*out && !flag(ref, "optional", NULL))
		return WHY("%s: %s '%s' key '%s' not among the objects", where,
			   secret ? "Secret" : "ConfigMap", name, key);
	return 0;
}

static int env_from(const struct pv_kpod *kp, json_object *c, json_object *env, const char *where,
		    char why[PV_WHY_MAX])
{
	json_object *list = get(c, "envFrom");

	for (size_t i = 0; i < alen(list); i++) {
		json_object *e = json_object_array_get_idx(list, i), *all;
		bool secret = get(e, "secretRef") != NULL;
		json_object *ref = get(e, secret ? "secretRef" : "configMapRef");
		const char *name = str(ref, "name"), *prefix = str(e, "prefix"), *bad = NULL;
		json_object *obj =
		    name ? pv_kobj_find(kp, secret ? "Secret" : "ConfigMap", name) : NULL;

		if (!name)
			return WHY("%s.envFrom[%zu]: secretRef or configMapRef with a name needed",
				   where, i);
		if (!obj) {
			if (flag(ref, "optional", NULL))
				continue;
			return WHY("%s.envFrom[%zu]: '%s' not among the objects", where, i, name);
		}
		all = pv_kobj_all(obj, secret, &bad);
		if (!all)
			return WHY("%s.envFrom[%zu]: '%s' key '%s': not valid base64", where, i,
				   name, bad);
		json_object_object_foreach(all, k, v)
		{
			char full[512];

			snprintf(full, sizeof(full), "%s%s", prefix ? prefix : "", k);
			json_object_object_add(env, full, json_object_get(v));
		}
		json_object_put(all);
	}
	return 0;
}

int pv_podman_env(const struct pv_kpod *kp, json_object *c, const char *pod_ip,
		  const struct pv_podman_opts *o, json_object **out, const char *where,
		  char why[PV_WHY_MAX])
{
	json_object *env = json_object_new_object(), *list = get(c, "env");
	char at[160];
	int r;

	*out = env;
	r = env_from(kp, c, env, where, why);
	if (r < 0)
		return r;
	for (size_t i = 0; i < alen(list); i++) {
		json_object *e = json_object_array_get_idx(list, i), *vf = get(e, "valueFrom");
		const char *name = str(e, "name"), *v = str(e, "value");
		json_object *val = NULL;

		snprintf(at, sizeof(at), "%s.env[%zu]", where, i);
		if (!name || !*name)
			return WHY("%s.name: missing", at);
		if (vf && get(vf, "fieldRef")) {
			const char *fv = "";

			strncat(at, ".valueFrom.fieldRef", sizeof(at) - strlen(at) - 1);
			r = field_ref(kp, str(get(vf, "fieldRef"), "fieldPath"), pod_ip, o, &fv, at,
				      why);
			if (r < 0)
				return r;
			val = jstr(fv);
		} else if (vf && (get(vf, "secretKeyRef") || get(vf, "configMapKeyRef"))) {
			bool secret = get(vf, "secretKeyRef") != NULL;

			strncat(at,
				secret ? ".valueFrom.secretKeyRef" : ".valueFrom.configMapKeyRef",
				sizeof(at) - strlen(at) - 1);
			r = key_ref(kp, get(vf, secret ? "secretKeyRef" : "configMapKeyRef"),
				    secret, &val, at, why);
			if (r < 0)
				return r;
			if (!val)
				continue;
		} else if (vf) {
			return WHY("%s.valueFrom: not modelled by the podman runner", at);
		} else {
			char *x = expand(v ? v : "", env);

			if (!x)
				return -ENOMEM;
			val = jstr(x);
			free(x);
		}
		json_object_object_add(env, name, val);
	}
	return 0;
}

json_object *pv_podman_expand_array(json_object *a, json_object *env)
{
	json_object *out = json_object_new_array();

	for (size_t i = 0; i < alen(a); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(a, i));
		char *x = expand(s ? s : "", env);

		json_object_array_add(out, jstr(x ? x : ""));
		free(x);
	}
	return out;
}
