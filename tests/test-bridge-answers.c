/* SPDX-License-Identifier: MIT */
/*
 * The bridge's receive (bridge-peer.h): answers of the wrong size, in
 * pieces, cut by a hang-up; answers nobody asked for, in the default mode
 * (found when more than one answer is in hand) and in the strict mode
 * (ioregion_bridge_set_idle_check(): found before sending); an answer
 * already there when the deadline has passed.
 */
#include "bridge-peer.h"

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

/* A peer's broken answer: the access's errno, the read filled with
 * all-ones, the fd failed. */
static const struct {
	const char *what;
	int type;
	enum peer_mode mode;
	unsigned size;
	int rc;
} broken_answers[] = {
	{ "a 16-byte packet", SOCK_SEQPACKET, PEER_SHORT, 4, -EBADMSG },
	{ "a 40-byte packet", SOCK_SEQPACKET, PEER_LONG, 1, -EBADMSG },
	{ "half an answer, then a hang-up", SOCK_STREAM, PEER_HALF_CLOSE, 4,
	  -ECONNRESET },
};

START_TEST(test_bridge_broken_answers_fail_the_fd)
{
	for (size_t i = 0; i < sizeof(broken_answers) / sizeof(broken_answers[0]); i++) {
		struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
						 IOREGION_WIRE_V3);
		struct ioregion_bridge *b = new_bridge();
		unsigned size = broken_answers[i].size;
		uint64_t v = 0;
		struct peer p;

		add_with_peer(b, &d, &p, broken_answers[i].type,
			      broken_answers[i].mode);
		ck_assert_msg(ioregion_bridge_access(b, false, MMIO_BASE, false,
						     size, &v) == broken_answers[i].rc,
			      "%s: not %d", broken_answers[i].what,
			      broken_answers[i].rc);
		ior_assert_uint_eq(v, ~0ull >> (64 - 8 * size));
		ior_assert_uint_eq(peer_wait(&p, 1), 1);
		ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE,
							false, size, &v),
				 -ENOTCONN);
		ioregion_bridge_unref(b);
		peer_stop(&p);
	}
}
END_TEST

START_TEST(test_bridge_stream_response_in_pieces_is_reassembled)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 0x55aa55aa, got = 0;
	struct peer p;

	add_with_peer(b, &d, &p, SOCK_STREAM, PEER_PIECES);
	ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE + 8, true,
						 4, &v), 1);
	ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE + 8,
						 false, 4, &got), 1);
	ior_assert_uint_eq(got, v);
	ior_assert_uint_eq(log_count, 0);
	ioregion_bridge_unref(b);
	peer_stop(&p);
}
END_TEST

START_TEST(test_bridge_data_waiting_before_read_returns_ebadmsg_unsent)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint8_t cmd[32], early[32] = { 0x42 };
	uint64_t v = 0;
	int sv[2];

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ior_assert_int_eq(ioregion_bridge_add(b, &d, sv[0]), 0);
	close(sv[0]);
	/* the strict mode looks before each command that wants an answer */
	ior_assert_int_eq(ioregion_bridge_set_idle_check(b, true), 0);
	/* an answer nobody asked for: not taken for the read's */
	ior_write_all(sv[1], early, sizeof(early));
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -EBADMSG);
	ior_assert_uint_eq(v, 0xffffffffull);
	ior_assert_uint_eq(log_count, 1);
	/* nothing was sent, and the fd is failed now */
	ior_assert(!ior_readable(sv[1], 0));
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -ENOTCONN);
	ior_assert_uint_eq(ior_read_timeout(sv[1], cmd, 32, 0), 0);
	close(sv[1]);
	ioregion_bridge_unref(b);
}
END_TEST

/* The test plays the device on @p fd: one answer of @p len bytes (40: an
 * answer and 8 bytes more on a stream) carrying @p val. */
static void
put_answer(int fd, uint64_t val, size_t len)
{
	uint8_t resp[40] = { 0 };

	le_store(resp, 8, val);
	ior_write_all(fd, resp, len);
}

/* A bridge on a new socketpair of @p type; the device's end in @p dev. */
static struct ioregion_bridge *
bridge_on_pair(int type, int *dev)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	int sv[2];

	ior_assert_int_eq(socketpair(AF_UNIX, type, 0, sv), 0);
	ior_assert_int_eq(ioregion_bridge_add(b, &d, sv[0]), 0);
	close(sv[0]);
	*dev = sv[1];
	return b;
}

