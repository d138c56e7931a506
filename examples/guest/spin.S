/* SPDX-License-Identifier: MIT */
/*
 * spin: reads the regbank counter and writes ADD forever, so that a device
 * killed in the middle of the run is noticed by tinyvmm (the VMM must
 * report the error within its bound and exit, never hang). Never passes by
 * itself: ends only by an error or tinyvmm's timeout.
 */
#include "guest.h"

	.code64
	.text
	.globl _start
_start:
	mov	$REGBANK, %ebx
1:	movq	REGBANK_COUNTER(%rbx), %rax
	movq	%rax, REGBANK_ADD(%rbx)
	jmp	1b
