/* Cleanup attributes for owned resources. Every cleanup variable is initialised
 * (NULL / -1); ownership leaves a function through steal_ptr()/steal_fd(), which
 * reset the local so a double free or close cannot happen. */
#ifndef VC_COMMON_CLEANUP_H
#define VC_COMMON_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void vc_freep(void *p)
{
	free(*(void **)p);
}

static inline void vc_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void vc_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void vc_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* A NULL-terminated array of malloc'd strings. */
static inline void vc_strv_freep(char ***v)
{
	if (*v) {
		for (char **p = *v; *p; p++)
			free(*p);
		free(*v);
	}
	*v = NULL; /* so that a call by hand and the cleanup attribute can meet */
}

#define _cleanup_free_	   __attribute__((cleanup(vc_freep)))
#define _cleanup_close_	   __attribute__((cleanup(vc_closep)))
#define _cleanup_fclose_   __attribute__((cleanup(vc_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(vc_closedirp)))
#define _cleanup_strv_	   __attribute__((cleanup(vc_strv_freep)))

#define steal_ptr(p)                       \
	({                                 \
		__typeof__(p) _tmp_ = (p); \
		(p) = NULL;                \
		_tmp_;                     \
	})

#define steal_fd(fd)              \
	({                        \
		int _tmp_ = (fd); \
		(fd) = -1;        \
		_tmp_;            \
	})

#define VC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