/*
 * The default mode does not look before sending: an answer nobody asked
 * for that waits in an idle fd is the next read's answer (as the kernel
 * takes it). The read's own answer is then one behind and lands together
 * with the next read's: that read sees both and fails, the fd with it.
 */
static void
stray_while_idle_case(int type)
{
	uint8_t cmd[32];
	uint64_t v = 0;
	int dev;
	struct ioregion_bridge *b = bridge_on_pair(type, &dev);

	put_answer(dev, 0x5757, 32);
	ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						 &v), 1);
	ior_assert_uint_eq(v, 0x5757);
	ior_assert_uint_eq(log_count, 0);
	ior_assert_uint_eq(ior_read_timeout(dev, cmd, 32, 2000), 32);
	put_answer(dev, 0x1111, 32);	/* the first read's, late */
	put_answer(dev, 0x2222, 32);	/* the second read's */
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -EBADMSG);
	ior_assert_uint_eq(v, 0xffffffffull);
	ior_assert_uint_eq(log_count, 1);
	ior_assert_uint_eq(ior_read_timeout(dev, cmd, 32, 2000), 32);
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -ENOTCONN);
	ior_assert(!ior_readable(dev, 0));	/* nothing sent */
	close(dev);
	ioregion_bridge_unref(b);
}

START_TEST(test_bridge_stray_while_idle_is_taken_then_fails_the_next_read)
{
	stray_while_idle_case(SOCK_SEQPACKET);
	stray_while_idle_case(SOCK_STREAM);
}
END_TEST

/*
 * More in the fd than one answer when the read receives (SEQPACKET: a
 * second packet; stream: 40 bytes): -EBADMSG on that read, whose command
 * went out, and the fd failed. The strict mode finds it before sending.
 */
static void
answer_with_more_case(int type, bool strict)
{
	uint8_t cmd[32];
	uint64_t v = 0;
	int dev;
	struct ioregion_bridge *b = bridge_on_pair(type, &dev);

	ior_assert_int_eq(ioregion_bridge_set_idle_check(b, strict), 0);
	/* queued before the read, so the receive finds all of it at once
	 * (a peer thread could not promise that for two packets) */
	if (type == SOCK_STREAM) {
		put_answer(dev, 0x3333, 40);
	} else {
		put_answer(dev, 0x3333, 32);
		put_answer(dev, 0x4444, 32);
	}
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -EBADMSG);
	/* the default sent the read's command, the strict mode did not */
	ior_assert_uint_eq(ior_read_timeout(dev, cmd, 32, strict ? 0 : 2000),
			   strict ? 0 : 32);
	ior_assert_uint_eq(v, 0xffffffffull);
	ior_assert_uint_eq(log_count, 1);
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -ENOTCONN);
	close(dev);
	ioregion_bridge_unref(b);
}

START_TEST(test_bridge_answer_with_more_in_the_fd_returns_ebadmsg)
{
	answer_with_more_case(SOCK_SEQPACKET, false);
	answer_with_more_case(SOCK_STREAM, false);
	answer_with_more_case(SOCK_SEQPACKET, true);
	answer_with_more_case(SOCK_STREAM, true);
}
END_TEST

/* An answer, then the device hangs up (the receive sees the packet and
 * then EOF): the answer stands, the next access finds the hang-up. */
static void
answer_then_eof_case(int type)
{
	uint8_t cmd[32];
	uint64_t v = 0;
	int dev;
	struct ioregion_bridge *b = bridge_on_pair(type, &dev);

	put_answer(dev, 0x7171, 32);
	ior_assert_int_eq(shutdown(dev, SHUT_WR), 0);
	ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						 &v), 1);
	ior_assert_uint_eq(v, 0x7171);
	ior_assert_uint_eq(ior_read_timeout(dev, cmd, 32, 2000), 32);
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -ECONNRESET);
	ior_assert_uint_eq(v, 0xffffffffull);
	close(dev);
	ioregion_bridge_unref(b);
}

