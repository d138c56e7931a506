/* SPDX-License-Identifier: MIT */
/*
 * selftest: checks the regbank and uart16550 devices from a real guest,
 * through whatever path tinyvmm chose (bridge or ioregionfd):
 *   - MMIO of every width (1, 2, 4, 8 bytes) with read-back, the ID
 *     register, the read counter, the little-endian byte array;
 *   - read-to-clear (SUM/COUNT fed by ADD writes of every width);
 *   - a deferred read (answered by the device's timer ~1 ms later);
 *   - posted writes: 68 writes to the log port, then LOG_LEN and an
 *     order-sensitive hash (h = h * 31 + v) computed here too;
 *   - PIO of 1, 2 and 4 bytes on the regbank window, the UART's SCR,
 *     DLAB/DLL/DLM, IIR with FIFOs, LSR, loopback (THR -> RBR, MCR -> MSR),
 *     `rep outsb` then `rep insb` through the loopback FIFO;
 *   - refused accesses answer all-ones (a 2-byte UART access; an MMIO
 *     address no device claims).
 * vCPU 0 runs the checks (others halt), prints the verdict on the UART and
 * writes 0 (pass) or the number of the failed check to the debug-exit port.
 */
#include "guest.h"

/* Fail unless \reg (64-bit) equals \val; then count one check. */
.macro expect reg, val
	movabs	$\val, %r11
	cmp	%r11, \reg
	jne	fail
	inc	%r15
.endm

#define BUF (TINYVMM_SHARED + 0x100)
#define LOG_WRITES 64
#define LOG_MUL 0x9e3779b97f4a7c15

	.code64
	.text
	.globl _start
_start:
	test	%rdi, %rdi
	jnz	halt
	cld
	mov	$1, %r15d			/* number of the current check */
	mov	$REGBANK, %ebx			/* zero-extends to %rbx */

	/* 1: ID register, 4 bytes. */
	movl	REGBANK_ID(%rbx), %eax
	expect	%rax, REGBANK_ID_VALUE

	/* 2-5: scratch registers of every width. */
	movb	$0xa5, REGBANK_SCRATCH8(%rbx)
	movzbl	REGBANK_SCRATCH8(%rbx), %eax
	expect	%rax, 0xa5
	movw	$0xbeef, REGBANK_SCRATCH16(%rbx)
	movzwl	REGBANK_SCRATCH16(%rbx), %eax
	expect	%rax, 0xbeef
	movl	$0xdeadbeef, REGBANK_SCRATCH32(%rbx)
	movl	REGBANK_SCRATCH32(%rbx), %eax
	expect	%rax, 0xdeadbeef
	movabs	$0x0123456789abcdef, %rax
	movq	%rax, REGBANK_SCRATCH64(%rbx)
	xor	%eax, %eax
	movq	REGBANK_SCRATCH64(%rbx), %rax
	expect	%rax, 0x0123456789abcdef

	/* 6-10: the byte array, written and read at mixed widths. */
	movabs	$0x8877665544332211, %rax
	movq	%rax, REGBANK_ARRAY(%rbx)
	movzbl	REGBANK_ARRAY + 3(%rbx), %eax
	expect	%rax, 0x44
	movzwl	REGBANK_ARRAY + 4(%rbx), %eax
	expect	%rax, 0x6655
	movl	REGBANK_ARRAY + 4(%rbx), %eax
	expect	%rax, 0x88776655
	movb	$0xff, REGBANK_ARRAY(%rbx)
	movw	$0xeedd, REGBANK_ARRAY + 2(%rbx)
	movq	REGBANK_ARRAY(%rbx), %rax
	expect	%rax, 0x88776655eedd22ff
	movl	$0xcafef00d, REGBANK_ARRAY + 0xfc(%rbx)	/* last dword */
	movl	REGBANK_ARRAY + 0xfc(%rbx), %eax
	expect	%rax, 0xcafef00d

	/* 11: the counter counts reads. */
	movq	REGBANK_COUNTER(%rbx), %rax
	movq	REGBANK_COUNTER(%rbx), %rcx
	sub	%rax, %rcx
	expect	%rcx, 1

	/* 12-15: ADD of every width, SUM and COUNT read-to-clear. */
	movb	$5, REGBANK_ADD(%rbx)
	movw	$300, REGBANK_ADD(%rbx)
	movl	$70000, REGBANK_ADD(%rbx)
	movabs	$0x100000000, %rax
	movq	%rax, REGBANK_ADD(%rbx)
	movq	REGBANK_SUM(%rbx), %rax
	expect	%rax, 0x1000112a1
	movq	REGBANK_SUM(%rbx), %rax
	expect	%rax, 0
	movq	REGBANK_COUNT(%rbx), %rax
	expect	%rax, 4
	movq	REGBANK_COUNT(%rbx), %rax
	expect	%rax, 0

	/* 16-18: deferred reads (4 and 8 bytes), answered after the
	 * device's timer; the time register shows the wait. */
	movq	REGBANK_TIME_NS(%rbx), %r12
	movl	REGBANK_DEFERRED(%rbx), %eax
	expect	%rax, REGBANK_DEFERRED_TAG + 1
	movq	REGBANK_DEFERRED(%rbx), %rax
	expect	%rax, REGBANK_DEFERRED_TAG + 2
	movq	REGBANK_TIME_NS(%rbx), %r13
	sub	%r12, %r13
	cmp	$1000000, %r13			/* two 1 ms waits: >= 1 ms */
	jb	fail
	inc	%r15

	/* 19-21: posted writes keep their order and count. */
	movl	$1, REGBANK_LOG_CLEAR(%rbx)
	lea	REGBANK_LOG_OFFSET(%rbx), %rbp
	xor	%r12d, %r12d			/* the hash, computed here */
	mov	$1, %ecx
	movabs	$LOG_MUL, %r9
