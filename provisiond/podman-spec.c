/* SPDX-License-Identifier: MIT */
/* Kubernetes Pod -> libpod request bodies. Pure: every decision about what
 * a field means lives here, so that a unit test sees it without podman.
 * What is refused is refused here too, before the runner makes anything. */
#include "provisiond/podman.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/podman-json.h"

static const char *const workload_kinds[] = {"Deployment", "StatefulSet", "DaemonSet",
					     "ReplicaSet", "Job",	  "ReplicationController"};

/* The Pod template of a workload, or the object itself for a Pod. */
static json_object *pod_template(json_object *obj, const char *kind)
{
	json_object *spec = get(obj, "spec");

	if (strcmp(kind, "Pod") == 0)
		return obj;
	if (strcmp(kind, "CronJob") == 0)
		spec = get(get(spec, "jobTemplate"), "spec");
	else {
		size_t i;

		for (i = 0; i < sizeof(workload_kinds) / sizeof(workload_kinds[0]); i++)
			if (strcmp(kind, workload_kinds[i]) == 0)
				break;
		if (i == sizeof(workload_kinds) / sizeof(workload_kinds[0]))
			return NULL;
	}
	return get(spec, "template");
}

static json_object *items_of(json_object *objects)
{
	json_object *items = get(objects, "items");

	if (json_object_is_type(objects, json_type_array))
		return objects;
	return items && json_object_is_type(items, json_type_array) ? items : NULL;
}

int pv_kpod_find(json_object *objects, const char *pod, const struct pv_podman_opts *o,
		 struct pv_kpod *kp, char why[PV_WHY_MAX])
{
	json_object *items = items_of(objects), *found = NULL, *fmeta = NULL;
	const char *name, *ns;
	size_t n = 0;

	memset(kp, 0, sizeof(*kp));
	if (!items)
		return WHY("objects: expected a List or an array");
	for (size_t i = 0; i < alen(items); i++) {
		json_object *obj = json_object_array_get_idx(items, i), *t;
		const char *kind = str(obj, "kind"), *oname = str(get(obj, "metadata"), "name");

		if (!kind || !oname || !(t = pod_template(obj, kind)))
			continue;
		if (pod && strcmp(oname, pod) != 0)
			continue;
		found = t;
		fmeta = get(obj, "metadata");
		n++;
	}
	if (n == 0)
		return WHY("objects: no Pod or workload%s%s", pod ? " named " : "", pod ? pod : "");
	if (n > 1)
		return WHY("objects: %zu Pods or workloads%s%s: name one (--pod)", n,
			   pod ? " named " : "", pod ? pod : "");
	kp->objects = items;
	kp->spec = get(found, "spec");
	/* A template's own metadata has labels; its name is the workload's. */
	kp->meta = get(found, "metadata") ? get(found, "metadata") : fmeta;
	if (!kp->spec || !json_object_is_type(kp->spec, json_type_object))
		return WHY("spec: missing");
	name = o && o->name ? o->name : str(fmeta, "name");
	if (!name_ok(name, PV_PODMAN_NAME_MAX))
		return WHY("metadata.name: '%.80s': expected a DNS name of at most %d characters",
			   name ? name : "", PV_PODMAN_NAME_MAX);
	snprintf(kp->name, sizeof(kp->name), "%s", name);
	ns = str(fmeta, "namespace");
	snprintf(kp->ns, sizeof(kp->ns), "%s", ns ? ns : "default");
	return 0;
}

/* Container securityContext over the pod's, for the fields both have. */
static json_object *sc_field(const struct pv_kpod *kp, json_object *c, const char *key)
{
	json_object *v = get(get(c, "securityContext"), key);

	return v ? v : get(get(kp->spec, "securityContext"), key);
}

