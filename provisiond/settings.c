/* SPDX-License-Identifier: MIT */
/* provisiond's table for the settings engine (common/settings.h): its
 * environment names, options, defaults and value types. Every error reads
 * "provisiond: KEY: 'value': why". */
#include "provisiond/settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/settings-types.h"
#include "common/settings.h"
#include "provisiond/charset.h"

#ifndef PV_NETNS_HELPER
#define PV_NETNS_HELPER "/usr/libexec/podgw/netns-crawler.sh"
#endif

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* The settings structure around a field that a value type fills together
 * with its neighbours. */
#define SETTINGS_OF(field, member)                                                                 \
	((struct pv_settings *)((char *)(field)-offsetof(struct pv_settings, member)))

static int copy_str(char *dst, size_t size, const char *v, const char **why)
{
	if (strlen(v) >= size) {
		*why = "too long";
		return -EINVAL;
	}
	strcpy(dst, v);
	return 0;
}

static int parse_u32(const char *v, unsigned long min, unsigned long max, uint32_t *out,
		     const char **why)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || n < min || n > max) {
		*why = "not a number in range";
		return -EINVAL;
	}
	*out = (uint32_t)n;
	return 0;
}

static int p_listen(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	struct sockaddr_in *sin = field;
	char host[64];
	const char *colon = strrchr(v, ':');
	uint32_t port;

	if (!colon || (size_t)(colon - v) >= sizeof(host)) {
		*why = "expected IPV4:PORT";
		return -EINVAL;
	}
	memcpy(host, v, (size_t)(colon - v));
	host[colon - v] = '\0';
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		*why = "expected IPV4:PORT";
		return -EINVAL;
	}
	/* Port 0: the kernel picks one (tests); the ready file tells it. */
	if (parse_u32(colon + 1, 0, 65535, &port, why) < 0) {
		*why = "port not in 0..65535";
		return -EINVAL;
	}
	sin->sin_port = htons((uint16_t)port);
	return 0;
}

static int p_gateways(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	struct pv_settings *s = SETTINGS_OF(field, n_gateways);
	char buf[4096], *save, *tok;

	if (copy_str(buf, sizeof(buf), v, why) < 0)
		return -EINVAL;
	s->n_gateways = 0;
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		if (!pv_dns_label_ok(tok)) {
			*why = "each name must be a DNS label (a-z, 0-9, -)";
			return -EINVAL;
		}
		if (s->n_gateways == PV_MAX_GATEWAYS) {
			*why = "more than 64 gateways";
			return -EINVAL;
		}
		strcpy(s->gateways[s->n_gateways++], tok);
	}
	if (s->n_gateways == 0) {
		*why = "at least one gateway name is needed";
		return -EINVAL;
	}
	return 0;
}

static int p_backend(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	enum pv_backend_kind *backend = field;

	if (strcmp(v, "netns") == 0)
		*backend = PV_BACKEND_NETNS;
	else if (strcmp(v, "kubernetes") == 0)
		*backend = PV_BACKEND_KUBERNETES;
	else if (strcmp(v, "podman") == 0)
		*backend = PV_BACKEND_PODMAN;
	else {
		*why = "expected netns, kubernetes or podman";
		return -EINVAL;
	}
	return 0;
}

static int p_reply_when(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	enum pv_reply_when *when = field;

	if (strcmp(v, "created") == 0)
		*when = PV_REPLY_CREATED;
	else if (strcmp(v, "routed") == 0)
		*when = PV_REPLY_ROUTED;
	else {
		*why = "expected created or routed";
		return -EINVAL;
	}
	return 0;
}

static int p_auth(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	bool *open = field;

	if (strcmp(v, "token") == 0)
		*open = false;
	else if (strcmp(v, "none") == 0)
		*open = true;
	else {
		*why = "expected token or none";
		return -EINVAL;
	}
	return 0;
}

static int p_nonempty(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	if (!*v) {
		*why = "must not be empty";
		return -EINVAL;
	}
	return copy_str(field, st->size, v, why);
}

static int p_count(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	return parse_u32(v, st->min, st->max, field, why);
}

static int p_label(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	if (!pv_dns_label_ok(v)) {
		*why = "not a DNS label";
		return -EINVAL;
	}
	return copy_str(field, st->size, v, why);
}

static int p_prefix(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	/* The lab's own rule (lab_check_prefix): it ends up in paths we delete. */
	if (!pv_charset_ok(v, PV_UPPER PV_LOWER PV_DIGITS "_.-", 1, 24) ||
	    !strchr(PV_UPPER PV_LOWER, v[0])) {
		*why = "letters, digits, _ . -; at most 24; starts with a letter";
		return -EINVAL;
	}
	return copy_str(field, st->size, v, why);
}

