/* SPDX-License-Identifier: MIT */
/* keepalive-load: what N crawler sidecars send to keep their gateway alive,
 * played from one pod: N leases (JOIN), then timed phases, each with its
 * own pace of RENEWs (every --phase's RENEW_MS per client) and of ICMP
 * echoes to the gateway's overlay address inside VXLAN (every ECHO_MS per
 * client, from the client's leased address and MAC, as clientd's probe
 * sends them), spread evenly over the clients. Per phase it prints what was
 * sent and answered and the CPU time the gateway's process (--gateway-pid)
 * and the whole machine spent. A benchmark run on demand, never a test: it
 * asserts nothing about time.
 *
 * Replies are counted, not matched to requests: GRANTs and ERRORs on the
 * control socket, echo replies on the VXLAN socket (this pod has no vxlan
 * link: a UDP socket on the VXLAN port receives what the gateway sends). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clientd/probe.h"
#include "common/wire.h"

#define EXIT_USAGE  2
#define EXIT_CANNOT 3
#define CLIENTS_MAX 60000
#define PHASES_MAX  16
#define JOIN_WINDOW 64
#define RESEND_US   250000
#define SOCKET_BUF  (4 << 20)
#define NAMESPACE   "bench"
#define FRAME_MAX   128
#define VXLAN_HLEN  8
#define ETH_HLEN    14
#define IP_HLEN	    20
#define ICMP_HLEN   8

struct sim {
	uint8_t mac[6];
	bool leased;
	bool in_flight;
	uint64_t last_us;
	struct in_addr addr;
};

struct phase {
	char name[32];
	unsigned renew_ms, echo_ms, seconds; /* 0 ms: none */
	int warmup;			     /* seconds; -1: --warmup */
};

struct options {
	struct in_addr gateway;
	uint16_t port, vxlan_port;
	uint32_t vni, clients;
	const char *key_file;
	int gateway_pid;
	unsigned join_timeout;
	unsigned warmup; /* seconds of each phase before it is measured */
	struct phase phases[PHASES_MAX];
	unsigned n_phases;
};

struct load {
	struct options o;
	struct pg_key key;
	bool have_key;
	int ctl, vx;
	struct in_addr pod_ip, gw_overlay;
	uint8_t gw_mac[6];
	struct sim *sims;
	uint16_t ip_id;
	/* per phase */
	uint64_t renew_sent, renew_granted, renew_errors, echo_sent, echo_replies, send_failed;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int usage(int rc)
{
	fprintf(rc ? stderr : stdout,
		"usage: keepalive-load --gateway IP [options] --phase "
		"NAME:RENEW_MS:ECHO_MS:SECONDS...\n"
		"  --gateway IP        the gateway's pod IP (required)\n"
		"  --port N            its control port (default 8473)\n"
		"  --vxlan-port N      its VXLAN port (default 8472)\n"
		"  --vni N             the VXLAN id (default 42)\n"
		"  --clients N         simulated crawlers, 1..%u (default 1000)\n"
		"  --key FILE          membership key file (default: unauthenticated)\n"
		"  --gateway-pid PID   the gateway's process, for its CPU time\n"
		"  --join-timeout S    seconds the joins may take (default 120)\n"
		"  --warmup S          seconds each phase runs before it is measured (default 0)\n"
		"  --phase N:R:E:S[:W] a phase named N of S seconds: a RENEW every R ms and an\n"
		"                      echo every E ms per client (0: none), after W seconds of\n"
		"                      warm-up (default --warmup); up to %u phases\n",
		CLIENTS_MAX, PHASES_MAX);
	return rc;
}

static bool number(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max || *s == '-')
		return false;
	*out = v;
	return true;
}

static bool parse_phase(const char *s, struct phase *ph)
{
	char buf[96], *fields[5], *save = NULL, *tok;
	unsigned long v[4];
	int n = 0;

	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ":", &save); tok && n < 5; tok = strtok_r(NULL, ":", &save))
		fields[n++] = tok;
	if (n < 4 || tok || strlen(fields[0]) >= sizeof(ph->name))
		return false;
	ph->warmup = -1;
	if (n == 5) {
		if (!number(fields[4], 0, 600, &v[3]))
			return false;
		ph->warmup = (int)v[3];
	}
	if (!number(fields[1], 0, 3600000, &v[0]) || !number(fields[2], 0, 3600000, &v[1]) ||
	    !number(fields[3], 1, 3600, &v[2]))
		return false;
	snprintf(ph->name, sizeof(ph->name), "%s", fields[0]);
	ph->renew_ms = (unsigned)v[0];
	ph->echo_ms = (unsigned)v[1];
	ph->seconds = (unsigned)v[2];
	return true;
}

