/* SPDX-License-Identifier: MIT */
#include "gatewayd/natconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/daemon.h"

#define NAME_MAX_LEN	  253 /* a pod name (PG_CLIENT_NAME_MAX) */
#define NAMESPACE_MAX_LEN 63
#define FIRST_LEASABLE	  2 /* 0 is the network, 1 the gateway */
#define REMAP		  "->"

struct pg_natconf {
	struct pg_reservation *resv;
	size_t nresv, resv_alloc;
	struct pg_forward *fwd;
	size_t nfwd, fwd_alloc;
	/* Every name read, also from lines merged away: reservations and
	 * forwards point into it. */
	char **names;
	size_t nnames, names_alloc;
};

struct token {
	const char *s;
	size_t len;
};

struct parser {
	struct pg_natconf *c;
	uint32_t base; /* the overlay's network address, host order */
	uint32_t size; /* addresses in the overlay */
	struct pg_natconf_error *err;
};

/* ---- small helpers ---- */

/* Grows *items (n used of *alloc) so that one more fits. */
static int grow(void **items, size_t *alloc, size_t n, size_t item_size)
{
	size_t want = *alloc ? 2 * *alloc : 16;
	void *grown;

	if (n < *alloc)
		return 0;
	grown = realloc(*items, want * item_size);
	if (!grown)
		return -ENOMEM;
	*items = grown;
	*alloc = want;
	return 0;
}

