/* SPDX-License-Identifier: MIT */
/*
 * Fault tests with real processes and sockets, no KVM: this process plays
 * the VMM (ioregion_bridge_access is the vCPU), a libioregion server in a
 * forked child plays the device, or a scripted peer process answers with
 * bytes chosen by the test. Devices die (SIGKILL), stop (SIGSTOP), hang up
 * in the middle of a message, answer wrongly or unasked; signals hit the
 * blocked side continuously; someone flips O_NONBLOCK on the bridge's fd;
 * fds run out. Every wait is bounded; readiness is signalled over pipes.
 */
#include "test-common.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "ioregion/bridge.h"
#include "ioregion/handoff.h"
#include "ioregion/server.h"
#include "ioregion/wire.h"

#define MMIO_BASE 0xd0000000ull
#define POSTED_BASE 0xd0001000ull
#define PIO_BASE 0x3f8
#define BLOCK_OFF 0x80			/* a read here never completes */
#define BLOCK_MAGIC 0xb10cb10cull	/* a posted write of this blocks */
#define NREGIONS 3

static uint64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the device process: a libioregion server ------------------------ */

struct device {
	int ready;			/* pipe: the device tells the test */
	uint8_t mem[0x100];
	uint64_t posted_next;		/* the sequence posted writes carry */
	bool posted_bad;
};

static void
tell(int fd, char c)
{
	ior_write_all(fd, &c, 1);
}

static int
dev_read(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t *val)
{
	struct device *d = ioregion_region_get_userdata(r);

	if (off == BLOCK_OFF) {
		tell(d->ready, 'R');
		for (;;)
			pause();	/* until SIGKILL */
	}
	if (off == 0xf0) {
		*val = d->posted_bad ? ~0ull : d->posted_next;
		return 0;
	}
	*val = 0;
	memcpy(val, d->mem + off, size);
	return 0;
}

static int
dev_write(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t val)
{
	struct device *d = ioregion_region_get_userdata(r);

	memcpy(d->mem + off, &val, size);
	return 0;
}

static int
dev_posted(struct ioregion_region *r, uint64_t off, unsigned size,
	   uint64_t val)
{
	struct device *d = ioregion_region_get_userdata(r);

	if (val == BLOCK_MAGIC) {
		tell(d->ready, 'W');
		for (;;)
			pause();
	}
	if (val != d->posted_next)
		d->posted_bad = true;
	d->posted_next++;
	return 0;
}

static void
dev_closed(struct ioregion_channel *ch, int error, void *data)
{
	ev_break(data, EVBREAK_ALL);
}

static void
on_alarm(int sig)
{
	static volatile sig_atomic_t n;

	n++;
}

/* An EINTR storm: SIGALRM every @p us microseconds, no SA_RESTART. */
static void
start_signal_storm(unsigned us, void (*handler)(int))
{
	struct sigaction sa = { .sa_handler = handler };
	struct itimerval it = {
		.it_interval = { 0, us }, .it_value = { 0, us },
	};

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;		/* no SA_RESTART: syscalls see EINTR */
	ior_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ior_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

static void
stop_signal_storm(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &it, NULL);
	signal(SIGALRM, SIG_IGN);
}

enum {
	DEV_SIGNAL_STORM = 1,	/* SIGALRM every 50 us in the device */
	DEV_NEW_USER_DATA = 2,	/* a restart whose regions get other user_data */
};

