/* Requests: a dispatch table of {method, fields, handler}, and a validation gate
 * that reads every field a method declares (types, required, ids that exist or
 * must not) before its handler runs, so handlers see only well-formed requests
 * and a bad one gets an error response naming the field, never a crash. */
#include "agent-proto/agent-msg.h"
#include "agent-proto/clone-msg.h"
#include "agent/agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"

enum {
	F_CONTAINER = 1 << 0,	  /* container_id of an existing container */
	F_NEW_CONTAINER = 1 << 1, /* container_id not in use */
	F_EXEC_OPT = 1 << 2,	  /* exec_id (absent: init) of an existing process */
	F_NEW_EXEC = 1 << 3,	  /* exec_id not in use in the container */
	F_STREAM = 1 << 4,	  /* stream_id: non-zero, unused */
	F_STORAGES = 1 << 5,	  /* storages: required array */
	F_STORAGES_OPT = 1 << 6,
	F_SPEC = 1 << 7,
	F_PROCESS = 1 << 8,
	F_SIGNAL = 1 << 9, /* signal, all? */
	F_STDIN = 1 << 10,
	F_WINSIZE = 1 << 11,
	F_RESOURCES = 1 << 12,
	F_VERSION = 1 << 13,
	F_SANDBOX = 1 << 14, /* sandbox_id, hostname? */
};

static int h_check(struct agent *a, struct agent_req *r, struct vc_jgen *res, struct vc_error *err)
{
	if (r->version != VC_PROTO_VERSION)
		return vc_error_set(
			err, EPROTONOSUPPORT,
			"%s: protocol version %u is not supported (the agent speaks %d)", r->method,
			r->version, VC_PROTO_VERSION);
	struct vc_agent_check ck = {.version = VC_PROTO_VERSION};
	snprintf(ck.agent_version, sizeof(ck.agent_version), "%s", VC_VERSION);
	return vc_agent_check_encode(&ck, res, err);
}

static int h_guest_details(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			   struct vc_error *err)
{
	struct utsname u;
	if (uname(&u) < 0)
		return vc_error_sys(err, errno, "%s: uname", r->method);
	struct vc_agent_guest_details d = {0};
	snprintf(d.kernel_release, sizeof(d.kernel_release), "%s", u.release);
	snprintf(d.agent_version, sizeof(d.agent_version), "%s", VC_VERSION);
	return vc_agent_guest_details_encode(&d, res, err);
}

static const struct {
	const char *method;
	unsigned fields;
	agent_handler_fn fn;
} methods[] = {
	{VC_M_CHECK, F_VERSION, h_check},
	{VC_M_GET_GUEST_DETAILS, 0, h_guest_details},
	{VC_M_CREATE_SANDBOX, F_SANDBOX | F_STORAGES_OPT, agent_h_create_sandbox},
	{VC_M_DESTROY_SANDBOX, 0, agent_h_destroy_sandbox},
	{VC_M_CREATE_CONTAINER, F_NEW_CONTAINER | F_STREAM | F_STORAGES | F_SPEC | F_STDIN,
	 agent_h_create_container},
	{VC_M_START_CONTAINER, F_CONTAINER, agent_h_start_container},
	{VC_M_REMOVE_CONTAINER, F_CONTAINER, agent_h_remove_container},
	{VC_M_EXEC_PROCESS, F_CONTAINER | F_NEW_EXEC | F_STREAM | F_PROCESS | F_STDIN,
	 agent_h_exec_process},
	{VC_M_SIGNAL_PROCESS, F_CONTAINER | F_EXEC_OPT | F_SIGNAL, agent_h_signal_process},
	{VC_M_WAIT_PROCESS, F_CONTAINER | F_EXEC_OPT, agent_h_wait_process},
	{VC_M_TTY_WIN_RESIZE, F_CONTAINER | F_EXEC_OPT | F_WINSIZE, agent_h_tty_win_resize},
	{VC_M_LIST_PROCESSES, F_CONTAINER, agent_h_list_processes},
	{VC_M_PAUSE_CONTAINER, F_CONTAINER, agent_h_pause_container},
	{VC_M_RESUME_CONTAINER, F_CONTAINER, agent_h_resume_container},
	{VC_M_UPDATE_CONTAINER, F_CONTAINER | F_RESOURCES, agent_h_update_container},
	{VC_M_STATS_CONTAINER, F_CONTAINER, agent_h_stats_container},
	/* network.c validates these itself (arrays of objects) */
	{VC_M_UPDATE_INTERFACE, 0, agent_h_update_interface},
	{VC_M_UPDATE_ROUTES, 0, agent_h_update_routes},
	{VC_M_ADD_ARP_NEIGHBORS, 0, agent_h_add_arp_neighbors},
	{VC_M_START_DNS_RELAY, 0, agent_h_start_dns_relay},
	{VC_M_ONLINE_CPUS, 0, agent_h_online_cpus},
	{VC_M_CLONE_SETUP, 0, agent_h_clone_setup},
};

