/* SPDX-License-Identifier: MIT */
/*
 * blkbench: the Linux guest's disk workload for the virtio benchmark
 * (tests/linux/linux-bench.c). A static program in the initramfs, run by
 * /init when the kernel command line has linuxtest.bench=SEQ_MIB:RAND_OPS.
 *
 *   blkbench DEVICE SEQ_MIB RAND_OPS
 *
 * Both measures read DEVICE with O_DIRECT (no guest page cache: every
 * read is a request to the device), one request in flight at a time:
 *   seq   SEQ_MIB MiB from offset 0 in 256 KiB reads (wrapping at the
 *         disk's end), one pass before the timed one
 *   rand  RAND_OPS reads of 4 KiB at 4 KiB-aligned offsets from a fixed
 *         xorshift sequence (the same in every run), after 64 untimed ones
 * and prints, for the host to parse:
 *   BLKBENCH seq bytes=B ns=T
 *   BLKBENCH rand ops=N ns=T
 * Exit 0, or 1 with "BLKBENCH FAIL: why".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEQ_BS (256u << 10)
#define RAND_BS 4096u
#define RAND_WARMUP 64u

static int
fail(const char *what)
{
	printf("BLKBENCH FAIL: %s: %s\n", what, strerror(errno));
	return 1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
read_at(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);

	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		errno = EIO;
	return -1;
}

/* Read @total bytes from 0 in SEQ_BS pieces, wrapping at @size. */
static int
seq_pass(int fd, void *buf, uint64_t size, uint64_t total)
{
	uint64_t off = 0;

	for (uint64_t done = 0; done < total; done += SEQ_BS) {
		if (off + SEQ_BS > size)
			off = 0;
		if (read_at(fd, buf, SEQ_BS, off))
			return -1;
		off += SEQ_BS;
	}
	return 0;
}

static int
rand_reads(int fd, void *buf, uint64_t blocks, unsigned n, uint64_t *x)
{
	for (unsigned i = 0; i < n; i++) {
		*x ^= *x << 13;
		*x ^= *x >> 7;
		*x ^= *x << 17;
		if (read_at(fd, buf, RAND_BS, (*x % blocks) * RAND_BS))
			return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	uint64_t size = 0, seq_bytes, t0, x = 0x9e3779b97f4a7c15ull;
	unsigned long rand_ops;
	void *buf;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: blkbench DEVICE SEQ_MIB RAND_OPS\n");
		return 2;
	}
	seq_bytes = strtoull(argv[2], NULL, 0) << 20;
	rand_ops = strtoul(argv[3], NULL, 0);
	fd = open(argv[1], O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return fail(argv[1]);
	if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
		struct stat st;		/* a plain file (a check on the host) */

		if (errno != ENOTTY || fstat(fd, &st) < 0)
			return fail("BLKGETSIZE64");
		size = (uint64_t)st.st_size;
	}
	if (size < SEQ_BS) {
		errno = ENOSPC;
		return fail("disk smaller than one sequential read");
	}
	if (posix_memalign(&buf, 4096, SEQ_BS)) {
		errno = ENOMEM;
		return fail("buffer");
	}

	if (seq_pass(fd, buf, size, size < seq_bytes ? size : seq_bytes))
		return fail("sequential warm-up read");
	t0 = now_ns();
	if (seq_pass(fd, buf, size, seq_bytes))
		return fail("sequential read");
	printf("BLKBENCH seq bytes=%" PRIu64 " ns=%" PRIu64 "\n", seq_bytes,
	       now_ns() - t0);

	if (rand_reads(fd, buf, size / RAND_BS, RAND_WARMUP, &x))
		return fail("random warm-up read");
	t0 = now_ns();
	if (rand_reads(fd, buf, size / RAND_BS, (unsigned)rand_ops, &x))
		return fail("random read");
	printf("BLKBENCH rand ops=%lu ns=%" PRIu64 "\n", rand_ops, now_ns() - t0);
	fflush(stdout);
	free(buf);
	close(fd);
	return 0;
}
