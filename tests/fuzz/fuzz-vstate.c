/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a restart on a virtio-mmio transport's state area,
 * ioregion_virtio_mmio_set_state(), with the area and guest memory from
 * the fuzzer: a restarted device process must cope with whatever a kill,
 * a damaged file or another program left there.
 *
 * Transport: device ID 2, VIRTIO_F_VERSION_1, 2 queues of at most 16
 * (the area is 320 bytes). Guest memory: 8 KiB read-write at RAM_GPA, 4
 * KiB read-only right after it.
 *
 * Input: the 320 bytes of the area, then guest memory (read-write, then
 * read-only); zeros past the input's end. The device's callbacks: notify
 * pops every chain and gives it back; abandoned writes 1 into the last
 * byte of the last buffer if writable.
 *
 * Invariants: no crash and no sanitizer report; set_state answers NEW
 * (only for an area of zeros), RESUMED or BAD (then DEVICE_NEEDS_RESET);
 * the chains the callbacks get lie inside guest memory, device-writable
 * ones inside writable memory, their heads inside the queue; and whatever
 * the first start did, the area it leaves is good: a second start on it
 * resumes, with the same Status.
 */
#include "fuzz-guest.h"

#include <errno.h>
#include <stdbool.h>

#define AREA 320u
#define QMAX 16u

static struct {
	struct fuzz_guest g;
	uint64_t area[AREA / 8];
} env;

static void
env_init(void)
{
	fuzz_guest_init(&env.g, "fuzz-vstate");
}

static void
check_segs(const struct ioregion_virtq_seg *s, unsigned n)
{
	FUZZ_CHECK(n >= 1 && n <= QMAX);
	for (unsigned i = 0; i < n; i++)
		fuzz_guest_check_seg(&env.g, &s[i]);
}

static void
on_notify(struct ioregion_virtio_mmio *vm, unsigned queue)
{
	struct ioregion_virtq *vq = ioregion_virtio_mmio_queue(vm, queue);
	struct ioregion_virtq_seg segs[QMAX];
	uint16_t heads[QMAX];
	unsigned n = 0;
	int rc;

	FUZZ_CHECK(vq != NULL);
	while (n < QMAX && (rc = ioregion_virtq_pop(vq, segs, QMAX, &heads[n])) > 0) {
		check_segs(segs, (unsigned)rc);
		FUZZ_CHECK(heads[n] < ioregion_virtq_get_size(vq));
		n++;
	}
	while (n--)
		(void)ioregion_virtq_push(vq, heads[n], 0);
	(void)ioregion_virtq_notify(vq);
}

static uint32_t
on_abandoned(struct ioregion_virtio_mmio *vm, unsigned queue, uint16_t head,
	     const struct ioregion_virtq_seg *segs, unsigned n)
{
	const struct ioregion_virtq_seg *st = &segs[n - 1];
	uint8_t err = 1;

	FUZZ_CHECK(queue < 2);
	FUZZ_CHECK(head < ioregion_virtq_get_size(
		ioregion_virtio_mmio_queue(vm, queue)));
	check_segs(segs, n);
	if (st->write && st->len &&
	    ioregion_mem_write(env.g.mem, st->gpa + st->len - 1, &err, 1) == 0)
		return 1;
	return 0;
}

static const struct ioregion_virtio_mmio_ops ops = {
	.notify = on_notify,
	.abandoned = on_abandoned,
};

static int
start(uint32_t *status)
{
	struct ioregion_virtio_mmio_config cfg = {
		.device_id = 2,
		.features = IOREGION_VIRTIO_F_VERSION_1,
		.nqueues = 2,
		.queue_max = QMAX,
		.ops = &ops,
	};
	struct ioregion_virtio_mmio *vm;
	int rc;

	FUZZ_CHECK(ioregion_virtio_mmio_state_size(&cfg) == AREA);
	FUZZ_CHECK(ioregion_virtio_mmio_new(&cfg, env.g.mem, env.g.irq, &vm) == 0);
	rc = ioregion_virtio_mmio_set_state(vm, env.area, AREA);
	*status = ioregion_virtio_mmio_get_status(vm);
	ioregion_virtio_mmio_destroy(vm);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { .p = data, .len = size };
	const uint8_t *p;
	size_t got;
	bool zeros = true;
	uint32_t st1, st2;
	int rc;

	if (!env.g.mem)
		env_init();
	memset(env.area, 0, sizeof(env.area));
	p = fuzz_bytes(&in, AREA, &got);
	memcpy(env.area, p, got);
	for (size_t i = 0; i < got; i++)
		zeros = zeros && !p[i];
	fuzz_guest_fill(&env.g, &in);

	rc = start(&st1);
	FUZZ_CHECK(rc == IOREGION_VIRTIO_STATE_NEW ||
		   rc == IOREGION_VIRTIO_STATE_RESUMED ||
		   rc == IOREGION_VIRTIO_STATE_BAD);
	FUZZ_CHECK((rc == IOREGION_VIRTIO_STATE_NEW) == zeros);
	if (rc == IOREGION_VIRTIO_STATE_BAD)
		FUZZ_CHECK(st1 & IOREGION_VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	rc = start(&st2);
	FUZZ_CHECK(rc == IOREGION_VIRTIO_STATE_RESUMED);
	FUZZ_CHECK(st2 == st1);
	fuzz_guest_drain(&env.g);
	return 0;
}
