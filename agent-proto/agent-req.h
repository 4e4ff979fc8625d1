/* The requests the host sends the guest agent (docs/agent-protocol.md, "Typed
 * requests"), typed: one struct per request, an encoder (the host's side: the
 * monitor builds no request JSON of its own) and a decoder (the agent's side: its
 * dispatch gate). A decoded struct holds only fields of the right type and range
 * (ids by vc_container_id_check's rule, stream ids non-zero, signals 1..NSIG-1,
 * bounded strings and arrays), so the handlers need no checks of their own beyond
 * the agent's state (does the container exist) and the opaque documents below.
 *
 * Opaque members (the OCI spec, process and resources, storages, the network
 * descriptions) are `const struct vc_json *`: the decoder checks their outer type
 * (and an array's count, and that its items are objects) and the agent parses the
 * rest with its own parsers, which name the fields below them.
 *
 * Strings and opaque members are borrowed, not copied: an encoder reads them from
 * the caller; a decoder points them into the params it was given (the whole-body
 * decoder keeps those params in the request, freed by vc_agent_request_release).
 *
 * Decode errors are EINVAL naming method and field ("SignalProcess: params.signal:
 * must be an integer from 1 to 64"), an unknown method is ENOSYS. Encoders refuse
 * what the decoder would refuse (EINVAL, same message), so a host bug fails at the
 * host. Fields a decoder does not know are ignored, so an older agent still reads a
 * newer host's requests. */
#ifndef VC_AGENT_PROTO_AGENT_REQ_H
#define VC_AGENT_PROTO_AGENT_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent-proto/clone-msg.h"
#include "common/error.h"
#include "oci/json.h"

#define VC_AREQ_HOSTNAME_MAX  64 /* HOST_NAME_MAX */
#define VC_AREQ_STORAGES_MAX  1024
#define VC_AREQ_DEVICES_MAX   256
#define VC_AREQ_ADDRS_MAX     256
#define VC_AREQ_ROUTES_MAX    1024
#define VC_AREQ_NEIGHBORS_MAX 1024
#define VC_AREQ_MTU_MIN	      68 /* IPv4's minimum */
#define VC_AREQ_MTU_MAX	      65535
#define VC_AREQ_WAIT_MS_MAX   30000 /* UpdateInterface's and OnlineCPUs' wait_ms */
#define VC_AREQ_CPUS_MAX      4096  /* OnlineCPUs' count: QEMU's ceiling on vCPUs */

enum vc_agent_req {
	VC_AR_CHECK,		 /* vc_areq_check */
	VC_AR_GET_GUEST_DETAILS, /* no params: m may be NULL */
	VC_AR_CREATE_SANDBOX,	 /* vc_areq_create_sandbox */
	VC_AR_DESTROY_SANDBOX,	 /* no params */
	VC_AR_CREATE_CONTAINER,	 /* vc_areq_create_container */
	VC_AR_START_CONTAINER,	 /* vc_areq_container */
	VC_AR_REMOVE_CONTAINER,	 /* vc_areq_container */
	VC_AR_EXEC_PROCESS,	 /* vc_areq_exec_process */
	VC_AR_SIGNAL_PROCESS,	 /* vc_areq_signal_process */
	VC_AR_WAIT_PROCESS,	 /* vc_areq_process */
	VC_AR_TTY_WIN_RESIZE,	 /* vc_areq_tty_win_resize */
	VC_AR_LIST_PROCESSES,	 /* vc_areq_list_processes */
	VC_AR_PAUSE_CONTAINER,	 /* vc_areq_container */
	VC_AR_RESUME_CONTAINER,	 /* vc_areq_container */
	VC_AR_UPDATE_CONTAINER,	 /* vc_areq_update_container */
	VC_AR_STATS_CONTAINER,	 /* vc_areq_container */
	VC_AR_UPDATE_INTERFACE,	 /* vc_areq_update_interface */
	VC_AR_UPDATE_ROUTES,	 /* vc_areq_update_routes */
	VC_AR_ADD_ARP_NEIGHBORS, /* vc_areq_add_arp_neighbors */
	VC_AR_START_DNS_RELAY,	 /* vc_areq_start_dns_relay */
	VC_AR_ONLINE_CPUS,	 /* vc_areq_online_cpus */
	VC_AR_CLONE_SETUP, /* vc_clone_setup (agent-proto/clone-msg.h): copied, not borrowed */
	VC_AR_N,
};

