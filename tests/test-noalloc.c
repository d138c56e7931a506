/* SPDX-License-Identifier: MIT */
/*
 * No allocation on the per-access path: malloc, calloc, realloc and
 * friends are interposed for the whole process (libev and libc included),
 * and 10,000 accesses of each kind must allocate nothing, on the device
 * server's side and on the bridge's side, on a channel and on its
 * fallback channel (a second bridge plays the VMM's fallback path); and
 * raising interrupt lines, with the EOIs of a level line heard in the loop;
 * round trips on the io_uring backend under ioregion_ctx_run(), with and
 * without adaptive polling (and, as test noalloc-uring, all of the above
 * with IOREGION_SERVER_BACKEND set);
 * and guest memory: translating a guest range, DMA-sized copies in and
 * out, and the refusals of bad ranges; and virtio: register accesses,
 * popping and pushing chains, used-buffer interrupts and their ACK, and a
 * window split around a posted QueueNotify served through a channel; and
 * tinyvmm's in-VMM virtio-blk serving requests on its exits (x86-64).
 *
 * Not built with sanitizers (they own malloc); see tests/meson.build.
 */
#include "test-common.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "ioregion/bridge.h"
#include "ioregion/irq.h"
#include "ioregion/memory.h"
#include "ioregion/server.h"
#include "virtio-fixture.h"
#ifdef NOALLOC_INBLK
#include "inblk.h"
#endif

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static volatile int counting;
static volatile unsigned long allocations;

void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void *aligned_alloc(size_t a, size_t n);
int posix_memalign(void **p, size_t a, size_t n);
void free(void *p);

void *
malloc(size_t n)
{
	if (counting)
		allocations++;
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t m)
{
	if (counting)
		allocations++;
	return __libc_calloc(n, m);
}

void *
realloc(void *p, size_t n)
{
	if (counting)
		allocations++;
	return __libc_realloc(p, n);
}

void *
aligned_alloc(size_t a, size_t n)
{
	if (counting)
		allocations++;
	return __libc_memalign(a, n);
}

int
posix_memalign(void **p, size_t a, size_t n)
{
	if (counting)
		allocations++;
	*p = __libc_memalign(a, n);
	return *p ? 0 : ENOMEM;
}

void
free(void *p)
{
	__libc_free(p);
}

#define N 10000

static uint64_t reg[32];
static struct ioregion_region *deferred_region;

static int
rd(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t *val)
{
	if (off == 0xf8) {		/* deferred: completed from the loop */
		deferred_region = r;
		return IOREGION_DEFERRED;
	}
	*val = reg[off / 8];
	return 0;
}

static int
wr(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t val)
{
	reg[off / 8] = val;
	return 0;
}

static void
idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	if (deferred_region) {
		struct ioregion_region *r = deferred_region;

		deferred_region = NULL;
		ioregion_region_complete_read(r, 0xdef);
	}
}

/* The parent writes one byte to our stdin when the warm-up is done. */
static void
start_counting(struct ev_loop *loop, ev_io *w, int revents)
{
	char c;

	if (read(w->fd, &c, 1) == 1)
		counting = 1;
	ev_io_stop(loop, w);
}

static void
on_close(struct ioregion_channel *ch, int error, void *data)
{
	ev_break(data, EVBREAK_ALL);
}

