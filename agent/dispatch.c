/* Requests: each body goes through its typed decoder (agent-proto/agent-req.h:
 * types, ranges, ids, lengths), then a gate that checks what only the agent knows
 * (ids that must exist or must not, stream ids in use) and parses the documents a
 * method carries, before its handler runs; so handlers see only well-formed
 * requests and a bad one gets an error response naming the field, never a crash. */
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

/* What the gate checks against the agent's state, and the documents it parses, on
 * top of what the request's decoder (agent-proto/agent-req.c) checked already. */
enum {
	F_CONTAINER = 1 << 0,	  /* container_id of an existing container */
	F_NEW_CONTAINER = 1 << 1, /* container_id not in use */
	F_EXEC_OPT = 1 << 2,	  /* exec_id (absent: init) of an existing process */
	F_NEW_EXEC = 1 << 3,	  /* exec_id not in use in the container */
	F_STREAM = 1 << 4,	  /* stream_id unused */
	F_STORAGES = 1 << 5,	  /* storages, each one read */
	F_SPEC = 1 << 6,
	F_PROCESS = 1 << 7,
	F_RESOURCES = 1 << 8,
	F_DEVICES = 1 << 9, /* CreateContainer's devices, each one read */
};

static int h_check(struct agent *a, struct agent_req *r, struct vc_jgen *res, struct vc_error *err)
{
	uint32_t version = r->rq->u.check.version;
	if (version != VC_PROTO_VERSION)
		return vc_error_set(
			err, EPROTONOSUPPORT,
			"%s: protocol version %u is not supported (the agent speaks %d)", r->method,
			version, VC_PROTO_VERSION);
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

/* Indexed by the request's kind. */
static const struct {
	unsigned fields;
	agent_handler_fn fn;
} methods[VC_AR_N] = {
	[VC_AR_CHECK] = {0, h_check},
	[VC_AR_GET_GUEST_DETAILS] = {0, h_guest_details},
	[VC_AR_CREATE_SANDBOX] = {F_STORAGES, agent_h_create_sandbox},
	[VC_AR_DESTROY_SANDBOX] = {0, agent_h_destroy_sandbox},
	[VC_AR_CREATE_CONTAINER] = {F_NEW_CONTAINER | F_STREAM | F_STORAGES | F_SPEC | F_DEVICES,
				    agent_h_create_container},
	[VC_AR_START_CONTAINER] = {F_CONTAINER, agent_h_start_container},
	[VC_AR_REMOVE_CONTAINER] = {F_CONTAINER, agent_h_remove_container},
	[VC_AR_EXEC_PROCESS] = {F_CONTAINER | F_NEW_EXEC | F_STREAM | F_PROCESS,
				agent_h_exec_process},
	[VC_AR_SIGNAL_PROCESS] = {F_CONTAINER | F_EXEC_OPT, agent_h_signal_process},
	[VC_AR_WAIT_PROCESS] = {F_CONTAINER | F_EXEC_OPT, agent_h_wait_process},
	[VC_AR_TTY_WIN_RESIZE] = {F_CONTAINER | F_EXEC_OPT, agent_h_tty_win_resize},
	[VC_AR_LIST_PROCESSES] = {F_CONTAINER, agent_h_list_processes},
	[VC_AR_PAUSE_CONTAINER] = {F_CONTAINER, agent_h_pause_container},
	[VC_AR_RESUME_CONTAINER] = {F_CONTAINER, agent_h_resume_container},
	[VC_AR_UPDATE_CONTAINER] = {F_CONTAINER | F_RESOURCES, agent_h_update_container},
	[VC_AR_STATS_CONTAINER] = {F_CONTAINER, agent_h_stats_container},
	/* network.c parses the nested network descriptions itself */
	[VC_AR_UPDATE_INTERFACE] = {0, agent_h_update_interface},
	[VC_AR_UPDATE_ROUTES] = {0, agent_h_update_routes},
	[VC_AR_ADD_ARP_NEIGHBORS] = {0, agent_h_add_arp_neighbors},
	[VC_AR_START_DNS_RELAY] = {0, agent_h_start_dns_relay},
	[VC_AR_ONLINE_CPUS] = {0, agent_h_online_cpus},
	[VC_AR_CLONE_SETUP] = {0, agent_h_clone_setup},
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
		r = get_str(v, where, "driver", false, &s->driver, err);
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
	if ((r = agent_storage_check_driver(s, where, err)) < 0)
		return r;
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

/* The storages of CreateSandbox or CreateContainer: the decoder checked that they
 * are an array of objects. */
static int read_storages(struct agent_req *r, struct vc_error *err)
{
	const struct vc_json *arr = r->rq->kind == VC_AR_CREATE_SANDBOX
					    ? r->rq->u.create_sandbox.storages
					    : r->rq->u.create_container.storages;
	if (!arr || arr->u.array.len == 0)
		return 0;
	r->storages = calloc(arr->u.array.len, sizeof(*r->storages));
	if (!r->storages)
		return vc_error_set(err, ENOMEM, "out of memory");
	r->n_storages = arr->u.array.len;
	for (size_t i = 0; i < arr->u.array.len; i++) {
		char where[96];
		snprintf(where, sizeof(where), "%s: params.storages[%zu]", r->method, i);
		int rc = read_storage(arr->u.array.items[i], where, &r->storages[i], err);
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
	struct vc_json *doc = vc_json_clone(r->rq->u.create_container.spec);
	if (!doc)
		return vc_error_set(err, ENOMEM, "out of memory");
	int rc = vc_oci_spec_from_json(doc, &r->spec, err);
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
	const struct vc_json *v = r->rq->u.update.resources;
	int rc;
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
	int rc = vc_oci_process_from_json(r->rq->u.exec.process, "process", &r->process, err);
	if (rc < 0)
		return wrap_path(err, r->method, "params");
	return 0;
}

/* The ids a request names, wherever its kind keeps them. */
static void ids_of(const struct vc_agent_request *rq, const char **cid, const char **eid,
		   uint32_t *sid)
{
	*cid = *eid = NULL;
	*sid = 0;
	switch (rq->kind) {
	case VC_AR_CREATE_CONTAINER:
		*cid = rq->u.create_container.container_id;
		*sid = rq->u.create_container.stream_id;
		break;
	case VC_AR_EXEC_PROCESS:
		*cid = rq->u.exec.container_id;
		*eid = rq->u.exec.exec_id;
		*sid = rq->u.exec.stream_id;
		break;
	case VC_AR_SIGNAL_PROCESS:
		*cid = rq->u.signal.container_id;
		*eid = rq->u.signal.exec_id;
		break;
	case VC_AR_WAIT_PROCESS:
		*cid = rq->u.process.container_id;
		*eid = rq->u.process.exec_id;
		break;
	case VC_AR_TTY_WIN_RESIZE:
		*cid = rq->u.resize.container_id;
		*eid = rq->u.resize.exec_id;
		break;
	case VC_AR_LIST_PROCESSES:
		*cid = rq->u.ps.container_id;
		break;
	case VC_AR_UPDATE_CONTAINER:
		*cid = rq->u.update.container_id;
		break;
	case VC_AR_START_CONTAINER:
	case VC_AR_REMOVE_CONTAINER:
	case VC_AR_PAUSE_CONTAINER:
	case VC_AR_RESUME_CONTAINER:
	case VC_AR_STATS_CONTAINER:
		*cid = rq->u.container.container_id;
		break;
	default:
		break;
	}
}

/* What the decoder cannot know: whether the ids name what exists (or not yet). */
static int read_ids(struct agent *a, struct agent_req *r, unsigned f, struct vc_error *err)
{
	const char *cid, *eid;
	uint32_t sid;
	ids_of(r->rq, &cid, &eid, &sid);
	if (f & (F_CONTAINER | F_NEW_CONTAINER)) {
		r->ctr = agent_container_find(a, cid);
		if ((f & F_CONTAINER) && !r->ctr)
			return vc_error_set(err, ENOENT, "%s: container %s not found", r->method,
					    cid);
		if ((f & F_NEW_CONTAINER) && r->ctr)
			return vc_error_set(err, EEXIST, "%s: container %s already exists",
					    r->method, cid);
	}
	if (f & (F_EXEC_OPT | F_NEW_EXEC)) {
		struct agent_process *p = agent_process_find(a, r->ctr, eid);
		if ((f & F_EXEC_OPT) && !p)
			return vc_error_set(err, ENOENT, "%s: process %s not found in container %s",
					    r->method, eid, cid);
		/* a finished exec process gives its id up to a new one */
		if ((f & F_NEW_EXEC) && p && !agent_process_done(p))
			return vc_error_set(err, EEXIST,
					    "%s: params.exec_id: `%s` is already in use", r->method,
					    eid);
		r->proc = p;
	}
	if ((f & F_STREAM) && agent_process_by_stream(a, sid))
		return vc_error_set(err, EEXIST, "%s: params.stream_id: %u is in use", r->method,
				    sid);
	return 0;
}

static int read_devices(struct agent_req *r, struct vc_error *err)
{
	char where[64];
	snprintf(where, sizeof(where), "%s: params.devices", r->method);
	return agent_devices_read(r->rq->u.create_container.devices, where, &r->devices,
				  &r->n_devices, err);
}

static int gate(struct agent *a, unsigned f, struct agent_req *r, struct vc_error *err)
{
	int rc = read_ids(a, r, f, err);
	if (rc == 0 && (f & F_STORAGES))
		rc = read_storages(r, err);
	if (rc == 0 && (f & F_DEVICES))
		rc = read_devices(r, err);
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
	free(r->devices);
	vc_oci_spec_free(r->spec);
	vc_oci_process_free(r->process);
	vc_oci_spec_free(r->res_spec);
}

void agent_handle_request(struct agent *a, uint32_t id, const void *body, size_t len)
{
	__attribute__((cleanup(vc_agent_request_release))) struct vc_agent_request rq = {0};
	struct vc_error err = {0};
	/* The one gate of the wire: every field a handler reads has been checked. */
	if (vc_agent_request_decode(body, len, &rq, &err) < 0) {
		agent_queue_error(a, id, err.code ? err.code : EINVAL, err.msg);
		return;
	}
	struct agent_req r = {.id = id, .method = vc_agent_req_name(rq.kind), .rq = &rq};
	if (!methods[rq.kind].fn) { /* a request the protocol knows, this agent not yet */
		char msg[256];
		snprintf(msg, sizeof(msg), "unknown method `%s`", r.method);
		agent_queue_error(a, id, ENOSYS, msg);
		return;
	}
	agent_dbg("request %u: %s", id, r.method);
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	int rc = g ? gate(a, methods[rq.kind].fields, &r, &err)
		   : vc_error_set(&err, ENOMEM, "out of memory");
	if (rc == 0) {
		vc_jgen_object_open(g);
		vc_jgen_key(g, "result");
		vc_jgen_object_open(g);
		rc = methods[rq.kind].fn(a, &r, g, &err);
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
