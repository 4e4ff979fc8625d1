/* oci/json.h: the DOM keeps what it read (order, unknown fields, exact numbers,
 * NUL bytes), refuses what it must, and says where a document is broken. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "oci/json.h"
#include "tests/unit/unit.h"

static struct vc_json *parse(const char *text)
{
	struct vc_json *v = NULL;
	struct vc_error err = {0};
	if (vc_json_parse(text, strlen(text), "t.json", &v, &err) < 0) {
		fprintf(stderr, "# parse failed: %s\n", err.msg);
		return NULL;
	}
	return v;
}

/* Compact serialisation, or NULL. */
static char *compact(const struct vc_json *v)
{
	char *out = NULL;
	struct vc_error err = {0};
	if (vc_json_serialize(v, false, &out, NULL, &err) < 0)
		return NULL;
	return out;
}

VC_TEST(round_trip_keeps_order_unknown_fields_and_numbers)
{
	static const char *docs[] = {
		"{\"z\":1,\"a\":{\"unknown\":[true,false,null],\"k\":\"v\"},\"m\":-2.5e3}",
		"{\"big\":123456789012345678901234567890,\"neg\":-0,\"f\":1.0E+2}",
		"[\"tab\\there\",\"quote\\\"\",\"slash/\",\"\\u00e9\\u2028\",{}]",
		"{\"dup\":1,\"dup\":2}",
		"[[],[[]],{\"a\":{}}]",
		"\"just a string\"",
		"42",
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(docs); i++) {
		_cleanup_json_ struct vc_json *v = parse(docs[i]);
		CHECK(v);
		_cleanup_free_ char *out = compact(v);
		/* yajl writes \u00e9 and \u2028 back as raw UTF-8. */
		if (strstr(docs[i], "\\u00e9")) {
			CHECK_STR(out, "[\"tab\\there\",\"quote\\\"\",\"slash/"
				       "\",\"\xc3\xa9\xe2\x80\xa8\",{}]");
			continue;
		}
		CHECK_STR(out, docs[i]);
	}
}

VC_TEST(pretty_output_parses_back_to_the_same_document)
{
	const char *text = "{\"b\":[1,{\"c\":null}],\"a\":\"x\",\"e\":[]}";
	_cleanup_json_ struct vc_json *v = parse(text);
	CHECK(v);
	_cleanup_free_ char *pretty = NULL;
	struct vc_error err = {0};
	CHECK(vc_json_serialize(v, true, &pretty, NULL, &err) == 0);
	CHECK(strstr(pretty, "\n\t\"b\": [\n\t\t1,"));
	_cleanup_json_ struct vc_json *again = parse(pretty);
	CHECK(again);
	_cleanup_free_ char *out = compact(again);
	CHECK_STR(out, text);
}

static char *nested(size_t depth, char open, char close)
{
	char *s = malloc(2 * depth + 1);
	if (!s)
		return NULL;
	memset(s, open, depth);
	memset(s + depth, close, depth);
	s[2 * depth] = '\0';
	return s;
}

VC_TEST(nesting_depth_is_limited)
{
	_cleanup_free_ char *ok = nested(127, '[', ']');
	_cleanup_free_ char *deep = nested(128, '[', ']');
	_cleanup_free_ char *very_deep = nested(100000, '[', ']');
	CHECK(ok && deep && very_deep);
	_cleanup_json_ struct vc_json *v = parse(ok);
	CHECK(v);
	/* The deepest document we accept can be written back. */
	_cleanup_free_ char *text = NULL;
	CHECK(vc_json_serialize(v, false, &text, NULL, NULL) == 0);
	CHECK_STR(text, ok);
	const char *too_deep[] = {deep, very_deep};
	for (size_t i = 0; i < VC_ARRAY_SIZE(too_deep); i++) {
		struct vc_json *w = NULL;
		struct vc_error err = {0};
		CHECK(vc_json_parse(too_deep[i], strlen(too_deep[i]), "d.json", &w, &err) ==
		      -EINVAL);
		CHECK(w == NULL);
		CHECK_STR(err.msg, "d.json: parse error at byte 128: nesting too deep");
	}

	/* Objects count the same way. */
	char obj[129 * 6 + 2 + 129 + 1], *p = obj;
	for (int i = 0; i < 129; i++)
		p += sprintf(p, "{\"a\":");
	p += sprintf(p, "1");
	for (int i = 0; i < 129; i++)
		*p++ = '}';
	*p = '\0';
	struct vc_json *w = NULL;
	struct vc_error err = {0};
	CHECK(vc_json_parse(obj, strlen(obj), "o.json", &w, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "nesting too deep");
}

VC_TEST(bad_json_errors_name_source_and_byte_offset)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{"", "premature EOF"},
		{"{\"a\":}", "parse error at byte 6: unallowed token at this point in JSON text"},
		{"[1,2", "parse error at byte 4: premature EOF"},
		{"{\"a\" 1}", "parse error at byte 6: object key and value must be separated"},
		{"{} x", "parse error at byte 4: trailing garbage"},
		{"[1,]", "parse error at byte 4: unallowed token"},
		{"{\"a\":1,}", "parse error at byte 8: invalid object key (must be a string)"},
		{"[1 2]", "parse error at byte 4: after array element, I expect ',' or ']'"},
		{"\"\xff\"", "parse error at byte 2: lexical error: invalid bytes in UTF8 string"},
		{"{\"a\\u0000b\":1}", "object key contains a NUL byte"},
		{"tru", "parse error at byte 3: lexical error"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(cases); i++) {
		struct vc_json *v = NULL;
		struct vc_error err = {0};
		int r = vc_json_parse(cases[i].text, strlen(cases[i].text), "bad.json", &v, &err);
		CHECK(r == -EINVAL);
		CHECK(v == NULL);
		CHECK(!strncmp(err.msg, "bad.json: parse error at byte ", 30));
		CHECK_CONTAINS(err.msg, cases[i].msg);
		CHECK(!strchr(err.msg, '\n'));
	}
}

