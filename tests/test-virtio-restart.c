/* SPDX-License-Identifier: MIT */
/*
 * A virtio-mmio device process killed in the middle of requests and
 * started again on the transport's saved state
 * (ioregion_virtio_mmio_set_state()), the driver played by hand on the
 * virtio fixture (virtio-restart-fixture.h: a "kill" is the transport
 * destroyed without giving its chains back; the restart a new transport
 * on the same state area and guest memory). The chains the dead process
 * held are answered failed (the abandoned callback) with a used-buffer
 * interrupt, a request made available meanwhile is served, the next one
 * too; registers and a pending InterruptStatus survive; a kill in the
 * middle of a register update, a pop or a push, or between a push and
 * its interrupt; no state at all (as without a state area). Unusable
 * state and real SIGKILLs: test-virtio-restart-faults.c.
 */
#include "test-common.h"
#include "virtio-restart-fixture.h"
#include "../lib/device/virtio-private.h"

#include <string.h>

START_TEST(test_vrestart_inflight_request_fails_then_requests_are_served)
{
	struct t t;

	t_setup(&t);
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_NEW);
	vf_probe(&t.f);
	/* one request served before the kill */
	t_request(&t, 0, true);
	ior_assert_uint_eq(used_idx(&t), 1);
	ior_assert_uint_eq(status_of(&t, 0), S_OK);
	/* the next taken, and the process killed before it answers */
	t.hold = true;
	t_request(&t, 2, true);
	ior_assert_uint_eq(t.nheld, 1);
	t_kill(&t);
	/* while it is gone the driver makes another available; its
	 * QueueNotify is lost */
	t_request(&t, 4, false);
	(void)vf_edges(&t.f);

	t.hold = false;
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_RESUMED);
	/* the held one answered failed, then the one made meanwhile served */
	ior_assert_uint_eq(t.abandoned, 1);
	ior_assert_uint_eq(t.abandoned_head[0], 2);
	ior_assert_uint_eq(status_of(&t, 2), S_IOERR);
	ior_assert_uint_eq(used_idx(&t), 3);
	ior_assert_uint_eq(used_id(&t, 1), 2);
	ior_assert_uint_eq(used_id(&t, 2), 4);
	ior_assert_uint_eq(status_of(&t, 4), S_OK);
	ior_assert_uint_eq(vf_rd(&t.f, REG(INTERRUPT_STATUS)),
			   IOREGION_VIRTIO_INT_VRING);
	ck_assert_uint_ge(vf_edges(&t.f), 1);
	ior_assert_uint_eq(vf_stats(&t.f).abandoned, 1);
	/* the registers the driver programmed are there */
	ior_assert_uint_eq(vf_rd(&t.f, REG(STATUS)), 0x0f);
	ior_assert(ioregion_virtio_mmio_get_features(t.f.vm) == VF_FEATURES);
	vf_wr(&t.f, REG(QUEUE_SEL), 0);
	ior_assert_uint_eq(vf_rd(&t.f, REG(QUEUE_READY)), 1);
	ior_assert_uint_eq(ioregion_virtq_get_size(
		ioregion_virtio_mmio_queue(t.f.vm, 0)), VF_QSIZE);
	/* and a new request is served as before */
	vf_wr(&t.f, REG(INTERRUPT_ACK), IOREGION_VIRTIO_INT_VRING);
	t_request(&t, 6, true);
	ior_assert_uint_eq(used_idx(&t), 4);
	ior_assert_uint_eq(used_id(&t, 3), 6);
	ior_assert_uint_eq(status_of(&t, 6), S_OK);
	ior_assert_uint_eq(vf_stats(&t.f).bad_chains, 0);

	/* a second restart with nothing held: nothing answered failed */
	t_kill(&t);
	t.abandoned = 0;
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_RESUMED);
	ior_assert_uint_eq(t.abandoned, 0);
	ior_assert_uint_eq(used_idx(&t), 4);
	t_request(&t, 0, true);
	ior_assert_uint_eq(used_idx(&t), 5);
	t_kill(&t);
	t_teardown(&t);
}
END_TEST

