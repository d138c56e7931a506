/* SPDX-License-Identifier: MIT */
/*
 * uart16550: a 16550A UART as an out-of-process ioregionfd device.
 *
 * Eight byte-wide ports at 0x3f8 (COM1) by default. Transmit goes straight
 * to stdout (one write per byte, nothing buffered), so the transmitter is
 * always empty (LSR THRE|TEMT). Received bytes come from stdin through a
 * libev watcher into the receive FIFO (16 bytes with FIFOs enabled, else
 * the one-byte holding register); when it is full the watcher stops and
 * the rest waits in stdin. DLAB in LCR switches offsets 0/1 to DLL/DLM.
 * MCR loopback wires THR back to RBR and the modem outputs to the modem
 * inputs, as on the chip. No interrupt line yet: IER is stored, IIR
 * always says "none pending" (plus the FIFO bits when FIFOs are on).
 *
 *   uart16550 --socket-path /tmp/vmm.sock [--base 0x3f8] [--no-stdin]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/serial_reg.h>

#include <ev.h>

#include "ioregion/server.h"

#include "devmain.h"

#define UART_DEFAULT_BASE 0x3f8
#define UART_NR_PORTS 8
#define UART_FIFO_SIZE 16

/* MSR bits 7..4, what a connected terminal shows outside loopback. */
#define UART_MSR_IDLE (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)
/* IIR bits 7..6: FIFOs enabled (16550A). */
#define UART_IIR_FIFOS_ON 0xc0
/* FCR bits kept: enable and the receive trigger level. */
#define UART_FCR_KEPT (UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK)

/* The chip: one field per register, plus the receive FIFO. */
struct uart16550 {
	uint8_t rbr;		/* last byte handed to the guest */
	uint8_t ier;
	uint8_t iir;
	uint8_t fcr;
	uint8_t lcr;
	uint8_t mcr;
	uint8_t lsr;		/* error bits only; DR/THRE/TEMT computed */
	uint8_t msr;
	uint8_t scr;
	uint8_t dll;
	uint8_t dlm;

	uint8_t rx_fifo[UART_FIFO_SIZE];
	unsigned int rx_head;
	unsigned int rx_count;

	/* The outside world. */
	struct ev_loop *loop;
	ev_io stdin_watch;
	int in_fd;		/* -1: no input */
	int out_fd;

	uint64_t tx_bytes;
	uint64_t rx_bytes;
	uint64_t loop_bytes;
	uint64_t overruns;
	uint64_t tx_errors;
};

static unsigned int
uart_rx_capacity(const struct uart16550 *u)
{
	return (u->fcr & UART_FCR_ENABLE_FIFO) ? UART_FIFO_SIZE : 1;
}

static bool
uart_loopback(const struct uart16550 *u)
{
	return u->mcr & UART_MCR_LOOP;
}

/* Input flows from stdin while it is open, the FIFO has room and the chip
 * is not in loopback (which disconnects the serial input). */
static void
uart_update_rx_watch(struct uart16550 *u)
{
	bool want = u->in_fd >= 0 && !uart_loopback(u) &&
		    u->rx_count < uart_rx_capacity(u);

	if (want && !ev_is_active(&u->stdin_watch))
		ev_io_start(u->loop, &u->stdin_watch);
	else if (!want && ev_is_active(&u->stdin_watch))
		ev_io_stop(u->loop, &u->stdin_watch);
}

