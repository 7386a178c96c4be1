/* SPDX-License-Identifier: MIT */
#ifndef PODGW_CAPS_H
#define PODGW_CAPS_H

#include <stdbool.h>

/* Drops every capability, in all sets and the bounding set, but
 * CAP_NET_ADMIN (and CAP_NET_BIND_SERVICE when asked). Sockets opened
 * before keep working, which is how raw ICMP outlives CAP_NET_RAW.
 * Returns 0 or a negative errno. */
int pg_caps_keep_net_admin(bool bind_service);

#endif
