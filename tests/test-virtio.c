/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport with the driver played by hand: Linux's probe
 * sequence, feature negotiation and its refusals, the status state
 * machine, register access rules, config space, QueueNotify, interrupt
 * status and ACK on a real eventfd line, reset, and the region callbacks.
 * The rings are in test-virtqueue.c.
 */
#include "test-common.h"
#include "virtio-fixture.h"

#include <string.h>

#define ST(x) IOREGION_VIRTIO_STATUS_##x
#define REG(x) IOREGION_VIRTIO_MMIO_##x

START_TEST(test_virtio_new_refuses_bad_configs)
{
	struct vf f;
	struct ioregion_virtio_mmio *vm = (void *)1;
	struct ioregion_virtio_mmio_config good = {
		.device_id = 2, .features = IOREGION_VIRTIO_F_VERSION_1,
		.nqueues = 1, .queue_max = 8,
	}, c;

	vf_setup(&f, 1);
	ior_assert_errno(ioregion_virtio_mmio_new(NULL, f.mem, f.irq, &vm), -EINVAL);
	ior_assert_ptr_null(vm);
	ior_assert_errno(ioregion_virtio_mmio_new(&good, NULL, f.irq, &vm), -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_new(&good, f.mem, NULL, &vm), -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_new(&good, f.mem, f.irq, NULL), -EINVAL);
#define BAD(field, value) do { \
		c = good; c.field = value; \
		ior_assert_errno(ioregion_virtio_mmio_new(&c, f.mem, f.irq, &vm), \
				 -EINVAL); \
	} while (0)
	BAD(device_id, 0);
	BAD(features, 0);
	BAD(features, IOREGION_VIRTIO_F_VERSION_1 | IOREGION_VIRTIO_F_EVENT_IDX);
	BAD(features, IOREGION_VIRTIO_F_VERSION_1 | IOREGION_VIRTIO_F_INDIRECT_DESC);
	BAD(features, IOREGION_VIRTIO_F_VERSION_1 | IOREGION_VIRTIO_F_RING_PACKED);
	BAD(nqueues, 0);
	BAD(nqueues, IOREGION_VIRTIO_MMIO_QUEUES_MAX + 1);
	BAD(queue_max, 0);
	BAD(queue_max, IOREGION_VIRTQ_SIZE_MAX + 1);
	BAD(config_size, IOREGION_VIRTIO_MMIO_CONFIG_MAX + 1);
	BAD(reserved0, 1);
	BAD(reserved[3], 1);
#undef BAD
	c = good;
	c.nqueues = IOREGION_VIRTIO_MMIO_QUEUES_MAX;
	c.queue_max = IOREGION_VIRTQ_SIZE_MAX;
	ior_assert_int_eq(ioregion_virtio_mmio_new(&c, f.mem, f.irq, &vm), 0);
	ioregion_virtio_mmio_destroy(vm);
	ioregion_virtio_mmio_destroy(NULL);
	vf_teardown(&f);
}
END_TEST

START_TEST(test_virtio_linux_probe_sequence_reaches_driver_ok)
{
	struct vf f;

	vf_setup(&f, 2);
	vf_probe(&f);
	ior_assert(ioregion_virtio_mmio_get_features(f.vm) == VF_FEATURES);
	ior_assert_uint_eq(ioregion_virtio_mmio_get_status(f.vm), 0x0f);
	ior_assert_uint_eq(ioregion_virtq_get_size(ioregion_virtio_mmio_queue(f.vm, 0)),
			   VF_QSIZE);
	/* queue 1 exists, queue 2 does not: QueueNumMax 0 tells Linux */
	vf_wr(&f, REG(QUEUE_SEL), 1);
	ior_assert_uint_eq(vf_rd(&f, REG(QUEUE_NUM_MAX)), VF_QSIZE);
	ior_assert_uint_eq(vf_rd(&f, REG(QUEUE_READY)), 0);
	vf_wr(&f, REG(QUEUE_SEL), 2);
	ior_assert_uint_eq(vf_rd(&f, REG(QUEUE_NUM_MAX)), 0);
	ior_assert_ptr_null(ioregion_virtio_mmio_queue(f.vm, 2));
	ior_assert_ptr_null(ioregion_virtio_mmio_queue(NULL, 0));
	ior_assert_uint_eq(vf_stats(&f).bad_accesses, 0);
	ior_assert_uint_eq(vf_stats(&f).resets, 1);
	ior_assert_uint_eq(f.resets, 1);
	vf_teardown(&f);
}
END_TEST

