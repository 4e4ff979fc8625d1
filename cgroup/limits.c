/* linux.resources -> the values vcrun writes on the host. runc's conversions;
 * memory and pids get the VM's room on top (README.md: "The VM's room"). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cgroup/cgroup.h"

/* Room for the guest kernel that create adds to a memory limit when it sizes the
 * VM (lib/plan.c). */
#define GUEST_ROOM (128ull << 20)

uint64_t vc_cgroup_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2; /* runc's formula underflows below 2; the kernel's minimum is 2 */
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t vc_cgroup_blkio_to_io_weight(uint16_t weight)
{
	if (weight == 0)
		return 0;
	if (weight < 10)
		weight = 10;
	return 1 + ((uint64_t)weight - 10) * 9999 / 990;
}

static int64_t clamp_add(int64_t a, uint64_t b)
{
	uint64_t s = (uint64_t)a + b;
	return s > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)s;
}

static int memory(enum vc_cgroup_mode mode, const struct vc_oci_resources *res,
		  const struct vc_cgroup_vm *vm, struct vc_cgroup_limits *out, struct vc_error *err)
{
	int64_t L = res->has_memory_limit ? res->memory_limit : 0;
	/* The whole VM must fit: its RAM and QEMU's own, or the host's OOM killer
	 * takes QEMU when the guest touches memory it was given. Never less than the
	 * limit plus the VM's fixed part, for a limit raised past the RAM by update. */
	if (L > 0) {
		int64_t vm_all = clamp_add((int64_t)vm->ram, vm->overhead);
		int64_t by_limit = clamp_add(clamp_add(L, GUEST_ROOM), vm->overhead);
		out->has_memory = true;
		out->memory = vm_all > by_limit ? vm_all : by_limit;
	} else if (L < 0) {
		out->has_memory = true;
		out->memory = -1;
	}
	if (res->has_memory_reservation && res->memory_reservation != 0) {
		out->has_memory_low = true;
		out->memory_low =
			res->memory_reservation < 0
				? -1
				: clamp_add(clamp_add(res->memory_reservation, GUEST_ROOM),
					    vm->overhead);
		if (out->memory_low >= 0 && out->has_memory && out->memory > 0 &&
		    out->memory_low > out->memory)
			out->memory_low = out->memory;
	}
	int64_t S = res->has_memory_swap ? res->memory_swap : 0;
	if (S == 0) {
		/* runc: an unlimited memory with swap unset is unlimited swap too */
		if (mode == VC_CGROUP_V2 && L == -1) {
			out->has_memsw = true;
			out->memsw = -1;
		}
		return 0;
	}
	if (S < 0) {
		out->has_memsw = true;
		out->memsw = -1;
		return 0;
	}
	/* Swap on top of a limit keeps its allowance (swap - limit) on the host; a
	 * swap alone has no limit to measure it from and stays the guest's. */
	if (L <= 0)
		return 0;
	if (S < L)
		return vc_error_set(err, EINVAL,
				    "linux.resources.memory.swap: %" PRId64
				    " is below linux.resources.memory.limit %" PRId64
				    " (memory+swap limit should be >= memory limit)",
				    S, L);
	out->has_memsw = true;
	out->memsw = mode == VC_CGROUP_V2 ? S - L : clamp_add(out->memory, (uint64_t)(S - L));
	return 0;
}

/* blockIO.weight is not in the parsed model (oci/ keeps blockIO raw). */
static int blkio_weight(const struct vc_oci_resources *res, uint16_t *out, struct vc_error *err)
{
	const struct vc_json *w = vc_json_get(vc_json_get(res->raw, "blockIO"), "weight");
	uint64_t v = 0;
	if (!w)
		return 0;
	if (vc_json_to_u64(w, &v) < 0 || v > UINT16_MAX)
		return vc_error_set(err, EINVAL,
				    "linux.resources.blockIO.weight: must be an integer from 0 to "
				    "65535");
	*out = (uint16_t)v;
	return 0;
}

int vc_cgroup_limits(enum vc_cgroup_mode mode, const struct vc_oci_resources *res,
		     const struct vc_cgroup_vm *vm, struct vc_cgroup_limits *out,
		     struct vc_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!res)
		return 0;
	int r = memory(mode, res, vm, out, err);
	if (r < 0)
		return r;
	if (res->has_cpu_shares && res->cpu_shares)
		out->cpu_shares = mode == VC_CGROUP_V2 ? vc_cgroup_shares_to_weight(res->cpu_shares)
						       : res->cpu_shares;
	if (res->has_cpu_quota)
		out->cpu_quota = res->cpu_quota < 0 ? -1 : res->cpu_quota;
	if (res->has_cpu_period)
		out->cpu_period = res->cpu_period;
	out->cpus = res->cpu_cpus;
	out->mems = res->cpu_mems;
	/* Guest processes are not host tasks; the VM's own threads need room. */
	if (res->has_pids_limit && res->pids_limit > 0)
		out->pids = clamp_add(res->pids_limit, (uint64_t)vm->pids_overhead);
	else if (res->has_pids_limit && res->pids_limit < 0)
		out->pids = -1;
	return blkio_weight(res, &out->blkio_weight, err);
}
