/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_SERVER_H
#define PODGW_PROVISIOND_SERVER_H

/* The HTTP side: libmicrohttpd polled by one thread, bounded in
 * connections (in all, per address) and idleness; each event is handled by
 * a thread of its own while its connection waits (it may wait for a crawler
 * to be routed without holding up the others or /healthz). */

#include <stdint.h>

#include "provisiond/auth.h"
#include "provisiond/provision.h"
#include "provisiond/settings.h"

struct pv_server;

/* Event senders must pass auth (kept, not copied). */
int pv_server_start(const struct pv_settings *s, const struct pv_auth *auth,
		    struct pv_provisioner *p, struct pv_server **out);
/* The port actually bound (differs from the setting when that was 0). */
uint16_t pv_server_port(const struct pv_server *srv);
/* Waits for the events being handled, then stops. */
void pv_server_stop(struct pv_server *srv);

#endif
