/* SPDX-License-Identifier: MIT */
/* The kubernetes backend: one Pod per event, created through the API server
 * with the pod's service account. The pod is crawlerpod.c's, clientd
 * included: no admission webhook is involved. The pod's name is derived
 * from the event, so a redelivery after a restart of provisiond meets 409
 * AlreadyExists and is answered with the same pod. */
#include "provisiond/backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "common/log.h"
#include "provisiond/crawlerpod.h"
#include "provisiond/curlbuf.h"

#define API_TIMEOUT_S	 10
#define API_RESPONSE_MAX (256 * 1024)
#define TOKEN_MAX	 8192

struct kube {
	const struct pv_settings *s;
};

static int kube_init(const struct pv_settings *s, void **impl, char why[PV_WHY_MAX])
{
	struct pv_crawler_spec probe = {.name = "template-check", .gateway = s->gateways[0]};
	json_object *pod;
	struct kube *k;
	int r;

	/* A bad template is a configuration error at start, not a failed
	 * event later (it is read again at every event: a ConfigMap edit
	 * that breaks it fails those events with the same line). */
	r = pv_crawler_pod(s, &probe, &pod, why);
	if (r < 0)
		return r;
	json_object_put(pod);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(why, PV_WHY_MAX, "libcurl: global init failed");
		return -EIO;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->s = s;
	*impl = k;
	return 0;
}

static void kube_fini(void *impl)
{
	free(impl);
	curl_global_cleanup();
}

/* Read at every request: projected service account tokens are rotated by
 * the kubelet while the pod runs. */
static int read_token(const char *path, char *tok, size_t size, char why[PV_WHY_MAX])
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		snprintf(why, PV_WHY_MAX, "KUBE_TOKEN_FILE: '%.120s': %s", path, strerror(errno));
		return -EIO;
	}
	n = fread(tok, 1, size - 1, f);
	fclose(f);
	tok[n] = '\0';
	tok[strcspn(tok, "\r\n")] = '\0';
	if (!tok[0]) {
		snprintf(why, PV_WHY_MAX, "KUBE_TOKEN_FILE: '%.120s': empty", path);
		return -EIO;
	}
	return 0;
}

/* The body: exactly what `provisiond crawler-pod` prints. */
static char *pod_json(const struct kube *k, const struct pv_crawler_spec *spec,
		      char why[PV_WHY_MAX])
{
	json_object *pod;
	char *text;

	if (pv_crawler_pod(k->s, spec, &pod, why) < 0)
		return NULL;
	text = strdup(json_object_to_json_string_ext(pod, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(pod);
	return text;
}

/* One API request; returns the HTTP status (or a negative errno with why). */
static long api_request(const struct kube *k, const char *method, const char *url, const char *body,
			struct pv_curlbuf *resp, char why[PV_WHY_MAX])
{
	char token[TOKEN_MAX], auth[TOKEN_MAX + 32];
	struct curl_slist *h = NULL;
	CURL *curl;
	CURLcode cc;
	long status = -EIO;

	if (read_token(k->s->kube_token_file, token, sizeof(token), why) < 0)
		return -EIO;
	curl = curl_easy_init();
	if (!curl) {
		snprintf(why, PV_WHY_MAX, "libcurl: cannot make a handle");
		return -ENOMEM;
	}
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Accept: application/json");
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	if (body)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	pv_curlbuf_attach(curl, resp);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)API_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM */
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (k->s->kube_ca_file[0])
		curl_easy_setopt(curl, CURLOPT_CAINFO, k->s->kube_ca_file);
	cc = curl_easy_perform(curl);
	if (cc != CURLE_OK)
		snprintf(why, PV_WHY_MAX, "API server %s: %s", url,
			 resp->overflow ? "response too large" : curl_easy_strerror(cc));
	else
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	return status;
}

/* The API's Status.message, for the failed event. */
static void api_message(const struct pv_curlbuf *resp, long status, char why[PV_WHY_MAX])
{
	json_object *obj = resp->data ? json_tokener_parse(resp->data) : NULL, *m;

	if (obj && json_object_object_get_ex(obj, "message", &m) &&
	    json_object_is_type(m, json_type_string))
		snprintf(why, PV_WHY_MAX, "API server: %ld: %s", status, json_object_get_string(m));
	else
		snprintf(why, PV_WHY_MAX, "API server: HTTP status %ld", status);
	json_object_put(obj);
}

static void meta_string(json_object *pod, const char *key, char *dst, size_t size)
{
	json_object *meta, *v;

	if (json_object_object_get_ex(pod, "metadata", &meta) &&
	    json_object_object_get_ex(meta, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(dst, size, "%s", json_object_get_string(v));
}

static int kube_create(void *impl, const struct pv_crawler_spec *spec, struct pv_crawler *out,
		       char why[PV_WHY_MAX])
{
	struct kube *k = impl;
	struct pv_curlbuf resp = {.max = API_RESPONSE_MAX};
	char url[1024];
	char *body = pod_json(k, spec, why);
	json_object *pod = NULL;
	long status;
	int r = -EIO;

	if (!body)
		return why[0] ? -EINVAL : -ENOMEM;
	snprintf(url, sizeof(url), "%s/api/v1/namespaces/%s/pods", k->s->kube_api_url,
		 k->s->pod_namespace);
	status = api_request(k, "POST", url, body, &resp, why);
	if (status < 0)
		goto out;
	if (status == 409) {
		/* AlreadyExists: made by an earlier delivery of this event. */
		out->existed = true;
	} else if (status != 201 && status != 200) {
		api_message(&resp, status, why);
		goto out;
	}
	snprintf(out->pod_name, sizeof(out->pod_name), "%s", spec->name);
	snprintf(out->pod_namespace, sizeof(out->pod_namespace), "%s", k->s->pod_namespace);
	pod = out->existed ? NULL : json_tokener_parse(resp.data ? resp.data : "");
	if (pod) {
		meta_string(pod, "name", out->pod_name, sizeof(out->pod_name));
		meta_string(pod, "namespace", out->pod_namespace, sizeof(out->pod_namespace));
	}
	r = 0;
out:
	json_object_put(pod);
	free(resp.data);
	free(body);
	return r;
}

const struct pv_backend_ops pv_backend_kubernetes = {
    .name = "kubernetes",
    .init = kube_init,
    .create = kube_create,
    .fini = kube_fini,
};
