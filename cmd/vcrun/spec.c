/* vcrun spec [--bundle DIR] [--rootless]: writes runc's starter config.json and
 * never overwrites one. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "oci/spec.h"

#define SPEC_CONFIG "config.json"

static const char *bundle;
static bool rootless;

static const struct vc_option spec_options[] = {
	{"bundle, b", VC_OPT_STRING, &bundle, "path to the root of the bundle directory", NULL},
	{"rootless", VC_OPT_BOOL, &rootless, "generate a configuration for a rootless container",
	 NULL},
	{NULL},
};

static int run_spec(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_error err = {0};
	_cleanup_free_ char *json = NULL;
	if (vc_oci_spec_default_json(rootless, &json, &err) < 0)
		return vc_cli_fail("%s", err.msg);
	/* The CLI process does nothing after this, so changing directory is harmless
	 * and gives runc's messages, which name config.json relative to the bundle. */
	if (bundle && *bundle && chdir(bundle) < 0)
		return vc_cli_fail("chdir %s: %s", bundle, strerror(errno));
	/* O_EXCL: the check and the creation are one step, unlike runc's stat + write. */
	_cleanup_close_ int fd =
		open(SPEC_CONFIG, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
	if (fd < 0 && errno == EEXIST)
		return vc_cli_fail("File %s exists. Remove it first", SPEC_CONFIG);
	if (fd < 0)
		return vc_cli_fail("open %s: %s", SPEC_CONFIG, strerror(errno));
	int r = vc_write_all(fd, json, strlen(json));
	if (r == 0 && close(steal_fd(fd)) < 0)
		r = -errno;
	if (r < 0) {
		unlink(SPEC_CONFIG);
		return vc_cli_fail("write %s: %s", SPEC_CONFIG, strerror(-r));
	}
	return 0;
}

const struct vc_command vc_cmd_spec = {
	.name = "spec",
	.usage = "create a new specification file",
	.description =
		"The spec command creates the new specification file named \"config.json\" for\n"
		"the bundle. The generated spec is a starter file (its process runs \"sh\") to\n"
		"edit. With --rootless it is adjusted for a rootless container.",
	.options = spec_options,
	.min_args = 0,
	.max_args = 0,
	.run = run_spec,
};