/* Pass @fd over the UNIX socket @ctl. */
static int
send_fd(int ctl, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	char byte = 'f';
	struct iovec iov = { &byte, 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	memset(&u, 0, sizeof(u));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(ctl, &m, 0) == 1 ? 0 : -1;
}

static int
recv_fd(int ctl)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	char byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(ctl, &m, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* The device's two regions on @ch: 0x1000 answered, 0x2000 with posted
 * writes, both served by @ops. 0 or -1. */
static int
add_regions(struct ioregion_channel *ch, const struct ioregion_region_ops *ops)
{
	struct ioregion_region_config cfg = {
		.addr = 0x1000, .size = 0x100, .ops = ops,
	};
	struct ioregion_region_config posted = {
		.addr = 0x2000, .size = 0x100, .ops = ops,
		.flags = IOREGION_F_POSTED_WRITES,
	};
	struct ioregion_region *r;

	if (ioregion_region_new(ch, &cfg, &r) < 0 ||
	    ioregion_region_new(ch, &posted, &r) < 0)
		return -1;
	return 0;
}

/* The device process: serves until EOF; exit status = allocations seen
 * while counting (capped), 0 = none. The fallback channel's peer end goes
 * to the parent over @ctl. */
static void
device(int sock, int ctl)
{
	static const struct ioregion_region_ops ops = { .read = rd, .write = wr };
	struct ioregion_ctx *ctx;
	struct ioregion_channel *ch, *fb;
	ev_idle idle;
	ev_io go;
	int fd;

	if (ioregion_ctx_new(NULL, &ctx) < 0 ||
	    ioregion_channel_new_from_fds(ctx, sock, sock, IOREGION_WIRE_V3, &ch) < 0 ||
	    add_regions(ch, &ops) < 0 ||
	    ioregion_channel_new_fallback(ch, &fb) < 0 ||
	    (fd = ioregion_channel_take_peer_fd(fb)) < 0 ||
	    send_fd(ctl, fd) < 0)
		_exit(100);
	close(fd);
	close(ctl);
	ioregion_channel_set_close_handler(ch, on_close, ioregion_ctx_get_loop(ctx));
	ev_idle_init(&idle, idle_cb);
	ev_idle_start(ioregion_ctx_get_loop(ctx), &idle);
	/* the warm-up (one access of each kind) is served by the loop
	 * before the parent's byte on stdin starts the count */
	ev_io_init(&go, start_counting, STDIN_FILENO, EV_READ);
	ev_io_start(ioregion_ctx_get_loop(ctx), &go);
	ev_run(ioregion_ctx_get_loop(ctx), 0);
	counting = 0;
	ioregion_ctx_unref(ctx);
	_exit(allocations > 99 ? 99 : (int)allocations);
}

START_TEST(test_noalloc_10k_accesses_of_each_kind_allocate_nothing)
{
	struct ioregion_bridge *b, *b2;
	struct ioregion_desc d0 = { .addr = 0x1000, .size = 0x100,
		.dialect = IOREGION_WIRE_V3, .user_data = 1ull << 32 | 0 };
	struct ioregion_desc d1 = { .addr = 0x2000, .size = 0x100,
		.flags = IOREGION_F_POSTED_WRITES, .dialect = IOREGION_WIRE_V3,
		.user_data = 1ull << 32 | 1 };
	struct ioregion_bridge *bs[2];
	int sv[2], ctl[2], go[2], status, fbfd;
	uint64_t v;
	pid_t pid;

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl), 0);
	ior_assert_int_eq(pipe(go), 0);
	pid = fork();
	ior_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[1]);
		close(ctl[1]);
		close(go[1]);
		dup2(go[0], STDIN_FILENO);
		device(sv[0], ctl[0]);
	}
	close(sv[0]);
	close(ctl[0]);
	close(go[0]);
	fbfd = recv_fd(ctl[1]);
	ior_assert_int_ge(fbfd, 0);
	close(ctl[1]);
	/* b on the channel, b2 on its fallback: same regions, same user_data */
	ior_assert_int_eq(ioregion_bridge_new(&b), 0);
	ior_assert_int_eq(ioregion_bridge_new(&b2), 0);
	bs[0] = b;
	bs[1] = b2;
	for (int k = 0; k < 2; k++) {
		int fd = k ? fbfd : sv[1];

		ior_assert_int_eq(ioregion_bridge_set_timeout(bs[k], 2000), 0);
		ior_assert_int_eq(ioregion_bridge_add(bs[k], &d0, fd), 0);
		ior_assert_int_eq(ioregion_bridge_add(bs[k], &d1, fd), 0);
		close(fd);
	}
	/* warm-up: one of each kind on each, queued before the device starts */
	for (int k = 0; k < 2; k++) {
		v = 1;
		ior_assert_int_eq(ioregion_bridge_access(bs[k], false, 0x2000, true, 8, &v), 1);
		ior_assert_int_eq(ioregion_bridge_access(bs[k], false, 0x1000, true, 8, &v), 1);
		ior_assert_int_eq(ioregion_bridge_access(bs[k], false, 0x1000, false, 8, &v), 1);
		ior_assert_int_eq(ioregion_bridge_access(bs[k], false, 0x10f8, false, 8, &v), 1);
		ior_assert_uint_eq(v, 0xdef);
	}
	ior_assert_int_eq(write(go[1], "g", 1), 1);
	ior_assert_int_eq(ioregion_bridge_access(b, false, 0x1000, false, 8, &v), 1);

	counting = 1;
	for (uint64_t i = 0; i < 2 * N; i++) {
		struct ioregion_bridge *bi = bs[i % 2];

		v = i;
		ioregion_bridge_access(bi, false, 0x1000 + 8 * (i % 16), true, 8, &v);
		ioregion_bridge_access(bi, false, 0x2000 + 8 * (i % 16), true, 4, &v);
		ioregion_bridge_access(bi, false, 0x1000 + 8 * (i % 16), false, 8, &v);
		if (v != i)
			break;
		ioregion_bridge_access(bi, false, 0x10f8, false, 2, &v);
		if (v != 0xdef)
			break;
	}
	counting = 0;
	ior_assert_uint_eq(v, 0xdef);
	ior_assert_uint_eq(allocations, 0);		/* the bridge's side */
	b = ioregion_bridge_unref(b);
	b2 = ioregion_bridge_unref(b2);
	close(go[1]);
	ior_assert_int_eq(waitpid(pid, &status, 0), pid);
	ior_assert(WIFEXITED(status));
	ior_assert_int_eq(WEXITSTATUS(status), 0);	/* the server's side */
}
END_TEST

