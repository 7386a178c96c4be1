/* SPDX-License-Identifier: MIT */
/* The gateway's tables in each egress mode, serialized and read back with
 * libnftnl: no root, no kernel. */
#include "gatewayd/gateway.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdlib.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>

#include "check.h"
#include "gatewayd/overlay6.h"
#include "gatewayd/reach.h"
#include "nftbatch.h"

#define MAX_RULES 64

struct parsed {
	size_t nrules, nchains, nsets;
	char *chain[MAX_RULES]; /* of each rule */
	char *text[MAX_RULES];	/* each rule's expressions as libnftnl prints them */
	char *chains[16];	/* "name type hook prio" */
	char *sets[16];
};

/* Serializes t (freeing it) and parses every message back. */
static void parse(struct pg_nft_table *t, struct parsed *p)
{
	struct nft_batch b;

	memset(p, 0, sizeof(*p));
	CHECK(t != NULL);
	if (!t)
		abort();
	CHECK(nft_batch_serialize(t, &b) == 0);
	pg_nft_table_free(t);
	for (size_t i = 0; i < b.n; i++) {
		const struct nlmsghdr *nlh = b.msg[i];

		if (nlh->nlmsg_type == nft_msg_type(NFT_MSG_NEWRULE) && p->nrules < MAX_RULES) {
			p->text[p->nrules] = nft_rule_text(nlh, NULL, &p->chain[p->nrules]);
			p->nrules++;
		} else if (nlh->nlmsg_type == nft_msg_type(NFT_MSG_NEWCHAIN) && p->nchains < 16) {
			p->chains[p->nchains++] = nft_chain_text(nlh);
		} else if (nlh->nlmsg_type == nft_msg_type(NFT_MSG_NEWSET) && p->nsets < 16) {
			p->sets[p->nsets++] = nft_set_name(nlh);
		}
	}
	nft_batch_free(&b);
}

static void parsed_free(struct parsed *p)
{
	for (size_t i = 0; i < p->nrules; i++) {
		free(p->chain[i]);
		free(p->text[i]);
	}
	for (size_t i = 0; i < p->nchains; i++)
		free(p->chains[i]);
	for (size_t i = 0; i < p->nsets; i++)
		free(p->sets[i]);
}

/* Interface names as libnftnl prints a compared IFNAMSIZ buffer. */
#define ETH0   "0x30687465 0x00000000 0x00000000 0x00000000"
#define TUN0   "0x306e7574 0x00000000 0x00000000 0x00000000"
#define VXLAN0 "0x616c7876 0x0000306e 0x00000000 0x00000000"

/* One expected rule: its chain and '|'-separated pieces of its text, which
 * must appear in this order. */
struct want {
	const char *chain;
	const char *pieces;
};

static bool has_pieces(const char *text, const char *pieces)
{
	char *copy = strdup(pieces), *save = NULL;
	const char *at = text;
	bool ok = true;

	if (!copy)
		abort();
	for (char *piece = strtok_r(copy, "|", &save); piece && ok;
	     piece = strtok_r(NULL, "|", &save)) {
		const char *hit = strstr(at, piece);

		ok = hit != NULL;
		if (hit)
			at = hit + strlen(piece);
	}
	free(copy);
	return ok;
}

static void check_rules(const char *mode, const struct parsed *p, const struct want *w, size_t n)
{
	if (p->nrules != n) {
		fprintf(stderr, "%s: %zu rules, want %zu\n", mode, p->nrules, n);
		check_failures++;
	}
	for (size_t i = 0; i < n && i < p->nrules; i++) {
		if (strcmp(p->chain[i], w[i].chain) != 0 || !has_pieces(p->text[i], w[i].pieces)) {
			fprintf(stderr, "%s: rule %zu in %s:\n%swant in %s: %s\n", mode, i,
				p->chain[i], p->text[i], w[i].chain, w[i].pieces);
			check_failures++;
		}
	}
}

static bool has_chain(const struct parsed *p, const char *text)
{
	for (size_t i = 0; i < p->nchains; i++)
		if (strcmp(p->chains[i], text) == 0)
			return true;
	return false;
}

static bool has_set(const struct parsed *p, const char *name)
{
	for (size_t i = 0; i < p->nsets; i++)
		if (strcmp(p->sets[i], name) == 0)
			return true;
	return false;
}

static void load(const char *text, struct pg_config *cfg)
{
	char *errs = NULL;
	size_t len;
	FILE *f = open_memstream(&errs, &len);

	CHECK(pg_config_load_text(cfg, PG_ROLE_GATEWAY, "settings.sh", text, strlen(text), f) == 0);
	fclose(f);
	free(errs);
}

/* Rules every mode has, before the egress ones: admission in input for
 * either underlay family (the datagram's pod IP leased, its inner source MAC leased to that pod IP,
 * only IPv4 and ARP inside, an ARP sender leased to it too), then what the
 * overlay may ask of the gateway itself (DNS to the forwarder, pings to the
 * overlay address, replies); the MSS clamp leading the forward chain (a
 * chain of its own would cost every forwarded packet one more hook), then
 * admission, the destinations refused (reach.c) and the per-client traffic
 * counts in forward. */
