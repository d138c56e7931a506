/* SPDX-License-Identifier: MIT */
/*
 * A 16550A's registers, FIFO and interrupt logic (uart16550-regs.h).
 *
 * Transmission takes no time: a byte written to THR leaves at once, so
 * THR and the transmitter are always empty (LSR THRE and TEMT stay set)
 * and the THRE interrupt comes back as soon as THR is written. Received
 * bytes wait in a 16-byte FIFO (FCR bit 0; a single holding register
 * without FIFOs).
 *
 * Interrupts, in the chip's priority order as IIR reports them:
 *   RLS  0x06  LSR OE (the only error a byte stream can show), IER bit 2;
 *              cleared by reading LSR.
 *   RDA  0x04  bytes at the trigger level (FCR bits 7..6: 1, 4, 8 or 14
 *              bytes; 1 without FIFOs), IER bit 0; cleared by reading
 *              below the level.
 *        0x0c  character timeout (FIFOs on): bytes below the level and
 *              four character times (from LCR and the divisor) without a
 *              byte received or read; cleared by reading RBR.
 *   THRE 0x02  THR empty, IER bit 1: set when THR empties (every THR write
 *              here) and when IER bit 1 goes from 0 to 1; cleared by
 *              reading IIR while THRE is what it reports, or by writing
 *              THR.
 *   MS   0x00  an MSR delta bit, IER bit 3; cleared by reading MSR.
 * IIR bit 0 is set when nothing is pending; bits 7..6 read 11 while FCR
 * has the FIFOs on. As on a PC, the chip's interrupt output reaches the
 * ISA line only while MCR OUT2 is set; in loopback the OUT2 pin is held
 * inactive, so the line is quiet (the interrupts still show in IIR). The
 * line (an edge line, ioregion_irq_set()) is recomputed after every
 * register access and input event: it rises when a pending, enabled source
 * appears with OUT2 set.
 *
 * Linux's 8250 driver (drivers/tty/serial/8250/8250_port.c) sees a 16550A
 * with a working THRE interrupt; tests/test-uart16550.c replays each of
 * these sequences register by register:
 *  - autoconfig() IER test: IER reads back 0 after writing 0 and 0x0f
 *    after writing 0x0f (IER keeps bits 3..0 and reads 0 in bits 7..4).
 *  - autoconfig() loopback test: MCR = LOOP | OUT2 | RTS makes MSR bits
 *    7..4 read 0x90 (loopback wires RTS to CTS, DTR to DSR, OUT1 to RI,
 *    OUT2 to DCD).
 *  - autoconfig() FIFO detection: LCR 0xbf then a write at offset 2 (the
 *    EFR on later chips) reaches FCR, as on a 16550A (offset 2 is FCR for
 *    writes and IIR for reads whatever LCR holds); FCR = 0x01 makes IIR
 *    bits 7..6 read 11: PORT_16550A.
 *  - autoconfig_16550a() (CONFIG_SERIAL_8250_16550A_VARIANTS, or a full
 *    probe): no EFR (IIR, read under LCR 0x80 and 0xbf, is never 0), no
 *    National Semiconductor EXCR1 (IIR under LCR 0xe0 never mirrors MCR
 *    LOOP), no TI16750 (FCR bit 5 does not set IIR bit 5), no XScale
 *    (IER bit 6 does not stick), and size_fifo() counts 16 bytes in
 *    loopback (the 17th is an overrun), not 64.
 *  - scratch register: SCR keeps what was written (the 8250/16450 test of
 *    autoconfig_8250() and the suspend canary of 8250_core.c).
 *  - divisor: DLL and DLM behind LCR DLAB (serial_dl_read/write).
 *  - serial8250_do_startup(): the clearing reads of LSR, RX, IIR and MSR
 *    leave LSR at 0x60 (THRE | TEMT), so "LSR safety check engaged" (LSR
 *    0xff) does not trigger; the THRE test (IER = THRI, read IIR: THRE;
 *    IER = 0, IER = THRI, read IIR: THRE again) finds the interrupt
 *    re-asserted, so UART_BUG_THRE stays clear; the TX-enable test (IER =
 *    THRI, LSR TEMT, IIR pending) keeps UART_BUG_TXEN clear.
 *  - autoconfig_irq() (UPF_AUTO_IRQ): with MCR OUT2 set, IER = 0x0f and a
 *    THR write raise the line (a probe finds the IRQ).
 *  - serial8250_handle_irq(): reading IIR acknowledges THRE, LSR DR tells
 *    serial8250_rx_chars() when the FIFO is drained, and the THR writes of
 *    serial8250_tx_chars() (up to 16 a round) bring THRE back, so the
 *    interrupt keeps the transmission going until __stop_tx() clears IER
 *    bit 1; LSR never shows FIFOE (no FIFO reinit loop).
 */
