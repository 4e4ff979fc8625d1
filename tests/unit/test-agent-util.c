/* The agent's pure helpers: mount option parsing, path joining inside a rootfs,
 * /etc/passwd lookup, executable lookup, the seccomp compiler, and onlining
 * hot-plugged vCPUs (against a fake sysfs tree). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "tests/unit/unit.h"

VC_TEST(test_mount_opts_flags)
{
	char *opts[] = {"nosuid",      "noexec",   "nodev",	  "ro",
			"strictatime", "mode=755", "size=65536k", NULL};
	struct agent_mount_opts o;
	CHECK(agent_mount_opts_parse(opts, &o, NULL) == 0);
	CHECK(o.flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY | MS_STRICTATIME));
	CHECK_STR(o.data, "mode=755,size=65536k");
	CHECK(!o.bind);
	CHECK(o.propagation == 0);
	agent_mount_opts_free(&o);
}

VC_TEST(test_mount_opts_clear_and_bind)
{
	char *opts[] = {"ro", "rw", "nosuid", "suid", "rbind", "rslave", NULL};
	struct agent_mount_opts o;
	CHECK(agent_mount_opts_parse(opts, &o, NULL) == 0);
	CHECK(o.flags == (MS_BIND | MS_REC));
	CHECK(o.bind);
	CHECK(o.propagation == (MS_SLAVE | MS_REC));
	CHECK(o.data == NULL);
	agent_mount_opts_free(&o);
}

VC_TEST(test_mount_opts_devpts_and_recursive)
{
	char *opts[] = {"nosuid", "newinstance", "ptmxmode=0666", "mode=0620",
			"gid=5",  "rro",	 "tmpcopyup",	  NULL};
	struct agent_mount_opts o;
	CHECK(agent_mount_opts_parse(opts, &o, NULL) == 0);
	CHECK(o.flags == MS_NOSUID);
	CHECK_STR(o.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
	CHECK(o.attr_set != 0 && o.attr_clr == 0);
	agent_mount_opts_free(&o);

	CHECK(agent_mount_opts_parse(NULL, &o, NULL) == 0);
	CHECK(o.flags == 0 && !o.data);
}

VC_TEST(test_mount_opts_errors)
{
	struct vc_error err = {0};
	struct agent_mount_opts o;
	char *idmap[] = {"bind", "idmap", NULL};
	CHECK(agent_mount_opts_parse(idmap, &o, &err) == -ENOTSUP);
	CHECK_CONTAINS(err.msg, "idmap");
	char *empty[] = {"ro", "", NULL};
	CHECK(agent_mount_opts_parse(empty, &o, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "empty");
}

VC_TEST(test_propagation_parse)
{
	unsigned long f = 0;
	CHECK(agent_propagation_parse("rprivate", &f) == 0 && f == (MS_PRIVATE | MS_REC));
	CHECK(agent_propagation_parse("shared", &f) == 0 && f == MS_SHARED);
	CHECK(agent_propagation_parse("runbindable", &f) == 0 && f == (MS_UNBINDABLE | MS_REC));
	CHECK(agent_propagation_parse("ro", &f) == -EINVAL);
	CHECK(agent_propagation_parse("", &f) == -EINVAL);
}

static char *join(const char *root, const char *path)
{
	char *out = NULL;
	struct vc_error err = {0};
	if (agent_path_in_root(root, path, &out, &err) < 0) {
		fprintf(stderr, "# join %s %s: %s\n", root, path, err.msg);
		return NULL;
	}
	return out;
}

#define CHECK_JOIN(root, path, want)                          \
	do {                                                  \
		_cleanup_free_ char *_j = join(root, path);   \
		char _w[PATH_MAX];                            \
		snprintf(_w, sizeof(_w), "%s%s", root, want); \
		CHECK_STR(_j, _w);                            \
	} while (0)

VC_TEST(test_path_in_root_lexical)
{
	char root[PATH_MAX];
	snprintf(root, sizeof(root), "%s/lex", vc_unit_tmpdir());
	CHECK(vc_mkdir_p(root, 0755, NULL) == 0);
	CHECK_JOIN(root, "/", "/");
	CHECK_JOIN(root, "", "/");
	CHECK_JOIN(root, "/proc", "/proc");
	CHECK_JOIN(root, "proc//sys/", "/proc/sys");
	CHECK_JOIN(root, "/a/./b/../c", "/a/c");
	CHECK_JOIN(root, "/../../../etc/passwd", "/etc/passwd");
	CHECK_JOIN(root, "/a/../../..", "/");
	/* root with a trailing slash gives the same */
	char root2[PATH_MAX + 2];
	snprintf(root2, sizeof(root2), "%s/", root);
	_cleanup_free_ char *j = join(root2, "/x");
	char want[PATH_MAX + 8];
	snprintf(want, sizeof(want), "%s/x", root);
	CHECK_STR(j, want);
	/* "/" as root is a plain clean path */
	_cleanup_free_ char *r = join("/", "/a/../b//c");
	CHECK_STR(r, "/b/c");
}

