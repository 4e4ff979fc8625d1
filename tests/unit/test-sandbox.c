/* lib/sandbox.c: which sandbox a new container joins, against a state root made
 * here. A "live" container's monitor is this test process (alive, with its start
 * time); its stand-in is a child that holds namespaces of its own. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/sandbox.h"
#include "lib/state.h"
#include "oci/json.h"
#include "unit.h"

static char *root_dir(const char *name)
{
	char *r = vc_strdup_printf("%s/%s", vc_unit_tmpdir(), name);
	vc_mkdir_p(r, 0700, NULL);
	return r;
}

/* A spec with annotations (JSON object text) and namespaces (JSON array text). */
static struct vc_oci_spec *spec_with(const char *annotations, const char *namespaces)
{
	_cleanup_free_ char *more = vc_strdup_printf(
		"\"annotations\":%s,\"linux\":{\"namespaces\":%s}", annotations, namespaces);
	return vc_unit_spec(more);
}

/* A stand-in stand-in: a child in new ipc and uts namespaces, until killed. */
static pid_t holder(void)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		char ok = unshare(CLONE_NEWIPC | CLONE_NEWUTS) == 0 ? 'y' : 'n';
		(void)!write(p[1], &ok, 1);
		pause();
		_exit(0);
	}
	close(p[1]);
	char ok = 'n';
	(void)!read(p[0], &ok, 1);
	close(p[0]);
	if (ok != 'y') {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

static void holder_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

VC_TEST(annotations_containerd)
{
	_cleanup_free_ char *root = root_dir("cd");
	vc_unit_add_container(root, "pause", "pause", "pod-1", true, true, 0);
	vc_unit_add_container(root, "dead", "dead", "pod-2", true, false, 0);
	struct vc_sandbox_join j;
	struct vc_error err = {0};

	_cleanup_spec_ struct vc_oci_spec *sb = spec_with(
		"{\"" VC_ANNOT_CRI_TYPE "\":\"sandbox\",\"" VC_ANNOT_CRI_SANDBOX_ID "\":\"pod-9\"}",
		"[]");
	CHECK(vc_sandbox_resolve(root, "new", sb, &j, &err) == 0);
	CHECK(!j.owner && j.pod_sandbox);
	CHECK_STR(j.key, "pod-9");
	vc_sandbox_join_release(&j);

	/* by the sandbox container's id, and by the CRI sandbox id it started */
	const char *keys[] = {"pause", "pod-1"};
	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *a =
			vc_strdup_printf("{\"" VC_ANNOT_CRI_TYPE
					 "\":\"container\",\"" VC_ANNOT_CRI_SANDBOX_ID "\":\"%s\"}",
					 keys[i]);
		_cleanup_spec_ struct vc_oci_spec *c = spec_with(a, "[]");
		CHECK(vc_sandbox_resolve(root, "app", c, &j, &err) == 0);
		CHECK_STR(j.owner, "pause");
		CHECK(!j.pod_sandbox);
		vc_sandbox_join_release(&j);
	}

	/* containerd's pause container always comes first: an unknown id is an error */
	_cleanup_spec_ struct vc_oci_spec *unknown =
		spec_with("{\"" VC_ANNOT_CRI_TYPE "\":\"container\",\"" VC_ANNOT_CRI_SANDBOX_ID
			  "\":\"nope\"}",
			  "[]");
	CHECK(vc_sandbox_resolve(root, "app", unknown, &j, &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, VC_ANNOT_CRI_SANDBOX_ID);
	CHECK_CONTAINS(err.msg, "nope");
	_cleanup_spec_ struct vc_oci_spec *stopped =
		spec_with("{\"" VC_ANNOT_CRI_TYPE "\":\"container\",\"" VC_ANNOT_CRI_SANDBOX_ID
			  "\":\"dead\"}",
			  "[]");
	CHECK(vc_sandbox_resolve(root, "app", stopped, &j, &err) == -ESRCH);
	CHECK_CONTAINS(err.msg, "has stopped");
	_cleanup_spec_ struct vc_oci_spec *no_id =
		spec_with("{\"" VC_ANNOT_CRI_TYPE "\":\"container\"}", "[]");
	CHECK(vc_sandbox_resolve(root, "app", no_id, &j, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, VC_ANNOT_CRI_SANDBOX_ID);
	_cleanup_spec_ struct vc_oci_spec *bad_type =
		spec_with("{\"" VC_ANNOT_CRI_TYPE "\":\"pod\"}", "[]");
	CHECK(vc_sandbox_resolve(root, "app", bad_type, &j, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "`pod`");
}

/* CRI-O (and podman): the first container naming an unknown SandboxID starts the
 * sandbox under it; the next one finds it by that key. */
VC_TEST(annotations_crio_without_infra)
{
	_cleanup_free_ char *root = root_dir("crio");
	struct vc_sandbox_join j;
	struct vc_error err = {0};
	_cleanup_spec_ struct vc_oci_spec *c =
		spec_with("{\"" VC_ANNOT_CRIO_TYPE "\":\"container\",\"" VC_ANNOT_CRIO_SANDBOX_ID
			  "\":\"sbx\"}",
			  "[]");
	CHECK(vc_sandbox_resolve(root, "m1", c, &j, &err) == 0);
	CHECK(!j.owner && !j.pod_sandbox);
	CHECK_STR(j.key, "sbx");
	vc_sandbox_join_release(&j);
	vc_unit_add_container(root, "m1", "m1", "sbx", false, true, 0);
	CHECK(vc_sandbox_resolve(root, "m2", c, &j, &err) == 0);
	CHECK_STR(j.owner, "m1");
	vc_sandbox_join_release(&j);
	/* A member names its sandbox's owner, not itself. */
	vc_unit_add_container(root, "m2", "m1", "sbx", false, true, 0);
	_cleanup_spec_ struct vc_oci_spec *by_member =
		spec_with("{\"" VC_ANNOT_CRIO_TYPE "\":\"container\",\"" VC_ANNOT_CRIO_SANDBOX_ID
			  "\":\"m2\"}",
			  "[]");
	CHECK(vc_sandbox_resolve(root, "m3", by_member, &j, &err) == 0);
	CHECK_STR(j.owner, "m1");
	vc_sandbox_join_release(&j);
}

/* A namespace path held by a stand-in: compared by device and inode; the host's own
 * namespaces say nothing; two sandboxes at once are an error naming both. */
VC_TEST(namespaces_by_inode)
{
	_cleanup_free_ char *root = root_dir("ns");
	pid_t a = holder(), b = holder();
	CHECK(a > 0 && b > 0);
	vc_unit_add_container(root, "x", "x", "", false, true, a);
	vc_unit_add_container(root, "y", "y", "", false, true, b);
	struct vc_sandbox_join j;
	struct vc_error err = {0};

	_cleanup_free_ char *ns = vc_strdup_printf(
		"[{\"type\":\"ipc\",\"path\":\"/proc/%d/ns/ipc\"},{\"type\":\"uts\"},"
		"{\"type\":\"network\",\"path\":\"/proc/self/ns/net\"}]",
		(int)a);
	_cleanup_spec_ struct vc_oci_spec *s = spec_with("{}", ns);
	int r = vc_sandbox_resolve(root, "z", s, &j, &err);
	CHECK(r == 0);
	CHECK_STR(j.owner, "x");
	CHECK_STR(j.ns_member[VC_NS_IPC], "x");
	CHECK(!j.ns_member[VC_NS_UTS] && !j.ns_member[VC_NS_NETWORK]);
	/* The guest spec: x's ipc namespace; the host's network path is dropped. */
	_cleanup_json_ struct vc_json *guest = vc_json_clone(s->raw);
	CHECK(vc_sandbox_guest_namespaces(guest, &j, &err) == 0);
	const struct vc_json *gns = vc_json_get(vc_json_get(guest, "linux"), "namespaces");
	CHECK(gns && gns->u.array.len == 3);
	CHECK_STR(vc_json_str(vc_json_get(gns->u.array.items[0], "path")),
		  VC_GUEST_NS_CONTAINER_PREFIX "x");
	CHECK(!vc_json_get(gns->u.array.items[1], "path"));
	CHECK(!vc_json_get(gns->u.array.items[2], "path"));
	vc_sandbox_join_release(&j);

	_cleanup_free_ char *two =
		vc_strdup_printf("[{\"type\":\"ipc\",\"path\":\"/proc/%d/ns/ipc\"},"
				 "{\"type\":\"uts\",\"path\":\"/proc/%d/ns/uts\"}]",
				 (int)a, (int)b);
	_cleanup_spec_ struct vc_oci_spec *both = spec_with("{}", two);
	CHECK(vc_sandbox_resolve(root, "z", both, &j, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "linux.namespaces[1]");
	CHECK_CONTAINS(err.msg, "sandbox y");
	CHECK_CONTAINS(err.msg, "sandbox x");

	/* The pod's sandbox container cannot take another sandbox's namespace. */
	_cleanup_spec_ struct vc_oci_spec *pod =
		spec_with("{\"" VC_ANNOT_CRI_TYPE "\":\"sandbox\"}", ns);
	CHECK(vc_sandbox_resolve(root, "z", pod, &j, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "belongs to container x");

	/* A stand-in that is gone holds nothing. */
	holder_stop(a);
	CHECK(vc_sandbox_resolve(root, "z", s, &j, &err) == 0);
	CHECK(!j.owner);
	vc_sandbox_join_release(&j);
	holder_stop(b);
}

/* A stand-in of a spec with a pid namespace: PID 1 of a new one, until killed. */
static pid_t pid_holder(void)
{
	long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWPID | SIGCHLD), 0UL, 0UL, 0UL, 0UL);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return (pid_t)pid;
}

/* A pid namespace path is matched by device and inode too, whatever its spelling;
 * the host's own says nothing. */
VC_TEST(pid_namespace_by_inode)
{
	_cleanup_free_ char *root = root_dir("pidns");
	pid_t a = pid_holder();
	CHECK(a > 0);
	vc_unit_add_container(root, "p", "p", "", false, true, a);
	struct vc_sandbox_join j;
	struct vc_error err = {0};
	_cleanup_free_ char *ns = vc_strdup_printf(
		"[{\"type\":\"pid\",\"path\":\"/proc/%d/task/%d/ns/pid\"}]", (int)a, (int)a);
	_cleanup_spec_ struct vc_oci_spec *s = spec_with("{}", ns);
	CHECK(vc_sandbox_resolve(root, "q", s, &j, &err) == 0);
	CHECK_STR(j.owner, "p");
	CHECK_STR(j.ns_member[VC_NS_PID], "p");
	vc_sandbox_join_release(&j);

	/* A stand-in in the host's pid namespace holds none of its own. */
	pid_t b = holder();
	CHECK(b > 0);
	vc_unit_add_container(root, "h", "h", "", false, true, b);
	_cleanup_free_ char *host =
		vc_strdup_printf("[{\"type\":\"pid\",\"path\":\"/proc/%d/ns/pid\"}]", (int)b);
	_cleanup_spec_ struct vc_oci_spec *hs = spec_with("{}", host);
	CHECK(vc_sandbox_resolve(root, "q", hs, &j, &err) == 0);
	CHECK(!j.owner);
	vc_sandbox_join_release(&j);
	holder_stop(b);

	holder_stop(a);
	CHECK(vc_sandbox_resolve(root, "q", s, &j, &err) == 0);
	CHECK(!j.owner);
	vc_sandbox_join_release(&j);
}

VC_TEST(host_names_differ_by_root)
{
	_cleanup_free_ char *a = vc_sandbox_host_name("/run/a", "c");
	_cleanup_free_ char *b = vc_sandbox_host_name("/run/b", "c");
	CHECK(a && b && strcmp(a, b));
	CHECK(strlen(a) == 8 + 1 + 1 && a[8] == '-' && a[9] == 'c');
	_cleanup_free_ char *share = vc_sandbox_share_dir("/run/a", "c");
	_cleanup_free_ char *want = vc_strdup_printf(VC_SHARE_RUN_DIR "/%s", a);
	CHECK_STR(share, want);
}

VC_TESTS(VC_T(annotations_containerd), VC_T(annotations_crio_without_infra),
	 VC_T(namespaces_by_inode), VC_T(pid_namespace_by_inode), VC_T(host_names_differ_by_root))
