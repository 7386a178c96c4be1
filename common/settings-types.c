/* SPDX-License-Identifier: MIT */
/* The value types settings are parsed with; each refuses what it cannot
 * store with a short reason, which the engine reports with the setting. */
#include "common/settings-types.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/addr.h"
#include "common/log.h"

static int number_in_range(const struct pg_setting *s, const char *text, unsigned long *out,
			   const char **why)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)text[0])) {
		*why = "not a number";
		return -EINVAL;
	}
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end) {
		*why = *end ? "not a number" : "out of range";
		return -EINVAL;
	}
	if (v < s->min || v > s->max) {
		static char buf[64];

		snprintf(buf, sizeof(buf), "must be between %lu and %lu", s->min, s->max);
		*why = buf;
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_number(const struct pg_setting *s, const char *text, void *field, const char **why)
{
	unsigned long v;

	if (number_in_range(s, text, &v, why) < 0)
		return -EINVAL;
	*(uint32_t *)field = (uint32_t)v;
	return 0;
}

/* A port: the table's max is at most 65535. */
static int parse_port(const struct pg_setting *s, const char *text, void *field, const char **why)
{
	unsigned long v;

	if (number_in_range(s, text, &v, why) < 0)
		return -EINVAL;
	*(uint16_t *)field = (uint16_t)v;
	return 0;
}

/* An optional number: empty means unset (0). */
static int parse_opt_number(const struct pg_setting *s, const char *text, void *field,
			    const char **why)
{
	if (!*text) {
		*(uint32_t *)field = 0;
		return 0;
	}
	return parse_number(s, text, field, why);
}

/* pod-gateway writes the overlay as "172.16.0" meaning a /24. */
static int parse_network(const struct pg_setting *s, const char *text, void *field,
			 const char **why)
{
	struct pg_prefix *p = field;
	char buf[PG_PREFIX_STRLEN];
	int dots = 0;

	for (const char *c = text; *c; c++)
		dots += *c == '.';
	if (dots == 2 && !strchr(text, '/')) {
		int n = snprintf(buf, sizeof(buf), "%s.0/24", text);

		if (n < 0 || (size_t)n >= sizeof(buf)) {
			*why = "not a CIDR";
			return -EINVAL;
		}
		text = buf;
	}
	if (!strchr(text, '/')) {
		*why = "not a CIDR (e.g. 172.16.0.0/24 or 172.16.0)";
		return -EINVAL;
	}
	if (pg_prefix_parse(text, p, true) < 0 || p->family != AF_INET) {
		*why = "not an IPv4 CIDR";
		return -EINVAL;
	}
	if (p->len < s->min || p->len > s->max) {
		static char range[64];

		snprintf(range, sizeof(range), "prefix length must be between /%lu and /%lu",
			 s->min, s->max);
		*why = range;
		return -EINVAL;
	}
	if (pg_prefix_parse(text, p, false) < 0) {
		*why = "host bits set (did you mean the network address?)";
		return -EINVAL;
	}
	return 0;
}

static int parse_ifname(const struct pg_setting *s, const char *text, void *field, const char **why)
{
	size_t len = strlen(text);

	if (len >= s->size) {
		*why = "interface name longer than 15 characters";
		return -EINVAL;
	}
	if (strcmp(text, ".") == 0 || strcmp(text, "..") == 0) {
		*why = "not an interface name";
		return -EINVAL;
	}
	for (const char *c = text; *c; c++) {
		if (*c == '/' || *c == ':' || isspace((unsigned char)*c) ||
		    !isprint((unsigned char)*c)) {
			*why = "interface names cannot contain '/', ':' or spaces";
			return -EINVAL;
		}
	}
	if (s->required && !len) {
		*why = "must not be empty";
		return -EINVAL;
	}
	memcpy(field, text, len + 1);
	return 0;
}

/* A DNS name or an IP literal. */
static int parse_host(const struct pg_setting *s, const char *text, void *field, const char **why)
{
	size_t len = strlen(text);

	if (len > PG_HOSTNAME_MAX) {
		*why = "longer than 253 characters";
		return -EINVAL;
	}
	for (const char *c = text; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != ':' &&
		    *c != '_') {
			*why = "not a host name or IP address";
			return -EINVAL;
		}
	}
	memcpy(field, text, len + 1);
	return 0;
}

