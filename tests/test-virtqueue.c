/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues on real rings in a memfd-backed guest memory, the
 * driver played by hand: chains of 1 to 3 descriptors popped and pushed,
 * the used ring as the driver reads it, used-buffer interrupts on a real
 * eventfd line (and NO_INTERRUPT), InterruptACK, and every class of bad
 * descriptor with its defined result: the errno, DEVICE_NEEDS_RESET, a
 * config-change interrupt, the queue stopped until the driver resets.
 */
#include "test-common.h"
#include "virtio-fixture.h"

#include <string.h>

#define ST(x) IOREGION_VIRTIO_STATUS_##x
#define REG(x) IOREGION_VIRTIO_MMIO_##x
#define NEXT IOREGION_VIRTQ_DESC_F_NEXT
#define WRITE IOREGION_VIRTQ_DESC_F_WRITE

static uint16_t
used_idx(struct vf *f)
{
	return __atomic_load_n((uint16_t *)vf_ptr(f, VF_USED + 2), __ATOMIC_ACQUIRE);
}

static void
used_elem(struct vf *f, unsigned i, uint32_t *id, uint32_t *len)
{
	uint8_t *p = vf_ptr(f, VF_USED + 4 + 8 * (uint64_t)(i % VF_QSIZE));

	memcpy(id, p, 4);
	memcpy(len, p + 4, 4);
}

START_TEST(test_virtq_chains_of_one_to_three_pop_push_and_interrupt)
{
	struct vf f;
	struct ioregion_virtq *vq;
	struct ioregion_virtq_seg segs[4];
	uint16_t head = 0xffff;
	uint32_t id, len;
	const struct vf_desc one[] = { { VF_BUF, 512, WRITE, 0 } };
	const struct vf_desc two[] = {
		{ VF_BUF + 0x1000, 16, NEXT, 2 },
		{ VF_BUF + 0x2000, 1, WRITE, 0 },
	};
	const struct vf_desc three[] = {
		{ VF_BUF + 0x3000, 16, NEXT, 6 },
		{ VF_BUF + 0x4000, 4096, NEXT | WRITE, 7 },
		{ VF_BUF + 0x5000, 1, WRITE, 0 },
	};

	vf_setup(&f, 1);
	vf_probe(&f);
	vq = ioregion_virtio_mmio_queue(f.vm, 0);
	ior_assert_int_eq(ioregion_virtq_pop(vq, segs, 4, &head), 0);	/* empty */

	vf_descs(&f, 0, one, 1);
	vf_descs(&f, 1, two, 1);
	vf_descs(&f, 2, two + 1, 1);
	vf_descs(&f, 5, three, 1);
	vf_descs(&f, 6, three + 1, 2);
	vf_avail(&f, 0);
	vf_avail(&f, 1);
	vf_avail(&f, 5);
	ior_assert_int_eq(ioregion_virtq_pop(vq, segs, 4, &head), 1);
	ior_assert_uint_eq(head, 0);
	ior_assert(segs[0].gpa == VF_BUF && segs[0].len == 512 && segs[0].write);
	ior_assert_int_eq(ioregion_virtq_pop(vq, segs, 4, &head), 2);
	ior_assert_uint_eq(head, 1);
	ior_assert(segs[0].gpa == VF_BUF + 0x1000 && segs[0].len == 16 &&
		   !segs[0].write);
	ior_assert(segs[1].gpa == VF_BUF + 0x2000 && segs[1].len == 1 &&
		   segs[1].write);
	ior_assert_int_eq(ioregion_virtq_pop(vq, segs, 4, &head), 3);
	ior_assert_uint_eq(head, 5);
	ior_assert(segs[1].gpa == VF_BUF + 0x4000 && segs[1].len == 4096 &&
		   segs[1].write);
	ior_assert(segs[2].gpa == VF_BUF + 0x5000 && segs[2].len == 1);
	ior_assert_int_eq(ioregion_virtq_pop(vq, segs, 4, &head), 0);

	/* out of order, as a device may complete them */
	ior_assert_int_eq(ioregion_virtq_push(vq, 1, 1), 0);
	ior_assert_uint_eq(used_idx(&f), 1);
	ior_assert_uint_eq(vf_edges(&f), 0);		/* no interrupt yet */
	ior_assert_int_eq(ioregion_virtq_push(vq, 5, 4097), 0);
	ior_assert_int_eq(ioregion_virtq_push(vq, 0, 512), 0);
	ior_assert_uint_eq(used_idx(&f), 3);
	used_elem(&f, 0, &id, &len);
	ior_assert(id == 1 && len == 1);
	used_elem(&f, 1, &id, &len);
	ior_assert(id == 5 && len == 4097);
	used_elem(&f, 2, &id, &len);
	ior_assert(id == 0 && len == 512);
	/* pushed twice, never popped: refused, not a guest error */
	ior_assert_errno(ioregion_virtq_push(vq, 0, 1), -EINVAL);
	ior_assert_errno(ioregion_virtq_push(vq, 3, 1), -EINVAL);
	ior_assert_errno(ioregion_virtq_push(vq, VF_QSIZE, 1), -EINVAL);

	ior_assert_int_eq(ioregion_virtq_notify(vq), 1);
	ior_assert_uint_eq(vf_rd(&f, REG(INTERRUPT_STATUS)), IOREGION_VIRTIO_INT_VRING);
	ior_assert_uint_eq(vf_edges(&f), 1);
	ior_assert_int_eq(ioregion_virtq_notify(vq), 1);	/* still pending */
	ior_assert_uint_eq(vf_edges(&f), 0);
	vf_wr(&f, REG(INTERRUPT_ACK), IOREGION_VIRTIO_INT_VRING);
	ior_assert_uint_eq(vf_rd(&f, REG(INTERRUPT_STATUS)), 0);
	ior_assert_int_eq(ioregion_irq_is_asserted(f.irq), 0);
	ior_assert_uint_eq(vf_stats(&f).interrupts, 1);
	ior_assert_uint_eq(vf_stats(&f).bad_chains, 0);
	vf_teardown(&f);
}
END_TEST

