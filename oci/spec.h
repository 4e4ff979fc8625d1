/* The OCI runtime-spec 1.2 config.json model. vc_oci_spec_parse() fills it from
 * the DOM and keeps the DOM in spec->raw, so unknown fields survive and the spec can
 * be sent on (to the guest agent) exactly as the user wrote it. Arrays are
 * (pointer, count) pairs; absent optional fields are NULL / 0 / has_x == false. */
#ifndef VC_OCI_SPEC_H
#define VC_OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "oci/json.h"

/* The runtime-spec version vcrun implements: `vcrun spec` and `state` report it. */
#define VC_OCI_VERSION "1.2.0"

struct vc_oci_rlimit {
	char *type; /* "RLIMIT_NOFILE" */
	uint64_t hard, soft;
};

struct vc_oci_capabilities {
	char **bounding, **effective, **inheritable, **permitted, **ambient; /* NULL-terminated */
};

struct vc_oci_user {
	uint32_t uid, gid;
	bool has_umask;
	uint32_t umask;
	gid_t *additional_gids;
	size_t n_additional_gids;
	char *username; /* windows only; kept */
};

struct vc_oci_console_size {
	uint32_t height, width;
};

struct vc_oci_process {
	bool terminal;
	bool has_console_size;
	struct vc_oci_console_size console_size;
	struct vc_oci_user user;
	char **args;				  /* NULL-terminated, non-empty */
	char **env;				  /* NULL-terminated, may be empty */
	char *cwd;				  /* absolute */
	struct vc_oci_capabilities *capabilities; /* NULL: none given */
	struct vc_oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *selinux_label;
};

struct vc_oci_root {
	char *path; /* as written; see vc_oci_spec.rootfs_abs */
	bool readonly;
};

struct vc_oci_mount {
	char *destination; /* absolute in the container */
	char *type;	   /* may be NULL (bind mounts) */
	char *source;	   /* may be NULL */
	char **options;	   /* NULL-terminated, may be NULL */
};

struct vc_oci_hook {
	char *path;
	char **args; /* may be NULL */
	char **env;  /* may be NULL */
	bool has_timeout;
	int timeout; /* seconds, > 0 */
};

struct vc_oci_hooks {
	struct vc_oci_hook *prestart, *create_runtime, *create_container, *start_container,
		*poststart, *poststop;
	size_t n_prestart, n_create_runtime, n_create_container, n_start_container, n_poststart,
		n_poststop;
};

enum vc_oci_ns_type {
	VC_NS_PID,
	VC_NS_NETWORK,
	VC_NS_MOUNT,
	VC_NS_IPC,
	VC_NS_UTS,
	VC_NS_USER,
	VC_NS_CGROUP,
	VC_NS_TIME,
	VC_NS__COUNT,
};

struct vc_oci_namespace {
	enum vc_oci_ns_type type;
	char *path; /* may be NULL: a new namespace */
};

struct vc_oci_id_mapping {
	uint32_t container_id, host_id, size;
};

struct vc_oci_device {
	char *path;
	char type;	      /* 'c', 'b', 'u', 'p' */
	int64_t major, minor; /* required for c/b/u */
	bool has_major, has_minor;
	bool has_file_mode, has_uid, has_gid;
	uint32_t file_mode, uid, gid;
};

struct vc_oci_device_cgroup {
	bool allow;
	char type; /* 'a', 'c', 'b', or 0 when absent (= all) */
	bool has_major, has_minor;
	int64_t major, minor;
	char *access; /* "rwm" subset or NULL */
};

struct vc_oci_resources {
	struct vc_oci_device_cgroup *devices;
	size_t n_devices;
	/* memory */
	bool has_memory_limit, has_memory_reservation, has_memory_swap, has_memory_swappiness;
	int64_t memory_limit, memory_reservation, memory_swap;
	uint64_t memory_swappiness;
	/* cpu */
	bool has_cpu_shares, has_cpu_quota, has_cpu_period;
	uint64_t cpu_shares, cpu_period;
	int64_t cpu_quota;
	char *cpu_cpus, *cpu_mems;
	/* pids */
	bool has_pids_limit;
	int64_t pids_limit;
	/* everything else (blockIO, hugepageLimits, network, rdma, unified) is kept raw */
	const struct vc_json *raw; /* borrowed from spec->raw */
};

struct vc_oci_seccomp_arg {
	uint32_t index;
	uint64_t value, value_two;
	char *op; /* "SCMP_CMP_EQ" ... */
};

struct vc_oci_seccomp_syscall {
	char **names; /* NULL-terminated, non-empty */
	char *action; /* "SCMP_ACT_ERRNO" ... */
	bool has_errno_ret;
	uint32_t errno_ret;
	struct vc_oci_seccomp_arg *args;
	size_t n_args;
};

struct vc_oci_seccomp {
	char *default_action;
	bool has_default_errno_ret;
	uint32_t default_errno_ret;
	char **architectures; /* "SCMP_ARCH_X86_64" ..., may be NULL */
	char **flags;	      /* may be NULL */
	char *listener_path;
	struct vc_oci_seccomp_syscall *syscalls;
	size_t n_syscalls;
};

struct vc_oci_sysctl {
	char *key, *value;
};

