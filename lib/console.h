/* Terminals for --console-socket. The container's real terminal is the pty the agent
 * opens in the guest; on the host a second pty stands in for it: its master goes to
 * the caller over the console socket (SCM_RIGHTS, as runc sends it), its slave is
 * the stand-in's stdio, in raw mode so that only the guest's line discipline acts
 * (no doubled echo, no line buffering). */
#ifndef VC_LIB_CONSOLE_H
#define VC_LIB_CONSOLE_H

#include <stdint.h>

#include "common/error.h"

/* Opens a host pty (size rows x cols when non-zero), sends its master to the Unix
 * socket at socket_path, and returns the raw-mode slave. */
int vc_console_send(const char *socket_path, uint16_t rows, uint16_t cols, int *slave,
		    struct vc_error *err);

#endif