#define VXLAN_IN "0x00000002|0x00000011|transport header + 2|cmp eq reg 1 0x00001821|"
/* The same over an IPv6 underlay (nfproto ipv6, ip6 saddr). */
#define VXLAN6_IN "0x0000000a|0x00000011|transport header + 2|cmp eq reg 1 0x00001821|"
#define INPUT_AND_ANTISPOOF                                                                        \
	{"input", VXLAN_IN "set peers 0x1|drop"},                                                  \
	    {"input", VXLAN_IN "network header + 12 => reg 1|transport header + 22 => reg 9|"      \
			       "set peer_macs 0x1|counter|drop"},                                  \
	    {"input", VXLAN_IN "transport header + 28|cmp neq reg 1 0x00000008|"                   \
			       "transport header + 28|cmp neq reg 1 0x00000608|counter|drop"},     \
	    {"input", VXLAN_IN "transport header + 28|cmp eq reg 1 0x00000608|"                    \
			       "network header + 12 => reg 1|transport header + 38 => reg 9|"      \
			       "set peer_macs 0x1|counter|drop"},                                  \
	    {"input", VXLAN_IN "transport header + 28|cmp eq reg 1 0x00000608|"                    \
			       "transport header + 44 => reg 1|transport header + 38 => reg 9|"    \
			       "set arp_senders 0x1|counter|drop"},                                \
	    {"input", VXLAN_IN "network header + 12 => reg 1|transport header + 22 => reg 9|"      \
			       "set peer_macs ]"},                                                 \
	    {"input", VXLAN6_IN "network header + 8 => reg 1|set peers6 0x1|drop"},                \
	    {"input", VXLAN6_IN "network header + 8 => reg 1|transport header + 22 => reg 12|"     \
				"set peer_macs6 0x1|counter|drop"},                                \
	    {"input", VXLAN6_IN "transport header + 28|cmp neq reg 1 0x00000008|"                  \
				"transport header + 28|cmp neq reg 1 0x00000608|counter|drop"},    \
	    {"input", VXLAN6_IN "transport header + 28|cmp eq reg 1 0x00000608|"                   \
				"network header + 8 => reg 1|transport header + 38 => reg 12|"     \
				"set peer_macs6 0x1|counter|drop"},                                \
	    {"input", VXLAN6_IN "transport header + 28|cmp eq reg 1 0x00000608|"                   \
				"transport header + 44 => reg 1|transport header + 38 => reg 9|"   \
				"set arp_senders 0x1|counter|drop"},                               \
	    {"input", VXLAN6_IN "network header + 8 => reg 1|transport header + 22 => reg 12|"     \
				"set peer_macs6 ]"},                                               \
	    {"input", VXLAN0 "|set clients 0x1|drop"},                                             \
	    {"input", "iifname|" VXLAN0 "|ct load state|accept"},                                  \
	    {"input", "iifname|" VXLAN0 "|network header + 16|0x010010ac|0x00000011|"              \
		      "transport header + 2|0x00004527|accept"},                                   \
	    {"input", "iifname|" VXLAN0 "|network header + 16|0x010010ac|0x00000001|"              \
		      "transport header + 0|cmp eq reg 1 0x00000008|accept"},                      \
	    {"input", "iifname|" VXLAN0 "|counter|drop"},                                          \
	    {"forward",                                                                            \
	     "iifname|" VXLAN0 "|transport header + 13|rt load tcpmss|exthdr write tcpopt"},       \
	    {"forward",                                                                            \
	     "oifname|" VXLAN0 "|transport header + 13|rt load tcpmss|exthdr write tcpopt"},       \
	    {"forward", VXLAN0 "|set clients 0x1|drop"},                                           \
	    {"forward", "iifname|" VXLAN0 "|ct load status|0x00000020|cmp eq reg 1 0x00000000|"    \
			"network header + 16|set overlay_deny|network header + 16|"                \
			"set overlay_allow 0x1|counter|drop"},                                     \
	    {"forward", "iifname|" VXLAN0 "|network header + 12|set client_tx"},                   \
	{                                                                                          \
		"forward", "oifname|" VXLAN0 "|network header + 16|set client_rx"                  \
	}
/* The DNS forwarder (on by default): iifname vxlan0 ip daddr 172.16.0.1
 * udp dport 53 dnat to 172.16.0.1:10053. */
#define DNS_UDP                                                                                    \
	{                                                                                          \
		"dns", "iifname|" VXLAN0 "|network header + 16|0x010010ac|0x00000011|"             \
		       "transport header + 2|0x00003500|counter|0x010010ac|0x00004527|nat dnat ip" \
	}
/* ...and after them: replies in, the rest dropped, and last what neither
 * comes from nor goes to the overlay (a pod routing through the gateway's
 * pod IP). */
