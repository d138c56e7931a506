/* SPDX-License-Identifier: MIT */
/*
 * stringio: string PIO to and from the UART, outside loopback.
 *   1. builds STRINGIO_LINES lines of 64 bytes ("NNNN:" + a rotating
 *      alphabet + "\n") in free RAM and sends all of them with ONE
 *      `rep outsb`: KVM splits it into exits of up to a page each
 *      (io.count > 1); the UART must print every byte, in order;
 *   2. receives one line from the UART (the device reads its stdin),
 *      polling LSR DR, and sends it back as "echo: <line>" with
 *      `rep outsb` again.
 * Status 0 on the debug-exit port, 1 if the received line does not fit.
 */
#include "guest.h"

#define STRINGIO_LINES 80
#define LINE_LEN 64
#define BUF 0x100000
#define RXBUF 0x180000
#define RX_MAX 256

	.code64
	.text
	.globl _start
_start:
	test	%rdi, %rdi
	jnz	halt
	cld

	/* 1. the block: line i is "%04d:" then 58 letters from i, "\n". */
	mov	$BUF, %edi
	xor	%r8d, %r8d			/* line number */
line:
	mov	%r8d, %eax			/* four decimal digits */
	mov	$1000, %ecx
	call	digit
	mov	$100, %ecx
	call	digit
	mov	$10, %ecx
	call	digit
	mov	$1, %ecx
	call	digit
	mov	$':', %al
	stosb
	mov	%r8d, %eax
	mov	$(LINE_LEN - 6), %ecx
letters:
	push	%rax
	xor	%edx, %edx
	mov	$26, %r9d
	div	%r9d
	lea	'a'(%rdx), %eax
	stosb
	pop	%rax
	inc	%eax
	dec	%ecx
	jnz	letters
	mov	$'\n', %al
	stosb
	inc	%r8d
	cmp	$STRINGIO_LINES, %r8d
	jb	line

	mov	$BUF, %esi
	mov	$(STRINGIO_LINES * LINE_LEN), %ecx
	mov	$(COM1 + UART_TX), %dx
	rep outsb

	/* 2. receive a line, echo it back. */
	mov	$RXBUF, %edi
	lea	prefix(%rip), %rsi
	mov	$(prefix_end - prefix), %ecx
	rep movsb
	xor	%ebx, %ebx			/* bytes received */
rx:
	mov	$(COM1 + UART_LSR), %dx
	in	%dx, %al
	test	$UART_LSR_DR, %al
	jz	rx
	mov	$(COM1 + UART_RX), %dx
	in	%dx, %al
	stosb
	inc	%ebx
	cmp	$'\n', %al
	je	echo
	cmp	$RX_MAX, %ebx
	jb	rx
	mov	$1, %al
	jmp	out
echo:
	mov	$RXBUF, %esi
	lea	(prefix_end - prefix)(%rbx), %ecx
	mov	$(COM1 + UART_TX), %dx
	rep outsb
	xor	%eax, %eax
out:
	out	%al, $TINYVMM_DEBUG_EXIT_PORT
halt:
	hlt
	jmp	halt

/* digit: store '0' + (%eax / %ecx) % 10 at %rdi; keeps %eax. */
digit:
	push	%rax
	xor	%edx, %edx
	div	%ecx
	xor	%edx, %edx
	mov	$10, %ecx
	div	%ecx
	lea	'0'(%rdx), %eax
	stosb
	pop	%rax
	ret

prefix:
	.ascii	"echo: "
prefix_end:
