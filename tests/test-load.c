/* SPDX-License-Identifier: MIT */
/*
 * Load: two vCPU threads drive one bridge, 1,000,000 accesses each (mixed
 * posted writes and reads, over a channel both share and one channel each)
 * against a libioregion server in a child process. Every posted write
 * carries (vCPU, channel, sequence number); the device checks each
 * sequence (zero lost, zero reordered per vCPU and fd), and every read
 * returns how many writes of that vCPU the device has applied on that fd,
 * which the vCPU compares with what it sent. Prints the throughput.
 *
 * IOR_LOAD_ACCESSES sets the count per vCPU (the valgrind setup and the
 * sanitizer CI steps lower it); sanitizer builds default to a tenth.
 */
#include "test-common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "ioregion/bridge.h"
#include "ioregion/handoff.h"
#include "ioregion/server.h"

#define NVCPU 2
#define NCHAN 3			/* 0 shared, 1 vCPU 0's, 2 vCPU 1's */
#define BASE(ch) (0x10000000ull + (uint64_t)(ch) * 0x10000)
#define POSTED(ch) BASE(ch)
#define READS(ch) (BASE(ch) + 0x1000)
#define ERRORS_OFF 0xf8

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* ---- the device ------------------------------------------------------ */

struct chan_state {
	uint64_t next[NVCPU];	/* next sequence number per vCPU */
	uint64_t errors;
};

static int
posted_write(struct ioregion_region *r, uint64_t off, unsigned size,
	     uint64_t val)
{
	struct chan_state *c = ioregion_region_get_userdata(r);
	unsigned vcpu = (unsigned)(val >> 56);

	if (vcpu >= NVCPU || off != 8 * vcpu || size != 8 ||
	    (val & ((1ull << 56) - 1)) != c->next[vcpu])
		c->errors++;
	else
		c->next[vcpu]++;
	return 0;
}

static int
count_read(struct ioregion_region *r, uint64_t off, unsigned size,
	   uint64_t *val)
{
	struct chan_state *c = ioregion_region_get_userdata(r);

	if (off == ERRORS_OFF)
		*val = c->errors;
	else if (off / 8 < NVCPU)
		*val = c->next[off / 8];
	else
		return -EINVAL;
	return 0;
}

static void
closed(struct ioregion_channel *ch, int error, void *data)
{
	int *open = data;

	--*open;
}

static void
device_main(int sock)
{
	static const struct ioregion_region_ops posted_ops = {
		.write = posted_write,
	};
	static const struct ioregion_region_ops read_ops = {
		.read = count_read,
	};
	static struct chan_state st[NCHAN];
	struct ioregion_ctx *ctx;
	int open = NCHAN;
	uint64_t errors = 0;

	if (ioregion_ctx_new(NULL, &ctx) < 0)
		_exit(10);
	for (int c = 0; c < NCHAN; c++) {
		struct ioregion_channel *ch;
		struct ioregion_region_config cfg[2] = {
			{ .addr = POSTED(c), .size = 0x100,
			  .flags = IOREGION_F_POSTED_WRITES,
			  .widths = IOREGION_WIDTH_8,
			  .ops = &posted_ops, .userdata = &st[c] },
			{ .addr = READS(c), .size = 0x100,
			  .ops = &read_ops, .userdata = &st[c] },
		};

		if (ioregion_channel_new(ctx, IOREGION_WIRE_V3, &ch) < 0)
			_exit(11);
		for (int k = 0; k < 2; k++) {
			struct ioregion_region *r;
			struct ioregion_desc d;

			if (ioregion_region_new(ch, &cfg[k], &r) < 0 ||
			    ioregion_region_get_desc(r, &d) < 0 ||
			    ioregion_handoff_send(sock, &d,
						  ioregion_channel_peer_fd(ch),
						  NULL) < 0)
				_exit(12);
		}
		close(ioregion_channel_take_peer_fd(ch));
		ioregion_channel_set_close_handler(ch, closed, &open);
	}
	if (ioregion_handoff_send_end(sock) < 0)
		_exit(13);
	close(sock);
	while (open > 0)
		ev_run(ioregion_ctx_get_loop(ctx), EVRUN_ONCE);
	ioregion_ctx_unref(ctx);
	for (int c = 0; c < NCHAN; c++)
		errors += st[c].errors;
	_exit(errors ? 20 : 0);
}

/* ---- the vCPUs -------------------------------------------------------- */

static struct ioregion_bridge *bridge;
static uint64_t accesses;

