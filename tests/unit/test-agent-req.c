/* The host's typed requests to the agent (agent-proto/agent-req.h): every request
 * round trip with the exact wire form the host always sent, each validation rule
 * refused by the decoder and by the encoder with the method and field named,
 * hostile bodies (huge numbers, wrong types, long strings, huge arrays), the live
 * agent (the harness of test-agent.c) served by the encoders, and the fuzz entry
 * driven with deterministic inputs. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent-proto/agent-msg.h"
#include "agent-proto/agent-req.h"
#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "tests/unit/test-agent-harness.h"

#include "tests/unit/unit-fuzz.h"
#include "tests/fuzz/fuzz-agent-req.c"

static struct vc_json *parse(const char *text)
{
	struct vc_json *j = NULL;
	return vc_json_parse(text, strlen(text), "test", &j, NULL) == 0 ? j : NULL;
}

/* Encodes (k, m): the body must be want; it decodes back to kind k and encodes to
 * the same bytes again. */
static int round_trip(enum vc_agent_req k, const void *m, const char *want)
{
	_cleanup_free_ char *body = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	struct vc_error err = {0};
	if (vc_agent_req_encode(k, m, &body, &len, &err) < 0) {
		fprintf(stderr, "# encode %s: %s\n", vc_agent_req_name(k), err.msg);
		return 0;
	}
	if (want && strcmp(body, want)) {
		fprintf(stderr, "# %s\n#   != %s\n", body, want);
		return 0;
	}
	__attribute__((cleanup(vc_agent_request_release))) struct vc_agent_request rq;
	if (vc_agent_request_decode(body, len, &rq, &err) < 0 || rq.kind != k ||
	    vc_agent_req_encode(rq.kind, &rq.u, &again, &len2, &err) < 0) {
		fprintf(stderr, "# decode %s: %s\n", body, err.msg);
		return 0;
	}
	return len == len2 && !memcmp(body, again, len);
}

/* The body must be refused with code and a message containing want, rq zeroed. */
static int refused(const char *body, int code, const char *want)
{
	struct vc_agent_request rq;
	struct vc_error err = {0};
	memset(&rq, 0x5a, sizeof(rq));
	int r = vc_agent_request_decode(body, strlen(body), &rq, &err);
	if (r != -code || err.code != code || !strstr(err.msg, want)) {
		fprintf(stderr, "# %.200s\n#   -> %d `%s` (want %d `%s`)\n", body, r, err.msg,
			-code, want);
		return 0;
	}
	return fuzz_req_all_zero(&rq, sizeof(rq));
}

/* The encoder refuses (k, m) with EINVAL and a message containing want. */
static int encode_refused(enum vc_agent_req k, const void *m, const char *want)
{
	char *body = NULL;
	size_t len = 0;
	struct vc_error err = {0};
	int r = vc_agent_req_encode(k, m, &body, &len, &err);
	free(body);
	if (r != -EINVAL || !strstr(err.msg, want)) {
		fprintf(stderr, "# encode %s -> %d `%s` (want `%s`)\n", vc_agent_req_name(k), r,
			err.msg, want);
		return 0;
	}
	return 1;
}

VC_TEST(names_and_kinds)
{
	for (int k = 0; k < VC_AR_N; k++) {
		const char *name = vc_agent_req_name((enum vc_agent_req)k);
		CHECK(name && vc_agent_req_kind(name) == k);
	}
	CHECK(vc_agent_req_name(VC_AR_N) == NULL);
	CHECK(vc_agent_req_kind("NoSuchMethod") == -ENOSYS);
	CHECK(vc_agent_req_kind(NULL) == -ENOSYS);
	CHECK_STR(vc_agent_req_name(VC_AR_TTY_WIN_RESIZE), VC_M_TTY_WIN_RESIZE);
	CHECK(refused("{\"method\":\"NoSuchMethod\",\"params\":{}}", ENOSYS,
		      "unknown method `NoSuchMethod`"));
}

/* The bodies the host sent before the requests were typed, byte for byte where the
 * order was the same: the agent of an older image reads what the new host sends. */
