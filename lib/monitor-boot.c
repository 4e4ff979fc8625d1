/* The monitor's start: read the plan, boot the VM, shake hands with the agent,
 * create the container, and only then tell `create` that all is well. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent-proto/agent-msg.h"
#include "agent-proto/clone-msg.h"
#include "agent-proto/proto.h"
#include "agent-proto/transport.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/fault.h"
#include "lib/hostcgroup.h"
#include "lib/log.h"
#include "lib/monitor-internal.h"
#include "lib/spawn.h"
#include "lib/vcrun.h"
#include "lib/sandbox.h"
#include "netns/netns.h"

/* A clone's hot-plugged NIC: the guest's hot-plug and driver load under TCG. */
#define CLONE_NIC_WAIT_MS 15000

/* A request answered before the event loop runs (boot phase: nothing else is on
 * the channel yet). Check is re-sent every second until the agent answers, since
 * bytes written before the guest opened its port may be dropped. */
static int agent_call_boot(struct monitor *m, enum vc_agent_req req, const void *params,
			   int timeout_ms, bool resend, struct vc_json **result,
			   struct vc_error *err)
{
	const char *method = vc_agent_req_name(req);
	unsigned long long start = vc_now_ns();
	unsigned long long deadline = start + (unsigned long long)timeout_ms * 1000000ULL;
	unsigned long long next_send = 0;
	uint32_t first_id = m->next_id;
	for (;;) {
		unsigned long long now = vc_now_ns();
		if (now >= next_send) {
			int r = vc_chan_request(&m->agent, m->next_id++, req, params, err);
			if (r < 0)
				return vc_error_wrap(err, "send %s to the guest agent", method);
			next_send = resend ? now + 1000000000ULL : ~0ULL;
		}
		if (vc_chan_flush(&m->agent) < 0 || m->agent.eof)
			return vc_error_set(
				err, EPIPE,
				"%s: the guest agent's channel closed (see %s/console.log)", method,
				m->root);
		if (now >= deadline)
			return vc_error_set(err, ETIMEDOUT,
					    "%s: the guest agent did not answer within %d s "
					    "(guest console: %s/%s/console.log)",
					    method, timeout_ms / 1000, m->root, m->id);
		struct pollfd p = {.fd = m->agent.fd,
				   .events = POLLIN | (vc_chan_pending(&m->agent) ? POLLOUT : 0)};
		unsigned long long wake = next_send < deadline ? next_send : deadline;
		poll(&p, 1, (int)((wake - now) / 1000000ULL) + 1);
		if (m->hv_running && waitpid(m->hv.pid, NULL, WNOHANG) == m->hv.pid) {
			m->hv_running = false;
			return vc_error_set(err, EIO,
					    "the VM exited during boot (see %s/%s/qemu.log)",
					    m->root, m->id);
		}
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		vc_chan_fill(&m->agent);
		struct vc_frame f;
		int r;
		while ((r = vc_frame_reader_next(&m->agent.rd, &f, err)) == 1) {
			if (f.type != VC_FRAME_RESPONSE || f.id < first_id || f.id >= m->next_id)
				continue;
			struct vc_error rerr = {0};
			r = vc_proto_response_decode(f.body, f.len, result, &rerr);
			if (r < 0) /* the agent's message already names the request */
				return vc_error_set(err, -r, "%s", rerr.msg);
			vc_debug("%s answered after %llu ms", method,
				 (vc_now_ns() - start) / 1000000ULL);
			return 0;
		}
		if (r < 0)
			return vc_error_wrap(err, "%s", method);
	}
}

/* The network namespace as the engine left it after the prestart and
 * createRuntime hooks: every Ethernet interface gets a tap next to it with the
 * redirect both ways, and a guest NIC with its MAC and MTU. */
