/* Choosing the accelerator. /dev/kvm opening is not enough: on a nested PVM host it
 * opens, KVM_CREATE_VM works, and guests still fail (QEMU aborting with "failed to
 * set MSR 0x10a", or a guest that hangs once it leaves real mode). So the probe
 * boots a 174-byte guest under QEMU and believes only that guest's exit code. */
#include "hv/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define PROBE_TIMEOUT_MS 5000
#define PROBE_BIOS_SIZE	 (64 * 1024)
/* isa-debug-exit makes QEMU exit with (value << 1) | 1; the guest writes 0x2a. */
#define PROBE_EXIT_OK ((0x2a << 1) | 1)
#define CACHE_VERSION "1"

const char *vc_hv_accel_name(enum vc_hv_accel a)
{
	switch (a) {
	case VC_ACCEL_AUTO:
		return "auto";
	case VC_ACCEL_KVM:
		return "kvm";
	case VC_ACCEL_TCG:
		return "tcg";
	}
	return "unknown";
}

/* One line of text into a caller's buffer, control characters flattened. */
static void set_why(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_why(char *why, size_t len, const char *fmt, ...)
{
	if (!why || len == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	for (char *p = why; *p; p++) {
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	}
}

/* The probe firmware, placed at the start of a 64 KiB BIOS image (QEMU maps it at
 * 0xF0000 too). A guest that only runs real-mode code is not enough: this host
 * kind's KVM runs that and hangs at the first protected-mode instruction. So the
 * firmware goes real mode -> protected mode -> long mode with paging (what every
 * kernel does first) and only then writes 0x2a to the isa-debug-exit port. */
/* clang-format off */
static const unsigned char probe_code[] = {
	/* .code16, at 0xf0000: the reset vector jumps here */
	0xfa,                                     /* cli */
	0x2e, 0x66, 0x0f, 0x01, 0x16, 0xa8, 0x00, /* lgdtl %cs:gdt_desc */
	0x0f, 0x20, 0xc0,                         /* mov %cr0, %eax */
	0x66, 0x83, 0xc8, 0x01,                   /* or $1, %eax (PE) */
	0x0f, 0x22, 0xc0,                         /* mov %eax, %cr0 */
	0x66, 0xea, 0x1a, 0x00, 0x0f, 0x00, 0x08, 0x00, /* ljmpl $0x08, $0xf001a */
	/* .code32, at 0xf001a */
	0x66, 0xb8, 0x10, 0x00,                   /* mov $0x10, %ax */
	0x8e, 0xd8,                               /* mov %ax, %ds */
	0x8e, 0xc0,                               /* mov %ax, %es */
	0x8e, 0xd0,                               /* mov %ax, %ss */
	0xbf, 0x00, 0x10, 0x00, 0x00,             /* mov $0x1000, %edi */
	0x31, 0xc0,                               /* xor %eax, %eax */
	0xb9, 0x00, 0x0c, 0x00, 0x00,             /* mov $0xc00, %ecx */
	0xf3, 0xab,                               /* rep stosl: zero 0x1000-0x3fff */
	0xc7, 0x05, 0x00, 0x10, 0x00, 0x00, 0x03, 0x20, 0x00, 0x00, /* PML4[0] = 0x2000|P|W */
	0xc7, 0x05, 0x00, 0x20, 0x00, 0x00, 0x03, 0x30, 0x00, 0x00, /* PDPT[0] = 0x3000|P|W */
	0xc7, 0x05, 0x00, 0x30, 0x00, 0x00, 0x83, 0x00, 0x00, 0x00, /* PD[0] = 0|P|W|PS (2M) */
	0xb8, 0x00, 0x10, 0x00, 0x00,             /* mov $0x1000, %eax */
	0x0f, 0x22, 0xd8,                         /* mov %eax, %cr3 */
	0x0f, 0x20, 0xe0,                         /* mov %cr4, %eax */
	0x83, 0xc8, 0x20,                         /* or $0x20, %eax (PAE) */
	0x0f, 0x22, 0xe0,                         /* mov %eax, %cr4 */
	0xb9, 0x80, 0x00, 0x00, 0xc0,             /* mov $0xc0000080, %ecx (EFER) */
	0x0f, 0x32,                               /* rdmsr */
	0x0d, 0x00, 0x01, 0x00, 0x00,             /* or $0x100, %eax (LME) */
	0x0f, 0x30,                               /* wrmsr */
	0x0f, 0x20, 0xc0,                         /* mov %cr0, %eax */
	0x0d, 0x00, 0x00, 0x00, 0x80,             /* or $0x80000000, %eax (PG) */
	0x0f, 0x22, 0xc0,                         /* mov %eax, %cr0: long mode */
	0xea, 0x81, 0x00, 0x0f, 0x00, 0x18, 0x00, /* ljmp $0x18, $0xf0081 */
	/* .code64, at 0xf0081 */
	0xb0, 0x2a,                               /* mov $0x2a, %al */
	0xe6, 0xf4,                               /* out %al, $0xf4 */
	0xf4,                                     /* hlt */
	0xeb, 0xfd,                               /* jmp back to the hlt */
	/* GDT at 0xf0088: null, 0x08 code32, 0x10 data, 0x18 code64 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xcf, 0x00,
	0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00,
	0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xaf, 0x00,
	/* gdt_desc at 0xf00a8: limit 31, base 0xf0088 */
	0x1f, 0x00, 0x88, 0x00, 0x0f, 0x00,
};
/* clang-format on */

/* The offsets baked into the code above (gdt_desc at 0xa8) hold. */
_Static_assert(sizeof(probe_code) == 0xae, "probe firmware layout");

/* At 0xFFFF0, where the CPU starts: jmp far 0xF000:0000. */
static const unsigned char probe_reset[] = {0xea, 0x00, 0x00, 0x00, 0xf0};

static int write_probe_bios(char **path, struct vc_error *err)
{
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *p =
		vc_strdup_printf("%s/vcrun-probe-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!p)
		return vc_error_set(err, ENOMEM, "out of memory");
	_cleanup_close_ int fd = mkostemp(p, O_CLOEXEC);
	if (fd < 0)
		return vc_error_sys(err, errno, "create `%s`", p);
	_cleanup_free_ unsigned char *img = malloc(PROBE_BIOS_SIZE);
	if (!img) {
		unlink(p);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	memset(img, 0xf4, PROBE_BIOS_SIZE); /* hlt everywhere else */
	memcpy(img, probe_code, sizeof(probe_code));
	memcpy(img + PROBE_BIOS_SIZE - 16, probe_reset, sizeof(probe_reset));
	int r = vc_write_all(fd, img, PROBE_BIOS_SIZE);
	if (r < 0) {
		unlink(p);
		return vc_error_sys(err, -r, "write `%s`", p);
	}
	*path = steal_ptr(p);
	return 0;
}

/* Reads the child's output until EOF or the deadline; keeps the first bytes. */
static void read_output(int fd, long long deadline, char *buf, size_t cap)
{
	size_t len = 0;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, hv_left_ms(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		char chunk[1024];
		ssize_t got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		size_t take = (size_t)got < cap - 1 - len ? (size_t)got : cap - 1 - len;
		memcpy(buf + len, chunk, take);
		len += take;
	}
	buf[len] = '\0';
}

static const char *first_line(char *text)
{
	char *s = text;
	while (*s == '\n' || *s == '\r' || *s == ' ')
		s++;
	s[strcspn(s, "\r\n")] = '\0';
	return s;
}

int vc_hv_probe_guest(const char *qemu_path, enum vc_hv_accel accel, int timeout_ms, bool *ran,
		      char *why, size_t why_len, struct vc_error *err)
{
	*ran = false;
	set_why(why, why_len, "%s", "");
	if (accel != VC_ACCEL_KVM && accel != VC_ACCEL_TCG)
		return vc_error_set(err, EINVAL, "probe: accel must be kvm or tcg");
	_cleanup_free_ char *qemu = NULL;
	int r = hv_find_program(qemu_path ? qemu_path : "qemu-system-x86_64", &qemu, err);
	if (r < 0)
		return vc_error_wrap(err, "qemu_path");
	_cleanup_free_ char *bios = NULL;
	if ((r = write_probe_bios(&bios, err)) < 0)
		return r;

	bool kvm = accel == VC_ACCEL_KVM;
	char *argv[] = {qemu,
			"-M",
			kvm ? "q35,accel=kvm" : "q35,accel=tcg",
			"-cpu",
			kvm ? "host" : "max",
			"-m",
			"16",
			"-nodefaults",
			"-no-user-config",
			"-display",
			"none",
			"-no-reboot",
			"-bios",
			bios,
			"-device",
			"isa-debug-exit,iobase=0xf4,iosize=1",
			NULL};
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		unlink(bios);
		return vc_error_sys(err, errno, "pipe2");
	}
	_cleanup_close_ int rd = p[0];
	_cleanup_close_ int wr = p[1];
	pid_t pid = 0;
	r = hv_spawn(argv, wr, -1, &pid, err);
	vc_closep(&wr);
	wr = -1;
	if (r < 0) {
		unlink(bios);
		return vc_error_wrap(err, "probe");
	}

	long long deadline = hv_now_ms() + (timeout_ms > 0 ? timeout_ms : PROBE_TIMEOUT_MS);
	char out[2048];
	read_output(rd, deadline, out, sizeof(out));
	int st = 0;
	bool exited = hv_wait_gone(pid, hv_left_ms(deadline), &st);
	if (!exited) {
		kill(pid, SIGKILL);
		hv_wait_gone(pid, 5000, NULL);
	}
	unlink(bios);

	if (exited && WIFEXITED(st) && WEXITSTATUS(st) == PROBE_EXIT_OK) {
		*ran = true;
		return 0;
	}
	const char *line = first_line(out);
	if (*line)
		set_why(why, why_len, "%s", line);
	else if (!exited)
		set_why(why, why_len,
			"the test guest (real mode to long mode) did not finish within %d ms",
			timeout_ms > 0 ? timeout_ms : PROBE_TIMEOUT_MS);
	else if (WIFEXITED(st))
		set_why(why, why_len, "qemu exited with status %d", WEXITSTATUS(st));
	else
		set_why(why, why_len, "qemu was killed by signal %d", WTERMSIG(st));
	return 0;
}

/* --- the cache ------------------------------------------------------------------ */

struct accel_key {
	char boot_id[64];
	char qemu[4096];
	long long qemu_mtime; /* a QEMU upgraded without a reboot is probed again */
};

static int accel_key(const char *qemu_path, struct accel_key *k, struct vc_error *err)
{
	_cleanup_free_ char *qemu = NULL;
	int r = hv_find_program(qemu_path ? qemu_path : "qemu-system-x86_64", &qemu, err);
	if (r < 0)
		return vc_error_wrap(err, "qemu_path");
	_cleanup_free_ char *id = NULL;
	if (vc_read_file("/proc/sys/kernel/random/boot_id", 256, &id, NULL, NULL) < 0)
		id = strdup("unknown");
	if (!id)
		return vc_error_set(err, ENOMEM, "out of memory");
	id[strcspn(id, "\r\n")] = '\0';
	snprintf(k->boot_id, sizeof(k->boot_id), "%s", id);
	snprintf(k->qemu, sizeof(k->qemu), "%s", qemu);
	struct stat st;
	k->qemu_mtime = stat(qemu, &st) == 0 ? (long long)st.st_mtime : 0;
	return 0;
}

struct cache_entry {
	const char *version, *boot_id, *qemu, *qemu_mtime, *accel, *reason;
};

/* "key=value" lines; the values point into text, whose newlines become NULs. */
static void cache_parse(char *text, struct cache_entry *e)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{"version", offsetof(struct cache_entry, version)},
		{"boot_id", offsetof(struct cache_entry, boot_id)},
		{"qemu", offsetof(struct cache_entry, qemu)},
		{"qemu_mtime", offsetof(struct cache_entry, qemu_mtime)},
		{"accel", offsetof(struct cache_entry, accel)},
		{"reason", offsetof(struct cache_entry, reason)},
	};
	memset(e, 0, sizeof(*e));
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		for (size_t i = 0; i < VC_ARRAY_SIZE(keys); i++) {
			if (!strcmp(line, keys[i].key))
				*(const char **)((char *)e + keys[i].off) = eq + 1;
		}
	}
}

