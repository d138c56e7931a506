/* SPDX-License-Identifier: MIT */
/*
 * The uart16550 example's register model (examples/uart16550-regs.c)
 * against the register sequences of Linux's 8250 driver
 * (drivers/tty/serial/8250/8250_port.c: autoconfig(), autoconfig_16550a(),
 * size_fifo(), autoconfig_irq(), serial8250_do_startup(),
 * serial8250_handle_irq() with serial8250_rx_chars() and
 * serial8250_tx_chars()), replayed register by register, and its interrupt
 * line on a real eventfd: the test plays KVM and counts the writes.
 */
#include "test-common.h"

#include <linux/serial_reg.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ioregion/irq.h"
#include "ioregion/server.h"

#include "../examples/uart16550-regs.h"

/* The world around the model. */
static struct world {
	uint8_t tx[8192];
	size_t ntx;
	uint64_t timer_ns;		/* 0: stopped */
	unsigned int timer_starts;
	unsigned int room_changes;
} w;

static struct uart_model u;
static struct ioregion_ctx *ctx;
static struct ioregion_irq *irq;
static int trig = -1;

static void
w_transmit(void *opaque, uint8_t c)
{
	ior_assert(opaque == &w);
	ior_assert_uint_eq(w.ntx < sizeof(w.tx), 1);
	w.tx[w.ntx++] = c;
}

static void
w_room(void *opaque)
{
	(void)opaque;
	w.room_changes++;
}

static void
w_timer(void *opaque, uint64_t ns)
{
	(void)opaque;
	w.timer_ns = ns;
	if (ns)
		w.timer_starts++;
}

static const struct uart_model_ops w_ops = {
	.transmit = w_transmit,
	.rx_room_changed = w_room,
	.set_timer = w_timer,
};

static void
setup(void)
{
	memset(&w, 0, sizeof(w));
	ior_assert_int_eq(ioregion_ctx_new(NULL, &ctx), 0);
	trig = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ior_assert_int_ge(trig, 0);
	ior_assert_int_eq(ioregion_irq_new(ctx, trig, -1, &irq), 0);
	uart_model_init(&u, &w_ops, &w, irq);
}

static void
teardown(void)
{
	ctx = ioregion_ctx_unref(ctx);
	irq = NULL;
	close(trig);
	trig = -1;
}

/* How many edges the line injected since the last call (KVM reads the
 * counter the same way). */
static uint64_t
edges(void)
{
	uint64_t n;

	if (read(trig, &n, sizeof(n)) != sizeof(n)) {
		ior_assert_int_eq(errno, EAGAIN);
		return 0;
	}
	return n;
}

static uint8_t
in(unsigned int off)
{
	return uart_model_read(&u, off);
}

static void
out(unsigned int off, uint8_t v)
{
	uart_model_write(&u, off, v);
}

static void
receive(const char *s)
{
	uart_model_receive(&u, (const uint8_t *)s, strlen(s));
}

/* The timer fires (the test is the clock). */
static void
expire_timer(void)
{
	ior_assert_uint_eq(w.timer_ns > 0, 1);
	w.timer_ns = 0;
	uart_model_rx_timeout(&u);
}

/* ---- Linux's probe ----------------------------------------------------- */

/* size_fifo(): how many bytes survive 256 THR writes in loopback. */
static int
linux_size_fifo(void)
{
	uint8_t old_fcr, old_mcr, old_lcr, old_dll, old_dlm;
	int count;

	old_lcr = in(UART_LCR);
	out(UART_LCR, 0);
	old_fcr = in(UART_FCR);		/* reads IIR, as Linux does */
	old_mcr = in(UART_MCR);
	out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR |
		      UART_FCR_CLEAR_XMIT);
	out(UART_MCR, UART_MCR_LOOP);
	out(UART_LCR, UART_LCR_CONF_MODE_A);
	old_dll = in(UART_DLL);
	old_dlm = in(UART_DLM);
	out(UART_DLL, 1);
	out(UART_DLM, 0);
	out(UART_LCR, UART_LCR_WLEN8);
	for (count = 0; count < 256; count++)
		out(UART_TX, (uint8_t)count);
	for (count = 0; (in(UART_LSR) & UART_LSR_DR) && count < 256; count++)
		ior_assert_uint_eq(in(UART_RX), count);	/* the first 16 */
	out(UART_FCR, old_fcr);
	out(UART_MCR, old_mcr);
	out(UART_LCR, UART_LCR_CONF_MODE_A);
	out(UART_DLL, old_dll);
	out(UART_DLM, old_dlm);
	out(UART_LCR, old_lcr);
	return count;
}

