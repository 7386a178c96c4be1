/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_PROVISION_H
#define PODGW_PROVISIOND_PROVISION_H

/* What an accepted event does: the gateway is checked, the crawler made by
 * the backend once per event (source + id), and the answer (done or
 * failed, with its data) kept for redeliveries. */

#include "provisiond/backend.h"
#include "provisiond/event.h"
#include "provisiond/settings.h"
#include "provisiond/store.h"

#define PV_REPLY_ID_MAX 40

struct pv_provisioner;

int pv_provisioner_new(const struct pv_settings *s, const struct pv_backend_ops *ops,
		       struct pv_provisioner **out, char why[PV_WHY_MAX]);
void pv_provisioner_free(struct pv_provisioner *p);

/* Answers one event: 0 with ans filled (the caller clears it), or -EBUSY /
 * -ETIMEDOUT / -ENOMEM when it cannot now (the HTTP layer says 503 and the
 * sender retries). */
int pv_provisioner_handle(struct pv_provisioner *p, const struct pv_event *ev,
			  struct pv_answer *ans);

/* Names derived from the event, stable across redeliveries and restarts. */
void pv_crawler_name(const char *gateway, const char *source, const char *id,
		     char out[PV_NAME_MAX + 1]);
void pv_reply_id(const char *source, const char *id, char out[PV_REPLY_ID_MAX + 1]);

#endif
