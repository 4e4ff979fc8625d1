/* VM templates: the key, the build under a lock, list and remove (lib/template.h).
 * The QEMU side (argv, migration) is hv/'s; the clone's restore is the monitor's
 * (lib/monitor-clone.c). */
#include "lib/template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent-proto/agent-msg.h"
#include "agent-proto/proto.h"
#include "agent-proto/transport.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "hv/hv.h"
#include "lib/log.h"

#define META_FILE  "meta.json"
#define READY_FILE VC_TEMPLATE_READY_FILE
#define STATE_FILE VC_TEMPLATE_STATE_FILE
#define MEM_FILE   VC_TEMPLATE_MEM_FILE
#define SHARE_DIR  "share"
/* The builder's agent must answer within the plan's boot timeout; the save and the
 * stop are bounded on their own. */
#define SAVE_TIMEOUT_MS 30000

const char *vc_template_unfit(const struct vc_plan *plan, size_t n_nics)
{
	if (plan->n_vfio_pci || plan->n_vfio_ap)
		return "VFIO devices are placed at boot and cannot be migrated";
	if (plan->n_blks)
		return "host block devices are attached at boot";
	if (plan->fs == VC_FS_VIRTIOFS && plan->n_shares)
		return "virtio-fs (vhost-user-fs) cannot be migrated";
	if (n_nics > plan->hotplug_ports)
		return "the network namespace has more interfaces than spare root ports "
		       "(hotplug_root_ports) to hot-plug them into";
	return NULL;
}

