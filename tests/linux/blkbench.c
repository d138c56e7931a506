/* SPDX-License-Identifier: MIT */
/*
 * blkbench: the Linux guest's disk workload for the virtio benchmark
 * (tests/linux/linux-bench.c). A static program in the initramfs, run by
 * /init for linuxtest.bench=SEQ_MIB:RAND_OPS:NDISKS.
 *
 *   blkbench SEQ_MIB RAND_OPS DEVICE...
 *
 * Every read is O_DIRECT (no guest page cache: each one is a request to
 * the device), one request in flight at a time:
 *   seq   SEQ_MIB MiB per device in 256 KiB reads (wrapping at the
 *         disk's end), after one untimed pass over the disk
 *   rand  RAND_OPS reads of 4 KiB per device at 4 KiB-aligned offsets
 *         from a fixed xorshift sequence, after 64 untimed ones
 * With several devices they take turns, every 4 MiB and every 100
 * random reads, so that load that comes and goes on the host weighs on
 * each alike. Printed, per device, for the host to parse:
 *   BLKBENCH seq DEVICE bytes=B ns=T
 *   BLKBENCH rand DEVICE ops=N ns=T
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
#define SEQ_SLICE (4ull << 20)	/* the disks take turns every 4 MiB */
#define RAND_SLICE 100u		/* ... and every 100 random reads */
#define MAX_DISKS 4

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

struct disk {
	const char *path;
	int fd;
	uint64_t size;		/* bytes */
	uint64_t off;		/* next sequential read */
	uint64_t x;		/* the random sequence */
	uint64_t seq_bytes, seq_ns, rand_ops, rand_ns;
};

static int
disk_open(struct disk *d)
{
	d->fd = open(d->path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (d->fd < 0)
		return -1;
	if (ioctl(d->fd, BLKGETSIZE64, &d->size) < 0) {
		struct stat st;		/* a plain file (a check on the host) */

		if (errno != ENOTTY || fstat(d->fd, &st) < 0)
			return -1;
		d->size = (uint64_t)st.st_size;
	}
	if (d->size < SEQ_BS) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

/* Read @total bytes on from where the last pass ended, in SEQ_BS pieces,
 * wrapping at the disk's end. */
static int
seq_pass(struct disk *d, void *buf, uint64_t total)
{
	for (uint64_t done = 0; done < total; done += SEQ_BS) {
		if (d->off + SEQ_BS > d->size)
			d->off = 0;
		if (read_at(d->fd, buf, SEQ_BS, d->off))
			return -1;
		d->off += SEQ_BS;
	}
	return 0;
}

static int
rand_reads(struct disk *d, void *buf, unsigned n)
{
	uint64_t blocks = d->size / RAND_BS;

	for (unsigned i = 0; i < n; i++) {
		d->x ^= d->x << 13;
		d->x ^= d->x >> 7;
		d->x ^= d->x << 17;
		if (read_at(d->fd, buf, RAND_BS, (d->x % blocks) * RAND_BS))
			return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct disk d[MAX_DISKS];
	uint64_t seq_bytes, seq_slices, rand_slices;
	unsigned long rand_ops;
	int n = argc - 3;
	void *buf;

	if (argc < 4 || n > MAX_DISKS) {
		fprintf(stderr, "usage: blkbench SEQ_MIB RAND_OPS DEVICE...\n");
		return 2;
	}
	seq_bytes = strtoull(argv[1], NULL, 0) << 20;
	rand_ops = strtoul(argv[2], NULL, 0);
	if (posix_memalign(&buf, 4096, SEQ_BS)) {
		errno = ENOMEM;
		return fail("buffer");
	}
	for (int i = 0; i < n; i++) {
		memset(&d[i], 0, sizeof(d[i]));
		d[i].path = argv[3 + i];
		d[i].x = 0x9e3779b97f4a7c15ull;
		if (disk_open(&d[i]))
			return fail(d[i].path);
		/* warm-up: one pass over the disk, a few random reads */
		if (seq_pass(&d[i], buf, d[i].size < seq_bytes ? d[i].size
							       : seq_bytes) ||
		    rand_reads(&d[i], buf, RAND_WARMUP))
			return fail(d[i].path);
	}
	/* The disks take turns in slices, so that load that comes and goes
	 * on the host weighs on each of them alike. */
	seq_slices = (seq_bytes + SEQ_SLICE - 1) / SEQ_SLICE;
	for (uint64_t k = 0; k < seq_slices; k++)
		for (int i = 0; i < n; i++) {
			uint64_t t0 = now_ns(), len = seq_bytes - k * SEQ_SLICE;

			if (len > SEQ_SLICE)
				len = SEQ_SLICE;
			if (seq_pass(&d[i], buf, len))
				return fail(d[i].path);
			d[i].seq_ns += now_ns() - t0;
			d[i].seq_bytes += len;
		}
	rand_slices = (rand_ops + RAND_SLICE - 1) / RAND_SLICE;
	for (uint64_t k = 0; k < rand_slices; k++)
		for (int i = 0; i < n; i++) {
			uint64_t t0 = now_ns(), ops = rand_ops - k * RAND_SLICE;

			if (ops > RAND_SLICE)
				ops = RAND_SLICE;
			if (rand_reads(&d[i], buf, (unsigned)ops))
				return fail(d[i].path);
			d[i].rand_ns += now_ns() - t0;
			d[i].rand_ops += ops;
		}
	for (int i = 0; i < n; i++) {
		printf("BLKBENCH seq %s bytes=%" PRIu64 " ns=%" PRIu64 "\n",
		       d[i].path, d[i].seq_bytes, d[i].seq_ns);
		printf("BLKBENCH rand %s ops=%" PRIu64 " ns=%" PRIu64 "\n",
		       d[i].path, d[i].rand_ops, d[i].rand_ns);
		close(d[i].fd);
	}
	fflush(stdout);
	free(buf);
	return 0;
}
