/* Small file, fd and string helpers shared by every room (host and guest). */
#ifndef VC_COMMON_UTIL_H
#define VC_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/* Reads a whole file; fails with EFBIG past max bytes. *out is NUL-terminated. */
int vc_read_file(const char *path, size_t max, char **out, size_t *len, struct vc_error *err);
int vc_read_fd(int fd, size_t max, char **out, size_t *len, struct vc_error *err);

/* Writes temp file in the same directory, fsyncs, renames over path. */
int vc_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct vc_error *err);

/* Writes path (O_TRUNC|O_CREAT); for sysfs/proc knobs. */
int vc_write_file(const char *path, const void *data, size_t len, struct vc_error *err);

/* mkdir -p; existing directories are fine. */
int vc_mkdir_p(const char *path, mode_t mode, struct vc_error *err);

/* Removes a directory tree (does not cross mount points; fails on one). */
int vc_rm_rf(const char *path, struct vc_error *err);

/* Full write / read loops that retry on EINTR and short counts.
 * vc_read_all returns bytes read (< len only at EOF) or -errno. */
int vc_write_all(int fd, const void *buf, size_t len);
ssize_t vc_read_all(int fd, void *buf, size_t len);

int vc_set_cloexec(int fd, bool on);
int vc_set_nonblock(int fd, bool on);

/* malloc'd printf; aborts only on ENOMEM never: returns NULL instead. */
char *vc_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* String vector helpers (NULL-terminated, malloc'd strings). */
size_t vc_strv_len(char *const *v);
int vc_strv_push(char ***v, const char *s); /* copies s */
/* v's strings with sep between them, malloc'd; "" for an empty or NULL v. */
char *vc_strv_join(char *const *v, const char *sep);

/* Monotonic clock in nanoseconds. */
unsigned long long vc_now_ns(void);

/* RFC3339 with nanoseconds, UTC ("2006-01-02T15:04:05.999999999Z"). */
void vc_format_rfc3339_nano(char *buf, size_t len, long long sec, long nsec);

/* Signal names: "KILL", "SIGKILL", "9" -> 9; returns -EINVAL if unknown. */
int vc_signal_parse(const char *s);

/* The container id rule (runc's): 1 to 1024 letters, digits or `_ - . +`, not `.`
 * or `..`. Here so that the CLI and the monitor protocol's decoder share it. */
int vc_container_id_check(const char *id, struct vc_error *err);
const char *vc_signal_name(int sig); /* "SIGKILL" or NULL */

#endif