/* PATH lookup as execvp does it, for the mtime of the QEMU that will run. */
static char *program_path(const char *name)
{
	if (strchr(name, '/'))
		return strdup(name);
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	char *save = NULL;
	for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d;
	     d = strtok_r(NULL, ":", &save)) {
		char *p = vc_strdup_printf("%s/%s", d, name);
		if (p && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return strdup(name);
}

/* {"path", "size", "mtime_ns"} of one input file. */
static int file_input(struct vc_json *inputs, const char *what, const char *path,
		      struct vc_error *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return vc_error_sys(err, errno, "template key: %s `%s`", what, path);
	struct vc_json *o = vc_json_new_object();
	if (!o || vc_json_object_set(inputs, what, o) < 0) {
		vc_json_free(o);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	uint64_t mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec;
	if (vc_json_object_set(o, "path", vc_json_new_string(path)) < 0 ||
	    vc_json_object_set(o, "size", vc_json_new_uint((uint64_t)st.st_size)) < 0 ||
	    vc_json_object_set(o, "mtime_ns", vc_json_new_uint(mtime)) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

static uint64_t fnv1a(const char *s, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int vc_template_key(const struct vc_plan *plan, char key[VC_TEMPLATE_KEY_LEN + 1],
		    struct vc_json **inputs, struct vc_error *err)
{
	*inputs = NULL;
	_cleanup_free_ char *qemu = program_path(plan->qemu);
	_cleanup_json_ struct vc_json *in = vc_json_new_object();
	if (!in || !qemu)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = file_input(in, "kernel", plan->kernel, err);
	if (r == 0)
		r = file_input(in, "initrd", plan->initrd, err);
	if (r == 0)
		r = file_input(in, "qemu", qemu, err);
	if (r < 0)
		return r;
	if (vc_json_object_set(in, "format", vc_json_new_int(VC_TEMPLATE_FORMAT)) < 0 ||
	    vc_json_object_set(in, "memory_mib", vc_json_new_uint(plan->mem_mib)) < 0 ||
	    vc_json_object_set(in, "vcpus", vc_json_new_uint(plan->vcpus)) < 0 ||
	    vc_json_object_set(in, "max_vcpus", vc_json_new_uint(plan->max_vcpus)) < 0 ||
	    vc_json_object_set(in, "machine", vc_json_new_string("q35")) < 0 ||
	    vc_json_object_set(in, "accel", vc_json_new_string(vc_hv_accel_name(plan->accel))) <
		    0 ||
	    vc_json_object_set(
		    in, "channel",
		    vc_json_new_string(plan->channel == VC_CHANNEL_VSOCK ? "vsock" : "serial")) <
		    0 ||
	    vc_json_object_set(
		    in, "shared_fs",
		    vc_json_new_string(plan->fs == VC_FS_VIRTIOFS ? "virtio-fs" : "9p")) < 0 ||
	    vc_json_object_set(in, "shares", vc_json_new_uint(plan->n_shares)) < 0 ||
	    vc_json_object_set(in, "hotplug_root_ports", vc_json_new_uint(plan->hotplug_ports)) <
		    0 ||
	    vc_json_object_set(in, "hotplug_memory_mib", vc_json_new_uint(plan->hotplug_mem_mib)) <
		    0 ||
	    vc_json_object_set(in, "kernel_params",
			       vc_json_new_string(plan->kernel_params ? plan->kernel_params : "")) <
		    0)
		return vc_error_set(err, ENOMEM, "out of memory");
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if ((r = vc_json_serialize(in, false, &text, &len, err)) < 0)
		return r;
	/* Two FNV-1a runs with different offsets: 128 bits against accidental
	 * collisions (nobody gains from forging one: the root is root's). */
	uint64_t a = fnv1a(text, len, 0xcbf29ce484222325ULL);
	uint64_t b = fnv1a(text, len, 0x84222325cbf29ce4ULL ^ a);
	snprintf(key, VC_TEMPLATE_KEY_LEN + 1, "%016llx%016llx", (unsigned long long)a,
		 (unsigned long long)b);
	*inputs = steal_ptr(in);
	return 0;
}

static bool key_ok(const char *key)
{
	if (strlen(key) != VC_TEMPLATE_KEY_LEN)
		return false;
	for (const char *p = key; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* flock with a deadline (flock(2) itself has none). */
static int lock_key(const char *root, const char *key, int timeout_ms, int *fd,
		    struct vc_error *err)
{
	_cleanup_free_ char *dir = vc_strdup_printf("%s/" VC_TEMPLATE_DIR, root);
	_cleanup_free_ char *path = vc_strdup_printf("%s/" VC_TEMPLATE_DIR "/%s.lock", root, key);
	if (!dir || !path)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = vc_mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	_cleanup_close_ int lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0)
		return vc_error_sys(err, errno, "template lock `%s`", path);
	unsigned long long deadline = vc_now_ns() + (unsigned long long)timeout_ms * 1000000ULL;
	while (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return vc_error_sys(err, errno, "flock `%s`", path);
		if (vc_now_ns() >= deadline)
			return vc_error_set(err, ETIMEDOUT,
					    "template %s: another create is still building it "
					    "after %d s (`%s`)",
					    key, timeout_ms / 1000, path);
		usleep(20000);
	}
	*fd = steal_fd(lfd);
	return 0;
}

static bool file_there(const char *dir, const char *name)
{
	_cleanup_free_ char *p = vc_strdup_printf("%s/%s", dir, name);
	return p && access(p, F_OK) == 0;
}

/* Check, re-sent every second until the agent answers (bytes written before the
 * guest opened its port may be lost), within timeout_ms. */
static int wait_agent(int fd, int timeout_ms, struct vc_error *err)
{
	_cleanup_json_ struct vc_json *check = vc_json_new_object();
	_cleanup_free_ char *body = NULL;
	size_t len = 0;
	if (!check || vc_json_object_set(check, "version", vc_json_new_int(VC_PROTO_VERSION)) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = vc_proto_request_encode(VC_M_CHECK, check, &body, &len, err);
	if (r < 0)
		return r;
	struct vc_frame_reader rd;
	vc_frame_reader_init(&rd);
	unsigned long long deadline = vc_now_ns() + (unsigned long long)timeout_ms * 1000000ULL;
	unsigned long long next_send = 0;
	uint32_t id = 1;
	for (r = 1; r > 0;) {
		unsigned long long now = vc_now_ns();
		if (now >= deadline) {
			r = vc_error_set(err, ETIMEDOUT,
					 "the template's agent did not answer within %d s",
					 timeout_ms / 1000);
			break;
		}
		if (now >= next_send) {
			if ((r = vc_frame_write(fd, VC_FRAME_REQUEST, 0, id++, body, len, err)) < 0)
				break;
			r = 1;
			next_send = now + 1000000000ULL;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		unsigned long long wake = next_send < deadline ? next_send : deadline;
		poll(&p, 1, (int)((wake - now) / 1000000ULL) + 1);
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		int n = vc_frame_reader_fill(&rd, fd);
		if (n == 0) {
			r = vc_error_set(err, EPIPE, "the template's agent channel closed");
			break;
		}
		struct vc_frame f;
		int got;
		while ((got = vc_frame_reader_next(&rd, &f, err)) == 1) {
			if (f.type != VC_FRAME_RESPONSE)
				continue;
			_cleanup_json_ struct vc_json *res = NULL;
			struct vc_agent_check ck;
			r = vc_proto_response_decode(f.body, f.len, &res, err);
			if (r == 0)
				r = vc_agent_check_from_json(res, &ck, err);
			if (r == 0 && ck.version != VC_PROTO_VERSION)
				r = vc_error_set(err, EPROTONOSUPPORT,
						 "the template's agent speaks protocol %u",
						 ck.version);
			break;
		}
		if (got < 0)
			r = got;
	}
	vc_frame_reader_free(&rd);
	return r;
}

/* The template's two files as the builder left them: the state file's size and
 * FNV-1a (it is small), the memory file's inode, size and mtime. A clone checks
 * them before it loads anything: a state file from elsewhere could load and resume
 * a machine whose RAM does not match it, which no timeout short of the boot's
 * would notice. */
static int files_identity(const char *dir, char **out, struct vc_error *err)
{
	*out = NULL;
	_cleanup_free_ char *sp = vc_strdup_printf("%s/" STATE_FILE, dir);
	_cleanup_free_ char *mp = vc_strdup_printf("%s/" MEM_FILE, dir);
	if (!sp || !mp)
		return vc_error_set(err, ENOMEM, "out of memory");
	_cleanup_free_ char *state = NULL;
	size_t len = 0;
	int r = vc_read_file(sp, 64u << 20, &state, &len, err);
	if (r < 0)
		return r;
	struct stat st;
	if (stat(mp, &st) < 0)
		return vc_error_sys(err, errno, "`%s`", mp);
	*out = vc_strdup_printf("state %zu %016llx memory %llu %lld %lld.%09ld", len,
				(unsigned long long)fnv1a(state, len, 0xcbf29ce484222325ULL),
				(unsigned long long)st.st_ino, (long long)st.st_size,
				(long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	return *out ? 0 : vc_error_set(err, ENOMEM, "out of memory");
}

int vc_template_verify(const char *dir, struct vc_error *err)
{
	_cleanup_free_ char *path = vc_strdup_printf("%s/" META_FILE, dir);
	_cleanup_free_ char *text = NULL, *now = NULL;
	size_t len = 0;
	_cleanup_json_ struct vc_json *meta = NULL;
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = vc_read_file(path, 1 << 20, &text, &len, err);
	if (r == 0)
		r = vc_json_parse(text, len, path, &meta, err);
	if (r == 0)
		r = files_identity(dir, &now, err);
	if (r < 0)
		return r;
	const char *saved = vc_json_str(vc_json_get(meta, "files"));
	if (!saved || strcmp(saved, now))
		return vc_error_set(err, EBADMSG,
				    "its state or memory file is not the one it saved (saved: %s; "
				    "now: %s)",
				    saved ? saved : "nothing", now);
	return 0;
}

static int write_meta(const char *dir, const char *key, const struct vc_json *inputs,
		      struct vc_error *err)
{
	_cleanup_free_ char *files = NULL;
	int r = files_identity(dir, &files, err);
	if (r < 0)
		return r;
	_cleanup_json_ struct vc_json *meta = vc_json_new_object();
	if (!meta || vc_json_object_set(meta, "key", vc_json_new_string(key)) < 0 ||
	    vc_json_object_set(meta, "created", vc_json_new_int((int64_t)time(NULL))) < 0 ||
	    vc_json_object_set(meta, "inputs", vc_json_clone(inputs)) < 0 ||
	    vc_json_object_set(meta, "files", vc_json_new_string(files)) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	_cleanup_free_ char *text = NULL, *path = vc_strdup_printf("%s/" META_FILE, dir);
	size_t len = 0;
	if ((r = vc_json_serialize(meta, true, &text, &len, err)) < 0)
		return r;
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	return vc_write_file_atomic(path, text, len, 0600, err);
}

/* The template VM: the plan's machine with nothing of one container's in it. */
static int build(const char *dir, const struct vc_plan *plan, const char *key,
		 const struct vc_json *inputs, struct vc_error *err)
{
	_cleanup_free_ char *share = vc_strdup_printf("%s/" SHARE_DIR, dir);
	_cleanup_free_ char *mem = vc_strdup_printf("%s/" MEM_FILE, dir);
	_cleanup_free_ char *state = vc_strdup_printf("%s/" STATE_FILE, dir);
	_cleanup_free_ char *ready = vc_strdup_printf("%s/" READY_FILE, dir);
	if (!share || !mem || !state || !ready)
		return vc_error_set(err, ENOMEM, "out of memory");
	struct vc_error ignored = {0};
	if (access(dir, F_OK) == 0 && vc_rm_rf(dir, &ignored) < 0)
		return vc_error_set(err, ignored.code, "%s", ignored.msg);
	int r = vc_mkdir_p(share, 0700, err);
	if (r < 0)
		return r;
	struct vc_hv_config cfg;
	vc_plan_hv_config(plan, dir, &cfg);
	/* The share device is there (a clone's layout must match), on an empty
	 * directory; the guest mounts a clone's own share, never this one. */
	struct vc_hv_share sh = {0};
	if (plan->n_shares) {
		sh = (struct vc_hv_share){.tag = plan->shares[0].tag, .host_path = share};
		cfg.shares = &sh;
		cfg.n_shares = 1;
	}
	cfg.netns_path = NULL;
	cfg.mem_path = mem;
	cfg.vmgenid = "auto";
	cfg.bound = true;
	cfg.vm_name = dir;
	struct vc_hv hv;
	if ((r = vc_hv_start(&cfg, &hv, err)) < 0)
		return vc_error_wrap(err, "template %s", key);
	_cleanup_free_ char *sock = vc_strdup_printf("%s/agent.sock", dir);
	int fd = !sock ? vc_error_set(err, ENOMEM, "out of memory")
		 : plan->channel == VC_CHANNEL_VSOCK
			 ? vc_transport_connect_vsock(plan->vsock_cid, VC_AGENT_VSOCK_PORT,
						      plan->boot_timeout_ms, err)
			 : vc_transport_connect_unix(sock, 10000, err);
	r = fd < 0 ? fd : wait_agent(fd, plan->boot_timeout_ms, err);
	if (fd >= 0)
		close(fd);
	/* The agent sees the host go (virtio-serial: the port's host side closes;
	 * vsock: the connection ends) and waits for the next one: a clone's. Give
	 * it a moment to get there, so that clones do not resume mid-hangup. */
	if (r == 0)
		usleep(100000);
	if (r == 0)
		r = vc_hv_snapshot(hv.qmp_path, state, SAVE_TIMEOUT_MS, err);
	struct vc_error serr = {0};
	if (vc_hv_stop(&hv, 5000, &serr) < 0 && r == 0)
		r = vc_error_set(err, serr.code, "%s", serr.msg);
	vc_hv_release(&hv);
	if (r < 0)
		return vc_error_wrap(err, "template %s", key);
	if ((r = write_meta(dir, key, inputs, err)) < 0 ||
	    (r = vc_write_file_atomic(ready, "", 0, 0600, err)) < 0)
		return r;
	return 0;
}

int vc_template_ensure(const char *root, const struct vc_plan *plan, const char *key,
		       const struct vc_json *inputs, int timeout_ms, char **dir, bool *built,
		       struct vc_error *err)
{
	*dir = NULL;
	*built = false;
	_cleanup_free_ char *d = vc_strdup_printf("%s/" VC_TEMPLATE_DIR "/%s", root, key);
	if (!d)
		return vc_error_set(err, ENOMEM, "out of memory");
	/* The common case needs no lock: "ready" is written last, and a template
	 * removed from under a clone's restore only costs that clone a cold boot. */
	if (file_there(d, READY_FILE) && file_there(d, STATE_FILE) && file_there(d, MEM_FILE)) {
		*dir = steal_ptr(d);
		return 0;
	}
	_cleanup_close_ int lock = -1;
	int r = lock_key(root, key, timeout_ms, &lock, err);
	if (r < 0)
		return r;
	bool ready = file_there(d, READY_FILE);
	const char *lost = !file_there(d, STATE_FILE) ? STATE_FILE
			   : !file_there(d, MEM_FILE) ? MEM_FILE
						      : NULL;
	if (ready && lost) {
		/* Damaged after it was built: this create boots cold, the next rebuilds. */
		_cleanup_free_ char *rp = vc_strdup_printf("%s/" READY_FILE, d);
		if (rp)
			unlink(rp);
		return vc_error_set(err, ENOENT, "template %s: its %s file is missing", key, lost);
	}
	if (!ready) {
		vc_debug("template %s: building it", key);
		unsigned long long t0 = vc_now_ns();
		if ((r = build(d, plan, key, inputs, err)) < 0) {
			struct vc_error ignored = {0};
			vc_rm_rf(d, &ignored); /* a later create tries afresh */
			return r;
		}
		vc_debug("template %s: built in %llu ms", key, (vc_now_ns() - t0) / 1000000ULL);
		*built = true;
	}
	*dir = steal_ptr(d);
	return 0;
}

/* ---- list and remove ----------------------------------------------------------- */

static uint64_t allocated(const char *dir, const char *name)
{
	_cleanup_free_ char *p = vc_strdup_printf("%s/%s", dir, name);
	struct stat st;
	return p && stat(p, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

/* An input file of meta.json that is gone or differs now. */
static bool input_stale(const struct vc_json *inputs, const char *what)
{
	const struct vc_json *o = vc_json_get(inputs, what);
	const char *path = vc_json_str(vc_json_get(o, "path"));
	uint64_t size = 0, mtime = 0;
	struct stat st;
	if (!path || vc_json_to_u64(vc_json_get(o, "size"), &size) < 0 ||
	    vc_json_to_u64(vc_json_get(o, "mtime_ns"), &mtime) < 0 || stat(path, &st) < 0)
		return true;
	return (uint64_t)st.st_size != size ||
	       (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec != mtime;
}

static void read_meta(const char *dir, struct vc_template_info *t)
{
	_cleanup_free_ char *path = vc_strdup_printf("%s/" META_FILE, dir);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	struct vc_error ignored = {0};
	_cleanup_json_ struct vc_json *meta = NULL;
	t->stale = true;
	if (!path || vc_read_file(path, 1 << 20, &text, &len, &ignored) < 0 ||
	    vc_json_parse(text, len, path, &meta, &ignored) < 0)
		return;
	int64_t created = 0;
	if (vc_json_to_i64(vc_json_get(meta, "created"), &created) == 0)
		t->created = (time_t)created;
	const struct vc_json *in = vc_json_get(meta, "inputs");
	t->stale =
		input_stale(in, "kernel") || input_stale(in, "initrd") || input_stale(in, "qemu");
}

/* Live clones of key: state dirs whose clone file names it and whose QEMU runs. */
static unsigned count_clones(const char *root, const char *key)
{
	_cleanup_closedir_ DIR *d = opendir(root);
	unsigned n = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, VC_TEMPLATE_DIR))
			continue;
		_cleanup_free_ char *p =
			vc_strdup_printf("%s/%s/" VC_TEMPLATE_CLONE_FILE, root, de->d_name);
		_cleanup_free_ char *text = NULL;
		size_t len = 0;
		struct vc_error ignored = {0};
		if (!p || vc_read_file(p, 256, &text, &len, &ignored) < 0)
			continue;
		char k[VC_TEMPLATE_KEY_LEN + 1];
		int pid = 0;
		if (sscanf(text, "%32s %d", k, &pid) == 2 && !strcmp(k, key) && pid > 0 &&
		    (kill(pid, 0) == 0 || errno == EPERM))
			n++;
	}
	return n;
}

static int cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct vc_template_info *)a)->key,
		      ((const struct vc_template_info *)b)->key);
}

int vc_template_list(const char *root, struct vc_template_info **out, size_t *n,
		     struct vc_error *err)
{
	*out = NULL;
	*n = 0;
	_cleanup_free_ char *tdir = vc_strdup_printf("%s/" VC_TEMPLATE_DIR, root);
	if (!tdir)
		return vc_error_set(err, ENOMEM, "out of memory");
	_cleanup_closedir_ DIR *d = opendir(tdir);
	if (!d)
		return errno == ENOENT ? 0 : vc_error_sys(err, errno, "`%s`", tdir);
	_cleanup_free_ struct vc_template_info *v = NULL;
	size_t cnt = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!key_ok(de->d_name))
			continue;
		struct vc_template_info *nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv)
			return vc_error_set(err, ENOMEM, "out of memory");
		v = nv;
		struct vc_template_info *t = &v[cnt++];
		memset(t, 0, sizeof(*t));
		snprintf(t->key, sizeof(t->key), "%s", de->d_name);
		_cleanup_free_ char *dir = vc_strdup_printf("%s/%s", tdir, de->d_name);
		if (!dir)
			return vc_error_set(err, ENOMEM, "out of memory");
		t->ready = file_there(dir, READY_FILE);
		t->bytes = allocated(dir, MEM_FILE) + allocated(dir, STATE_FILE);
		read_meta(dir, t);
		t->clones = count_clones(root, t->key);
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_info);
	*out = steal_ptr(v);
	*n = cnt;
	return 0;
}

int vc_template_remove(const char *root, const char *key, bool force, struct vc_error *err)
{
	if (!key_ok(key))
		return vc_error_set(err, EINVAL,
				    "template `%s`: not a template key (%d hex digits)", key,
				    VC_TEMPLATE_KEY_LEN);
	_cleanup_free_ char *dir = vc_strdup_printf("%s/" VC_TEMPLATE_DIR "/%s", root, key);
	_cleanup_free_ char *lpath = vc_strdup_printf("%s/" VC_TEMPLATE_DIR "/%s.lock", root, key);
	if (!dir || !lpath)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (access(dir, F_OK) < 0)
		return vc_error_set(err, ENOENT, "template %s does not exist", key);
	unsigned clones = count_clones(root, key);
	if (clones && !force)
		return vc_error_set(err, EBUSY,
				    "template %s is used by %u running clone%s (--force removes it "
				    "anyway; they keep running)",
				    key, clones, clones == 1 ? "" : "s");
	/* Not while a create builds it: that one would find its files gone. */
	_cleanup_close_ int lock = -1;
	int r = lock_key(root, key, 5000, &lock, err);
	if (r < 0)
		return r;
	if ((r = vc_rm_rf(dir, err)) < 0)
		return r;
	unlink(lpath);
	return 0;
}