/* Up to FEATURES_OK with @p driver's features; @return the re-read status. */
static uint32_t
negotiate(struct vf *f, uint64_t driver, uint32_t sel2)
{
	vf_wr(f, REG(STATUS), ST(ACKNOWLEDGE));
	vf_wr(f, REG(STATUS), ST(ACKNOWLEDGE) | ST(DRIVER));
	vf_wr(f, REG(DRIVER_FEATURES_SEL), 0);
	vf_wr(f, REG(DRIVER_FEATURES), (uint32_t)driver);
	vf_wr(f, REG(DRIVER_FEATURES_SEL), 1);
	vf_wr(f, REG(DRIVER_FEATURES), (uint32_t)(driver >> 32));
	vf_wr(f, REG(DRIVER_FEATURES_SEL), 2);
	vf_wr(f, REG(DRIVER_FEATURES), sel2);
	vf_wr(f, REG(STATUS), ST(ACKNOWLEDGE) | ST(DRIVER) | ST(FEATURES_OK));
	return vf_rd(f, REG(STATUS));
}

START_TEST(test_virtio_features_ok_refused_unless_subset_with_version_1)
{
	struct vf f;

	vf_setup(&f, 1);
	vf_wr(&f, REG(DEVICE_FEATURES_SEL), 2);
	ior_assert_uint_eq(vf_rd(&f, REG(DEVICE_FEATURES)), 0);
	/* not offered: bit 7 */
	ior_assert_uint_eq(negotiate(&f, VF_FEATURES | (1ull << 7), 0), 3);
	vf_wr(&f, REG(STATUS), 0);
	/* no VERSION_1 (a legacy driver) */
	ior_assert_uint_eq(negotiate(&f, 1ull << 6, 0), 3);
	vf_wr(&f, REG(STATUS), 0);
	/* a bit past 63 */
	ior_assert_uint_eq(negotiate(&f, VF_FEATURES, 1), 3);
	ior_assert_uint_eq(vf_stats(&f).refused_features, 3);
	/* DRIVER_OK without FEATURES_OK: dropped */
	vf_wr(&f, REG(STATUS), 3 | ST(DRIVER_OK));
	ior_assert_uint_eq(vf_rd(&f, REG(STATUS)), 3);
	vf_wr(&f, REG(STATUS), 0);
	/* a subset with VERSION_1 is fine; features are frozen after it */
	ior_assert_uint_eq(negotiate(&f, IOREGION_VIRTIO_F_VERSION_1, 0),
			   3 | ST(FEATURES_OK));
	vf_wr(&f, REG(DRIVER_FEATURES_SEL), 0);
	vf_wr(&f, REG(DRIVER_FEATURES), 1u << 6);
	ior_assert(ioregion_virtio_mmio_get_features(f.vm) ==
		   IOREGION_VIRTIO_F_VERSION_1);
	ior_assert_uint_eq(vf_stats(&f).refused_features, 3);
	vf_teardown(&f);
}
END_TEST