static int parse(int argc, char **argv, struct options *o)
{
	*o = (struct options){
	    .port = 8473, .vxlan_port = 8472, .vni = 42, .clients = 1000, .join_timeout = 120};
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned long v;
		bool ok = val != NULL;

		if (strcmp(opt, "--help") == 0)
			return usage(0) ? -EINVAL : 1;
		if (!val) {
			fprintf(stderr, "keepalive-load: %s needs a value\n", opt);
			return -EINVAL;
		}
		i++;
		if (strcmp(opt, "--gateway") == 0)
			ok = inet_pton(AF_INET, val, &o->gateway) == 1;
		else if (strcmp(opt, "--port") == 0 && (ok = number(val, 1, 65535, &v)))
			o->port = (uint16_t)v;
		else if (strcmp(opt, "--vxlan-port") == 0 && (ok = number(val, 1, 65535, &v)))
			o->vxlan_port = (uint16_t)v;
		else if (strcmp(opt, "--vni") == 0 && (ok = number(val, 0, (1u << 24) - 1, &v)))
			o->vni = (uint32_t)v;
		else if (strcmp(opt, "--clients") == 0 && (ok = number(val, 1, CLIENTS_MAX, &v)))
			o->clients = (uint32_t)v;
		else if (strcmp(opt, "--gateway-pid") == 0 && (ok = number(val, 1, 1u << 30, &v)))
			o->gateway_pid = (int)v;
		else if (strcmp(opt, "--join-timeout") == 0 && (ok = number(val, 1, 3600, &v)))
			o->join_timeout = (unsigned)v;
		else if (strcmp(opt, "--warmup") == 0 && (ok = number(val, 0, 600, &v)))
			o->warmup = (unsigned)v;
		else if (strcmp(opt, "--key") == 0)
			o->key_file = val;
		else if (strcmp(opt, "--phase") == 0)
			ok =
			    o->n_phases < PHASES_MAX && parse_phase(val, &o->phases[o->n_phases++]);
		else if (ok) {
			fprintf(stderr, "keepalive-load: unknown option '%s' (see --help)\n", opt);
			return -EINVAL;
		}
		if (!ok) {
			fprintf(stderr, "keepalive-load: %s: '%s': not valid (see --help)\n", opt,
				val);
			return -EINVAL;
		}
	}
	if (!o->gateway.s_addr || !o->n_phases) {
		fprintf(stderr,
			"keepalive-load: --gateway and at least one --phase are required\n");
		return -EINVAL;
	}
	return 0;
}

/* ---- CPU time ---- */

struct cpu_sample {
	uint64_t gw_ticks;	/* utime + stime of --gateway-pid */
	uint64_t gw_run_ns;	/* its threads' on-CPU time (schedstat): not sampled */
	uint64_t busy_ticks;	/* every CPU of the machine, not idle */
	uint64_t self_us;	/* this process */
	uint64_t softirq_ticks; /* the machine's softirq time (the tunnel's work) */
};

static uint64_t gateway_ticks(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The name may hold spaces: fields are counted after its ')'. */
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

static void machine_ticks(uint64_t *busy, uint64_t *softirq)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");

	*busy = *softirq = 0;
	if (!f)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) == 8) {
		*busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]; /* not idle, not iowait */
		*softirq = v[6];
	}
	fclose(f);
}

/* Short wake-ups are what a rare request costs, and the 10 ms ticks of
 * utime+stime only sample them: the scheduler's own sum is exact. */
static uint64_t gateway_run_ns(int pid)
{
	char path[64];
	struct dirent *d;
	uint64_t sum = 0;
	DIR *dir;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		char file[64];
		unsigned long long ns;
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		if (snprintf(file, sizeof(file), "/proc/%d/task/%.16s/schedstat", pid, d->d_name) >=
		    (int)sizeof(file))
			continue;
		f = fopen(file, "r");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		fclose(f);
	}
	closedir(dir);
	return sum;
}

static struct cpu_sample sample(const struct load *l)
{
	struct cpu_sample s = {.gw_ticks = gateway_ticks(l->o.gateway_pid),
			       .gw_run_ns = gateway_run_ns(l->o.gateway_pid)};
	struct rusage ru;