#define FORWARD_TAIL                                                                               \
	{"forward", "oifname|" VXLAN0 "|ct load state|accept"},                                    \
	    {"forward", "iifname|" VXLAN0 "|drop"}, {"forward", "oifname|" VXLAN0 "|drop"},        \
	{                                                                                          \
		"forward", "counter|drop"                                                          \
	}

/* The forward chain's last rule drops whatever reached it, whatever its
 * interfaces or family. */
static bool forward_ends_in_drop(const struct parsed *p)
{
	int last = -1;

	for (size_t i = 0; i < p->nrules; i++)
		if (strcmp(p->chain[i], "forward") == 0)
			last = (int)i;
	return last >= 0 && has_pieces(p->text[last], "counter|drop") &&
	       !strstr(p->text[last], "meta") && !strstr(p->text[last], "payload");
}
static void test_no_vpn(void)
{
	static const struct want want[] = {
	    INPUT_AND_ANTISPOOF,
	    {"forward", "iifname|" VXLAN0 "|oifname|" ETH0 "|network header + 12|accept"},
	    FORWARD_TAIL,
	    {"postrouting", "network header + 12|oifname|" ETH0 "|masq"},
	    DNS_UDP,
	};
	static const struct want guard[] = {
	    {"postrouting", "oifname|" ETH0 "|network header + 12|drop"},
	};
	struct pg_config cfg;
	struct parsed p;

	load("VPN_LOCAL_CIDRS=10.0.0.0/8\nSNAT_IP=\n", &cfg); /* local CIDRs: only with a VPN */
	parse(pg_gateway_ruleset(&cfg, NULL), &p);
	check_rules("no vpn", &p, want, sizeof(want) / sizeof(want[0]));
	CHECK(forward_ends_in_drop(&p));
	CHECK(!has_chain(&p, "mss filter 2 -150"));
	CHECK(!has_chain(&p, "killswitch filter 3 0"));
	CHECK(!has_set(&p, "vpn_local"));
	parsed_free(&p);
	parse(pg_gateway_guard(&cfg), &p);
	check_rules("no vpn guard", &p, guard, 1);
	parsed_free(&p);
}

/* meta nfproto ipv6 as compared in a register */
#define NFPROTO6 "cmp eq reg 1 0x0000000a"

/* Ports as libnftnl prints a big-endian u16 compared in a register. */
#define P8472 "0x00001821"
#define P8473 "0x00001921"
#define P1194 "0x0000aa04"

/* The kill switch's output filter up to VPN_LOCAL_CIDRS: VXLAN to clients
 * and membership replies by port (clients may be on any node's subnet),
 * the VPN endpoint port, UDP and TCP, IPv6 neighbour discovery on the link
 * (link-scope, and solicitations and advertisements between pod IPs of an
 * IPv6 pod network: IPv6 only, an IPv4 packet of protocol 58 is none). */
#define KILL_SWITCH_HEAD                                                                           \
	{"killswitch", "oifname|cmp neq reg 1 " ETH0 "|accept"},                                   \
	    {"killswitch", "ct load state|accept"},                                                \
	    {"killswitch", ETH0 "|0x00000011|transport header + 2|" P8472 "|accept"},              \
	    {"killswitch", ETH0 "|0x00000011|transport header + 0|" P8473 "|accept"},              \
	    {"killswitch", ETH0 "|0x00000011|transport header + 2|" P1194 "|accept"},              \
	    {"killswitch", ETH0 "|0x00000006|transport header + 2|" P1194 "|accept"},              \
	    {"killswitch", "0x0000003a|network header + 24|0x000002ff|accept"},                    \
	    {"killswitch", "0x0000003a|network header + 8|0x000080fe|accept"},                     \
	    {"killswitch",                                                                         \
	     ETH0 "|nfproto|" NFPROTO6 "|0x0000003a|transport header + 0|0x00000087|accept"},      \
	{                                                                                          \
		"killswitch",                                                                      \
		    ETH0 "|nfproto|" NFPROTO6 "|0x0000003a|transport header + 0|0x00000088|accept" \
	}

static void test_vpn_kill_switch(void)
{
	static const struct want want[] = {
	    INPUT_AND_ANTISPOOF,
	    /* Out through tun0 only: with tun0 gone nothing leaves. */
	    {"forward", "iifname|" VXLAN0 "|oifname|" TUN0 "|network header + 12|accept"},
	    FORWARD_TAIL,
	    {"postrouting", "network header + 12|oifname|" TUN0 "|masq"},
	    {"postrouting", "network header + 12|oifname|" ETH0 "|masq"},
	    DNS_UDP,
	    KILL_SWITCH_HEAD,
	    {"killswitch", "counter|drop"},
	};
	static const struct want guard[] = {
	    {"postrouting", "oifname|" TUN0 "|network header + 12|drop"},
	    {"postrouting", "oifname|" ETH0 "|network header + 12|drop"},
	};
	struct pg_config cfg;
	struct parsed p;

	load("VPN_INTERFACE=tun0\nVPN_TRAFFIC_PORT=1194\n", &cfg);
	CHECK(cfg.vpn_block); /* the default */
	parse(pg_gateway_ruleset(&cfg, NULL), &p);
	check_rules("vpn kill switch", &p, want, sizeof(want) / sizeof(want[0]));
	CHECK(forward_ends_in_drop(&p));
	CHECK(has_chain(&p, "killswitch filter 3 0"));
	CHECK(!has_set(&p, "vpn_local") && !has_set(&p, "vpn_local6"));
	parsed_free(&p);
	parse(pg_gateway_guard(&cfg), &p);
	check_rules("vpn guard", &p, guard, sizeof(guard) / sizeof(guard[0]));
	parsed_free(&p);
}

