/* SPDX-License-Identifier: MIT */
/*
 * uart16550: a 16550A UART as an out-of-process ioregionfd device.
 *
 * Eight byte-wide ports at 0x3f8 (COM1) by default. The registers, the
 * receive FIFO and the interrupt logic are the model in uart16550-regs.c
 * (its comment lists what of Linux's 8250 probe it satisfies); this file
 * connects the model to the world. Transmit goes straight to stdout (one
 * write per byte, nothing buffered). Received bytes come from stdin
 * through a libev watcher that runs only while the model has room; the
 * rest waits in stdin. The character timeout (FIFO mode) is a libev timer
 * of four character times.
 *
 * Interrupts: --irq-fd N hands the device an inherited eventfd that the
 * VMM registered with KVM_IRQFD (ioregion_irqfd_assign()) for the UART's
 * GSI (4 for COM1 on a PC): an edge line, raised when an enabled source
 * becomes pending with MCR OUT2 set. --irq-fd N,R adds a resample eventfd
 * (a level line, KVM_IRQFD_FLAG_RESAMPLE). Without it the model works
 * polled, as before.
 *
 * --rtscts: the far end honours RTS (hardware flow control), so stdin
 * waits until the guest has set the chip up (bytes received before that
 * would be lost when the guest switches the FIFOs on, as on the chip).
 *
 *   uart16550 --socket-path /tmp/vmm.sock [--base 0x3f8] [--no-stdin]
 *             [--irq-fd N[,R]] [--rtscts]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "ioregion/irq.h"
#include "ioregion/server.h"

#include "devmain.h"
#include "uart16550-regs.h"

#define UART_DEFAULT_BASE 0x3f8

/* The model and the outside world. */
struct uart16550 {
	struct uart_model m;
	struct ev_loop *loop;
	ev_io stdin_watch;
	ev_timer rx_timer;	/* the character timeout */
	int in_fd;		/* -1: no input */
	int out_fd;
	uint64_t tx_errors;
};

/* Input flows from stdin while it is open and the model has room. */
static void
uart_update_rx_watch(struct uart16550 *u)
{
	bool want = u->in_fd >= 0 && uart_model_rx_room(&u->m) > 0;

	if (want && !ev_is_active(&u->stdin_watch))
		ev_io_start(u->loop, &u->stdin_watch);
	else if (!want && ev_is_active(&u->stdin_watch))
		ev_io_stop(u->loop, &u->stdin_watch);
}

static void
uart_rx_room_changed(void *opaque)
{
	uart_update_rx_watch(opaque);
}

