/* SPDX-License-Identifier: MIT */
/* The pod-level part of the podman translation: what goes into the pod's
 * volumes (as the kubelet would write it), the refusals that concern the
 * whole pod, and the sidecars' startup probes. Pure, like podman-spec.c. */
#include "provisiond/podman.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "provisiond/podman-json.h"

#define DEFAULT_MODE 0644 /* a Secret's or ConfigMap's defaultMode */

static int mode_of(json_object *o, const char *key, int64_t def, int64_t *mode, const char *where,
		   char why[PV_WHY_MAX])
{
	*mode = def;
	if (get(o, key) && (!num(o, key, mode) || *mode < 0 || *mode > 0777))
		return WHY("%s.%s: expected 0 to 0777", where, key);
	return 0;
}

static void add_file(json_object *files, const char *path, int64_t mode, json_object *data)
{
	json_object *f = json_object_new_object();

	json_object_object_add(f, "path", jstr(path));
	json_object_object_add(f, "mode", json_object_new_int64(mode));
	json_object_object_add(f, "data", data);
	json_object_array_add(files, f);
}

/* Secret or ConfigMap: every key as a file, or only items. */
static int api_volume(const struct pv_kpod *kp, json_object *src, bool secret, json_object *files,
		      int64_t fs_group, const char *where, char why[PV_WHY_MAX])
{
	const char *name = str(src, secret ? "secretName" : "name"), *bad = NULL;
	json_object *obj, *items = get(src, "items"), *all;
	int64_t def, mode;
	int r;

	if (!name)
		return WHY("%s.%s: missing", where, secret ? "secretName" : "name");
	r = mode_of(src, "defaultMode", DEFAULT_MODE, &def, where, why);
	if (r < 0)
		return r;
	obj = pv_kobj_find(kp, secret ? "Secret" : "ConfigMap", name);
	if (!obj) {
		if (flag(src, "optional", NULL))
			return 0;
		return WHY("%s: %s '%s' not among the objects (and not optional)", where,
			   secret ? "Secret" : "ConfigMap", name);
	}
	all = pv_kobj_all(obj, secret, &bad);
	if (!all)
		return WHY("%s: '%s' key '%s': not valid base64", where, name, bad);
	/* The kubelet, given an fsGroup, lets that group read the files. */
	if (fs_group >= 0)
		def |= 0440;
	if (!items) {
		json_object_object_foreach(all, k, v)
		{
			add_file(files, k, def, json_object_get(v));
		}
	}
	for (size_t i = 0; i < alen(items); i++) {
		json_object *it = json_object_array_get_idx(items, i), *v;
		const char *key = str(it, "key"), *path = str(it, "path");
		char at[160];

		snprintf(at, sizeof(at), "%s.items[%zu]", where, i);
		if (!key || !json_object_object_get_ex(all, key, &v)) {
			if (flag(src, "optional", NULL))
				continue;
			json_object_put(all);
			return WHY("%s.key: '%.63s' not in '%s'", at, key ? key : "", name);
		}
		if (!rel_path_ok(path)) {
			json_object_put(all);
			return WHY("%s.path: must be relative, without ..", at);
		}
		r = mode_of(it, "mode", def, &mode, at, why);
		if (r < 0) {
			json_object_put(all);
			return r;
		}
		add_file(files, path, fs_group >= 0 ? mode | 0440 : mode, json_object_get(v));
	}
	json_object_put(all);
	return 0;
}