static int p_helper(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	if (v[0] != '/') {
		*why = "must be an absolute path";
		return -EINVAL;
	}
	return copy_str(field, st->size, v, why);
}

/* FIRST-LAST host numbers of the lab's pod network 10.244.0.0/24. */
static int p_ip_range(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	struct pv_settings *s = SETTINGS_OF(field, ip_first);
	char buf[32], *dash;

	if (copy_str(buf, sizeof(buf), v, why) < 0 || !(dash = strchr(buf, '-'))) {
		*why = "expected FIRST-LAST host numbers (e.g. 100-249)";
		return -EINVAL;
	}
	*dash = '\0';
	if (parse_u32(buf, 2, 254, &s->ip_first, why) < 0 ||
	    parse_u32(dash + 1, 2, 254, &s->ip_last, why) < 0 || s->ip_first > s->ip_last) {
		*why = "expected FIRST-LAST with 2 <= FIRST <= LAST <= 254";
		return -EINVAL;
	}
	return 0;
}

static int p_api_url(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	if (*v && strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) {
		*why = "expected an http:// or https:// URL";
		return -EINVAL;
	}
	return copy_str(field, st->size, v, why);
}

static int p_podman_name(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	if (!pv_charset_ok(v, PV_UPPER PV_LOWER PV_DIGITS "_.-", 1, st->size - 1)) {
		*why = "a podman network name (letters, digits, _ . -)";
		return -EINVAL;
	}
	return copy_str(field, st->size, v, why);
}

static int p_pod_prefix(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	if (!pv_charset_ok(v, PV_LOWER PV_DIGITS "_.-", 0, st->size - 1)) {
		*why = "the start of podman pod names (a-z, 0-9, _ . -; at most 31) or empty";
		return -EINVAL;
	}
	return copy_str(field, st->size, v, why);
}

static int p_domain(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	char buf[128], *save, *tok;

	if (!*v || v[0] == '.' || v[strlen(v) - 1] == '.' || strstr(v, "..") ||
	    copy_str(buf, sizeof(buf), v, why) < 0) {
		*why = "not a DNS name (labels of a-z, 0-9, -)";
		return -EINVAL;
	}
	for (tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
		if (!pv_dns_label_ok(tok)) {
			*why = "not a DNS name (labels of a-z, 0-9, -)";
			return -EINVAL;
		}
	return copy_str(field, st->size, v, why);
}

/* Blank-separated prefixes (CIDR) or addresses, passed on to clientd as
 * text: checked here so that a bad one stops provisiond, not every crawler. */
static int prefix_list(const struct pg_setting *st, const char *v, void *field, bool want_addr,
		       const char **why)
{
	char buf[512], *save, *tok;
	struct pg_prefix p;

	if (copy_str(buf, sizeof(buf), v, why) < 0 || copy_str(field, st->size, v, why) < 0)
		return -EINVAL;
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save))
		if ((want_addr ? pg_addr_parse(tok, &p) : pg_prefix_parse(tok, &p, false)) < 0) {
			*why = want_addr ? "expected blank-separated IP addresses"
					 : "expected blank-separated CIDRs without host bits";
			return -EINVAL;
		}
	return 0;
}

static int p_cidrs(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	return prefix_list(st, v, field, false, why);
}

static int p_addrs(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	return prefix_list(st, v, field, true, why);
}

static int p_abs_path(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	if (*v && v[0] != '/') {
		*why = "must be an absolute path";
		return -EINVAL;
	}
	return copy_str(field, st->size, v, why);
}

static int p_label_or_empty(const struct pg_setting *st, const char *v, void *field,
			    const char **why)
{
	return *v ? p_label(st, v, field, why) : copy_str(field, st->size, v, why);
}

static int p_log_level(const struct pg_setting *st, const char *v, void *field, const char **why)
{
	if (pg_log_level_parse(v, field) < 0) {
		*why = "expected error, warning, info or debug";
		return -EINVAL;
	}
	return 0;
}

