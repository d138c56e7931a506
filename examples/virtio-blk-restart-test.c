/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk-restart-test: the virtio-blk program killed (SIGKILL) in the
 * middle of disk reads and started again on its state file, end to end
 * without KVM. This process plays the VMM and the guest's driver: guest
 * RAM in a memfd the device maps, the device's line an eventfd of ours,
 * register accesses through the bridge (the path of a KVM exit), the
 * rings and buffers written and read in our mapping of guest RAM. It
 * restarts the device as tinyvmm --restart does (devhost_restart():
 * respawn, re-attach, and no reset, as the device keeps its state).
 *
 * Each round reads the whole 16 MiB disk with 8 requests of 2 MiB, one
 * QueueNotify (from a thread of its own: a non-posted one is answered
 * once the device has served what it found), and SIGKILL as soon as the
 * first answer is in the used ring. Then:
 *   - the VMM side survives: an access while the device is gone fails
 *     with the bridge's bounded error;
 *   - restarted, the device is not reset, and every request has exactly
 *     one answer: those the dead process held IOERR (the guest's I/O
 *     error), the others read the disk (the bytes are checked), with a
 *     used-buffer interrupt;
 * until a round has seen an IOERR (the kill nearly always lands in a
 * request; a round whose kill lands between two does not count). Last, a
 * round without a kill: everything reads back, and the driver's status
 * is still DRIVER_OK.
 *
 * Usage: virtio-blk-restart-test PATH-TO-virtio-blk. Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ioregion/bridge.h"
#include "ioregion/virtio.h"
#include "ioregion/vmm.h"

#include "devtest.h"

#define PROG "virtio-blk-restart-test"
#define WAIT_MS 10000		/* generous: the device runs on its own */
#define BASE 0xd0002000ull	/* the device's default window */
#define REG(x) (BASE + IOREGION_VIRTIO_MMIO_##x)

#define DISK (16u << 20)
#define NREQ 8u
#define REQ_BYTES (DISK / NREQ)
#define QNUM 32u		/* 3 descriptors per request */
#define MAX_ROUNDS 8

/* Guest RAM: rings, headers and status bytes, then the data buffers. */
#define RAM_GPA 0x100000ull
#define RAM_SIZE (DISK + 0x10000ull)
#define DESC_GPA RAM_GPA
#define AVAIL_GPA (RAM_GPA + 0x1000)
#define USED_GPA (RAM_GPA + 0x2000)
#define HDR_GPA(r) (RAM_GPA + 0x4000 + 16 * (uint64_t)(r))
#define STATUS_GPA(r) (RAM_GPA + 0x5000 + (uint64_t)(r))
#define DATA_GPA(r) (RAM_GPA + 0x10000 + (uint64_t)(r) * REQ_BYTES)

#define NEXT IOREGION_VIRTQ_DESC_F_NEXT
#define WRITE IOREGION_VIRTQ_DESC_F_WRITE

static struct devtest t;
static uint8_t *ram;
static int efd = -1;
static uint16_t avail_idx;

static void *
gp(uint64_t gpa)
{
	return ram + (gpa - RAM_GPA);
}

/* The disk's bytes: each 8-byte word its own offset, scrambled. */
static uint64_t
pattern(uint64_t off)
{
	uint64_t x = off * 0x9e3779b97f4a7c15ull;

	return x ^ (x >> 29);
}

static int
rd(uint64_t addr, uint32_t *v)
{
	uint64_t val = 0;
	int rc = ioregion_bridge_access(t.bridge, false, addr, false, 4, &val);

	*v = (uint32_t)val;
	return rc;
}

static int
wr(uint64_t addr, uint32_t v)
{
	uint64_t val = v;

	return ioregion_bridge_access(t.bridge, false, addr, true, 4, &val);
}

static uint32_t
rd_ok(uint64_t addr)
{
	uint32_t v = 0;
	int rc = rd(addr, &v);

	if (rc != 1)
		check(false, "read of 0x%" PRIx64 ": %d", addr, rc);
	return v;
}

static void
wr_ok(uint64_t addr, uint32_t v)
{
	int rc = wr(addr, v);

	if (rc != 1)
		check(false, "write of 0x%" PRIx64 ": %d", addr, rc);
}

