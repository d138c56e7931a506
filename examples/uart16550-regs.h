/* SPDX-License-Identifier: MIT */
/*
 * The 16550A register model of the uart16550 example (uart16550-regs.c):
 * eight byte registers, the receive FIFO, the interrupt logic and the
 * interrupt line, with no I/O of its own. The program around it
 * (uart16550.c) connects it to stdin, stdout and a timer; the unit test
 * (tests/test-uart16550.c) plays Linux's 8250 driver against it.
 *
 * Everything here runs on the device context's thread; nothing allocates.
 */
#ifndef EXAMPLES_UART16550_REGS_H
#define EXAMPLES_UART16550_REGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UART_NR_PORTS 8
#define UART_FIFO_SIZE 16

/* MSR bits 7..4 a connected, idle terminal shows outside loopback. */
#define UART_MODEL_MSR_IDLE 0xb0	/* DCD | DSR | CTS */

struct ioregion_irq;

/* What the model asks of the world around it. */
struct uart_model_ops {
	/* A byte leaves THR on the serial line (never called in loopback). */
	void (*transmit)(void *opaque, uint8_t c);
	/* The room uart_model_rx_room() reports may have changed (a byte
	 * was read, the FIFOs were switched, loopback began or ended).
	 * NULL: nobody needs to know. */
	void (*rx_room_changed)(void *opaque);
	/* Start (@ns > 0, restarting one that runs) or stop (@ns == 0) the
	 * character timeout timer; on expiry call uart_model_rx_timeout().
	 * NULL: the timeout is reported at once whenever the timer would be
	 * started (a polled model loses nothing by it). */
	void (*set_timer)(void *opaque, uint64_t ns);
};

/* Counters. */
struct uart_model_stats {
	uint64_t tx_bytes;	/* bytes handed to ops->transmit */
	uint64_t rx_bytes;	/* bytes taken by uart_model_receive() */
	uint64_t loop_bytes;	/* bytes sent to itself in loopback */
	uint64_t overruns;	/* bytes dropped on a full FIFO (LSR OE) */
	uint64_t irq_edges;	/* times the line went from low to high */
	uint64_t irq_errors;	/* failed ioregion_irq_set() calls */
};

/* The chip. Read its state only through the functions below. */
struct uart_model {
	uint8_t rbr;		/* last byte handed to the guest */
	uint8_t ier;
	uint8_t fcr;		/* kept bits: enable, trigger level */
	uint8_t lcr;
	uint8_t mcr;
	uint8_t lsr_errors;	/* LSR OE (and BI, FE, PE): cleared by reading */
	uint8_t msr;
	uint8_t modem_in;	/* MSR bits 7..4 the far end drives */
	uint8_t scr;
	uint8_t dll;
	uint8_t dlm;

	bool thre_pending;	/* THR emptied, not yet acknowledged */
	bool timeout_pending;	/* character timeout (FIFO mode) */
	bool line;		/* the level last given to the line */
	bool rts_flow;		/* the far end sends only while RTS is set */

	uint8_t rx_fifo[UART_FIFO_SIZE];
	unsigned int rx_head;
	unsigned int rx_count;

	struct ioregion_irq *irq;	/* NULL: polled only */
	const struct uart_model_ops *ops;
	void *opaque;
	struct uart_model_stats stats;
};

/* Reset state (as after the chip's MR pin); @irq may be NULL. */
void uart_model_init(struct uart_model *u, const struct uart_model_ops *ops,
		     void *opaque, struct ioregion_irq *irq);

/* The chip's MR pin: every register, the FIFO and the pending sources
 * back to their power-on values (the line is lowered, the character
 * timer stopped), keeping the world around it: ops, interrupt line, flow
 * control setting and counters. */
void uart_model_reset(struct uart_model *u);

/* Give the model its interrupt line later (NULL: polled only); the line
 * follows the model's state at once. */
void uart_model_set_irq(struct uart_model *u, struct ioregion_irq *irq);

/* A guest read or write of register @offset (0-7; others read 0xff and
 * ignore writes). Both update the interrupt line. */
uint8_t uart_model_read(struct uart_model *u, unsigned int offset);
void uart_model_write(struct uart_model *u, unsigned int offset, uint8_t v);

/* Hardware flow control of the far end: with @on it sends only while
 * MCR RTS is set (and not in loopback, where the RTS pin is inactive), so
 * nothing arrives before the guest has set the chip up, and a driver that
 * drops RTS to throttle is obeyed. Off at reset. */
void uart_model_set_rts_flow(struct uart_model *u, bool on);

/* How many received bytes the model takes now: 0 in loopback (the serial
 * input is disconnected) and while flow control holds the far end, else
 * the FIFO's free room (1 byte without FIFOs). */
unsigned int uart_model_rx_room(const struct uart_model *u);

/* Bytes from the serial line. Beyond the room, bytes are dropped and
 * counted as overruns (LSR OE), as on the chip. Updates the line. */
void uart_model_receive(struct uart_model *u, const uint8_t *buf, size_t n);

/* The character timeout timer expired: with FIFOs on and bytes waiting
 * below the trigger level, the timeout interrupt becomes pending. */
void uart_model_rx_timeout(struct uart_model *u);

/* New modem input lines (MSR bits 7..4) outside loopback: the delta bits
 * of the lines that changed are set (a modem status interrupt). */
void uart_model_set_modem_inputs(struct uart_model *u, uint8_t lines);

/* The IIR value a read would return now, without its side effect. */
uint8_t uart_model_peek_iir(const struct uart_model *u);

/* Whether the model drives its interrupt output (a source pending and
 * enabled, MCR OUT2 set, not in loopback). */
bool uart_model_irq_level(const struct uart_model *u);

#endif /* EXAMPLES_UART16550_REGS_H */