#include <linux/serial_reg.h>

#include "ioregion/irq.h"

#include "uart16550-regs.h"

/* IIR bits 7..6: FIFOs enabled (16550A). */
#define UART_IIR_FIFOS_ON 0xc0
/* FCR bits kept: enable and the receive trigger level. */
#define UART_FCR_KEPT (UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK)
/* IER bits of a 16550A: its four sources. */
#define UART_IER_ALL (UART_IER_RDI | UART_IER_THRI | UART_IER_RLSI | \
		      UART_IER_MSI)
/* The 1.8432 MHz crystal of a PC divided by 16: baud = this / divisor. */
#define UART_BAUD_BASE 115200u

static bool
fifos_on(const struct uart_model *u)
{
	return u->fcr & UART_FCR_ENABLE_FIFO;
}

static bool
loopback(const struct uart_model *u)
{
	return u->mcr & UART_MCR_LOOP;
}

static unsigned int
rx_capacity(const struct uart_model *u)
{
	return fifos_on(u) ? UART_FIFO_SIZE : 1;
}

static unsigned int
rx_trigger(const struct uart_model *u)
{
	static const unsigned int levels[4] = { 1, 4, 8, 14 };

	if (!fifos_on(u))
		return 1;
	return levels[(u->fcr & UART_FCR_TRIGGER_MASK) >> 6];
}

/* Four character times at the current format and divisor. */
static uint64_t
timeout_ns(const struct uart_model *u)
{
	unsigned int bits = 1 + 5 + (u->lcr & UART_LCR_WLEN8);
	uint64_t divisor = (uint64_t)u->dll | (uint64_t)u->dlm << 8;

	if (u->lcr & UART_LCR_PARITY)
		bits++;
	bits += (u->lcr & UART_LCR_STOP) ? 2 : 1;
	if (!divisor)
		divisor = 1;
	return 4 * bits * divisor * 1000000000ull / UART_BAUD_BASE;
}

