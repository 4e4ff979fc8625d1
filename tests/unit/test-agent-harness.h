/* The harness of test-agent.c: a busybox rootfs, an agent_serve() child on a
 * socketpair, frame helpers and a runc-like spec. Static functions: included by
 * one test program. */
#ifndef VC_TEST_AGENT_HARNESS_H
#define VC_TEST_AGENT_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent-proto/proto.h"
#include "agent/agent.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "tests/unit/unit.h"

/* each program that includes it uses a different part */
#pragma GCC diagnostic ignored "-Wunused-function"

static const char *const applets[] = {"sh",    "echo",	"cat",	"id",	 "hostname", "sleep",
				      "ls",    "uname", "wc",	"touch", "grep",     "seq",
				      "mkdir", "tty",	"stty", "head",	 "true"};

/* ---- one-time fixtures ----------------------------------------------------- */

static char rootfs[PATH_MAX];
static char cgroot[PATH_MAX]; /* empty: the agent runs without cgroups */

static bool copy_file(const char *from, const char *to, mode_t mode)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	if (vc_read_file(from, 64 << 20, &data, &len, NULL) < 0)
		return false;
	if (vc_write_file(to, data, len, NULL) < 0)
		return false;
	return chmod(to, mode) == 0;
}

/* A busybox-static rootfs built under dir; returns false when it cannot be. */
static bool make_rootfs(const char *dir)
{
	char p[PATH_MAX + 64];
	static const char *const dirs[] = {"bin", "proc", "sys", "dev", "tmp", "etc", "root"};
	for (size_t i = 0; i < VC_ARRAY_SIZE(dirs); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, dirs[i]);
		if (vc_mkdir_p(p, 0755, NULL) < 0)
			return false;
	}
	snprintf(p, sizeof(p), "%s/bin/busybox", dir);
	if (!copy_file("/bin/busybox", p, 0755))
		return false;
	for (size_t i = 0; i < VC_ARRAY_SIZE(applets); i++) {
		snprintf(p, sizeof(p), "%s/bin/%s", dir, applets[i]);
		if (symlink("busybox", p) < 0 && errno != EEXIST)
			return false;
	}
	const char *passwd = "root:x:0:0:root:/root:/bin/sh\n"
			     "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
	snprintf(p, sizeof(p), "%s/etc/passwd", dir);
	return vc_write_file(p, passwd, strlen(passwd), NULL) == 0;
}

/* Where the next agent looks for disks (NULL: the host's /sys and /dev). */
static const char *h_sysfs, *h_devroot;
static unsigned h_blk_wait_ms;

/* The agent of a test that failed before STOP: still running. */
static pid_t live_agent = -1;
static int live_fd = -1;

static void reap_live_agent(void)
{
	if (live_agent < 0)
		return;
	close(live_fd); /* the agent tears everything down and exits */
	int st;
	for (int i = 0; i < 500 && waitpid(live_agent, &st, WNOHANG) == 0; i++)
		usleep(10000);
	if (waitpid(live_agent, &st, WNOHANG) == 0) {
		kill(live_agent, SIGKILL);
		waitpid(live_agent, &st, 0);
	}
	live_agent = live_fd = -1;
}

/* The agents remove their containers' cgroups; the root is the test's. */
static void remove_cgroot(void)
{
	reap_live_agent();
	if (cgroot[0])
		rmdir(cgroot);
}

