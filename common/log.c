/* SPDX-License-Identifier: MIT */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MSG_MAX	     1024
#define LOG_LINE_MAX (3 * MSG_MAX) /* room for escaping and fields */

static const char *prog_name = "podgw";
static enum pg_log_level max_level = PG_LOG_INFO;
static enum pg_log_format log_format = PG_LOG_LOGFMT;

static const char *const format_names[] = {
    [PG_LOG_LOGFMT] = "logfmt",
    [PG_LOG_JSON] = "json",
};

static const char *const level_names[] = {
    [PG_LOG_ERR] = "error",
    [PG_LOG_WARN] = "warning",
    [PG_LOG_INFO] = "info",
    [PG_LOG_DEBUG] = "debug",
};

void pg_log_init(const char *prog)
{
	const char *slash = strrchr(prog, '/');

	prog_name = slash ? slash + 1 : prog;
}

void pg_log_set_level(enum pg_log_level level)
{
	max_level = level;
}

int pg_log_level_parse(const char *text, enum pg_log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(text, level_names[i]) == 0) {
			*out = (enum pg_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void pg_log_set_format(enum pg_log_format format)
{
	log_format = format;
}

int pg_log_format_parse(const char *text, enum pg_log_format *out)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (strcmp(text, format_names[i]) == 0) {
			*out = (enum pg_log_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *pg_log_format_name(enum pg_log_format format)
{
	return (unsigned)format < sizeof(format_names) / sizeof(format_names[0])
		   ? format_names[format]
		   : "?";
}

/* Appends to out[*n..size) without overflowing; the line is cut short
 * when it would. */
static void put(char *out, size_t size, size_t *n, const char *s, size_t len)
{
	if (*n >= size)
		return;
	if (len > size - 1 - *n)
		len = size - 1 - *n;
	memcpy(out + *n, s, len);
	*n += len;
	out[*n] = '\0';
}

static void put_str(char *out, size_t size, size_t *n, const char *s)
{
	put(out, size, n, s, strlen(s));
}

/* A value, quoted and escaped when logfmt or JSON needs it; control
 * characters become \u00XX in JSON and '?' in logfmt. */
static void put_value(char *out, size_t size, size_t *n, const char *v, bool json)
{
	bool quote = json || !*v;

	for (const char *c = v; !quote && *c; c++)
		quote =
		    *c == ' ' || *c == '=' || *c == '"' || *c == '\\' || (unsigned char)*c < 0x20;
	if (quote)
		put(out, size, n, "\"", 1);
	for (const char *c = v; *c; c++) {
		char esc[8];

		if (*c == '"' || *c == '\\') {
			esc[0] = '\\';
			esc[1] = *c;
			put(out, size, n, esc, 2);
		} else if (*c == '\n') {
			put(out, size, n, "\\n", 2);
		} else if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			if (json) {
				snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)*c);
				put_str(out, size, n, esc);
			} else {
				put(out, size, n, "?", 1);
			}
		} else {
			put(out, size, n, c, 1);
		}
	}
	if (quote)
		put(out, size, n, "\"", 1);
}

static void put_pair(char *out, size_t size, size_t *n, const char *key, const char *value,
		     bool json)
{
	if (json) {
		put_str(out, size, n, *n > 1 ? ",\"" : "\"");
		put_str(out, size, n, key);
		put_str(out, size, n, "\":");
	} else {
		put_str(out, size, n, *n ? " " : "");
		put_str(out, size, n, key);
		put_str(out, size, n, "=");
	}
	put_value(out, size, n, value, json);
}

size_t pg_log_format_line(char *out, size_t size, enum pg_log_format format,
			  enum pg_log_level level, const char *ts, const char *msg,
			  const char *const *fields)
{
	bool json = format == PG_LOG_JSON;
	size_t n = 0;

	if (!size)
		return 0;
	out[0] = '\0';
	if (json)
		put_str(out, size, &n, "{");
	put_pair(out, size, &n, "ts", ts, json);
	put_pair(out, size, &n, "level", level_names[level], json);
	put_pair(out, size, &n, "prog", prog_name, json);
	put_pair(out, size, &n, "msg", msg, json);
	for (size_t i = 0; fields && fields[i] && fields[i + 1]; i += 2)
		put_pair(out, size, &n, fields[i], fields[i + 1], json);
	if (json) {
		/* a line cut short still closes its object */
		if (n + 2 >= size)
			n = size > 2 ? size - 2 : 0;
		out[n++] = '}';
		out[n] = '\0';
	}
	return n;
}

static void vlog(enum pg_log_level level, const char *const *fields, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void vlog(enum pg_log_level level, const char *const *fields, const char *fmt, va_list ap)
{
	char msg[MSG_MAX], line[LOG_LINE_MAX], ts[32];
	struct timespec now;
	struct tm tm;
	size_t n;

	if (level > max_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Built whole first so concurrent writers never interleave halves. */
	n = pg_log_format_line(line, sizeof(line) - 1, log_format, level, ts, msg, fields);
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}

void pg_log(enum pg_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, NULL, fmt, ap);
	va_end(ap);
}

void pg_log_fields(enum pg_log_level level, const char *const *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fields, fmt, ap);
	va_end(ap);
}

void pg_log_limited(struct pg_ratelimit *rl, enum pg_log_level level, const char *fmt, ...)
{
	struct timespec ts;
	char line[768];
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if ((uint64_t)ts.tv_sec >= rl->window_start + rl->interval_s) {
		rl->window_start = (uint64_t)ts.tv_sec;
		rl->printed = 0;
	}
	if (rl->printed >= rl->burst) {
		rl->suppressed++;
		return;
	}
	rl->printed++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (rl->suppressed) {
		pg_log(level, "%s (%u similar messages suppressed)", line, rl->suppressed);
		rl->suppressed = 0;
	} else {
		pg_log(level, "%s", line);
	}
}
