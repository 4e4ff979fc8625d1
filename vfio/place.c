/* Where the passed devices sit in the guest. The functions of one host slot that
 * share a group stay functions of one guest slot behind one pcie-root-port: the
 * guest then sees the group as the host does, and drivers that reach for a
 * sibling function (a GPU's audio function) find it where they expect it. */
#include "vfio/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

#define PORT_MAX     255	  /* pcie-root-port's chassis is 8 bits */
#define HOLE64_LIMIT (1ULL << 52) /* 4 PiB: past any guest's physical address bits */

void vc_vfio_plan_release(struct vc_vfio_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_pci; i++)
		free(p->pci[i].host);
	free(p->pci);
	for (size_t i = 0; i < p->n_ap; i++)
		free(p->ap[i]);
	free(p->ap);
	memset(p, 0, sizeof(*p));
}

static uint64_t pow2_at_least(uint64_t x)
{
	uint64_t p = 1;
	while (p < x && p < HOLE64_LIMIT)
		p <<= 1;
	return p;
}

/* Window sizes accumulate over the plan's ports. */
struct hole {
	uint64_t windows;
	bool unknown;
};

static int add_slot(struct vc_vfio_plan *p, struct hole *h, const struct vc_vfio_group *g,
		    const struct vc_vfio_pci_dev **fns, size_t n, unsigned port,
		    struct vc_error *err)
{
	bool has_fn0 = false;
	for (size_t k = 0; k < n; k++)
		has_fn0 |= fns[k]->addr.function == 0;
	uint64_t bars = 0;
	for (size_t k = 0; k < n; k++) {
		struct vc_hv_vfio_pci *e = &p->pci[p->n_pci];
		e->host = strdup(fns[k]->bdf);
		if (!e->host)
			return vc_error_set(err, ENOMEM, "out of memory");
		p->n_pci++;
		e->port = port;
		e->function = has_fn0 ? fns[k]->addr.function : (unsigned)k;
		e->multifunction = e->function == 0 && n > 1;
		e->group = g->id;
		h->unknown |= !fns[k]->bar64_known;
		bars += fns[k]->bar64_bytes;
		if (bars >= HOLE64_LIMIT)
			return vc_error_set(err, E2BIG,
					    "IOMMU group %u: the 64-bit BARs of slot %s add up to "
					    "more than any guest can map",
					    g->id, fns[0]->bdf);
	}
	if (bars)
		h->windows += pow2_at_least(bars);
	return 0;
}

