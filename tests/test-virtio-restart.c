/* SPDX-License-Identifier: MIT */
/*
 * A virtio-mmio device process killed in the middle of requests and
 * started again on the transport's saved state
 * (ioregion_virtio_mmio_set_state()), the driver played by hand on the
 * virtio fixture. A "kill" is the transport destroyed without giving its
 * chains back; the restart is a new transport on the same state area and
 * guest memory. Then: the chains the dead process held are answered
 * failed (the abandoned callback) with a used-buffer interrupt, a
 * request made available meanwhile is served, the next one too; a kill
 * in the middle of a register update, a pop or a push; every class of
 * state the transport cannot use (DEVICE_NEEDS_RESET, a config-change
 * interrupt); no state at all (as without a state area); and real
 * SIGKILLs at random points of a process that drives and serves requests.
 */
#include "test-common.h"
#include "virtio-fixture.h"
#include "../lib/device/virtio-private.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ST(x) IOREGION_VIRTIO_STATUS_##x
#define REG(x) IOREGION_VIRTIO_MMIO_##x
#define NEXT IOREGION_VIRTQ_DESC_F_NEXT
#define WRITE IOREGION_VIRTQ_DESC_F_WRITE

#define S_OK 0
#define S_IOERR 1
/* Request h (an even head, 0..6): a 16-byte header and a status byte. */
#define HDR(h) (VF_BUF + 0x100 * (uint64_t)(h))
#define STATUS(h) (VF_BUF + 0x1000 + (uint64_t)(h))

struct t {
	struct vf f;
	uint8_t *area;		/* the state area: a MAP_SHARED memfd */
	size_t size;
	/* the device: chains taken and not given back yet */
	uint16_t held[VF_QSIZE];
	unsigned nheld;
	bool hold;		/* notify: take, do not answer */
	bool child;		/* notify: answer what was taken before */
	unsigned abandoned;	/* abandoned callback calls */
	uint16_t abandoned_head[VF_QSIZE];
};

static struct ioregion_virtio_mmio_config t_config(struct t *t);

/* The device answers a request: S_OK in its status byte. */
static void
t_answer(struct t *t, struct ioregion_virtq *vq, uint16_t head,
	 const struct ioregion_virtq_seg *st)
{
	uint8_t ok = S_OK;

	ior_assert_int_eq(ioregion_mem_write(t->f.mem, st->gpa, &ok, 1), 0);
	ior_assert_int_eq(ioregion_virtq_push(vq, head, 1), 0);
}

static void child_notify(struct t *t, struct ioregion_virtq *vq);

static void
t_notify(struct ioregion_virtio_mmio *vm, unsigned queue)
{
	struct t *t = ioregion_virtio_mmio_get_userdata(vm);
	struct ioregion_virtq *vq = ioregion_virtio_mmio_queue(vm, queue);
	struct ioregion_virtq_seg segs[4];
	uint16_t head;
	int n, pushed = 0;

	t->f.notified++;
	if (t->child) {
		child_notify(t, vq);
		return;
	}
	while ((n = ioregion_virtq_pop(vq, segs, 4, &head)) > 0) {
		if (t->hold) {
			t->held[t->nheld++] = head;
		} else {
			t_answer(t, vq, head, &segs[n - 1]);
			pushed++;
		}
	}
	if (pushed)		/* as a device does: only after answers */
		ioregion_virtq_notify(vq);
}

static uint32_t
t_abandoned(struct ioregion_virtio_mmio *vm, unsigned queue, uint16_t head,
	    const struct ioregion_virtq_seg *segs, unsigned nsegs)
{
	struct t *t = ioregion_virtio_mmio_get_userdata(vm);
	uint8_t err = S_IOERR;

	ior_assert_uint_eq(queue, 0);
	ior_assert_uint_eq(nsegs, 2);
	ior_assert(segs[nsegs - 1].write && segs[nsegs - 1].len == 1);
	ior_assert_int_eq(ioregion_mem_write(t->f.mem, segs[nsegs - 1].gpa,
					     &err, 1), 0);
	t->abandoned_head[t->abandoned++ % VF_QSIZE] = head;
	return 1;
}

static const struct ioregion_virtio_mmio_ops t_ops = {
	.notify = t_notify,
	.abandoned = t_abandoned,
};

