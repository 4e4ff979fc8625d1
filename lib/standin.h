/* The stand-in's host namespaces, and what being PID 1 of one takes
 * (lib/standin-ns.c). */
#ifndef VC_LIB_STANDIN_H
#define VC_LIB_STANDIN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "lib/spawn.h"

/* Enters the namespaces of --ns (and maps a new user namespace from --uid-map and
 * --gid-map): early (late false) every one but the cgroup namespace, late only
 * that one. With a pid namespace, early forks the stand-in proper into it: 1 in the
 * parent, which has sent "pid N" on the sync fd and must exit 0; 0 in the stand-in
 * (and when there is no pid namespace); a negative errno with err on failure. */
int vc_standin_enter_namespaces(const struct vc_helper_args *a, bool late, struct vc_error *err);

/* The stand-in's --ns, --uid-map and --gid-map for a spec, appended to argv (the
 * network namespace is netns_path, the one create pinned or the spec's): the spec's
 * paths joined, the others made, as runc's process would have them, a new user
 * namespace with the spec's mappings. Only time stays the host's (runc 1.1 has
 * none). -ENOMEM on failure. */
struct vc_oci_spec;
int vc_standin_ns_args(const struct vc_oci_spec *spec, const char *netns_path, char ***argv);

/* "C:H:S[,C:H:S...]" (an OCI id mapping list as --uid-map carries it) -> the
 * kernel's "C H S\n..." in out; -EINVAL for a malformed list, -E2BIG when it does
 * not fit. */
int vc_standin_id_map_text(const char *arg, char *out, size_t size);

/* A synchronous fault is the one signal besides SIGKILL that ends the init of a
 * pid namespace (the kernel clears its immunity for a fault nobody handles), so
 * PID 1 that must die of SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP or SIGSYS makes
 * the fault for real (the signal's action must be SIG_DFL). Returns where no
 * instruction makes that signal here (SIGFPE on arm64, any other signal). */
void vc_standin_fault(int sig);

#endif
