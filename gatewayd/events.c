/* SPDX-License-Identifier: MIT */
#include "gatewayd/events.h"

/* Calls go through function pointers: no function-like macros. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/log.h"
#include "common/sockaddr.h"
#include "gatewayd/cloudevent.h"
#include "gatewayd/loop.h"

#define BACKOFF_MS 500	/* doubled after each failed attempt */
#define FLUSH_MS   1000 /* at exit, for what is queued */

/* libcurl, loaded when K_SINK is set; the types come from its header. */
#define CURL_FUNCS(X)                                                                              \
	X(curl_global_init)                                                                        \
	X(curl_global_cleanup)                                                                     \
	X(curl_multi_init)                                                                         \
	X(curl_multi_setopt)                                                                       \
	X(curl_multi_add_handle)                                                                   \
	X(curl_multi_remove_handle)                                                                \
	X(curl_multi_socket_action)                                                                \
	X(curl_multi_info_read)                                                                    \
	X(curl_multi_cleanup)                                                                      \
	X(curl_easy_init)                                                                          \
	X(curl_easy_setopt)                                                                        \
	X(curl_easy_getinfo)                                                                       \
	X(curl_easy_cleanup)                                                                       \
	X(curl_easy_strerror)                                                                      \
	X(curl_slist_append)                                                                       \
	X(curl_slist_free_all)

static struct {
	void *lib;
#define X(f) __typeof__(&f) f;
	CURL_FUNCS(X)
#undef X
} cu;

static int load_curl(void)
{
	if (cu.lib)
		return 0;
	cu.lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!cu.lib) {
		pg_err("K_SINK: cannot load libcurl: %s", dlerror());
		return -ENOENT;
	}
