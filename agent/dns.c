/* The guest end of the DNS relay. docker points a container's resolv.conf at its
 * embedded resolver, 127.0.0.11 inside the container's network namespace on the
 * host; in the VM that address is the guest's own loopback, where nothing answers,
 * and no frame from the guest can reach the host namespace's loopback. So the agent
 * listens there itself and passes each query to the host as a DNS frame; the host
 * asks the real resolver from inside the namespace and sends the answer back.
 *
 * Queries of different clients may carry the same DNS id, so each one travels
 * under an id of the agent's choosing, and the answer gets the client's id back.
 * UDP only: stub resolvers (musl, glibc, busybox) use it, and a truncated answer is
 * what a resolver without TCP gets anyway. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent-proto/proto.h"
#include "common/util.h"

#define DNS_HDR_LEN 12
#define DNS_MAX_MSG 4096
/* Outstanding queries; the oldest slot is reused, as a client would have given up
 * on it long before 256 newer ones. */
#define DNS_SLOTS 256

struct agent_dns_slot {
	struct sockaddr_in client;
	uint16_t client_id, relay_id;
	bool used;
};

int agent_h_start_dns_relay(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			    struct vc_error *err)
{
	const char *addr = r->rq->u.dns.address;
	int rc;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) /* the decoder checked it */
		return vc_error_set(err, EINVAL, "%s: params.address: `%s` is not an IPv4 address",
				    r->method, addr);
	if (a->dns_fd >= 0)
		return vc_error_set(err, EEXIST, "%s: the relay runs already", r->method);
	if (!a->dns_slots && !(a->dns_slots = calloc(DNS_SLOTS, sizeof(*a->dns_slots))))
		return vc_error_set(err, ENOMEM, "out of memory");
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return vc_error_sys(err, errno, "%s: socket", r->method);
	/* 127.0.0.0/8 is local on lo, so any address in it can be bound. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = vc_error_sys(err, errno, "%s: bind %s:53", r->method, addr);
		close(fd);
		return rc;
	}
	a->dns_fd = fd;
	agent_info("DNS relay on %s:53", addr);
	return 0;
}

void agent_dns_from_guest(struct agent *a)
{
	uint8_t buf[DNS_MAX_MSG];
	for (;;) {
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t n =
			recvfrom(a->dns_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n < 0)
			return; /* EAGAIN: all read */
		if (n < DNS_HDR_LEN || flen != sizeof(from))
			continue;
		uint16_t relay_id = a->dns_next++;
		struct agent_dns_slot *s = &a->dns_slots[relay_id % DNS_SLOTS];
		*s = (struct agent_dns_slot){.client = from,
					     .client_id = (uint16_t)(buf[0] << 8 | buf[1]),
					     .relay_id = relay_id,
					     .used = true};
		buf[0] = (uint8_t)(relay_id >> 8);
		buf[1] = (uint8_t)relay_id;
		agent_queue_frame(a, VC_FRAME_DNS, 0, VC_DNS_FRAME_ID, buf, (size_t)n);
	}
}

void agent_dns_from_host(struct agent *a, const struct vc_frame *f)
{
	if (a->dns_fd < 0 || f->len < DNS_HDR_LEN || f->len > DNS_MAX_MSG)
		return;
	uint8_t buf[DNS_MAX_MSG];
	memcpy(buf, f->body, f->len);
	uint16_t relay_id = (uint16_t)(buf[0] << 8 | buf[1]);
	struct agent_dns_slot *s = &a->dns_slots[relay_id % DNS_SLOTS];
	if (!s->used || s->relay_id != relay_id)
		return; /* a late answer to a query whose slot was reused */
	buf[0] = (uint8_t)(s->client_id >> 8);
	buf[1] = (uint8_t)s->client_id;
	s->used = false;
	sendto(a->dns_fd, buf, f->len, MSG_DONTWAIT, (struct sockaddr *)&s->client,
	       sizeof(s->client));
}

void agent_dns_release(struct agent *a)
{
	if (a->dns_fd >= 0)
		close(a->dns_fd);
	a->dns_fd = -1;
	free(a->dns_slots);
	a->dns_slots = NULL;
}