/* Linux's virtio_mmio probe, one status bit per write. */
static void
probe(void)
{
	uint32_t st;

	check(rd_ok(REG(MAGIC_VALUE)) == IOREGION_VIRTIO_MMIO_MAGIC &&
	      rd_ok(REG(DEVICE_ID)) == 2, "a virtio block device");
	wr_ok(REG(STATUS), 0);
	wr_ok(REG(STATUS), IOREGION_VIRTIO_STATUS_ACKNOWLEDGE);
	wr_ok(REG(STATUS), rd_ok(REG(STATUS)) | IOREGION_VIRTIO_STATUS_DRIVER);
	wr_ok(REG(DRIVER_FEATURES_SEL), 1);
	wr_ok(REG(DRIVER_FEATURES), 1);		/* VERSION_1 */
	wr_ok(REG(DRIVER_FEATURES_SEL), 0);
	wr_ok(REG(DRIVER_FEATURES), 0);
	wr_ok(REG(STATUS), rd_ok(REG(STATUS)) | IOREGION_VIRTIO_STATUS_FEATURES_OK);
	wr_ok(REG(QUEUE_SEL), 0);
	wr_ok(REG(QUEUE_NUM), QNUM);
	wr_ok(REG(QUEUE_DESC_LOW), (uint32_t)DESC_GPA);
	wr_ok(REG(QUEUE_DESC_HIGH), 0);
	wr_ok(REG(QUEUE_DRIVER_LOW), (uint32_t)AVAIL_GPA);
	wr_ok(REG(QUEUE_DRIVER_HIGH), 0);
	wr_ok(REG(QUEUE_DEVICE_LOW), (uint32_t)USED_GPA);
	wr_ok(REG(QUEUE_DEVICE_HIGH), 0);
	wr_ok(REG(QUEUE_READY), 1);
	wr_ok(REG(STATUS), rd_ok(REG(STATUS)) | IOREGION_VIRTIO_STATUS_DRIVER_OK);
	st = rd_ok(REG(STATUS));
	check(st == 0x0f, "the driver's probe: Status 0x%x, want 0xf", st);
}

static uint16_t
used_idx(void)
{
	return __atomic_load_n((uint16_t *)gp(USED_GPA + 2), __ATOMIC_ACQUIRE);
}

/* Request r: read 2 MiB at r * 2 MiB (head 3r: header, data, status). */
static void
submit(unsigned r)
{
	uint8_t *d = gp(DESC_GPA + 48 * (uint64_t)r);
	uint8_t hdr[16] = { 0 };	/* VIRTIO_BLK_T_IN */
	uint64_t sector = (uint64_t)r * REQ_BYTES / 512;
	struct { uint64_t addr; uint32_t len; uint16_t flags, next; } desc[3] = {
		{ HDR_GPA(r), 16, NEXT, (uint16_t)(3 * r + 1) },
		{ DATA_GPA(r), REQ_BYTES, NEXT | WRITE, (uint16_t)(3 * r + 2) },
		{ STATUS_GPA(r), 1, WRITE, 0 },
	};

	memcpy(hdr + 8, &sector, 8);
	memcpy(gp(HDR_GPA(r)), hdr, sizeof(hdr));
	memset(gp(DATA_GPA(r)), 0, REQ_BYTES);
	*(uint8_t *)gp(STATUS_GPA(r)) = 0xee;
	memcpy(d, desc, sizeof(desc));
	((uint16_t *)gp(AVAIL_GPA + 4))[avail_idx % QNUM] = (uint16_t)(3 * r);
	avail_idx++;
	__atomic_store_n((uint16_t *)gp(AVAIL_GPA + 2), avail_idx,
			 __ATOMIC_RELEASE);
}

static bool
data_ok(unsigned r)
{
	const uint64_t *p = gp(DATA_GPA(r));

	for (uint64_t i = 0; i < REQ_BYTES / 8; i++)
		if (p[i] != pattern((uint64_t)r * REQ_BYTES + 8 * i))
			return false;
	return true;
}

static void *
notify_thread(void *arg)
{
	*(int *)arg = wr(REG(QUEUE_NOTIFY), 0);
	return NULL;
}

