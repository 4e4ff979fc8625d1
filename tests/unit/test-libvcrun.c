/* include/vcrun.h's error paths and the sandbox API's checks, with no VM: what a
 * program gets back for bad arguments, a bundle that is not there, containers that
 * do not exist, and a container named through the wrong sandbox. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "include/vcrun.h"
#include "lib/state.h"
#include "lib/vcrun.h"
#include "tests/unit/unit.h"

VC_TEST(options_are_checked)
{
	vcrun_spawn_opts *so = NULL;
	vcrun_create_opts *co = NULL;
	CHECK(vcrun_spawn_opts_new(&so) == 0 && vcrun_create_opts_new(&co) == 0);
	static const char *const none[] = {NULL};
	static const char *const args[] = {"true", NULL};
	static const char *const bad_env[] = {"NOEQUALS", NULL};
	static const char *const good_env[] = {"A=1", NULL};
	CHECK(vcrun_spawn_opts_set_args(so, NULL) == -EINVAL);
	CHECK(vcrun_spawn_opts_set_args(so, none) == -EINVAL);
	CHECK(vcrun_spawn_opts_set_args(so, args) == 0);
	CHECK(vcrun_spawn_opts_set_env(so, bad_env) == -EINVAL);
	CHECK(vcrun_spawn_opts_set_env(so, good_env) == 0);
	CHECK(vcrun_spawn_opts_set_cwd(so, "relative") == -EINVAL);
	CHECK(vcrun_spawn_opts_set_cwd(so, "/tmp") == 0);
	CHECK(vcrun_spawn_opts_set_user(so, 1000, 1000) == 0);
	/* fd 987 is not open; -1 is /dev/null */
	CHECK(vcrun_spawn_opts_set_stdio(so, 987, 1, 2) == -EBADF);
	CHECK(vcrun_spawn_opts_set_stdio(so, -2, 1, 2) == -EBADF);
	CHECK(vcrun_create_opts_set_stdio(co, -1, 1, 2) == 0);
	vcrun_spawn_opts_free(so);
	vcrun_create_opts_free(co);
	vcrun_spawn_opts_free(NULL);
	vcrun_create_opts_free(NULL);
	vcrun_container_free(NULL);
	vcrun_process_free(NULL);
	vcrun_ctx_free(NULL);
}

VC_TEST(errors_name_the_cause)
{
	_cleanup_free_ char *root = vc_strdup_printf("%s/root", vc_unit_tmpdir());
	vcrun_ctx *ctx = NULL;
	CHECK(vcrun_ctx_new(root, &ctx) == 0);
	CHECK_STR(vcrun_ctx_error(ctx), "");
	/* the helper processes need a program: this test's own binary is not vcrun,
	 * but any executable does until one is spawned */
	CHECK(vcrun_ctx_set_program(ctx, "/nonexistent/vcrun") == -ENOENT);
	CHECK_CONTAINS(vcrun_ctx_error(ctx), "/nonexistent/vcrun");
	CHECK(vcrun_ctx_set_program(ctx, "/bin/true") == 0);

	vcrun_create_opts *co = NULL;
	vcrun_container *c = NULL;
	CHECK(vcrun_create_opts_new(&co) == 0);
	CHECK(vcrun_create_opts_set_bundle(co, "/nonexistent-bundle") == 0);
	CHECK(vcrun_container_create(ctx, "c1", co, &c) < 0 && !c);
	CHECK_CONTAINS(vcrun_ctx_error(ctx), "/nonexistent-bundle");
	CHECK(vcrun_container_create(ctx, "bad/id", co, &c) < 0);
	CHECK_CONTAINS(vcrun_ctx_error(ctx), "bad/id");
	CHECK(vcrun_container_create(ctx, NULL, co, &c) == -EINVAL);
	/* joining a sandbox that does not exist */
	CHECK(vcrun_create_opts_set_sandbox(co, "nosuch") == 0);
	CHECK(vcrun_create_opts_set_bundle(co, NULL) == 0);
	vcrun_create_opts_free(co);

	CHECK(vcrun_container_open(ctx, "nosuch", &c) == -ENOENT && !c);
	CHECK_CONTAINS(vcrun_ctx_error(ctx), "does not exist");
	vcrun_sandbox *sb = NULL;
	CHECK(vcrun_sandbox_open(ctx, "nosuch", &sb) == -ENOENT && !sb);
	CHECK_CONTAINS(vcrun_ctx_error(ctx), "does not exist");
	CHECK(vcrun_sandbox_open(ctx, NULL, &sb) == -EINVAL);
	vcrun_sandbox_free(NULL);
	vcrun_ctx_free(ctx);
}

/* Two containers in two sandboxes, as state.json says: each sandbox's calls refuse
 * the other's container, naming both. */
VC_TEST(sandbox_membership)
{
	_cleanup_free_ char *root = vc_strdup_printf("%s/sb", vc_unit_tmpdir());
	vc_unit_add_container(root, "pod", "pod", "", false, false, 0);
	vc_unit_add_container(root, "app", "pod", "", false, false, 0);
	vc_unit_add_container(root, "solo", "solo", "", false, false, 0);
	struct vc_ctx ctx = {.root = root};
	struct vc_error err = {0};
	struct vc_sandbox *sb = NULL;
	CHECK(vc_sandbox_open(&ctx, "app", &sb, &err) == 0);
	CHECK_STR(vc_sandbox_id(sb), "pod");
	CHECK(vc_sandbox_key(sb) == NULL);
	char **ids = NULL;
	size_t n = 0;
	CHECK(vc_sandbox_members(sb, &ids, &n, &err) == 0 && n == 2);
	CHECK_STR(ids[0], "pod");
	CHECK_STR(ids[1], "app");
	vc_strv_freep(&ids);
	CHECK(vc_sandbox_start_container(sb, "solo", &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "container solo is not in sandbox pod (it runs in solo)");
	CHECK(vc_sandbox_kill_container(sb, "nosuch", 9, false, &err) < 0);
	vc_sandbox_close(sb);

	/* the same through the public handles */
	vcrun_ctx *pctx = NULL;
	vcrun_sandbox *psb = NULL;
	CHECK(vcrun_ctx_new(root, &pctx) == 0 && vcrun_sandbox_open(pctx, "app", &psb) == 0);
	CHECK_STR(vcrun_sandbox_id(psb), "pod");
	CHECK(vcrun_sandbox_containers(psb, &ids) == 0 && vc_strv_len(ids) == 2);
	CHECK_STR(ids[1], "app");
	vcrun_strv_free(ids);
	ids = NULL;
	vcrun_sandbox_free(psb);
	vcrun_ctx_free(pctx);

	struct vc_sandbox_info *list = NULL;
	CHECK(vc_sandbox_list(&ctx, &list, &n, &err) == 0 && n == 2);
	CHECK_STR(list[0].id, "pod");
	CHECK_STR(list[1].id, "solo");
	CHECK(list[0].hv_pid == 0 && vc_strv_len(list[0].members) == 2);
	vc_sandbox_info_free(list, n);
}

VC_TESTS(VC_T(options_are_checked), VC_T(errors_name_the_cause), VC_T(sandbox_membership))
