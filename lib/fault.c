#include "lib/fault.h"

#ifdef VC_FAULT_HOOKS
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

void vc_fault_point(const char *step)
{
	const char *want = getenv("VCRUN_FAULT");
	if (!want || strcmp(want, step))
		return;
	/* Said on stderr first, so the test knows the point was reached and the
	 * death was ours, not a crash. */
	vc_warn("fault point %s: SIGKILL to pid %d", step, (int)getpid());
	raise(SIGKILL);
}
#else
/* An empty translation unit is not ISO C. */
typedef int vc_fault_unused;
#endif
