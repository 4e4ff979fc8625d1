/* The stand-in's host namespaces (--ns TYPE[:PATH], --uid-map, --gid-map), in
 * runc's nsexec order: every namespace named by path is joined first (a user
 * namespace before all others), then a new user namespace is made and mapped, then
 * the other new ones, which it therefore owns. A pid namespace (new or joined) holds
 * only the children of whoever entered it, so the stand-in proper is a child made
 * with CLONE_PARENT: still the caller's child (run waits for it), and in a new pid
 * namespace its PID 1. The cgroup namespace waits for the go-ahead, once create has
 * put the stand-in in the container's cgroup. */
#include "lib/standin.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/spawn.h"
#include "oci/spec.h"

static const struct {
	const char *name;
	int flag;
} ns_types[] = {
	{"network", CLONE_NEWNET}, {"ipc", CLONE_NEWIPC},	{"uts", CLONE_NEWUTS},
	{"mount", CLONE_NEWNS},	   {"cgroup", CLONE_NEWCGROUP}, {"pid", CLONE_NEWPID},
	{"user", CLONE_NEWUSER},
};

struct ns_arg {
	const char *arg, *path; /* path NULL: a new namespace */
	int len, flag;
};

static int ns_parse(const char *arg, struct ns_arg *out, struct vc_error *err)
{
	const char *colon = strchr(arg, ':');
	size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
	*out = (struct ns_arg){.arg = arg, .path = colon ? colon + 1 : NULL, .len = (int)len};
	for (size_t i = 0; i < VC_ARRAY_SIZE(ns_types); i++)
		if (strlen(ns_types[i].name) == len && !strncmp(ns_types[i].name, arg, len))
			out->flag = ns_types[i].flag;
	if (!out->flag)
		return vc_error_set(err, EINVAL, "--ns %s: unknown namespace type", arg);
	return 0;
}

