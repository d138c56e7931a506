/* SPDX-License-Identifier: MIT */
#include "test-common.h"
#include "session-fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "ioregion/device.h"
#include "ioregion/irq.h"

/* ---- the device process ---------------------------------------------- */

struct tdev {
	struct ioregion_device *dev;
	struct ioregion_ctx *ctx;
	struct ev_loop *loop;
	bool ctx_run;
	uint64_t scratch, mem_addr, resets;
	int reset_result;
	uint8_t pio[TDEV_PIO_SIZE];
	int gone_error;
	bool gone;
	int raise_any_rc;
};

static void
raise_line(struct tdev *t, unsigned int line)
{
	if (ioregion_irq_raise(ioregion_device_get_irq(t->dev, line)) < 0)
		_exit(150);
}

static uint64_t
resamples(struct tdev *t)
{
	struct ioregion_irq_stats st;

	if (ioregion_irq_get_stats(ioregion_device_get_irq(t->dev, 1), &st) < 0)
		return 0;
	return st.resamples;
}

static int
mmio_read(struct ioregion_region *r, uint64_t off, unsigned size,
	  uint64_t *val)
{
	struct tdev *t = ioregion_region_get_userdata(r);
	uint32_t word;
	int rc;

	switch (off) {
	case TDEV_SCRATCH: *val = t->scratch; return 0;
	case TDEV_MEM_ADDR: *val = t->mem_addr; return 0;
	case TDEV_RESETS: *val = t->resets; return 0;
	case TDEV_RESAMPLES: *val = resamples(t); return 0;
	case TDEV_DIALECT: *val = ioregion_device_get_dialect(t->dev); return 0;
	case TDEV_RAISE_ANY: *val = (uint64_t)(int64_t)t->raise_any_rc; return 0;
	case TDEV_MEM_DATA:
		/* Copied in once, then used: never a second fetch. */
		rc = ioregion_mem_read(ioregion_device_get_mem(t->dev),
				       t->mem_addr, &word, sizeof(word));
		if (rc < 0)
			return rc;	/* the guest reads all-ones */
		*val = word;
		return 0;
	default:
		*val = 0;
		return 0;
	}
}

static int
mmio_write(struct ioregion_region *r, uint64_t off, unsigned size,
	   uint64_t val)
{
	struct tdev *t = ioregion_region_get_userdata(r);
	uint32_t word = (uint32_t)val;

	switch (off) {
	case TDEV_SCRATCH: t->scratch = val; return 0;
	case TDEV_MEM_ADDR: t->mem_addr = val; return 0;
	case TDEV_RAISE: raise_line(t, 0); return 0;
	case TDEV_ASSERT: raise_line(t, 1); return 0;
	case TDEV_LOWER:
		ioregion_irq_lower(ioregion_device_get_irq(t->dev, 1));
		return 0;
	case TDEV_RESET_RESULT: t->reset_result = (int)val; return 0;
	case TDEV_RAISE_ANY:
		t->raise_any_rc = ioregion_irq_raise(
			ioregion_device_get_irq(t->dev, (unsigned int)val));
		return 0;
	case TDEV_MEM_DATA:
		return ioregion_mem_write(ioregion_device_get_mem(t->dev),
					  t->mem_addr, &word, sizeof(word));
	default:
		return 0;
	}
}

static int
pio_read(struct ioregion_region *r, uint64_t off, unsigned size,
	 uint64_t *val)
{
	struct tdev *t = ioregion_region_get_userdata(r);

	*val = 0;
	memcpy(val, t->pio + off, size);
	return 0;
}

static int
pio_write(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t val)
{
	struct tdev *t = ioregion_region_get_userdata(r);

	memcpy(t->pio + off, &val, size);
	return 0;
}

static const struct ioregion_region_ops mmio_ops = { mmio_read, mmio_write };
static const struct ioregion_region_ops pio_ops = { pio_read, pio_write };

static int
on_reset(struct ioregion_device *dev, void *userdata)
{
	struct tdev *t = userdata;
	int rc = t->reset_result;

	t->scratch = TDEV_SCRATCH_RESET;
	t->resets++;
	t->reset_result = 0;
	return rc;
}

static void
on_gone(struct ioregion_device *dev, int error, void *userdata)
{
	struct tdev *t = userdata;

	t->gone = true;
	t->gone_error = error;
	if (t->ctx_run)
		ioregion_ctx_stop(t->ctx);
	else
		ev_break(t->loop, EVBREAK_ALL);
}