/* Runs in the child: hands its regions over @p sock, serves until EOF. */
static void
device_main(int sock, int ready, int opts)
{
	static const struct ioregion_region_ops ops = {
		.read = dev_read, .write = dev_write,
	};
	static const struct ioregion_region_ops posted_ops = {
		.read = dev_read, .write = dev_posted,
	};
	struct device d = { .ready = ready };
	struct ioregion_region_config cfg[NREGIONS] = {
		{ .addr = MMIO_BASE, .size = 0x100, .ops = &ops, .userdata = &d },
		{ .addr = POSTED_BASE, .size = 0x100,
		  .flags = IOREGION_F_POSTED_WRITES, .ops = &posted_ops,
		  .userdata = &d },
		{ .addr = PIO_BASE, .size = 8, .flags = IOREGION_F_PIO,
		  .ops = &ops, .userdata = &d },
	};
	struct ioregion_ctx *ctx;
	struct ioregion_channel *ch;

	if (ioregion_ctx_new(NULL, &ctx) < 0 ||
	    ioregion_channel_new(ctx, IOREGION_WIRE_V3, &ch) < 0)
		_exit(10);
	if (opts & DEV_NEW_USER_DATA) {
		/* slot 0 is used and freed once: the real regions get
		 * another generation, hence another user_data */
		struct ioregion_region_config tmp = {
			.addr = 0x10000000, .size = 8, .ops = &ops,
		};
		struct ioregion_region *r;

		if (ioregion_region_new(ch, &tmp, &r) < 0)
			_exit(14);
		ioregion_region_destroy(r);
	}
	for (int i = 0; i < NREGIONS; i++) {
		struct ioregion_region *r;
		struct ioregion_desc desc;

		if (ioregion_region_new(ch, &cfg[i], &r) < 0 ||
		    ioregion_region_get_desc(r, &desc) < 0 ||
		    ioregion_handoff_send(sock, &desc,
					  ioregion_channel_peer_fd(ch), NULL) < 0)
			_exit(11);
	}
	if (ioregion_handoff_send_end(sock) < 0)
		_exit(12);
	close(sock);
	close(ioregion_channel_take_peer_fd(ch));
	ioregion_channel_set_close_handler(ch, dev_closed,
					   ioregion_ctx_get_loop(ctx));
	if (opts & DEV_SIGNAL_STORM)
		start_signal_storm(50, on_alarm);
	ev_run(ioregion_ctx_get_loop(ctx), 0);
	ioregion_ctx_unref(ctx);
	_exit(d.posted_bad ? 13 : 0);
}

/* ---- the VMM side ----------------------------------------------------- */

static struct ioregion_bridge *bridge;
static struct ioregion_desc descs[NREGIONS];
static int dev_fd = -1;		/* our copy of the device's channel fd */
static int ready_fd = -1;	/* read end of the device's ready pipe */

static void
quiet_log(void *data, enum ioregion_log_priority prio, const char *fmt,
	  va_list args) __attribute__((format(printf, 3, 0)));

static void
quiet_log(void *data, enum ioregion_log_priority prio, const char *fmt,
	  va_list args)
{
}

/* Start a device process; the first one is added to the bridge, later
 * ones replace the fd of the same regions (a restarted device). */
static pid_t
spawn_device(int opts)
{
	int sv[2], pp[2], n = 0;
	pid_t pid;

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
				     0, sv), 0);
	ior_assert_int_eq(pipe2(pp, O_CLOEXEC), 0);
	pid = fork();
	ior_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		close(pp[0]);
		device_main(sv[1], pp[1], opts);
	}
	close(sv[1]);
	close(pp[1]);
	if (ready_fd >= 0)
		close(ready_fd);
	ready_fd = pp[0];
	if (!bridge) {
		ior_assert_int_eq(ioregion_bridge_new(&bridge), 0);
		ioregion_bridge_set_log_handler(bridge, quiet_log, NULL);
		ior_assert_int_eq(ioregion_bridge_set_timeout(bridge, 2000), 0);
	}
	if (dev_fd >= 0)
		close(dev_fd);
	dev_fd = -1;
	for (;;) {
		struct ioregion_desc d;
		int fd, rc = ioregion_handoff_recv(sv[0], &d, &fd, NULL);

		if (rc == 0)
			break;
		ior_assert_int_eq(rc, 1);
		ior_assert_int_lt(n, NREGIONS);
		if (descs[n].dialect) {
			/* a restart: same region, maybe another user_data */
			ior_assert_uint_eq(d.addr, descs[n].addr);
			if ((opts & DEV_NEW_USER_DATA) && n == 0)
				ior_assert(d.user_data != descs[n].user_data);
			ior_assert_int_eq(ioregion_bridge_replace_fd(bridge, &d, fd), 0);
		} else {
			ior_assert_int_eq(ioregion_bridge_add(bridge, &d, fd), 0);
		}
		descs[n++] = d;
		if (dev_fd < 0)
			dev_fd = fd;	/* one channel: keep one copy */
		else
			close(fd);
	}
	ior_assert_int_eq(n, NREGIONS);
	close(sv[0]);
	return pid;
}

static void
wait_ready(char want)
{
	char c = 0;

	ior_assert_int_eq(ior_read_timeout(ready_fd, &c, 1, 5000), 1);
	ior_assert_int_eq(c, want);
}

static void
teardown(void)
{
	bridge = ioregion_bridge_unref(bridge);
	if (dev_fd >= 0)
		close(dev_fd);
	if (ready_fd >= 0)
		close(ready_fd);
	dev_fd = ready_fd = -1;
	memset(descs, 0, sizeof(descs));
}

