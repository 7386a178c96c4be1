/* SPDX-License-Identifier: MIT */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define FILE_MAX_BYTES (1u << 20)

struct setting;

/* A value type: parses text into the field of struct pg_config that the
 * setting points at, or sets *why and fails. */
struct value_type {
	const char *metavar;
	int (*parse)(const struct setting *s, const char *text, void *field, const char **why);
};

struct setting {
	const char *key;
	const char *alias; /* a second environment name, e.g. pod-gateway's "gateway" */
	const char *option;
	const char *def;
	const char *help;
	unsigned roles;
	bool required;
	const struct value_type *type;
	size_t offset;
	size_t size; /* of a string field */
	unsigned long min, max;
};

/* ---- value types ---- */

static int parse_number(const struct setting *s, const char *text, void *field, const char **why)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)text[0])) {
		*why = "not a number";
		return -EINVAL;
	}
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end) {
		*why = *end ? "not a number" : "out of range";
		return -EINVAL;
	}
	if (v < s->min || v > s->max) {
		static char buf[64];

		snprintf(buf, sizeof(buf), "must be between %lu and %lu", s->min, s->max);
		*why = buf;
		return -EINVAL;
	}
	*(uint32_t *)field = (uint32_t)v;
	return 0;
}

/* An optional number: empty means unset (0). */
static int parse_opt_number(const struct setting *s, const char *text, void *field,
			    const char **why)
{
	if (!*text) {
		*(uint32_t *)field = 0;
		return 0;
	}
	return parse_number(s, text, field, why);
}

/* pod-gateway writes the overlay as "172.16.0" meaning a /24. */
static int parse_network(const struct setting *s, const char *text, void *field, const char **why)
{
	struct pg_prefix *p = field;
	char buf[PG_PREFIX_STRLEN];
	int dots = 0;

	for (const char *c = text; *c; c++)
		dots += *c == '.';
	if (dots == 2 && !strchr(text, '/')) {
		int n = snprintf(buf, sizeof(buf), "%s.0/24", text);

		if (n < 0 || (size_t)n >= sizeof(buf)) {
			*why = "not a CIDR";
			return -EINVAL;
		}
		text = buf;
	}
	if (!strchr(text, '/')) {
		*why = "not a CIDR (e.g. 172.16.0.0/24 or 172.16.0)";
		return -EINVAL;
	}
	if (pg_prefix_parse(text, p, true) < 0 || p->family != AF_INET) {
		*why = "not an IPv4 CIDR";
		return -EINVAL;
	}
	if (p->len < s->min || p->len > s->max) {
		*why = "prefix length must be between /16 and /29";
		return -EINVAL;
	}
	if (pg_prefix_parse(text, p, false) < 0) {
		*why = "host bits set (did you mean the network address?)";
		return -EINVAL;
	}
	return 0;
}

static int parse_ifname(const struct setting *s, const char *text, void *field, const char **why)
{
	size_t len = strlen(text);

	if (len >= s->size) {
		*why = "interface name longer than 15 characters";
		return -EINVAL;
	}
	if (strcmp(text, ".") == 0 || strcmp(text, "..") == 0) {
		*why = "not an interface name";
		return -EINVAL;
	}
	for (const char *c = text; *c; c++) {
		if (*c == '/' || *c == ':' || isspace((unsigned char)*c) ||
		    !isprint((unsigned char)*c)) {
			*why = "interface names cannot contain '/', ':' or spaces";
			return -EINVAL;
		}
	}
	if (s->required && !len) {
		*why = "must not be empty";
		return -EINVAL;
	}
	memcpy(field, text, len + 1);
	return 0;
}

/* A DNS name or an IP literal. */
static int parse_host(const struct setting *s, const char *text, void *field, const char **why)
{
	size_t len = strlen(text);

	if (len > PG_HOSTNAME_MAX) {
		*why = "longer than 253 characters";
		return -EINVAL;
	}
	for (const char *c = text; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != ':' &&
		    *c != '_') {
			*why = "not a host name or IP address";
			return -EINVAL;
		}
	}
	memcpy(field, text, len + 1);
	return 0;
}

static int parse_overlay_addr(const struct setting *s, const char *text, void *field,
			      const char **why)
{
	struct pg_prefix *p = field;

	if (!*text) {
		memset(p, 0, sizeof(*p));
		return 0;
	}
	if (pg_prefix_parse(text, p, true) < 0 || p->family != AF_INET) {
		*why = "not an IPv4 address";
		return -EINVAL;
	}
	/* The prefix length comes from VXLAN_IP_NETWORK; a /len here must agree
	 * and is checked against it once both are known. */
	if (!strchr(text, '/'))
		p->len = 0;
	return 0;
}

/* Blank- or comma-separated, as pod-gateway writes its lists. */
static int parse_list(const struct setting *s, const char *text, void *field, const char **why,
		      bool addresses_only)
{
	struct pg_prefix_list *list = field;
	const char *c = text;

	list->n = 0;
	while (*c) {
		char item[PG_PREFIX_STRLEN + 1];
		size_t n = strcspn(c, " \t,");

		if (n == 0) {
			c++;
			continue;
		}
		if (n >= sizeof(item)) {
			*why = "list item too long";
			return -EINVAL;
		}
		if (list->n == PG_MAX_PREFIXES) {
			*why = "more than 64 entries";
			return -EINVAL;
		}
		memcpy(item, c, n);
		item[n] = '\0';
		if (addresses_only ? pg_addr_parse(item, &list->items[list->n])
				   : pg_prefix_parse(item, &list->items[list->n], false)) {
			static char buf[96];

			snprintf(buf, sizeof(buf), "'%s' is not %s", item,
				 addresses_only ? "an IP address" : "a CIDR without host bits");
			*why = buf;
			return -EINVAL;
		}
		list->n++;
		c += n;
	}
	return 0;
}

