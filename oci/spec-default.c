/* The config.json `vcrun spec` writes: runc's starter spec (same fields, same
 * order, same tab indentation), with vcrun's hostname and spec version. The
 * rootless variant applies runc's ToRootless edits to the same document. */
#include "oci/spec.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static const char default_spec[] =
	"{\"ociVersion\":\"" VC_OCI_VERSION "\","
	"\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],"
	"\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
	"\"TERM=xterm\"],\"cwd\":\"/\","
	"\"capabilities\":{"
	"\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"effective\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"ambient\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},"
	"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
	"\"noNewPrivileges\":true},"
	"\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
	"\"hostname\":\"vcrun\","
	"\"mounts\":["
	"{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	"{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
	"\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
	"\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\","
	"\"gid=5\"]},"
	"{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
	"{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
	"{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],"
	"\"linux\":{"
	"\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
	"\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},"
	"{\"type\":\"uts\"},{\"type\":\"mount\"}],"
	"\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\","
	"\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\","
	"\"/proc/sched_debug\",\"/sys/firmware\",\"/proc/scsi\"],"
	"\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\","
	"\"/proc/sysrq-trigger\"]}}";

/* A rootless container cannot mount a fresh sysfs without a network namespace of
 * its own: runc bind-mounts the host's instead. */
static const char rootless_sys_mount[] =
	"{\"destination\":\"/sys\",\"type\":\"none\",\"source\":\"/sys\","
	"\"options\":[\"rbind\",\"nosuid\",\"noexec\",\"nodev\",\"ro\"]}";

static int parse_literal(const char *text, struct vc_json **out, struct vc_error *err)
{
	return vc_json_parse(text, strlen(text), "default spec", out, err);
}

/* linux.namespaces without network and user, then a new user namespace. */
static int rootless_namespaces(struct vc_json *lx)
{
	const struct vc_json *old = vc_json_get(lx, "namespaces");
	_cleanup_json_ struct vc_json *ns = vc_json_new_array();
	_cleanup_json_ struct vc_json *user = vc_json_new_object();
	if (!old || !ns || !user ||
	    vc_json_object_set(user, "type", vc_json_new_string("user")) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < old->u.array.len; i++) {
		const char *type = vc_json_str(vc_json_get(old->u.array.items[i], "type"));
		if (type && (!strcmp(type, "network") || !strcmp(type, "user")))
			continue;
		if (vc_json_array_append(ns, vc_json_clone(old->u.array.items[i])) < 0)
			return -ENOMEM;
	}
	if (vc_json_array_append(ns, steal_ptr(user)) < 0)
		return -ENOMEM;
	return vc_json_object_set(lx, "namespaces", steal_ptr(ns));
}

static int id_mapping(unsigned host_id, struct vc_json **out, struct vc_error *err)
{
	_cleanup_free_ char *text =
		vc_strdup_printf("[{\"containerID\":0,\"hostID\":%u,\"size\":1}]", host_id);
	if (!text)
		return vc_error_set(err, ENOMEM, "out of memory");
	return parse_literal(text, out, err);
}

/* Mappings for the calling user first (Go's field order), no resources. */
static int rootless_linux(struct vc_json *doc, struct vc_error *err)
{
	struct vc_json *old = vc_json_get(doc, "linux");
	_cleanup_json_ struct vc_json *lx = vc_json_new_object();
	struct vc_json *uids = NULL, *gids = NULL;
	if (!lx)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r;
	if ((r = id_mapping((unsigned)geteuid(), &uids, err)) < 0)
		return r;
	if ((r = vc_json_object_set(lx, "uidMappings", uids)) < 0)
		return vc_error_set(err, -r, "out of memory");
	if ((r = id_mapping((unsigned)getegid(), &gids, err)) < 0)
		return r;
	if ((r = vc_json_object_set(lx, "gidMappings", gids)) < 0)
		return vc_error_set(err, -r, "out of memory");
	for (size_t i = 0; i < old->u.object.len; i++) {
		const struct vc_json_member *m = &old->u.object.members[i];
		if (strcmp(m->key, "resources") &&
		    vc_json_object_set(lx, m->key, vc_json_clone(m->value)) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	if (rootless_namespaces(lx) < 0 || vc_json_object_set(doc, "linux", steal_ptr(lx)) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

/* The /sys mount replaced; uid= and gid= options dropped (no such ids in the userns). */
static int rootless_mounts(struct vc_json *doc, struct vc_error *err)
{
	struct vc_json *mounts = vc_json_get(doc, "mounts");
	for (size_t i = 0; mounts && i < mounts->u.array.len; i++) {
		struct vc_json *m = mounts->u.array.items[i];
		if (!strcmp(vc_json_str(vc_json_get(m, "destination")), "/sys")) {
			struct vc_json *sys = NULL;
			int r = parse_literal(rootless_sys_mount, &sys, err);
			if (r < 0)
				return r;
			vc_json_free(m);
			mounts->u.array.items[i] = sys;
			continue;
		}
		struct vc_json *opts = vc_json_get(m, "options");
		size_t w = 0;
		for (size_t j = 0; opts && j < opts->u.array.len; j++) {
			struct vc_json *o = opts->u.array.items[j];
			const char *s = vc_json_str(o);
			if (!strncmp(s, "gid=", 4) || !strncmp(s, "uid=", 4))
				vc_json_free(o);
			else
				opts->u.array.items[w++] = o;
		}
		if (opts)
			opts->u.array.len = w;
	}
	return 0;
}

int vc_oci_spec_default_json(bool rootless, char **out, struct vc_error *err)
{
	_cleanup_json_ struct vc_json *doc = NULL;
	int r = parse_literal(default_spec, &doc, err);
	if (r < 0)
		return r;
	if (rootless && ((r = rootless_linux(doc, err)) < 0 || (r = rootless_mounts(doc, err)) < 0))
		return r;
	char *text = NULL;
	size_t len = 0;
	if ((r = vc_json_serialize(doc, true, &text, &len, err)) < 0)
		return r;
	/* Go's json.MarshalIndent, which runc uses, ends without a newline. */
	while (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	*out = text;
	return 0;
}