static int
reap(pid_t pid)
{
	int status = -1;

	ior_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static int
acc(bool pio, uint64_t addr, bool is_write, unsigned size, uint64_t *val)
{
	return ioregion_bridge_access(bridge, pio, addr, is_write, size, val);
}

static void
check_round_trip(uint64_t v)
{
	uint64_t r = 0;

	ior_assert_int_eq(acc(false, MMIO_BASE + 8, true, 8, &v), 1);
	ior_assert_int_eq(acc(false, MMIO_BASE + 8, false, 8, &r), 1);
	ior_assert_uint_eq(r, v);
}

/* ---- a vCPU thread ---------------------------------------------------- */

struct vcpu {
	pthread_t thread;
	uint64_t addr;
	bool is_write;
	uint64_t val;
	int rc;
	uint64_t done_ms;
	/* posted-write mode: after @signal_after writes, say so on @note */
	int note;
	unsigned signal_after;
	unsigned writes;
};

static void *
vcpu_read(void *arg)
{
	struct vcpu *v = arg;

	v->rc = acc(false, v->addr, false, 4, &v->val);
	v->done_ms = ms_now();
	return NULL;
}

static void *
vcpu_posted(void *arg)
{
	struct vcpu *v = arg;
	uint64_t val = BLOCK_MAGIC;

	v->rc = acc(false, POSTED_BASE, true, 8, &val);	/* the device blocks */
	while (v->rc == 1) {
		val = v->writes;
		v->rc = acc(false, POSTED_BASE, true, 8, &val);
		if (v->rc == 1 && ++v->writes == v->signal_after)
			tell(v->note, 'Q');
	}
	v->done_ms = ms_now();
	return NULL;
}

START_TEST(test_faults_device_killed_while_vcpu_waits_for_read)
{
	struct vcpu v = { .addr = MMIO_BASE + BLOCK_OFF };
	uint64_t t0, val = 0;
	pid_t pid = spawn_device(0);

	check_round_trip(0x1122334455667788ull);
	ior_assert_int_eq(pthread_create(&v.thread, NULL, vcpu_read, &v), 0);
	wait_ready('R');		/* the device is inside the read */
	t0 = ms_now();
	ior_assert_int_eq(kill(pid, SIGKILL), 0);
	ior_assert_int_eq(pthread_join(v.thread, NULL), 0);
	ior_assert_errno(v.rc, -ECONNRESET);	/* EOF, not the timeout */
	ior_assert_uint_eq(v.val, 0xffffffffull);
	ior_assert_int_lt(v.done_ms - t0, 1000);	/* bound: 2000 ms */
	ior_assert_errno(acc(false, MMIO_BASE, false, 4, &val), -ENOTCONN);
	ior_assert_errno(acc(true, PIO_BASE, true, 1, &val), -ENOTCONN);
	reap(pid);
	teardown();
}
END_TEST

START_TEST(test_faults_device_stopped_read_times_out_within_bound)
{
	struct vcpu v = { .addr = MMIO_BASE };
	pid_t pid = spawn_device(0);
	uint64_t t0;

	ior_assert_int_eq(ioregion_bridge_set_timeout(bridge, 200), 0);
	check_round_trip(42);
	ior_assert_int_eq(kill(pid, SIGSTOP), 0);
	ior_assert_int_eq(waitpid(pid, NULL, WUNTRACED), pid);
	t0 = ms_now();
	ior_assert_int_eq(pthread_create(&v.thread, NULL, vcpu_read, &v), 0);
	ior_assert_int_eq(pthread_join(v.thread, NULL), 0);
	ior_assert_errno(v.rc, -ETIMEDOUT);
	ior_assert_int_ge(v.done_ms - t0, 199);
	ior_assert_int_lt(v.done_ms - t0, 1000);
	kill(pid, SIGKILL);
	reap(pid);
	teardown();
}
END_TEST

START_TEST(test_faults_device_killed_with_posted_writes_queued)
{
	struct vcpu v = { .signal_after = 5 };
	struct ioregion_bridge_stats st;
	int pp[2];
	char c = 0;
	uint64_t t0;
	pid_t pid = spawn_device(0);

	ior_assert_int_eq(pipe2(pp, O_CLOEXEC), 0);
	v.note = pp[1];
	ior_assert_int_eq(pthread_create(&v.thread, NULL, vcpu_posted, &v), 0);
	wait_ready('W');	/* the device blocks in the first write */
	/* five more are queued behind it: the device has not seen them */
	ior_assert_int_eq(ior_read_timeout(pp[0], &c, 1, 5000), 1);
	t0 = ms_now();
	ior_assert_int_eq(kill(pid, SIGKILL), 0);
	ior_assert_int_eq(pthread_join(v.thread, NULL), 0);
	/* the queue filled up (the writer waits for room) or the send
	 * after the kill failed: either way a hang-up, well in the bound */
	ior_assert_errno(v.rc, -ECONNRESET);
	ior_assert_int_ge(v.writes, 5);
	ior_assert_int_lt(v.done_ms - t0, 1000);
	ior_assert_int_eq(ioregion_bridge_get_stats(bridge, false, POSTED_BASE, &st), 0);
	ior_assert_uint_eq(st.errors, 1);
	ior_assert_uint_eq(st.posted_writes, v.writes + 1);
	close(pp[0]);
	close(pp[1]);
	reap(pid);
	teardown();
}
END_TEST

START_TEST(test_faults_restarted_device_replaces_fd_and_accesses_continue)
{
	uint64_t val = 0;
	pid_t pid = spawn_device(0);

	check_round_trip(1);
	ior_assert_int_eq(kill(pid, SIGKILL), 0);
	reap(pid);
	ior_assert_errno(acc(false, MMIO_BASE, false, 4, &val), -ECONNRESET);
	ior_assert_errno(acc(false, MMIO_BASE, false, 4, &val), -ENOTCONN);

	/* replace_fd for every region; the new process numbers its
	 * regions differently (user_data), as a restart may */
	pid = spawn_device(DEV_NEW_USER_DATA);
	check_round_trip(0xfeedfacecafebeefull);
	val = 0xab;
	ior_assert_int_eq(acc(true, PIO_BASE + 1, true, 1, &val), 1);
	val = 0;
	ior_assert_int_eq(acc(true, PIO_BASE + 1, false, 1, &val), 1);
	ior_assert_uint_eq(val, 0xab);
	for (uint64_t i = 0; i < 100; i++) {
		val = i;
		ior_assert_int_eq(acc(false, POSTED_BASE, true, 8, &val), 1);
	}
	ior_assert_int_eq(acc(false, POSTED_BASE + 0xf0, false, 8, &val), 1);
	ior_assert_uint_eq(val, 100);	/* all arrived, in order */
	teardown();			/* EOF: the device exits */
	ior_assert_int_eq(reap(pid), 0);
}
END_TEST

static volatile sig_atomic_t storm_hits;

static void
count_alarm(int sig)
{
	storm_hits++;
}

START_TEST(test_faults_eintr_storm_on_both_sides_10k_accesses_correct)
{
	pid_t pid = spawn_device(DEV_SIGNAL_STORM);
	uint64_t val;

	storm_hits = 0;
	start_signal_storm(20, count_alarm);
	for (uint64_t i = 0; i < 5000; i++) {
		uint64_t r = 0;

		val = i * 0x9e3779b97f4a7c15ull;
		/* offsets 0..0x78: below BLOCK_OFF */
		ior_assert_int_eq(acc(false, MMIO_BASE + (i % 16) * 8, true, 8, &val), 1);
		ior_assert_int_eq(acc(false, MMIO_BASE + (i % 16) * 8, false, 8, &r), 1);
		ior_assert_uint_eq(r, val);
	}
	stop_signal_storm();
	ior_assert_int_gt(storm_hits, 100);
	teardown();
	ior_assert_int_eq(reap(pid), 0);
}
END_TEST

START_TEST(test_faults_nonblock_set_behind_bridge_back_still_correct)
{
	pid_t pid = spawn_device(0);
	uint64_t val;

	for (int round = 0; round < 2; round++) {
		/* our copy shares the open file with the bridge's */
		int fl = fcntl(dev_fd, F_GETFL);

		ior_assert_int_eq(fcntl(dev_fd, F_SETFL, round ? fl & ~O_NONBLOCK
							   : fl | O_NONBLOCK), 0);
		for (uint64_t i = 0; i < 1000; i++)
			check_round_trip(i + 1);
		/* bursts of posted writes fill the socket: EAGAIN */
		for (uint64_t i = 0; i < 2000; i++) {
			val = (uint64_t)round * 2000 + i;
			ior_assert_int_eq(acc(false, POSTED_BASE, true, 8, &val), 1);
		}
		ior_assert_int_eq(acc(false, POSTED_BASE + 0xf0, false, 8, &val), 1);
		ior_assert_uint_eq(val, (uint64_t)(round + 1) * 2000);
	}
	teardown();
	ior_assert_int_eq(reap(pid), 0);
}
END_TEST

/* ---- fd exhaustion ----------------------------------------------------- */

static void
limit_fds(rlim_t n)
{
	struct rlimit rl;

	ior_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = n;
	ior_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/* The lowest fd number not in use, the next one the kernel hands out. */
static int
lowest_free_fd(void)
{
	int fd = dup(0);

	ior_assert_int_ge(fd, 0);
	close(fd);
	return fd;
}

START_TEST(test_faults_rlimit_nofile_channel_new_returns_emfile)
{
	struct ioregion_ctx *ctx;
	struct ioregion_channel *ch = (void *)1;
	struct rlimit saved;
	int base = ior_count_fds(), before;

	ior_assert_int_eq(ioregion_ctx_new(NULL, &ctx), 0);
	ior_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	before = ior_count_fds();
	/* room for one fd: a socketpair needs two */
	limit_fds((rlim_t)lowest_free_fd() + 1);
	ior_assert_errno(ioregion_channel_new(ctx, IOREGION_WIRE_V3, &ch), -EMFILE);
	ior_assert_ptr_null(ch);
	ior_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
	ior_assert_int_eq(ior_count_fds(), before);
	/* no room at all */
	limit_fds((rlim_t)lowest_free_fd());
	ior_assert_errno(ioregion_channel_new(ctx, IOREGION_WIRE_V3, &ch), -EMFILE);
	ior_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
	ior_assert_int_eq(ior_count_fds(), before);
	/* and it works again once fds are back */
	ior_assert_int_eq(ioregion_channel_new(ctx, IOREGION_WIRE_V3, &ch), 0);
	ior_assert_int_eq(ior_count_fds(), before + 2);
	ioregion_ctx_unref(ctx);
	ior_assert_int_eq(ior_count_fds(), base);
}
END_TEST

static void
send_with_fds(int sock, const struct ioregion_handoff_msg *m, int nfds, int fd)
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int)),
	};
	struct cmsghdr *cm;
	int fds[3] = { fd, fd, fd };

	memset(&ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	ior_assert_int_eq(sendmsg(sock, &mh, MSG_NOSIGNAL), sizeof(*m));
}