struct vcpu {
	pthread_t thread;
	unsigned id;
	uint64_t sent[NCHAN];
	uint64_t reads, writes, failures;
	int first_rc;
	uint64_t first_bad_i;
};

static void *
vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	unsigned own = 1 + v->id;

	v->first_rc = 1;
	for (uint64_t i = 0; i < accesses; i++) {
		/* 3 posted writes then a read, on the shared channel and on
		 * this vCPU's own, alternating every 4 */
		unsigned ch = (i / 4) % 2 ? own : 0;
		uint64_t val;
		int rc;

		if (i % 4 != 3) {
			val = (uint64_t)v->id << 56 | v->sent[ch];
			rc = ioregion_bridge_access(bridge, false,
						    POSTED(ch) + 8 * v->id,
						    true, 8, &val);
			if (rc == 1) {
				v->sent[ch]++;
				v->writes++;
			}
		} else {
			rc = ioregion_bridge_access(bridge, false,
						    READS(ch) + 8 * v->id,
						    false, 8, &val);
			/* every write sent on this fd was applied, in order */
			if (rc == 1 && val != v->sent[ch])
				rc = -ERANGE;
			if (rc == 1)
				v->reads++;
		}
		if (rc != 1) {
			if (!v->failures) {
				v->first_rc = rc;
				v->first_bad_i = i;
			}
			v->failures++;
		}
	}
	return NULL;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_load_two_vcpus_million_accesses_none_lost_or_reordered)
{
	struct vcpu v[NVCPU];
	const char *env = getenv("IOR_LOAD_ACCESSES");
	int sv[2], n = 0, status = -1;
	double t0, t;
	pid_t pid;

	accesses = env ? strtoull(env, NULL, 0) : SANITIZED ? 100000 : 1000000;
	ior_assert_int_gt(accesses, 0);
	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	ior_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		device_main(sv[1]);
	}
	close(sv[1]);
	ior_assert_int_eq(ioregion_bridge_new(&bridge), 0);
	ior_assert_int_eq(ioregion_bridge_set_timeout(bridge, 10000), 0);
	for (;;) {
		struct ioregion_desc d;
		int fd, rc = ioregion_handoff_recv(sv[0], &d, &fd, NULL);

		if (rc == 0)
			break;
		ior_assert_int_eq(rc, 1);
		ior_assert_int_eq(ioregion_bridge_add(bridge, &d, fd), 0);
		close(fd);
		n++;
	}
	ior_assert_int_eq(n, 2 * NCHAN);
	close(sv[0]);

	t0 = now_s();
	for (unsigned i = 0; i < NVCPU; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].id = i;
		ior_assert_int_eq(pthread_create(&v[i].thread, NULL, vcpu_main, &v[i]), 0);
	}
	for (unsigned i = 0; i < NVCPU; i++)
		ior_assert_int_eq(pthread_join(v[i].thread, NULL), 0);
	t = now_s() - t0;

	for (unsigned i = 0; i < NVCPU; i++) {
		uint64_t errs = 1;

		if (v[i].failures)
			fprintf(stderr, "vCPU %u: %llu failures, first rc %d at %llu\n",
				i, (unsigned long long)v[i].failures, v[i].first_rc,
				(unsigned long long)v[i].first_bad_i);
		ior_assert_uint_eq(v[i].failures, 0);
		ior_assert_uint_eq(v[i].reads + v[i].writes, accesses);
		/* the device's own count of sequence errors, per fd */
		for (unsigned c = 0; c < NCHAN; c++) {
			ior_assert_int_eq(ioregion_bridge_access(bridge, false,
					  READS(c) + ERRORS_OFF, false, 8, &errs), 1);
			ior_assert_uint_eq(errs, 0);
		}
	}
	printf("# load: %u vCPUs x %llu accesses (3/4 posted writes, 1/4 reads) "
	       "in %.2f s: %.0f accesses/s\n", NVCPU,
	       (unsigned long long)accesses, t, (double)NVCPU * (double)accesses / t);
	fflush(stdout);
	bridge = ioregion_bridge_unref(bridge);	/* EOF on every channel */
	ior_assert_int_eq(waitpid(pid, &status, 0), pid);
	ior_assert(WIFEXITED(status));
	ior_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static Suite *
load_suite(void)
{
	Suite *s = suite_create("load");

	ior_add_test_timeout(s, test_load_two_vcpus_million_accesses_none_lost_or_reordered, 600);
	return s;
}

IOR_TEST_MAIN(load_suite)