static void test_vpn_snat_local(void)
{
	static const struct want want[] = {
	    INPUT_AND_ANTISPOOF,
	    {"forward", "iifname|" VXLAN0 "|oifname|" TUN0 "|network header + 12|accept"},
	    /* VPN_LOCAL_CIDRS stay on the pod network, VPN up or down */
	    {"forward",
	     "iifname|" VXLAN0 "|oifname|" ETH0
	     "|network header + 12|network header + 16|lookup reg 1 set vpn_local|accept"},
	    FORWARD_TAIL,
	    /* 198.51.100.7 */
	    {"postrouting",
	     "oifname|" TUN0 "|immediate reg 1 0x076433c6|nat snat ip addr_min reg 1"},
	    {"postrouting", "network header + 12|oifname|" ETH0 "|masq"},
	    DNS_UDP,
	    KILL_SWITCH_HEAD,
	    {"killswitch", "network header + 16|lookup reg 1 set vpn_local |accept"},
	    {"killswitch", "network header + 24|lookup reg 1 set vpn_local6 |accept"},
	    {"killswitch", "counter|drop"},
	};
	struct pg_config cfg;
	struct parsed p;

	load("VPN_INTERFACE=tun0\nVPN_TRAFFIC_PORT=1194\nSNAT_IP=198.51.100.7\n"
	     "VPN_LOCAL_CIDRS=\"10.0.0.0/8 192.168.0.0/16 fd00::/8\"\n",
	     &cfg);
	parse(pg_gateway_ruleset(&cfg, NULL), &p);
	check_rules("vpn snat local", &p, want, sizeof(want) / sizeof(want[0]));
	CHECK(has_set(&p, "vpn_local") && has_set(&p, "vpn_local6"));
	parsed_free(&p);
}

/* VPN_BLOCK_OTHER_TRAFFIC=false: pod-gateway's behaviour without the kill
 * switch, where the routes decide and the underlay is a fallback. */
static void test_vpn_no_block(void)
{
	static const struct want want[] = {
	    INPUT_AND_ANTISPOOF,
	    {"forward", "iifname|" VXLAN0 "|oifname|" TUN0 "|network header + 12|accept"},
	    {"forward", "iifname|" VXLAN0 "|oifname|" ETH0 "|network header + 12|accept"},
	    FORWARD_TAIL,
	    {"postrouting", "network header + 12|oifname|" TUN0 "|masq"},
	    {"postrouting", "network header + 12|oifname|" ETH0 "|masq"},
	    DNS_UDP,
	};
	struct pg_config cfg;
	struct parsed p;

	load("VPN_INTERFACE=tun0\nVPN_BLOCK_OTHER_TRAFFIC=false\nVPN_LOCAL_CIDRS=10.0.0.0/8\n",
	     &cfg);
	parse(pg_gateway_ruleset(&cfg, NULL), &p);
	check_rules("vpn no block", &p, want, sizeof(want) / sizeof(want[0]));
	CHECK(!has_chain(&p, "killswitch filter 3 0"));
	parsed_free(&p);
}

static struct pg_pool *pool_with(const struct pg_config *cfg, const char *nat_conf)
{
	struct pg_natconf_error e;
	struct pg_natconf *c = NULL;
	struct pg_pool *pool = NULL;

	CHECK(pg_pool_new(&cfg->overlay, cfg->first_dynamic, &pool) == 0);
	CHECK(pg_natconf_parse(&cfg->overlay, nat_conf, strlen(nat_conf), &c, &e) == 0);
	CHECK(pool && pg_pool_set_nat_conf(pool, c, NULL) == 0);
	return pool;
}

/* Port forwards: DNAT from the egress to the reserved address (the client's
 * port remapped or not), and only DNATed connections into the overlay. */
#define FORWARDED(egress)                                                                          \
	{                                                                                          \
		"forward",                                                                         \
		    "iifname|" egress "|oifname|" VXLAN0 "|ct load status|0x00000020|accept"       \
	}
#define DNAT(egress, proto, port, to_port)                                                         \
	{                                                                                          \
		"prerouting",                                                                      \
		    "iifname|" egress "|" proto "|transport header + 2|" port "|counter|"          \
		    "0x0e0010ac|" to_port "|nat dnat ip"                                           \
	}
#define P8080 "0x0000901f"
#define P80   "0x00005000"
#define P5353 "0x0000e914"
#define TCP   "0x00000006"
#define UDP   "0x00000011"

