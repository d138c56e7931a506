/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's guest ABI: memory map, entry state and the debug-exit port,
 * shared by tinyvmm (vmm/) and the guest programs (only #defines: the
 * assembler includes this file too).
 *
 * Guests start in 64-bit long mode, flat segments, interrupts off, with
 * the first 4 GiB identity-mapped by 2 MiB pages, so every address and
 * every access width (1/2/4/8 bytes) is one instruction away. Guest
 * physical memory:
 *
 *   0x000000-0x000fff  unused
 *   0x001000-0x006fff  page tables (PML4, PDPT, 4 page directories)
 *   0x008000-0x008fff  GDT (null, code64, data)
 *   0x009000-0x009fff  shared page: free for the guest (cross-vCPU data)
 *   0x010000-0x07ffff  the flat guest image, loaded and entered at 0x10000
 *   0x080000-0x0fffff  vCPU stacks: vCPU i starts with rsp =
 *                      TINYVMM_STACK_TOP - i * TINYVMM_STACK_SIZE
 *   0x100000-0x1fffff  free RAM
 *   0x200000-...       no RAM: every access exits (MMIO), e.g. the
 *                      regbank device at 0xd0000000
 *
 * Entry registers: rip = TINYVMM_ENTRY, rdi = vCPU index, rsi = number of
 * vCPUs, rflags = 0x2. All vCPUs enter the same image.
 *
 * Debug exit: a 1-byte OUT to TINYVMM_DEBUG_EXIT_PORT ends the run; the
 * byte is tinyvmm's exit status (0 = pass). Unlike QEMU's isa-debug-exit
 * the value is used as is. Two more debug ports, 1-byte OUT: to
 * TINYVMM_RESET_PORT resets every device (the control session's RESET;
 * the OUT completes once every device has answered), to TINYVMM_MARK_PORT
 * prints "tinyvmm: vcpuN: guest mark B" on stderr (a test harness waits
 * for it, e.g. to kill a device at a known point of the guest). HLT ends the vCPU that runs it, except with
 * the in-kernel irqchip (tinyvmm --irq): then the two 8259 PICs (ports
 * 0x20/0xa0), the IOAPIC and a local APIC per vCPU are KVM's, and HLT
 * sleeps until an interrupt, as on hardware.
 */
#ifndef EXAMPLES_TINYVMM_H
#define EXAMPLES_TINYVMM_H

#define TINYVMM_RAM_SIZE	0x200000
#define TINYVMM_PML4		0x1000
#define TINYVMM_PDPT		0x2000
#define TINYVMM_PD		0x3000	/* 4 pages */
#define TINYVMM_GDT		0x8000
#define TINYVMM_SHARED		0x9000
#define TINYVMM_ENTRY		0x10000
#define TINYVMM_IMAGE_MAX	0x70000
#define TINYVMM_STACK_TOP	0x100000
#define TINYVMM_STACK_SIZE	0x4000
#define TINYVMM_MAX_VCPUS	8

#define TINYVMM_DEBUG_EXIT_PORT	0xf4
#define TINYVMM_RESET_PORT	0xf5
#define TINYVMM_MARK_PORT	0xf6

/* GDT selectors. */
#define TINYVMM_SEL_CODE	0x08
#define TINYVMM_SEL_DATA	0x10
#define TINYVMM_SEL_TSS		0x18

/* tinyvmm's own exit statuses (guest statuses are the byte it wrote). */
#define TINYVMM_EXIT_SKIP	77	/* no /dev/kvm */
#define TINYVMM_EXIT_TIMEOUT	124
#define TINYVMM_EXIT_ERROR	125	/* usage, VMM, device or guest error */

#endif /* EXAMPLES_TINYVMM_H */
