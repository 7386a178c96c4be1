/* SPDX-License-Identifier: MIT */
/* One table describes every setting: its environment name, option, default
 * and parser. Values are gathered first (option over environment over
 * default), then each is parsed, and every error is reported before the
 * daemon refuses to start, so one run shows everything that is wrong. */
#include "provisiond/settings.h"

#include "common/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#ifndef PV_NETNS_HELPER
#define PV_NETNS_HELPER "/usr/libexec/podgw/netns-crawler.sh"
#endif

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

typedef int (*parse_fn)(struct pv_settings *s, const char *v, const char **why);

struct setting {
	const char *key;
	const char *option;
	const char *def;
	parse_fn parse;
	const char *help;
};

static int copy_str(char *dst, size_t size, const char *v, const char **why)
{
	if (strlen(v) >= size) {
		*why = "too long";
		return -EINVAL;
	}
	strcpy(dst, v);
	return 0;
}

static int parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out, const char **why)
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

static int p_listen(struct pv_settings *s, const char *v, const char **why)
{
	char host[64];
	const char *colon = strrchr(v, ':');
	uint32_t port;

	if (!colon || (size_t)(colon - v) >= sizeof(host)) {
		*why = "expected IPV4:PORT";
		return -EINVAL;
	}
	memcpy(host, v, (size_t)(colon - v));
	host[colon - v] = '\0';
	s->listen.sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &s->listen.sin_addr) != 1) {
		*why = "expected IPV4:PORT";
		return -EINVAL;
	}
	/* Port 0: the kernel picks one (tests); the ready file tells it. */
	if (parse_u32(colon + 1, 0, 65535, &port, why) < 0) {
		*why = "port not in 0..65535";
		return -EINVAL;
	}
	s->listen.sin_port = htons((uint16_t)port);
	return 0;
}

