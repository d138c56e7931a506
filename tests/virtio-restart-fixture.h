/* SPDX-License-Identifier: MIT */
/*
 * The restart tests' fixture (test-virtio-restart.c and
 * test-virtio-restart-faults.c): the virtio fixture's guest memory and
 * line, a state area in a MAP_SHARED memfd, and a device process played
 * by transports on that area: t_start() is a process starting
 * (ioregion_virtio_mmio_new() and _set_state()), t_kill() one killed (the
 * transport destroyed, nothing given back). The test device answers S_OK
 * on QueueNotify, or holds what it takes (hold), or in a child process
 * answers on each QueueNotify what it took on the one before (child);
 * its abandoned callback answers S_IOERR.
 */
#ifndef VIRTIO_RESTART_FIXTURE_H
#define VIRTIO_RESTART_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio-fixture.h"

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

/* The test device's transport config (userdata @t). */
struct ioregion_virtio_mmio_config t_config(struct t *t);
/* Guest memory, line, a zeroed state area; no transport yet. */
void t_setup(struct t *t);
/* A device process starting: a transport on the state area (and a new
 * line object on the same eventfd). Returns what
 * ioregion_virtio_mmio_set_state() said. */
int t_start(struct t *t);
/* The device process killed: its transport gone, nothing given back. */
void t_kill(struct t *t);
void t_teardown(struct t *t);
/* Request at even head @h made available; QueueNotify if @kick. */
void t_request(struct t *t, uint16_t h, bool kick);
/* The used ring's index, the id of its entry @i, request @h's status. */
uint16_t used_idx(struct t *t);
uint32_t used_id(struct t *t, uint16_t i);
uint8_t status_of(struct t *t, uint16_t h);

#endif /* VIRTIO_RESTART_FIXTURE_H */