START_TEST(test_faults_rlimit_nofile_handoff_recv_fails_and_leaks_nothing)
{
	struct ioregion_handoff_msg m = {
		.magic = IOREGION_HANDOFF_MAGIC,
		.version = IOREGION_HANDOFF_VERSION,
		.type = IOREGION_HANDOFF_REGION,
		.addr = MMIO_BASE, .size = 0x1000, .user_data = 7,
		.dialect = IOREGION_WIRE_V3, .nfds = 1,
	};
	struct ioregion_desc d;
	struct rlimit saved;
	int sv[2], pl[2], fd = 1234, before, payload;

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	/* what a region is served on: a socket (the receiver refuses others) */
	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pl), 0);
	payload = pl[0];
	ior_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);

	/* no fd free: the kernel drops the fd (MSG_CTRUNC) */
	send_with_fds(sv[1], &m, 1, payload);
	before = ior_count_fds();
	limit_fds((rlim_t)lowest_free_fd());
	ior_assert_errno(ioregion_handoff_recv(sv[0], &d, &fd, NULL), -EBADMSG);
	ior_assert_int_eq(fd, -1);
	ior_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
	ior_assert_int_eq(ior_count_fds(), before);

	/* three fds, room for one: the one that arrived is closed too */
	send_with_fds(sv[1], &m, 3, payload);
	limit_fds((rlim_t)lowest_free_fd() + 1);
	fd = 1234;
	ior_assert_errno(ioregion_handoff_recv(sv[0], &d, &fd, NULL), -EBADMSG);
	ior_assert_int_eq(fd, -1);
	ior_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
	ior_assert_int_eq(ior_count_fds(), before);

	/* with room again the same message is fine */
	send_with_fds(sv[1], &m, 1, payload);
	ior_assert_int_eq(ioregion_handoff_recv(sv[0], &d, &fd, NULL), 1);
	ior_assert_int_ge(fd, 0);
	close(fd);
	ior_assert_int_eq(ior_count_fds(), before);
	close(sv[0]);
	close(sv[1]);
	close(pl[0]);
	close(pl[1]);
}
END_TEST