static uint64_t
edges(int wait_ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t n;

	if (wait_ms && poll(&p, 1, wait_ms) <= 0)
		return 0;
	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

/* Wait up to WAIT_MS for used->idx to reach @want. */
static bool
wait_used(uint16_t want)
{
	for (int i = 0; i < WAIT_MS; i++) {
		if (used_idx() == want)
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * One round of 8 reads; with @kill, SIGKILL at the first answer and the
 * restart. Every request must have exactly one answer, OK ones with the
 * disk's bytes. Returns the number of IOERR answers.
 */
static unsigned
round_of_reads(struct devhost *host, struct ioregion_vmm_device **dev,
	       bool kill_it)
{
	uint16_t base = used_idx();
	unsigned ioerr = 0, ok = 0, seen[NREQ] = { 0 };
	pthread_t th;
	int nrc = 0, reset_rc = 0, rc;
	uint32_t v;
	bool done;

	(void)edges(0);
	for (unsigned r = 0; r < NREQ; r++)
		submit(r);
	if (pthread_create(&th, NULL, notify_thread, &nrc) != 0) {
		check(false, "pthread_create");
		return 0;
	}
	if (kill_it) {
		pid_t pid = host->children[0].pid;

		/* spin: the first answer, then at once the kill */
		for (long n = 0; used_idx() == base && n < 2000000000L; n++)
			;
		kill(pid, SIGKILL);
	}
	pthread_join(th, NULL);
	if (kill_it) {
		printf("      killed with %u of %u answered\n",
		       (unsigned)(uint16_t)(used_idx() - base), NREQ);
		rc = rd(REG(STATUS), &v);
		check(rc < 0, "while the device is gone an access fails "
		      "(bridge: %d), the VMM goes on", rc);
		rc = devhost_restart(host, 0, WAIT_MS, dev, &reset_rc);
		check(rc == 0, "the device restarted and re-attached (%d)", rc);
		check(reset_rc == 1, "and not reset: it keeps its state (%d)",
		      reset_rc);
		if (rc < 0)
			return 0;
	} else {
		check(nrc == 1, "QueueNotify answered (%d)", nrc);
	}
	done = wait_used((uint16_t)(base + NREQ));
	check(done, "every request answered: used->idx %u, want %u",
	      used_idx(), (uint16_t)(base + NREQ));
	for (uint16_t i = base; i != used_idx(); i++) {
		uint32_t id;

		memcpy(&id, gp(USED_GPA + 4 + 8 * (uint64_t)(i % QNUM)), 4);
		if (id % 3 == 0 && id / 3 < NREQ)
			seen[id / 3]++;
	}
	for (unsigned r = 0; r < NREQ; r++) {
		uint8_t st = *(uint8_t *)gp(STATUS_GPA(r));

		if (seen[r] != 1)
			check(false, "request %u answered %u times", r, seen[r]);
		if (st == 1) {
			ioerr++;
		} else if (st == 0 && data_ok(r)) {
			ok++;
		} else {
			check(false, "request %u: status 0x%02x%s", r, st,
			      st == 0 ? ", wrong bytes" : "");
		}
	}
	check(ok + ioerr == NREQ, "%u read the disk, %u failed (IOERR)", ok,
	      ioerr);
	check(edges(WAIT_MS) >= 1, "a used-buffer interrupt");
	wr_ok(REG(INTERRUPT_ACK), rd_ok(REG(INTERRUPT_STATUS)));
	return ioerr;
}

static int
get_line(void *data, const char *device, unsigned int index, const char *name,
	 uint32_t trigger, struct ioregion_vmm_line *line)
{
	(void)data;
	(void)device;
	(void)index;
	(void)name;
	(void)trigger;
	*line = (struct ioregion_vmm_line){ .fd = efd, .resample_fd = -1,
					    .gsi = 5 };
	return 0;
}

/* The image: DISK bytes of pattern(). */
static int
make_image(const char *path)
{
	uint64_t buf[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	for (uint64_t off = 0; off < DISK; off += sizeof(buf)) {
		for (unsigned i = 0; i < 4096; i++)
			buf[i] = pattern(off + 8 * i);
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	struct ioregion_vmm_slot slot = { .slot = { .gpa = RAM_GPA,
		.size = RAM_SIZE } };
	struct ioregion_vmm_config cfg = {
		.vm_fd = -1, .get_line = get_line, .slots = &slot, .nslots = 1,
	};
	char dir[] = "/tmp/" PROG "-XXXXXX", image[64], state[64], cmd[512];
	unsigned ioerr = 0, rounds = 0;
	uint32_t v = 0;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: " PROG " PATH-TO-virtio-blk\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir)) {
		perror(PROG ": mkdtemp");
		return 1;
	}
	snprintf(image, sizeof(image), "%s/disk.img", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(cmd, sizeof(cmd), "%s --image %s --state-file %s --quiet",
		 argv[1], image, state);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	slot.fd = memfd_create("guest-ram", MFD_CLOEXEC);
	if (efd < 0 || slot.fd < 0 || ftruncate(slot.fd, RAM_SIZE) < 0 ||
	    make_image(image) < 0) {
		perror(PROG ": set-up");
		return 1;
	}
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, slot.fd, 0);
	if (ram == MAP_FAILED) {
		perror(PROG ": mmap");
		return 1;
	}
	if (devtest_start(&t, PROG, cmd, &cfg, WAIT_MS) < 0)
		goto out;
	check(ioregion_vmm_keeps_state(t.dev) == 1,
	      "the device says it keeps its state (HELLO)");
	probe();
	check(round_of_reads(&t.host, &t.dev, false) == 0, "a round without a kill");
	while (!ioerr && rounds < MAX_ROUNDS && !devtest_failures) {
		rounds++;
		printf("round %u: kill during the reads\n", rounds);
		ioerr += round_of_reads(&t.host, &t.dev, true);
	}
	check(ioerr > 0, "the guest saw I/O errors (%u in %u round(s) with a "
	      "kill)", ioerr, rounds);
	check(round_of_reads(&t.host, &t.dev, false) == 0,
	      "after the restart(s) the whole disk reads back");
	rc = rd(REG(STATUS), &v);
	check(rc == 1 && v == 0x0f,
	      "the driver's Status is still 0x0f (no reset): 0x%x", v);

out:
	rc = devtest_finish(&t);
	unlink(image);
	unlink(state);
	rmdir(dir);
	close(efd);
	return rc;
}