VC_TEST(round_trips)
{
	_cleanup_json_ struct vc_json *spec = parse("{\"ociVersion\":\"1.2.0\"}");
	_cleanup_json_ struct vc_json *storages =
		parse("[{\"source\":\"s\",\"fstype\":\"virtiofs\",\"mount_point\":\"/run/s\"}]");
	_cleanup_json_ struct vc_json *process = parse("{\"args\":[\"sh\"],\"cwd\":\"/\"}");
	_cleanup_json_ struct vc_json *res = parse("{\"pids\":{\"limit\":5}}");
	_cleanup_json_ struct vc_json *addrs = parse("[{\"address\":\"10.0.0.2\",\"prefix\":8}]");
	_cleanup_json_ struct vc_json *routes =
		parse("[{\"dest\":\"default\",\"device\":\"eth0\"}]");
	_cleanup_json_ struct vc_json *neighs = parse(
		"[{\"address\":\"10.0.0.9\",\"mac\":\"02:00:00:00:00:09\",\"device\":\"eth0\"}]");
	CHECK(spec && storages && process && res && addrs && routes && neighs);

	CHECK(round_trip(VC_AR_CHECK, &(struct vc_areq_check){1},
			 "{\"method\":\"Check\",\"params\":{\"version\":1}}"));
	CHECK(round_trip(VC_AR_GET_GUEST_DETAILS, NULL,
			 "{\"method\":\"GetGuestDetails\",\"params\":{}}"));
	CHECK(round_trip(VC_AR_DESTROY_SANDBOX, NULL,
			 "{\"method\":\"DestroySandbox\",\"params\":{}}"));
	CHECK(round_trip(VC_AR_CREATE_SANDBOX, &(struct vc_areq_create_sandbox){.sandbox_id = "sb"},
			 "{\"method\":\"CreateSandbox\",\"params\":{\"sandbox_id\":\"sb\"}}"));
	CHECK(round_trip(VC_AR_CREATE_SANDBOX,
			 &(struct vc_areq_create_sandbox){"sb", "host", storages}, NULL));
	CHECK(round_trip(VC_AR_CREATE_CONTAINER,
			 &(struct vc_areq_create_container){"c1", 1, true, storages, spec, NULL},
			 "{\"method\":\"CreateContainer\",\"params\":{\"container_id\":\"c1\","
			 "\"stream_id\":1,\"stdin\":true,\"storages\":[{\"source\":\"s\","
			 "\"fstype\":\"virtiofs\",\"mount_point\":\"/run/s\"}],"
			 "\"spec\":{\"ociVersion\":\"1.2.0\"}}}"));
	static const enum vc_agent_req by_id[] = {VC_AR_START_CONTAINER, VC_AR_REMOVE_CONTAINER,
						  VC_AR_PAUSE_CONTAINER, VC_AR_RESUME_CONTAINER,
						  VC_AR_STATS_CONTAINER};
	for (size_t i = 0; i < VC_ARRAY_SIZE(by_id); i++) {
		char want[128];
		snprintf(want, sizeof(want),
			 "{\"method\":\"%s\",\"params\":{\"container_id\":\"c1\"}}",
			 vc_agent_req_name(by_id[i]));
		CHECK(round_trip(by_id[i], &(struct vc_areq_container){"c1"}, want));
	}
	CHECK(round_trip(VC_AR_EXEC_PROCESS,
			 &(struct vc_areq_exec_process){"c1", "exec-3", 3, true, process},
			 "{\"method\":\"ExecProcess\",\"params\":{\"container_id\":\"c1\","
			 "\"exec_id\":\"exec-3\",\"stream_id\":3,\"stdin\":true,"
			 "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"}}}"));
	CHECK(round_trip(VC_AR_SIGNAL_PROCESS,
			 &(struct vc_areq_signal_process){"c1", NULL, 9, true},
			 "{\"method\":\"SignalProcess\",\"params\":{\"container_id\":\"c1\","
			 "\"signal\":9,\"all\":true}}"));
	/* a flag at its default is left out */
	CHECK(round_trip(VC_AR_SIGNAL_PROCESS,
			 &(struct vc_areq_signal_process){"c1", "exec-3", 15, false},
			 "{\"method\":\"SignalProcess\",\"params\":{\"container_id\":\"c1\","
			 "\"exec_id\":\"exec-3\",\"signal\":15}}"));
	CHECK(round_trip(VC_AR_WAIT_PROCESS, &(struct vc_areq_process){"c1", "exec-3"},
			 "{\"method\":\"WaitProcess\",\"params\":{\"container_id\":\"c1\","
			 "\"exec_id\":\"exec-3\"}}"));
	CHECK(round_trip(VC_AR_TTY_WIN_RESIZE,
			 &(struct vc_areq_tty_win_resize){"c1", NULL, 0, 65535},
			 "{\"method\":\"TtyWinResize\",\"params\":{\"container_id\":\"c1\","
			 "\"rows\":0,\"cols\":65535}}"));
	CHECK(round_trip(VC_AR_LIST_PROCESSES, &(struct vc_areq_list_processes){"c1", true, true},
			 "{\"method\":\"ListProcesses\",\"params\":{\"container_id\":\"c1\","
			 "\"details\":true,\"environ\":true}}"));
	CHECK(round_trip(VC_AR_UPDATE_CONTAINER, &(struct vc_areq_update_container){"c1", res},
			 "{\"method\":\"UpdateContainer\",\"params\":{\"container_id\":\"c1\","
			 "\"resources\":{\"pids\":{\"limit\":5}}}}"));
	CHECK(round_trip(
		VC_AR_UPDATE_INTERFACE,
		&(struct vc_areq_update_interface){"02:00:00:00:00:01", "eth0", 1500, 0, true,
						   addrs},
		"{\"method\":\"UpdateInterface\",\"params\":{\"mac\":\"02:00:00:00:00:01\","
		"\"name\":\"eth0\",\"mtu\":1500,\"up\":true,\"addresses\":[{\"address\":"
		"\"10.0.0.2\",\"prefix\":8}]}}"));
	/* up is written even when false: absent reads as true */
	CHECK(round_trip(
		VC_AR_UPDATE_INTERFACE,
		&(struct vc_areq_update_interface){.mac = "02:00:00:00:00:01", .wait_ms = 30000},
		"{\"method\":\"UpdateInterface\",\"params\":{\"mac\":\"02:00:00:00:00:01\","
		"\"wait_ms\":30000,\"up\":false}}"));
	CHECK(round_trip(VC_AR_UPDATE_ROUTES, &(struct vc_areq_update_routes){routes},
			 "{\"method\":\"UpdateRoutes\",\"params\":{\"routes\":[{\"dest\":"
			 "\"default\",\"device\":\"eth0\"}]}}"));
	CHECK(round_trip(VC_AR_ADD_ARP_NEIGHBORS, &(struct vc_areq_add_arp_neighbors){neighs},
			 NULL));
	CHECK(round_trip(VC_AR_START_DNS_RELAY, &(struct vc_areq_start_dns_relay){"127.0.0.11"},
			 "{\"method\":\"StartDNSRelay\",\"params\":{\"address\":\"127.0.0.11\"}}"));
	CHECK(round_trip(VC_AR_ONLINE_CPUS, &(struct vc_areq_online_cpus){4, 5000},
			 "{\"method\":\"OnlineCPUs\",\"params\":{\"count\":4,\"wait_ms\":5000}}"));
}