/* ---- EOF in the middle of a command (server side, stream channel) ----- */

struct eof_result {
	int close_error;
	bool closed;
};

static void
eof_closed(struct ioregion_channel *ch, int error, void *data)
{
	struct eof_result *res = data;

	res->closed = true;
	res->close_error = error;
}

static int
eof_read(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t *val)
{
	*val = 0x5a5a5a5a;
	return 0;
}

START_TEST(test_faults_server_stream_eof_mid_command_closes_channel)
{
	static const struct ioregion_region_ops ops = { .read = eof_read };
	int sv[2], status;
	uint8_t cmd[32], resp[32];
	pid_t pid;

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	ior_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ioregion_region_config cfg = {
			.addr = MMIO_BASE, .size = 8, .ops = &ops,
		};
		struct eof_result res = { 0 };
		struct ioregion_channel_stats st;
		struct ioregion_ctx *ctx;
		struct ioregion_channel *ch;
		struct ioregion_region *r;

		close(sv[1]);
		if (ioregion_ctx_new(NULL, &ctx) < 0 ||
		    ioregion_channel_new_from_fds(ctx, sv[0], sv[0],
						  IOREGION_WIRE_V3, &ch) < 0 ||
		    ioregion_region_new(ch, &cfg, &r) < 0)
			_exit(10);
		ioregion_ctx_set_log_handler(ctx, quiet_log, NULL);
		ioregion_channel_set_close_handler(ch, eof_closed, &res);
		while (!res.closed)
			ev_run(ioregion_ctx_get_loop(ctx), EVRUN_ONCE);
		ioregion_channel_get_stats(ch, &st);
		ioregion_ctx_unref(ctx);
		/* EOF (0), one good command, one malformed (the cut one) */
		_exit(res.close_error != 0 ? 11 : st.commands != 1 ? 12 :
		      st.malformed != 1 ? 13 : st.responses != 1 ? 14 : 0);
	}
	close(sv[0]);
	/* user_data of the first region of a new channel: gen 1, slot 0 */
	struct ioregion_wire_cmd c = {
		.cmd = IOREGION_CMD_READ, .size = 4, .resp = true,
		.user_data = 1ull << 32, .offset = 0,
	};
	ior_assert_int_eq(ioregion_wire_encode_cmd(IOREGION_WIRE_V3, &c, cmd), 0);
	ior_write_all(sv[1], cmd, 32);
	ior_assert_int_eq(ior_read_timeout(sv[1], resp, 32, 5000), 32);
	ior_assert_uint_eq(ioregion_wire_decode_resp(resp), 0x5a5a5a5a);
	ior_write_all(sv[1], cmd, 10);	/* then hang up mid-command */
	close(sv[1]);
	status = reap(pid);
	ior_assert(WIFEXITED(status));
	ior_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* ---- scripted peers: wrong, short, long, garbage, unasked responses --- */

