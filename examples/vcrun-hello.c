/* vcrun-hello: libvcrun from a program of one's own. Creates a container from an
 * OCI bundle (whose process should keep running, e.g. `sleep 600`), starts it,
 * spawns `uname -r` in it with a pipe as its stdout, prints what it read (the
 * guest kernel's release: not the host's), creates a second container in the same
 * VM, kills the first, and destroys the sandbox with both.
 *
 *   cc vcrun-hello.c $(pkg-config --cflags --libs vcrun) -o vcrun-hello
 *   sudo ./vcrun-hello BUNDLE ID [ROOT]
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <vcrun.h>

static int die(vcrun_ctx *ctx, const char *what, int r)
{
	fprintf(stderr, "vcrun-hello: %s: %s (%s)\n", what, vcrun_ctx_error(ctx), strerror(-r));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s BUNDLE ID [ROOT]\n", argv[0]);
		return 2;
	}
	vcrun_ctx *ctx;
	vcrun_create_opts *co;
	vcrun_spawn_opts *so;
	vcrun_container *c;
	vcrun_process *p;
	int r, status, pfd[2];
	if (vcrun_ctx_new(argc > 3 ? argv[3] : NULL, &ctx) < 0 || vcrun_create_opts_new(&co) < 0 ||
	    vcrun_spawn_opts_new(&so) < 0 || pipe(pfd) < 0)
		return 1;
	vcrun_create_opts_set_bundle(co, argv[1]);
	/* The container's own output is not ours to read here: /dev/null. */
	vcrun_create_opts_set_stdio(co, -1, -1, -1);
	if ((r = vcrun_container_create(ctx, argv[2], co, &c)) < 0)
		return die(ctx, "create", r);
	if ((r = vcrun_container_start(c)) < 0)
		return die(ctx, "start", r);
	printf("container %s runs in sandbox %s, host pid %d\n", vcrun_container_id(c),
	       vcrun_container_sandbox(c), (int)vcrun_container_pid(c));

	static const char *const args[] = {"uname", "-r", NULL};
	vcrun_spawn_opts_set_args(so, args);
	vcrun_spawn_opts_set_stdio(so, -1, pfd[1], 2);
	if ((r = vcrun_container_spawn(c, so, &p)) < 0)
		return die(ctx, "spawn", r);
	close(pfd[1]);
	char buf[256];
	ssize_t n = read(pfd[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	if ((r = vcrun_process_wait(p, &status)) < 0)
		return die(ctx, "wait for uname", r);
	struct utsname host;
	uname(&host);
	printf("guest kernel: %s", buf);
	printf("host kernel: %s\n", host.release);
	printf("uname exited %d\n", status);

	/* A second container in the same VM (a pod): no boot, it joins the sandbox. */
	vcrun_sandbox *sb;
	vcrun_container *m;
	char mid[256], **ids;
	snprintf(mid, sizeof(mid), "%s-2", argv[2]);
	if ((r = vcrun_sandbox_open(ctx, vcrun_container_id(c), &sb)) < 0)
		return die(ctx, "open the sandbox", r);
	if ((r = vcrun_sandbox_create_container(sb, mid, co, &m)) < 0)
		return die(ctx, "create a second container in the sandbox", r);
	if ((r = vcrun_container_start(m)) < 0 || (r = vcrun_sandbox_containers(sb, &ids)) < 0)
		return die(ctx, "start it", r);
	printf("sandbox %s:", vcrun_sandbox_id(sb));
	for (char **i = ids; *i; i++)
		printf(" %s", *i);
	printf("\n");
	vcrun_strv_free(ids);

	if ((r = vcrun_container_kill(c, 9)) < 0)
		return die(ctx, "kill", r);
	if ((r = vcrun_container_wait(c, &status)) < 0)
		return die(ctx, "wait", r);
	printf("container exited %d\n", status);
	/* Every container of the sandbox goes, then its VM. */
	if ((r = vcrun_sandbox_destroy(sb, 1)) < 0)
		return die(ctx, "destroy", r);
	if ((r = vcrun_container_wait(m, &status)) < 0)
		return die(ctx, "wait for the second container", r);
	vcrun_container_free(m);
	vcrun_sandbox_free(sb);
	vcrun_process_free(p);
	vcrun_container_free(c);
	vcrun_spawn_opts_free(so);
	vcrun_create_opts_free(co);
	vcrun_ctx_free(ctx);
	return 0;
}
