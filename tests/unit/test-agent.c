/* The agent without a VM: agent_serve() runs in a forked child (in its own mount
 * and uts namespaces) on one end of a socketpair, and the tests drive it with
 * frames from the other end, running real containers from a busybox rootfs.
 * Needs root (namespaces, mounts, pivot_root); skipped otherwise. */
#include <sys/utsname.h>

#include "tests/unit/test-agent-harness.h"
#include "tests/unit/unit.h"

/* ---- tests ----------------------------------------------------------------- */

VC_TEST(test_check_and_details)
{
	START(h);
	char *r = CALL(&h, VC_M_CHECK, "{\"version\":1}");
	CHECK(is_ok(r));
	CHECK(result_int(r, "version") == 1);
	CHECK_CONTAINS(r, "\"agent_version\":\"" VC_VERSION "\"");
	r = CALL(&h, VC_M_CHECK, "{\"version\":2}");
	CHECK(err_code(r) == EPROTONOSUPPORT);
	struct utsname u;
	uname(&u);
	r = CALL(&h, VC_M_GET_GUEST_DETAILS, "{}");
	CHECK(is_ok(r));
	CHECK_CONTAINS(r, u.release);
	STOP(h);
}

VC_TEST(test_bad_requests)
{
	START(h);
	char *r = CALL(&h, "NoSuchMethod", "{}");
	CHECK(err_code(r) == ENOSYS);
	CHECK_CONTAINS(r, "NoSuchMethod");
	r = CALL(&h, VC_M_START_CONTAINER, "{}");
	CHECK(err_code(r) == EINVAL);
	CHECK_CONTAINS(r, "container_id");
	r = CALL(&h, VC_M_START_CONTAINER, "{\"container_id\":5}");
	CHECK(err_code(r) == EINVAL);
	CHECK_CONTAINS(r, "container_id");
	r = CALL(&h, VC_M_START_CONTAINER, "{\"container_id\":\"nope\"}");
	CHECK(err_code(r) == ENOENT);
	CHECK_CONTAINS(r, "nope");
	r = CALL(&h, VC_M_WAIT_PROCESS, "{\"container_id\":\"nope\",\"exec_id\":\"x\"}");
	CHECK(err_code(r) == ENOENT);
	r = CALL(&h, VC_M_START_CONTAINER, "[1,2]");
	CHECK(err_code(r) == EINVAL);
	r = CALL(&h, VC_M_CREATE_CONTAINER,
		 "{\"container_id\":\"c\",\"stream_id\":1,\"storages\":[],"
		 "\"spec\":{\"ociVersion\":\"1.2.0\",\"process\":{\"args\":\"sh\",\"cwd\":\"/\"},"
		 "\"root\":{\"path\":\"/\"}}}");
	CHECK(err_code(r) == EINVAL);
	CHECK_CONTAINS(r, "params.spec.process.args");
	r = CALL(&h, VC_M_CREATE_CONTAINER,
		 "{\"container_id\":\"../x\",\"stream_id\":1,\"storages\":[],\"spec\":{}}");
	CHECK(err_code(r) == EINVAL);
	r = CALL(&h, VC_M_CREATE_CONTAINER,
		 "{\"container_id\":\"c\",\"stream_id\":0,\"storages\":[],\"spec\":{}}");
	CHECK(err_code(r) == EINVAL);
	CHECK_CONTAINS(r, "stream_id");
	r = CALL(&h, VC_M_CREATE_CONTAINER,
		 "{\"container_id\":\"c\",\"stream_id\":1,\"storages\":[{\"source\":\"r\","
		 "\"fstype\":\"ext4\",\"mount_point\":\"/run/x\"}],\"spec\":{}}");
	CHECK(err_code(r) == EINVAL);
	CHECK_CONTAINS(r, "params.storages[0].fstype");
	r = CALL(&h, VC_M_CREATE_CONTAINER,
		 "{\"container_id\":\"c\",\"stream_id\":1,\"storages\":[{\"source\":\"r\","
		 "\"fstype\":\"9p\",\"mount_point\":\"/run/../etc\"}],\"spec\":{}}");
	CHECK(err_code(r) == EINVAL);
	CHECK_CONTAINS(r, "mount_point");
	r = CALL(&h, VC_M_SIGNAL_PROCESS, "{\"container_id\":\"x\",\"signal\":\"KILL\"}");
	CHECK(err_code(r) != 0);
	/* a body that is not JSON: an error response, the channel stays */
	uint32_t id = h.next_id++;
	CHECK(h_send_raw(&h, VC_FRAME_REQUEST, 0, id, "{nope", 5));
	r = h_wait(&h, id, 0, NULL);
	CHECK(err_code(r) == EINVAL);
	/* stdin for a stream nobody has: dropped */
	CHECK(h_send_raw(&h, VC_FRAME_STDIN, 0, 77, "x", 1));
	r = CALL(&h, VC_M_CHECK, "{\"version\":1}");
	CHECK(is_ok(r));
	STOP(h);
}

