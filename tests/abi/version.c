/* SPDX-License-Identifier: MIT */
/* Prints the header macros' version and the run-time library's, and checks
 * ioregion_version_check() against them (test abi/version). */
#include <ioregion/ioregion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CHECK(cond)                                                     \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "FAIL: %s\n", #cond);           \
			return 1;                                       \
		}                                                       \
	} while (0)

int
main(void)
{
	char macros[64];

	snprintf(macros, sizeof(macros), "%d.%d.%d", IOREGION_VERSION_MAJOR,
		 IOREGION_VERSION_MINOR, IOREGION_VERSION_MICRO);
	CHECK(strcmp(macros, IOREGION_VERSION_STRING) == 0);
	CHECK(IOREGION_VERSION_AT_LEAST(IOREGION_VERSION_MAJOR,
					IOREGION_VERSION_MINOR,
					IOREGION_VERSION_MICRO));
	CHECK(!IOREGION_VERSION_AT_LEAST(IOREGION_VERSION_MAJOR,
					 IOREGION_VERSION_MINOR + 1, 0));
	CHECK(ioregion_version_check(IOREGION_VERSION_MAJOR,
				     IOREGION_VERSION_MINOR) == 0);
	CHECK(ioregion_version_check(IOREGION_VERSION_MAJOR + 1, 0) == -ENOTSUP);
	CHECK(ioregion_version_check(IOREGION_VERSION_MAJOR,
				     IOREGION_VERSION_MINOR + 1) == -ENOTSUP);
	if (IOREGION_VERSION_MAJOR == 0 && IOREGION_VERSION_MINOR > 0)
		CHECK(ioregion_version_check(0, IOREGION_VERSION_MINOR - 1) ==
		      -ENOTSUP);
	printf("macros %s library %s\n", macros, ioregion_version());
	return 0;
}