START_TEST(test_virtio_status_bits_only_in_order_and_never_cleared)
{
	struct vf f;
	uint64_t before;

	vf_setup(&f, 1);
	vf_wr(&f, REG(STATUS), ST(DRIVER));		/* before ACKNOWLEDGE */
	ior_assert_uint_eq(vf_rd(&f, REG(STATUS)), 0);
	vf_wr(&f, REG(STATUS), ST(ACKNOWLEDGE) | ST(DEVICE_NEEDS_RESET));
	ior_assert_uint_eq(vf_rd(&f, REG(STATUS)), ST(ACKNOWLEDGE));
	vf_wr(&f, REG(STATUS), ST(ACKNOWLEDGE) | ST(FEATURES_OK));	/* skips DRIVER */
	ior_assert_uint_eq(vf_rd(&f, REG(STATUS)), ST(ACKNOWLEDGE));
	vf_wr(&f, REG(STATUS), ST(ACKNOWLEDGE) | ST(DRIVER));
	vf_wr(&f, REG(STATUS), ST(DRIVER));		/* clears ACKNOWLEDGE */
	ior_assert_uint_eq(vf_rd(&f, REG(STATUS)), 3);
	ior_assert_uint_eq(vf_stats(&f).bad_accesses, 4);
	/* FAILED at any time; then nothing runs */
	vf_probe(&f);
	before = vf_stats(&f).bad_accesses;
	vf_wr(&f, REG(STATUS), 0x0f | ST(FAILED));
	ior_assert_uint_eq(vf_rd(&f, REG(STATUS)), 0x8f);
	vf_wr(&f, REG(QUEUE_NOTIFY), 0);
	ior_assert_uint_eq(f.notified, 0);
	ior_assert_uint_eq(vf_stats(&f).bad_accesses, before + 1);
	vf_teardown(&f);
}
END_TEST

START_TEST(test_virtio_register_access_rules)
{
	struct vf f;
	uint64_t v = 7;

	vf_setup(&f, 1);
	ior_assert_errno(ioregion_virtio_mmio_read(f.vm, 0, 2, &v), -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_read(f.vm, 2, 4, &v), -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_read(f.vm, 0, 8, &v), -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_read(f.vm, REG(QUEUE_NOTIFY), 4, &v),
			 -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_read(f.vm, 0x0b0, 4, &v), -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_write(f.vm, REG(MAGIC_VALUE), 4, 0),
			 -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_write(f.vm, REG(INTERRUPT_STATUS), 4, 0),
			 -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_write(f.vm, REG(STATUS), 1, 0),
			 -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_read(NULL, 0, 4, &v), -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_read(f.vm, 0, 4, NULL), -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_write(NULL, 0, 4, 0), -EINVAL);
	ior_assert_uint_eq(vf_stats(&f).bad_accesses, 8);
	/* queue setup of a queue that does not exist: ignored, counted */
	vf_wr(&f, REG(QUEUE_SEL), 5);
	vf_wr(&f, REG(QUEUE_NUM), 4);
	vf_wr(&f, REG(QUEUE_READY), 1);
	ior_assert_uint_eq(vf_rd(&f, REG(QUEUE_READY)), 0);
	ior_assert_uint_eq(vf_stats(&f).bad_accesses, 10);
	vf_teardown(&f);
}
END_TEST