/* What no pod here may have, looked at before anything else. */
static int refusals(json_object *sc, const char *where, char why[PV_WHY_MAX])
{
	const char *proc = str(sc, "procMount");

	if (flag(sc, "privileged", NULL))
		return WHY("%s.securityContext.privileged: true is refused", where);
	if (proc && strcmp(proc, "Default") != 0)
		return WHY("%s.securityContext.procMount: '%s' is refused", where, proc);
	return 0;
}

/* runAsUser or runAsGroup as an id, or -1 when unset or not a number. */
static int64_t id_field(const struct pv_kpod *kp, json_object *c, const char *key)
{
	json_object *v = sc_field(kp, c, key);

	return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

static int user_group(const struct pv_kpod *kp, json_object *c, json_object *b, const char *where,
		      char why[PV_WHY_MAX])
{
	int64_t uid = id_field(kp, c, "runAsUser"), gid = id_field(kp, c, "runAsGroup");
	json_object *nonroot = sc_field(kp, c, "runAsNonRoot");
	char user[48];

	if (uid < -1 || uid > 0xfffffffe || gid < -1 || gid > 0xfffffffe)
		return WHY("%s.securityContext.runAsUser/runAsGroup: out of range", where);
	if (nonroot && json_object_get_boolean(nonroot) && uid <= 0)
		return WHY("%s.securityContext.runAsNonRoot: true needs a runAsUser above 0 here "
			   "(the image's user is not looked at)",
			   where);
	if (gid >= 0 && uid < 0)
		return WHY("%s.securityContext.runAsGroup: without runAsUser is not modelled",
			   where);
	if (uid >= 0) {
		snprintf(user, sizeof(user), gid >= 0 ? "%lld:%lld" : "%lld", (long long)uid,
			 (long long)gid);
		json_object_object_add(b, "user", jstr(user));
	}
	return 0;
}

static void add_group(json_object *groups, int64_t n)
{
	char gid[24];

	snprintf(gid, sizeof(gid), "%lld", (long long)n);
	json_object_array_add(groups, jstr(gid));
}

/* The pod's fsGroup and supplementalGroups as the container's groups. */
static void groups(const struct pv_kpod *kp, json_object *b)
{
	json_object *psc = get(kp->spec, "securityContext"), *groups = json_object_new_array();
	json_object *supp = get(psc, "supplementalGroups");
	int64_t n;

	if (num(psc, "fsGroup", &n))
		add_group(groups, n);
	for (size_t i = 0; i < alen(supp); i++)
		add_group(groups, json_object_get_int64(json_object_array_get_idx(supp, i)));
	if (alen(groups))
		json_object_object_add(b, "groups", groups);
	else
		json_object_put(groups);
}

/* capabilities.add or .drop as body key out; podman spells them CAP_X,
 * ALL stays ALL. */
static int cap_list(json_object *caps, const char *key, json_object *b, const char *out_key,
		    const char *where, char why[PV_WHY_MAX])
{
	json_object *list = get(caps, key), *out = json_object_new_array();

	for (size_t i = 0; i < alen(list); i++) {
		const char *cap = json_object_get_string(json_object_array_get_idx(list, i));
		char name[64];

		if (!pv_charset_ok(cap, PV_UPPER PV_DIGITS "_", 1, 40)) {
			json_object_put(out);
			return WHY("%s.securityContext.capabilities.%s[%zu]: '%.40s': not a "
				   "capability name",
				   where, key, i, cap ? cap : "");
		}
		snprintf(name, sizeof(name), "%s%s",
			 strcmp(cap, "ALL") == 0 || strncmp(cap, "CAP_", 4) == 0 ? "" : "CAP_",
			 cap);
		json_object_array_add(out, jstr(name));
	}
	if (alen(out))
		json_object_object_add(b, out_key, out);
	else
		json_object_put(out);
	return 0;
}

/* Read-only root, no_new_privs, seccomp; a Windows host process refused. */
static int confinement(const struct pv_kpod *kp, json_object *c, json_object *b, const char *where,
		       char why[PV_WHY_MAX])
{
	json_object *sc = get(c, "securityContext");
	const char *seccomp = str(sc_field(kp, c, "seccompProfile"), "type");
	bool set;

	if (flag(sc, "readOnlyRootFilesystem", NULL))
		json_object_object_add(b, "read_only_filesystem", json_object_new_boolean(1));
	if (!flag(sc, "allowPrivilegeEscalation", &set) && set)
		json_object_object_add(b, "no_new_privileges", json_object_new_boolean(1));
	/* RuntimeDefault and unset: podman's default profile (Kubernetes'
	 * unset would be Unconfined; stricter here). */
	if (seccomp && strcmp(seccomp, "Unconfined") == 0)
		json_object_object_add(b, "seccomp_profile_path", jstr("unconfined"));
	else if (seccomp && strcmp(seccomp, "RuntimeDefault") != 0)
		return WHY("%s.securityContext.seccompProfile.type: '%.40s': not modelled", where,
			   seccomp);
	if (flag(sc_field(kp, c, "windowsOptions"), "hostProcess", NULL))
		return WHY("%s.securityContext.windowsOptions.hostProcess: refused", where);
	return 0;
}

/* In this order, so that the first problem found is the one reported. */
static int security(const struct pv_kpod *kp, json_object *c, json_object *b, const char *where,
		    char why[PV_WHY_MAX])
{
	json_object *caps = get(get(c, "securityContext"), "capabilities");
	int r = refusals(get(c, "securityContext"), where, why);

	if (r == 0)
		r = user_group(kp, c, b, where, why);
	if (r == 0) {
		groups(kp, b);
		r = cap_list(caps, "drop", b, "cap_drop", where, why);
	}
	if (r == 0)
		r = cap_list(caps, "add", b, "cap_add", where, why);
	if (r == 0)
		r = confinement(kp, c, b, where, why);
	return r;
}

static json_object *volume_by_name(const struct pv_kpod *kp, const char *name)
{
	json_object *vols = get(kp->spec, "volumes");

	for (size_t i = 0; i < alen(vols); i++)
		if (name && str(json_object_array_get_idx(vols, i), "name") &&
		    strcmp(str(json_object_array_get_idx(vols, i), "name"), name) == 0)
			return json_object_array_get_idx(vols, i);
	return NULL;
}

static int mounts(const struct pv_kpod *kp, json_object *c, const struct pv_podman_opts *o,
		  json_object *b, const char *where, char why[PV_WHY_MAX])
{
	json_object *list = get(c, "volumeMounts"), *out = json_object_new_array();

	json_object_object_add(b, "mounts", out);
	for (size_t i = 0; i < alen(list); i++) {
		json_object *vm = json_object_array_get_idx(list, i), *m, *opts;
		const char *name = str(vm, "name"), *dest = str(vm, "mountPath"),
			   *sub = str(vm, "subPath");
		json_object *vol = volume_by_name(kp, name);
		bool ro = flag(vm, "readOnly", NULL) || !get(vol, "emptyDir");
		char src[4096];

		if (!vol)
			return WHY("%s.volumeMounts[%zu].name: '%.63s': no such volume", where, i,
				   name ? name : "");
		if (!dest || dest[0] != '/')
			return WHY("%s.volumeMounts[%zu].mountPath: must be absolute", where, i);
		if (sub && *sub && !rel_path_ok(sub))
			return WHY("%s.volumeMounts[%zu].subPath: '%.80s': must be relative, "
				   "without ..",
				   where, i, sub);
		if (str(vm, "subPathExpr"))
			return WHY("%s.volumeMounts[%zu].subPathExpr: not modelled", where, i);
		snprintf(src, sizeof(src), "%s/%s/%s%s%s", o && o->state_dir ? o->state_dir : "",
			 kp->name, name, sub && *sub ? "/" : "", sub && *sub ? sub : "");
		m = json_object_new_object();
		opts = json_object_new_array();
		json_object_object_add(m, "destination", jstr(dest));
		json_object_object_add(m, "type", jstr("bind"));
		json_object_object_add(m, "source", jstr(src));
		json_object_array_add(opts, jstr("rbind"));
		json_object_array_add(opts, jstr(ro ? "ro" : "rw"));
		json_object_array_add(opts, jstr("nosuid"));
		json_object_array_add(opts, jstr("nodev"));
		json_object_object_add(m, "options", opts);
		json_object_array_add(out, m);
	}
	return 0;
}

static json_object *rlimit(const char *type, uint64_t v)
{
	json_object *r = json_object_new_object();

	json_object_object_add(r, "type", jstr(type));
	json_object_object_add(r, "soft", json_object_new_int64((int64_t)v));
	json_object_object_add(r, "hard", json_object_new_int64((int64_t)v));
	return r;
}

/* Where the container is in the spec: "spec.initContainers[1] (name)". */
static void where_of(const struct pv_kpod *kp, json_object *c, char *out, size_t size, bool *init)
{
	const char *lists[2] = {"initContainers", "containers"};

	snprintf(out, size, "container");
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < alen(get(kp->spec, lists[l])); i++)
			if (json_object_array_get_idx(get(kp->spec, lists[l]), i) == c) {
				snprintf(out, size, "spec.%s[%zu] (%.63s)", lists[l], i,
					 str(c, "name") ? str(c, "name") : "?");
				*init = l == 0;
			}
}

