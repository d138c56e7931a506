/* SPDX-License-Identifier: MIT */
/*
 * uartirq: an interrupt-driven echo through the 16550A UART at 0x3f8.
 *
 * Needs an in-kernel irqchip (KVM_CREATE_IRQCHIP: with it KVM also runs
 * HLT, the PIC pair, the IOAPIC and the local APICs) and the UART's line
 * on GSI 4 (tinyvmm: the device's --irq-fd eventfd registered with
 * KVM_IRQFD for GSI 4). vCPU 0:
 *   1. fills an IDT: vectors 0-31 end the run with status 0x80 + vector,
 *      0x24 is the UART's handler, the other PIC vectors are counted, the
 *      rest (the local APIC's spurious 0xff) return at once;
 *   2. puts its local APIC in virtual-wire mode (enabled, LINT0 ExtINT,
 *      LINT1 NMI) so that the 8259 PIC's output reaches it, whatever the
 *      reset state KVM gave LINT0;
 *   3. programs the PIC pair (ICW1-4): vectors 0x20-0x27 and 0x28-0x2f,
 *      edge triggered, IRQ 4 and the cascade unmasked, the rest masked;
 *   4. programs the UART: 8N1, FIFOs on at trigger level 8, IER = RDA |
 *      THRE | RLS, MCR = DTR | RTS | OUT2 (the PC's interrupt gate), and
 *      enables interrupts;
 *   5. sleeps in HLT (sti; hlt, so that no interrupt slips in between the
 *      check and the sleep) until the handler says the work is done.
 * The handler reads IIR until it says "none pending": on received data
 * (or the character timeout) it drains the FIFO while LSR DR into a ring
 * and enables THRE; on THRE it writes up to 16 bytes from the ring to
 * THR and, once the ring is empty, disables THRE again (as Linux's
 * __stop_tx() does); then EOI to the PIC. So every byte is read on a
 * receive interrupt and sent on a THRE interrupt.
 *
 * The run ends after the line "bye": once everything up to its newline
 * is echoed, interrupts go off and the guest prints, polled,
 *   uartirq: echoed N bytes, M interrupts (R rx, T tx)
 * and writes its status to the debug-exit port: 0 if the UART's vector
 * came (M > 0) with both a receive (R > 0) and a THRE (T > 0) interrupt;
 * 2, 3 or 4 if not; 5 if the ring overflowed. Other vCPUs sleep with
 * interrupts off.
 */
#include "guest.h"

/* Free RAM (tinyvmm.h): the IDT, the ring of bytes to send, counters. */
#define IDT		0x100000		/* 256 gates of 16 bytes */
#define RING		0x101000
#define RING_SIZE	256
#define VARS		0x102000
#define V_IRQS		(VARS + 0x00)	/* UART handler entries */
#define V_RX_IRQS	(VARS + 0x08)	/* ... that found received data */
#define V_TX_IRQS	(VARS + 0x10)	/* ... that found THRE */
#define V_HEAD		(VARS + 0x18)	/* bytes put in the ring */
#define V_TAIL		(VARS + 0x20)	/* bytes sent from the ring */
#define V_LAST		(VARS + 0x28)	/* the last 5 bytes received */
#define V_BYE		(VARS + 0x30)	/* ring position after "bye\n" */
#define V_DONE		(VARS + 0x38)	/* all echoed up to V_BYE */
#define V_IER		(VARS + 0x40)	/* IER as last written */
#define V_OTHER		(VARS + 0x48)	/* other PIC vectors */
#define V_DROPPED	(VARS + 0x50)	/* bytes the full ring refused */
#define V_LINE_ERR	(VARS + 0x58)	/* line status interrupts */
#define IDTR		(VARS + 0x100)	/* 10-byte IDT descriptor */

/* "\nbye\n" as the last five bytes, newest in the low byte. */
#define BYE_PATTERN	0x0a6279650a
#define LAST_MASK	0xffffffffff

/* 8259A PIC pair. */
#define PIC1_CMD	0x20
#define PIC1_DATA	0x21
#define PIC2_CMD	0xa0
#define PIC2_DATA	0xa1
#define PIC_ICW1	0x11		/* edge, cascade, ICW4 follows */
#define PIC_ICW4_8086	0x01
#define PIC_EOI		0x20
#define PIC1_VECTOR	0x20
#define PIC2_VECTOR	0x28
#define UART_VECTOR	(PIC1_VECTOR + UART_COM1_IRQ)

