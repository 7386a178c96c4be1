/* SPDX-License-Identifier: MIT */
/* join-flood: many simulated clients against one gatewayd, from one UDP
 * socket. Every client JOINs (up to --window requests in flight, each
 * unanswered one resent as a new message after 250 ms), then RENEWs for
 * --renew-rounds rounds, then, with --release, RELEASEs. Prints what each
 * phase got and how fast. A benchmark run on demand, never a test: it
 * asserts nothing about time.
 *
 * Replies find their client without a table: the first four bytes of every
 * request's nonce are the client's index (big-endian), the other twelve are
 * random, and a reply counts only when its REQUEST_NONCE is one of the last
 * few that client sent for the current operation. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/wire.h"

#define EXIT_USAGE    2
#define EXIT_CANNOT   3
#define RESEND_US     250000 /* as clientd: docs/membership.md, Timing */
#define NONCE_RING    8	     /* attempts per operation whose replies count */
#define CLIENTS_MAX   100000
#define WINDOW_MAX    65536
#define ROUNDS_MAX    1000
#define TIMEOUT_MAX_S 3600
#define SOCKET_BUF    (4 << 20)
#define ERROR_CODES   16 /* codes 1..15 are counted one by one, others together */
#define ERROR_OTHER   0
#define NAME_LEN      16   /* "sim-%05d" up to CLIENTS_MAX */
#define MAC_PREFIX0   0x0a /* locally administered, unicast */
#define MAC_PREFIX1   'b'
#define MAC_PREFIX2   'f'
#define NAMESPACE     "bench"

enum op_state { OP_IDLE, OP_IN_FLIGHT, OP_DONE };

struct sim {
	char name[NAME_LEN];
	uint8_t mac[6];
	bool leased;	     /* a GRANT to the last JOIN or RENEW */
	bool has_addr;	     /* addr is known (not with --no-join before a GRANT) */
	struct in_addr addr; /* the address of that GRANT */
	uint8_t state;	     /* enum op_state, for the current phase */
	uint32_t n_sent;     /* attempts for the current operation */
	uint32_t slot;	     /* its place in the in-flight array */
	uint64_t first_us;   /* first attempt of the current operation */
	uint64_t last_us;    /* latest attempt */
	uint8_t nonces[NONCE_RING][PG_WIRE_NONCE_LEN];
};

/* The gateway's process as /proc shows it (--gateway-pid). */
struct proc_sample {
	bool ok;
	uint64_t utime_ms, stime_ms;
	uint64_t run_ns; /* /proc/PID/schedstat, 0: unavailable */
	uint64_t rss_kib, hwm_kib;
	/* UDP counters of the gateway's network namespace (/proc/PID/net/snmp) */
	uint64_t udp_in, udp_rcvbuf_errors, udp_in_errors;
};

struct phase {
	const char *name; /* "join", "renew", "release" */
	unsigned round;	  /* renew: 1.., else 0 */
	enum pg_msg_type type;
	bool ran;
	uint32_t requests; /* operations started (clients in the phase) */
	uint32_t ok;
	uint32_t errors[ERROR_CODES];
	uint32_t unexpected; /* answered with the wrong type */
	uint32_t unfinished; /* no answer when the global timeout hit */
	uint64_t sent, resent, send_failed;
	uint64_t stray;	       /* replies matching no attempt in flight */
	uint64_t late;	       /* replies to an attempt of an operation already answered */
	uint64_t bad;	       /* replies that did not decode */
	uint64_t unverified;   /* replies whose tag failed (-EACCES) */
	uint32_t addr_changed; /* renew: a GRANT with another address than the join's */
	uint64_t elapsed_us;
	uint32_t *lat_us; /* per answered operation */
	uint32_t n_lat;
	struct proc_sample before, after;
};

struct options {
	struct in_addr gateway;
	unsigned port;
	unsigned clients;
	unsigned window;
	const char *key_file;
	unsigned renew_rounds;
	bool release;
	bool no_join;
	bool json;
	unsigned timeout_s;
	long gateway_pid; /* 0: none */
};