enum script {
	SCRIPT_TEN_BYTES_CLOSE = 1,	/* 10 bytes of the answer, then close */
	SCRIPT_LONG_40,			/* 40 bytes: an answer and 8 more */
	SCRIPT_SHORT_16,		/* 16 bytes */
	SCRIPT_GARBAGE_PADDING,		/* value, then 24 bytes of 0xff */
	SCRIPT_UNASKED_FIRST,		/* an answer before any command */
};

#define GOOD_VALUE 0x1122334455667788ull
#define STALE_VALUE 0xbadbadbadbadbad0ull

static void
peer_main(int fd, bool stream, enum script script)
{
	uint8_t cmd[32], resp[40];

	memset(resp, 0, sizeof(resp));
	for (int k = 0; k < 8; k++)
		resp[k] = (uint8_t)(GOOD_VALUE >> (8 * k));
	if (script == SCRIPT_UNASKED_FIRST) {
		uint8_t stale[32] = { 0 };

		for (int k = 0; k < 8; k++)
			stale[k] = (uint8_t)(STALE_VALUE >> (8 * k));
		ior_write_all(fd, stale, 32);
	}
	while (ior_read_timeout(fd, cmd, 32, 10000) == 32) {
		switch (script) {
		case SCRIPT_TEN_BYTES_CLOSE:
			ior_write_all(fd, resp, 10);
			_exit(0);
		case SCRIPT_LONG_40:
			memset(resp + 32, 0x77, 8);
			ior_write_all(fd, resp, 40);
			break;
		case SCRIPT_SHORT_16:
			ior_write_all(fd, resp, 16);
			break;
		case SCRIPT_GARBAGE_PADDING:
			memset(resp + 8, 0xff, 24);
			ior_write_all(fd, resp, 32);
			break;
		case SCRIPT_UNASKED_FIRST:
			ior_write_all(fd, resp, 32);
			break;
		}
	}
	_exit(0);
}

