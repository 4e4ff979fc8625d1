#include "tests/unit/unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/config.h"
#include "lib/state.h"
#include "oci/spec.h"

int vc_unit_failed_checks;
static char tmpdir[64];

int vc_unit_reap(int pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

char *vc_unit_run_out(char *const argv[])
{
	int p[2];
	if (pipe(p) < 0)
		return NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	char *out = NULL;
	if (vc_read_fd(p[0], 1 << 20, &out, NULL, NULL) < 0)
		out = NULL;
	close(p[0]);
	if (vc_unit_reap(pid) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

unsigned vc_unit_rand(unsigned long long *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return (unsigned)((*state * 0x2545F4914F6CDD1DULL) >> 32);
}

size_t vc_unit_mutate(uint8_t *buf, size_t n, size_t cap, unsigned long long *state)
{
	for (uint32_t m = vc_unit_rand(state) % 4; m > 0 && n; m--) {
		uint32_t op = vc_unit_rand(state) % 4, at = vc_unit_rand(state) % (uint32_t)n;
		if (op == 0)
			buf[at] = (uint8_t)vc_unit_rand(state);
		else if (op == 1)
			n = at;
		else if (op == 2)
			buf[at] = buf[vc_unit_rand(state) % n];
		else if (buf[at] >= '0' && buf[at] <= '9' && n + 9 < cap) {
			memmove(buf + at + 9, buf + at, n - at);
			memset(buf + at, '9', 9);
			n += 9;
		}
	}
	return n;
}

const char *vc_unit_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/vcrun-unit.XXXXXX");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			abort();
		}
	}
	return tmpdir;
}

struct vc_oci_spec *vc_unit_spec(const char *more)
{
	static int n;
	_cleanup_free_ char *bundle = vc_strdup_printf("%s/spec%d", vc_unit_tmpdir(), n++);
	_cleanup_free_ char *rootfs = vc_strdup_printf("%s/rootfs", bundle);
	_cleanup_free_ char *cfg = vc_strdup_printf("%s/config.json", bundle);
	vc_mkdir_p(rootfs, 0755, NULL);
	_cleanup_free_ char *text = vc_strdup_printf(
		"{\"ociVersion\":\"1.2.0\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
		"\"root\":{\"path\":\"rootfs\"},%s}",
		more);
	vc_write_file(cfg, text, strlen(text), NULL);
	struct vc_oci_spec *spec = NULL;
	struct vc_error err = {0};
	if (vc_oci_spec_load(bundle, &spec, &err) < 0)
		fprintf(stderr, "# spec: %s\n", err.msg);
	return spec;
}

/* TAP: "ok N name" / "not ok N name"; an optional argument runs one test. */
int vc_unit_run(const struct vc_unit_test *tests, size_t n, int argc, char **argv)
{
	size_t failed = 0, ran = 0;
	printf("1..%zu\n", argc > 1 ? (size_t)1 : n);
	for (size_t i = 0; i < n; i++) {
		if (argc > 1 && strcmp(argv[1], tests[i].name))
			continue;
		int before = vc_unit_failed_checks;
		tests[i].fn();
		ran++;
		bool ok = vc_unit_failed_checks == before;
		printf("%s %zu %s\n", ok ? "ok" : "not ok", ran, tests[i].name);
		fflush(stdout);
		if (!ok)
			failed++;
	}
	if (tmpdir[0])
		vc_rm_rf(tmpdir, NULL);
	return failed ? 1 : 0;
}

void vc_unit_add_container(const char *root, const char *id, const char *sandbox, const char *key,
			   bool pod_sandbox, bool live, pid_t standin)
{
	_cleanup_free_ char *dir = vc_strdup_printf("%s/%s", root, id);
	vc_mkdir_p(dir, 0700, NULL);
	struct vc_state st = {
		.id = (char *)id,
		.bundle = (char *)"/b",
		.rootfs = (char *)"/b/rootfs",
		.created = (char *)"2026-01-01T00:00:00Z",
		.owner = (char *)"",
		.status = VC_STATUS_RUNNING,
		.standin_pid = standin,
		.monitor_pid = live ? getpid() : 0,
		.monitor_start = live ? vc_proc_starttime(getpid()) : 0,
		.sandbox = (char *)sandbox,
		.sandbox_key = (char *)key,
		.pod_sandbox = pod_sandbox,
	};
	struct vc_error err = {0};
	if (vc_state_write(root, &st, &err) < 0)
		fprintf(stderr, "# state of %s: %s\n", id, err.msg);
}

void vc_unit_config(struct vc_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	/* Any readable files stand in for the guest image. */
	cfg->qemu = strdup("/usr/bin/qemu-system-x86_64");
	cfg->kernel = strdup("/etc/hostname");
	cfg->initrd = strdup("/etc/hostname");
	cfg->virtiofsd = strdup("/usr/lib/qemu/virtiofsd");
	cfg->mem_mib = 512;
	cfg->vcpus = 1;
	cfg->boot_timeout_ms = 1000;
	cfg->hotplug_root_ports = 3;
	cfg->hotplug_memory_mib = 1024;
	cfg->max_vcpus = 4;
	cfg->tcg_tb_size_mib = 96;
}
