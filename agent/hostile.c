/* A hostile agent, for tests only (tests/integration/52-hostile-guest.bats): the
 * host must survive a guest that speaks for the agent and lies. The guest kernel's
 * command line picks the misbehaviour (the host's config `kernel_params`):
 *   vcrun.hostile=MODE       oversized, truncated, unknown, flood, unsolicited,
 *                            lies, silent
 *   vcrun.hostile_at=METHOD  the request at which it starts (each mode has a
 *                            default); before it the agent is honest
 *   vcrun.hostile_pid=N      the pid `lies` answers with (a host pid, say)
 *   vcrun.hostile_bytes=N    how much `flood` sends (default 256 MiB)
 * The mode gives a guest nothing it does not have already (a guest that owns its
 * kernel can write anything on the channel), so it is built into every agent; no
 * host path turns it on but the config a test writes.
 *
 * Three hooks in server.c reach it: every request (agent_hostile_request), every
 * frame queued for the host (agent_hostile_outgoing) and every turn of the poll
 * loop (agent_hostile_tick). */
#include "agent/agent.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"

enum hostile_mode {
	H_OFF,
	H_OVERSIZED,
	H_TRUNCATED,
	H_UNKNOWN,
	H_FLOOD,
	H_UNSOLICITED,
	H_LIES,
	H_SILENT,
};

static const struct {
	const char *name;
	const char *default_at; /* the first request it misbehaves on; NULL: all */
} modes[] = {
	[H_OVERSIZED] = {"oversized", VC_M_START_CONTAINER},
	[H_TRUNCATED] = {"truncated", VC_M_START_CONTAINER},
	[H_UNKNOWN] = {"unknown", NULL},
	[H_FLOOD] = {"flood", VC_M_START_CONTAINER},
	[H_UNSOLICITED] = {"unsolicited", NULL},
	[H_LIES] = {"lies", NULL},
	[H_SILENT] = {"silent", VC_M_CREATE_SANDBOX},
};

/* Ids the host's requests never reach (they count up from 1). */
#define ALIEN_ID_BASE 0x40000000u
#define RECENT_IDS    64

static struct {
	enum hostile_mode mode;
	char at[64];
	long pid;
	unsigned long long flood_left;
	bool started; /* the `at` request came */
	bool muted;   /* truncated, silent: nothing more goes out */
	bool in_hook; /* our own frames pass agent_hostile_outgoing untouched */
	uint32_t flood_stream;
	unsigned long long n;
	struct {
		uint32_t id;
		char method[64];
	} recent[RECENT_IDS];
	size_t next_recent;
} h = {.pid = 1, .flood_left = 256ull << 20};

bool agent_hostile_cmdline(const char *w)
{
	if (!strncmp(w, "vcrun.hostile=", 14)) {
		for (size_t i = 1; i < VC_ARRAY_SIZE(modes); i++)
			if (!strcmp(w + 14, modes[i].name))
				h.mode = (enum hostile_mode)i;
		if (h.mode == H_OFF)
			agent_warn("%s: not a hostile mode", w);
		else
			agent_warn("HOSTILE AGENT (%s): for tests only", w);
		return true;
	}
	if (!strncmp(w, "vcrun.hostile_at=", 17)) {
		snprintf(h.at, sizeof(h.at), "%s", w + 17);
		return true;
	}
	if (!strncmp(w, "vcrun.hostile_pid=", 18)) {
		h.pid = strtol(w + 18, NULL, 10);
		return true;
	}
	if (!strncmp(w, "vcrun.hostile_bytes=", 20)) {
		h.flood_left = strtoull(w + 20, NULL, 10);
		return true;
	}
	return false;
}

static uint32_t alien_id(void)
{
	return ALIEN_ID_BASE + (uint32_t)(random() % 0x3fffffff);
}

static int queue(struct agent *a, uint16_t type, uint16_t flags, uint32_t id, const void *body,
		 size_t len)
{
	h.in_hook = true;
	int r = agent_queue_frame(a, type, flags, id, body, len);
	h.in_hook = false;
	return r;
}

static int queue_str(struct agent *a, uint16_t type, uint32_t id, const char *s)
{
	return queue(a, type, 0, id, s, strlen(s));
}

/* Bytes no frame encoder would write (a bad length, half a frame): straight onto
 * the channel after what is queued, waiting for room. */