/* A write of 0x60 at 0xf0 starts the count, in band: the run mode's
 * wait covers the channels only, not the stdin watcher above. */
static int
wr_go(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t val)
{
	if (off == 0xf0 && val == 0x60)
		counting = 1;
	return wr(r, off, size, val);
}

/* The io_uring backend under ioregion_ctx_run(), adaptive polling of
 * @poll_us: serves until EOF; exit status as device() has it, 98 when
 * io_uring cannot be had. */
static void
run_device(int sock, unsigned poll_us)
{
	static const struct ioregion_region_ops ops = { .read = rd, .write = wr_go };
	struct ioregion_ctx *ctx;
	struct ioregion_channel *ch;

	if (ioregion_ctx_new(NULL, &ctx) < 0 ||
	    ioregion_ctx_set_backend(ctx, IOREGION_BACKEND_IO_URING) < 0)
		_exit(100);
	if (ioregion_ctx_get_backend(ctx) != IOREGION_BACKEND_IO_URING)
		_exit(98);
	if (ioregion_channel_new_from_fds(ctx, sock, sock, IOREGION_WIRE_V3, &ch) < 0 ||
	    add_regions(ch, &ops) < 0 || ioregion_ctx_set_poll_us(ctx, poll_us) < 0)
		_exit(100);
	if (ioregion_ctx_run(ctx) < 0)
		_exit(101);
	counting = 0;
	ioregion_ctx_unref(ctx);
	_exit(allocations > 99 ? 99 : (int)allocations);
}

static void
raw_cmd(int fd, uint8_t cmd, bool resp, uint32_t slot, uint64_t off,
	uint64_t data)
{
	uint8_t b[32];
	struct ioregion_wire_cmd c = {
		.cmd = cmd, .size = 8, .resp = resp,
		.user_data = 1ull << 32 | slot, .offset = off, .data = data,
	};

	ioregion_wire_encode_cmd(IOREGION_WIRE_V3, &c, b);
	ior_write_all(fd, b, sizeof(b));
}

/* 10,000 of each kind to run_device(@poll_us). */
static void
run_round_trips(unsigned poll_us)
{
	uint8_t resp[32];
	unsigned long bad = 0;
	int sv[2], status;
	pid_t pid;

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	ior_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[1]);
		run_device(sv[0], poll_us);
	}
	close(sv[0]);
	/* warm-up: one of each kind, then the go */
	raw_cmd(sv[1], IOREGION_CMD_WRITE, false, 1, 0, 1);
	raw_cmd(sv[1], IOREGION_CMD_WRITE, true, 0, 0, 1);
	raw_cmd(sv[1], IOREGION_CMD_READ, true, 0, 0, 0);
	raw_cmd(sv[1], IOREGION_CMD_WRITE, true, 0, 0xf0, 0x60);
	for (int i = 0; i < 3; i++)
		bad += ior_read_timeout(sv[1], resp, 32, 5000) != 32;
	for (uint64_t i = 0; i < N; i++) {
		raw_cmd(sv[1], IOREGION_CMD_WRITE, false, 1, 8 * (i % 16), i);
		raw_cmd(sv[1], IOREGION_CMD_WRITE, true, 0, 8 * (i % 16), i);
		bad += ior_read_timeout(sv[1], resp, 32, 5000) != 32;
		raw_cmd(sv[1], IOREGION_CMD_READ, true, 0, 8 * (i % 16), 0);
		bad += ior_read_timeout(sv[1], resp, 32, 5000) != 32;
		bad += ioregion_wire_decode_resp(resp) != i;
	}
	ior_assert_uint_eq(bad, 0);
	close(sv[1]);		/* EOF: ioregion_ctx_run() returns */
	ior_assert_int_eq(waitpid(pid, &status, 0), pid);
	ior_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 98)
		return;		/* no io_uring here: nothing to measure */
	ior_assert_int_eq(WEXITSTATUS(status), 0);
}

