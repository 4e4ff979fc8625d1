/* bench/io.sh's I/O load, built static by it and copied into the bundle's rootfs:
 *   io-helper FILE SEQ_MIB RAND_OPS
 * prints four lines "seq_write|seq_read|rand_write|rand_read MB/s". Sequential: SEQ_MIB
 * in 1 MiB blocks, writes closed by fsync. Random: RAND_OPS blocks of 4 KiB at random
 * 4 KiB offsets of the same file (a fixed seed, so every runtime does the same
 * offsets), writes closed by fsync. Before each read pass the file's cached pages are
 * dropped (fdatasync, then POSIX_FADV_DONTNEED) where the filesystem lets it, so reads
 * go to whatever lies below the container's filesystem. One process, so no fork or
 * exec is timed. Not part of vcrun: a benchmark's tool. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)
#define BLK 4096

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void drop(int fd)
{
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

static void report(const char *name, double bytes, double secs)
{
	printf("%s %.2f\n", name, bytes / 1e6 / (secs > 1e-9 ? secs : 1e-9));
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return fprintf(stderr, "usage: io-helper FILE SEQ_MIB RAND_OPS\n"), 2;
	const char *file = argv[1];
	long mib = atol(argv[2]), ops = atol(argv[3]);
	if (mib < 1 || ops < 1)
		return fprintf(stderr, "io-helper: SEQ_MIB and RAND_OPS must be positive\n"), 2;
	char *buf = aligned_alloc(BLK, MIB);
	if (!buf)
		die("alloc");
	for (size_t i = 0; i < MIB; i++)
		buf[i] = (char)(i * 131 + 7);

	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(file);
	double t = now();
	for (long i = 0; i < mib; i++)
		if (write(fd, buf, MIB) != MIB)
			die("write");
	if (fsync(fd) < 0)
		die("fsync");
	report("seq_write", (double)mib * MIB, now() - t);

	drop(fd);
	t = now();
	for (long i = 0; i < mib; i++)
		if (pread(fd, buf, MIB, (off_t)i * MIB) != MIB)
			die("read");
	report("seq_read", (double)mib * MIB, now() - t);

	uint64_t blocks = (uint64_t)mib * MIB / BLK;
	t = now();
	for (long i = 0; i < ops; i++)
		if (pwrite(fd, buf + (i % 256) * BLK, BLK, (off_t)(next() % blocks) * BLK) != BLK)
			die("random write");
	if (fsync(fd) < 0)
		die("fsync");
	report("rand_write", (double)ops * BLK, now() - t);

	drop(fd);
	t = now();
	for (long i = 0; i < ops; i++)
		if (pread(fd, buf, BLK, (off_t)(next() % blocks) * BLK) != BLK)
			die("random read");
	report("rand_read", (double)ops * BLK, now() - t);
	close(fd);
	unlink(file);
	return 0;
}
