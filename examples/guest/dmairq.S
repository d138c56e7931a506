/* SPDX-License-Identifier: MIT */
/*
 * dmairq: drives regbank's DMA engine from a real guest and sleeps in
 * HLT until its completion interrupt. Needs tinyvmm with the in-kernel
 * irqchip and the device given guest RAM and a line:
 *
 *   tinyvmm --guest dmairq.bin --spawn regbank --mem-for regbank \
 *           --irq regbank=5[,level]
 *
 *   - an IDT (exceptions: fail with status 200; vectors 0x20-0x2f: stray
 *     interrupts, counted; 0x25: the DMA handler);
 *   - both 8259 PICs remapped to vectors 0x20/0x28, only IRQ 5 unmasked;
 *   - a source buffer filled with a pattern, the destination with a
 *     guard pattern, one copy of DMA_LEN bytes (more than the device's
 *     bounce buffer), waited for with sti; hlt; the handler reads STATUS,
 *     acknowledges it (which lowers a level line), then EOIs the PIC;
 *   - checks: DONE, the bytes, the guard after the end untouched, one
 *     interrupt per copy;
 *   - copies the device must refuse, each interrupting with ERROR and its
 *     code and writing nothing: a destination outside RAM, a source
 *     wrapping past 2^64, a destination across the end of RAM, length 0,
 *     overlapping ranges; then a good copy again;
 *   - no stray interrupt.
 * Status on the debug-exit port: 0 pass, else the number of the failed
 * check. Other vCPUs halt.
 */
#include "guest.h"

.macro expect reg, val
	movabs	$\val, %r11
	cmp	%r11, \reg
	jne	fail
	inc	%r15
.endm

#define DMA_IRQ		5
#define IDT		TINYVMM_SHARED		/* 48 gates, 0x300 bytes */
#define IDT_GATES	48
#define IDTR		(TINYVMM_SHARED + 0x400)
#define IRQ_COUNT	(TINYVMM_SHARED + 0x500)	/* DMA interrupts */
#define LAST_STATUS	(TINYVMM_SHARED + 0x508)	/* STATUS they saw */
#define STRAY		(TINYVMM_SHARED + 0x510)	/* other IRQs */

#define SRC		0x100000
#define DST		0x140000
#define DMA_LEN		0x3001
#define GUARD		16
#define RAM_END_PAGE	(TINYVMM_RAM_SIZE - 0x1000)

#define ST_DONE		REGBANK_DMA_ST_DONE
#define ST_ERR(code)	(REGBANK_DMA_ST_ERROR | ((code) << REGBANK_DMA_ST_CODE_SHIFT))

	.code64
	.text
	.globl _start
_start:
	test	%rdi, %rdi
	jnz	halt
	cld
	mov	$1, %r15d
	mov	$REGBANK, %ebx
	movq	$0, IRQ_COUNT
	movq	$0, LAST_STATUS
	movq	$0, STRAY

	/* The IDT. */
	xor	%ecx, %ecx
	mov	$exception, %eax
1:	call	set_gate
	inc	%ecx
	cmp	$32, %ecx
	jb	1b
	mov	$stray_irq, %eax
2:	call	set_gate
	inc	%ecx
	cmp	$IDT_GATES, %ecx
	jb	2b
	mov	$0x20 + DMA_IRQ, %ecx
	mov	$dma_irq, %eax
	call	set_gate
	movw	$IDT_GATES * 16 - 1, IDTR
	movq	$IDT, IDTR + 2
	lidt	IDTR

	/* The PICs: ICW1-4, master at 0x20, slave at 0x28 on IRQ 2. */
	mov	$0x11, %al
	out	%al, $0x20
	out	%al, $0xa0
	mov	$0x20, %al
	out	%al, $0x21
	mov	$0x28, %al
	out	%al, $0xa1
	mov	$0x04, %al
	out	%al, $0x21
	mov	$0x02, %al
	out	%al, $0xa1
	mov	$0x01, %al
	out	%al, $0x21
	out	%al, $0xa1
	mov	$(0xff & ~(1 << DMA_IRQ)), %al
	out	%al, $0x21
	mov	$0xff, %al
	out	%al, $0xa1

	/* 1-2: the device, idle. */
	movl	REGBANK_ID(%rbx), %eax
	expect	%rax, REGBANK_ID_VALUE
	movl	REGBANK_DMA_STATUS(%rbx), %eax
	expect	%rax, 0

	/* Source pattern; destination and guard 0xaa. */
	mov	$SRC, %edi
	xor	%ecx, %ecx
