/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the split virtqueue parser, ioregion_virtq_pop(), push()
 * and notify(), on a guest memory whose every byte (descriptor table,
 * avail ring, buffers) comes from the fuzzer, behind a virtio-mmio
 * transport the target drives to DRIVER_OK as Linux does.
 *
 * Guest memory: 8 KiB read-write at RAM_GPA, 4 KiB read-only right after
 * it, nothing else (a 16-bit offset from RAM_GPA reaches past both).
 *
 * Input: byte 0 queue size - 1 (mod 16), byte 1 segments per pop - 1
 * (mod 16), byte 2 rounds - 1 (mod 4); bytes 3-8 the descriptor table,
 * avail and used ring offsets from RAM_GPA (u16 LE each; QueueReady may
 * refuse them); bytes 9-12 per round, what the "driver" adds to avail->idx
 * before it; then the contents of guest memory (read-write, then
 * read-only), zeros past the input's end. A round pops until the queue is
 * empty or a pop fails, pushes what it popped (last first), and notifies.
 *
 * Invariants: no crash and no sanitizer report; a pop returns 0..max
 * segments, each (of non-zero length) inside one slot of guest memory and,
 * if device-writable, inside writable memory, its head inside the queue;
 * or one of the documented errnos, and every errno but -ENOTCONN and -EIO
 * leaves the device needing reset; push and notify return documented
 * values only.
 */
#include "fuzz-guest.h"

#include <errno.h>
#include <stdbool.h>

#define SEGS_MAX 16u

#define REG(x) IOREGION_VIRTIO_MMIO_##x

/* Made once: guest memory and a line (fuzz-guest.h). */
static struct {
	struct fuzz_guest g;
} env;

static void
env_init(void)
{
	fuzz_guest_init(&env.g, "fuzz-virtq");
}

static void
wr(struct ioregion_virtio_mmio *vm, uint64_t off, uint32_t val)
{
	FUZZ_CHECK(ioregion_virtio_mmio_write(vm, off, 4, val) == 0);
}

static uint32_t
rd(struct ioregion_virtio_mmio *vm, uint64_t off)
{
	uint64_t v = 0;

	FUZZ_CHECK(ioregion_virtio_mmio_read(vm, off, 4, &v) == 0);
	return (uint32_t)v;
}

static void
add_status(struct ioregion_virtio_mmio *vm, uint32_t bit)
{
	wr(vm, REG(STATUS), rd(vm, REG(STATUS)) | bit);
}

/* Linux's probe: features all accepted, queue 0 set up, DRIVER_OK. */
static void
probe(struct ioregion_virtio_mmio *vm, uint32_t qsize, const uint64_t ring[3])
{
	static const uint64_t reg[3] = { REG(QUEUE_DESC_LOW),
		REG(QUEUE_DRIVER_LOW), REG(QUEUE_DEVICE_LOW) };

	wr(vm, REG(STATUS), 0);
	add_status(vm, IOREGION_VIRTIO_STATUS_ACKNOWLEDGE);
	add_status(vm, IOREGION_VIRTIO_STATUS_DRIVER);
	for (uint32_t sel = 0; sel < 2; sel++) {
		wr(vm, REG(DEVICE_FEATURES_SEL), sel);
		wr(vm, REG(DRIVER_FEATURES_SEL), sel);
		wr(vm, REG(DRIVER_FEATURES), rd(vm, REG(DEVICE_FEATURES)));
	}
	add_status(vm, IOREGION_VIRTIO_STATUS_FEATURES_OK);
	FUZZ_CHECK(rd(vm, REG(STATUS)) & IOREGION_VIRTIO_STATUS_FEATURES_OK);
	wr(vm, REG(QUEUE_SEL), 0);
	wr(vm, REG(QUEUE_NUM), qsize);
	for (unsigned i = 0; i < 3; i++) {
		wr(vm, reg[i], (uint32_t)ring[i]);
		wr(vm, reg[i] + 4, (uint32_t)(ring[i] >> 32));
	}
	wr(vm, REG(QUEUE_READY), 1);
	add_status(vm, IOREGION_VIRTIO_STATUS_DRIVER_OK);
}

static bool
needs_reset(struct ioregion_virtio_mmio *vm)
{
	return rd(vm, REG(STATUS)) & IOREGION_VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}

/* A segment lies inside guest memory as this target laid it out. */
static void
check_seg(const struct ioregion_virtq_seg *s)
{
	fuzz_guest_check_seg(&env.g, s);
	/* A driver-readable one lies in one of the two slots, not both. */
	FUZZ_CHECK(!s->len || s->write || s->gpa - RAM_GPA >= RW_SIZE ||
		   s->gpa - RAM_GPA + s->len <= RW_SIZE);
}

static void
round_(struct ioregion_virtio_mmio *vm, struct ioregion_virtq *vq,
       uint32_t qsize, unsigned max)
{
	struct ioregion_virtq_seg segs[SEGS_MAX];
	uint16_t heads[16];
	uint32_t lens[16];
	unsigned npopped = 0;
	int n, rc;

	for (;;) {
		uint16_t head = 0xffff;
		uint32_t wlen = 0;

		n = ioregion_virtq_pop(vq, segs, max, &head);
		if (n <= 0)
			break;
		FUZZ_CHECK((unsigned)n <= max);
		FUZZ_CHECK(head < qsize);
		FUZZ_CHECK(npopped < qsize);	/* every head held once */
		for (int i = 0; i < n; i++) {
			check_seg(&segs[i]);
			if (segs[i].write)
				wlen += segs[i].len;
		}
		heads[npopped] = head;
		lens[npopped++] = wlen;
	}
	if (n < 0) {
		FUZZ_CHECK(n == -EINVAL || n == -ELOOP || n == -EOVERFLOW ||
			   n == -EFAULT || n == -EACCES || n == -ENOBUFS ||
			   n == -ENOTCONN || n == -EIO);
		if (n != -ENOTCONN && n != -EIO)
			FUZZ_CHECK(needs_reset(vm));
	}
	while (npopped--) {
		rc = ioregion_virtq_push(vq, heads[npopped], lens[npopped]);
		FUZZ_CHECK(rc == 0 || rc == -EFAULT || rc == -EIO ||
			   rc == -ENOTCONN);
	}
	rc = ioregion_virtq_notify(vq);
	FUZZ_CHECK(rc == 0 || rc == 1 || rc == -EFAULT || rc == -EIO ||
		   rc == -ENOTCONN);
	wr(vm, REG(INTERRUPT_ACK), rd(vm, REG(INTERRUPT_STATUS)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { .p = data, .len = size };
	struct ioregion_virtio_mmio_config cfg = {
		.device_id = 2,
		.features = IOREGION_VIRTIO_F_VERSION_1,
		.nqueues = 1,
		.queue_max = 16,
	};
	struct ioregion_virtio_mmio *vm;
	struct ioregion_virtq *vq;
	uint32_t qsize;
	unsigned max, rounds;
	uint64_t ring[3];
	uint8_t bump[4];

	if (!env.g.mem)
		env_init();
	qsize = 1 + fuzz_u8(&in) % 16;
	max = 1 + fuzz_u8(&in) % SEGS_MAX;
	rounds = 1 + fuzz_u8(&in) % 4;
	for (unsigned i = 0; i < 3; i++) {
		ring[i] = fuzz_u8(&in);
		ring[i] = RAM_GPA + (ring[i] | (uint64_t)fuzz_u8(&in) << 8);
	}
	for (unsigned i = 0; i < 4; i++)
		bump[i] = fuzz_u8(&in);
	fuzz_guest_fill(&env.g, &in);

	FUZZ_CHECK(ioregion_virtio_mmio_new(&cfg, env.g.mem, env.g.irq, &vm) == 0);
	probe(vm, qsize, ring);
	vq = ioregion_virtio_mmio_queue(vm, 0);
	for (unsigned r = 0; r < rounds; r++) {
		uint64_t avail_idx = ring[1] + 2 - RAM_GPA;

		if (bump[r] && avail_idx + 2 <= RW_SIZE) {
			uint16_t idx;

			memcpy(&idx, env.g.ram + avail_idx, 2);
			idx = (uint16_t)(idx + bump[r]);
			memcpy(env.g.ram + avail_idx, &idx, 2);
		}
		round_(vm, vq, qsize, max);
	}
	ioregion_virtio_mmio_destroy(vm);
	fuzz_guest_drain(&env.g);
	return 0;
}