/* Local APIC (default base). */
#define LAPIC		0xfee00000
#define LAPIC_SVR	0xf0
#define LAPIC_LVT0	0x350
#define LAPIC_LVT1	0x360
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_SPURIOUS	0xff
#define LAPIC_EXTINT	0x700
#define LAPIC_NMI	0x400

#define GATE_INTR64	0x8e		/* present, DPL 0, interrupt gate */
#define IER_RX		(UART_IER_RDI | UART_IER_RLSI)
#define TX_BURST	16		/* the 16550A's transmit FIFO */

	.code64
	.text
	.globl _start
_start:
	test	%rdi, %rdi
	jnz	sleep_forever
	cld

	/* counters and ring start at zero; "\n" before the first line */
	mov	$VARS, %edi
	mov	$(0x100 / 8), %ecx
	xor	%eax, %eax
	rep stosq
	movq	$0x0a, V_LAST

	/* 1. the IDT */
	xor	%ebx, %ebx
idt_exceptions:
	lea	exc_stubs(%rip), %rsi
	lea	(%rsi,%rbx,8), %rsi
	mov	%ebx, %edi
	call	set_gate
	inc	%ebx
	cmp	$32, %ebx
	jb	idt_exceptions
idt_rest:
	lea	ignore_isr(%rip), %rsi
	cmp	$PIC1_VECTOR, %ebx
	jb	1f
	cmp	$(PIC2_VECTOR + 8), %ebx
	jae	1f
	lea	other_isr(%rip), %rsi
1:	mov	%ebx, %edi
	call	set_gate
	inc	%ebx
	cmp	$256, %ebx
	jb	idt_rest
	mov	$UART_VECTOR, %edi
	lea	uart_isr(%rip), %rsi
	call	set_gate
	mov	$(PIC1_VECTOR + 7), %edi	/* the master's spurious IRQ 7 */
	lea	ignore_isr(%rip), %rsi
	call	set_gate
	movw	$(256 * 16 - 1), IDTR
	movq	$IDT, IDTR + 2
	lidt	IDTR

	/* 2. local APIC: virtual wire */
	mov	$LAPIC, %ebx
	movl	$(LAPIC_SVR_ENABLE | LAPIC_SPURIOUS), LAPIC_SVR(%rbx)
	movl	$LAPIC_EXTINT, LAPIC_LVT0(%rbx)
	movl	$LAPIC_NMI, LAPIC_LVT1(%rbx)

	/* 3. the PIC pair */
	mov	$PIC_ICW1, %al
	out	%al, $PIC1_CMD
	out	%al, $PIC2_CMD
	mov	$PIC1_VECTOR, %al		/* ICW2: vector base */
	out	%al, $PIC1_DATA
	mov	$PIC2_VECTOR, %al
	out	%al, $PIC2_DATA
	mov	$0x04, %al			/* ICW3: slave on IRQ 2 */
	out	%al, $PIC1_DATA
	mov	$0x02, %al			/* ICW3: slave identity */
	out	%al, $PIC2_DATA
	mov	$PIC_ICW4_8086, %al
	out	%al, $PIC1_DATA
	out	%al, $PIC2_DATA
	mov	$(~((1 << UART_COM1_IRQ) | (1 << 2)) & 0xff), %al
	out	%al, $PIC1_DATA			/* OCW1: the masks */
	mov	$0xff, %al
	out	%al, $PIC2_DATA

	/* 4. the UART */
	mov	$(COM1 + UART_LCR), %dx
	mov	$(UART_LCR_DLAB | UART_LCR_WLEN8), %al
	out	%al, %dx
	mov	$(COM1 + UART_TX), %dx		/* DLL: 115200 baud */
	mov	$1, %al
	out	%al, %dx
	mov	$(COM1 + UART_IER), %dx		/* DLM */
	xor	%al, %al
	out	%al, %dx
	mov	$(COM1 + UART_LCR), %dx
	mov	$UART_LCR_WLEN8, %al
	out	%al, %dx
	mov	$(COM1 + UART_FCR), %dx
	mov	$(UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT | UART_FCR_TRIGGER_8), %al
	out	%al, %dx
	mov	$(COM1 + UART_LSR), %dx		/* clear what is pending */
	in	%dx, %al
	mov	$(COM1 + UART_IIR), %dx
	in	%dx, %al
	mov	$(COM1 + UART_MSR), %dx
	in	%dx, %al
	mov	$(IER_RX | UART_IER_THRI), %al
	call	set_ier
	mov	$(COM1 + UART_MCR), %dx
	mov	$(UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2), %al
	out	%al, %dx

	/* 5. sleep until done */
