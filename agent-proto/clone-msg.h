/* CloneSetup: the one request a VM restored from a template gets before any
 * container process runs (docs/agent-protocol.md, "Templates"). Every clone starts
 * from the same memory, so it must be made its own machine: fresh entropy that the
 * agent credits and reseeds the CRNG with, the host's wall clock (the guest's stood
 * still since the snapshot), a hostname, and the vsock CID where one is used.
 *
 * The agent is the decoder's user, and the host that sends is trusted there; the
 * decoder is still a full gate (bounded, typed, ranges checked) so that a stray
 * or hostile body is refused by name, never acted upon. */
#ifndef VC_AGENT_PROTO_CLONE_MSG_H
#define VC_AGENT_PROTO_CLONE_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "oci/json.h"

#define VC_M_CLONE_SETUP "CloneSetup"

/* RNDADDENTROPY takes any size; 32 bytes are one full reseed of the CRNG, 512 is
 * plenty (the host sends 64). */
#define VC_CLONE_ENTROPY_MIN  32
#define VC_CLONE_ENTROPY_MAX  512
#define VC_CLONE_HOSTNAME_MAX 64 /* HOST_NAME_MAX */

struct vc_clone_setup {
	uint8_t entropy[VC_CLONE_ENTROPY_MAX];
	size_t n_entropy;   /* VC_CLONE_ENTROPY_MIN..VC_CLONE_ENTROPY_MAX; hex on the wire */
	int64_t time_sec;   /* the host's CLOCK_REALTIME: 1..2^40 */
	uint32_t time_nsec; /* 0..999999999 */
	char hostname[VC_CLONE_HOSTNAME_MAX +
		      1];   /* 1..64 of [A-Za-z0-9.-], not starting with - or . */
	uint32_t vsock_cid; /* 0: no vsock; else 3..0xfffffffe */
};

/* params object of the request. */
int vc_clone_setup_to_json(const struct vc_clone_setup *s, struct vc_json **out,
			   struct vc_error *err);
/* EINVAL naming the field ("CloneSetup: params.time_nsec: must be a number from 0
 * to 999999999"); *out is zeroed on failure. Unknown fields are ignored. */
int vc_clone_setup_from_json(const struct vc_json *params, struct vc_clone_setup *out,
			     struct vc_error *err);

#endif