3:	mov	%ecx, %eax
	imul	$13, %eax, %eax
	mov	%ecx, %edx
	shr	$8, %edx
	add	%edx, %eax
	movb	%al, (%rdi, %rcx)
	inc	%ecx
	cmp	$DMA_LEN, %ecx
	jb	3b
	mov	$DST, %edi
	mov	$DMA_LEN + GUARD, %ecx
	mov	$0xaa, %al
	rep stosb

	/* 3-7: one good copy. */
	mov	$SRC, %edi
	mov	$DST, %esi
	mov	$DMA_LEN, %edx
	call	dma
	expect	%rax, ST_DONE
	movl	REGBANK_DMA_STATUS(%rbx), %eax	/* acknowledged */
	expect	%rax, 0
	mov	IRQ_COUNT, %rax
	expect	%rax, 1
	mov	$SRC, %esi
	mov	$DST, %edi
	mov	$DMA_LEN, %ecx
	repe cmpsb
	jne	fail
	inc	%r15
	mov	$DST + DMA_LEN, %edi
	mov	$GUARD, %ecx
	mov	$0xaa, %al
	repe scasb
	jne	fail
	inc	%r15

	/* 8: destination outside RAM (nothing there but MMIO). */
	mov	$SRC, %edi
	mov	$0x10000000, %esi
	mov	$0x100, %edx
	call	dma
	expect	%rax, ST_ERR(REGBANK_DMA_ERR_DST)

	/* 9: a source that wraps past 2^64. */
	movabs	$0xfffffffffffff000, %rdi
	mov	$DST, %esi
	mov	$0x2000, %edx
	call	dma
	expect	%rax, ST_ERR(REGBANK_DMA_ERR_SRC)

	/* 10-11: a destination across the end of RAM: refused whole, the
	 * page inside RAM keeps its bytes. */
	mov	$RAM_END_PAGE, %edi
	mov	$0x1000, %ecx
	mov	$0x5a, %al
	rep stosb
	mov	$SRC, %edi
	mov	$RAM_END_PAGE, %esi
	mov	$0x2000, %edx
	call	dma
	expect	%rax, ST_ERR(REGBANK_DMA_ERR_DST)
	mov	$RAM_END_PAGE, %edi
	mov	$0x1000, %ecx
	mov	$0x5a, %al
	repe scasb
	jne	fail
	inc	%r15

	/* 12: length 0. */
	mov	$SRC, %edi
	mov	$DST, %esi
	xor	%edx, %edx
	call	dma
	expect	%rax, ST_ERR(REGBANK_DMA_ERR_LEN)

	/* 13: overlapping ranges. */
	mov	$SRC, %edi
	mov	$SRC + 0x800, %esi
	mov	$0x1000, %edx
	call	dma
	expect	%rax, ST_ERR(REGBANK_DMA_ERR_OVERLAP)

	/* 14-15: the engine still works: copy the copy. */
	mov	$DST, %edi
	mov	$DST + 0x8000, %esi
	mov	$DMA_LEN, %edx
	call	dma
	expect	%rax, ST_DONE
	mov	$SRC, %esi
	mov	$DST + 0x8000, %edi
	mov	$DMA_LEN, %ecx
	repe cmpsb
	jne	fail
	inc	%r15

	/* 16-17: one interrupt per copy (7), none stray. */
	mov	IRQ_COUNT, %rax
	expect	%rax, 7
	mov	STRAY, %rax
	expect	%rax, 0

	xor	%eax, %eax
	out	%al, $TINYVMM_DEBUG_EXIT_PORT
halt:
	cli
	hlt
	jmp	halt

fail:
	mov	%r15d, %eax
	out	%al, $TINYVMM_DEBUG_EXIT_PORT
	jmp	halt

/* Start a copy (rdi source, rsi destination, rdx length) with its
 * interrupt enabled, sleep until the interrupt, return the STATUS the
 * handler saw in rax. Interrupts are off except in the sti; hlt pair
 * (sti's shadow covers the hlt: no wake-up is lost). */
dma:
	mov	%rdi, REGBANK_DMA_SRC(%rbx)
	mov	%rsi, REGBANK_DMA_DST(%rbx)
	mov	%rdx, REGBANK_DMA_LEN(%rbx)
	mov	IRQ_COUNT, %r8
	movl	$(REGBANK_DMA_CTRL_GO | REGBANK_DMA_CTRL_IE), REGBANK_DMA_CTRL(%rbx)
1:	cli
	cmp	IRQ_COUNT, %r8
	jne	2f
	sti
	hlt
	jmp	1b
2:	mov	LAST_STATUS, %rax
	ret

/* Interrupt gate ecx -> handler eax (below 4 GiB). */
set_gate:
	mov	%ecx, %edx
	shl	$4, %edx
	add	$IDT, %edx
	movw	%ax, (%rdx)
	movw	$TINYVMM_SEL_CODE, 2(%rdx)
	movw	$0x8e00, 4(%rdx)		/* present, DPL 0, interrupt gate */
	mov	%eax, %r8d
	shr	$16, %r8d
	movw	%r8w, 6(%rdx)
	movl	$0, 8(%rdx)
	movl	$0, 12(%rdx)
	ret

/* The DMA's interrupt: read STATUS, acknowledge it (the device drops a
 * level line), count, EOI. */
dma_irq:
	push	%rax
	push	%rbx
	mov	$REGBANK, %ebx
	movl	REGBANK_DMA_STATUS(%rbx), %eax
	mov	%rax, LAST_STATUS
	movl	%eax, REGBANK_DMA_STATUS(%rbx)
	incq	IRQ_COUNT
	mov	$0x20, %al
	out	%al, $0x20
	pop	%rbx
	pop	%rax
	iretq

stray_irq:
	push	%rax
	incq	STRAY
	mov	$0x20, %al
	out	%al, $0xa0
	out	%al, $0x20
	pop	%rax
	iretq

exception:
	mov	$200, %al
	out	%al, $TINYVMM_DEBUG_EXIT_PORT
	jmp	halt