static const struct pg_value_type t_listen = {"IPV4:PORT", p_listen, NULL};
static const struct pg_value_type t_gateways = {"NAMES", p_gateways, NULL};
static const struct pg_value_type t_backend = {"BACKEND", p_backend, NULL};
static const struct pg_value_type t_reply_when = {"WHEN", p_reply_when, NULL};
static const struct pg_value_type t_auth = {"AUTH", p_auth, NULL};
static const struct pg_value_type t_nonempty = {"TEXT", p_nonempty, NULL};
static const struct pg_value_type t_count = {"N", p_count, NULL};
static const struct pg_value_type t_label = {"NAME", p_label, NULL};
static const struct pg_value_type t_label_or_empty = {"NAME", p_label_or_empty, NULL};
static const struct pg_value_type t_prefix = {"PREFIX", p_prefix, NULL};
static const struct pg_value_type t_helper = {"PATH", p_helper, NULL};
static const struct pg_value_type t_ip_range = {"FIRST-LAST", p_ip_range, NULL};
static const struct pg_value_type t_api_url = {"URL", p_api_url, NULL};
static const struct pg_value_type t_level = {"LEVEL", p_log_level, NULL};
static const struct pg_value_type t_podman_name = {"NAME", p_podman_name, NULL};
static const struct pg_value_type t_pod_prefix = {"PREFIX", p_pod_prefix, NULL};
static const struct pg_value_type t_domain = {"DOMAIN", p_domain, NULL};
static const struct pg_value_type t_cidrs = {"CIDRS", p_cidrs, NULL};
static const struct pg_value_type t_addrs = {"ADDRESSES", p_addrs, NULL};
static const struct pg_value_type t_abs_path = {"PATH", p_abs_path, NULL};

/* Defaults that depend on where provisiond runs. */
static void default_namespace(char **envp, char *buf, size_t size)
{
	FILE *f = fopen(SA_DIR "/namespace", "re");

	snprintf(buf, size, "default");
	if (f) {
		if (!fgets(buf, (int)size, f))
			snprintf(buf, size, "default");
		buf[strcspn(buf, "\r\n")] = '\0';
		fclose(f);
	}
}

static void default_api_url(char **envp, char *buf, size_t size)
{
	const char *host = pg_settings_env_get(envp, "KUBERNETES_SERVICE_HOST");
	const char *port = pg_settings_env_get(envp, "KUBERNETES_SERVICE_PORT");

	if (host && port)
		snprintf(buf, size, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
			 port);
}

#define ROW(key, option, def, type, field, min, max, help)                                         \
	{                                                                                          \
		key, NULL, option, def, help, PG_ALL_ROLES, false, type,                           \
		    PG_SETTING_FIELD(struct pv_settings, field), min, max, NULL                    \
	}
/* def NULL: made by fn. */
#define ROW_FN(key, option, fn, type, field, help)                                                 \
	{                                                                                          \
		key, NULL, option, NULL, help, PG_ALL_ROLES, false, type,                          \
		    PG_SETTING_FIELD(struct pv_settings, field), 0, 0, fn                          \
	}