START_TEST(test_uart_reset_state)
{
	ior_assert_uint_eq(in(UART_IER), 0);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_NO_INT);
	ior_assert_uint_eq(in(UART_LCR), 0);
	ior_assert_uint_eq(in(UART_MCR), 0);
	ior_assert_uint_eq(in(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	ior_assert_uint_eq(in(UART_MSR), UART_MODEL_MSR_IDLE);
	ior_assert_uint_eq(in(8), 0xff);	/* beyond the 8 registers */
	out(8, 0x12);				/* ignored */
	ior_assert_uint_eq(uart_model_irq_level(&u), 0);
	ior_assert_uint_eq(edges(), 0);
}
END_TEST

/* autoconfig() in its order, then autoconfig_16550a()'s variant probes
 * (CONFIG_SERIAL_8250_16550A_VARIANTS or UPF_FULL_PROBE): a plain 16550A. */
START_TEST(test_uart_linux_autoconfig_finds_16550a)
{
	uint8_t scratch, scratch2, scratch3, status1, status2, save_lcr,
		save_mcr, iersave;

	/* the IER test */
	scratch = in(UART_IER);
	out(UART_IER, 0);
	scratch2 = in(UART_IER) & 0x0f;
	out(UART_IER, 0x0f);
	scratch3 = in(UART_IER) & 0x0f;
	out(UART_IER, scratch);
	ior_assert_uint_eq(scratch2, 0);
	ior_assert_uint_eq(scratch3, 0x0f);

	save_mcr = in(UART_MCR);
	save_lcr = in(UART_LCR);

	/* the loopback test */
	out(UART_MCR, UART_MCR_LOOP | 0x0a);
	status1 = in(UART_MSR) & 0xf0;
	out(UART_MCR, save_mcr);
	ior_assert_uint_eq(status1, 0x90);

	/* EFR := 0 under LCR 0xbf: on a 16550A that write is FCR */
	out(UART_LCR, UART_LCR_CONF_MODE_B);
	out(UART_EFR, 0);
	out(UART_LCR, 0);
	out(UART_FCR, UART_FCR_ENABLE_FIFO);
	scratch = in(UART_IIR);
	ior_assert_uint_eq(scratch >> 6, 3);		/* autoconfig_16550a() */

	/* autoconfig_16550a(): no EFR under LCR 0x80 nor 0xbf */
	out(UART_LCR, UART_LCR_CONF_MODE_A);
	ck_assert_uint_ne(in(UART_EFR), 0);
	out(UART_LCR, UART_LCR_CONF_MODE_B);
	ck_assert_uint_ne(in(UART_EFR), 0);
	/* not a National Semiconductor SuperIO (EXCR1 under LCR 0xe0) */
	out(UART_LCR, 0);
	status1 = in(UART_MCR);
	out(UART_LCR, 0xe0);
	status2 = in(0x02);
	ior_assert_uint_eq((status2 ^ status1) & UART_MCR_LOOP, 0);
	out(UART_LCR, 0);
	out(UART_MCR, status1 ^ UART_MCR_LOOP);
	out(UART_LCR, 0xe0);
	status2 = in(0x02);
	out(UART_LCR, 0);
	out(UART_MCR, status1);
	ior_assert_uint_eq((status2 ^ status1) & UART_MCR_LOOP, 0);
	/* not a TI16750 (IIR bit 5 with FCR bit 5, with and without DLAB) */
	out(UART_LCR, 0);
	out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
	status1 = in(UART_IIR) >> 5;
	out(UART_FCR, UART_FCR_ENABLE_FIFO);
	out(UART_LCR, UART_LCR_CONF_MODE_A);
	out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
	status2 = in(UART_IIR) >> 5;
	out(UART_FCR, UART_FCR_ENABLE_FIFO);
	out(UART_LCR, 0);
	ior_assert_uint_eq(status1, 6);
	ior_assert_uint_eq(status2, 6);
	/* not an XScale (IER bit 6 does not stick) */
	iersave = in(UART_IER);
	out(UART_IER, iersave & ~UART_IER_UUE);
	ior_assert_uint_eq(in(UART_IER) & UART_IER_UUE, 0);
	out(UART_IER, iersave | UART_IER_UUE);
	ior_assert_uint_eq(in(UART_IER) & UART_IER_UUE, 0);
	out(UART_IER, iersave);
	/* a 16-byte FIFO: PORT_16550A, not PORT_U6_16550A */
	ior_assert_int_eq(linux_size_fifo(), 16);
	ior_assert_uint_eq(u.stats.overruns, 256 - 16);

	out(UART_LCR, save_lcr);
	/* reset the UART */
	out(UART_MCR, save_mcr);
	out(UART_FCR, UART_FCR_ENABLE_FIFO);
	out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR |
		      UART_FCR_CLEAR_XMIT);
	out(UART_FCR, 0);
	(void)in(UART_RX);
	out(UART_IER, 0);

	/* the whole probe sent nothing out and never drove the line (OUT2
	 * was never set) */
	ior_assert_uint_eq(w.ntx, 0);
	ior_assert_uint_eq(u.stats.irq_edges, 0);
	ior_assert_uint_eq(edges(), 0);
	ior_assert_uint_eq(in(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
}
END_TEST

/* autoconfig_8250()'s scratch test, the suspend canary, the divisor. */
START_TEST(test_uart_scratch_and_divisor)
{
	out(UART_SCR, 0xa5);
	ior_assert_uint_eq(in(UART_SCR), 0xa5);
	out(UART_SCR, 0x5a);
	ior_assert_uint_eq(in(UART_SCR), 0x5a);

	ior_assert_uint_eq(in(UART_IER), 0);
	out(UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
	ior_assert_uint_eq(in(UART_DLL), 0x0c);		/* 9600 at reset */
	ior_assert_uint_eq(in(UART_DLM), 0);
	out(UART_DLL, 0x01);
	out(UART_DLM, 0x80);
	ior_assert_uint_eq(in(UART_DLL), 0x01);
	ior_assert_uint_eq(in(UART_DLM), 0x80);
	/* DLAB does not hide IIR (reads) nor FCR (writes) at offset 2 */
	out(UART_FCR, UART_FCR_ENABLE_FIFO);
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_NO_INT);
	out(UART_LCR, UART_LCR_WLEN8);
	ior_assert_uint_eq(in(UART_IER), 0);		/* not DLM */
	out(UART_TX, 'x');				/* not DLL */
	ior_assert_uint_eq(w.ntx, 1);
	ior_assert_uint_eq(w.tx[0], 'x');
	out(UART_LCR, UART_LCR_DLAB);
	ior_assert_uint_eq(in(UART_DLL), 0x01);
}
END_TEST

/* serial8250_do_startup() with an IRQ: the clearing reads, the LSR safety
 * check, the THRE test, the TX-enable test. */
START_TEST(test_uart_linux_startup_thre_test)
{
	uint8_t iir1, iir, lsr;

	/* serial8250_clear_fifos() */
	out(UART_FCR, UART_FCR_ENABLE_FIFO);
	out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR |
		      UART_FCR_CLEAR_XMIT);
	out(UART_FCR, 0);
	/* clear the interrupt registers */
	(void)in(UART_LSR);
	(void)in(UART_RX);
	(void)in(UART_IIR);
	(void)in(UART_MSR);
	/* "LSR safety check engaged!" would mean 0xff */
	ior_assert_uint_eq(in(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);

	/* the THRE test: the interrupt must come back after IIR cleared it */
	out(UART_IER, UART_IER_THRI);
	iir1 = in(UART_IIR);
	out(UART_IER, 0);
	out(UART_IER, UART_IER_THRI);
	iir = in(UART_IIR);
	out(UART_IER, 0);
	ior_assert_uint_eq(iir1, UART_IIR_THRI);
	ior_assert_uint_eq(iir, UART_IIR_THRI);
	ior_assert(!(!(iir1 & UART_IIR_NO_INT) && (iir & UART_IIR_NO_INT)));
	ior_assert_uint_eq(edges(), 0);		/* OUT2 still clear */

	/* initialise: 8N1, OUT2 for the PC's interrupt gate */
	out(UART_LCR, UART_LCR_WLEN8);
	out(UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	ior_assert_uint_eq(edges(), 0);		/* nothing enabled */

	/* the TX-enable test: no UART_BUG_TXEN */
	out(UART_IER, UART_IER_THRI);
	lsr = in(UART_LSR);
	iir = in(UART_IIR);
	out(UART_IER, 0);
	ior_assert(!((lsr & UART_LSR_TEMT) && (iir & UART_IIR_NO_INT)));
	ior_assert_uint_eq(iir, UART_IIR_THRI);
	ior_assert_uint_eq(edges(), 1);		/* the line rose once */

	/* clear again for luck */
	(void)in(UART_LSR);
	(void)in(UART_RX);
	(void)in(UART_IIR);
	(void)in(UART_MSR);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_NO_INT);
	ior_assert_uint_eq(uart_model_irq_level(&u), 0);
}
END_TEST

/* autoconfig_irq(): with OUT2, IER = 0x0f and a THR write raise the line. */
START_TEST(test_uart_linux_autoconfig_irq_sees_the_line)
{
	uint8_t save_mcr = in(UART_MCR), save_ier = in(UART_IER);

	out(UART_MCR, UART_MCR_OUT1 | UART_MCR_OUT2);
	(void)edges();			/* probe_irq_on() */
	out(UART_MCR, 0);
	out(UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	out(UART_IER, 0x0f);
	(void)in(UART_LSR);
	(void)in(UART_RX);
	(void)in(UART_IIR);
	(void)in(UART_MSR);
	out(UART_TX, 0xff);
	ck_assert_uint_ge(edges(), 1);	/* probe_irq_off() finds IRQ 4 */
	out(UART_MCR, save_mcr);
	out(UART_IER, save_ier);
	ior_assert_uint_eq(uart_model_irq_level(&u), 0);
}
END_TEST

/* ---- Linux's interrupt handler ----------------------------------------- */

/* The tty side of the port: what serial8250_handle_irq() moves. */
static struct port {
	uint8_t ier;			/* up->ier */
	const char *xmit;		/* left to send */
	char rx[256];
	size_t nrx;
	unsigned int handled;
} p;

/* serial8250_default_handle_irq() -> serial8250_handle_irq(): 1 if the
 * port had something pending. */
static int
linux_handle_irq(void)
{
	uint8_t iir = in(UART_IIR), lsr;
	int count;

	if (iir & UART_IIR_NO_INT)
		return 0;
	p.handled++;
	lsr = in(UART_LSR);
	if (lsr & (UART_LSR_DR | UART_LSR_BI)) {
		/* serial8250_rx_chars() */
		count = 256;
		do {
			p.rx[p.nrx++] = (char)in(UART_RX);
			lsr = in(UART_LSR);
		} while ((lsr & (UART_LSR_DR | UART_LSR_BI)) && --count > 0);
	}
	(void)in(UART_MSR);		/* serial8250_modem_status() */
	if ((lsr & UART_LSR_THRE) && (p.ier & UART_IER_THRI)) {
		/* serial8250_tx_chars(), tx_loadsz 16 */
		count = 16;
		while (*p.xmit && count-- > 0)
			out(UART_TX, (uint8_t)*p.xmit++);
		if (!*p.xmit) {		/* __stop_tx() */
			p.ier &= (uint8_t)~UART_IER_THRI;
			out(UART_IER, p.ier);
		}
	}
	return 1;
}

/* serial8250_interrupt(): the port until it has nothing pending. */
static void
linux_interrupt(void)
{
	int passes = 0;

	while (linux_handle_irq())
		ior_assert_int_lt(++passes, 512);	/* PASS_LIMIT */
}

/* The port as serial8250_do_startup() and set_termios() leave it. */
static void
linux_open_port(void)
{
	memset(&p, 0, sizeof(p));
	p.xmit = "";
	out(UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
	out(UART_DLL, 1);				/* 115200 */
	out(UART_DLM, 0);
	out(UART_LCR, UART_LCR_WLEN8);
	out(UART_FCR, UART_FCR_ENABLE_FIFO);
	out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_R_TRIG_10);
	out(UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	p.ier = UART_IER_RLSI | UART_IER_RDI;
	out(UART_IER, p.ier);
	ior_assert_uint_eq(edges(), 0);
}

START_TEST(test_uart_linux_transmit_is_interrupt_driven)
{
	static const char text[] =
		"a line longer than the 16-byte FIFO, sent by interrupts\n";
	unsigned int rounds = 0;

	linux_open_port();
	/* serial8250_start_tx(): enable THRE */
	p.xmit = text;
	p.ier |= UART_IER_THRI;
	out(UART_IER, p.ier);
	/* every edge is one interrupt; the handler runs until none pending */
	while (edges()) {
		linux_interrupt();
		rounds++;
		ck_assert_uint_lt(rounds, 100);
	}
	ior_assert_uint_eq(w.ntx, sizeof(text) - 1);
	ior_assert_mem_eq(w.tx, text, sizeof(text) - 1);
	ior_assert_uint_eq(*p.xmit, 0);
	ior_assert_uint_eq(p.ier & UART_IER_THRI, 0);	/* __stop_tx() */
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_NO_INT);
	ior_assert_uint_eq(uart_model_irq_level(&u), 0);
	ck_assert_uint_ge(p.handled, (sizeof(text) - 1 + 15) / 16);
}
END_TEST

START_TEST(test_uart_linux_receive_by_trigger_and_timeout)
{
	linux_open_port();
	/* 10 bytes at trigger level 8: RDA at once */
	receive("0123456789");
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_RDI);
	ior_assert_uint_eq(edges(), 1);
	linux_interrupt();
	ior_assert_uint_eq(p.nrx, 10);
	ior_assert_mem_eq(p.rx, "0123456789", 10);
	ior_assert_uint_eq(w.timer_ns, 0);		/* nothing waits */
	ior_assert_uint_eq(edges(), 0);

	/* 3 bytes, below the level: only the character timeout reports them */
	receive("abc");
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_NO_INT);
	ior_assert_uint_eq(edges(), 0);
	/* four characters of 10 bits at 115200 baud */
	ior_assert_uint_eq(w.timer_ns, 4 * 10 * 1000000000ull / 115200);
	expire_timer();
	ior_assert_uint_eq(edges(), 1);
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_RX_TIMEOUT);
	linux_interrupt();
	ior_assert_uint_eq(p.nrx, 13);
	ior_assert_mem_eq(p.rx + 10, "abc", 3);
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_NO_INT);
	ior_assert_uint_eq(uart_model_irq_level(&u), 0);
}
END_TEST