static pid_t
spawn_peer(bool stream, enum script script)
{
	int sv[2];
	pid_t pid;
	struct ioregion_desc d = {
		.addr = MMIO_BASE, .size = 0x100, .user_data = 1,
		.dialect = IOREGION_WIRE_V3,
	};

	ior_assert_int_eq(socketpair(AF_UNIX, (stream ? SOCK_STREAM :
				     SOCK_SEQPACKET) | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	ior_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		peer_main(sv[1], stream, script);
	}
	close(sv[1]);
	ior_assert_int_eq(ioregion_bridge_new(&bridge), 0);
	ioregion_bridge_set_log_handler(bridge, quiet_log, NULL);
	ior_assert_int_eq(ioregion_bridge_set_timeout(bridge, 2000), 0);
	ior_assert_int_eq(ioregion_bridge_add(bridge, &d, sv[0]), 0);
	dev_fd = sv[0];
	return pid;
}

START_TEST(test_faults_bridge_stream_eof_mid_response_returns_econnreset)
{
	pid_t pid = spawn_peer(true, SCRIPT_TEN_BYTES_CLOSE);
	uint64_t val = 0;
	uint64_t t0 = ms_now();

	ior_assert_errno(acc(false, MMIO_BASE, false, 8, &val), -ECONNRESET);
	ior_assert_uint_eq(val, ~0ull);
	ior_assert_int_lt(ms_now() - t0, 1000);		/* not the timeout */
	ior_assert_errno(acc(false, MMIO_BASE, false, 8, &val), -ENOTCONN);
	reap(pid);
	teardown();
}
END_TEST

START_TEST(test_faults_bridge_response_longer_than_32_bytes)
{
	uint64_t val = 0;
	pid_t pid;

	/* SEQPACKET: one packet of 40 bytes is not a response */
	pid = spawn_peer(false, SCRIPT_LONG_40);
	ior_assert_errno(acc(false, MMIO_BASE, false, 4, &val), -EBADMSG);
	ior_assert_uint_eq(val, 0xffffffffull);
	ior_assert_errno(acc(false, MMIO_BASE, false, 4, &val), -ENOTCONN);
	teardown();
	reap(pid);

	/* stream: the first 32 bytes are the answer; the 8 after it (one
	 * write, so they come with it) are data nobody asked for: found by
	 * that read's receive */
	pid = spawn_peer(true, SCRIPT_LONG_40);
	ior_assert_errno(acc(false, MMIO_BASE, false, 4, &val), -EBADMSG);
	ior_assert_uint_eq(val, 0xffffffffull);
	ior_assert_errno(acc(false, MMIO_BASE, false, 4, &val), -ENOTCONN);
	teardown();
	reap(pid);
}
END_TEST

START_TEST(test_faults_bridge_response_shorter_than_32_bytes)
{
	uint64_t val = 0;
	pid_t pid;

	pid = spawn_peer(false, SCRIPT_SHORT_16);
	ior_assert_errno(acc(false, MMIO_BASE, false, 2, &val), -EBADMSG);
	ior_assert_uint_eq(val, 0xffff);
	teardown();
	reap(pid);

	/* stream: the answer never completes: the bound ends the wait */
	pid = spawn_peer(true, SCRIPT_SHORT_16);
	ior_assert_int_eq(ioregion_bridge_set_timeout(bridge, 100), 0);
	ior_assert_errno(acc(false, MMIO_BASE, false, 2, &val), -ETIMEDOUT);
	ior_assert_uint_eq(val, 0xffff);
	teardown();
	reap(pid);
}
END_TEST

START_TEST(test_faults_bridge_garbage_padding_is_ignored_value_masked)
{
	pid_t pid = spawn_peer(false, SCRIPT_GARBAGE_PADDING);
	uint64_t val = 0;

	ior_assert_int_eq(acc(false, MMIO_BASE, false, 2, &val), 1);
	ior_assert_uint_eq(val, GOOD_VALUE & 0xffff);
	ior_assert_int_eq(acc(false, MMIO_BASE, false, 8, &val), 1);
	ior_assert_uint_eq(val, GOOD_VALUE);
	teardown();
	reap(pid);
}
END_TEST

static void
unasked_response_case(bool stream)
{
	pid_t pid = spawn_peer(stream, SCRIPT_UNASKED_FIRST);
	uint64_t val = 0;
	uint8_t b;

	/* the strict mode: looked for before the command is sent (the
	 * default takes it for the answer, and finds what is left with a
	 * later one) */
	ior_assert_int_eq(ioregion_bridge_set_idle_check(bridge, true), 0);
	/* wait until the unasked answer sits in the socket (our copy of
	 * the fd is the same socket: peek, don't take it) */
	ior_assert(ior_readable(dev_fd, 5000));
	ior_assert_int_eq(recv(dev_fd, &b, 1, MSG_PEEK), 1);
	/* a posted-style write needs no answer, so it does not look; the
	 * read must not take the stale answer for its own */
	ior_assert_errno(acc(false, MMIO_BASE, false, 8, &val), -EBADMSG);
	ior_assert_uint_eq(val, ~0ull);
	ior_assert(val != STALE_VALUE);
	ior_assert_errno(acc(false, MMIO_BASE, false, 8, &val), -ENOTCONN);
	teardown();
	reap(pid);
}

START_TEST(test_faults_bridge_unasked_response_is_not_taken_as_answer)
{
	unasked_response_case(false);
	unasked_response_case(true);
}
END_TEST

/* ---- the hand-off listener refuses a peer with another uid ----------- */

START_TEST(test_faults_handoff_peer_with_other_uid_is_refused)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	socklen_t len;
	int lsock, conn, status;
	pid_t pid;

	if (geteuid() != 0) {
		/* needs root to make a process of another uid */
		printf("# skipped: not root, cannot create a peer of another uid\n");
		return;
	}
	/* abstract namespace: no file system path to clean up */
	snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1,
		 "libioregion-test-%d", (int)getpid());
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			  strlen(addr.sun_path + 1));
	lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ior_assert_int_ge(lsock, 0);
	ior_assert_int_eq(bind(lsock, (struct sockaddr *)&addr, len), 0);
	ior_assert_int_eq(listen(lsock, 1), 0);
	pid = fork();
	ior_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ioregion_desc d = {
			.addr = MMIO_BASE, .size = 8, .user_data = 1,
			.dialect = IOREGION_WIRE_V3,
		};
		int s;

		/* nobody: the credentials at connect() are what counts */
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(10);
		s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&addr, len) < 0)
			_exit(11);
		ioregion_handoff_send(s, &d, s, "intruder");
		_exit(0);
	}
	conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
	ior_assert_int_ge(conn, 0);
	ior_assert_errno(ioregion_handoff_check_peer(conn, getuid()), -EACCES);
	ior_assert_int_eq(ioregion_handoff_check_peer(conn, 65534), 0);
	close(conn);
	close(lsock);
	ior_assert_int_eq(waitpid(pid, &status, 0), pid);
	ior_assert(WIFEXITED(status));
	ior_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static Suite *
