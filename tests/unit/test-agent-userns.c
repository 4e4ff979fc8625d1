/* The agent's user namespaces without a VM (the harness of test-agent.c): a rootfs
 * chowned to 100000 run under uidMappings/gidMappings 0 -> 100000, the mounts that
 * need care there (proc, sysfs, devpts, mqueue, cgroup, read-only remounts, device
 * binds), limits set from outside, exec joining the namespace, and runc's checks. */
#include <ftw.h>

#include "tests/unit/test-agent-harness.h"
#include "tests/unit/unit.h"

#define HOST_BASE 100000

static char urootfs[PATH_MAX], vol[PATH_MAX], ustore[PATH_MAX];

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return lchown(path, HOST_BASE + st->st_uid, HOST_BASE + st->st_gid) < 0 ? -1 : 0;
}

/* A second busybox rootfs, owned by the mapping's root, and a volume likewise. */
static bool userns_fixtures(void)
{
	static int state;
	if (state)
		return state > 0;
	state = -1;
	/* the container's root (host uid 100000) walks down to its rootfs */
	if (chmod(vc_unit_tmpdir(), 0711) < 0)
		return false;
	snprintf(urootfs, sizeof(urootfs), "%s/urootfs", vc_unit_tmpdir());
	snprintf(vol, sizeof(vol), "%s/vol", vc_unit_tmpdir());
	snprintf(ustore, sizeof(ustore), "%s/ust", vc_unit_tmpdir());
	if (!make_rootfs(urootfs) || vc_mkdir_p(vol, 0755, NULL) < 0)
		return false;
	static const char *const more[] = {"stat", "readlink", "mount", "cut"};
	for (size_t i = 0; i < VC_ARRAY_SIZE(more); i++) {
		char p[PATH_MAX + 16];
		snprintf(p, sizeof(p), "%s/bin/%s", urootfs, more[i]);
		if (symlink("busybox", p) < 0 && errno != EEXIST)
			return false;
	}
	if (nftw(urootfs, chown_one, 16, FTW_PHYS) < 0 || nftw(vol, chown_one, 4, FTW_PHYS) < 0)
		return false;
	state = 1;
	return true;
}

/* spec_json's spec with a user (and cgroup) namespace, the mappings, a volume and
 * what the caller adds to linux. */
static char *userns_spec(const char *args, const char *namespaces, const char *mappings,
			 const char *extra)
{
	_cleanup_free_ char *linux_extra =
		vc_strdup_printf("%s%s,\"devices\":[{\"path\":\"/dev/full\",\"type\":\"c\","
				 "\"major\":1,\"minor\":7}]",
				 mappings, extra ? extra : "");
	_cleanup_free_ char *base = spec_json(urootfs, args, false, linux_extra);
	if (!base || !linux_extra)
		return NULL;
	_cleanup_free_ char *bind =
		vc_strdup_printf("\"mounts\":[{\"destination\":\"/vol\",\"type\":\"bind\","
				 "\"source\":\"%s\",\"options\":[\"rbind\",\"nosuid\"]},"
				 "{\"destination\":\"/ro\",\"type\":\"bind\",\"source\":\"%s\","
				 "\"options\":[\"rbind\",\"ro\"]},",
				 vol, ustore);
	const char *from[] = {"{\"type\":\"mount\"}", "\"mounts\":[", "\"noNewPrivileges\":true"};
	const char *to[] = {namespaces, bind, "\"noNewPrivileges\":true,\"oomScoreAdj\":500"};
	char *s = steal_ptr(base);
	for (size_t i = 0; i < VC_ARRAY_SIZE(from) && s; i++) {
		char *at = strstr(s, from[i]);
		if (!at || !to[i]) {
			free(s);
			return NULL;
		}
		char *n =
			vc_strdup_printf("%.*s%s%s", (int)(at - s), s, to[i], at + strlen(from[i]));
		free(s);
		s = n;
	}
	return s;
}

#define NS_USER "{\"type\":\"mount\"},{\"type\":\"user\"},{\"type\":\"cgroup\"}"
#define MAPS                                                                       \
	",\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}]," \
	"\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}]"