static int parse_overlay_addr(const struct pg_setting *s, const char *text, void *field,
			      const char **why)
{
	struct pg_prefix *p = field;

	if (!*text) {
		memset(p, 0, sizeof(*p));
		return 0;
	}
	if (pg_prefix_parse(text, p, true) < 0 || p->family != AF_INET) {
		*why = "not an IPv4 address";
		return -EINVAL;
	}
	/* The prefix length comes from VXLAN_IP_NETWORK; a /len here must agree
	 * and is checked against it once both are known. */
	if (!strchr(text, '/'))
		p->len = 0;
	return 0;
}

/* Blank- or comma-separated, as pod-gateway writes its lists. */
static int parse_list(const struct pg_setting *s, const char *text, void *field, const char **why,
		      bool addresses_only)
{
	struct pg_prefix_list *list = field;
	const char *c = text;

	list->n = 0;
	while (*c) {
		char item[PG_PREFIX_STRLEN + 1];
		size_t n = strcspn(c, " \t,");

		if (n == 0) {
			c++;
			continue;
		}
		if (n >= sizeof(item)) {
			*why = "list item too long";
			return -EINVAL;
		}
		if (list->n == PG_MAX_PREFIXES) {
			*why = "more than 64 entries";
			return -EINVAL;
		}
		memcpy(item, c, n);
		item[n] = '\0';
		if (addresses_only ? pg_addr_parse(item, &list->items[list->n])
				   : pg_prefix_parse(item, &list->items[list->n], false)) {
			static char buf[96];

			snprintf(buf, sizeof(buf), "'%s' is not %s", item,
				 addresses_only ? "an IP address" : "a CIDR without host bits");
			*why = buf;
			return -EINVAL;
		}
		list->n++;
		c += n;
	}
	return 0;
}

static int parse_cidr_list(const struct pg_setting *s, const char *text, void *field,
			   const char **why)
{
	return parse_list(s, text, field, why, false);
}

static int parse_ip_list(const struct pg_setting *s, const char *text, void *field,
			 const char **why)
{
	return parse_list(s, text, field, why, true);
}

/* An IPv4 address, or empty for none. */
static int parse_opt_ipv4(const struct pg_setting *s, const char *text, void *field,
			  const char **why)
{
	struct pg_prefix *p = field;

	if (!*text) {
		memset(p, 0, sizeof(*p));
		return 0;
	}
	if (pg_addr_parse(text, p) < 0 || p->family != AF_INET) {
		*why = "not an IPv4 address";
		return -EINVAL;
	}
	return 0;
}

/* An IPv4 or IPv6 address, or empty for none. */
static int parse_opt_ip(const struct pg_setting *s, const char *text, void *field, const char **why)
{
	struct pg_prefix *p = field;

	(void)s;
	if (!*text) {
		memset(p, 0, sizeof(*p));
		return 0;
	}
	if (pg_addr_parse(text, p) < 0) {
		*why = "not an IP address";
		return -EINVAL;
	}
	return 0;
}

/* pod-gateway's scripts test for "true"; anything else there means false,
 * which here is an error rather than a silent off. */
static int parse_bool(const struct pg_setting *s, const char *text, void *field, const char **why)
{
	if (strcmp(text, "true") == 0) {
		*(bool *)field = true;
	} else if (strcmp(text, "false") == 0) {
		*(bool *)field = false;
	} else {
		*why = "must be true or false";
		return -EINVAL;
	}
	return 0;
}

static int parse_path(const struct pg_setting *s, const char *text, void *field, const char **why)
{
	size_t len = strlen(text);

	if (len >= s->size) {
		*why = "path too long";
		return -EINVAL;
	}
	if (len && text[0] != '/') {
		*why = "must be an absolute path";
		return -EINVAL;
	}
	memcpy(field, text, len + 1);
	return 0;
}

static int parse_level(const struct pg_setting *s, const char *text, void *field, const char **why)
{
	if (pg_log_level_parse(text, field) < 0) {
		*why = "must be one of error, warning, info, debug";
		return -EINVAL;
	}
	return 0;
}

static int parse_log_format(const struct pg_setting *s, const char *text, void *field,
			    const char **why)
{
	if (pg_log_format_parse(text, field) < 0) {
		*why = "must be logfmt or json";
		return -EINVAL;
	}
	return 0;
}

/* "ADDRESS:PORT", ":PORT" (an address chosen at start) or "" (off); the
 * address itself is checked when the socket is made. */