static int p_gateways(struct pv_settings *s, const char *v, const char **why)
{
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

static int p_backend(struct pv_settings *s, const char *v, const char **why)
{
	if (strcmp(v, "netns") == 0)
		s->backend = PV_BACKEND_NETNS;
	else if (strcmp(v, "kubernetes") == 0)
		s->backend = PV_BACKEND_KUBERNETES;
	else if (strcmp(v, "podman") == 0)
		s->backend = PV_BACKEND_PODMAN;
	else {
		*why = "expected netns, kubernetes or podman";
		return -EINVAL;
	}
	return 0;
}

static int p_reply_when(struct pv_settings *s, const char *v, const char **why)
{
	if (strcmp(v, "created") == 0)
		s->reply_when = PV_REPLY_CREATED;
	else if (strcmp(v, "routed") == 0)
		s->reply_when = PV_REPLY_ROUTED;
	else {
		*why = "expected created or routed";
		return -EINVAL;
	}
	return 0;
}

static int p_source(struct pv_settings *s, const char *v, const char **why)
{
	if (!*v) {
		*why = "must not be empty";
		return -EINVAL;
	}
	return copy_str(s->event_source, sizeof(s->event_source), v, why);
}

static int p_max_body(struct pv_settings *s, const char *v, const char **why)
{
	return parse_u32(v, 256, 1 << 20, &s->max_body, why);
}

static int p_dedup(struct pv_settings *s, const char *v, const char **why)
{
	return parse_u32(v, 16, 1 << 20, &s->dedup_entries, why);
}

static int p_max_conn(struct pv_settings *s, const char *v, const char **why)
{
	return parse_u32(v, 1, 4096, &s->max_connections, why);
}

static int p_namespace(struct pv_settings *s, const char *v, const char **why)
{
	if (!pv_dns_label_ok(v)) {
		*why = "not a DNS label";
		return -EINVAL;
	}
	return copy_str(s->pod_namespace, sizeof(s->pod_namespace), v, why);
}

static int p_prefix(struct pv_settings *s, const char *v, const char **why)
{
	/* The lab's own rule (lab_check_prefix): it ends up in paths we delete. */
	size_t len = strlen(v);

	if (len == 0 || len > 24 ||
	    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789_.-") != len ||
	    !((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z'))) {
		*why = "letters, digits, _ . -; at most 24; starts with a letter";
		return -EINVAL;
	}
	return copy_str(s->lab_prefix, sizeof(s->lab_prefix), v, why);
}

static int p_helper(struct pv_settings *s, const char *v, const char **why)
{
	if (v[0] != '/') {
		*why = "must be an absolute path";
		return -EINVAL;
	}
	return copy_str(s->netns_helper, sizeof(s->netns_helper), v, why);
}

/* FIRST-LAST host numbers of the lab's pod network 10.244.0.0/24. */
static int p_ip_range(struct pv_settings *s, const char *v, const char **why)
{
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

static int p_routed_timeout(struct pv_settings *s, const char *v, const char **why)
{
	return parse_u32(v, 1, 600, &s->routed_timeout, why);
}

static int p_api_url(struct pv_settings *s, const char *v, const char **why)
{
	if (*v && strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) {
		*why = "expected an http:// or https:// URL";
		return -EINVAL;
	}
	return copy_str(s->kube_api_url, sizeof(s->kube_api_url), v, why);
}

static int p_token(struct pv_settings *s, const char *v, const char **why)
{
	return copy_str(s->kube_token_file, sizeof(s->kube_token_file), v, why);
}

static int p_ca(struct pv_settings *s, const char *v, const char **why)
{
	return copy_str(s->kube_ca_file, sizeof(s->kube_ca_file), v, why);
}

static int p_image(struct pv_settings *s, const char *v, const char **why)
{
	if (!*v) {
		*why = "must not be empty";
		return -EINVAL;
	}
	return copy_str(s->crawler_image, sizeof(s->crawler_image), v, why);
}

static int p_template(struct pv_settings *s, const char *v, const char **why)
{
	if (*v && v[0] != '/') {
		*why = "must be an absolute path (or empty: the built-in example)";
		return -EINVAL;
	}
	return copy_str(s->crawler_template_file, sizeof(s->crawler_template_file), v, why);
}

static int p_clientd_image(struct pv_settings *s, const char *v, const char **why)
{
	if (!*v) {
		*why = "must not be empty";
		return -EINVAL;
	}
	return copy_str(s->clientd_image, sizeof(s->clientd_image), v, why);
}

static int p_gw_namespace(struct pv_settings *s, const char *v, const char **why)
{
	if (!pv_dns_label_ok(v)) {
		*why = "not a DNS label";
		return -EINVAL;
	}
	return copy_str(s->gateway_namespace, sizeof(s->gateway_namespace), v, why);
}

static int p_domain(struct pv_settings *s, const char *v, const char **why)
{
	char buf[128], *save, *tok;

	if (copy_str(buf, sizeof(buf), v, why) < 0)
		return -EINVAL;
	for (tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
		if (!pv_dns_label_ok(tok)) {
			*why = "not a DNS name (labels of a-z, 0-9, -)";
			return -EINVAL;
		}
	if (!*v || v[0] == '.' || v[strlen(v) - 1] == '.' || strstr(v, "..")) {
		*why = "not a DNS name (labels of a-z, 0-9, -)";
		return -EINVAL;
	}
	return copy_str(s->cluster_domain, sizeof(s->cluster_domain), v, why);
}

/* Blank-separated prefixes (CIDR) or addresses (want_addr), for clientd. */
static int prefix_list(char *dst, size_t size, const char *v, bool want_addr, const char **why)
{
	char buf[512], *save, *tok;
	struct pg_prefix p;

	if (copy_str(buf, sizeof(buf), v, why) < 0 || copy_str(dst, size, v, why) < 0)
		return -EINVAL;
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save))
		if ((want_addr ? pg_addr_parse(tok, &p) : pg_prefix_parse(tok, &p, false)) < 0) {
			*why = want_addr ? "expected blank-separated IP addresses"
					 : "expected blank-separated CIDRs without host bits";
			return -EINVAL;
		}
	return 0;
}

static int p_not_routed(struct pv_settings *s, const char *v, const char **why)
{
	return prefix_list(s->client_not_routed, sizeof(s->client_not_routed), v, false, why);
}

static int p_dns_ips(struct pv_settings *s, const char *v, const char **why)
{
	return prefix_list(s->client_dns_ips, sizeof(s->client_dns_ips), v, true, why);
}

static int abs_path(char *dst, size_t size, const char *v, bool empty_ok, const char **why)
{
	if ((*v || !empty_ok) && v[0] != '/') {
		*why = "must be an absolute path";
		return -EINVAL;
	}
	return copy_str(dst, size, v, why);
}

static int p_podman_socket(struct pv_settings *s, const char *v, const char **why)
{
	return abs_path(s->podman_socket, sizeof(s->podman_socket), v, false, why);
}

static int p_podman_network(struct pv_settings *s, const char *v, const char **why)
{
	size_t n = strlen(v);

	if (n == 0 || n >= sizeof(s->podman_network) ||
	    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != n) {
		*why = "a podman network name (letters, digits, _ . -)";
		return -EINVAL;
	}
	return copy_str(s->podman_network, sizeof(s->podman_network), v, why);
}

static int p_podman_gw_prefix(struct pv_settings *s, const char *v, const char **why)
{
	size_t n = strlen(v);

	if (n >= sizeof(s->podman_gateway_prefix) ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != n) {
		*why = "the start of podman pod names (a-z, 0-9, _ . -; at most 31) or empty";
		return -EINVAL;
	}
	return copy_str(s->podman_gateway_prefix, sizeof(s->podman_gateway_prefix), v, why);
}

static int p_podman_objects(struct pv_settings *s, const char *v, const char **why)
{
	return abs_path(s->podman_objects, sizeof(s->podman_objects), v, true, why);
}

static int p_podman_state(struct pv_settings *s, const char *v, const char **why)
{
	return abs_path(s->podman_state_dir, sizeof(s->podman_state_dir), v, false, why);
}

static int p_ready(struct pv_settings *s, const char *v, const char **why)
{
	return copy_str(s->ready_file, sizeof(s->ready_file), v, why);
}

static int p_log_level(struct pv_settings *s, const char *v, const char **why)
{
	if (pg_log_level_parse(v, &s->log_level) < 0) {
		*why = "expected error, warning, info or debug";
		return -EINVAL;
	}
	return 0;
}

/* Defaults NULL are computed in compute_default(). */
static const struct setting table[] = {
    {"PROVISIOND_LISTEN", "listen", "0.0.0.0:8080", p_listen, "IPv4 address and port to serve"},
    {"GATEWAYS", "gateways", "", p_gateways, "known gateway names (blank or comma separated)"},
    {"PROVISION_BACKEND", "backend", "netns", p_backend,
     "netns (the lab), kubernetes, or podman (one machine, no Kubernetes)"},
    {"REPLY_WHEN", "reply-when", "created", p_reply_when,
     "created: done once the crawler exists; routed: once its tunnel is up (netns, podman)"},
    {"EVENT_SOURCE", "event-source", "/podgw/provisiond", p_source,
     "source attribute of the reply events"},
    {"MAX_BODY_BYTES", "max-body-bytes", "65536", p_max_body, "larger requests get 413"},
    {"DEDUP_ENTRIES", "dedup-entries", "4096", p_dedup,
     "answers kept for redeliveries (source + id)"},
    {"MAX_CONNECTIONS", "max-connections", "256", p_max_conn, "concurrent HTTP connections"},
    {"POD_NAMESPACE", "pod-namespace", NULL, p_namespace,
     "namespace of the crawlers (default: the service account's, else default)"},
    {"LAB_PREFIX", "lab-prefix", "podgw-", p_prefix, "netns: the lab's namespace prefix"},
    {"NETNS_HELPER", "netns-helper", PV_NETNS_HELPER, p_helper,
     "netns: the script that creates and deletes crawler namespaces"},
    {"POD_IP_RANGE", "pod-ip-range", "100-249", p_ip_range,
     "netns: host numbers of 10.244.0.0/24 given to crawlers"},
    {"ROUTED_TIMEOUT", "routed-timeout", "30", p_routed_timeout,
     "netns: seconds a crawler has to be routed (reply-when routed)"},
    {"KUBERNETES_API_URL", "kube-api-url", NULL, p_api_url,
     "kubernetes: API server (default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)"},
    {"KUBE_TOKEN_FILE", "kube-token-file", SA_DIR "/token", p_token,
     "kubernetes: bearer token file"},
    {"KUBE_CA_FILE", "kube-ca-file", SA_DIR "/ca.crt", p_ca,
     "kubernetes: CA bundle of the API server"},
    {"PODMAN_SOCKET", "podman-socket", "/run/podman/podman.sock", p_podman_socket,
     "podman: the libpod API's unix socket"},
    {"PODMAN_NETWORK", "podman-network", "podman", p_podman_network,
     "podman: the network crawler pods join"},
    {"PODMAN_OBJECTS", "podman-objects", "", p_podman_objects,
     "podman: JSON List of the Secrets/ConfigMaps crawler pods refer to (membership keys)"},
    {"PODMAN_STATE_DIR", "podman-state-dir", "/run/podgw-podman", p_podman_state,
     "podman: private folder of the crawler pods' volumes"},
    {"PODMAN_GATEWAY_POD_PREFIX", "podman-gateway-pod-prefix", "", p_podman_gw_prefix,
     "podman: gateway NAME runs as pod PREFIX+NAME, whose address becomes the crawler's "
     "hostAlias for the gateway's name; empty: the network resolves it"},
    {"CRAWLER_IMAGE", "crawler-image", "localhost/podgw-crawler:0.1.0", p_image,
     "the built-in crawler container's image (no CRAWLER_TEMPLATE_FILE)"},
    {"CRAWLER_TEMPLATE_FILE", "crawler-template-file", "", p_template,
     "JSON pod template ({metadata, spec}) with the crawler containers; empty: built-in"},
    {"CLIENTD_IMAGE", "clientd-image", "localhost/podgw:0.1.0", p_clientd_image,
     "image of the crawler pod's clientd sidecar"},
    {"GATEWAY_NAMESPACE", "gateway-namespace", "gateway-system", p_gw_namespace,
     "namespace of the gateways' Services (gateway-NAME)"},
    {"CLUSTER_DOMAIN", "cluster-domain", "cluster.local", p_domain, "the cluster's DNS domain"},
    {"CLIENT_NOT_ROUTED_TO_GATEWAY_CIDRS", "client-not-routed-cidrs", "10.244.0.0/16 10.96.0.0/12",
     p_not_routed, "clientd's NOT_ROUTED_TO_GATEWAY_CIDRS: the cluster's pod and service ranges"},
    {"CLIENT_K8S_DNS_IPS", "client-k8s-dns-ips", "10.96.0.10", p_dns_ips,
     "clientd's K8S_DNS_IPS: the cluster DNS addresses"},
    {"READY_FILE", "ready-file", "", p_ready,
     "file written once serving (its content: the bound address)"},
    {"LOG_LEVEL", "log-level", "info", p_log_level, "error, warning, info or debug"},
};
#define N_SETTINGS (sizeof(table) / sizeof(table[0]))

static const char *env_get(char **envp, const char *key)
{
	size_t len = strlen(key);

	for (char **e = envp; e && *e; e++)
		if (strncmp(*e, key, len) == 0 && (*e)[len] == '=')
			return *e + len + 1;
	return NULL;
}

static void compute_default(const struct setting *st, char **envp, char *buf, size_t size)
{
	const char *host, *port;
	FILE *f;

	buf[0] = '\0';
	if (strcmp(st->key, "POD_NAMESPACE") == 0) {
		snprintf(buf, size, "default");
		f = fopen(SA_DIR "/namespace", "re");
		if (f) {
			if (!fgets(buf, (int)size, f))
				snprintf(buf, size, "default");
			buf[strcspn(buf, "\r\n")] = '\0';
			fclose(f);
		}
	} else if (strcmp(st->key, "KUBERNETES_API_URL") == 0) {
		host = env_get(envp, "KUBERNETES_SERVICE_HOST");
		port = env_get(envp, "KUBERNETES_SERVICE_PORT");
		if (host && port)
			snprintf(buf, size, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s",
				 host, port);
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: provisiond [OPTIONS]\n"
		"       provisiond crawler-pod --gateway NAME --name POD [OPTIONS]: prints the "
		"crawler pod (JSON) that the kubernetes backend creates\n"
		"Serves CloudEvents (HTTP binding, binary and structured mode): " PV_TYPE_PENDING
		" creates a crawler bound to data.gateway_name.\n\n");
	for (size_t i = 0; i < N_SETTINGS; i++)
		fprintf(out, "  --%-18s %-20s %s (default: %s)\n", table[i].option, table[i].key,
			table[i].help, table[i].def ? table[i].def : "see text");
	fprintf(out, "  --help\n\nExit codes: 0 ok, 1 runtime failure, 2 bad configuration.\n");
}

/* Cross-setting rules, after every value parsed. */
static int check_whole(struct pv_settings *s, FILE *err)
{
	int bad = 0;

	if (s->backend == PV_BACKEND_KUBERNETES && s->reply_when == PV_REPLY_ROUTED) {
		fprintf(err, "provisiond: REPLY_WHEN: 'routed': only the netns and podman backends "
			     "support it\n");
		bad = 1;
	}
	if (s->backend == PV_BACKEND_KUBERNETES && !s->kube_api_url[0]) {
		fprintf(err, "provisiond: KUBERNETES_API_URL: '': needed by the kubernetes backend "
			     "(not in a cluster?)\n");
		bad = 1;
	}
	return bad ? -EINVAL : 0;
}

int pv_settings_load(struct pv_settings *s, int argc, char **argv, char **envp, FILE *err)
{
	struct option opts[N_SETTINGS + 2];
	const char *given[N_SETTINGS] = {0};
	char buf[PATH_MAX];
	int c, idx, bad = 0;

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < N_SETTINGS; i++)
		opts[i] = (struct option){table[i].option, required_argument, NULL, (int)i};
	opts[N_SETTINGS] = (struct option){"help", no_argument, NULL, 'h' + 1000};
	opts[N_SETTINGS + 1] = (struct option){0};
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		if (c == 'h' + 1000) {
			usage(stdout);
			return PV_SETTINGS_EXIT;
		}
		if (c < 0 || (size_t)c >= N_SETTINGS) {
			usage(err);
			return -EINVAL;
		}
		given[c] = optarg;
	}
	if (optind < argc) {
		fprintf(err, "provisiond: '%s': unexpected argument\n", argv[optind]);
		return -EINVAL;
	}
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const char *v = given[i] ? given[i] : env_get(envp, table[i].key), *why = NULL;

		if (!v && table[i].def)
			v = table[i].def;
		if (!v) {
			compute_default(&table[i], envp, buf, sizeof(buf));
			v = buf;
		}
		if (table[i].parse(s, v, &why) < 0) {
			fprintf(err, "provisiond: %s: '%s': %s\n", table[i].key, v, why);
			bad = 1;
		}
	}
	if (bad || check_whole(s, err) < 0)
		return -EINVAL;
	return PV_SETTINGS_OK;
}

bool pv_settings_gateway_known(const struct pv_settings *s, const char *name)
{
	for (unsigned i = 0; i < s->n_gateways; i++)
		if (strcmp(s->gateways[i], name) == 0)
			return true;
	return false;
}