/* ---- the interrupt logic ------------------------------------------------ */

START_TEST(test_uart_thre_on_enabling_ier_with_thr_empty)
{
	out(UART_MCR, UART_MCR_OUT2);
	ior_assert_uint_eq(edges(), 0);
	out(UART_IER, UART_IER_THRI);
	ior_assert_uint_eq(edges(), 1);
	ior_assert_uint_eq(uart_model_irq_level(&u), 1);
	ior_assert_int_eq(ioregion_irq_is_asserted(irq), 1);
	/* writing the same IER again is no new enabling */
	out(UART_IER, UART_IER_THRI);
	ior_assert_uint_eq(edges(), 0);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_THRI);
	ior_assert_int_eq(ioregion_irq_is_asserted(irq), 0);
	out(UART_IER, UART_IER_THRI);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_NO_INT);
	ior_assert_uint_eq(edges(), 0);
}
END_TEST

START_TEST(test_uart_reading_iir_clears_thre_writing_thr_brings_it_back)
{
	out(UART_MCR, UART_MCR_OUT2);
	out(UART_IER, UART_IER_THRI);
	ior_assert_uint_eq(edges(), 1);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_THRI);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_NO_INT);
	ior_assert_uint_eq(uart_model_irq_level(&u), 0);
	/* THR empties at once after a write: THRE again, a new edge */
	out(UART_TX, 'a');
	ior_assert_uint_eq(edges(), 1);
	ior_assert_uint_eq(in(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	/* more writes while it is pending: the line stays up, no edge */
	out(UART_TX, 'b');
	out(UART_TX, 'c');
	ior_assert_uint_eq(edges(), 0);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_THRI);
	ior_assert_uint_eq(w.ntx, 3);
	/* reading IIR clears THRE only when THRE is what it reports */
	out(UART_IER, UART_IER_THRI | UART_IER_MSI);
	uart_model_set_modem_inputs(&u, UART_MSR_CTS);	/* DSR, DCD drop */
	out(UART_TX, 'd');
	out(UART_IER, UART_IER_THRI | UART_IER_MSI | UART_IER_RLSI);
	receive("");					/* nothing */
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_THRI);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_MSI);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_MSI);	/* not cleared */
	ior_assert_uint_eq(in(UART_MSR) & UART_MSR_ANY_DELTA,
			   UART_MSR_DDSR | UART_MSR_DDCD);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_NO_INT);
}
END_TEST