VC_TEST(decode_defaults)
{
	__attribute__((cleanup(vc_agent_request_release))) struct vc_agent_request rq;
	struct vc_error err = {0};
	/* absent: up is true, flags false, optional ids NULL; unknown fields ignored;
	 * params left out is {} */
	const char *b = "{\"method\":\"UpdateInterface\",\"params\":{\"mac\":\"02:00:00:00:00:01\","
			"\"future\":[1,2],\"name\":null}}";
	CHECK(vc_agent_request_decode(b, strlen(b), &rq, &err) == 0);
	CHECK(rq.kind == VC_AR_UPDATE_INTERFACE && rq.u.iface.up && !rq.u.iface.name);
	CHECK(rq.u.iface.mtu == 0 && rq.u.iface.wait_ms == 0 && !rq.u.iface.addresses);
	CHECK_STR(rq.u.iface.mac, "02:00:00:00:00:01");
	vc_agent_request_release(&rq);
	b = "{\"method\":\"WaitProcess\",\"params\":{\"container_id\":\"c\",\"exec_id\":null}}";
	CHECK(vc_agent_request_decode(b, strlen(b), &rq, &err) == 0);
	CHECK(rq.kind == VC_AR_WAIT_PROCESS && !rq.u.process.exec_id);
	vc_agent_request_release(&rq);
	b = "{\"method\":\"GetGuestDetails\"}";
	CHECK(vc_agent_request_decode(b, strlen(b), &rq, &err) == 0);
	CHECK(rq.kind == VC_AR_GET_GUEST_DETAILS);
	/* the per-kind decoder on params already split */
	_cleanup_json_ struct vc_json *p = parse("{\"container_id\":\"x\",\"signal\":2}");
	struct vc_areq_signal_process sp;
	CHECK(vc_agent_req_params_decode(VC_AR_SIGNAL_PROCESS, p, &sp, &err) == 0);
	CHECK(sp.signal == 2 && !sp.all && !sp.exec_id);
	CHECK_STR(sp.container_id, "x");
}