START_TEST(test_bridge_answer_then_eof_is_an_answer_then_econnreset)
{
	answer_then_eof_case(SOCK_SEQPACKET);
	answer_then_eof_case(SOCK_STREAM);
}
END_TEST

/* The vCPU thread held up past its deadline (a stopped or starved VMM),
 * played by a signal handler: the device answers meanwhile, then the
 * handler sleeps three timeouts. */
static int stall_dev = -1;
static pthread_t stall_target;

static void
stall(int sig)
{
	uint8_t resp[32] = { 0x5e };

	(void)sig;
	if (write(stall_dev, resp, sizeof(resp)) != (ssize_t)sizeof(resp))
		_exit(3);
	sleep_ms(300);
}

static void *
stall_later(void *arg)
{
	(void)arg;
	sleep_ms(10);
	pthread_kill(stall_target, SIGUSR1);
	return NULL;
}

START_TEST(test_bridge_answer_waiting_past_the_deadline_is_taken)
{
	struct sigaction sa = { .sa_handler = stall }, old;
	uint8_t cmd[32];
	uint64_t v = 0;
	pthread_t t;
	struct ioregion_bridge *b = bridge_on_pair(SOCK_SEQPACKET, &stall_dev);

	ior_assert_int_eq(ioregion_bridge_set_timeout(b, 100), 0);
	ior_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
	stall_target = pthread_self();
	ior_assert_int_eq(pthread_create(&t, NULL, stall_later, NULL), 0);
	/* the answer is in the fd when the thread comes back after the
	 * deadline: the device was not late, the bridge takes it */
	ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE, false, 1,
						 &v), 1);
	ior_assert_uint_eq(v, 0x5e);
	ior_assert_uint_eq(log_count, 0);
	pthread_join(t, NULL);
	ior_assert_int_eq(sigaction(SIGUSR1, &old, NULL), 0);
	ior_assert_uint_eq(ior_read_timeout(stall_dev, cmd, 32, 2000), 32);
	close(stall_dev);
	ioregion_bridge_unref(b);
}
END_TEST

START_TEST(test_bridge_idle_check_setter_null_einval_toggles_both_ways)
{
	uint8_t cmd[32];
	uint64_t v = 0;
	int dev;
	struct ioregion_bridge *b = bridge_on_pair(SOCK_SEQPACKET, &dev);

	ior_assert_errno(ioregion_bridge_set_idle_check(NULL, true), -EINVAL);
	ior_assert_errno(ioregion_bridge_set_idle_check(NULL, false), -EINVAL);
	/* on, then off again: a waiting answer is taken */
	ior_assert_int_eq(ioregion_bridge_set_idle_check(b, true), 0);
	ior_assert_int_eq(ioregion_bridge_set_idle_check(b, false), 0);
	put_answer(dev, 0x6161, 32);
	ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						 &v), 1);
	ior_assert_uint_eq(v, 0x6161);
	ior_assert_uint_eq(ior_read_timeout(dev, cmd, 32, 2000), 32);
	/* on: found before anything is sent */
	ior_assert_int_eq(ioregion_bridge_set_idle_check(b, true), 0);
	put_answer(dev, 0x6262, 32);
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -EBADMSG);
	ior_assert_uint_eq(v, 0xffffffffull);
	ior_assert(!ior_readable(dev, 0));
	close(dev);
	ioregion_bridge_unref(b);
}
END_TEST

static Suite *
bridge_answers_suite(void)
{
	Suite *s = suite_create("bridge-answers");

	ior_add_test(s, test_bridge_broken_answers_fail_the_fd);
	ior_add_test(s, test_bridge_stream_response_in_pieces_is_reassembled);
	ior_add_test(s, test_bridge_data_waiting_before_read_returns_ebadmsg_unsent);
	ior_add_test(s, test_bridge_stray_while_idle_is_taken_then_fails_the_next_read);
	ior_add_test(s, test_bridge_answer_with_more_in_the_fd_returns_ebadmsg);
	ior_add_test(s, test_bridge_answer_then_eof_is_an_answer_then_econnreset);
	ior_add_test(s, test_bridge_answer_waiting_past_the_deadline_is_taken);
	ior_add_test(s, test_bridge_idle_check_setter_null_einval_toggles_both_ways);
	return s;
}

IOR_TEST_MAIN(bridge_answers_suite)
