/* Rootless: vcrun run by an ordinary user, directly or inside the user namespace
 * that rootless podman makes (where the user looks like root but owns nothing of the
 * host). Decided as runc 1.1 does, so both runtimes agree on the default --root. */
#ifndef VC_COMMON_ROOTLESS_H
#define VC_COMMON_ROOTLESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The host-wide directory of a root-run vcrun (shares, namespace pins, locks, caches). */
#define VC_ROOTFUL_RUN_DIR "/run/vcrun"

/* Whether uid_map TEXT (as /proc/self/uid_map reads) is the initial user namespace's
 * identity map "0 0 4294967295". Empty or NULL text: the kernel has no user
 * namespaces, which is the initial namespace too. */
bool vc_uid_map_is_initial(const char *text);

/* The rule, pure (tests feed it fake maps): rootless when EUID is not 0, or when it
 * is 0 inside a non-initial user namespace. WHY (may be NULL) says which. */
bool vc_rootless_decide(uid_t euid, const char *uid_map, char *why, size_t why_len);

/* The rule applied to this process (read once, then cached). */
bool vc_rootless(char *why, size_t why_len);

/* Where host-wide files go: VC_ROOTFUL_RUN_DIR, or when rootless the user's own
 * $XDG_RUNTIME_DIR/vcrun (without $XDG_RUNTIME_DIR, VC_ROOTFUL_RUN_DIR as runc
 * does, which then fails naming the directory). A static string. */
const char *vc_host_run_dir(void);

/* The default --root: what vc_host_run_dir() says. Malloc'd; WHY says why. */
char *vc_default_root(char *why, size_t why_len);

#endif