static void test_port_forwards(void)
{
	static const struct want want[] = {
	    INPUT_AND_ANTISPOOF,
	    {"forward", "iifname|" VXLAN0 "|oifname|" ETH0 "|network header + 12|accept"},
	    {"forward", "oifname|" VXLAN0 "|ct load state|accept"},
	    FORWARDED(ETH0),
	    {"forward", "iifname|" VXLAN0 "|drop"},
	    {"forward", "oifname|" VXLAN0 "|drop"},
	    {"forward", "counter|drop"},
	    DNAT(ETH0, TCP, P8080, P80),
	    DNAT(ETH0, UDP, P5353, P5353),
	    {"postrouting", "network header + 12|oifname|" ETH0 "|masq"},
	    DNS_UDP,
	};
	static const struct want vpn[] = {
	    INPUT_AND_ANTISPOOF,
	    {"forward", "iifname|" VXLAN0 "|oifname|" TUN0 "|network header + 12|accept"},
	    {"forward", "oifname|" VXLAN0 "|ct load state|accept"},
	    FORWARDED(TUN0),
	    {"forward", "iifname|" VXLAN0 "|drop"},
	    {"forward", "oifname|" VXLAN0 "|drop"},
	    {"forward", "counter|drop"},
	    DNAT(TUN0, TCP, P8080, P80),
	    DNAT(TUN0, UDP, P5353, P5353),
	    {"postrouting", "network header + 12|oifname|" TUN0 "|masq"},
	    {"postrouting", "network header + 12|oifname|" ETH0 "|masq"},
	    DNS_UDP,
	    KILL_SWITCH_HEAD,
	    {"killswitch", "counter|drop"},
	};
	struct pg_config cfg;
	struct pg_pool *pool;
	struct parsed p;

	load("SNAT_IP=\n", &cfg);
	pool = pool_with(&cfg, "web 14 tcp:8080->80,udp:5353\nquiet 15\n");
	parse(pg_gateway_ruleset(&cfg, pool), &p);
	check_rules("port forwards", &p, want, sizeof(want) / sizeof(want[0]));
	CHECK(has_chain(&p, "prerouting nat 0 -100"));
	parsed_free(&p);
	pg_pool_free(pool);

	/* reservations without ports: no forwarding rule, no chain */
	pool = pool_with(&cfg, "quiet 15\n");
	parse(pg_gateway_ruleset(&cfg, pool), &p);
	CHECK(!has_chain(&p, "prerouting nat 0 -100"));
	parsed_free(&p);
	pg_pool_free(pool);

	load("VPN_INTERFACE=tun0\nVPN_TRAFFIC_PORT=1194\n", &cfg);
	pool = pool_with(&cfg, "web 14 tcp:8080->80 udp:5353\n");
	parse(pg_gateway_ruleset(&cfg, pool), &p);
	check_rules("port forwards on a vpn", &p, vpn, sizeof(vpn) / sizeof(vpn[0]));
	parsed_free(&p);
	pg_pool_free(pool);
}

/* The DNS forwarder with a VPN and the kill switch: TCP port 53 to the
 * gateway goes to the first upstream; the forwarder's UDP queries may
 * reach the cluster DNS through the underlay. */
static void test_dns(void)
{
	static const struct want want[] = {
	    INPUT_AND_ANTISPOOF,
	    {"forward", "iifname|" VXLAN0 "|oifname|" TUN0 "|network header + 12|accept"},
	    FORWARD_TAIL,
	    {"postrouting", "network header + 12|oifname|" TUN0 "|masq"},
	    {"postrouting", "network header + 12|oifname|" ETH0 "|masq"},
	    DNS_UDP,
	    /* iifname vxlan0 ip daddr 172.16.0.1 tcp dport 53 dnat to 198.51.100.53 */
	    {"dns", "iifname|" VXLAN0 "|network header + 16|0x010010ac|0x00000006|"
		    "transport header + 2|0x00003500|counter|0x356433c6|nat dnat ip"},
	    KILL_SWITCH_HEAD,
	    /* oifname eth0 ip daddr 10.96.0.10 udp dport 53 accept */
	    {"killswitch", ETH0 "|network header + 16|0x0a00600a|0x00000011|0x00003500|accept"},
	    {"killswitch", "counter|drop"},
	};
	struct pg_config cfg;
	struct parsed p;

	load("VPN_INTERFACE=tun0\nVPN_TRAFFIC_PORT=1194\n"
	     "DNS_UPSTREAM_SERVERS=198.51.100.53,198.51.100.54\nDNS_LOCAL_SERVER=10.96.0.10\n",
	     &cfg);
	parse(pg_gateway_ruleset(&cfg, NULL), &p);
	check_rules("dns", &p, want, sizeof(want) / sizeof(want[0]));
	CHECK(has_chain(&p, "dns nat 0 -100"));
	parsed_free(&p);

	/* Off: none of it. */
	load("VPN_INTERFACE=tun0\nDNS_FORWARDER=false\nDNS_UPSTREAM_SERVERS=198.51.100.53\n"
	     "DNS_LOCAL_SERVER=10.96.0.10\n",
	     &cfg);
	parse(pg_gateway_ruleset(&cfg, NULL), &p);
	CHECK(!has_chain(&p, "dns nat 0 -100"));
	for (size_t i = 0; i < p.nrules; i++)
		CHECK(!strstr(p.text[i], "0x0a00600a"));
	parsed_free(&p);
}