log_loop:
	mov	%rcx, %rax
	imul	%r9, %rax			/* v = i * LOG_MUL */
	movq	%rax, (%rbp)
	imul	$REGBANK_LOG_MULT, %r12, %r12
	add	%rax, %r12
	inc	%ecx
	cmp	$LOG_WRITES, %ecx
	jbe	log_loop
	/* ...and one of each width: the device sees the value masked. */
	movb	$0x81, (%rbp)
	imul	$REGBANK_LOG_MULT, %r12, %r12
	add	$0x81, %r12
	movw	$0x8282, (%rbp)
	imul	$REGBANK_LOG_MULT, %r12, %r12
	add	$0x8282, %r12
	movl	$0x83838383, (%rbp)
	imul	$REGBANK_LOG_MULT, %r12, %r12
	mov	$0x83838383, %eax
	add	%rax, %r12
	movabs	$0x8484848484848484, %rax
	movq	%rax, (%rbp)
	imul	$REGBANK_LOG_MULT, %r12, %r12
	add	%rax, %r12
	movl	REGBANK_LOG_LEN(%rbx), %eax
	expect	%rax, LOG_WRITES + 4
	movq	REGBANK_LOG_HASH(%rbx), %rax
	cmp	%r12, %rax
	jne	fail
	inc	%r15
	movl	(%rbp), %eax			/* the log port reads LOG_LEN */
	expect	%rax, LOG_WRITES + 4

	/* 22-25: PIO of 4, 2 and 1 bytes on the regbank window. */
	mov	$REGBANK_PIO_BASE, %dx
	mov	$0x11223344, %eax
	out	%eax, %dx
	add	$4, %dx
	mov	$0x5566, %ax
	out	%ax, %dx
	add	$2, %dx
	mov	$0x77, %al
	out	%al, %dx
	xor	%eax, %eax
	mov	$REGBANK_PIO_BASE, %dx
	in	%dx, %al
	expect	%rax, 0x44
	xor	%eax, %eax
	add	$2, %dx
	in	%dx, %ax
	expect	%rax, 0x1122
	add	$2, %dx
	in	%dx, %eax
	expect	%rax, 0x00775566
	mov	$REGBANK_PIO_BASE, %dx
	in	%dx, %eax
	expect	%rax, 0x11223344

	/* 26: UART scratch register. */
	mov	$0x5a, %al
	mov	$(COM1 + UART_SCR), %dx
	out	%al, %dx
	xor	%eax, %eax
	in	%dx, %al
	expect	%rax, 0x5a

	/* 27: LSR: transmitter empty, nothing received. */
	mov	$(COM1 + UART_LSR), %dx
	xor	%eax, %eax
	in	%dx, %al
	expect	%rax, UART_LSR_THRE | UART_LSR_TEMT

	/* 28-30: DLAB switches offsets 0/1 to the divisor latch. */
	mov	$(COM1 + UART_IER), %dx
	mov	$0x05, %al
	out	%al, %dx
	mov	$(COM1 + UART_LCR), %dx
	mov	$(UART_LCR_DLAB | 0x03), %al
	out	%al, %dx
	mov	$(COM1 + UART_TX), %dx
	mov	$0x01, %al
	out	%al, %dx			/* DLL = 1: 115200 baud */
	mov	$(COM1 + UART_IER), %dx
	mov	$0x00, %al
	out	%al, %dx			/* DLM = 0 */
	xor	%eax, %eax
	mov	$(COM1 + UART_RX), %dx
	in	%dx, %al
	expect	%rax, 0x01
	mov	$(COM1 + UART_LCR), %dx
	mov	$0x03, %al
	out	%al, %dx			/* 8N1, DLAB off */
	xor	%eax, %eax
	mov	$(COM1 + UART_IER), %dx
	in	%dx, %al
	expect	%rax, 0x05			/* IER kept its value */
	mov	$0, %al
	out	%al, %dx
	mov	$(COM1 + UART_LCR), %dx
	in	%dx, %al
	expect	%rax, 0x03

	/* 31-32: IIR: no interrupt, FIFO bits once FCR enables FIFOs. */
	mov	$(COM1 + UART_IIR), %dx
	in	%dx, %al
	expect	%rax, 0x01
	mov	$0x07, %al			/* enable, clear both */
	out	%al, %dx
	in	%dx, %al
	expect	%rax, 0xc1

	/* 33-35: loopback: THR comes back in RBR. */
	mov	$(COM1 + UART_MCR), %dx
	mov	$(UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS | UART_MCR_DTR), %al
	out	%al, %dx
	mov	$(COM1 + UART_TX), %dx
	mov	$'A', %al
	out	%al, %dx
	mov	$(COM1 + UART_LSR), %dx
	in	%dx, %al
	and	$UART_LSR_DR, %eax
	expect	%rax, UART_LSR_DR
	mov	$(COM1 + UART_RX), %dx
	in	%dx, %al
	expect	%rax, 'A'
	/* MSR: CTS <- RTS, DSR <- DTR, DCD <- OUT2 (RI <- OUT1 is off). */
	mov	$(COM1 + UART_MSR), %dx
	in	%dx, %al
	and	$0xf0, %eax
	expect	%rax, 0xb0

	/* 36-38: string PIO through the loopback FIFO. */
	lea	pattern(%rip), %rsi
	mov	$(pattern_end - pattern), %ecx
	mov	$(COM1 + UART_TX), %dx
	rep outsb
	mov	$(COM1 + UART_LSR), %dx
	in	%dx, %al
	and	$UART_LSR_DR, %eax
	expect	%rax, UART_LSR_DR
	mov	$BUF, %edi
	mov	$(pattern_end - pattern), %ecx
	mov	$(COM1 + UART_RX), %dx
	rep insb
	movq	BUF, %rax
	movq	pattern(%rip), %rcx
	cmp	%rcx, %rax
	jne	fail
	inc	%r15
	mov	$(COM1 + UART_LSR), %dx
	in	%dx, %al
	and	$UART_LSR_DR, %eax
	expect	%rax, 0
	mov	$(COM1 + UART_MCR), %dx
	xor	%eax, %eax
	out	%al, %dx			/* loopback off */
	mov	$(COM1 + UART_FCR), %dx
	out	%al, %dx			/* FIFOs off */

	/* 39-40: refused accesses read all-ones. */
	mov	$(COM1 + UART_SCR - 1), %dx
	in	%dx, %ax			/* the UART is byte-wide */
	movzwl	%ax, %eax
	expect	%rax, 0xffff
	mov	$0xc0000000, %ecx		/* nothing there */
	movl	(%rcx), %eax
	expect	%rax, 0xffffffff

	/* Every check passed. */
	lea	pass_msg(%rip), %rsi
	call	puts
	xor	%eax, %eax
	out	%al, $TINYVMM_DEBUG_EXIT_PORT
