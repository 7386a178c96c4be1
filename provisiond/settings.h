/* SPDX-License-Identifier: MIT */
#ifndef PODGW_PROVISIOND_SETTINGS_H
#define PODGW_PROVISIOND_SETTINGS_H

/* provisiond's settings, read with the settings engine (common/settings.h):
 * environment variables and long options (options win), every value
 * validated before anything starts, every bad one reported as
 * "provisiond: KEY: 'value': why". */

#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/log.h"
#include "common/settings.h"
#include "provisiond/event.h"

#define PV_MAX_GATEWAYS 64

enum pv_backend_kind { PV_BACKEND_NETNS, PV_BACKEND_KUBERNETES, PV_BACKEND_PODMAN };
enum pv_reply_when { PV_REPLY_CREATED, PV_REPLY_ROUTED };

struct pv_settings {
	struct sockaddr_in listen;
	unsigned n_gateways;
	char gateways[PV_MAX_GATEWAYS][PV_GATEWAY_MAX + 1];
	enum pv_backend_kind backend;
	enum pv_reply_when reply_when;
	char event_source[PV_ATTR_MAX + 1];
	uint32_t max_body;
	uint32_t dedup_entries;
	uint32_t max_connections;
	uint32_t max_per_ip;	   /* connections from one address */
	uint32_t conn_timeout;	   /* seconds a connection may stay idle */
	bool auth_open;		   /* PROVISIOND_AUTH=none: anyone may post events */
	char token_file[PATH_MAX]; /* the bearer token senders present */
	char pod_namespace[64];
	/* netns */
	char lab_prefix[32];
	char netns_helper[PATH_MAX];
	uint32_t ip_first, ip_last; /* host order, inside 10.244.0.0/24 */
	uint32_t routed_timeout;    /* seconds */
	/* kubernetes */
	char kube_api_url[512];
	char kube_token_file[PATH_MAX];
	char kube_ca_file[PATH_MAX];
	char crawler_image[256];
	/* podman */
	char podman_socket[108]; /* sun_path */
	char podman_network[64];
	char podman_objects[PATH_MAX];
	char podman_state_dir[PATH_MAX];
	char podman_gateway_prefix[32];
	/* the crawler pod (crawlerpod.c) */
	char crawler_template_file[PATH_MAX];
	char clientd_image[256];
	char gateway_namespace[64];
	char cluster_domain[128];
	char client_not_routed[512]; /* clientd's NOT_ROUTED_TO_GATEWAY_CIDRS */
	char client_dns_ips[256];    /* clientd's K8S_DNS_IPS */
	/* webhook (provisiond webhook) */
	char webhook_tls_cert[PATH_MAX];
	char webhook_tls_key[PATH_MAX];
	char webhook_default_gateway[PV_GATEWAY_MAX + 1];
	char ready_file[PATH_MAX];
	enum pg_log_level log_level;
};

enum { PV_SETTINGS_OK = PG_SETTINGS_OK, PV_SETTINGS_EXIT = PG_SETTINGS_EXIT };

/* Loads from argv and envp; errors go to err, one line each. Returns
 * PV_SETTINGS_OK, PV_SETTINGS_EXIT (--help or --version printed) or
 * -EINVAL. */
int pv_settings_load(struct pv_settings *s, int argc, char **argv, char **envp, FILE *err);

bool pv_settings_gateway_known(const struct pv_settings *s, const char *name);

#endif
