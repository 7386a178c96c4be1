/* SPDX-License-Identifier: MIT */
/* The runner: the request bodies of podman-spec.c sent to podman's libpod
 * API over its unix socket, in the order the kubelet would start things,
 * with the volumes' files written first. Any failure removes the pod and
 * its folder again: nothing is left behind. */
#include "provisiond/podman.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/daemon.h"
#include "common/log.h"
#include "provisiond/curlbuf.h"
#include "provisiond/podman-json.h"

#define API	      "http://d/v4.0.0/libpod"
#define API_TIMEOUT_S 30
#define RESPONSE_MAX  (1024 * 1024)
#define PROBE_SLACK_S 10

/* One request; the HTTP status, or a negative errno with why. The answer,
 * when it is JSON, in *resp (the caller puts it). */
static long call(const char *sock, const char *method, const char *path, json_object *body,
		 long timeout_s, json_object **resp, char why[PV_WHY_MAX])
{
	struct pv_curlbuf b = {.max = RESPONSE_MAX};
	struct curl_slist *h = NULL;
	char url[1024];
	long status = -EIO;
	CURLcode cc;
	CURL *curl = curl_easy_init();

	if (resp)
		*resp = NULL;
	if (!curl)
		return -ENOMEM;
	snprintf(url, sizeof(url), API "%s", path);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
			 body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : "");
	pv_curlbuf_attach(curl, &b);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(curl);
	if (cc != CURLE_OK)
		snprintf(why, PV_WHY_MAX, "podman %.100s: %s %s", sock, method,
			 curl_easy_strerror(cc));
	else
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 0 && resp && b.data)
		*resp = json_tokener_parse(b.data);
	if (status >= 300 && b.data) {
		json_object *e = json_tokener_parse(b.data), *errs = get(e, "Errs");
		const char *m = str(e, "message");

		if (!m && alen(errs))
			m = json_object_get_string(json_object_array_get_idx(errs, 0));
		snprintf(why, PV_WHY_MAX, "podman %s %.60s: %ld: %.150s", method, path, status,
			 m ? m : b.data);
		json_object_put(e);
	}
	free(b.data);
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	return status;
}

/* 2xx or 0, else a negative errno (why already says it). */
static int ok(long status)
{
	return status < 0 ? (int)status : status >= 200 && status < 300 ? 0 : -EIO;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int pod_dir(const char *state_dir, const char *name, char *out, size_t size)
{
	if (!state_dir || state_dir[0] != '/' || !name_ok(name, PV_PODMAN_NAME_MAX))
		return -EINVAL;
	return snprintf(out, size, "%s/%s", state_dir, name) >= (int)size ? -ENAMETOOLONG : 0;
}

static int mkdir_p(char *path, mode_t mode)
{
	for (char *s = path + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(path, mode) < 0 && errno != EEXIST) {
				*s = '/';
				return -errno;
			}
			*s = '/';
		}
	return mkdir(path, mode) < 0 && errno != EEXIST ? -errno : 0;
}

static int write_file(const char *path, json_object *data, int mode, long gid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600), r = 0;
	const char *p = json_object_get_string(data);
	size_t left = (size_t)json_object_get_string_len(data);

	if (fd < 0)
		return -errno;
	while (left > 0) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		p += n;
		left -= (size_t)n;
	}
	if (r == 0 && ((gid >= 0 && fchown(fd, 0, (gid_t)gid) < 0) || fchmod(fd, (mode_t)mode) < 0))
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* state_dir/<pod>/<volume>/<files>, the folder private to root (0700): only
 * the mounts show the volumes to the containers. */