static char *create(struct harness *h, const char *id, uint32_t stream, const char *spec)
{
	/* a storage mounted nosuid,nodev: in the container's namespace those flags are
	 * locked, and the "ro" remount of /ro must keep them */
	return CALL(h, VC_M_CREATE_CONTAINER,
		    "{\"container_id\":\"%s\",\"stream_id\":%u,\"storages\":[{\"source\":\"%s\","
		    "\"fstype\":\"bind\",\"mount_point\":\"%s\",\"options\":[\"nosuid\","
		    "\"nodev\"]}],\"spec\":%s}",
		    id, stream, vol, ustore, spec);
}

VC_TEST(test_userns_container)
{
	START(h);
	CHECK(userns_fixtures());
	const char *script =
		"id -u; id -g; stat -c %u:%g /bin/busybox; cat /proc/self/uid_map "
		"/proc/self/gid_map /proc/self/setgroups /proc/self/oom_score_adj; "
		"touch /vol/made && stat -c made=%u /vol/made; mkdir /tmp/t && stat -c tmp=%u "
		"/tmp/t; "
		"touch /rofile 2>/dev/null && echo rw || echo ro; "
		"stat -c dev=%F /dev/full /dev/null; ls /sys/kernel >/dev/null && echo sys; "
		"ls /sys/fs/cgroup/cgroup.procs >/dev/null && echo cgroup; "
		"cut -d' ' -f5,9 /proc/self/mountinfo | grep -E '^/dev/(pts|mqueue) '; "
		"echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null || echo sysro; "
		"grep -o ' /ro [^ ]* [^ ]*' /proc/self/mounts; touch /ro/x 2>/dev/null || echo "
		"rofail; "
		"readlink /proc/self/ns/user";
	_cleanup_free_ char *args = vc_strdup_printf("[\"sh\",\"-c\",\"%s\"]", script);
	_cleanup_free_ char *spec = userns_spec(args, NS_USER, MAPS, NULL);
	CHECK(spec);
	char *r = create(&h, "u", 1, spec);
	if (!is_ok(r))
		fprintf(stderr, "# %s\n", r ? r : "(none)");
	CHECK(is_ok(r));
	CHECK(is_ok(CALL(&h, VC_M_START_CONTAINER, "{\"container_id\":\"u\"}")));
	r = wait_process(&h, "u", NULL, 1, NULL);
	struct stream *s = stream_get(&h, 1);
	if (result_int(r, "exit_code") != 0 || !strstr(s->out, "0\n0\n0:0\n"))
		fprintf(stderr, "# stdout: %s\n# stderr: %s\n", s->out, s->err);
	CHECK(result_int(r, "exit_code") == 0);
	CHECK_CONTAINS(s->out, "0\n0\n0:0\n");
	CHECK_CONTAINS(s->out, "         0     100000      65536\n"
			       "         0     100000      65536\nallow\n500\n");
	CHECK_CONTAINS(s->out, "made=0\ntmp=0\nro\n");
	CHECK_CONTAINS(s->out, "dev=character special file\ndev=character special file\n");
	CHECK_CONTAINS(s->out, "sys\ncgroup\n");
	CHECK_CONTAINS(s->out, "/dev/pts devpts\n");
	CHECK_CONTAINS(s->out, "/dev/mqueue mqueue\n");
	CHECK_CONTAINS(s->out, "sysro\n /ro ");
	CHECK_CONTAINS(s->out, " ro,nosuid,nodev");
	CHECK_CONTAINS(s->out, "rofail\n");
	/* on the host: the mapping's uid */
	char made[PATH_MAX + 8];
	snprintf(made, sizeof(made), "%s/made", vol);
	struct stat st;
	CHECK(stat(made, &st) == 0 && st.st_uid == HOST_BASE && st.st_gid == HOST_BASE);
	unlink(made);
	/* a namespace of its own, not the test's */
	char mine[64] = "", theirs[64] = "";
	CHECK(readlink("/proc/self/ns/user", mine, sizeof(mine) - 1) > 0);
	const char *last = strrchr(s->out ? s->out : "", 'u');
	snprintf(theirs, sizeof(theirs), "%s", last ? last : "");
	CHECK(!strncmp(theirs, "user:[", 6) && strncmp(theirs, mine, strlen(mine)));
	CHECK(is_ok(CALL(&h, VC_M_REMOVE_CONTAINER, "{\"container_id\":\"u\"}")));
	STOP(h);
}

/* Without CAP_MKNOD the node is the guest's bound in: the one of the entry's number
 * (its kernel name), not the one at the container's path, which may be a rename (a
 * host disk at /dev/xvda is the guest's vdb) or nothing in the guest. */
