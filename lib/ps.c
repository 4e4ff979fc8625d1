/* procps' ps table from the agent's process facts (lib/ps.h). Headers, widths and
 * alignment are procps-ng 4.0's, measured against the host's ps: a value wider than
 * its column pushes the line right and the next columns' padding takes it back, the
 * last column is never padded or cut, and args/comm/user are cut to their width
 * when another column follows. */
#include "lib/ps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent-proto/agent-msg.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "oci/json.h"

enum kind {
	K_PID,
	K_PPID,
	K_PGRP,
	K_SESSION,
	K_EUID,
	K_EUSER,
	K_COMM,
	K_ARGS,
	K_STAT,
	K_STATE,
	K_TTY,
	K_TIME,
	K_BSDTIME,
	K_ETIME,
	K_STIME,
	K_START_TIME,
	K_STARTED,
	K_RSS,
	K_VSZ,
	K_PCPU,
	K_PMEM,
	K_C,
	K_NLWP,
	K_NICE,
};

/* How a value too wide for a column that is not the last is shown. */
enum cut { CUT_NONE, CUT_PLAIN, CUT_PLUS };

struct key {
	const char *name, *header;
	enum kind kind;
	int width;
	bool right;
	enum cut cut;
};

/* procps' format keys (the subset vcrun knows), as `ps -o KEY` prints them. */
static const struct key keys[] = {
	{"pid", "PID", K_PID, 5, true, CUT_NONE},
	{"tid", "TID", K_PID, 5, true, CUT_NONE},
	{"lwp", "LWP", K_PID, 5, true, CUT_NONE},
	{"ppid", "PPID", K_PPID, 5, true, CUT_NONE},
	{"pgid", "PGID", K_PGRP, 5, true, CUT_NONE},
	{"pgrp", "PGRP", K_PGRP, 5, true, CUT_NONE},
	{"sid", "SID", K_SESSION, 5, true, CUT_NONE},
	{"sess", "SESS", K_SESSION, 5, true, CUT_NONE},
	{"session", "SESS", K_SESSION, 5, true, CUT_NONE},
	{"uid", "UID", K_EUID, 5, true, CUT_NONE},
	{"euid", "EUID", K_EUID, 5, true, CUT_NONE},
	{"user", "USER", K_EUSER, 8, false, CUT_PLUS},
	{"euser", "EUSER", K_EUSER, 8, false, CUT_PLUS},
	{"uname", "USER", K_EUSER, 8, false, CUT_PLUS},
	{"comm", "COMMAND", K_COMM, 15, false, CUT_PLAIN},
	{"ucmd", "CMD", K_COMM, 15, false, CUT_PLAIN},
	{"ucomm", "COMMAND", K_COMM, 15, false, CUT_PLAIN},
	{"args", "COMMAND", K_ARGS, 27, false, CUT_PLAIN},
	{"command", "COMMAND", K_ARGS, 27, false, CUT_PLAIN},
	{"cmd", "CMD", K_ARGS, 27, false, CUT_PLAIN},
	{"stat", "STAT", K_STAT, 4, false, CUT_NONE},
	{"s", "S", K_STATE, 1, false, CUT_NONE},
	{"state", "S", K_STATE, 1, false, CUT_NONE},
	{"tty", "TT", K_TTY, 8, false, CUT_NONE},
	{"tt", "TT", K_TTY, 8, false, CUT_NONE},
	{"tname", "TTY", K_TTY, 8, false, CUT_NONE},
	{"time", "TIME", K_TIME, 8, true, CUT_NONE},
	{"cputime", "TIME", K_TIME, 8, true, CUT_NONE},
	{"bsdtime", "TIME", K_BSDTIME, 6, true, CUT_NONE},
	{"etime", "ELAPSED", K_ETIME, 11, true, CUT_NONE},
	{"stime", "STIME", K_STIME, 5, true, CUT_NONE},
	{"start_time", "START", K_START_TIME, 5, false, CUT_NONE},
	{"start", "STARTED", K_STARTED, 8, true, CUT_NONE},
	{"rss", "RSS", K_RSS, 5, true, CUT_NONE},
	{"rssize", "RSS", K_RSS, 5, true, CUT_NONE},
	{"rsz", "RSZ", K_RSS, 5, true, CUT_NONE},
	{"vsz", "VSZ", K_VSZ, 6, true, CUT_NONE},
	{"vsize", "VSZ", K_VSZ, 6, true, CUT_NONE},
	{"%cpu", "%CPU", K_PCPU, 4, true, CUT_NONE},
	{"pcpu", "%CPU", K_PCPU, 4, true, CUT_NONE},
	{"%mem", "%MEM", K_PMEM, 4, true, CUT_NONE},
	{"pmem", "%MEM", K_PMEM, 4, true, CUT_NONE},
	{"c", "C", K_C, 2, true, CUT_NONE},
	{"nlwp", "NLWP", K_NLWP, 4, true, CUT_NONE},
	{"thcount", "THCNT", K_NLWP, 4, true, CUT_NONE},
	{"ni", "NI", K_NICE, 3, true, CUT_NONE},
	{"nice", "NI", K_NICE, 3, true, CUT_NONE},
};

