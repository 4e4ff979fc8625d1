/* lib/ps: ps's options, procps' table from the agent's process facts (agent/procinfo.c),
 * checked against the host's own procps ps on this very process. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent-proto/agent-msg.h"
#include "agent/agent.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/ps.h"
#include "oci/json.h"
#include "tests/unit/unit.h"

static int table_for(char *const *args, const char *answer_json, char **out, struct vc_error *err)
{
	__attribute__((cleanup(vc_ps_format_freep))) struct vc_ps_format *f = NULL;
	_cleanup_json_ struct vc_json *answer = NULL;
	int r = vc_ps_format_parse(args, &f, err);
	if (r < 0)
		return r;
	if (answer_json &&
	    (r = vc_json_parse(answer_json, strlen(answer_json), "answer", &answer, err)) < 0)
		return r;
	return vc_ps_format_table(f, answer, out, err);
}

/* ps's forms vcrun knows, with the header procps 4.0 prints for each. */
static const struct {
	char *args[5];
	const char *head;
} forms[] = {
	{{"-e", "-x"}, "  PID TTY      STAT   TIME COMMAND\n"},
	{{"ax"}, "  PID TTY      STAT   TIME COMMAND\n"},
	{{"aux"}, "USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n"},
	{{"-aux"}, "USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n"},
	{{"-e"}, "  PID TTY          TIME CMD\n"},
	{{"-A"}, "  PID TTY          TIME CMD\n"},
	{{"-f"}, "UID        PID  PPID  C STIME TTY          TIME CMD\n"},
	{{"-o", "pid,comm,args"}, "  PID COMMAND         COMMAND\n"},
	{{"-eo", "pid,user,stat"}, "  PID USER     STAT\n"},
	{{"-o", "user,pid", "-o", "etime"}, "USER       PID     ELAPSED\n"},
	{{"-o", "pid=P,comm=PID"}, "    P PID\n"},
	{{"-o", "comm=X,pid"}, "X                 PID\n"},
	{{"-o", "pid=ABCDEFGH,comm=ABCDEFGHIJKLMNOPQRST,pid"},
	 "ABCDEFGH ABCDEFGHIJKLMNOPQRST   PID\n"},
	{{"ax", "o", "pid,%cpu,%mem,nlwp,ni,tty"}, "  PID %CPU %MEM NLWP  NI TT\n"},
};