int pv_podman_volumes(const struct pv_kpod *kp, json_object **out, char why[PV_WHY_MAX])
{
	json_object *vols = get(kp->spec, "volumes"), *list = json_object_new_array();
	int64_t fs_group = -1;
	int r = 0;

	if (!num(get(kp->spec, "securityContext"), "fsGroup", &fs_group))
		fs_group = -1;
	for (size_t i = 0; i < alen(vols) && r == 0; i++) {
		json_object *v = json_object_array_get_idx(vols, i), *d = json_object_new_object();
		json_object *files = json_object_new_array();
		const char *name = str(v, "name");
		char where[128];
		bool empty = get(v, "emptyDir") != NULL;

		snprintf(where, sizeof(where), "spec.volumes[%zu] (%.63s)", i, name ? name : "?");
		json_object_object_add(d, "name", jstr(name ? name : ""));
		json_object_object_add(d, "files", files);
		json_object_array_add(list, d);
		if (!name_ok(name, PV_PODMAN_NAME_MAX)) {
			r = WHY("%s.name: not a DNS label", where);
			break;
		}
		json_object_object_foreach(v, k, val)
		{
			(void)val;
			if (r == 0 && strcmp(k, "name") != 0 && strcmp(k, "secret") != 0 &&
			    strcmp(k, "configMap") != 0 && strcmp(k, "emptyDir") != 0)
				r = WHY("%s.%s: volume type not modelled by the podman runner",
					where, k);
		}
		if (r < 0)
			break;
		if (get(v, "secret")) {
			snprintf(where + strlen(where), sizeof(where) - strlen(where), ".secret");
			r = api_volume(kp, get(v, "secret"), true, files, fs_group, where, why);
		} else if (get(v, "configMap")) {
			snprintf(where + strlen(where), sizeof(where) - strlen(where),
				 ".configMap");
			r = api_volume(kp, get(v, "configMap"), false, files, fs_group, where, why);
		} else if (!empty) {
			r = WHY("%s: no volume type", where);
		}
		/* As the kubelet makes them: an emptyDir anyone in the pod may
		 * write, API volumes readable folders of root's. */
		json_object_object_add(d, "dir_mode", json_object_new_int(empty ? 0777 : 0755));
		json_object_object_add(d, "gid", json_object_new_int64(empty ? -1 : fs_group));
	}
	if (r < 0) {
		json_object_put(list);
		return r;
	}
	*out = list;
	return 0;
}

int pv_podman_check(const struct pv_kpod *kp, const struct pv_podman_opts *o, char why[PV_WHY_MAX])
{
	static const char *const refused[] = {"hostNetwork", "hostPID", "hostIPC"};
	static const char *const all_lists[] = {"initContainers", "containers", "volumes",
						"ephemeralContainers"};
	const char *lists[2] = {"initContainers", "containers"};
	json_object *vols = NULL, *v;
	bool set;
	int r;

	/* Read as empty otherwise: an initContainers object would drop
	 * clientd's sidecar and start the crawler unrouted. */
	for (size_t i = 0; i < sizeof(all_lists) / sizeof(all_lists[0]); i++)
		if ((v = get(kp->spec, all_lists[i])) && !json_object_is_type(v, json_type_array))
			return WHY("spec.%s: not a list", all_lists[i]);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (flag(kp->spec, refused[i], NULL))
			return WHY("spec.%s: true is refused", refused[i]);
	if (!flag(kp->spec, "hostUsers", &set) && set)
		return WHY("spec.hostUsers: false (user namespaces) is not modelled");
	if (alen(get(kp->spec, "containers")) == 0)
		return WHY("spec.containers: none");
	if (alen(get(kp->spec, "ephemeralContainers")))
		return WHY("spec.ephemeralContainers: not modelled");
	r = pv_podman_volumes(kp, &vols, why);
	json_object_put(vols);
	if (r < 0)
		return r;
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < alen(get(kp->spec, lists[l])); i++) {
			json_object *c = json_object_array_get_idx(get(kp->spec, lists[l]), i), *b;
			struct pv_probe p;

			r = pv_podman_container_body(kp, c, "0.0.0.0", o, &b, why);
			if (r < 0)
				return r;
			json_object_put(b);
			r = pv_podman_startup_probe(c, &p, why);
			pv_probe_clear(&p);
			if (r < 0)
				return r;
		}
	return 0;
}

static unsigned probe_field(json_object *p, const char *key, unsigned def)
{
	int64_t v;

	return num(p, key, &v) && v >= 0 && v <= 3600 ? (unsigned)v : def;
}

/* Only a sidecar's startup probe holds the pod's start back; the other
 * probes are not run. */
int pv_podman_startup_probe(json_object *c, struct pv_probe *p, char why[PV_WHY_MAX])
{
	json_object *probe = get(c, "startupProbe"), *cmd = get(get(probe, "exec"), "command");
	size_t n = alen(cmd);

	memset(p, 0, sizeof(*p));
	if (!probe || !str(c, "restartPolicy"))
		return 0;
	if (n == 0)
		return WHY("initContainers (%.63s).startupProbe: only exec probes are modelled",
			   str(c, "name") ? str(c, "name") : "?");
	p->argv = calloc(n + 1, sizeof(char *));
	if (!p->argv)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *a = json_object_get_string(json_object_array_get_idx(cmd, i));

		p->argv[i] = strdup(a ? a : "");
		if (!p->argv[i]) {
			pv_probe_clear(p);
			return -ENOMEM;
		}
	}
	p->initial_delay_s = probe_field(probe, "initialDelaySeconds", 0);
	p->period_s = probe_field(probe, "periodSeconds", 10);
	p->timeout_s = probe_field(probe, "timeoutSeconds", 1);
	p->failure_threshold = probe_field(probe, "failureThreshold", 3);
	if (p->period_s == 0)
		p->period_s = 1;
	if (p->timeout_s == 0)
		p->timeout_s = 1;
	if (p->failure_threshold == 0)
		p->failure_threshold = 1;
	return 0;
}