VC_TEST(test_path_in_root_symlinks)
{
	char root[PATH_MAX], p[PATH_MAX + 64];
	snprintf(root, sizeof(root), "%s/links", vc_unit_tmpdir());
	snprintf(p, sizeof(p), "%s/real/dir", root);
	CHECK(vc_mkdir_p(p, 0755, NULL) == 0);
	snprintf(p, sizeof(p), "%s/abs", root);
	CHECK(symlink("/real", p) == 0); /* absolute: means ROOT/real */
	snprintf(p, sizeof(p), "%s/rel", root);
	CHECK(symlink("real/dir", p) == 0);
	snprintf(p, sizeof(p), "%s/escape", root);
	CHECK(symlink("../../../../../../etc", p) == 0);
	snprintf(p, sizeof(p), "%s/etcabs", root);
	CHECK(symlink("/etc/shadow", p) == 0);
	snprintf(p, sizeof(p), "%s/loop", root);
	CHECK(symlink("loop", p) == 0);
	snprintf(p, sizeof(p), "%s/real/dir/up", root);
	CHECK(symlink("../..", p) == 0);

	CHECK_JOIN(root, "/abs/dir", "/real/dir");
	CHECK_JOIN(root, "/rel/x", "/real/dir/x");
	CHECK_JOIN(root, "/escape/passwd", "/etc/passwd");
	CHECK_JOIN(root, "/etcabs", "/etc/shadow");
	CHECK_JOIN(root, "/rel/up/abs", "/real");
	CHECK_JOIN(root, "/rel/up/rel/up/escape", "/etc");
	CHECK_JOIN(root, "/missing/../abs", "/real");

	struct vc_error err = {0};
	char *out = NULL;
	CHECK(agent_path_in_root(root, "/loop/x", &out, &err) == -ELOOP);
	CHECK(out == NULL);
	CHECK_CONTAINS(err.msg, "symlinks");
}

VC_TEST(test_mkdest)
{
	char p[PATH_MAX];
	struct stat st;
	snprintf(p, sizeof(p), "%s/dest/a/b/file", vc_unit_tmpdir());
	CHECK(agent_mkdest(p, true, NULL) == 0);
	CHECK(stat(p, &st) == 0 && S_ISREG(st.st_mode));
	CHECK(agent_mkdest(p, true, NULL) == 0); /* existing: fine */
	snprintf(p, sizeof(p), "%s/dest/c/d", vc_unit_tmpdir());
	CHECK(agent_mkdest(p, false, NULL) == 0);
	CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
}