/* ps -f's first column: the user name under the header UID. */
static const struct key uid_hack = {"uid_hack", "UID", K_EUSER, 8, false, CUT_PLUS};

struct column {
	const struct key *key;
	char *header; /* NULL: the key's */
};

struct vc_ps_format {
	struct column *cols;
	size_t n;
	bool environ;
};

static const struct key *find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < VC_ARRAY_SIZE(keys); i++)
		if (strlen(keys[i].name) == len && !strncmp(keys[i].name, name, len))
			return &keys[i];
	return NULL;
}

static int add_column(struct vc_ps_format *f, const struct key *k, const char *header,
		      struct vc_error *err)
{
	struct column *nc = realloc(f->cols, (f->n + 1) * sizeof(*nc));
	if (!nc)
		return vc_error_set(err, ENOMEM, "out of memory");
	f->cols = nc;
	f->cols[f->n] = (struct column){.key = k};
	if (header && !(f->cols[f->n].header = strdup(header)))
		return vc_error_set(err, ENOMEM, "out of memory");
	f->n++;
	return 0;
}

static int add_preset(struct vc_ps_format *f, const char *const *names, struct vc_error *err)
{
	int r = 0;
	for (; *names && r == 0; names++) {
		/* "key:HEADER": the key with procps' preset header */
		const char *colon = strchr(*names, ':');
		size_t len = colon ? (size_t)(colon - *names) : strlen(*names);
		const struct key *k =
			!strncmp(*names, "uid_hack", len) ? &uid_hack : find_key(*names, len);
		r = add_column(f, k, colon ? colon + 1 : NULL, err);
	}
	return r;
}

/* -o's list: keys separated by commas or blanks, each "key" or "key=HEADER" (the
 * header up to the next comma or blank: procps 4's parser, whatever its manual
 * says). */
static int add_list(struct vc_ps_format *f, const char *opt, const char *list, struct vc_error *err)
{
	const char *s = list;
	while (*s) {
		s += strspn(s, ", \t");
		if (!*s)
			break;
		size_t len = strcspn(s, ",= \t");
		const struct key *k = find_key(s, len);
		if (!k)
			return vc_error_set(err, EINVAL,
					    "ps option %s: format key \"%.*s\" is not supported",
					    opt, (int)len, s);
		_cleanup_free_ char *header = NULL;
		if (s[len] == '=') {
			size_t hlen = strcspn(s + len + 1, ", \t");
			if (!(header = strndup(s + len + 1, hlen)))
				return vc_error_set(err, ENOMEM, "out of memory");
			len += 1 + hlen;
		}
		int r = add_column(f, k, header, err);
		if (r < 0)
			return r;
		s += len;
	}
	return 0;
}

enum preset { P_DEFAULT, P_FULL, P_BSD_X, P_BSD_U };

static const char *const preset_cols[][12] = {
	[P_DEFAULT] = {"pid", "tname", "time", "ucmd", NULL},
	[P_FULL] = {"uid_hack", "pid", "ppid", "c", "stime", "tname", "time", "args:CMD", NULL},
	[P_BSD_X] = {"pid", "tname", "stat", "bsdtime", "args", NULL},
	[P_BSD_U] = {"user", "pid", "%cpu", "%mem", "vsz", "rss", "tname", "stat", "start_time",
		     "bsdtime", "args", NULL},
};

