/* vcrun cdi list|validate|apply: the CDI registry as vcrun sees it, for people
 * setting up CDI specs. Unlike the runc commands this one calls cdi/ directly: it
 * inspects spec files and transforms a config.json, and creates nothing.
 *
 * Exit status: `list` 0 even when spec files have problems (they are printed on
 * stderr; the good files still resolve, as they do for `create`); `validate` 1 when
 * any file has a problem; `apply` 1 when the request cannot be applied. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cdi/cdi.h"
#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "oci/json.h"

/* config.json is small; this only stops a wrong file from filling memory. */
#define CONFIG_MAX_BYTES (64u << 20)

static char **spec_dirs;
static char **devices;
static const char *config_path;

#define SPEC_DIR_OPTION                                                                            \
	{                                                                                          \
		"spec-dir", VC_OPT_STRV, &spec_dirs,                                               \
			"a CDI spec directory; repeat for several, later ones win (default: "      \
			"$" VC_CDI_SPEC_DIRS_ENV " split at ':', else /etc/cdi and /var/run/cdi)", \
			NULL                                                                       \
	}

static const struct vc_option list_options[] = {SPEC_DIR_OPTION, {NULL}};
static const struct vc_option no_options[] = {{NULL}};
static const struct vc_option apply_options[] = {
	{"config", VC_OPT_STRING, &config_path, "the config.json to edit ('-': standard input)",
	 NULL},
	SPEC_DIR_OPTION,
	{"device", VC_OPT_STRV, &devices,
	 "a qualified CDI device name (vendor/class=name) to add; repeatable", NULL},
	{NULL},
};

static int load_registry(struct vc_cdi_registry **reg)
{
	struct vc_error err = {0};
	if (vc_cdi_registry_load((const char *const *)spec_dirs, reg, &err) < 0)
		return vc_cli_fail("%s", err.msg);
	return 0;
}

static void print_registry_errors(const struct vc_cdi_registry *reg)
{
	for (const char *const *e = vc_cdi_registry_errors(reg, NULL); *e; e++)
		fprintf(stderr, "%s\n", *e);
}

static int run_list(struct vc_cli *cli, int nargs, char **args)
{
	_cleanup_cdi_registry_ struct vc_cdi_registry *reg = NULL;
	int r = load_registry(&reg);
	if (r)
		return r;
	for (const char *const *n = vc_cdi_registry_devices(reg, NULL); *n; n++)
		printf("%s\n", *n);
	fflush(stdout);
	print_registry_errors(reg);
	return 0;
}

static int run_validate(struct vc_cli *cli, int nargs, char **args)
{
	int status = 0;
	for (int i = 0; i < nargs; i++) {
		struct vc_error err = {0};
		_cleanup_strv_ char **problems = NULL;
		if (vc_cdi_validate_file(args[i], &problems, &err) < 0)
			return vc_cli_fail("%s", err.msg);
		for (char **p = problems; *p; p++) {
			fprintf(stderr, "%s\n", *p);
			status = 1;
		}
	}
	return status;
}

static int read_config(struct vc_json **config)
{
	struct vc_error err = {0};
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	bool is_stdin = !strcmp(config_path, "-");
	int r = is_stdin ? vc_read_fd(STDIN_FILENO, CONFIG_MAX_BYTES, &buf, &len, &err)
			 : vc_read_file(config_path, CONFIG_MAX_BYTES, &buf, &len, &err);
	if (r < 0)
		return vc_cli_fail("%s", err.msg);
	if (vc_json_parse(buf, len, is_stdin ? "standard input" : config_path, config, &err) < 0)
		return vc_cli_fail("%s", err.msg);
	if ((*config)->type != VC_JSON_OBJECT)
		return vc_cli_fail("%s: expected a JSON object", config_path);
	return 0;
}

static int run_apply(struct vc_cli *cli, int nargs, char **args)
{
	_cleanup_cdi_registry_ struct vc_cdi_registry *reg = NULL;
	_cleanup_json_ struct vc_json *config = NULL;
	_cleanup_free_ char *text = NULL;
	struct vc_error err = {0};
	if (!config_path)
		return vc_cli_fail("cdi apply: --config is required");
	int r = read_config(&config);
	if (r || (r = load_registry(&reg)))
		return r;
	if (vc_cdi_apply(reg, config, (const char *const *)devices, NULL, &err) < 0)
		return vc_cli_fail("%s", err.msg);
	if (vc_json_serialize(config, true, &text, NULL, &err) < 0)
		return vc_cli_fail("%s", err.msg);
	printf("%s\n", text);
	return 0;
}

static const struct vc_subcommand subcommands[] = {
	{"list", "list the CDI devices the spec directories resolve", "", NULL, list_options, 0, 0,
	 run_list},
	{"validate", "check CDI spec files", "FILE...", NULL, no_options, 1, -1, run_validate},
	{"apply", "print config.json as vcrun would run it with its CDI devices",
	 "--config config.json [--device vendor/class=name]...",
	 "Resolves the devices requested by the cdi.k8s.io/* annotations of the config and\n"
	 "   by --device, and prints the config with their CDI edits applied. Any JSON\n"
	 "   object is accepted: fields the edits do not touch are printed unchanged.",
	 apply_options, 0, 0, run_apply},
};

static void free_options(void)
{
	vc_strv_freep(&spec_dirs);
	vc_strv_freep(&devices);
	spec_dirs = devices = NULL;
}

static int run_cdi(struct vc_cli *cli, int nargs, char **args)
{
	int status =
		vc_cli_subcommand(cli, "cdi", subcommands, VC_ARRAY_SIZE(subcommands), nargs, args);
	free_options();
	return status;
}

const struct vc_command vc_cmd_cdi = {
	.name = "cdi",
	.usage = "list, validate and apply CDI device specs",
	.args_usage = "list|validate|apply [command options] [arguments...]",
	.description =
		"The cdi command shows what vcrun makes of the Container Device Interface specs\n"
		"on this host. `list` prints the qualified device names the spec directories\n"
		"resolve and every problem in the spec files; `validate FILE...` checks spec\n"
		"files; `apply --config FILE [--device NAME]...` prints the config with the\n"
		"requested devices' edits. `vcrun cdi COMMAND --help` describes each.",
	.options = no_options,
	.min_args = 0,
	.max_args = -1,
	.no_reorder = true,
	.run = run_cdi,
};