VC_TEST(test_passwd_home)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/passwd", vc_unit_tmpdir());
	const char *text = "# comment\n"
			   "root:x:0:0:root:/root:/bin/sh\n"
			   "broken line\n"
			   "daemon:x:1:1::/usr/sbin\n"
			   "nohome:x:7:7:x::/bin/sh\n"
			   "app:x:1000:1000:App,,,:/home/app:/bin/sh";
	CHECK(vc_write_file(p, text, strlen(text), NULL) == 0);
	_cleanup_free_ char *h0 = agent_passwd_home(p, 0);
	_cleanup_free_ char *h1 = agent_passwd_home(p, 1);
	_cleanup_free_ char *h1000 = agent_passwd_home(p, 1000);
	CHECK_STR(h0, "/root");
	CHECK_STR(h1, "/usr/sbin");
	CHECK_STR(h1000, "/home/app");
	CHECK(agent_passwd_home(p, 7) == NULL);
	CHECK(agent_passwd_home(p, 4242) == NULL);
	CHECK(agent_passwd_home("/nonexistent/passwd", 0) == NULL);
}

VC_TEST(test_lookup_exe)
{
	char dir[PATH_MAX], exe[PATH_MAX + 16], noexec[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/bin", vc_unit_tmpdir());
	CHECK(vc_mkdir_p(dir, 0755, NULL) == 0);
	snprintf(exe, sizeof(exe), "%s/tool", dir);
	snprintf(noexec, sizeof(noexec), "%s/data", dir);
	CHECK(vc_write_file(exe, "#!/bin/sh\n", 10, NULL) == 0);
	CHECK(chmod(exe, 0755) == 0);
	CHECK(vc_write_file(noexec, "x", 1, NULL) == 0);

	char pathvar[PATH_MAX + 32];
	snprintf(pathvar, sizeof(pathvar), "PATH=/nonexistent:%s", dir);
	char *env[] = {"A=1", pathvar, NULL};
	_cleanup_free_ char *found = NULL;
	struct vc_error err = {0};
	CHECK(agent_lookup_exe("tool", env, &found, &err) == 0);
	CHECK_STR(found, exe);

	char *out = NULL;
	CHECK(agent_lookup_exe("data", env, &out, &err) == -ENOENT);
	CHECK_STR(err.msg, "exec: \"data\": executable file not found in $PATH");
	char *nopath[] = {"A=1", NULL};
	CHECK(agent_lookup_exe("tool", nopath, &out, &err) == -ENOENT);
	/* No PATH at all: the usual directories, as crun looks (ctr --rootfs sets no env). */
	_cleanup_free_ char *sh = NULL;
	CHECK(agent_lookup_exe("sh", nopath, &sh, &err) == 0);
	CHECK(!strcmp(sh, "/usr/bin/sh") || !strcmp(sh, "/bin/sh"));
	CHECK(agent_lookup_exe(noexec, env, &out, &err) == -EACCES);
	CHECK_CONTAINS(err.msg, "permission denied");
	CHECK(agent_lookup_exe("/nonexistent/x", env, &out, &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, "exec: \"/nonexistent/x\": stat /nonexistent/x");
	_cleanup_free_ char *abs = NULL;
	CHECK(agent_lookup_exe(exe, NULL, &abs, &err) == 0);
	CHECK_STR(abs, exe);
}

static struct vc_oci_spec *parse_spec(const char *json)
{
	struct vc_oci_spec *s = NULL;
	struct vc_error err = {0};
	if (vc_oci_spec_parse(json, strlen(json), "test", &s, &err) < 0)
		fprintf(stderr, "# parse: %s\n", err.msg);
	return s;
}

VC_TEST(test_seccomp_build)
{
	_cleanup_spec_ struct vc_oci_spec *s = parse_spec(
		"{\"ociVersion\":\"1.2.0\",\"linux\":{\"seccomp\":{"
		"\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
		"\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],"
		"\"syscalls\":[{\"names\":[\"read\",\"write\",\"no_such_syscall\"],"
		"\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		"{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"},"
		"{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]},"
		"{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		"{\"index\":0,\"value\":2114060288,\"valueTwo\":0,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"
		"{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}]}}}");
	CHECK(s && s->linux && s->linux->seccomp);
	void *ctx = NULL;
	struct vc_error err = {0};
	CHECK(agent_seccomp_build(s->linux->seccomp, &ctx, &err) == 0);
	CHECK(ctx != NULL);
	agent_seccomp_free(ctx);

	CHECK(agent_seccomp_build(NULL, &ctx, &err) == 0);
	CHECK(ctx == NULL);
}

VC_TEST(test_seccomp_build_errors)
{
	_cleanup_spec_ struct vc_oci_spec *s =
		parse_spec("{\"ociVersion\":\"1.2.0\",\"linux\":{\"seccomp\":{"
			   "\"defaultAction\":\"SCMP_ACT_NOTIFY\"}}}");
	CHECK(s && s->linux && s->linux->seccomp);
	void *ctx = NULL;
	struct vc_error err = {0};
	CHECK(agent_seccomp_build(s->linux->seccomp, &ctx, &err) == -ENOTSUP);
	CHECK_CONTAINS(err.msg, "SCMP_ACT_NOTIFY");
	CHECK(ctx == NULL);
}

static bool put(const char *dir, const char *rel, const char *text)
{
	_cleanup_free_ char *p = vc_strdup_printf("%s/%s", dir, rel);
	_cleanup_free_ char *d = p ? strdup(p) : NULL;
	if (!d)
		return false;
	*strrchr(d, '/') = '\0';
	return vc_mkdir_p(d, 0755, NULL) == 0 &&
	       (!*text || vc_write_file(p, text, strlen(text), NULL) == 0);
}

static char *get(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = vc_strdup_printf("%s/%s", dir, rel);
	char *s = NULL;
	if (p && vc_read_file(p, 64, &s, NULL, NULL) < 0)
		return NULL;
	return s;
}

/* cpu0 has no online file (it cannot go offline), cpu1 is offline (hot-plugged),
 * cpu2 online; "cpufreq" and "cpu1x" are not vCPUs. */
VC_TEST(test_online_cpus)
{
	_cleanup_free_ char *sys = vc_strdup_printf("%s/sys", vc_unit_tmpdir());
	CHECK(sys && put(sys, "devices/system/cpu/cpu0/topology", "") &&
	      put(sys, "devices/system/cpu/cpu1/online", "0\n") &&
	      put(sys, "devices/system/cpu/cpu2/online", "1\n") &&
	      put(sys, "devices/system/cpu/cpufreq/online", "0\n") &&
	      put(sys, "devices/system/cpu/cpu1x/online", "0\n"));
	uint32_t online = 0;
	struct vc_error err = {0};
	CHECK(agent_online_cpus(sys, 3, 0, &online, &err) == 0);
	CHECK(online == 3);
	_cleanup_free_ char *c1 = get(sys, "devices/system/cpu/cpu1/online");
	_cleanup_free_ char *other = get(sys, "devices/system/cpu/cpufreq/online");
	CHECK_STR(c1, "1");
	CHECK_STR(other, "0\n");
	/* One more than there is: bounded by wait_ms, and said. */
	unsigned long long t0 = vc_now_ns();
	CHECK(agent_online_cpus(sys, 4, 200, &online, &err) == -ETIMEDOUT);
	CHECK((vc_now_ns() - t0) / 1000000ULL < 3000);
	CHECK(online == 3);
	CHECK_CONTAINS(err.msg, "3 vCPUs online after 200 ms, not 4");
}

VC_TESTS(VC_T(test_mount_opts_flags), VC_T(test_mount_opts_clear_and_bind),
	 VC_T(test_mount_opts_devpts_and_recursive), VC_T(test_mount_opts_errors),
	 VC_T(test_propagation_parse), VC_T(test_path_in_root_lexical),
	 VC_T(test_path_in_root_symlinks), VC_T(test_mkdest), VC_T(test_passwd_home),
	 VC_T(test_lookup_exe), VC_T(test_seccomp_build), VC_T(test_seccomp_build_errors),
	 VC_T(test_online_cpus))