/* The destinations refused to the overlay: the settings' cluster ranges
 * and DNS, the pod's networks and router, link-local and loopback, each
 * once (an interval set refuses overlaps); the allow-list apart. */
static void test_reach(void)
{
	static const char *const want[] = {"169.254.0.0/16", "127.0.0.0/8", "192.0.2.0/24",
					   "10.244.0.0/16", "10.96.0.0/12"};
	struct pg_prefix_list underlay = {0};
	struct pg_reach_list out;
	struct pg_config cfg;
	struct parsed p;
	char a[PG_PREFIX_STRLEN];

	load("NOT_ROUTED_TO_GATEWAY_CIDRS=\"10.244.0.0/16 10.96.0.0/12\"\n"
	     "K8S_DNS_IPS=10.96.0.10\nGATEWAY_OVERLAY_ALLOW_CIDRS=10.96.5.0/24\n",
	     &cfg);
	underlay.items[underlay.n++] = nft_test_prefix("10.244.0.0/24");
	underlay.items[underlay.n++] = nft_test_prefix("10.244.0.1/32");
	underlay.items[underlay.n++] = nft_test_prefix("192.0.2.0/24");
	underlay.items[underlay.n++] = nft_test_prefix("192.0.2.0/24");
	pg_reach_denied(&cfg, &underlay, &out);
	CHECK(out.n == sizeof(want) / sizeof(want[0]));
	for (unsigned i = 0; i < out.n && i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_STR(pg_prefix_fmt(&out.items[i], a, true), want[i]);
	parse(pg_gateway_ruleset_counted(&cfg, NULL, NULL, &underlay), &p);
	CHECK(has_set(&p, PG_SET_OVERLAY_DENY) && has_set(&p, PG_SET_OVERLAY_ALLOW));
	parsed_free(&p);
}

/* Every source at its fullest is denied whole: nothing is cut at 64. */
static void test_reach_full(void)
{
	struct pg_prefix_list underlay = {0};
	struct pg_reach_list out;
	struct pg_config cfg;
	char text[8192];
	size_t n = 0;

	n += (size_t)snprintf(text + n, sizeof(text) - n, "NOT_ROUTED_TO_GATEWAY_CIDRS=\"");
	for (int i = 0; i < PG_MAX_PREFIXES; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "10.1.%d.0/24 ", i);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\"\nK8S_DNS_IPS=\"");
	for (int i = 0; i < PG_MAX_PREFIXES; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "10.2.0.%d ", i + 1);
	snprintf(text + n, sizeof(text) - n, "\"\n");
	load(text, &cfg);
	for (int i = 0; i < PG_MAX_PREFIXES; i++) {
		char a[32];

		snprintf(a, sizeof(a), "192.0.%d.0/24", i);
		underlay.items[underlay.n++] = nft_test_prefix(a);
	}
	pg_reach_denied(&cfg, &underlay, &out);
	CHECK(out.n == 2 + 3 * PG_MAX_PREFIXES);
}

/* GATEWAY_OVERLAY_ALLOW_CIDRS: IPv4 CIDRs, one line naming the setting. */
static void test_reach_settings(void)
{
	static const char *const bad[] = {
	    "GATEWAY_OVERLAY_ALLOW_CIDRS=fd00::/8\n",
	    "GATEWAY_OVERLAY_ALLOW_CIDRS=10.0.0.1/8\n",
	    "GATEWAY_OVERLAY_ALLOW_CIDRS=10.0.0.0/33\n",
	    "GATEWAY_OVERLAY_ALLOW_CIDRS=nope\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pg_config cfg;
		char *errs = NULL;
		size_t len;
		FILE *f = open_memstream(&errs, &len);

		CHECK(pg_config_load_text(&cfg, PG_ROLE_GATEWAY, "settings.sh", bad[i],
					  strlen(bad[i]), f) < 0);
		fclose(f);
		CHECK(errs && strstr(errs, "GATEWAY_OVERLAY_ALLOW_CIDRS") &&
		      strchr(errs, '\n') == errs + len - 1);
		free(errs);
	}
}

/* ---- the IPv6 overlay (ruleset6.c) ---- */

#define V6_SETTINGS "VXLAN_IPV6_NETWORK=fd12:3456:789a:2a::/64\n"
/* fd12:3456:789a:2a::/64 as a masked source (network header + 8) */
#define NET6 "network header + 8|0x563412fd 0x2a009a78|"