static int get_bool(const struct vc_json *obj, const char *where, const char *key, bool *out,
		    struct vc_error *err)
{
	const struct vc_json *v = vc_json_get(obj, key);
	*out = false;
	if (!v || v->type == VC_JSON_NULL)
		return 0;
	if (v->type != VC_JSON_BOOL)
		return vc_error_set(err, EINVAL, "%s.%s: must be a boolean", where, key);
	*out = v->u.boolean;
	return 0;
}

static int get_str(const struct vc_json *obj, const char *where, const char *key, bool required,
		   const char **out, struct vc_error *err)
{
	const struct vc_json *v = vc_json_get(obj, key);
	*out = NULL;
	if (!v && !required)
		return 0;
	if (!v)
		return vc_error_set(err, EINVAL, "%s.%s: required", where, key);
	if (v->type != VC_JSON_STRING || strlen(v->u.string.ptr) != v->u.string.len)
		return vc_error_set(err, EINVAL, "%s.%s: must be a string", where, key);
	*out = v->u.string.ptr;
	return 0;
}

int agent_get_str(const struct vc_json *obj, const char *where, const char *key, bool required,
		  const char **out, struct vc_error *err)
{
	return get_str(obj, where, key, required, out, err);
}

int agent_get_bool(const struct vc_json *obj, const char *where, const char *key, bool *out,
		   struct vc_error *err)
{
	return get_bool(obj, where, key, out, err);
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 1024 || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (const char *c = id; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("_+-.", *c)))
			return false;
	}
	return true;
}

static bool clean_abs_path(const char *p)
{
	if (p[0] != '/')
		return false;
	for (const char *s = p; (s = strstr(s, "..")); s += 2) {
		if ((s == p || s[-1] == '/') && (s[2] == '/' || s[2] == '\0'))
			return false;
	}
	return true;
}

static void storages_free(struct agent_storage_req *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vc_strv_freep(&s[i].options);
	free(s);
}