VC_TEST(test_exit_code_and_streams)
{
	START(h);
	long pid = run_container(&h, "c1", 5, "[\"sh\",\"-c\",\"echo out; echo err >&2; exit 3\"]",
				 false, NULL);
	CHECK(pid > 0);
	bool eofs = false;
	char *r = wait_process(&h, "c1", NULL, 5, &eofs);
	CHECK(is_ok(r));
	CHECK(result_int(r, "exit_code") == 3);
	CHECK(result_int(r, "signal") == 0);
	CHECK(eofs);
	struct stream *s = stream_get(&h, 5);
	CHECK_STR(s->out, "out\n");
	CHECK_STR(s->err, "err\n");
	/* a second wait on init answers again */
	r = wait_process(&h, "c1", NULL, 5, NULL);
	CHECK(result_int(r, "exit_code") == 3);
	r = CALL(&h, VC_M_REMOVE_CONTAINER, "{\"container_id\":\"c1\"}");
	CHECK(is_ok(r));
	r = CALL(&h, VC_M_REMOVE_CONTAINER, "{\"container_id\":\"c1\"}");
	CHECK(err_code(r) == ENOENT);
	STOP(h);
}

VC_TEST(test_container_setup)
{
	START(h);
	const char *script = "hostname; echo home=$HOME; wc -c < /proc/timer_list; grep -c ' "
			     "/proc/acpi ' /proc/self/mountinfo; "
			     "touch /rofile 2>/dev/null && echo rw || echo ro; "
			     "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; "
			     "mkdir /tmp/d 2>&1; ls /dev; echo nofile=$(ulimit -n); "
			     "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null || echo sysro";
	_cleanup_free_ char *args = vc_strdup_printf("[\"sh\",\"-c\",\"%s\"]", script);
	const char *seccomp = ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\","
			      "\"architectures\":[\"SCMP_ARCH_X86_64\"],\"syscalls\":[{"
			      "\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\","
			      "\"errnoRet\":122}]}";
	long pid = run_container(&h, "setup", 9, args, false, seccomp);
	CHECK(pid > 0);
	char *r = wait_process(&h, "setup", NULL, 9, NULL);
	struct stream *s = stream_get(&h, 9);
	if (result_int(r, "exit_code") != 0)
		fprintf(stderr, "# stdout: %s\n# stderr: %s\n", s->out, s->err);
	CHECK(result_int(r, "exit_code") == 0);
	if (!strstr(s->out, "vcrun-test\nhome=/root\n0\n1\nro\n"))
		fprintf(stderr, "# stderr: %s\n", s->err);
	CHECK_CONTAINS(s->out, "vcrun-test\nhome=/root\n0\n1\nro\n");
	CHECK_CONTAINS(s->out, "CapEff:\t0000000020000420");
	CHECK_CONTAINS(s->out, "CapBnd:\t0000000020000420");
	CHECK_CONTAINS(s->out, "NoNewPrivs:\t1");
	CHECK_CONTAINS(s->out, "Seccomp:\t2");
	CHECK_CONTAINS(s->out, "Disk quota exceeded"); /* errnoRet 122 */
	CHECK_CONTAINS(s->out, "null");
	CHECK_CONTAINS(s->out, "urandom");
	CHECK_CONTAINS(s->out, "ptmx");
	CHECK_CONTAINS(s->out, "nofile=1024");
	CHECK_CONTAINS(s->out, "sysro");
	CHECK(CALL(&h, VC_M_REMOVE_CONTAINER, "{\"container_id\":\"setup\"}") != NULL);
	STOP(h);
}