START_TEST(test_virtq_wraps_around_the_16_bit_indices)
{
	struct vf f;
	struct ioregion_virtq *vq;
	struct ioregion_virtq_seg seg;
	const struct vf_desc d = { VF_BUF, 8, 0, 0 };
	uint16_t head;

	vf_setup(&f, 1);
	vf_probe(&f);
	vq = ioregion_virtio_mmio_queue(f.vm, 0);
	vf_descs(&f, 3, &d, 1);
	for (unsigned i = 0; i < 70000; i++) {
		vf_avail(&f, 3);
		ior_assert_int_eq(ioregion_virtq_pop(vq, &seg, 1, &head), 1);
		ior_assert_int_eq(ioregion_virtq_push(vq, head, 0), 0);
	}
	ior_assert_uint_eq(used_idx(&f), (uint16_t)70000);
	ior_assert_uint_eq(vf_stats(&f).bad_chains, 0);
	vf_teardown(&f);
}
END_TEST

START_TEST(test_virtq_no_interrupt_flag_suppresses_and_ack_re_edges)
{
	struct vf f;
	struct ioregion_virtq *vq;

	vf_setup(&f, 1);
	vf_probe(&f);
	vq = ioregion_virtio_mmio_queue(f.vm, 0);
	*(uint16_t *)vf_ptr(&f, VF_AVAIL) = IOREGION_VIRTQ_AVAIL_F_NO_INTERRUPT;
	ior_assert_int_eq(ioregion_virtq_notify(vq), 0);
	ior_assert_uint_eq(vf_edges(&f), 0);
	ior_assert_uint_eq(vf_rd(&f, REG(INTERRUPT_STATUS)), 0);
	ior_assert_uint_eq(vf_stats(&f).suppressed, 1);
	*(uint16_t *)vf_ptr(&f, VF_AVAIL) = 0;
	/* both bits pending; the driver ACKs one: a new edge for the other */
	ior_assert_int_eq(ioregion_virtq_notify(vq), 1);
	ior_assert_int_eq(ioregion_virtio_mmio_config_changed(f.vm), 0);
	ior_assert_uint_eq(vf_rd(&f, REG(INTERRUPT_STATUS)), 3);
	ior_assert_uint_eq(vf_edges(&f), 1);
	vf_wr(&f, REG(INTERRUPT_ACK), IOREGION_VIRTIO_INT_VRING);
	ior_assert_uint_eq(vf_rd(&f, REG(INTERRUPT_STATUS)), IOREGION_VIRTIO_INT_CONFIG);
	ior_assert_uint_eq(vf_edges(&f), 1);
	vf_wr(&f, REG(INTERRUPT_ACK), IOREGION_VIRTIO_INT_CONFIG);
	ior_assert_uint_eq(vf_edges(&f), 0);
	ior_assert_errno(ioregion_virtq_notify(NULL), -EINVAL);
	vf_teardown(&f);
}
END_TEST

