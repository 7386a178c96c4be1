/* SPDX-License-Identifier: MIT */
/* `provisiond webhook`: serves AdmissionReviews over HTTPS until SIGTERM,
 * and re-reads its certificate when the files change (cert-manager, or a
 * Secret updated by hand: the kubelet swaps the volume's files). A new pair
 * is checked before it is used; a bad or half-written one is reported and
 * the server keeps the pair it has. `provisiond webhook --review` answers
 * one AdmissionReview from stdin: the same code, without TLS. */
#include "provisiond/webhook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cap-ng.h>
#include <sodium.h>

#include "common/daemon.h"
#include "common/log.h"
#include "provisiond/admission.h"

#define PEM_MAX	    (64 * 1024)
#define RELOAD_MS   1000 /* how often the files are looked at */
#define STDIN_SLACK 1	 /* a byte more than allowed: too big is seen */

/* What identifies the files' content without reading them. */
struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct tls_files {
	const char *cert_path, *key_path;
	struct file_id cert_id, key_id; /* of the pair in use */
	struct file_id tried_cert, tried_key;
	char *cert, *key;
};

static int file_id(const char *path, struct file_id *id)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	*id = (struct file_id){st.st_dev, st.st_ino, st.st_size, st.st_mtim};
	return 0;
}