VC_TEST(test_signal_kill)
{
	START(h);
	long pid = run_container(&h, "k", 3, "[\"sleep\",\"100\"]", false, NULL);
	CHECK(pid > 0);
	char *r = CALL(&h, VC_M_LIST_PROCESSES, "{\"container_id\":\"k\"}");
	CHECK(is_ok(r));
	char want[32];
	snprintf(want, sizeof(want), "%ld", pid);
	CHECK_CONTAINS(r, want);
	r = CALL(&h, VC_M_SIGNAL_PROCESS, "{\"container_id\":\"k\",\"signal\":9}");
	CHECK(is_ok(r));
	bool eofs = false;
	r = wait_process(&h, "k", NULL, 3, &eofs);
	CHECK(result_int(r, "exit_code") == 137);
	CHECK(result_int(r, "signal") == 9);
	CHECK(eofs);
	r = CALL(&h, VC_M_SIGNAL_PROCESS, "{\"container_id\":\"k\",\"signal\":15}");
	CHECK(err_code(r) == ESRCH);
	r = CALL(&h, VC_M_SIGNAL_PROCESS, "{\"container_id\":\"k\",\"signal\":15,\"all\":true}");
	CHECK(is_ok(r));
	r = CALL(&h, VC_M_SIGNAL_PROCESS, "{\"container_id\":\"k\",\"signal\":0}");
	CHECK(err_code(r) == EINVAL);
	STOP(h);
}

VC_TEST(test_executable_not_found)
{
	START(h);
	_cleanup_free_ char *spec = spec_json(rootfs, "[\"nosuchcmd\",\"x\"]", false, NULL);
	char *r =
		CALL(&h, VC_M_CREATE_CONTAINER,
		     "{\"container_id\":\"nf\",\"stream_id\":1,\"storages\":[],\"spec\":%s}", spec);
	CHECK(err_code(r) == ENOENT);
	CHECK_CONTAINS(r, "exec: \\\"nosuchcmd\\\": executable file not found in $PATH");
	/* nothing left behind: the id and the stream id are free again */
	r = CALL(&h, VC_M_WAIT_PROCESS, "{\"container_id\":\"nf\"}");
	CHECK(err_code(r) == ENOENT);
	_cleanup_free_ char *bad_mount =
		spec_json(rootfs, "[\"true\"]", false,
			  ",\"devices\":[{\"path\":\"/proc/x/y\",\"type\":\"c\",\"major\":1,"
			  "\"minor\":3}]");
	r = CALL(&h, VC_M_CREATE_CONTAINER,
		 "{\"container_id\":\"nf\",\"stream_id\":1,\"storages\":[],\"spec\":%s}",
		 bad_mount);
	CHECK(err_code(r) != 0);
	CHECK_CONTAINS(r, "/proc/x/y");
	long pid = run_container(&h, "nf", 1, "[\"true\"]", false, NULL);
	CHECK(pid > 0);
	r = wait_process(&h, "nf", NULL, 1, NULL);
	CHECK(result_int(r, "exit_code") == 0);
	STOP(h);
}

VC_TEST(test_stdin_roundtrip)
{
	START(h);
	long pid = run_container(&h, "cat", 7, "[\"cat\"]", true, NULL);
	CHECK(pid > 0);
	CHECK(h_send_raw(&h, VC_FRAME_STDIN, 0, 7, "hello\n", 6));
	CHECK(h_send_raw(&h, VC_FRAME_STDIN, 0, 7, "world", 5));
	CHECK(h_send_raw(&h, VC_FRAME_STDIN, VC_FRAME_F_EOF, 7, NULL, 0));
	bool eofs = false;
	char *r = wait_process(&h, "cat", NULL, 7, &eofs);
	CHECK(result_int(r, "exit_code") == 0);
	CHECK(eofs);
	CHECK_STR(stream_get(&h, 7)->out, "hello\nworld");
	STOP(h);
}