START_TEST(test_virtq_refuses_when_not_live_and_bad_arguments)
{
	struct vf f;
	struct ioregion_virtq *vq;
	struct ioregion_virtq_seg seg;
	uint16_t head;

	vf_setup(&f, 2);
	vq = ioregion_virtio_mmio_queue(f.vm, 0);
	ior_assert_errno(ioregion_virtq_pop(vq, &seg, 1, &head), -ENOTCONN);
	ior_assert_errno(ioregion_virtq_push(vq, 0, 0), -ENOTCONN);
	ior_assert_errno(ioregion_virtq_notify(vq), -ENOTCONN);
	vf_probe(&f);
	ior_assert_errno(ioregion_virtq_pop(ioregion_virtio_mmio_queue(f.vm, 1),
					    &seg, 1, &head), -ENOTCONN);
	ior_assert_errno(ioregion_virtq_pop(NULL, &seg, 1, &head), -EINVAL);
	ior_assert_errno(ioregion_virtq_pop(vq, NULL, 1, &head), -EINVAL);
	ior_assert_errno(ioregion_virtq_pop(vq, &seg, 0, &head), -EINVAL);
	ior_assert_errno(ioregion_virtq_pop(vq, &seg, 1, NULL), -EINVAL);
	ior_assert_errno(ioregion_virtq_push(NULL, 0, 0), -EINVAL);
	ior_assert_uint_eq(ioregion_virtq_get_size(NULL), 0);
	/* the device gives up by itself */
	ior_assert_int_eq(ioregion_virtio_mmio_needs_reset(f.vm), 0);
	ior_assert_errno(ioregion_virtq_pop(vq, &seg, 1, &head), -EIO);
	ior_assert_errno(ioregion_virtio_mmio_needs_reset(NULL), -EINVAL);
	ior_assert_uint_eq(vf_stats(&f).bad_chains, 0);
	vf_teardown(&f);
}
END_TEST

/* A bad chain: its descriptors at table index 0.., then the avail ring. */
struct bad_case {
	const char *what;
	struct vf_desc d[VF_QSIZE];
	unsigned n;		/* descriptors to write */
	uint16_t head;
	unsigned max;		/* the device's segment array */
	int avail_jump;		/* the driver's avail idx jumps this far */
	int err;
};

static const struct bad_case bad_cases[] = {
	{ "head past the queue", { { VF_BUF, 8, 0, 0 } }, 1, VF_QSIZE, 8, 0,
	  -EINVAL },
	{ "next past the queue", { { VF_BUF, 8, NEXT, VF_QSIZE } }, 1, 0, 8, 0,
	  -EINVAL },
	{ "a loop of two", { { VF_BUF, 8, NEXT, 1 }, { VF_BUF, 8, NEXT, 0 } },
	  2, 0, 64, 0, -ELOOP },
	{ "a descriptor naming itself", { { VF_BUF, 8, NEXT, 0 } }, 1, 0, 64, 0,
	  -ELOOP },
	{ "lengths overflow 32 bits",
	  { { VF_BUF, 0x80000000u, NEXT, 1 }, { VF_BUF, 0x80000000u, 0, 0 } },
	  2, 0, 8, 0, -EOVERFLOW },
	{ "buffer outside guest memory", { { 0x900000, 8, 0, 0 } }, 1, 0, 8, 0,
	  -EFAULT },
	{ "buffer straddling the end of a slot",
	  { { VF_RAM_GPA + VF_RAM_SIZE - 4, 8, 0, 0 } }, 1, 0, 8, 0, -EFAULT },
	{ "buffer wrapping past 2^64", { { UINT64_MAX - 3, 8, 0, 0 } }, 1, 0, 8,
	  0, -EFAULT },
	{ "device-writable buffer in read-only memory",
	  { { VF_RO_GPA, 8, WRITE, 0 } }, 1, 0, 8, 0, -EACCES },
	{ "indirect descriptor",
	  { { VF_BUF, 16, IOREGION_VIRTQ_DESC_F_INDIRECT, 0 } }, 1, 0, 8, 0,
	  -EINVAL },
	{ "more segments than the device takes",
	  { { VF_BUF, 8, NEXT, 1 }, { VF_BUF, 8, NEXT, 2 }, { VF_BUF, 8, 0, 0 } },
	  3, 0, 2, 0, -ENOBUFS },
	{ "avail index more than the queue ahead", { { VF_BUF, 8, 0, 0 } }, 1,
	  0, 8, VF_QSIZE + 1, -EINVAL },
};