static int join(const struct ns_arg *n, struct vc_error *err)
{
	_cleanup_close_ int fd = open(n->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vc_error_sys(err, errno, "linux.namespaces: %.*s namespace `%s`", n->len,
				    n->arg, n->path);
	if (setns(fd, n->flag) < 0)
		return vc_error_sys(err, errno, "linux.namespaces: join the %.*s namespace `%s`",
				    n->len, n->arg, n->path);
	return 0;
}

int vc_standin_id_map_text(const char *arg, char *out, size_t size)
{
	size_t used = 0;
	out[0] = '\0';
	while (*arg) {
		unsigned long c, h, s;
		int end = 0;
		if (sscanf(arg, "%lu:%lu:%lu%n", &c, &h, &s, &end) != 3 || c > UINT32_MAX ||
		    h > UINT32_MAX || s == 0 || s > UINT32_MAX ||
		    (arg[end] && (arg[end] != ',' || !arg[end + 1])))
			return -EINVAL;
		int n = snprintf(out + used, size - used, "%lu %lu %lu\n", c, h, s);
		if (n < 0 || (size_t)n >= size - used)
			return -E2BIG;
		used += (size_t)n;
		arg += end + (arg[end] == ',');
	}
	return used ? 0 : -EINVAL;
}

static int write_map(pid_t pid, const char *file, const char *field, const char *text,
		     struct vc_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	int r = vc_write_file(path, text, strlen(text), err);
	/* Without CAP_SETGID over the parent namespace a gid map needs setgroups
	 * denied first (user_namespaces(7)); root has it, so runc never denies. */
	if (r == -EPERM && !strcmp(file, "gid_map")) {
		char sg[64];
		snprintf(sg, sizeof(sg), "/proc/%d/setgroups", (int)pid);
		if (vc_write_file(sg, "deny", 4, NULL) == 0)
			r = vc_write_file(path, text, strlen(text), err);
	}
	return r < 0 ? vc_error_wrap(err, "linux.%s", field) : 0;
}

/* Where the kernel allows: a host that forbids new user or pid namespaces (a
 * nested runtime, user.max_user_namespaces 0, the depth limit) leaves the stand-in
 * in the caller's, as before it held them; the guest makes the container's anyway. */
static bool kernel_refuses(int e)
{
	return e == EPERM || e == EINVAL || e == ENOSPC || e == EUSERS;
}

/* The maps are written from outside: only a process of the parent namespace may
 * write a map other than its own id. A child forked before the unshare waits for
 * it, writes both maps for us and reports on a pipe. */
static int new_user_ns(const struct vc_helper_args *a, struct vc_error *err)
{
	char uid_map[4096], gid_map[4096];
	if (!a->uid_map || vc_standin_id_map_text(a->uid_map, uid_map, sizeof(uid_map)) < 0)
		return vc_error_set(err, EINVAL, "linux.uidMappings: `%s`: not a valid mapping",
				    a->uid_map ? a->uid_map : "");
	if (!a->gid_map || vc_standin_id_map_text(a->gid_map, gid_map, sizeof(gid_map)) < 0)
		return vc_error_set(err, EINVAL, "linux.gidMappings: `%s`: not a valid mapping",
				    a->gid_map ? a->gid_map : "");
	pid_t self = getpid();
	int gate[2], report[2];
	if (pipe2(gate, O_CLOEXEC) < 0)
		return vc_error_sys(err, errno, "pipe");
	if (pipe2(report, O_CLOEXEC) < 0) {
		close(gate[0]);
		close(gate[1]);
		return vc_error_sys(err, errno, "pipe");
	}
	pid_t writer = fork();
	if (writer == 0) {
		close(gate[1]);
		close(report[0]);
		char go = 0;
		struct vc_error werr = {0};
		if (read(gate[0], &go, 1) == 1 &&
		    (write_map(self, "uid_map", "uidMappings", uid_map, &werr) < 0 ||
		     write_map(self, "gid_map", "gidMappings", gid_map, &werr) < 0))
			vc_write_all(report[1], werr.msg, strlen(werr.msg));
		_exit(0);
	}
	close(gate[0]);
	close(report[1]);
	int r = 0;
	if (writer < 0)
		r = vc_error_sys(err, errno, "fork");
	else if (unshare(CLONE_NEWUSER) < 0)
		r = kernel_refuses(errno)
			    ? 0
			    : vc_error_sys(err, errno,
					   "linux.namespaces: unshare a user namespace");
	else if (vc_write_all(gate[1], "g", 1) < 0)
		r = vc_error_sys(err, errno, "write");
	close(gate[1]);
	char msg[sizeof(err->msg)];
	ssize_t n = writer > 0 ? read(report[0], msg, sizeof(msg) - 1) : 0;
	close(report[0]);
	if (writer > 0)
		waitpid(writer, NULL, 0);
	if (r == 0 && n > 0) {
		msg[n] = '\0';
		r = vc_error_set(err, EINVAL, "%s", msg);
	}
	return r;
}

/* The stand-in proper: our child's pid (as the caller's namespace sees it, where
 * ours is) goes to the caller first, on the sync socket, then the child goes on and
 * we leave. Returns 1 in the leaving parent, 0 in the child. */
static int fork_into_pid_ns(int sync_fd, struct vc_error *err)
{
	int gate[2];
	if (pipe2(gate, O_CLOEXEC) < 0)
		return vc_error_sys(err, errno, "pipe");
	/* Only the raw call takes CLONE_PARENT; arguments past the flags are zero,
	 * which reads the same in every architecture's argument order. */
	long child =
		syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD), 0UL, 0UL, 0UL, 0UL);
	if (child < 0) {
		int e = errno;
		close(gate[0]);
		close(gate[1]);
		return vc_error_sys(err, e,
				    "linux.namespaces: start the stand-in in its pid namespace");
	}
	if (child == 0) {
		char go = 0;
		close(gate[1]);
		ssize_t k;
		while ((k = read(gate[0], &go, 1)) < 0 && errno == EINTR)
			;
		close(gate[0]);
		return k == 1 ? 0 : vc_error_set(err, EPIPE, "the stand-in's parent went away");
	}
	close(gate[0]);
	char line[32];
	int n = snprintf(line, sizeof(line), "pid %ld\n", child);
	int r = vc_write_all(sync_fd, line, (size_t)n);
	if (r == 0)
		r = vc_write_all(gate[1], "g", 1);
	close(gate[1]);
	if (r < 0) {
		kill((pid_t)child, SIGKILL);
		return vc_error_sys(err, -r, "write");
	}
	return 1;
}