static int write_volumes(const char *dir, json_object *vols, char why[PV_WHY_MAX])
{
	char path[2 * PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s", dir);
	r = mkdir_p(path, 0700);
	if (r < 0 || chmod(dir, 0700) < 0)
		return WHY("state folder %.150s: %s", dir, strerror(r < 0 ? -r : errno)), -EIO;
	for (size_t i = 0; i < alen(vols); i++) {
		json_object *v = json_object_array_get_idx(vols, i), *files = get(v, "files");
		int64_t mode = 0755, gid = -1;

		num(v, "dir_mode", &mode);
		num(v, "gid", &gid);
		if (snprintf(path, sizeof(path), "%s/%s", dir, str(v, "name")) >= (int)sizeof(path))
			return WHY("volume %.100s: path too long", str(v, "name")), -EIO;
		if (mkdir(path, 0700) < 0 || chmod(path, (mode_t)mode) < 0 ||
		    (gid >= 0 && chown(path, 0, (gid_t)gid) < 0))
			return WHY("volume %.150s: %s", path, strerror(errno)), -EIO;
		for (size_t j = 0; j < alen(files); j++) {
			json_object *f = json_object_array_get_idx(files, j);
			char *slash;

			snprintf(path, sizeof(path), "%s/%s/%s", dir, str(v, "name"),
				 str(f, "path"));
			slash = strrchr(path, '/');
			*slash = '\0';
			r = mkdir_p(path, 0755);
			*slash = '/';
			if (r == 0) {
				num(f, "mode", &mode);
				r = write_file(path, get(f, "data"), (int)mode, (long)gid);
			}
			if (r < 0)
				return WHY("volume file %.150s: %s", path, strerror(-r)), -EIO;
		}
	}
	return 0;
}

int pv_podman_pod_ip(const char *sock, const char *name, const char *network, char *ip, size_t size,
		     char why[PV_WHY_MAX])
{
	json_object *pod = NULL, *infra = NULL;
	const char *id, *addr = NULL;
	char path[256];
	int r;

	snprintf(path, sizeof(path), "/pods/%s/json", name);
	r = ok(call(sock, "GET", path, NULL, API_TIMEOUT_S, &pod, why));
	if (r == 0 && (id = str(pod, "InfraContainerID"))) {
		snprintf(path, sizeof(path), "/containers/%.64s/json", id);
		r = ok(call(sock, "GET", path, NULL, API_TIMEOUT_S, &infra, why));
		addr =
		    str(get(get(get(infra, "NetworkSettings"), "Networks"), network), "IPAddress");
	}
	if (r == 0 && (!addr || !*addr))
		r = WHY("pod %s: no address on network %s", name, network);
	else if (r == 0)
		snprintf(ip, size, "%s", addr);
	json_object_put(pod);
	json_object_put(infra);
	return r;
}

/* A query parameter's value, percent-encoded; false when it does not fit. */
static bool query_escape(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in; in++) {
		unsigned char ch = (unsigned char)*in;

		if (o + 4 > size)
			return false;
		if (strchr(PV_LOWER PV_UPPER PV_DIGITS "-._~", ch)) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

int pv_podman_pods_labelled(const char *sock, const char *key, const char *value,
			    char (*names)[PV_PODMAN_NAME_MAX + 1], size_t max, size_t *n,
			    char why[PV_WHY_MAX])
{
	json_object *f = json_object_new_object(), *labels = json_object_new_array();
	json_object *status = json_object_new_array(), *pods = NULL;
	char label[256], query[768], path[1024];
	int r;

	*n = 0;
	snprintf(label, sizeof(label), "%s=%s", key, value);
	json_object_array_add(labels, jstr(label));
	json_object_array_add(status, jstr("running"));
	json_object_object_add(f, "label", labels);
	json_object_object_add(f, "status", status);
	if (!query_escape(json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN), query,
			  sizeof(query))) {
		json_object_put(f);
		return WHY("label %.200s: too long for a query", label);
	}
	json_object_put(f);
	snprintf(path, sizeof(path), "/pods/json?filters=%s", query);
	r = ok(call(sock, "GET", path, NULL, API_TIMEOUT_S, &pods, why));
	for (size_t i = 0; r == 0 && i < alen(pods) && *n < max; i++) {
		const char *name = str(json_object_array_get_idx(pods, i), "Name");

		if (name_ok(name, PV_PODMAN_NAME_MAX))
			snprintf(names[(*n)++], PV_PODMAN_NAME_MAX + 1, "%s", name);
	}
	json_object_put(pods);
	qsort(names, *n, sizeof(names[0]), by_name);
	return r;
}

static int create_start(const char *sock, json_object *body, char why[PV_WHY_MAX])
{
	char path[256];
	int r = ok(call(sock, "POST", "/containers/create", body, API_TIMEOUT_S, NULL, why));

	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/containers/%s/start", str(body, "name"));
	return ok(call(sock, "POST", path, NULL, API_TIMEOUT_S, NULL, why));
}

static int wait_exit(const char *sock, const char *name, unsigned timeout_s, char why[PV_WHY_MAX])
{
	json_object *code = NULL;
	char path[256];
	int r;

	snprintf(path, sizeof(path), "/containers/%s/wait?condition=exited&condition=stopped",
		 name);
	r = ok(call(sock, "POST", path, NULL, timeout_s ? timeout_s : 600, &code, why));
	if (r == 0 && (!code || !json_object_is_type(code, json_type_int)))
		r = WHY("init container %s: no exit code from podman", name);
	else if (r == 0 && json_object_get_int(code) != 0)
		r = WHY("init container %s exited with %d", name, json_object_get_int(code));
	json_object_put(code);
	return r;
}

/* One exec of the probe: 0 when it exited 0. Attached: podman 4.3 never
 * marks a detached exec session as ended. The output is read and dropped;
 * the bound is timeoutSeconds plus podman's own overhead (about a second
 * here for each exec). */
static int probe_once(const char *sock, const char *name, const struct pv_probe *p)
{
	json_object *req = json_object_new_object(), *argv = json_object_new_array(), *resp;
	json_object *st = NULL;
	char path[256], why[PV_WHY_MAX];
	const char *id;
	int r = -EIO;

	for (size_t i = 0; p->argv[i]; i++)
		json_object_array_add(argv, jstr(p->argv[i]));
	json_object_object_add(req, "Cmd", argv);
	json_object_object_add(req, "AttachStdout", json_object_new_boolean(1));
	json_object_object_add(req, "AttachStderr", json_object_new_boolean(1));
	snprintf(path, sizeof(path), "/containers/%s/exec", name);
	if (ok(call(sock, "POST", path, req, API_TIMEOUT_S, &resp, why)) < 0 ||
	    !(id = str(resp, "Id")) || strlen(id) > 64)
		goto out;
	snprintf(path, sizeof(path), "/exec/%s/start", id);
	json_object_put(req);
	req = json_object_new_object();
	json_object_object_add(req, "Detach", json_object_new_boolean(0));
	if (ok(call(sock, "POST", path, req, (long)p->timeout_s + PROBE_SLACK_S, NULL, why)) < 0)
		goto out;
	snprintf(path, sizeof(path), "/exec/%s/json", id);
	if (ok(call(sock, "GET", path, NULL, API_TIMEOUT_S, &st, why)) == 0 &&
	    !flag(st, "Running", NULL) && json_object_get_int(get(st, "ExitCode")) == 0)
		r = 0;
out:
	json_object_put(st);
	json_object_put(req);
	json_object_put(resp);
	return r;
}

static int startup_probe(const char *sock, const char *name, const struct pv_probe *p,
			 char why[PV_WHY_MAX])
{
	sleep(p->initial_delay_s);
	for (unsigned i = 0; i < p->failure_threshold; i++) {
		uint64_t t0 = pg_monotonic_ms();

		if (probe_once(sock, name, p) == 0)
			return 0;
		if (i + 1 < p->failure_threshold) {
			uint64_t spent = pg_monotonic_ms() - t0;

			if (spent < p->period_s * 1000u)
				usleep((useconds_t)((p->period_s * 1000u - spent) * 1000u));
		}
	}
	return WHY("sidecar %s: startupProbe failed %u times", name, p->failure_threshold);
}

/* Init containers (and sidecars) in order, then the containers. */
static int run_containers(const char *sock, const struct pv_kpod *kp, const char *ip,
			  const struct pv_podman_opts *o, char why[PV_WHY_MAX])
{
	const char *lists[2] = {"initContainers", "containers"};

	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < alen(get(kp->spec, lists[l])); i++) {
			json_object *c = json_object_array_get_idx(get(kp->spec, lists[l]), i), *b;
			struct pv_probe p;
			int r = pv_podman_container_body(kp, c, ip, o, &b, why);

			if (r < 0)
				return r;
			r = create_start(sock, b, why);
			if (r == 0 && l == 0 && !str(c, "restartPolicy"))
				r = wait_exit(sock, str(b, "name"), o->init_timeout_s, why);
			if (r == 0 && l == 0 && (r = pv_podman_startup_probe(c, &p, why)) == 0) {
				if (p.argv)
					r = startup_probe(sock, str(b, "name"), &p, why);
				pv_probe_clear(&p);
			}
			json_object_put(b);
			if (r < 0)
				return r;
		}
	return 0;
}

