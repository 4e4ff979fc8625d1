/* Fault points for tests: kill the calling process at a named step of create,
 * start, exec, delete or the monitor's boot, so that tests can prove `delete
 * --force` cleans up from each (tests/integration/28-faults.bats). Compiled in
 * only for the test build (make SAN=1 defines VC_FAULT_HOOKS); in every other
 * build a point is nothing at all, so no environment variable can make a
 * production vcrun kill itself half-way. */
#ifndef VC_LIB_FAULT_H
#define VC_LIB_FAULT_H

#ifdef VC_FAULT_HOOKS
/* SIGKILLs the calling process when $VCRUN_FAULT is step. */
void vc_fault_point(const char *step);
#else
static inline void vc_fault_point(const char *step)
{
	(void)step;
}
#endif

#endif