/* Ids (container_id, exec_id, sandbox_id) follow vc_container_id_check. */
struct vc_areq_check {
	uint32_t version; /* the protocol version the host speaks */
};
struct vc_areq_create_sandbox {
	const char *sandbox_id;
	const char *hostname;		/* optional; at most VC_AREQ_HOSTNAME_MAX bytes */
	const struct vc_json *storages; /* optional array of objects */
};
struct vc_areq_create_container {
	const char *container_id;
	uint32_t stream_id;		/* non-zero */
	bool stdin;			/* the host will write its stdin */
	const struct vc_json *storages; /* array of objects, at most VC_AREQ_STORAGES_MAX */
	const struct vc_json *spec;	/* object: the guest's OCI spec */
	/* Optional array of objects, at most VC_AREQ_DEVICES_MAX: host devices the VM
	 * was given for this container (docs/agent-protocol.md, "Devices"). */
	const struct vc_json *devices;
};
struct vc_areq_container { /* StartContainer, RemoveContainer, Pause, Resume, Stats */
	const char *container_id;
};
struct vc_areq_exec_process {
	const char *container_id, *exec_id; /* exec_id required */
	uint32_t stream_id;		    /* non-zero */
	bool stdin;
	const struct vc_json *process; /* object: an OCI process */
};
struct vc_areq_signal_process {
	const char *container_id, *exec_id; /* exec_id NULL: the container's init */
	uint32_t signal;		    /* 1..NSIG-1 */
	bool all;			    /* every process of the container */
};
struct vc_areq_process {		    /* WaitProcess */
	const char *container_id, *exec_id; /* exec_id NULL: init */
};
struct vc_areq_tty_win_resize {
	const char *container_id, *exec_id; /* exec_id NULL: init */
	uint32_t rows, cols;		    /* 0..65535 */
};
struct vc_areq_list_processes {
	const char *container_id;
	bool details, environ; /* procps' facts per process; and each one's environ */
};
struct vc_areq_update_container {
	const char *container_id;
	const struct vc_json *resources; /* object: linux.resources */
};
struct vc_areq_update_interface {
	const char *mac;		 /* xx:xx:xx:xx:xx:xx: the NIC QEMU made */
	const char *name;		 /* optional: rename to this (an interface name) */
	uint32_t mtu;			 /* 0: leave it; else VC_AREQ_MTU_MIN..MAX */
	uint32_t wait_ms;		 /* 0..VC_AREQ_WAIT_MS_MAX: a hot-plugged NIC's wait */
	bool up;			 /* absent on the wire reads as true */
	const struct vc_json *addresses; /* optional array of objects {address, prefix} */
};
struct vc_areq_update_routes {
	const struct vc_json *routes; /* array of objects {dest, gateway?, device, ...} */
};
struct vc_areq_add_arp_neighbors {
	const struct vc_json *neighbors; /* array of objects {address, mac, device} */
};
struct vc_areq_start_dns_relay {
	const char *address; /* a dotted IPv4 address (the guest binds ADDRESS:53) */
};
struct vc_areq_online_cpus {
	uint32_t count;	  /* 1..VC_AREQ_CPUS_MAX vCPUs wanted online */
	uint32_t wait_ms; /* 0..VC_AREQ_WAIT_MS_MAX */
};

/* A whole decoded request. */
struct vc_agent_request {
	enum vc_agent_req kind;
	union {
		struct vc_areq_check check;
		struct vc_areq_create_sandbox create_sandbox;
		struct vc_areq_create_container create_container;
		struct vc_areq_container container;
		struct vc_areq_exec_process exec;
		struct vc_areq_signal_process signal;
		struct vc_areq_process process;
		struct vc_areq_tty_win_resize resize;
		struct vc_areq_list_processes ps;
		struct vc_areq_update_container update;
		struct vc_areq_update_interface iface;
		struct vc_areq_update_routes routes;
		struct vc_areq_add_arp_neighbors neighbors;
		struct vc_areq_start_dns_relay dns;
		struct vc_areq_online_cpus cpus;
		struct vc_clone_setup clone;
	} u;
	struct vc_json *params; /* owned by whole-body decode: what u points into */
};

/* "Check", ...; NULL out of range. */
const char *vc_agent_req_name(enum vc_agent_req k);
/* The kind of a method name; -ENOSYS when it is none. */
int vc_agent_req_kind(const char *method);

/* The encoder of kind k: writes m's params members into the object g has open.
 * m points to the kind's struct (NULL for the kinds without params). */
int vc_agent_req_params_encode(enum vc_agent_req k, const void *m, struct vc_jgen *g,
			       struct vc_error *err);
/* The decoder of kind k: reads params (an object) into m, which then points into
 * params. On failure m is zeroed. */
int vc_agent_req_params_decode(enum vc_agent_req k, const struct vc_json *params, void *m,
			       struct vc_error *err);

/* Whole REQUEST bodies: {"method": NAME, "params": {...}}. */
int vc_agent_req_encode(enum vc_agent_req k, const void *m, char **body, size_t *len,
			struct vc_error *err);
/* The kind comes from the method (ENOSYS: unknown method). On failure *rq is zeroed
 * (nothing to release). */
int vc_agent_request_decode(const void *body, size_t len, struct vc_agent_request *rq,
			    struct vc_error *err);
/* The same for params already split from their body: rq takes params (freed on
 * failure, with *rq zeroed). */
int vc_agent_request_from_params(const char *method, struct vc_json *params,
				 struct vc_agent_request *rq, struct vc_error *err);
void vc_agent_request_release(struct vc_agent_request *rq);

/* The rules of UpdateInterface's mac and name, for the agent's nested fields too:
 * "xx:xx:xx:xx:xx:xx" (hex digits) into 6 bytes; an interface name the kernel
 * takes (1 to IFNAMSIZ-1 bytes, not "." or "..", no space, control, '/' or ':'). */
bool vc_agent_mac_parse(const char *s, unsigned char mac[6]);
bool vc_agent_ifname_ok(const char *s);

#endif