START_TEST(test_virtq_bad_chain_refused_needs_reset_and_config_interrupt)
{
	const struct bad_case *c = &bad_cases[_i];
	struct vf f;
	struct ioregion_virtq *vq;
	struct ioregion_virtq_seg segs[64];
	uint16_t head = 0xeeee;
	const struct vf_desc ok = { VF_BUF, 8, 0, 0 };

	vf_setup(&f, 1);
	vf_probe(&f);
	vq = ioregion_virtio_mmio_queue(f.vm, 0);
	vf_descs(&f, 0, c->d, c->n);
	if (c->avail_jump) {
		f.avail_idx = (uint16_t)(c->avail_jump - 1);
	}
	vf_avail(&f, c->head);
	ck_assert_msg(ioregion_virtq_pop(vq, segs, c->max, &head) == c->err,
		      "%s: expected %d", c->what, c->err);
	ior_assert_uint_eq(head, 0xeeee);
	ior_assert_uint_eq(vf_rd(&f, REG(STATUS)), 0x0f | ST(DEVICE_NEEDS_RESET));
	ior_assert_uint_eq(vf_rd(&f, REG(INTERRUPT_STATUS)), IOREGION_VIRTIO_INT_CONFIG);
	ior_assert_uint_eq(vf_edges(&f), 1);
	ior_assert_uint_eq(vf_stats(&f).bad_chains, 1);
	/* stopped: nothing more is taken, pushed or notified */
	ior_assert_errno(ioregion_virtq_pop(vq, segs, c->max, &head), -EIO);
	ior_assert_errno(ioregion_virtq_push(vq, 0, 0), -EIO);
	ior_assert_errno(ioregion_virtq_notify(vq), -EIO);
	vf_wr(&f, REG(QUEUE_NOTIFY), 0);
	ior_assert_uint_eq(f.notified, 0);
	ior_assert_uint_eq(used_idx(&f), 0);
	/* the driver resets and sets up again: a good chain works */
	memset(vf_ptr(&f, VF_AVAIL), 0, 4);
	vf_probe(&f);
	ior_assert_uint_eq(vf_edges(&f), 0);
	vf_descs(&f, 0, &ok, 1);
	vf_avail(&f, 0);
	ior_assert_int_eq(ioregion_virtq_pop(vq, segs, 1, &head), 1);
	ior_assert_uint_eq(head, 0);
	ior_assert_int_eq(ioregion_virtq_push(vq, head, 0), 0);
	ior_assert_uint_eq(used_idx(&f), 1);
	vf_teardown(&f);
}
END_TEST

START_TEST(test_virtq_head_still_held_is_a_bad_chain)
{
	struct vf f;
	struct ioregion_virtq *vq;
	struct ioregion_virtq_seg seg;
	const struct vf_desc d = { VF_BUF, 8, 0, 0 };
	uint16_t head;

	vf_setup(&f, 1);
	vf_probe(&f);
	vq = ioregion_virtio_mmio_queue(f.vm, 0);
	vf_descs(&f, 4, &d, 1);
	vf_avail(&f, 4);
	vf_avail(&f, 4);
	ior_assert_int_eq(ioregion_virtq_pop(vq, &seg, 1, &head), 1);
	ior_assert_errno(ioregion_virtq_pop(vq, &seg, 1, &head), -EINVAL);
	ior_assert(vf_rd(&f, REG(STATUS)) & ST(DEVICE_NEEDS_RESET));
	vf_teardown(&f);
}
END_TEST

