/* The host's requests to the agent, typed: the one place where request JSON is
 * written (host) and read (agent). Each request is a table of its fields; one
 * encoder and one decoder walk the tables, so both sides apply the same rules
 * (agent-req.h, docs/agent-protocol.md "Typed requests"). */
#include "agent-proto/agent-req.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"

enum ftype {
	T_ID,	/* const char *: vc_container_id_check's rule */
	T_STR,	/* const char *: at most max bytes, and chk */
	T_U32,	/* uint32_t from min to max; optional: 0 is absent */
	T_BOOL, /* bool; absent reads as dflt, written when not false or dflt */
	T_OBJ,	/* const struct vc_json *: an object */
	T_ARR,	/* const struct vc_json *: an array of at most max objects */
};

enum fcheck { C_NONE, C_IFNAME, C_MAC, C_IPV4 };

struct field {
	const char *key;
	unsigned char type, chk;
	bool required, dflt;
	size_t off;
	uint32_t min, max;
};

#define FLD(S, m, t, req, lo, hi, c, d)                  \
	{                                                \
#m, t, c, req, d, offsetof(S, m), lo, hi \
	}
#define ID(S, m, req)	       FLD(S, m, T_ID, req, 0, 0, C_NONE, false)
#define STR(S, m, req, hi, c)  FLD(S, m, T_STR, req, 0, hi, c, false)
#define U32(S, m, req, lo, hi) FLD(S, m, T_U32, req, lo, hi, C_NONE, false)
#define BOOL(S, m, d)	       FLD(S, m, T_BOOL, false, 0, 0, C_NONE, d)
#define OBJ(S, m, req)	       FLD(S, m, T_OBJ, req, 0, 0, C_NONE, false)
#define ARR(S, m, req, hi)     FLD(S, m, T_ARR, req, 0, hi, C_NONE, false)

#define S_CK  struct vc_areq_check
#define S_SB  struct vc_areq_create_sandbox
#define S_CC  struct vc_areq_create_container
#define S_CTR struct vc_areq_container
#define S_EX  struct vc_areq_exec_process
#define S_SIG struct vc_areq_signal_process
#define S_PR  struct vc_areq_process
#define S_TTY struct vc_areq_tty_win_resize
#define S_PS  struct vc_areq_list_processes
#define S_UP  struct vc_areq_update_container
#define S_IF  struct vc_areq_update_interface
#define S_RT  struct vc_areq_update_routes
#define S_NB  struct vc_areq_add_arp_neighbors
#define S_DNS struct vc_areq_start_dns_relay
#define S_CPU struct vc_areq_online_cpus

