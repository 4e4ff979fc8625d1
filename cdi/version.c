/* cdiVersion: the known versions and the oldest one a spec's content needs
 * (specs-go/version.go). */
#include <stdio.h>
#include <string.h>

#include "cdi/cdi-internal.h"
#include "common/cleanup.h"

/* Oldest first; pkg/cdi knows 0.1.0 and 0.2.0 too, but loads nothing older than
 * 0.3.0 (its earliest supported version), and neither does vcrun. */
static const char *const versions[] = {
	"0.3.0", "0.4.0", "0.5.0", "0.6.0", "0.7.0", "0.8.0", "1.0.0", "1.1.0",
};
enum { V030, V040, V050, V060, V070, V080, V100, V110 };

int cdi_version_index(const char *v)
{
	if (!v)
		return -1;
	if (v[0] == 'v')
		v++;
	for (size_t i = 0; i < VC_ARRAY_SIZE(versions); i++)
		if (!strcmp(v, versions[i]))
			return (int)i;
	return -1;
}

const char *cdi_version_name(int index)
{
	return index >= 0 && (size_t)index < VC_ARRAY_SIZE(versions) ? versions[index] : NULL;
}

/* Each test says which field needs the version, for the message. */
typedef bool (*edits_test)(const struct cdi_edits *e, char *why, size_t len);

static bool edits_need_v110(const struct cdi_edits *e, char *why, size_t len)
{
	const struct cdi_intel_rdt *r = e->intel_rdt;
	if (e->n_net_devices > 0)
		snprintf(why, len, "netDevices");
	else if (r && r->schemata)
		snprintf(why, len, "intelRdt.schemata");
	else if (r && r->enable_monitoring)
		snprintf(why, len, "intelRdt.enableMonitoring");
	else
		return false;
	return true;
}

static bool edits_need_v070(const struct cdi_edits *e, char *why, size_t len)
{
	if (e->intel_rdt)
		snprintf(why, len, "intelRdt");
	else if (e->n_additional_gids > 0)
		snprintf(why, len, "additionalGids");
	else
		return false;
	return true;
}

static bool edits_need_v050(const struct cdi_edits *e, char *why, size_t len)
{
	for (size_t i = 0; i < e->n_device_nodes; i++) {
		if (e->device_nodes[i].host_path && *e->device_nodes[i].host_path) {
			snprintf(why, len, "deviceNodes[%zu].hostPath", i);
			return true;
		}
	}
	return false;
}

static bool edits_need_v040(const struct cdi_edits *e, char *why, size_t len)
{
	for (size_t i = 0; i < e->n_mounts; i++) {
		if (e->mounts[i].type && *e->mounts[i].type) {
			snprintf(why, len, "mounts[%zu].type", i);
			return true;
		}
	}
	return false;
}

/* Whether the spec-wide edits or any device's edits need a version. */
static bool any_edits(const struct cdi_spec *s, edits_test need, char *why, size_t len)
{
	char sub[CDI_PATH_MAX];
	if (need(&s->edits, sub, sizeof(sub))) {
		snprintf(why, len, "containerEdits.%s", sub);
		return true;
	}
	for (size_t i = 0; i < s->n_devices; i++) {
		if (need(&s->devices[i].edits, sub, sizeof(sub))) {
			snprintf(why, len, "devices[%zu].containerEdits.%s", i, sub);
			return true;
		}
	}
	return false;
}

static bool needs_v060(const struct cdi_spec *s, char *why, size_t len)
{
	if (s->n_annotations > 0) {
		snprintf(why, len, "annotations");
		return true;
	}
	for (size_t i = 0; i < s->n_devices; i++) {
		if (s->devices[i].n_annotations > 0) {
			snprintf(why, len, "devices[%zu].annotations", i);
			return true;
		}
	}
	/* A dot in the class (the part of kind after its first '/'). */
	const char *slash = s->kind ? strchr(s->kind, '/') : NULL;
	if (slash && strchr(slash + 1, '.')) {
		snprintf(why, len, "kind (a dot in the class)");
		return true;
	}
	return false;
}

static bool needs_v050(const struct cdi_spec *s, char *why, size_t len)
{
	for (size_t i = 0; i < s->n_devices; i++) {
		const char *n = s->devices[i].name;
		if (n && n[0] >= '0' && n[0] <= '9') {
			snprintf(why, len, "devices[%zu].name (starts with a digit)", i);
			return true;
		}
	}
	return any_edits(s, edits_need_v050, why, len);
}

const char *cdi_spec_minimum_version(const struct cdi_spec *s, char *why, size_t len)
{
	char scratch[CDI_PATH_MAX];
	if (!why) {
		why = scratch;
		len = sizeof(scratch);
	}
	snprintf(why, len, "nothing newer");
	int v = V030;
	if (any_edits(s, edits_need_v110, why, len))
		v = V110;
	else if (any_edits(s, edits_need_v070, why, len))
		v = V070;
	else if (needs_v060(s, why, len))
		v = V060;
	else if (needs_v050(s, why, len))
		v = V050;
	else if (any_edits(s, edits_need_v040, why, len))
		v = V040;
	return versions[v];
}
