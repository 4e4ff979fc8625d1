/* Command-line options parsed the way runc's urfave/cli v1 over Go's flag package
 * does, so scripts written for runc work unchanged:
 *   --flag v, --flag=v, -flag v, -flag=v; every name in "bundle, b" is an alias;
 *   bool flags take no separate value but accept --flag=true|false|1|0|t|f;
 *   "--" ends the options; "-" alone is a positional argument;
 *   parsing stops at the first positional argument, unless `reorder` is set, in
 *   which case known options written after positional arguments are first moved
 *   in front of them (urfave's reorderArgs; runc does this for every command but
 *   exec, so `runc delete ID --force` works);
 *   giving two names of one option ("-f --force") is an error, as in urfave.
 * Errors carry urfave's wording ("flag provided but not defined: -foo"). */
#ifndef VC_CMD_OPTIONS_H
#define VC_CMD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/error.h"

enum vc_opt_type {
	VC_OPT_BOOL,   /* value: bool * */
	VC_OPT_STRING, /* value: const char ** (points into argv) */
	VC_OPT_INT,    /* value: int * */
	VC_OPT_STRV,   /* value: char *** (NULL-terminated, malloc'd; repeatable) */
};

struct vc_option {
	const char *names; /* "bundle, b": long name first, then aliases */
	enum vc_opt_type type;
	void *value; /* NULL: accepted and ignored (options of unsupported features) */
	const char *usage;
	const char *def; /* text for "(default: ...)" in help; NULL: none */
};

struct vc_opt_result {
	char **args; /* positional arguments, pointers into argv; malloc'd array */
	int nargs;
	bool help; /* -h/--help: every option set has it, as urfave adds it */
};

/* opts ends with an entry whose names is NULL. On failure err->msg is the message
 * runc prints after "Incorrect Usage:". res must be released with
 * vc_opt_result_free, on failure too. */
int vc_opt_parse(const struct vc_option *opts, bool reorder, int argc, char **argv,
		 struct vc_opt_result *res, struct vc_error *err);
void vc_opt_result_free(struct vc_opt_result *res);

/* One line per option ("--bundle value, -b value  path to ..."), each starting
 * with indent, aligned as urfave's help pages are. */
void vc_opt_print_help(FILE *out, const struct vc_option *opts, const char *indent);

/* Go's tabwriter as runc uses it: rows of ncols cells (row-major); every column but
 * the last is padded to max(minwidth, widest cell + pad). Lines start with indent. */
void vc_print_table(FILE *out, const char *indent, const char *const *cells, size_t nrows,
		    size_t ncols, size_t minwidth, size_t pad);

#endif
