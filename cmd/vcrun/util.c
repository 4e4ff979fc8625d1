/* Helpers the subcommands share: runc's way of reporting a failure, and paths. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/log.h"
#include "oci/json.h"

int vc_cli_fail(const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	const char *text = msg ? msg : "out of memory";
	/* Help printed before the error reaches a shared terminal first, as in runc. */
	fflush(stdout);
	vc_err("%s", text);
	/* runc: the log record alone reaches a caller that reads stderr only when the
	 * log is stderr; otherwise the message is printed there as well. */
	if (vc_log_fd() != STDERR_FILENO)
		fprintf(stderr, "%s\n", text);
	return 1;
}

/* Lexical clean of an absolute path, in place (Go's filepath.Clean). */
static void clean_abs(char *p)
{
	char *out = p; /* p[0] == '/' */
	const char *in = p;
	while (*in) {
		while (*in == '/')
			in++;
		if (!*in)
			break;
		size_t len = strcspn(in, "/");
		if (len == 1 && in[0] == '.') {
			/* skip */
		} else if (len == 2 && in[0] == '.' && in[1] == '.') {
			while (out > p && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, in, len);
			out += len;
		}
		in += len;
	}
	if (out == p)
		*out++ = '/';
	*out = '\0';
}

char *vc_cli_abspath(const char *path)
{
	char *abs;
	if (path[0] == '/') {
		abs = strdup(path);
	} else {
		_cleanup_free_ char *cwd = getcwd(NULL, 0);
		if (!cwd)
			return NULL;
		abs = vc_strdup_printf("%s/%s", cwd, path);
	}
	if (!abs) {
		errno = ENOMEM;
		return NULL;
	}
	clean_abs(abs);
	return abs;
}

static void print_subcommand_help(const struct vc_cli *cli, const char *cmd,
				  const struct vc_subcommand *s)
{
	printf("NAME:\n   %s %s %s - %s\n\n", cli->help_name, cmd, s->name, s->usage);
	printf("USAGE:\n   %s %s %s%s %s", cli->help_name, cmd, s->name,
	       s->options[0].names ? " [command options]" : "", s->args_usage);
	if (s->description)
		printf("\n\nDESCRIPTION:\n   %s", s->description);
	if (s->options[0].names) {
		printf("\n\nOPTIONS:\n");
		vc_opt_print_help(stdout, s->options, "   ");
	}
	printf("\n");
}

int vc_cli_subcommand(struct vc_cli *cli, const char *cmd, const struct vc_subcommand *subs,
		      size_t n, int nargs, char **args)
{
	if (nargs == 0 || !strcmp(args[0], "help")) {
		printf("USAGE:\n   %s %s command [command options] [arguments...]\n\nCOMMANDS:\n",
		       cli->help_name, cmd);
		for (size_t i = 0; i < n; i++)
			printf("   %-10s%s\n", subs[i].name, subs[i].usage);
		return nargs == 0 ? vc_cli_fail("%s: a command is required", cmd) : 0;
	}
	const struct vc_subcommand *s = NULL;
	for (size_t i = 0; i < n && !s; i++)
		if (!strcmp(args[0], subs[i].name))
			s = &subs[i];
	if (!s) {
		char names[256] = "";
		for (size_t i = 0; i < n; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 i == 0	      ? ""
				 : i + 1 == n ? " or "
					      : ", ",
				 subs[i].name);
		return vc_cli_fail("%s: unknown command '%s' (%s)", cmd, args[0], names);
	}
	struct vc_opt_result res __attribute__((cleanup(vc_opt_result_free))) = {0};
	struct vc_error err = {0};
	if (vc_opt_parse(s->options, false, nargs - 1, args + 1, &res, &err) < 0) {
		printf("Incorrect Usage: %s\n\n", err.msg);
		print_subcommand_help(cli, cmd, s);
		return vc_cli_fail("%s", err.msg);
	}
	if (res.help) {
		print_subcommand_help(cli, cmd, s);
		return 0;
	}
	if (res.nargs < s->min_args || (s->max_args >= 0 && res.nargs > s->max_args)) {
		printf("Incorrect Usage.\n\n");
		print_subcommand_help(cli, cmd, s);
		return vc_cli_fail("%s: \"%s %s\" takes %s", cli->argv0, cmd, s->name,
				   s->max_args == 0		? "no arguments"
				   : s->min_args == s->max_args ? "exactly one argument"
								: "at least one argument");
	}
	return s->run(cli, res.nargs, res.args);
}

int vc_cli_print_json(struct vc_jgen *g)
{
	struct vc_error err = {0};
	_cleanup_free_ char *out = NULL;
	size_t len = 0;
	if (!g)
		return vc_cli_fail("out of memory");
	if (vc_jgen_finish(g, &out, &len, &err) < 0)
		return vc_cli_fail("%s", err.msg);
	fwrite(out, 1, len, stdout);
	putchar('\n');
	return 0;
}