VC_TEST(strings_may_hold_nul_bytes)
{
	_cleanup_json_ struct vc_json *v = parse("[\"a\\u0000b\",\"\"]");
	CHECK(v && v->type == VC_JSON_ARRAY && v->u.array.len == 2);
	const struct vc_json *s = v->u.array.items[0];
	CHECK(s->type == VC_JSON_STRING && s->u.string.len == 3);
	CHECK(!memcmp(s->u.string.ptr, "a\0b", 4));
	CHECK(v->u.array.items[1]->u.string.len == 0);
	_cleanup_free_ char *out = compact(v);
	CHECK_STR(out, "[\"a\\u0000b\",\"\"]");

	_cleanup_json_ struct vc_json *built = vc_json_new_string_len("x\0y", 3);
	CHECK(built && built->u.string.len == 3);
	_cleanup_free_ char *out2 = compact(built);
	CHECK_STR(out2, "\"x\\u0000y\"");
}

VC_TEST(integers_convert_only_when_exact_and_in_range)
{
	static const struct {
		const char *text;
		int i64_rc;
		int64_t i64;
		int u64_rc;
		uint64_t u64;
	} cases[] = {
		{"0", 0, 0, 0, 0},
		{"-1", 0, -1, -ERANGE, 0},
		{"9223372036854775807", 0, INT64_MAX, 0, 9223372036854775807ull},
		{"9223372036854775808", -ERANGE, 0, 0, 9223372036854775808ull},
		{"-9223372036854775808", 0, INT64_MIN, -ERANGE, 0},
		{"-9223372036854775809", -ERANGE, 0, -ERANGE, 0},
		{"18446744073709551615", -ERANGE, 0, 0, UINT64_MAX},
		{"18446744073709551616", -ERANGE, 0, -ERANGE, 0},
		{"123456789012345678901234567890", -ERANGE, 0, -ERANGE, 0},
		{"1.0", -EINVAL, 0, -EINVAL, 0},
		{"1e3", -EINVAL, 0, -EINVAL, 0},
		{"\"7\"", -EINVAL, 0, -EINVAL, 0},
		{"true", -EINVAL, 0, -EINVAL, 0},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(cases); i++) {
		_cleanup_json_ struct vc_json *v = parse(cases[i].text);
		CHECK(v);
		int64_t i64 = 0;
		uint64_t u64 = 0;
		CHECK(vc_json_to_i64(v, &i64) == cases[i].i64_rc);
		if (cases[i].i64_rc == 0)
			CHECK(i64 == cases[i].i64);
		CHECK(vc_json_to_u64(v, &u64) == cases[i].u64_rc);
		if (cases[i].u64_rc == 0)
			CHECK(u64 == cases[i].u64);
		/* The number's text survives whatever its range. */
		_cleanup_free_ char *out = compact(v);
		CHECK_STR(out, cases[i].text);
	}
	_cleanup_json_ struct vc_json *big = vc_json_new_uint(UINT64_MAX);
	_cleanup_json_ struct vc_json *small = vc_json_new_int(INT64_MIN);
	_cleanup_free_ char *b = compact(big), *s = compact(small);
	CHECK_STR(b, "18446744073709551615");
	CHECK_STR(s, "-9223372036854775808");
}

VC_TEST(clone_is_deep_and_independent)
{
	const char *text = "{\"a\":[1,\"two\",{\"three\":3.0}],\"b\":{\"c\":null,\"d\":true},"
			   "\"s\":\"x\\u0000y\"}";
	_cleanup_json_ struct vc_json *v = parse(text);
	CHECK(v);
	_cleanup_json_ struct vc_json *c = vc_json_clone(v);
	CHECK(c && c != v);
	_cleanup_free_ char *out = compact(c);
	CHECK_STR(out, text);
	CHECK(vc_json_object_set(vc_json_get(c, "b"), "c", vc_json_new_int(5)) == 0);
	CHECK(vc_json_object_remove(c, "a"));
	_cleanup_free_ char *orig = compact(v);
	CHECK_STR(orig, text);
	CHECK(vc_json_clone(NULL) == NULL);
}

