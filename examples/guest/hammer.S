/* SPDX-License-Identifier: MIT */
/*
 * hammer: every vCPU (tinyvmm --vcpus K) writes the regbank device at the
 * same time: HAMMER_N non-posted writes of (index + 1) to ADD and HAMMER_N
 * posted writes to the log port each. When all are done (a counter in the
 * shared page), vCPU 0 checks that the device saw every write: SUM,
 * COUNT and LOG_LEN. Status: 0 pass, 1 SUM, 2 COUNT, 3 LOG_LEN wrong.
 * Entry state: tinyvmm.h (rdi = vCPU index, rsi = number of vCPUs).
 */
#include "guest.h"

#define HAMMER_N 2000
#define DONE TINYVMM_SHARED

	.code64
	.text
	.globl _start
_start:
	mov	%rdi, %r12			/* index */
	mov	%rsi, %r13			/* vCPUs */
	mov	$REGBANK, %ebx
	lea	REGBANK_LOG_OFFSET(%rbx), %rbp
	lea	1(%r12), %rax
	mov	$HAMMER_N, %ecx
1:	movq	%rax, REGBANK_ADD(%rbx)
	movl	%eax, (%rbp)
	dec	%ecx
	jnz	1b
	lock incl DONE
	test	%r12, %r12
	jnz	halt

2:	pause
	cmpl	%r13d, DONE
	jne	2b

	/* SUM = N * (1 + 2 + ... + K) = N * K * (K + 1) / 2 */
	lea	1(%r13), %rax
	imul	%r13, %rax
	shr	$1, %rax
	imul	$HAMMER_N, %rax, %rax
	movq	REGBANK_SUM(%rbx), %rcx
	mov	$1, %dl
	cmp	%rax, %rcx
	jne	out
	imul	$HAMMER_N, %r13, %rax		/* COUNT = N * K */
	movq	REGBANK_COUNT(%rbx), %rcx
	mov	$2, %dl
	cmp	%rax, %rcx
	jne	out
	movl	REGBANK_LOG_LEN(%rbx), %ecx
	mov	$3, %dl
	cmp	%rax, %rcx
	jne	out
	xor	%edx, %edx
out:
	mov	%dl, %al
	out	%al, $TINYVMM_DEBUG_EXIT_PORT
halt:
	hlt
	jmp	halt