static int unsupported(struct vc_error *err, const char *arg, char c)
{
	return vc_error_set(err, EINVAL,
			    "ps option %s: '%c' is not supported (vcrun builds ps's table from the "
			    "container's VM and knows -e, -A, -f, -o LIST and a, u, x, e, w)",
			    arg, c);
}

int vc_ps_format_parse(char *const *args, struct vc_ps_format **out, struct vc_error *err)
{
	static char *const dflt[] = {"-ef", NULL};
	__attribute__((cleanup(vc_ps_format_freep))) struct vc_ps_format *f = calloc(1, sizeof(*f));
	if (!f)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (!args || !args[0])
		args = dflt;
	bool full = false, bsd_x = false, bsd_u = false, bsd_e = false, dash_e = false,
	     dash_x = false, custom = false;
	int r;
	for (size_t i = 0; args[i]; i++) {
		const char *a = args[i];
		bool dash = a[0] == '-';
		if (dash && a[1] == '-')
			return vc_error_set(
				err, EINVAL,
				"ps option %s is not supported (vcrun builds ps's table "
				"from the container's VM and knows -e, -A, -f, -o LIST "
				"and a, u, x, e, w)",
				a);
		if (!a[dash])
			return vc_error_set(err, EINVAL, "ps option \"%s\" is not supported", a);
		for (const char *c = a + dash; *c; c++) {
			switch (*c) {
			case 'e':
				*(dash ? &dash_e : &bsd_e) = true;
				break;
			case 'A':
				if (!dash)
					return unsupported(err, a, *c);
				break;
			case 'f':
				if (!dash) /* BSD f is a forest */
					return unsupported(err, a, *c);
				full = true;
				break;
			case 'a':
				bsd_x |= !dash;
				break;
			case 'x':
				bsd_x = true;
				dash_x |= dash;
				break;
			case 'u':
				bsd_u = true;
				break;
			case 'w':
				break; /* nothing is cut to a terminal's width here */
			case 'o': {
				const char *list = c[1] ? c + 1 : args[i + 1];
				if (!list)
					return vc_error_set(err, EINVAL,
							    "ps option %s: needs a format list", a);
				if (!c[1])
					i++;
				if ((r = add_list(f, a, list, err)) < 0)
					return r;
				custom = true;
				goto next_arg;
			}
			default:
				return unsupported(err, a, *c);
			}
		}
	next_arg:;
	}
	if (!custom) {
		enum preset p = bsd_u ? P_BSD_U : bsd_x ? P_BSD_X : full ? P_FULL : P_DEFAULT;
		if ((r = add_preset(f, preset_cols[p], err)) < 0)
			return r;
		f->environ = (p == P_BSD_U || p == P_BSD_X) && (bsd_e || (dash_e && dash_x));
	}
	bool has_pid = false;
	for (size_t i = 0; i < f->n && !has_pid; i++)
		has_pid = !strcmp(f->cols[i].header ? f->cols[i].header : f->cols[i].key->header,
				  "PID");
	if (!has_pid)
		return vc_error_set(err, EINVAL, "couldn't find PID field in ps output");
	*out = steal_ptr(f);
	return 0;
}

void vc_ps_format_free(struct vc_ps_format *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		free(f->cols[i].header);
	free(f->cols);
	free(f);
}

bool vc_ps_format_environ(const struct vc_ps_format *f)
{
	return f->environ;
}

/* One process as the guest reported it; numbers clamped to >= 0. */
struct proc {
	long long pid, ppid, pgrp, session, tty_nr, tpgid, utime, stime, nice, threads, start,
		vsz_kb, rss_kb, euid;
	char state;
	const char *comm, *euser, *args, *environ;
};

struct clock {
	long long hz, boot_time, uptime_ms, mem_total_kb;
};

/* Larger than any real pid, tick count or size, small enough that sums of two
 * never overflow. */
#define NUM_MAX (1LL << 50)

