/* vcrun's JSON DOM. yajl is used only in oci/json.c: yajl is unmaintained upstream,
 * so every other room goes through this header and a later swap touches one file.
 * The DOM is mutable (CDI edits) and keeps unknown fields and key order, so a
 * config.json survives parse -> edit -> serialise with nothing lost. */
#ifndef VC_OCI_JSON_H
#define VC_OCI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum vc_json_type {
	VC_JSON_NULL,
	VC_JSON_BOOL,
	VC_JSON_NUMBER,
	VC_JSON_STRING,
	VC_JSON_ARRAY,
	VC_JSON_OBJECT,
};

struct vc_json;

struct vc_json_member {
	char *key;
	struct vc_json *value;
};

struct vc_json {
	enum vc_json_type type;
	union {
		bool boolean;
		struct {
			char *text;  /* number as written, exact */
			bool is_int; /* text is an integer without fraction/exponent */
		} number;
		struct {
			char *ptr;
			size_t len; /* may contain NUL bytes */
		} string;
		struct {
			struct vc_json **items;
			size_t len, cap;
		} array;
		struct {
			struct vc_json_member *members;
			size_t len, cap;
		} object;
	} u;
};

/* Parsing. max_depth bounds nesting (127 levels, the most yajl can write back). Error messages
 * carry the byte offset and name the source ("config.json: parse error at byte 12: ..."). */
int vc_json_parse(const char *buf, size_t len, const char *source, struct vc_json **out,
		  struct vc_error *err);
void vc_json_free(struct vc_json *v);
static inline void vc_json_freep(struct vc_json **v)
{
	vc_json_free(*v);
}
#define _cleanup_json_ __attribute__((cleanup(vc_json_freep)))

/* Serialising; *out is malloc'd and NUL-terminated. */
int vc_json_serialize(const struct vc_json *v, bool pretty, char **out, size_t *len,
		      struct vc_error *err);

/* Access. get() returns NULL if obj is not an object or has no such key (last
 * occurrence wins, as in most JSON readers). */
struct vc_json *vc_json_get(const struct vc_json *obj, const char *key);
const char *vc_json_type_name(enum vc_json_type t);
/* Integer accessors: fail unless the value is an integer in range. */
int vc_json_to_i64(const struct vc_json *v, int64_t *out);
int vc_json_to_u64(const struct vc_json *v, uint64_t *out);
/* Convenience: string value or NULL if not a string. */
const char *vc_json_str(const struct vc_json *v);

/* Construction and mutation (return NULL / -ENOMEM on allocation failure). */
struct vc_json *vc_json_new_null(void);
struct vc_json *vc_json_new_bool(bool b);
struct vc_json *vc_json_new_int(int64_t i);
struct vc_json *vc_json_new_uint(uint64_t u);
struct vc_json *vc_json_new_string(const char *s);
struct vc_json *vc_json_new_string_len(const char *s, size_t len);
struct vc_json *vc_json_new_array(void);
struct vc_json *vc_json_new_object(void);
struct vc_json *vc_json_clone(const struct vc_json *v);
/* Takes ownership of value (freed on failure). set() replaces an existing key in place. */
int vc_json_array_append(struct vc_json *arr, struct vc_json *value);
int vc_json_object_set(struct vc_json *obj, const char *key, struct vc_json *value);
/* Appends key even if it is already there, as the parser keeps duplicate keys (for
 * readers that report them, such as CDI's strict YAML). Takes value. */
int vc_json_object_append(struct vc_json *obj, const char *key, struct vc_json *value);
/* Removes key; returns true if it was there. */
bool vc_json_object_remove(struct vc_json *obj, const char *key);

/* Streaming generator, for output built field by field (state.json, protocol
 * bodies) without building a DOM first. Errors are sticky: check at finish(). */
struct vc_jgen;
struct vc_jgen *vc_jgen_new(bool pretty);
/* Pretty output with a chosen indent ("  " gives Go's json.MarshalIndent layout).
 * indent must outlive the generator (a string literal); only whitespace is allowed. */
struct vc_jgen *vc_jgen_new_indent(const char *indent);
void vc_jgen_free(struct vc_jgen *g);
static inline void vc_jgen_freep(struct vc_jgen **g)
{
	vc_jgen_free(*g);
}
#define _cleanup_jgen_ __attribute__((cleanup(vc_jgen_freep)))
void vc_jgen_object_open(struct vc_jgen *g);
void vc_jgen_object_close(struct vc_jgen *g);
void vc_jgen_array_open(struct vc_jgen *g);
void vc_jgen_array_close(struct vc_jgen *g);
void vc_jgen_key(struct vc_jgen *g, const char *key);
void vc_jgen_string(struct vc_jgen *g, const char *s); /* NULL -> null */
void vc_jgen_string_len(struct vc_jgen *g, const char *s, size_t len);
void vc_jgen_int(struct vc_jgen *g, int64_t i);
void vc_jgen_uint(struct vc_jgen *g, uint64_t u);
void vc_jgen_bool(struct vc_jgen *g, bool b);
void vc_jgen_null(struct vc_jgen *g);
void vc_jgen_value(struct vc_jgen *g, const struct vc_json *v); /* a DOM subtree */
/* Key + value shorthands. */
void vc_jgen_kv_string(struct vc_jgen *g, const char *key, const char *s);
void vc_jgen_kv_int(struct vc_jgen *g, const char *key, int64_t i);
void vc_jgen_kv_bool(struct vc_jgen *g, const char *key, bool b);
/* Hands out the text (malloc'd, NUL-terminated). */
int vc_jgen_finish(struct vc_jgen *g, char **out, size_t *len, struct vc_error *err);

#endif