static const struct pg_setting table[] = {
    ROW("PROVISIOND_LISTEN", "listen", "0.0.0.0:8080", &t_listen, listen, 0, 0,
	"IPv4 address and port to serve"),
    ROW("GATEWAYS", "gateways", "", &t_gateways, n_gateways, 0, 0,
	"known gateway names (blank or comma separated)"),
    ROW("PROVISION_BACKEND", "backend", "netns", &t_backend, backend, 0, 0,
	"netns (the lab), kubernetes, or podman (one machine, no Kubernetes)"),
    ROW("REPLY_WHEN", "reply-when", "created", &t_reply_when, reply_when, 0, 0,
	"created: done once the crawler exists; routed: once its tunnel is up (netns, podman)"),
    ROW("EVENT_SOURCE", "event-source", "/podgw/provisiond", &t_nonempty, event_source, 0, 0,
	"source attribute of the reply events"),
    ROW("MAX_BODY_BYTES", "max-body-bytes", "65536", &t_count, max_body, 256, 1 << 20,
	"larger requests get 413"),
    ROW("DEDUP_ENTRIES", "dedup-entries", "4096", &t_count, dedup_entries, 16, 1 << 20,
	"answers kept for redeliveries (source + id)"),
    ROW("MAX_CONNECTIONS", "max-connections", "256", &t_count, max_connections, 1, 4096,
	"concurrent HTTP connections"),
    ROW("MAX_CONNECTIONS_PER_IP", "max-connections-per-ip", "64", &t_count, max_per_ip, 1, 4096,
	"concurrent HTTP connections from one address"),
    ROW("CONNECTION_TIMEOUT", "connection-timeout", "10", &t_count, conn_timeout, 1, 3600,
	"seconds a connection may send nothing (headers, body) before it is closed"),
    ROW("PROVISIOND_AUTH", "auth", "token", &t_auth, auth_open, 0, 0,
	"token: events need \"Authorization: Bearer\" with PROVISIOND_TOKEN_FILE's token; none: "
	"anyone who reaches the port may create crawlers (a lab on loopback only)"),
    ROW("PROVISIOND_TOKEN_FILE", "token-file", "", &t_abs_path, token_file, 0, 0,
	"file holding the bearer token event senders present (16+ visible characters, not "
	"readable by others)"),
    ROW_FN("POD_NAMESPACE", "pod-namespace", default_namespace, &t_label, pod_namespace,
	   "namespace of the crawlers (default: the service account's, else default)"),
    ROW("LAB_PREFIX", "lab-prefix", "podgw-", &t_prefix, lab_prefix, 0, 0,
	"netns: the lab's namespace prefix"),
    ROW("NETNS_HELPER", "netns-helper", PV_NETNS_HELPER, &t_helper, netns_helper, 0, 0,
	"netns: the script that creates and deletes crawler namespaces"),
    ROW("POD_IP_RANGE", "pod-ip-range", "100-249", &t_ip_range, ip_first, 0, 0,
	"netns: host numbers of 10.244.0.0/24 given to crawlers"),
    ROW("ROUTED_TIMEOUT", "routed-timeout", "30", &t_count, routed_timeout, 1, 600,
	"netns: seconds a crawler has to be routed (reply-when routed)"),
    ROW_FN("KUBERNETES_API_URL", "kube-api-url", default_api_url, &t_api_url, kube_api_url,
	   "kubernetes: API server (default "
	   "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)"),
    ROW("KUBE_TOKEN_FILE", "kube-token-file", SA_DIR "/token", &pg_t_text, kube_token_file, 0, 0,
	"kubernetes: bearer token file"),
    ROW("KUBE_CA_FILE", "kube-ca-file", SA_DIR "/ca.crt", &pg_t_text, kube_ca_file, 0, 0,
	"kubernetes: CA bundle of the API server"),
    ROW("PODMAN_SOCKET", "podman-socket", "/run/podman/podman.sock", &t_helper, podman_socket, 0, 0,
	"podman: the libpod API's unix socket"),
    ROW("PODMAN_NETWORK", "podman-network", "podman", &t_podman_name, podman_network, 0, 0,
	"podman: the network crawler pods join"),
    ROW("PODMAN_OBJECTS", "podman-objects", "", &t_abs_path, podman_objects, 0, 0,
	"podman: JSON List of the Secrets/ConfigMaps crawler pods refer to (membership keys)"),
    ROW("PODMAN_STATE_DIR", "podman-state-dir", "/run/podgw-podman", &t_helper, podman_state_dir, 0,
	0, "podman: private folder of the crawler pods' volumes"),
    ROW("PODMAN_GATEWAY_POD_PREFIX", "podman-gateway-pod-prefix", "", &t_pod_prefix,
	podman_gateway_prefix, 0, 0,
	"podman: gateway NAME runs as pod PREFIX+NAME, or as replicas PREFIX+NAME-* (labelled "
	"podgw.io/gateway=NAME), whose addresses become the crawler's hostAliases for the "
	"gateway's name; empty: the network resolves it"),
    ROW("CRAWLER_IMAGE", "crawler-image", "localhost/podgw-crawler:0.1.0", &t_nonempty,
	crawler_image, 0, 0, "the built-in crawler container's image (no CRAWLER_TEMPLATE_FILE)"),
    ROW("CRAWLER_TEMPLATE_FILE", "crawler-template-file", "", &t_abs_path, crawler_template_file, 0,
	0, "JSON pod template ({metadata, spec}) with the crawler containers; empty: built-in"),
    ROW("CLIENTD_IMAGE", "clientd-image", "localhost/podgw:0.1.0", &t_nonempty, clientd_image, 0, 0,
	"image of the crawler pod's clientd sidecar"),
    ROW("GATEWAY_NAMESPACE", "gateway-namespace", "gateway-system", &t_label, gateway_namespace, 0,
	0, "namespace of the gateways' Services (gateway-NAME)"),
    ROW("CLUSTER_DOMAIN", "cluster-domain", "cluster.local", &t_domain, cluster_domain, 0, 0,
	"the cluster's DNS domain"),
    ROW("CLIENT_NOT_ROUTED_TO_GATEWAY_CIDRS", "client-not-routed-cidrs",
	"10.244.0.0/16 10.96.0.0/12", &t_cidrs, client_not_routed, 0, 0,
	"clientd's NOT_ROUTED_TO_GATEWAY_CIDRS: the cluster's pod and service ranges"),
    ROW("CLIENT_K8S_DNS_IPS", "client-k8s-dns-ips", "10.96.0.10", &t_addrs, client_dns_ips, 0, 0,
	"clientd's K8S_DNS_IPS: the cluster DNS addresses"),
    ROW("WEBHOOK_TLS_CERT_FILE", "webhook-tls-cert-file", "", &t_abs_path, webhook_tls_cert, 0, 0,
	"webhook: PEM certificate (chain) it serves; re-read when it changes"),
    ROW("WEBHOOK_TLS_KEY_FILE", "webhook-tls-key-file", "", &t_abs_path, webhook_tls_key, 0, 0,
	"webhook: PEM private key of the certificate"),
    ROW("WEBHOOK_DEFAULT_GATEWAY", "webhook-default-gateway", "", &t_label_or_empty,
	webhook_default_gateway, 0, 0,
	"webhook: the gateway of setGateway=true (the admission controller's value); empty: "
	"refused"),
    ROW("READY_FILE", "ready-file", "", &pg_t_text, ready_file, 0, 0,
	"file written once serving (its content: the bound address)"),
    ROW("LOG_LEVEL", "log-level", "info", &t_level, log_level, 0, 0,
	"error, warning, info or debug"),
};

