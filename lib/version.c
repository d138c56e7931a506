/* SPDX-License-Identifier: MIT */
/* The run-time library's version. */
#include "ioregion-private.h"

#include <errno.h>

#include "ioregion/version.h"

IOREGION_EXPORT const char *
ioregion_version(void)
{
	return IOREGION_VERSION_STRING;
}

IOREGION_EXPORT int
ioregion_version_check(unsigned int major, unsigned int minor)
{
	if (major != IOREGION_VERSION_MAJOR)
		return -ENOTSUP;
	if (major == 0 ? minor != IOREGION_VERSION_MINOR
		       : minor > IOREGION_VERSION_MINOR)
		return -ENOTSUP;
	return 0;
}