static long long num(const struct vc_json *o, const char *key, long long min, long long dflt)
{
	int64_t v;
	if (vc_json_to_i64(vc_json_get(o, key), &v) < 0 || v < min || v > NUM_MAX)
		return dflt;
	return v;
}

/* A string field, or NULL when absent, not a string, too long or with a NUL. */
static const char *str(const struct vc_json *o, const char *key, size_t max)
{
	const struct vc_json *v = vc_json_get(o, key);
	if (!v || v->type != VC_JSON_STRING || v->u.string.len > max ||
	    strlen(v->u.string.ptr) != v->u.string.len)
		return NULL;
	return v->u.string.ptr;
}

static void read_proc(const struct vc_json *o, struct proc *p)
{
	*p = (struct proc){
		.pid = num(o, "pid", 1, 0),
		.ppid = num(o, "ppid", 0, 0),
		.pgrp = num(o, "pgrp", 0, 0),
		.session = num(o, "session", 0, 0),
		.tty_nr = num(o, "tty_nr", 0, 0),
		.tpgid = num(o, "tpgid", -1, -1),
		.utime = num(o, "utime", 0, 0),
		.stime = num(o, "stime", 0, 0),
		.nice = num(o, "nice", -20, 0),
		.threads = num(o, "threads", 0, 1),
		.start = num(o, "start", 0, 0),
		.vsz_kb = num(o, "vsz_kb", 0, 0),
		.rss_kb = num(o, "rss_kb", 0, 0),
		.euid = num(o, "euid", 0, -1),
		.comm = str(o, "comm", 64),
		.euser = str(o, "euser", 64),
		.args = str(o, "args", 8192),
		.environ = str(o, "environ", 8192),
	};
	const char *st = str(o, "state", 1);
	p->state = st && st[0] >= 'A' && st[0] <= 'z' ? st[0] : '?';
	if (p->nice > 19)
		p->nice = 19;
	if (!p->comm)
		p->comm = "?";
}