START_TEST(test_vrestart_pending_interrupt_and_registers_survive)
{
	struct t t;
	uint64_t cfg;

	t_setup(&t);
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_NEW);
	vf_probe(&t.f);
	ior_assert_ok(ioregion_virtio_mmio_config_changed(t.f.vm));
	t_request(&t, 0, true);
	vf_wr(&t.f, REG(QUEUE_SEL), 0);
	vf_wr(&t.f, REG(DEVICE_FEATURES_SEL), 1);
	cfg = vf_rd(&t.f, REG(CONFIG_GENERATION));
	/* InterruptStatus not acknowledged when the process dies */
	ior_assert_uint_eq(vf_rd(&t.f, REG(INTERRUPT_STATUS)),
			   IOREGION_VIRTIO_INT_VRING | IOREGION_VIRTIO_INT_CONFIG);
	t_kill(&t);
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_RESUMED);
	ior_assert_uint_eq(vf_rd(&t.f, REG(INTERRUPT_STATUS)),
			   IOREGION_VIRTIO_INT_VRING | IOREGION_VIRTIO_INT_CONFIG);
	ior_assert_uint_eq(vf_rd(&t.f, REG(CONFIG_GENERATION)), cfg);
	ior_assert_uint_eq(vf_rd(&t.f, REG(DEVICE_FEATURES)), 1);
	vf_wr(&t.f, REG(INTERRUPT_ACK), 3);
	ior_assert_uint_eq(vf_rd(&t.f, REG(INTERRUPT_STATUS)), 0);
	/* the driver's reset throws the state away, in the area too */
	vf_wr(&t.f, REG(STATUS), 0);
	t_kill(&t);
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_RESUMED);
	ior_assert_uint_eq(vf_rd(&t.f, REG(STATUS)), 0);
	ior_assert_uint_eq(vf_rd(&t.f, REG(QUEUE_READY)), 0);
	vf_probe(&t.f);
	t_request(&t, 0, true);
	ior_assert_uint_eq(used_idx(&t), 1);	/* the rings start over */
	t_kill(&t);
	t_teardown(&t);
}
END_TEST

/* The newer copy of the registers torn (the process killed while writing
 * it): the older one is used, the write it held is lost. */
START_TEST(test_vrestart_torn_register_update_uses_the_older_copy)
{
	struct t t;
	size_t r = vstate_record_size(1);
	struct vstate_record *c0, *c1, *newer;

	t_setup(&t);
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_NEW);
	vf_probe(&t.f);			/* the last write: DRIVER_OK */
	c0 = (void *)(t.area + sizeof(struct vstate_hdr));
	c1 = (void *)(t.area + sizeof(struct vstate_hdr) + r);
	newer = (int32_t)(c1->seq - c0->seq) > 0 ? c1 : c0;
	ior_assert_uint_eq(newer->status, 0x0f);
	t_kill(&t);
	newer->seq++;			/* its checksum no longer matches */
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_RESUMED);
	ior_assert_uint_eq(vf_rd(&t.f, REG(STATUS)), 0x0b);
	vf_wr(&t.f, REG(QUEUE_SEL), 0);
	ior_assert_uint_eq(vf_rd(&t.f, REG(QUEUE_READY)), 1);
	t_kill(&t);
	t_teardown(&t);
}
END_TEST

/* Killed in the middle of a pop (the place in the ring moved, the head
 * not marked held yet) and of a push (used->idx not stored in the ring
 * yet): the restart finishes the step. */
START_TEST(test_vrestart_killed_mid_pop_and_mid_push_finishes_the_step)
{
	struct t t;
	uint64_t *word;
	size_t off = vstate_progress_off(1, VF_QSIZE, 0);

	t_setup(&t);
	word = (uint64_t *)(t.area + off);
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_NEW);
	vf_probe(&t.f);
	t_request(&t, 0, true);		/* served: used 1, avail taken 1 */
	ior_assert(*word == VQP_WORD(1, 1, 0, VQP_NONE));
	t_kill(&t);
	/* mid-pop of head 2: taken, its bit not set */
	t_request(&t, 2, false);
	*word = VQP_WORD(2, 1, 2, VQP_POP);
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_RESUMED);
	ior_assert_uint_eq(t.abandoned, 1);
	ior_assert_uint_eq(t.abandoned_head[0], 2);
	ior_assert_uint_eq(status_of(&t, 2), S_IOERR);
	ior_assert_uint_eq(used_idx(&t), 2);
	ior_assert(*word == VQP_WORD(2, 2, 0, VQP_NONE));
	t_kill(&t);

	/* mid-push of head 4: the element written, our used->idx moved,
	 * the ring's not yet, its bit still set */
	t_request(&t, 4, false);
	*(uint32_t *)vf_ptr(&t.f, VF_USED + 4 + 8 * 2) = 4;
	*(uint32_t *)vf_ptr(&t.f, VF_USED + 8 + 8 * 2) = 1;
	*word = VQP_WORD(3, 3, 4, VQP_PUSH);
	t.area[off + 8] |= 1u << 4;
	t.abandoned = 0;
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_RESUMED);
	ior_assert_uint_eq(t.abandoned, 0);	/* it was answered */
	ior_assert_uint_eq(used_idx(&t), 3);
	ior_assert_uint_eq(used_id(&t, 2), 4);
	ior_assert(*word == VQP_WORD(3, 3, 0, VQP_NONE));
	ior_assert_uint_eq(t.area[off + 8], 0);
	t_kill(&t);
	t_teardown(&t);
}
END_TEST

/* Killed after a push and before its interrupt: the driver would wait
 * for ever for an answer that is in the used ring. The restart raises the
 * used-buffer interrupt on every live queue. */