/* The source IIR reports now (bits 3..0), UART_IIR_NO_INT if none. */
static uint8_t
iir_source(const struct uart_model *u)
{
	if ((u->ier & UART_IER_RLSI) && u->lsr_errors)
		return UART_IIR_RLSI;
	if (u->ier & UART_IER_RDI) {
		if (u->rx_count >= rx_trigger(u))
			return UART_IIR_RDI;
		if (u->timeout_pending)
			return UART_IIR_RX_TIMEOUT;
	}
	if ((u->ier & UART_IER_THRI) && u->thre_pending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && (u->msr & UART_MSR_ANY_DELTA))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

uint8_t
uart_model_peek_iir(const struct uart_model *u)
{
	return iir_source(u) | (fifos_on(u) ? UART_IIR_FIFOS_ON : 0);
}

bool
uart_model_irq_level(const struct uart_model *u)
{
	return iir_source(u) != UART_IIR_NO_INT &&
	       (u->mcr & UART_MCR_OUT2) && !loopback(u);
}

/* After every access and input event: the output, gated by OUT2. */
static void
update_irq(struct uart_model *u)
{
	bool level = uart_model_irq_level(u);

	if (level && !u->line)
		u->stats.irq_edges++;
	u->line = level;
	if (u->irq && ioregion_irq_set(u->irq, level) < 0)
		u->stats.irq_errors++;
}

static void
rx_room_changed(struct uart_model *u)
{
	if (u->ops && u->ops->rx_room_changed)
		u->ops->rx_room_changed(u->opaque);
}

/* The character timeout timer: (re)started when a byte arrives or is
 * read while bytes wait with FIFOs on, stopped when none wait. */
static void
timer_restart(struct uart_model *u)
{
	if (!fifos_on(u) || !u->rx_count) {
		u->timeout_pending = false;
		if (u->ops && u->ops->set_timer)
			u->ops->set_timer(u->opaque, 0);
		return;
	}
	if (u->ops && u->ops->set_timer)
		u->ops->set_timer(u->opaque, timeout_ns(u));
	else
		u->timeout_pending = true;	/* no timer: at once */
}

void
uart_model_rx_timeout(struct uart_model *u)
{
	if (fifos_on(u) && u->rx_count)
		u->timeout_pending = true;
	update_irq(u);
}

static void
rx_push(struct uart_model *u, uint8_t c)
{
	if (u->rx_count >= rx_capacity(u)) {
		/* The chip drops the new character and flags an overrun. */
		u->lsr_errors |= UART_LSR_OE;
		u->stats.overruns++;
		return;
	}
	u->rx_fifo[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = c;
	u->rx_count++;
}

/* A byte arrived (from the line or from THR in loopback): the timer
 * restarts unless a timeout is already pending. */
static void
rx_arrived(struct uart_model *u)
{
	if (!u->timeout_pending)
		timer_restart(u);
}

static uint8_t
rx_pop(struct uart_model *u)
{
	if (u->rx_count) {
		u->rbr = u->rx_fifo[u->rx_head];
		u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
		u->rx_count--;
		u->timeout_pending = false;
		timer_restart(u);
		rx_room_changed(u);
	}
	return u->rbr;
}

static void
rx_clear(struct uart_model *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
	timer_restart(u);
	rx_room_changed(u);
}

unsigned int
uart_model_rx_room(const struct uart_model *u)
{
	if (loopback(u) || (u->rts_flow && !(u->mcr & UART_MCR_RTS)))
		return 0;
	return rx_capacity(u) - u->rx_count;
}

void
uart_model_set_rts_flow(struct uart_model *u, bool on)
{
	u->rts_flow = on;
	rx_room_changed(u);
}

void
uart_model_receive(struct uart_model *u, const uint8_t *buf, size_t n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		rx_push(u, buf[i]);
	u->stats.rx_bytes += n;
	rx_arrived(u);
	update_irq(u);
}

static void
set_modem_lines(struct uart_model *u, uint8_t lines)
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
	u->msr = (u->msr & UART_MSR_ANY_DELTA) | (lines & 0xf0);
}

void
uart_model_set_modem_inputs(struct uart_model *u, uint8_t lines)
{
	u->modem_in = lines & 0xf0;
	if (!loopback(u))
		set_modem_lines(u, u->modem_in);
	update_irq(u);
}

/* In loopback the modem outputs drive the modem inputs; outside it the
 * far end's lines come back. */
static void
update_modem(struct uart_model *u)
{
	uint8_t lines = u->modem_in;

	if (loopback(u)) {
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
	set_modem_lines(u, lines);
}

static void
transmit(struct uart_model *u, uint8_t c)
{
	u->thre_pending = false;	/* writing THR acknowledges THRE */
	if (loopback(u)) {
		rx_push(u, c);
		u->stats.loop_bytes++;
		rx_arrived(u);
	} else {
		if (u->ops && u->ops->transmit)
			u->ops->transmit(u->opaque, c);
		u->stats.tx_bytes++;
	}
	u->thre_pending = true;		/* and THR is empty again at once */
}

static uint8_t
read_reg(struct uart_model *u, unsigned int offset)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t v;

	switch (offset) {
	case UART_RX:
		return dlab ? u->dll : rx_pop(u);
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR:
		v = uart_model_peek_iir(u);
		if ((v & UART_IIR_ID) == UART_IIR_THRI && !(v & UART_IIR_NO_INT))
			u->thre_pending = false;
		return v;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		v = u->lsr_errors | UART_LSR_THRE | UART_LSR_TEMT;
		if (u->rx_count)
			v |= UART_LSR_DR;
		u->lsr_errors = 0;		/* cleared by reading */
		return v;
	case UART_MSR:
		v = u->msr;
		u->msr &= ~UART_MSR_ANY_DELTA;	/* cleared by reading */
		return v;
	case UART_SCR:
		return u->scr;
	}
	return 0xff;
}

static void
write_fcr(struct uart_model *u, uint8_t v)
{
	/* Without bit 0 the other bits are not programmed; switching the
	 * FIFOs on or off empties them, as does bit 1 (bit 2, the transmit
	 * FIFO, has nothing to clear here). */
	uint8_t fcr = (v & UART_FCR_ENABLE_FIFO) ? (v & UART_FCR_KEPT) : 0;
	bool clear = ((fcr ^ u->fcr) & UART_FCR_ENABLE_FIFO) ||
		     ((v & UART_FCR_ENABLE_FIFO) && (v & UART_FCR_CLEAR_RCVR));

	u->fcr = fcr;
	if (clear)
		rx_clear(u);
}

static void
write_reg(struct uart_model *u, unsigned int offset, uint8_t v)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t old;

	switch (offset) {
	case UART_TX:
		if (dlab)
			u->dll = v;
		else
			transmit(u, v);
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = v;
			break;
		}
		old = u->ier;
		u->ier = v & UART_IER_ALL;
		/* THR is always empty: enabling THRE makes it pending. */
		if ((u->ier & ~old) & UART_IER_THRI)
			u->thre_pending = true;
		break;
	case UART_FCR:
		write_fcr(u, v);
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		old = u->mcr;
		u->mcr = v & 0x1f;
		update_modem(u);
		if ((old ^ u->mcr) & (UART_MCR_LOOP | UART_MCR_RTS))
			rx_room_changed(u);
		break;
	case UART_LSR:
	case UART_MSR:
		break;		/* read-only (factory test on real chips) */
	case UART_SCR:
		u->scr = v;
		break;
	}
}