/* Each rule, failing, names the method and the field. */
VC_TEST(decode_refuses)
{
#define REQ(m, p) "{\"method\":\"" m "\",\"params\":" p "}"
	static const struct {
		const char *body, *want;
	} cases[] = {
		{REQ("Check", "{}"), "Check: params.version is required"},
		{REQ("Check", "{\"version\":-1}"),
		 "Check: params.version: must be an integer from 0"},
		{REQ("Check", "{\"version\":4294967296}"), "params.version: must be an integer"},
		{REQ("Check", "{\"version\":1.5}"), "params.version: must be an integer"},
		{REQ("Check", "{\"version\":\"1\"}"), "params.version: must be an integer"},
		{REQ("CreateSandbox", "{}"), "CreateSandbox: params.sandbox_id is required"},
		{REQ("CreateSandbox", "{\"sandbox_id\":\"../x\"}"),
		 "CreateSandbox: params.sandbox_id: invalid container id `../x`"},
		{REQ("CreateSandbox", "{\"sandbox_id\":\"a\",\"hostname\":5}"),
		 "CreateSandbox: params.hostname: must be a string, not number"},
		{REQ("CreateSandbox", "{\"sandbox_id\":\"a\",\"hostname\":\"a\\u0000b\"}"),
		 "params.hostname: must not contain a NUL byte"},
		{REQ("CreateSandbox", "{\"sandbox_id\":\"a\",\"storages\":{}}"),
		 "CreateSandbox: params.storages: must be an array, not object"},
		{REQ("CreateContainer", "{\"container_id\":\"c\",\"stream_id\":1,\"storages\":[],"
					"\"spec\":[]}"),
		 "CreateContainer: params.spec: must be an object, not array"},
		{REQ("CreateContainer", "{\"container_id\":\"c\",\"stream_id\":1,\"storages\":[]}"),
		 "CreateContainer: params.spec is required"},
		{REQ("CreateContainer", "{\"container_id\":\"c\",\"stream_id\":0,\"storages\":[],"
					"\"spec\":{}}"),
		 "CreateContainer: params.stream_id: must be an integer from 1 to 4294967295"},
		{REQ("CreateContainer", "{\"container_id\":\"c\",\"stream_id\":1,\"storages\":[1],"
					"\"spec\":{}}"),
		 "CreateContainer: params.storages[0]: must be an object, not number"},
		{REQ("CreateContainer", "{\"container_id\":\"c\",\"stream_id\":1,\"storages\":[],"
					"\"spec\":{},\"stdin\":\"yes\"}"),
		 "CreateContainer: params.stdin: must be a boolean, not string"},
		{REQ("CreateContainer", "{\"container_id\":\"a/b\",\"stream_id\":1,\"storages\":[],"
					"\"spec\":{}}"),
		 "CreateContainer: params.container_id: invalid container id `a/b`"},
		{REQ("CreateContainer", "{\"container_id\":\"\",\"stream_id\":1,\"storages\":[],"
					"\"spec\":{}}"),
		 "params.container_id: container id cannot be empty"},
		{REQ("StartContainer", "{}"), "StartContainer: params.container_id is required"},
		{REQ("StartContainer", "{\"container_id\":5}"),
		 "StartContainer: params.container_id: must be a string, not number"},
		{REQ("StatsContainer", "{\"container_id\":\"..\"}"),
		 "StatsContainer: params.container_id: invalid container id"},
		{REQ("ExecProcess", "{\"container_id\":\"c\",\"stream_id\":2,\"process\":{}}"),
		 "ExecProcess: params.exec_id is required"},
		{REQ("ExecProcess", "{\"container_id\":\"c\",\"exec_id\":\"e\",\"stream_id\":2,"
				    "\"process\":\"sh\"}"),
		 "ExecProcess: params.process: must be an object, not string"},
		{REQ("SignalProcess", "{\"container_id\":\"c\",\"signal\":0}"),
		 "SignalProcess: params.signal: must be an integer from 1 to 64"},
		{REQ("SignalProcess", "{\"container_id\":\"c\",\"signal\":65}"),
		 "SignalProcess: params.signal: must be an integer from 1 to 64"},
		{REQ("SignalProcess", "{\"container_id\":\"c\",\"signal\":\"KILL\"}"),
		 "SignalProcess: params.signal: must be an integer from 1 to 64"},
		{REQ("SignalProcess", "{\"container_id\":\"c\",\"signal\":9,\"all\":1}"),
		 "SignalProcess: params.all: must be a boolean, not number"},
		{REQ("SignalProcess", "{\"container_id\":\"c\",\"exec_id\":\"\",\"signal\":9}"),
		 "SignalProcess: params.exec_id: container id cannot be empty"},
		{REQ("WaitProcess", "{\"container_id\":\"c\",\"exec_id\":\"a b\"}"),
		 "WaitProcess: params.exec_id: invalid container id"},
		{REQ("TtyWinResize", "{\"container_id\":\"c\",\"rows\":65536,\"cols\":1}"),
		 "TtyWinResize: params.rows: must be an integer from 0 to 65535"},
		{REQ("TtyWinResize", "{\"container_id\":\"c\",\"rows\":1}"),
		 "TtyWinResize: params.cols is required"},
		{REQ("ListProcesses", "{\"container_id\":\"c\",\"details\":\"yes\"}"),
		 "ListProcesses: params.details: must be a boolean, not string"},
		{REQ("UpdateContainer", "{\"container_id\":\"c\"}"),
		 "UpdateContainer: params.resources is required"},
		{REQ("UpdateContainer", "{\"container_id\":\"c\",\"resources\":[]}"),
		 "UpdateContainer: params.resources: must be an object, not array"},
		{REQ("UpdateInterface", "{}"), "UpdateInterface: params.mac is required"},
		{REQ("UpdateInterface", "{\"mac\":\"02:00:00:00:00:0g\"}"),
		 "UpdateInterface: params.mac: `02:00:00:00:00:0g` is not a MAC address"},
		{REQ("UpdateInterface", "{\"mac\":\"02:00:00:00:00: 1\"}"),
		 "UpdateInterface: params.mac: `02:00:00:00:00: 1` is not a MAC address"},
		{REQ("UpdateInterface", "{\"mac\":\"02:00:00:00:00:01\",\"name\":\"a/b\"}"),
		 "UpdateInterface: params.name: `a/b` is not an interface name"},
		{REQ("UpdateInterface",
		     "{\"mac\":\"02:00:00:00:00:01\",\"name\":\"0123456789abcdef\"}"),
		 "UpdateInterface: params.name: `0123456789abcdef` is not an interface name"},
		{REQ("UpdateInterface", "{\"mac\":\"02:00:00:00:00:01\",\"mtu\":67}"),
		 "UpdateInterface: params.mtu: must be an integer from 68 to 65535"},
		{REQ("UpdateInterface", "{\"mac\":\"02:00:00:00:00:01\",\"mtu\":0}"),
		 "UpdateInterface: params.mtu: must be an integer from 68 to 65535"},
		{REQ("UpdateInterface", "{\"mac\":\"02:00:00:00:00:01\",\"wait_ms\":30001}"),
		 "UpdateInterface: params.wait_ms: must be an integer from 0 to 30000"},
		{REQ("UpdateInterface", "{\"mac\":\"02:00:00:00:00:01\",\"up\":\"yes\"}"),
		 "UpdateInterface: params.up: must be a boolean, not string"},
		{REQ("UpdateInterface", "{\"mac\":\"02:00:00:00:00:01\",\"addresses\":[{},5]}"),
		 "UpdateInterface: params.addresses[1]: must be an object, not number"},
		{REQ("UpdateRoutes", "{}"), "UpdateRoutes: params.routes is required"},
		{REQ("UpdateRoutes", "{\"routes\":{}}"),
		 "UpdateRoutes: params.routes: must be an array, not object"},
		{REQ("AddARPNeighbors", "{\"neighbors\":[[]]}"),
		 "AddARPNeighbors: params.neighbors[0]: must be an object, not array"},
		{REQ("StartDNSRelay", "{\"address\":\"::1\"}"),
		 "StartDNSRelay: params.address: `::1` is not an IPv4 address"},
		{REQ("StartDNSRelay", "{\"address\":\"127.0.0.1 \"}"),
		 "StartDNSRelay: params.address: `127.0.0.1 ` is not an IPv4 address"},
		{REQ("OnlineCPUs", "{\"count\":0}"),
		 "OnlineCPUs: params.count: must be an integer from 1 to 4096"},
		{REQ("OnlineCPUs", "{\"count\":4097}"),
		 "OnlineCPUs: params.count: must be an integer from 1 to 4096"},
		{REQ("OnlineCPUs", "{\"count\":1,\"wait_ms\":-5}"),
		 "OnlineCPUs: params.wait_ms: must be an integer from 0 to 30000"},
		{"{\"method\":\"Check\",\"params\":[1]}",
		 "Check: params: must be an object, not array"},
		{"{\"method\":7}", "request: method: must be a string"},
		{"[1]", "request: must be a JSON object"},
		{"{nope", "request"},
	};
#undef REQ
	for (size_t i = 0; i < VC_ARRAY_SIZE(cases); i++)
		CHECK(refused(cases[i].body, EINVAL, cases[i].want));
}