/* Cross-setting rules, after every value parsed. */
static void check(struct pg_settings_loader *ld, unsigned role, void *cfg)
{
	const struct pv_settings *s = cfg;

	if (s->backend == PV_BACKEND_KUBERNETES && s->reply_when == PV_REPLY_ROUTED)
		pg_settings_report(ld, "provisiond: REPLY_WHEN: 'routed': only the netns and "
				       "podman backends support it");
	if (s->auth_open && s->token_file[0])
		pg_settings_report(ld, "provisiond: PROVISIOND_AUTH: 'none': conflicts with "
				       "PROVISIOND_TOKEN_FILE (set one of them)");
	if (s->max_per_ip > s->max_connections)
		pg_settings_report(ld,
				   "provisiond: MAX_CONNECTIONS_PER_IP: '%u': more than "
				   "MAX_CONNECTIONS (%u)",
				   s->max_per_ip, s->max_connections);
	if (s->webhook_default_gateway[0] &&
	    !pv_settings_gateway_known(s, s->webhook_default_gateway))
		pg_settings_report(ld, "provisiond: WEBHOOK_DEFAULT_GATEWAY: '%s': not in GATEWAYS",
				   s->webhook_default_gateway);
	if (s->backend == PV_BACKEND_KUBERNETES && !s->kube_api_url[0])
		pg_settings_report(ld, "provisiond: KUBERNETES_API_URL: '': needed by the "
				       "kubernetes backend (not in a cluster?)");
}

static void usage(FILE *out, unsigned role, const char *prog);

static const struct pg_settings_table settings = {
    .settings = table,
    .n = sizeof(table) / sizeof(table[0]),
    .cfg_size = sizeof(struct pv_settings),
    .source = "provisiond",
    .check = check,
    .usage = usage,
};

static void usage(FILE *out, unsigned role, const char *prog)
{
	fprintf(
	    out,
	    "usage: provisiond [OPTIONS]\n"
	    "       provisiond crawler-pod --gateway NAME --name POD [OPTIONS]: prints the "
	    "crawler pod (JSON) that the kubernetes backend creates\n"
	    "       provisiond webhook [OPTIONS]: the admission webhook (HTTPS), injecting clientd "
	    "into pods that ask for a gateway (setGateway)\n"
	    "       provisiond webhook --review [OPTIONS] <REVIEW.json: answers one "
	    "AdmissionReview on stdout\n"
	    "Serves CloudEvents (HTTP binding, binary and structured mode): " PV_TYPE_PENDING
	    " creates a crawler bound to data.gateway_name.\n\n");
	pg_settings_usage(out, &settings, role);
	fprintf(out, "\nExit codes: 0 ok, 1 runtime failure, 2 bad configuration.\n");
}

int pv_settings_load(struct pv_settings *s, int argc, char **argv, char **envp, FILE *err)
{
	int first_arg, r;

	r = pg_settings_load(&settings, PG_ALL_ROLES, s, argc, argv, envp, err, &first_arg);
	if (r != PV_SETTINGS_OK)
		return r;
	if (first_arg < argc) {
		fprintf(err, "provisiond: '%s': unexpected argument\n", argv[first_arg]);
		return -EINVAL;
	}
	return PV_SETTINGS_OK;
}

bool pv_settings_gateway_known(const struct pv_settings *s, const char *name)
{
	for (unsigned i = 0; i < s->n_gateways; i++)
		if (strcmp(s->gateways[i], name) == 0)
			return true;
	return false;
}