VC_TEST(test_big_output)
{
	START(h);
	long pid = run_container(&h, "big", 11, "[\"seq\",\"1\",\"190000\"]", false, NULL);
	CHECK(pid > 0);
	bool eofs = false;
	char *r = wait_process(&h, "big", NULL, 11, &eofs);
	CHECK(result_int(r, "exit_code") == 0);
	CHECK(eofs);
	struct stream *s = stream_get(&h, 11);
	size_t want_cap = 2u << 20, want_len = 0;
	char *want = malloc(want_cap);
	CHECK(want);
	for (int i = 1; i <= 190000; i++)
		want_len += (size_t)snprintf(want + want_len, want_cap - want_len, "%d\n", i);
	bool same = s->out_len == want_len && !memcmp(s->out, want, want_len);
	free(want);
	CHECK(want_len > (1u << 20));
	CHECK(same);
	CHECK(s->max_chunk <= VC_PROTO_STREAM_CHUNK);
	CHECK(s->err_len == 0);
	STOP(h);
}

VC_TEST(test_exec_process)
{
	START(h);
	long pid = run_container(&h, "ex", 20, "[\"sleep\",\"100\"]", false, NULL);
	CHECK(pid > 0);
	const char *proc = "{\"args\":[\"sh\",\"-c\",\"echo pid=$$; hostname; echo $HOME; "
			   "id -u; exit 5\"],\"cwd\":\"/tmp/new\",\"env\":[\"PATH=/bin\"],"
			   "\"user\":{\"uid\":65534,\"gid\":65534}}";
	char *r = CALL(&h, VC_M_EXEC_PROCESS,
		       "{\"container_id\":\"ex\",\"exec_id\":\"e1\",\"stream_id\":21,"
		       "\"process\":%s}",
		       proc);
	/* cwd must exist for an exec (runc creates it only for init) */
	CHECK(err_code(r) == ENOENT);
	CHECK_CONTAINS(r, "/tmp/new");
	proc = "{\"args\":[\"sh\",\"-c\",\"echo pid=$$; hostname; echo $HOME; id -u; "
	       "exit 5\"],\"cwd\":\"/\",\"env\":[\"PATH=/bin\"],"
	       "\"user\":{\"uid\":65534,\"gid\":65534}}";
	r = CALL(&h, VC_M_EXEC_PROCESS,
		 "{\"container_id\":\"ex\",\"exec_id\":\"e1\",\"stream_id\":21,\"process\":%s}",
		 proc);
	CHECK(is_ok(r));
	CHECK(result_int(r, "pid") > 0);
	r = CALL(&h, VC_M_EXEC_PROCESS,
		 "{\"container_id\":\"ex\",\"exec_id\":\"e1\",\"stream_id\":22,\"process\":%s}",
		 proc);
	CHECK(err_code(r) == EEXIST);
	bool eofs = false;
	r = wait_process(&h, "ex", "e1", 21, &eofs);
	CHECK(result_int(r, "exit_code") == 5);
	CHECK(eofs);
	struct stream *s = stream_get(&h, 21);
	CHECK(s->out && !strncmp(s->out, "pid=", 4) && atoi(s->out + 4) > 1);
	CHECK_CONTAINS(s->out, "\nvcrun-test\n/nonexistent\n65534\n");
	/* a repeated wait answers again; a finished exec's ids can be reused */
	r = CALL(&h, VC_M_WAIT_PROCESS, "{\"container_id\":\"ex\",\"exec_id\":\"e1\"}");
	CHECK(result_int(r, "exit_code") == 5);
	const char *tproc = "{\"args\":[\"tty\"],\"cwd\":\"/\",\"env\":[\"PATH=/bin\"],"
			    "\"terminal\":true}";
	r = CALL(&h, VC_M_EXEC_PROCESS,
		 "{\"container_id\":\"ex\",\"exec_id\":\"e1\",\"stream_id\":21,\"process\":%s}",
		 tproc);
	CHECK(is_ok(r));
	free(s->out);
	s->out = NULL;
	s->out_len = 0;
	s->out_eof = s->err_eof = false;
	r = wait_process(&h, "ex", "e1", 21, &eofs);
	CHECK(result_int(r, "exit_code") == 0);
	CHECK(eofs);
	CHECK_CONTAINS(s->out, "/dev/pts/");

	/* a paused container: its processes stop until resumed (needs cgroups) */
	r = CALL(&h, VC_M_PAUSE_CONTAINER, "{\"container_id\":\"ex\"}");
	if (cgroot[0]) {
		CHECK(is_ok(r));
		CHECK(is_ok(CALL(&h, VC_M_RESUME_CONTAINER, "{\"container_id\":\"ex\"}")));
		r = CALL(&h, VC_M_STATS_CONTAINER, "{\"container_id\":\"ex\"}");
		CHECK_CONTAINS(r, "cgroup_stats");
	} else {
		CHECK(err_code(r) == ENOTSUP);
	}
	r = CALL(&h, VC_M_REMOVE_CONTAINER, "{\"container_id\":\"ex\"}");
	CHECK(is_ok(r));
	STOP(h);
	if (cgroot[0]) {
		char cg[PATH_MAX + 8];
		snprintf(cg, sizeof(cg), "%s/ex", cgroot);
		CHECK(access(cg, F_OK) < 0);
	}
}

