/* SPDX-License-Identifier: MIT */
/* The webhook reads AdmissionReviews from whoever reaches its port (the API
 * server, if the NetworkPolicy holds). Whatever the bytes: no crash, a 200
 * whose body is an AdmissionReview answering the request's uid (allowed,
 * or refused with a message; a patch only when allowed, base64 of a JSON
 * array of add/replace operations on absolute paths), or a 400 of one line
 * of text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "common/log.h"
#include "provisiond/admission.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pv_settings settings;
static bool loaded;

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static void check_patch(const char *b64)
{
	size_t cap = strlen(b64), len = 0;
	unsigned char *bin = malloc(cap + 1);
	json_object *patch;

	if (!bin || sodium_base642bin(bin, cap, b64, cap, NULL, &len, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0)
		abort();
	bin[len] = '\0';
	patch = json_tokener_parse((const char *)bin);
	if (!patch || !json_object_is_type(patch, json_type_array) ||
	    json_object_array_length(patch) == 0)
		abort();
	for (size_t i = 0; i < json_object_array_length(patch); i++) {
		json_object *o = json_object_array_get_idx(patch, i);
		const char *op = json_object_get_string(get(o, "op"));
		const char *path = json_object_get_string(get(o, "path"));

		if (!op || (strcmp(op, "add") && strcmp(op, "replace")) || !path ||
		    path[0] != '/' || !get(o, "value"))
			abort();
	}
	json_object_put(patch);
	free(bin);
}

static void check_review(const struct pv_admission_reply *rep)
{
	json_object *r = json_tokener_parse(rep->body), *resp = get(r, "response");
	json_object *allowed = get(resp, "allowed"), *patch = get(resp, "patch");

	if (!resp || !json_object_is_type(allowed, json_type_boolean) ||
	    !json_object_get_string(get(resp, "uid")))
		abort();
	if (json_object_get_boolean(allowed) ? !!get(resp, "status")
					     : (patch || !get(resp, "status")))
		abort();
	if (patch)
		check_patch(json_object_get_string(patch));
	json_object_put(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pv_admission_reply rep;

	if (!loaded) {
		char *argv[] = {"fuzz", "--gateways", "foo bar", NULL};
		char *envp[] = {NULL};

		if (pv_settings_load(&settings, 3, argv, envp, stderr) != PV_SETTINGS_OK ||
		    sodium_init() < 0)
			abort();
		pg_log_set_level(PG_LOG_ERR);
		loaded = true;
	}
	if (pv_admission_answer(&settings, (const char *)data, size, &rep) < 0)
		return 0;
	if (rep.status == 400) {
		if (strcmp(rep.content_type, "application/json") == 0 || rep.len == 0 ||
		    rep.body[rep.len - 1] != '\n' ||
		    memchr(rep.body, '\n', rep.len) != rep.body + rep.len - 1)
			abort();
	} else if (rep.status == 200) {
		check_review(&rep);
	} else {
		abort();
	}
	pv_admission_reply_free(&rep);
	return 0;
}