idle:
	cli
	cmpq	$0, V_DONE
	jne	finish
	sti
	hlt
	jmp	idle

finish:
	xor	%al, %al			/* polled from now on */
	call	set_ier
	lea	msg_echoed(%rip), %rsi
	call	puts
	mov	V_TAIL, %rax
	call	put_dec
	lea	msg_bytes(%rip), %rsi
	call	puts
	mov	V_IRQS, %rax
	call	put_dec
	lea	msg_irqs(%rip), %rsi
	call	puts
	mov	V_RX_IRQS, %rax
	call	put_dec
	lea	msg_rx(%rip), %rsi
	call	puts
	mov	V_TX_IRQS, %rax
	call	put_dec
	lea	msg_tx(%rip), %rsi
	call	puts

	mov	$5, %al
	cmpq	$0, V_DROPPED
	jne	exit
	mov	$2, %al
	cmpq	$0, V_IRQS
	je	exit
	mov	$3, %al
	cmpq	$0, V_RX_IRQS
	je	exit
	mov	$4, %al
	cmpq	$0, V_TX_IRQS
	je	exit
	xor	%eax, %eax
exit:
	out	%al, $TINYVMM_DEBUG_EXIT_PORT
sleep_forever:
	cli
	hlt
	jmp	sleep_forever

/* set_gate: gate %edi -> handler %rsi. Clobbers %rax, %rdx. */
set_gate:
	mov	%edi, %eax
	shl	$4, %rax
	add	$IDT, %rax
	movw	%si, (%rax)
	movw	$TINYVMM_SEL_CODE, 2(%rax)
	movb	$0, 4(%rax)
	movb	$GATE_INTR64, 5(%rax)
	mov	%rsi, %rdx
	shr	$16, %rdx
	movw	%dx, 6(%rax)
	shr	$16, %rdx
	movl	%edx, 8(%rax)
	movl	$0, 12(%rax)
	ret

/* set_ier: IER := %al, remembered in V_IER. Clobbers %dx. */
set_ier:
	movzbq	%al, %rdx
	mov	%rdx, V_IER
	mov	$(COM1 + UART_IER), %dx
	out	%al, %dx
	ret

/* putc: %al to THR once LSR says THRE (polled). Clobbers %dx, %ah. */
putc:
	mov	%al, %ah
	mov	$(COM1 + UART_LSR), %dx
1:	in	%dx, %al
	test	$UART_LSR_THRE, %al
	jz	1b
	mov	$(COM1 + UART_TX), %dx
	mov	%ah, %al
	out	%al, %dx
	ret

/* puts: the NUL-terminated string at %rsi. */
puts:
	lodsb
	test	%al, %al
	jz	1f
	call	putc
	jmp	puts
1:	ret

/* put_dec: %rax in decimal. Clobbers %rax, %rcx, %rdx. */
put_dec:
	mov	$10, %ecx
	push	$-1				/* end marker */
1:	xor	%edx, %edx
	div	%rcx
	push	%rdx
	test	%rax, %rax
	jnz	1b
2:	pop	%rax
	cmp	$-1, %rax
	je	3f
	add	$'0', %al
	call	putc
	jmp	2b
3:	ret

/* ---- interrupt handlers ------------------------------------------------ */

uart_isr:
	push	%rax
	push	%rcx
	push	%rdx
	push	%rsi
	incq	V_IRQS
