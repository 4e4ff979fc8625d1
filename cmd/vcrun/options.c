/* urfave/cli v1 + Go flag semantics, measured against runc 1.1.5; see options.h. */
#include "cmd/vcrun/options.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

/* urfave appends "help, h" to every command's flags; it is parsed like the others. */
static const struct vc_option help_option = {"help, h", VC_OPT_BOOL, NULL, "show help", NULL};

/* Walks "bundle, b": returns the next trimmed name (name, len). */
static bool next_name(const char **cursor, const char **name, size_t *len)
{
	const char *p = *cursor;
	while (*p == ' ' || *p == ',')
		p++;
	if (!*p)
		return false;
	const char *end = strchr(p, ',');
	if (!end)
		end = p + strlen(p);
	*cursor = end;
	while (end > p && end[-1] == ' ')
		end--;
	*name = p;
	*len = (size_t)(end - p);
	return true;
}

/* The options in order, the implicit help option last. */
static size_t count_options(const struct vc_option *opts)
{
	size_t n = 0;
	while (opts[n].names)
		n++;
	return n + 1;
}

static const struct vc_option *option_at(const struct vc_option *opts, size_t nopts, size_t i)
{
	return i + 1 == nopts ? &help_option : &opts[i];
}

/* Finds name (len bytes) among the options: index of the option and of the alias. */
static bool lookup(const struct vc_option *opts, size_t nopts, const char *name, size_t len,
		   size_t *opt_index, unsigned *name_index)
{
	for (size_t i = 0; i < nopts; i++) {
		const char *cursor = option_at(opts, nopts, i)->names, *n;
		size_t nlen;
		for (unsigned k = 0; next_name(&cursor, &n, &nlen); k++) {
			if (nlen == len && !memcmp(n, name, len)) {
				*opt_index = i;
				*name_index = k;
				return true;
			}
		}
	}
	return false;
}

/* urfave's argIsFlag: "--x", "-x" and "--x=v" name option x. */
static bool arg_is_option(const struct vc_option *opts, size_t nopts, const char *arg)
{
	if (arg[0] != '-' || !strcmp(arg, "-"))
		return false;
	const char *name = arg + 1;
	if (arg[1] == '-')
		name = arg[2] == '-' ? arg + 3 : arg + 2;
	size_t len = strcspn(name, "=");
	size_t oi;
	unsigned ni;
	return lookup(opts, nopts, name, len, &oi, &ni);
}

/* urfave's reorderArgs: known options (and the word after one written without
 * "=", which may be its value, "-" included: `update -r - ID`) move before
 * everything else; "--" stops it. */
static char **reorder_args(const struct vc_option *opts, size_t nopts, int argc, char **argv)
{
	char **out = calloc((size_t)argc + 1, sizeof(*out));
	_cleanup_free_ char **rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (!out || !rest) {
		free(out);
		return NULL;
	}
	size_t n_out = 0, n_rest = 0;
	bool value_may_follow = false;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (!strcmp(arg, "--")) {
			while (i < argc)
				rest[n_rest++] = argv[i++];
			break;
		} else if (value_may_follow && (arg[0] != '-' || !strcmp(arg, "-"))) {
			value_may_follow = false;
			out[n_out++] = argv[i];
		} else if (arg_is_option(opts, nopts, arg)) {
			out[n_out++] = argv[i];
			value_may_follow = !strchr(arg, '=');
		} else {
			rest[n_rest++] = argv[i];
		}
	}
	memcpy(out + n_out, rest, n_rest * sizeof(*rest));
	return out;
}

/* strconv.ParseBool */
static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < VC_ARRAY_SIZE(yes); i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* strconv.ParseInt(s, 0, ...): sign, 0x/0 prefixes; -ERANGE past int. */
static int parse_int(const char *s, int *out)
{
	if (!*s || isspace((unsigned char)*s))
		return -EINVAL;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < INT_MIN || v > INT_MAX)
		return -ERANGE;
	*out = (int)v;
	return 0;
}