/* The first rule of chain from index from on whose text has pieces; -1. */
static int find_rule(const struct parsed *p, const char *chain, const char *pieces, int from)
{
	for (size_t i = (size_t)from; i < p->nrules; i++)
		if (strcmp(p->chain[i], chain) == 0 && has_pieces(p->text[i], pieces))
			return (int)i;
	return -1;
}

static int count_rules(const struct parsed *p, const char *chain, const char *pieces)
{
	int n = 0;

	for (int i = find_rule(p, chain, pieces, 0); i >= 0; i = find_rule(p, chain, pieces, i + 1))
		n++;
	return n;
}

/* Without a VPN: IPv6 inside VXLAN admitted, the (address . MAC) pairs
 * checked in input and forward, pings to PREFIX::1 answered, the denied
 * destinations dropped, out through eth0 only, masqueraded, guarded. */
static void test_ipv6_no_vpn(void)
{
	struct pg_config cfg, plain;
	struct parsed p;
	int spoof, deny, out, drop;

	load(V6_SETTINGS "NOT_ROUTED_TO_GATEWAY_CIDRS=\"10.96.0.0/12 fd00:10:96::/108\"\n", &cfg);
	parse(pg_gateway_ruleset(&cfg, NULL), &p);
	CHECK(has_set(&p, PG_SET_CLIENTS6) && has_set(&p, PG_SET_OVERLAY_DENY6));
	CHECK(find_rule(&p, "input",
			"transport header + 28|cmp neq reg 1 0x00000008|cmp neq reg 1 0x00000608|"
			"cmp neq reg 1 0x0000dd86|counter|drop",
			0) >= 0);
	spoof = find_rule(&p, "input",
			  VXLAN0 "|" NFPROTO6 "|iiftype|network header + 8 => reg 1|"
				 "link header + 6 => reg 12|set clients6 0x1|counter|drop",
			  0);
	CHECK(spoof >= 0);
	CHECK(find_rule(&p, "input",
			VXLAN0 "|" NFPROTO6 "|network header + 24|0x563412fd 0x2a009a78 0x00000000 "
			       "0x01000000|0x0000003a|transport header + 0|0x00000080|accept",
			spoof) > spoof);
	CHECK(find_rule(&p, "input", "iifname|" VXLAN0 "|counter|drop", spoof + 1) > spoof);

	spoof = find_rule(&p, "forward", VXLAN0 "|" NFPROTO6 "|set clients6 0x1|counter|drop", 0);
	deny = find_rule(&p, "forward",
			 "iifname|" VXLAN0 "|" NFPROTO6 "|network header + 24 => reg 1|"
			 "set overlay_deny6 ]|counter|drop",
			 0);
	out =
	    find_rule(&p, "forward",
		      "iifname|" VXLAN0 "|oifname|" ETH0 "|" NFPROTO6 "|" NET6 "counter|accept", 0);
	drop = find_rule(&p, "forward", "iifname|" VXLAN0 "|counter|drop", out + 1);
	CHECK(spoof >= 0 && deny > spoof && out > deny && drop > out);
	CHECK(count_rules(&p, "forward", NFPROTO6 "|" NET6 "counter|accept") == 1);
	CHECK(count_rules(&p, "postrouting", NFPROTO6 "|" NET6 "oifname|" ETH0 "|counter|masq") ==
	      1);
	/* the MSS clamp has no family: both are clamped */
	CHECK(count_rules(&p, "forward", "rt load tcpmss") == 2);
	CHECK(count_rules(&p, "forward", "meta load nfproto|rt load tcpmss") == 0);
	CHECK(forward_ends_in_drop(&p));
	parsed_free(&p);
	parse(pg_gateway_guard(&cfg), &p);
	CHECK(count_rules(&p, "postrouting",
			  "oifname|" ETH0 "|" NFPROTO6 "|" NET6 "counter|drop") == 1);
	parsed_free(&p);

	/* off: nothing IPv6, and IPv6 inside VXLAN dropped as before */
	load("VXLAN_IPV6_NETWORK=off\n", &plain);
	parse(pg_gateway_ruleset(&plain, NULL), &p);
	CHECK(!has_set(&p, PG_SET_CLIENTS6) && !has_set(&p, PG_SET_OVERLAY_DENY6));
	CHECK(count_rules(&p, "input", "0x0000dd86") == 0);
	CHECK(count_rules(&p, "forward", NFPROTO6) == 0);
	CHECK(count_rules(&p, "postrouting", NFPROTO6) == 0);
	parsed_free(&p);
}

/* With a VPN: out through it only (the kill switch), VPN_LOCAL_CIDRS'
 * IPv6 entries through the underlay; without the kill switch, both. */
