/* SPDX-License-Identifier: MIT */
#ifndef PODGW_WIRE_H
#define PODGW_WIRE_H

/* The membership protocol's messages (docs/membership.md): a fixed header,
 * TLV fields, and an HMAC tag (libsodium crypto_auth) when a key is set.
 * Everything read from the wire is length-checked through a cursor. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Version 2 binds requests to the sender's pod IP (POD_IP, covered by the
 * tag); version 1 is still read and written for ERROR only, the answer an
 * old peer understands. */
#define PG_WIRE_VERSION	   2
#define PG_WIRE_VERSION_V1 1
#define PG_WIRE_PORT	   8473 /* the gateway's default UDP control port */
#define PG_WIRE_MAGIC	   "PGWM"
/* magic 4, version 1, type 1, flags 2, time 8, nonce 16, body length 2 */
#define PG_WIRE_HEADER_LEN  34
#define PG_WIRE_NONCE_LEN   16
#define PG_WIRE_TAG_LEN	    32	 /* crypto_auth_BYTES */
#define PG_WIRE_MAX	    1024 /* no valid message is longer */
#define PG_WIRE_FLAG_TAGGED 0x0001
#define PG_POD_NAME_MAX	    253
#define PG_NAMESPACE_MAX    63
#define PG_ERROR_TEXT_MAX   200
#define PG_REPLICA_MAX	    63 /* a DNS label: [a-z0-9.-] */
#define PG_MTU_MIN	    576

/* Key files: anything from 16 to 4096 bytes. */
#define PG_KEY_FILE_MIN 16
#define PG_KEY_FILE_MAX 4096

/* Replay protection defaults for the gateway: requests whose time is more
 * than this many seconds away from the gateway's clock are refused, and the
 * nonces seen inside the window are remembered, up to this many. */
#define PG_REPLAY_WINDOW   30
#define PG_REPLAY_CAPACITY 65536

enum pg_msg_type {
	PG_MSG_JOIN = 1,
	PG_MSG_RENEW = 2,
	PG_MSG_RELEASE = 3,
	PG_MSG_INFO = 4,	  /* which replica answers, and its load; changes nothing */
	PG_MSG_GRANT = 0x81,	  /* answer to JOIN and RENEW */
	PG_MSG_RELEASED = 0x83,	  /* answer to RELEASE */
	PG_MSG_INFO_REPLY = 0x84, /* answer to INFO */
	PG_MSG_ERROR = 0xff,
};

/* TLV field types; others are skipped by receivers. */
enum pg_tlv_type {
	PG_TLV_POD_NAME = 1,
	PG_TLV_POD_NAMESPACE = 2,
	PG_TLV_MAC = 3,
	PG_TLV_WANTED_ADDR = 4,
	PG_TLV_ADDR = 5,
	PG_TLV_GATEWAY = 6,
	PG_TLV_MTU = 7,
	PG_TLV_LEASE_TIME = 8,
	PG_TLV_REQUEST_NONCE = 9,
	PG_TLV_ERROR = 10,
	PG_TLV_ERROR_TEXT = 11,
	PG_TLV_POD_IP = 12,   /* version 2: the request's source address */
	PG_TLV_REPLICA = 13,  /* the answering replica's name */
	PG_TLV_LEASES = 14,   /* u32: the answering replica's live leases */
	PG_TLV_ADDR6 = 15,    /* GRANT: the client's overlay IPv6 address and prefix length */
	PG_TLV_GATEWAY6 = 16, /* GRANT: the gateway's overlay IPv6 address (MAC: GATEWAY's) */
	PG_TLV_POD_IP6 = 17,  /* requests over an IPv6 underlay: instead of POD_IP */
};

enum pg_wire_error {
	PG_ERR_BAD_REQUEST = 1,
	PG_ERR_UNSUPPORTED_VERSION = 2,
	PG_ERR_AUTH = 3,
	PG_ERR_POOL_EXHAUSTED = 4,
	PG_ERR_ADDRESS_TAKEN = 5,
	PG_ERR_ADDRESS_OUTSIDE_POOL = 6,
	PG_ERR_NO_LEASE = 7,
	PG_ERR_INTERNAL = 8,
	PG_ERR_LEASE_HELD = 9, /* the identity's lease is live at another pod IP */
	PG_ERR_RATE = 10,      /* too many requests from this pod IP: later */
	PG_ERR_POD_IP = 11,    /* POD_IP is not the request's source address */
};

struct pg_key {
	uint8_t bytes[32];
};