struct flood {
	const struct options *o;
	const struct pg_key *key; /* NULL: unauthenticated */
	int fd;
	struct in_addr pod_ip; /* our source address: every request's POD_IP */
	struct sim *sims;
	uint32_t *in_flight; /* client indices */
	uint32_t n_in_flight;
	uint64_t deadline_us;
	bool timed_out;
	int fatal; /* a negative errno that stopped the run */
	uint8_t rx[PG_WIRE_MAX + 1];
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- options ---- */

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: join-flood --gateway IP [options]\n"
	    "  --gateway IP          the gateway's pod IP (required)\n"
	    "  --port N              its control port (default %u)\n"
	    "  --clients N           simulated clients, 1..%u (default 1000)\n"
	    "  --window W            requests in flight, 1..%u (default 64)\n"
	    "  --key FILE            membership key file (default: unauthenticated)\n"
	    "  --renew-rounds R      rounds of RENEW for every leased client, 0..%u (default 0)\n"
	    "  --release             release every leased client at the end\n"
	    "  --no-join             the clients hold leases already (an earlier run):\n"
	    "                        skip JOIN, go straight to RENEW/RELEASE\n"
	    "  --timeout S           stop after S seconds, 1..%u, and report (default 60)\n"
	    "  --gateway-pid PID     sample the gateway's CPU time, memory and UDP drops\n"
	    "                        (/proc/PID) around each phase\n"
	    "  --json                one JSON object on stdout instead of text\n"
	    "Exit: 0 every request answered with success, 1 some failed or went\n"
	    "unanswered, 2 bad options, 3 could not run.\n",
	    PG_WIRE_PORT, CLIENTS_MAX, WINDOW_MAX, ROUNDS_MAX, TIMEOUT_MAX_S);
}

static int bad_option(const char *opt, const char *value, const char *why)
{
	fprintf(stderr, "join-flood: %s: '%s': %s\n", opt, value, why);
	return -EINVAL;
}

static int parse_uint(const char *opt, const char *text, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*text || *text == '-' || *text == '+' || *text == ' ')
		return bad_option(opt, text, "not a number");
	errno = 0;
	v = strtoul(text, &end, 10);
	if (*end)
		return bad_option(opt, text, "not a number");
	if (errno == ERANGE || v < min || v > max) {
		char why[64];

		snprintf(why, sizeof(why), "out of range %lu..%lu", min, max);
		return bad_option(opt, text, why);
	}
	*out = v;
	return 0;
}

/* Returns 0, 1 after --help, or -EINVAL after printing why. */
static int parse_options(int argc, char **argv, struct options *o)
{
	bool have_gateway = false;
	int bad = 0;

	*o = (struct options){.port = PG_WIRE_PORT, .clients = 1000, .window = 64, .timeout_s = 60};
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = NULL;
		unsigned long v;
		bool takes_value =
		    strcmp(opt, "--gateway") == 0 || strcmp(opt, "--port") == 0 ||
		    strcmp(opt, "--clients") == 0 || strcmp(opt, "--window") == 0 ||
		    strcmp(opt, "--key") == 0 || strcmp(opt, "--renew-rounds") == 0 ||
		    strcmp(opt, "--timeout") == 0 || strcmp(opt, "--gateway-pid") == 0;

		if (takes_value) {
			if (i + 1 >= argc) {
				fprintf(stderr, "join-flood: %s needs a value\n", opt);
				return -EINVAL;
			}
			val = argv[++i];
		}
		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
			usage(stdout);
			return 1;
		} else if (strcmp(opt, "--gateway") == 0) {
			if (inet_pton(AF_INET, val, &o->gateway) != 1)
				bad = bad_option(opt, val, "not an IPv4 address");
			else if (o->gateway.s_addr == htonl(INADDR_ANY) ||
				 o->gateway.s_addr == htonl(INADDR_BROADCAST) ||
				 IN_MULTICAST(ntohl(o->gateway.s_addr)))
				bad = bad_option(opt, val, "not a unicast address");
			else
				have_gateway = true;
		} else if (strcmp(opt, "--port") == 0) {
			if (parse_uint(opt, val, 1, 65535, &v) == 0)
				o->port = (unsigned)v;
			else
				bad = -EINVAL;
		} else if (strcmp(opt, "--clients") == 0) {
			if (parse_uint(opt, val, 1, CLIENTS_MAX, &v) == 0)
				o->clients = (unsigned)v;
			else
				bad = -EINVAL;
		} else if (strcmp(opt, "--window") == 0) {
			if (parse_uint(opt, val, 1, WINDOW_MAX, &v) == 0)
				o->window = (unsigned)v;
			else
				bad = -EINVAL;
		} else if (strcmp(opt, "--renew-rounds") == 0) {
			if (parse_uint(opt, val, 0, ROUNDS_MAX, &v) == 0)
				o->renew_rounds = (unsigned)v;
			else
				bad = -EINVAL;
		} else if (strcmp(opt, "--timeout") == 0) {
			if (parse_uint(opt, val, 1, TIMEOUT_MAX_S, &v) == 0)
				o->timeout_s = (unsigned)v;
			else
				bad = -EINVAL;
		} else if (strcmp(opt, "--gateway-pid") == 0) {
			if (parse_uint(opt, val, 1, INT_MAX, &v) == 0)
				o->gateway_pid = (long)v;
			else
				bad = -EINVAL;
		} else if (strcmp(opt, "--key") == 0) {
			if (!*val)
				bad = bad_option(opt, val, "empty path");
			else
				o->key_file = val;
		} else if (strcmp(opt, "--release") == 0) {
			o->release = true;
		} else if (strcmp(opt, "--no-join") == 0) {
			o->no_join = true;
		} else if (strcmp(opt, "--json") == 0) {
			o->json = true;
		} else {
			fprintf(stderr, "join-flood: unknown option '%s' (see --help)\n", opt);
			bad = -EINVAL;
		}
	}
	if (!have_gateway && !bad) {
		fprintf(stderr, "join-flood: --gateway IP is required (see --help)\n");
		bad = -EINVAL;
	}
	if (o->no_join && !o->renew_rounds && !o->release && !bad) {
		fprintf(stderr, "join-flood: --no-join without --renew-rounds or --release does "
				"nothing\n");
		bad = -EINVAL;
	}
	return bad;
}