static void
uart_rx_push(struct uart16550 *u, uint8_t c)
{
	if (u->rx_count >= uart_rx_capacity(u)) {
		/* The chip drops the new character and flags an overrun. */
		u->lsr |= UART_LSR_OE;
		u->overruns++;
		return;
	}
	u->rx_fifo[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = c;
	u->rx_count++;
}

static uint8_t
uart_rx_pop(struct uart16550 *u)
{
	if (u->rx_count) {
		u->rbr = u->rx_fifo[u->rx_head];
		u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
		u->rx_count--;
		uart_update_rx_watch(u);
	}
	return u->rbr;
}

static void
uart_rx_clear(struct uart16550 *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
	uart_update_rx_watch(u);
}

/* New modem input lines (MSR bits 7..4): set the delta bits that changed. */
static void
uart_set_modem_inputs(struct uart16550 *u, uint8_t lines)
{
	uint8_t old = u->msr;

	if ((old ^ lines) & UART_MSR_CTS)
		u->msr |= UART_MSR_DCTS;
	if ((old ^ lines) & UART_MSR_DSR)
		u->msr |= UART_MSR_DDSR;
	if ((old & UART_MSR_RI) && !(lines & UART_MSR_RI))
		u->msr |= UART_MSR_TERI;
	if ((old ^ lines) & UART_MSR_DCD)
		u->msr |= UART_MSR_DDCD;
	u->msr = (u->msr & UART_MSR_ANY_DELTA) | lines;
}

/* In loopback the modem outputs drive the modem inputs. */
static void
uart_update_modem(struct uart16550 *u)
{
	uint8_t lines = UART_MSR_IDLE;

	if (uart_loopback(u)) {
		lines = 0;
		if (u->mcr & UART_MCR_RTS)
			lines |= UART_MSR_CTS;
		if (u->mcr & UART_MCR_DTR)
			lines |= UART_MSR_DSR;
		if (u->mcr & UART_MCR_OUT1)
			lines |= UART_MSR_RI;
		if (u->mcr & UART_MCR_OUT2)
			lines |= UART_MSR_DCD;
	}
	uart_set_modem_inputs(u, lines);
}

static void
uart_transmit(struct uart16550 *u, uint8_t c)
{
	ssize_t n;

	if (uart_loopback(u)) {
		uart_rx_push(u, c);
		u->loop_bytes++;
		return;
	}
	do {
		n = write(u->out_fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	if (n == 1)
		u->tx_bytes++;
	else
		u->tx_errors++;	/* the line is cut: the byte is lost */
}

static uint8_t
uart_in(struct uart16550 *u, unsigned int offset)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t v;

	switch (offset) {
	case UART_RX:
		return dlab ? u->dll : uart_rx_pop(u);
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR:
		v = UART_IIR_NO_INT;
		if (u->fcr & UART_FCR_ENABLE_FIFO)
			v |= UART_IIR_FIFOS_ON;
		return v;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		v = u->lsr | UART_LSR_THRE | UART_LSR_TEMT;
		if (u->rx_count)
			v |= UART_LSR_DR;
		u->lsr &= ~UART_LSR_BRK_ERROR_BITS;	/* cleared by reading */
		return v;
	case UART_MSR:
		v = u->msr;
		u->msr &= ~UART_MSR_ANY_DELTA;		/* cleared by reading */
		return v;
	case UART_SCR:
		return u->scr;
	}
	return 0xff;
}

static void
uart_out(struct uart16550 *u, unsigned int offset, uint8_t v)
{
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (offset) {
	case UART_TX:
		if (dlab)
			u->dll = v;
		else
			uart_transmit(u, v);
		break;
	case UART_IER:
		if (dlab)
			u->dlm = v;
		else
			u->ier = v & 0x0f;	/* the 16550A has four sources */
		break;
	case UART_FCR:
		/* Turning the FIFOs on or off empties them, as on the chip. */
		if ((v ^ u->fcr) & UART_FCR_ENABLE_FIFO)
			uart_rx_clear(u);
		else if (v & UART_FCR_CLEAR_RCVR)
			uart_rx_clear(u);
		u->fcr = v & UART_FCR_KEPT;
		uart_update_rx_watch(u);
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		uart_update_modem(u);
		uart_update_rx_watch(u);
		break;
	case UART_LSR:
	case UART_MSR:
		break;		/* read-only (factory test on real chips) */
	case UART_SCR:
		u->scr = v;
		break;
	}
}

/* ---- ioregion callbacks ------------------------------------------------ */

static int
uart_read(struct ioregion_region *region, uint64_t offset, unsigned size,
	  uint64_t *val)
{
	struct uart16550 *u = ioregion_region_get_userdata(region);

	*val = uart_in(u, (unsigned int)offset);
	return 0;
}

static int
uart_write(struct ioregion_region *region, uint64_t offset, unsigned size,
	   uint64_t val)
{
	struct uart16550 *u = ioregion_region_get_userdata(region);

	uart_out(u, (unsigned int)offset, (uint8_t)val);
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
	unsigned int room = uart_rx_capacity(u) - u->rx_count;
	ssize_t n;

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
	for (ssize_t i = 0; i < n; i++)
		uart_rx_push(u, buf[i]);
	u->rx_bytes += (uint64_t)n;
	uart_update_rx_watch(u);
}

static void
uart_init(struct uart16550 *u, struct ev_loop *loop, bool use_stdin)
{
	memset(u, 0, sizeof(*u));
	u->loop = loop;
	u->in_fd = use_stdin ? STDIN_FILENO : -1;
	u->out_fd = STDOUT_FILENO;
	u->dll = 0x0c;		/* 9600 baud from 1.8432 MHz */
	u->msr = UART_MSR_IDLE;
	ev_io_init(&u->stdin_watch, uart_stdin_ready, STDIN_FILENO, EV_READ);
	u->stdin_watch.data = u;
	uart_update_rx_watch(u);
}

static void
uart_exit(struct uart16550 *u)
{
	if (ev_is_active(&u->stdin_watch))
		ev_io_stop(u->loop, &u->stdin_watch);
}

/* ---- program ----------------------------------------------------------- */

enum { OPT_NO_STDIN = 0x100 };

struct uart_opts {
	bool use_stdin;
};

static int
uart_parse_opt(void *data, int opt, const char *arg)
{
	struct uart_opts *o = data;

	if (opt != OPT_NO_STDIN)
		return -1;
	o->use_stdin = false;
	return 0;
}

static const struct option uart_options[] = {
	{ "no-stdin", no_argument, NULL, OPT_NO_STDIN },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char **argv)
{
	struct uart_opts uopts = { .use_stdin = true };
	struct devmain_extra extra = {
		.options = uart_options,
		.help = "  --no-stdin          receive nothing (RBR stays empty)\n"
			"Ports base..base+7 (default 0x3f8), byte accesses only.\n",
		.parse = uart_parse_opt,
		.dev = &uopts,
	};
	struct devmain dm;
	struct uart16550 uart;
	struct ioregion_region *region;
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
	uart_init(&uart, dm.loop, uopts.use_stdin);
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
			" overruns %" PRIu64 " tx errors %" PRIu64 "\n",
			dm.prog, uart.tx_bytes, uart.rx_bytes, uart.loop_bytes,
			uart.overruns, uart.tx_errors);
out_uart:
	uart_exit(&uart);
out:
	devmain_fini(&dm);
	return status;
}