uint8_t
uart_model_read(struct uart_model *u, unsigned int offset)
{
	uint8_t v = read_reg(u, offset);

	update_irq(u);
	return v;
}

void
uart_model_write(struct uart_model *u, unsigned int offset, uint8_t v)
{
	write_reg(u, offset, v);
	update_irq(u);
}

/* Power-on register values, keeping the world around the chip. */
static void
reset_state(struct uart_model *u)
{
	struct uart_model keep = *u;

	*u = (struct uart_model){
		.dll = 0x0c,		/* 9600 baud */
		.msr = UART_MODEL_MSR_IDLE,
		.modem_in = UART_MODEL_MSR_IDLE,
		.line = keep.line,	/* so that the update lowers it */
		.rts_flow = keep.rts_flow,
		.irq = keep.irq,
		.ops = keep.ops,
		.opaque = keep.opaque,
		.stats = keep.stats,
	};
}

void
uart_model_init(struct uart_model *u, const struct uart_model_ops *ops,
		void *opaque, struct ioregion_irq *irq)
{
	*u = (struct uart_model){ .ops = ops, .opaque = opaque, .irq = irq };
	reset_state(u);
	update_irq(u);
}

void
uart_model_reset(struct uart_model *u)
{
	reset_state(u);
	if (u->ops && u->ops->set_timer)
		u->ops->set_timer(u->opaque, 0);
	rx_room_changed(u);
	update_irq(u);
}

void
uart_model_set_irq(struct uart_model *u, struct ioregion_irq *irq)
{
	u->irq = irq;
	u->line = false;
	update_irq(u);
}