int vc_standin_enter_namespaces(const struct vc_helper_args *a, bool late, struct vc_error *err)
{
	struct ns_arg ns[VC_ARRAY_SIZE(a->ns)];
	bool new_user = false, pid = false, mnt = false;
	for (size_t i = 0; i < a->n_ns; i++) {
		int r = ns_parse(a->ns[i], &ns[i], err);
		if (r < 0)
			return r;
	}
	if (late) {
		for (size_t i = 0; i < a->n_ns; i++) {
			if (ns[i].flag != CLONE_NEWCGROUP)
				continue;
			int r = ns[i].path ? join(&ns[i], err) : 0;
			if (r < 0)
				return r;
			if (!ns[i].path && unshare(CLONE_NEWCGROUP) < 0)
				return vc_error_sys(err, errno, "unshare a cgroup namespace");
		}
		return 0;
	}
	/* Paths first, the user namespace's before the others: joined namespaces
	 * belong to the user namespace joined with them. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < a->n_ns; i++) {
			bool user = ns[i].flag == CLONE_NEWUSER;
			if (!ns[i].path || ns[i].flag == CLONE_NEWCGROUP || user != (pass == 0))
				continue;
			int r = join(&ns[i], err);
			if (r < 0)
				return r;
		}
	for (size_t i = 0; i < a->n_ns; i++) {
		new_user |= ns[i].flag == CLONE_NEWUSER && !ns[i].path;
		pid |= ns[i].flag == CLONE_NEWPID;
		mnt |= ns[i].flag == CLONE_NEWNS;
	}
	int r;
	if (new_user && (r = new_user_ns(a, err)) < 0)
		return r;
	for (size_t i = 0; i < a->n_ns; i++) {
		int f = ns[i].flag;
		if (ns[i].path || f == CLONE_NEWUSER || f == CLONE_NEWCGROUP)
			continue;
		if (unshare(f) == 0)
			continue;
		if (f == CLONE_NEWPID && kernel_refuses(errno))
			pid = false;
		else
			return vc_error_sys(err, errno,
					    "linux.namespaces: unshare a %.*s namespace", ns[i].len,
					    ns[i].arg);
	}
	/* Our mounts follow the host's (a pin or a share unmounted there goes here
	 * too), and nothing of ours propagates back. */
	if (mnt && mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return vc_error_sys(err, errno, "make the stand-in's mounts slaves");
	return pid ? fork_into_pid_ns(a->sync_fd, err) : 0;
}

/* "C:H:S,..." for --uid-map / --gid-map; NULL on ENOMEM. */
static char *id_map_arg(const struct vc_oci_id_mapping *m, size_t n)
{
	char *out = strdup("");
	for (size_t i = 0; out && i < n; i++) {
		char *next = vc_strdup_printf("%s%s%u:%u:%u", out, i ? "," : "", m[i].container_id,
					      m[i].host_id, m[i].size);
		free(out);
		out = next;
	}
	return out;
}

int vc_standin_ns_args(const struct vc_oci_spec *spec, const char *netns_path, char ***argv)
{
	const struct vc_oci_linux *l = spec->linux;
	for (size_t i = 0; l && i < l->n_namespaces; i++) {
		const struct vc_oci_namespace *ns = &l->namespaces[i];
		const char *path = ns->path;
		if (ns->type == VC_NS_NETWORK)
			path = netns_path;
		else if (ns->type != VC_NS_IPC && ns->type != VC_NS_UTS &&
			 ns->type != VC_NS_MOUNT && ns->type != VC_NS_CGROUP &&
			 ns->type != VC_NS_PID && ns->type != VC_NS_USER)
			continue;
		/* The guest refuses a user namespace path, and one without both
		 * mappings in runc's words (agent/userns.c): the stand-in lets it. */
		if (ns->type == VC_NS_USER && (path || !l->n_uid_mappings || !l->n_gid_mappings))
			continue;
		_cleanup_free_ char *arg =
			path ? vc_strdup_printf("%s:%s", vc_oci_ns_name(ns->type), path)
			     : strdup(vc_oci_ns_name(ns->type));
		if (!arg || vc_strv_push(argv, "--ns") < 0 || vc_strv_push(argv, arg) < 0)
			return -ENOMEM;
		if (ns->type != VC_NS_USER)
			continue;
		_cleanup_free_ char *uids = id_map_arg(l->uid_mappings, l->n_uid_mappings);
		_cleanup_free_ char *gids = id_map_arg(l->gid_mappings, l->n_gid_mappings);
		if (!uids || !gids || vc_strv_push(argv, "--uid-map") < 0 ||
		    vc_strv_push(argv, uids) < 0 || vc_strv_push(argv, "--gid-map") < 0 ||
		    vc_strv_push(argv, gids) < 0)
			return -ENOMEM;
	}
	return 0;
}

void vc_standin_fault(int sig)
{
	switch (sig) {
	case SIGSEGV: {
		/* not NULL, which UBSan would take for a bug of ours */
		volatile uintptr_t nowhere = 8;
		*(volatile int *)nowhere = 0;
		break;
	}
	case SIGBUS: {
		int fd = memfd_create("standin-sigbus", MFD_CLOEXEC);
		volatile char *p =
			fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED)
			(void)*p; /* past the end of an empty file */
		break;
	}
	case SIGSYS: {
		/* seccomp's SECCOMP_RET_TRAP on the next system call */
		struct sock_filter trap = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
		struct sock_fprog prog = {.len = 1, .filter = &trap};
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0)
			syscall(SYS_getpid);
		break;
	}
#if defined(__x86_64__) || defined(__i386__)
	case SIGILL:
		__asm__ volatile("ud2");
		break;
	case SIGTRAP:
		__asm__ volatile("int3");
		break;
	case SIGFPE: {
		/* in assembly: in C, UBSan would take it for a bug of ours */
		int zero = 0;
		__asm__ volatile("xorl %%edx, %%edx\n\tmovl $1, %%eax\n\tidivl %0"
				 :
				 : "r"(zero)
				 : "eax", "edx");
		break;
	}
#elif defined(__aarch64__)
	case SIGILL:
		__asm__ volatile("udf #0");
		break;
	case SIGTRAP:
		__asm__ volatile("brk #0");
		break;
#endif
	default:
		break;
	}
}