static int place_group(struct vc_vfio_plan *p, struct hole *h, const struct vc_vfio_group *g,
		       unsigned *port, struct vc_error *err)
{
	_cleanup_free_ bool *done = calloc(g->n_pci ? g->n_pci : 1, sizeof(bool));
	_cleanup_free_ const struct vc_vfio_pci_dev **fns =
		calloc(g->n_pci ? g->n_pci : 1, sizeof(*fns));
	if (!done || !fns)
		return vc_error_set(err, ENOMEM, "out of memory");
	/* g->pci is sorted by BDF, so a slot's functions come out in order. */
	for (size_t i = 0; i < g->n_pci; i++) {
		if (done[i] || g->pci[i].bridge)
			continue;
		size_t n = 0;
		for (size_t j = i; j < g->n_pci; j++) {
			if (!done[j] && !g->pci[j].bridge &&
			    vc_pci_same_slot(&g->pci[i].addr, &g->pci[j].addr)) {
				done[j] = true;
				fns[n++] = &g->pci[j];
			}
		}
		if (*port > PORT_MAX)
			return vc_error_set(err, E2BIG,
					    "IOMMU group %u: device %s would need root port %u (at "
					    "most %d)",
					    g->id, g->pci[i].bdf, *port, PORT_MAX);
		int r = add_slot(p, h, g, fns, n, (*port)++, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < g->n_ap; i++) {
		char *path = strdup(g->ap[i].sysfs_path);
		if (!path)
			return vc_error_set(err, ENOMEM, "out of memory");
		p->ap[p->n_ap++] = path;
	}
	return 0;
}

static bool placed_before(const struct vc_vfio_group *groups, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (groups[j].id == groups[i].id)
			return true;
	return false;
}

int vc_vfio_place(const struct vc_vfio_group *groups, size_t n_groups, unsigned first_port,
		  struct vc_vfio_plan *out, struct vc_error *err)
{
	memset(out, 0, sizeof(*out));
	if (first_port < 1)
		return vc_error_set(err, EINVAL, "first_port: must be >= 1");
	size_t n_pci = 0, n_ap = 0;
	for (size_t i = 0; i < n_groups; i++) {
		n_pci += groups[i].n_pci;
		n_ap += groups[i].n_ap;
	}
	struct vc_vfio_plan p = {0};
	p.pci = calloc(n_pci ? n_pci : 1, sizeof(*p.pci));
	p.ap = calloc(n_ap + 1, sizeof(*p.ap));
	if (!p.pci || !p.ap) {
		vc_vfio_plan_release(&p);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	struct hole h = {0};
	unsigned port = first_port;
	for (size_t i = 0; i < n_groups; i++) {
		if (placed_before(groups, i))
			continue;
		int r = place_group(&p, &h, &groups[i], &port, err);
		if (r < 0) {
			vc_vfio_plan_release(&p);
			return r;
		}
	}
	p.n_ports = port - first_port;
	if (p.n_pci > 0) {
		uint64_t floor = h.unknown ? VC_VFIO_HOLE64_DEFAULT : VC_VFIO_HOLE64_MIN;
		uint64_t need = h.windows ? 2 * pow2_at_least(h.windows) : 0;
		p.pci_hole64_bytes = need > floor ? need : floor;
	}
	*out = p;
	return 0;
}

static void hex_kv(struct vc_jgen *g, const char *key, const char *fmt, unsigned v)
{
	char buf[16];
	snprintf(buf, sizeof(buf), fmt, v);
	vc_jgen_kv_string(g, key, buf);
}

static bool in_binding(const struct vc_vfio_binding *b, const char *bdf)
{
	for (size_t i = 0; b && i < b->n_devs; i++)
		if (!strcmp(b->devs[i].bdf, bdf))
			return true;
	return false;
}

void vc_vfio_group_describe(struct vc_jgen *g, const struct vc_vfio_group *grp,
			    const struct vc_vfio_binding *b)
{
	vc_jgen_object_open(g);
	vc_jgen_kv_int(g, "group", grp->id);
	vc_jgen_kv_string(g, "path", grp->dev_path);
	vc_jgen_key(g, "devices");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < grp->n_pci; i++) {
		const struct vc_vfio_pci_dev *d = &grp->pci[i];
		vc_jgen_object_open(g);
		vc_jgen_kv_string(g, "bdf", d->bdf);
		hex_kv(g, "vendor", "0x%04x", d->vendor);
		hex_kv(g, "device", "0x%04x", d->device);
		hex_kv(g, "class", "0x%06x", d->class_code);
		vc_jgen_kv_string(g, "driver", d->driver);
		vc_jgen_kv_bool(g, "bridge", d->bridge);
		/* pass: to the guest as is; bind: vcrun moves it to vfio-pci first;
		 * host: a bridge, which stays. */
		vc_jgen_kv_string(g, "action",
				  d->bridge		  ? "host"
				  : in_binding(b, d->bdf) ? "bind"
							  : "pass");
		if (d->bar64_known) {
			vc_jgen_key(g, "bar64_bytes");
			vc_jgen_uint(g, d->bar64_bytes);
		}
		if (d->in_use)
			vc_jgen_kv_string(g, "in_use", d->in_use);
		vc_jgen_object_close(g);
	}
	vc_jgen_array_close(g);
	vc_jgen_key(g, "ap");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < grp->n_ap; i++) {
		vc_jgen_object_open(g);
		vc_jgen_kv_string(g, "uuid", grp->ap[i].uuid);
		vc_jgen_kv_string(g, "sysfsdev", grp->ap[i].sysfs_path);
		vc_jgen_object_close(g);
	}
	vc_jgen_array_close(g);
	vc_jgen_object_close(g);
}

void vc_vfio_plan_describe(struct vc_jgen *g, const struct vc_vfio_plan *p)
{
	vc_jgen_object_open(g);
	vc_jgen_key(g, "pci");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < p->n_pci; i++) {
		vc_jgen_object_open(g);
		vc_jgen_kv_string(g, "host", p->pci[i].host);
		vc_jgen_kv_int(g, "port", p->pci[i].port);
		vc_jgen_kv_int(g, "function", p->pci[i].function);
		vc_jgen_kv_bool(g, "multifunction", p->pci[i].multifunction);
		vc_jgen_object_close(g);
	}
	vc_jgen_array_close(g);
	vc_jgen_key(g, "ap");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < p->n_ap; i++)
		vc_jgen_string(g, p->ap[i]);
	vc_jgen_array_close(g);
	vc_jgen_key(g, "pci_hole64_bytes");
	vc_jgen_uint(g, p->pci_hole64_bytes);
	vc_jgen_object_close(g);
}
