/* Devices added to a running VM over QMP: a NIC on a tap, a VFIO function, each in
 * a spare pcie-root-port of the boot (hv/qemu-vfio.c), and their removal. The
 * monitor adds them for what appears after boot (an interface in the sandbox's
 * network namespace, a container that joins with a device); VM templates will
 * reuse the same calls. The argument builders are pure, for tests. */
#include "hv/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "oci/json.h"

/* device_add answers at once under TCG too; device_del waits for the guest. */
#define HV_PLUG_TIMEOUT_MS   10000
#define HV_UNPLUG_TIMEOUT_MS 10000
#define HV_ID_MAX	     24	 /* id + "-net" fits vc_hv_plugged.backend */
#define PATH_MAX_SHOWN	     128 /* of a disk's host path in messages */

/* QEMU ids are "[A-Za-z][A-Za-z0-9_.-]*"; ours are narrower still, and never the
 * ids of the boot's devices (net0, rp1, ...), which carry no '-'. */
static int check_id(const char *id, struct vc_error *err)
{
	size_t n = id ? strlen(id) : 0;
	bool ok = n > 0 && n <= HV_ID_MAX &&
		  ((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z'));
	for (size_t i = 0; ok && i < n; i++)
		ok = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
			    id[i]) != NULL;
	if (!ok)
		return vc_error_set(err, EINVAL,
				    "hot-plug: device id `%s` is not 1 to %d letters, digits, "
				    "`_` or `-` starting with a letter",
				    id ? id : "", HV_ID_MAX);
	return 0;
}

static int check_nic(const struct vc_hv_nic *nic, struct vc_error *err)
{
	unsigned b[6];
	char tail;
	if (!nic->tap || !*nic->tap || strlen(nic->tap) >= 16)
		return vc_error_set(err, EINVAL, "hot-plug: tap: must be an interface name");
	if (!nic->mac || sscanf(nic->mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
				&b[4], &b[5], &tail) != 6)
		return vc_error_set(err, EINVAL, "hot-plug: mac: `%s` is not a MAC address",
				    nic->mac ? nic->mac : "");
	if (nic->mtu && (nic->mtu < 68 || nic->mtu > 65535))
		return vc_error_set(err, EINVAL, "hot-plug: mtu: %u is out of range", nic->mtu);
	return 0;
}

static int finish(struct vc_jgen *g, char **out, struct vc_error *err)
{
	vc_jgen_object_close(g);
	size_t len = 0;
	return vc_jgen_finish(g, out, &len, err);
}

static struct vc_jgen *open_args(void)
{
	struct vc_jgen *g = vc_jgen_new(false);
	if (g)
		vc_jgen_object_open(g);
	return g;
}

/* A device in function 0 of a spare port's only slot. */
static void kv_bus(struct vc_jgen *g, unsigned port)
{
	char bus[16];
	snprintf(bus, sizeof(bus), "rp%u", port);
	vc_jgen_kv_string(g, "bus", bus);
	vc_jgen_kv_string(g, "addr", "0");
}

/* A NIC's id and fields checked, its netdev's id, and an argument object opened. */
static int nic_args_open(const char *id, const struct vc_hv_nic *nic, char netdev[HV_ID_MAX + 8],
			 struct vc_jgen **g, struct vc_error *err)
{
	int r = check_id(id, err);
	if (r == 0)
		r = check_nic(nic, err);
	if (r < 0)
		return r;
	snprintf(netdev, HV_ID_MAX + 8, "%s-net", id);
	if (!(*g = open_args()))
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

/* fdname: a confined QEMU's tap, handed over with getfd under that name. */
static int netdev_args(const char *id, const struct vc_hv_nic *nic, const char *fdname, char **out,
		       struct vc_error *err)
{
	char netdev[HV_ID_MAX + 8];
	_cleanup_jgen_ struct vc_jgen *g = NULL;
	int r = nic_args_open(id, nic, netdev, &g, err);
	if (r < 0)
		return r;
	/* As at boot (hv/qemu-argv.c): the tap exists in QEMU's namespace already. */
	vc_jgen_kv_string(g, "type", "tap");
	vc_jgen_kv_string(g, "id", netdev);
	if (fdname) {
		vc_jgen_kv_string(g, "fd", fdname);
	} else {
		vc_jgen_kv_string(g, "ifname", nic->tap);
		vc_jgen_kv_string(g, "script", "no");
		vc_jgen_kv_string(g, "downscript", "no");
	}
	vc_jgen_kv_bool(g, "vhost", false);
	return finish(g, out, err);
}

int vc_hv_qmp_netdev_args(const char *id, const struct vc_hv_nic *nic, char **out,
			  struct vc_error *err)
{
	return netdev_args(id, nic, NULL, out, err);
}

/* A confined QEMU opens no tap or disk: the backend's fd is opened here and handed
 * over on the QMP session that then adds the backend (an fd given over QMP is
 * found by the monitor connection that uses it). */
static int netdev_add_fd(struct vc_hv *hv, const struct vc_hv_nic *nic, const char *netdev,
			 const char *args, struct vc_error *err)
{
	_cleanup_close_ int fd = -1;
	int r = hv_tap_open(hv->netns_path, nic->tap, &fd, err);
	struct hv_qmp q;
	if (r < 0 || (r = hv_qmp_open(&q, hv->qmp_path, HV_PLUG_TIMEOUT_MS, err)) < 0)
		return r;
	r = hv_qmp_getfd(&q, netdev, fd, err);
	if (r == 0)
		r = hv_qmp_call(&q, "netdev_add", args, NULL, err);
	hv_qmp_close(&q);
	return r;
}

/* The disk as an fd set of one: QEMU's "/dev/fdset/N" takes a dup of it, and the
 * set goes with the last dup (blockdev-del) once no QMP client is connected. */
static int blockdev_add_fd(struct vc_hv *hv, const struct vc_hv_blk *b, const char *driver,
			   struct vc_error *err)
{
	_cleanup_close_ int fd =
		open(b->path, (b->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return vc_error_sys(err, errno, "open `%s`", b->path);
	struct hv_qmp q;
	int r = hv_qmp_open(&q, hv->qmp_path, HV_PLUG_TIMEOUT_MS, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *reply = NULL, *args = NULL;
	_cleanup_json_ struct vc_json *v = NULL;
	int64_t set = -1;
	r = hv_qmp_call_fd(&q, "add-fd", NULL, fd, &reply, err);
	if (r == 0 && (vc_json_parse(reply, strlen(reply), "add-fd", &v, err) < 0 ||
		       vc_json_to_i64(vc_json_get(v, "fdset-id"), &set) < 0 || set < 0))
		r = vc_error_set(err, EPROTO, "QMP add-fd: no fdset-id in `%.80s`", reply);
	char name[40];
	snprintf(name, sizeof(name), "/dev/fdset/%lld", (long long)set);
	if (r == 0)
		r = hv_blockdev_args(b, driver, name, &args, err);
	if (r == 0)
		r = hv_qmp_call(&q, "blockdev-add", args, NULL, err);
	hv_qmp_close(&q);
	return r;
}

int vc_hv_qmp_nic_args(const char *id, const struct vc_hv_nic *nic, unsigned port, char **out,
		       struct vc_error *err)
{
	char netdev[HV_ID_MAX + 8];
	_cleanup_jgen_ struct vc_jgen *g = NULL;
	int r = nic_args_open(id, nic, netdev, &g, err);
	if (r < 0)
		return r;
	vc_jgen_kv_string(g, "driver", "virtio-net-pci");
	vc_jgen_kv_string(g, "id", id);
	vc_jgen_kv_string(g, "netdev", netdev);
	vc_jgen_kv_string(g, "mac", nic->mac);
	if (nic->mtu)
		vc_jgen_kv_int(g, "host_mtu", nic->mtu);
	vc_jgen_kv_string(g, "romfile", "");
	kv_bus(g, port);
	return finish(g, out, err);
}

int vc_hv_qmp_vfio_args(const char *id, const char *host, unsigned port, char **out,
			struct vc_error *err)
{
	int r = check_id(id, err);
	if (r < 0)
		return r;
	/* The same rule as at boot: only what a BDF is made of. */
	size_t n = host ? strlen(host) : 0;
	if (n < 7 || n > 16 || strspn(host, "0123456789abcdefABCDEF:.") != n)
		return vc_error_set(err, EINVAL, "hot-plug: host: `%s` is not a PCI address",
				    host ? host : "");
	_cleanup_jgen_ struct vc_jgen *g = open_args();
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_kv_string(g, "driver", "vfio-pci");
	vc_jgen_kv_string(g, "id", id);
	vc_jgen_kv_string(g, "host", host);
	kv_bus(g, port);
	return finish(g, out, err);
}

static struct vc_hv_plugged *find_plugged(struct vc_hv *hv, const char *id)
{
	for (size_t i = 0; i < hv->n_plugged; i++)
		if (!strcmp(hv->plugged[i].id, id))
			return &hv->plugged[i];
	return NULL;
}

static bool in_port(const struct vc_hv_plugged *p)
{
	return p->kind == VC_HV_PLUG_PCI || p->kind == VC_HV_PLUG_BLK;
}

unsigned vc_hv_spare_ports_free(const struct vc_hv *hv)
{
	unsigned used = 0;
	for (size_t i = 0; i < hv->n_plugged; i++)
		used += in_port(&hv->plugged[i]);
	return used < hv->n_spare ? hv->n_spare - used : 0;
}

/* A free spare port, or ENOSPC saying how many there are. */
static int take_port(struct vc_hv *hv, const char *what, unsigned *port, struct vc_error *err)
{
	for (unsigned p = hv->spare_first; p < hv->spare_first + hv->n_spare; p++) {
		bool used = false;
		for (size_t i = 0; i < hv->n_plugged && !used; i++)
			used = in_port(&hv->plugged[i]) && hv->plugged[i].port == p;
		if (!used) {
			*port = p;
			return 0;
		}
	}
	return vc_error_set(err, ENOSPC,
			    "hot-plug %s: no spare PCIe root port left (the VM booted with %u: "
			    "hotplug_root_ports in vcrun's config)",
			    what, hv->n_spare);
}

static int record(struct vc_hv *hv, enum vc_hv_plug_kind kind, const char *id, unsigned port,
		  const char *backend, struct vc_error *err)
{
	struct vc_hv_plugged *n = realloc(hv->plugged, (hv->n_plugged + 1) * sizeof(*n));
	if (!n)
		return vc_error_set(err, ENOMEM, "out of memory");
	hv->plugged = n;
	struct vc_hv_plugged *p = &hv->plugged[hv->n_plugged++];
	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->backend, sizeof(p->backend), "%s", backend ? backend : "");
	p->port = port;
	p->kind = kind;
	return 0;
}

/* A backend's removal, after a failed device_add or an unplug: a netdev, a DIMM's
 * memory backend object, or a disk's blockdev node (which closes the host's file). */
static int del_backend(struct vc_hv *hv, enum vc_hv_plug_kind kind, const char *backend,
		       struct vc_error *err)
{
	bool blk = kind == VC_HV_PLUG_BLK;
	_cleanup_free_ char *args =
		vc_strdup_printf("{\"%s\":\"%s\"}", blk ? "node-name" : "id", backend);
	if (!args)
		return vc_error_set(err, ENOMEM, "out of memory");
	return vc_hv_qmp_execute(hv->qmp_path,
				 blk			   ? "blockdev-del"
				 : kind == VC_HV_PLUG_DIMM ? "object-del"
							   : "netdev_del",
				 args, HV_PLUG_TIMEOUT_MS, NULL, err);
}

/* After a failed device_add (r, said in err): its backend goes again, and a
 * failure there is added to the message. Returns r. */
static int undo_backend(struct vc_hv *hv, enum vc_hv_plug_kind kind, const char *backend,
			const char *noun, int r, struct vc_error *err)
{
	struct vc_error undo = {0};
	if (del_backend(hv, kind, backend, &undo) < 0) {
		char msg[VC_ERROR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		vc_error_set(err, -r, "%s (removing its %s failed too: %s)", msg, noun, undo.msg);
	}
	return r;
}

/* device_add of a device in port; on failure the message names the device. */
static int device_add(struct vc_hv *hv, const char *what, const char *args, struct vc_error *err)
{
	int r = vc_hv_qmp_execute(hv->qmp_path, "device_add", args, HV_PLUG_TIMEOUT_MS, NULL, err);
	if (r < 0)
		return vc_error_wrap(err, "hot-plug %s", what);
	return 0;
}

int vc_hv_hotplug_nic(struct vc_hv *hv, const char *id, const struct vc_hv_nic *nic,
		      struct vc_error *err)
{
	char what[96];
	snprintf(what, sizeof(what), "NIC %s (tap %s, MAC %s)", id ? id : "",
		 nic->tap ? nic->tap : "", nic->mac ? nic->mac : "");
	if (id && find_plugged(hv, id))
		return vc_error_set(err, EEXIST, "hot-plug %s: plugged already", what);
	unsigned port = 0;
	_cleanup_free_ char *nd_args = NULL, *dev_args = NULL;
	char netdev[HV_ID_MAX + 8];
	snprintf(netdev, sizeof(netdev), "%s-net", id ? id : "");
	/* Confined, the tap's fd goes over under the netdev's own name. */
	int r = take_port(hv, what, &port, err);
	if (r == 0)
		r = netdev_args(id, nic, hv->confined ? netdev : NULL, &nd_args, err);
	if (r == 0)
		r = vc_hv_qmp_nic_args(id, nic, port, &dev_args, err);
	if (r < 0)
		return r;
	r = hv->confined ? netdev_add_fd(hv, nic, netdev, nd_args, err)
			 : vc_hv_qmp_execute(hv->qmp_path, "netdev_add", nd_args,
					     HV_PLUG_TIMEOUT_MS, NULL, err);
	if (r < 0)
		return vc_error_wrap(err, "hot-plug %s", what);
	if ((r = device_add(hv, what, dev_args, err)) < 0)
		return undo_backend(hv, VC_HV_PLUG_PCI, netdev, "netdev", r, err);
	if ((r = record(hv, VC_HV_PLUG_PCI, id, port, netdev, err)) < 0)
		return r; /* plugged, but unknown to us: QEMU's exit removes it */
	return 0;
}

int vc_hv_hotplug_vfio(struct vc_hv *hv, const char *id, const char *host, struct vc_error *err)
{
	char what[80];
	snprintf(what, sizeof(what), "VFIO device %s (%s)", id ? id : "", host ? host : "");
	if (id && find_plugged(hv, id))
		return vc_error_set(err, EEXIST, "hot-plug %s: plugged already", what);
	unsigned port = 0;
	_cleanup_free_ char *args = NULL;
	int r = take_port(hv, what, &port, err);
	if (r == 0)
		r = vc_hv_qmp_vfio_args(id, host, port, &args, err);
	if (r == 0)
		r = device_add(hv, what, args, err);
	if (r == 0)
		r = record(hv, VC_HV_PLUG_PCI, id, port, NULL, err);
	return r;
}

int vc_hv_qmp_blk_device_args(const struct vc_hv_blk *b, unsigned port, char **out,
			      struct vc_error *err)
{
	char node[HV_BLK_NODE_MAX];
	int r = hv_blk_node(b, node, err);
	if (r < 0)
		return r;
	_cleanup_jgen_ struct vc_jgen *g = open_args();
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	/* As at boot (hv/blk.c): the serial is how the guest's agent finds it. */
	vc_jgen_kv_string(g, "driver", "virtio-blk-pci");
	vc_jgen_kv_string(g, "id", b->id);
	vc_jgen_kv_string(g, "drive", node);
	vc_jgen_kv_string(g, "serial", b->id);
	kv_bus(g, port);
	return finish(g, out, err);
}

int vc_hv_hotplug_blk(struct vc_hv *hv, const struct vc_hv_blk *b, struct vc_error *err)
{
	char what[VC_HV_BLK_ID_MAX + PATH_MAX_SHOWN + 16];
	snprintf(what, sizeof(what), "disk %s (%.*s)", b->id ? b->id : "", PATH_MAX_SHOWN,
		 b->path ? b->path : "");
	char node[HV_BLK_NODE_MAX];
	int r = hv_blk_node(b, node, err);
	if (r < 0)
		return vc_error_wrap(err, "hot-plug %s", what);
	if (find_plugged(hv, b->id))
		return vc_error_set(err, EEXIST, "hot-plug %s: plugged already", what);
	struct stat st;
	if (stat(b->path, &st) < 0)
		return vc_error_sys(err, errno, "hot-plug %s", what);
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
		return vc_error_set(err, ENOTBLK, "hot-plug %s: not a block device", what);
	unsigned port = 0;
	const char *driver = S_ISBLK(st.st_mode) ? "host_device" : "file";
	_cleanup_free_ char *bd_args = NULL, *dev_args = NULL;
	if ((r = take_port(hv, what, &port, err)) < 0 ||
	    /* Confined, the arguments name the fd set, known once it is given. */
	    (!hv->confined && (r = hv_blockdev_args(b, driver, NULL, &bd_args, err)) < 0) ||
	    (r = vc_hv_qmp_blk_device_args(b, port, &dev_args, err)) < 0)
		return r;
	r = hv->confined ? blockdev_add_fd(hv, b, driver, err)
			 : vc_hv_qmp_execute(hv->qmp_path, "blockdev-add", bd_args,
					     HV_PLUG_TIMEOUT_MS, NULL, err);
	if (r < 0)
		return vc_error_wrap(err, "hot-plug %s", what);
	if ((r = device_add(hv, what, dev_args, err)) < 0)
		return undo_backend(hv, VC_HV_PLUG_BLK, node, "drive", r, err);
	return record(hv, VC_HV_PLUG_BLK, b->id, port, node, err);
}

int vc_hv_unplug(struct vc_hv *hv, const char *id, int timeout_ms, struct vc_error *err)
{
	struct vc_hv_plugged *p = id ? find_plugged(hv, id) : NULL;
	if (!p)
		return vc_error_set(err, ENOENT, "unplug %s: not a hot-plugged device",
				    id ? id : "(null)");
	/* QEMU 7.2 under TCG segfaults when the guest lets go of an unplugged vCPU
	 * (seen three times out of three, in libc from the vCPU's thread), taking the
	 * VM with it: such a vCPU stays. */
	if (p->kind == VC_HV_PLUG_CPU && hv->accel == VC_ACCEL_TCG)
		return vc_error_set(err, ENOTSUP,
				    "unplug %s: QEMU cannot unplug a vCPU under TCG without "
				    "crashing; it stays",
				    id);
	_cleanup_free_ char *args = vc_strdup_printf("{\"id\":\"%s\"}", id);
	if (!args)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = hv_qmp_execute_wait(hv->qmp_path, "device_del", args, "DEVICE_DELETED", id,
				    timeout_ms > 0 ? timeout_ms : HV_UNPLUG_TIMEOUT_MS, err);
	if (r < 0)
		return vc_error_wrap(err, "unplug %s", id);
	char backend[sizeof(p->backend)];
	memcpy(backend, p->backend, sizeof(backend));
	enum vc_hv_plug_kind kind = p->kind;
	if (kind == VC_HV_PLUG_DIMM)
		hv->hotplug_mem_mib += p->mib;
	*p = hv->plugged[--hv->n_plugged];
	/* The port (or room) is free now whatever happens to the backend. */
	if (backend[0] && (r = del_backend(hv, kind, backend, err)) < 0)
		return vc_error_wrap(err, "unplug %s", id);
	return 0;
}

int vc_hv_qmp_memory_args(const char *id, unsigned mib, bool shared, char **backend, char **device,
			  struct vc_error *err)
{
	*backend = *device = NULL;
	int r = check_id(id, err);
	if (r < 0)
		return r;
	if (mib == 0 || mib % VC_HV_MEM_BLOCK_MIB)
		return vc_error_set(err, EINVAL,
				    "hot-plug memory %s: %u MiB is not a multiple of %d MiB", id,
				    mib, VC_HV_MEM_BLOCK_MIB);
	char obj[HV_ID_MAX + 8];
	snprintf(obj, sizeof(obj), "%s-mem", id);
	_cleanup_jgen_ struct vc_jgen *b = open_args();
	_cleanup_jgen_ struct vc_jgen *d = open_args();
	if (!b || !d)
		return vc_error_set(err, ENOMEM, "out of memory");
	/* As the boot's RAM: virtiofsd maps guest memory, so with virtio-fs it is a
	 * shared memfd there too. */
	vc_jgen_kv_string(b, "qom-type", shared ? "memory-backend-memfd" : "memory-backend-ram");
	vc_jgen_kv_string(b, "id", obj);
	vc_jgen_key(b, "size");
	vc_jgen_uint(b, (uint64_t)mib << 20);
	if (shared)
		vc_jgen_kv_bool(b, "share", true);
	vc_jgen_kv_string(d, "driver", "pc-dimm");
	vc_jgen_kv_string(d, "id", id);
	vc_jgen_kv_string(d, "memdev", obj);
	if ((r = finish(b, backend, err)) < 0 || (r = finish(d, device, err)) < 0) {
		free(steal_ptr(*backend));
		return r;
	}
	return 0;
}

int vc_hv_hotplug_memory(struct vc_hv *hv, const char *id, unsigned mib, struct vc_error *err)
{
	char what[80];
	snprintf(what, sizeof(what), "memory %s (%u MiB)", id ? id : "", mib);
	if (id && find_plugged(hv, id))
		return vc_error_set(err, EEXIST, "hot-plug %s: plugged already", what);
	size_t dimms = 0;
	for (size_t i = 0; i < hv->n_plugged; i++)
		dimms += hv->plugged[i].kind == VC_HV_PLUG_DIMM;
	if (mib > hv->hotplug_mem_mib || dimms >= VC_HV_MEM_SLOTS)
		return vc_error_set(err, ENOSPC,
				    "hot-plug %s: the VM has room for %u MiB more in %zu slots "
				    "(hotplug_memory_mib in vcrun's config)",
				    what, hv->hotplug_mem_mib, VC_HV_MEM_SLOTS - dimms);
	_cleanup_free_ char *backend = NULL, *device = NULL;
	int r = vc_hv_qmp_memory_args(id, mib, hv->shared_mem, &backend, &device, err);
	if (r < 0)
		return r;
	char obj[HV_ID_MAX + 8];
	snprintf(obj, sizeof(obj), "%s-mem", id);
	r = vc_hv_qmp_execute(hv->qmp_path, "object-add", backend, HV_PLUG_TIMEOUT_MS, NULL, err);
	if (r < 0)
		return vc_error_wrap(err, "hot-plug %s", what);
	if ((r = device_add(hv, what, device, err)) < 0) {
		del_backend(hv, VC_HV_PLUG_DIMM, obj, NULL);
		return r;
	}
	if ((r = record(hv, VC_HV_PLUG_DIMM, id, 0, obj, err)) < 0)
		return r;
	hv->plugged[hv->n_plugged - 1].mib = mib;
	hv->hotplug_mem_mib -= mib;
	return 0;
}

/* The free vCPU slot with the lowest ids in query-hotpluggable-cpus' answer (QEMU
 * lists them highest first); NULL when all are taken. */
static const struct vc_json *free_cpu_slot(const struct vc_json *list)
{
	const struct vc_json *best = NULL;
	int64_t best_key = INT64_MAX;
	for (size_t i = 0; list && list->type == VC_JSON_ARRAY && i < list->u.array.len; i++) {
		const struct vc_json *c = list->u.array.items[i];
		const struct vc_json *props = vc_json_get(c, "props");
		if (vc_json_get(c, "qom-path") || !props || props->type != VC_JSON_OBJECT ||
		    !vc_json_str(vc_json_get(c, "type")))
			continue;
		int64_t s = 0, co = 0, t = 0;
		vc_json_to_i64(vc_json_get(props, "socket-id"), &s);
		vc_json_to_i64(vc_json_get(props, "core-id"), &co);
		vc_json_to_i64(vc_json_get(props, "thread-id"), &t);
		int64_t key = (s << 32) + (co << 16) + t;
		if (key < best_key) {
			best_key = key;
			best = c;
		}
	}
	return best;
}

int vc_hv_hotplug_vcpu(struct vc_hv *hv, const char *id, struct vc_error *err)
{
	char what[64];
	snprintf(what, sizeof(what), "vCPU %s", id ? id : "");
	int r = check_id(id, err);
	if (r < 0)
		return r;
	if (find_plugged(hv, id))
		return vc_error_set(err, EEXIST, "hot-plug %s: plugged already", what);
	_cleanup_free_ char *text = NULL;
	r = vc_hv_qmp_execute(hv->qmp_path, "query-hotpluggable-cpus", NULL, HV_PLUG_TIMEOUT_MS,
			      &text, err);
	if (r < 0)
		return vc_error_wrap(err, "hot-plug %s", what);
	_cleanup_json_ struct vc_json *list = NULL;
	if ((r = vc_json_parse(text, strlen(text), "query-hotpluggable-cpus", &list, err)) < 0)
		return vc_error_wrap(err, "hot-plug %s", what);
	const struct vc_json *slot = free_cpu_slot(list);
	if (!slot)
		return vc_error_set(err, ENOSPC,
				    "hot-plug %s: every possible vCPU is there already (max_vcpus "
				    "in vcrun's config)",
				    what);
	_cleanup_jgen_ struct vc_jgen *g = open_args();
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_kv_string(g, "driver", vc_json_str(vc_json_get(slot, "type")));
	vc_jgen_kv_string(g, "id", id);
	/* socket-id, core-id, thread-id (die-id, node-id where QEMU has them): the
	 * slot's own, as QEMU asks for them. */
	const struct vc_json *props = vc_json_get(slot, "props");
	for (size_t i = 0; i < props->u.object.len; i++) {
		vc_jgen_key(g, props->u.object.members[i].key);
		vc_jgen_value(g, props->u.object.members[i].value);
	}
	_cleanup_free_ char *args = NULL;
	if ((r = finish(g, &args, err)) < 0 || (r = device_add(hv, what, args, err)) < 0)
		return r;
	return record(hv, VC_HV_PLUG_CPU, id, 0, NULL, err);
}