VC_TEST(test_terminal)
{
	START(h);
	_cleanup_free_ char *spec =
		spec_json(rootfs, "[\"sh\",\"-c\",\"tty; stty size; echo done\"]", true, NULL);
	char *r =
		CALL(&h, VC_M_CREATE_CONTAINER,
		     "{\"container_id\":\"t\",\"stream_id\":30,\"storages\":[],\"spec\":%s}", spec);
	CHECK(is_ok(r));
	r = CALL(&h, VC_M_TTY_WIN_RESIZE, "{\"container_id\":\"t\",\"rows\":40,\"cols\":100}");
	CHECK(is_ok(r));
	CHECK(is_ok(CALL(&h, VC_M_START_CONTAINER, "{\"container_id\":\"t\"}")));
	bool eofs = false;
	r = wait_process(&h, "t", NULL, 30, &eofs);
	CHECK(result_int(r, "exit_code") == 0);
	CHECK(eofs);
	struct stream *s = stream_get(&h, 30);
	CHECK_CONTAINS(s->out, "/dev/pts/0");
	CHECK_CONTAINS(s->out, "40 100");
	CHECK_CONTAINS(s->out, "done\r\n");
	r = CALL(&h, VC_M_TTY_WIN_RESIZE, "{\"container_id\":\"t\",\"rows\":1,\"cols\":1}");
	CHECK(err_code(r) == ESRCH);
	STOP(h);
}

VC_TEST(test_storage_and_remove)
{
	START(h);
	char mp[PATH_MAX];
	snprintf(mp, sizeof(mp), "%s/storage/r0", vc_unit_tmpdir());
	/* the rootfs reaches the container through a (bind) storage, as 9p would */
	_cleanup_free_ char *spec = spec_json(mp, "[\"sleep\",\"100\"]", false, NULL);
	const char *storage_fmt = "[{\"source\":\"%s\",\"fstype\":\"bind\",\"mount_point\":\"%s\","
				  "\"options\":[\"nosuid\"],\"readonly\":true}]";
	_cleanup_free_ char *storages = vc_strdup_printf(storage_fmt, rootfs, mp);
	char *r = CALL(&h, VC_M_CREATE_CONTAINER,
		       "{\"container_id\":\"s1\",\"stream_id\":40,\"storages\":%s,\"spec\":%s}",
		       storages, spec);
	CHECK(is_ok(r));
	r = CALL(&h, VC_M_CREATE_CONTAINER,
		 "{\"container_id\":\"s2\",\"stream_id\":41,\"storages\":%s,\"spec\":%s}", storages,
		 spec);
	CHECK(is_ok(r));
	CHECK(agent_mountinfo_has(&h, mp));
	CHECK(is_ok(CALL(&h, VC_M_START_CONTAINER, "{\"container_id\":\"s1\"}")));
	/* one user left: still mounted */
	CHECK(is_ok(CALL(&h, VC_M_REMOVE_CONTAINER, "{\"container_id\":\"s1\"}")));
	CHECK(agent_mountinfo_has(&h, mp));
	/* a created (never started) container is removable too */
	CHECK(is_ok(CALL(&h, VC_M_REMOVE_CONTAINER, "{\"container_id\":\"s2\"}")));
	CHECK(!agent_mountinfo_has(&h, mp));
	CHECK(!agent_mountinfo_has(&h, rootfs));
	STOP(h);
}