/* ---- the gateway's process ---- */

static bool read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n > 0;
}

static uint64_t status_kib(const char *status, const char *field)
{
	const char *p = strstr(status, field);

	return p ? strtoull(p + strlen(field), NULL, 10) : 0;
}

/* Values of the line after the "Udp:" header line of /proc/PID/net/snmp. */
static void read_udp(long pid, struct proc_sample *s)
{
	char path[64], buf[8192], *hdr, *val, *hs, *vs, *h, *v;

	snprintf(path, sizeof(path), "/proc/%ld/net/snmp", pid);
	if (!read_file(path, buf, sizeof(buf)) || !(hdr = strstr(buf, "\nUdp: ")))
		return;
	hdr++;
	val = strstr(hdr + 1, "\nUdp: ");
	if (!val)
		return;
	*val++ = '\0';
	val[strcspn(val, "\n")] = '\0';
	h = strtok_r(hdr, " \n", &hs);
	v = strtok_r(val, " \n", &vs);
	while (h && v) {
		uint64_t n = strtoull(v, NULL, 10);

		if (strcmp(h, "InDatagrams") == 0)
			s->udp_in = n;
		else if (strcmp(h, "RcvbufErrors") == 0)
			s->udp_rcvbuf_errors = n;
		else if (strcmp(h, "InErrors") == 0)
			s->udp_in_errors = n;
		h = strtok_r(NULL, " \n", &hs);
		v = strtok_r(NULL, " \n", &vs);
	}
}

static void sample_gateway(long pid, struct proc_sample *s)
{
	char path[64], buf[4096], *p;
	unsigned long long ut, st;
	long tick = sysconf(_SC_CLK_TCK);

	memset(s, 0, sizeof(*s));
	if (!pid || tick <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!read_file(path, buf, sizeof(buf)) || !(p = strrchr(buf, ')')))
		return;
	/* After "pid (comm)": state is field 3, utime 14 and stime 15. */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return;
	s->utime_ms = ut * 1000 / (unsigned long long)tick;
	s->stime_ms = st * 1000 / (unsigned long long)tick;
	snprintf(path, sizeof(path), "/proc/%ld/schedstat", pid);
	if (read_file(path, buf, sizeof(buf)))
		s->run_ns = strtoull(buf, NULL, 10);
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (read_file(path, buf, sizeof(buf))) {
		s->rss_kib = status_kib(buf, "VmRSS:");
		s->hwm_kib = status_kib(buf, "VmHWM:");
	}
	read_udp(pid, s);
	s->ok = true;
}

/* ---- requests and replies ---- */

static void sim_init(struct sim *s, uint32_t index)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "sim-%05" PRIu32, index);
	s->mac[0] = MAC_PREFIX0;
	s->mac[1] = MAC_PREFIX1;
	s->mac[2] = MAC_PREFIX2;
	s->mac[3] = (uint8_t)(index >> 16);
	s->mac[4] = (uint8_t)(index >> 8);
	s->mac[5] = (uint8_t)index;
}

/* One attempt: a new message with a new nonce. Returns 0 or a negative
 * errno from send(); either way the attempt counts as made, so a full
 * socket buffer is retried after RESEND_US like a lost datagram. */
