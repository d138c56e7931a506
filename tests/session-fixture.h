/* SPDX-License-Identifier: MIT */
/*
 * Control-session tests: a test device that runs in its own process on
 * the device helper (ioregion/device.h), and the VMM's half (a bridge,
 * interrupt eventfds, a memfd of guest RAM) on the VMM helper
 * (ioregion/vmm.h).
 */
#ifndef IOREGION_SESSION_FIXTURE_H
#define IOREGION_SESSION_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ioregion/bridge.h"
#include "ioregion/vmm.h"

/* The device's MMIO region: 8-byte registers. */
#define TDEV_BASE 0xd0000000ull
#define TDEV_SIZE 0x100
#define TDEV_SCRATCH 0x00	/* read/write; TDEV_SCRATCH_RESET after reset */
#define TDEV_RAISE 0x08		/* write: raise edge line 0 */
#define TDEV_MEM_DATA 0x10	/* read/write: the u32 at guest TDEV_MEM_ADDR */
#define TDEV_MEM_ADDR 0x18	/* read/write */
#define TDEV_RESETS 0x20	/* read: resets so far */
#define TDEV_ASSERT 0x28	/* write: assert level line 1 (ioregion_irq_raise) */
#define TDEV_RESAMPLES 0x30	/* read: EOIs line 1 heard (its stats) */
#define TDEV_DIALECT 0x38	/* read: the wire dialect the VMM chose */
#define TDEV_RESET_RESULT 0x40	/* write: what the next reset returns */
#define TDEV_LOWER 0x48		/* write: lower level line 1 */
#define TDEV_RAISE_ANY 0x50	/* write: raise line <value>; read: what that
				 * raise returned (a negative errno) */
#define TDEV_SCRATCH_RESET 0x5a
/* The second region (two_regions): port I/O, one byte of scratch. */
#define TDEV_PIO_BASE 0x3f8
#define TDEV_PIO_SIZE 8

/* Guest RAM the VMM shares: TVMM_RAM_SIZE bytes at TVMM_RAM_GPA; the u32 at
 * byte offset 4 * i holds TVMM_PATTERN(i). */
#define TVMM_RAM_GPA 0x100000ull
#define TVMM_RAM_SIZE 0x2000ull
#define TVMM_PATTERN(i) (0xa5000000u | (uint32_t)(i))

/* Exit codes of the device process: 0 after SHUTDOWN; the errno of a failed
 * attach; TDEV_EXIT_GONE + n for gone(error) with another error. */
#define TDEV_EXIT_GONE 200
#define TDEV_EXIT_RESET 201	/* gone(-ECONNRESET): the VMM went away */

struct tdev_opts {
	const char *name;	/* NULL: "tdev" */
	unsigned int nlines;	/* 0, 1 (edge) or 2 (edge, level) */
	bool memory;
	bool keeps_state;	/* IOREGION_DEVICE_F_KEEPS_STATE */
	bool two_regions;
	unsigned int timeout_ms;
	bool ctx_run;		/* serve with ioregion_ctx_run(), gone stops it;
				 * false: ev_run() */
};

/* Fork the device on @p sock (the parent's copy is closed). */
pid_t tdev_spawn(int sock, const struct tdev_opts *o);
/* Fork the device, which connects to @p path (NULL: $IOREGION_SOCKET). */
pid_t tdev_spawn_connect(const char *path, const struct tdev_opts *o);
/* Wait up to @p timeout_ms for its end: the exit code, or -signal. After
 * the timeout it is killed and the test fails. */
int tdev_wait(pid_t pid, int timeout_ms);

struct tvmm {
	struct ioregion_bridge *bridge;
	int edge_fd;			/* line 0 */
	int level_fd, resample_fd;	/* line 1 */
	int ram_fd;
	void *ram;			/* the VMM's own mapping */
	struct ioregion_vmm_slot slot;
	struct ioregion_vmm_config cfg;
};

/* A bridge, the lines' eventfds, the guest RAM, and a config on them. */
void tvmm_init(struct tvmm *v);
void tvmm_fini(struct tvmm *v);
/* One 8-byte access through the bridge: the rc of ioregion_bridge_access. */
int tvmm_access(struct tvmm *v, uint64_t off, bool is_write, uint64_t *val);
/* Read or write a register of the device; asserts that it was handled. */
uint64_t tvmm_read(struct tvmm *v, uint64_t off);
void tvmm_write(struct tvmm *v, uint64_t off, uint64_t val);
/* Read an eventfd's count within @p timeout_ms (0 if nothing came). */
uint64_t tvmm_eventfd_read(int fd, int timeout_ms);
/* A SOCK_SEQPACKET socketpair, close-on-exec. */
void tvmm_pair(int sv[2]);
/* Attach a device with @p o on a new socketpair (ioregion_vmm_attach()
 * must succeed); its pid. */
pid_t tvmm_attach(struct tvmm *v, const struct tdev_opts *o,
		  struct ioregion_vmm_device **devp);

#endif /* IOREGION_SESSION_FIXTURE_H */
