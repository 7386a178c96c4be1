/* SPDX-License-Identifier: MIT */
#ifndef PODGW_CONFIG_H
#define PODGW_CONFIG_H

/* The data plane's settings (gatewayd and clientd), read with the
 * settings engine (common/settings.h): environment names are
 * pod-gateway's where it has one, and a --config file may hold them. */

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/addr.h"
#include "common/dnsmsg.h"
#include "common/log.h"
#include "common/settings-types.h"
#include "common/wire.h" /* the identity's limits */

#define PG_URL_MAX	    2048
#define PG_CE_OVERRIDES_MAX 4096
#define PG_LISTEN_MAX	    (2 + 45 + 6) /* "[IPv6]:PORT" */

enum pg_role {
	PG_ROLE_GATEWAY = 1u << 0,
	PG_ROLE_CLIENT = 1u << 1,
};

/* clientd: which of a gateway's replicas to use (clientd/replicas.h). */
enum pg_replica_selection { PG_REPLICA_SPREAD, PG_REPLICA_LEAST_LOADED, PG_REPLICA_PIN };

/* VXLAN_IPV6_NETWORK: a ULA /64, off, or (unset) derived by gatewayd from
 * its name and VXLAN_ID (gatewayd/overlay6.h). */
struct pg_overlay6_setting {
	bool off;
	struct pg_prefix prefix; /* family 0: derived */
};

struct pg_config {
	uint32_t vxlan_id;
	uint16_t vxlan_port;
	struct pg_prefix overlay; /* the overlay network, host bits clear */
	struct pg_overlay6_setting overlay6;
	int underlay_family; /* AF_UNSPEC (auto), AF_INET or AF_INET6 */
	char vxlan_if[IF_NAMESIZE];
	char underlay_if[IF_NAMESIZE];
	char vpn_if[IF_NAMESIZE];
	uint32_t vpn_mtu;		 /* 0: not set */
	struct pg_prefix snat_ip;	 /* family 0: masquerade */
	struct pg_prefix_list vpn_local; /* leave via the underlay even with a VPN */
	bool vpn_block;			 /* kill switch; only with vpn_if */
	uint16_t vpn_port;		 /* the VPN's endpoint port (UDP and TCP) */
	char gateway[PG_HOSTNAME_MAX + 1];
	struct pg_prefix client_addr; /* family 0: not set */
	struct pg_prefix_list not_routed;
	struct pg_prefix_list dns;
	struct pg_prefix_list overlay_allow; /* gatewayd: IPv4 only */
	uint32_t resolve_timeout;
	uint32_t check_timeout;
	uint16_t control_port;
	char key_file[PATH_MAX];
	uint32_t first_dynamic;
	uint32_t lease_time;
	char leases_file[PATH_MAX];
	uint32_t leases_per_pod_ip; /* 0: no limit */
	uint32_t join_rate;	    /* JOINs per second per pod IP; 0: no limit */
	uint32_t lease_quiet_ms;    /* renewal-free time before a lease may move pod IP */
	char nat_conf[PATH_MAX];
	char nat_conf_namespace[PG_NAMESPACE_MAX + 1]; /* of bare nat.conf names */
	uint32_t keepalive_interval;		       /* ms */
	uint32_t keepalive_misses;
	char pod_name[PG_POD_NAME_MAX + 1];
	char pod_namespace[PG_NAMESPACE_MAX + 1];
	bool dns_through_tunnel;	    /* clientd: the pod's DNS goes to the gateway */
	bool dns_forwarder;		    /* gatewayd: DNS served on the overlay address */
	struct pg_prefix_list dns_upstream; /* IPv4 or IPv6 */
	struct pg_prefix dns_local_server;  /* family 0: not set */
	struct pg_domain_list dns_local;    /* answered by dns_local_server */
	uint32_t dns_client_pending;	    /* gatewayd: outstanding queries per client */
	char resolv_conf[PATH_MAX];	    /* where unset DNS servers come from */
	char ready_file[PATH_MAX];
	enum pg_log_level log_level;
	char k_sink[PG_URL_MAX + 1];		    /* gatewayd: "" or an http(s) URL */
	char ce_overrides[PG_CE_OVERRIDES_MAX + 1]; /* K_CE_OVERRIDES, JSON, unchecked */
	char events_gateway[PG_NAMESPACE_MAX + 1];  /* "": the hostname */
	char replica_name[PG_REPLICA_MAX + 1];	    /* gatewayd: this replica's name */
	enum pg_log_format log_format;
	char metrics_address[PG_LISTEN_MAX + 1]; /* gatewayd: "ADDR:PORT", ":PORT", "" none */
	char status_socket[PATH_MAX];		 /* gatewayd: the status command's socket */
	char state_file[PATH_MAX]; /* clientd: where the sidecar publishes its state */

	char replica_selection_text[16];	     /* clientd: REPLICA_SELECTION as given */
	enum pg_replica_selection replica_selection; /* clientd: from it, by check() */
	char replica[PG_REPLICA_MAX + 1];	     /* clientd: the pinned replica's name */
};

enum pg_config_result {
	PG_CONFIG_OK = PG_SETTINGS_OK,
	PG_CONFIG_EXIT = PG_SETTINGS_EXIT, /* --help or --version was printed: exit 0 */
};

/* Loads the configuration of one role from argv (after getopt's
 * permutation, argv[*first_arg..argc) are the positional arguments), envp
 * and the --config file. Errors and warnings are written to err, one line
 * each. Returns PG_CONFIG_OK, PG_CONFIG_EXIT, or -EINVAL after reporting. */
int pg_config_load(struct pg_config *cfg, enum pg_role role, int argc, char **argv, char **envp,
		   FILE *err, int *first_arg);

/* Parses settings file text alone (for the fuzzer and tests): the same
 * reading and validation as a --config file with an empty environment. */
int pg_config_load_text(struct pg_config *cfg, enum pg_role role, const char *name,
			const char *text, size_t len, FILE *err);

void pg_config_usage(FILE *out, enum pg_role role, const char *prog);

/* Writes the effective settings of one role as KEY='value' lines, a
 * settings file that loads to the same configuration (--check-config). */
void pg_config_print(FILE *out, enum pg_role role, const struct pg_config *cfg);

#endif