static void test_ipv6_vpn(void)
{
	struct pg_config cfg;
	struct parsed p;

	load(V6_SETTINGS "VPN_INTERFACE=tun0\n", &cfg);
	parse(pg_gateway_ruleset(&cfg, NULL), &p);
	CHECK(count_rules(&p, "forward",
			  "iifname|" VXLAN0 "|oifname|" TUN0 "|" NFPROTO6 "|" NET6
			  "counter|accept") == 1);
	CHECK(count_rules(&p, "forward", NFPROTO6 "|" NET6 "counter|accept") == 1);
	CHECK(count_rules(&p, "postrouting", NFPROTO6 "|" NET6 "oifname|" TUN0 "|counter|masq") ==
	      1);
	CHECK(count_rules(&p, "postrouting", NFPROTO6 "|" NET6 "oifname|" ETH0 "|counter|masq") ==
	      1);
	parsed_free(&p);
	parse(pg_gateway_guard(&cfg), &p);
	CHECK(count_rules(&p, "postrouting", NFPROTO6 "|" NET6 "counter|drop") == 2);
	parsed_free(&p);

	load(V6_SETTINGS "VPN_INTERFACE=tun0\nVPN_LOCAL_CIDRS=\"10.0.0.0/8 fd00:10::/32\"\n", &cfg);
	parse(pg_gateway_ruleset(&cfg, NULL), &p);
	CHECK(count_rules(&p, "forward",
			  "iifname|" VXLAN0 "|oifname|" ETH0 "|" NFPROTO6 "|" NET6
			  "network header + 24|set vpn_local6 |counter|accept") == 1);
	CHECK(count_rules(&p, "forward", NFPROTO6 "|" NET6 "counter|accept") == 2);
	parsed_free(&p);

	load(V6_SETTINGS "VPN_INTERFACE=tun0\nVPN_BLOCK_OTHER_TRAFFIC=false\n", &cfg);
	parse(pg_gateway_ruleset(&cfg, NULL), &p);
	CHECK(count_rules(&p, "forward", NFPROTO6 "|" NET6 "counter|accept") == 2);
	CHECK(count_rules(&p, "forward", "oifname|" ETH0 "|" NFPROTO6 "|" NET6 "counter|accept") ==
	      1);
	parsed_free(&p);
}

/* A lease's pair: its derived address (172.16.0.30 -> ::1e) and MAC. */
static void test_ipv6_elements(void)
{
	static const uint8_t mac[6] = {0x02, 0x42, 0xac, 0x10, 0x00, 0x1e};
	static const uint8_t key[24] = {0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0, 0x2a,
					0,    0,    0,	  0,	0,    0,    0, 0x1e,
					0x02, 0x42, 0xac, 0x10, 0,    0x1e, 0, 0};
	struct pg_config cfg;
	struct pg_pool *pool;
	struct pg_nft_table *t;
	struct nft_batch b;

	load(V6_SETTINGS, &cfg);
	pool = pool_with(&cfg, "");
	CHECK(pg_pool_acquire(
		  pool, "crawlers/web-0", "web-0", (struct in_addr){htonl(0xac10001e)}, mac,
		  (struct pg_prefix){.family = AF_INET, .len = 32, .bytes = {10, 244, 0, 11}}, 30,
		  NULL, NULL, NULL) == 0);
	t = pg_gateway_ruleset(&cfg, pool);
	CHECK(nft_batch_serialize(t, &b) == 0);
	CHECK(memmem(b.buf, (size_t)b.len, key, sizeof(key)) != NULL);
	nft_batch_free(&b);
	pg_nft_table_free(t);
	pg_pool_free(pool);
}

/* The IPv6 destinations refused: loopback, link-local, IPv4-mapped, EC2's
 * metadata, and the settings' and the pod's IPv6 entries, each once. */
static void test_reach6(void)
{
	static const char *const want[] = {
	    "::1/128",		"fe80::/10",	    "::ffff:0.0.0.0/96", "fd00:ec2::254/128",
	    "fd00:10:244::/64", "fd00:10:96::/108", "fd00:10:97::a/128"};
	struct pg_prefix_list underlay = {0};
	struct pg_reach_list out;
	struct pg_config cfg;
	char a[PG_PREFIX_STRLEN];

	load("NOT_ROUTED_TO_GATEWAY_CIDRS=\"10.96.0.0/12 fd00:10:96::/108\"\n"
	     "K8S_DNS_IPS=\"10.96.0.10 fd00:10:96::a fd00:10:97::a\"\n",
	     &cfg);
	underlay.items[underlay.n++] = nft_test_prefix("10.244.0.0/24");
	underlay.items[underlay.n++] = nft_test_prefix("fd00:10:244::/64");
	underlay.items[underlay.n++] = nft_test_prefix("fd00:10:244::1/128");
	pg_reach_denied6(&cfg, &underlay, &out);
	CHECK(out.n == sizeof(want) / sizeof(want[0]));
	for (unsigned i = 0; i < out.n && i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_STR(pg_prefix_fmt(&out.items[i], a, true), want[i]);
}

int main(void)
{
	test_ipv6_no_vpn();
	test_ipv6_vpn();
	test_ipv6_elements();
	test_reach6();
	test_reach();
	test_reach_full();
	test_reach_settings();
	test_no_vpn();
	test_port_forwards();
	test_vpn_kill_switch();
	test_vpn_snat_local();
	test_vpn_no_block();
	test_dns();
	return check_result();
}