static void write_raw(struct agent *a, const void *buf, size_t len)
{
	agent_flush(a, 5000);
	const uint8_t *p = buf;
	while (len > 0 && a->chan >= 0) {
		ssize_t n = write(a->chan, p, len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pfd = {.fd = a->chan, .events = POLLOUT};
			if (poll(&pfd, 1, 5000) <= 0)
				return;
			continue;
		}
		if (n < 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void oversized(struct agent *a)
{
	size_t len = 64 << 10;
	_cleanup_free_ uint8_t *buf = malloc(VC_PROTO_HDR_LEN + len);
	if (!buf)
		return;
	/* a RESPONSE that claims 4 GiB: more than any buffer should ever grow to */
	vc_frame_header_encode(buf, VC_FRAME_RESPONSE, 0, 1, 0xfffffff0u);
	for (size_t i = 0; i < len; i++)
		buf[VC_PROTO_HDR_LEN + i] = (uint8_t)random();
	write_raw(a, buf, VC_PROTO_HDR_LEN + len);
}

static void truncated(struct agent *a, uint32_t id)
{
	static const char body[] = "{\"result\": {\"this frame never ends\": \"";
	uint8_t buf[VC_PROTO_HDR_LEN + sizeof(body)];
	vc_frame_header_encode(buf, VC_FRAME_RESPONSE, 0, id, 4096);
	memcpy(buf + VC_PROTO_HDR_LEN, body, sizeof(body) - 1);
	write_raw(a, buf, VC_PROTO_HDR_LEN + sizeof(body) - 1);
	h.muted = true;
}

/* Noise of every kind the host should shrug off: requests from the guest (with
 * unknown methods), answers to nothing, output of streams that do not exist. */
static void noise(struct agent *a)
{
	char body[160];
	snprintf(body, sizeof(body), "{\"method\": \"NoSuchMethod%llu\", \"params\": {}}", h.n++);
	queue_str(a, VC_FRAME_REQUEST, alien_id(), body);
	queue_str(a, VC_FRAME_RESPONSE, alien_id(), "{\"result\": {\"who\": \"asked?\"}}");
	queue_str(a, VC_FRAME_RESPONSE, alien_id(),
		  "{\"error\": {\"code\": 5, \"message\": \"x\"}}");
	queue_str(a, VC_FRAME_STDOUT, alien_id(), "output of nobody\n");
	queue(a, VC_FRAME_STDERR, VC_FRAME_F_EOF, alien_id(), NULL, 0);
}

static void remember(uint32_t id, const char *method)
{
	h.recent[h.next_recent].id = id;
	snprintf(h.recent[h.next_recent].method, sizeof(h.recent[0].method), "%s", method);
	h.next_recent = (h.next_recent + 1) % RECENT_IDS;
}

static const char *method_of(uint32_t id)
{
	for (size_t i = 0; i < RECENT_IDS; i++)
		if (h.recent[i].id == id && h.recent[i].method[0])
			return h.recent[i].method;
	return "";
}

bool agent_hostile_request(struct agent *a, uint32_t id, const void *body, size_t len)
{
	if (h.mode == H_OFF)
		return false;
	_cleanup_free_ char *method = NULL;
	_cleanup_json_ struct vc_json *params = NULL;
	if (vc_proto_request_decode(body, len, &method, &params, NULL) < 0)
		return false;
	remember(id, method);
	/* `unknown` is noisy from the start; its `at` is where the noise turns fatal */
	const char *at = h.at[0] && h.mode != H_UNKNOWN ? h.at : modes[h.mode].default_at;
	if (!h.started && (!at || !strcmp(method, at))) {
		h.started = true;
		agent_warn("hostile (%s): starting at %s", modes[h.mode].name, method);
	}
	if (h.muted)
		return true; /* silence: the request is never answered */
	if (!h.started)
		return false;
	switch (h.mode) {
	case H_OVERSIZED:
		oversized(a);
		return true;
	case H_TRUNCATED:
		truncated(a, id);
		return true;
	case H_SILENT:
		h.muted = true;
		return true;
	case H_UNKNOWN:
		noise(a);
		/* at the `at` request, if named: a frame type no protocol version has,
		 * which ends the channel */
		if (h.at[0] && !strcmp(method, h.at)) {
			queue_str(a, 0x7777, id, "{}");
			return true;
		}
		return false;
	case H_FLOOD:
		agent_handle_request(a, id, body, len);
		if (!h.flood_stream)
			for (struct agent_container *c = a->containers; c; c = c->next)
				if (c->init)
					h.flood_stream = c->init->stream_id;
		return true;
	default:
		return false;
	}
}

static char *huge_string(size_t n)
{
	char *s = malloc(n + 1);
	if (s) {
		memset(s, 'A', n);
		s[n] = '\0';
	}
	return s;
}

/* The lie told in place of an honest answer to method; NULL: tell the truth. */
static char *lie_for(const char *method)
{
	if (!strcmp(method, VC_M_CREATE_CONTAINER))
		return vc_strdup_printf("{\"result\": {\"pid\": %ld}}", h.pid);
	if (!strcmp(method, VC_M_EXEC_PROCESS))
		return vc_strdup_printf("{\"result\": {\"pid\": -%ld}}", h.pid);
	if (!strcmp(method, VC_M_WAIT_PROCESS))
		return strdup("{\"result\": {\"exit_code\": 4242, \"signal\": 999}}");
	if (!strcmp(method, VC_M_LIST_PROCESSES)) {
		/* pids out of range, and entries no /proc could hold: fields too long,
		 * negative, huge, of the wrong type */
		_cleanup_free_ char *s = huge_string(1u << 20);
		return s ? vc_strdup_printf(
				   "{\"result\": {\"pids\": [1, %ld, 0, -7, 2147483647, "
				   "99999999999], \"clock\": {\"hz\": 0, \"boot_time\": -1}, "
				   "\"processes\": [{\"pid\": %ld, \"comm\": \"%s\", \"args\": "
				   "\"%s\"}, {\"pid\": 1, \"ppid\": 99999999999999999, "
				   "\"utime\": 1e300, \"nice\": -1000, \"threads\": -1, "
				   "\"start\": 18446744073709551615, \"state\": \"\\u0000\", "
				   "\"euser\": [\"root\"], \"rss_kb\": -5}, {\"pid\": -3}, 7]}}",
				   h.pid, h.pid, s, s)
			 : NULL;
	}
	if (!strcmp(method, VC_M_STATS_CONTAINER)) {
		/* numbers at the top of their range; an OOM kill count that leaps from 1
		 * to 2^64-1 (one event per kill, says `events`) */
		static unsigned calls;
		return vc_strdup_printf(
			"{\"result\": {\"cgroup_stats\": {\"memory\": {\"usage\": "
			"18446744073709551615, \"limit\": 18446744073709551615, \"oom_kill\": %s}, "
			"\"cpu\": {\"usage_usec\": 18446744073709551615, \"user_usec\": 0, "
			"\"system_usec\": 18446744073709551615}, \"pids\": {\"current\": "
			"18446744073709551615, \"limit\": 0}}}}",
			calls++ ? "18446744073709551615" : "1");
	}
	if (!strcmp(method, VC_M_GET_GUEST_DETAILS)) {
		_cleanup_free_ char *s = huge_string(3u << 20);
		return s ? vc_strdup_printf("{\"result\": {\"kernel_release\": \"%s\", "
					    "\"agent_version\": \"%s\"}}",
					    s, s)
			 : NULL;
	}
	return NULL;
}

bool agent_hostile_outgoing(struct agent *a, uint16_t type, uint16_t flags, uint32_t id,
			    const void *body, size_t len)
{
	if (h.mode == H_OFF || h.in_hook)
		return false;
	if (h.muted)
		return true;
	if (!h.started || type != VC_FRAME_RESPONSE)
		return false;
	switch (h.mode) {
	case H_UNSOLICITED: {
		/* an answer to a request never sent, the true one, then the same again */
		char lie[96];
		snprintf(lie, sizeof(lie), "{\"result\": {\"pid\": %ld}}", h.pid);
		queue_str(a, VC_FRAME_RESPONSE, alien_id(), lie);
		queue(a, type, flags, id, body, len);
		queue(a, type, flags, id, body, len);
		queue_str(a, VC_FRAME_RESPONSE, id,
			  "{\"error\": {\"code\": 1, \"message\": "
			  "\"a second answer\"}}");
		return true;
	}
	case H_LIES: {
		_cleanup_free_ char *lie = lie_for(method_of(id));
		if (!lie)
			return false;
		agent_warn("hostile: answering %s %u with a lie", method_of(id), id);
		queue(a, type, flags, id, lie, strlen(lie));
		return true;
	}
	case H_UNKNOWN:
		noise(a);
		return false;
	default:
		return false;
	}
}

void agent_hostile_tick(struct agent *a)
{
	if (h.mode != H_FLOOD || !h.started || !h.flood_stream || !h.flood_left)
		return;
	static char chunk[VC_PROTO_STREAM_CHUNK];
	if (!chunk[0])
		memset(chunk, 'x', sizeof(chunk));
	/* Past the queue's high-water mark the honest agent stops reading output; this
	 * one goes on to twice that, then lets the channel drain (the guest's memory
	 * is not what is tested). */
	while (h.flood_left && a->out_bytes < (2u << 20)) {
		size_t n = h.flood_left < sizeof(chunk) ? (size_t)h.flood_left : sizeof(chunk);
		queue(a, VC_FRAME_STDOUT, 0, h.flood_stream, chunk, n);
		h.flood_left -= n;
		if (++h.n % 16 == 0)
			noise(a);
	}
	if (!h.flood_left)
		agent_warn("hostile: flood sent");
}
