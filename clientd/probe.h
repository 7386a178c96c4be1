/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROBE_H
#define PODGW_PROBE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* ICMP echo toward the gateway's overlay address: proof that the tunnel
 * carries packets both ways. The socket is opened once: an unprivileged
 * ICMP socket where net.ipv4.ping_group_range admits the process's group
 * (no capability needed, as in Kubernetes pods that drop ALL), else a raw
 * socket while the process still has CAP_NET_RAW; either keeps working
 * after capabilities are dropped. */
struct pg_probe;

int pg_probe_open(struct pg_probe **out);
void pg_probe_close(struct pg_probe *p);
/* Sends echo requests every interval_ms until one is answered or
 * timeout_ms passes: 0 when answered, -ETIMEDOUT, or another -errno. */
int pg_probe_echo(struct pg_probe *p, struct in_addr dst, unsigned timeout_ms,
		  unsigned interval_ms);

/* The sidecar's halves of the same, for its poll loop: the socket (for
 * POLLIN), one echo request sent without waiting (0 or -errno), and every
 * waiting reply read: how many were echo replies from dst to us. */
int pg_probe_fd(const struct pg_probe *p);
int pg_probe_send(struct pg_probe *p, struct in_addr dst);
unsigned pg_probe_drain(struct pg_probe *p, struct in_addr dst);

/* RFC 1071 checksum; exposed for the unit test. */
uint16_t pg_inet_checksum(const void *data, size_t len);

#endif
