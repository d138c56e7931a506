/* SPDX-License-Identifier: MIT */
/* Validation of region descriptions, shared by every component. */
#include "ioregion-private.h"

#include <errno.h>

#include "ioregion/desc.h"
#include "ioregion/wire.h"

IOREGION_EXPORT int
ioregion_desc_validate(const struct ioregion_desc *desc)
{
	if (!desc)
		return -EINVAL;
	if (desc->flags & ~IOREGION_F_ALL)
		return -EINVAL;
	if (!ioregion_wire_dialect_valid((int)desc->dialect))
		return -EINVAL;
	if (desc->size == 0 && !(desc->flags & IOREGION_F_POSTED_WRITES))
		return -EINVAL;
	if (desc->addr + desc->size < desc->addr)
		return -EINVAL;
	/* A doorbell occupies its address: [addr, addr + 1) must not wrap. */
	if (desc->size == 0 && desc->addr == UINT64_MAX)
		return -EINVAL;
	if ((desc->flags & IOREGION_F_PIO) &&
	    (desc->addr >= IOREGION_PIO_LIMIT ||
	     desc->addr + desc->size > IOREGION_PIO_LIMIT))
		return -EINVAL;
	return 0;
}