static int net_prepare(struct monitor *m, struct vc_netns_plan **np, struct vc_hv_nic **nics,
		       struct vc_error *err)
{
	*np = NULL;
	*nics = NULL;
	if (!m->plan.netns_path)
		return 0;
	/* Watched before the scan, so that nothing added in between goes unsaid; what
	 * the scan finds is known, bridged here or not. */
	int r = vc_netns_watch_open(m->plan.netns_path, &m->net_watch, err);
	if (r < 0)
		return r;
	struct vc_netns_scan *scan = NULL;
	if ((r = vc_netns_scan(m->plan.netns_path, &scan, err)) < 0)
		return r;
	if (scan->n_ifaces && !(m->net_known = calloc(scan->n_ifaces, sizeof(int)))) {
		vc_netns_scan_free(scan);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < scan->n_ifaces; i++)
		m->net_known[m->n_net_known++] = scan->ifaces[i].ifindex;
	r = vc_netns_plan_build(scan, np, err);
	vc_netns_scan_free(scan);
	if (r < 0)
		return r;
	m->next_tap = (unsigned)(*np)->n_ifaces; /* taps of later interfaces follow */
	if ((*np)->n_ifaces == 0)
		return 0;
	char held[IF_NAMESIZE];
	if ((r = vc_netns_bridged(m->plan.netns_path, held, sizeof(held), err)) < 0)
		return r;
	if (r == 1) {
		/* One VM per container: two VMs cannot share the namespace's interfaces,
		 * and taking them over would cut the other container off. */
		vc_warn("container %s: its network namespace %s is bridged into another "
			"container's VM already (%s: a pod, or --network container:), and two VMs "
			"cannot share its interfaces; this container gets no network",
			m->id, m->plan.netns_path, held);
		m->net_foreign = true;
		vc_netns_plan_free(*np);
		*np = NULL;
		return 0;
	}
	/* Recorded before the first tap exists, so that every teardown (even after a
	 * crash half-way) knows the taps in the namespace are this container's. */
	if ((r = vc_write_file(VC_NETNS_BRIDGED_FILE, "", 0, err)) < 0)
		return r;
	m->bridged = true;
	if ((r = vc_netns_tap_setup(m->plan.netns_path, *np, err)) < 0)
		return r;
	*nics = calloc((*np)->n_ifaces, sizeof(**nics));
	if (!*nics)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < (*np)->n_ifaces; i++) {
		struct vc_netns_plan_iface *pi = &(*np)->ifaces[i];
		(*nics)[i] = (struct vc_hv_nic){.tap = pi->tap, .mac = pi->mac, .mtu = pi->mtu};
		vc_debug("network: %s (%s, mtu %u) through %s", pi->name, pi->mac, pi->mtu,
			 pi->tap);
	}
	return 0;
}

/* The guest side: each NIC gets its name, MTU and addresses, then the routes and
 * neighbours of all of them (routes name the NICs). */
static int net_configure(struct monitor *m, const struct vc_netns_plan *np, struct vc_error *err)
{
	if (!np || np->n_ifaces == 0)
		return 0;
	for (size_t i = 0; i < np->n_ifaces; i++) {
		_cleanup_json_ struct vc_json *addrs = NULL, *res = NULL;
		struct vc_areq_update_interface p;
		int r = mon_iface_request(&np->ifaces[i], 0, &p, &addrs, err);
		struct vc_agent_iface nic;
		/* A clone's NICs were hot-plugged just now: the guest may not see them yet. */
		if (m->cloned)
			p.wait_ms = CLONE_NIC_WAIT_MS;
		if (r == 0)
			r = agent_call_boot(m, VC_AR_UPDATE_INTERFACE, &p, 30000, false, &res, err);
		if (r == 0)
			r = vc_agent_iface_from_json(res, &nic, err);
		if (r < 0)
			return vc_error_wrap(err, "network interface %s", np->ifaces[i].name);
	}
	_cleanup_json_ struct vc_json *routes = NULL, *neighs = NULL, *rres = NULL, *nres = NULL;
	int r = vc_netns_plan_routes(np, &routes, err);
	if (r == 0)
		r = agent_call_boot(m, VC_AR_UPDATE_ROUTES, &(struct vc_areq_update_routes){routes},
				    30000, false, &rres, err);
	if (r == 0)
		r = vc_netns_plan_neighbors(np, &neighs, err);
	if (r == 0)
		r = agent_call_boot(m, VC_AR_ADD_ARP_NEIGHBORS,
				    &(struct vc_areq_add_arp_neighbors){neighs}, 30000, false,
				    &nres, err);
	_cleanup_free_ char *relay = NULL;
	if (r < 0 || vc_plan_dns_relay(&m->plan, &relay) < 0 || !relay)
		return r;
	/* The resolver the container's resolv.conf names is on the namespace's
	 * loopback (docker's embedded DNS): the agent answers there in the guest and
	 * we carry the queries (agent/dns.c). */
	_cleanup_json_ struct vc_json *dres = NULL;
	if ((r = vc_netns_udp_connect(m->plan.netns_path, relay, 53, &m->dns_fd, err)) < 0)
		return vc_error_wrap(err, "DNS relay");
	vc_debug("DNS relay to %s:53 in %s", relay, m->plan.netns_path);
	return agent_call_boot(m, VC_AR_START_DNS_RELAY, &(struct vc_areq_start_dns_relay){relay},
			       30000, false, &dres, err);
}

