/* SPDX-License-Identifier: MIT */
/*
 * hello: the smallest useful guest. vCPU 0 prints a greeting through the
 * 16550A UART at 0x3f8 one byte at a time, polling LSR for THRE as a
 * driver does, then a second line with a single `rep outsb` (string PIO:
 * one exit with io.count > 1), writes 0 to the debug-exit port and halts.
 * Other vCPUs halt at once. Entry state: tinyvmm.h (64-bit, rdi = vCPU).
 */
#include "guest.h"

	.code64
	.text
	.globl _start
_start:
	test	%rdi, %rdi
	jnz	halt

	lea	greeting(%rip), %rsi
next:
	lodsb
	test	%al, %al
	jz	string_io
	mov	%al, %bl
	mov	$(COM1 + UART_LSR), %dx
wait_thre:
	in	%dx, %al
	test	$UART_LSR_THRE, %al
	jz	wait_thre
	mov	$(COM1 + UART_TX), %dx
	mov	%bl, %al
	out	%al, %dx
	jmp	next

string_io:
	/* The transmitter is always empty on this UART (LSR says so), so
	 * a whole line may go out in one string instruction. */
	mov	$(COM1 + UART_LSR), %dx
	in	%dx, %al
	and	$(UART_LSR_THRE | UART_LSR_TEMT), %al
	cmp	$(UART_LSR_THRE | UART_LSR_TEMT), %al
	jne	fail
	lea	line2(%rip), %rsi
	mov	$(line2_end - line2), %ecx
	mov	$(COM1 + UART_TX), %dx
	cld
	rep outsb

	xor	%eax, %eax
	out	%al, $TINYVMM_DEBUG_EXIT_PORT
halt:
	hlt
	jmp	halt
fail:
	mov	$1, %al
	out	%al, $TINYVMM_DEBUG_EXIT_PORT
	jmp	halt

greeting:
	.asciz	"Hello from the guest via ioregion UART\n"
line2:
	.ascii	"rep outsb: 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
line2_end:
