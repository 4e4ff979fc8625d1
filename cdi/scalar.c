/* Scalars as pkg/cdi sees them. It reads every spec, JSON included, through
 * sigs.k8s.io/yaml: YAML 1.1 typing of plain scalars (go-yaml v2's resolve), and a
 * number or boolean where a string is expected becomes that string, formatted the
 * way Go formats it (so `name: 0` names the device "0"). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/scalar.h"
#include "common/cleanup.h"

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

/* Go's strconv.ParseInt/ParseUint with base 0 on s (underscores already gone). */
static bool parse_go_int(const char *s, struct cdi_scalar *out)
{
	bool neg = false, plus = false;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		plus = *s == '+';
		s++;
	}
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
		base = 8;
		s += 2;
	} else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
		base = 2;
		s += 2;
	} else if (s[0] == '0' && s[1]) {
		base = 8;
		s++;
	}
	if (!*s)
		return false;
	for (const char *p = s; *p; p++) {
		int d = *p >= '0' && *p <= '9'	 ? *p - '0'
			: *p >= 'a' && *p <= 'z' ? *p - 'a' + 10
			: *p >= 'A' && *p <= 'Z' ? *p - 'A' + 10
						 : 99;
		if (d >= base)
			return false;
	}
	errno = 0;
	unsigned long long u = strtoull(s, NULL, base);
	if (errno == ERANGE)
		return false;
	if (neg) {
		if (u > (unsigned long long)INT64_MAX + 1)
			return false;
		out->type = CDI_SCALAR_INT;
		out->i = u == (unsigned long long)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
		return true;
	}
	if (u <= INT64_MAX) {
		out->type = CDI_SCALAR_INT;
		out->i = (int64_t)u;
		return true;
	}
	if (plus) /* ParseUint takes no sign */
		return false;
	out->type = CDI_SCALAR_UINT;
	out->u = u;
	return true;
}

/* go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool is_yaml_float(const char *s)
{
	size_t i = 0, digits;
	if (s[i] == '-' || s[i] == '+')
		i++;
	if (s[i] == '.') {
		i++;
		for (digits = 0; s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
		if (!digits)
			return false;
	} else {
		for (digits = 0; s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
		if (!digits)
			return false;
		if (s[i] == '.')
			for (i++; s[i] >= '0' && s[i] <= '9'; i++)
				;
	}
	if (s[i] == 'e' || s[i] == 'E') {
		i++;
		if (s[i] == '-' || s[i] == '+')
			i++;
		for (digits = 0; s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
		if (!digits)
			return false;
	}
	return s[i] == '\0';
}

int cdi_scalar_resolve(const char *s, struct cdi_scalar *out)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const trues[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
					    "True", "TRUE", "on",  "On",  "ON",	 NULL};
	static const char *const falses[] = {"n",     "N",     "no",  "No",  "NO",  "false",
					     "False", "FALSE", "off", "Off", "OFF", NULL};
	static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
	static const char *const infs[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
	static const char *const ninfs[] = {"-.inf", "-.Inf", "-.INF", NULL};

	memset(out, 0, sizeof(*out));
	out->type = CDI_SCALAR_STRING;
	/* go-yaml's resolve table: other first characters give no hint, a string. */
	if (s[0] && !strchr("yYnNtTfFoO~.+-0123456789", s[0]))
		return 0;
	/* Every word of the lists has at most five characters. */
	bool short_word = strnlen(s, 6) <= 5;
	if (short_word && in_list(s, nulls)) {
		out->type = CDI_SCALAR_NULL;
		return 0;
	}
	if (short_word && (in_list(s, trues) || in_list(s, falses))) {
		out->type = CDI_SCALAR_BOOL;
		out->b = in_list(s, trues);
		return 0;
	}
	if (short_word && (in_list(s, nans) || in_list(s, infs) || in_list(s, ninfs))) {
		out->type = CDI_SCALAR_FLOAT;
		out->f = in_list(s, nans) ? NAN : in_list(s, infs) ? INFINITY : -INFINITY;
		return 0;
	}
	out->type = CDI_SCALAR_STRING;
	if (!strchr("0123456789+-.", s[0]))
		return 0;
	_cleanup_free_ char *plain = malloc(strlen(s) + 1);
	if (!plain)
		return -ENOMEM;
	char *w = plain;
	for (const char *p = s; *p; p++)
		if (*p != '_')
			*w++ = *p;
	*w = '\0';
	if (parse_go_int(plain, out))
		return 0;
	if (is_yaml_float(plain)) {
		out->type = CDI_SCALAR_FLOAT;
		out->f = strtod(plain, NULL);
		return 0;
	}
	out->type = CDI_SCALAR_STRING;
	return 0;
}

