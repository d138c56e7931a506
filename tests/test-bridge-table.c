/* SPDX-License-Identifier: MIT */
/*
 * The bridge's table (bridge-peer.h): add, remove, replace_fd and their
 * errors; which fds it takes (sockets only) and which fds share a channel
 * (the same open file, never two sockets that only look alike).
 *
 * Socket inode numbers are 32 bits and wrap, so two live sockets can show
 * the same st_ino. This program interposes fstat() to make that happen at
 * will (fake_socket_ino), and syscall() to refuse kcmp (refuse_kcmp) as a
 * seccomp filter or a kernel without it would.
 */
#include "bridge-peer.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- interposed fstat and syscall ------------------------------------------------ */

static bool fake_socket_ino;	/* every socket reports st_ino 4242 */
static bool refuse_kcmp;	/* kcmp fails with EPERM */

int fstat(int fd, struct stat *st);
long syscall(long number, ...);

int
fstat(int fd, struct stat *st)
{
	int rc = fstatat(fd, "", st, AT_EMPTY_PATH);

	if (rc == 0 && fake_socket_ino && S_ISSOCK(st->st_mode))
		st->st_ino = 4242;
	return rc;
}

/* Only the library's one syscall() user goes through here: kcmp, with its
 * five arguments (reading more than were passed is undefined behaviour,
 * and clang's ASan reports it). */
