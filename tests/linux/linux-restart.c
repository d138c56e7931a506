/* SPDX-License-Identifier: MIT */
/* linux-test --restart: see linux-restart.h and linux-test.c. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linux-restart.h"
#include "virtio-blk-model.h"
#include "../../lib/device/virtio-private.h"

/* --restart: kill when the device holds a request, as its state file
 * says (the transport's layout: lib/device/virtio-private.h): the kill
 * then lands in the middle of one. */
static bool
holds_request(void *data, pid_t dev)
{
	uint64_t word;
	int fd = open(data, O_RDONLY | O_CLOEXEC);
	bool held;

	(void)dev;
	if (fd < 0)
		return false;
	held = pread(fd, &word, sizeof(word), (off_t)vstate_progress_off(1,
		VBLK_QUEUE_MAX, 0)) == (ssize_t)sizeof(word) &&
	       (uint16_t)word != (uint16_t)(word >> 16);
	close(fd);
	return held;
}

/* --restart: the kills, the guest's I/O error and read-back, no reset. */
void
restart_check(const struct run *r, const char *read_sha)
{
	const char *con = r->out.data ? r->out.data : "";
	const char *err = r->err.data ? r->err.data : "", *p;
	char v[512];
	unsigned long n, most = 0;

	if (r->kills < 1)
		fail("restart: no SIGKILL sent to virtio-blk");
	else
		fprintf(stderr, "linux-test: restart: %d SIGKILL(s) to "
			"virtio-blk\n", r->kills);
	if (!marker(con, "restart dd", v, sizeof(v)) ||
	    (!strstr(v, "Input/output error") && !strstr(v, "I/O error")))
		fail("restart: want the guest's dd to report an I/O error");
	else
		fprintf(stderr, "linux-test: restart: the guest's dd: %s\n", v);
	if (!marker(con, "restart sha256", v, sizeof(v)) ||
	    strncmp(v, read_sha, 64) || v[64] != ' ')
		fail("restart sha256: want %s after the restart", read_sha);
	else
		fprintf(stderr, "linux-test: restart sha256 %s: the host's\n", v);
	if (!strstr(err, "device virtio-blk re-attached") ||
	    !strstr(err, "not reset: it keeps its state") ||
	    strstr(err, "virtio-blk re-attached (the bridge), reset") ||
	    strstr(err, "virtio-blk re-attached (KVM and the bridge), reset"))
		fail("restart: tinyvmm must re-attach virtio-blk without a reset");
	for (p = err; (p = strstr(p, ": resumed, ")); p++) {
		n = strtoul(p + strlen(": resumed, "), NULL, 10);
		most = n > most ? n : most;
	}
	if (most < 1)
		fail("restart: no restarted virtio-blk answered a request of "
		     "the dead one IOERR");
	else
		fprintf(stderr, "linux-test: restart: up to %lu request(s) of "
			"the dead process answered IOERR\n", most);
}

void
restart_arm(struct run *r, const char *state)
{
	r->kill_out = MARK "restart: reading";
	r->kill_stop_out = MARK "restart dd: ";
	r->kill_match = "virtio-blk";
	r->kill_ready = "device virtio-blk re-attached";
	r->kill_when = holds_request;
	r->kill_data = (void *)state;
	r->kill_every_ms = 300;
	r->kill_max = 12;		/* tinyvmm gives up after 16 */
}
