/* SPDX-License-Identifier: MIT */
/*
 * ioregion-drive's scripts: one access (or one `say`) per line, parsed
 * before any device starts; addresses given as REGION+OFFSET are resolved
 * once the regions have arrived. The syntax is in DRIVE_SCRIPT_SYNTAX
 * (printed by --help, copied in README.md).
 */
#ifndef TOOLS_DRIVE_SCRIPT_H
#define TOOLS_DRIVE_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ioregion/session.h"

#define DRIVE_SCRIPT_SYNTAX                                                   \
	"Script: one access per line; '#' starts a comment; blank lines are\n" \
	"ignored.\n"                                                           \
	"  OP SPACE ADDR SIZE [VALUE] [expect=V] [repeat=N]\n"                 \
	"    OP     r (read), w (write), p (posted write: the region must\n"   \
	"           take it without an answer; checked on its counter)\n"     \
	"    SPACE  mmio or pio\n"                                             \
	"    ADDR   a number (0x... hex), or REGION+OFFSET with a region\n"    \
	"           name from the hand-off (REGION alone: offset 0)\n"        \
	"    SIZE   1, 2, 4 or 8 bytes\n"                                     \
	"    VALUE  w and p only: a number, or a \"string\" written one byte\n" \
	"           per access (SIZE 1; escapes \\n \\t \\\\ \\\")\n"         \
	"    expect=V     r only: every read must return V (a check)\n"      \
	"    expect=none  r only: no region may claim ADDR (a check)\n"      \
	"    repeat=N     do the access N times (default 1)\n"               \
	"  say TEXT   print TEXT when the script gets there\n"                \
	"Interrupts cannot be raised or checked yet (the library has no\n"     \
	"interrupt support; a later issue adds it): 'irq' lines are refused.\n"

enum drive_op {
	DRIVE_READ = 1,
	DRIVE_WRITE,
	DRIVE_POSTED,
	DRIVE_SAY,
};

struct drive_step {
	unsigned int line;
	enum drive_op op;
	bool pio;
	char region[IOREGION_SESSION_NAME_MAX];	/* "" = addr is absolute */
	uint64_t addr;		/* absolute, or the offset into region */
	unsigned int size;
	uint64_t value;
	char *bytes;		/* a string VALUE (nbytes accesses), or NULL */
	size_t nbytes;
	enum { EXPECT_NOTHING, EXPECT_VALUE, EXPECT_NONE } expect;
	uint64_t expected;
	unsigned long repeat;
	char *text;		/* DRIVE_SAY */
};

struct drive_script {
	struct drive_step *steps;
	size_t nsteps;
};

/* Parse @f (@name for messages) into @s. Returns 0, or -1 with a message
 * "NAME:LINE: ..." in @err. */
int drive_script_parse(FILE *f, const char *name, struct drive_script *s,
		       char *err, size_t errlen);

void drive_script_free(struct drive_script *s);

#endif /* TOOLS_DRIVE_SCRIPT_H */