START_TEST(test_noalloc_10k_round_trips_io_uring_run_allocate_nothing)
{
	run_round_trips(0);
}
END_TEST

/* The same with a polling window: the answers go out from inside it. */
START_TEST(test_noalloc_10k_round_trips_io_uring_run_polling_allocate_nothing)
{
	run_round_trips(200);
}
END_TEST

START_TEST(test_noalloc_10k_interrupts_allocate_nothing)
{
	int et = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int lt = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int lr = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct ioregion_irq *edge, *level;
	struct ioregion_irq_stats st;
	struct ioregion_ctx *ctx;
	uint64_t one = 1;

	ior_assert_int_ge(et, 0);
	ior_assert_int_ge(lt, 0);
	ior_assert_int_ge(lr, 0);
	ior_assert_int_eq(ioregion_ctx_new(NULL, &ctx), 0);
	ior_assert_int_eq(ioregion_irq_new(ctx, et, -1, &edge), 0);
	ior_assert_int_eq(ioregion_irq_new(ctx, lt, lr, &level), 0);
	/* warm-up: the loop's first run sets its watchers up */
	ior_assert_int_eq(ioregion_irq_raise(level), 0);
	ior_assert_int_eq(write(lr, &one, sizeof(one)), sizeof(one));
	ior_assert_int_eq(ioregion_ctx_dispatch(ctx), 0);

	counting = 1;
	for (int i = 0; i < N; i++) {
		ioregion_irq_raise(edge);
		ioregion_irq_pulse(edge);
		ioregion_irq_set(edge, true);
		ioregion_irq_set(edge, false);
		ioregion_irq_raise(level);	/* held: no write */
		if (write(lr, &one, sizeof(one)) != sizeof(one))
			break;
		ioregion_ctx_dispatch(ctx);	/* the EOI: re-asserted */
	}
	counting = 0;
	ior_assert_uint_eq(allocations, 0);
	ior_assert_int_eq(ioregion_irq_get_stats(level, &st), 0);
	ior_assert_uint_eq(st.reasserts, N + 1);
	ior_assert_int_eq(ioregion_irq_get_stats(edge, &st), 0);
	ior_assert_uint_eq(st.triggers, 3 * N);
	ctx = ioregion_ctx_unref(ctx);
	close(et);
	close(lt);
	close(lr);
}
END_TEST

START_TEST(test_noalloc_10k_guest_memory_accesses_allocate_nothing)
{
	struct ioregion_mem_slot a = { .gpa = 0x100000, .size = 0x10000 };
	struct ioregion_mem_slot b = { .gpa = 0x110000, .size = 0x10000,
		.offset = 0x10000, .flags = IOREGION_MEM_F_READONLY };
	static uint8_t buf[4096];
	struct ioregion_mem *mem;
	unsigned long bad = 0;
	void *p;
	int fd = memfd_create("noalloc-ram", MFD_CLOEXEC);

	ior_assert_int_ge(fd, 0);
	ior_assert_int_eq(ftruncate(fd, 0x20000), 0);
	ior_assert_int_eq(ioregion_mem_new(&mem), 0);
	ior_assert_int_eq(ioregion_mem_add_slot(mem, &a, fd), 0);
	ior_assert_int_eq(ioregion_mem_add_slot(mem, &b, fd), 0);
	/* warm-up */
	ior_assert_int_eq(ioregion_mem_read(mem, 0x100000, buf, sizeof(buf)), 0);

	counting = 1;
	for (uint64_t i = 0; i < N; i++) {
		uint64_t gpa = 0x100000 + (i % 15) * 0x1000;

		bad += ioregion_mem_translate(mem, gpa, 0x1000, true, &p) != 0;
		bad += ioregion_mem_read(mem, gpa, buf, sizeof(buf)) != 0;
		bad += ioregion_mem_write(mem, gpa + 0x80, buf, sizeof(buf)) != 0;
		bad += ioregion_mem_read(mem, 0x110000, buf, sizeof(buf)) != 0;
		/* refused: spanning, wrapping, read-only, outside */
		bad += ioregion_mem_translate(mem, 0x10ff00, 0x200, false, &p) != -EFAULT;
		bad += ioregion_mem_read(mem, UINT64_MAX - 0xff, buf, 0x200) != -EFAULT;
		bad += ioregion_mem_write(mem, 0x110000, buf, 16) != -EACCES;
		bad += ioregion_mem_write(mem, 0x200000, buf, 16) != -EFAULT;
	}
	counting = 0;
	ior_assert_uint_eq(bad, 0);
	ior_assert_uint_eq(allocations, 0);
	mem = ioregion_mem_unref(mem);
	close(fd);
}
END_TEST

