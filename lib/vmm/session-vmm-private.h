/* SPDX-License-Identifier: MIT */
/* The VMM side of the control session: shared by session-vmm.c (set-up,
 * reconnect) and session-vmm-ops.c (requests after READY, teardown). */
#ifndef IOREGION_SESSION_VMM_PRIVATE_H
#define IOREGION_SESSION_VMM_PRIVATE_H

#include "session-private.h"

#include "ioregion/vmm.h"

struct vmm_region {
	struct ioregion_desc desc;
	char name[IOREGION_SESSION_NAME_MAX];
	int fd;			/* main: KVM's on the fast path */
	int fallback_fd;	/* -1 without fallback channels */
	bool in_bridge;
	bool in_kvm;
};

struct vmm_line {
	uint32_t trigger;
	char name[IOREGION_SESSION_LINE_NAME_MAX];
	int fd;			/* duplicates of the VMM's */
	int resample_fd;	/* -1 for an edge line */
	uint32_t gsi;
	bool irqfd;		/* registered by the session (gsis) */
};

struct vmm_slot {
	struct ioregion_mem_slot slot;
	int fd;			/* a duplicate of the VMM's */
};

struct ioregion_vmm_device {
	int sock;		/* -1: no session */
	struct ioregion_log log;
	struct ioregion_bridge *bridge;	/* a reference */
	int vm_fd;
	bool bridge_only;		/* IOREGION_VMM_F_BRIDGE_ONLY */
	unsigned int timeout_ms;
	unsigned int kvm_timeout_ms;
	uid_t peer_uid;
	ioregion_vmm_line_fn *get_line;
	ioregion_vmm_memory_fn *grant_memory;
	void *data;
	unsigned int ngsis;
	uint32_t gsis[IOREGION_SESSION_LINES_MAX];

	bool fast;		/* regions registered with KVM */
	bool fallback;		/* WELCOME_F_FALLBACK */
	uint32_t dialect;

	char name[IOREGION_SESSION_NAME_MAX];
	uint32_t hello_flags;
	bool memory;		/* asked for and granted: MEM_SLOTs go */
	unsigned int nregions;
	struct vmm_region regions[IOREGION_SESSION_REGIONS_MAX];
	unsigned int nlines;
	struct vmm_line lines[IOREGION_SESSION_LINES_MAX];
	unsigned int nslots;
	struct vmm_slot slots[IOREGION_MEM_SLOTS_MAX];
};

/* session-vmm-ops.c */
void vmm_close_session(struct ioregion_vmm_device *dev);
int vmm_accept_bounded(int listen_fd, unsigned int timeout_ms);
int vmm_slot_insert(struct ioregion_vmm_device *dev,
		    const struct ioregion_mem_slot *slot, int fd);
void vmm_free(struct ioregion_vmm_device *dev);
/* Receive a message of @p type (ERROR: logged, -ECONNREFUSED; another
 * type: -EPROTO); the fds are the caller's. */
int vmm_expect(struct ioregion_vmm_device *dev, int sock, int64_t deadline,
	       unsigned int type, struct session_msg *m);

#endif /* IOREGION_SESSION_VMM_PRIVATE_H */