static int refuse(struct pg_natconf_error *e, const char *field, const char *s, size_t len,
		  const char *why)
{
	size_t n = len < sizeof(e->value) - 1 ? len : sizeof(e->value) - 1;

	/* the value comes from a file others write: printable only */
	for (size_t i = 0; i < n; i++)
		e->value[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	e->value[n] = '\0';
	e->field = field;
	e->why = why;
	return -EINVAL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next run of characters that are neither blanks nor in seps. */
static bool next_token(const char **pos, const char *end, const char *seps, struct token *t)
{
	const char *c = *pos;

	while (c < end && (is_blank(*c) || strchr(seps, *c)))
		c++;
	if (c == end)
		return false;
	t->s = c;
	while (c < end && !is_blank(*c) && !strchr(seps, *c))
		c++;
	t->len = (size_t)(c - t->s);
	*pos = c;
	return true;
}

static bool token_is(const struct token *t, const char *word)
{
	return t->len == strlen(word) && memcmp(t->s, word, t->len) == 0;
}

/* A decimal number up to max from a token that is not NUL-terminated. */
static int parse_number(const struct token *t, unsigned long max, unsigned long *out)
{
	char buf[sizeof("4294967295")];
	unsigned long v;
	char *end;

	if (t->len == 0 || t->len >= sizeof(buf))
		return -EINVAL;
	for (size_t i = 0; i < t->len; i++)
		if (t->s[i] < '0' || t->s[i] > '9')
			return -EINVAL;
	memcpy(buf, t->s, t->len);
	buf[t->len] = '\0';
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "name" (pod-gateway's) or "namespace/name": a namespace is a DNS label. */
static bool valid_name(const struct token *t)
{
	const char *slash = memchr(t->s, '/', t->len);
	size_t from = 0;

	if (slash) {
		from = (size_t)(slash - t->s) + 1;
		if (from < 2 || from - 1 > NAMESPACE_MAX_LEN)
			return false;
		for (size_t i = 0; i + 1 < from; i++) {
			char c = t->s[i];

			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
				return false;
		}
	}
	for (size_t i = from; i < t->len; i++) {
		char c = t->s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return t->len > from && t->len - from <= NAME_MAX_LEN;
}

/* ---- one line ---- */

static int add_name(struct parser *ps, const struct token *t, const char **name)
{
	struct pg_natconf *c = ps->c;
	char *copy;

	if (grow((void **)&c->names, &c->names_alloc, c->nnames, sizeof(*c->names)) < 0)
		return -ENOMEM;
	copy = strndup(t->s, t->len);
	if (!copy)
		return -ENOMEM;
	c->names[c->nnames++] = copy;
	*name = copy;
	return 0;
}

static int parse_reservation(struct parser *ps, const char **pos, const char *end, unsigned line,
			     struct pg_reservation **out)
{
	struct pg_natconf *c = ps->c;
	struct pg_reservation *r;
	struct token name, index;
	const char *slash;
	unsigned long n;

	next_token(pos, end, "", &name); /* the caller saw there is one */
	slash = memchr(name.s, '/', name.len);
	if (name.len - (slash ? (size_t)(slash - name.s) + 1 : 0) > NAME_MAX_LEN)
		return refuse(ps->err, "name", name.s, name.len, "longer than 253 characters");
	if (!valid_name(&name))
		return refuse(ps->err, "name", name.s, name.len,
			      "may only hold letters, digits, '.', '_' and '-', after an optional "
			      "namespace and '/'");
	if (!next_token(pos, end, "", &index))
		return refuse(ps->err, "index", "", 0,
			      "missing (the last part of the address, e.g. \"transmission 10 "
			      "tcp:51413\")");
	if (parse_number(&index, UINT32_MAX, &n) < 0)
		return refuse(ps->err, "index", index.s, index.len,
			      "not a number (the last part of the address, e.g. 10)");
	if (n < FIRST_LEASABLE || n >= ps->size - 1)
		return refuse(ps->err, "index", index.s, index.len,
			      "outside the pool, or the network, gateway or broadcast address");
	if (grow((void **)&c->resv, &c->resv_alloc, c->nresv, sizeof(*c->resv)) < 0)
		return -ENOMEM;
	r = &c->resv[c->nresv];
	if (add_name(ps, &name, &r->name) < 0)
		return -ENOMEM;
	r->index = (uint32_t)n;
	r->addr.s_addr = htonl(ps->base + (uint32_t)n);
	r->line = line;
	c->nresv++;
	*out = r;
	return 0;
}

static int parse_port(const struct token *t, uint16_t *port)
{
	unsigned long n;

	if (parse_number(t, UINT16_MAX, &n) < 0 || n == 0)
		return -EINVAL;
	*port = (uint16_t)n;
	return 0;
}

/* "tcp:PORT", "udp:PORT" or either with "->PORT" (the port at the client). */
static int parse_forward(struct parser *ps, const struct token *t, const struct pg_reservation *r)
{
	static const char *const bad_port = "a port must be a number from 1 to 65535";
	const char *colon = memchr(t->s, ':', t->len), *end = t->s + t->len, *arrow;
	struct pg_natconf *c = ps->c;
	struct token proto, port, to;
	struct pg_forward *f;

	if (!colon)
		return refuse(ps->err, "port", t->s, t->len,
			      "must look like tcp:PORT, udp:PORT or tcp:PORT->PORT");
	proto = (struct token){t->s, (size_t)(colon - t->s)};
	port = (struct token){colon + 1, (size_t)(end - colon - 1)};
	arrow = memmem(port.s, port.len, REMAP, strlen(REMAP));
	to = port;
	if (arrow) {
		port.len = (size_t)(arrow - port.s);
		to = (struct token){arrow + strlen(REMAP), (size_t)(end - arrow - strlen(REMAP))};
	}
	if (!token_is(&proto, "tcp") && !token_is(&proto, "udp"))
		return refuse(ps->err, "port", t->s, t->len, "the protocol must be tcp or udp");
	if (grow((void **)&c->fwd, &c->fwd_alloc, c->nfwd, sizeof(*c->fwd)) < 0)
		return -ENOMEM;
	f = &c->fwd[c->nfwd];
	if (parse_port(&port, &f->port) < 0 || parse_port(&to, &f->to_port) < 0)
		return refuse(ps->err, "port", t->s, t->len, bad_port);
	f->proto = token_is(&proto, "tcp") ? IPPROTO_TCP : IPPROTO_UDP;
	f->addr = r->addr;
	f->name = r->name;
	f->line = r->line;
	c->nfwd++;
	return 0;
}

static int parse_line(struct parser *ps, const char *pos, const char *end, unsigned line)
{
	const char *hash = memchr(pos, '#', (size_t)(end - pos));
	struct pg_reservation *r;
	struct token t;
	int e;

	if (memchr(pos, '\0', (size_t)(end - pos)))
		return refuse(ps->err, NULL, "", 0, "NUL byte in line");
	if (hash)
		end = hash;
	if (!next_token(&(const char *){pos}, end, "", &t))
		return 0; /* blank or comment */
	if ((e = parse_reservation(ps, &pos, end, line, &r)) < 0)
		return e;
	/* pod-gateway separates ports with commas; blanks work too */
	while (next_token(&pos, end, ",", &t))
		if ((e = parse_forward(ps, &t, r)) < 0)
			return e;
	return 0;
}

/* ---- checks across lines ---- */

static int by_name_line(const void *a, const void *b)
{
	const struct pg_reservation *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	return d ? d : (x->line > y->line) - (x->line < y->line);
}

static int by_index_line(const void *a, const void *b)
{
	const struct pg_reservation *x = *(const struct pg_reservation *const *)a;
	const struct pg_reservation *y = *(const struct pg_reservation *const *)b;

	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

static int by_port(const struct pg_forward *x, const struct pg_forward *y)
{
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return (x->port > y->port) - (x->port < y->port);
}

static int by_port_line(const void *a, const void *b)
{
	const struct pg_forward *x = a, *y = b;
	int d = by_port(x, y);

	return d ? d : (x->line > y->line) - (x->line < y->line);
}

/* Keeps the earliest of the problems found. */
static void note(struct pg_natconf_error *e, unsigned line, const char *field, const char *value,
		 const char *why)
{
	if (e->line && e->line <= line)
		return;
	refuse(e, field, value, strlen(value), why);
	e->line = line;
}

/* A name on several lines with one index is one reservation (pod-gateway
 * forwards each line's ports); with two indexes it is a mistake. */
static void merge_names(struct pg_natconf *c, struct pg_natconf_error *e)
{
	size_t kept = 0;

	/* qsort's array must not be NULL, not even with no element (C11
	 * 7.22.5), and a file without reservations has none. */
	if (c->nresv)
		qsort(c->resv, c->nresv, sizeof(*c->resv), by_name_line);
	for (size_t i = 0; i < c->nresv; i++) {
		const struct pg_reservation *prev = kept ? &c->resv[kept - 1] : NULL;

		if (prev && strcmp(prev->name, c->resv[i].name) == 0) {
			if (prev->index != c->resv[i].index)
				note(e, c->resv[i].line, "name", c->resv[i].name,
				     "already reserved with another index");
			continue;
		}
		c->resv[kept++] = c->resv[i];
	}
	c->nresv = kept;
}

static int check_indexes(const struct pg_natconf *c, struct pg_natconf_error *e)
{
	const struct pg_reservation **order = calloc(c->nresv ? c->nresv : 1, sizeof(*order));
	char index[sizeof("4294967295")];

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < c->nresv; i++)
		order[i] = &c->resv[i];
	qsort(order, c->nresv, sizeof(*order), by_index_line);
	for (size_t i = 1; i < c->nresv; i++) {
		if (order[i]->index != order[i - 1]->index)
			continue;
		snprintf(index, sizeof(index), "%u", order[i]->index);
		note(e, order[i]->line, "index", index, "already reserved for another name");
	}
	free(order);
	return 0;
}

static void check_ports(struct pg_natconf *c, struct pg_natconf_error *e)
{
	char port[sizeof("tcp:65535")];

	if (c->nfwd) /* as in merge_names */
		qsort(c->fwd, c->nfwd, sizeof(*c->fwd), by_port_line);
	for (size_t i = 1; i < c->nfwd; i++) {
		const struct pg_forward *f = &c->fwd[i];

		if (by_port(f, &c->fwd[i - 1]) != 0)
			continue;
		snprintf(port, sizeof(port), "%s:%u", f->proto == IPPROTO_TCP ? "tcp" : "udp",
			 f->port);
		note(e, f->line, "port", port, "already forwarded (each outside port once)");
	}
}

/* ---- the file ---- */

int pg_natconf_parse(const struct pg_prefix *overlay, const char *text, size_t len,
		     struct pg_natconf **out, struct pg_natconf_error *err)
{
	struct parser ps = {.err = err};
	const char *pos = text, *end = len ? text + len : text;
	unsigned line = 0;
	uint32_t base;
	int r = 0;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	if (overlay->family != AF_INET || overlay->len < 1 || overlay->len > 30)
		return -EINVAL;
	memcpy(&base, overlay->bytes, sizeof(base));
	ps.base = ntohl(base);
	ps.size = UINT32_C(1) << (32 - overlay->len);
	ps.c = calloc(1, sizeof(*ps.c));
	if (!ps.c)
		return -ENOMEM;
	while (pos < end && r == 0) {
		const char *eol = memchr(pos, '\n', (size_t)(end - pos));

		if (!eol)
			eol = end;
		r = parse_line(&ps, pos, eol, ++line);
		pos = eol < end ? eol + 1 : end;
	}
	if (r == -EINVAL)
		err->line = line;
	if (r == 0) {
		merge_names(ps.c, err);
		r = check_indexes(ps.c, err);
		check_ports(ps.c, err);
		if (r == 0 && err->line)
			r = -EINVAL;
	}
	if (r < 0) {
		if (r == -ENOMEM)
			memset(err, 0, sizeof(*err));
		pg_natconf_free(ps.c);
		return r;
	}
	*out = ps.c;
	return 0;
}

static int read_small_file(const char *path, size_t max, char **out, size_t *len)
{
	char *buf = NULL;
	size_t got = 0;
	struct stat st;
	int fd, r = 0;

	fd = pg_open_regular(path, &st);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	r = pg_read_full(fd, buf, (size_t)st.st_size, &got);
	if (r < 0)
		goto out;
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

int pg_natconf_load(const struct pg_prefix *overlay, const char *path, struct pg_natconf **out,
		    struct pg_natconf_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	r = read_small_file(path, PG_NATCONF_MAX_BYTES, &text, &len);
	if (r < 0) {
		err->why = r == -EFBIG	  ? "larger than 1 MiB"
			   : r == -EINVAL ? "not a regular file"
					  : strerror(-r);
		return r;
	}
	r = pg_natconf_parse(overlay, text, len, out, err);
	free(text);
	return r;
}

void pg_natconf_free(struct pg_natconf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nnames; i++)
		free(c->names[i]);
	free(c->names);
	free(c->resv);
	free(c->fwd);
	free(c);
}

/* ---- reading it ---- */

size_t pg_natconf_reservations(const struct pg_natconf *c, const struct pg_reservation **out)
{
	if (out)
		*out = c ? c->resv : NULL;
	return c ? c->nresv : 0;
}

size_t pg_natconf_forwards(const struct pg_natconf *c, const struct pg_forward **out)
{
	if (out)
		*out = c ? c->fwd : NULL;
	return c ? c->nfwd : 0;
}

static int cmp_name(const void *key, const void *item)
{
	return strcmp(key, ((const struct pg_reservation *)item)->name);
}

const struct pg_reservation *pg_natconf_find(const struct pg_natconf *c, const char *name)
{
	if (!c || !c->nresv)
		return NULL;
	return bsearch(name, c->resv, c->nresv, sizeof(*c->resv), cmp_name);
}

static int cmp_port(const void *key, const void *item)
{
	return by_port(key, item);
}

const struct pg_forward *pg_natconf_find_forward(const struct pg_natconf *c, uint8_t proto,
						 uint16_t port)
{
	struct pg_forward key = {.proto = proto, .port = port};

	if (!c || !c->nfwd)
		return NULL;
	return bsearch(&key, c->fwd, c->nfwd, sizeof(*c->fwd), cmp_port);
}

bool pg_natconf_equal(const struct pg_natconf *a, const struct pg_natconf *b)
{
	const struct pg_reservation *ra, *rb;
	const struct pg_forward *fa, *fb;
	size_t n = pg_natconf_reservations(a, &ra);

	if (n != pg_natconf_reservations(b, &rb))
		return false;
	for (size_t i = 0; i < n; i++)
		if (ra[i].index != rb[i].index || strcmp(ra[i].name, rb[i].name) != 0)
			return false;
	n = pg_natconf_forwards(a, &fa);
	if (n != pg_natconf_forwards(b, &fb))
		return false;
	for (size_t i = 0; i < n; i++)
		if (by_port(&fa[i], &fb[i]) != 0 || fa[i].to_port != fb[i].to_port ||
		    fa[i].addr.s_addr != fb[i].addr.s_addr)
			return false;
	return true;
}