START_TEST(test_uart_rda_on_input)
{
	out(UART_MCR, UART_MCR_OUT2);
	out(UART_IER, UART_IER_RDI);
	ior_assert_uint_eq(edges(), 0);
	/* without FIFOs: one byte is the trigger */
	ior_assert_uint_eq(uart_model_rx_room(&u), 1);
	receive("x");
	ior_assert_uint_eq(edges(), 1);
	ior_assert_uint_eq(uart_model_rx_room(&u), 0);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_RDI);
	ior_assert_uint_eq(in(UART_LSR), UART_LSR_DR | UART_LSR_THRE |
					 UART_LSR_TEMT);
	ior_assert_uint_eq(in(UART_RX), 'x');
	ior_assert_uint_eq(w.room_changes, 1);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_NO_INT);
	ior_assert_uint_eq(uart_model_irq_level(&u), 0);
	ior_assert_uint_eq(w.timer_ns, 0);	/* no timeout without FIFOs */
	receive("y");
	ior_assert_uint_eq(edges(), 1);		/* low, then up again */
	/* a second byte without FIFOs is an overrun: RLS when enabled */
	receive("z");
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_RDI);
	out(UART_IER, UART_IER_RDI | UART_IER_RLSI);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_RLSI);
	ior_assert_uint_eq(in(UART_LSR), UART_LSR_OE | UART_LSR_DR |
					 UART_LSR_THRE | UART_LSR_TEMT);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_RDI);
	ior_assert_uint_eq(in(UART_RX), 'y');	/* the first one stayed */
	ior_assert_uint_eq(u.stats.overruns, 1);

	/* with FIFOs at trigger level 4: 3 bytes wait, the 4th raises */
	out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_4);
	ior_assert_uint_eq(uart_model_rx_room(&u), UART_FIFO_SIZE);
	receive("123");
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_NO_INT);
	ior_assert_uint_eq(edges(), 0);
	receive("4");
	ior_assert_uint_eq(edges(), 1);
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_RDI);
	ior_assert_uint_eq(in(UART_RX), '1');
	/* below the level again: RDA is gone, the timer restarted */
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_NO_INT);
	ck_assert_uint_gt(w.timer_ns, 0);
}
END_TEST