int pv_podman_container_body(const struct pv_kpod *kp, json_object *c, const char *pod_ip,
			     const struct pv_podman_opts *o, json_object **body,
			     char why[PV_WHY_MAX])
{
	json_object *b = json_object_new_object(), *env = NULL, *labels, *lim;
	const char *cname = str(c, "name"), *image = str(c, "image"), *rp = str(c, "restartPolicy");
	char where[128], full[2 * PV_PODMAN_NAME_MAX + 2];
	bool init = false;
	int64_t grace;
	int r = -EINVAL;

	*body = NULL;
	where_of(kp, c, where, sizeof(where), &init);
	if (!name_ok(cname, PV_PODMAN_NAME_MAX)) {
		WHY("%s.name: not a DNS label", where);
		goto out;
	}
	if (!image || !*image) {
		WHY("%s.image: missing", where);
		goto out;
	}
	if (rp && (!init || strcmp(rp, "Always") != 0)) {
		WHY("%s.restartPolicy: '%.20s': only Always on init containers (sidecars)", where,
		    rp);
		goto out;
	}
	snprintf(full, sizeof(full), "%s-%s", kp->name, cname);
	json_object_object_add(b, "name", jstr(full));
	json_object_object_add(b, "pod", jstr(kp->name));
	json_object_object_add(b, "image", jstr(image));
	r = pv_podman_env(kp, c, pod_ip, o, &env, where, why);
	if (r < 0)
		goto out;
	if (get(c, "command"))
		json_object_object_add(b, "entrypoint",
				       pv_podman_expand_array(get(c, "command"), env));
	if (get(c, "args"))
		json_object_object_add(b, "command", pv_podman_expand_array(get(c, "args"), env));
	json_object_object_add(b, "env", env);
	env = NULL;
	if (str(c, "workingDir"))
		json_object_object_add(b, "work_dir", jstr(str(c, "workingDir")));
	r = security(kp, c, b, where, why);
	if (r < 0)
		goto out;
	r = mounts(kp, c, o, b, where, why);
	if (r < 0)
		goto out;
	lim = json_object_new_array();
	json_object_array_add(lim, rlimit("nofile", o ? o->nofile : 1024));
	json_object_array_add(lim, rlimit("nproc", o ? o->nproc : 1024));
	json_object_object_add(b, "r_limits", lim);
	labels = json_object_new_object();
	json_object_object_add(labels, "io.podgw.container", jstr(cname));
	json_object_object_add(labels, "io.podgw.role",
			       jstr(!init ? "container"
				    : rp  ? "sidecar"
					  : "init"));
	json_object_object_add(b, "labels", labels);
	if (init && rp)
		json_object_object_add(b, "restart_policy", jstr("always"));
	if (num(kp->spec, "terminationGracePeriodSeconds", &grace) && grace >= 0)
		json_object_object_add(b, "stop_timeout", json_object_new_int64(grace));
	if (flag(c, "tty", NULL))
		json_object_object_add(b, "terminal", json_object_new_boolean(1));
	r = 0;
out:
	json_object_put(env);
	if (r < 0)
		json_object_put(b);
	else
		*body = b;
	return r;
}