/* What the decoder refuses, the encoder refuses too, naming the same field. */
VC_TEST(encode_refuses)
{
	_cleanup_json_ struct vc_json *obj = parse("{}");
	_cleanup_json_ struct vc_json *arr = parse("[]");
	_cleanup_json_ struct vc_json *bad_items = parse("[1]");
	CHECK(obj && arr && bad_items);
	CHECK(encode_refused(VC_AR_CREATE_CONTAINER,
			     &(struct vc_areq_create_container){"c", 0, false, arr, obj, NULL},
			     "CreateContainer: params.stream_id: must be an integer from 1"));
	CHECK(encode_refused(VC_AR_CREATE_CONTAINER,
			     &(struct vc_areq_create_container){"c", 1, false, arr, NULL, NULL},
			     "CreateContainer: params.spec is required"));
	CHECK(encode_refused(VC_AR_CREATE_CONTAINER,
			     &(struct vc_areq_create_container){"c", 1, false, arr, arr, NULL},
			     "CreateContainer: params.spec: must be an object, not array"));
	CHECK(encode_refused(
		VC_AR_CREATE_CONTAINER,
		&(struct vc_areq_create_container){"c", 1, false, bad_items, obj, NULL},
		"CreateContainer: params.storages[0]: must be an object"));
	CHECK(encode_refused(VC_AR_START_CONTAINER, &(struct vc_areq_container){"a/b"},
			     "StartContainer: params.container_id: invalid container id"));
	CHECK(encode_refused(VC_AR_START_CONTAINER, &(struct vc_areq_container){NULL},
			     "StartContainer: params.container_id is required"));
	CHECK(encode_refused(VC_AR_START_CONTAINER, NULL, "StartContainer: no params given"));
	CHECK(encode_refused(VC_AR_SIGNAL_PROCESS,
			     &(struct vc_areq_signal_process){"c", NULL, NSIG, false},
			     "SignalProcess: params.signal: must be an integer from 1 to 64"));
	CHECK(encode_refused(VC_AR_SIGNAL_PROCESS,
			     &(struct vc_areq_signal_process){"c", "", 9, false},
			     "SignalProcess: params.exec_id: container id cannot be empty"));
	CHECK(encode_refused(VC_AR_TTY_WIN_RESIZE,
			     &(struct vc_areq_tty_win_resize){"c", NULL, 70000, 1},
			     "TtyWinResize: params.rows"));
	CHECK(encode_refused(VC_AR_UPDATE_CONTAINER, &(struct vc_areq_update_container){"c", NULL},
			     "UpdateContainer: params.resources is required"));
	CHECK(encode_refused(
		VC_AR_UPDATE_INTERFACE,
		&(struct vc_areq_update_interface){.mac = "02:00:00:00:00:01", .mtu = 10},
		"UpdateInterface: params.mtu: must be an integer from 68 to 65535"));
	CHECK(encode_refused(VC_AR_UPDATE_INTERFACE,
			     &(struct vc_areq_update_interface){.mac = "nope"},
			     "UpdateInterface: params.mac: `nope` is not a MAC address"));
	CHECK(encode_refused(
		VC_AR_UPDATE_INTERFACE,
		&(struct vc_areq_update_interface){.mac = "02:00:00:00:00:01", .name = ""},
		"UpdateInterface: params.name: `` is not an interface name"));
	CHECK(encode_refused(VC_AR_UPDATE_ROUTES, &(struct vc_areq_update_routes){obj},
			     "UpdateRoutes: params.routes: must be an array, not object"));
	CHECK(encode_refused(VC_AR_START_DNS_RELAY, &(struct vc_areq_start_dns_relay){"x"},
			     "StartDNSRelay: params.address: `x` is not an IPv4 address"));
	CHECK(encode_refused(VC_AR_ONLINE_CPUS, &(struct vc_areq_online_cpus){0, 0},
			     "OnlineCPUs: params.count: must be an integer from 1 to 4096"));
	CHECK(encode_refused(VC_AR_N, NULL, "unknown agent request"));
	/* a hostname at the bound passes, one byte more does not */
	char host[VC_AREQ_HOSTNAME_MAX + 2];
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	CHECK(encode_refused(VC_AR_CREATE_SANDBOX,
			     &(struct vc_areq_create_sandbox){"s", host, NULL},
			     "CreateSandbox: params.hostname: must be 64 bytes at most (got 65)"));
	host[VC_AREQ_HOSTNAME_MAX] = '\0';
	CHECK(round_trip(VC_AR_CREATE_SANDBOX, &(struct vc_areq_create_sandbox){"s", host, NULL},
			 NULL));
}

