/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_INJECT_H
#define PODGW_PROVISIOND_INJECT_H

/* Injection: what the webhook does to one Pod that asks for a gateway
 * (label or annotation setGateway=<gateway>), as a JSON Patch (RFC 6902)
 * adding the pieces crawlerpod.c binds every podgw crawler with. */

#include <json-c/json.h>

#include "provisiond/settings.h"

#define PV_INJECT_KEY "setGateway" /* the admission controller's label and annotation */

enum pv_inject_result {
	PV_INJECT_SKIP = 0,  /* admitted unchanged: why says why (for the log) */
	PV_INJECT_PATCH = 1, /* admitted with *patch */
};

/* pod is the AdmissionReview's request.object. Returns PV_INJECT_SKIP,
 * PV_INJECT_PATCH (*patch: a new JSON array the caller puts), -EPERM
 * (refused: why is the one line the user sees) or -ENOMEM. The gateway
 * chosen is copied to gateway (empty when none). */
int pv_inject(const struct pv_settings *s, struct json_object *pod, struct json_object **patch,
	      char gateway[PV_GATEWAY_MAX + 1], char why[PV_WHY_MAX]);

#endif