START_TEST(test_vrestart_killed_before_the_interrupt_raises_it)
{
	struct t t;
	struct ioregion_virtq *vq;
	struct ioregion_virtq_seg segs[4];
	uint16_t head;

	t_setup(&t);
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_NEW);
	vf_probe(&t.f);
	t_request(&t, 0, false);
	vq = ioregion_virtio_mmio_queue(t.f.vm, 0);
	ior_assert_int_eq(ioregion_virtq_pop(vq, segs, 4, &head), 2);
	ior_assert_int_eq(ioregion_virtq_push(vq, head, 1), 0);
	t_kill(&t);			/* before ioregion_virtq_notify() */
	(void)vf_edges(&t.f);
	ior_assert_uint_eq(used_idx(&t), 1);
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_RESUMED);
	ior_assert_uint_eq(t.abandoned, 0);
	ior_assert_uint_eq(vf_rd(&t.f, REG(INTERRUPT_STATUS)),
			   IOREGION_VIRTIO_INT_VRING);
	ck_assert_uint_ge(vf_edges(&t.f), 1);
	t_kill(&t);
	t_teardown(&t);
}
END_TEST

/* No state: a zeroed area is new, and the transport is as without one. */
START_TEST(test_vrestart_no_state_and_refused_calls)
{
	struct t t;
	struct ioregion_virtio_mmio_config cfg;
	uint64_t v;

	t_setup(&t);
	cfg = t_config(&t);
	ior_assert_uint_eq(ioregion_virtio_mmio_state_size(NULL), 0);
	cfg.nqueues = 0;
	ior_assert_uint_eq(ioregion_virtio_mmio_state_size(&cfg), 0);
	cfg = t_config(&t);
	cfg.queue_max = 256;
	ior_assert(ioregion_virtio_mmio_state_size(&cfg) > t.size);
	ior_assert(ioregion_virtio_mmio_state_size(&cfg) < 512);

	cfg = t_config(&t);
	ior_assert_int_eq(ioregion_virtio_mmio_new(&cfg, t.f.mem, t.f.irq,
						   &t.f.vm), 0);
	ior_assert_errno(ioregion_virtio_mmio_set_state(NULL, t.area, t.size),
			 -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_set_state(t.f.vm, NULL, t.size),
			 -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_set_state(t.f.vm, t.area + 4,
							t.size - 4), -EINVAL);
	ior_assert_errno(ioregion_virtio_mmio_set_state(t.f.vm, t.area,
							t.size - 1), -EINVAL);
	ior_assert_int_eq(ioregion_virtio_mmio_set_state(t.f.vm, t.area, t.size),
			  IOREGION_VIRTIO_STATE_NEW);
	ior_assert_errno(ioregion_virtio_mmio_set_state(t.f.vm, t.area, t.size),
			 -EBUSY);
	ior_assert_uint_eq(vf_rd(&t.f, REG(STATUS)), 0);
	vf_probe(&t.f);
	t_request(&t, 0, true);
	ior_assert_uint_eq(used_idx(&t), 1);
	t_kill(&t);

	/* a register read first: too late for a state area */
	ior_assert_int_eq(ioregion_virtio_mmio_new(&cfg, t.f.mem, t.f.irq,
						   &t.f.vm), 0);
	ior_assert_int_eq(ioregion_virtio_mmio_read(t.f.vm, REG(STATUS), 4, &v), 0);
	ior_assert_errno(ioregion_virtio_mmio_set_state(t.f.vm, t.area, t.size),
			 -EBUSY);
	t_kill(&t);

	/* without a state area a new process knows nothing (as before) */
	ior_assert_int_eq(ioregion_virtio_mmio_new(&cfg, t.f.mem, t.f.irq,
						   &t.f.vm), 0);
	ior_assert_uint_eq(vf_rd(&t.f, REG(STATUS)), 0);
	vf_wr(&t.f, REG(QUEUE_SEL), 0);
	ior_assert_uint_eq(vf_rd(&t.f, REG(QUEUE_READY)), 0);
	t_kill(&t);
	t_teardown(&t);
}
END_TEST

static Suite *
vrestart_suite(void)
{
	Suite *s = suite_create("virtio-restart");

	ior_add_test(s, test_vrestart_inflight_request_fails_then_requests_are_served);
	ior_add_test(s, test_vrestart_pending_interrupt_and_registers_survive);
	ior_add_test(s, test_vrestart_torn_register_update_uses_the_older_copy);
	ior_add_test(s, test_vrestart_killed_mid_pop_and_mid_push_finishes_the_step);
	ior_add_test(s, test_vrestart_killed_before_the_interrupt_raises_it);
	ior_add_test(s, test_vrestart_no_state_and_refused_calls);
	return s;
}

IOR_TEST_MAIN(vrestart_suite)