static int send_attempt(struct flood *f, struct phase *ph, uint32_t index)
{
	struct sim *s = &f->sims[index];
	uint8_t buf[PG_WIRE_MAX];
	struct pg_msg req;
	int n;

	n = pg_msg_init(&req, ph->type);
	if (n < 0)
		return n;
	req.nonce[0] = (uint8_t)(index >> 24);
	req.nonce[1] = (uint8_t)(index >> 16);
	req.nonce[2] = (uint8_t)(index >> 8);
	req.nonce[3] = (uint8_t)index;
	snprintf(req.pod_name, sizeof(req.pod_name), "%s", s->name);
	snprintf(req.pod_namespace, sizeof(req.pod_namespace), "%s", NAMESPACE);
	req.has_pod_ip = true;
	req.pod_ip = f->pod_ip;
	if (ph->type != PG_MSG_RELEASE) {
		req.has_mac = true;
		memcpy(req.mac, s->mac, sizeof(req.mac));
	}
	n = pg_msg_encode(&req, f->key, buf, sizeof(buf));
	if (n < 0)
		return n;
	memcpy(s->nonces[s->n_sent % NONCE_RING], req.nonce, PG_WIRE_NONCE_LEN);
	s->n_sent++;
	s->last_us = now_us();
	if (s->n_sent == 1)
		s->first_us = s->last_us;
	else
		ph->resent++;
	ph->sent++;
	if (send(f->fd, buf, (size_t)n, 0) < 0) {
		ph->send_failed++;
		return -errno;
	}
	return 0;
}

static void start_op(struct flood *f, struct phase *ph, uint32_t index)
{
	struct sim *s = &f->sims[index];
	int r;

	s->state = OP_IN_FLIGHT;
	s->n_sent = 0;
	s->slot = f->n_in_flight;
	f->in_flight[f->n_in_flight++] = index;
	ph->requests++;
	r = send_attempt(f, ph, index);
	if (r == -EIO || r == -EINVAL || r == -EMSGSIZE)
		f->fatal = r;
}

static void finish_op(struct flood *f, struct phase *ph, struct sim *s, uint64_t t)
{
	uint32_t last = f->in_flight[--f->n_in_flight];

	f->in_flight[s->slot] = last;
	f->sims[last].slot = s->slot;
	s->state = OP_DONE;
	ph->lat_us[ph->n_lat++] =
	    (uint32_t)(t - s->first_us > UINT32_MAX ? UINT32_MAX : t - s->first_us);
}

static bool sent_nonce(const struct sim *s, const uint8_t nonce[PG_WIRE_NONCE_LEN])
{
	uint32_t n = s->n_sent < NONCE_RING ? s->n_sent : NONCE_RING;

	for (uint32_t i = 0; i < n; i++)
		if (memcmp(s->nonces[i], nonce, PG_WIRE_NONCE_LEN) == 0)
			return true;
	return false;
}

static void handle_reply(struct flood *f, struct phase *ph, size_t len, uint64_t t)
{
	enum pg_msg_type want = ph->type == PG_MSG_RELEASE ? PG_MSG_RELEASED : PG_MSG_GRANT;
	struct pg_msg ans;
	struct sim *s;
	uint32_t index;
	int r;

	if (len > PG_WIRE_MAX) {
		ph->bad++;
		return;
	}
	r = pg_msg_decode(f->rx, len, f->key, &ans);
	if (r == -EACCES) {
		ph->unverified++;
		return;
	}
	if (r < 0) {
		ph->bad++;
		return;
	}
	if (!ans.has_request_nonce) {
		ph->stray++;
		return;
	}
	index = (uint32_t)ans.request_nonce[0] << 24 | (uint32_t)ans.request_nonce[1] << 16 |
		(uint32_t)ans.request_nonce[2] << 8 | ans.request_nonce[3];
	if (index >= f->o->clients || !sent_nonce(&f->sims[index], ans.request_nonce)) {
		ph->stray++;
		return;
	}
	s = &f->sims[index];
	if (s->state != OP_IN_FLIGHT) {
		ph->late++;
		return;
	}
	if (ans.type == PG_MSG_ERROR) {
		ph->errors[ans.error < ERROR_CODES ? ans.error : ERROR_OTHER]++;
		if (ph->type != PG_MSG_RELEASE && ans.error == PG_ERR_NO_LEASE)
			s->leased = false;
		if (ph->type == PG_MSG_JOIN)
			s->leased = false;
	} else if (ans.type == want) {
		ph->ok++;
		if (ph->type == PG_MSG_RENEW && s->has_addr && s->addr.s_addr != ans.addr.s_addr)
			ph->addr_changed++;
		if (want == PG_MSG_GRANT) {
			s->leased = true;
			s->has_addr = true;
			s->addr = ans.addr;
		} else {
			s->leased = false;
		}
	} else {
		ph->unexpected++;
	}
	finish_op(f, ph, s, t);
}