VC_TEST(options_known_and_refused)
{
	struct vc_error err = {0};
	_cleanup_free_ char *t = NULL;
	CHECK(table_for(NULL, NULL, &t, &err) == 0);
	CHECK_STR(t, "UID        PID  PPID  C STIME TTY          TIME CMD\n");
	for (size_t i = 0; i < VC_ARRAY_SIZE(forms); i++) {
		free(t);
		t = NULL;
		if (table_for(forms[i].args, NULL, &t, &err) < 0)
			fprintf(stderr, "# form %zu: %s\n", i, err.msg);
		CHECK_STR(t, forms[i].head);
	}
	static const struct {
		char *args[3];
		const char *msg;
	} bad[] = {
		{{"-F"}, "ps option -F: 'F' is not supported"},
		{{"--sort=pid"}, "ps option --sort=pid is not supported"},
		{{"-e", "f"}, "ps option f: 'f' is not supported"},
		{{"-o", "pid,wchan"}, "ps option -o: format key \"wchan\" is not supported"},
		{{"-o"}, "ps option -o: needs a format list"},
		{{"-o", "comm"}, "couldn't find PID field in ps output"},
		{{"-o", "pid=X"}, "couldn't find PID field in ps output"},
		{{"-o", "pid=A,B"}, "ps option -o: format key \"B\" is not supported"},
		{{"-"}, "ps option \"-\" is not supported"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(bad); i++) {
		err = (struct vc_error){0};
		free(t);
		t = NULL;
		CHECK(table_for(bad[i].args, NULL, &t, &err) == -EINVAL);
		CHECK_CONTAINS(err.msg, bad[i].msg);
	}
}

/* Two processes, out of order; a user name longer than its column; a long args. */
static const char answer[] =
	"{\"pids\": [12, 7], \"clock\": {\"hz\": 100, \"boot_time\": 0, \"uptime_ms\": 100000,"
	" \"mem_total_kb\": 1000},"
	" \"processes\": ["
	"{\"pid\": 12, \"ppid\": 7, \"pgrp\": 7, \"session\": 7, \"tty_nr\": 34816, \"tpgid\": 7,"
	" \"state\": \"R\", \"utime\": 6000, \"stime\": 100, \"nice\": 5, \"threads\": 3,"
	" \"start\": 500, \"vsz_kb\": 1234567, \"rss_kb\": 250, \"euid\": 1000,"
	" \"euser\": \"averylongname\", \"comm\": \"worker\","
	" \"args\": \"worker --with a long list of arguments\", \"environ\": \"A=1 B=2\"},"
	"{\"pid\": 7, \"ppid\": 0, \"pgrp\": 7, \"session\": 7, \"tty_nr\": 0, \"tpgid\": -1,"
	" \"state\": \"S\", \"utime\": 0, \"stime\": 0, \"nice\": -5, \"threads\": 1,"
	" \"start\": 100, \"vsz_kb\": 10, \"rss_kb\": 4, \"euid\": 0, \"euser\": \"root\","
	" \"comm\": \"init\", \"args\": \"\"}"
	"]}";

VC_TEST(table_cells)
{
	setenv("TZ", "UTC", 1);
	tzset();
	struct vc_error err = {0};
	_cleanup_free_ char *t = NULL;
	char *o1[] = {"-o", "pid,user,stat,tty,time,bsdtime,etime,c,%cpu,%mem,vsz,nlwp,ni,args",
		      NULL};
	CHECK(table_for(o1, answer, &t, &err) == 0);
	/* sorted by pid; a wide VSZ pushes the line right and NLWP's padding takes it back;
	 * averylongname is cut with '+'; [init] for an empty command line */
	CHECK_STR(t,
		  "  PID USER     STAT TT           TIME   TIME     ELAPSED  C %CPU %MEM    VSZ "
		  "NLWP  NI COMMAND\n"
		  "    7 root     S<s  ?        00:00:00   0:00       01:39  0  0.0  0.4     10 "
		  "   1  -5 [init]\n"
		  "   12 averylo+ RNl+ pts/0    00:01:01   1:01       01:35 64 64.2 25.0 1234567 "
		  "  3   5 worker --with a long list of arguments\n");
	free(t);
	t = NULL;
	/* args is cut to 27 columns when another column follows; the environment with BSD e */
	char *o2[] = {"-o", "args,pid", NULL};
	CHECK(table_for(o2, answer, &t, &err) == 0);
	CHECK_STR(t, "COMMAND                       PID\n"
		     "[init]                          7\n"
		     "worker --with a long list o    12\n");
	free(t);
	t = NULL;
	char *o3[] = {"axe", NULL};
	CHECK(table_for(o3, answer, &t, &err) == 0);
	CHECK_CONTAINS(t, "worker --with a long list of arguments A=1 B=2\n");
	free(t);
	t = NULL;
	/* the -ef form: times by the guest's clock (boot at the epoch, UTC here) */
	CHECK(table_for(NULL, answer, &t, &err) == 0);
	CHECK_STR(t, "UID        PID  PPID  C STIME TTY          TIME CMD\n"
		     "root         7     0  0 00:00 ?        00:00:00 [init]\n"
		     "averylo+    12     7 64 00:00 pts/0    00:01:01 worker --with a long list of "
		     "arguments\n");
}

VC_TEST(untrusted_answers)
{
	struct vc_error err = {0};
	static const char *const answers[] = {
		"{}",
		"{\"processes\": 5}",
		"{\"processes\": [1, \"x\", null, {}], \"clock\": []}",
		"{\"clock\": {\"hz\": 0, \"uptime_ms\": -5}, \"processes\": [{\"pid\": 3, "
		"\"start\": "
		"99999999999999, \"utime\": -1, \"nice\": 99, \"state\": \"\\u0007\", \"comm\": 7, "
		"\"tty_nr\": 9223372036854775807, \"euser\": \"a\\u0000b\"}]}",
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(answers); i++) {
		_cleanup_free_ char *t = NULL;
		CHECK(table_for(NULL, answers[i], &t, &err) == 0);
		CHECK(!strncmp(t, "UID ", 4));
	}
	_cleanup_free_ char *t = NULL;
	CHECK(table_for(NULL, answers[3], &t, &err) == 0);
	CHECK_CONTAINS(t, "\n?            3     0  0 ");
	CHECK_CONTAINS(t, " [?]\n");
	/* a count past what the guest may list is refused before anything is allocated */
	size_t n = VC_AGENT_PIDS_MAX + 1;
	_cleanup_free_ char *many = malloc(32 + 3 * n);
	CHECK(many);
	if (!many)
		return;
	char *w = many + sprintf(many, "{\"processes\":[{}");
	for (size_t i = 1; i < n; i++)
		w = stpcpy(w, ",{}");
	strcpy(w, "]}");
	_cleanup_free_ char *none = NULL;
	CHECK(table_for(NULL, many, &none, &err) == -EBADMSG);
	CHECK_CONTAINS(err.msg, "ListProcesses: result.processes: more than 131072 processes");
}

/* Mutated answers (bytes changed, cut short) under every form: no crash, always
 * the header first (the ASan build runs this too). */
VC_TEST(mutated_answers)
{
	unsigned seed = 12345, formatted = 0;
	size_t len = strlen(answer);
	for (int round = 0; round < 3000; round++) {
		char buf[sizeof(answer)];
		memcpy(buf, answer, sizeof(answer));
		for (int k = 0; k < 1 + round % 4; k++) {
			seed = seed * 1103515245 + 12345;
			size_t at = (seed >> 8) % len;
			static const char subst[] = "0123456789-\"{}[],:9e";
			buf[at] = subst[(seed >> 20) % (sizeof(subst) - 1)];
		}
		if (round % 7 == 0)
			buf[(seed >> 4) % len] = '\0';
		_cleanup_json_ struct vc_json *a = NULL;
		struct vc_error err = {0};
		if (vc_json_parse(buf, strlen(buf), "answer", &a, &err) < 0)
			continue;
		for (size_t i = 0; i < VC_ARRAY_SIZE(forms); i++) {
			__attribute__((cleanup(vc_ps_format_freep))) struct vc_ps_format *f = NULL;
			_cleanup_free_ char *t = NULL;
			CHECK(vc_ps_format_parse(forms[i].args, &f, &err) == 0);
			CHECK(vc_ps_format_table(f, a, &t, &err) == 0);
			CHECK(!strncmp(t, forms[i].head, strlen(forms[i].head)));
			formatted++;
		}
	}
	CHECK(formatted > 1000);
}

/* The headers above are procps' own: the host's ps prints each first. */
VC_TEST(headers_as_procps)
{
	for (size_t i = 0; i < VC_ARRAY_SIZE(forms); i++) {
		char *argv[7] = {"ps"};
		for (size_t k = 0; forms[i].args[k]; k++)
			argv[k + 1] = forms[i].args[k];
		_cleanup_free_ char *out = vc_unit_run_out(argv);
		CHECK(out != NULL);
		char *nl = strchr(out, '\n');
		CHECK(nl != NULL);
		nl[1] = '\0';
		CHECK_STR(out, forms[i].head);
	}
}

/* The agent's facts about this process, formatted here, against procps itself. */
VC_TEST(same_as_procps)
{
	struct vc_error err = {0};
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	pid_t self = getpid();
	vc_jgen_object_open(g);
	CHECK(agent_procinfo(g, &self, 1, false, &err) == 0);
	vc_jgen_object_close(g);
	_cleanup_free_ char *json = NULL;
	CHECK(vc_jgen_finish(g, &json, NULL, &err) == 0);
	char pidarg[16];
	snprintf(pidarg, sizeof(pidarg), "%d", (int)self);
	/* not the state: this process runs while it reads its own stat */
	static char *const lists[] = {
		"pid,tid,lwp,ppid,pgid,pgrp,sid,sess,session,uid,euid,user,euser,uname,comm,ucmd,"
		"ucomm,args,cmd,tty,tt,tname,nlwp,thcount,ni,nice,command",
		"user,pid,comm,tty"};
	for (size_t i = 0; i < VC_ARRAY_SIZE(lists); i++) {
		char *ps_argv[] = {"ps", "-o", lists[i], "-p", pidarg, NULL};
		_cleanup_free_ char *want = vc_unit_run_out(ps_argv);
		CHECK(want != NULL);
		char *args[] = {"-o", lists[i], NULL};
		_cleanup_free_ char *got = NULL;
		CHECK(table_for(args, json, &got, &err) == 0);
		CHECK_STR(got, want);
	}
}

VC_TESTS(VC_T(options_known_and_refused), VC_T(table_cells), VC_T(untrusted_answers),
	 VC_T(mutated_answers), VC_T(headers_as_procps), VC_T(same_as_procps))