/* Bodies no host would send: bounded arrays, long strings, deep nesting. */
VC_TEST(decode_hostile)
{
	size_t n = VC_AREQ_ROUTES_MAX + 1;
	size_t cap = n * 3 + 128;
	_cleanup_free_ char *b = malloc(cap);
	CHECK(b);
	size_t len =
		(size_t)snprintf(b, cap, "{\"method\":\"UpdateRoutes\",\"params\":{\"routes\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(b + len, cap - len, "%s{}", i ? "," : "");
	len += (size_t)snprintf(b + len, cap - len, "]}}");
	CHECK(refused(b, EINVAL, "UpdateRoutes: params.routes: more than 1024 entries (1025)"));
	/* a 1 MiB container id */
	size_t big = 1 << 20;
	_cleanup_free_ char *id = malloc(big + 128);
	CHECK(id);
	len = (size_t)snprintf(id, big + 128,
			       "{\"method\":\"StartContainer\",\"params\":{\"container_id\":\"");
	memset(id + len, 'a', big);
	strcpy(id + len + big, "\"}}");
	CHECK(refused(id, EINVAL, "StartContainer: params.container_id: container id is longer"));
	/* a deeply nested spec is the spec parser's business; its outer type passes */
	_cleanup_free_ char *deep = malloc(4096);
	CHECK(deep);
	len = (size_t)snprintf(deep, 4096,
			       "{\"method\":\"UpdateContainer\",\"params\":{"
			       "\"container_id\":\"c\",\"resources\":");
	for (int i = 0; i < 200; i++)
		len += (size_t)snprintf(deep + len, 4096 - len, "{\"a\":");
	len += (size_t)snprintf(deep + len, 4096 - len, "1");
	for (int i = 0; i < 200; i++)
		deep[len++] = '}';
	len += (size_t)snprintf(deep + len, 4096 - len, "}}");
	struct vc_agent_request rq;
	struct vc_error err = {0};
	int r = vc_agent_request_decode(deep, len, &rq, &err);
	/* either the JSON parser's depth limit or a decoded object: never a crash */
	CHECK(r == 0 || r == -EINVAL);
	if (r == 0) {
		CHECK(rq.u.update.resources->type == VC_JSON_OBJECT);
		vc_agent_request_release(&rq);
	}
}

/* The live agent served by the encoders: what the monitor sends is what it takes. */
static char *send_req(struct harness *h, enum vc_agent_req k, const void *m)
{
	_cleanup_free_ char *body = NULL;
	size_t len = 0;
	struct vc_error err = {0};
	if (vc_agent_req_encode(k, m, &body, &len, &err) < 0) {
		fprintf(stderr, "# %s\n", err.msg);
		return NULL;
	}
	uint32_t id = h->next_id++;
	return h_send_raw(h, VC_FRAME_REQUEST, 0, id, body, len) ? h_wait(h, id, 0, NULL) : NULL;
}

VC_TEST(agent_serves_encoded_requests)
{
	START(h);
	CHECK(is_ok(send_req(&h, VC_AR_CHECK, &(struct vc_areq_check){VC_PROTO_VERSION})));
	CHECK(is_ok(send_req(&h, VC_AR_GET_GUEST_DETAILS, NULL)));
	_cleanup_free_ char *spec_text =
		spec_json(rootfs, "[\"sh\",\"-c\",\"sleep 30\"]", false, NULL);
	_cleanup_json_ struct vc_json *spec = parse(spec_text);
	_cleanup_json_ struct vc_json *none = parse("[]");
	_cleanup_json_ struct vc_json *proc = parse(
		"{\"args\":[\"sh\",\"-c\",\"exit 3\"],\"cwd\":\"/\",\"env\":[\"PATH=/bin\"]}");
	CHECK(spec && none && proc);
	struct vc_areq_create_container cc = {"rq", 21, false, none, spec, NULL};
	char *r = send_req(&h, VC_AR_CREATE_CONTAINER, &cc);
	CHECK(is_ok(r));
	CHECK(is_ok(send_req(&h, VC_AR_START_CONTAINER, &(struct vc_areq_container){"rq"})));
	/* the gate's own checks stay: the stream and the container are in use */
	CHECK(err_code(send_req(&h, VC_AR_CREATE_CONTAINER, &cc)) == EEXIST);
	cc.container_id = "rq2";
	r = send_req(&h, VC_AR_CREATE_CONTAINER, &cc);
	CHECK(err_code(r) == EEXIST);
	CHECK_CONTAINS(r, "params.stream_id: 21 is in use");
	CHECK(is_ok(send_req(&h, VC_AR_EXEC_PROCESS,
			     &(struct vc_areq_exec_process){"rq", "exec-22", 22, false, proc})));
	r = send_req(&h, VC_AR_WAIT_PROCESS, &(struct vc_areq_process){"rq", "exec-22"});
	CHECK(is_ok(r) && result_int(r, "exit_code") == 3);
	CHECK(is_ok(send_req(&h, VC_AR_LIST_PROCESSES,
			     &(struct vc_areq_list_processes){"rq", true, false})));
	r = send_req(&h, VC_AR_SIGNAL_PROCESS,
		     &(struct vc_areq_signal_process){"rq", "nope", SIGTERM, false});
	CHECK(err_code(r) == ENOENT);
	CHECK_CONTAINS(r, "process nope not found in container rq");
	CHECK(is_ok(send_req(&h, VC_AR_SIGNAL_PROCESS,
			     &(struct vc_areq_signal_process){"rq", NULL, SIGKILL, true})));
	r = send_req(&h, VC_AR_WAIT_PROCESS, &(struct vc_areq_process){.container_id = "rq"});
	CHECK(is_ok(r) && result_int(r, "signal") == SIGKILL);
	CHECK(is_ok(send_req(&h, VC_AR_REMOVE_CONTAINER, &(struct vc_areq_container){"rq"})));
	r = send_req(&h, VC_AR_START_CONTAINER, &(struct vc_areq_container){"rq"});
	CHECK(err_code(r) == ENOENT);
	STOP(h);
}

/* ---- fuzzing ---- */

static unsigned long long rng_state;

static const char *const fuzz_bodies[] = {
	"{\"method\":\"Check\",\"params\":{\"version\":1}}",
	"{\"method\":\"GetGuestDetails\",\"params\":{}}",
	"{\"method\":\"CreateSandbox\",\"params\":{\"sandbox_id\":\"sb\",\"hostname\":\"h\","
	"\"storages\":[{\"source\":\"s\"}]}}",
	"{\"method\":\"CreateContainer\",\"params\":{\"container_id\":\"c1\",\"stream_id\":1,"
	"\"stdin\":true,\"storages\":[],\"spec\":{\"ociVersion\":\"1.2.0\"}}}",
	"{\"method\":\"StartContainer\",\"params\":{\"container_id\":\"c1\"}}",
	"{\"method\":\"ExecProcess\",\"params\":{\"container_id\":\"c1\",\"exec_id\":\"exec-3\","
	"\"stream_id\":3,\"stdin\":true,\"process\":{\"args\":[\"sh\"]}}}",
	"{\"method\":\"SignalProcess\",\"params\":{\"container_id\":\"c1\",\"exec_id\":\"e\","
	"\"signal\":9,\"all\":true}}",
	"{\"method\":\"WaitProcess\",\"params\":{\"container_id\":\"c1\"}}",
	"{\"method\":\"TtyWinResize\",\"params\":{\"container_id\":\"c1\",\"rows\":24,\"cols\":80}"
	"}",
	"{\"method\":\"ListProcesses\",\"params\":{\"container_id\":\"c1\",\"details\":true}}",
	"{\"method\":\"UpdateContainer\",\"params\":{\"container_id\":\"c1\",\"resources\":{}}}",
	"{\"method\":\"UpdateInterface\",\"params\":{\"mac\":\"02:00:00:00:00:01\",\"name\":"
	"\"eth0\",\"mtu\":1500,\"wait_ms\":10,\"up\":true,\"addresses\":[{\"address\":\"1.2.3.4\"}]"
	"}}",
	"{\"method\":\"UpdateRoutes\",\"params\":{\"routes\":[{\"dest\":\"default\"}]}}",
	"{\"method\":\"AddARPNeighbors\",\"params\":{\"neighbors\":[]}}",
	"{\"method\":\"StartDNSRelay\",\"params\":{\"address\":\"127.0.0.11\"}}",
	"{\"method\":\"OnlineCPUs\",\"params\":{\"count\":2,\"wait_ms\":100}}",
	"{\"method\":\"DestroySandbox\"}",
};

VC_TEST(fuzz_decoder)
{
	static uint8_t buf[4096];
	rng_state = 0x6167656e74726571ULL;
	memset(&fuzz_req_stats, 0, sizeof(fuzz_req_stats));
	fuzz_assert_failures = 0;
	for (int i = 0; i < 20000; i++) {
		const char *tmpl =
			fuzz_bodies[vc_unit_rand(&rng_state) % VC_ARRAY_SIZE(fuzz_bodies)];
		size_t n = strlen(tmpl);
		memcpy(buf, tmpl, n);
		n = vc_unit_mutate(buf, n, sizeof(buf), &rng_state);
		LLVMFuzzerTestOneInput(buf, n);
	}
	fprintf(stderr, "# fuzz: %lu decoded, %lu refused\n", fuzz_req_stats.decoded,
		fuzz_req_stats.refused);
	CHECK(fuzz_assert_failures == 0);
	CHECK(fuzz_req_stats.decoded > 2000 && fuzz_req_stats.refused > 2000);
}

VC_TESTS(VC_T(names_and_kinds), VC_T(round_trips), VC_T(decode_defaults), VC_T(decode_refuses),
	 VC_T(encode_refuses), VC_T(decode_hostile), VC_T(agent_serves_encoded_requests),
	 VC_T(fuzz_decoder))
