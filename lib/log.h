/* Logging as runc does it: --log FILE (default stderr), --log-format text|json.
 * json lines carry "level", "msg", "time" (RFC3339) so containerd can show the
 * last error line of a failed call. */
#ifndef VC_LIB_LOG_H
#define VC_LIB_LOG_H

#include <stdbool.h>

enum vc_log_level { VC_LOG_DEBUG, VC_LOG_INFO, VC_LOG_WARN, VC_LOG_ERROR };
enum vc_log_format { VC_LOG_TEXT, VC_LOG_JSON };

/* path NULL: stderr. Opening a file that fails falls back to stderr. */
int vc_log_init(const char *path, enum vc_log_format fmt, bool debug);
void vc_log(enum vc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define vc_debug(...) vc_log(VC_LOG_DEBUG, __VA_ARGS__)
#define vc_info(...)  vc_log(VC_LOG_INFO, __VA_ARGS__)
#define vc_warn(...)  vc_log(VC_LOG_WARN, __VA_ARGS__)
#define vc_err(...)   vc_log(VC_LOG_ERROR, __VA_ARGS__)
/* The fd logs go to (for children that must keep logging). */
int vc_log_fd(void);
const char *vc_log_path(void);
enum vc_log_format vc_log_format_get(void);
bool vc_log_debug_enabled(void);

#endif
