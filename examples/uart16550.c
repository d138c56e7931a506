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
 * Interrupts: the device declares one line, "irq", an edge line (a level
 * line with --irq-level: KVM_IRQFD_FLAG_RESAMPLE); the VMM wires it to
 * the UART's GSI (4 for COM1 on a PC) or to nothing, and the control
 * session brings its eventfds. It is raised when an enabled source
 * becomes pending with MCR OUT2 set. The VMM's reset puts the registers
 * back to their power-on values.
 *
 * --rtscts: the far end honours RTS (hardware flow control), so stdin
 * waits until the guest has set the chip up (bytes received before that
 * would be lost when the guest switches the FIFOs on, as on the chip).
 *
 *   uart16550 --socket-path /tmp/vmm.sock [--base 0x3f8] [--no-stdin]
 *             [--irq-level] [--rtscts]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "ioregion/device.h"
#include "ioregion/irq.h"

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

/* The VMM's reset (control session RESET). */
static int
uart_reset(struct ioregion_device *dev, void *data)
{
	struct uart16550 *u = data;

	(void)dev;
	uart_model_reset(&u->m);
	return 0;
}

static void
uart_init(struct uart16550 *u, struct ev_loop *loop, bool use_stdin,
	  bool rtscts)
{
	memset(u, 0, sizeof(*u));
	u->loop = loop;
	u->in_fd = use_stdin ? STDIN_FILENO : -1;
	u->out_fd = STDOUT_FILENO;
	ev_io_init(&u->stdin_watch, uart_stdin_ready, STDIN_FILENO, EV_READ);
	u->stdin_watch.data = u;
	ev_timer_init(&u->rx_timer, uart_timer_expired, 0., 0.);
	u->rx_timer.data = u;
	uart_model_init(&u->m, &uart_model_ops, u, NULL);
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

enum { OPT_NO_STDIN = 0x100, OPT_RTSCTS };

struct uart_opts {
	bool use_stdin;
	bool rtscts;
};

static int
uart_parse_opt(void *data, int opt, const char *arg)
{
	struct uart_opts *o = data;

	(void)arg;
	switch (opt) {
	case OPT_NO_STDIN:
		o->use_stdin = false;
		return 0;
	case OPT_RTSCTS:
		o->rtscts = true;
		return 0;
	}
	return -1;
}

static const struct option uart_options[] = {
	{ "no-stdin", no_argument, NULL, OPT_NO_STDIN },
	{ "rtscts", no_argument, NULL, OPT_RTSCTS },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char **argv)
{
	struct uart_opts uopts = { .use_stdin = true };
	struct devmain_extra extra = {
		.options = uart_options,
		.help = "  --no-stdin          receive nothing (RBR stays empty)\n"
			"  --rtscts            stdin is sent only while the guest sets\n"
			"                      MCR RTS (hardware flow control)\n"
			"Ports base..base+7 (default 0x3f8), byte accesses only; one\n"
			"interrupt line, \"irq\".\n",
		.parse = uart_parse_opt,
		.dev = &uopts,
	};
	struct devmain dm;
	struct uart16550 uart;
	struct ioregion_device_line line = { .name = "irq" };
	struct ioregion_device_config cfg = {
		.name = "uart16550",
		.lines = &line,
		.nlines = 1,
		.reset = uart_reset,
		.userdata = &uart,
	};
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
	uart_init(&uart, dm.loop, uopts.use_stdin, uopts.rtscts);
	line.trigger = devmain_line_trigger(&dm);
	rc = devmain_add_region(&dm, "uart16550", base, UART_NR_PORTS,
				IOREGION_F_PIO, IOREGION_WIDTH_1, &uart_ops,
				&uart);
	if (rc == 0)
		rc = devmain_connect(&dm, &cfg);
	if (rc < 0)
		goto out_uart;
	uart_model_set_irq(&uart.m, ioregion_device_get_irq(dm.dev, 0));

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