static const struct field f_check[] = {U32(S_CK, version, true, 0, UINT32_MAX)};
static const struct field f_sandbox[] = {
	ID(S_SB, sandbox_id, true),
	STR(S_SB, hostname, false, VC_AREQ_HOSTNAME_MAX, C_NONE),
	ARR(S_SB, storages, false, VC_AREQ_STORAGES_MAX),
};
static const struct field f_create[] = {
	ID(S_CC, container_id, true), U32(S_CC, stream_id, true, 1, UINT32_MAX),
	BOOL(S_CC, stdin, false),     ARR(S_CC, storages, true, VC_AREQ_STORAGES_MAX),
	OBJ(S_CC, spec, true),	      ARR(S_CC, devices, false, VC_AREQ_DEVICES_MAX),
};
static const struct field f_container[] = {ID(S_CTR, container_id, true)};
static const struct field f_exec[] = {
	ID(S_EX, container_id, true),
	ID(S_EX, exec_id, true),
	U32(S_EX, stream_id, true, 1, UINT32_MAX),
	BOOL(S_EX, stdin, false),
	OBJ(S_EX, process, true),
};
static const struct field f_signal[] = {
	ID(S_SIG, container_id, true),
	ID(S_SIG, exec_id, false),
	U32(S_SIG, signal, true, 1, NSIG - 1),
	BOOL(S_SIG, all, false),
};
static const struct field f_process[] = {ID(S_PR, container_id, true), ID(S_PR, exec_id, false)};
static const struct field f_resize[] = {
	ID(S_TTY, container_id, true),
	ID(S_TTY, exec_id, false),
	U32(S_TTY, rows, true, 0, 65535),
	U32(S_TTY, cols, true, 0, 65535),
};
static const struct field f_ps[] = {
	ID(S_PS, container_id, true),
	BOOL(S_PS, details, false),
	BOOL(S_PS, environ, false),
};
static const struct field f_update[] = {ID(S_UP, container_id, true), OBJ(S_UP, resources, true)};
static const struct field f_iface[] = {
	STR(S_IF, mac, true, 17, C_MAC),
	STR(S_IF, name, false, IFNAMSIZ - 1, C_IFNAME),
	U32(S_IF, mtu, false, VC_AREQ_MTU_MIN, VC_AREQ_MTU_MAX),
	U32(S_IF, wait_ms, false, 0, VC_AREQ_WAIT_MS_MAX),
	BOOL(S_IF, up, true),
	ARR(S_IF, addresses, false, VC_AREQ_ADDRS_MAX),
};
static const struct field f_routes[] = {ARR(S_RT, routes, true, VC_AREQ_ROUTES_MAX)};
static const struct field f_neighbors[] = {ARR(S_NB, neighbors, true, VC_AREQ_NEIGHBORS_MAX)};
static const struct field f_dns[] = {STR(S_DNS, address, true, INET_ADDRSTRLEN - 1, C_IPV4)};
static const struct field f_cpus[] = {
	U32(S_CPU, count, true, 1, VC_AREQ_CPUS_MAX),
	U32(S_CPU, wait_ms, false, 0, VC_AREQ_WAIT_MS_MAX),
};

/* CloneSetup's fields (hex entropy, a 64-bit time) are clone-msg.c's: its codec
 * stands in for the field table. */
static int clone_encode(const void *m, struct vc_jgen *g, struct vc_error *err)
{
	_cleanup_json_ struct vc_json *p = NULL;
	int r = vc_clone_setup_to_json(m, &p, err);
	for (size_t i = 0; r == 0 && i < p->u.object.len; i++) {
		vc_jgen_key(g, p->u.object.members[i].key);
		vc_jgen_value(g, p->u.object.members[i].value);
	}
	return r;
}

static int clone_decode(const struct vc_json *params, void *m, struct vc_error *err)
{
	return vc_clone_setup_from_json(params, m, err);
}

static const struct desc {
	const char *method;
	size_t size;
	const struct field *fields;
	size_t n;
	int (*encode)(const void *m, struct vc_jgen *g, struct vc_error *err);
	int (*decode)(const struct vc_json *params, void *m, struct vc_error *err);
} descs[VC_AR_N] = {
#define D(k, name, S, f) [k] = {name, sizeof(S), f, VC_ARRAY_SIZE(f), NULL, NULL}
	D(VC_AR_CHECK, VC_M_CHECK, S_CK, f_check),
	[VC_AR_GET_GUEST_DETAILS] = {VC_M_GET_GUEST_DETAILS, 0, NULL, 0, NULL, NULL},
	D(VC_AR_CREATE_SANDBOX, VC_M_CREATE_SANDBOX, S_SB, f_sandbox),
	[VC_AR_DESTROY_SANDBOX] = {VC_M_DESTROY_SANDBOX, 0, NULL, 0, NULL, NULL},
	D(VC_AR_CREATE_CONTAINER, VC_M_CREATE_CONTAINER, S_CC, f_create),
	D(VC_AR_START_CONTAINER, VC_M_START_CONTAINER, S_CTR, f_container),
	D(VC_AR_REMOVE_CONTAINER, VC_M_REMOVE_CONTAINER, S_CTR, f_container),
	D(VC_AR_EXEC_PROCESS, VC_M_EXEC_PROCESS, S_EX, f_exec),
	D(VC_AR_SIGNAL_PROCESS, VC_M_SIGNAL_PROCESS, S_SIG, f_signal),
	D(VC_AR_WAIT_PROCESS, VC_M_WAIT_PROCESS, S_PR, f_process),
	D(VC_AR_TTY_WIN_RESIZE, VC_M_TTY_WIN_RESIZE, S_TTY, f_resize),
	D(VC_AR_LIST_PROCESSES, VC_M_LIST_PROCESSES, S_PS, f_ps),
	D(VC_AR_PAUSE_CONTAINER, VC_M_PAUSE_CONTAINER, S_CTR, f_container),
	D(VC_AR_RESUME_CONTAINER, VC_M_RESUME_CONTAINER, S_CTR, f_container),
	D(VC_AR_UPDATE_CONTAINER, VC_M_UPDATE_CONTAINER, S_UP, f_update),
	D(VC_AR_STATS_CONTAINER, VC_M_STATS_CONTAINER, S_CTR, f_container),
	D(VC_AR_UPDATE_INTERFACE, VC_M_UPDATE_INTERFACE, S_IF, f_iface),
	D(VC_AR_UPDATE_ROUTES, VC_M_UPDATE_ROUTES, S_RT, f_routes),
	D(VC_AR_ADD_ARP_NEIGHBORS, VC_M_ADD_ARP_NEIGHBORS, S_NB, f_neighbors),
	D(VC_AR_START_DNS_RELAY, VC_M_START_DNS_RELAY, S_DNS, f_dns),
	D(VC_AR_ONLINE_CPUS, VC_M_ONLINE_CPUS, S_CPU, f_cpus),
	[VC_AR_CLONE_SETUP] = {VC_M_CLONE_SETUP, sizeof(struct vc_clone_setup), NULL, 0,
			       clone_encode, clone_decode},
#undef D
};