static void ignored_note(const struct pv_kpod *kp)
{
	char *list = pv_podman_ignored(kp);

	if (list && *list)
		pg_debug("pod %s: not modelled by podman, ignored: %s", kp->name, list);
	free(list);
}

int pv_podman_up(const char *sock, json_object *objects, const char *pod,
		 const struct pv_podman_opts *o, struct pv_podman_pod *out, char why[PV_WHY_MAX])
{
	struct pv_kpod kp;
	json_object *vols = NULL, *body = NULL;
	char path[256], dir[PATH_MAX], ignored[PV_WHY_MAX];
	bool made = false;
	long st;
	int r;

	memset(out, 0, sizeof(*out));
	r = pv_kpod_find(objects, pod, o, &kp, why);
	if (r == 0)
		r = pv_podman_check(&kp, o, why);
	if (r == 0 && pod_dir(o->state_dir, kp.name, dir, sizeof(dir)) < 0)
		r = WHY("state folder: '%.100s': must be an absolute path", o->state_dir);
	if (r == 0)
		r = pv_podman_volumes(&kp, &vols, why);
	if (r < 0)
		return r;
	ignored_note(&kp);
	snprintf(out->name, sizeof(out->name), "%s", kp.name);
	snprintf(path, sizeof(path), "/pods/%s/exists", kp.name);
	st = call(sock, "GET", path, NULL, API_TIMEOUT_S, NULL, why);
	if (st == 204) {
		out->existed = true;
		r = pv_podman_pod_ip(sock, kp.name, o->network, out->ip, sizeof(out->ip), why);
		goto out;
	}
	if (st != 404) {
		r = st < 0 ? (int)st : WHY("podman: pod %s: exists? HTTP status %ld", kp.name, st);
		goto out;
	}
	/* A folder left by a crash of an earlier run is not ours to trust. */
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	r = write_volumes(dir, vols, why);
	body = pv_podman_pod_body(&kp, o);
	if (r == 0)
		r = ok(call(sock, "POST", "/pods/create", body, API_TIMEOUT_S, NULL, why));
	/* Not made (perhaps made by someone else meanwhile): not ours to remove. */
	made = r == 0;
	snprintf(path, sizeof(path), "/pods/%s/start", kp.name);
	if (r == 0)
		r = ok(call(sock, "POST", path, NULL, API_TIMEOUT_S, NULL, why));
	if (r == 0)
		r = pv_podman_pod_ip(sock, kp.name, o->network, out->ip, sizeof(out->ip), why);
	if (r == 0)
		r = run_containers(sock, &kp, out->ip, o, why);
	if (r < 0 && made)
		pv_podman_down(sock, kp.name, o->state_dir, ignored);
	else if (r < 0)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
out:
	/* Past the checks, a failure is the runtime's, not the input's. */
	if (r == -EINVAL)
		r = -EIO;
	json_object_put(body);
	json_object_put(vols);
	return r;
}

int pv_podman_down(const char *sock, const char *name, const char *state_dir, char why[PV_WHY_MAX])
{
	char path[256], dir[PATH_MAX];
	long st;

	if (pod_dir(state_dir, name, dir, sizeof(dir)) < 0)
		return WHY("pod '%.63s' or state folder '%.100s': not valid", name, state_dir);
	snprintf(path, sizeof(path), "/pods/%s?force=true", name);
	st = call(sock, "DELETE", path, NULL, API_TIMEOUT_S * 4, NULL, why);
	if (st != 404 && ok(st) < 0)
		return -EIO;
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return WHY("state folder %.150s: %s", dir, strerror(errno)), -EIO;
	return 0;
}
