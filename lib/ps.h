/* runc's `ps ID [ps options]` for processes that live in a VM: procps' options are
 * read here, and the table procps would print is built from the facts the agent
 * reports for each process (ListProcesses with "details"; docs/agent-protocol.md).
 * Internal to lib/ (and its unit test). */
#ifndef VC_LIB_PS_H
#define VC_LIB_PS_H

#include <stdbool.h>

#include "common/error.h"

struct vc_json;
struct vc_ps_format;

/* args: ps's options as runc passes them (NULL or empty: "-ef"). The forms known
 * are -e/-A, -f, -o LIST (also -eo, o LIST) and BSD a, u, x, e, w (aux, -e -x...);
 * anything else fails naming the option. A format without a PID column fails as
 * runc does ("couldn't find PID field in ps output"). */
int vc_ps_format_parse(char *const *args, struct vc_ps_format **out, struct vc_error *err);
void vc_ps_format_free(struct vc_ps_format *f);
static inline void vc_ps_format_freep(struct vc_ps_format **f)
{
	vc_ps_format_free(*f);
}
/* The format shows each process's environment (BSD e): ask the agent for it. */
bool vc_ps_format_environ(const struct vc_ps_format *f);

/* The header line and one line per process of answer (the agent's ListProcesses
 * result, untrusted: every field is bounded or defaulted), sorted by pid; times
 * in the local time zone. answer NULL: the header only. */
int vc_ps_format_table(const struct vc_ps_format *f, const struct vc_json *answer, char **out,
		       struct vc_error *err);

#endif
