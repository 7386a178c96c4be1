/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_SERVER_H
#define PODGW_PROVISIOND_SERVER_H

/* The HTTP side: libmicrohttpd, one thread per connection (a request may
 * wait for a crawler to be routed without holding up the others). */

#include <stdint.h>

#include "provisiond/provision.h"
#include "provisiond/settings.h"

struct pv_server;

int pv_server_start(const struct pv_settings *s, struct pv_provisioner *p, struct pv_server **out);
/* The port actually bound (differs from the setting when that was 0). */
uint16_t pv_server_port(const struct pv_server *srv);
void pv_server_stop(struct pv_server *srv);

#endif
