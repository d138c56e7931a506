/* SPDX-License-Identifier: MIT */
/*
 * reconnect: drives regbank through a reset and through the death and
 * restart of its device process, while the guest keeps running:
 *
 *   tinyvmm --guest reconnect.bin --spawn regbank --restart regbank
 *
 *   1. the device is there (ID), SCRATCH32 keeps a value;
 *   2. a reset through tinyvmm's reset port (the control session's
 *      RESET): SCRATCH32 reads its reset value, 0;
 *   3. SCRATCH32 written again, then mark 1 on tinyvmm's mark port: the
 *      harness (example-test reconnect) kills the device process now;
 *   4. reads of SCRATCH32 give the value until one gives all-ones: the
 *      gap, answered by the bridge while the device is gone (mark 2);
 *   5. reads of ID give all-ones until the restarted device answers
 *      (mark 3);
 *   6. the new device: SCRATCH32 at its reset value, and it keeps what
 *      is written.
 * Status on the debug-exit port: 0 pass, else the number of the failed
 * step. Waiting has no bound here: tinyvmm's --timeout-ms ends a run
 * whose device never goes or never comes back (the marks tell which).
 */
#include "guest.h"

#define VALUE	0x5ca1ab1e

.macro mark n
	mov	$\n, %al
	out	%al, $TINYVMM_MARK_PORT
.endm

	.code64
	.text
	.globl _start
_start:
	test	%rdi, %rdi
	jnz	halt
	mov	$REGBANK, %ebx

	/* 1 */
	mov	$1, %r15d
	movl	REGBANK_ID(%rbx), %eax
	cmp	$REGBANK_ID_VALUE, %eax
	jne	fail
	movl	$VALUE, REGBANK_SCRATCH32(%rbx)
	movl	REGBANK_SCRATCH32(%rbx), %eax
	cmp	$VALUE, %eax
	jne	fail

	/* 2 */
	mov	$2, %r15d
	out	%al, $TINYVMM_RESET_PORT
	movl	REGBANK_SCRATCH32(%rbx), %eax
	test	%eax, %eax
	jne	fail

	/* 3 */
	mov	$3, %r15d
	movl	$VALUE, REGBANK_SCRATCH32(%rbx)
	mark	1

	/* 4: the value, until all-ones */
	mov	$4, %r15d
1:	movl	REGBANK_SCRATCH32(%rbx), %eax
	cmp	$0xffffffff, %eax
	je	2f
	cmp	$VALUE, %eax
	jne	fail
	pause
	jmp	1b
2:	mark	2

	/* 5: all-ones, until the ID */
	mov	$5, %r15d
3:	movl	REGBANK_ID(%rbx), %eax
	cmp	$REGBANK_ID_VALUE, %eax
	je	4f
	cmp	$0xffffffff, %eax
	jne	fail
	pause
	jmp	3b
4:	mark	3

	/* 6 */
	mov	$6, %r15d
	movl	REGBANK_SCRATCH32(%rbx), %eax
	test	%eax, %eax
	jne	fail
	movl	$7, REGBANK_SCRATCH32(%rbx)
	movl	REGBANK_SCRATCH32(%rbx), %eax
	cmp	$7, %eax
	jne	fail

	xor	%eax, %eax
	out	%al, $TINYVMM_DEBUG_EXIT_PORT
halt:
	hlt
	jmp	halt

fail:
	mov	%r15d, %eax
	out	%al, $TINYVMM_DEBUG_EXIT_PORT
	jmp	halt