static int by_pid(const void *a, const void *b)
{
	const struct proc *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static void fmt_local(char *buf, size_t len, long long epoch, const char *fmt)
{
	time_t t = (time_t)epoch;
	struct tm tm;
	if (!localtime_r(&t, &tm) || !strftime(buf, len, fmt, &tm))
		snprintf(buf, len, "?");
}

/* The process's start, its age, and "now", all by the guest's clock. */
static long long started_at(const struct proc *p, const struct clock *c)
{
	return c->boot_time + p->start / c->hz;
}

static long long age(const struct proc *p, const struct clock *c)
{
	long long a = c->uptime_ms / 1000 - p->start / c->hz;
	return a > 0 ? a : 0;
}

static void same_day_or(char *buf, size_t len, const struct proc *p, const struct clock *c,
			const char *today, const char *this_year, const char *older)
{
	long long now = c->boot_time + c->uptime_ms / 1000, then = started_at(p, c);
	time_t tn = (time_t)now, tt = (time_t)then;
	struct tm a, b;
	if (!localtime_r(&tn, &a) || !localtime_r(&tt, &b)) {
		snprintf(buf, len, "?");
		return;
	}
	const char *fmt = a.tm_year != b.tm_year   ? older
			  : a.tm_yday != b.tm_yday ? this_year
						   : today;
	fmt_local(buf, len, then, fmt);
}

static void tty_name(char *buf, size_t len, long long tty_nr)
{
	unsigned maj = ((unsigned long long)tty_nr >> 8) & 0xfff;
	unsigned min = (unsigned)((tty_nr & 0xff) | (((unsigned long long)tty_nr >> 12) & 0xfff00));
	if (tty_nr == 0)
		snprintf(buf, len, "?");
	else if (maj >= 136 && maj <= 143)
		snprintf(buf, len, "pts/%u", min + (maj - 136) * 256);
	else if (maj == 4 && min < 64)
		snprintf(buf, len, "tty%u", min);
	else if (maj == 4)
		snprintf(buf, len, "ttyS%u", min - 64);
	else if (maj == 5 && min == 1)
		snprintf(buf, len, "console");
	else
		snprintf(buf, len, "?");
}

static void duration(char *buf, size_t len, long long s, bool short_form)
{
	long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
	if (d)
		snprintf(buf, len, "%lld-%02lld:%02lld:%02lld", d, h, m, sec);
	else if (h || !short_form)
		snprintf(buf, len, "%02lld:%02lld:%02lld", h, m, sec);
	else
		snprintf(buf, len, "%02lld:%02lld", m, sec);
}

/* The field a cell shows as a plain number, or NULL. */
static const long long *plain_number(enum kind kind, const struct proc *p)
{
	switch (kind) {
	case K_PID:
		return &p->pid;
	case K_PPID:
		return &p->ppid;
	case K_PGRP:
		return &p->pgrp;
	case K_SESSION:
		return &p->session;
	case K_RSS:
		return &p->rss_kb;
	case K_VSZ:
		return &p->vsz_kb;
	case K_NLWP:
		return &p->threads;
	case K_NICE:
		return &p->nice;
	default:
		return NULL;
	}
}

/* The text of one cell; *owned is set when it had to be allocated. */
static const char *cell(const struct key *k, const struct proc *p, const struct clock *c,
			bool environ, char *buf, size_t len, char **owned)
{
	long long cpu_ticks = p->utime + p->stime, secs = age(p, c);
	const long long *plain = plain_number(k->kind, p);
	if (plain) {
		snprintf(buf, len, "%lld", *plain);
		return buf;
	}
	switch (k->kind) {
	case K_EUID:
		if (p->euid < 0)
			return "?";
		snprintf(buf, len, "%lld", p->euid);
		break;
	case K_EUSER:
		if (p->euser && *p->euser)
			return p->euser;
		if (p->euid < 0)
			return "?";
		snprintf(buf, len, "%lld", p->euid);
		break;
	case K_COMM:
		return p->comm;
	case K_ARGS: {
		const char *args = p->args && *p->args ? p->args : NULL;
		bool env = environ && p->environ && *p->environ;
		if (args && !env)
			return args;
		*owned = args  ? vc_strdup_printf("%s %s", args, p->environ)
			 : env ? vc_strdup_printf("[%s] %s", p->comm, p->environ)
			       : vc_strdup_printf("[%s]", p->comm);
		return *owned ? *owned : "?";
	}
	case K_STAT: {
		size_t n = 0;
		buf[n++] = p->state;
		if (p->nice < 0)
			buf[n++] = '<';
		else if (p->nice > 0)
			buf[n++] = 'N';
		if (p->session == p->pid)
			buf[n++] = 's';
		if (p->threads > 1)
			buf[n++] = 'l';
		if (p->tpgid >= 0 && p->pgrp == p->tpgid)
			buf[n++] = '+';
		buf[n] = '\0';
		break;
	}
	case K_STATE:
		snprintf(buf, len, "%c", p->state);
		break;
	case K_TTY:
		tty_name(buf, len, p->tty_nr);
		break;
	case K_TIME:
		duration(buf, len, cpu_ticks / c->hz, false);
		break;
	case K_BSDTIME:
		snprintf(buf, len, "%lld:%02lld", cpu_ticks / c->hz / 60, cpu_ticks / c->hz % 60);
		break;
	case K_ETIME:
		duration(buf, len, secs, true);
		break;
	case K_STIME:
		same_day_or(buf, len, p, c, "%H:%M", "%b%d", "%Y");
		break;
	case K_START_TIME:
		same_day_or(buf, len, p, c, "%H:%M", "%b%d", "%Y");
		break;
	case K_STARTED:
		if (secs < 86400)
			fmt_local(buf, len, started_at(p, c), "%H:%M:%S");
		else
			fmt_local(buf, len, started_at(p, c), "%b %d");
		break;
	case K_PCPU: {
		long long t = secs ? cpu_ticks * 1000 / c->hz / secs : 0;
		if (t > 999)
			snprintf(buf, len, "%lld", t / 10);
		else
			snprintf(buf, len, "%lld.%lld", t / 10, t % 10);
		break;
	}
	case K_PMEM: {
		long long t = c->mem_total_kb ? p->rss_kb * 1000 / c->mem_total_kb : 0;
		snprintf(buf, len, "%lld.%lld", t / 10, t % 10);
		break;
	}
	case K_C: {
		long long t = secs ? cpu_ticks * 100 / c->hz / secs : 0;
		snprintf(buf, len, "%lld", t > 99 ? 99 : t);
		break;
	}
	default:
		break;
	}
	return buf;
}

/* One line: `over` counts how far a wide value pushed the line past its columns;
 * later padding gives that back. */
static void put_line(FILE *o, const struct vc_ps_format *f, const char *const *texts)
{
	size_t over = 0;
	for (size_t i = 0; i < f->n; i++) {
		const struct key *k = f->cols[i].key;
		bool last = i + 1 == f->n;
		const char *t = texts[i];
		/* a header wider than its column widens it */
		size_t hlen = strlen(f->cols[i].header ? f->cols[i].header : k->header);
		size_t len = strlen(t), w = (size_t)k->width > hlen ? (size_t)k->width : hlen;
		bool plus = false;
		if (i)
			fputc(' ', o);
		if (!last && len > w && k->cut != CUT_NONE) {
			plus = k->cut == CUT_PLUS;
			len = plus ? w - 1 : w;
		}
		size_t pad = len + plus < w ? w - len - plus : 0;
		size_t give = pad < over ? pad : over;
		pad -= give;
		over -= give;
		if (len + plus > w)
			over += len + plus - w;
		if (last && !k->right)
			pad = 0;
		if (k->right)
			fprintf(o, "%*s", (int)pad, "");
		fwrite(t, 1, len, o);
		if (plus)
			fputc('+', o);
		if (!k->right)
			fprintf(o, "%*s", (int)pad, "");
	}
	fputc('\n', o);
}

int vc_ps_format_table(const struct vc_ps_format *f, const struct vc_json *answer, char **out,
		       struct vc_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t text_len = 0;
	_cleanup_fclose_ FILE *o = open_memstream(&text, &text_len);
	_cleanup_free_ const char **texts = calloc(f->n + 1, sizeof(*texts));
	_cleanup_free_ char **owned = calloc(f->n + 1, sizeof(*owned));
	if (!o || !texts || !owned)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < f->n; i++)
		texts[i] = f->cols[i].header ? f->cols[i].header : f->cols[i].key->header;
	put_line(o, f, texts);

	const struct vc_json *cj = vc_json_get(answer, "clock");
	const struct vc_json *pl = vc_json_get(answer, "processes");
	struct clock c = {
		.hz = num(cj, "hz", 1, 100),
		.boot_time = num(cj, "boot_time", 0, 0),
		.uptime_ms = num(cj, "uptime_ms", 0, 0),
		.mem_total_kb = num(cj, "mem_total_kb", 0, 0),
	};
	size_t n = answer && pl && pl->type == VC_JSON_ARRAY ? pl->u.array.len : 0;
	/* The guest cannot describe more processes than it may list. */
	if (n > VC_AGENT_PIDS_MAX)
		return vc_error_set(err, EBADMSG,
				    "ListProcesses: result.processes: more than %u processes (%zu)",
				    VC_AGENT_PIDS_MAX, n);
	_cleanup_free_ struct proc *procs = calloc(n + 1, sizeof(*procs));
	if (!procs)
		return vc_error_set(err, ENOMEM, "out of memory");
	size_t np = 0;
	for (size_t i = 0; i < n; i++) {
		read_proc(pl->u.array.items[i], &procs[np]);
		if (procs[np].pid > 0)
			np++;
	}
	qsort(procs, np, sizeof(*procs), by_pid);
	for (size_t i = 0; i < np; i++) {
		char bufs[f->n + 1][64];
		for (size_t j = 0; j < f->n; j++)
			texts[j] = cell(f->cols[j].key, &procs[i], &c, f->environ, bufs[j],
					sizeof(bufs[j]), &owned[j]);
		put_line(o, f, texts);
		for (size_t j = 0; j < f->n; j++) {
			free(owned[j]);
			owned[j] = NULL;
		}
	}
	if (fclose(steal_ptr(o)) != 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	*out = steal_ptr(text);
	return 0;
}
