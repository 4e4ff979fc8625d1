/* The guest agent's answers (docs/agent-protocol.md, "Typed answers"), typed: one
 * struct per answer the host reads, an encoder (the agent's side and the tests) and
 * a decoder (the host's side). The guest is untrusted: decoding is the gate every
 * answer passes before the host acts on it, so a decoded struct holds only fields of
 * the right type and range (strings bounded and printable, arrays bounded in count)
 * and the readers need no checks of their own.
 *
 * Decode errors are EBADMSG and name the method and field ("WaitProcess:
 * result.exit_code: must be a number from 0 to 255"); a remote error comes back as
 * -code with err holding the agent's message (vc_proto_response_decode's rule).
 * Fields a decoder does not know are ignored, so a newer agent still reads. */
#ifndef VC_AGENT_PROTO_AGENT_MSG_H
#define VC_AGENT_PROTO_AGENT_MSG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "oci/json.h"

/* agent_version and kernel_release: uname's release is at most 64 bytes. */
#define VC_AGENT_STR_MAX 64
/* ListProcesses' pids: well above any guest's default pid_max (32768 up to 32 vCPUs). */
#define VC_AGENT_PIDS_MAX (1u << 17)
/* OnlineCPUs' online: QEMU's own ceiling on vCPUs. */
#define VC_AGENT_CPUS_MAX 4096

enum vc_agent_answer {
	VC_AA_CHECK,	     /* Check */
	VC_AA_GUEST_DETAILS, /* GetGuestDetails */
	VC_AA_PID,	     /* CreateContainer, ExecProcess */
	VC_AA_EXIT,	     /* WaitProcess */
	VC_AA_PIDS,	     /* ListProcesses (its "details" part: lib/ps.c) */
	VC_AA_STATS,	     /* StatsContainer */
	VC_AA_IFACE,	     /* UpdateInterface */
	VC_AA_CPUS,	     /* OnlineCPUs */
	VC_AA_N,
};

struct vc_agent_check {
	uint32_t version;			  /* the protocol version the agent speaks */
	char agent_version[VC_AGENT_STR_MAX + 1]; /* printable */
};
struct vc_agent_guest_details {
	char kernel_release[VC_AGENT_STR_MAX + 1]; /* printable */
	char agent_version[VC_AGENT_STR_MAX + 1];
};
struct vc_agent_pid { /* the process's pid in the guest */
	int pid;      /* 1..INT_MAX */
};
struct vc_agent_exit { /* how a process ended */
	int exit_code; /* 0..255 */
	int signal;    /* 0..NSIG-1; 0: not killed by a signal */
};
struct vc_agent_pids {
	pid_t *pids; /* owned; each 1..INT_MAX */
	size_t n;    /* at most VC_AGENT_PIDS_MAX */
};
/* cgroup_stats; each value is optional (the guest's cgroup may lack the file, or say
 * "max"): its bit in has says it was there. Absent ones are 0. */
enum {
	VC_AS_MEM_USAGE = 1u << 0,
	VC_AS_MEM_LIMIT = 1u << 1,
	VC_AS_OOM_KILL = 1u << 2,
	VC_AS_CPU_USAGE = 1u << 3,
	VC_AS_CPU_USER = 1u << 4,
	VC_AS_CPU_SYSTEM = 1u << 5,
	VC_AS_PIDS_CURRENT = 1u << 6,
	VC_AS_PIDS_LIMIT = 1u << 7,
};
struct vc_agent_stats {
	unsigned has;
	uint64_t mem_usage, mem_limit, oom_kill;		 /* bytes, bytes, count */
	uint64_t cpu_usage_usec, cpu_user_usec, cpu_system_usec; /* microseconds */
	uint64_t pids_current, pids_limit;
};
struct vc_agent_iface {
	char name[IFNAMSIZ]; /* 1..IFNAMSIZ-1 bytes, printable, no space or '/' */
	int ifindex;	     /* 1..INT_MAX */
};
struct vc_agent_cpus {
	uint32_t online; /* 1..VC_AGENT_CPUS_MAX */
};

/* "Check", ...; for VC_AA_PID "CreateContainer"; NULL out of range. */
const char *vc_agent_answer_name(enum vc_agent_answer a);

/* Encoders write the answer's fields into the result object g has open (what the
 * agent's handlers get); each returns 0 or -EINVAL when the struct breaks the rules
 * decode enforces, so a bug fails at the agent. */
int vc_agent_check_encode(const struct vc_agent_check *m, struct vc_jgen *g, struct vc_error *err);
int vc_agent_guest_details_encode(const struct vc_agent_guest_details *m, struct vc_jgen *g,
				  struct vc_error *err);
int vc_agent_pid_encode(const struct vc_agent_pid *m, struct vc_jgen *g, struct vc_error *err);
int vc_agent_exit_encode(const struct vc_agent_exit *m, struct vc_jgen *g, struct vc_error *err);
int vc_agent_pids_encode(const struct vc_agent_pids *m, struct vc_jgen *g, struct vc_error *err);
int vc_agent_stats_encode(const struct vc_agent_stats *m, struct vc_jgen *g, struct vc_error *err);
int vc_agent_iface_encode(const struct vc_agent_iface *m, struct vc_jgen *g, struct vc_error *err);
int vc_agent_cpus_encode(const struct vc_agent_cpus *m, struct vc_jgen *g, struct vc_error *err);

/* Decoders of a result object already split from its response (the monitor's
 * vc_proto_response_decode). method names the request in errors (NULL: the
 * answer's own name; VC_AA_PID serves two). On failure *m is zeroed (nothing to
 * release). */
int vc_agent_check_from_json(const struct vc_json *result, struct vc_agent_check *m,
			     struct vc_error *err);
int vc_agent_guest_details_from_json(const struct vc_json *result, struct vc_agent_guest_details *m,
				     struct vc_error *err);
int vc_agent_pid_from_json(const char *method, const struct vc_json *result, struct vc_agent_pid *m,
			   struct vc_error *err);
int vc_agent_exit_from_json(const struct vc_json *result, struct vc_agent_exit *m,
			    struct vc_error *err);
int vc_agent_pids_from_json(const struct vc_json *result, struct vc_agent_pids *m,
			    struct vc_error *err);
int vc_agent_stats_from_json(const struct vc_json *result, struct vc_agent_stats *m,
			     struct vc_error *err);
int vc_agent_iface_from_json(const struct vc_json *result, struct vc_agent_iface *m,
			     struct vc_error *err);
int vc_agent_cpus_from_json(const struct vc_json *result, struct vc_agent_cpus *m,
			    struct vc_error *err);
void vc_agent_pids_release(struct vc_agent_pids *m);

/* Whole RESPONSE bodies, by kind (tests, fuzzing): m points to the kind's struct. */
int vc_agent_answer_encode(enum vc_agent_answer a, const void *m, char **body, size_t *len,
			   struct vc_error *err);
int vc_agent_answer_decode(enum vc_agent_answer a, const void *body, size_t len, void *m,
			   struct vc_error *err);
/* Releases what a decoded m of kind a owns. */
void vc_agent_answer_release(enum vc_agent_answer a, void *m);

#endif