/* Every method with params of every wrong shape: an answer each, never a crash. */
VC_TEST(test_garbage_params)
{
	static const char *const methods[] = {VC_M_CREATE_SANDBOX,
					      VC_M_CREATE_CONTAINER,
					      VC_M_START_CONTAINER,
					      VC_M_EXEC_PROCESS,
					      VC_M_SIGNAL_PROCESS,
					      VC_M_WAIT_PROCESS,
					      VC_M_TTY_WIN_RESIZE,
					      VC_M_LIST_PROCESSES,
					      VC_M_PAUSE_CONTAINER,
					      VC_M_RESUME_CONTAINER,
					      VC_M_UPDATE_CONTAINER,
					      VC_M_STATS_CONTAINER,
					      VC_M_CHECK,
					      VC_M_GET_GUEST_DETAILS};
	static const char *const values[] = {"null", "true", "-1",	 "4294967296",
					     "1.5",  "\"\"", "\"x\"",	 "[]",
					     "{}",   "[{}]", "[\"a\",1]"};
	static const char *const keys[] = {"container_id", "exec_id",	 "stream_id", "storages",
					   "spec",	   "process",	 "signal",    "all",
					   "stdin",	   "rows",	 "cols",      "resources",
					   "version",	   "sandbox_id", "hostname"};
	START(h);
	/* an exited container: WaitProcess on it answers at once */
	long pid = run_container(&h, "g", 1, "[\"true\"]", false, NULL);
	CHECK(pid > 0);
	CHECK(result_int(wait_process(&h, "g", NULL, 1, NULL), "exit_code") == 0);
	for (size_t m = 0; m < VC_ARRAY_SIZE(methods); m++) {
		for (size_t k = 0; k < VC_ARRAY_SIZE(keys); k++) {
			for (size_t v = 0; v < VC_ARRAY_SIZE(values); v++) {
				/* a valid container id for the rest to be looked at */
				char *r = CALL(&h, methods[m],
					       "{\"container_id\":\"g\",\"stream_id\":9,\"%s\":%s}",
					       keys[k], values[v]);
				CHECK(r != NULL);
				/* only a real sandbox_id makes a sandbox */
				if (is_ok(r) && !strcmp(methods[m], VC_M_CREATE_SANDBOX))
					CHECK(!strcmp(keys[k], "sandbox_id") && v == 6);
			}
		}
	}
	/* still there, still serving */
	char *r = CALL(&h, VC_M_REMOVE_CONTAINER, "{\"container_id\":\"g\"}");
	CHECK(is_ok(r));
	STOP(h);
}

VC_TEST(test_destroy_sandbox)
{
	START(h);
	char *r = CALL(&h, VC_M_CREATE_SANDBOX, "{\"sandbox_id\":\"sb\",\"hostname\":\"sbhost\"}");
	CHECK(is_ok(r));
	r = CALL(&h, VC_M_CREATE_SANDBOX, "{\"sandbox_id\":\"sb\"}");
	CHECK(err_code(r) == EEXIST);
	long pid = run_container(&h, "d", 50, "[\"sleep\",\"100\"]", false, NULL);
	CHECK(pid > 0);
	r = CALL(&h, VC_M_DESTROY_SANDBOX, "{}");
	CHECK(is_ok(r));
	/* the agent returns by itself, its container killed */
	int status = -1;
	for (int i = 0; i < 500 && waitpid(h.agent, &status, WNOHANG) == 0; i++)
		usleep(10000);
	live_agent = live_fd = -1; /* the harness fd is closed below */
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(kill((pid_t)pid, 0) < 0);
	h.agent = -1;
	close(h.fd);
	h.fd = -1;
	for (size_t i = 0; i < h.n_streams; i++) {
		free(h.streams[i].out);
		free(h.streams[i].err);
	}
	for (size_t i = 0; i < h.n_resp; i++)
		free(h.resp[i].body);
}

VC_TESTS(VC_T(test_check_and_details), VC_T(test_bad_requests), VC_T(test_exit_code_and_streams),
	 VC_T(test_container_setup), VC_T(test_signal_kill), VC_T(test_executable_not_found),
	 VC_T(test_stdin_roundtrip), VC_T(test_big_output), VC_T(test_exec_process),
	 VC_T(test_terminal), VC_T(test_storage_and_remove), VC_T(test_garbage_params),
	 VC_T(test_destroy_sandbox))