next_source:
	mov	$(COM1 + UART_IIR), %dx
	in	%dx, %al
	test	$UART_IIR_NO_INT, %al
	jnz	isr_done
	and	$UART_IIR_ID, %al
	cmp	$UART_IIR_RLSI, %al
	je	line_status
	cmp	$UART_IIR_RDI, %al
	je	receive
	cmp	$UART_IIR_RX_TIMEOUT, %al
	je	receive
	cmp	$UART_IIR_THRI, %al
	je	transmit
	mov	$(COM1 + UART_MSR), %dx		/* modem status: acknowledge */
	in	%dx, %al
	jmp	next_source

line_status:
	incq	V_LINE_ERR
	mov	$(COM1 + UART_LSR), %dx
	in	%dx, %al
	jmp	next_source

receive:
	incq	V_RX_IRQS
rx_byte:
	mov	$(COM1 + UART_LSR), %dx
	in	%dx, %al
	test	$UART_LSR_DR, %al
	jz	rx_drained
	mov	$(COM1 + UART_RX), %dx
	in	%dx, %al
	movzbq	%al, %rcx
	mov	V_LAST, %rsi			/* the terminator check */
	shl	$8, %rsi
	or	%rcx, %rsi
	movabs	$LAST_MASK, %rdx
	and	%rdx, %rsi
	mov	%rsi, V_LAST
	mov	V_HEAD, %rsi			/* into the ring */
	mov	%rsi, %rdx
	sub	V_TAIL, %rdx
	cmp	$RING_SIZE, %rdx
	jae	rx_full
	mov	%rsi, %rdx
	and	$(RING_SIZE - 1), %edx
	mov	%al, RING(%rdx)
	inc	%rsi
	mov	%rsi, V_HEAD
	movabs	$BYE_PATTERN, %rdx
	cmp	%rdx, V_LAST
	jne	rx_byte
	cmpq	$0, V_BYE
	jne	rx_byte
	mov	%rsi, V_BYE			/* echo up to here, then stop */
	jmp	rx_byte
rx_full:
	incq	V_DROPPED
	jmp	rx_byte
rx_drained:
	mov	V_HEAD, %rax			/* something to send: THRE on */
	cmp	V_TAIL, %rax
	je	next_source
	testq	$UART_IER_THRI, V_IER
	jnz	next_source
	mov	$(IER_RX | UART_IER_THRI), %al
	call	set_ier
	jmp	next_source

transmit:
	incq	V_TX_IRQS
	mov	$TX_BURST, %ecx
	mov	V_TAIL, %rsi
tx_byte:
	cmp	V_HEAD, %rsi
	je	tx_empty
	mov	%rsi, %rdx
	and	$(RING_SIZE - 1), %edx
	mov	RING(%rdx), %al
	mov	$(COM1 + UART_TX), %dx
	out	%al, %dx
	inc	%rsi
	mov	%rsi, V_TAIL
	dec	%ecx
	jnz	tx_byte
	jmp	next_source
tx_empty:
	mov	$IER_RX, %al			/* nothing left: THRE off */
	call	set_ier
	mov	V_BYE, %rax
	test	%rax, %rax
	jz	next_source
	cmp	%rax, %rsi
	jb	next_source
	movq	$1, V_DONE
	jmp	next_source

isr_done:
	mov	$PIC_EOI, %al
	out	%al, $PIC1_CMD
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rax
	iretq

/* A PIC vector nobody unmasked: count it, EOI both PICs. */
other_isr:
	push	%rax
	incq	V_OTHER
	mov	$PIC_EOI, %al
	out	%al, $PIC2_CMD
	out	%al, $PIC1_CMD
	pop	%rax
	iretq

/* The PIC's spurious IRQ 7 and the local APIC's spurious vector: no EOI. */
ignore_isr:
	iretq

/* Exceptions 0-31: 8-byte stubs, exc_stubs + 8 * vector. */
	.balign	8
exc_stubs:
	.irp	n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign	8
	mov	$(0x80 + \n), %al
	jmp	exc_common
	.endr
exc_common:
	out	%al, $TINYVMM_DEBUG_EXIT_PORT
	jmp	sleep_forever

msg_echoed:
	.asciz	"uartirq: echoed "
msg_bytes:
	.asciz	" bytes, "
msg_irqs:
	.asciz	" interrupts ("
msg_rx:
	.asciz	" rx, "
msg_tx:
	.asciz	" tx)\n"
