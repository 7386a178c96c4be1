/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_PODMAN_JSON_H
#define PODGW_PROVISIOND_PODMAN_JSON_H

/* Small readers of Kubernetes objects, shared by the podman translation's
 * files: a missing or mistyped field reads as absent. */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "provisiond/charset.h"
#include "provisiond/event.h"

/* Says why in the caller's why[PV_WHY_MAX]; -EINVAL. */
#define WHY(...) pv_why(why, __VA_ARGS__)
static inline int __attribute__((format(printf, 2, 3))) pv_why(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, PV_WHY_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static inline json_object *get(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static inline const char *str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static inline bool flag(json_object *o, const char *key, bool *set)
{
	json_object *v = get(o, key);

	if (set)
		*set = v && json_object_is_type(v, json_type_boolean);
	return v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

static inline bool num(json_object *o, const char *key, int64_t *out)
{
	json_object *v = get(o, key);

	if (!v || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static inline size_t alen(json_object *a)
{
	return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static inline json_object *jstr(const char *s)
{
	return json_object_new_string(s);
}

/* Names that end up in paths and podman names. */
static inline bool name_ok(const char *s, size_t max)
{
	return pv_charset_ok(s, PV_LOWER PV_DIGITS "-.", 1, max) && s[0] != '.' && s[0] != '-';
}

/* A relative path without "..": items[].path, subPath. */
static inline bool rel_path_ok(const char *p)
{
	const char *s = p;

	if (!p || !*p || p[0] == '/')
		return false;
	while (*s) {
		size_t n = strcspn(s, "/");

		if ((n == 2 && s[0] == '.' && s[1] == '.') || n == 0)
			return false;
		s += n;
		if (*s == '/')
			s++;
	}
	return true;
}

struct pv_kpod;
/* A Secret or ConfigMap of the pod's namespace (or of none) by name. */
json_object *pv_kobj_find(const struct pv_kpod *kp, const char *kind, const char *name);
/* One key, decoded (a Secret's data is base64): a new string, or NULL. */
json_object *pv_kobj_value(json_object *obj, const char *key, bool secret);
/* Every key, decoded; NULL with *bad the key that does not decode. */
json_object *pv_kobj_all(json_object *obj, bool secret, const char **bad);

struct pv_podman_opts;
/* The env of container c (where names it in errors): a new object. */
int pv_podman_env(const struct pv_kpod *kp, json_object *c, const char *pod_ip,
		  const struct pv_podman_opts *o, json_object **out, const char *where,
		  char why[PV_WHY_MAX]);
/* An array of strings with $(VAR) references of env replaced. */
json_object *pv_podman_expand_array(json_object *a, json_object *env);

#endif
