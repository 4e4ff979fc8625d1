/* CloneSetup's params: struct, encoder and the validating decoder. */
#include "agent-proto/clone-msg.h"

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"

#define CS "CloneSetup: params."
/* 2^40 s is 36812 years: past any real clock, still far from overflowing time_t. */
#define TIME_SEC_MAX (1LL << 40)

static bool hostname_ok(const char *s, size_t n)
{
	if (n == 0 || n > VC_CLONE_HOSTNAME_MAX || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return false;
	}
	return true;
}

static bool cid_ok(uint64_t cid)
{
	return cid == 0 || (cid >= 3 && cid < UINT32_MAX);
}

int vc_clone_setup_to_json(const struct vc_clone_setup *s, struct vc_json **out,
			   struct vc_error *err)
{
	*out = NULL;
	if (s->n_entropy < VC_CLONE_ENTROPY_MIN || s->n_entropy > VC_CLONE_ENTROPY_MAX)
		return vc_error_set(err, EINVAL, CS "entropy: %zu bytes (%d to %d)", s->n_entropy,
				    VC_CLONE_ENTROPY_MIN, VC_CLONE_ENTROPY_MAX);
	if (!hostname_ok(s->hostname, strnlen(s->hostname, sizeof(s->hostname))))
		return vc_error_set(err, EINVAL, CS "hostname: `%.64s` is not a host name",
				    s->hostname);
	if (s->time_sec <= 0 || s->time_sec > TIME_SEC_MAX || s->time_nsec > 999999999u)
		return vc_error_set(err, EINVAL, CS "time_sec: out of range");
	if (!cid_ok(s->vsock_cid))
		return vc_error_set(err, EINVAL, CS "vsock_cid: %u is not a guest CID",
				    s->vsock_cid);
	char hex[VC_CLONE_ENTROPY_MAX * 2 + 1];
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < s->n_entropy; i++) {
		hex[2 * i] = digits[s->entropy[i] >> 4];
		hex[2 * i + 1] = digits[s->entropy[i] & 15];
	}
	hex[2 * s->n_entropy] = '\0';
	_cleanup_json_ struct vc_json *o = vc_json_new_object();
	if (!o || vc_json_object_set(o, "entropy", vc_json_new_string(hex)) < 0 ||
	    vc_json_object_set(o, "time_sec", vc_json_new_int(s->time_sec)) < 0 ||
	    vc_json_object_set(o, "time_nsec", vc_json_new_uint(s->time_nsec)) < 0 ||
	    vc_json_object_set(o, "hostname", vc_json_new_string(s->hostname)) < 0 ||
	    vc_json_object_set(o, "vsock_cid", vc_json_new_uint(s->vsock_cid)) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	*out = steal_ptr(o);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* the encoder writes lower case only */
}

static int get_uint(const struct vc_json *params, const char *key, uint64_t max, uint64_t *out,
		    struct vc_error *err)
{
	const struct vc_json *v = vc_json_get(params, key);
	if (!v)
		return vc_error_set(err, EINVAL, CS "%s is required", key);
	if (v->type != VC_JSON_NUMBER || vc_json_to_u64(v, out) < 0 || *out > max)
		return vc_error_set(err, EINVAL, CS "%s: must be a number from 0 to %llu", key,
				    (unsigned long long)max);
	return 0;
}

static int decode(const struct vc_json *params, struct vc_clone_setup *out, struct vc_error *err)
{
	if (!params || params->type != VC_JSON_OBJECT)
		return vc_error_set(err, EINVAL, "CloneSetup: params: must be an object");
	const struct vc_json *e = vc_json_get(params, "entropy");
	const char *hex = vc_json_str(e);
	if (!e)
		return vc_error_set(err, EINVAL, CS "entropy is required");
	/* A string may hold NUL bytes: its length is the JSON's, not strlen's. */
	size_t n = hex ? e->u.string.len : 0;
	if (!hex || strlen(hex) != n || n % 2 || n / 2 < VC_CLONE_ENTROPY_MIN ||
	    n / 2 > VC_CLONE_ENTROPY_MAX)
		return vc_error_set(err, EINVAL,
				    CS "entropy: must be %d to %d bytes as lower-case hex",
				    VC_CLONE_ENTROPY_MIN, VC_CLONE_ENTROPY_MAX);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return vc_error_set(err, EINVAL,
					    CS "entropy: `%c%c` at byte %zu is not hex", hex[2 * i],
					    hex[2 * i + 1], i);
		out->entropy[i] = (uint8_t)(hi << 4 | lo);
	}
	out->n_entropy = n / 2;
	uint64_t u;
	int r = get_uint(params, "time_sec", TIME_SEC_MAX, &u, err);
	if (r < 0)
		return r;
	if (u == 0)
		return vc_error_set(err, EINVAL, CS "time_sec: must be after 1970");
	out->time_sec = (int64_t)u;
	if ((r = get_uint(params, "time_nsec", 999999999u, &u, err)) < 0)
		return r;
	out->time_nsec = (uint32_t)u;
	if ((r = get_uint(params, "vsock_cid", UINT32_MAX - 1, &u, err)) < 0)
		return r;
	if (!cid_ok(u))
		return vc_error_set(err, EINVAL, CS "vsock_cid: %llu is not a guest CID",
				    (unsigned long long)u);
	out->vsock_cid = (uint32_t)u;
	const struct vc_json *h = vc_json_get(params, "hostname");
	const char *name = vc_json_str(h);
	if (!h)
		return vc_error_set(err, EINVAL, CS "hostname is required");
	if (!name || strlen(name) != h->u.string.len || !hostname_ok(name, strlen(name)))
		return vc_error_set(err, EINVAL,
				    CS "hostname: must be 1 to %d letters, digits, '-' or '.'",
				    VC_CLONE_HOSTNAME_MAX);
	memcpy(out->hostname, name, strlen(name) + 1);
	return 0;
}

int vc_clone_setup_from_json(const struct vc_json *params, struct vc_clone_setup *out,
			     struct vc_error *err)
{
	memset(out, 0, sizeof(*out));
	int r = decode(params, out, err);
	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}