static void
uart_transmit(void *opaque, uint8_t c)
{
	struct uart16550 *u = opaque;
	ssize_t n;

	do {
		n = write(u->out_fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	if (n != 1)
		u->tx_errors++;	/* the line is cut: the byte is lost */
}

static void
uart_set_timer(void *opaque, uint64_t ns)
{
	struct uart16550 *u = opaque;

	ev_timer_stop(u->loop, &u->rx_timer);
	if (!ns)
		return;
	ev_timer_set(&u->rx_timer, (ev_tstamp)ns / 1e9, 0.);
	ev_timer_start(u->loop, &u->rx_timer);
}

static const struct uart_model_ops uart_model_ops = {
	.transmit = uart_transmit,
	.rx_room_changed = uart_rx_room_changed,
	.set_timer = uart_set_timer,
};

static void
uart_timer_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct uart16550 *u = w->data;

	(void)loop;
	(void)revents;
	uart_model_rx_timeout(&u->m);
}

/* ---- ioregion callbacks ------------------------------------------------ */

static int
uart_read(struct ioregion_region *region, uint64_t offset, unsigned size,
	  uint64_t *val)
{
	struct uart16550 *u = ioregion_region_get_userdata(region);

	(void)size;
	*val = uart_model_read(&u->m, (unsigned int)offset);
	return 0;
}

static int
uart_write(struct ioregion_region *region, uint64_t offset, unsigned size,
	   uint64_t val)
{
	struct uart16550 *u = ioregion_region_get_userdata(region);

	(void)size;
	uart_model_write(&u->m, (unsigned int)offset, (uint8_t)val);
	return 0;
}

static const struct ioregion_region_ops uart_ops = {
	.read = uart_read,
	.write = uart_write,
};

static void
uart_stdin_ready(struct ev_loop *loop, ev_io *w, int revents)
{
	struct uart16550 *u = w->data;
	uint8_t buf[UART_FIFO_SIZE];
	unsigned int room = uart_model_rx_room(&u->m);
	ssize_t n;

	(void)revents;
	if (!room) {
		uart_update_rx_watch(u);
		return;
	}
	n = read(u->in_fd, buf, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* End of input (or a broken one): the line goes quiet. */
		ev_io_stop(loop, w);
		u->in_fd = -1;
		return;
	}
	uart_model_receive(&u->m, buf, (size_t)n);
	uart_update_rx_watch(u);
}

static void
uart_init(struct uart16550 *u, struct ev_loop *loop, bool use_stdin,
	  bool rtscts, struct ioregion_irq *irq)
{
	memset(u, 0, sizeof(*u));
	u->loop = loop;
	u->in_fd = use_stdin ? STDIN_FILENO : -1;
	u->out_fd = STDOUT_FILENO;
	ev_io_init(&u->stdin_watch, uart_stdin_ready, STDIN_FILENO, EV_READ);
	u->stdin_watch.data = u;
	ev_timer_init(&u->rx_timer, uart_timer_expired, 0., 0.);
	u->rx_timer.data = u;
	uart_model_init(&u->m, &uart_model_ops, u, irq);
	uart_model_set_rts_flow(&u->m, rtscts);
	uart_update_rx_watch(u);
}

static void
uart_exit(struct uart16550 *u)
{
	if (ev_is_active(&u->stdin_watch))
		ev_io_stop(u->loop, &u->stdin_watch);
	ev_timer_stop(u->loop, &u->rx_timer);
}

/* ---- program ----------------------------------------------------------- */

enum { OPT_NO_STDIN = 0x100, OPT_IRQ_FD, OPT_RTSCTS };

struct uart_opts {
	bool use_stdin;
	bool rtscts;
	int irq_fd;		/* -1: no interrupt line */
	int resample_fd;	/* -1: an edge line */
};

static int
uart_parse_opt(void *data, int opt, const char *arg)
{
	struct uart_opts *o = data;

	switch (opt) {
	case OPT_NO_STDIN:
		o->use_stdin = false;
		return 0;
	case OPT_RTSCTS:
		o->rtscts = true;
		return 0;
	case OPT_IRQ_FD:
		return devmain_parse_irq_fd("uart16550", arg, &o->irq_fd,
					    &o->resample_fd);
	}
	return -1;
}

static const struct option uart_options[] = {
	{ "no-stdin", no_argument, NULL, OPT_NO_STDIN },
	{ "irq-fd", required_argument, NULL, OPT_IRQ_FD },
	{ "rtscts", no_argument, NULL, OPT_RTSCTS },
	{ NULL, 0, NULL, 0 },
};

/* The line on the inherited eventfd(s); the library keeps duplicates. */
static int
uart_open_irq(struct devmain *dm, const struct uart_opts *o,
	      struct ioregion_irq **irqp)
{
	int rc;

	*irqp = NULL;
	if (o->irq_fd < 0)
		return 0;
	rc = ioregion_irq_new(dm->ctx, o->irq_fd, o->resample_fd, irqp);
	if (rc < 0) {
		fprintf(stderr, "%s: --irq-fd %d%s: %s%s\n", dm->prog,
			o->irq_fd, o->resample_fd >= 0 ? ",R" : "",
			strerror(-rc), rc == -EINVAL ?
			" (not a non-blocking eventfd, or both fds the same)" :
			"");
		return rc;
	}
	close(o->irq_fd);
	if (o->resample_fd >= 0)
		close(o->resample_fd);
	return 0;
}

int
main(int argc, char **argv)
{
	struct uart_opts uopts = {
		.use_stdin = true, .irq_fd = -1, .resample_fd = -1,
	};
	struct devmain_extra extra = {
		.options = uart_options,
		.help = "  --no-stdin          receive nothing (RBR stays empty)\n"
			"  --irq-fd N[,R]      interrupt line: inherited eventfd N\n"
			"                      (KVM_IRQFD trigger), R its resample\n"
			"                      eventfd for a level line; none: polled\n"
			"  --rtscts            stdin is sent only while the guest sets\n"
			"                      MCR RTS (hardware flow control)\n"
			"Ports base..base+7 (default 0x3f8), byte accesses only.\n",
		.parse = uart_parse_opt,
		.dev = &uopts,
	};
	struct devmain dm;
	struct uart16550 uart;
	struct ioregion_region *region;
	struct ioregion_irq *irq = NULL;
	uint64_t base;
	int rc, status = 1;

	rc = devmain_parse(&dm, argc, argv, &extra);
	if (rc)
		return rc > 0 ? 0 : 2;
	base = dm.opts.base_set ? dm.opts.base : UART_DEFAULT_BASE;

	rc = devmain_init(&dm);
	if (rc < 0) {
		fprintf(stderr, "%s: init: %s\n", dm.prog, strerror(-rc));
		goto out;
	}
	rc = uart_open_irq(&dm, &uopts, &irq);
	if (rc < 0)
		goto out;
	uart_init(&uart, dm.loop, uopts.use_stdin, uopts.rtscts, irq);
	rc = devmain_add_region(&dm, "uart16550", base, UART_NR_PORTS,
				IOREGION_F_PIO, IOREGION_WIDTH_1, &uart_ops,
				&uart, &region);
	if (rc < 0)
		goto out_uart;
	rc = devmain_handoff(&dm);
	if (rc < 0)
		goto out_uart;

	status = devmain_run(&dm);
	devmain_print_stats(&dm);
	if (!dm.opts.quiet)
		fprintf(stderr,
			"%s: tx %" PRIu64 " rx %" PRIu64 " loopback %" PRIu64
			" overruns %" PRIu64 " tx errors %" PRIu64
			" irq edges %" PRIu64 " irq errors %" PRIu64 "\n",
			dm.prog, uart.m.stats.tx_bytes - uart.tx_errors,
			uart.m.stats.rx_bytes, uart.m.stats.loop_bytes,
			uart.m.stats.overruns, uart.tx_errors,
			uart.m.stats.irq_edges, uart.m.stats.irq_errors);
out_uart:
	uart_exit(&uart);
out:
	devmain_fini(&dm);
	return status;
}
