/* Internal to oci/: typed readers over the JSON DOM for the config.json model.
 * Every reader takes the parent object, the parent's JSON path and a key, and
 * builds the field's path ("process.user.uid") only when it fails, so all error
 * messages read "PATH: must be ..." without each caller formatting them.
 *
 * Readers return 1 when the field was present and stored, 0 when it was absent
 * (or null, as Go's encoding/json reads it) and allowed to be, and a negative
 * errno with err filled otherwise. Outputs are written only on success; arrays
 * are allocated zeroed with their count set before items are parsed, so the
 * owner's free function can release a half-filled array after an error. */
#ifndef VC_OCI_PARSE_UTIL_H
#define VC_OCI_PARSE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/error.h"
#include "oci/json.h"

/* Paths longer than this are truncated in messages, never overflowed. */
#define PU_PATH_MAX 512

enum {
	PU_REQUIRED = 1 << 0,
	/* Arrays: at least one item; a missing, empty or mistyped array all read
	 * "must be a non-empty array". */
	PU_NONEMPTY = 1 << 1,
};

/* "parent.key", or "key" at the top level (parent NULL or ""). */
void pu_path_key(char buf[PU_PATH_MAX], const char *parent, const char *key);
/* "parent.key[i]" (key may be NULL: "parent[i]"). */
void pu_path_index(char buf[PU_PATH_MAX], const char *parent, const char *key, size_t i);

/* Sets err to "parent.key: <message>" (key may be NULL) and returns -EINVAL. */
int pu_fail(struct vc_error *err, const char *parent, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int pu_oom(struct vc_error *err);

int pu_string(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
	      char **out, struct vc_error *err);
int pu_bool(const struct vc_json *obj, const char *path, const char *key, unsigned flags, bool *out,
	    struct vc_error *err);
int pu_int(const struct vc_json *obj, const char *path, const char *key, unsigned flags, int *out,
	   struct vc_error *err);
int pu_u32(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
	   uint32_t *out, struct vc_error *err);
int pu_i64(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
	   int64_t *out, struct vc_error *err);
int pu_u64(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
	   uint64_t *out, struct vc_error *err);

/* A NULL-terminated vector of copies. */
int pu_strv(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
	    char ***out, struct vc_error *err);
/* An array of unsigned 32-bit integers. */
int pu_u32_array(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
		 uint32_t **out, size_t *n, struct vc_error *err);

/* Borrowed views of a member that must be an object / an array. */
int pu_object(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
	      const struct vc_json **out, struct vc_error *err);
int pu_array(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
	     const struct vc_json **out, struct vc_error *err);

/* An array of objects parsed into an array of elem_size structs: fn gets each item
 * (already checked to be an object), its path ("mounts[2]") and its zeroed slot. */
typedef int (*pu_item_fn)(const struct vc_json *item, const char *path, void *elem,
			  struct vc_error *err);
int pu_object_array(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
		    size_t elem_size, void **items, size_t *n, pu_item_fn fn, struct vc_error *err);
#define PU_OBJECT_ARRAY(obj, path, key, flags, arr, n, fn, err)                                    \
	({                                                                                         \
		void *_items_ = NULL;                                                              \
		int _r_ = pu_object_array(obj, path, key, flags, sizeof(**(arr)), &_items_, n, fn, \
					  err);                                                    \
		*(arr) = _items_;                                                                  \
		_r_;                                                                               \
	})

/* An object of string values ("annotations", "linux.sysctl") parsed into an array of
 * structs with `char *key, *value` members, in document order. */
int pu_string_map(const struct vc_json *obj, const char *path, const char *key, size_t elem_size,
		  size_t key_off, size_t value_off, void **items, size_t *n, struct vc_error *err);
#define PU_STRING_MAP(obj, path, name, arr, n, err)                                              \
	({                                                                                       \
		void *_items_ = NULL;                                                            \
		int _r_ = pu_string_map(obj, path, name, sizeof(**(arr)),                        \
					offsetof(__typeof__(**(arr)), key),                      \
					offsetof(__typeof__(**(arr)), value), &_items_, n, err); \
		*(arr) = _items_;                                                                \
		_r_;                                                                             \
	})

/* Name tables: index of name in table (NULL slots skipped), or -1. */
int pu_lookup(const char *name, const char *const *table, size_t n);
/* Fails with "parent.key: unknown <what> "name"" unless name is in table. */
int pu_check_known(const char *name, const char *const *table, size_t n, const char *what,
		   const char *parent, const char *key, struct vc_error *err);
/* The same for every entry of a NULL-terminated vector ("parent.key[i]: ..."). */
int pu_check_known_strv(char *const *v, const char *const *table, size_t n, const char *what,
			const char *parent, const char *key, struct vc_error *err);
/* "parent.key: must be an absolute path" unless s starts with '/'. */
int pu_check_abs(const char *s, const char *parent, const char *key, struct vc_error *err);
/* The same for every entry of a NULL-terminated vector. */
int pu_check_abs_strv(char *const *v, const char *parent, const char *key, struct vc_error *err);

static inline void pu_strv_free(char **v)
{
	if (v) {
		for (char **p = v; *p; p++)
			free(*p);
		free(v);
	}
}

#endif