static struct ioregion_virtio_mmio_config
t_config(struct t *t)
{
	return (struct ioregion_virtio_mmio_config){
		.device_id = 2, .vendor_id = 0x554d4551, .features = VF_FEATURES,
		.nqueues = 1, .queue_max = VF_QSIZE, .ops = &t_ops,
		.userdata = t,
	};
}

/* Guest memory, line, a zeroed state area; no transport yet. */
static void
t_setup(struct t *t)
{
	struct ioregion_virtio_mmio_config cfg = t_config(t);
	int fd;

	memset(t, 0, sizeof(*t));
	vf_setup_env(&t->f);
	t->size = ioregion_virtio_mmio_state_size(&cfg);
	ior_assert(t->size > 0);
	fd = memfd_create("virtio-state", MFD_CLOEXEC);
	ior_assert_int_ge(fd, 0);
	ior_assert_int_eq(ftruncate(fd, (off_t)t->size), 0);
	t->area = mmap(NULL, t->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ior_assert(t->area != MAP_FAILED);
	close(fd);
}

/* A device process starting: a transport on the state area. Returns
 * what ioregion_virtio_mmio_set_state() said. */
static int
t_start(struct t *t)
{
	struct ioregion_virtio_mmio_config cfg = t_config(t);

	t->nheld = 0;
	/* a new process: a new line object on the same eventfd */
	ioregion_irq_destroy(t->f.irq);
	ior_assert_int_eq(ioregion_irq_new(t->f.ctx, t->f.efd, -1, &t->f.irq), 0);
	ior_assert_int_eq(ioregion_virtio_mmio_new(&cfg, t->f.mem, t->f.irq,
						   &t->f.vm), 0);
	return ioregion_virtio_mmio_set_state(t->f.vm, t->area, t->size);
}

/* The device process killed: its transport gone, nothing given back. */
static void
t_kill(struct t *t)
{
	ioregion_virtio_mmio_destroy(t->f.vm);
	t->f.vm = NULL;
}

static void
t_teardown(struct t *t)
{
	munmap(t->area, t->size);
	vf_teardown(&t->f);
}

/* Request at even head @h made available; QueueNotify if @kick. */
static void
t_request(struct t *t, uint16_t h, bool kick)
{
	const struct vf_desc d[2] = {
		{ HDR(h), 16, NEXT, (uint16_t)(h + 1) },
		{ STATUS(h), 1, WRITE, 0 },
	};

	*(uint8_t *)vf_ptr(&t->f, STATUS(h)) = 0xee;
	vf_descs(&t->f, h, d, 2);
	vf_avail(&t->f, h);
	if (kick)
		vf_wr(&t->f, REG(QUEUE_NOTIFY), 0);
}

static uint16_t
used_idx(struct t *t)
{
	return __atomic_load_n((uint16_t *)vf_ptr(&t->f, VF_USED + 2),
			       __ATOMIC_ACQUIRE);
}

static uint32_t
used_id(struct t *t, uint16_t i)
{
	uint32_t id;

	memcpy(&id, vf_ptr(&t->f, VF_USED + 4 + 8 * (uint64_t)(i % VF_QSIZE)), 4);
	return id;
}

static uint8_t
status_of(struct t *t, uint16_t h)
{
	return *(uint8_t *)vf_ptr(&t->f, STATUS(h));
}

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

enum bad_class {
	BAD_BOTH_COPIES,	/* neither copy's checksum matches */
	BAD_VERSION,		/* another layout version */
	BAD_OTHER_DEVICE,	/* another device's state (queue size) */
	BAD_RINGS_GONE,		/* the rings not in guest memory any more */
	BAD_EXTRA_BIT,		/* a held chain the progress does not count */
	BAD_HEAD_PAST_QUEUE,	/* a step under way on a head past the queue */
	BAD_STEP,		/* an unknown step */
	BAD_TOO_MANY_HELD,	/* more taken than the queue holds */
	BAD_NO_MAGIC,		/* bytes, but no header */
	BAD_CLASSES,
};

/* Each class: the restart says BAD, the device needs reset with a
 * config-change interrupt; the driver's reset and probe then work, and
 * the area is good again. */
START_TEST(test_vrestart_bad_state_classes_need_reset)
{
	enum bad_class c = (enum bad_class)_i;
	struct t t;
	size_t r = vstate_record_size(1);
	size_t off = vstate_progress_off(1, VF_QSIZE, 0);
	struct vstate_hdr *hdr;
	uint64_t *word;
	struct ioregion_mem *ro = NULL;
	struct ioregion_mem_slot ro_slot = { .gpa = VF_RO_GPA,
		.size = VF_RO_SIZE, .offset = VF_RAM_SIZE,
		.flags = IOREGION_MEM_F_READONLY };

	t_setup(&t);
	hdr = (void *)t.area;
	word = (uint64_t *)(t.area + off);
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_NEW);
	vf_probe(&t.f);
	t.hold = true;
	t_request(&t, 0, true);		/* one chain held */
	t.hold = false;
	t_kill(&t);
	switch (c) {
	case BAD_BOTH_COPIES:
		t.area[sizeof(*hdr) + 20] ^= 1;
		t.area[sizeof(*hdr) + r + 20] ^= 1;
		break;
	case BAD_VERSION:
		hdr->version = VSTATE_VERSION + 1;
		break;
	case BAD_OTHER_DEVICE:
		hdr->queue_max = VF_QSIZE / 2;
		break;
	case BAD_RINGS_GONE:
		/* the restarted process gets only the read-only slot */
		ior_assert_int_eq(ioregion_mem_new(&ro), 0);
		ior_assert_int_eq(ioregion_mem_add_slot(ro, &ro_slot, t.f.fd), 0);
		ioregion_mem_unref(t.f.mem);
		t.f.mem = ro;
		break;
	case BAD_EXTRA_BIT:
		t.area[off + 8] |= 1u << 6;
		break;
	case BAD_HEAD_PAST_QUEUE:
		*word = VQP_WORD(1, 0, VF_QSIZE, VQP_POP);
		break;
	case BAD_STEP:
		*word = VQP_WORD(1, 0, 0, 7);
		break;
	case BAD_TOO_MANY_HELD:
		*word = VQP_WORD(VF_QSIZE + 1, 0, 0, VQP_NONE);
		break;
	case BAD_NO_MAGIC:
		hdr->magic = 0;
		break;
	case BAD_CLASSES:
		break;
	}
	(void)vf_edges(&t.f);
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_BAD);
	ior_assert(vf_rd(&t.f, REG(STATUS)) & ST(DEVICE_NEEDS_RESET));
	ior_assert(vf_rd(&t.f, REG(INTERRUPT_STATUS)) & IOREGION_VIRTIO_INT_CONFIG);
	ck_assert_uint_ge(vf_edges(&t.f), 1);
	ior_assert_uint_eq(t.abandoned, 0);
	ior_assert_uint_eq(vf_rd(&t.f, REG(QUEUE_READY)), 0);
	ior_assert_errno(ioregion_virtq_pop(ioregion_virtio_mmio_queue(t.f.vm, 0),
		(struct ioregion_virtq_seg[1]){ 0 }, 1, (uint16_t[1]){ 0 }), -EIO);
	if (c == BAD_RINGS_GONE) {
		t_kill(&t);
		t_teardown(&t);
		return;
	}
	/* the driver resets and probes again: all is well, also after the
	 * next restart */
	vf_probe(&t.f);
	*(uint16_t *)vf_ptr(&t.f, VF_USED + 2) = 0;
	t_request(&t, 2, true);
	ior_assert_uint_eq(used_idx(&t), 1);
	ior_assert_uint_eq(status_of(&t, 2), S_OK);
	t_kill(&t);
	ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_RESUMED);
	ior_assert_uint_eq(vf_rd(&t.f, REG(STATUS)), 0x0f);
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

