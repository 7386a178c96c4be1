/* SPDX-License-Identifier: MIT */
/* The data plane's settings: one table for gatewayd and clientd, whose
 * roles say which program reads each row (the order is that of --help and
 * --check-config), and the checks across settings. */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/settings.h"

/* ---- the settings ---- */

/* REPLICA_NAME: what the membership protocol's REPLICA field carries
 * (common/wire.h), so that every name set here can be sent. */
static int parse_replica(const struct pg_setting *s, const char *text, void *field,
			 const char **why)
{
	size_t len = strlen(text);

	(void)s;
	if (len == 0 || len > PG_REPLICA_MAX) {
		*why = len ? "longer than 63 characters"
			   : "empty (set it, or POD_NAME, or a hostname)";
		return -EINVAL;
	}
	if (!pg_replica_name_ok(text, len)) {
		*why = "not a replica name (a-z, 0-9, '-', '.')";
		return -EINVAL;
	}
	memcpy(field, text, len + 1);
	return 0;
}

static const struct pg_value_type t_replica = {"NAME", parse_replica, NULL};

/* A Deployment's pods differ by name (POD_NAME from the downward API);
 * else the hostname, which is the pod's name on Kubernetes, lower-cased
 * (hostnames are not case-sensitive) up to its first dot. */
