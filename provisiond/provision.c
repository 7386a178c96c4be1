/* SPDX-License-Identifier: MIT */
#include "provisiond/provision.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "common/daemon.h"
#include "common/log.h"

/* A redelivery waits this long for the first delivery's answer; longer than
 * the slowest create (a routed crawler). */
#define CLAIM_WAIT_S 120
/* Keeps "crawler-" + gateway + "-" + 10 hex digits within a DNS label. */
#define NAME_GATEWAY_MAX (PV_NAME_MAX - 8 - 1 - 10)

struct pv_provisioner {
	const struct pv_settings *s;
	const struct pv_backend_ops *ops;
	void *impl;
	struct pv_store *store;
};

int pv_provisioner_new(const struct pv_settings *s, const struct pv_backend_ops *ops,
		       struct pv_provisioner **out, char why[PV_WHY_MAX])
{
	struct pv_provisioner *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	p->s = s;
	p->ops = ops;
	r = pv_store_new(s->dedup_entries, &p->store);
	if (r < 0) {
		snprintf(why, PV_WHY_MAX, "idempotency store: %s", strerror(-r));
		free(p);
		return r;
	}
	r = ops->init(s, &p->impl, why);
	if (r < 0) {
		pv_store_free(p->store);
		free(p);
		return r;
	}
	*out = p;
	return 0;
}

void pv_provisioner_free(struct pv_provisioner *p)
{
	if (!p)
		return;
	p->ops->fini(p->impl);
	pv_store_free(p->store);
	free(p);
}

static void hash_hex(const char *tag, const char *source, const char *id, size_t bytes, char *out)
{
	unsigned char h[32];
	crypto_generichash_state st;

	/* Length-prefixed parts: ("a", "bc") and ("ab", "c") differ. */
	crypto_generichash_init(&st, NULL, 0, bytes);
	crypto_generichash_update(&st, (const unsigned char *)tag, strlen(tag) + 1);
	crypto_generichash_update(&st, (const unsigned char *)source, strlen(source) + 1);
	crypto_generichash_update(&st, (const unsigned char *)id, strlen(id) + 1);
	crypto_generichash_final(&st, h, bytes);
	sodium_bin2hex(out, bytes * 2 + 1, h, bytes);
}

void pv_crawler_name(const char *gateway, const char *source, const char *id,
		     char out[PV_NAME_MAX + 1])
{
	char hex[2 * 16 + 1];

	/* crypto_generichash's smallest output is 16 bytes; 10 hex digits
	 * (40 bits) of it are plenty against collisions among live crawlers. */
	hash_hex("crawler", source, id, 16, hex);
	snprintf(out, PV_NAME_MAX + 1, "crawler-%.*s-%.10s", NAME_GATEWAY_MAX, gateway, hex);
}

void pv_reply_id(const char *source, const char *id, char out[PV_REPLY_ID_MAX + 1])
{
	hash_hex("reply", source, id, 16, out);
}

static int set_answer(struct pv_answer *ans, const char *type, json_object *data)
{
	const char *text = json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN);

	snprintf(ans->type, sizeof(ans->type), "%s", type);
	ans->data_json = text ? strdup(text) : NULL;
	json_object_put(data);
	return ans->data_json ? 0 : -ENOMEM;
}

static int answer_failed(struct pv_answer *ans, const char *message)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "message", json_object_new_string(message));
	return set_answer(ans, PV_TYPE_FAILED, d);
}

static int answer_done(struct pv_provisioner *p, const char *gateway, const struct pv_crawler *c,
		       struct pv_answer *ans)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "pod_name", json_object_new_string(c->pod_name));
	json_object_object_add(d, "namespace", json_object_new_string(c->pod_namespace));
	json_object_object_add(d, "gateway_name", json_object_new_string(gateway));
	if (c->netns[0])
		json_object_object_add(d, "netns", json_object_new_string(c->netns));
	if (c->pod_ip[0])
		json_object_object_add(d, "pod_ip", json_object_new_string(c->pod_ip));
	if (p->s->reply_when == PV_REPLY_ROUTED)
		json_object_object_add(d, "overlay_address",
				       json_object_new_string(c->overlay_address));
	/* Known only once routed (the kubernetes backend answers at creation):
	 * absent rather than guessed. */
	if (c->replica[0])
		json_object_object_add(d, "replica", json_object_new_string(c->replica));
	if (c->replica_pod_ip[0])
		json_object_object_add(d, "replica_pod_ip",
				       json_object_new_string(c->replica_pod_ip));
	return set_answer(ans, PV_TYPE_DONE, d);
}

/* The first delivery of an event: decide, create, answer. Returns 1 when
 * the answer is to be kept for redeliveries, 0 when not (a backend failure
 * that a redelivery may get past), or a negative errno. */
static int decide(struct pv_provisioner *p, const struct pv_event *ev, struct pv_answer *ans)
{
	struct pv_crawler_spec spec = {.gateway = ev->gateway,
				       .wait_routed = p->s->reply_when == PV_REPLY_ROUTED};
	struct pv_crawler c = {0};
	char name[PV_NAME_MAX + 1], msg[PV_WHY_MAX + 64], why[PV_WHY_MAX] = "";
	uint64_t t0 = pg_monotonic_ms();
	int r;

	if (!pv_settings_gateway_known(p->s, ev->gateway)) {
		snprintf(msg, sizeof(msg), "unknown gateway '%s'", ev->gateway);
		pg_info("event %s from %s: %s", ev->id, ev->source, msg);
		return answer_failed(ans, msg) < 0 ? -ENOMEM : 1;
	}
	pv_crawler_name(ev->gateway, ev->source, ev->id, name);
	spec.name = name;
	r = p->ops->create(p->impl, &spec, &c, why);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "crawler %s for gateway '%s': %s", name, ev->gateway,
			 why);
		pg_warn("event %s from %s: %s", ev->id, ev->source, msg);
		return answer_failed(ans, msg) < 0 ? -ENOMEM : 0;
	}
	pg_info("event %s from %s: crawler %s/%s bound to %s%s%s%s%s (%s, %llu ms)", ev->id,
		ev->source, c.pod_namespace, c.pod_name, ev->gateway,
		c.replica[0] ? " replica " : "", c.replica, c.overlay_address[0] ? ", " : "",
		c.overlay_address, c.existed ? "existed" : "created",
		(unsigned long long)(pg_monotonic_ms() - t0));
	return answer_done(p, ev->gateway, &c, ans) < 0 ? -ENOMEM : 1;
}

int pv_provisioner_handle(struct pv_provisioner *p, const struct pv_event *ev,
			  struct pv_answer *ans)
{
	int r = pv_store_claim(p->store, ev->source, ev->id, CLAIM_WAIT_S, ans);

	if (r == 1) {
		pg_info("event %s from %s: redelivery, answered as before", ev->id, ev->source);
		return 0;
	}
	if (r < 0)
		return r;
	r = decide(p, ev, ans);
	if (r == 1 && pv_store_finish(p->store, ev->source, ev->id, ans) == 0)
		return 0;
	pv_store_abandon(p->store, ev->source, ev->id);
	return r < 0 ? r : 0;
}