	machine_ticks(&s.busy_ticks, &s.softirq_ticks);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		s.self_us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
			    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	return s;
}

/* ---- membership ---- */

static void sim_mac(uint32_t i, uint8_t mac[6])
{
	/* Locally administered unicast, "kl" and the index. */
	mac[0] = 0x0a, mac[1] = 'k', mac[2] = 'l';
	mac[3] = (uint8_t)(i >> 16), mac[4] = (uint8_t)(i >> 8), mac[5] = (uint8_t)i;
}

static void send_request(struct load *l, uint32_t i, enum pg_msg_type type)
{
	uint8_t buf[PG_WIRE_MAX];
	struct pg_msg req;
	int n;

	if (pg_msg_init(&req, type) < 0)
		return;
	req.nonce[0] = (uint8_t)(i >> 24), req.nonce[1] = (uint8_t)(i >> 16);
	req.nonce[2] = (uint8_t)(i >> 8), req.nonce[3] = (uint8_t)i;
	snprintf(req.pod_name, sizeof(req.pod_name), "kl-%05" PRIu32, i);
	snprintf(req.pod_namespace, sizeof(req.pod_namespace), "%s", NAMESPACE);
	req.has_pod_ip = true;
	req.pod_ip = l->pod_ip;
	req.has_mac = true;
	memcpy(req.mac, l->sims[i].mac, 6);
	if (type == PG_MSG_JOIN && l->sims[i].leased) {
		req.has_wanted = true;
		req.wanted = l->sims[i].addr;
	}
	n = pg_msg_encode(&req, l->have_key ? &l->key : NULL, buf, sizeof(buf));
	if (n < 0 || send(l->ctl, buf, (size_t)n, 0) < 0)
		l->send_failed++;
	l->sims[i].last_us = now_us();
	if (type == PG_MSG_RENEW)
		l->renew_sent++;
}

/* Every waiting answer: a GRANT records its client's lease. Returns how
 * many leases were new. */
static uint32_t read_answers(struct load *l)
{
	uint8_t buf[PG_WIRE_MAX + 1];
	uint32_t fresh = 0;

	for (;;) {
		struct pg_msg a;
		ssize_t n = recv(l->ctl, buf, sizeof(buf), MSG_DONTWAIT);
		uint32_t i;

		if (n < 0)
			return fresh;
		if (n > PG_WIRE_MAX ||
		    pg_msg_decode(buf, (size_t)n, l->have_key ? &l->key : NULL, &a) < 0 ||
		    !a.has_request_nonce)
			continue;
		i = (uint32_t)a.request_nonce[0] << 24 | (uint32_t)a.request_nonce[1] << 16 |
		    (uint32_t)a.request_nonce[2] << 8 | a.request_nonce[3];
		if (i >= l->o.clients)
			continue;
		if (a.type != PG_MSG_GRANT || !a.has_addr || !a.has_gateway) {
			/* NO_LEASE (it expired while nobody renewed it): join
			 * again for the same address, as clientd does. */
			l->renew_errors++;
			if (a.type == PG_MSG_ERROR && a.error == PG_ERR_NO_LEASE)
				send_request(l, i, PG_MSG_JOIN);
			continue;
		}
		l->renew_granted++;
		if (!l->sims[i].leased)
			fresh++;
		l->sims[i].leased = true;
		l->sims[i].in_flight = false;
		l->sims[i].addr = a.addr;
		l->gw_overlay = a.gateway_addr;
		memcpy(l->gw_mac, a.gateway_mac, 6);
	}
}

static int join_all(struct load *l)
{
	uint64_t deadline = now_us() + (uint64_t)l->o.join_timeout * 1000000;
	uint32_t leased = 0, next = 0, in_flight = 0;

	while (leased < l->o.clients) {
		uint64_t t = now_us();
		struct pollfd pfd = {.fd = l->ctl, .events = POLLIN};

		if (t >= deadline) {
			fprintf(stderr,
				"keepalive-load: %" PRIu32 " of %" PRIu32
				" clients leased in --join-timeout\n",
				leased, l->o.clients);
			return -ETIMEDOUT;
		}
		for (; next < l->o.clients && in_flight < JOIN_WINDOW; next++, in_flight++) {
			l->sims[next].in_flight = true;
			send_request(l, next, PG_MSG_JOIN);
		}
		/* Resends: few, so a scan of the started ones is cheap enough. */
		in_flight = 0;
		for (uint32_t i = 0; i < next; i++) {
			if (!l->sims[i].in_flight)
				continue;
			in_flight++;
			if (t - l->sims[i].last_us >= RESEND_US)
				send_request(l, i, PG_MSG_JOIN);
		}
		poll(&pfd, 1, 20);
		leased += read_answers(l);
	}
	return 0;
}

