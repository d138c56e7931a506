/* SPDX-License-Identifier: MIT */
/*
 * ioregion-abi: what the groups of tests share (abi-common.c): the wire v3
 * command, a VM with up to two real-mode vCPUs, a device thread answering
 * on a socket, and a vCPU loop that records the exits that reach
 * userspace.
 */
#ifndef IOREGION_ABI_H
#define IOREGION_ABI_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ioregion/kvm.h"

#define EXIT_SKIP 77
#define RAM_SIZE 0x10000u
#define CODE_ADDR 0x1000u
#define CMD_SIZE 32
#define KVM_CAP_IOREGIONFD_PATCH 1024 /* kernel/ patch; informative only */

#define MMIO_BASE 0xd0000u
#define MMIO_POSTED 0xd1000u
#define MMIO_DOORBELL 0xd2000u
#define PIO_BASE 0x1230u
#define PIO_POSTED 0x1260u
#define PIO_DOORBELL 0x1270u

#define UD_MMIO 0x1111u
#define UD_PIO 0x2222u
#define UD_MPOST 0x3333u
#define UD_MBELL 0x4444u
#define UD_PPOST 0x5555u
#define UD_PBELL 0x6666u

struct cmd {
	uint8_t b[CMD_SIZE];
};

struct vm {
	int kvm, fd;
	int vcpu[2];
	struct kvm_run *run[2];
	uint8_t *ram;
	int nvcpu;
};

#define EXPECT_RC(expr, want, what)                                              \
	do {                                                                     \
		int rc_ = (expr);                                                \
		check(rc_ == (want), "%s: %s (want %s)", what, errname(rc_),     \
		      errname(want));                                            \
	} while (0)

#define MAX_CMDS 2048

struct device {
	int fd;
	pthread_t thread;
	struct cmd cmds[MAX_CMDS];
	int ncmds;
	int answer_after;	/* answer only after this many commands (-1: always) */
	int stop_after;		/* close fd after this many commands (0: never) */
	int delay_us;
	/* signal test */
	pthread_t vcpu_thread;
	int signals_per_read;
	uint64_t signal_cmds;	/* also one signal for command i when bit i is set */
	int hold_first;		/* first reply: wait for 'a' (answer) or 'd' (drop) */
	int release_pipe[2];
	int answer_seq;		/* reads get 0xa0 + command index, not answer_for() */
	int intr_pipe[2];	/* vCPU thread -> device: one byte per EINTR seen */
	int lost_signals;	/* signals no EINTR answered within 2 s */
};

struct exits {
	int mmio, io, intr;
	uint64_t mmio_addr[8];
	int mmio_write[8];
	uint64_t mmio_wdata[8];
};

extern int failures, checks;
extern const char *cur_test;
extern int kvm_dev_fd;

void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void die(const char *what) __attribute__((noreturn));
double now_s(void);

uint64_t get64(const uint8_t *p);
struct cmd mkcmd(int write, unsigned size, int resp, uint64_t user_data,
		 uint64_t offset, uint64_t data);
void fmt_cmd(const struct cmd *c, char *out, size_t n);
uint64_t answer_for(const struct cmd *c);

void vm_create(struct vm *v, const uint8_t *code, size_t len,
	       const uint8_t *code1, size_t len1);
void vm_destroy(struct vm *v);
int set_ioregion(int vm, uint64_t addr, uint64_t size, uint64_t ud,
		 int rfd, int wfd, uint32_t flags);
int set_ioeventfd(int vm, uint64_t addr, uint32_t len, int pio, int deassign);
const char *errname(int e);
void pair(int sv[2]);
int readable(int fd, int ms);
/* The six regions of the guests (MMIO, PIO; plain, posted, doorbell). */
void register_all(int vm, int fd);

void *device_main(void *arg);
void device_start(struct device *d, int fd);
void device_join(struct device *d);

void on_signal(int sig);
int run_vcpu(struct vm *v, int i, struct exits *ex, uint64_t mmio_answer,
	     double limit_s, int intr_pipe);
struct kvm_regs get_regs(struct vm *v, int i);

/* An MMIO read of 0x40 into ebx, then a PIO read of 0x1248, then hlt. */
#define GUEST_INTR_LEN 18
extern const uint8_t guest_intr[GUEST_INTR_LEN];

/* The tests, one per name on the command line. */
void test_args(void);
void test_release(void);
void test_guest(void);
void test_signal(void);
void test_string_signal(void);
void test_nonblock(void);
void test_closed(void);
void test_killed(void);
void test_stall(void);
void test_two_vcpus(void);
void test_remove_waiting(void);
void test_remove_late(void);

#endif /* IOREGION_ABI_H */