long
syscall(long number, ...)
{
	static long (*real)(long, ...);
	long a[5];
	va_list ap;

	va_start(ap, number);
	for (int i = 0; i < 5; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
#ifdef SYS_kcmp
	if (number == SYS_kcmp && refuse_kcmp) {
		errno = EPERM;
		return -1;
	}
#endif
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(number, a[0], a[1], a[2], a[3], a[4]);
}

/* ---- table management ------------------------------------------------------------------- */

START_TEST(test_bridge_add_overlapping_returns_eexist)
{
	struct ioregion_bridge *b = new_bridge();
	struct ioregion_desc d = mk_desc(0x1000, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_desc o;
	int sv[2];

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ior_assert_int_eq(ioregion_bridge_add(b, &d, sv[0]), 0);
	ior_assert_errno(ioregion_bridge_add(b, &d, sv[0]), -EEXIST);
	o = mk_desc(0x0f80, 0x81, 1, 0, IOREGION_WIRE_V3);	/* head */
	ior_assert_errno(ioregion_bridge_add(b, &o, sv[0]), -EEXIST);
	o = mk_desc(0x10ff, 0x10, 1, 0, IOREGION_WIRE_V3);	/* tail */
	ior_assert_errno(ioregion_bridge_add(b, &o, sv[0]), -EEXIST);
	o = mk_desc(0x1010, 0x10, 1, 0, IOREGION_WIRE_V3);	/* inside */
	ior_assert_errno(ioregion_bridge_add(b, &o, sv[0]), -EEXIST);
	o = mk_desc(0x0, 0x10000, 1, 0, IOREGION_WIRE_V3);	/* around */
	ior_assert_errno(ioregion_bridge_add(b, &o, sv[0]), -EEXIST);
	o = mk_desc(0x1080, 0, 1, IOREGION_F_POSTED_WRITES,
		    IOREGION_WIRE_V3);				/* doorbell in */
	ior_assert_errno(ioregion_bridge_add(b, &o, sv[0]), -EEXIST);
	/* adjacent on both sides, and the same range in PIO space: fine */
	o = mk_desc(0x0f00, 0x100, 1, 0, IOREGION_WIRE_V3);
	ior_assert_int_eq(ioregion_bridge_add(b, &o, sv[0]), 0);
	o = mk_desc(0x1100, 0, 1, IOREGION_F_POSTED_WRITES, IOREGION_WIRE_V3);
	ior_assert_int_eq(ioregion_bridge_add(b, &o, sv[0]), 0);
	o = mk_desc(0x1100, 1, 1, 0, IOREGION_WIRE_V3);	/* on doorbell */
	ior_assert_errno(ioregion_bridge_add(b, &o, sv[0]), -EEXIST);
	o = mk_desc(0x1000, 0x100, 1, IOREGION_F_PIO, IOREGION_WIRE_V3);
	ior_assert_int_eq(ioregion_bridge_add(b, &o, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
	ioregion_bridge_unref(b);
}
END_TEST

START_TEST(test_bridge_add_invalid_desc_returns_einval)
{
	struct ioregion_bridge *b = new_bridge();
	struct ioregion_desc bad[] = {
		mk_desc(0x1000, 0, 1, 0, IOREGION_WIRE_V3),
		mk_desc(0x1000, 1, 1, 0x8, IOREGION_WIRE_V3),
		mk_desc(0x1000, 1, 1, 0, 0),
		mk_desc(~0ull - 1, 4, 1, 0, IOREGION_WIRE_V3),
		mk_desc(0xfff0, 0x20, 1, IOREGION_F_PIO, IOREGION_WIRE_V3),
	};
	int sv[2];

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ior_assert_errno(ioregion_bridge_add(b, &bad[i], sv[0]),
				 -EINVAL);
	ior_assert_errno(ioregion_bridge_add(b, NULL, sv[0]), -EINVAL);
	ior_assert_errno(ioregion_bridge_add(NULL, &bad[0], sv[0]), -EINVAL);
	close(sv[0]);
	close(sv[1]);
	ioregion_bridge_unref(b);
}
END_TEST

START_TEST(test_bridge_add_bad_fd_returns_ebadf)
{
	struct ioregion_bridge *b = new_bridge();
	struct ioregion_desc d = mk_desc(0x1000, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	int sv[2];

	ior_assert_errno(ioregion_bridge_add(b, &d, -1), -EBADF);
	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	close(sv[0]);
	close(sv[1]);
	ior_assert_errno(ioregion_bridge_add(b, &d, sv[0]), -EBADF);
	/* nothing was added */
	ior_assert_errno(ioregion_bridge_remove(b, &d), -ENOENT);
	ioregion_bridge_unref(b);
}
END_TEST

START_TEST(test_bridge_remove_absent_returns_enoent)
{
	struct ioregion_bridge *b = new_bridge();
	struct ioregion_desc d = mk_desc(0x1000, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_desc o = d;
	uint64_t v = 0;
	struct peer p;

	ior_assert_errno(ioregion_bridge_remove(b, &d), -ENOENT);
	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_ECHO);
	o.size = 0x80;
	ior_assert_errno(ioregion_bridge_remove(b, &o), -ENOENT);
	o = d;
	o.flags = IOREGION_F_PIO;
	ior_assert_errno(ioregion_bridge_remove(b, &o), -ENOENT);
	ior_assert_int_eq(ioregion_bridge_remove(b, &d), 0);
	ior_assert_errno(ioregion_bridge_remove(b, &d), -ENOENT);
	/* gone: not ours, and its fd was closed (the peer saw EOF) */
	ior_assert_int_eq(ioregion_bridge_access(b, false, 0x1000, false, 4,
						 &v), 0);
	peer_stop(&p);
	ior_assert_errno(ioregion_bridge_get_stats(b, false, 0x1000,
			 &(struct ioregion_bridge_stats){ 0 }), -ENOENT);
	ioregion_bridge_unref(b);
}
END_TEST

START_TEST(test_bridge_replace_fd_errors)
{
	struct ioregion_bridge *b = new_bridge();
	struct ioregion_desc d = mk_desc(0x1000, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	int sv[2];

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ior_assert_errno(ioregion_bridge_replace_fd(b, &d, sv[0]), -ENOENT);
	ior_assert_int_eq(ioregion_bridge_add(b, &d, sv[0]), 0);
	ior_assert_errno(ioregion_bridge_replace_fd(b, &d, -1), -EBADF);
	close(sv[1]);
	ior_assert_errno(ioregion_bridge_replace_fd(b, &d, sv[1]), -EBADF);
	close(sv[0]);
	ioregion_bridge_unref(b);
}
END_TEST

/* ---- which fds ----------------------------------------------------------------------------- */

/* Only sockets carry the protocol safely: a FIFO opened read-write reads
 * the bridge's own command back as the answer, and a read after poll() on
 * a FIFO another process also reads can block forever. */
START_TEST(test_bridge_non_socket_fds_return_enotsock)
{
	struct ioregion_desc d = mk_desc(0x1000, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	char fifo[] = "/tmp/ior-bridge-fifo-XXXXXX";
	int pp[2], fds[5], nfds = 0, fd;
	uint64_t v = 0x1234;
	struct peer p;

	ior_assert_int_eq(pipe2(pp, O_CLOEXEC), 0);
	fds[nfds++] = pp[0];
	fds[nfds++] = pp[1];
	ior_assert_ptr_nonnull(mkdtemp(fifo));
	{
		char path[sizeof(fifo) + 2];

		snprintf(path, sizeof(path), "%s/f", fifo);
		ior_assert_int_eq(mkfifo(path, 0600), 0);
		fd = open(path, O_RDWR | O_CLOEXEC);
		ior_assert_int_ge(fd, 0);
		fds[nfds++] = fd;
		unlink(path);
		rmdir(fifo);
	}
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ior_assert_int_ge(fd, 0);
	fds[nfds++] = fd;
	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ior_assert_int_ge(fd, 0);
	fds[nfds++] = fd;

	for (int i = 0; i < nfds; i++)
		ior_assert_errno(ioregion_bridge_add(b, &d, fds[i]),
				 -ENOTSOCK);
	/* nothing was added */
	ior_assert_errno(ioregion_bridge_remove(b, &d), -ENOENT);

	/* replace_fd refuses them too, and the region keeps its socket */
	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_ECHO);
	for (int i = 0; i < nfds; i++)
		ior_assert_errno(ioregion_bridge_replace_fd(b, &d, fds[i]),
				 -ENOTSOCK);
	ior_assert_int_eq(ioregion_bridge_access(b, false, 0x1000, true, 2,
						 &v), 1);
	v = 0;
	ior_assert_int_eq(ioregion_bridge_access(b, false, 0x1000, false, 2,
						 &v), 1);
	ior_assert_uint_eq(v, 0x1234);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	ioregion_bridge_unref(b);
	peer_stop(&p);
}
END_TEST

/* ---- which fds share a channel ------------------------------------------------------------- */

/* Regions A and B on two sockets that report one inode number: B's
 * commands go to B's device, and A's failure is not B's. */
static void
check_two_sockets_stay_apart(void)
{
	struct ioregion_desc da = mk_desc(0x1000, 0x100, 1, 0,
					  IOREGION_WIRE_V3);
	struct ioregion_desc db = mk_desc(0x2000, 0x100, 2, 0,
					  IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	struct peer pa, pb;
	struct stat sa, sb;
	uint64_t v = 0;
	int fa, fb;

	/* answers get a bound slow runs (valgrind, a loaded machine) keep;
	 * the silent A gets a short one below, to time out quickly */
	ior_assert_int_eq(ioregion_bridge_set_timeout(b, 5000), 0);
	fa = peer_start(&pa, SOCK_SEQPACKET, IOREGION_WIRE_V3, PEER_SILENT);
	fb = peer_start(&pb, SOCK_SEQPACKET, IOREGION_WIRE_V3, PEER_ECHO);
	/* the fake works: the two look like one file */
	ior_assert_int_eq(fstat(fa, &sa), 0);
	ior_assert_int_eq(fstat(fb, &sb), 0);
	ior_assert(sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
	ior_assert_int_eq(ioregion_bridge_add(b, &da, fa), 0);
	ior_assert_int_eq(ioregion_bridge_add(b, &db, fb), 0);
	close(fa);
	close(fb);
	peer_run(&pa);
	peer_run(&pb);

	ior_assert_int_eq(ioregion_bridge_access(b, false, 0x2008, false, 4,
						 &v), 1);
	ior_assert_uint_eq(peer_wait(&pb, 1), 1);
	ior_assert_uint_eq(le_load(pb.cmds[0] + 8, 8), 2);	/* user_data */
	ior_assert_uint_eq(pa.ncmds, 0);
	/* A times out and fails; B is another channel and still works */
	ior_assert_int_eq(ioregion_bridge_set_timeout(b, 50), 0);
	ior_assert_errno(ioregion_bridge_access(b, false, 0x1000, false, 4,
						&v), -ETIMEDOUT);
	ior_assert_int_eq(ioregion_bridge_set_timeout(b, 5000), 0);
	ior_assert_int_eq(ioregion_bridge_access(b, false, 0x2000, false, 4,
						 &v), 1);
	ior_assert_uint_eq(peer_wait(&pa, 1), 1);
	ior_assert_uint_eq(le_load(pa.cmds[0] + 8, 8), 1);
	ioregion_bridge_unref(b);
	peer_stop(&pa);
	peer_stop(&pb);
}

/* Two fds of one socket: one channel (one lock, one failed state). */
static void
check_dups_share_a_channel(void)
{
	struct ioregion_desc d1 = mk_desc(0x1000, 0x100, 1, 0,
					  IOREGION_WIRE_V3);
	struct ioregion_desc d2 = mk_desc(0x2000, 0x100, 2, 0,
					  IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 0;
	struct peer p;
	int fd, fd2;

	ior_assert_int_eq(ioregion_bridge_set_timeout(b, 30), 0);
	fd = peer_start(&p, SOCK_SEQPACKET, IOREGION_WIRE_V3, PEER_SILENT);
	fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	ior_assert_int_ge(fd2, 0);
	ior_assert_int_eq(ioregion_bridge_add(b, &d1, fd), 0);
	ior_assert_int_eq(ioregion_bridge_add(b, &d2, fd2), 0);
	close(fd);
	close(fd2);
	peer_run(&p);
	ior_assert_errno(ioregion_bridge_access(b, false, 0x1000, false, 1,
						&v), -ETIMEDOUT);
	ior_assert_errno(ioregion_bridge_access(b, false, 0x2000, false, 1,
						&v), -ENOTCONN);
	ior_assert_uint_eq(peer_wait(&p, 1), 1);
	ioregion_bridge_unref(b);
	peer_stop(&p);
}

START_TEST(test_bridge_two_sockets_with_one_inode_number_never_share)
{
	fake_socket_ino = true;
	check_two_sockets_stay_apart();
	check_dups_share_a_channel();
	fake_socket_ino = false;
}
END_TEST

/* Where kcmp is refused (seccomp, or a kernel built without it), sockets
 * are still told apart, and dups of one still share. */
START_TEST(test_bridge_channels_without_kcmp_stay_right)
{
	refuse_kcmp = true;
	fake_socket_ino = true;
	check_two_sockets_stay_apart();
	check_dups_share_a_channel();
	fake_socket_ino = false;
	check_dups_share_a_channel();
	refuse_kcmp = false;
}
END_TEST

static Suite *
bridge_table_suite(void)
{
	Suite *s = suite_create("bridge-table");

	ior_add_test(s, test_bridge_add_overlapping_returns_eexist);
	ior_add_test(s, test_bridge_add_invalid_desc_returns_einval);
	ior_add_test(s, test_bridge_add_bad_fd_returns_ebadf);
	ior_add_test(s, test_bridge_remove_absent_returns_enoent);
	ior_add_test(s, test_bridge_replace_fd_errors);
	ior_add_test(s, test_bridge_non_socket_fds_return_enotsock);
	ior_add_test(s, test_bridge_two_sockets_with_one_inode_number_never_share);
	ior_add_test(s, test_bridge_channels_without_kcmp_stay_right);
	return s;
}

IOR_TEST_MAIN(bridge_table_suite)