/* The restore path's part after the agent's Check: the clone becomes its own
 * machine (CloneSetup: entropy, clock, hostname) before anything of the container
 * runs, then gets the NICs the template could not have, in spare root ports. */
static int clone_setup(struct monitor *m, const struct vc_hv_nic *nics, size_t n_nics,
		       struct vc_error *err)
{
	_cleanup_json_ struct vc_json *res = NULL;
	struct vc_clone_setup cs;
	int r = mon_clone_setup(m, &cs, err);
	if (r == 0)
		r = agent_call_boot(m, VC_AR_CLONE_SETUP, &cs, 10000, false, &res, err);
	explicit_bzero(cs.entropy, sizeof(cs.entropy));
	for (size_t i = 0; r == 0 && i < n_nics; i++) {
		char id[16];
		snprintf(id, sizeof(id), "bnic-%zu", i);
		r = vc_hv_hotplug_nic(&m->hv, id, &nics[i], err);
	}
	return r;
}

static int boot(struct monitor *m, struct vc_error *err)
{
	if (vc_plan_load(m->root, m->id, &m->plan, err) < 0)
		return -EINVAL;

	struct vc_netns_plan *np __attribute__((cleanup(vc_netns_plan_freep))) = NULL;
	_cleanup_free_ struct vc_hv_nic *nics = NULL;
	int r = net_prepare(m, &np, &nics, err);
	if (r < 0)
		return r;
	struct vc_hv_config cfg;
	vc_plan_hv_config(&m->plan, ".", &cfg);
	_cleanup_free_ char *name = vc_strdup_printf("%s/%s", m->root, m->id);
	if (!name)
		return vc_error_set(err, ENOMEM, "out of memory");
	cfg.vm_name = name;
	cfg.nics = nics;
	cfg.n_nics = nics ? np->n_ifaces : 0;
	/* QEMU dies with its monitor: a monitor killed before it recorded QEMU's pid
	 * (tests/integration/28-faults.bats, monitor.qemu) would leave a VM nobody
	 * knows of, and without the monitor nobody can reach the VM anyway. */
	cfg.bound = true;
	bool cloned = m->plan.template && mon_clone_start(m, &cfg, cfg.n_nics);
	if (!cloned && (r = vc_hv_start(&cfg, &m->hv, err)) < 0)
		return r;
	m->hv_running = true;
	vc_fault_point("monitor.qemu");
	struct mctr *owner = m->ctrs[0];
	owner->st.hv_pid = m->hv.pid;
	/* Until this is on disk nobody can find the monitor: no state, no container. */
	if ((r = mon_save_state(m, owner, err)) < 0)
		return r;

	if (m->plan.channel == VC_CHANNEL_VSOCK)
		vc_debug("agent channel: vsock, guest CID %u port %u", m->plan.vsock_cid,
			 VC_AGENT_VSOCK_PORT);
	else
		vc_debug("agent channel: virtio-serial (no /dev/vhost-vsock on this host)");
	int fd = m->plan.channel == VC_CHANNEL_VSOCK
			 ? vc_transport_connect_vsock(m->plan.vsock_cid, VC_AGENT_VSOCK_PORT,
						      m->plan.boot_timeout_ms, err)
			 : vc_transport_connect_unix("agent.sock", 10000, err);
	if (fd < 0)
		return fd;
	vc_chan_init(&m->agent, fd);

	_cleanup_json_ struct vc_json *res = NULL;
	struct vc_agent_check ck;
	r = agent_call_boot(m, VC_AR_CHECK, &(struct vc_areq_check){VC_PROTO_VERSION},
			    m->plan.boot_timeout_ms, true, &res, err);
	if (r == 0)
		r = vc_agent_check_from_json(res, &ck, err);
	if (r < 0)
		return r;
	if (ck.version != VC_PROTO_VERSION)
		return vc_error_set(err, EPROTONOSUPPORT,
				    "Check: the agent speaks protocol version %u, the host %d",
				    ck.version, VC_PROTO_VERSION);
	vc_debug("agent %s, protocol version %u", ck.agent_version, ck.version);
	if (cloned && (r = clone_setup(m, nics, cfg.n_nics, err)) < 0)
		return r;

	_cleanup_json_ struct vc_json *sb_res = NULL;
	r = agent_call_boot(m, VC_AR_CREATE_SANDBOX,
			    &(struct vc_areq_create_sandbox){.sandbox_id = m->id}, 30000, false,
			    &sb_res, err);
	if (r < 0 || (r = net_configure(m, np, err)) < 0)
		return r;
	vc_fault_point("monitor.sandbox");

	_cleanup_json_ struct vc_json *cc_res = NULL;
	_cleanup_json_ struct vc_json *devices = vc_plan_agent_devices(&m->plan);
	if (!devices)
		return vc_error_set(err, ENOMEM, "out of memory");
	struct vc_areq_create_container cc = {owner->st.id,	INIT_STREAM,	    true,
					      m->plan.storages, m->plan.guest_spec, devices};
	struct vc_agent_pid init;
	r = agent_call_boot(m, VC_AR_CREATE_CONTAINER, &cc, 60000, false, &cc_res, err);
	if (r == 0)
		r = vc_agent_pid_from_json(VC_M_CREATE_CONTAINER, cc_res, &init, err);
	if (r < 0)
		return r;

	if (!mon_stream_add(m, owner, INIT_STREAM, NULL))
		return vc_error_set(err, ENOMEM, "out of memory");
	r = mon_agent_send(m, VC_AR_WAIT_PROCESS,
			   &(struct vc_areq_process){.container_id = owner->st.id}, PEND_WAIT,
			   owner, NULL, 0, INIT_STREAM);
	if (r < 0)
		return vc_error_sys(err, -r, "send WaitProcess");

	m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", VC_MONITOR_SOCK);
	unlink(VC_MONITOR_SOCK);
	/* bind makes the socket with our umask: 0600 before anyone may connect. */
	if (m->listen_fd < 0 || bind(m->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(VC_MONITOR_SOCK, 0600) < 0 || listen(m->listen_fd, 64) < 0)
		return vc_error_sys(err, errno, "listen on %s/%s/%s", m->root, m->id,
				    VC_MONITOR_SOCK);
	return 0;
}

int vc_monitor_main(int argc, char **argv)
{
	struct vc_helper_args args;
	if (vc_helper_args_parse(argc, argv, NULL, &args) < 0)
		return 2;
	struct monitor m = {.root = args.root,
			    .id = args.id,
			    .sync_fd = args.sync_fd,
			    .listen_fd = -1,
			    .spare_fd = -1,
			    .dir_fd = -1,
			    .sig_fd = -1,
			    .dns_fd = -1,
			    .next_id = 1,
			    .next_stream = INIT_STREAM + 1};
	struct vc_error err = {0};
	_cleanup_free_ char *dir = vc_state_dir(m.root, m.id);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	m.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	int r;
	struct vc_state st;
	if (!dir || chdir(dir) < 0) {
		r = vc_error_sys(&err, errno, "chdir `%s`", dir ? dir : m.id);
	} else if (vc_state_read(m.root, m.id, &st, &err) < 0) {
		r = -EIO;
	} else {
		/* `create` records our pid too, but maybe after we read the file: the
		 * monitor's own word (mon_ctr_add) is the one every later write carries. */
		r = mon_ctr_add(&m, &st) ? 0 : vc_error_set(&err, ENOMEM, "out of memory");
		vc_state_release(&st);
		m.dir_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		m.cgroup = vc_host_cgroup_hold(m.root, m.id);
		/* Into the container's host cgroup before QEMU starts, so that it and
		 * virtiofsd begin there (create made it, with the stand-in in it). */
		if (r == 0)
			r = vc_host_cgroup_add_pid(m.root, m.id, NULL, getpid(), &err);
		if (r == 0)
			r = boot(&m, &err);
	}
	if (r < 0) {
		vc_err("container %s: %s", m.id, err.msg);
		vc_sync_write_error(m.sync_fd, &err);
		mon_release(&m);
		return 1;
	}
	vc_debug("container %s: sandbox ready", m.id);
	vc_fault_point("monitor.ready");
	vc_sync_write_ok(m.sync_fd);
	close(m.sync_fd);
	m.sync_fd = -1;

	mon_serve(&m);
	if (m.orphaned)
		mon_orphan_cleanup(&m);
	mon_release(&m);
	return 0;
}

void mon_orphan_cleanup(struct monitor *m)
{
	struct vc_error err = {0};
	/* QEMU is gone (finish_destroy): the taps and the share are free. */
	if (m->plan.netns_path && m->bridged && vc_netns_teardown(m->plan.netns_path, &err) < 0)
		vc_warn("sandbox %s: %s", m->id, err.msg);
	if (m->plan.netns_path && m->plan.netns_owned &&
	    vc_netns_remove(m->plan.netns_path, &err) < 0)
		vc_warn("sandbox %s: %s", m->id, err.msg);
	for (size_t i = 0; i < m->n_ctrs; i++)
		if (m->ctrs[i]->netns_pin && vc_netns_remove(m->ctrs[i]->netns_pin, &err) < 0)
			vc_warn("sandbox %s: %s", m->id, err.msg);
	if (m->plan.n_shares && vc_share_release(m->plan.shares[0].host_path, &err) < 0)
		vc_warn("sandbox %s: %s", m->id, err.msg);
	vc_host_cgroup_drop(&m->cgroup, m->id, true);
}

/* A QEMU killed while its cgroup counts more OOM kills than when serving began
 * was the host's OOM killer's. */
const char *mon_qemu_end(const struct monitor *m, int st)
{
	static char why[192];
	if (WIFEXITED(st))
		snprintf(why, sizeof(why), "the VM exited (QEMU exit status %d)", WEXITSTATUS(st));
	else if (WIFSIGNALED(st) && vc_host_cgroup_oom_kills() > m->oom_kills)
		snprintf(why, sizeof(why),
			 "QEMU was killed by signal %d by the host's OOM killer: the VM needed "
			 "more memory than its host cgroup's limit",
			 WTERMSIG(st));
	else
		snprintf(why, sizeof(why), "QEMU was killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	return why;
}

bool mon_qemu_reaped(struct monitor *m, int wait_ms, int *st)
{
	for (int waited = 0; m->hv.pid > 0; waited += 5) {
		if (waitpid(m->hv.pid, st, WNOHANG) == m->hv.pid) {
			m->hv.pid = 0; /* vc_hv_stop then stops only the helpers */
			return true;
		}
		if (waited >= wait_ms)
			break;
		struct timespec ts = {0, 5 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return false;
}