static int parse_listen(const struct pg_setting *s, const char *text, void *field, const char **why)
{
	const char *colon = strrchr(text, ':');
	char *end;
	unsigned long port;

	if (strlen(text) >= s->size) {
		*why = "too long for ADDRESS:PORT";
		return -EINVAL;
	}
	if (*text) {
		if (!colon || !isdigit((unsigned char)colon[1])) {
			*why = "expected ADDRESS:PORT, :PORT or empty";
			return -EINVAL;
		}
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (*end || errno || port == 0 || port > 65535) {
			*why = "the port must be between 1 and 65535";
			return -EINVAL;
		}
	}
	memcpy(field, text, strlen(text) + 1);
	return 0;
}

/* Kubernetes object names as the membership protocol carries them: pod
 * names printable without spaces, namespaces DNS labels. Empty: derived
 * at start (hostname, service account namespace). */
static int parse_k8s_name(const struct pg_setting *s, const char *text, void *field,
			  const char **why)
{
	size_t len = strlen(text);
	bool label = s->max == PG_NAMESPACE_MAX;

	if (len > s->max) {
		*why = label ? "longer than 63 characters" : "longer than 253 characters";
		return -EINVAL;
	}
	for (const char *c = text; *c; c++) {
		bool ok =
		    label ? (islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-')
			  : (isgraph((unsigned char)*c) != 0);

		if (!ok) {
			*why = label ? "not a DNS label (a-z, 0-9, '-')"
				     : "not printable without spaces";
			return -EINVAL;
		}
	}
	memcpy(field, text, len + 1);
	return 0;
}

/* A domain (DNS_LOCAL_CIDRS: pod-gateway's name for a list of domains):
 * letters, digits, '-' and '_' in labels of 1 to 63, stored lower case
 * without a final dot. */
static bool domain_ok(const char *d, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > PG_DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (d[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)d[i]) || d[i] == '-' || d[i] == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* Blank- or comma-separated, as the list settings. */
static int parse_domain_list(const struct pg_setting *s, const char *text, void *field,
			     const char **why)
{
	struct pg_domain_list *list = field;

	list->n = 0;
	for (const char *c = text; *c;) {
		size_t n = strcspn(c, " \t,");

		if (n == 0) {
			c++;
			continue;
		}
		if (list->n == PG_MAX_DOMAINS) {
			*why = "more than 16 domains";
			return -EINVAL;
		}
		if (n > 1 && c[n - 1] == '.' && n - 1 <= PG_DNS_NAME_MAX)
			n--; /* "cluster.local." is "cluster.local" */
		if (!domain_ok(c, n)) {
			*why = "not a list of domain names (e.g. \"local\" or \"cluster.local\")";
			return -EINVAL;
		}
		for (size_t i = 0; i < n; i++)
			list->items[list->n][i] = (char)tolower((unsigned char)c[i]);
		list->items[list->n++][n] = '\0';
		c += n;
		c += *c == '.';
	}
	return 0;
}

/* K_SINK: empty (no events) or an http:// or https:// URL with a host.
 * Credentials in the URL are refused: the URL is logged. */
static int parse_url(const struct pg_setting *s, const char *text, void *field, const char **why)
{
	size_t len = strlen(text), skip, host;

	if (!len) {
		*(char *)field = '\0';
		return 0;
	}
	if (len >= s->size) {
		*why = "URL too long";
		return -EINVAL;
	}
	if (strncasecmp(text, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(text, "https://", 8) == 0)
		skip = 8;
	else {
		*why = "not an http:// or https:// URL";
		return -EINVAL;
	}
	for (const char *c = text; *c; c++) {
		if (!isgraph((unsigned char)*c)) {
			*why = "spaces or control characters in the URL";
			return -EINVAL;
		}
	}
	host = strcspn(text + skip, "/?#");
	if (host == 0 || text[skip] == ':') {
		*why = "no host in the URL";
		return -EINVAL;
	}
	if (memchr(text + skip, '@', host)) {
		*why = "credentials in the URL are not supported (it is logged)";
		return -EINVAL;
	}
	memcpy(field, text, len + 1);
	return 0;
}

/* Free text checked elsewhere (K_CE_OVERRIDES is JSON: gatewayd's events
 * module parses it at start). */
static int parse_text(const struct pg_setting *s, const char *text, void *field, const char **why)
{
	size_t len = strlen(text);

	if (len >= s->size) {
		*why = "too long";
		return -EINVAL;
	}
	memcpy(field, text, len + 1);
	return 0;
}

/* ---- back to text, for --check-config ---- */

static void print_number(FILE *out, const struct pg_setting *s, const void *field)
{
	fprintf(out, "%u", *(const uint32_t *)field);
}

static void print_opt_number(FILE *out, const struct pg_setting *s, const void *field)
{
	if (*(const uint32_t *)field)
		print_number(out, s, field);
}

static void print_port(FILE *out, const struct pg_setting *s, const void *field)
{
	fprintf(out, "%u", *(const uint16_t *)field);
}

static void print_prefix(FILE *out, const struct pg_prefix *p, bool with_len)
{
	char buf[PG_PREFIX_STRLEN];

	if (p->family)
		fputs(pg_prefix_fmt(p, buf, with_len), out);
}

static void print_network(FILE *out, const struct pg_setting *s, const void *field)
{
	print_prefix(out, field, true);
}

static void print_address(FILE *out, const struct pg_setting *s, const void *field)
{
	print_prefix(out, field, false);
}

static void print_list(FILE *out, const struct pg_prefix_list *l, bool with_len)
{
	for (unsigned i = 0; i < l->n; i++) {
		fputs(i ? "," : "", out);
		print_prefix(out, &l->items[i], with_len);
	}
}

static void print_cidr_list(FILE *out, const struct pg_setting *s, const void *field)
{
	print_list(out, field, true);
}

static void print_ip_list(FILE *out, const struct pg_setting *s, const void *field)
{
	print_list(out, field, false);
}

static void print_domain_list(FILE *out, const struct pg_setting *s, const void *field)
{
	const struct pg_domain_list *l = field;

	for (unsigned i = 0; i < l->n; i++)
		fprintf(out, "%s%s", i ? "," : "", l->items[i]);
}

static void print_bool(FILE *out, const struct pg_setting *s, const void *field)
{
	fputs(*(const bool *)field ? "true" : "false", out);
}

static void print_level(FILE *out, const struct pg_setting *s, const void *field)
{
	static const char *const levels[] = {"error", "warning", "info", "debug"};
	unsigned l = (unsigned)*(const enum pg_log_level *)field;

	fputs(l < sizeof(levels) / sizeof(levels[0]) ? levels[l] : "?", out);
}

static void print_log_format(FILE *out, const struct pg_setting *s, const void *field)
{
	fputs(pg_log_format_name(*(const enum pg_log_format *)field), out);
}

const struct pg_value_type pg_t_number = {"N", parse_number, print_number};
const struct pg_value_type pg_t_opt_number = {"N", parse_opt_number, print_opt_number};
const struct pg_value_type pg_t_port = {"N", parse_port, print_port};
const struct pg_value_type pg_t_network = {"CIDR", parse_network, print_network};
const struct pg_value_type pg_t_ifname = {"IFNAME", parse_ifname, NULL};
const struct pg_value_type pg_t_host = {"HOST", parse_host, NULL};
const struct pg_value_type pg_t_overlay_addr = {"IP", parse_overlay_addr, print_address};
const struct pg_value_type pg_t_cidr_list = {"CIDRS", parse_cidr_list, print_cidr_list};
const struct pg_value_type pg_t_ip_list = {"IPS", parse_ip_list, print_ip_list};
const struct pg_value_type pg_t_opt_ipv4 = {"IP", parse_opt_ipv4, print_address};
const struct pg_value_type pg_t_opt_ip = {"IP", parse_opt_ip, print_address};
const struct pg_value_type pg_t_bool = {"BOOL", parse_bool, print_bool};
const struct pg_value_type pg_t_path = {"PATH", parse_path, NULL};
const struct pg_value_type pg_t_level = {"LEVEL", parse_level, print_level};
const struct pg_value_type pg_t_k8s_name = {"NAME", parse_k8s_name, NULL};
const struct pg_value_type pg_t_domain_list = {"DOMAINS", parse_domain_list, print_domain_list};
const struct pg_value_type pg_t_url = {"URL", parse_url, NULL};
const struct pg_value_type pg_t_json = {"JSON", parse_text, NULL};
const struct pg_value_type pg_t_text = {"TEXT", parse_text, NULL};
const struct pg_value_type pg_t_log_format = {"FORMAT", parse_log_format, print_log_format};
const struct pg_value_type pg_t_listen = {"ADDR:PORT", parse_listen, NULL};