void cdi_format_go_float32(double d, char *buf, size_t len)
{
	if (isnan(d)) {
		snprintf(buf, len, "NaN");
		return;
	}
	float f = (float)d;
	if (isinf(f)) {
		snprintf(buf, len, "%cInf", f < 0 ? '-' : '+');
		return;
	}
	if (f == 0) {
		snprintf(buf, len, "%s", signbit(f) ? "-0" : "0");
		return;
	}
	/* The fewest significant digits that read back as the same float32. */
	char e[64];
	int prec = 1;
	for (; prec < 9; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, (double)f);
		if (strtof(e, NULL) == f)
			break;
	}
	snprintf(e, sizeof(e), "%.*e", prec - 1, (double)f);
	/* e: "[-]d.ddde[+-]XX": its digits and the decimal point's position. */
	bool neg = e[0] == '-';
	const char *p = e + neg;
	char digits[16];
	size_t nd = 0;
	for (; *p && *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	int exp = atoi(p + 1);
	/* strconv.FormatFloat(f, 'g', -1, 32): %e when exp < -4 || exp >= 6. */
	size_t o = 0;
	char out[64];
	if (neg)
		out[o++] = '-';
	if (exp < -4 || exp >= 6) {
		out[o++] = digits[0];
		if (nd > 1) {
			out[o++] = '.';
			for (size_t i = 1; i < nd; i++)
				out[o++] = digits[i];
		}
		o += (size_t)snprintf(out + o, sizeof(out) - o, "e%c%02d", exp < 0 ? '-' : '+',
				      exp < 0 ? -exp : exp);
	} else if (exp < 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int i = -1; i > exp; i--)
			out[o++] = '0';
		for (size_t i = 0; i < nd; i++)
			out[o++] = digits[i];
	} else {
		for (int i = 0; i <= exp || (size_t)i < nd; i++) {
			if (i == exp + 1)
				out[o++] = '.';
			out[o++] = (size_t)i < nd ? digits[i] : '0';
		}
	}
	out[o] = '\0';
	snprintf(buf, len, "%s", out);
}

int cdi_scalar_text(const struct vc_json *v, char *buf, size_t len)
{
	switch (v->type) {
	case VC_JSON_BOOL:
		snprintf(buf, len, "%s", v->u.boolean ? "true" : "false");
		return 0;
	case VC_JSON_NUMBER: {
		int64_t i;
		uint64_t u;
		if (vc_json_to_i64(v, &i) == 0)
			snprintf(buf, len, "%" PRId64, i);
		else if (vc_json_to_u64(v, &u) == 0)
			snprintf(buf, len, "%" PRIu64, u);
		else
			cdi_format_go_float32(strtod(v->u.number.text, NULL), buf, len);
		return 0;
	}
	default:
		return -EINVAL;
	}
}

int cdi_number_integral(const struct vc_json *v, bool *neg, uint64_t *mag)
{
	if (v->type != VC_JSON_NUMBER)
		return -EINVAL;
	int64_t i;
	if (vc_json_to_i64(v, &i) == 0) {
		*neg = i < 0;
		*mag = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
		return 0;
	}
	if (vc_json_to_u64(v, mag) == 0) {
		*neg = false;
		return 0;
	}
	/* A float with no fraction goes through Go's JSON as plain digits (below 1e21). */
	double d = strtod(v->u.number.text, NULL);
	if (!isfinite(d) || d != floor(d) || fabs(d) >= 1e21)
		return -EINVAL;
	if (fabs(d) >= 18446744073709551616.0)
		return -ERANGE;
	*neg = d < 0;
	*mag = (uint64_t)fabs(d);
	return 0;
}

const char *cdi_type_phrase(const struct vc_json *v)
{
	static const char *const phrases[] = {"null",	  "a boolean", "a number",
					      "a string", "an array",  "an object"};
	return (unsigned)v->type < VC_ARRAY_SIZE(phrases) ? phrases[v->type] : "a value";
}
