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
#define REGBANK_DMA_SRC		0x060	/* RW 8: guest physical source address */
#define REGBANK_DMA_DST		0x068	/* RW 8: guest physical destination */
#define REGBANK_DMA_LEN		0x070	/* RW 8: bytes, 1..REGBANK_DMA_MAX_LEN */
#define REGBANK_DMA_CTRL	0x078	/* RW 4: REGBANK_DMA_CTRL_* (GO reads 0) */
#define REGBANK_DMA_STATUS	0x07c	/* RW 4: REGBANK_DMA_ST_* | error << 8;
					 * writing DONE or ERROR clears it */
#define REGBANK_ARRAY		0x100	/* RW 1/2/4/8: REGBANK_ARRAY_SIZE bytes */
#define REGBANK_ARRAY_SIZE	0x100	/*   of little-endian memory */

/*
 * The DMA engine copies DMA_LEN bytes of guest memory from DMA_SRC to
 * DMA_DST, both ranges checked whole before a byte moves: each must lie
 * inside one slot of the guest RAM the VMM gave the device (none: no
 * DMA), not wrap past 2^64, and the two must not overlap. Writing CTRL
 * with GO starts a copy (STATUS: BUSY; a GO while BUSY is refused); when
 * it ends STATUS says DONE, or ERROR with the reason in bits 8-15, and
 * with CTRL's IE set the device asserts its interrupt line (an edge, or
 * a level held until the guest clears DONE/ERROR in STATUS).
 */
#define REGBANK_DMA_CTRL_GO	(1 << 0)	/* start a copy */
#define REGBANK_DMA_CTRL_IE	(1 << 1)	/* interrupt when it ends */
#define REGBANK_DMA_ST_BUSY	(1 << 0)
#define REGBANK_DMA_ST_DONE	(1 << 1)
#define REGBANK_DMA_ST_ERROR	(1 << 2)
#define REGBANK_DMA_ST_CODE_SHIFT 8
#define REGBANK_DMA_ERR_LEN	1	/* length 0 or above the maximum */
#define REGBANK_DMA_ERR_SRC	2	/* source not inside one slot */
#define REGBANK_DMA_ERR_DST	3	/* destination not inside one slot */
#define REGBANK_DMA_ERR_RO	4	/* destination slot is read-only */
#define REGBANK_DMA_ERR_OVERLAP	5	/* source and destination overlap */
#define REGBANK_DMA_ERR_NOMEM	6	/* the device has no guest memory */
#define REGBANK_DMA_MAX_LEN	0x100000

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