/* ---- echoes inside VXLAN ---- */

static void send_echo(struct load *l, uint32_t i, uint16_t seq)
{
	uint8_t f[VXLAN_HLEN + ETH_HLEN + IP_HLEN + ICMP_HLEN] = {0};
	uint8_t *eth = f + VXLAN_HLEN, *ip = eth + ETH_HLEN, *icmp = ip + IP_HLEN;
	struct sockaddr_in to = {
	    .sin_family = AF_INET, .sin_port = htons(l->o.vxlan_port), .sin_addr = l->o.gateway};
	uint16_t sum, id = (uint16_t)i;

	f[0] = 0x08; /* the VNI is valid */
	f[4] = (uint8_t)(l->o.vni >> 16), f[5] = (uint8_t)(l->o.vni >> 8), f[6] = (uint8_t)l->o.vni;
	memcpy(eth, l->gw_mac, 6);
	memcpy(eth + 6, l->sims[i].mac, 6);
	eth[12] = 0x08, eth[13] = 0x00;
	ip[0] = 0x45;
	ip[3] = IP_HLEN + ICMP_HLEN;
	l->ip_id++;
	memcpy(ip + 4, &l->ip_id, 2);
	ip[6] = 0x40; /* DF */
	ip[8] = 64, ip[9] = IPPROTO_ICMP;
	memcpy(ip + 12, &l->sims[i].addr, 4);
	memcpy(ip + 16, &l->gw_overlay, 4);
	sum = pg_inet_checksum(ip, IP_HLEN);
	memcpy(ip + 10, &sum, 2);
	icmp[0] = 8; /* echo request */
	icmp[4] = (uint8_t)(id >> 8), icmp[5] = (uint8_t)id;
	icmp[6] = (uint8_t)(seq >> 8), icmp[7] = (uint8_t)seq;
	sum = pg_inet_checksum(icmp, ICMP_HLEN);
	memcpy(icmp + 2, &sum, 2);
	if (sendto(l->vx, f, sizeof(f), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		l->send_failed++;
	l->echo_sent++;
}

static void read_echo_replies(struct load *l)
{
	uint8_t f[FRAME_MAX];

	for (;;) {
		ssize_t n = recv(l->vx, f, sizeof(f), MSG_DONTWAIT);
		const uint8_t *ip = f + VXLAN_HLEN + ETH_HLEN;

		if (n < 0)
			return;
		if ((size_t)n >= VXLAN_HLEN + ETH_HLEN + IP_HLEN + ICMP_HLEN && f[0] == 0x08 &&
		    f[VXLAN_HLEN + 12] == 0x08 && f[VXLAN_HLEN + 13] == 0x00 &&
		    ip[9] == IPPROTO_ICMP && ip[(ip[0] & 0x0f) * 4] == 0)
			l->echo_replies++;
	}
}

/* ---- phases ---- */

static void run_phase(struct load *l, const struct phase *ph)
{
	uint64_t n = l->o.clients, t0, m0 = 0, end, measured, jr = 0, je = 0;
	uint64_t r_us = (uint64_t)ph->renew_ms * 1000, e_us = (uint64_t)ph->echo_ms * 1000;
	struct cpu_sample a = {0}, b;
	long hz = sysconf(_SC_CLK_TCK);
	bool measuring = false;
	double secs;

	t0 = now_us();
	measured = t0 + (uint64_t)(ph->warmup >= 0 ? (unsigned)ph->warmup : l->o.warmup) * 1000000;
	end = measured + (uint64_t)ph->seconds * 1000000;
	for (;;) {
		uint64_t t = now_us(), due = end;
		struct pollfd pfd[2] = {{.fd = l->ctl, .events = POLLIN},
					{.fd = l->vx, .events = POLLIN}};
		struct timespec ts;

		/* The warm-up runs the phase's pace unmeasured: what the last
		 * phase left behind (the gateway's replay cache holds nonces
		 * for 30 s) is paid for before the measurement starts. */
		if (!measuring && t >= measured) {
			measuring = true;
			l->renew_sent = l->renew_granted = l->renew_errors = 0;
			l->echo_sent = l->echo_replies = l->send_failed = 0;
			a = sample(l);
			m0 = t;
		}
		if (t >= end)
			break;
		if (!measuring && measured < due)
			due = measured;
		/* Client j % n is due at t0 + j * period / n: evenly spread. */
		while (r_us && t0 + jr * r_us / n <= t)
			send_request(l, (uint32_t)(jr++ % n), PG_MSG_RENEW);
		while (e_us && t0 + je * e_us / n <= t) {
			send_echo(l, (uint32_t)(je % n), (uint16_t)(je / n));
			je++;
		}
		if (r_us && t0 + jr * r_us / n < due)
			due = t0 + jr * r_us / n;
		if (e_us && t0 + je * e_us / n < due)
			due = t0 + je * e_us / n;
		ts.tv_sec = (time_t)((due - t) / 1000000);
		ts.tv_nsec = (long)((due - t) % 1000000) * 1000;
		ppoll(pfd, 2, &ts, NULL);
		read_answers(l);
		read_echo_replies(l);
	}
	usleep(200000); /* the last answers */
	read_answers(l);
	read_echo_replies(l);
	b = sample(l);
	secs = (double)(now_us() - m0) / 1e6;
	printf("phase=%s seconds=%.3f clients=%" PRIu32 " renew_ms=%u echo_ms=%u"
	       " renew_sent=%" PRIu64 " renew_granted=%" PRIu64 " renew_errors=%" PRIu64
	       " echo_sent=%" PRIu64 " echo_replies=%" PRIu64 " send_failed=%" PRIu64
	       " gw_cpu_ms=%.0f gw_run_ms=%.1f machine_busy_ms=%.0f machine_softirq_ms=%.0f "
	       "self_cpu_ms=%.0f\n",
	       ph->name, secs, l->o.clients, ph->renew_ms, ph->echo_ms, l->renew_sent,
	       l->renew_granted, l->renew_errors, l->echo_sent, l->echo_replies, l->send_failed,
	       (double)(b.gw_ticks - a.gw_ticks) * 1000 / (double)hz,
	       (double)(b.gw_run_ns - a.gw_run_ns) / 1e6,
	       (double)(b.busy_ticks - a.busy_ticks) * 1000 / (double)hz,
	       (double)(b.softirq_ticks - a.softirq_ticks) * 1000 / (double)hz,
	       (double)(b.self_us - a.self_us) / 1000);
	fflush(stdout);
}

static int open_sockets(struct load *l)
{
	struct sockaddr_in to = {
	    .sin_family = AF_INET, .sin_port = htons(l->o.port), .sin_addr = l->o.gateway};
	struct sockaddr_in vx = {.sin_family = AF_INET, .sin_port = htons(l->o.vxlan_port)};
	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	int buf = SOCKET_BUF;

	l->ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	l->vx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (l->ctl < 0 || l->vx < 0)
		return -errno;
	setsockopt(l->ctl, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(l->vx, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (connect(l->ctl, (struct sockaddr *)&to, sizeof(to)) < 0 ||
	    getsockname(l->ctl, (struct sockaddr *)&me, &len) < 0 ||
	    bind(l->vx, (struct sockaddr *)&vx, sizeof(vx)) < 0)
		return -errno;
	l->pod_ip = me.sin_addr;
	return 0;
}

int main(int argc, char **argv)
{
	static struct load l;
	const char *why = NULL;
	int r = parse(argc, argv, &l.o);

	if (r)
		return r > 0 ? 0 : EXIT_USAGE;
	if (l.o.key_file) {
		if (pg_key_load(l.o.key_file, &l.key, &why) < 0) {
			fprintf(stderr, "keepalive-load: --key: '%s': %s\n", l.o.key_file, why);
			return EXIT_USAGE;
		}
		l.have_key = true;
	}
	l.sims = calloc(l.o.clients, sizeof(*l.sims));
	if (!l.sims)
		return EXIT_CANNOT;
	for (uint32_t i = 0; i < l.o.clients; i++)
		sim_mac(i, l.sims[i].mac);
	if ((r = open_sockets(&l)) < 0) {
		fprintf(stderr, "keepalive-load: sockets: %s\n", strerror(-r));
		return EXIT_CANNOT;
	}
	if (join_all(&l) < 0)
		return 1;
	printf("joined=%" PRIu32 "\n", l.o.clients);
	fflush(stdout);
	for (unsigned p = 0; p < l.o.n_phases; p++)
		run_phase(&l, &l.o.phases[p]);
	return 0;
}