VC_TEST(object_set_replaces_in_place_and_appends_new_keys)
{
	_cleanup_json_ struct vc_json *v = parse("{\"a\":1,\"b\":2,\"c\":3}");
	CHECK(v);
	CHECK(vc_json_object_set(v, "b", vc_json_new_array()) == 0);
	CHECK(vc_json_object_set(v, "d", vc_json_new_string("new")) == 0);
	_cleanup_free_ char *out = compact(v);
	CHECK_STR(out, "{\"a\":1,\"b\":[],\"c\":3,\"d\":\"new\"}");
	/* Errors free the value they were given (ASan checks the leak). */
	_cleanup_json_ struct vc_json *arr = vc_json_new_array();
	CHECK(vc_json_object_set(arr, "x", vc_json_new_int(1)) == -EINVAL);
	CHECK(vc_json_object_set(v, "x", NULL) == -ENOMEM);
	CHECK(vc_json_array_append(v, vc_json_new_int(1)) == -EINVAL);
}

VC_TEST(object_remove_takes_every_occurrence)
{
	_cleanup_json_ struct vc_json *v = parse("{\"a\":1,\"b\":2,\"a\":3,\"c\":4}");
	CHECK(v);
	_cleanup_free_ char *last = compact(vc_json_get(v, "a"));
	CHECK_STR(last, "3");
	CHECK(vc_json_object_remove(v, "a"));
	CHECK(!vc_json_object_remove(v, "a"));
	CHECK(!vc_json_object_remove(v, "zzz"));
	_cleanup_free_ char *out = compact(v);
	CHECK_STR(out, "{\"b\":2,\"c\":4}");
	CHECK(vc_json_get(v, "a") == NULL);
	CHECK(!vc_json_object_remove(NULL, "b"));
}

VC_TEST(accessors_check_types)
{
	_cleanup_json_ struct vc_json *v = parse("{\"s\":\"str\",\"n\":1,\"o\":{}}");
	CHECK(v);
	CHECK_STR(vc_json_str(vc_json_get(v, "s")), "str");
	CHECK(vc_json_str(vc_json_get(v, "n")) == NULL);
	CHECK(vc_json_get(vc_json_get(v, "s"), "x") == NULL);
	CHECK(vc_json_get(NULL, "x") == NULL);
	CHECK_STR(vc_json_type_name(VC_JSON_OBJECT), "object");
	CHECK_STR(vc_json_type_name(VC_JSON_BOOL), "boolean");
}

VC_TEST(generator_builds_documents_and_go_style_indent)
{
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new_indent("  ");
	CHECK(g);
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "a", "x");
	vc_jgen_kv_int(g, "n", -3);
	vc_jgen_key(g, "o");
	vc_jgen_object_open(g);
	vc_jgen_kv_bool(g, "t", true);
	vc_jgen_object_close(g);
	vc_jgen_key(g, "null");
	vc_jgen_string(g, NULL);
	vc_jgen_object_close(g);
	_cleanup_free_ char *out = NULL;
	struct vc_error err = {0};
	CHECK(vc_jgen_finish(g, &out, NULL, &err) == 0);
	CHECK_STR(out, "{\n  \"a\": \"x\",\n  \"n\": -3,\n  \"o\": {\n    \"t\": true\n  },\n"
		       "  \"null\": null\n}\n");
	CHECK(vc_jgen_new_indent("x") == NULL);

	/* Misuse is reported at finish, never crashes. */
	_cleanup_jgen_ struct vc_jgen *bad = vc_jgen_new(false);
	CHECK(bad);
	vc_jgen_object_open(bad);
	vc_jgen_int(bad, 1); /* a value where a key belongs */
	vc_jgen_object_close(bad);
	_cleanup_free_ char *bad_out = NULL;
	CHECK(vc_jgen_finish(bad, &bad_out, NULL, &err) < 0);
	CHECK(bad_out == NULL);
}

VC_TESTS(VC_T(round_trip_keeps_order_unknown_fields_and_numbers),
	 VC_T(pretty_output_parses_back_to_the_same_document), VC_T(nesting_depth_is_limited),
	 VC_T(bad_json_errors_name_source_and_byte_offset), VC_T(strings_may_hold_nul_bytes),
	 VC_T(integers_convert_only_when_exact_and_in_range), VC_T(clone_is_deep_and_independent),
	 VC_T(object_set_replaces_in_place_and_appends_new_keys),
	 VC_T(object_remove_takes_every_occurrence), VC_T(accessors_check_types),
	 VC_T(generator_builds_documents_and_go_style_indent))