static void default_replica(char **envp, char *buf, size_t size)
{
	const char *pod = pg_settings_env_get(envp, "POD_NAME");
	char host[256] = "";

	if (pod && *pod) {
		snprintf(buf, size, "%s", pod);
		return;
	}
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	host[strcspn(host, ".")] = '\0';
	for (char *c = host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	snprintf(buf, size, "%s", host);
}

/* VXLAN_IPV6_NETWORK: a ULA (fd00::/8) /64, so that the client's address
 * can carry its IPv4 lease's host index and SLAAC-like /64 rules hold. */
static int parse_overlay6(const struct pg_setting *s, const char *text, void *field,
			  const char **why)
{
	struct pg_overlay6_setting *o = field;
	struct pg_prefix p;

	(void)s;
	memset(o, 0, sizeof(*o));
	if (!*text)
		return 0;
	if (strcmp(text, "off") == 0) {
		o->off = true;
		return 0;
	}
	if (pg_prefix_parse(text, &p, true) < 0 || p.family != AF_INET6 || !strchr(text, '/')) {
		*why = "not an IPv6 CIDR (e.g. fd00:1:2:3::/64), or off";
		return -EINVAL;
	}
	if (p.bytes[0] != 0xfd) {
		*why = "not a unique local address (fd00::/8)";
		return -EINVAL;
	}
	if (p.len != 64) {
		*why = "must be a /64";
		return -EINVAL;
	}
	if (pg_prefix_parse(text, &p, false) < 0) {
		*why = "host bits set";
		return -EINVAL;
	}
	o->prefix = p;
	return 0;
}

static void print_overlay6(FILE *out, const struct pg_setting *s, const void *field)
{
	const struct pg_overlay6_setting *o = field;
	char buf[PG_PREFIX_STRLEN];

	(void)s;
	if (o->off)
		fputs("off", out);
	else if (o->prefix.family)
		fputs(pg_prefix_fmt(&o->prefix, buf, true), out);
}

static const struct pg_value_type t_overlay6 = {"CIDR", parse_overlay6, print_overlay6};

static const char *const families[] = {"auto", "ipv4", "ipv6"};
static const int family_values[] = {AF_UNSPEC, AF_INET, AF_INET6};

static int parse_family(const struct pg_setting *s, const char *text, void *field, const char **why)
{
	(void)s;
	for (size_t i = 0; i < 3; i++)
		if (strcmp(text, families[i]) == 0) {
			*(int *)field = family_values[i];
			return 0;
		}
	*why = "must be auto, ipv4 or ipv6";
	return -EINVAL;
}

static void print_family(FILE *out, const struct pg_setting *s, const void *field)
{
	(void)s;
	for (size_t i = 0; i < 3; i++)
		if (*(const int *)field == family_values[i])
			fputs(families[i], out);
}

static const struct pg_value_type t_family = {"FAMILY", parse_family, print_family};

#define FIELD(f)    PG_SETTING_FIELD(struct pg_config, f)
#define GW	    PG_ROLE_GATEWAY
#define CL	    PG_ROLE_CLIENT
#define SECONDS_MAX 3600

static const struct pg_setting settings[] = {
    {"VXLAN_ID", NULL, "vxlan-id", "42", "VXLAN network identifier", GW | CL, false, &pg_t_number,
     FIELD(vxlan_id), 1, (1ul << 24) - 1, NULL},
    {"VXLAN_PORT", NULL, "vxlan-port", "8472", "VXLAN UDP port", GW | CL, false, &pg_t_port,
     FIELD(vxlan_port), 1, 65535, NULL},
    {"VXLAN_IP_NETWORK", NULL, "vxlan-ip-network", "172.16.0.0/24",
     "overlay network (\"172.16.0\" means /24); the gateway is its first host", GW | CL, false,
     &pg_t_network, FIELD(overlay), 16, 29, NULL},
    {"VXLAN_IPV6_NETWORK", NULL, "vxlan-ipv6-network", "",
     "overlay IPv6 network: a ULA /64 (fd00::/8), or off; the gateway is ::1, a client the "
     "prefix plus its IPv4 host index; empty: fd + a hash of the gateway's name "
     "(EVENTS_GATEWAY_NAME, else the hostname) + VXLAN_ID",
     GW, false, &t_overlay6, FIELD(overlay6), 0, 0, NULL},
    {"UNDERLAY_FAMILY", NULL, "underlay-family", "auto",
     "the pod network's family that carries the tunnel: auto (gatewayd: IPv4 when "
     "UNDERLAY_INTERFACE has an IPv4 address; clientd: IPv4 when the gateway's name has IPv4 "
     "addresses; else IPv6), ipv4 or ipv6",
     GW | CL, false, &t_family, FIELD(underlay_family), 0, 0, NULL},
    {"VXLAN_INTERFACE", NULL, "vxlan-interface", "vxlan0", "name of the vxlan link", GW | CL, true,
     &pg_t_ifname, FIELD(vxlan_if), 0, 0, NULL},
    {"UNDERLAY_INTERFACE", NULL, "underlay-interface", "eth0",
     "pod network interface that carries the tunnel", GW, true, &pg_t_ifname, FIELD(underlay_if), 0,
     0, NULL},
    {"VPN_INTERFACE", NULL, "vpn-interface", "",
     "egress interface (a VPN's tun0/wg0); empty: the underlay", GW, false, &pg_t_ifname,
     FIELD(vpn_if), 0, 0, NULL},
    {"VPN_INTERFACE_MTU", NULL, "vpn-interface-mtu", "",
     "upper bound for the vxlan MTU; empty: underlay MTU - 50 (- 70 over IPv6)", GW | CL, false,
     &pg_t_opt_number, FIELD(vpn_mtu), 576, 65535, NULL},
    {"SNAT_IP", NULL, "snat-ip", "",
     "source address for traffic leaving through the egress; empty: masquerade", GW, false,
     &pg_t_opt_ipv4, FIELD(snat_ip), 0, 0, NULL},
    {"VPN_LOCAL_CIDRS", NULL, "vpn-local-cidrs", "",
     "destinations reached through the underlay even with a VPN (blank or comma separated)", GW,
     false, &pg_t_cidr_list, FIELD(vpn_local), 0, 0, NULL},
    {"VPN_BLOCK_OTHER_TRAFFIC", NULL, "vpn-block-other-traffic", "true",
     "kill switch: with VPN_INTERFACE, nothing but the VPN leaves the underlay", GW, false,
     &pg_t_bool, FIELD(vpn_block), 0, 0, NULL},
    {"VPN_TRAFFIC_PORT", NULL, "vpn-traffic-port", "443",
     "the VPN endpoint's port (UDP and TCP), allowed out of the underlay by the kill switch", GW,
     false, &pg_t_port, FIELD(vpn_port), 1, 65535, NULL},
    {"GATEWAY_NAME", "gateway", "gateway", "", "gateway to route through: DNS name or pod IP", CL,
     true, &pg_t_host, FIELD(gateway), 0, 0, NULL},
    {"CLIENT_ADDRESS", NULL, "address", "",
     "overlay address to ask for; empty: the gateway assigns one", CL, false, &pg_t_overlay_addr,
     FIELD(client_addr), 0, 0, NULL},
    {"NOT_ROUTED_TO_GATEWAY_CIDRS", NULL, "not-routed-to-gateway-cidrs", "",
     "CIDRs kept on the pod network (cluster and service ranges); gatewayd: overlay traffic "
     "to them is dropped",
     GW | CL, false, &pg_t_cidr_list, FIELD(not_routed), 0, 0, NULL},
    {"K8S_DNS_IPS", "K8S_DNS_ips", "k8s-dns-ips", "",
     "cluster DNS addresses kept on the pod network; gatewayd: overlay traffic to them is "
     "dropped",
     GW | CL, false, &pg_t_ip_list, FIELD(dns), 0, 0, NULL},
    {"GATEWAY_OVERLAY_ALLOW_CIDRS", NULL, "gateway-overlay-allow-cidrs", "",
     "IPv4 CIDRs overlay clients may reach although the cluster's ranges, the pod network, "
     "the node or link-local cover them (blank or comma separated)",
     GW, false, &pg_t_cidr_list, FIELD(overlay_allow), 0, 0, NULL},
    {"GATEWAY_RESOLVE_TIMEOUT", NULL, "gateway-resolve-timeout", "10",
     "seconds to keep resolving the gateway's name", CL, false, &pg_t_number,
     FIELD(resolve_timeout), 1, SECONDS_MAX, NULL},
    {"GATEWAY_CHECK_TIMEOUT", NULL, "gateway-check-timeout", "5",
     "seconds to wait for the gateway to answer through the tunnel", CL, false, &pg_t_number,
     FIELD(check_timeout), 1, SECONDS_MAX, NULL},
    {"GATEWAY_CONTROL_PORT", NULL, "gateway-control-port", "8473",
     "UDP port of the membership service on the gateway's pod IP", GW | CL, false, &pg_t_port,
     FIELD(control_port), 1, 65535, NULL},
    {"MEMBERSHIP_KEY_FILE", NULL, "membership-key-file", "",
     "shared key authenticating membership messages (mode 0600); empty: any pod may join", GW | CL,
     false, &pg_t_path, FIELD(key_file), 0, 0, NULL},
    {"VXLAN_GATEWAY_FIRST_DYNAMIC_IP", NULL, "vxlan-gateway-first-dynamic-ip", "20",
     "first host index leased dynamically; lower ones only by reservation or request", GW, false,
     &pg_t_number, FIELD(first_dynamic), 2, 65533, NULL},
    {"LEASE_TIME", NULL, "lease-time", "30", "seconds a lease lives without renewal", GW, false,
     &pg_t_number, FIELD(lease_time), 2, SECONDS_MAX, NULL},
    {"LEASES_PER_POD_IP", NULL, "leases-per-pod-ip", "4",
     "live leases one pod IP may hold (one per pod; more only where pods share an IP); 0: no "
     "limit",
     GW, false, &pg_t_number, FIELD(leases_per_pod_ip), 0, 65535, NULL},
    {"JOIN_RATE_PER_POD_IP", NULL, "join-rate-per-pod-ip", "10",
     "JOINs a second one pod IP may send (bursts of twice that); more are dropped; 0: no limit", GW,
     false, &pg_t_number, FIELD(join_rate), 0, 100000, NULL},
    {"LEASE_QUIET_MS", NULL, "lease-quiet-ms", "2000",
     "a live lease moves to another pod IP only after this many milliseconds without a renewal or "
     "a datagram through its tunnel",
     GW, false, &pg_t_number, FIELD(lease_quiet_ms), 0, 3600000, NULL},
    {"LEASES_FILE", NULL, "leases-file", "/var/lib/podgw/leases",
     "where leases persist across restarts; empty: not persisted", GW, false, &pg_t_path,
     FIELD(leases_file), 0, 0, NULL},
    {"NAT_CONF_FILE", NULL, "nat-conf-file", "",
     "pod-gateway's nat.conf (\"name index ports\"): reservations and port forwards; re-read on "
     "SIGHUP and on change",
     GW, false, &pg_t_path, FIELD(nat_conf), 0, 0, NULL},
    {"NAT_CONF_NAMESPACE", NULL, "nat-conf-namespace", "default",
     "namespace of the pods that NAT_CONF_FILE names without one (\"name\", not "
     "\"namespace/name\")",
     GW, false, &pg_t_k8s_name, FIELD(nat_conf_namespace), 1, PG_NAMESPACE_MAX, NULL},
    {"KEEPALIVE_INTERVAL_MS", NULL, "keepalive-interval-ms", "250",
     "milliseconds between liveness checks of the gateway (its traffic through the tunnel, "
     "else an ICMP echo to it)",
     CL, false, &pg_t_number, FIELD(keepalive_interval), 50, 60000, NULL},
    {"KEEPALIVE_MISSES", NULL, "keepalive-misses", "4",
     "liveness checks in a row without traffic from the gateway before it counts as lost", CL,
     false, &pg_t_number, FIELD(keepalive_misses), 1, 100, NULL},
    {"POD_NAME", NULL, "pod-name", "", "this pod's name, its identity (default: hostname)", CL,
     false, &pg_t_k8s_name, FIELD(pod_name), 0, PG_POD_NAME_MAX, NULL},
    {"POD_NAMESPACE", NULL, "pod-namespace", "",
     "this pod's namespace (default: the service account's, else \"default\")", CL, false,
     &pg_t_k8s_name, FIELD(pod_namespace), 0, PG_NAMESPACE_MAX, NULL},
    {"CLIENT_DNS_THROUGH_TUNNEL", NULL, "dns-through-tunnel", "false",
     "the pod's DNS (port 53, to any server) goes to the gateway through the tunnel, and none "
     "leaves the pod network",
     CL, false, &pg_t_bool, FIELD(dns_through_tunnel), 0, 0, NULL},
    {"DNS_FORWARDER", NULL, "dns-forwarder", "true",
     "answer DNS on the overlay address (UDP; TCP goes to the first upstream)", GW, false,
     &pg_t_bool, FIELD(dns_forwarder), 0, 0, NULL},
    {"DNS_UPSTREAM_SERVERS", NULL, "dns-upstream-servers", "",
     "DNS servers (IPv4 or IPv6) reached through the egress; empty: DNS_RESOLV_CONF's "
     "nameservers",
     GW, false, &pg_t_ip_list, FIELD(dns_upstream), 0, 0, NULL},
    {"DNS_LOCAL_CIDRS", NULL, "dns-local-cidrs", "local",
     "domains whose names DNS_LOCAL_SERVER answers (blank or comma separated)", GW, false,
     &pg_t_domain_list, FIELD(dns_local), 0, 0, NULL},
    {"DNS_LOCAL_SERVER", NULL, "dns-local-server", "",
     "the cluster DNS (IPv4 or IPv6), reached through the underlay; empty: DNS_RESOLV_CONF's "
     "first nameserver",
     GW, false, &pg_t_opt_ip, FIELD(dns_local_server), 0, 0, NULL},
    {"DNS_CLIENT_MAX_PENDING", NULL, "dns-client-max-pending", "64",
     "DNS queries one client may have outstanding at the forwarder; more are dropped", GW, false,
     &pg_t_number, FIELD(dns_client_pending), 1, 1024, NULL},
    {"DNS_RESOLV_CONF", NULL, "dns-resolv-conf", "/etc/resolv.conf",
     "resolv.conf naming the DNS servers not set (clientd: the cluster DNS for its own lookups)",
     GW | CL, false, &pg_t_path, FIELD(resolv_conf), 0, 0, NULL},
    {"READY_FILE", NULL, "ready-file", "", "file written once set up (for probes)", GW | CL, false,
     &pg_t_path, FIELD(ready_file), 0, 0, NULL},
    {"LOG_LEVEL", NULL, "log-level", "info", "error, warning, info or debug", GW | CL, false,
     &pg_t_level, FIELD(log_level), 0, 0, NULL},
    {"K_SINK", NULL, "k-sink", "",
     "http(s) URL that gets io.podgateway.client.connected/disconnected CloudEvents (Knative "
     "SinkBinding sets it); empty: none",
     GW, false, &pg_t_url, FIELD(k_sink), 0, 0, NULL},
    {"K_CE_OVERRIDES", NULL, "k-ce-overrides", "",
     "JSON {\"extensions\":{\"name\":\"value\"}} added to each event (Knative SinkBinding "
     "sets it)",
     GW, false, &pg_t_json, FIELD(ce_overrides), 0, 0, NULL},
    {"EVENTS_GATEWAY_NAME", NULL, "events-gateway-name", "",
     "this gateway's name in events (data.gateway_name, source); empty: the hostname", GW, false,
     &pg_t_k8s_name, FIELD(events_gateway), 0, PG_NAMESPACE_MAX, NULL},
    {"REPLICA_NAME", NULL, "replica-name", NULL,
     "this replica's name (a-z, 0-9, '-', '.'; up to 63), told to clients and shown in status "
     "and /metrics; default: POD_NAME, else the hostname",
     GW, false, &t_replica, FIELD(replica_name), 0, 0, default_replica},
    {"LOG_FORMAT", NULL, "log-format", "logfmt",
     "logfmt (ts=... level=... msg=\"...\" key=value) or json, one line per event", GW | CL, false,
     &pg_t_log_format, FIELD(log_format), 0, 0, NULL},
    {"METRICS_ADDRESS", NULL, "metrics-address", ":9108",
     "HTTP /metrics, /healthz and /readyz; \":PORT\" listens on UNDERLAY_INTERFACE's address "
     "(the pod IP, never the overlay); empty: off",
     GW, false, &pg_t_listen, FIELD(metrics_address), 0, 0, NULL},
    {"STATUS_SOCKET", NULL, "status-socket", "/run/podgw/gatewayd.sock",
     "unix socket (mode 0660) that `gatewayd status` reads the leases from; empty: none", GW, false,
     &pg_t_path, FIELD(status_socket), 0, 0, NULL},
    {"STATE_FILE", NULL, "state-file", "",
     "where the sidecar publishes its state for `clientd check --verbose`; empty: none", CL, false,
     &pg_t_path, FIELD(state_file), 0, 0, NULL},
    {"REPLICA_SELECTION", NULL, "replica-selection", "spread",
     "which replica of the gateway: spread (hash of the pod's identity), least-loaded (fewest "
     "leases) or pin (only REPLICA, never another)",
     CL, false, &pg_t_text, FIELD(replica_selection_text), 0, 0, NULL},
    {"REPLICA", NULL, "replica", "",
     "with REPLICA_SELECTION=pin: the replica's name (its REPLICA_NAME)", CL, false, &pg_t_text,
     FIELD(replica), 0, 0, NULL},
};

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

/* pod-gateway settings that podgw reads without error but does not act on
 * yet: named once in a warning, so that nothing silently does nothing. */
static const char *const not_implemented[] = {
    "RESOLV_CONF_COPY", "GATEWAY_ENABLE_DNSSEC",  "IPTABLES_NFT",
    "DHCP_LEASE_TIME",	"CONNECTION_RETRY_COUNT",
};

#define N_NOT_IMPLEMENTED (sizeof(not_implemented) / sizeof(not_implemented[0]))

/* The pod's identity defaults to what Kubernetes gives every pod: its
 * hostname and its service account's namespace. */
static void default_identity(struct pg_config *cfg)
{
	static const char sa_ns[] = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

	if (!cfg->pod_name[0] && gethostname(cfg->pod_name, sizeof(cfg->pod_name)) < 0)
		snprintf(cfg->pod_name, sizeof(cfg->pod_name), "unknown");
	cfg->pod_name[sizeof(cfg->pod_name) - 1] = '\0';
	if (!cfg->pod_namespace[0]) {
		FILE *f = fopen(sa_ns, "re");

		if (!f || !fgets(cfg->pod_namespace, sizeof(cfg->pod_namespace), f))
			snprintf(cfg->pod_namespace, sizeof(cfg->pod_namespace), "default");
		cfg->pod_namespace[strcspn(cfg->pod_namespace, "\n")] = '\0';
		if (f)
			fclose(f);
	}
}

/* A replica's name as gatewayd's REPLICA_NAME allows: [a-z0-9.-]. */
static void check_replica(struct pg_settings_loader *ld, struct pg_config *cfg)
{
	static const char *const modes[] = {"spread", "least-loaded", "pin"};
	const char *m = cfg->replica_selection_text;
	unsigned i;

	for (i = 0; i < 3 && strcmp(m, modes[i]) != 0; i++)
		;
	if (i == 3) {
		pg_settings_report(ld, "REPLICA_SELECTION: '%s': not spread, least-loaded or pin",
				   m);
		return;
	}
	cfg->replica_selection = (enum pg_replica_selection)i;
	if (cfg->replica[0] && !pg_replica_name_ok(cfg->replica, strlen(cfg->replica)))
		pg_settings_report(ld, "REPLICA: '%s': not a replica name (a-z, 0-9, '.', '-')",
				   cfg->replica);
	else if (cfg->replica_selection == PG_REPLICA_PIN && !cfg->replica[0])
		pg_settings_report(ld,
				   "REPLICA_SELECTION: 'pin': needs REPLICA (the replica's name)");
	else if (cfg->replica_selection != PG_REPLICA_PIN && cfg->replica[0])
		pg_settings_report(ld, "REPLICA: '%s': only with REPLICA_SELECTION=pin",
				   cfg->replica);
}

/* The second pass: what one value alone cannot tell. */
static void check(struct pg_settings_loader *ld, unsigned role, void *config)
{
	struct pg_config *cfg = config;

	if (role == PG_ROLE_GATEWAY) {
		uint32_t last_host = (1u << (32 - cfg->overlay.len)) - 2;

		if (cfg->first_dynamic > last_host)
			pg_settings_report(
			    ld,
			    "VXLAN_GATEWAY_FIRST_DYNAMIC_IP: '%u': beyond the last host (%u) of "
			    "VXLAN_IP_NETWORK's /%u",
			    cfg->first_dynamic, last_host, cfg->overlay.len);
	}
	if (role == PG_ROLE_GATEWAY)
		for (unsigned i = 0; i < cfg->overlay_allow.n; i++)
			if (cfg->overlay_allow.items[i].family != AF_INET)
				pg_settings_report(
				    ld, "GATEWAY_OVERLAY_ALLOW_CIDRS: '%s': IPv4 CIDRs only",
				    pg_prefix_fmt(&cfg->overlay_allow.items[i],
						  (char[PG_PREFIX_STRLEN]){0}, true));
	if (role == PG_ROLE_CLIENT)
		default_identity(cfg);
	if (role == PG_ROLE_CLIENT)
		check_replica(ld, cfg);
	if (role == PG_ROLE_CLIENT && cfg->client_addr.family) {
		struct pg_prefix gw, bcast;
		char a[PG_PREFIX_STRLEN];

		pg_prefix_fmt(&cfg->client_addr, a, false);
		pg_prefix_host(&cfg->overlay, 1, &gw);
		pg_prefix_host(&cfg->overlay, (1u << (32 - cfg->overlay.len)) - 1, &bcast);
		if (cfg->client_addr.len && cfg->client_addr.len != cfg->overlay.len)
			pg_settings_report(ld,
					   "CLIENT_ADDRESS: '%s/%u': prefix length differs from "
					   "VXLAN_IP_NETWORK's /%u",
					   a, cfg->client_addr.len, cfg->overlay.len);
		cfg->client_addr.len = cfg->overlay.len;
		if (!pg_prefix_contains(&cfg->overlay, &cfg->client_addr))
			pg_settings_report(ld, "CLIENT_ADDRESS: '%s': outside VXLAN_IP_NETWORK", a);
		else if (memcmp(cfg->client_addr.bytes, cfg->overlay.bytes, 4) == 0 ||
			 memcmp(cfg->client_addr.bytes, gw.bytes, 4) == 0 ||
			 memcmp(cfg->client_addr.bytes, bcast.bytes, 4) == 0)
			pg_settings_report(
			    ld,
			    "CLIENT_ADDRESS: '%s': the network, gateway or broadcast "
			    "address",
			    a);
	}
}

static void usage(FILE *out, unsigned role, const char *prog)
{
	pg_config_usage(out, (enum pg_role)role, prog);
}

static const struct pg_settings_table table = {
    .settings = settings,
    .n = N_SETTINGS,
    .cfg_size = sizeof(struct pg_config),
    .ignored = not_implemented,
    .n_ignored = N_NOT_IMPLEMENTED,
    .file = true,
    .check = check,
    .usage = usage,
};

int pg_config_load_text(struct pg_config *cfg, enum pg_role role, const char *name,
			const char *text, size_t len, FILE *err)
{
	return pg_settings_load_text(&table, role, cfg, name, text, len, err);
}

int pg_config_load(struct pg_config *cfg, enum pg_role role, int argc, char **argv, char **envp,
		   FILE *err, int *first_arg)
{
	return pg_settings_load(&table, role, cfg, argc, argv, envp, err, first_arg);
}

void pg_config_usage(FILE *out, enum pg_role role, const char *prog)
{
	pg_settings_usage(out, &table, role);
	fprintf(out, "  %-38s validate the settings as a start would, print them, exit\n",
		"--check-config");
}

void pg_config_print(FILE *out, enum pg_role role, const struct pg_config *cfg)
{
	pg_settings_print(out, &table, role, cfg);
}
