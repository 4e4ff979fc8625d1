/* vcrun features: what this runtime supports, as the runtime-spec's features JSON. */
#include <stdio.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"

static const struct vc_option features_options[] = {{NULL}};

static int run_features(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_error err = {0};
	_cleanup_free_ char *json = NULL;
	if (vc_features_json(&json, &err) < 0)
		return vc_cli_fail("%s", err.msg);
	printf("%s\n", json);
	return 0;
}

const struct vc_command vc_cmd_features = {
	.name = "features",
	.usage = "show the enabled features",
	.args_usage = "",
	.description = "Show the enabled features, as the OCI runtime-spec's features document.",
	.options = features_options,
	.min_args = 0,
	.max_args = 0,
	.run = run_features,
};
