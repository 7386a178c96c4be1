/* SPDX-License-Identifier: MIT */
#ifndef PODGW_SYSCTL_H
#define PODGW_SYSCTL_H

#define PG_SYSCTL_IP_FORWARD  "/proc/sys/net/ipv4/ip_forward"
#define PG_SYSCTL_IP6_FORWARD "/proc/sys/net/ipv6/conf/all/forwarding"

/* Writes 1 to a boolean sysctl (a /proc/sys path). A read-only /proc/sys
 * (a pod's) is fine when it already says 1; else -EROFS. 0 or a negative
 * errno. */
int pg_sysctl_enable(const char *path);

#endif
