/* SPDX-License-Identifier: MIT */
/* The netns backend: a crawler is a lab pod (scripts/lab-lib.sh) running
 * `clientd run`. The lab's shell functions already know how to make a pod
 * and are what every namespace test uses, so we run them through a small
 * helper script instead of re-implementing them in C: one definition of a
 * lab pod. C keeps what must be exact under concurrency: the pod IPs. */
#include "provisiond/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/log.h"
#include "provisiond/replica.h"

/* Exit code of the helper when the pod IP turned out to be in use. */
#define HELPER_IP_TAKEN 3
/* The helper's own work (namespace, veth, clientd start) takes well under a
 * second; this bounds it when the machine is slow. */
#define HELPER_SLACK_S 60
#define HELPER_OUT_MAX 4096

extern char **environ;

struct netns {
	const struct pv_settings *s;
	pthread_mutex_t lock;
	unsigned char used[256]; /* host numbers of 10.244.0.0/24 we handed out */
};

static int netns_init(const struct pv_settings *s, void **impl, char why[PV_WHY_MAX])
{
	struct netns *n;

	if (access(s->netns_helper, X_OK) < 0) {
		snprintf(why, PV_WHY_MAX, "NETNS_HELPER: '%.120s': %s", s->netns_helper,
			 strerror(errno));
		return -errno;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->s = s;
	pthread_mutex_init(&n->lock, NULL);
	*impl = n;
	return 0;
}

static void netns_fini(void *impl)
{
	struct netns *n = impl;

	if (!n)
		return;
	pthread_mutex_destroy(&n->lock);
	free(n);
}

static int ip_take(struct netns *n, unsigned skip_below)
{
	int host = -1;

	pthread_mutex_lock(&n->lock);
	for (unsigned h = n->s->ip_first > skip_below ? n->s->ip_first : skip_below;
	     h <= n->s->ip_last; h++)
		if (!n->used[h]) {
			n->used[h] = 1;
			host = (int)h;
			break;
		}
	pthread_mutex_unlock(&n->lock);
	return host;
}

static void ip_release(struct netns *n, int host)
{
	pthread_mutex_lock(&n->lock);
	n->used[host] = 0;
	pthread_mutex_unlock(&n->lock);
}

/* Appends what is readable on fd to buf (bounded); 0 at EOF. */
static ssize_t drain(int fd, char *buf, size_t *len)
{
	char tmp[512];
	ssize_t r = read(fd, tmp, sizeof(tmp));

	if (r > 0) {
		size_t room = HELPER_OUT_MAX - 1 - *len;
		size_t take = (size_t)r < room ? (size_t)r : room;

		memcpy(buf + *len, tmp, take);
		*len += take;
		buf[*len] = '\0';
	}
	return r < 0 && errno == EINTR ? 1 : r;
}

/* Runs argv with its stdout and stderr captured, at most timeout_s seconds
 * (then SIGKILL). Returns the exit code, or a negative errno. */
static int run_helper(char *const argv[], unsigned timeout_s, char out[HELPER_OUT_MAX],
		      char err[HELPER_OUT_MAX])
{
	int po[2], pe[2], status, r;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dflt;
	size_t lo = 0, le = 0;
	uint64_t deadline = pg_monotonic_ms() + (uint64_t)timeout_s * 1000;
	pid_t pid;

	out[0] = err[0] = '\0';
	/* O_CLOEXEC: helpers started by other threads must not inherit these. */
	if (pipe2(po, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(pe, O_CLOEXEC) < 0) {
		r = -errno;
		close(po[0]);
		close(po[1]);
		return r;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	/* Our threads block the termination signals (the main thread reads
	 * them from a signalfd) and ignore SIGPIPE; the helper and the clientd
	 * it starts must get them the ordinary way. */
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	r = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	if (r) {
		close(po[0]);
		close(pe[0]);
		return -r;
	}
	struct pollfd pfd[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		uint64_t now = pg_monotonic_ms();

		if (now >= deadline) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(pfd, 2, (int)(deadline - now)) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents && drain(po[0], out, &lo) <= 0)
			pfd[0].fd = -1;
		if (pfd[1].revents && drain(pe[0], err, &le) <= 0)
			pfd[1].fd = -1;
	}
	close(po[0]);
	close(pe[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* The helper's last stderr line: what it says went wrong. */
static void last_line(const char *text, char why[PV_WHY_MAX])
{
	size_t len = strlen(text);
	const char *start;

	while (len && text[len - 1] == '\n')
		len--;
	start = text + len;
	while (start > text && start[-1] != '\n')
		start--;
	snprintf(why, PV_WHY_MAX, "%.*s", (int)(text + len - start),
		 len ? start : "netns helper failed without a message");
}

static void copy_value(const char *out, const char *key, char *dst, size_t size)
{
	size_t klen = strlen(key);

	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, klen) == 0 && l[klen] == '=') {
			snprintf(dst, size, "%.*s", (int)strcspn(l + klen + 1, "\n"), l + klen + 1);
			return;
		}
}

static int netns_create(void *impl, const struct pv_crawler_spec *spec, struct pv_crawler *out,
			char why[PV_WHY_MAX])
{
	struct netns *n = impl;
	char out_text[HELPER_OUT_MAX], err_text[HELPER_OUT_MAX], ip[32], wait[16];
	unsigned wait_s = spec->wait_routed ? n->s->routed_timeout : 0;
	int host = -1, rc = HELPER_IP_TAKEN;

	snprintf(wait, sizeof(wait), "%u", wait_s);
	/* A host number taken by someone else (a crawler from before a
	 * restart) makes the helper answer 3: try the next one. */
	while (rc == HELPER_IP_TAKEN) {
		host = ip_take(n, host < 0 ? 0 : (unsigned)host + 1);
		if (host < 0) {
			snprintf(why, PV_WHY_MAX, "no free pod IP in POD_IP_RANGE %u-%u",
				 n->s->ip_first, n->s->ip_last);
			return -ENOSPC;
		}
		snprintf(ip, sizeof(ip), "10.244.0.%d", host);
		char *argv[] = {(char *)n->s->netns_helper,
				"create",
				(char *)n->s->lab_prefix,
				(char *)spec->name,
				ip,
				(char *)spec->gateway,
				wait,
				NULL};
		rc = run_helper(argv, wait_s + HELPER_SLACK_S, out_text, err_text);
		if (rc == HELPER_IP_TAKEN)
			pg_debug("pod IP %s is taken, trying the next", ip);
	}
	if (rc != 0) {
		ip_release(n, host);
		if (rc < 0)
			snprintf(why, PV_WHY_MAX, "netns helper: %s", strerror(-rc));
		else
			last_line(err_text, why);
		return -EIO;
	}
	snprintf(out->pod_name, sizeof(out->pod_name), "%s", spec->name);
	snprintf(out->pod_namespace, sizeof(out->pod_namespace), "%s", n->s->pod_namespace);
	copy_value(out_text, "netns", out->netns, sizeof(out->netns));
	copy_value(out_text, "pod_ip", out->pod_ip, sizeof(out->pod_ip));
	copy_value(out_text, "overlay_address", out->overlay_address, sizeof(out->overlay_address));
	if (spec->wait_routed)
		pv_replica_from_text(out_text, out);
	out->existed = strstr(out_text, "existed=1") != NULL;
	if (out->existed)
		ip_release(n, host); /* the earlier crawler keeps its own IP */
	return 0;
}

const struct pv_backend_ops pv_backend_netns = {
    .name = "netns",
    .init = netns_init,
    .create = netns_create,
    .fini = netns_fini,
};