void pv_probe_clear(struct pv_probe *p)
{
	for (size_t i = 0; p->argv && p->argv[i]; i++)
		free(p->argv[i]);
	free(p->argv);
	p->argv = NULL;
}

/* Fields present that the runner ignores, for the runner to say so. */
static const char *const pod_ignored[] = {"serviceAccountName",
					  "serviceAccount",
					  "dnsPolicy",
					  "dnsConfig",
					  "nodeSelector",
					  "nodeName",
					  "affinity",
					  "tolerations",
					  "priorityClassName",
					  "priority",
					  "runtimeClassName",
					  "activeDeadlineSeconds",
					  "topologySpreadConstraints",
					  "schedulerName",
					  "imagePullSecrets",
					  "readinessGates",
					  "overhead",
					  "preemptionPolicy",
					  "resourceClaims",
					  "schedulingGates",
					  "os",
					  "setHostnameAsFQDN",
					  "subdomain"};
static const char *const ctr_ignored[] = {"resources",
					  "readinessProbe",
					  "livenessProbe",
					  "lifecycle",
					  "ports",
					  "resizePolicy",
					  "stdin",
					  "stdinOnce",
					  "terminationMessagePath",
					  "terminationMessagePolicy",
					  "imagePullPolicy"};
static const char *const sc_ignored[] = {"seLinuxOptions", "appArmorProfile", "fsGroupChangePolicy",
					 "supplementalGroupsPolicy"};

static void note(FILE *f, bool *first, const char *a, const char *b, const char *c)
{
	fprintf(f, "%s%s%s%s", *first ? "" : ", ", a, b, c);
	*first = false;
}

char *pv_podman_ignored(const struct pv_kpod *kp)
{
	const char *lists[2] = {"initContainers", "containers"};
	char *out = NULL;
	size_t size = 0;
	bool first = true;
	FILE *f = open_memstream(&out, &size);

	if (!f)
		return NULL;
	for (size_t i = 0; i < sizeof(pod_ignored) / sizeof(pod_ignored[0]); i++)
		if (get(kp->spec, pod_ignored[i]))
			note(f, &first, "spec.", pod_ignored[i], "");
	if (str(kp->spec, "restartPolicy") && strcmp(str(kp->spec, "restartPolicy"), "Never") != 0)
		note(f, &first, "spec.restartPolicy (", str(kp->spec, "restartPolicy"), ")");
	for (size_t i = 0; i < sizeof(sc_ignored) / sizeof(sc_ignored[0]); i++)
		if (get(get(kp->spec, "securityContext"), sc_ignored[i]))
			note(f, &first, "spec.securityContext.", sc_ignored[i], "");
	for (size_t i = 0; i < alen(get(kp->spec, "volumes")); i++) {
		json_object *v = json_object_array_get_idx(get(kp->spec, "volumes"), i);

		if (get(get(v, "emptyDir"), "sizeLimit") || get(get(v, "emptyDir"), "medium"))
			note(f, &first, "spec.volumes (", str(v, "name") ? str(v, "name") : "?",
			     ").emptyDir.sizeLimit/medium");
	}
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < alen(get(kp->spec, lists[l])); i++) {
			json_object *c = json_object_array_get_idx(get(kp->spec, lists[l]), i);
			const char *name = str(c, "name") ? str(c, "name") : "?";

			for (size_t k = 0; k < sizeof(ctr_ignored) / sizeof(ctr_ignored[0]); k++)
				if (get(c, ctr_ignored[k]))
					note(f, &first, name, ".", ctr_ignored[k]);
			if (get(c, "startupProbe") && !str(c, "restartPolicy"))
				note(f, &first, name, ".", "startupProbe");
			for (size_t k = 0; k < sizeof(sc_ignored) / sizeof(sc_ignored[0]); k++)
				if (get(get(c, "securityContext"), sc_ignored[k]))
					note(f, &first, name, ".securityContext.", sc_ignored[k]);
		}
	fclose(f);
	return out;
}