static bool fixtures(void)
{
	static int state; /* 0 unknown, 1 ok, -1 unusable */
	if (state)
		return state > 0;
	state = -1;
	if (geteuid() != 0) {
		fprintf(stderr, "# SKIP: the agent tests need root\n");
		return false;
	}
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", vc_unit_tmpdir());
	if (!make_rootfs(rootfs)) {
		fprintf(stderr, "# cannot build the busybox rootfs (is /bin/busybox there?)\n");
		return false;
	}
	/* cgroup v2: the unified hierarchy of a hybrid host, or the whole tree */
	const char *bases[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
	for (size_t i = 0; i < VC_ARRAY_SIZE(bases) && !cgroot[0]; i++) {
		char ctl[PATH_MAX];
		snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", bases[i]);
		if (access(ctl, F_OK) == 0)
			snprintf(cgroot, sizeof(cgroot), "%s/vcrun-test-%d", bases[i],
				 (int)getpid());
	}
	atexit(remove_cgroot);
	state = 1;
	return true;
}

/* ---- the harness ----------------------------------------------------------- */

struct stream {
	uint32_t id;
	char *out, *err;
	size_t out_len, err_len;
	bool out_eof, err_eof;
	size_t max_chunk;
};

struct response {
	uint32_t id;
	char *body;
	bool streams_done_before; /* for WaitProcess: stream had both EOFs */
	uint32_t watch_stream;
};

struct harness {
	pid_t agent;
	int fd;
	uint32_t next_id;
	struct stream streams[16];
	size_t n_streams;
	struct response resp[32];
	size_t n_resp;
};

static struct stream *stream_get(struct harness *h, uint32_t id)
{
	for (size_t i = 0; i < h->n_streams; i++) {
		if (h->streams[i].id == id)
			return &h->streams[i];
	}
	if (h->n_streams == VC_ARRAY_SIZE(h->streams))
		return NULL;
	struct stream *s = &h->streams[h->n_streams++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	return s;
}

static void append(char **buf, size_t *len, const void *data, size_t n)
{
	char *nb = realloc(*buf, *len + n + 1);
	if (!nb)
		abort();
	memcpy(nb + *len, data, n);
	*len += n;
	nb[*len] = '\0';
	*buf = nb;
}

static bool h_start(struct harness *h)
{
	reap_live_agent();
	memset(h, 0, sizeof(*h));
	h->next_id = 1;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return false;
	fflush(NULL);
	h->agent = fork();
	if (h->agent < 0)
		return false;
	if (h->agent == 0) {
		close(sv[0]);
		/* keep the host's mounts and hostname out of it */
		if (unshare(CLONE_NEWNS | CLONE_NEWUTS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(99);
		struct agent_options opts = {.not_pid1 = true,
					     .cgroup_root = cgroot[0] ? cgroot : NULL,
					     .sysfs_root = h_sysfs,
					     .dev_root = h_devroot,
					     .blk_wait_ms = h_blk_wait_ms};
		if (getenv("VCRUN_TEST_DEBUG"))
			agent_log_set_debug(true);
		_exit(agent_serve(sv[1], &opts) < 0 ? 1 : 0);
	}
	close(sv[1]);
	h->fd = sv[0];
	live_agent = h->agent;
	live_fd = h->fd;
	struct timeval tv = {.tv_sec = 30};
	setsockopt(h->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return true;
}

/* Closes the channel: the agent tears everything down and exits 0. */
static int h_stop(struct harness *h)
{
	live_agent = live_fd = -1;
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	int status = -1;
	for (int i = 0; i < 1000; i++) {
		pid_t r = waitpid(h->agent, &status, WNOHANG);
		if (r == h->agent)
			break;
		if (i == 999) {
			fprintf(stderr, "# agent did not exit: killed\n");
			kill(h->agent, SIGKILL);
			waitpid(h->agent, &status, 0);
			status = -1;
		}
		usleep(10000);
	}
	for (size_t i = 0; i < h->n_streams; i++) {
		free(h->streams[i].out);
		free(h->streams[i].err);
	}
	for (size_t i = 0; i < h->n_resp; i++)
		free(h->resp[i].body);
	return status;
}

static uint32_t h_send(struct harness *h, const char *method, const char *params_fmt, ...)
	__attribute__((format(printf, 3, 4)));

static uint32_t h_send(struct harness *h, const char *method, const char *params_fmt, ...)
{
	char params[16384];
	va_list ap;
	va_start(ap, params_fmt);
	vsnprintf(params, sizeof(params), params_fmt, ap);
	va_end(ap);
	_cleanup_free_ char *body =
		vc_strdup_printf("{\"method\":\"%s\",\"params\":%s}", method, params);
	uint32_t id = h->next_id++;
	if (!body || vc_frame_write(h->fd, VC_FRAME_REQUEST, 0, id, body, strlen(body), NULL) < 0)
		return 0;
	return id;
}

static bool h_send_raw(struct harness *h, uint16_t type, uint16_t flags, uint32_t id,
		       const void *body, size_t len)
{
	return vc_frame_write(h->fd, type, flags, id, body, len, NULL) == 0;
}

/* Reads frames until the response to id arrives; stream frames are collected.
 * watch: a stream whose both EOFs must precede the response (0: none). */
static char *h_wait(struct harness *h, uint32_t id, uint32_t watch, bool *eofs_before)
{
	for (size_t i = 0; i < h->n_resp; i++) {
		if (h->resp[i].id == id)
			return h->resp[i].body;
	}
	for (;;) {
		struct vc_frame f;
		uint8_t *body = NULL;
		struct vc_error err = {0};
		if (vc_frame_read_one(h->fd, &f, &body, &err) < 0) {
			fprintf(stderr, "# reading from the agent: %s\n", err.msg);
			return NULL;
		}
		if (f.type == VC_FRAME_STDOUT || f.type == VC_FRAME_STDERR) {
			struct stream *s = stream_get(h, f.id);
			if (s) {
				bool o = f.type == VC_FRAME_STDOUT;
				append(o ? &s->out : &s->err, o ? &s->out_len : &s->err_len, body,
				       f.len);
				if (f.flags & VC_FRAME_F_EOF)
					*(o ? &s->out_eof : &s->err_eof) = true;
				if (f.len > s->max_chunk)
					s->max_chunk = f.len;
			}
			free(body);
			continue;
		}
		if (f.type != VC_FRAME_RESPONSE) {
			free(body);
			continue;
		}
		/* keep the newest: a body stays valid until 32 more responses came */
		if (h->n_resp == VC_ARRAY_SIZE(h->resp)) {
			free(h->resp[0].body);
			memmove(h->resp, h->resp + 1, sizeof(h->resp) - sizeof(h->resp[0]));
			h->n_resp--;
		}
		struct response *r = &h->resp[h->n_resp++];
		r->id = f.id;
		r->body = (char *)body;
		if (f.id == id) {
			if (eofs_before) {
				struct stream *s = stream_get(h, watch);
				*eofs_before = s && s->out_eof && s->err_eof;
			}
			return r->body;
		}
	}
}

/* Sends and waits; returns the response body (owned by the harness). */
#define CALL(h, method, ...) h_wait(h, h_send(h, method, __VA_ARGS__), 0, NULL)

static bool is_ok(const char *body)
{
	return body && !strncmp(body, "{\"result\"", 9);
}

static int err_code(const char *body)
{
	const char *c = body ? strstr(body, "\"code\":") : NULL;
	return c ? atoi(c + 7) : 0;
}

static long result_int(const char *body, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *c = body ? strstr(body, pat) : NULL;
	return c ? strtol(c + strlen(pat), NULL, 10) : -99999;
}

/* ---- specs ----------------------------------------------------------------- */

/* runc spec's defaults, with the given args (a JSON array), terminal and extras. */
static char *spec_json(const char *root, const char *args, bool terminal, const char *extra)
{
	return vc_strdup_printf(
		"{\"ociVersion\":\"1.2.0\","
		"\"process\":{\"terminal\":%s,\"user\":{\"uid\":0,\"gid\":0},"
		"\"args\":%s,"
		"\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
		"\"TERM=xterm\"],\"cwd\":\"/\","
		"\"capabilities\":{\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\","
		"\"CAP_NET_BIND_SERVICE\"],\"effective\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\","
		"\"CAP_NET_BIND_SERVICE\"],\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\","
		"\"CAP_NET_BIND_SERVICE\"],\"ambient\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\","
		"\"CAP_NET_BIND_SERVICE\"]},"
		"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
		"\"noNewPrivileges\":true},"
		"\"root\":{\"path\":\"%s\",\"readonly\":true},"
		"\"hostname\":\"vcrun-test\","
		"\"mounts\":["
		"{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
		"{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
		"\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
		"{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
		"\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode="
		"0620\"]},"
		"{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\","
		"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
		"{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\","
		"\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
		"{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
		"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
		"{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
		"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]},"
		"{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
		"\"options\":[\"nosuid\",\"nodev\"]}],"
		"\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}],"
		"\"pids\":{\"limit\":100}},"
		"\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},"
		"{\"type\":\"uts\"},{\"type\":\"mount\"}],"
		"\"maskedPaths\":[\"/proc/acpi\",\"/proc/kcore\",\"/proc/keys\",\"/proc/"
		"timer_list\","
		"\"/sys/firmware\",\"/proc/scsi\"],"
		"\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\","
		"\"/proc/sysrq-trigger\"]%s}}",
		terminal ? "true" : "false", args, root, extra ? extra : "");
}

/* CreateContainer + StartContainer; returns the init pid or -1. */
static long run_container(struct harness *h, const char *id, uint32_t stream, const char *args,
			  bool stdin_open, const char *extra)
{
	_cleanup_free_ char *spec = spec_json(rootfs, args, false, extra);
	char *r = CALL(h, VC_M_CREATE_CONTAINER,
		       "{\"container_id\":\"%s\",\"stream_id\":%u,\"storages\":[],\"stdin\":%s,"
		       "\"spec\":%s}",
		       id, stream, stdin_open ? "true" : "false", spec);
	if (!is_ok(r)) {
		fprintf(stderr, "# CreateContainer %s: %s\n", id, r ? r : "(no response)");
		return -1;
	}
	long pid = result_int(r, "pid");
	r = CALL(h, VC_M_START_CONTAINER, "{\"container_id\":\"%s\"}", id);
	if (!is_ok(r)) {
		fprintf(stderr, "# StartContainer %s: %s\n", id, r ? r : "(no response)");
		return -1;
	}
	return pid;
}

static char *wait_process(struct harness *h, const char *id, const char *exec_id, uint32_t stream,
			  bool *eofs_before)
{
	uint32_t rid;
	if (exec_id)
		rid = h_send(h, VC_M_WAIT_PROCESS, "{\"container_id\":\"%s\",\"exec_id\":\"%s\"}",
			     id, exec_id);
	else
		rid = h_send(h, VC_M_WAIT_PROCESS, "{\"container_id\":\"%s\"}", id);
	return h_wait(h, rid, stream, eofs_before);
}

static bool agent_mountinfo_has(struct harness *h, const char *needle)
{
	char path[64];
	_cleanup_free_ char *text = NULL;
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)h->agent);
	if (vc_read_file(path, 16 << 20, &text, NULL, NULL) < 0)
		return true; /* be loud: cannot tell */
	return strstr(text, needle) != NULL;
}

#define START(h)          \
	struct harness h; \
	if (!fixtures())  \
		return;   \
	CHECK(h_start(&h));

#define STOP(h) CHECK(h_stop(&h) == 0)

#endif