halt:
	hlt
	jmp	halt

fail:
	mov	$(COM1 + UART_MCR), %dx
	xor	%eax, %eax
	out	%al, %dx			/* leave loopback to be heard */
	lea	fail_msg(%rip), %rsi
	call	puts
	mov	%r15, %rax
	xor	%edx, %edx
	mov	$10, %ecx
	div	%rcx
	add	$'0', %al
	call	putc
	mov	%dl, %al
	add	$'0', %al
	call	putc
	mov	$'\n', %al
	call	putc
	mov	%r15d, %eax
	out	%al, $TINYVMM_DEBUG_EXIT_PORT
	jmp	halt

/* putc: send %al, polling LSR for THRE. Clobbers nothing else. */
putc:
	push	%rdx
	push	%rax
	mov	$(COM1 + UART_LSR), %dx
1:	in	%dx, %al
	test	$UART_LSR_THRE, %al
	jz	1b
	pop	%rax
	mov	$(COM1 + UART_TX), %dx
	out	%al, %dx
	pop	%rdx
	ret

/* puts: send the NUL-terminated string at %rsi. */
puts:
	lodsb
	test	%al, %al
	jz	1f
	call	putc
	jmp	puts
1:	ret

pattern:
	.ascii	"WXYZ1234"
pattern_end:
pass_msg:
	.asciz	"selftest: PASS\n"
fail_msg:
	.asciz	"selftest: FAIL at check "