#define X(f)                                                                                       \
	if (!(*(void **)&cu.f = dlsym(cu.lib, #f))) {                                              \
		pg_err("K_SINK: libcurl lacks %s", #f);                                            \
		return -ENOENT;                                                                    \
	}
	CURL_FUNCS(X)
#undef X
	return 0;
}

struct sock {
	curl_socket_t fd; /* CURL_SOCKET_BAD: free */
	short events;
};

struct pg_events {
	char url[PG_URL_MAX + 1];
	struct pg_ce_origin origin;
	CURLM *multi;
	CURL *easy;
	struct curl_slist *headers;
	struct pg_ce_record cur;  /* the event being sent, or waiting for a retry */
	struct pg_ce_message msg; /* cur formatted */
	bool have_msg;
	bool curl_ready; /* curl_global_init done */
	bool busy;	 /* easy is in multi */
	unsigned attempt;
	uint64_t retry_due; /* monotonic ms; 0: none */
	uint64_t curl_due;  /* libcurl's timer; 0: none */
	struct sock socks[PG_EVENTS_NFDS];
	/* waiting events, oldest at head */
	struct pg_ce_record *ring;
	size_t head, count;
	uint64_t seq;
	uint64_t delivered, dropped_full, dropped_failed, refused;
	bool failing;
	long failure_key; /* what failed last: curl code * 1000 + HTTP status */
	struct pg_ratelimit rl_full, rl_drop, rl_socks;
	char errbuf[CURL_ERROR_SIZE];
};

int pg_events_gateway_name(const struct pg_config *cfg, char out[PG_NAMESPACE_MAX + 1])
{
	char host[256] = "";

	if (cfg->events_gateway[0]) {
		snprintf(out, PG_NAMESPACE_MAX + 1, "%s", cfg->events_gateway);
		return 0;
	}
	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		return -errno;
	host[strcspn(host, ".")] = '\0'; /* the label: pods' hostnames are their names */
	snprintf(out, PG_NAMESPACE_MAX + 1, "%s", host);
	return 0;
}

int pg_events_check_config(const struct pg_config *cfg)
{
	struct pg_ce_origin *o;
	char why[PG_CE_WHY_MAX] = "", gw[PG_NAMESPACE_MAX + 1];
	int r;

	if (!cfg->k_sink[0]) {
		if (cfg->ce_overrides[0])
			pg_warn("K_CE_OVERRIDES is set but K_SINK is not: no events are sent");
		return 0;
	}
	if ((r = pg_events_gateway_name(cfg, gw)) < 0) {
		pg_err("EVENTS_GATEWAY_NAME: not set and no hostname: %s", strerror(-r));
		return -EINVAL;
	}
	o = malloc(sizeof(*o));
	if (!o)
		return -ENOMEM;
	r = pg_ce_origin_init(o, gw, cfg->ce_overrides, why);
	free(o);
	if (r < 0)
		pg_err("K_CE_OVERRIDES: '%.200s': %s", cfg->ce_overrides, why);
	return r;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct pg_events *ev = userp;
	int i, free_slot = -1;

	for (i = 0; i < PG_EVENTS_NFDS && ev->socks[i].fd != fd; i++)
		if (free_slot < 0 && ev->socks[i].fd == CURL_SOCKET_BAD)
			free_slot = i;
	if (what == CURL_POLL_REMOVE) {
		if (i < PG_EVENTS_NFDS)
			ev->socks[i].fd = CURL_SOCKET_BAD;
		return 0;
	}
	if (i == PG_EVENTS_NFDS) {
		if (free_slot < 0) {
			/* not watched: the transfer ends at its timeout at worst */
			pg_log_limited(&ev->rl_socks, PG_LOG_WARN,
				       "K_SINK: libcurl wants more than %d sockets",
				       PG_EVENTS_NFDS);
			return 0;
		}
		i = free_slot;
		ev->socks[i].fd = fd;
	}
	ev->socks[i].events =
	    (short)(((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0));
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct pg_events *ev = userp;

	ev->curl_due = timeout_ms < 0 ? 0 : pg_monotonic_ms() + (uint64_t)timeout_ms;
	return 0;
}

/* The sink's answer body is of no interest. */
static size_t discard(char *ptr, size_t size, size_t n, void *userdata)
{
	return size * n;
}

int pg_events_open(const struct pg_config *cfg, struct pg_events **out)
{
	struct pg_events *ev;
	char why[PG_CE_WHY_MAX] = "", gw[PG_NAMESPACE_MAX + 1];
	int r;

	*out = NULL;
	if (!cfg->k_sink[0])
		return 0;
	if ((r = pg_events_gateway_name(cfg, gw)) < 0)
		return r;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	/* calloc'd: pages are touched only as the queue fills */
	ev->ring = calloc(PG_EVENTS_QUEUE, sizeof(*ev->ring));
	if (!ev->ring) {
		free(ev);
		return -ENOMEM;
	}
	snprintf(ev->url, sizeof(ev->url), "%s", cfg->k_sink);
	if (pg_ce_origin_init(&ev->origin, gw, cfg->ce_overrides, why) < 0) {
		pg_err("K_CE_OVERRIDES: '%.200s': %s", cfg->ce_overrides, why);
		pg_events_close(ev);
		return -EINVAL;
	}
	ev->rl_full = (struct pg_ratelimit)PG_RATELIMIT_INIT(60, 1);
	ev->rl_drop = (struct pg_ratelimit)PG_RATELIMIT_INIT(60, 3);
	ev->rl_socks = (struct pg_ratelimit)PG_RATELIMIT_INIT(60, 1);
	for (int i = 0; i < PG_EVENTS_NFDS; i++)
		ev->socks[i].fd = CURL_SOCKET_BAD;
	/* A TLS write to a peer that went away must not end the daemon. */
	signal(SIGPIPE, SIG_IGN);
	if ((r = load_curl()) < 0) {
		pg_events_close(ev);
		return r;
	}
	ev->curl_ready = cu.curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
	if (!ev->curl_ready || !(ev->multi = cu.curl_multi_init()) ||
	    !(ev->easy = cu.curl_easy_init())) {
		pg_events_close(ev);
		return -ENOMEM;
	}
	cu.curl_multi_setopt(ev->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	cu.curl_multi_setopt(ev->multi, CURLMOPT_SOCKETDATA, ev);
	cu.curl_multi_setopt(ev->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	cu.curl_multi_setopt(ev->multi, CURLMOPT_TIMERDATA, ev);
	cu.curl_multi_setopt(ev->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 1L);
	cu.curl_multi_setopt(ev->multi, CURLMOPT_MAXCONNECTS, 1L);
	cu.curl_easy_setopt(ev->easy, CURLOPT_URL, ev->url);
	cu.curl_easy_setopt(ev->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	cu.curl_easy_setopt(ev->easy, CURLOPT_NOSIGNAL, 1L);
	cu.curl_easy_setopt(ev->easy, CURLOPT_TIMEOUT_MS, (long)PG_EVENTS_TIMEOUT_MS);
	cu.curl_easy_setopt(ev->easy, CURLOPT_USERAGENT, "podgw-gatewayd/" PODGW_VERSION);
	cu.curl_easy_setopt(ev->easy, CURLOPT_WRITEFUNCTION, discard);
	cu.curl_easy_setopt(ev->easy, CURLOPT_ERRORBUFFER, ev->errbuf);
	pg_info("K_SINK: '%s': posting client events as source %s", ev->url, ev->origin.source);
	*out = ev;
	return 0;
}

static const char *type_of(const struct pg_ce_record *r)
{
	return r->kind == PG_CE_CONNECTED ? "connected" : "disconnected";
}

static void enqueue(struct pg_events *ev, enum pg_ce_kind kind, const struct pg_lease *l,
		    const char *reason)
{
	struct pg_ce_record *r;

	if (ev->count == PG_EVENTS_QUEUE) {
		ev->head = (ev->head + 1) % PG_EVENTS_QUEUE;
		ev->count--;
		ev->dropped_full++;
		pg_log_limited(&ev->rl_full, PG_LOG_WARN,
			       "K_SINK: %d events wait: dropping the oldest (%llu dropped so far)",
			       PG_EVENTS_QUEUE, (unsigned long long)ev->dropped_full);
	}
	r = &ev->ring[(ev->head + ev->count++) % PG_EVENTS_QUEUE];
	r->kind = kind;
	snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
	r->seq = ++ev->seq;
	clock_gettime(CLOCK_REALTIME, &r->time);
	r->lease = *l;
}

static bool same_client(const struct pg_lease *a, const struct pg_lease *b)
{
	return a->addr.s_addr == b->addr.s_addr && pg_addr_equal(&a->pod_ip, &b->pod_ip) &&
	       memcmp(a->mac, b->mac, sizeof(a->mac)) == 0;
}

void pg_events_joined(struct pg_events *ev, const struct pg_lease *previous,
		      const struct pg_lease *granted)
{
	if (!ev || (previous && same_client(previous, granted)))
		return;
	if (previous)
		enqueue(ev, PG_CE_DISCONNECTED, previous, "replaced");
	enqueue(ev, PG_CE_CONNECTED, granted, NULL);
}

void pg_events_ended(struct pg_events *ev, const struct pg_lease *l, const char *reason)
{
	if (ev)
		enqueue(ev, PG_CE_DISCONNECTED, l, reason);
}

static void drop_msg(struct pg_events *ev)
{
	pg_ce_message_clear(&ev->msg);
	ev->have_msg = false;
	ev->attempt = 0;
}

/* Sends the oldest event unless one is on its way or waits for a retry. */
static void start_next(struct pg_events *ev)
{
	struct curl_slist *h = NULL;

	if (ev->busy || ev->retry_due || (!ev->have_msg && !ev->count))
		return;
	if (!ev->have_msg) {
		ev->cur = ev->ring[ev->head];
		ev->head = (ev->head + 1) % PG_EVENTS_QUEUE;
		ev->count--;
		if (pg_ce_format(&ev->origin, &ev->cur, &ev->msg) < 0) {
			ev->dropped_failed++;
			pg_log_limited(&ev->rl_drop, PG_LOG_WARN,
				       "K_SINK: dropped an event: out of memory");
			return;
		}
		ev->have_msg = true;
		ev->attempt = 0;
	}
	for (size_t i = 0; i < ev->msg.n_headers; i++) {
		struct curl_slist *n = cu.curl_slist_append(h, ev->msg.headers[i]);

		if (!n)
			goto nomem;
		h = n;
	}
	/* no "Expect: 100-continue" round trip */
	if (!(h = cu.curl_slist_append(h, "Expect:")))
		goto nomem;
	cu.curl_slist_free_all(ev->headers);
	ev->headers = h;
	ev->errbuf[0] = '\0';
	cu.curl_easy_setopt(ev->easy, CURLOPT_HTTPHEADER, ev->headers);
	cu.curl_easy_setopt(ev->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(ev->msg.body));
	cu.curl_easy_setopt(ev->easy, CURLOPT_POSTFIELDS, ev->msg.body);
	if (cu.curl_multi_add_handle(ev->multi, ev->easy) == CURLM_OK) {
		ev->busy = true;
		return;
	}
	h = NULL;
nomem:
	cu.curl_slist_free_all(h);
	ev->retry_due = pg_monotonic_ms() + BACKOFF_MS;
}

/* One line when posting starts to fail or fails differently, one when it
 * works again; single events dropped are rate-limited. */
static void note_failure(struct pg_events *ev, long key, const char *why)
{
	if (ev->failing && ev->failure_key == key)
		return;
	pg_warn("K_SINK: '%s': %s; each event is tried %d times, then dropped (%zu waiting)",
		ev->url, why, PG_EVENTS_ATTEMPTS, ev->count);
	ev->failing = true;
	ev->failure_key = key;
}

static void finished(struct pg_events *ev, CURLcode res)
{
	char why[CURL_ERROR_SIZE + 32];
	long status = 0;
	bool retry;

	cu.curl_easy_getinfo(ev->easy, CURLINFO_RESPONSE_CODE, &status);
	cu.curl_multi_remove_handle(ev->multi, ev->easy);
	ev->busy = false;
	if (res == CURLE_OK && status >= 200 && status < 300) {
		if (ev->failing)
			pg_info("K_SINK: '%s': delivering again", ev->url);
		ev->failing = false;
		ev->delivered++;
		drop_msg(ev);
		return;
	}
	if (res != CURLE_OK) {
		snprintf(why, sizeof(why), "%s",
			 ev->errbuf[0] ? ev->errbuf : cu.curl_easy_strerror(res));
		retry = true;
	} else {
		snprintf(why, sizeof(why), "HTTP status %ld", status);
		retry = status >= 500 || status == 408 || status == 429;
	}
	note_failure(ev, (long)res * 1000 + status, why);
	if (retry && ++ev->attempt < PG_EVENTS_ATTEMPTS) {
		ev->retry_due = pg_monotonic_ms() + ((uint64_t)BACKOFF_MS << (ev->attempt - 1));
		return;
	}
	if (retry)
		ev->dropped_failed++;
	else
		ev->refused++;
	pg_log_limited(&ev->rl_drop, PG_LOG_WARN, "K_SINK: dropped the %s event of %s: %s%s",
		       type_of(&ev->cur), ev->cur.lease.id, why,
		       retry ? " (out of attempts)" : " (refused: not retried)");
	drop_msg(ev);
}

static void collect(struct pg_events *ev)
{
	CURLMsg *m;
	int left;

	while ((m = cu.curl_multi_info_read(ev->multi, &left)))
		if (m->msg == CURLMSG_DONE)
			finished(ev, m->data.result); /* m is gone after this */
}

static int ms_until(uint64_t due, uint64_t now)
{
	return due > now ? (int)(due - now) : 0;
}

static int events_tick(void *ctx)
{
	struct pg_events *ev = ctx;
	uint64_t now;
	int t = -1;

	if (!ev)
		return -1;
	now = pg_monotonic_ms();
	if (ev->retry_due && now >= ev->retry_due)
		ev->retry_due = 0;
	start_next(ev);
	now = pg_monotonic_ms();
	if (ev->retry_due)
		t = ms_until(ev->retry_due, now);
	if (ev->curl_due) {
		int c = ms_until(ev->curl_due, now);

		if (t < 0 || c < t)
			t = c;
	}
	return t;
}

static void events_poll_fds(void *ctx, struct pollfd *pfd)
{
	const struct pg_events *ev = ctx;

	for (int i = 0; i < PG_EVENTS_NFDS; i++)
		pfd[i] = (struct pollfd){.fd = -1};
	for (int i = 0; ev && i < PG_EVENTS_NFDS; i++)
		if (ev->socks[i].fd != CURL_SOCKET_BAD)
			pfd[i] =
			    (struct pollfd){.fd = ev->socks[i].fd, .events = ev->socks[i].events};
}

static int events_handle(void *ctx, const struct pollfd *pfd)
{
	struct pg_events *ev = ctx;
	int running;

	if (!ev)
		return 0;
	for (int i = 0; i < PG_EVENTS_NFDS; i++) {
		int mask = 0;

		if (pfd[i].fd < 0 || !pfd[i].revents)
			continue;
		if (pfd[i].revents & (POLLIN | POLLHUP))
			mask |= CURL_CSELECT_IN;
		if (pfd[i].revents & POLLOUT)
			mask |= CURL_CSELECT_OUT;
		if (pfd[i].revents & POLLERR)
			mask |= CURL_CSELECT_ERR;
		cu.curl_multi_socket_action(ev->multi, pfd[i].fd, mask, &running);
	}
	if (ev->curl_due && pg_monotonic_ms() >= ev->curl_due) {
		ev->curl_due = 0;
		cu.curl_multi_socket_action(ev->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	collect(ev);
	return 0;
}

/* At exit: what is on its way or queued gets FLUSH_MS, no retry waits. */
static void flush(struct pg_events *ev)
{
	uint64_t end = pg_monotonic_ms() + FLUSH_MS;

	while (ev->busy || ev->have_msg || ev->count) {
		struct pollfd pfd[PG_EVENTS_NFDS];
		uint64_t now;
		int t = events_tick(ev);

		now = pg_monotonic_ms();
		if (now >= end || (!ev->busy && ev->retry_due))
			break;
		if (t < 0 || t > (int)(end - now))
			t = (int)(end - now);
		events_poll_fds(ev, pfd);
		if (poll(pfd, PG_EVENTS_NFDS, t) < 0 && errno != EINTR)
			break;
		events_handle(ev, pfd);
	}
}

void pg_events_close(struct pg_events *ev)
{
	size_t lost;

	if (!ev)
		return;
	if (ev->multi && ev->easy)
		flush(ev);
	lost = ev->count + (ev->have_msg ? 1 : 0);
	if (ev->multi)
		pg_info("K_SINK: events delivered %llu, dropped %llu (queue full), %llu (failed), "
			"%llu (refused by the sink), %zu unsent at exit",
			(unsigned long long)ev->delivered, (unsigned long long)ev->dropped_full,
			(unsigned long long)ev->dropped_failed, (unsigned long long)ev->refused,
			lost);
	if (ev->busy)
		cu.curl_multi_remove_handle(ev->multi, ev->easy);
	if (ev->easy)
		cu.curl_easy_cleanup(ev->easy);
	if (ev->multi)
		cu.curl_multi_cleanup(ev->multi);
	if (ev->curl_ready)
		cu.curl_global_cleanup();
	cu.curl_slist_free_all(ev->headers);
	pg_ce_message_clear(&ev->msg);
	free(ev->ring);
	free(ev);
}

void pg_events_source(struct pg_events *ev, struct pg_source *out)
{
	*out = (struct pg_source){.name = "events",
				  .ctx = ev,
				  .nfds = PG_EVENTS_NFDS,
				  .tick = events_tick,
				  .poll_fds = events_poll_fds,
				  .handle = events_handle};
}