START_TEST(test_noalloc_10k_virtqueue_chains_allocate_nothing)
{
	struct vf f;
	struct ioregion_virtq *vq;
	struct ioregion_virtq_seg segs[4];
	const struct vf_desc d[] = {
		{ VF_BUF, 16, IOREGION_VIRTQ_DESC_F_NEXT, 1 },
		{ VF_BUF + 0x1000, 4096,
		  IOREGION_VIRTQ_DESC_F_NEXT | IOREGION_VIRTQ_DESC_F_WRITE, 2 },
		{ VF_BUF + 0x2000, 1, IOREGION_VIRTQ_DESC_F_WRITE, 0 },
	};
	unsigned long bad = 0;
	uint64_t v;
	uint16_t head;

	vf_setup(&f, 1);
	vf_probe(&f);
	vq = ioregion_virtio_mmio_queue(f.vm, 0);
	vf_descs(&f, 0, d, 3);

	counting = 1;
	for (unsigned i = 0; i < N; i++) {
		vf_avail(&f, 0);
		bad += ioregion_virtio_mmio_write(f.vm, IOREGION_VIRTIO_MMIO_QUEUE_NOTIFY,
						  4, 0) != 0;
		bad += ioregion_virtq_pop(vq, segs, 4, &head) != 3;
		bad += ioregion_virtq_pop(vq, segs, 4, &head) != 0;
		bad += ioregion_virtq_push(vq, head, 4097) != 0;
		bad += ioregion_virtq_notify(vq) != 1;
		bad += ioregion_virtio_mmio_read(f.vm,
			IOREGION_VIRTIO_MMIO_INTERRUPT_STATUS, 4, &v) != 0 || v != 1;
		bad += ioregion_virtio_mmio_write(f.vm,
			IOREGION_VIRTIO_MMIO_INTERRUPT_ACK, 4, v) != 0;
		bad += ioregion_virtio_mmio_read(f.vm, 0x104, 4, &v) != 0;
	}
	counting = 0;
	ior_assert_uint_eq(bad, 0);
	ior_assert_uint_eq(allocations, 0);
	ior_assert_uint_eq(f.notified, N);
	ior_assert_uint_eq(vf_edges(&f), N);
	vf_teardown(&f);
}
END_TEST

/* The window split by ioregion_virtio_mmio_ranges() on a channel: a posted
 * QueueNotify and a read through the upper range per round, served by the
 * range callbacks. */
START_TEST(test_noalloc_10k_posted_notifies_on_split_window_allocate_nothing)
{
	struct ioregion_virtio_mmio_range r[IOREGION_VIRTIO_MMIO_NRANGES];
	struct ioregion_region *wreg[IOREGION_VIRTIO_MMIO_NRANGES];
	struct vf f;
	unsigned long bad = 0;
	uint64_t v;

	vf_setup(&f, 1);
	vf_probe(&f);
	vf_channel(&f);
	vf_ranges(&f, r, wreg);
	/* warm-up: the loop's first wake-up on the channel */
	ior_assert_int_eq(vf_send(&f, wreg[0], false, false, 0, 0), 0);
	ior_assert_int_eq(vf_answer(&f, &v), 1);
	counting = 1;
	for (unsigned i = 0; i < N; i++) {
		bad += vf_send(&f, wreg[1], true, true, 0, 0) != 0;
		bad += vf_send(&f, wreg[2], false, false,
			       IOREGION_VIRTIO_MMIO_STATUS - r[2].offset, 0) != 0;
		bad += vf_answer(&f, &v) != 1 || v != 0x0f;
	}
	counting = 0;
	ior_assert_uint_eq(bad, 0);
	ior_assert_uint_eq(allocations, 0);
	ior_assert_uint_eq(f.notified, N);
	for (unsigned i = 0; i < 3; i++)
		ioregion_region_destroy(wreg[i]);
	vf_teardown(&f);
}
END_TEST

