/* SPDX-License-Identifier: MIT */
/*
 * A restarted virtio-mmio transport on state it cannot use, and on state
 * left by real SIGKILLs (virtio-restart-fixture.h). Each class of
 * unusable state (both register copies damaged, another layout version,
 * another device's, rings no longer in guest memory, held chains the
 * progress does not count, a step on a head past the queue, an unknown
 * step, more taken than the queue holds, bytes without a header) gives
 * DEVICE_NEEDS_RESET with a config-change interrupt and no crash, and
 * the driver's reset makes the area good again. Then 40 real SIGKILLs at
 * random points of a forked process that drives and serves requests:
 * after each restart every request has exactly one answer.
 */
#include "test-common.h"
#include "virtio-restart-fixture.h"
#include "../lib/device/virtio-private.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
vrestart_faults_suite(void)
{
	Suite *s = suite_create("virtio-restart-faults");
	TCase *tc = tcase_create("test_vrestart_bad_state_classes_need_reset");

	tcase_add_loop_test(tc, test_vrestart_bad_state_classes_need_reset, 0,
			    BAD_CLASSES);
	suite_add_tcase(s, tc);
	ior_add_test_timeout(s,
		test_vrestart_sigkill_at_random_points_loses_and_repeats_nothing, 60);
	return s;
}

IOR_TEST_MAIN(vrestart_faults_suite)