static int set_value(const struct vc_option *opt, const char *name, size_t nlen, const char *value,
		     bool *help, struct vc_error *err)
{
	int r;
	switch (opt->type) {
	case VC_OPT_BOOL: {
		bool b = true;
		if (value && parse_bool(value, &b) < 0)
			return vc_error_set(err, EINVAL,
					    "invalid boolean value \"%s\" for -%.*s: parse error",
					    value, (int)nlen, name);
		if (opt == &help_option)
			*help = b;
		else if (opt->value)
			*(bool *)opt->value = b;
		return 0;
	}
	case VC_OPT_STRING:
		if (opt->value)
			*(const char **)opt->value = value;
		return 0;
	case VC_OPT_INT: {
		int v;
		r = parse_int(value, &v);
		if (r < 0)
			return vc_error_set(err, EINVAL, "invalid value \"%s\" for flag -%.*s: %s",
					    value, (int)nlen, name,
					    r == -ERANGE ? "value out of range" : "parse error");
		if (opt->value)
			*(int *)opt->value = v;
		return 0;
	}
	case VC_OPT_STRV:
		if (opt->value && vc_strv_push((char ***)opt->value, value) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
		return 0;
	}
	return vc_error_set(err, EINVAL, "bad option type for -%.*s", (int)nlen, name);
}

/* urfave's normalizeFlags: an option may be named only one way per command line. */
static int check_one_form(const struct vc_option *opts, size_t nopts, const unsigned *seen,
			  struct vc_error *err)
{
	for (size_t i = 0; i < nopts; i++) {
		const char *cursor = option_at(opts, nopts, i)->names, *n, *first = NULL;
		size_t nlen, first_len = 0;
		for (unsigned k = 0; next_name(&cursor, &n, &nlen); k++) {
			if (k >= sizeof(unsigned) * CHAR_BIT || !(seen[i] & (1u << k)))
				continue;
			if (first)
				return vc_error_set(
					err, EINVAL,
					"Cannot use two forms of the same flag: %.*s %.*s",
					(int)nlen, n, (int)first_len, first);
			first = n;
			first_len = nlen;
		}
	}
	return 0;
}

int vc_opt_parse(const struct vc_option *opts, bool reorder, int argc, char **argv,
		 struct vc_opt_result *res, struct vc_error *err)
{
	*res = (struct vc_opt_result){0};
	size_t nopts = count_options(opts);
	_cleanup_free_ unsigned *seen = calloc(nopts, sizeof(*seen));
	_cleanup_free_ char **args = NULL;
	if (!seen)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (reorder) {
		args = reorder_args(opts, nopts, argc, argv);
	} else {
		args = calloc((size_t)argc + 1, sizeof(*args));
		if (args)
			memcpy(args, argv, (size_t)argc * sizeof(*argv));
	}
	if (!args)
		return vc_error_set(err, ENOMEM, "out of memory");

	int i = 0;
	while (i < argc) {
		const char *s = args[i];
		if (strlen(s) < 2 || s[0] != '-')
			break;
		const char *name = s + 1;
		if (s[1] == '-') {
			if (!s[2]) {
				i++;
				break;
			}
			name = s + 2;
		}
		if (!*name || *name == '-' || *name == '=')
			return vc_error_set(err, EINVAL, "bad flag syntax: %s", s);
		i++;
		/* "=" cannot be the first character of a name. */
		const char *eq = strchr(name + 1, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		const char *value = eq ? eq + 1 : NULL;

		size_t oi;
		unsigned ni;
		if (!lookup(opts, nopts, name, nlen, &oi, &ni))
			return vc_error_set(err, EINVAL, "flag provided but not defined: -%.*s",
					    (int)nlen, name);
		const struct vc_option *opt = option_at(opts, nopts, oi);
		if (opt->type != VC_OPT_BOOL && !value) {
			if (i >= argc)
				return vc_error_set(err, EINVAL, "flag needs an argument: -%.*s",
						    (int)nlen, name);
			value = args[i++];
		}
		int r = set_value(opt, name, nlen, value, &res->help, err);
		if (r < 0)
			return r;
		if (ni < sizeof(unsigned) * CHAR_BIT)
			seen[oi] |= 1u << ni;
	}
	int r = check_one_form(opts, nopts, seen, err);
	if (r < 0)
		return r;

	/* The positional arguments move to the front of the array we hand out. */
	memmove(args, args + i, (size_t)(argc - i) * sizeof(*args));
	args[argc - i] = NULL;
	res->nargs = argc - i;
	res->args = steal_ptr(args);
	return 0;
}

void vc_opt_result_free(struct vc_opt_result *res)
{
	free(res->args);
	res->args = NULL;
	res->nargs = 0;
}

/* Display width as tabwriter counts it: UTF-8 code points. */
static size_t utf8_width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

void vc_print_table(FILE *out, const char *indent, const char *const *cells, size_t nrows,
		    size_t ncols, size_t minwidth, size_t pad)
{
	if (ncols == 0)
		return;
	_cleanup_free_ size_t *width = calloc(ncols, sizeof(*width));
	if (!width)
		return;
	for (size_t c = 0; c + 1 < ncols; c++) {
		for (size_t r = 0; r < nrows; r++) {
			size_t w = utf8_width(cells[r * ncols + c]) + pad;
			if (w > width[c])
				width[c] = w;
		}
		if (width[c] < minwidth)
			width[c] = minwidth;
	}
	for (size_t r = 0; r < nrows; r++) {
		fputs(indent, out);
		for (size_t c = 0; c < ncols; c++) {
			const char *cell = cells[r * ncols + c];
			fputs(cell, out);
			if (c + 1 < ncols)
				fprintf(out, "%*s", (int)(width[c] - utf8_width(cell)), "");
		}
		fputc('\n', out);
	}
}

/* urfave's flag line: "--bundle value, -b value<TAB>usage (default: ...)". */
static char *option_left(const struct vc_option *opt)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	if (!f)
		return NULL;
	const char *cursor = opt->names, *n;
	size_t nlen;
	for (unsigned k = 0; next_name(&cursor, &n, &nlen); k++)
		fprintf(f, "%s%s%.*s%s", k ? ", " : "", nlen == 1 ? "-" : "--", (int)nlen, n,
			opt->type == VC_OPT_BOOL ? "" : " value");
	fclose(f);
	return s;
}

static char *option_right(const struct vc_option *opt)
{
	if (opt->def)
		return vc_strdup_printf("%s (default: %s)", opt->usage, opt->def);
	return strdup(opt->usage);
}

void vc_opt_print_help(FILE *out, const struct vc_option *opts, const char *indent)
{
	size_t n = count_options(opts) - 1; /* help is not listed, as in runc */
	if (n == 0)
		return;
	_cleanup_free_ char **cells = calloc(2 * n, sizeof(*cells));
	if (!cells)
		return;
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		cells[2 * i] = option_left(&opts[i]);
		cells[2 * i + 1] = option_right(&opts[i]);
		ok = ok && cells[2 * i] && cells[2 * i + 1];
	}
	if (ok)
		vc_print_table(out, indent, (const char *const *)cells, n, 2, 1, 2);
	for (size_t i = 0; i < 2 * n; i++)
		free(cells[i]);
}
