/* SPDX-License-Identifier: MIT */
/* The restart tests' fixture: see virtio-restart-fixture.h. */
#include "test-common.h"
#include "virtio-restart-fixture.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void child_notify(struct t *t, struct ioregion_virtq *vq);

/* The device answers a request: S_OK in its status byte. */
static void
t_answer(struct t *t, struct ioregion_virtq *vq, uint16_t head,
	 const struct ioregion_virtq_seg *st)
{
	uint8_t ok = S_OK;

	ior_assert_int_eq(ioregion_mem_write(t->f.mem, st->gpa, &ok, 1), 0);
	ior_assert_int_eq(ioregion_virtq_push(vq, head, 1), 0);
}


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

struct ioregion_virtio_mmio_config
t_config(struct t *t)
{
	return (struct ioregion_virtio_mmio_config){
		.device_id = 2, .vendor_id = 0x554d4551, .features = VF_FEATURES,
		.nqueues = 1, .queue_max = VF_QSIZE, .ops = &t_ops,
		.userdata = t,
	};
}

/* Guest memory, line, a zeroed state area; no transport yet. */
void
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
int
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
void
t_kill(struct t *t)
{
	ioregion_virtio_mmio_destroy(t->f.vm);
	t->f.vm = NULL;
}

void
t_teardown(struct t *t)
{
	munmap(t->area, t->size);
	vf_teardown(&t->f);
}

/* Request at even head @h made available; QueueNotify if @kick. */
void
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

uint16_t
used_idx(struct t *t)
{
	return __atomic_load_n((uint16_t *)vf_ptr(&t->f, VF_USED + 2),
			       __ATOMIC_ACQUIRE);
}

uint32_t
used_id(struct t *t, uint16_t i)
{
	uint32_t id;

	memcpy(&id, vf_ptr(&t->f, VF_USED + 4 + 8 * (uint64_t)(i % VF_QSIZE)), 4);
	return id;
}

uint8_t
status_of(struct t *t, uint16_t h)
{
	return *(uint8_t *)vf_ptr(&t->f, STATUS(h));
}

/* The child's device: what it took on the last QueueNotify answered now,
 * then everything available taken. A failure ends the child. */
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
