/* Starting vcrun's own helper processes (monitor, stand-in) by re-executing
 * /proc/self/exe in a hidden mode, with exactly the fds they need: a fresh image
 * keeps their memory small and no caller fd leaks into a process that outlives the
 * call (the caller would never see EOF on its pipes). */
#ifndef VC_LIB_SPAWN_H
#define VC_LIB_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

/* The vcrun program helper processes run: /proc/self/exe in vcrun itself; a
 * program linked with libvcrun names the installed vcrun (vc_self_exe_set). The
 * guest image is found beside it (../share/vcrun). */
const char *vc_self_exe(void);
int vc_self_exe_set(const char *path);

/* stdio[i] < 0 means /dev/null; sync_fd (if >= 0) becomes fd 3 in the child. */
int vc_spawn_self(char *const argv[], const int stdio[3], int sync_fd, bool new_session, pid_t *pid,
		  struct vc_error *err);

/* The arguments every helper mode takes (helper_argv() in container.c writes them):
 * --root --id --sync-fd [--stream N] [--tty] [--log F --log-format text|json] [--debug].
 * Also sets up logging. Returns 0, or -EINVAL (reported on the sync fd). */
struct vc_helper_args {
	const char *root, *id, *log_path;
	int sync_fd;
	unsigned stream;
	bool debug, tty;
	bool tty_inherit; /* the caller's own terminal is the container's (run, exec -t) */
	/* --ns TYPE[:PATH], repeated: a namespace of the container's to join (PATH) or
	 * to make (TYPE alone), for the stand-in to sit in as runc's process would. */
	const char *ns[8];
	size_t n_ns;
	/* --uid-map, --gid-map "C:H:S[,...]": a new user namespace's mappings */
	const char *uid_map, *gid_map;
};
int vc_helper_args_parse(int argc, char **argv, const char *log_default, struct vc_helper_args *a);

/* Reads the child's one-line report from a sync pipe until EOF: "ok" -> 0; "error:
 * MSG" -> the message in err; EOF without a report -> an error naming `who`. */
int vc_sync_read(int fd, const char *who, struct vc_error *err);
void vc_sync_write_ok(int fd);
void vc_sync_write_error(int fd, const struct vc_error *err);

/* Waits for a pid to exit (our child: reaped) for up to timeout_ms; 1 if it exited. */
int vc_wait_exit(pid_t pid, bool is_child, int timeout_ms, int *status);

/* Connects to the monitor of a container (ROOT/ID/monitor.sock) whatever the
 * path length, through /proc/self/fd. */
int vc_monitor_connect(const char *root, const char *id, int timeout_ms, struct vc_error *err);

/* One request to a container's monitor, with a connect timeout. */
#define VC_MONITOR_CALL_TIMEOUT_MS 10000
struct vc_json;
struct vc_ctx;
struct vc_mon_request;
/* req's container_id is set to id on the way (every call names its container: one
 * monitor serves the whole sandbox); *result (may be NULL) is the answer's result. */
int vc_monitor_call(const char *root, const char *id, const struct vc_mon_request *req,
		    struct vc_json **result, struct vc_error *err);

/* Whether pid runs helper mode for container id (under --root root, unless root is
 * NULL): its command line is the one vc_helper_argv made. */
bool vc_helper_is(pid_t pid, const char *mode, const char *root, const char *id);

/* argv for a helper mode: vcrun MODE --root R --id ID --sync-fd 3 [extra] [--log ..]
 * [--debug]; NULL on ENOMEM. */
char **vc_helper_argv(const struct vc_ctx *ctx, const char *mode, const char *root, const char *id,
		      const char *extra_key, const char *extra_val);
/* Starts a helper with the given stdio and waits for its readiness report. */
int vc_spawn_helper(char **argv, const int stdio[3], bool new_session, const char *who, pid_t *pid,
		    struct vc_error *err);
/* Starts a stand-in: with the caller's stdio (or stdio[0..2], when not NULL: a
 * library caller's fds, -1 for /dev/null), or, with a console socket, with the
 * slave of a host pty whose master went to that socket (argv gets --tty). Returns
 * once it is attached (vc_standin_spawn_held, then vc_standin_release); on failure
 * *pid may name a stand-in for the caller to kill and reap. */
struct vc_oci_process;
/* foreground_tty: no console socket, and the caller's own terminal is the
 * container's (run and exec -t in the foreground, as runc does): the stand-in puts
 * it in raw mode for the process's life. */
int vc_spawn_standin(char **argv, const char *console_socket, const struct vc_oci_process *process,
		     bool foreground_tty, const int *stdio, pid_t *pid, struct vc_error *err);
/* The same in two steps, as a container's first process needs: the stand-in starts,
 * enters the container's network namespace and reports "ready" (its pid is then
 * what the prestart and createRuntime hooks get), but attaches to the monitor only
 * when vc_standin_release() says so, once the VM runs. *ctl is the control socket
 * (closing it without a release makes the stand-in exit). */
int vc_standin_spawn_held(char **argv, const char *console_socket,
			  const struct vc_oci_process *process, bool foreground_tty,
			  const int *stdio, pid_t *pid, int *ctl, struct vc_error *err);
/* Lets a held stand-in attach; returns once it is attached. Closes nothing. */
int vc_standin_release(int ctl, struct vc_error *err);
/* Writes --pid-file: digits only, no newline, atomically. */
int vc_write_pid_file(const char *path, pid_t pid, struct vc_error *err);
/* Waits for a foreground stand-in, forwarding the caller's signals to it; returns
 * what the caller exits with (code, or 128 + signal). */
int vc_wait_standin(pid_t standin);

#endif
