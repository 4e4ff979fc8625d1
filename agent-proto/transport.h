/* Byte channels that carry frames: virtio-serial (a QEMU chardev Unix socket on the
 * host, a /dev/vportNpM node in the guest), AF_VSOCK, and hybrid vsock (a Unix
 * socket with the "CONNECT <port>\n" / "OK <port>\n" handshake of
 * cloud-hypervisor and Firecracker). All returned fds are blocking and CLOEXEC. */
#ifndef VC_AGENT_PROTO_TRANSPORT_H
#define VC_AGENT_PROTO_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

#define VC_AGENT_VSOCK_PORT  1024
#define VC_AGENT_SERIAL_NAME "vcrun.agent"

/* Host side. Each retries until timeout_ms passes (the peer may still be booting). */
int vc_transport_connect_unix(const char *path, int timeout_ms, struct vc_error *err);
/* Refuses CID 0, 1 and 2 (host): vcrun never connects to its own host. */
int vc_transport_connect_vsock(uint32_t cid, uint32_t port, int timeout_ms, struct vc_error *err);
int vc_transport_connect_hvsock(const char *uds_path, uint32_t port, int timeout_ms,
				struct vc_error *err);
/* Whether AF_VSOCK through vhost-vsock is usable on this host (/dev/vhost-vsock). */
bool vc_transport_vhost_vsock_available(const char *dev_root);

/* Guest side. */
int vc_transport_listen_vsock(uint32_t port, struct vc_error *err);
/* Finds the virtio-serial port named `name` under sysfs_root/class/virtio-ports and
 * opens its /dev node (dev_root/vportNpM). */
int vc_transport_open_serial(const char *sysfs_root, const char *dev_root, const char *name,
			     struct vc_error *err);

#endif