START_TEST(test_virtio_config_space_through_callbacks)
{
	struct vf f;
	uint64_t v = 0;

	vf_setup(&f, 1);
	ior_assert_int_eq(ioregion_virtio_mmio_read(f.vm, 0x100, 1, &v), 0);
	ior_assert_uint_eq(v, 0xa0);
	ior_assert_int_eq(ioregion_virtio_mmio_read(f.vm, 0x104, 4, &v), 0);
	ior_assert_uint_eq(v, 0xa7a6a5a4);
	ior_assert_int_eq(ioregion_virtio_mmio_read(f.vm, 0x108, 8, &v), 0);
	ior_assert(v == 0xafaeadacabaaa9a8ull);
	ior_assert_int_eq(ioregion_virtio_mmio_write(f.vm, 0x102, 2, 0x1234), 0);
	ior_assert_uint_eq(f.config[2], 0x34);
	ior_assert_uint_eq(f.config[3], 0x12);
	/* the callback's error reaches the caller */
	ior_assert_errno(ioregion_virtio_mmio_write(f.vm, 0x100, 1, 0), -EPERM);
	/* past config space, straddling its end, misaligned, odd width */
	ior_assert_errno(ioregion_virtio_mmio_read(f.vm, 0x110, 1, &v), -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_read(f.vm, 0x10c, 8, &v), -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_read(f.vm, 0x101, 2, &v), -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_read(f.vm, 0x100, 3, &v), -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_read(f.vm, UINT64_MAX - 3, 4, &v),
			 -EINVAL);
	/* a change moves the generation on; before DRIVER_OK no interrupt */
	ior_assert_uint_eq(vf_rd(&f, REG(CONFIG_GENERATION)), 0);
	ior_assert_int_eq(ioregion_virtio_mmio_config_changed(f.vm), 0);
	ior_assert_uint_eq(vf_rd(&f, REG(CONFIG_GENERATION)), 1);
	ior_assert_uint_eq(vf_edges(&f), 0);
	vf_probe(&f);
	ior_assert_int_eq(ioregion_virtio_mmio_config_changed(f.vm), 0);
	ior_assert_uint_eq(vf_rd(&f, REG(CONFIG_GENERATION)), 2);
	ior_assert_uint_eq(vf_rd(&f, REG(INTERRUPT_STATUS)), IOREGION_VIRTIO_INT_CONFIG);
	ior_assert_uint_eq(vf_edges(&f), 1);
	ior_assert_errno(ioregion_virtio_mmio_config_changed(NULL), -EINVAL);
	vf_teardown(&f);
}
END_TEST

START_TEST(test_virtio_queue_notify_reaches_the_device_only_when_live)
{
	struct vf f;

	vf_setup(&f, 2);
	vf_wr(&f, REG(QUEUE_NOTIFY), 0);		/* before DRIVER_OK */
	ior_assert_uint_eq(f.notified, 0);
	vf_probe(&f);
	vf_wr(&f, REG(QUEUE_NOTIFY), 0);
	ior_assert_uint_eq(f.notified, 1);
	ior_assert_uint_eq(f.last_queue, 0);
	vf_wr(&f, REG(QUEUE_NOTIFY), 1);		/* not ready */
	vf_wr(&f, REG(QUEUE_NOTIFY), 9);		/* no such queue */
	ior_assert_uint_eq(f.notified, 1);
	ior_assert_uint_eq(vf_stats(&f).notifies, 1);
	ior_assert_uint_eq(vf_stats(&f).bad_accesses, 3);
	vf_teardown(&f);
}
END_TEST

START_TEST(test_virtio_queue_setup_frozen_while_ready_and_checked_at_ready)
{
	struct vf f;
	struct ioregion_virtq *vq;

	vf_setup(&f, 3);
	vf_probe(&f);
	vq = ioregion_virtio_mmio_queue(f.vm, 0);
	vf_wr(&f, REG(QUEUE_SEL), 0);
	vf_wr(&f, REG(QUEUE_NUM), 2);			/* ready: ignored */
	ior_assert_uint_eq(ioregion_virtq_get_size(vq), VF_QSIZE);
	ior_assert_uint_eq(vf_stats(&f).bad_accesses, 1);
	/* queue 1 with its used ring in read-only memory: refused */
	vf_queue(&f, 1, 4, VF_DESC + 0x200, VF_AVAIL + 0x200, VF_RO_GPA);
	ior_assert_uint_eq(vf_rd(&f, REG(QUEUE_READY)), 0);
	ior_assert(vf_rd(&f, REG(STATUS)) & ST(DEVICE_NEEDS_RESET));
	ior_assert_uint_eq(vf_rd(&f, REG(INTERRUPT_STATUS)), IOREGION_VIRTIO_INT_CONFIG);
	ior_assert_uint_eq(vf_edges(&f), 1);
	vf_wr(&f, REG(STATUS), 0);
	ior_assert_uint_eq(vf_edges(&f), 0);
	ior_assert_uint_eq(vf_rd(&f, REG(INTERRUPT_STATUS)), 0);
	ior_assert_int_eq(ioregion_irq_is_asserted(f.irq), 0);
	vf_probe(&f);
	/* queue 2: misaligned ring, a size above the max, outside memory */
	vf_queue(&f, 2, 4, VF_DESC + 8, VF_AVAIL + 0x200, VF_USED + 0x200);
	ior_assert_uint_eq(vf_rd(&f, REG(QUEUE_READY)), 0);
	vf_wr(&f, REG(STATUS), 0);
	vf_probe(&f);
	vf_queue(&f, 2, VF_QSIZE * 2, VF_DESC + 0x200, VF_AVAIL + 0x200,
		 VF_USED + 0x200);
	ior_assert_uint_eq(vf_rd(&f, REG(QUEUE_READY)), 0);
	vf_wr(&f, REG(STATUS), 0);
	vf_probe(&f);
	vf_queue(&f, 2, 4, 0x900000, VF_AVAIL + 0x200, VF_USED + 0x200);
	ior_assert_uint_eq(vf_rd(&f, REG(QUEUE_READY)), 0);
	ior_assert(vf_rd(&f, REG(STATUS)) & ST(DEVICE_NEEDS_RESET));
	vf_teardown(&f);
}
END_TEST