static void __attribute__((noreturn))
run_device(int sock, const char *path, bool use_path,
	   const struct tdev_opts *o)
{
	static const struct ioregion_device_line lines[] = {
		{ "edge", IOREGION_LINE_EDGE },
		{ "level", IOREGION_LINE_LEVEL },
	};
	struct tdev t = { .scratch = TDEV_SCRATCH_RESET };
	struct ioregion_device_region regions[2] = {
		{ "mmio", { .addr = TDEV_BASE, .size = TDEV_SIZE,
			    .ops = &mmio_ops, .userdata = &t } },
		{ "pio", { .addr = TDEV_PIO_BASE, .size = TDEV_PIO_SIZE,
			   .flags = IOREGION_F_PIO, .ops = &pio_ops,
			   .userdata = &t } },
	};
	struct ioregion_device_config cfg = {
		.name = o->name ? o->name : "tdev",
		.regions = regions,
		.nregions = o->two_regions ? 2 : 1,
		.lines = lines,
		.nlines = o->nlines,
		.flags = (o->memory ? IOREGION_DEVICE_F_MEMORY : 0) |
			 (o->keeps_state ? IOREGION_DEVICE_F_KEEPS_STATE : 0),
		.timeout_ms = o->timeout_ms,
		.reset = on_reset,
		.gone = on_gone,
		.userdata = &t,
	};
	struct ioregion_ctx *ctx;
	int rc;

	alarm(60);	/* never outlive a broken test */
	/* A device process holds nothing of the VMM's: not its end of the
	 * session (its EOF must reach us), not its bridge's fds. */
	for (int fd = 3; fd < 4096; fd++)
		if (fd != sock)
			close(fd);
	if (ioregion_ctx_new(NULL, &ctx) < 0)
		_exit(151);
	ioregion_ctx_set_log_handler(ctx, NULL, NULL);
	t.loop = ioregion_ctx_get_loop(ctx);
	t.ctx = ctx;
	t.ctx_run = o->ctx_run;
	if (use_path)
		rc = ioregion_device_connect(ctx, path, &cfg, &t.dev);
	else
		rc = ioregion_device_attach(ctx, sock, &cfg, &t.dev);
	if (rc < 0)
		_exit(-rc < TDEV_EXIT_GONE ? -rc : 152);
	if (o->ctx_run)
		ioregion_ctx_run(ctx);
	else
		ev_run(t.loop, 0);
	if (!t.gone)
		_exit(153);
	_exit(t.gone_error == 0 ? 0 :
	      t.gone_error == -ECONNRESET ? TDEV_EXIT_RESET : TDEV_EXIT_GONE);
}

pid_t
tdev_spawn(int sock, const struct tdev_opts *o)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ior_assert_int_ge(pid, 0);
	if (pid == 0)
		run_device(sock, NULL, false, o);
	close(sock);
	return pid;
}

pid_t
tdev_spawn_connect(const char *path, const struct tdev_opts *o)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ior_assert_int_ge(pid, 0);
	if (pid == 0)
		run_device(-1, path, true, o);
	return pid;
}

int
tdev_wait(pid_t pid, int timeout_ms)
{
	int status;

	for (int waited = 0;; waited += 5) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (waited >= timeout_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			ior_abort("device %d still running after %d ms",
				  (int)pid, timeout_ms);
		}
		usleep(5000);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return -WTERMSIG(status);
}

/* ---- the VMM's half ---------------------------------------------------- */

static int
supply_line(void *data, const char *device, unsigned int index,
	    const char *name, uint32_t trigger, struct ioregion_vmm_line *line)
{
	struct tvmm *v = data;

	if (index == 0 && trigger == IOREGION_LINE_EDGE) {
		*line = (struct ioregion_vmm_line){ v->edge_fd, -1, 4 };
		return 0;
	}
	if (index == 1 && trigger == IOREGION_LINE_LEVEL) {
		*line = (struct ioregion_vmm_line){ v->level_fd,
						    v->resample_fd, 10 };
		return 0;
	}
	return -ENXIO;
}

void
tvmm_init(struct tvmm *v)
{
	memset(v, 0, sizeof(*v));
	ior_assert_int_eq(ioregion_bridge_new(&v->bridge), 0);
	ioregion_bridge_set_log_handler(v->bridge, NULL, NULL);
	v->edge_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->level_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ior_assert(v->edge_fd >= 0 && v->level_fd >= 0 && v->resample_fd >= 0);
	v->ram_fd = memfd_create("guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ior_assert_int_ge(v->ram_fd, 0);
	ior_assert_int_eq(ftruncate(v->ram_fd, TVMM_RAM_SIZE), 0);
	ior_assert_int_eq(fcntl(v->ram_fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	v->ram = mmap(NULL, TVMM_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->ram_fd, 0);
	ior_assert(v->ram != MAP_FAILED);
	for (uint32_t i = 0; i < TVMM_RAM_SIZE / 4; i++)
		((uint32_t *)v->ram)[i] = TVMM_PATTERN(i);
	v->slot = (struct ioregion_vmm_slot){
		.slot = { .gpa = TVMM_RAM_GPA, .size = TVMM_RAM_SIZE },
		.fd = v->ram_fd,
	};
	v->cfg = (struct ioregion_vmm_config){
		.bridge = v->bridge,
		.vm_fd = -1,
		.timeout_ms = 5000,
		.get_line = supply_line,
		.data = v,
		.slots = &v->slot,
		.nslots = 1,
	};
	v->cfg.log_handler = NULL;
}

void
tvmm_fini(struct tvmm *v)
{
	ioregion_bridge_unref(v->bridge);
	close(v->edge_fd);
	close(v->level_fd);
	close(v->resample_fd);
	munmap(v->ram, TVMM_RAM_SIZE);
	close(v->ram_fd);
}

int
tvmm_access(struct tvmm *v, uint64_t off, bool is_write, uint64_t *val)
{
	return ioregion_bridge_access(v->bridge, false, TDEV_BASE + off,
				      is_write, 8, val);
}

uint64_t
tvmm_read(struct tvmm *v, uint64_t off)
{
	uint64_t val = 0;

	ior_assert_int_eq(tvmm_access(v, off, false, &val), 1);
	return val;
}

void
tvmm_write(struct tvmm *v, uint64_t off, uint64_t val)
{
	ior_assert_int_eq(tvmm_access(v, off, true, &val), 1);
}

uint64_t
tvmm_eventfd_read(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t n = 0;

	if (poll(&pfd, 1, timeout_ms) == 1 &&
	    read(fd, &n, sizeof(n)) != sizeof(n))
		n = 0;
	return n;
}

void
tvmm_pair(int sv[2])
{
	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				     sv), 0);
}

pid_t
tvmm_attach(struct tvmm *v, const struct tdev_opts *o,
	    struct ioregion_vmm_device **devp)
{
	int sv[2];
	pid_t pid;

	tvmm_pair(sv);
	pid = tdev_spawn(sv[1], o);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &v->cfg, devp), 0);
	return pid;
}
