/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_ADMISSION_H
#define PODGW_PROVISIOND_ADMISSION_H

/* AdmissionReview (admission.k8s.io/v1) in, AdmissionReview with the
 * response out: the webhook's whole contract with the API server, without
 * HTTP. The body is untrusted: every field is checked before it is used. */

#include <stddef.h>

#include "provisiond/settings.h"

struct pv_admission_reply {
	unsigned status;	  /* HTTP status: 200, or 400 with text */
	const char *content_type; /* application/json or text/plain */
	char *body;		  /* NUL-terminated; the caller frees it */
	size_t len;
};

/* Answers one request body. A review that cannot be answered (bad JSON,
 * wrong apiVersion or kind, no request.uid) is a 400 with one line naming
 * the field; a review of something else than a Pod CREATE, or a refused
 * pod, is a 200 with allowed false and the reason. Returns 0, or -ENOMEM
 * (nothing to send). */
int pv_admission_answer(const struct pv_settings *s, const char *body, size_t len,
			struct pv_admission_reply *out);

void pv_admission_reply_free(struct pv_admission_reply *r);

#endif