static int parse_cidr_list(const struct setting *s, const char *text, void *field, const char **why)
{
	return parse_list(s, text, field, why, false);
}

static int parse_ip_list(const struct setting *s, const char *text, void *field, const char **why)
{
	return parse_list(s, text, field, why, true);
}

/* An IPv4 address, or empty for none. */
static int parse_opt_ipv4(const struct setting *s, const char *text, void *field, const char **why)
{
	struct pg_prefix *p = field;

	if (!*text) {
		memset(p, 0, sizeof(*p));
		return 0;
	}
	if (pg_addr_parse(text, p) < 0 || p->family != AF_INET) {
		*why = "not an IPv4 address";
		return -EINVAL;
	}
	return 0;
}

/* pod-gateway's scripts test for "true"; anything else there means false,
 * which here is an error rather than a silent off. */
static int parse_bool(const struct setting *s, const char *text, void *field, const char **why)
{
	if (strcmp(text, "true") == 0) {
		*(bool *)field = true;
	} else if (strcmp(text, "false") == 0) {
		*(bool *)field = false;
	} else {
		*why = "must be true or false";
		return -EINVAL;
	}
	return 0;
}

static int parse_path(const struct setting *s, const char *text, void *field, const char **why)
{
	size_t len = strlen(text);

	if (len >= s->size) {
		*why = "path too long";
		return -EINVAL;
	}
	if (len && text[0] != '/') {
		*why = "must be an absolute path";
		return -EINVAL;
	}
	memcpy(field, text, len + 1);
	return 0;
}

static int parse_level(const struct setting *s, const char *text, void *field, const char **why)
{
	if (pg_log_level_parse(text, field) < 0) {
		*why = "must be one of error, warning, info, debug";
		return -EINVAL;
	}
	return 0;
}

static int parse_log_format(const struct setting *s, const char *text, void *field,
			    const char **why)
{
	if (pg_log_format_parse(text, field) < 0) {
		*why = "must be logfmt or json";
		return -EINVAL;
	}
	return 0;
}

/* "ADDRESS:PORT", ":PORT" (an address chosen at start) or "" (off); the
 * address itself is checked when the socket is made. */
static int parse_listen(const struct setting *s, const char *text, void *field, const char **why)
{
	const char *colon = strrchr(text, ':');
	char *end;
	unsigned long port;

	if (strlen(text) >= s->size) {
		*why = "too long for ADDRESS:PORT";
		return -EINVAL;
	}
	if (*text) {
		if (!colon || !isdigit((unsigned char)colon[1])) {
			*why = "expected ADDRESS:PORT, :PORT or empty";
			return -EINVAL;
		}
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (*end || errno || port == 0 || port > 65535) {
			*why = "the port must be between 1 and 65535";
			return -EINVAL;
		}
	}
	memcpy(field, text, strlen(text) + 1);
	return 0;
}

/* Kubernetes object names as the membership protocol carries them: pod
 * names printable without spaces, namespaces DNS labels. Empty: derived
 * at start (hostname, service account namespace). */