static bool same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static bool cache_read(const char *path, const struct accel_key *k, enum vc_hv_accel *out,
		       char *why, size_t why_len)
{
	_cleanup_free_ char *text = NULL;
	/* Only a file of ours that nobody else could have written or read: an older
	 * vcrun's (0644) is probed again and rewritten 0600. */
	struct stat st;
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077))
		return false;
	if (vc_read_file(path, 16384, &text, NULL, NULL) < 0)
		return false;
	struct cache_entry e;
	cache_parse(text, &e);
	char mtime[32];
	snprintf(mtime, sizeof(mtime), "%lld", k->qemu_mtime);
	if (!same(e.version, CACHE_VERSION) || !same(e.boot_id, k->boot_id) ||
	    !same(e.qemu, k->qemu) || !same(e.qemu_mtime, mtime))
		return false;
	if (same(e.accel, "kvm"))
		*out = VC_ACCEL_KVM;
	else if (same(e.accel, "tcg"))
		*out = VC_ACCEL_TCG;
	else
		return false;
	set_why(why, why_len, "%s", e.reason ? e.reason : "");
	return true;
}

static int cache_write(const char *path, const struct accel_key *k, enum vc_hv_accel a,
		       const char *why, struct vc_error *err)
{
	_cleanup_free_ char *text = vc_strdup_printf(
		"version=" CACHE_VERSION "\nboot_id=%s\nqemu=%s\nqemu_mtime=%lld\naccel=%s\n"
		"reason=%s\n",
		k->boot_id, k->qemu, k->qemu_mtime, vc_hv_accel_name(a), why ? why : "");
	if (!text)
		return vc_error_set(err, ENOMEM, "out of memory");
	return vc_write_file_atomic(path, text, strlen(text), 0600, err);
}