/*
 * Real kills: a child process drives (up to 3 requests outstanding,
 * reaping answers to reuse heads) and serves (answering on each
 * QueueNotify what it took on the one before, so chains are held most of
 * the time) on the shared guest memory and state area, until SIGKILL
 * lands at a random point. The restarted transport must resume, and then
 * every request made available has exactly one answer, in order: the
 * used ring's entries from where the dead process left off are the avail
 * ring's.
 */
static void
child_notify(struct t *t, struct ioregion_virtq *vq)
{
	struct ioregion_virtq_seg segs[4];
	uint16_t head;
	uint8_t ok = S_OK;
	int n;

	for (unsigned i = 0; i < t->nheld; i++) {
		ioregion_mem_write(t->f.mem, STATUS(t->held[i]), &ok, 1);
		if (ioregion_virtq_push(vq, t->held[i], 1) < 0)
			_exit(3);
	}
	t->nheld = 0;
	ioregion_virtq_notify(vq);
	while ((n = ioregion_virtq_pop(vq, segs, 4, &head)) > 0)
		t->held[t->nheld++] = head;
	if (n < 0)
		_exit(4);
}

static void __attribute__((noreturn))
child_run(struct t *t)
{
	uint16_t last_used = used_idx(t);
	bool busy[VF_QSIZE] = { false };
	unsigned inflight = 0;

	alarm(20);		/* never outlive a parent that failed */
	t->child = true;
	for (;;) {
		uint16_t u = used_idx(t);

		for (; last_used != u; last_used++) {
			busy[used_id(t, last_used)] = false;
			inflight--;
		}
		for (uint16_t h = 0; h < VF_QSIZE && inflight < 3; h += 2) {
			if (busy[h])
				continue;
			busy[h] = true;
			inflight++;
			t_request(t, h, false);
		}
		if (ioregion_virtio_mmio_write(t->f.vm, REG(QUEUE_NOTIFY), 4, 0) < 0)
			_exit(5);
	}
}