VC_TEST(test_userns_renamed_device)
{
	START(h);
	CHECK(userns_fixtures());
	_cleanup_free_ char *base = userns_spec(
		"[\"sh\",\"-c\",\"head -c4 /dev/renamed | wc -c; stat -c %t:%T /dev/renamed\"]",
		NS_USER, MAPS, NULL);
	const char *old = "\"devices\":[{\"path\":\"/dev/full\"";
	char *at = base ? strstr(base, old) : NULL;
	CHECK(at);
	*at = '\0';
	_cleanup_free_ char *spec = vc_strdup_printf(
		"%s\"devices\":[{\"path\":\"/dev/renamed\",\"type\":\"c\",\"major\":1,"
		"\"minor\":9},{\"path\":\"/dev/full\"%s",
		base, at + strlen(old));
	char *r = create(&h, "rn", 4, spec);
	if (!is_ok(r))
		fprintf(stderr, "# %s\n", r ? r : "(none)");
	CHECK(is_ok(r));
	CHECK(is_ok(CALL(&h, VC_M_START_CONTAINER, "{\"container_id\":\"rn\"}")));
	r = wait_process(&h, "rn", NULL, 4, NULL);
	CHECK(result_int(r, "exit_code") == 0);
	struct stream *s = stream_get(&h, 4);
	CHECK(s && s->out);
	CHECK_STR(s->out, "4\n1:9\n");
	STOP(h);
}

VC_TEST(test_userns_exec)
{
	START(h);
	CHECK(userns_fixtures());
	_cleanup_free_ char *spec = userns_spec("[\"sleep\",\"100\"]", NS_USER, MAPS, NULL);
	CHECK(spec);
	/* a writable cgroupfs with a cgroup namespace: the cgroup is the process's host
	 * uid's (runc's OwnerUID) */
	char *ro = spec ? strstr(spec, "\"relatime\",\"ro\"]") : NULL;
	CHECK(ro);
	if (ro)
		memcpy(ro, "\"relatime\",\"rw\"]", 16);
	char *r = create(&h, "ue", 2, spec);
	if (!is_ok(r))
		fprintf(stderr, "# %s\n", r ? r : "(none)");
	CHECK(is_ok(r));
	r = CALL(&h, VC_M_START_CONTAINER, "{\"container_id\":\"ue\"}");
	CHECK(is_ok(r));
	r = CALL(&h, VC_M_LIST_PROCESSES, "{\"container_id\":\"ue\"}");
	char *p = r ? strstr(r, "\"pids\":[") : NULL;
	CHECK(p);
	long init = p ? strtol(p + 8, NULL, 10) : 0;
	const char *proc = "{\"args\":[\"sh\",\"-c\",\"id -u; stat -c %u /bin/busybox; "
			   "cat /proc/self/oom_score_adj; readlink /proc/self/ns/user; "
			   "stat -c %u /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup\"],"
			   "\"cwd\":\"/\",\"env\":[\"PATH=/bin\"],\"oomScoreAdj\":400,"
			   "\"user\":{\"uid\":1000,\"gid\":1000}}";
	r = CALL(&h, VC_M_EXEC_PROCESS,
		 "{\"container_id\":\"ue\",\"exec_id\":\"e\",\"stream_id\":3,\"process\":%s}",
		 proc);
	CHECK(is_ok(r));
	long epid = result_int(r, "pid");
	r = wait_process(&h, "ue", "e", 3, NULL);
	struct stream *s = stream_get(&h, 3);
	if (result_int(r, "exit_code") != 0)
		fprintf(stderr, "# stdout: %s\n# stderr: %s\n", s->out, s->err);
	CHECK(result_int(r, "exit_code") == 0);
	char path[64], want[64] = "";
	snprintf(path, sizeof(path), "/proc/%ld/ns/user", init);
	CHECK(readlink(path, want, sizeof(want) - 1) > 0);
	/* without cgroups in the harness: the guest root's, unmapped */
	const char *cg = cgroot[0] ? "0" : "65534";
	_cleanup_free_ char *expect = vc_strdup_printf("1000\n0\n400\n%s\n%s\n%s\n", want, cg, cg);
	CHECK_STR(s->out, expect);
	/* the exec's host uid is the mapped one */
	CHECK(epid > 0);
	CHECK(is_ok(CALL(&h, VC_M_REMOVE_CONTAINER, "{\"container_id\":\"ue\"}")));
	STOP(h);
}