static int read_storage(const struct vc_json *v, const char *where, struct agent_storage_req *s,
			struct vc_error *err)
{
	if (v->type != VC_JSON_OBJECT)
		return vc_error_set(err, EINVAL, "%s: must be an object", where);
	int r = get_str(v, where, "source", true, &s->source, err);
	if (r == 0)
		r = get_str(v, where, "fstype", true, &s->fstype, err);
	if (r == 0)
		r = get_str(v, where, "mount_point", true, &s->mount_point, err);
	if (r == 0)
		r = get_bool(v, where, "readonly", &s->readonly, err);
	if (r < 0)
		return r;
	if (!s->source[0])
		return vc_error_set(err, EINVAL, "%s.source: must not be empty", where);
	if (!agent_storage_fstype_known(s->fstype))
		return vc_error_set(err, EINVAL, "%s.fstype: unknown fstype `%s`", where,
				    s->fstype);
	if (!clean_abs_path(s->mount_point))
		return vc_error_set(err, EINVAL,
				    "%s.mount_point: must be an absolute path without `..`", where);
	const struct vc_json *opts = vc_json_get(v, "options");
	if (!opts || opts->type == VC_JSON_NULL)
		return 0;
	if (opts->type != VC_JSON_ARRAY)
		return vc_error_set(err, EINVAL, "%s.options: must be an array of strings", where);
	s->options = calloc(1, sizeof(char *));
	if (!s->options)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < opts->u.array.len; i++) {
		const char *o = vc_json_str(opts->u.array.items[i]);
		if (!o)
			return vc_error_set(err, EINVAL, "%s.options[%zu]: must be a string", where,
					    i);
		if (vc_strv_push(&s->options, o) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

static int read_storages(struct agent_req *r, bool required, struct vc_error *err)
{
	const struct vc_json *arr;
	int rc = vc_proto_get_array(r->params, r->method, "storages", required, &arr, err);
	if (rc < 0 || !arr || arr->u.array.len == 0)
		return rc;
	r->storages = calloc(arr->u.array.len, sizeof(*r->storages));
	if (!r->storages)
		return vc_error_set(err, ENOMEM, "out of memory");
	r->n_storages = arr->u.array.len;
	for (size_t i = 0; i < arr->u.array.len; i++) {
		char where[96];
		snprintf(where, sizeof(where), "%s: params.storages[%zu]", r->method, i);
		rc = read_storage(arr->u.array.items[i], where, &r->storages[i], err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Prefixes a parser's message ("process.args: ...") with the request's path. */
static int wrap_path(struct vc_error *err, const char *method, const char *path)
{
	char msg[VC_ERROR_MSG_MAX];
	snprintf(msg, sizeof(msg), "%s", err->msg);
	return vc_error_set(err, err->code ? err->code : EINVAL, "%s: %s.%s", method, path, msg);
}

static int read_spec(struct agent_req *r, struct vc_error *err)
{
	const struct vc_json *v;
	int rc = vc_proto_get_object(r->params, r->method, "spec", true, &v, err);
	if (rc < 0)
		return rc;
	struct vc_json *doc = vc_json_clone(v);
	if (!doc)
		return vc_error_set(err, ENOMEM, "out of memory");
	rc = vc_oci_spec_from_json(doc, &r->spec, err);
	if (rc < 0)
		vc_json_free(doc);
	else
		rc = vc_oci_spec_validate(r->spec, err);
	if (rc < 0)
		return wrap_path(err, r->method, "params.spec");
	return 0;
}

/* linux.resources on its own goes through the spec parser inside a minimal
 * document, so UpdateContainer reads it exactly as CreateContainer does. */
static int read_resources(struct agent_req *r, struct vc_error *err)
{
	const struct vc_json *v;
	int rc = vc_proto_get_object(r->params, r->method, "resources", true, &v, err);
	if (rc < 0)
		return rc;
	_cleanup_json_ struct vc_json *doc = vc_json_new_object();
	struct vc_json *linux_obj = vc_json_new_object();
	struct vc_json *res = vc_json_clone(v);
	struct vc_json *ver = vc_json_new_string(VC_OCI_VERSION);
	if (!doc || !linux_obj || !res || !ver) {
		vc_json_free(linux_obj);
		vc_json_free(res);
		vc_json_free(ver);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	/* object_set frees the value when it fails */
	if (vc_json_object_set(linux_obj, "resources", res) < 0) {
		vc_json_free(linux_obj);
		vc_json_free(ver);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	if (vc_json_object_set(doc, "ociVersion", ver) < 0) {
		vc_json_free(linux_obj);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	if (vc_json_object_set(doc, "linux", linux_obj) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	rc = vc_oci_spec_from_json(doc, &r->res_spec, err);
	if (rc < 0)
		return wrap_path(err, r->method, "params.resources (as spec)");
	doc = NULL; /* owned by res_spec now */
	r->resources = r->res_spec->linux ? r->res_spec->linux->resources : NULL;
	return 0;
}

static int read_process(struct agent_req *r, struct vc_error *err)
{
	const struct vc_json *v;
	int rc = vc_proto_get_object(r->params, r->method, "process", true, &v, err);
	if (rc < 0)
		return rc;
	rc = vc_oci_process_from_json(v, "process", &r->process, err);
	if (rc < 0)
		return wrap_path(err, r->method, "params");
	return 0;
}

static int read_ids(struct agent *a, struct agent_req *r, unsigned f, struct vc_error *err)
{
	int rc = 0;
	if (f & (F_CONTAINER | F_NEW_CONTAINER)) {
		rc = vc_proto_get_string(r->params, r->method, "container_id", true,
					 &r->container_id, err);
		if (rc < 0)
			return rc;
		r->ctr = agent_container_find(a, r->container_id);
		if ((f & F_CONTAINER) && !r->ctr)
			return vc_error_set(err, ENOENT, "%s: container %s not found", r->method,
					    r->container_id);
		if ((f & F_NEW_CONTAINER) && r->ctr)
			return vc_error_set(err, EEXIST, "%s: container %s already exists",
					    r->method, r->container_id);
		if ((f & F_NEW_CONTAINER) && !valid_id(r->container_id))
			return vc_error_set(err, EINVAL,
					    "%s: params.container_id: `%s` is not a valid id",
					    r->method, r->container_id);
	}
	if (f & (F_EXEC_OPT | F_NEW_EXEC)) {
		rc = vc_proto_get_string(r->params, r->method, "exec_id", f & F_NEW_EXEC,
					 &r->exec_id, err);
		if (rc < 0)
			return rc;
		struct agent_process *p = agent_process_find(a, r->ctr, r->exec_id);
		if ((f & F_EXEC_OPT) && !p)
			return vc_error_set(err, ENOENT, "%s: process %s not found in container %s",
					    r->method, r->exec_id, r->container_id);
		/* a finished exec process gives its id up to a new one */
		if ((f & F_NEW_EXEC) && ((p && !agent_process_done(p)) || !r->exec_id[0]))
			return vc_error_set(err, p ? EEXIST : EINVAL,
					    "%s: params.exec_id: `%s` is %s", r->method, r->exec_id,
					    p ? "already in use" : "empty");
		r->proc = p;
	}
	if (f & F_STREAM) {
		rc = vc_proto_get_u32(r->params, r->method, "stream_id", true, &r->stream_id, err);
		if (rc < 0)
			return rc;
		if (r->stream_id == 0)
			return vc_error_set(err, EINVAL, "%s: params.stream_id: must not be 0",
					    r->method);
		if (agent_process_by_stream(a, r->stream_id))
			return vc_error_set(err, EEXIST, "%s: params.stream_id: %u is in use",
					    r->method, r->stream_id);
	}
	return 0;
}

static int read_scalars(struct agent_req *r, unsigned f, struct vc_error *err)
{
	int rc = 0;
	char where[64];
	snprintf(where, sizeof(where), "%s: params", r->method);
	if (f & F_SIGNAL) {
		rc = vc_proto_get_u32(r->params, r->method, "signal", true, &r->signal, err);
		if (rc == 0 && (r->signal < 1 || r->signal > 64))
			rc = vc_error_set(err, EINVAL, "%s.signal: %u is not a signal number",
					  where, r->signal);
		if (rc == 0)
			rc = get_bool(r->params, where, "all", &r->all, err);
	}
	if (rc == 0 && (f & F_STDIN))
		rc = get_bool(r->params, where, "stdin", &r->stdin_open, err);
	if (rc == 0 && (f & F_WINSIZE)) {
		rc = vc_proto_get_u32(r->params, r->method, "rows", true, &r->rows, err);
		if (rc == 0)
			rc = vc_proto_get_u32(r->params, r->method, "cols", true, &r->cols, err);
		if (rc == 0 && (r->rows > 65535 || r->cols > 65535))
			rc = vc_error_set(err, EINVAL, "%s: rows and cols must be below 65536",
					  where);
	}
	if (rc == 0 && (f & F_VERSION))
		rc = vc_proto_get_u32(r->params, r->method, "version", true, &r->version, err);
	if (rc == 0 && (f & F_SANDBOX)) {
		rc = vc_proto_get_string(r->params, r->method, "sandbox_id", true, &r->sandbox_id,
					 err);
		if (rc == 0 && !r->sandbox_id[0])
			rc = vc_error_set(err, EINVAL, "%s.sandbox_id: must not be empty", where);
		if (rc == 0)
			rc = vc_proto_get_string(r->params, r->method, "hostname", false,
						 &r->hostname, err);
	}
	return rc;
}

static int gate(struct agent *a, unsigned f, struct agent_req *r, struct vc_error *err)
{
	int rc = read_ids(a, r, f, err);
	if (rc == 0)
		rc = read_scalars(r, f, err);
	if (rc == 0 && (f & (F_STORAGES | F_STORAGES_OPT)))
		rc = read_storages(r, f & F_STORAGES, err);
	if (rc == 0 && (f & F_SPEC))
		rc = read_spec(r, err);
	if (rc == 0 && (f & F_PROCESS))
		rc = read_process(r, err);
	if (rc == 0 && (f & F_RESOURCES))
		rc = read_resources(r, err);
	return rc;
}

static void req_free(struct agent_req *r)
{
	storages_free(r->storages, r->n_storages);
	vc_oci_spec_free(r->spec);
	vc_oci_process_free(r->process);
	vc_oci_spec_free(r->res_spec);
}

void agent_handle_request(struct agent *a, uint32_t id, const void *body, size_t len)
{
	_cleanup_free_ char *method = NULL;
	_cleanup_json_ struct vc_json *params = NULL;
	struct vc_error err = {0};
	if (vc_proto_request_decode(body, len, &method, &params, &err) < 0) {
		agent_queue_error(a, id, EINVAL, err.msg);
		return;
	}
	size_t i = 0;
	while (i < VC_ARRAY_SIZE(methods) && strcmp(methods[i].method, method))
		i++;
	if (i == VC_ARRAY_SIZE(methods)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "unknown method `%.200s`", method);
		agent_queue_error(a, id, ENOSYS, msg);
		return;
	}
	_cleanup_json_ struct vc_json *empty = NULL;
	if (!params || params->type == VC_JSON_NULL) {
		params = NULL;
		empty = vc_json_new_object();
	} else if (params->type != VC_JSON_OBJECT) {
		char msg[256];
		snprintf(msg, sizeof(msg), "%s: params: must be an object", methods[i].method);
		agent_queue_error(a, id, EINVAL, msg);
		return;
	}
	struct agent_req r = {
		.id = id, .method = methods[i].method, .params = params ? params : empty};
	agent_dbg("request %u: %s", id, r.method);
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	int rc = g ? gate(a, methods[i].fields, &r, &err)
		   : vc_error_set(&err, ENOMEM, "out of memory");
	if (rc == 0) {
		vc_jgen_object_open(g);
		vc_jgen_key(g, "result");
		vc_jgen_object_open(g);
		rc = methods[i].fn(a, &r, g, &err);
	}
	if (rc == 0) {
		vc_jgen_object_close(g);
		vc_jgen_object_close(g);
		_cleanup_free_ char *out = NULL;
		size_t olen = 0;
		if (vc_jgen_finish(g, &out, &olen, &err) < 0)
			agent_queue_error(a, id, EIO, err.msg);
		else
			agent_queue_frame(a, VC_FRAME_RESPONSE, 0, id, out, olen);
	} else if (rc < 0) {
		agent_queue_error(a, id, err.code, err.msg);
	}
	req_free(&r);
}
