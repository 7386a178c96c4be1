/* SPDX-License-Identifier: MIT */
#include "common/settings-file.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/settings.h"

/* What expansions may add to a file's values, all lines together: as much
 * as a settings file may hold. Without it, each "A=$A$A" line doubles A. */
#define EXPAND_MAX (1u << 20)

struct reader {
	char **envp;
	const struct pg_settings_file_ops *ops;
	void *ctx;
	/* variables the file defined, for ${NAME} expansion */
	char **vars;
	size_t n_vars;
	size_t expanded; /* bytes added by expansions so far */
};

struct strbuf {
	char *s;
	size_t len, cap;
};

static int sb_put(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p)
			return -ENOMEM;
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static const char *var_get(struct reader *rd, const char *name)
{
	size_t n = strlen(name);

	/* Later definitions win, as in the shell. */
	for (size_t i = rd->n_vars; i-- > 0;)
		if (strncmp(rd->vars[i], name, n) == 0 && rd->vars[i][n] == '=')
			return rd->vars[i] + n + 1;
	return pg_settings_env_get(rd->envp, name);
}

static int var_set(struct reader *rd, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char **vars = realloc(rd->vars, (rd->n_vars + 1) * sizeof(*vars));
	char *v;

	if (!vars)
		return -ENOMEM;
	rd->vars = vars;
	v = malloc(len);
	if (!v)
		return -ENOMEM;
	snprintf(v, len, "%s=%s", name, value);
	rd->vars[rd->n_vars++] = v;
	return 0;
}

static bool name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Expands $NAME or ${NAME} at *p (which points at '$'). */
static int expand(struct reader *rd, const char **p, const char *end, struct strbuf *out,
		  const char **why)
{
	const char *c = *p + 1;
	char name[128];
	size_t n = 0;
	bool braced = c < end && *c == '{';
	const char *value;

	if (braced)
		c++;
	if (c >= end || !name_start(*c)) {
		*why = c < end && *c == '(' ? "command substitution is not supported"
					    : "only $NAME and ${NAME} expansions are supported";
		return -EINVAL;
	}
	while (c < end && name_char(*c) && n + 1 < sizeof(name))
		name[n++] = *c++;
	name[n] = '\0';
	if (braced) {
		if (c >= end || *c != '}') {
			*why = "only $NAME and ${NAME} expansions are supported";
			return -EINVAL;
		}
		c++;
	}
	value = var_get(rd, name);
	*p = c;
	if (!value)
		return 0;
	n = strlen(value);
	if (n > EXPAND_MAX - rd->expanded) {
		*why = "expansions add up to more than 1 MiB";
		return -EINVAL;
	}
	rd->expanded += n;
	return sb_put(out, value, n);
}

static const char *skip_blanks(const char *c, const char *end)
{
	while (c < end && (*c == ' ' || *c == '\t'))
		c++;
	return c;
}

/* "[export ]KEY=" at *p; *p moves past the '='. */
static int parse_key(const char **p, const char *end, char *key, size_t key_size, const char **why)
{
	const char *c = *p;
	size_t n = 0;

	if (end - c > 7 && strncmp(c, "export", 6) == 0 && (c[6] == ' ' || c[6] == '\t'))
		c = skip_blanks(c + 6, end);
	if (c == end || !name_start(*c)) {
		*why = "expected KEY=VALUE";
		return -EINVAL;
	}
	while (c < end && name_char(*c)) {
		if (n + 1 >= key_size) {
			*why = "name too long";
			return -EINVAL;
		}
		key[n++] = *c++;
	}
	key[n] = '\0';
	if (c == end || *c != '=') {
		*why = "expected KEY=VALUE";
		return -EINVAL;
	}
	*p = c + 1;
	return 0;
}

/* '...' at *p, taken as it is. */
static int single_quoted(const char **p, const char *end, struct strbuf *val, const char **why)
{
	const char *c = *p, *q = memchr(c + 1, '\'', (size_t)(end - c - 1));

	if (!q) {
		*why = "unterminated single quote";
		return -EINVAL;
	}
	*p = q + 1;
	return sb_put(val, c + 1, (size_t)(q - c - 1));
}