VC_TEST(test_userns_refused)
{
	START(h);
	CHECK(userns_fixtures());
	static const struct {
		const char *ns, *maps, *want;
		int code;
	} cases[] = {
		{NS_USER, "",
		 "linux.uidMappings: User namespaces enabled, but no uid mappings found.", EINVAL},
		{NS_USER,
		 ",\"uidMappings\":[{\"containerID\":1,\"hostID\":100000,\"size\":10}],"
		 "\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":10}]",
		 "linux.uidMappings: User namespaces enabled, but no user mapping found.", EINVAL},
		{NS_USER, ",\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":10}]",
		 "linux.gidMappings: User namespaces enabled, but no gid mappings found.", EINVAL},
		{NS_USER,
		 ",\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":10}],"
		 "\"gidMappings\":[{\"containerID\":5,\"hostID\":100000,\"size\":10}]",
		 "linux.gidMappings: User namespaces enabled, but no group mapping found.", EINVAL},
		{"{\"type\":\"mount\"},{\"type\":\"user\",\"path\":\"/proc/1/ns/user\"}", MAPS,
		 "joining a user namespace (`/proc/1/ns/user`) is not supported", ENOTSUP},
		/* the kernel's own check: overlapping ranges */
		{NS_USER,
		 ",\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":10},"
		 "{\"containerID\":5,\"hostID\":200000,\"size\":10}],"
		 "\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":10}]",
		 "linux.uidMappings: write /proc/", EINVAL},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *spec =
			userns_spec("[\"true\"]", cases[i].ns, cases[i].maps, NULL);
		CHECK(spec);
		char *r = create(&h, "bad", 4, spec);
		if (err_code(r) != cases[i].code || !r || !strstr(r, cases[i].want))
			fprintf(stderr, "# case %zu: %s\n", i, r ? r : "(none)");
		CHECK(err_code(r) == cases[i].code);
		CHECK_CONTAINS(r, cases[i].want);
	}
	/* nothing left: the id is free */
	_cleanup_free_ char *spec = userns_spec("[\"true\"]", NS_USER, MAPS, NULL);
	CHECK(is_ok(create(&h, "bad", 4, spec)));
	STOP(h);
}

/* Pure helpers: no root needed. */
VC_TEST(test_userns_ids)
{
	struct vc_oci_id_mapping m[] = {{0, 100000, 10}, {1000, 200000, 1}};
	CHECK(agent_userns_host_id(m, 2, 0) == 100000);
	CHECK(agent_userns_host_id(m, 2, 9) == 100009);
	CHECK(agent_userns_host_id(m, 2, 10) == -1);
	CHECK(agent_userns_host_id(m, 2, 1000) == 200000);
	CHECK(agent_userns_host_id(m, 2, 1001) == -1);
	struct vc_oci_id_mapping big = {4294967290u, 1, 6};
	CHECK(agent_userns_host_id(&big, 1, 4294967295u) == 6);
	struct vc_oci_linux l = {.gid_mappings = m, .n_gid_mappings = 2};
	char out[64];
	struct vc_error err = {0};
	CHECK(agent_userns_gid_range(&l, "k", "0 0", out, sizeof(out), &err) == 0);
	CHECK_STR(out, "100000 100000");
	CHECK(agent_userns_gid_range(&l, "k", " 1\t1000 ", out, sizeof(out), &err) == 0);
	CHECK_STR(out, "100001 200000");
	CHECK(agent_userns_gid_range(&l, "k", "0 2147483647", out, sizeof(out), &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "group 2147483647 is not in linux.gidMappings");
	CHECK(agent_userns_gid_range(&l, "k", "0", out, sizeof(out), &err) == -EINVAL);
	CHECK(agent_userns_gid_range(&l, "k", "0 1 2", out, sizeof(out), &err) == -EINVAL);
	CHECK(agent_userns_gid_range(&l, "k", "-1 1", out, sizeof(out), &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "linux.sysctl k");
}

VC_TESTS(VC_T(test_userns_ids), VC_T(test_userns_container), VC_T(test_userns_renamed_device),
	 VC_T(test_userns_exec), VC_T(test_userns_refused))
