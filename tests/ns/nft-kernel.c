/* SPDX-License-Identifier: MIT */
/* The nft API against the real kernel, inside an anonymous network namespace
 * that disappears with this process; `nft` (run through popen, so in the same
 * namespace) is the independent judge of what got installed. */
#include "netlink/nft.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/netfilter.h>

#include "tests/unit/check.h"

#define SKIP 77

/* Runs a shell command; returns its exit status and, if out is given, its
 * standard output (heap, NUL terminated). */
static int run(const char *cmd, char **out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	FILE *p = popen(cmd, "r");
	int c, status;

	if (!mem || !p) {
		perror(cmd);
		abort();
	}
	while ((c = fgetc(p)) != EOF)
		fputc(c, mem);
	status = pclose(p);
	fclose(mem);
	if (out)
		*out = text;
	else
		free(text);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *s = text; s && (s = strstr(s, needle)) != NULL; s += strlen(needle))
		n++;
	return n;
}

/* Each line appears exactly once: installed, and not twice. */
#define CHECK_ONCE(text, line)                                                                     \
	do {                                                                                       \
		size_t n_ = count(text, line);                                                     \
		if (n_ != 1) {                                                                     \
			fprintf(stderr, "%s:%d: '%s' found %zu times in:\n%s\n", __FILE__,         \
				__LINE__, line, n_, text);                                         \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

static struct pg_prefix prefix(const char *text)
{
	struct pg_prefix p;

	if (pg_prefix_parse(text, &p, false) < 0)
		abort();
	return p;
}

/* The gateway's table, as the brief for gatewayd describes it. */
static struct pg_nft_table *gateway_table(void)
{
	struct pg_nft_table *t = pg_nft_table_new(NFPROTO_INET, "podgw");
	struct pg_prefix overlay = prefix("172.16.0.0/24"), nets = prefix("10.0.0.0/8");
	struct pg_nft_rule *r;

	if (!t)
		abort();
	pg_nft_table_add_chain(t, "postrouting", PG_CHAIN_NAT, PG_HOOK_POSTROUTING, 100, false);
	pg_nft_table_add_chain(t, "forward", PG_CHAIN_FILTER, PG_HOOK_FORWARD, 0, true);
	pg_nft_table_add_chain(t, "input", PG_CHAIN_FILTER, PG_HOOK_INPUT, 0, false);
	pg_nft_table_add_set(t, "peers", PG_KEY_IPV4, -1, false);
	pg_nft_table_add_set(t, "pairs", PG_KEY_IPV4, PG_KEY_ETHER, false);
	pg_nft_table_add_set(t, "nets", PG_KEY_IPV4, -1, true);
	pg_nft_table_add_prefix(t, "nets", &nets);
	pg_nft_table_add_elem(t, "nets", "\xc0\xa8\x01\x01", 4); /* 192.168.1.1 */

	r = pg_nft_rule_new(t, "postrouting");
	pg_nft_match_saddr(r, &overlay);
	pg_nft_match_oifname(r, "eth0", false);
	pg_nft_masquerade(r);

	r = pg_nft_rule_new(t, "forward");
	pg_nft_match_ct_state(r, PG_CT_ESTABLISHED | PG_CT_RELATED);
	pg_nft_accept(r);
	r = pg_nft_rule_new(t, "forward");
	pg_nft_match_iifname(r, "vxlan0", false);
	pg_nft_match_oifname(r, "eth0", false);
	pg_nft_accept(r);
	r = pg_nft_rule_new(t, "forward");
	pg_nft_match_iifname(r, "vxlan0", false);
	pg_nft_match_saddr_ether_in_set(r, "pairs", true);
	pg_nft_drop(r);
	r = pg_nft_rule_new(t, "forward");
	pg_nft_match_iifname(r, "vxlan0", false);
	pg_nft_drop(r);

	r = pg_nft_rule_new(t, "input");
	pg_nft_match_saddr_in_set(r, AF_INET, "peers", false);
	pg_nft_accept(r);
	r = pg_nft_rule_new(t, "input");
	pg_nft_match_daddr_in_set(r, AF_INET, "nets", false);
	pg_nft_counter(r);
	pg_nft_accept(r);
	return t;
}

static void check_gateway_listing(const char *text)
{
	CHECK_ONCE(text, "table inet podgw {");
	CHECK_ONCE(text, "set peers {\n\t\ttype ipv4_addr\n\t}");
	CHECK_ONCE(text, "set pairs {\n\t\ttype ipv4_addr . ether_addr\n\t}");
	CHECK_ONCE(text, "flags interval\n\t\telements = { 10.0.0.0/8, 192.168.1.1 }");
	CHECK_ONCE(text, "type nat hook postrouting priority srcnat; policy accept;");
	CHECK_ONCE(text, "ip saddr 172.16.0.0/24 oifname \"eth0\" masquerade");
	CHECK_ONCE(text, "type filter hook forward priority filter; policy drop;");
	CHECK_ONCE(text, "ct state established,related accept");
	CHECK_ONCE(text, "iifname \"vxlan0\" oifname \"eth0\" accept");
	CHECK_ONCE(text, "iifname \"vxlan0\" ip saddr . ether saddr != @pairs drop");
	CHECK_ONCE(text, "iifname \"vxlan0\" drop");
	CHECK_ONCE(text, "type filter hook input priority filter; policy accept;");
	CHECK_ONCE(text, "ip saddr @peers accept");
	CHECK_ONCE(text, "ip daddr @nets counter packets 0 bytes 0 accept");
}

static void test_sets(struct pg_nft *nft)
{
	const uint8_t peer[2][4] = {{172, 16, 0, 2}, {172, 16, 0, 3}};
	const uint8_t mac[2][6] = {{0x02, 0, 0, 0, 0, 0x02}, {0x02, 0, 0, 0, 0, 0x03}};
	uint8_t pair[2][12], gone[2][12];
	char *text;
	int r;

	for (int i = 0; i < 2; i++)
		CHECK(pg_nft_key_pack(pair[i], sizeof(pair[i]), PG_KEY_IPV4, peer[i], PG_KEY_ETHER,
				      mac[i]) == 12);

	CHECK(pg_nft_set_update(nft, NFPROTO_INET, "podgw", "peers", true, peer, 4, 2) == 0);
	CHECK(pg_nft_set_update(nft, NFPROTO_INET, "podgw", "pairs", true, pair, 12, 2) == 0);
	/* Adding what is there is not an error. */
	CHECK(pg_nft_set_update(nft, NFPROTO_INET, "podgw", "peers", true, peer, 4, 1) == 0);
	CHECK(pg_nft_set_update(nft, NFPROTO_INET, "podgw", "peers", true, peer, 4, 0) == 0);
	CHECK(run("nft list set inet podgw peers", &text) == 0);
	CHECK_ONCE(text, "elements = { 172.16.0.2, 172.16.0.3 }");
	free(text);
	CHECK(run("nft list set inet podgw pairs", &text) == 0);
	CHECK_ONCE(text, "172.16.0.2 . 02:00:00:00:00:02");
	CHECK_ONCE(text, "172.16.0.3 . 02:00:00:00:00:03");
	free(text);

	CHECK(pg_nft_set_update(nft, NFPROTO_INET, "podgw", "peers", false, peer, 4, 1) == 0);
	CHECK(pg_nft_set_update(nft, NFPROTO_INET, "podgw", "pairs", false, pair[1], 12, 1) == 0);
	CHECK(run("nft list set inet podgw peers", &text) == 0);
	CHECK_ONCE(text, "elements = { 172.16.0.3 }");
	free(text);
	CHECK(run("nft list set inet podgw pairs", &text) == 0);
	CHECK_ONCE(text, "elements = { 172.16.0.2 . 02:00:00:00:00:02 }");
	free(text);

	/* A delete batch with one absent key fails whole: the present one
	 * stays. */
	memcpy(gone[0], pair[0], 12);
	memcpy(gone[1], pair[1], 12);
	r = pg_nft_set_update(nft, NFPROTO_INET, "podgw", "pairs", false, gone, 12, 2);
	CHECK(r == -ENOENT);
	CHECK(run("nft list set inet podgw pairs", &text) == 0);
	CHECK_ONCE(text, "elements = { 172.16.0.2 . 02:00:00:00:00:02 }");
	free(text);

	CHECK(pg_nft_set_update(nft, NFPROTO_INET, "podgw", "nope", true, peer, 4, 1) == -ENOENT);
	CHECK(pg_nft_set_update(nft, NFPROTO_INET, "nope", "peers", true, peer, 4, 1) == -ENOENT);
	/* A key of the wrong length is the kernel's to refuse. */
	r = pg_nft_set_update(nft, NFPROTO_INET, "podgw", "peers", true, pair, 12, 1);
	CHECK(r < 0);
	printf("wrong key length: %s [%s]\n", strerror(-r), pg_nft_errmsg(nft));
}

/* A commit the kernel refuses leaves the table as it was. */
static void test_atomic(struct pg_nft *nft, const char *before)
{
	struct pg_nft_table *t;
	struct pg_nft_rule *r;
	char *text;
	int ret;

	/* Valid to us, not to the kernel: nat chains must run after
	 * conntrack (priority above -200). */
	t = gateway_table();
	CHECK(pg_nft_table_add_chain(t, "early", PG_CHAIN_NAT, PG_HOOK_PREROUTING, -300, false) ==
	      0);
	r = pg_nft_rule_new(t, "input");
	CHECK(pg_nft_drop(r) == 0);
	ret = pg_nft_table_commit(nft, t);
	CHECK(ret < 0);
	printf("bad chain: %s [%s]\n", strerror(-ret), pg_nft_errmsg(nft));
	pg_nft_table_free(t);
	CHECK(run("nft list table inet podgw", &text) == 0);
	CHECK_STR(text, before);
	free(text);

	/* A rule naming a set the table lacks never reaches the kernel. */
	t = gateway_table();
	r = pg_nft_rule_new(t, "input");
	CHECK(pg_nft_match_saddr_in_set(r, AF_INET, "missing", false) == -EINVAL);
	CHECK(pg_nft_drop(r) == 0);
	CHECK(pg_nft_table_commit(nft, t) == -EINVAL);
	CHECK_STR(pg_nft_errmsg(nft), "");
	pg_nft_table_free(t);
	CHECK(run("nft list table inet podgw", &text) == 0);
	CHECK_STR(text, before);
	free(text);
}

int main(void)
{
	struct pg_nft_table *t;
	struct pg_nft *nft;
	char *first, *text;
	int r;

	if (geteuid() != 0) {
		fprintf(stderr, "skip: needs root\n");
		return SKIP;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		perror("skip: unshare(CLONE_NEWNET)");
		return SKIP;
	}
	if (run("nft --version >/dev/null 2>&1", NULL) != 0) {
		fprintf(stderr, "skip: no nft command\n");
		return SKIP;
	}
	r = pg_nft_open(&nft);
	if (r < 0) {
		fprintf(stderr, "pg_nft_open: %s\n", strerror(-r));
		return 1;
	}

	/* Someone else's table, which we must never touch. */
	CHECK(run("nft add table inet other && nft add chain inet other c", NULL) == 0);

	CHECK(pg_nft_table_delete(nft, NFPROTO_INET, "podgw") == -ENOENT);

	t = gateway_table();
	r = pg_nft_table_commit(nft, t);
	CHECK(r == 0);
	if (r < 0)
		fprintf(stderr, "commit: %s [%s]\n", strerror(-r), pg_nft_errmsg(nft));
	CHECK(run("nft list table inet podgw", &first) == 0);
	check_gateway_listing(first);

	/* Replacing is idempotent: same listing, nothing twice. */
	CHECK(pg_nft_table_commit(nft, t) == 0);
	CHECK(run("nft list table inet podgw", &text) == 0);
	CHECK_STR(text, first);
	free(text);

	test_sets(nft);
	/* A replace empties the sets but for the table's own elements. */
	CHECK(pg_nft_table_commit(nft, t) == 0);
	CHECK(run("nft list table inet podgw", &text) == 0);
	CHECK_STR(text, first);
	free(text);

	test_atomic(nft, first);

	CHECK(pg_nft_table_delete(nft, NFPROTO_INET, "podgw") == 0);
	CHECK(run("nft list table inet podgw >/dev/null 2>&1", NULL) != 0);
	CHECK(pg_nft_table_delete(nft, NFPROTO_INET, "podgw") == -ENOENT);
	CHECK(run("nft list tables", &text) == 0);
	CHECK_ONCE(text, "table inet other");
	free(text);
	CHECK(run("nft list chain inet other c >/dev/null", NULL) == 0);

	free(first);
	pg_nft_table_free(t);
	pg_nft_close(nft);
	return check_result();
}