START_TEST(test_uart_character_timeout)
{
	unsigned int starts;

	out(UART_LCR, UART_LCR_WLEN8);		/* 10 bits a character */
	out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_8);
	out(UART_MCR, UART_MCR_OUT2);
	out(UART_IER, UART_IER_RDI);
	receive("ab");
	/* 4 characters at 9600 baud (divisor 12) */
	ior_assert_uint_eq(w.timer_ns, 4 * 10 * 12 * 1000000000ull / 115200);
	starts = w.timer_starts;
	receive("c");				/* a new byte restarts it */
	ior_assert_uint_eq(w.timer_starts, starts + 1);
	ior_assert_uint_eq(edges(), 0);
	expire_timer();
	ior_assert_uint_eq(edges(), 1);
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_RX_TIMEOUT);
	/* a byte arriving while it is pending does not clear it */
	receive("d");
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_RX_TIMEOUT);
	/* reading one byte clears it and restarts the timer */
	ior_assert_uint_eq(in(UART_RX), 'a');
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_NO_INT);
	ck_assert_uint_gt(w.timer_ns, 0);
	expire_timer();
	ior_assert_uint_eq(edges(), 1);		/* a new edge for the rest */
	ior_assert_uint_eq(in(UART_RX), 'b');
	ior_assert_uint_eq(in(UART_RX), 'c');
	ior_assert_uint_eq(in(UART_RX), 'd');
	ior_assert_uint_eq(w.timer_ns, 0);	/* empty: stopped */
	uart_model_rx_timeout(&u);		/* a late expiry: nothing */
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_NO_INT);
	ior_assert_uint_eq(edges(), 0);
	/* the FIFOs off: bytes are gone, no timeout */
	receive("ef");
	out(UART_FCR, 0);
	ior_assert_uint_eq(w.timer_ns, 0);
	ior_assert_uint_eq(in(UART_LSR) & UART_LSR_DR, 0);
}
END_TEST

/* Every source at once: IIR reports RLS > RDA > THRE > MS, each cleared
 * its own way, and the line rose once and fell at the end. */
START_TEST(test_uart_iir_priority_order)
{
	uint8_t bytes[UART_FIFO_SIZE + 1];

	memset(bytes, 'q', sizeof(bytes));
	out(UART_FCR, UART_FCR_ENABLE_FIFO);	/* trigger level 1 */
	out(UART_MCR, UART_MCR_OUT2);
	uart_model_receive(&u, bytes, sizeof(bytes));	/* 17: an overrun */
	uart_model_set_modem_inputs(&u, UART_MSR_DCD | UART_MSR_CTS);
	ior_assert_uint_eq(edges(), 0);			/* IER 0 */
	out(UART_IER, 0x0f);
	ior_assert_uint_eq(edges(), 1);

	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_RLSI);
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_RLSI);
	ior_assert_uint_eq(in(UART_LSR) & (UART_LSR_OE | UART_LSR_DR),
			   UART_LSR_OE | UART_LSR_DR);
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_RDI);
	for (int i = 0; i < UART_FIFO_SIZE; i++)
		ior_assert_uint_eq(in(UART_RX), 'q');
	ior_assert_uint_eq(in(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_THRI);
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_MSI);
	ior_assert_uint_eq(uart_model_irq_level(&u), 1);
	ior_assert_uint_eq(in(UART_MSR), UART_MSR_DCD | UART_MSR_CTS |
					 UART_MSR_DDSR);
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_NO_INT);
	ior_assert_uint_eq(uart_model_irq_level(&u), 0);
	ior_assert_uint_eq(edges(), 0);		/* it stayed up until here */
}
END_TEST

