/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "common/config.h"

/* Runs one load; returns its result and leaves what it reported in errs. */
static int load(enum pg_role role, char **argv, char **envp, struct pg_config *cfg, char **errs)
{
	size_t len;
	FILE *f = open_memstream(errs, &len);
	int argc = 0, first;
	int r;

	while (argv[argc])
		argc++;
	r = pg_config_load(cfg, role, argc, argv, envp, f, &first);
	fclose(f);
	return r;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* One environment setting; the gateway role unless client is set. */
struct env_case {
	const char *env;
	bool client;
	bool ok;
	const char *expect; /* substring of the error line */
};

static const struct env_case env_cases[] = {
    {"VXLAN_ID=42", false, true, NULL},
    {"VXLAN_ID=1", false, true, NULL},
    {"VXLAN_ID=16777215", false, true, NULL},
    {"VXLAN_ID=16777216", false, false, "VXLAN_ID: '16777216': must be between 1 and 16777215"},
    {"VXLAN_ID=0", false, false, "VXLAN_ID: '0'"},
    {"VXLAN_ID=abc", false, false, "VXLAN_ID: 'abc': not a number"},
    {"VXLAN_ID=-1", false, false, "VXLAN_ID: '-1': not a number"},
    {"VXLAN_ID=42x", false, false, "VXLAN_ID: '42x'"},
    {"VXLAN_ID=", false, false, "VXLAN_ID: ''"},
    {"VXLAN_ID=99999999999999999999999", false, false, "VXLAN_ID"},
    {"VXLAN_PORT=8472", false, true, NULL},
    {"VXLAN_PORT=4789", true, true, NULL},
    {"VXLAN_PORT=0", false, false, "VXLAN_PORT: '0'"},
    {"VXLAN_PORT=65536", false, false, "VXLAN_PORT: '65536'"},
    {"VXLAN_IP_NETWORK=172.16.0", false, true, NULL},
    {"VXLAN_IP_NETWORK=10.99.0.0/16", false, true, NULL},
    {"VXLAN_IP_NETWORK=10.99.0.8/29", true, false, "CLIENT_ADDRESS: '172.16.0.9': outside"},
    {"VXLAN_IP_NETWORK=10.99.0.8/29", false, false,
     "VXLAN_GATEWAY_FIRST_DYNAMIC_IP: '20': beyond the last host (6)"},
    {"VXLAN_IP_NETWORK=172.16.0.1/24", false, false,
     "VXLAN_IP_NETWORK: '172.16.0.1/24': host bits"},
    {"VXLAN_IP_NETWORK=300.1.1.0/24", false, false, "VXLAN_IP_NETWORK: '300.1.1.0/24'"},
    {"VXLAN_IP_NETWORK=10.0.0.0/8", false, false, "between /16 and /29"},
    {"VXLAN_IP_NETWORK=10.0.0.0/30", false, false, "between /16 and /29"},
    {"VXLAN_IP_NETWORK=fd00::/64", false, false, "not an IPv4 CIDR"},
    {"VXLAN_IP_NETWORK=172.16.0.0", false, false, "not a CIDR"},
    {"VXLAN_IPV6_NETWORK=fd12:3456:789a:2a::/64", false, true, NULL},
    {"VXLAN_IPV6_NETWORK=off", false, true, NULL},
    {"VXLAN_IPV6_NETWORK=", false, true, NULL},
    {"VXLAN_IPV6_NETWORK=fd12:3456:789a:2a::1/64", false, false,
     "VXLAN_IPV6_NETWORK: 'fd12:3456:789a:2a::1/64': host bits set"},
    {"VXLAN_IPV6_NETWORK=fd12:3456:789a::/48", false, false,
     "VXLAN_IPV6_NETWORK: 'fd12:3456:789a::/48': must be a /64"},
    {"VXLAN_IPV6_NETWORK=2001:db8:1:2::/64", false, false,
     "VXLAN_IPV6_NETWORK: '2001:db8:1:2::/64': not a unique local address"},
    {"VXLAN_IPV6_NETWORK=fc00:1:2:3::/64", false, false, "not a unique local address"},
    {"VXLAN_IPV6_NETWORK=fd12::", false, false, "VXLAN_IPV6_NETWORK: 'fd12::': not an IPv6 CIDR"},
    {"VXLAN_IPV6_NETWORK=172.16.0.0/24", false, false, "not an IPv6 CIDR"},
    {"VXLAN_IPV6_NETWORK=on", false, false, "VXLAN_IPV6_NETWORK: 'on'"},
    {"UNDERLAY_FAMILY=auto", false, true, NULL},
    {"UNDERLAY_FAMILY=ipv4", true, true, NULL},
    {"UNDERLAY_FAMILY=ipv6", false, true, NULL},
    {"UNDERLAY_FAMILY=ipv6", true, true, NULL},
    {"UNDERLAY_FAMILY=IPv6", false, false, "UNDERLAY_FAMILY: 'IPv6': must be auto, ipv4 or ipv6"},
    {"UNDERLAY_FAMILY=", true, false, "UNDERLAY_FAMILY: ''"},
    {"VXLAN_INTERFACE=vx0", false, true, NULL},
    {"VXLAN_INTERFACE=", false, false, "VXLAN_INTERFACE: '': must not be empty"},
    {"VXLAN_INTERFACE=abcdefghijklmnop", false, false, "longer than 15"},
    {"VXLAN_INTERFACE=a/b", false, false, "VXLAN_INTERFACE: 'a/b'"},
    {"UNDERLAY_INTERFACE=net1", false, true, NULL},
    {"UNDERLAY_INTERFACE=a b", false, false, "UNDERLAY_INTERFACE: 'a b'"},
    {"VPN_INTERFACE=tun0", false, true, NULL},
    {"VPN_INTERFACE=", false, true, NULL},
    {"VPN_INTERFACE=..", false, false, "VPN_INTERFACE"},
    {"VPN_INTERFACE_MTU=1420", true, true, NULL},
    {"VPN_INTERFACE_MTU=", true, true, NULL},
    {"VPN_INTERFACE_MTU=100", true, false, "VPN_INTERFACE_MTU: '100'"},
    {"VPN_INTERFACE_MTU=1420", false, true, NULL},
    {"VPN_INTERFACE_MTU=576", false, true, NULL},
    {"VPN_INTERFACE_MTU=65535", false, true, NULL},
    {"VPN_INTERFACE_MTU=575", false, false, "VPN_INTERFACE_MTU: '575': must be between 576"},
    {"VPN_INTERFACE_MTU=65536", false, false, "VPN_INTERFACE_MTU: '65536'"},
    {"VPN_INTERFACE_MTU=1420b", false, false, "VPN_INTERFACE_MTU: '1420b': not a number"},
    {"SNAT_IP=", false, true, NULL},
    {"SNAT_IP=198.51.100.7", false, true, NULL},
    {"SNAT_IP=198.51.100.0/24", false, false, "SNAT_IP: '198.51.100.0/24': not an IPv4"},
    {"SNAT_IP=fd00::1", false, false, "SNAT_IP: 'fd00::1': not an IPv4 address"},
    {"SNAT_IP=tun0", false, false, "SNAT_IP: 'tun0'"},
    {"VPN_LOCAL_CIDRS=", false, true, NULL},
    {"VPN_LOCAL_CIDRS=10.0.0.0/8 192.168.0.0/16", false, true, NULL},
    {"VPN_LOCAL_CIDRS=10.0.0.0/8,fd00::/8", false, true, NULL},
    {"VPN_LOCAL_CIDRS=10.0.0.1/8", false, false,
     "VPN_LOCAL_CIDRS: '10.0.0.1/8': '10.0.0.1/8' is not a CIDR"},
    {"VPN_LOCAL_CIDRS=10.0.0.0/8 local", false, false, "'local'"},
    {"VPN_BLOCK_OTHER_TRAFFIC=true", false, true, NULL},
    {"VPN_BLOCK_OTHER_TRAFFIC=false", false, true, NULL},
    {"VPN_BLOCK_OTHER_TRAFFIC=yes", false, false,
     "VPN_BLOCK_OTHER_TRAFFIC: 'yes': must be true or false"},
    {"VPN_BLOCK_OTHER_TRAFFIC=", false, false, "VPN_BLOCK_OTHER_TRAFFIC: ''"},
    {"VPN_TRAFFIC_PORT=443", false, true, NULL},
    {"VPN_TRAFFIC_PORT=1194", false, true, NULL},
    {"VPN_TRAFFIC_PORT=0", false, false, "VPN_TRAFFIC_PORT: '0'"},
    {"VPN_TRAFFIC_PORT=65536", false, false, "VPN_TRAFFIC_PORT: '65536'"},
    {"VPN_TRAFFIC_PORT=https", false, false, "VPN_TRAFFIC_PORT: 'https': not a number"},
    {"NOT_ROUTED_TO_GATEWAY_CIDRS=10.0.0.0/8 192.168.0.0/16", true, true, NULL},
    {"NOT_ROUTED_TO_GATEWAY_CIDRS=10.0.0.0/8,fd00::/8", true, true, NULL},
    {"NOT_ROUTED_TO_GATEWAY_CIDRS=10.0.0.1/8", true, false,
     "NOT_ROUTED_TO_GATEWAY_CIDRS: '10.0.0.1/8': '10.0.0.1/8' is not a CIDR"},
    {"NOT_ROUTED_TO_GATEWAY_CIDRS=10.0.0.0/8 nonsense", true, false, "'nonsense'"},
    {"K8S_DNS_IPS=10.96.0.10", true, true, NULL},
    {"K8S_DNS_IPS=10.96.0.10 fd00::a", true, true, NULL},
    {"K8S_DNS_IPS=10.96.0.0/12", true, false, "K8S_DNS_IPS"},
    {"GATEWAY_RESOLVE_TIMEOUT=0", true, false, "GATEWAY_RESOLVE_TIMEOUT: '0'"},
    {"GATEWAY_RESOLVE_TIMEOUT=60", true, true, NULL},
    {"GATEWAY_CHECK_TIMEOUT=3601", true, false, "GATEWAY_CHECK_TIMEOUT"},
    {"READY_FILE=/run/podgw.ready", false, true, NULL},
    {"READY_FILE=relative", false, false, "READY_FILE: 'relative': must be an absolute path"},
    {"GATEWAY_CONTROL_PORT=8473", true, true, NULL},
    {"GATEWAY_CONTROL_PORT=0", false, false, "GATEWAY_CONTROL_PORT: '0'"},
    {"MEMBERSHIP_KEY_FILE=/etc/podgw/key", true, true, NULL},
    {"MEMBERSHIP_KEY_FILE=key", false, false, "MEMBERSHIP_KEY_FILE: 'key': must be an absolute"},
    {"VXLAN_GATEWAY_FIRST_DYNAMIC_IP=2", false, true, NULL},
    {"VXLAN_GATEWAY_FIRST_DYNAMIC_IP=1", false, false, "VXLAN_GATEWAY_FIRST_DYNAMIC_IP: '1'"},
    {"VXLAN_GATEWAY_FIRST_DYNAMIC_IP=255", false, false, "beyond the last host (254)"},
    {"LEASE_TIME=1", false, false, "LEASE_TIME: '1'"},
    {"LEASE_TIME=60", false, true, NULL},
    {"K_SINK=", false, true, NULL},
    {"K_SINK=http://127.0.0.1:8080/", false, true, NULL},
    {"K_SINK=https://broker-ingress.knative-eventing.svc.cluster.local/podgw/default", false, true,
     NULL},
    {"K_SINK=HTTP://Sink:80", false, true, NULL},
    {"K_SINK=ftp://sink/", false, false, "K_SINK: 'ftp://sink/': not an http:// or https:// URL"},
    {"K_SINK=sink:8080", false, false, "K_SINK: 'sink:8080': not an http"},
    {"K_SINK=http://", false, false, "K_SINK: 'http://': no host in the URL"},
    {"K_SINK=http:///path", false, false, "no host in the URL"},
    {"K_SINK=http://:80/", false, false, "no host in the URL"},
    {"K_SINK=http://a b/", false, false, "spaces or control characters"},
    {"K_SINK=http://user:secret@sink/", false, false, "credentials in the URL"},
    {"EVENTS_GATEWAY_NAME=foo", false, true, NULL},
    {"EVENTS_GATEWAY_NAME=Foo", false, false, "EVENTS_GATEWAY_NAME: 'Foo': not a DNS label"},
    {"REPLICA_NAME=foo-0", false, true, NULL},
    {"REPLICA_NAME=foo-7d9f8b7c5-x2abc.gw", false, true, NULL},
    {"REPLICA_NAME=0", false, true, NULL},
    {"REPLICA_NAME=Foo-0", false, false,
     "environment REPLICA_NAME: REPLICA_NAME: 'Foo-0': not a replica name"},
    {"REPLICA_NAME=foo_0", false, false, "REPLICA_NAME: 'foo_0': not a replica name"},
    {"REPLICA_NAME=foo 0", false, false, "REPLICA_NAME: 'foo 0': not a replica name"},
    {"REPLICA_NAME=foo/0", false, false, "REPLICA_NAME: 'foo/0': not a replica name"},
    {"REPLICA_NAME=", false, false, "REPLICA_NAME: '': empty"},
    {"REPLICA_NAME=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, true,
     NULL},
    {"REPLICA_NAME=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false,
     "REPLICA_NAME: 'aaaa"},
    /* the default comes from POD_NAME, and is checked as a value would be */
    {"POD_NAME=Gateway-0", false, false, "default: REPLICA_NAME: 'Gateway-0': not a replica name"},
    {"LEASES_FILE=", false, true, NULL},
    {"LEASES_FILE=relative/leases", false, false, "LEASES_FILE"},
    {"NAT_CONF_FILE=/config/nat.conf", false, true, NULL},
    {"POD_NAME=crawler-7d9f", true, true, NULL},
    {"POD_NAME=a b", true, false, "POD_NAME: 'a b': not printable"},
    {"POD_NAMESPACE=crawler-system", true, true, NULL},
    {"POD_NAMESPACE=Crawlers", true, false, "POD_NAMESPACE: 'Crawlers': not a DNS label"},
    {"LOG_LEVEL=debug", false, true, NULL},
    {"LOG_LEVEL=loud", false, false, "LOG_LEVEL: 'loud'"},
    {"LOG_FORMAT=json", true, true, NULL},
    {"LOG_FORMAT=logfmt", false, true, NULL},
    {"LOG_FORMAT=xml", false, false, "LOG_FORMAT: 'xml': must be logfmt or json"},
    {"METRICS_ADDRESS=", false, true, NULL},
    {"METRICS_ADDRESS=:9108", false, true, NULL},
    {"METRICS_ADDRESS=0.0.0.0:9108", false, true, NULL},
    {"METRICS_ADDRESS=[::]:9108", false, true, NULL},
    {"METRICS_ADDRESS=9108", false, false, "METRICS_ADDRESS: '9108': expected ADDRESS:PORT"},
    {"METRICS_ADDRESS=:0", false, false, "METRICS_ADDRESS: ':0'"},
    {"METRICS_ADDRESS=:65536", false, false, "between 1 and 65535"},
    {"STATUS_SOCKET=", false, true, NULL},
    {"STATUS_SOCKET=run/gw.sock", false, false,
     "STATUS_SOCKET: 'run/gw.sock': must be an absolute"},
    {"STATE_FILE=/run/podgw/clientd.state", true, true, NULL},
    {"REPLICA_SELECTION=spread", true, true, NULL},
    {"REPLICA_SELECTION=least-loaded", true, true, NULL},
    {"REPLICA_SELECTION=Spread", true, false,
     "REPLICA_SELECTION: 'Spread': not spread, least-loaded or pin"},
    {"REPLICA_SELECTION=pin", true, false, "REPLICA_SELECTION: 'pin': needs REPLICA"},
    {"REPLICA=foo-1", true, false, "REPLICA: 'foo-1': only with REPLICA_SELECTION=pin"},
    {"GATEWAY_NAME=10.244.0.2", true, true, NULL},
    {"GATEWAY_NAME=foo bar", true, false, "environment GATEWAY_NAME: GATEWAY_NAME: 'foo bar'"},
    {"CLIENT_ADDRESS=172.16.0.254", true, true, NULL},
    {"CLIENT_ADDRESS=172.16.0.11/24", true, true, NULL},
    {"CLIENT_ADDRESS=172.16.0.11/16", true, false, "prefix length differs"},
    {"CLIENT_ADDRESS=172.16.1.11", true, false, "CLIENT_ADDRESS: '172.16.1.11': outside"},
    {"CLIENT_ADDRESS=172.16.0.1", true, false, "gateway or broadcast"},
    {"CLIENT_ADDRESS=172.16.0.255", true, false, "gateway or broadcast"},
    {"CLIENT_ADDRESS=172.16.0.0", true, false, "gateway or broadcast"},
    {"CLIENT_ADDRESS=fd00::1", true, false, "not an IPv4 address"},
    {"CLIENT_DNS_THROUGH_TUNNEL=true", true, true, NULL},
    {"CLIENT_DNS_THROUGH_TUNNEL=1", true, false, "CLIENT_DNS_THROUGH_TUNNEL: '1': must be true"},
    {"DNS_FORWARDER=false", false, true, NULL},
    {"DNS_FORWARDER=off", false, false, "DNS_FORWARDER: 'off'"},
    {"DNS_UPSTREAM_SERVERS=198.51.100.53,203.0.113.53", false, true, NULL},
    {"DNS_UPSTREAM_SERVERS=2001:db8::53", false, true, NULL},
    {"DNS_UPSTREAM_SERVERS=203.0.113.53 2001:db8::53", false, true, NULL},
    {"DNS_UPSTREAM_SERVERS=2001:db8::/32", false, false, "DNS_UPSTREAM_SERVERS: '2001:db8::/32'"},
    {"DNS_UPSTREAM_SERVERS=dns.google", false, false, "DNS_UPSTREAM_SERVERS: 'dns.google'"},
    {"DNS_LOCAL_CIDRS=local, Cluster.Local. corp_1.example", false, true, NULL},
    {"DNS_LOCAL_CIDRS=", false, true, NULL},
    {"DNS_LOCAL_CIDRS=10.0.0.0/8", false, false,
     "DNS_LOCAL_CIDRS: '10.0.0.0/8': not a list of domain names"},
    {"DNS_LOCAL_CIDRS=a..b", false, false, "DNS_LOCAL_CIDRS: 'a..b'"},
    {"DNS_LOCAL_CIDRS=.", false, false, "DNS_LOCAL_CIDRS: '.'"},
    {"DNS_LOCAL_CIDRS=a b c d e f g h i j k l m n o p q", false, false, "more than 16"},
    {"DNS_LOCAL_SERVER=10.96.0.10", false, true, NULL},
    {"DNS_LOCAL_SERVER=fd00::a", false, true, NULL},
    {"DNS_LOCAL_SERVER=fd00::a/64", false, false, "DNS_LOCAL_SERVER: 'fd00::a/64': not an IP"},
    {"DNS_RESOLV_CONF=resolv.conf", false, false, "DNS_RESOLV_CONF: 'resolv.conf': must be"},
};

static void test_env_table(void)
{
	for (size_t i = 0; i < sizeof(env_cases) / sizeof(env_cases[0]); i++) {
		const struct env_case *c = &env_cases[i];
		char *argv[] = {"prog", "run", NULL};
		/* Clients need a gateway and an address; the case overrides them
		 * because later entries lose (the first match is used). */
		char *envp[] = {(char *)c->env, "GATEWAY_NAME=gw", "CLIENT_ADDRESS=172.16.0.9",
				NULL};
		struct pg_config cfg;
		char *errs = NULL;
		int r = load(c->client ? PG_ROLE_CLIENT : PG_ROLE_GATEWAY, argv, envp, &cfg, &errs);

		if ((r == 0) != c->ok || (c->expect && !strstr(errs, c->expect)) ||
		    (!c->ok && count_lines(errs) != 1)) {
			fprintf(stderr, "case %s: r=%d errors: %s\n", c->env, r, errs);
			check_failures++;
		}
		free(errs);
	}
}

/* pod-gateway's lower-case "gateway"; GATEWAY_NAME wins when both are set. */
static void test_gateway_alias(void)
{
	char *argv[] = {"clientd", "init", NULL};
	char *envp[] = {"gateway=foo", "CLIENT_ADDRESS=172.16.0.9", NULL};
	char *envp2[] = {"gateway=foo", "GATEWAY_NAME=bar", "CLIENT_ADDRESS=172.16.0.9", NULL};
	struct pg_config cfg;
	char *errs = NULL;

	CHECK(load(PG_ROLE_CLIENT, argv, envp, &cfg, &errs) == 0);
	CHECK_STR(cfg.gateway, "foo");
	free(errs);
	CHECK(load(PG_ROLE_CLIENT, argv, envp2, &cfg, &errs) == 0);
	CHECK_STR(cfg.gateway, "bar");
	free(errs);
}

static void test_identity_defaults(void)
{
	char *argv[] = {"clientd", "init", NULL};
	char *envp[] = {"gateway=foo", NULL};
	char *envp2[] = {"gateway=foo", "POD_NAME=c1", "POD_NAMESPACE=crawlers", NULL};
	struct pg_config cfg;
	char host[256] = "";
	char *errs = NULL;

	gethostname(host, sizeof(host));
	CHECK(load(PG_ROLE_CLIENT, argv, envp, &cfg, &errs) == 0);
	CHECK_STR(cfg.pod_name, host);
	CHECK(cfg.pod_namespace[0] != '\0');
	free(errs);
	CHECK(load(PG_ROLE_CLIENT, argv, envp2, &cfg, &errs) == 0);
	CHECK_STR(cfg.pod_name, "c1");
	CHECK_STR(cfg.pod_namespace, "crawlers");
	free(errs);
}

/* REPLICA_NAME: POD_NAME (the downward API's), else the hostname's first
 * label in lower case; a value set wins. */
static void test_replica_defaults(void)
{
	char *argv[] = {"gatewayd", NULL};
	char *envp[] = {NULL};
	char *envp2[] = {"POD_NAME=foo-6b4d-x7", NULL};
	char *envp3[] = {"POD_NAME=foo-6b4d-x7", "REPLICA_NAME=foo-0", NULL};
	char host[256] = "";
	struct pg_config cfg;
	char *errs = NULL;

	gethostname(host, sizeof(host) - 1);
	host[strcspn(host, ".")] = '\0';
	for (char *c = host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	CHECK(load(PG_ROLE_GATEWAY, argv, envp, &cfg, &errs) == 0);
	CHECK_STR(cfg.replica_name, host);
	free(errs);
	CHECK(load(PG_ROLE_GATEWAY, argv, envp2, &cfg, &errs) == 0);
	CHECK_STR(cfg.replica_name, "foo-6b4d-x7");
	CHECK_STR(errs, "");
	free(errs);
	CHECK(load(PG_ROLE_GATEWAY, argv, envp3, &cfg, &errs) == 0);
	CHECK_STR(cfg.replica_name, "foo-0");
	free(errs);
}

static void test_defaults(void)
{
	char *argv[] = {"gatewayd", NULL};
	char *envp[] = {NULL};
	struct pg_config cfg;
	char *errs = NULL, buf[PG_PREFIX_STRLEN];

	CHECK(load(PG_ROLE_GATEWAY, argv, envp, &cfg, &errs) == 0);
	CHECK(cfg.vxlan_id == 42);
	CHECK(cfg.vxlan_port == 8472);
	CHECK_STR(pg_prefix_fmt(&cfg.overlay, buf, true), "172.16.0.0/24");
	CHECK_STR(cfg.vxlan_if, "vxlan0");
	CHECK_STR(cfg.underlay_if, "eth0");
	CHECK_STR(cfg.vpn_if, "");
	CHECK(cfg.vpn_mtu == 0);
	CHECK(cfg.snat_ip.family == 0);
	CHECK(cfg.vpn_local.n == 0);
	CHECK(cfg.vpn_block); /* pod-gateway's default; acts only with a VPN */
	CHECK(cfg.vpn_port == 443);
	CHECK(cfg.log_level == PG_LOG_INFO);
	/* DNS: served, servers from resolv.conf at start (gatewayd/dns.c). */
	CHECK(cfg.dns_forwarder && cfg.dns_upstream.n == 0 && cfg.dns_local_server.family == 0);
	CHECK(cfg.dns_local.n == 1);
	CHECK_STR(cfg.dns_local.items[0], "local");
	CHECK_STR(cfg.resolv_conf, "/etc/resolv.conf");
	/* IPv6 overlay derived by gatewayd; the underlay's family chosen at start */
	CHECK(!cfg.overlay6.off && cfg.overlay6.prefix.family == 0);
	CHECK(cfg.underlay_family == AF_UNSPEC);
	CHECK_STR(errs, "");
	free(errs);
}

static void test_ipv6_values(void)
{
	char *argv[] = {"gatewayd", "--underlay-family", "ipv6", NULL};
	char *envp[] = {"VXLAN_IPV6_NETWORK=fd12:3456:789a:2a::/64", NULL};
	char *envp2[] = {"VXLAN_IPV6_NETWORK=off", "UNDERLAY_FAMILY=ipv4", NULL};
	char *argv2[] = {"gatewayd", NULL};
	struct pg_config cfg;
	char *errs = NULL, buf[PG_PREFIX_STRLEN];

	CHECK(load(PG_ROLE_GATEWAY, argv, envp, &cfg, &errs) == 0);
	CHECK(!cfg.overlay6.off && cfg.underlay_family == AF_INET6);
	CHECK_STR(pg_prefix_fmt(&cfg.overlay6.prefix, buf, true), "fd12:3456:789a:2a::/64");
	free(errs);
	CHECK(load(PG_ROLE_GATEWAY, argv2, envp2, &cfg, &errs) == 0);
	CHECK(cfg.overlay6.off && cfg.underlay_family == AF_INET);
	free(errs);
	/* --check-config's output loads to the same */
	{
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		struct pg_config again;

		pg_config_print(f, PG_ROLE_GATEWAY, &cfg);
		fclose(f);
		CHECK(strstr(text, "VXLAN_IPV6_NETWORK='off'") ||
		      strstr(text, "VXLAN_IPV6_NETWORK=\"off\""));
		f = open_memstream(&errs, &len);
		CHECK(pg_config_load_text(&again, PG_ROLE_GATEWAY, "x", text, strlen(text), f) ==
		      0);
		fclose(f);
		CHECK(again.overlay6.off && again.underlay_family == AF_INET);
		free(text);
		free(errs);
	}
}

/* Options beat environment, environment beats the file. */
static void test_precedence(void)
{
	char path[] = "/tmp/podgw-test-config-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct pg_config cfg;
	char *errs = NULL;

	fputs("VXLAN_ID=7\nVXLAN_PORT=1000\nLOG_LEVEL=debug\n", f);
	fclose(f);
	{
		char *argv[] = {"gatewayd", "--config", path, "--vxlan-id", "9", NULL};
		char *envp[] = {"VXLAN_ID=8", "VXLAN_PORT=2000", NULL};

		CHECK(load(PG_ROLE_GATEWAY, argv, envp, &cfg, &errs) == 0);
		CHECK(cfg.vxlan_id == 9);
		CHECK(cfg.vxlan_port == 2000);
		CHECK(cfg.log_level == PG_LOG_DEBUG);
		free(errs);
	}
	{
		char *argv[] = {"gatewayd", "--vxlan-port=3000", "--config=/nonexistent/podgw",
				NULL};
		char *envp[] = {NULL};

		CHECK(load(PG_ROLE_GATEWAY, argv, envp, &cfg, &errs) == -EINVAL);
		CHECK(strstr(errs, "--config: '/nonexistent/podgw'") != NULL);
		free(errs);
	}
	unlink(path);
}

static void test_errors_collected(void)
{
	char *argv[] = {"gatewayd", "--vxlan-id", "0", "--bogus", "--vxlan-port", NULL};
	char *envp[] = {"VXLAN_IP_NETWORK=1.2.3.4/24", NULL};
	struct pg_config cfg;
	char *errs = NULL;

	/* Option errors stop before validation, so two lines: --bogus and the
	 * missing value. */
	CHECK(load(PG_ROLE_GATEWAY, argv, envp, &cfg, &errs) == -EINVAL);
	CHECK(strstr(errs, "--bogus: unknown option") != NULL);
	CHECK(strstr(errs, "--vxlan-port: missing value") != NULL);
	free(errs);

	char *argv2[] = {"gatewayd", "--vxlan-id", "0", NULL};
	CHECK(load(PG_ROLE_GATEWAY, argv2, envp, &cfg, &errs) == -EINVAL);
	CHECK(count_lines(errs) == 2);
	CHECK(strstr(errs, "option --vxlan-id: VXLAN_ID: '0'") != NULL);
	CHECK(strstr(errs, "environment VXLAN_IP_NETWORK: VXLAN_IP_NETWORK: '1.2.3.4/24'") != NULL);
	free(errs);

	/* A client's own options are unknown to the gateway. */
	char *argv3[] = {"gatewayd", "--gateway", "foo", NULL};
	CHECK(load(PG_ROLE_GATEWAY, argv3, envp, &cfg, &errs) == -EINVAL);
	free(errs);

	char *argv4[] = {"clientd", "init", NULL};
	char *envp4[] = {NULL};
	CHECK(load(PG_ROLE_CLIENT, argv4, envp4, &cfg, &errs) == -EINVAL);
	CHECK(strstr(errs, "GATEWAY_NAME: required setting is missing") != NULL);
	CHECK(strstr(errs, "CLIENT_ADDRESS") == NULL); /* optional: the gateway assigns */
	CHECK(count_lines(errs) == 1);
	free(errs);
}

static int load_text(const char *text, enum pg_role role, struct pg_config *cfg, char **errs)
{
	size_t len;
	FILE *f = open_memstream(errs, &len);
	int r = pg_config_load_text(cfg, role, "settings.sh", text, strlen(text), f);

	fclose(f);
	return r;
}

/* pod-gateway's settings.sh, as shipped, must read without error. */
static const char pod_gateway_settings[] =
    "#!/bin/sh\n"
    "# hostname of the gateway - it must accept vxlan and DHCP traffic\n"
    "GATEWAY_NAME=\"${gateway}\"\n"
    "K8S_DNS_IPS=\"10.96.0.10\"\n"
    "NOT_ROUTED_TO_GATEWAY_CIDRS=\"\"\n"
    "\n"
    "# Vxlan ID to use\n"
    "VXLAN_ID=\"42\"\n"
    "VXLAN_IP_NETWORK=\"172.16.0\"\n"
    "VXLAN_GATEWAY_FIRST_DYNAMIC_IP=20\n"
    "VPN_INTERFACE=tun0\n"
    "VPN_BLOCK_OTHER_TRAFFIC=true\n"
    "VPN_TRAFFIC_PORT=443\n"
    "VPN_LOCAL_CIDRS=\"10.0.0.0/8 192.168.0.0/16\"\n"
    "DNS_LOCAL_CIDRS=\"local\"\n"
    "RESOLV_CONF_COPY=/etc/resolv_copy\n"
    "GATEWAY_ENABLE_DNSSEC=false\n";

static void test_file_syntax(void)
{
	struct pg_config cfg;
	char *errs = NULL, buf[PG_PREFIX_STRLEN];

	CHECK(load_text(pod_gateway_settings, PG_ROLE_GATEWAY, &cfg, &errs) == 0);
	CHECK_STR(cfg.vpn_if, "tun0");
	CHECK_STR(pg_prefix_fmt(&cfg.overlay, buf, true), "172.16.0.0/24");
	CHECK(cfg.vpn_block && cfg.vpn_port == 443 && cfg.vpn_local.n == 2);
	CHECK_STR(pg_prefix_fmt(&cfg.vpn_local.items[1], buf, true), "192.168.0.0/16");
	CHECK(strstr(errs, "warning: pod-gateway settings not implemented, ignored: "
			   "RESOLV_CONF_COPY, GATEWAY_ENABLE_DNSSEC") != NULL);
	CHECK(cfg.dns_local.n == 1);
	CHECK_STR(cfg.dns_local.items[0], "local");
	CHECK(strstr(errs, "VPN_") == NULL);
	CHECK(count_lines(errs) == 1);
	free(errs);

	CHECK(load_text("VPN_INTERFACE=wg0\nSNAT_IP=198.51.100.7\nVPN_BLOCK_OTHER_TRAFFIC=false\n"
			"VPN_INTERFACE_MTU=1420\n",
			PG_ROLE_GATEWAY, &cfg, &errs) == 0);
	CHECK_STR(pg_prefix_fmt(&cfg.snat_ip, buf, false), "198.51.100.7");
	CHECK(!cfg.vpn_block && cfg.vpn_mtu == 1420);
	CHECK_STR(errs, "");
	free(errs);

	CHECK(load_text("export VXLAN_ID='7' # comment\r\nVXLAN_PORT=1$VXLAN_ID\"0\"\n"
			"  VPN_INTERFACE=\"t/\\\"\"\n",
			PG_ROLE_GATEWAY, &cfg, &errs) == -EINVAL);
	/* t/" is not an interface name: the escaped quote was read as one */
	CHECK(strstr(errs, "settings.sh:3: VPN_INTERFACE: 't/\"'") != NULL);
	CHECK(count_lines(errs) == 1);
	free(errs);

	CHECK(load_text("VXLAN_ID=7\nVXLAN_PORT=1${VXLAN_ID}0\n", PG_ROLE_GATEWAY, &cfg, &errs) ==
	      0);
	CHECK(cfg.vxlan_id == 7 && cfg.vxlan_port == 170);
	free(errs);

	static const struct {
		const char *text;
		const char *expect;
	} bad[] = {
	    {"VXLAN_ID=$(reboot)\n", "settings.sh:1: 'VXLAN_ID=$(reboot)': command substitution"},
	    {"VXLAN_ID=`reboot`\n", "shell syntax beyond KEY=VALUE"},
	    {"VXLAN_ID=\"`reboot`\"\n", "command substitution"},
	    {"\n\nVXLAN_ID=1 2\n", "settings.sh:3:"},
	    {"VXLAN_ID='1\n", "unterminated single quote"},
	    {"VXLAN_ID=\"1\n", "unterminated double quote"},
	    {"if true; then\n", "expected KEY=VALUE"},
	    {"VXLAN_ID\n", "expected KEY=VALUE"},
	    {"VXLAN_ID=${X:-1}\n", "only $NAME and ${NAME}"},
	    {"VXLN_ID=1\n", "settings.sh:1: VXLN_ID: unknown setting"},
	    {"VXLAN_ID=1; VXLAN_PORT=2\n", "shell syntax"},
	    {"VXLAN_ID=0\n", "settings.sh:1: VXLAN_ID: '0'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = load_text(bad[i].text, PG_ROLE_GATEWAY, &cfg, &errs);

		if (r != -EINVAL || !strstr(errs, bad[i].expect) || count_lines(errs) != 1) {
			fprintf(stderr, "file case %zu: r=%d errors: %s", i, r, errs);
			check_failures++;
		}
		free(errs);
	}

	/* Each line doubles the value: refused past 1 MiB, not 2^40 bytes. */
	{
		char text[64 + 40 * 40] = "READY_FILE=/run/ready\n";

		for (int i = 0; i < 40; i++)
			strcat(text, "READY_FILE=$READY_FILE$READY_FILE\n");
		CHECK(load_text(text, PG_ROLE_GATEWAY, &cfg, &errs) == -EINVAL);
		CHECK(strstr(errs,
			     "settings.sh:17: 'READY_FILE=$READY_FILE$READY_FILE': expansions "
			     "add up to more than 1 MiB") != NULL);
		free(errs);
	}

	/* Two bad lines: both are reported. */
	CHECK(load_text("A=1\nB=2\n", PG_ROLE_GATEWAY, &cfg, &errs) == -EINVAL);
	CHECK(count_lines(errs) == 2);
	free(errs);
}

static void test_usage_lists_all(void)
{
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	pg_config_usage(f, PG_ROLE_CLIENT, "clientd");
	fclose(f);
	CHECK(strstr(out, "--gateway HOST") && strstr(out, "GATEWAY_NAME or gateway"));
	CHECK(strstr(out, "--vxlan-id N") && strstr(out, "(default: 42)"));
	CHECK(strstr(out, "--not-routed-to-gateway-cidrs"));
	CHECK(!strstr(out, "--underlay-interface"));
	CHECK(!strstr(out, "--vpn-block-other-traffic"));
	free(out);

	f = open_memstream(&out, &len);
	pg_config_usage(f, PG_ROLE_GATEWAY, "gatewayd");
	fclose(f);
	CHECK(strstr(out, "--vpn-interface-mtu N") && strstr(out, "--snat-ip IP"));
	CHECK(strstr(out, "--vpn-local-cidrs CIDRS") && strstr(out, "VPN_BLOCK_OTHER_TRAFFIC"));
	CHECK(strstr(out, "--vpn-traffic-port N") && strstr(out, "(default: 443)"));
	free(out);
}

int main(void)
{
	test_env_table();
	test_defaults();
	test_ipv6_values();
	test_gateway_alias();
	test_identity_defaults();
	test_replica_defaults();
	test_precedence();
	test_errors_collected();
	test_file_syntax();
	test_usage_lists_all();
	return check_result();
}