static bool same_id(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static int read_pem(const char *key, const char *path, char **out)
{
	struct stat st;
	size_t len = 0;
	char *buf;
	int fd, r;

	fd = pg_open_regular(path, &st);
	if (fd < 0) {
		pg_err("%s: '%s': %s", key, path,
		       fd == -EINVAL ? "not a regular file" : strerror(-fd));
		return fd;
	}
	buf = malloc(PEM_MAX + 1);
	r = buf ? pg_read_full(fd, buf, PEM_MAX + 1, &len) : -ENOMEM;
	close(fd);
	if (r == 0 && len > PEM_MAX)
		r = -EFBIG;
	if (r < 0) {
		pg_err("%s: '%s': %s", key, path,
		       r == -EFBIG ? "larger than 64 KiB" : strerror(-r));
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static void free_pem(char **p)
{
	if (*p)
		sodium_memzero(*p, strlen(*p));
	free(*p);
	*p = NULL;
}

/* Reads the pair; 0 with t->cert and t->key, else a negative errno (said). */
static int load_pair(struct tls_files *t, char **cert, char **key)
{
	int r;

	*cert = *key = NULL;
	r = read_pem("WEBHOOK_TLS_CERT_FILE", t->cert_path, cert);
	if (r == 0)
		r = read_pem("WEBHOOK_TLS_KEY_FILE", t->key_path, key);
	if (r == 0 && !pv_webhook_tls_usable(*cert, *key)) {
		pg_err("WEBHOOK_TLS_CERT_FILE, WEBHOOK_TLS_KEY_FILE: '%s', '%s': not a PEM "
		       "certificate and its private key",
		       t->cert_path, t->key_path);
		r = -EINVAL;
	}
	if (r < 0) {
		free_pem(cert);
		free_pem(key);
	}
	return r;
}

/* Swaps the server for one with the new pair, on the same socket: new
 * connections get the new certificate at once, the old server finishes
 * the ones it holds. */
static int swap(const struct pv_settings *s, struct tls_files *t, struct pv_webhook_http **h,
		char *cert, char *key)
{
	struct pv_webhook_http *next = NULL;
	int fd = pv_webhook_http_quiesce(*h), r;

	if (fd < 0) {
		pg_warn("certificate reload: the server cannot hand its socket over; keeping the "
			"old certificate");
		return -EIO;
	}
	r = pv_webhook_http_start(s, cert, key, fd, &next);
	if (r < 0) {
		/* Nothing accepts now: the process must go, and be restarted. */
		pg_err("certificate reload: cannot serve with the new certificate");
		return r;
	}
	pv_webhook_http_stop(*h);
	*h = next;
	free_pem(&t->cert);
	free_pem(&t->key);
	t->cert = cert;
	t->key = key;
	return 0;
}

/* 0: nothing to do or reloaded (or a bad pair kept aside); < 0: the
 * server is gone. */
static int maybe_reload(const struct pv_settings *s, struct tls_files *t,
			struct pv_webhook_http **h)
{
	struct file_id c, k;
	char *cert, *key;
	int r;

	if (file_id(t->cert_path, &c) < 0 || file_id(t->key_path, &k) < 0)
		return 0; /* mid-swap; looked at again soon */
	if (same_id(&c, &t->cert_id) && same_id(&k, &t->key_id))
		return 0;
	if (same_id(&c, &t->tried_cert) && same_id(&k, &t->tried_key))
		return 0; /* a bad pair, already reported */
	t->tried_cert = c;
	t->tried_key = k;
	if (load_pair(t, &cert, &key) < 0) {
		pg_warn("certificate reload: keeping the certificate in use");
		return 0;
	}
	r = swap(s, t, h, cert, key);
	if (r == -EIO) {
		free_pem(&cert);
		free_pem(&key);
		return 0;
	}
	if (r < 0) {
		free_pem(&cert);
		free_pem(&key);
		return r;
	}
	t->cert_id = c;
	t->key_id = k;
	pg_info("certificate reloaded from %s", t->cert_path);
	return 0;
}

static int wait_and_reload(const struct pv_settings *s, struct tls_files *t,
			   struct pv_webhook_http **h, int sfd)
{
	struct pollfd pfd = {.fd = sfd, .events = POLLIN};

	for (;;) {
		int n = poll(&pfd, 1, RELOAD_MS), sig;

		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0) {
			sig = pg_signals_read(sfd);
			if (sig == SIGTERM || sig == SIGINT) {
				pg_info("%s: stopping", strsignal(sig));
				return 0;
			}
		}
		if (maybe_reload(s, t, h) < 0)
			return -EIO;
	}
}

static int check_tls_settings(const struct pv_settings *s)
{
	if (s->webhook_tls_cert[0] && s->webhook_tls_key[0])
		return 0;
	fprintf(stderr,
		"provisiond: %s: '': needed by the webhook (the API server calls webhooks "
		"over HTTPS only)\n",
		s->webhook_tls_cert[0] ? "WEBHOOK_TLS_KEY_FILE" : "WEBHOOK_TLS_CERT_FILE");
	return -EINVAL;
}

static int serve(const struct pv_settings *s)
{
	struct tls_files t = {.cert_path = s->webhook_tls_cert, .key_path = s->webhook_tls_key};
	struct pv_webhook_http *h = NULL;
	char addr[INET_ADDRSTRLEN], ready[96];
	int sfd = -1, r, rc = PG_EXIT_RUNTIME;

	/* The ids first: a change while reading is seen at the next look. */
	if ((r = file_id(t.cert_path, &t.cert_id)) < 0 ||
	    (r = file_id(t.key_path, &t.key_id)) < 0) {
		pg_err("WEBHOOK_TLS_CERT_FILE, WEBHOOK_TLS_KEY_FILE: '%s', '%s': %s", t.cert_path,
		       t.key_path, strerror(-r));
		return PG_EXIT_CONFIG;
	}
	if (load_pair(&t, &t.cert, &t.key) < 0)
		return PG_EXIT_CONFIG;
	signal(SIGPIPE, SIG_IGN);
	sfd = pg_signals_open();
	if (sfd < 0) {
		pg_err("signals: %s", strerror(-sfd));
		goto out;
	}
	if (pv_webhook_http_start(s, t.cert, t.key, -1, &h) < 0) {
		pg_err("PROVISIOND_LISTEN: cannot serve HTTPS (see above)");
		goto out;
	}
	/* It needs none: a port below 1024 is bound already. */
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_apply(CAPNG_SELECT_BOTH) < 0) {
		pg_err("capabilities: cannot drop them");
		goto out;
	}
	inet_ntop(AF_INET, &s->listen.sin_addr, addr, sizeof(addr));
	snprintf(ready, sizeof(ready), "%s:%u\n", addr, pv_webhook_http_port(h));
	pg_info("serving AdmissionReviews on https://%s:%u%s, %u gateway(s)", addr,
		pv_webhook_http_port(h), PV_WEBHOOK_PATH, s->n_gateways);
	if (pg_ready_file_write(s->ready_file, ready) < 0)
		pg_warn("READY_FILE: '%s': cannot write it", s->ready_file);
	r = wait_and_reload(s, &t, &h, sfd);
	rc = r < 0 ? PG_EXIT_RUNTIME : PG_EXIT_OK;
out:
	pv_webhook_http_stop(h);
	pg_ready_file_remove(s->ready_file);
	free_pem(&t.cert);
	free_pem(&t.key);
	if (sfd >= 0)
		close(sfd);
	return rc;
}

/* One review from stdin, the answer on stdout: 0 for a 200, 1 otherwise
 * (the error line on stderr). */
static int review_stdin(const struct pv_settings *s)
{
	size_t len = 0, cap = (size_t)s->max_body + STDIN_SLACK;
	struct pv_admission_reply rep;
	char *buf = malloc(cap + 1);
	int r, rc;

	if (!buf)
		return PG_EXIT_RUNTIME;
	r = pg_read_full(STDIN_FILENO, buf, cap, &len);
	if (r < 0 || len > s->max_body) {
		fprintf(stderr, "provisiond: webhook --review: %s\n",
			r < 0 ? strerror(-r) : "body: larger than MAX_BODY_BYTES");
		free(buf);
		return PG_EXIT_RUNTIME;
	}
	buf[len] = '\0';
	r = pv_admission_answer(s, buf, len, &rep);
	free(buf);
	if (r < 0)
		return PG_EXIT_RUNTIME;
	if (rep.status == 200) {
		printf("%s\n", rep.body);
		rc = fflush(stdout) == 0 ? PG_EXIT_OK : PG_EXIT_RUNTIME;
	} else {
		fprintf(stderr, "provisiond: webhook --review: %s", rep.body);
		rc = PG_EXIT_RUNTIME;
	}
	pv_admission_reply_free(&rep);
	return rc;
}

int pv_webhook_main(int argc, char **argv, char **envp)
{
	struct pv_settings s;
	bool review = pg_args_take(&argc, argv, "--review");
	int r;

	r = pv_settings_load(&s, argc, argv, envp, stderr);
	if (r == PV_SETTINGS_EXIT)
		return PG_EXIT_OK;
	if (r < 0)
		return PG_EXIT_CONFIG;
	pg_log_set_level(s.log_level);
	if (sodium_init() < 0) {
		pg_err("libsodium: cannot initialise");
		return PG_EXIT_RUNTIME;
	}
	if (review)
		return review_stdin(&s);
	if (check_tls_settings(&s) < 0)
		return PG_EXIT_CONFIG;
	return serve(&s);
}
