/* SPDX-License-Identifier: MIT */
/*
 * uart-line-test: the uart16550 program's interrupt line, end to end
 * without KVM. This process plays the VMM and KVM: it gives the device a
 * pipe as its stdin, attaches it with the control session (its region to
 * a bridge, and for its line an eventfd of ours: the session's get_line
 * callback), makes the guest's accesses through the bridge (the path of a
 * KVM exit) and reads the eventfd's counter where KVM's irqfd would:
 *   1. MCR OUT2 | RTS, IER THRE: one edge; IIR THRE, then none;
 *   2. IER RDA, a byte into the pipe: an edge once the device has read
 *      it; IIR RDA; the byte in RBR;
 *   3. FIFOs at trigger level 8, three bytes: no RDA, but the character
 *      timeout (the device's timer) raises the line; IIR 0xcc;
 *   4. OUT2 cleared: THRE enabled again, no edge.
 * Usage: uart-line-test PATH-TO-uart16550. Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/serial_reg.h>

#include "ioregion/bridge.h"
#include "ioregion/vmm.h"

#include "devtest.h"

#define PROG "uart-line-test"
#define COM1 0x3f8
#define WAIT_MS 5000		/* generous: the device runs on its own */

static struct devtest t;
static int efd = -1;

static uint8_t
in(unsigned int off)
{
	uint64_t v = 0;
	int rc = ioregion_bridge_access(t.bridge, true, COM1 + off, false, 1,
					&v);

	if (rc != 1)
		check(false, "read of port 0x%x: %d", COM1 + off, rc);
	return (uint8_t)v;
}

static void
out(unsigned int off, uint8_t val)
{
	uint64_t v = val;
	int rc = ioregion_bridge_access(t.bridge, true, COM1 + off, true, 1,
					&v);

	if (rc != 1)
		check(false, "write of port 0x%x: %d", COM1 + off, rc);
}

/* The writes the line made since the last call, waiting up to @wait_ms
 * for the first one. */
static uint64_t
edges(int wait_ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t n;

	if (wait_ms && poll(&p, 1, wait_ms) < 0)
		return 0;
	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

/* The device's one line: our eventfd, wired to nothing but this test. */
static int
get_line(void *data, const char *device, unsigned int index, const char *name,
	 uint32_t trigger, struct ioregion_vmm_line *line)
{
	(void)data;
	(void)name;
	check(!strcmp(device, "uart16550") && index == 0 &&
	      trigger == IOREGION_LINE_EDGE,
	      "the device asks for one edge line (%s, %u)", device, index);
	*line = (struct ioregion_vmm_line){ .fd = efd, .resample_fd = -1,
					    .gsi = 4 };
	return 0;
}

int
main(int argc, char **argv)
{
	struct ioregion_vmm_config cfg = {
		.vm_fd = -1, .get_line = get_line,
	};
	char cmd[512];
	int in_pipe[2] = { -1, -1 };
	uint64_t n;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: " PROG " PATH-TO-uart16550\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* The device's stdin is inherited, so not close-on-exec. */
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0 || pipe(in_pipe) < 0 || dup2(in_pipe[0], 0) < 0) {
		perror(PROG ": eventfd/pipe");
		return 1;
	}
	close(in_pipe[0]);
	fcntl(in_pipe[1], F_SETFD, FD_CLOEXEC);
	snprintf(cmd, sizeof(cmd), "%s --rtscts --quiet", argv[1]);

	if (devtest_start(&t, PROG, cmd, &cfg, WAIT_MS) < 0)
		goto out;
	close(0);		/* the device holds the pipe's read end now */

	/* 1. THRE when enabled, through the OUT2 gate */
	out(UART_MCR, UART_MCR_OUT2 | UART_MCR_RTS | UART_MCR_DTR);
	check(edges(0) == 0, "MCR OUT2: no edge with IER 0");
	out(UART_IER, UART_IER_THRI);
	n = edges(0);
	check(n == 1, "IER THRE: %" PRIu64 " edge(s), want 1", n);
	check(in(UART_IIR) == UART_IIR_THRI, "IIR reports THRE");
	check(in(UART_IIR) == UART_IIR_NO_INT, "reading IIR cleared it");

	/* 2. RDA from stdin */
	out(UART_IER, UART_IER_RDI);
	if (write(in_pipe[1], "a", 1) != 1)
		check(false, "write to the device's stdin: %s", strerror(errno));
	n = edges(WAIT_MS);
	check(n == 1, "a byte on stdin: %" PRIu64 " edge(s), want 1", n);
	check(in(UART_IIR) == UART_IIR_RDI, "IIR reports RDA");
	check(in(UART_LSR) & UART_LSR_DR, "LSR DR");
	check(in(UART_RX) == 'a', "RBR is the byte");
	check(in(UART_IIR) == UART_IIR_NO_INT, "nothing pending after it");

	/* 3. the character timeout below the trigger level */
	out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_R_TRIG_10);
	if (write(in_pipe[1], "xyz", 3) != 3)
		check(false, "write to the device's stdin: %s", strerror(errno));
	n = edges(WAIT_MS);
	check(n == 1, "3 bytes at trigger level 8: %" PRIu64 " edge(s) "
	      "(the timeout), want 1", n);
	check(in(UART_IIR) == (0xc0 | UART_IIR_RX_TIMEOUT),
	      "IIR reports the character timeout");
	check(in(UART_RX) == 'x' && in(UART_RX) == 'y' && in(UART_RX) == 'z',
	      "the three bytes in order");
	check(in(UART_IIR) == (0xc0 | UART_IIR_NO_INT), "none pending after");

	/* 4. OUT2 closes the gate */
	out(UART_MCR, UART_MCR_RTS);
	out(UART_IER, UART_IER_THRI);
	check(in(UART_IIR) == (0xc0 | UART_IIR_THRI), "THRE pending in IIR");
	check(edges(0) == 0, "no edge without OUT2");

out:
	close(in_pipe[1]);
	rc = devtest_finish(&t);
	close(efd);
	return rc;
}