START_TEST(test_virtq_descriptor_changed_after_pop_is_not_read_again)
{
	struct vf f;
	struct ioregion_virtq *vq;
	struct ioregion_virtq_seg seg;
	const struct vf_desc d = { VF_BUF, 8, WRITE, 0 };
	uint16_t head;

	vf_setup(&f, 1);
	vf_probe(&f);
	vq = ioregion_virtio_mmio_queue(f.vm, 0);
	vf_descs(&f, 0, &d, 1);
	vf_avail(&f, 0);
	ior_assert_int_eq(ioregion_virtq_pop(vq, &seg, 1, &head), 1);
	/* the guest rewrites the descriptor: the device's copy stays */
	memset(vf_ptr(&f, VF_DESC), 0xff, 16);
	ior_assert(seg.gpa == VF_BUF && seg.len == 8 && seg.write);
	ior_assert_int_eq(ioregion_virtq_push(vq, head, 8), 0);
	vf_teardown(&f);
}
END_TEST

START_TEST(test_virtq_queue_ready_0_starts_the_rings_over)
{
	struct vf f;
	struct ioregion_virtq *vq;
	struct ioregion_virtq_seg seg;
	const struct vf_desc d = { VF_BUF, 8, 0, 0 };
	uint16_t head;

	vf_setup(&f, 1);
	vf_probe(&f);
	vq = ioregion_virtio_mmio_queue(f.vm, 0);
	vf_descs(&f, 0, &d, 1);
	vf_avail(&f, 0);
	ior_assert_int_eq(ioregion_virtq_pop(vq, &seg, 1, &head), 1);
	/* the driver takes the queue down (Linux's del_vq) and sets it up
	 * again on fresh rings: the device starts at index 0, holds nothing */
	vf_wr(&f, REG(QUEUE_SEL), 0);
	vf_wr(&f, REG(QUEUE_READY), 0);
	ior_assert_uint_eq(vf_rd(&f, REG(QUEUE_READY)), 0);
	ior_assert_errno(ioregion_virtq_pop(vq, &seg, 1, &head), -ENOTCONN);
	memset(vf_ptr(&f, VF_AVAIL), 0, 4);
	memset(vf_ptr(&f, VF_USED), 0, 4);
	f.avail_idx = 0;
	vf_wr(&f, REG(QUEUE_READY), 1);
	ior_assert_errno(ioregion_virtq_push(vq, 0, 0), -EINVAL);
	vf_avail(&f, 0);
	ior_assert_int_eq(ioregion_virtq_pop(vq, &seg, 1, &head), 1);
	ior_assert_int_eq(ioregion_virtq_push(vq, head, 0), 0);
	ior_assert_uint_eq(used_idx(&f), 1);
	ior_assert_uint_eq(vf_stats(&f).bad_chains, 0);
	vf_teardown(&f);
}
END_TEST

START_TEST(test_virtq_rings_gone_from_the_memory_table_need_reset)
{
	struct vf f;
	struct ioregion_virtq *vq;
	struct ioregion_virtq_seg seg;
	uint16_t head;

	vf_setup(&f, 1);
	vf_probe(&f);
	vq = ioregion_virtio_mmio_queue(f.vm, 0);
	/* the VMM takes the RAM slot away while the queue is live */
	ior_assert_int_eq(ioregion_mem_remove_slot(f.mem, VF_RAM_GPA), 0);
	ior_assert_errno(ioregion_virtq_pop(vq, &seg, 1, &head), -EFAULT);
	ior_assert(vf_rd(&f, REG(STATUS)) & ST(DEVICE_NEEDS_RESET));
	ior_assert_uint_eq(vf_edges(&f), 1);
	ior_assert_uint_eq(vf_stats(&f).bad_chains, 1);
	vf_teardown(&f);
}
END_TEST

static Suite *
virtqueue_suite(void)
{
	Suite *s = suite_create("virtqueue");
	TCase *tc = tcase_create("bad-chains");

	ior_add_test(s, test_virtq_chains_of_one_to_three_pop_push_and_interrupt);
	ior_add_test(s, test_virtq_wraps_around_the_16_bit_indices);
	ior_add_test(s, test_virtq_no_interrupt_flag_suppresses_and_ack_re_edges);
	ior_add_test(s, test_virtq_refuses_when_not_live_and_bad_arguments);
	ior_add_test(s, test_virtq_head_still_held_is_a_bad_chain);
	ior_add_test(s, test_virtq_descriptor_changed_after_pop_is_not_read_again);
	ior_add_test(s, test_virtq_queue_ready_0_starts_the_rings_over);
	ior_add_test(s, test_virtq_rings_gone_from_the_memory_table_need_reset);
	tcase_add_loop_test(tc, test_virtq_bad_chain_refused_needs_reset_and_config_interrupt,
			    0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}

IOR_TEST_MAIN(virtqueue_suite)
