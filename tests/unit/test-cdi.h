/* Helpers shared by the tests/unit/test-cdi-*.c programs. */
#ifndef VC_TESTS_TEST_CDI_H
#define VC_TESTS_TEST_CDI_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdi/cdi-internal.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "tests/unit/unit.h"

/* Parses text as a spec file named "t.json" or "t.yaml". Returns cdi_spec_parse's
 * result; *problems (always set, NULL-terminated) lists what was wrong. */
static inline int cdi_test_parse(const char *text, enum cdi_format fmt, struct cdi_spec **out,
				 char ***problems)
{
	struct cdi_diag d = {0};
	*out = NULL;
	int r = cdi_spec_parse(text, strlen(text), fmt == CDI_FORMAT_JSON ? "t.json" : "t.yaml",
			       fmt, out, &d);
	if (cdi_diag_steal(&d, problems) < 0) {
		cdi_diag_release(&d);
		*problems = NULL;
		return -ENOMEM;
	}
	return r;
}

/* Whether one of the NULL-terminated messages contains needle. */
static inline bool cdi_test_has(char *const *msgs, const char *needle)
{
	for (; msgs && *msgs; msgs++)
		if (strstr(*msgs, needle))
			return true;
	return false;
}

/* All the messages on one line, for failure output. */
static inline void cdi_test_dump(char *const *msgs)
{
	for (; msgs && *msgs; msgs++)
		fprintf(stderr, "#   %s\n", *msgs);
}

/* Writes text to dir/name, creating dir. */
static inline int cdi_test_write(const char *dir, const char *name, const char *text)
{
	_cleanup_free_ char *path = vc_strdup_printf("%s/%s", dir, name);
	if (!path || vc_mkdir_p(dir, 0755, NULL) < 0)
		return -1;
	return vc_write_file(path, text, strlen(text), NULL);
}

/* A fresh directory under the test's temporary directory. */
static inline char *cdi_test_dir(const char *name)
{
	char *dir = vc_strdup_printf("%s/%s", vc_unit_tmpdir(), name);
	if (dir)
		vc_mkdir_p(dir, 0755, NULL);
	return dir;
}

/* tests/fixtures/cdi, found from the working directory (run-all.sh runs tests from
 * the repository) or from the program's place in build*(/utests). */
static inline const char *cdi_test_fixtures(void)
{
	static char path[PATH_MAX];
	struct stat st;
	if (path[0])
		return path;
	snprintf(path, sizeof(path), "tests/fixtures/cdi");
	if (stat(path, &st) == 0)
		return path;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		snprintf(path, sizeof(path), "%s/../../tests/fixtures/cdi", exe);
	}
	return path;
}

#endif