const char *vc_agent_req_name(enum vc_agent_req k)
{
	return (unsigned)k < VC_AR_N ? descs[k].method : NULL;
}

int vc_agent_req_kind(const char *method)
{
	for (int k = 0; method && k < VC_AR_N; k++)
		if (!strcmp(descs[k].method, method))
			return k;
	return -ENOSYS;
}

/* ---- the rules, shared by encode and decode ---- */

bool vc_agent_mac_parse(const char *s, unsigned char mac[6])
{
	unsigned v[6];
	char tail;
	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
				      &v[4], &v[5], &tail) != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		if (s[i * 3 + 2] != (i == 5 ? '\0' : ':') || !isxdigit((unsigned char)s[i * 3]) ||
		    !isxdigit((unsigned char)s[i * 3 + 1]))
			return false;
		mac[i] = (unsigned char)v[i];
	}
	return true;
}

bool vc_agent_ifname_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (const char *c = s; *c; c++) {
		if (*c == '/' || *c == ':' || *c <= ' ' || *c == 0x7f)
			return false;
	}
	return true;
}

/* "Method: params.key: why" */
static int bad(struct vc_error *err, const struct desc *d, const struct field *f, const char *fmt,
	       ...) __attribute__((format(printf, 4, 5)));
static int bad(struct vc_error *err, const struct desc *d, const struct field *f, const char *fmt,
	       ...)
{
	char why[VC_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return vc_error_set(err, EINVAL, "%s: params.%s%s%s", d->method, f->key,
			    why[0] == ' ' ? "" : ": ", why);
}

static int check_str(const struct desc *d, const struct field *f, const char *s, size_t len,
		     struct vc_error *err)
{
	if (strlen(s) != len)
		return bad(err, d, f, "must not contain a NUL byte");
	if (f->type == T_ID) {
		struct vc_error why = {0};
		return vc_container_id_check(s, &why) < 0 ? bad(err, d, f, "%s", why.msg) : 0;
	}
	unsigned char mac[6];
	struct in_addr a4;
	switch (f->chk) {
	case C_IFNAME:
		if (!vc_agent_ifname_ok(s))
			return bad(err, d, f,
				   "`%.64s` is not an interface name (1 to %d bytes, no space, "
				   "'/' or ':')",
				   s, IFNAMSIZ - 1);
		break;
	case C_MAC:
		if (!vc_agent_mac_parse(s, mac))
			return bad(err, d, f, "`%.64s` is not a MAC address (xx:xx:xx:xx:xx:xx)",
				   s);
		break;
	case C_IPV4:
		if (inet_pton(AF_INET, s, &a4) != 1)
			return bad(err, d, f, "`%.64s` is not an IPv4 address", s);
		break;
	default:
		if (len > f->max)
			return bad(err, d, f, "must be %u bytes at most (got %zu)", f->max, len);
	}
	return 0;
}

static int check_u32(const struct desc *d, const struct field *f, uint64_t v, bool ok,
		     struct vc_error *err)
{
	if (!ok || v < f->min || v > f->max)
		return bad(err, d, f, "must be an integer from %u to %u", f->min, f->max);
	return 0;
}

static int check_doc(const struct desc *d, const struct field *f, const struct vc_json *v,
		     struct vc_error *err)
{
	enum vc_json_type want = f->type == T_OBJ ? VC_JSON_OBJECT : VC_JSON_ARRAY;
	if (v->type != want)
		return bad(err, d, f, "must be %s, not %s",
			   want == VC_JSON_OBJECT ? "an object" : "an array",
			   vc_json_type_name(v->type));
	if (want == VC_JSON_OBJECT)
		return 0;
	if (v->u.array.len > f->max)
		return bad(err, d, f, "more than %u entries (%zu)", f->max, v->u.array.len);
	for (size_t i = 0; i < v->u.array.len; i++)
		if (v->u.array.items[i]->type != VC_JSON_OBJECT)
			return vc_error_set(
				err, EINVAL, "%s: params.%s[%zu]: must be an object, not %s",
				d->method, f->key, i, vc_json_type_name(v->u.array.items[i]->type));
	return 0;
}

static const struct desc *desc_of(enum vc_agent_req k, struct vc_error *err)
{
	if ((unsigned)k >= VC_AR_N) {
		vc_error_set(err, EINVAL, "unknown agent request %d", (int)k);
		return NULL;
	}
	return &descs[k];
}

#define SLOT(T, m, f) ((T *)((char *)(m) + (f)->off))

/* ---- decode ---- */

static int decode_field(const struct desc *d, const struct field *f, const struct vc_json *params,
			void *m, struct vc_error *err)
{
	const struct vc_json *v = vc_json_get(params, f->key);
	if (!v || v->type == VC_JSON_NULL) {
		if (f->required)
			return bad(err, d, f, " is required");
		if (f->type == T_BOOL)
			*SLOT(bool, m, f) = f->dflt;
		return 0;
	}
	uint64_t u = 0;
	int r;
	switch (f->type) {
	case T_ID:
	case T_STR:
		if (v->type != VC_JSON_STRING)
			return bad(err, d, f, "must be a string, not %s",
				   vc_json_type_name(v->type));
		if ((r = check_str(d, f, v->u.string.ptr, v->u.string.len, err)) < 0)
			return r;
		*SLOT(const char *, m, f) = v->u.string.ptr;
		return 0;
	case T_U32: {
		bool ok = vc_json_to_u64(v, &u) == 0;
		if ((r = check_u32(d, f, u, ok, err)) < 0)
			return r;
		*SLOT(uint32_t, m, f) = (uint32_t)u;
		return 0;
	}
	case T_BOOL:
		if (v->type != VC_JSON_BOOL)
			return bad(err, d, f, "must be a boolean, not %s",
				   vc_json_type_name(v->type));
		*SLOT(bool, m, f) = v->u.boolean;
		return 0;
	default:
		if ((r = check_doc(d, f, v, err)) < 0)
			return r;
		*SLOT(const struct vc_json *, m, f) = v;
		return 0;
	}
}

int vc_agent_req_params_decode(enum vc_agent_req k, const struct vc_json *params, void *m,
			       struct vc_error *err)
{
	const struct desc *d = desc_of(k, err);
	if (!d)
		return -EINVAL;
	if (m)
		memset(m, 0, d->size);
	if (!params || params->type != VC_JSON_OBJECT)
		return vc_error_set(err, EINVAL, "%s: params: must be an object", d->method);
	if (d->decode)
		return d->decode(params, m, err);
	for (size_t i = 0; i < d->n; i++) {
		int r = decode_field(d, &d->fields[i], params, m, err);
		if (r < 0) {
			memset(m, 0, d->size);
			return r;
		}
	}
	return 0;
}

/* ---- encode ---- */

static int encode_field(const struct desc *d, const struct field *f, const void *m,
			struct vc_jgen *g, struct vc_error *err)
{
	int r;
	switch (f->type) {
	case T_ID:
	case T_STR: {
		const char *s = *SLOT(const char *const, m, f);
		if (!s)
			return f->required ? bad(err, d, f, " is required") : 0;
		if ((r = check_str(d, f, s, strlen(s), err)) < 0)
			return r;
		vc_jgen_kv_string(g, f->key, s);
		return 0;
	}
	case T_U32: {
		uint32_t v = *SLOT(const uint32_t, m, f);
		if (!f->required && v == 0)
			return 0;
		if ((r = check_u32(d, f, v, true, err)) < 0)
			return r;
		vc_jgen_key(g, f->key);
		vc_jgen_uint(g, v);
		return 0;
	}
	case T_BOOL: {
		bool v = *SLOT(const bool, m, f);
		if (v || f->dflt)
			vc_jgen_kv_bool(g, f->key, v);
		return 0;
	}
	default: {
		const struct vc_json *v = *SLOT(const struct vc_json *const, m, f);
		if (!v)
			return f->required ? bad(err, d, f, " is required") : 0;
		if ((r = check_doc(d, f, v, err)) < 0)
			return r;
		vc_jgen_key(g, f->key);
		vc_jgen_value(g, v);
		return 0;
	}
	}
}

int vc_agent_req_params_encode(enum vc_agent_req k, const void *m, struct vc_jgen *g,
			       struct vc_error *err)
{
	const struct desc *d = desc_of(k, err);
	if (!d)
		return -EINVAL;
	if ((d->n || d->encode) && !m)
		return vc_error_set(err, EINVAL, "%s: no params given", d->method);
	if (d->encode)
		return d->encode(m, g, err);
	for (size_t i = 0; i < d->n; i++) {
		int r = encode_field(d, &d->fields[i], m, g, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- whole bodies ---- */

int vc_agent_req_encode(enum vc_agent_req k, const void *m, char **body, size_t *len,
			struct vc_error *err)
{
	*body = NULL;
	const struct desc *d = desc_of(k, err);
	if (!d)
		return -EINVAL;
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "method", d->method);
	vc_jgen_key(g, "params");
	vc_jgen_object_open(g);
	int r = vc_agent_req_params_encode(k, m, g, err);
	if (r < 0)
		return r;
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	return vc_jgen_finish(g, body, len, err);
}

int vc_agent_request_from_params(const char *method, struct vc_json *params,
				 struct vc_agent_request *rq, struct vc_error *err)
{
	memset(rq, 0, sizeof(*rq));
	int k = vc_agent_req_kind(method);
	if (k < 0) {
		vc_json_free(params);
		return vc_error_set(err, ENOSYS, "unknown method `%.200s`", method);
	}
	int r = vc_agent_req_params_decode((enum vc_agent_req)k, params, &rq->u, err);
	if (r < 0) {
		vc_json_free(params);
		memset(rq, 0, sizeof(*rq));
		return r;
	}
	rq->kind = (enum vc_agent_req)k;
	rq->params = params;
	return 0;
}

int vc_agent_request_decode(const void *body, size_t len, struct vc_agent_request *rq,
			    struct vc_error *err)
{
	memset(rq, 0, sizeof(*rq));
	_cleanup_free_ char *method = NULL;
	struct vc_json *params = NULL;
	int r = vc_proto_request_decode(body, len, &method, &params, err);
	if (r < 0)
		return r;
	return vc_agent_request_from_params(method, params, rq, err);
}

void vc_agent_request_release(struct vc_agent_request *rq)
{
	vc_json_free(rq->params);
	memset(rq, 0, sizeof(*rq));
}