json_object *pv_podman_pod_body(const struct pv_kpod *kp, const struct pv_podman_opts *o)
{
	json_object *b = json_object_new_object(), *labels = json_object_new_object();
	json_object *netns = json_object_new_object(), *nets = json_object_new_object();
	json_object *net = json_object_new_object(), *shared = json_object_new_array();
	json_object *sysctls = get(get(kp->spec, "securityContext"), "sysctls"), *hosts;
	const char *hostname = str(kp->spec, "hostname");

	json_object_object_add(b, "name", jstr(kp->name));
	json_object_object_add(b, "hostname", jstr(hostname ? hostname : kp->name));
	if (get(kp->meta, "labels")) {
		json_object_object_foreach(get(kp->meta, "labels"), k, v)
		{
			if (json_object_is_type(v, json_type_string))
				json_object_object_add(labels, k, json_object_get(v));
		}
	}
	json_object_object_add(labels, "io.podgw.namespace", jstr(kp->ns));
	json_object_object_add(b, "labels", labels);
	json_object_object_add(netns, "nsmode", jstr("bridge"));
	json_object_object_add(b, "netns", netns);
	if (o && o->pod_ip && *o->pod_ip) {
		json_object *ips = json_object_new_array();

		json_object_array_add(ips, jstr(o->pod_ip));
		json_object_object_add(net, "static_ips", ips);
	}
	json_object_object_add(nets, o && o->network ? o->network : "podman", net);
	json_object_object_add(b, "Networks", nets);
	json_object_array_add(shared, jstr("net"));
	json_object_array_add(shared, jstr("ipc"));
	json_object_array_add(shared, jstr("uts"));
	if (flag(kp->spec, "shareProcessNamespace", NULL))
		json_object_array_add(shared, jstr("pid"));
	json_object_object_add(b, "shared_namespaces", shared);
	if (alen(sysctls)) {
		json_object *m = json_object_new_object();

		for (size_t i = 0; i < alen(sysctls); i++) {
			json_object *s = json_object_array_get_idx(sysctls, i);

			if (str(s, "name") && str(s, "value"))
				json_object_object_add(m, str(s, "name"), jstr(str(s, "value")));
		}
		json_object_object_add(b, "sysctl", m);
	}
	hosts = json_object_new_array();
	for (size_t i = 0; i < alen(get(kp->spec, "hostAliases")); i++) {
		json_object *ha = json_object_array_get_idx(get(kp->spec, "hostAliases"), i);

		for (size_t j = 0; str(ha, "ip") && j < alen(get(ha, "hostnames")); j++) {
			char line[320];

			snprintf(line, sizeof(line), "%s:%s",
				 json_object_get_string(
				     json_object_array_get_idx(get(ha, "hostnames"), j)),
				 str(ha, "ip"));
			json_object_array_add(hosts, jstr(line));
		}
	}
	if (alen(hosts))
		json_object_object_add(b, "hostadd", hosts);
	else
		json_object_put(hosts);
	if (o && o->infra_image && *o->infra_image)
		json_object_object_add(b, "infra_image", jstr(o->infra_image));
	return b;
}

bool pv_podman_replica_of(const char *base, const char *name)
{
	size_t n = strlen(base);

	/* The gateway's label alone would also take pods of another prefix
	 * (another run's, another user's). */
	return name && strncmp(name, base, n) == 0 &&
	       (name[n] == '\0' || (name[n] == '-' && name[n + 1]));
}