/* A decoded or to-be-encoded message; has_* say which fields are present. */
struct pg_msg {
	uint8_t version;
	uint8_t type;
	uint64_t time; /* sender's wall clock, seconds since the epoch */
	uint8_t nonce[PG_WIRE_NONCE_LEN];
	bool authenticated; /* decode: the tag was present and verified */

	char pod_name[PG_POD_NAME_MAX + 1];	  /* "" when absent */
	char pod_namespace[PG_NAMESPACE_MAX + 1]; /* "" when absent */
	bool has_mac;
	uint8_t mac[6];
	bool has_wanted;
	struct in_addr wanted;
	bool has_addr;
	struct in_addr addr;
	uint8_t prefix_len;
	bool has_gateway;
	struct in_addr gateway_addr;
	uint8_t gateway_mac[6];
	uint16_t mtu;	     /* 0: absent */
	uint32_t lease_time; /* seconds; 0: absent */
	bool has_request_nonce;
	uint8_t request_nonce[PG_WIRE_NONCE_LEN];
	bool has_pod_ip;
	struct in_addr pod_ip; /* requests: the sender's pod IP */
	bool has_pod_ip6;      /* requests carry one of pod_ip and pod_ip6 */
	struct in6_addr pod_ip6;
	bool has_addr6; /* GRANT: addr6 and gateway_addr6 come together */
	struct in6_addr addr6;
	uint8_t prefix_len6;
	struct in6_addr gateway_addr6;
	char replica[PG_REPLICA_MAX + 1]; /* answers: "" when absent */
	bool has_leases;
	uint32_t leases;
	uint16_t error;				/* enum pg_wire_error; 0: absent */
	char error_text[PG_ERROR_TEXT_MAX + 1]; /* printable; "" when absent */
};

/* Loads a shared key: any file of 16 to 4096 bytes (e.g. 32 random bytes,
 * base64 or hex), hashed to 32 bytes (BLAKE2b-256 of the file's bytes, as
 * `b2sum -l 256` prints it). Symlinks are followed (Kubernetes Secret
 * volumes are symlinks). Refused when group or others have any access to
 * it, or when it is not a regular file. Returns 0, or a negative errno with
 * *why set. */
/* A replica's name as REPLICA_NAME, REPLICA and the REPLICA TLV take it:
 * 1..PG_REPLICA_MAX bytes of [a-z0-9.-]. */
bool pg_replica_name_ok(const char *s, size_t len);

int pg_key_load(const char *path, struct pg_key *key, const char **why);

/* Clears m and fills version, a fresh random nonce and the current time.
 * Returns 0, or -EIO when libsodium cannot initialise. */
int pg_msg_init(struct pg_msg *m, enum pg_msg_type type);

/* pg_msg_init for an answer to request: also echoes its nonce. */
int pg_msg_init_reply(struct pg_msg *m, enum pg_msg_type type, const struct pg_msg *request);

/* Encodes m (tagged when key is not NULL) into buf; returns the length, or
 * -EMSGSIZE when size is too small, or -EINVAL when m would not decode: a
 * version other than PG_WIRE_VERSION (or PG_WIRE_VERSION_V1 for an ERROR),
 * an unknown type, a field missing, invalid or not belonging to the type. A
 * message fits PG_WIRE_MAX bytes. */
int pg_msg_encode(const struct pg_msg *m, const struct pg_key *key, uint8_t *buf, size_t size);

/* Decodes and, when key is not NULL, authenticates buf. Returns 0;
 * -EBADMSG for a malformed message (out is then unspecified);
 * -EPROTONOSUPPORT for another version (a version 1 ERROR is decoded); -EACCES when a key is set
 * and the tag is missing or wrong. On the last two out->version, type, time and nonce are filled
 * (and no field), so it can be answered. Without a key a tag is skipped unverified and
 * out->authenticated is false. */
int pg_msg_decode(const uint8_t *buf, size_t len, const struct pg_key *key, struct pg_msg *out);

const char *pg_wire_error_str(uint16_t error);
const char *pg_msg_type_str(uint8_t type);

/* Replay protection for authenticated requests: a message is fresh when its
 * time is within window seconds of now and its nonce was not seen in that
 * window. The cache is bounded; when it is full the oldest entries go, so
 * capacity should exceed the request rate times twice the window. */
struct pg_replay;
/* NULL with errno set (EINVAL for capacity 0 or above 2^24, ENOMEM, EIO). */
struct pg_replay *pg_replay_new(unsigned window, size_t capacity);
void pg_replay_free(struct pg_replay *r);
/* 0 when fresh (and remembers it), -ETIME outside the window, -EALREADY when seen. */
int pg_replay_check(struct pg_replay *r, const struct pg_msg *m, uint64_t now);

#endif