int vc_hv_accel_probe(const char *qemu_path, const char *cache_file, enum vc_hv_accel *out,
		      bool *probed, char *why, size_t why_len, struct vc_error *err)
{
	struct accel_key k;
	if (probed)
		*probed = false;
	int r = accel_key(qemu_path, &k, err);
	if (r < 0)
		return r;
	if (cache_file && cache_read(cache_file, &k, out, why, why_len))
		return 0;
	if (probed)
		*probed = true;

	enum vc_hv_accel a = VC_ACCEL_TCG;
	char reason[512] = "";
	_cleanup_close_ int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		set_why(reason, sizeof(reason), "/dev/kvm: %s", strerror(errno));
	} else {
		vc_closep(&kvm);
		kvm = -1;
		bool ran = false;
		char line[400];
		r = vc_hv_probe_guest(k.qemu, VC_ACCEL_KVM, PROBE_TIMEOUT_MS, &ran, line,
				      sizeof(line), err);
		if (r < 0)
			return r;
		if (ran) {
			a = VC_ACCEL_KVM;
			set_why(reason, sizeof(reason), "a test guest ran under KVM");
		} else {
			set_why(reason, sizeof(reason), "KVM cannot run guests here: %s", line);
		}
	}
	*out = a;
	set_why(why, why_len, "%s", reason);
	/* The answer stands without the cache; a read-only state root only costs a
	 * probe per call. */
	if (cache_file)
		cache_write(cache_file, &k, a, reason, NULL);
	return 0;
}
