/* SPDX-License-Identifier: MIT */
/*
 * Common definitions of the guest programs (assembler only): the UART's
 * ports (values as in <linux/serial_reg.h>, which -nostdinc keeps out),
 * the debug-exit port and the guest ABI of tinyvmm.h, and the register
 * map of regbank.h.
 */
#ifndef EXAMPLES_GUEST_H
#define EXAMPLES_GUEST_H

#include "../tinyvmm.h"
#include "../regbank.h"

#define COM1		0x3f8
#define UART_RX		0	/* RBR, or DLL with DLAB */
#define UART_TX		0	/* THR, or DLL with DLAB */
#define UART_IER	1	/* or DLM with DLAB */
#define UART_IIR	2	/* read */
#define UART_FCR	2	/* write */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7
#define UART_IER_RDI	0x01	/* received data (and character timeout) */
#define UART_IER_THRI	0x02	/* THR empty */
#define UART_IER_RLSI	0x04	/* line status (overrun) */
#define UART_IER_MSI	0x08	/* modem status */
#define UART_IIR_NO_INT	0x01
#define UART_IIR_ID	0x0e
#define UART_IIR_MSI	0x00
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_RLSI	0x06
#define UART_IIR_RX_TIMEOUT 0x0c
#define UART_FCR_ENABLE_FIFO 0x01
#define UART_FCR_CLEAR_RCVR 0x02
#define UART_FCR_CLEAR_XMIT 0x04
#define UART_FCR_TRIGGER_8 0x80
#define UART_LCR_WLEN8	0x03
#define UART_LSR_DR	0x01
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_LCR_DLAB	0x80
#define UART_COM1_IRQ	4	/* ISA IRQ (GSI) of COM1 on a PC */
#define UART_MCR_DTR	0x01
#define UART_MCR_RTS	0x02
#define UART_MCR_OUT2	0x08
#define UART_MCR_LOOP	0x10

#define REGBANK		REGBANK_DEFAULT_BASE

#endif /* EXAMPLES_GUEST_H */