static int parse_k8s_name(const struct setting *s, const char *text, void *field, const char **why)
{
	size_t len = strlen(text);
	bool label = s->max == PG_NAMESPACE_MAX;

	if (len > s->max) {
		*why = label ? "longer than 63 characters" : "longer than 253 characters";
		return -EINVAL;
	}
	for (const char *c = text; *c; c++) {
		bool ok =
		    label ? (islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-')
			  : (isgraph((unsigned char)*c) != 0);

		if (!ok) {
			*why = label ? "not a DNS label (a-z, 0-9, '-')"
				     : "not printable without spaces";
			return -EINVAL;
		}
	}
	memcpy(field, text, len + 1);
	return 0;
}

/* A domain (DNS_LOCAL_CIDRS: pod-gateway's name for a list of domains):
 * letters, digits, '-' and '_' in labels of 1 to 63, stored lower case
 * without a final dot. */
static bool domain_ok(const char *d, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > PG_DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (d[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)d[i]) || d[i] == '-' || d[i] == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* Blank- or comma-separated, as the list settings. */
static int parse_domain_list(const struct setting *s, const char *text, void *field,
			     const char **why)
{
	struct pg_domain_list *list = field;

	list->n = 0;
	for (const char *c = text; *c;) {
		size_t n = strcspn(c, " \t,");

		if (n == 0) {
			c++;
			continue;
		}
		if (list->n == PG_MAX_DOMAINS) {
			*why = "more than 16 domains";
			return -EINVAL;
		}
		if (n > 1 && c[n - 1] == '.' && n - 1 <= PG_DNS_NAME_MAX)
			n--; /* "cluster.local." is "cluster.local" */
		if (!domain_ok(c, n)) {
			*why = "not a list of domain names (e.g. \"local\" or \"cluster.local\")";
			return -EINVAL;
		}
		for (size_t i = 0; i < n; i++)
			list->items[list->n][i] = (char)tolower((unsigned char)c[i]);
		list->items[list->n++][n] = '\0';
		c += n;
		c += *c == '.';
	}
	return 0;
}

/* K_SINK: empty (no events) or an http:// or https:// URL with a host.
 * Credentials in the URL are refused: the URL is logged. */
static int parse_url(const struct setting *s, const char *text, void *field, const char **why)
{
	size_t len = strlen(text), skip, host;

	if (!len) {
		*(char *)field = '\0';
		return 0;
	}
	if (len >= s->size) {
		*why = "URL too long";
		return -EINVAL;
	}
	if (strncasecmp(text, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(text, "https://", 8) == 0)
		skip = 8;
	else {
		*why = "not an http:// or https:// URL";
		return -EINVAL;
	}
	for (const char *c = text; *c; c++) {
		if (!isgraph((unsigned char)*c)) {
			*why = "spaces or control characters in the URL";
			return -EINVAL;
		}
	}
	host = strcspn(text + skip, "/?#");
	if (host == 0 || text[skip] == ':') {
		*why = "no host in the URL";
		return -EINVAL;
	}
	if (memchr(text + skip, '@', host)) {
		*why = "credentials in the URL are not supported (it is logged)";
		return -EINVAL;
	}
	memcpy(field, text, len + 1);
	return 0;
}

/* Free text checked elsewhere (K_CE_OVERRIDES is JSON: gatewayd's events
 * module parses it at start). */
static int parse_text(const struct setting *s, const char *text, void *field, const char **why)
{
	size_t len = strlen(text);

	if (len >= s->size) {
		*why = "too long";
		return -EINVAL;
	}
	memcpy(field, text, len + 1);
	return 0;
}

static const struct value_type t_number = {"N", parse_number};
static const struct value_type t_opt_number = {"N", parse_opt_number};
static const struct value_type t_network = {"CIDR", parse_network};
static const struct value_type t_ifname = {"IFNAME", parse_ifname};
static const struct value_type t_host = {"HOST", parse_host};
static const struct value_type t_overlay_addr = {"IP", parse_overlay_addr};
static const struct value_type t_cidr_list = {"CIDRS", parse_cidr_list};
static const struct value_type t_ip_list = {"IPS", parse_ip_list};
static const struct value_type t_opt_ipv4 = {"IP", parse_opt_ipv4};
static const struct value_type t_bool = {"BOOL", parse_bool};
static const struct value_type t_path = {"PATH", parse_path};
static const struct value_type t_level = {"LEVEL", parse_level};
static const struct value_type t_k8s_name = {"NAME", parse_k8s_name};
static const struct value_type t_domain_list = {"DOMAINS", parse_domain_list};
static const struct value_type t_url = {"URL", parse_url};
static const struct value_type t_text = {"JSON", parse_text};
static const struct value_type t_log_format = {"FORMAT", parse_log_format};
static const struct value_type t_listen = {"ADDR:PORT", parse_listen};

/* ---- the settings ---- */

#define FIELD(f)    offsetof(struct pg_config, f), sizeof(((struct pg_config *)0)->f)
#define GW	    PG_ROLE_GATEWAY
#define CL	    PG_ROLE_CLIENT
#define SECONDS_MAX 3600

static const struct setting settings[] = {
    {"VXLAN_ID", NULL, "vxlan-id", "42", "VXLAN network identifier", GW | CL, false, &t_number,
     FIELD(vxlan_id), 1, (1ul << 24) - 1},
    {"VXLAN_PORT", NULL, "vxlan-port", "8472", "VXLAN UDP port", GW | CL, false, &t_number,
     FIELD(vxlan_port), 1, 65535},
    {"VXLAN_IP_NETWORK", NULL, "vxlan-ip-network", "172.16.0.0/24",
     "overlay network (\"172.16.0\" means /24); the gateway is its first host", GW | CL, false,
     &t_network, FIELD(overlay), 16, 29},
    {"VXLAN_INTERFACE", NULL, "vxlan-interface", "vxlan0", "name of the vxlan link", GW | CL, true,
     &t_ifname, FIELD(vxlan_if), 0, 0},
    {"UNDERLAY_INTERFACE", NULL, "underlay-interface", "eth0",
     "pod network interface that carries the tunnel", GW, true, &t_ifname, FIELD(underlay_if), 0,
     0},
    {"VPN_INTERFACE", NULL, "vpn-interface", "",
     "egress interface (a VPN's tun0/wg0); empty: the underlay", GW, false, &t_ifname,
     FIELD(vpn_if), 0, 0},
    {"VPN_INTERFACE_MTU", NULL, "vpn-interface-mtu", "",
     "upper bound for the vxlan MTU; empty: underlay MTU - 50", GW | CL, false, &t_opt_number,
     FIELD(vpn_mtu), 576, 65535},
    {"SNAT_IP", NULL, "snat-ip", "",
     "source address for traffic leaving through the egress; empty: masquerade", GW, false,
     &t_opt_ipv4, FIELD(snat_ip), 0, 0},
    {"VPN_LOCAL_CIDRS", NULL, "vpn-local-cidrs", "",
     "destinations reached through the underlay even with a VPN (blank or comma separated)", GW,
     false, &t_cidr_list, FIELD(vpn_local), 0, 0},
    {"VPN_BLOCK_OTHER_TRAFFIC", NULL, "vpn-block-other-traffic", "true",
     "kill switch: with VPN_INTERFACE, nothing but the VPN leaves the underlay", GW, false, &t_bool,
     FIELD(vpn_block), 0, 0},
    {"VPN_TRAFFIC_PORT", NULL, "vpn-traffic-port", "443",
     "the VPN endpoint's port (UDP and TCP), allowed out of the underlay by the kill switch", GW,
     false, &t_number, FIELD(vpn_port), 1, 65535},
    {"GATEWAY_NAME", "gateway", "gateway", "", "gateway to route through: DNS name or pod IP", CL,
     true, &t_host, FIELD(gateway), 0, 0},
    {"CLIENT_ADDRESS", NULL, "address", "",
     "overlay address to ask for; empty: the gateway assigns one", CL, false, &t_overlay_addr,
     FIELD(client_addr), 0, 0},
    {"NOT_ROUTED_TO_GATEWAY_CIDRS", NULL, "not-routed-to-gateway-cidrs", "",
     "CIDRs kept on the pod network (cluster and service ranges)", CL, false, &t_cidr_list,
     FIELD(not_routed), 0, 0},
    {"K8S_DNS_IPS", "K8S_DNS_ips", "k8s-dns-ips", "",
     "cluster DNS addresses kept on the pod network", CL, false, &t_ip_list, FIELD(dns), 0, 0},
    {"GATEWAY_RESOLVE_TIMEOUT", NULL, "gateway-resolve-timeout", "10",
     "seconds to keep resolving the gateway's name", CL, false, &t_number, FIELD(resolve_timeout),
     1, SECONDS_MAX},
    {"GATEWAY_CHECK_TIMEOUT", NULL, "gateway-check-timeout", "5",
     "seconds to wait for the gateway to answer through the tunnel", CL, false, &t_number,
     FIELD(check_timeout), 1, SECONDS_MAX},
    {"GATEWAY_CONTROL_PORT", NULL, "gateway-control-port", "8473",
     "UDP port of the membership service on the gateway's pod IP", GW | CL, false, &t_number,
     FIELD(control_port), 1, 65535},
    {"MEMBERSHIP_KEY_FILE", NULL, "membership-key-file", "",
     "shared key authenticating membership messages (mode 0600); empty: any pod may join", GW | CL,
     false, &t_path, FIELD(key_file), 0, 0},
    {"VXLAN_GATEWAY_FIRST_DYNAMIC_IP", NULL, "vxlan-gateway-first-dynamic-ip", "20",
     "first host index leased dynamically; lower ones only by reservation or request", GW, false,
     &t_number, FIELD(first_dynamic), 2, 65533},
    {"LEASE_TIME", NULL, "lease-time", "30", "seconds a lease lives without renewal", GW, false,
     &t_number, FIELD(lease_time), 2, SECONDS_MAX},
    {"LEASES_FILE", NULL, "leases-file", "/var/lib/podgw/leases",
     "where leases persist across restarts; empty: not persisted", GW, false, &t_path,
     FIELD(leases_file), 0, 0},
    {"NAT_CONF_FILE", NULL, "nat-conf-file", "",
     "pod-gateway's nat.conf (\"name index ports\"): reservations and port forwards; re-read on "
     "SIGHUP and on change",
     GW, false, &t_path, FIELD(nat_conf), 0, 0},
    {"KEEPALIVE_INTERVAL_MS", NULL, "keepalive-interval-ms", "250",
     "milliseconds between keepalives (lease renewals) to the gateway", CL, false, &t_number,
     FIELD(keepalive_interval), 50, 60000},
    {"KEEPALIVE_MISSES", NULL, "keepalive-misses", "4",
     "unanswered keepalives in a row before the gateway counts as lost", CL, false, &t_number,
     FIELD(keepalive_misses), 1, 100},
    {"POD_NAME", NULL, "pod-name", "", "this pod's name, its identity (default: hostname)", CL,
     false, &t_k8s_name, FIELD(pod_name), 0, PG_POD_NAME_MAX},
    {"POD_NAMESPACE", NULL, "pod-namespace", "",
     "this pod's namespace (default: the service account's, else \"default\")", CL, false,
     &t_k8s_name, FIELD(pod_namespace), 0, PG_NAMESPACE_MAX},
    {"CLIENT_DNS_THROUGH_TUNNEL", NULL, "dns-through-tunnel", "false",
     "the pod's DNS (port 53, to any server) goes to the gateway through the tunnel, and none "
     "leaves the pod network",
     CL, false, &t_bool, FIELD(dns_through_tunnel), 0, 0},
    {"DNS_FORWARDER", NULL, "dns-forwarder", "true",
     "answer DNS on the overlay address (UDP; TCP goes to the first upstream)", GW, false, &t_bool,
     FIELD(dns_forwarder), 0, 0},
    {"DNS_UPSTREAM_SERVERS", NULL, "dns-upstream-servers", "",
     "IPv4 DNS servers reached through the egress; empty: DNS_RESOLV_CONF's nameservers", GW, false,
     &t_ip_list, FIELD(dns_upstream), 0, 0},
    {"DNS_LOCAL_CIDRS", NULL, "dns-local-cidrs", "local",
     "domains whose names DNS_LOCAL_SERVER answers (blank or comma separated)", GW, false,
     &t_domain_list, FIELD(dns_local), 0, 0},
    {"DNS_LOCAL_SERVER", NULL, "dns-local-server", "",
     "the cluster DNS, reached through the underlay; empty: DNS_RESOLV_CONF's first nameserver", GW,
     false, &t_opt_ipv4, FIELD(dns_local_server), 0, 0},
    {"DNS_RESOLV_CONF", NULL, "dns-resolv-conf", "/etc/resolv.conf",
     "resolv.conf naming the DNS servers not set (clientd: the cluster DNS for its own lookups)",
     GW | CL, false, &t_path, FIELD(resolv_conf), 0, 0},
    {"READY_FILE", NULL, "ready-file", "", "file written once set up (for probes)", GW | CL, false,
     &t_path, FIELD(ready_file), 0, 0},
    {"LOG_LEVEL", NULL, "log-level", "info", "error, warning, info or debug", GW | CL, false,
     &t_level, FIELD(log_level), 0, 0},
    {"K_SINK", NULL, "k-sink", "",
     "http(s) URL that gets io.podgateway.client.connected/disconnected CloudEvents (Knative "
     "SinkBinding sets it); empty: none",
     GW, false, &t_url, FIELD(k_sink), 0, 0},
    {"K_CE_OVERRIDES", NULL, "k-ce-overrides", "",
     "JSON {\"extensions\":{\"name\":\"value\"}} added to each event (Knative SinkBinding "
     "sets it)",
     GW, false, &t_text, FIELD(ce_overrides), 0, 0},
    {"EVENTS_GATEWAY_NAME", NULL, "events-gateway-name", "",
     "this gateway's name in events (data.gateway_name, source); empty: the hostname", GW, false,
     &t_k8s_name, FIELD(events_gateway), 0, PG_NAMESPACE_MAX},
    {"LOG_FORMAT", NULL, "log-format", "logfmt",
     "logfmt (ts=... level=... msg=\"...\" key=value) or json, one line per event", GW | CL, false,
     &t_log_format, FIELD(log_format), 0, 0},
    {"METRICS_ADDRESS", NULL, "metrics-address", ":9108",
     "HTTP /metrics, /healthz and /readyz; \":PORT\" listens on UNDERLAY_INTERFACE's address "
     "(the pod IP, never the overlay); empty: off",
     GW, false, &t_listen, FIELD(metrics_address), 0, 0},
    {"STATUS_SOCKET", NULL, "status-socket", "/run/podgw/gatewayd.sock",
     "unix socket (mode 0660) that `gatewayd status` reads the leases from; empty: none", GW, false,
     &t_path, FIELD(status_socket), 0, 0},
    {"STATE_FILE", NULL, "state-file", "",
     "where the sidecar publishes its state for `clientd check --verbose`; empty: none", CL, false,
     &t_path, FIELD(state_file), 0, 0},
};

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

/* pod-gateway settings that podgw reads without error but does not act on
 * yet: named once in a warning, so that nothing silently does nothing. */
static const char *const not_implemented[] = {
    "RESOLV_CONF_COPY", "GATEWAY_ENABLE_DNSSEC",  "IPTABLES_NFT",
    "DHCP_LEASE_TIME",	"CONNECTION_RETRY_COUNT",
};

#define N_NOT_IMPLEMENTED (sizeof(not_implemented) / sizeof(not_implemented[0]))

/* ---- raw values and where they came from ---- */

enum layer { L_FILE, L_ENV, L_OPTION, N_LAYERS };

struct raw {
	char *value;
	char source[PATH_MAX + 32];
};

struct loader {
	enum pg_role role;
	FILE *err;
	int errors;
	struct raw raw[N_LAYERS][N_SETTINGS];
	bool seen_unimplemented[N_NOT_IMPLEMENTED];
	char **envp;
	/* variables the file defined, for ${NAME} expansion */
	char **vars;
	size_t n_vars;
};

static void report(struct loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(struct loader *ld, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(ld->err, fmt, ap);
	va_end(ap);
	fputc('\n', ld->err);
	ld->errors++;
}

static const char *env_get(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (char **e = envp; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static int find_setting(const char *key)
{
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (strcmp(settings[i].key, key) == 0 ||
		    (settings[i].alias && strcmp(settings[i].alias, key) == 0))
			return (int)i;
	return -1;
}

static int find_not_implemented(const char *key)
{
	for (size_t i = 0; i < N_NOT_IMPLEMENTED; i++)
		if (strcmp(not_implemented[i], key) == 0)
			return (int)i;
	return -1;
}

static int set_raw(struct loader *ld, enum layer layer, size_t idx, const char *value,
		   const char *source)
{
	struct raw *r = &ld->raw[layer][idx];
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(r->value);
	r->value = copy;
	snprintf(r->source, sizeof(r->source), "%s", source);
	return 0;
}

/* Makes wire or file text safe to echo in one log line. */
static void printable(char *dst, size_t size, const char *src)
{
	size_t j = 0;

	for (size_t i = 0; src[i] && j + 5 < size; i++) {
		unsigned char c = (unsigned char)src[i];

		if (isprint(c) && c != '\'')
			dst[j++] = (char)c;
		else
			j += (size_t)snprintf(dst + j, size - j, "\\x%02x", c);
	}
	dst[j] = '\0';
}

/* ---- the settings file: KEY=VALUE in settings.sh's subset of shell ---- */

struct strbuf {
	char *s;
	size_t len, cap;
};

static int sb_put(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p)
			return -ENOMEM;
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static const char *var_get(struct loader *ld, const char *name)
{
	size_t n = strlen(name);

	/* Later definitions win, as in the shell. */
	for (size_t i = ld->n_vars; i-- > 0;)
		if (strncmp(ld->vars[i], name, n) == 0 && ld->vars[i][n] == '=')
			return ld->vars[i] + n + 1;
	return env_get(ld->envp, name);
}

static int var_set(struct loader *ld, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char **vars = realloc(ld->vars, (ld->n_vars + 1) * sizeof(*vars));
	char *v;

	if (!vars)
		return -ENOMEM;
	ld->vars = vars;
	v = malloc(len);
	if (!v)
		return -ENOMEM;
	snprintf(v, len, "%s=%s", name, value);
	ld->vars[ld->n_vars++] = v;
	return 0;
}

static bool name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Expands $NAME or ${NAME} at *p (which points at '$'). */
static int expand(struct loader *ld, const char **p, const char *end, struct strbuf *out,
		  const char **why)
{
	const char *c = *p + 1;
	char name[128];
	size_t n = 0;
	bool braced = c < end && *c == '{';
	const char *value;

	if (braced)
		c++;
	if (c >= end || !name_start(*c)) {
		*why = c < end && *c == '(' ? "command substitution is not supported"
					    : "only $NAME and ${NAME} expansions are supported";
		return -EINVAL;
	}
	while (c < end && name_char(*c) && n + 1 < sizeof(name))
		name[n++] = *c++;
	name[n] = '\0';
	if (braced) {
		if (c >= end || *c != '}') {
			*why = "only $NAME and ${NAME} expansions are supported";
			return -EINVAL;
		}
		c++;
	}
	value = var_get(ld, name);
	*p = c;
	return value ? sb_put(out, value, strlen(value)) : 0;
}

/* Parses one line; returns 0 with *key empty for blank/comment lines. */
static int parse_line(struct loader *ld, const char *line, const char *end, char *key,
		      size_t key_size, struct strbuf *val, const char **why)
{
	const char *c = line;
	size_t n = 0;

	key[0] = '\0';
	while (c < end && (*c == ' ' || *c == '\t'))
		c++;
	if (c == end || *c == '#')
		return 0;
	if (end - c > 7 && strncmp(c, "export", 6) == 0 && (c[6] == ' ' || c[6] == '\t')) {
		c += 6;
		while (c < end && (*c == ' ' || *c == '\t'))
			c++;
	}
	if (!name_start(*c)) {
		*why = "expected KEY=VALUE";
		return -EINVAL;
	}
	while (c < end && name_char(*c)) {
		if (n + 1 >= key_size) {
			*why = "name too long";
			return -EINVAL;
		}
		key[n++] = *c++;
	}
	key[n] = '\0';
	if (c == end || *c != '=') {
		*why = "expected KEY=VALUE";
		return -EINVAL;
	}
	c++;
	if (sb_put(val, "", 0) < 0)
		return -ENOMEM;
	while (c < end && *c != ' ' && *c != '\t') {
		int r = 0;

		if (*c == '\'') {
			const char *q = memchr(c + 1, '\'', (size_t)(end - c - 1));

			if (!q) {
				*why = "unterminated single quote";
				return -EINVAL;
			}
			r = sb_put(val, c + 1, (size_t)(q - c - 1));
			c = q + 1;
		} else if (*c == '"') {
			c++;
			while (c < end && *c != '"' && r == 0) {
				if (*c == '$') {
					r = expand(ld, &c, end, val, why);
				} else if (*c == '`') {
					*why = "command substitution is not supported";
					return -EINVAL;
				} else if (*c == '\\' && c + 1 < end && strchr("\"\\$`", c[1])) {
					r = sb_put(val, c + 1, 1);
					c += 2;
				} else {
					r = sb_put(val, c++, 1);
				}
			}
			if (r == 0 && c == end) {
				*why = "unterminated double quote";
				return -EINVAL;
			}
			c++;
		} else if (*c == '$') {
			r = expand(ld, &c, end, val, why);
		} else if (strchr("`;&|<>()\\", *c)) {
			*why = "shell syntax beyond KEY=VALUE is not supported";
			return -EINVAL;
		} else {
			r = sb_put(val, c++, 1);
		}
		if (r < 0)
			return r;
	}
	while (c < end && (*c == ' ' || *c == '\t'))
		c++;
	if (c < end && *c != '#') {
		*why = "unexpected text after the value (quote values with spaces)";
		return -EINVAL;
	}
	return 0;
}

static int load_text(struct loader *ld, const char *name, const char *text, size_t size)
{
	const char *line = text, *stop = text + size;
	unsigned lineno = 0;
	struct strbuf val = {0};
	int r = 0;

	while (line < stop && r >= 0) {
		size_t rest = (size_t)(stop - line);
		const char *nl = memchr(line, '\n', rest);
		size_t len = nl ? (size_t)(nl - line) : rest;
		const char *next = nl ? nl + 1 : stop, *end;
		char key[128], source[PATH_MAX + 32];
		const char *why = NULL;
		int idx;

		lineno++;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		end = line + len;
		val.len = 0;
		snprintf(source, sizeof(source), "%s:%u", name, lineno);
		if (memchr(line, '\0', len)) {
			report(ld, "%s: NUL byte in settings file", source);
		} else if ((r = parse_line(ld, line, end, key, sizeof(key), &val, &why)) ==
			   -EINVAL) {
			char shown[256];
			size_t n = len < 80 ? len : 80;
			char raw[81];

			memcpy(raw, line, n);
			raw[n] = '\0';
			printable(shown, sizeof(shown), raw);
			report(ld, "%s: '%s': %s", source, shown, why);
			r = 0;
		} else if (r == 0 && key[0]) {
			r = var_set(ld, key, val.s);
			if (r == 0 && (idx = find_setting(key)) >= 0)
				r = set_raw(ld, L_FILE, (size_t)idx, val.s, source);
			else if (r == 0 && (idx = find_not_implemented(key)) >= 0)
				ld->seen_unimplemented[idx] = true;
			else if (r == 0)
				report(ld, "%s: %s: unknown setting", source, key);
		}
		line = next;
	}
	free(val.s);
	return r;
}

static int load_file(struct loader *ld, const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len;
	int r;

	if (!f) {
		report(ld, "--config: '%s': %s", path, strerror(errno));
		return 0;
	}
	text = malloc(FILE_MAX_BYTES + 1);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(text, 1, FILE_MAX_BYTES + 1, f);
	if (ferror(f))
		report(ld, "--config: '%s': read error", path);
	else if (len > FILE_MAX_BYTES)
		report(ld, "--config: '%s': larger than 1 MiB", path);
	else if ((r = load_text(ld, path, text, len)) < 0) {
		free(text);
		fclose(f);
		return r;
	}
	free(text);
	fclose(f);
	return 0;
}

static void load_env(struct loader *ld)
{
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const char *names[] = {settings[i].alias, settings[i].key};

		/* The canonical name wins over pod-gateway's alias when both exist. */
		for (size_t k = 0; k < 2; k++) {
			const char *v = names[k] ? env_get(ld->envp, names[k]) : NULL;
			char source[64];

			if (!v)
				continue;
			snprintf(source, sizeof(source), "environment %s", names[k]);
			if (set_raw(ld, L_ENV, i, v, source) < 0)
				report(ld, "out of memory");
		}
	}
	for (size_t i = 0; i < N_NOT_IMPLEMENTED; i++) {
		const char *v = env_get(ld->envp, not_implemented[i]);

		if (v && *v)
			ld->seen_unimplemented[i] = true;
	}
}

/* ---- second pass: validation ---- */

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

static void validate(struct loader *ld, struct pg_config *cfg)
{
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		const struct raw *r = NULL;
		const char *text = s->def, *why = "invalid";
		char shown[512];

		if (!(s->roles & ld->role))
			continue;
		for (int l = N_LAYERS - 1; l >= 0 && !r; l--)
			if (ld->raw[l][i].value)
				r = &ld->raw[l][i];
		if (r)
			text = r->value;
		if (s->required && !*text && s->type != &t_ifname) {
			report(ld, "%s: required setting is missing (set %s%s%s or --%s)", s->key,
			       s->key, s->alias ? ", " : "", s->alias ? s->alias : "", s->option);
			continue;
		}
		if (s->type->parse(s, text, (char *)cfg + s->offset, &why) < 0) {
			printable(shown, sizeof(shown), text);
			report(ld, "%s: %s: '%s': %s", r ? r->source : "default", s->key, shown,
			       why);
		}
	}
	if (ld->errors)
		return;

	if (ld->role == PG_ROLE_GATEWAY) {
		uint32_t last_host = (1u << (32 - cfg->overlay.len)) - 2;

		if (cfg->first_dynamic > last_host)
			report(ld,
			       "VXLAN_GATEWAY_FIRST_DYNAMIC_IP: '%u': beyond the last host (%u) of "
			       "VXLAN_IP_NETWORK's /%u",
			       cfg->first_dynamic, last_host, cfg->overlay.len);
	}
	if (ld->role == PG_ROLE_GATEWAY)
		for (unsigned i = 0; i < cfg->dns_upstream.n; i++)
			if (cfg->dns_upstream.items[i].family != AF_INET)
				report(ld, "DNS_UPSTREAM_SERVERS: '%s': IPv4 addresses only",
				       pg_prefix_fmt(&cfg->dns_upstream.items[i],
						     (char[PG_PREFIX_STRLEN]){0}, false));
	if (ld->role == PG_ROLE_CLIENT)
		default_identity(cfg);
	if (ld->role == PG_ROLE_CLIENT && cfg->client_addr.family) {
		struct pg_prefix gw, bcast;
		char a[PG_PREFIX_STRLEN];

		pg_prefix_fmt(&cfg->client_addr, a, false);
		pg_prefix_host(&cfg->overlay, 1, &gw);
		pg_prefix_host(&cfg->overlay, (1u << (32 - cfg->overlay.len)) - 1, &bcast);
		if (cfg->client_addr.len && cfg->client_addr.len != cfg->overlay.len)
			report(ld,
			       "CLIENT_ADDRESS: '%s/%u': prefix length differs from "
			       "VXLAN_IP_NETWORK's /%u",
			       a, cfg->client_addr.len, cfg->overlay.len);
		cfg->client_addr.len = cfg->overlay.len;
		if (!pg_prefix_contains(&cfg->overlay, &cfg->client_addr))
			report(ld, "CLIENT_ADDRESS: '%s': outside VXLAN_IP_NETWORK", a);
		else if (memcmp(cfg->client_addr.bytes, cfg->overlay.bytes, 4) == 0 ||
			 memcmp(cfg->client_addr.bytes, gw.bytes, 4) == 0 ||
			 memcmp(cfg->client_addr.bytes, bcast.bytes, 4) == 0)
			report(ld,
			       "CLIENT_ADDRESS: '%s': the network, gateway or broadcast "
			       "address",
			       a);
	}
}

static void warn_unimplemented(struct loader *ld)
{
	char list[512] = "";
	size_t n = 0;

	for (size_t i = 0; i < N_NOT_IMPLEMENTED; i++)
		if (ld->seen_unimplemented[i] && n + strlen(not_implemented[i]) + 3 < sizeof(list))
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "",
					      not_implemented[i]);
	if (n)
		fprintf(ld->err, "warning: pod-gateway settings not implemented, ignored: %s\n",
			list);
}

static void loader_free(struct loader *ld)
{
	for (int l = 0; l < N_LAYERS; l++)
		for (size_t i = 0; i < N_SETTINGS; i++)
			free(ld->raw[l][i].value);
	for (size_t i = 0; i < ld->n_vars; i++)
		free(ld->vars[i]);
	free(ld->vars);
	free(ld);
}

static int finish(struct loader *ld, struct pg_config *cfg)
{
	int r;

	memset(cfg, 0, sizeof(*cfg));
	if (!ld->errors)
		validate(ld, cfg);
	if (!ld->errors)
		warn_unimplemented(ld);
	r = ld->errors ? -EINVAL : PG_CONFIG_OK;
	loader_free(ld);
	return r;
}

int pg_config_load_text(struct pg_config *cfg, enum pg_role role, const char *name,
			const char *text, size_t len, FILE *err)
{
	struct loader *ld = calloc(1, sizeof(*ld));
	int r;

	if (!ld)
		return -ENOMEM;
	ld->role = role;
	ld->err = err;
	r = load_text(ld, name, text, len);
	if (r < 0) {
		loader_free(ld);
		return r;
	}
	return finish(ld, cfg);
}

enum { OPT_HELP = 1000, OPT_VERSION, OPT_CONFIG };

int pg_config_load(struct pg_config *cfg, enum pg_role role, int argc, char **argv, char **envp,
		   FILE *err, int *first_arg)
{
	struct option longopts[N_SETTINGS + 4];
	struct loader *ld = calloc(1, sizeof(*ld));
	const char *config_path = NULL;
	size_t n = 0;
	int c;

	if (!ld)
		return -ENOMEM;
	ld->role = role;
	ld->err = err;
	ld->envp = envp;
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (settings[i].roles & role)
			longopts[n++] =
			    (struct option){settings[i].option, required_argument, NULL, (int)i};
	longopts[n++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
	longopts[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
	longopts[n++] = (struct option){"version", no_argument, NULL, OPT_VERSION};
	longopts[n] = (struct option){0};

	optind = 0; /* full reset, also of getopt's internal state */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		char source[64];

		if (c == OPT_HELP || c == 'h') {
			pg_config_usage(stdout, role, argv[0]);
			loader_free(ld);
			return PG_CONFIG_EXIT;
		} else if (c == OPT_VERSION) {
			printf("%s %s\n", argv[0], PODGW_VERSION);
			loader_free(ld);
			return PG_CONFIG_EXIT;
		} else if (c == OPT_CONFIG) {
			config_path = optarg;
		} else if (c == ':') {
			report(ld, "%s: missing value", argv[optind - 1]);
		} else if (c == '?') {
			report(ld, "%s: unknown option (see --help)", argv[optind - 1]);
		} else {
			snprintf(source, sizeof(source), "option --%s", settings[c].option);
			if (set_raw(ld, L_OPTION, (size_t)c, optarg, source) < 0)
				report(ld, "out of memory");
		}
	}
	*first_arg = optind;
	if (config_path && load_file(ld, config_path) < 0)
		report(ld, "out of memory");
	load_env(ld);
	return finish(ld, cfg);
}

void pg_config_usage(FILE *out, enum pg_role role, const char *prog)
{
	fprintf(out, "Settings (option, environment, default); options beat environment,\n"
		     "environment beats --config FILE (KEY=VALUE lines, as pod-gateway's "
		     "settings.sh):\n");
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		char opt[64];

		if (!(s->roles & role))
			continue;
		snprintf(opt, sizeof(opt), "--%s %s", s->option, s->type->metavar);
		fprintf(out, "  %-38s %s%s%s\n", opt, s->key, s->alias ? " or " : "",
			s->alias ? s->alias : "");
		fprintf(out, "  %-38s   %s (default: %s)\n", "", s->help,
			*s->def ? s->def : (s->required ? "required" : "empty"));
	}
	fprintf(out, "  %-38s settings file\n  %-38s this text\n  %-38s version\n", "--config FILE",
		"--help", "--version");
	fprintf(out, "  %-38s validate the settings as a start would, print them, exit\n",
		"--check-config");
}

/* ---- the effective settings, for --check-config ---- */

static void print_prefix(FILE *out, const struct pg_prefix *p, bool with_len)
{
	char buf[PG_PREFIX_STRLEN];

	if (p->family)
		fputs(pg_prefix_fmt(p, buf, with_len), out);
}

static void print_value(FILE *out, const struct setting *s, const struct pg_config *cfg)
{
	static const char *const levels[] = {"error", "warning", "info", "debug"};
	const char *field = (const char *)cfg + s->offset;

	if (s->type == &t_number || s->type == &t_opt_number) {
		uint32_t v;

		memcpy(&v, field, sizeof(v));
		if (v || s->type == &t_number)
			fprintf(out, "%u", v);
	} else if (s->type == &t_network) {
		print_prefix(out, (const struct pg_prefix *)field, true);
	} else if (s->type == &t_overlay_addr || s->type == &t_opt_ipv4) {
		print_prefix(out, (const struct pg_prefix *)field, false);
	} else if (s->type == &t_cidr_list || s->type == &t_ip_list) {
		const struct pg_prefix_list *l = (const struct pg_prefix_list *)field;

		for (unsigned i = 0; i < l->n; i++) {
			fputs(i ? "," : "", out);
			print_prefix(out, &l->items[i], s->type == &t_cidr_list);
		}
	} else if (s->type == &t_domain_list) {
		const struct pg_domain_list *l = (const struct pg_domain_list *)field;

		for (unsigned i = 0; i < l->n; i++)
			fprintf(out, "%s%s", i ? "," : "", l->items[i]);
	} else if (s->type == &t_bool) {
		fputs(*(const bool *)field ? "true" : "false", out);
	} else if (s->type == &t_level) {
		unsigned l = (unsigned)cfg->log_level;

		fputs(l < sizeof(levels) / sizeof(levels[0]) ? levels[l] : "?", out);
	} else if (s->type == &t_log_format) {
		fputs(pg_log_format_name(cfg->log_format), out);
	} else {
		/* Strings: interface names, hosts, paths, Kubernetes names. */
		fputs(field, out);
	}
}

void pg_config_print(FILE *out, enum pg_role role, const struct pg_config *cfg)
{
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		char *text = NULL;
		size_t len = 0;
		FILE *mem;

		if (!(s->roles & role))
			continue;
		mem = open_memstream(&text, &len);
		if (!mem)
			continue;
		print_value(mem, s, cfg);
		fclose(mem);
		/* Double quotes, escaped as the settings file reads them back. */
		fprintf(out, "%s=\"", s->key);
		for (const char *c = text; c && *c; c++) {
			if (strchr("\"\\$`", *c))
				fputc('\\', out);
			fputc(*c, out);
		}
		fputs("\"\n", out);
		free(text);
	}
}