struct vc_oci_linux {
	struct vc_oci_namespace *namespaces;
	size_t n_namespaces;
	struct vc_oci_id_mapping *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct vc_oci_device *devices;
	size_t n_devices;
	struct vc_oci_resources *resources; /* NULL if absent */
	char *cgroups_path;
	struct vc_oci_sysctl *sysctl;
	size_t n_sysctl;
	struct vc_oci_seccomp *seccomp; /* NULL if absent */
	char *rootfs_propagation;
	char **masked_paths, **readonly_paths; /* NULL-terminated, may be NULL */
	char *mount_label;
};

struct vc_oci_annotation {
	char *key, *value;
};

struct vc_oci_spec {
	char *oci_version;
	struct vc_oci_process *process; /* NULL if absent (allowed for `create` only by spec,
					    but vcrun requires it, as runc does) */
	struct vc_oci_root *root;
	char *hostname, *domainname;
	struct vc_oci_mount *mounts;
	size_t n_mounts;
	struct vc_oci_hooks *hooks; /* NULL if absent */
	struct vc_oci_annotation *annotations;
	size_t n_annotations;
	struct vc_oci_linux *linux; /* NULL if absent */

	char *bundle;	     /* absolute bundle dir, set by vc_oci_spec_load() */
	char *rootfs_abs;    /* root.path resolved against the bundle, set by load() */
	struct vc_json *raw; /* the document this was parsed from (owned) */
};

/* Parses the model from a DOM. On success takes ownership of doc (spec->raw).
 * Errors name the JSON path: "process.args: must be a non-empty array". */
int vc_oci_spec_from_json(struct vc_json *doc, struct vc_oci_spec **out, struct vc_error *err);

/* Parses text (source names it in errors, e.g. "/b/config.json"). */
int vc_oci_spec_parse(const char *buf, size_t len, const char *source, struct vc_oci_spec **out,
		      struct vc_error *err);

/* The in-memory core of load: parses and validates for running (process and root
 * required), without looking at the bundle. */
int vc_oci_spec_parse_runnable(const char *buf, size_t len, const char *source,
			       struct vc_oci_spec **out, struct vc_error *err);

/* Reads BUNDLE/config.json, parses, validates for running (process and root
 * required, rootfs must exist and be a directory), resolves bundle and rootfs_abs. */
int vc_oci_spec_load(const char *bundle, struct vc_oci_spec **out, struct vc_error *err);

/* Checks what the runtime needs beyond the schema (absolute paths, known
 * namespace types, no duplicate namespaces, ...). */
int vc_oci_spec_validate(const struct vc_oci_spec *spec, struct vc_error *err);

void vc_oci_spec_free(struct vc_oci_spec *spec);
static inline void vc_oci_spec_freep(struct vc_oci_spec **s)
{
	vc_oci_spec_free(*s);
}
#define _cleanup_spec_ __attribute__((cleanup(vc_oci_spec_freep)))

/* The default config.json that `vcrun spec` writes: runc's `runc spec` [--rootless]
 * output byte for byte (tabs, no final newline) but hostname "vcrun", VC_OCI_VERSION. */
int vc_oci_spec_default_json(bool rootless, char **out, struct vc_error *err);

/* Namespace helpers. */
const char *vc_oci_ns_name(enum vc_oci_ns_type t); /* "pid", "network", ... */
int vc_oci_ns_from_name(const char *name);	   /* -EINVAL if unknown */
const struct vc_oci_namespace *vc_oci_spec_namespace(const struct vc_oci_spec *spec,
						     enum vc_oci_ns_type t);
const char *vc_oci_spec_annotation(const struct vc_oci_spec *spec, const char *key);

/* Process model on its own, for `exec --process` and for the agent protocol. */
int vc_oci_process_from_json(const struct vc_json *v, const char *path, struct vc_oci_process **out,
			     struct vc_error *err);
void vc_oci_process_free(struct vc_oci_process *p);

/* The checks vc_oci_spec_validate() makes on spec->process (args non-empty, cwd
 * absolute, known and unique rlimits, known capabilities); path prefixes errors.
 * vc_oci_process_from_json() already runs it: a standalone process has no later
 * validation step. */
int vc_oci_process_validate(const struct vc_oci_process *p, const char *path, struct vc_error *err);

/* Name tables the guest needs to apply a process: "RLIMIT_NOFILE" -> RLIMIT_NOFILE,
 * "CAP_SYS_ADMIN" -> 21 (up to CAP_CHECKPOINT_RESTORE); -EINVAL if unknown. */
int vc_oci_rlimit_from_name(const char *name);
const char *vc_oci_rlimit_name(int resource); /* NULL if unknown */
int vc_oci_cap_from_name(const char *name);
const char *vc_oci_cap_name(int cap); /* NULL if unknown */

/* linux.resources on its own (`update --resources`, the agent's UpdateContainer):
 * parsed as in a spec, errors prefixed by path; (*out)->raw borrows v, so v must
 * outlive *out. */
int vc_oci_resources_from_json(const struct vc_json *v, const char *path,
			       struct vc_oci_resources **out, struct vc_error *err);
void vc_oci_resources_free(struct vc_oci_resources *r);

#endif