faults_suite(void)
{
	Suite *s = suite_create("faults");

	signal(SIGPIPE, SIG_IGN);
	ior_add_test_timeout(s, test_faults_device_killed_while_vcpu_waits_for_read, 30);
	ior_add_test_timeout(s, test_faults_device_stopped_read_times_out_within_bound, 30);
	ior_add_test_timeout(s, test_faults_device_killed_with_posted_writes_queued, 30);
	ior_add_test_timeout(s, test_faults_restarted_device_replaces_fd_and_accesses_continue, 30);
	ior_add_test_timeout(s, test_faults_eintr_storm_on_both_sides_10k_accesses_correct, 120);
	ior_add_test_timeout(s, test_faults_nonblock_set_behind_bridge_back_still_correct, 60);
	ior_add_test_timeout(s, test_faults_rlimit_nofile_channel_new_returns_emfile, 30);
	ior_add_test_timeout(s, test_faults_rlimit_nofile_handoff_recv_fails_and_leaks_nothing, 30);
	ior_add_test_timeout(s, test_faults_server_stream_eof_mid_command_closes_channel, 30);
	ior_add_test_timeout(s, test_faults_bridge_stream_eof_mid_response_returns_econnreset, 30);
	ior_add_test_timeout(s, test_faults_bridge_response_longer_than_32_bytes, 30);
	ior_add_test_timeout(s, test_faults_bridge_response_shorter_than_32_bytes, 30);
	ior_add_test_timeout(s, test_faults_bridge_garbage_padding_is_ignored_value_masked, 30);
	ior_add_test_timeout(s, test_faults_bridge_unasked_response_is_not_taken_as_answer, 30);
	ior_add_test_timeout(s, test_faults_handoff_peer_with_other_uid_is_refused, 30);
	return s;
}

IOR_TEST_MAIN(faults_suite)
