/* ListProcesses with "details": the facts procps' ps reads from /proc for each of a
 * container's processes. The host formats ps's table from them (lib/ps.c): the
 * initramfs has no ps, and the host knows which columns the caller asked for. */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "oci/json.h"

/* Bounds that keep the answer under VC_PROTO_MAX_BODY: a command line or an
 * environment is cut at VC_PS_TEXT_MAX bytes, and at most VC_PS_MAX_PROCS
 * processes are described. */
#define VC_PS_TEXT_MAX	4096
#define VC_PS_MAX_PROCS 400

/* NULs between arguments become spaces, as ps shows them; bytes a terminal would
 * act on become '?', as ps prints them. */
static void flatten(char *s, size_t len)
{
	while (len > 0 && s[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0')
			s[i] = ' ';
		else if (c < 0x20 || c >= 0x7f)
			s[i] = '?';
	}
	s[len] = '\0';
}

static void kv_proc_text(struct vc_jgen *g, const char *key, pid_t pid, const char *file)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	/* A longer file is cut, not refused: read what fits. */
	text = malloc(VC_PS_TEXT_MAX + 1);
	if (fd >= 0 && text) {
		ssize_t r;
		while (len < VC_PS_TEXT_MAX &&
		       (r = read(fd, text + len, VC_PS_TEXT_MAX - len)) != 0) {
			if (r < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			len += (size_t)r;
		}
	}
	if (!text)
		return;
	flatten(text, len);
	vc_jgen_kv_string(g, key, text);
}

/* /proc/PID/stat after "(comm)": state is field 0 here, ppid 1, ... */
enum {
	ST_STATE,
	ST_PPID,
	ST_PGRP,
	ST_SESSION,
	ST_TTY,
	ST_TPGID,
	ST_UTIME = 11,
	ST_STIME,
	ST_NICE = 16,
	ST_THREADS,
	ST_START = 19,
	ST_VSIZE,
	ST_RSS,
	ST__COUNT
};

/* The stat fields reported as they are. */
static const struct {
	const char *key;
	int field;
} stat_keys[] = {
	{"ppid", ST_PPID},	 {"pgrp", ST_PGRP},   {"session", ST_SESSION}, {"tty_nr", ST_TTY},
	{"tpgid", ST_TPGID},	 {"utime", ST_UTIME}, {"stime", ST_STIME},     {"nice", ST_NICE},
	{"threads", ST_THREADS}, {"start", ST_START},
};

static bool read_stat(pid_t pid, char comm[32], char *state, long long f[ST__COUNT])
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *text = NULL;
	if (vc_read_file(path, 4096, &text, NULL, NULL) < 0)
		return false;
	char *open = strchr(text, '('), *close = strrchr(text, ')');
	if (!open || !close || close < open)
		return false;
	size_t clen = (size_t)(close - open - 1);
	if (clen > 31)
		clen = 31;
	memcpy(comm, open + 1, clen);
	comm[clen] = '\0';
	flatten(comm, clen);
	char *s = close + 1;
	for (int i = 0; i < ST__COUNT; i++) {
		while (*s == ' ')
			s++;
		if (!*s)
			return false;
		if (i == ST_STATE)
			*state = *s;
		else
			f[i] = strtoll(s, NULL, 10);
		s += strcspn(s, " ");
	}
	return true;
}

/* The effective uid: ps's UID and USER columns are euid/euser. */
static long long read_euid(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	_cleanup_free_ char *text = NULL;
	if (vc_read_file(path, 16384, &text, NULL, NULL) < 0)
		return -1;
	const char *u = strstr(text, "\nUid:");
	unsigned long long real, eff;
	if (!u || sscanf(u + 5, "%llu %llu", &real, &eff) != 2)
		return -1;
	return (long long)eff;
}

static void describe(struct vc_jgen *g, pid_t pid, bool environ, long page_kb)
{
	char comm[32], state = '?';
	long long f[ST__COUNT] = {0};
	if (!read_stat(pid, comm, &state, f))
		return; /* gone since the pid list was made */
	long long euid = read_euid(pid);
	vc_jgen_object_open(g);
	vc_jgen_kv_int(g, "pid", pid);
	for (size_t i = 0; i < VC_ARRAY_SIZE(stat_keys); i++)
		vc_jgen_kv_int(g, stat_keys[i].key, f[stat_keys[i].field]);
	char st[2] = {state, '\0'};
	vc_jgen_kv_string(g, "state", st);
	vc_jgen_kv_int(g, "vsz_kb", f[ST_VSIZE] / 1024);
	vc_jgen_kv_int(g, "rss_kb", f[ST_RSS] * page_kb);
	vc_jgen_kv_string(g, "comm", comm);
	if (euid >= 0) {
		vc_jgen_kv_int(g, "euid", euid);
		/* The name as the container's own /etc/passwd has it. */
		char passwd[64];
		snprintf(passwd, sizeof(passwd), "/proc/%d/root/etc/passwd", (int)pid);
		_cleanup_free_ char *name =
			agent_passwd_field(passwd, (uid_t)euid, AGENT_PASSWD_NAME);
		if (name && strlen(name) < 64) {
			flatten(name, strlen(name));
			vc_jgen_kv_string(g, "euser", name);
		}
	}
	kv_proc_text(g, "args", pid, "cmdline");
	if (environ)
		kv_proc_text(g, "environ", pid, "environ");
	vc_jgen_object_close(g);
}

/* The number after the line start `key` in a /proc file (0 when absent). */
static long long proc_number(const char *path, const char *key)
{
	_cleanup_free_ char *text = NULL;
	if (vc_read_file(path, 1 << 20, &text, NULL, NULL) < 0)
		return 0;
	size_t klen = strlen(key);
	for (const char *l = text; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, key, klen))
			return strtoll(l + klen, NULL, 10);
	return 0;
}

static long long uptime_ms(void)
{
	_cleanup_free_ char *text = NULL;
	double up = 0;
	if (vc_read_file("/proc/uptime", 256, &text, NULL, NULL) == 0)
		up = strtod(text, NULL);
	return (long long)(up * 1000);
}

int agent_procinfo(struct vc_jgen *g, const pid_t *pids, size_t n, bool environ,
		   struct vc_error *err)
{
	long page = sysconf(_SC_PAGESIZE);
	long page_kb = page > 1024 ? page / 1024 : 4;
	vc_jgen_key(g, "clock");
	vc_jgen_object_open(g);
	vc_jgen_kv_int(g, "hz", sysconf(_SC_CLK_TCK));
	vc_jgen_kv_int(g, "boot_time", proc_number("/proc/stat", "btime "));
	vc_jgen_kv_int(g, "uptime_ms", uptime_ms());
	vc_jgen_kv_int(g, "mem_total_kb", proc_number("/proc/meminfo", "MemTotal:"));
	vc_jgen_object_close(g);
	vc_jgen_key(g, "processes");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < n && i < VC_PS_MAX_PROCS; i++)
		describe(g, pids[i], environ, page_kb);
	vc_jgen_array_close(g);
	return 0;
}