static void drain(struct flood *f, struct phase *ph)
{
	for (;;) {
		ssize_t n = recv(f->fd, f->rx, sizeof(f->rx), MSG_TRUNC);

		if (n < 0) {
			/* ECONNREFUSED: an ICMP port unreachable for an earlier
			 * datagram (nobody listens); the resend covers it. */
			if (errno == ECONNREFUSED || errno == EINTR)
				continue;
			if (errno != EAGAIN)
				f->fatal = -errno;
			return;
		}
		handle_reply(f, ph, (size_t)n, now_us());
	}
}

static void resend_due(struct flood *f, struct phase *ph, uint64_t now, uint64_t *next_due)
{
	for (uint32_t i = 0; i < f->n_in_flight; i++) {
		uint32_t index = f->in_flight[i];
		struct sim *s = &f->sims[index];

		/* last_us may be later than now: sent since now was read. */
		if (s->last_us + RESEND_US <= now)
			send_attempt(f, ph, index);
		if (s->last_us + RESEND_US < *next_due)
			*next_due = s->last_us + RESEND_US;
	}
}

/* Runs one phase for every client that takes part; stops at the global
 * deadline. */
static void run_phase(struct flood *f, struct phase *ph)
{
	uint32_t next = 0, n = f->o->clients;
	uint64_t start = now_us();

	ph->ran = true;
	ph->lat_us = calloc(n, sizeof(*ph->lat_us));
	if (!ph->lat_us) {
		f->fatal = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		f->sims[i].state = OP_IDLE;
		f->sims[i].n_sent = 0;
	}
	sample_gateway(f->o->gateway_pid, &ph->before);
	while (!f->fatal) {
		uint64_t now = now_us(), next_due = f->deadline_us;
		struct pollfd pfd = {.fd = f->fd, .events = POLLIN};
		int wait_ms;

		while (f->n_in_flight < f->o->window && next < n && !f->fatal) {
			uint32_t index = next++;

			if (ph->type == PG_MSG_JOIN || f->sims[index].leased)
				start_op(f, ph, index);
		}
		if (f->n_in_flight == 0 && next >= n)
			break;
		if (now >= f->deadline_us) {
			f->timed_out = true;
			break;
		}
		resend_due(f, ph, now, &next_due);
		now = now_us();
		wait_ms = next_due > now ? (int)((next_due - now + 999) / 1000) : 0;
		if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR) {
			f->fatal = -errno;
			break;
		}
		if (pfd.revents & (POLLIN | POLLERR))
			drain(f, ph);
	}
	ph->elapsed_us = now_us() - start;
	ph->unfinished = f->n_in_flight;
	for (uint32_t i = 0; i < f->n_in_flight; i++)
		f->sims[f->in_flight[i]].state = OP_IDLE;
	f->n_in_flight = 0;
	sample_gateway(f->o->gateway_pid, &ph->after);
}

/* ---- reports ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double quantile_ms(const struct phase *ph, double q)
{
	size_t i;

	if (!ph->n_lat)
		return 0;
	i = (size_t)(q * (double)(ph->n_lat - 1) + 0.5);
	return ph->lat_us[i] / 1000.0;
}

static double rate(uint64_t count, uint64_t us)
{
	return us ? (double)count * 1e6 / (double)us : 0;
}

static uint32_t failed(const struct phase *ph)
{
	uint32_t n = ph->unexpected + ph->unfinished;

	for (int c = 0; c < ERROR_CODES; c++)
		n += ph->errors[c];
	return n;
}

static const char *error_name(int code)
{
	return code == ERROR_OTHER ? "other" : pg_wire_error_str((uint16_t)code);
}

/* Renew rounds summed, for the headline renewals/s. */
struct totals {
	uint64_t ok, requests, failed, elapsed_us, cpu_ms, run_ns;
	bool cpu;
};

static void add_totals(struct totals *t, const struct phase *ph)
{
	t->ok += ph->ok;
	t->requests += ph->requests;
	t->failed += failed(ph);
	t->elapsed_us += ph->elapsed_us;
	if (ph->before.ok && ph->after.ok) {
		t->cpu = true;
		t->cpu_ms += ph->after.utime_ms + ph->after.stime_ms - ph->before.utime_ms -
			     ph->before.stime_ms;
		t->run_ns += ph->after.run_ns - ph->before.run_ns;
	}
}

