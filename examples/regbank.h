/* SPDX-License-Identifier: MIT */
/*
 * Register map of the regbank example device, shared by the device
 * (regbank.c), the guest programs (this file is only #defines, so the
 * assembler can include it) and demo.drive's comments.
 *
 * Main region "regbank", MMIO, REGBANK_SIZE bytes at the base (default
 * REGBANK_DEFAULT_BASE). Offsets; width in bytes; RO read-only, WO
 * write-only, RW read/write, RC read-to-clear:
 */
#ifndef EXAMPLES_REGBANK_H
#define EXAMPLES_REGBANK_H

#define REGBANK_DEFAULT_BASE	0xd0000000
#define REGBANK_SIZE		0x1000

#define REGBANK_ID		0x000	/* RO 2/4: REGBANK_ID_VALUE (2: its low half) */
#define REGBANK_COUNTER		0x008	/* RO 8: +1 on every read (first read 1) */
#define REGBANK_SCRATCH8	0x010	/* RW 1 */
#define REGBANK_SCRATCH16	0x012	/* RW 2 */
#define REGBANK_SCRATCH32	0x014	/* RW 4 */
#define REGBANK_SCRATCH64	0x018	/* RW 8 */
#define REGBANK_SUM		0x020	/* RC 8: sum of values written to ADD */
#define REGBANK_ADD		0x028	/* WO 1/2/4/8: SUM += value, COUNT += 1 */
#define REGBANK_COUNT		0x030	/* RC 8: writes to ADD since last read */
#define REGBANK_DEFERRED	0x038	/* RO 4/8: answered ~1 ms later, deferred:
					 * REGBANK_DEFERRED_TAG + n, n = 1, 2, ... */
#define REGBANK_LOG_LEN		0x040	/* RO 4: values appended to the log */
#define REGBANK_LOG_HASH	0x048	/* RO 8: h = h * 31 + v over the log */
#define REGBANK_LOG_CLEAR	0x050	/* WO any: empties the log */
#define REGBANK_TIME_NS		0x058	/* RO 8: ns since the device started */
#define REGBANK_ARRAY		0x100	/* RW 1/2/4/8: REGBANK_ARRAY_SIZE bytes */
#define REGBANK_ARRAY_SIZE	0x100	/*   of little-endian memory */

#define REGBANK_ID_VALUE	0x10e60001
#define REGBANK_DEFERRED_TAG	0xdefe0000
#define REGBANK_LOG_MULT	31

/* Second region "regbank-log", MMIO at base + REGBANK_LOG_OFFSET, posted
 * writes: a write of any width at offset 0 appends its value to the log
 * (nothing answers it, so the guest checks LOG_LEN/LOG_HASH afterwards:
 * same channel, so they see every write before them, in order). A read
 * at offset 0 returns LOG_LEN. */
#define REGBANK_LOG_OFFSET	0x1000
#define REGBANK_LOG_SIZE	0x10

/* Third region "regbank-pio": REGBANK_PIO_SIZE ports of little-endian
 * memory at REGBANK_PIO_BASE, 1/2/4-byte in/out. */
#define REGBANK_PIO_BASE	0x700
#define REGBANK_PIO_SIZE	0x10

#endif /* EXAMPLES_REGBANK_H */
