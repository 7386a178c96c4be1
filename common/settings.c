/* SPDX-License-Identifier: MIT */
/* The settings engine: raw text gathered in layers (file, environment,
 * options), then each setting of the program's role parsed from the
 * highest layer that has it (else its default), then the table's checks of
 * the whole. */
#include "common/settings.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/settings-file.h"
#include "common/settings-types.h"

#define FILE_MAX_BYTES (1u << 20)

enum layer { L_FILE, L_ENV, L_OPTION, N_LAYERS };

struct raw {
	char *value;
	char *source; /* malloc'd: a cell per layer and setting, most empty */
};

struct pg_settings_loader {
	const struct pg_settings_table *t;
	unsigned role;
	FILE *err;
	int errors;
	struct raw *raw; /* [N_LAYERS][t->n] */
	bool *seen_ignored;
	char **envp;
};

static void vreport(struct pg_settings_loader *ld, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vreport(struct pg_settings_loader *ld, const char *fmt, va_list ap)
{
	vfprintf(ld->err, fmt, ap);
	fputc('\n', ld->err);
	ld->errors++;
}

void pg_settings_report(struct pg_settings_loader *ld, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(ld, fmt, ap);
	va_end(ap);
}

const char *pg_settings_env_get(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (char **e = envp; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

void pg_settings_printable(char *dst, size_t size, const char *src)
{
	size_t j = 0;

	for (size_t i = 0; src[i] && j + 5 < size; i++) {
		unsigned char c = (unsigned char)src[i];

		if (isprint(c) && c != '\'')
			dst[j++] = (char)c;
		else
			j += (size_t)snprintf(dst + j, size - j, "\\x%02x", c);
	}
	dst[j] = '\0';
}

static struct raw *raw_at(struct pg_settings_loader *ld, enum layer layer, size_t idx)
{
	return &ld->raw[(size_t)layer * ld->t->n + idx];
}

static int find_setting(const struct pg_settings_table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->settings[i].key, key) == 0 ||
		    (t->settings[i].alias && strcmp(t->settings[i].alias, key) == 0))
			return (int)i;
	return -1;
}

static int find_ignored(const struct pg_settings_table *t, const char *key)
{
	for (size_t i = 0; i < t->n_ignored; i++)
		if (strcmp(t->ignored[i], key) == 0)
			return (int)i;
	return -1;
}

static int set_raw(struct pg_settings_loader *ld, enum layer layer, size_t idx, const char *value,
		   const char *source)
{
	struct raw *r = raw_at(ld, layer, idx);
	char *copy = strdup(value), *from = strdup(source);

	if (!copy || !from) {
		free(copy);
		free(from);
		return -ENOMEM;
	}
	free(r->value);
	free(r->source);
	r->value = copy;
	r->source = from;
	return 0;
}

/* ---- the layers ---- */

static int file_assign(void *ctx, const char *source, const char *key, const char *value)
{
	struct pg_settings_loader *ld = ctx;
	int idx = find_setting(ld->t, key);

	if (idx >= 0)
		return set_raw(ld, L_FILE, (size_t)idx, value, source);
	idx = find_ignored(ld->t, key);
	if (idx >= 0)
		ld->seen_ignored[idx] = true;
	else
		pg_settings_report(ld, "%s: %s: unknown setting", source, key);
	return 0;
}

static void file_error(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void file_error(void *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(ctx, fmt, ap);
	va_end(ap);
}

static const struct pg_settings_file_ops file_ops = {file_assign, file_error};

static int load_file(struct pg_settings_loader *ld, const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len;
	int r;

	if (!f) {
		pg_settings_report(ld, "--config: '%s': %s", path, strerror(errno));
		return 0;
	}
	text = malloc(FILE_MAX_BYTES + 1);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(text, 1, FILE_MAX_BYTES + 1, f);
	if (ferror(f))
		pg_settings_report(ld, "--config: '%s': read error", path);
	else if (len > FILE_MAX_BYTES)
		pg_settings_report(ld, "--config: '%s': larger than 1 MiB", path);
	else if ((r = pg_settings_file_read(path, text, len, ld->envp, &file_ops, ld)) < 0) {
		free(text);
		fclose(f);
		return r;
	}
	free(text);
	fclose(f);
	return 0;
}

static void load_env(struct pg_settings_loader *ld)
{
	for (size_t i = 0; i < ld->t->n; i++) {
		const char *names[] = {ld->t->settings[i].alias, ld->t->settings[i].key};

		/* The canonical name wins over pod-gateway's alias when both exist. */
		for (size_t k = 0; k < 2; k++) {
			const char *v = names[k] ? pg_settings_env_get(ld->envp, names[k]) : NULL;
			char source[64];

			if (!v)
				continue;
			snprintf(source, sizeof(source), "environment %s", names[k]);
			if (set_raw(ld, L_ENV, i, v, source) < 0)
				pg_settings_report(ld, "out of memory");
		}
	}
	for (size_t i = 0; i < ld->t->n_ignored; i++) {
		const char *v = pg_settings_env_get(ld->envp, ld->t->ignored[i]);

		if (v && *v)
			ld->seen_ignored[i] = true;
	}
}

enum { OPT_HELP = 1000, OPT_VERSION, OPT_CONFIG };

static struct option *long_options(const struct pg_settings_table *t, unsigned role)
{
	struct option *o = calloc(t->n + 4, sizeof(*o));
	size_t n = 0;

	if (!o)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		if (t->settings[i].roles & role)
			o[n++] =
			    (struct option){t->settings[i].option, required_argument, NULL, (int)i};
	if (t->file)
		o[n++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
	o[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
	o[n++] = (struct option){"version", no_argument, NULL, OPT_VERSION};
	return o;
}

/* One option from getopt_long: into its layer, or reported. */
static void take_option(struct pg_settings_loader *ld, int c, char **argv, const char **config_path)
{
	const char *pfx = ld->t->source ? ld->t->source : "", *sep = *pfx ? ": " : "";
	char source[64];

	if (c == OPT_CONFIG) {
		*config_path = optarg;
	} else if (c == ':') {
		pg_settings_report(ld, "%s%s%s: missing value", pfx, sep, argv[optind - 1]);
	} else if (c == '?') {
		pg_settings_report(ld, "%s%s%s: unknown option (see --help)", pfx, sep,
				   argv[optind - 1]);
	} else {
		snprintf(source, sizeof(source), "option --%s", ld->t->settings[c].option);
		if (set_raw(ld, L_OPTION, (size_t)c, optarg, source) < 0)
			pg_settings_report(ld, "out of memory");
	}
}

/* Options into their layer; PG_SETTINGS_EXIT after --help or --version. */
static int load_options(struct pg_settings_loader *ld, int argc, char **argv,
			const char **config_path)
{
	struct option *longopts = long_options(ld->t, ld->role);
	int c;

	if (!longopts)
		return -ENOMEM;
	optind = 0; /* full reset, also of getopt's internal state */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == OPT_HELP || c == 'h') {
			ld->t->usage(stdout, ld->role, argv[0]);
			break;
		}
		if (c == OPT_VERSION) {
			printf("%s %s\n", argv[0], PODGW_VERSION);
			break;
		}
		take_option(ld, c, argv, config_path);
	}
	free(longopts);
	return c == -1 ? PG_SETTINGS_OK : PG_SETTINGS_EXIT;
}

/* ---- parsing each value, then the whole ---- */

/* The raw text of setting i from the highest layer that has it. */
static const struct raw *top_raw(struct pg_settings_loader *ld, size_t i)
{
	for (int l = N_LAYERS - 1; l >= 0; l--)
		if (raw_at(ld, (enum layer)l, i)->value)
			return raw_at(ld, (enum layer)l, i);
	return NULL;
}

static void parse_one(struct pg_settings_loader *ld, size_t i, void *cfg)
{
	const struct pg_setting *s = &ld->t->settings[i];
	const struct raw *r = top_raw(ld, i);
	const char *text = s->def, *why = "invalid";
	char shown[512], def[PATH_MAX];

	if (r) {
		text = r->value;
	} else if (!text) {
		def[0] = '\0';
		s->default_fn(ld->envp, def, sizeof(def));
		text = def;
	}
	/* An interface name says itself why it cannot be empty. */
	if (s->required && !*text && s->type != &pg_t_ifname) {
		pg_settings_report(ld, "%s: required setting is missing (set %s%s%s or --%s)",
				   s->key, s->key, s->alias ? ", " : "", s->alias ? s->alias : "",
				   s->option);
		return;
	}
	if (s->type->parse(s, text, (char *)cfg + s->offset, &why) < 0) {
		pg_settings_printable(shown, sizeof(shown), text);
		pg_settings_report(ld, "%s: %s: '%s': %s",
				   ld->t->source ? ld->t->source
				   : r		 ? r->source
						 : "default",
				   s->key, shown, why);
	}
}

static void warn_ignored(struct pg_settings_loader *ld)
{
	char list[512] = "";
	size_t n = 0;

	for (size_t i = 0; i < ld->t->n_ignored; i++) {
		const char *name = ld->t->ignored[i];

		if (ld->seen_ignored[i] && n + strlen(name) + 3 < sizeof(list))
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "",
					      name);
	}
	if (n)
		fprintf(ld->err, "warning: pod-gateway settings not implemented, ignored: %s\n",
			list);
}

static void loader_free(struct pg_settings_loader *ld)
{
	if (!ld)
		return;
	for (size_t i = 0; ld->raw && i < N_LAYERS * ld->t->n; i++) {
		free(ld->raw[i].value);
		free(ld->raw[i].source);
	}
	free(ld->raw);
	free(ld->seen_ignored);
	free(ld);
}

static struct pg_settings_loader *loader_new(const struct pg_settings_table *t, unsigned role,
					     char **envp, FILE *err)
{
	struct pg_settings_loader *ld = calloc(1, sizeof(*ld));

	if (!ld)
		return NULL;
	*ld = (struct pg_settings_loader){.t = t, .role = role, .err = err, .envp = envp};
	ld->raw = calloc(N_LAYERS * t->n, sizeof(*ld->raw));
	ld->seen_ignored = calloc(t->n_ignored + 1, sizeof(*ld->seen_ignored));
	if (!ld->raw || !ld->seen_ignored) {
		loader_free(ld);
		return NULL;
	}
	return ld;
}

static int finish(struct pg_settings_loader *ld, void *cfg)
{
	int r;

	memset(cfg, 0, ld->t->cfg_size);
	if (!ld->errors) {
		for (size_t i = 0; i < ld->t->n; i++)
			if (ld->t->settings[i].roles & ld->role)
				parse_one(ld, i, cfg);
		if (!ld->errors && ld->t->check)
			ld->t->check(ld, ld->role, cfg);
	}
	if (!ld->errors)
		warn_ignored(ld);
	r = ld->errors ? -EINVAL : PG_SETTINGS_OK;
	loader_free(ld);
	return r;
}

int pg_settings_load_text(const struct pg_settings_table *t, unsigned role, void *cfg,
			  const char *name, const char *text, size_t len, FILE *err)
{
	struct pg_settings_loader *ld = loader_new(t, role, NULL, err);
	int r;

	if (!ld)
		return -ENOMEM;
	r = pg_settings_file_read(name, text, len, NULL, &file_ops, ld);
	if (r < 0) {
		loader_free(ld);
		return r;
	}
	return finish(ld, cfg);
}

int pg_settings_load(const struct pg_settings_table *t, unsigned role, void *cfg, int argc,
		     char **argv, char **envp, FILE *err, int *first_arg)
{
	struct pg_settings_loader *ld = loader_new(t, role, envp, err);
	const char *config_path = NULL;
	int r;

	if (!ld)
		return -ENOMEM;
	r = load_options(ld, argc, argv, &config_path);
	if (r != PG_SETTINGS_OK) {
		loader_free(ld);
		return r;
	}
	*first_arg = optind;
	if (config_path && load_file(ld, config_path) < 0)
		pg_settings_report(ld, "out of memory");
	load_env(ld);
	return finish(ld, cfg);
}

void pg_settings_usage(FILE *out, const struct pg_settings_table *t, unsigned role)
{
	fprintf(out, "Settings (option, environment, default); options beat environment%s\n",
		t->file ? ",\nenvironment beats --config FILE (KEY=VALUE lines, as pod-gateway's "
			  "settings.sh):"
			: ":");
	for (size_t i = 0; i < t->n; i++) {
		const struct pg_setting *s = &t->settings[i];
		const char *def = !s->def	? "see text"
				  : *s->def	? s->def
				  : s->required ? "required"
						: "empty";
		char opt[64];

		if (!(s->roles & role))
			continue;
		snprintf(opt, sizeof(opt), "--%s %s", s->option, s->type->metavar);
		fprintf(out, "  %-38s %s%s%s\n", opt, s->key, s->alias ? " or " : "",
			s->alias ? s->alias : "");
		fprintf(out, "  %-38s   %s (default: %s)\n", "", s->help, def);
	}
	if (t->file)
		fprintf(out, "  %-38s settings file\n", "--config FILE");
	fprintf(out, "  %-38s this text\n  %-38s version\n", "--help", "--version");
}

void pg_settings_print(FILE *out, const struct pg_settings_table *t, unsigned role, const void *cfg)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct pg_setting *s = &t->settings[i];
		const char *field = (const char *)cfg + s->offset;
		char *text = NULL;
		size_t len = 0;
		FILE *mem;

		if (!(s->roles & role))
			continue;
		mem = open_memstream(&text, &len);
		if (!mem)
			continue;
		if (s->type->print)
			s->type->print(mem, s, field);
		else
			fputs(field, mem); /* strings */
		fclose(mem);
		/* Double quotes, escaped as the settings file reads them back. */
		fprintf(out, "%s=\"", s->key);
		for (const char *c = text; c && *c; c++) {
			if (strchr("\"\\$`", *c))
				fputc('\\', out);
			fputc(*c, out);
		}
		fputs("\"\n", out);
		free(text);
	}
}