static void print_text_phase(const struct phase *ph)
{
	char label[32];
	bool any = false;

	if (ph->round)
		snprintf(label, sizeof(label), "%s %u", ph->name, ph->round);
	else
		snprintf(label, sizeof(label), "%s", ph->name);
	printf("%-9s %6" PRIu32 "/%-6" PRIu32 " ok in %8.3f s = %9.1f/s; latency ms p50 %.2f p99 "
	       "%.2f max %.2f; sent %" PRIu64 ", resent %" PRIu64,
	       label, ph->ok, ph->requests, ph->elapsed_us / 1e6, rate(ph->ok, ph->elapsed_us),
	       quantile_ms(ph, 0.5), quantile_ms(ph, 0.99), quantile_ms(ph, 1.0), ph->sent,
	       ph->resent);
	if (ph->send_failed)
		printf(", send failed %" PRIu64, ph->send_failed);
	printf("\n          errors:");
	for (int c = 1; c <= ERROR_CODES; c++) {
		int code = c % ERROR_CODES; /* "other" last */

		if (ph->errors[code]) {
			printf("%s %s %" PRIu32, any ? "," : "", error_name(code),
			       ph->errors[code]);
			any = true;
		}
	}
	if (ph->unexpected) {
		printf("%s wrong reply type %" PRIu32, any ? "," : "", ph->unexpected);
		any = true;
	}
	if (ph->unfinished) {
		printf("%s unanswered at timeout %" PRIu32, any ? "," : "", ph->unfinished);
		any = true;
	}
	if (!any)
		printf(" none");
	if (ph->stray || ph->late || ph->bad || ph->unverified)
		printf("; replies: %" PRIu64 " late, %" PRIu64 " stray, %" PRIu64
		       " malformed, %" PRIu64 " failed authentication",
		       ph->late, ph->stray, ph->bad, ph->unverified);
	if (ph->addr_changed)
		printf("; %" PRIu32 " renewals granted another address", ph->addr_changed);
	printf("\n");
	if (ph->before.ok && ph->after.ok) {
		uint64_t cpu = ph->after.utime_ms + ph->after.stime_ms - ph->before.utime_ms -
			       ph->before.stime_ms;

		printf("          gateway: cpu %" PRIu64 " ms (user %" PRIu64 ", sys %" PRIu64
		       ") = %.1f ms per 1000 ok; RSS %" PRIu64 " KiB, HWM %" PRIu64
		       " KiB; UDP in %" PRIu64 ", receive buffer drops %" PRIu64 "\n",
		       cpu, ph->after.utime_ms - ph->before.utime_ms,
		       ph->after.stime_ms - ph->before.stime_ms,
		       ph->ok ? (double)cpu * 1000.0 / ph->ok : 0.0, ph->after.rss_kib,
		       ph->after.hwm_kib, ph->after.udp_in - ph->before.udp_in,
		       ph->after.udp_rcvbuf_errors - ph->before.udp_rcvbuf_errors);
	} else if (ph->before.ok) {
		printf("          gateway: its process is gone after this phase\n");
	}
}

static void print_json_sample(const char *name, const struct proc_sample *s)
{
	if (!s->ok) {
		printf("\"%s\":null", name);
		return;
	}
	printf("\"%s\":{\"utime_ms\":%" PRIu64 ",\"stime_ms\":%" PRIu64 ",\"run_ns\":%" PRIu64
	       ",\"vmrss_kib\":%" PRIu64 ",\"vmhwm_kib\":%" PRIu64 ",\"udp_in\":%" PRIu64
	       ",\"udp_rcvbuf_errors\":%" PRIu64 ",\"udp_in_errors\":%" PRIu64 "}",
	       name, s->utime_ms, s->stime_ms, s->run_ns, s->rss_kib, s->hwm_kib, s->udp_in,
	       s->udp_rcvbuf_errors, s->udp_in_errors);
}