START_TEST(test_virtio_region_ops_serve_the_window)
{
	struct vf f;
	struct ioregion_channel *ch;
	struct ioregion_region *region;
	const struct ioregion_region_ops *ops = ioregion_virtio_mmio_region_ops();
	struct ioregion_region_config rc = {
		.addr = 0xd0000000, .size = 0x200,
		.flags = IOREGION_F_POSTED_WRITES, .ops = ops,
	};
	uint64_t v = 0;

	vf_setup(&f, 1);
	rc.userdata = f.vm;
	ior_assert_int_eq(ioregion_channel_new(f.ctx, IOREGION_WIRE_V3, &ch), 0);
	ior_assert_int_eq(ioregion_region_new(ch, &rc, &region), 0);
	ior_assert_int_eq(ops->read(region, REG(MAGIC_VALUE), 4, &v), 0);
	ior_assert_uint_eq(v, IOREGION_VIRTIO_MMIO_MAGIC);
	ior_assert_int_eq(ops->write(region, REG(STATUS), 4, ST(ACKNOWLEDGE)), 0);
	ior_assert_uint_eq(ioregion_virtio_mmio_get_status(f.vm), ST(ACKNOWLEDGE));
	ior_assert_errno(ops->read(region, 0x1f0, 4, &v), -EINVAL);
	ior_assert_ptr_null(ioregion_virtio_mmio_get_userdata(NULL));
	ior_assert_uint_eq(ioregion_virtio_mmio_get_status(NULL), 0);
	ioregion_channel_destroy(ch);
	vf_teardown(&f);
}
END_TEST

START_TEST(test_virtio_ranges_split_the_window_around_queue_notify)
{
	struct ioregion_virtio_mmio_range r[IOREGION_VIRTIO_MMIO_NRANGES];
	uint64_t v = 0;

	ior_assert_errno(ioregion_virtio_mmio_ranges(0x200, NULL), -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_ranges(REG(CONFIG) - 1, r), -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_ranges(REG(CONFIG) +
			 IOREGION_VIRTIO_MMIO_CONFIG_MAX + 1, r), -EINVAL);
	ior_assert_int_eq(ioregion_virtio_mmio_ranges(REG(CONFIG) +
			  IOREGION_VIRTIO_MMIO_CONFIG_MAX, r), 3);
	ior_assert_uint_eq(r[2].size, 0x1000 - 0x54);
	ior_assert_int_eq(ioregion_virtio_mmio_ranges(0x200, r), 3);
	ior_assert_uint_eq(r[0].offset, 0);
	ior_assert_uint_eq(r[0].size, REG(QUEUE_NOTIFY));
	ior_assert_uint_eq(r[0].flags, 0);
	ior_assert_uint_eq(r[1].offset, REG(QUEUE_NOTIFY));
	ior_assert_uint_eq(r[1].size, 4);
	ior_assert_uint_eq(r[1].flags, IOREGION_F_POSTED_WRITES);
	ior_assert_uint_eq(r[2].offset, REG(QUEUE_NOTIFY) + 4);
	ior_assert_uint_eq(r[2].size, 0x200 - 0x54);
	ior_assert_uint_eq(r[2].flags, 0);
	for (unsigned i = 0; i < 3; i++) {
		ior_assert_uint_eq(r[i].reserved, 0);
		ior_assert_ptr_nonnull(r[i].ops);
	}
	ior_assert_errno(r[0].ops->read(NULL, 0, 4, &v), -EINVAL);
}
END_TEST

