/* SPDX-License-Identifier: MIT */
#ifndef PODGW_CLIENT_H
#define PODGW_CLIENT_H

#include "common/config.h"

struct pg_client;

/* Routes the pod through the gateway: keeps cluster CIDRs, DNS and the
 * gateway's pod IP on the pod network, removes the default routes, creates
 * the vxlan link with its FDB entry, address and default route, and returns
 * PG_EXIT_OK only once an outside address routes through the tunnel and the
 * gateway answers. Any other enum pg_exit comes after one line saying why,
 * with everything it changed undone. */
int pg_client_setup(const struct pg_config *cfg, struct pg_client **out);
/* The sidecar: renews the lease until SIGTERM/SIGINT arrives on sigfd,
 * then releases it; the routing stays (fail-closed). */
int pg_client_run(struct pg_client *c, int sigfd);
/* Frees c; the kernel state is left as it is. */
void pg_client_free(struct pg_client *c);

#endif
