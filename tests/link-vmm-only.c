/* SPDX-License-Identifier: MIT */
/*
 * Link test (suite abi): a VMM-side program that includes only the
 * VMM-side headers, built without libev's include path or dependency,
 * uses the bridge end to end (a region served by a forked echo device over
 * a socketpair), the probe and the hand-off. Proves the VMM side needs no
 * ev.h. Exit 0 on success.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ioregion/wire.h"
#include "ioregion/desc.h"
#include "ioregion/kvm.h"
#include "ioregion/bridge.h"
#include "ioregion/handoff.h"

#ifdef EV_VERSION_MAJOR
#error "a VMM-side header pulled in ev.h"
#endif

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, \
				#cond);                                    \
			exit(1);                                           \
		}                                                          \
	} while (0)

/* A one-register device: answers every read with the last value written. */
static void
echo_device(int fd)
{
	uint8_t buf[IOREGION_WIRE_MSG_SIZE];
	uint64_t reg = 0;

	while (read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf)) {
		struct ioregion_wire_cmd c;

		if (ioregion_wire_decode_cmd(IOREGION_WIRE_V3, buf, &c) < 0)
			_exit(2);
		if (c.cmd == IOREGION_CMD_WRITE)
			reg = c.data;
		if (c.resp) {
			ioregion_wire_encode_resp(reg, buf);
			if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				_exit(3);
		}
	}
	_exit(0);
}

int
main(void)
{
	struct ioregion_desc d = {
		.addr = 0xd0000000, .size = 0x1000, .user_data = 1,
		.dialect = IOREGION_WIRE_V3,
	};
	struct ioregion_desc got, end;
	struct ioregion_bridge *b = NULL;
	uint64_t v = 0x1234;
	int sv[2], hv[2], fd, end_fd, status, rc;
	pid_t pid;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		echo_device(sv[1]);
	}
	close(sv[1]);

	/* hand the device's fd to ourselves, as a device process would */
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, hv) == 0);
	CHECK(ioregion_handoff_check_peer(hv[1], getuid()) == 0);
	CHECK(ioregion_handoff_send(hv[0], &d, sv[0], "echo") == 0);
	CHECK(ioregion_handoff_send_end(hv[0]) == 0);
	CHECK(ioregion_handoff_recv(hv[1], &got, &fd, NULL) == 1);
	CHECK(ioregion_handoff_recv(hv[1], &end, &end_fd, NULL) == 0);
	CHECK(end_fd == -1);
	close(hv[0]);
	close(hv[1]);
	close(sv[0]);

	CHECK(ioregion_bridge_new(&b) == 0);
	CHECK(ioregion_bridge_set_timeout(b, 2000) == 0);
	CHECK(ioregion_bridge_add(b, &got, fd) == 0);
	close(fd);
	CHECK(ioregion_bridge_access(b, false, 0xd0000010, true, 4, &v) == 1);
	v = 0;
	CHECK(ioregion_bridge_access(b, false, 0xd0000010, false, 4, &v) == 1);
	CHECK(v == 0x1234);
	b = ioregion_bridge_unref(b);

	/* any answer but a crash: no /dev/kvm is fine here */
	rc = ioregion_kvm_probe_system();
	CHECK(rc == 0 || rc == 1 || rc < 0);
	CHECK(ioregion_kvm_probe(-1) == -EBADF);

	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return 0;
}