/* The three ranges as regions on one channel, the test playing the kernel:
 * the posted QueueNotify is not answered, reaches the device, and a read
 * sent after it is answered after it. */
START_TEST(test_virtio_ranges_on_one_channel_posted_notify_in_order)
{
	struct ioregion_virtio_mmio_range r[IOREGION_VIRTIO_MMIO_NRANGES];
	struct ioregion_region *reg[IOREGION_VIRTIO_MMIO_NRANGES];
	struct ioregion_region_stats st;
	struct vf f;
	uint64_t v = 0;

	vf_setup(&f, 1);
	vf_channel(&f);
	vf_ranges(&f, r, reg);
	ior_assert_int_eq(vf_send(&f, reg[0], false, false, REG(MAGIC_VALUE), 0), 0);
	ior_assert_int_eq(vf_answer(&f, &v), 1);
	ior_assert_uint_eq(v, IOREGION_VIRTIO_MMIO_MAGIC);
	vf_probe(&f);
	/* Status through the third range: offset 0x70 - 0x54. */
	ior_assert_int_eq(vf_send(&f, reg[2], false, false, REG(STATUS) - r[2].offset, 0), 0);
	ior_assert_int_eq(vf_answer(&f, &v), 1);
	ior_assert_uint_eq(v, 0x0f);
	/* A posted notify and a read right behind it, one batch. */
	ior_assert_int_eq(vf_send(&f, reg[1], true, true, 0, 0), 0);
	ior_assert_int_eq(vf_send(&f, reg[2], false, false, REG(INTERRUPT_STATUS) - r[2].offset, 0), 0);
	ior_assert_int_eq(vf_answer(&f, &v), 1);
	ior_assert_uint_eq(f.notified, 1);
	ior_assert_uint_eq(v, 0);
	ior_assert_int_eq(vf_answer(&f, &v), 0);	/* only the read's */
	ior_assert_int_eq(ioregion_region_get_stats(reg[1], &st), 0);
	ior_assert_uint_eq(st.posted_writes, 1);
	ior_assert_uint_eq(st.writes, 0);
	/* A non-posted write to the notify range is answered all the same. */
	ior_assert_int_eq(vf_send(&f, reg[1], true, false, 0, 0), 0);
	ior_assert_int_eq(vf_answer(&f, &v), 1);
	ior_assert_uint_eq(f.notified, 2);
	for (unsigned i = 0; i < 3; i++)
		ioregion_region_destroy(reg[i]);
	vf_teardown(&f);
}
END_TEST

static Suite *
virtio_suite(void)
{
	Suite *s = suite_create("virtio");

	ior_add_test(s, test_virtio_new_refuses_bad_configs);
	ior_add_test(s, test_virtio_linux_probe_sequence_reaches_driver_ok);
	ior_add_test(s, test_virtio_features_ok_refused_unless_subset_with_version_1);
	ior_add_test(s, test_virtio_status_bits_only_in_order_and_never_cleared);
	ior_add_test(s, test_virtio_register_access_rules);
	ior_add_test(s, test_virtio_config_space_through_callbacks);
	ior_add_test(s, test_virtio_queue_notify_reaches_the_device_only_when_live);
	ior_add_test(s, test_virtio_queue_setup_frozen_while_ready_and_checked_at_ready);
	ior_add_test(s, test_virtio_region_ops_serve_the_window);
	ior_add_test(s, test_virtio_ranges_split_the_window_around_queue_notify);
	ior_add_test(s, test_virtio_ranges_on_one_channel_posted_notify_in_order);
	return s;
}

IOR_TEST_MAIN(virtio_suite)