/* "..." at *p: $NAME expansions, and \ before " \ $ ` escapes it. */
static int double_quoted(struct reader *rd, const char **p, const char *end, struct strbuf *val,
			 const char **why)
{
	const char *c = *p + 1;
	int r = 0;

	while (c < end && *c != '"' && r == 0) {
		if (*c == '$') {
			r = expand(rd, &c, end, val, why);
		} else if (*c == '`') {
			*why = "command substitution is not supported";
			return -EINVAL;
		} else if (*c == '\\' && c + 1 < end && strchr("\"\\$`", c[1])) {
			r = sb_put(val, c + 1, 1);
			c += 2;
		} else {
			r = sb_put(val, c++, 1);
		}
	}
	if (r == 0 && c == end) {
		*why = "unterminated double quote";
		return -EINVAL;
	}
	*p = c + 1;
	return r;
}

/* The value at *p: one shell word, up to a blank. */
static int parse_value(struct reader *rd, const char **p, const char *end, struct strbuf *val,
		       const char **why)
{
	const char *c = *p;

	if (sb_put(val, "", 0) < 0)
		return -ENOMEM;
	while (c < end && *c != ' ' && *c != '\t') {
		int r;

		if (*c == '\'') {
			r = single_quoted(&c, end, val, why);
		} else if (*c == '"') {
			r = double_quoted(rd, &c, end, val, why);
		} else if (*c == '$') {
			r = expand(rd, &c, end, val, why);
		} else if (strchr("`;&|<>()\\", *c)) {
			*why = "shell syntax beyond KEY=VALUE is not supported";
			return -EINVAL;
		} else {
			r = sb_put(val, c++, 1);
		}
		if (r < 0)
			return r;
	}
	*p = c;
	return 0;
}

/* Parses one line; returns 0 with *key empty for blank/comment lines. */
static int parse_line(struct reader *rd, const char *line, const char *end, char *key,
		      size_t key_size, struct strbuf *val, const char **why)
{
	const char *c = skip_blanks(line, end);
	int r;

	key[0] = '\0';
	if (c == end || *c == '#')
		return 0;
	r = parse_key(&c, end, key, key_size, why);
	if (r == 0)
		r = parse_value(rd, &c, end, val, why);
	if (r < 0)
		return r;
	c = skip_blanks(c, end);
	if (c < end && *c != '#') {
		*why = "unexpected text after the value (quote values with spaces)";
		return -EINVAL;
	}
	return 0;
}

/* A line not understood, shown (its first 80 bytes) with why. */
static void bad_line(struct reader *rd, const char *source, const char *line, size_t len,
		     const char *why)
{
	char shown[256], raw[81];
	size_t n = len < 80 ? len : 80;

	memcpy(raw, line, n);
	raw[n] = '\0';
	pg_settings_printable(shown, sizeof(shown), raw);
	rd->ops->error(rd->ctx, "%s: '%s': %s", source, shown, why);
}

static int read_text(struct reader *rd, const char *name, const char *text, size_t size)
{
	const char *line = text, *stop = text + size;
	unsigned lineno = 0;
	struct strbuf val = {0};
	int r = 0;

	while (line < stop && r >= 0) {
		size_t rest = (size_t)(stop - line);
		const char *nl = memchr(line, '\n', rest);
		size_t len = nl ? (size_t)(nl - line) : rest;
		const char *next = nl ? nl + 1 : stop, *end;
		char key[128], source[PATH_MAX + 32];
		const char *why = NULL;

		lineno++;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		end = line + len;
		val.len = 0;
		snprintf(source, sizeof(source), "%s:%u", name, lineno);
		if (memchr(line, '\0', len)) {
			rd->ops->error(rd->ctx, "%s: NUL byte in settings file", source);
		} else if ((r = parse_line(rd, line, end, key, sizeof(key), &val, &why)) ==
			   -EINVAL) {
			bad_line(rd, source, line, len, why);
			r = 0;
		} else if (r == 0 && key[0]) {
			r = var_set(rd, key, val.s);
			if (r == 0)
				r = rd->ops->assign(rd->ctx, source, key, val.s);
		}
		line = next;
	}
	free(val.s);
	return r;
}

int pg_settings_file_read(const char *name, const char *text, size_t len, char **envp,
			  const struct pg_settings_file_ops *ops, void *ctx)
{
	struct reader rd = {.envp = envp, .ops = ops, .ctx = ctx};
	int r = read_text(&rd, name, text, len);

	for (size_t i = 0; i < rd.n_vars; i++)
		free(rd.vars[i]);
	free(rd.vars);
	return r;
}
