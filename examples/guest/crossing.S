/* SPDX-License-Identifier: MIT */
/*
 * crossing: two vCPUs (tinyvmm --vcpus 2) read the regbank device at the
 * same time over two paths. vCPU 0 writes CROSSING_N values to SCRATCH32
 * and reads each back: on a patched kernel these go through KVM's
 * ioregionfd fast path. vCPU 1 makes CROSSING_N 4-byte reads that start
 * 2 bytes below the device, crossing the page boundary into it: KVM
 * splits them, the first half belongs to no device, so the second half
 * (REGBANK_ID's low 2 bytes) leaves KVM too and is served by the VMM's
 * bridge. Every value is checked: vCPU 1 must see 0xffff (open bus) below
 * and ID & 0xffff above. Should the kernel and the bridge share one open
 * file, their replies cross and one vCPU gets the other's value.
 * Status: 0 pass, bit 0 vCPU 0 saw a wrong value, bit 1 vCPU 1 did.
 * Entry state: tinyvmm.h (rdi = vCPU index, rsi = number of vCPUs).
 */
#include "guest.h"

#define CROSSING_N 1000
#define DONE TINYVMM_SHARED
#define BAD (TINYVMM_SHARED + 8)
#define CROSSING_WANT (((REGBANK_ID_VALUE & 0xffff) << 16) | 0xffff)

	.code64
	.text
	.globl _start
_start:
	mov	$REGBANK, %ebx
	test	%rdi, %rdi
	jnz	crosser

	/* vCPU 0: write, read back, next value (an LCG) */
	mov	$CROSSING_N, %ecx
	mov	$0x12345678, %eax
1:	movl	%eax, REGBANK_SCRATCH32(%rbx)
	movl	REGBANK_SCRATCH32(%rbx), %edx
	cmp	%eax, %edx
	je	2f
	lock orl $1, BAD
2:	imul	$1103515245, %eax, %eax
	add	$12345, %eax
	dec	%ecx
	jnz	1b
	lock incl DONE

3:	pause
	cmpl	$2, DONE
	jne	3b
	movl	BAD, %eax
	out	%al, $TINYVMM_DEBUG_EXIT_PORT
	jmp	halt

crosser:
	mov	$CROSSING_N, %ecx
4:	movl	-2(%rbx), %eax
	cmp	$CROSSING_WANT, %eax
	je	5f
	lock orl $2, BAD
5:	dec	%ecx
	jnz	4b
	lock incl DONE
halt:
	hlt
	jmp	halt