#ifdef NOALLOC_INBLK
/* tinyvmm's in-VMM virtio-blk: per round a one-sector read request made
 * available, the QueueNotify exit (served at once: pread into guest
 * memory, push, the edge), InterruptStatus and ACK exits. */
START_TEST(test_noalloc_10k_in_vmm_blk_requests_allocate_nothing)
{
	struct ioregion_mem_slot slot = { .gpa = VF_RAM_GPA, .size = VF_RAM_SIZE };
	const struct vf_desc d[] = {
		{ VF_BUF, 16, IOREGION_VIRTQ_DESC_F_NEXT, 1 },
		{ VF_BUF + 0x1000, VBLK_SECTOR,
		  IOREGION_VIRTQ_DESC_F_NEXT | IOREGION_VIRTQ_DESC_F_WRITE, 2 },
		{ VF_BUF + 0x2000, 1, IOREGION_VIRTQ_DESC_F_WRITE, 0 },
	};
	char path[] = "/tmp/test-noalloc-inblk-XXXXXX";
	uint8_t sector[8 * VBLK_SECTOR] = { 0 }, data[8];
	unsigned long bad = 0;
	struct inblk ib;
	struct vf f;
	int fd;

	fd = mkstemp(path);
	ior_assert_int_ge(fd, 0);
	ior_assert_int_eq(write(fd, sector, sizeof(sector)), (int)sizeof(sector));
	close(fd);
	vf_setup_env(&f);
	ior_assert_int_eq(inblk_open(&ib, path, INBLK_BASE, f.fd, &slot, f.efd), 0);
	f.vm = ib.b.vm;
	f.features = vblk_features(&ib.b);
	f.queue_max = VBLK_QUEUE_MAX;
	vf_probe(&f);
	memset(vf_ptr(&f, VF_BUF), 0, 16);		/* T_IN, sector 0 */
	vf_descs(&f, 0, d, 3);

	counting = 1;
	for (unsigned i = 0; i < N; i++) {
		vf_avail(&f, 0);
		memset(data, 0, sizeof(data));		/* QueueNotify 0 */
		bad += !inblk_mmio(&ib, INBLK_BASE + IOREGION_VIRTIO_MMIO_QUEUE_NOTIFY,
				   true, 4, data);
		bad += !inblk_mmio(&ib, INBLK_BASE +
				   IOREGION_VIRTIO_MMIO_INTERRUPT_STATUS, false, 4,
				   data) || data[0] != 1;
		bad += !inblk_mmio(&ib, INBLK_BASE +
				   IOREGION_VIRTIO_MMIO_INTERRUPT_ACK, true, 4, data);
	}
	counting = 0;
	ior_assert_uint_eq(bad, 0);
	ior_assert_uint_eq(allocations, 0);
	ior_assert_uint_eq(ib.b.stats.reads, N);
	ior_assert_uint_eq(ib.errors, 0);
	ior_assert_uint_eq(vf_edges(&f), N);
	inblk_close(&ib);
	f.vm = NULL;
	vf_teardown(&f);
	unlink(path);
}
END_TEST
#endif

static Suite *
noalloc_suite(void)
{
	Suite *s = suite_create("noalloc");

	ior_add_test_timeout(s, test_noalloc_10k_accesses_of_each_kind_allocate_nothing, 120);
	ior_add_test_timeout(s, test_noalloc_10k_round_trips_io_uring_run_allocate_nothing, 120);
	ior_add_test_timeout(s, test_noalloc_10k_round_trips_io_uring_run_polling_allocate_nothing, 120);
	ior_add_test_timeout(s, test_noalloc_10k_interrupts_allocate_nothing, 60);
	ior_add_test_timeout(s, test_noalloc_10k_guest_memory_accesses_allocate_nothing, 60);
	ior_add_test_timeout(s, test_noalloc_10k_virtqueue_chains_allocate_nothing, 60);
	ior_add_test_timeout(s, test_noalloc_10k_posted_notifies_on_split_window_allocate_nothing, 60);
#ifdef NOALLOC_INBLK
	ior_add_test_timeout(s, test_noalloc_10k_in_vmm_blk_requests_allocate_nothing, 60);
#endif
	return s;
}

IOR_TEST_MAIN(noalloc_suite)
