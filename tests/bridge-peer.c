/* SPDX-License-Identifier: MIT */
/* The bridge tests' fake device and fake kvm_run (bridge-peer.h). */
#include "bridge-peer.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

uint64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
le_load(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void
le_store(uint8_t *p, unsigned n, uint64_t v)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool
peer_read_cmd(struct peer *p, uint8_t *buf)
{
	size_t got = 0;

	while (got < 32) {
		ssize_t n = read(p->fd, buf + got, p->stream ? 32 - got : 32);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		if (!p->stream && n != 32)
			return false;
		got += (size_t)n;
	}
	return true;
}

static void *
peer_main(void *arg)
{
	struct peer *p = arg;
	uint8_t buf[32], resp[40];

	if (p->start_delay_ms)
		sleep_ms(p->start_delay_ms);
	while (peer_read_cmd(p, buf)) {
		unsigned cmd, size;
		bool want;
		uint64_t off, val = 0;

		if (buf[0] == JUNK)
			continue;
		pthread_mutex_lock(&p->lock);
		if (p->ncmds < MAX_CMDS)
			memcpy(p->cmds[p->ncmds], buf, 32);
		p->ncmds++;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);

		if (p->dialect == IOREGION_WIRE_V3) {
			cmd = buf[0];
			size = 1u << (buf[1] & 0x0f);
			want = buf[1] & 0x10;
		} else {
			uint32_t info = (uint32_t)le_load(buf, 4);

			cmd = info & 0xf;
			size = 1u << ((info >> 4) & 3);
			want = info & 0x40;
		}
		off = le_load(buf + 16, 8);
		if (off + size <= sizeof(p->regs)) {
			if (cmd == 1) {
				le_store(p->regs + off, size,
					 le_load(buf + 24, 8));
			} else {
				val = le_load(p->regs + off, size);
				if (p->autoinc)
					le_store(p->regs + off, size, val + 1);
			}
		}
		if (!want)
			continue;

		memset(resp, 0, sizeof(resp));
		le_store(resp, 8, val);
		switch (p->mode) {
		case PEER_ECHO:
			ior_write_all(p->fd, resp, 32);
			break;
		case PEER_SILENT:
			break;
		case PEER_SLOW:
			/* the bridge may have given up and closed by now */
			sleep_ms(p->delay_ms);
			if (send(p->fd, resp, 32, MSG_NOSIGNAL) != 32)
				return NULL;
			break;
		case PEER_CLOSE:
			close(p->fd);
			p->fd = -1;
			return NULL;
		case PEER_SHORT:
			ior_write_all(p->fd, resp, 16);
			break;
		case PEER_LONG:
			ior_write_all(p->fd, resp, 40);
			break;
		case PEER_HALF_CLOSE:
			ior_write_all(p->fd, resp, 16);
			close(p->fd);
			p->fd = -1;
			return NULL;
		case PEER_PIECES:
			ior_write_all(p->fd, resp, 10);
			sleep_ms(5);
			ior_write_all(p->fd, resp + 10, 10);
			sleep_ms(5);
			ior_write_all(p->fd, resp + 20, 12);
			break;
		}
	}
	return NULL;
}

/* Start a peer; returns the VMM-side end (the caller gives it to the
 * bridge and closes its own copy). */
int
peer_start(struct peer *p, int type, int dialect, enum peer_mode mode)
{
	int sv[2];

	memset(p, 0, sizeof(*p));
	ior_assert_int_eq(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
	p->fd = sv[1];
	p->stream = type == SOCK_STREAM;
	p->dialect = dialect;
	p->mode = mode;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	return sv[0];
}

void
peer_run(struct peer *p)
{
	ior_assert_int_eq(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

/* Join after every VMM-side fd is closed (the peer then sees EOF). */
void
peer_stop(struct peer *p)
{
	pthread_join(p->thread, NULL);
	if (p->fd >= 0)
		close(p->fd);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
}

/* Wait until the peer recorded at least n commands (2 s bound). */
unsigned
peer_wait(struct peer *p, unsigned n)
{
	struct timespec dl;
	unsigned got;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 2;
	pthread_mutex_lock(&p->lock);
	while (p->ncmds < n &&
	       pthread_cond_timedwait(&p->cond, &p->lock, &dl) == 0)
		;
	got = p->ncmds;
	pthread_mutex_unlock(&p->lock);
	return got;
}

/* ---- bridge helpers ------------------------------------------------------- */

unsigned log_count;

void
count_log(void *data, enum ioregion_log_priority prio, const char *fmt,
	  va_list args)
{
	(void)data;
	(void)prio;
	(void)fmt;
	(void)args;
	__atomic_fetch_add(&log_count, 1, __ATOMIC_RELAXED);
}

struct ioregion_bridge *
new_bridge(void)
{
	struct ioregion_bridge *b = NULL;

	ior_assert_int_eq(ioregion_bridge_new(&b), 0);
	ior_assert_ptr_nonnull(b);
	ioregion_bridge_set_log_handler(b, count_log, NULL);
	log_count = 0;
	return b;
}

struct ioregion_desc
mk_desc(uint64_t addr, uint64_t size, uint64_t user_data, uint32_t flags,
	int dialect)
{
	struct ioregion_desc d = {
		.addr = addr, .size = size, .user_data = user_data,
		.flags = flags, .dialect = (uint32_t)dialect,
	};
	return d;
}

/* Add a region served by a new peer (running). */
void
add_with_peer(struct ioregion_bridge *b, const struct ioregion_desc *d,
	      struct peer *p, int type, enum peer_mode mode)
{
	int fd = peer_start(p, type, (int)d->dialect, mode);

	ior_assert_int_eq(ioregion_bridge_add(b, d, fd), 0);
	close(fd);
	peer_run(p);
}

struct kvm_run *
new_run(void)
{
	struct kvm_run *run = aligned_alloc(4096, 8192);

	ior_assert_ptr_nonnull(run);
	memset(run, 0, 8192);
	return run;
}

void
mmio_exit(struct kvm_run *run, uint64_t addr, unsigned len, bool is_write,
	  uint64_t val)
{
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = addr;
	run->mmio.len = len;
	run->mmio.is_write = is_write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (is_write)
		le_store(run->mmio.data, len, val);
}

uint8_t *
io_exit(struct kvm_run *run, uint16_t port, unsigned size, uint32_t count,
	bool out)
{
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = out ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
	run->io.size = (uint8_t)size;
	run->io.port = port;
	run->io.count = count;
	run->io.data_offset = 4096;
	return (uint8_t *)run + 4096;
}


/* Fill the socket (the bridge's dup shares O_NONBLOCK with our fd) so that
 * the bridge's send gets EAGAIN; the peer drains after a delay. */
int
fill_socket(int fd)
{
	uint8_t junk[32];
	int n = 0;

	memset(junk, JUNK, sizeof(junk));
	while (send(fd, junk, sizeof(junk), MSG_DONTWAIT) == sizeof(junk))
		n++;
	ior_assert_int_eq(errno, EAGAIN);
	return n;
}
