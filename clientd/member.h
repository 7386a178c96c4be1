/* SPDX-License-Identifier: MIT */
#ifndef PODGW_MEMBER_H
#define PODGW_MEMBER_H

/* The client's side of the membership protocol (docs/membership.md): asks
 * the gateway's control port for a lease, renews and releases it. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/wire.h"

struct pg_member;

struct pg_grant {
	struct pg_prefix addr;	  /* with the overlay's prefix length */
	struct pg_prefix gateway; /* the gateway's overlay address, /32 */
	uint8_t gateway_mac[6];
	uint16_t mtu;
	uint32_t lease_time;
	/* ADDR6 and GATEWAY6: only when the gateway grants IPv6 (its egress
	 * has it); the gateway's MAC is gateway_mac for both families. */
	bool has_v6;
	struct pg_prefix addr6;	   /* /64 */
	struct pg_prefix gateway6; /* /128 */
	/* From GRANT and INFO_REPLY; older gateways send neither. */
	char replica[PG_REPLICA_MAX + 1]; /* the answering replica; "" when not said */
	uint32_t leases;		  /* its live leases, when has_leases */
	bool has_leases;
};

/* A UDP socket toward gateway:GATEWAY_CONTROL_PORT, of gateway's family
 * (the underlay's: IPv4 or IPv6); key may be NULL. The
 * client's vxlan MAC is mac when that is a unicast MAC (the one a previous
 * run of this pod left on its link), else a random one: it never follows
 * from the pod's public name, and it stays the same for every JOIN of this
 * process. */
int pg_member_open(const struct pg_config *cfg, const struct pg_prefix *gateway,
		   const struct pg_key *key, const uint8_t *mac, struct pg_member **out);
void pg_member_close(struct pg_member *m);
void pg_member_mac(const struct pg_member *m, uint8_t mac[6]);
/* The socket's source address toward the gateway: this pod's IP on the
 * underlay (POD_IP or POD_IP6 in requests, the vxlan link's local IPv6). */
void pg_member_pod_ip(const struct pg_member *m, struct pg_prefix *out);
int pg_member_fd(const struct pg_member *m);

/* Points the socket at another gateway pod IP (the gateway moved), of the
 * same family (-EAFNOSUPPORT otherwise). */
int pg_member_retarget(struct pg_member *m, const struct pg_prefix *gateway);

struct pg_answer {
	uint8_t type;	 /* PG_MSG_GRANT, PG_MSG_RELEASED, PG_MSG_INFO_REPLY or PG_MSG_ERROR */
	uint8_t answers; /* the request type it answers */
	struct pg_grant grant; /* INFO_REPLY: only replica, leases, has_leases */
	uint16_t error;
	char why[PG_ERROR_TEXT_MAX + 64];
};

/* The event-loop halves: send a request without waiting, and take one
 * answer to any of the recent requests. pg_member_receive returns 1 with
 * *a filled, 0 when nothing usable is waiting, or a negative errno;
 * *unverified is set when an answer failed authentication. */
int pg_member_send(struct pg_member *m, enum pg_msg_type type, struct in_addr wish);
int pg_member_receive(struct pg_member *m, struct pg_answer *a, bool *unverified);

/* Sends JOIN (with wish unless INADDR_ANY), RENEW, RELEASE or INFO and
 * waits for the answer, resending every resend_ms, for at most timeout_ms.
 * Returns 0 (with *grant for JOIN and RENEW, and its replica and leases for
 * INFO); -ETIMEDOUT when nothing usable came
 * back; -EPROTO when the gateway answered with an error (*error, and
 * why[] gets its text); -EACCES when answers came but failed
 * authentication. */
int pg_member_request(struct pg_member *m, enum pg_msg_type type, struct in_addr wish,
		      unsigned timeout_ms, unsigned resend_ms, struct pg_grant *grant,
		      uint16_t *error, char *why, size_t why_len);

#endif
