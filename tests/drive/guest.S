/* SPDX-License-Identifier: MIT */
/*
 * A guest for drive-device (tests/drive-device.c), run by ioregion-vmm:
 * the same checks as the drive scripts, from a real guest under KVM.
 * ID, scratch of every width with read-back, the read counter, posted
 * writes to the fifo then its count and sum (same channel: they arrive
 * first), and the 1-byte PIO memory. Status on the debug-exit port: 0
 * pass, else the number of the first check that failed.
 */
#include "../../examples/tinyvmm.h"

#define DT	0xe0000000
#define DT_FIFO	0xe0001000
#define DT_PIO	0x600
#define DT_ID	0x0d71e001

/* fail with status \n unless \a == \b (64-bit compare) */
.macro expect a, b, n
	mov	\b, %r8
	cmp	%r8, \a
	mov	$\n, %dl
	jne	out
.endm

	.code64
	.text
	.globl _start
_start:
	mov	$DT, %ebx
	mov	$DT_FIFO, %ebp

	movl	0x00(%rbx), %eax		/* 1: ID */
	expect	%rax, $DT_ID, 1

	movb	$0x5a, 0x08(%rbx)		/* 2-5: scratch, every width */
	movzbl	0x08(%rbx), %eax
	expect	%rax, $0x5a, 2
	movw	$0x1234, 0x08(%rbx)
	movzwl	0x08(%rbx), %eax
	expect	%rax, $0x1234, 3
	movl	$0x89abcdef, 0x08(%rbx)
	movl	0x08(%rbx), %eax
	expect	%rax, $0x89abcdef, 4
	movabs	$0x0123456789abcdef, %rcx
	movq	%rcx, 0x08(%rbx)
	movq	0x08(%rbx), %rax
	expect	%rax, %rcx, 5

	movq	0x10(%rbx), %rax		/* 6: counter 1, 2 */
	expect	%rax, $1, 6
	movq	0x10(%rbx), %rax
	expect	%rax, $2, 6

	movq	$10, (%rbp)			/* 7-8: posted fifo */
	movl	$20, (%rbp)
	movb	$30, (%rbp)
	movq	0x18(%rbx), %rax
	expect	%rax, $3, 7
	movq	0x20(%rbx), %rax
	expect	%rax, $60, 8

	mov	$DT_PIO, %dx			/* 9: PIO bytes */
	mov	$0xa5, %al
	out	%al, %dx
	inc	%dx
	mov	$0x3c, %al
	out	%al, %dx
	mov	$DT_PIO, %dx
	in	%dx, %al
	movzbl	%al, %ecx
	inc	%dx
	in	%dx, %al
	movzbl	%al, %eax
	shl	$8, %eax
	or	%ecx, %eax
	expect	%rax, $0x3ca5, 9

	xor	%edx, %edx
out:
	mov	%dl, %al
	out	%al, $TINYVMM_DEBUG_EXIT_PORT
halt:
	hlt
	jmp	halt