static void print_json_phase(const struct phase *ph)
{
	bool any = false;

	printf("{\"phase\":\"%s\",\"round\":%u,\"requests\":%" PRIu32 ",\"ok\":%" PRIu32
	       ",\"failed\":%" PRIu32 ",\"errors\":{",
	       ph->name, ph->round, ph->requests, ph->ok, failed(ph));
	for (int c = 1; c <= ERROR_CODES; c++) {
		int code = c % ERROR_CODES;

		if (ph->errors[code]) {
			printf("%s\"%s\":%" PRIu32, any ? "," : "", error_name(code),
			       ph->errors[code]);
			any = true;
		}
	}
	printf("},\"unexpected\":%" PRIu32 ",\"unfinished\":%" PRIu32 ",\"sent\":%" PRIu64
	       ",\"resent\":%" PRIu64 ",\"send_failed\":%" PRIu64 ",\"late\":%" PRIu64
	       ",\"stray\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"unverified\":%" PRIu64
	       ",\"addr_changed\":%" PRIu32 ",\"elapsed_s\":%.6f,\"rate_per_s\":%.1f,"
	       "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f},",
	       ph->unexpected, ph->unfinished, ph->sent, ph->resent, ph->send_failed, ph->late,
	       ph->stray, ph->bad, ph->unverified, ph->addr_changed, ph->elapsed_us / 1e6,
	       rate(ph->ok, ph->elapsed_us), quantile_ms(ph, 0.5), quantile_ms(ph, 0.9),
	       quantile_ms(ph, 0.99), quantile_ms(ph, 1.0));
	print_json_sample("gateway_before", &ph->before);
	printf(",");
	print_json_sample("gateway_after", &ph->after);
	printf("}");
}

static void print_json_totals(const char *name, const struct totals *t)
{
	printf("\"%s\":{\"requests\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"failed\":%" PRIu64
	       ",\"elapsed_s\":%.6f,\"rate_per_s\":%.1f,",
	       name, t->requests, t->ok, t->failed, t->elapsed_us / 1e6,
	       rate(t->ok, t->elapsed_us));
	if (t->cpu)
		printf("\"gateway_cpu_ms\":%" PRIu64 ",\"gateway_run_ms\":%.3f,"
		       "\"gateway_cpu_ms_per_1000\":%.2f,\"gateway_run_ms_per_1000\":%.3f}",
		       t->cpu_ms, t->run_ns / 1e6, t->ok ? (double)t->cpu_ms * 1000.0 / t->ok : 0.0,
		       t->ok ? t->run_ns / 1e3 / t->ok : 0.0);
	else
		printf("\"gateway_cpu_ms\":null,\"gateway_run_ms\":null,"
		       "\"gateway_cpu_ms_per_1000\":null,\"gateway_run_ms_per_1000\":null}");
}

static void report(const struct flood *f, struct phase *phases, size_t n_phases)
{
	const struct options *o = f->o;
	struct totals join = {0}, renew = {0}, release = {0};
	char gw[INET_ADDRSTRLEN];
	uint32_t leased = 0;

	inet_ntop(AF_INET, &o->gateway, gw, sizeof(gw));
	for (uint32_t i = 0; i < o->clients; i++)
		leased += f->sims[i].leased;
	for (size_t i = 0; i < n_phases; i++) {
		struct phase *ph = &phases[i];

		if (!ph->ran)
			continue;
		qsort(ph->lat_us, ph->n_lat, sizeof(*ph->lat_us), cmp_u32);
		add_totals(ph->type == PG_MSG_JOIN    ? &join
			   : ph->type == PG_MSG_RENEW ? &renew
						      : &release,
			   ph);
	}
	if (o->json) {
		bool first = true;

		printf("{\"gateway\":\"%s\",\"port\":%u,\"clients\":%u,\"window\":%u,"
		       "\"authenticated\":%s,\"resend_ms\":%u,\"timeout_s\":%u,\"timed_out\":%s,"
		       "\"error\":%s%s%s,\"leased_at_end\":%" PRIu32 ",\"phases\":[",
		       gw, o->port, o->clients, o->window, f->key ? "true" : "false",
		       RESEND_US / 1000, o->timeout_s, f->timed_out ? "true" : "false",
		       f->fatal ? "\"" : "", f->fatal ? strerror(-f->fatal) : "null",
		       f->fatal ? "\"" : "", leased);
		for (size_t i = 0; i < n_phases; i++) {
			if (!phases[i].ran)
				continue;
			printf("%s", first ? "" : ",");
			print_json_phase(&phases[i]);
			first = false;
		}
		printf("],");
		print_json_totals("join", &join);
		printf(",");
		print_json_totals("renew", &renew);
		printf(",");
		print_json_totals("release", &release);
		printf("}\n");
		return;
	}
	printf("join-flood: %u clients against %s:%u, window %u, %s, resend after %u ms\n",
	       o->clients, gw, o->port, o->window, f->key ? "authenticated" : "unauthenticated",
	       RESEND_US / 1000);
	for (size_t i = 0; i < n_phases; i++)
		if (phases[i].ran)
			print_text_phase(&phases[i]);
	if (join.requests)
		printf("joins:     %" PRIu64 " completed of %" PRIu64 " in %.3f s = %.1f joins/s\n",
		       join.ok, join.requests, join.elapsed_us / 1e6,
		       rate(join.ok, join.elapsed_us));
	if (renew.requests)
		printf("renewals:  %" PRIu64 " completed of %" PRIu64
		       " in %.3f s = %.1f renewals/s\n",
		       renew.ok, renew.requests, renew.elapsed_us / 1e6,
		       rate(renew.ok, renew.elapsed_us));
	if (release.requests)
		printf("releases:  %" PRIu64 " completed of %" PRIu64 " in %.3f s = %.1f "
		       "releases/s\n",
		       release.ok, release.requests, release.elapsed_us / 1e6,
		       rate(release.ok, release.elapsed_us));
	printf("leases held at the end: %" PRIu32 "\n", leased);
	if (f->timed_out)
		printf("stopped by --timeout %u s before every request was answered\n",
		       o->timeout_s);
	if (f->fatal)
		printf("stopped by an error: %s\n", strerror(-f->fatal));
}

/* ---- main ---- */

static int open_socket(const struct options *o)
{
	struct sockaddr_in to = {
	    .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)o->port),
	    .sin_addr = o->gateway,
	};
	int size = SOCKET_BUF, fd, r;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Big buffers, so that the flood measures the gateway, not us; the
	 * FORCE variants pass net.core.*mem_max when we may (root). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	/* Connected: only the gateway's address and port can answer. */
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static bool all_ok(const struct flood *f, const struct phase *phases, size_t n)
{
	if (f->timed_out || f->fatal)
		return false;
	for (size_t i = 0; i < n; i++)
		if (phases[i].ran && (failed(&phases[i]) || phases[i].addr_changed))
			return false;
	return true;
}

int main(int argc, char **argv)
{
	struct options o;
	struct pg_key key;
	struct flood f = {.o = &o, .fd = -1};
	struct phase *phases = NULL;
	size_t n_phases = 0;
	int r, status = EXIT_CANNOT;

	r = parse_options(argc, argv, &o);
	if (r)
		return r > 0 ? 0 : EXIT_USAGE;
	if (o.key_file) {
		const char *why = NULL;

		r = pg_key_load(o.key_file, &key, &why);
		if (r < 0) {
			fprintf(stderr, "join-flood: --key: '%s': %s\n", o.key_file,
				why ? why : strerror(-r));
			return EXIT_USAGE;
		}
		f.key = &key;
	}
	f.sims = calloc(o.clients, sizeof(*f.sims));
	f.in_flight = calloc(o.window, sizeof(*f.in_flight));
	phases = calloc(2 + (size_t)o.renew_rounds, sizeof(*phases));
	if (!f.sims || !f.in_flight || !phases) {
		fprintf(stderr, "join-flood: out of memory\n");
		goto out;
	}
	for (uint32_t i = 0; i < o.clients; i++) {
		sim_init(&f.sims[i], i);
		f.sims[i].leased = o.no_join; /* their addresses are unknown */
	}
	r = open_socket(&o);
	if (r < 0) {
		fprintf(stderr, "join-flood: socket to the gateway: %s\n", strerror(-r));
		goto out;
	}
	f.fd = r;
	{
		struct sockaddr_in me;
		socklen_t len = sizeof(me);

		if (getsockname(f.fd, (struct sockaddr *)&me, &len) < 0) {
			fprintf(stderr, "join-flood: getsockname: %s\n", strerror(errno));
			goto out;
		}
		f.pod_ip = me.sin_addr;
	}

	if (!o.no_join)
		phases[n_phases++] = (struct phase){.name = "join", .type = PG_MSG_JOIN};
	for (unsigned i = 1; i <= o.renew_rounds; i++)
		phases[n_phases++] =
		    (struct phase){.name = "renew", .round = i, .type = PG_MSG_RENEW};
	if (o.release)
		phases[n_phases++] = (struct phase){.name = "release", .type = PG_MSG_RELEASE};

	f.deadline_us = now_us() + (uint64_t)o.timeout_s * 1000000;
	for (size_t i = 0; i < n_phases && !f.timed_out && !f.fatal; i++)
		run_phase(&f, &phases[i]);
	if (f.fatal)
		fprintf(stderr, "join-flood: stopped: %s\n", strerror(-f.fatal));
	report(&f, phases, n_phases);
	status = all_ok(&f, phases, n_phases) ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	if (f.fd >= 0)
		close(f.fd);
	for (size_t i = 0; i < n_phases; i++)
		free(phases[i].lat_us);
	free(phases);
	free(f.in_flight);
	free(f.sims);
	return status;
}
