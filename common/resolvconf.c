/* SPDX-License-Identifier: MIT */
#include "common/resolvconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX_BYTES (64u << 10)
#define LINE_MAX_BYTES 1024

/* The next blank-separated word of [*p, end) into word; false at the end. */
static bool next_word(const char **p, const char *end, char *word, size_t size)
{
	const char *c = *p, *start;
	size_t n;

	while (c < end && (*c == ' ' || *c == '\t' || *c == '\r'))
		c++;
	start = c;
	while (c < end && *c != ' ' && *c != '\t' && *c != '\r')
		c++;
	*p = c;
	n = (size_t)(c - start);
	if (n == 0 || n >= size)
		return false;
	memcpy(word, start, n);
	word[n] = '\0';
	return true;
}

static void add_server(struct pg_resolv_conf *out, const char *word)
{
	struct pg_prefix p;

	if (pg_addr_parse(word, &p) < 0)
		return;
	if (out->n_nameservers < PG_RESOLV_SERVERS_MAX)
		out->nameservers[out->n_nameservers++] = p;
	if (p.family == AF_INET && out->n_servers < PG_RESOLV_SERVERS_MAX)
		out->servers[out->n_servers++] = pg_prefix_v4(&p);
}

/* "search" and "domain" replace the list; the last such line wins. */
static void set_search(struct pg_resolv_conf *out, const char **p, const char *end)
{
	char word[PG_DNS_NAME_MAX + 2];

	out->n_search = 0;
	while (out->n_search < PG_RESOLV_SEARCH_MAX && next_word(p, end, word, sizeof(word))) {
		size_t n = strlen(word);
		char *dst = out->search[out->n_search];

		if (n > 1 && word[n - 1] == '.')
			word[--n] = '\0';
		if (n > PG_DNS_NAME_MAX || strcmp(word, ".") == 0)
			continue;
		for (size_t i = 0; i <= n; i++)
			dst[i] = (char)tolower((unsigned char)word[i]);
		out->n_search++;
	}
}

static void set_options(struct pg_resolv_conf *out, const char **p, const char *end)
{
	char word[64];

	while (next_word(p, end, word, sizeof(word))) {
		char *stop;
		unsigned long v;

		if (strncmp(word, "ndots:", 6) != 0)
			continue;
		v = strtoul(word + 6, &stop, 10);
		if (stop != word + 6 && *stop == '\0')
			out->ndots = v > PG_RESOLV_NDOTS_MAX ? PG_RESOLV_NDOTS_MAX : (unsigned)v;
	}
}

static void parse_line(struct pg_resolv_conf *out, const char *p, const char *end)
{
	char key[16], word[INET6_ADDRSTRLEN];

	if (!next_word(&p, end, key, sizeof(key)))
		return;
	if (strcmp(key, "nameserver") == 0 && next_word(&p, end, word, sizeof(word)))
		add_server(out, word);
	else if (strcmp(key, "search") == 0 || strcmp(key, "domain") == 0)
		set_search(out, &p, end);
	else if (strcmp(key, "options") == 0)
		set_options(out, &p, end);
}

void pg_resolv_conf_parse(const char *text, size_t len, struct pg_resolv_conf *out)
{
	const char *line = text, *stop = text + len;

	memset(out, 0, sizeof(*out));
	out->ndots = 1;
	while (line < stop) {
		const char *nl = memchr(line, '\n', (size_t)(stop - line));
		const char *end = nl ? nl : stop;
		const char *comment = line;

		while (comment < end && *comment != '#' && *comment != ';')
			comment++;
		if (comment - line <= LINE_MAX_BYTES)
			parse_line(out, line, comment);
		line = nl ? nl + 1 : stop;
	}
}

int pg_resolv_conf_read(const char *path, struct pg_resolv_conf *out)
{
	FILE *f = fopen(path, "re");
	char *text;
	size_t len;
	int r = 0;

	if (!f)
		return -errno;
	text = malloc(FILE_MAX_BYTES);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(text, 1, FILE_MAX_BYTES, f);
	if (ferror(f))
		r = -EIO;
	else
		pg_resolv_conf_parse(text, len, out);
	free(text);
	fclose(f);
	return r;
}