START_TEST(test_uart_out2_gates_the_line)
{
	out(UART_IER, UART_IER_THRI);
	ior_assert_uint_eq(edges(), 0);
	ior_assert_uint_eq(uart_model_peek_iir(&u), UART_IIR_THRI);
	out(UART_MCR, UART_MCR_OUT2);			/* the gate opens */
	ior_assert_uint_eq(edges(), 1);
	out(UART_MCR, 0);
	ior_assert_uint_eq(uart_model_irq_level(&u), 0);
	ior_assert_int_eq(ioregion_irq_is_asserted(irq), 0);
	out(UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR);
	ior_assert_uint_eq(edges(), 1);
	/* loopback holds the OUT2 pin inactive: IIR says THRE, no line */
	out(UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
	ior_assert_uint_eq(uart_model_irq_level(&u), 0);
	out(UART_TX, 'l');
	ior_assert_uint_eq(edges(), 0);
	ior_assert_uint_eq(uart_model_peek_iir(&u), UART_IIR_THRI);
	out(UART_MCR, UART_MCR_OUT2);
	ior_assert_uint_eq(edges(), 1);
	ior_assert_uint_eq(u.stats.irq_edges, 3);
}
END_TEST

START_TEST(test_uart_no_interrupt_with_ier_zero)
{
	uint8_t bytes[UART_FIFO_SIZE + 2];

	memset(bytes, 'n', sizeof(bytes));
	out(UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS);
	uart_model_receive(&u, bytes, 1);
	out(UART_TX, 't');
	out(UART_FCR, UART_FCR_ENABLE_FIFO);
	uart_model_receive(&u, bytes, sizeof(bytes));
	uart_model_set_modem_inputs(&u, 0);
	expire_timer();
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_NO_INT);
	ior_assert_uint_eq(in(UART_LSR), UART_LSR_OE | UART_LSR_DR |
					 UART_LSR_THRE | UART_LSR_TEMT);
	ior_assert_uint_eq(in(UART_MSR) & UART_MSR_ANY_DELTA,
			   UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
	ior_assert_uint_eq(edges(), 0);
	ior_assert_uint_eq(u.stats.irq_edges, 0);
}
END_TEST

START_TEST(test_uart_loopback)
{
	out(UART_FCR, UART_FCR_ENABLE_FIFO);
	ior_assert_uint_eq(uart_model_rx_room(&u), UART_FIFO_SIZE);
	out(UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
	ior_assert_uint_eq(uart_model_rx_room(&u), 0);	/* input cut off */
	ior_assert_uint_eq(in(UART_MSR), UART_MSR_DSR | UART_MSR_RI |
		UART_MSR_DCTS | UART_MSR_DDCD);	/* CTS and DCD fell */
	out(UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
	ior_assert_uint_eq(in(UART_MSR), UART_MSR_DSR | UART_MSR_TERI);
	out(UART_TX, 'L');
	out(UART_TX, 'B');
	ior_assert_uint_eq(w.ntx, 0);			/* not on the line */
	ior_assert_uint_eq(in(UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	ior_assert_uint_eq(in(UART_RX), 'L');
	ior_assert_uint_eq(in(UART_RX), 'B');
	ior_assert_uint_eq(u.stats.loop_bytes, 2);
	/* the far end's lines come back when loopback ends */
	uart_model_set_modem_inputs(&u, UART_MSR_CTS);	/* remembered */
	ior_assert_uint_eq(in(UART_MSR) & 0xf0, UART_MSR_DSR);
	out(UART_MCR, 0);
	ior_assert_uint_eq(in(UART_MSR) & 0xf0, UART_MSR_CTS);
	ior_assert_uint_eq(uart_model_rx_room(&u), UART_FIFO_SIZE);
	out(UART_TX, 'T');
	ior_assert_uint_eq(w.ntx, 1);
}
END_TEST

START_TEST(test_uart_fcr_rules)
{
	receive("a");
	/* switching the FIFOs on empties the holding register */
	out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_14);
	ior_assert_uint_eq(in(UART_LSR) & UART_LSR_DR, 0);
	ior_assert_uint_eq(in(UART_IIR), 0xc0 | UART_IIR_NO_INT);
	receive("bcd");
	/* rewriting with FIFOs on keeps the bytes; bit 1 clears them */
	out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_1);
	ior_assert_uint_eq(in(UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	ior_assert_uint_eq(in(UART_LSR) & UART_LSR_DR, 0);
	/* without bit 0 nothing else is programmed, and the FIFOs go off */
	out(UART_FCR, UART_FCR_TRIGGER_14);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_NO_INT);
	ior_assert_uint_eq(uart_model_rx_room(&u), 1);
}
END_TEST

/* With flow control the far end waits for RTS (not in loopback). */
START_TEST(test_uart_rts_flow_control)
{
	ior_assert_uint_eq(uart_model_rx_room(&u), 1);	/* off at reset */
	uart_model_set_rts_flow(&u, true);
	ior_assert_uint_eq(w.room_changes, 1);
	ior_assert_uint_eq(uart_model_rx_room(&u), 0);
	out(UART_FCR, UART_FCR_ENABLE_FIFO);
	ior_assert_uint_eq(uart_model_rx_room(&u), 0);
	out(UART_MCR, UART_MCR_DTR);
	ior_assert_uint_eq(uart_model_rx_room(&u), 0);
	out(UART_MCR, UART_MCR_DTR | UART_MCR_RTS);
	ior_assert_uint_eq(uart_model_rx_room(&u), UART_FIFO_SIZE);
	ck_assert_uint_ge(w.room_changes, 2);
	out(UART_MCR, UART_MCR_RTS | UART_MCR_LOOP);
	ior_assert_uint_eq(uart_model_rx_room(&u), 0);
	out(UART_MCR, UART_MCR_RTS);
	receive("abc");
	ior_assert_uint_eq(uart_model_rx_room(&u), UART_FIFO_SIZE - 3);
	out(UART_MCR, 0);				/* throttled */
	ior_assert_uint_eq(uart_model_rx_room(&u), 0);
	ior_assert_uint_eq(in(UART_RX), 'a');		/* what came stays */
	uart_model_set_rts_flow(&u, false);
	ior_assert_uint_eq(uart_model_rx_room(&u), UART_FIFO_SIZE - 2);
}
END_TEST

/* Random register traffic and input (a fixed seed, so a failure
 * repeats): after every step the line is exactly "a source pending, OUT2
 * set, not in loopback", the eventfd saw exactly the rising changes, LSR
 * keeps THRE and TEMT and shows DR exactly when bytes wait, and the FIFO
 * never holds more than it can. */
START_TEST(test_uart_random_traffic_keeps_invariants)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull, total = 0;
	bool was = false;

	for (int step = 0; step < 50000; step++) {
		unsigned int op, off;
		uint8_t v, iir, lsr;
		bool level;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		op = (unsigned int)(seed >> 8) % 16;
		off = (unsigned int)(seed >> 16) % 8;
		v = (uint8_t)(seed >> 24);
		if (op < 7) {
			(void)in(off);
		} else if (op < 13) {
			if (off == UART_LCR)
				v &= 0x7f;	/* mostly without DLAB */
			out(off, v);
		} else if (op == 13) {
			uint8_t bytes[20];

			memset(bytes, v, sizeof(bytes));
			uart_model_receive(&u, bytes, v % sizeof(bytes));
		} else if (op == 14) {
			uart_model_rx_timeout(&u);
		} else {
			uart_model_set_modem_inputs(&u, v);
		}
		iir = uart_model_peek_iir(&u);
		level = uart_model_irq_level(&u);
		ior_assert_uint_eq(level, !(iir & UART_IIR_NO_INT) &&
			(u.mcr & UART_MCR_OUT2) && !(u.mcr & UART_MCR_LOOP));
		ior_assert_int_eq(ioregion_irq_is_asserted(irq), level);
		if (level && !was)
			total++;
		was = level;
		ck_assert_uint_le(u.rx_count, UART_FIFO_SIZE);
		if (step % 97 == 0) {
			uint8_t lcr = u.lcr;

			lsr = in(UART_LSR);
			ior_assert_uint_eq(lsr & (UART_LSR_THRE | UART_LSR_TEMT),
					   UART_LSR_THRE | UART_LSR_TEMT);
			ior_assert_uint_eq(!!(lsr & UART_LSR_DR), u.rx_count > 0);
			ior_assert_uint_eq(lsr & (UART_LSR_FIFOE | UART_LSR_BI |
					   UART_LSR_FE | UART_LSR_PE), 0);
			ior_assert_uint_eq(u.lcr, lcr);
			was = uart_model_irq_level(&u);
			if (was && !level)
				total++;	/* impossible: LSR only clears */
		}
	}
	ior_assert_uint_eq(edges(), total);
	ior_assert_uint_eq(u.stats.irq_edges, total);
	ior_assert_uint_eq(u.stats.irq_errors, 0);
	ck_assert_uint_gt(total, 250);		/* the traffic did something */
}
END_TEST

/* The VMM's reset (the session's RESET): power-on registers, the FIFO
 * emptied, the line lowered and the character timer stopped; the line,
 * the counters and the flow control setting stay. */
START_TEST(test_uart_reset_restores_power_on_state)
{
	uint64_t tx;

	uart_model_set_rts_flow(&u, true);
	out(UART_LCR, UART_LCR_DLAB);
	out(UART_DLL, 0x01);
	out(UART_LCR, UART_LCR_WLEN8);
	out(UART_SCR, 0x5a);
	out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_R_TRIG_10);
	out(UART_MCR, UART_MCR_OUT2 | UART_MCR_RTS);
	out(UART_IER, UART_IER_RDI | UART_IER_THRI);
	receive("abc");
	ior_assert_uint_eq(w.timer_ns > 0, 1);
	ior_assert_uint_eq(uart_model_irq_level(&u), 1);
	ior_assert_uint_eq(edges() > 0, 1);
	tx = u.stats.rx_bytes;

	uart_model_reset(&u);
	ior_assert_uint_eq(uart_model_irq_level(&u), 0);
	ior_assert_uint_eq(w.timer_ns, 0);
	ior_assert_uint_eq(in(UART_IER), 0);
	ior_assert_uint_eq(in(UART_IIR), UART_IIR_NO_INT);
	ior_assert_uint_eq(in(UART_LCR), 0);
	ior_assert_uint_eq(in(UART_MCR), 0);
	ior_assert_uint_eq(in(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	ior_assert_uint_eq(in(UART_MSR), UART_MODEL_MSR_IDLE);
	ior_assert_uint_eq(in(UART_SCR), 0);
	out(UART_LCR, UART_LCR_DLAB);
	ior_assert_uint_eq(in(UART_DLL), 0x0c);
	ior_assert_uint_eq(in(UART_DLM), 0);
	out(UART_LCR, 0);
	/* the world stays: counters, the line, flow control (RTS is off) */
	ior_assert_uint_eq(u.stats.rx_bytes, tx);
	ior_assert_uint_eq(uart_model_rx_room(&u), 0);
	out(UART_MCR, UART_MCR_OUT2);
	out(UART_IER, UART_IER_THRI);
	ior_assert_uint_eq(edges(), 1);
}
END_TEST

/* No line given: the model still works, polled. */
START_TEST(test_uart_without_a_line)
{
	struct uart_model m;

	uart_model_init(&m, NULL, NULL, NULL);
	uart_model_write(&m, UART_MCR, UART_MCR_OUT2);
	uart_model_write(&m, UART_IER, UART_IER_THRI | UART_IER_RDI);
	ior_assert_uint_eq(uart_model_irq_level(&m), 1);
	ior_assert_uint_eq(uart_model_read(&m, UART_IIR), UART_IIR_THRI);
	uart_model_write(&m, UART_TX, 'x');		/* no transmit op */
	ior_assert_uint_eq(m.stats.tx_bytes, 1);
	uart_model_write(&m, UART_FCR, UART_FCR_ENABLE_FIFO |
				       UART_FCR_TRIGGER_8);
	uart_model_receive(&m, (const uint8_t *)"hi", 2);
	/* no timer: the character timeout is reported at once */
	ior_assert_uint_eq(uart_model_read(&m, UART_IIR),
			   0xc0 | UART_IIR_RX_TIMEOUT);
	ior_assert_uint_eq(uart_model_read(&m, UART_RX), 'h');
	ior_assert_uint_eq(uart_model_read(&m, UART_RX), 'i');
	ior_assert_uint_eq(uart_model_read(&m, UART_IIR),
			   0xc0 | UART_IIR_THRI);
	ior_assert_uint_eq(m.stats.irq_edges, 2);
	ior_assert_uint_eq(m.stats.irq_errors, 0);
	ior_assert_uint_eq(edges(), 0);		/* the other line is quiet */
}
END_TEST

/* A level line (resample eventfd): the model's level follows IIR. */
START_TEST(test_uart_level_line)
{
	int resample = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int ltrig = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct ioregion_irq *level;
	struct uart_model m;
	uint64_t n;

	ior_assert_int_ge(resample, 0);
	ior_assert_int_ge(ltrig, 0);
	ior_assert_int_eq(ioregion_irq_new(ctx, ltrig, resample, &level), 0);
	uart_model_init(&m, &w_ops, &w, level);
	uart_model_write(&m, UART_MCR, UART_MCR_OUT2);
	uart_model_write(&m, UART_IER, UART_IER_THRI);
	ior_assert_int_eq(ioregion_irq_is_asserted(level), 1);
	ior_assert_int_eq(read(ltrig, &n, sizeof(n)), sizeof(n));
	ior_assert_uint_eq(n, 1);
	ior_assert_uint_eq(uart_model_read(&m, UART_IIR), UART_IIR_THRI);
	ior_assert_int_eq(ioregion_irq_is_asserted(level), 0);
	ioregion_irq_destroy(level);
	close(resample);
	close(ltrig);
}
END_TEST

static Suite *
uart_suite(void)
{
	Suite *s = suite_create("uart16550");
	TCase *tc = tcase_create("uart16550");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_uart_reset_state);
	tcase_add_test(tc, test_uart_linux_autoconfig_finds_16550a);
	tcase_add_test(tc, test_uart_scratch_and_divisor);
	tcase_add_test(tc, test_uart_linux_startup_thre_test);
	tcase_add_test(tc, test_uart_linux_autoconfig_irq_sees_the_line);
	tcase_add_test(tc, test_uart_linux_transmit_is_interrupt_driven);
	tcase_add_test(tc, test_uart_linux_receive_by_trigger_and_timeout);
	tcase_add_test(tc, test_uart_thre_on_enabling_ier_with_thr_empty);
	tcase_add_test(tc, test_uart_reading_iir_clears_thre_writing_thr_brings_it_back);
	tcase_add_test(tc, test_uart_rda_on_input);
	tcase_add_test(tc, test_uart_character_timeout);
	tcase_add_test(tc, test_uart_iir_priority_order);
	tcase_add_test(tc, test_uart_out2_gates_the_line);
	tcase_add_test(tc, test_uart_no_interrupt_with_ier_zero);
	tcase_add_test(tc, test_uart_loopback);
	tcase_add_test(tc, test_uart_fcr_rules);
	tcase_add_test(tc, test_uart_rts_flow_control);
	tcase_add_test(tc, test_uart_random_traffic_keeps_invariants);
	tcase_add_test(tc, test_uart_reset_restores_power_on_state);
	tcase_add_test(tc, test_uart_without_a_line);
	tcase_add_test(tc, test_uart_level_line);
	suite_add_tcase(s, tc);
	return s;
}

IOR_TEST_MAIN(uart_suite)
