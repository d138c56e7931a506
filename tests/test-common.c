/* SPDX-License-Identifier: MIT */
#include "test-common.h"

#include <dirent.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

void
ior_add_tcase(Suite *s, const char *name, const TTest *fn, double secs)
{
	TCase *tc = tcase_create(name);

	_tcase_add_test(tc, fn, 0, 0, 0, 1);
	if (secs > 0)
		tcase_set_timeout(tc, secs);
	suite_add_tcase(s, tc);
}

int
ior_run_suite(Suite *suite)
{
	struct rlimit core = { 0, 0 };
	SRunner *sr;
	int failed;

	setrlimit(RLIMIT_CORE, &core);
	sr = srunner_create(suite);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

void
ior_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			ior_abort("write: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

bool
ior_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, timeout_ms) > 0 && (pfd.revents & (POLLIN | POLLHUP));
}

size_t
ior_read_timeout(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n;

		if (!ior_readable(fd, timeout_ms))
			break;
		n = read(fd, p + got, len - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

int
ior_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ior_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}