START_TEST(test_vrestart_sigkill_at_random_points_loses_and_repeats_nothing)
{
	unsigned seed = (unsigned)time(NULL), held = 0;

	fprintf(stderr, "sigkill rounds: seed %u\n", seed);
	srand(seed);
	for (unsigned round = 0; round < 40; round++) {
		struct t t;
		pid_t pid;
		int st;
		uint16_t at_kill, avail;

		t_setup(&t);
		ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_NEW);
		vf_probe(&t.f);
		pid = fork();
		ior_assert_int_ge(pid, 0);
		if (pid == 0)
			child_run(&t);
		/* the child at work (a loaded machine may not run it at
		 * once: bounded generously), then a random moment */
		for (int ms = 0; ms < 20000 && used_idx(&t) == 0; ms++)
			usleep(1000);
		usleep((useconds_t)(rand() % 2000));
		ior_assert_int_eq(kill(pid, SIGKILL), 0);
		ior_assert_int_eq(waitpid(pid, &st, 0), pid);
		ior_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		at_kill = used_idx(&t);
		avail = __atomic_load_n((uint16_t *)vf_ptr(&t.f, VF_AVAIL + 2),
					__ATOMIC_ACQUIRE);
		ior_assert((uint16_t)(avail - at_kill) <= 3);
		/* the parent's copy of the transport from before the fork:
		 * never used since; destroying it writes nothing */
		t_kill(&t);
		ior_assert_int_eq(t_start(&t), IOREGION_VIRTIO_STATE_RESUMED);
		ior_assert_uint_eq(used_idx(&t), avail);
		for (uint16_t i = at_kill; i != avail; i++)
			ior_assert_uint_eq(used_id(&t, i),
				((uint16_t *)vf_ptr(&t.f, VF_AVAIL + 4))[i % VF_QSIZE]);
		ck_assert_uint_le(t.abandoned, 3);
		held += t.abandoned;
		ior_assert_uint_eq(vf_stats(&t.f).bad_chains, 0);
		ior_assert_uint_eq(vf_rd(&t.f, REG(STATUS)), 0x0f);
		t_kill(&t);
		t_teardown(&t);
	}
	/* the child holds chains most of the time: some kills found some */
	fprintf(stderr, "sigkill rounds: %u held chains answered in 40 kills\n",
		held);
	ck_assert_uint_gt(held, 0);
}
END_TEST

static Suite *
vrestart_suite(void)
{
	Suite *s = suite_create("virtio-restart");
	TCase *tc;

	ior_add_test(s, test_vrestart_inflight_request_fails_then_requests_are_served);
	ior_add_test(s, test_vrestart_pending_interrupt_and_registers_survive);
	ior_add_test(s, test_vrestart_torn_register_update_uses_the_older_copy);
	ior_add_test(s, test_vrestart_killed_mid_pop_and_mid_push_finishes_the_step);
	ior_add_test(s, test_vrestart_killed_before_the_interrupt_raises_it);
	tc = tcase_create("test_vrestart_bad_state_classes_need_reset");
	tcase_add_loop_test(tc, test_vrestart_bad_state_classes_need_reset, 0,
			    BAD_CLASSES);
	suite_add_tcase(s, tc);
	ior_add_test(s, test_vrestart_no_state_and_refused_calls);
	ior_add_test_timeout(s,
		test_vrestart_sigkill_at_random_points_loses_and_repeats_nothing, 60);
	return s;
}

IOR_TEST_MAIN(vrestart_suite)
