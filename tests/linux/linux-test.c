/* SPDX-License-Identifier: MIT */
/*
 * linux-test: boots Debian's stock kernel on tinyvmm with its console on
 * the out-of-process uart16550 and its disk on the out-of-process
 * virtio-blk device, and checks what the guest's own drivers did, from
 * the guest's console and from the disk image afterwards.
 *
 *   linux-test --tinyvmm P --uart P --virtio-blk P --kernel VMLINUX
 *              --initrd CPIO [--expect-path fast|bridge] [--timeout S]
 *              [--restart] [--show] [--keep DIR] [--poweroff]
 *
 * The initramfs is tests/linux/mkinitramfs's; its /init (init.sh) prints
 * the LINUXTEST lines checked here and powers off with its status byte.
 * The disk image (4 MiB) holds a pattern from this run's seed in sectors
 * READ_SEC.. (the guest checks its sha256, given on the kernel command
 * line) and a filler in WRITE_SEC.., which the guest overwrites with
 * `seq -w 100000 999999` output; afterwards the whole image must be what
 * the guest was told to make of it, byte for byte.
 *
 * Checked: tinyvmm's exit status 0 (the guest's), the banner, the 8250
 * probe line (a 16550A at 0x3f8 on irq = 4), the ttyS0 row of
 * /proc/interrupts ("4:", IO-APIC, "4-edge") with a count > 0, the disk's size, both
 * checksums, no failure the guest reported, the image, and the path
 * tinyvmm took (the kernel's: fast path where KVM_SET_IOREGION exists;
 * --expect-path pins it). Printed: the boot time from tinyvmm's start to
 * /init's first line. Nothing is asserted about speed.
 *
 * --restart: the virtio-blk process keeps its transport's state in a file
 * (--state-file) and tinyvmm restarts it (--restart virtio-blk); the
 * guest reads the disk in a loop (linuxtest.restart=) while this program
 * kills the device (SIGKILL, 300 ms after the last one once its restart
 * is done, at the moment its state file says it holds a request, or
 * after 500 ms; at most 12 times) until a read fails. Checked besides
 * (linux-restart.c): a kill was sent, the guest's dd reported an I/O
 * error, the read region then read back with the host's sha256, tinyvmm
 * re-attached the device without a reset (it keeps its state), the
 * restarted device answered at least one request of the dead one IOERR,
 * and the rest of the run (the write, the image) as without --restart.
 *
 * --show echoes the console as it arrives; --keep keeps the image in DIR.
 * --poweroff boots into `poweroff -f` instead of /init (rdinit=): Linux's
 * ACPI power-off (S5 to tinyvmm's PM1 control register) must end the run
 * at once, as an error without the guest's status byte: exit 125 and
 * tinyvmm's message. Nothing else is checked then.
 * Exit 0 pass, 1 fail, 77 skip (no KVM).
 *
 *   linux-test --check-console FILE READ_SHA256 WRITE_SHA256
 *
 * applies only the console checks to a saved console (the checker's own
 * tests, no KVM needed): exit 0 if they pass, else 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "example-test.h"
#include "linux-guest.h"
#include "linux-poweroff.h"
#include "linux-restart.h"
#include "sha256.h"

#define SECTOR 512
#define DISK_BYTES (4u << 20)
#define READ_SEC 0u
#define WRITE_SEC 2048u
#define REGION_SECS 256u
#define REGION_BYTES (REGION_SECS * SECTOR)
#define FILLER 0x5a
#define VIRTIO_GSI 16
#define GUEST_MIB 256
#define DEFAULT_TIMEOUT_S 240

#define BASE_CMDLINE LINUX_BASE_CMDLINE


struct opts {
	const char *tinyvmm, *uart, *vblk, *kernel, *initrd, *keep;
	const char *vcpus;		/* --vcpus, or NULL: tinyvmm's one */
	unsigned int timeout_s;
	bool show;
	bool poweroff;
	bool restart;
	bool irq_level;		/* --irq-level: the disk's line is level */
};

static int failures;

void
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("linux-test: FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

/* The host's pattern: xorshift64 from @seed. */
static void
fill_pattern(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 32);
	}
}

/* What `seq -w 100000 999999 | head -c n` writes. */
static void
fill_seq(uint8_t *p, size_t n)
{
	char line[8];

	for (size_t i = 0, v = 100000; i < n; v++) {
		snprintf(line, sizeof(line), "%06zu\n", v);
		for (size_t j = 0; j < 7 && i < n; j++)
			p[i++] = (uint8_t)line[j];
	}
}

static int
write_all(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < n) {
		ssize_t w = write(fd, p + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;

			close(fd);
			return -e;
		}
		done += (size_t)w;
	}
	return close(fd) ? -errno : 0;
}

static int
read_all(const char *path, uint8_t *p, size_t n, size_t *got)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*got = 0;
	if (fd < 0)
		return -errno;
	while (*got < n) {
		ssize_t r = read(fd, p + *got, n - *got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	close(fd);
	return 0;
}

/* The rest of the console line that starts with "LINUXTEST @what: ", in
 * @buf (NUL-terminated), or NULL. */
const char *
marker(const char *console, const char *what, char *buf, size_t size)
{
	char key[64];
	const char *p = console;

	snprintf(key, sizeof(key), MARK "%s: ", what);
	while ((p = strstr(p, key))) {
		if (p == console || p[-1] == '\n') {
			const char *v = p + strlen(key);
			size_t n = strcspn(v, "\r\n");

			if (n >= size)
				n = size - 1;
			memcpy(buf, v, n);
			buf[n] = '\0';
			return buf;
		}
		p++;
	}
	return NULL;
}

/*
 * The 8250 driver's probe line and the ttyS0 row of /proc/interrupts, as
 * on a PC:
 *   "... ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A"
 *   "4: COUNT... IO-APIC 4-edge ttyS0"
 * Linux irq 4 is ISA IRQ 4 where Linux keeps the legacy IRQs 0-15 as
 * they are (tinyvmm's full ACPI FADT, or an MP table); on IO-APIC pin 4,
 * the GSI the VMM wired the UART to, edge triggered; counted (> 0).
 */
static void
check_uart(const char *con)
{
	char v[512], row[512], *save, *tok;
	const char *chip = NULL, *pin = NULL, *last = NULL;
	long sum = 0;

	if (!marker(con, "8250", v, sizeof(v)))
		fail("no 8250 probe line on the console");
	else if (!strstr(v, "ttyS0 at I/O 0x3f8 (irq = 4, ") ||
		 !strstr(v, "is a 16550A"))
		fail("8250 line '%s': want ttyS0, a 16550A at I/O 0x3f8 on "
		     "irq = 4", v);
	else
		fprintf(stderr, "linux-test: 8250: %s\n", v);

	if (!marker(con, "interrupts", row, sizeof(row))) {
		fail("no ttyS0 row of /proc/interrupts on the console");
		return;
	}
	tok = strtok_r(row, " ", &save);
	if (!tok || strcmp(tok, "4:"))
		fail("ttyS0's row is for interrupt '%s', want '4:'",
		     tok ? tok : "");
	while ((tok = strtok_r(NULL, " ", &save))) {
		if (!chip && tok[strspn(tok, "0123456789")] == '\0')
			sum += strtol(tok, NULL, 10);	/* a CPU's count */
		else if (!chip)
			chip = tok;
		else if (!pin)
			pin = tok;
		last = tok;
	}
	if (!chip || strcmp(chip, "IO-APIC") || !pin || strcmp(pin, "4-edge") ||
	    !last || strcmp(last, "ttyS0"))
		fail("ttyS0's row: controller '%s', line '%s', name '%s'; want "
		     "IO-APIC 4-edge ttyS0", chip ? chip : "",
		     pin ? pin : "", last ? last : "");
	if (sum <= 0)
		fail("ttyS0 took no interrupts");
	else
		fprintf(stderr, "linux-test: ttyS0 took %ld interrupts on irq "
			"4, IO-APIC pin 4\n", sum);
}

static void
check_console(const char *con, const char *read_sha, const char *write_sha)
{
	char v[512], want[32];
	const char *p;

	if (!marker(con, "banner", v, sizeof(v)) ||
	    strncmp(v, "Linux version ", 14))
		fail("no Linux banner on the console");
	else
		fprintf(stderr, "linux-test: banner: %.80s\n", v);

	check_uart(con);

	snprintf(want, sizeof(want), "%u sectors", DISK_BYTES / SECTOR);
	if (!marker(con, "vda", v, sizeof(v)) || strcmp(v, want))
		fail("virtio disk: want 'vda: %s' on the console", want);
	else
		fprintf(stderr, "linux-test: vda: %s\n", v);

	if (!marker(con, "read sha256", v, sizeof(v)) || strcmp(v, read_sha))
		fail("read sha256: want %s (the host's pattern)", read_sha);
	else
		fprintf(stderr, "linux-test: read sha256 %s: the host's\n", v);
	if (!marker(con, "write sha256", v, sizeof(v)) ||
	    strcmp(v, write_sha))
		fail("write sha256: want %s (seq's output)", write_sha);
	else
		fprintf(stderr, "linux-test: write sha256 %s: seq's\n", v);

	for (p = con; (p = strstr(p, MARK "FAIL: ")); p++)
		fail("the guest says: %.*s", (int)strcspn(p, "\r\n"), p);
	if (!marker(con, "status", v, sizeof(v)) || strcmp(v, "0"))
		fail("the guest's status line: want 'status: 0'");
}

static void
check_image(const char *path, const uint8_t *want)
{
	static uint8_t got[DISK_BYTES + 1];
	size_t n, i;
	int rc = read_all(path, got, sizeof(got), &n);

	if (rc) {
		fail("read %s: %s", path, strerror(-rc));
		return;
	}
	if (n != DISK_BYTES) {
		fail("the image is %zu bytes, was %u", n, DISK_BYTES);
		return;
	}
	for (i = 0; i < n && got[i] == want[i]; i++)
		;
	if (i < n)
		fail("image byte %zu (sector %zu): 0x%02x, want 0x%02x", i,
		     i / SECTOR, got[i], want[i]);
	else
		fprintf(stderr, "linux-test: image: sectors %u..%u as the "
			"guest wrote them, the rest unchanged\n", WRITE_SEC,
			WRITE_SEC + REGION_SECS - 1);
}

static int
check_saved_console(const char *path, const char *read_sha,
		    const char *write_sha)
{
	static uint8_t con[1 << 16];
	size_t n;
	int rc = read_all(path, con, sizeof(con) - 1, &n);

	if (rc) {
		fprintf(stderr, "linux-test: %s: %s\n", path, strerror(-rc));
		return 1;
	}
	con[n] = '\0';
	check_console((const char *)con, read_sha, write_sha);
	fprintf(stderr, "linux-test: console %s: %d failed check%s\n", path,
		failures, failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: linux-test --tinyvmm P --uart P --virtio-blk P "
		"--kernel VMLINUX --initrd CPIO\n"
		"                  [--expect-path fast|bridge] [--timeout S] "
		"[--restart] [--show] [--keep DIR] [--poweroff]\n"
		"                  [--vcpus N]  (the guest must count N CPUs)\n"
		"                  [--irq-level]  (the disk's line is a level line)\n");
}

static int
parse(int argc, char **argv, struct opts *o)
{
	static const struct option options[] = {
		{ "tinyvmm", required_argument, NULL, 't' },
		{ "uart", required_argument, NULL, 'u' },
		{ "virtio-blk", required_argument, NULL, 'b' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "expect-path", required_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "show", no_argument, NULL, 's' },
		{ "poweroff", no_argument, NULL, 'P' },
		{ "restart", no_argument, NULL, 'R' },
		{ "keep", required_argument, NULL, 'K' },
		{ "vcpus", required_argument, NULL, 'V' },
		{ "irq-level", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	o->timeout_s = DEFAULT_TIMEOUT_S;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 't': o->tinyvmm = optarg; break;
		case 'u': o->uart = optarg; break;
		case 'b': o->vblk = optarg; break;
		case 'k': o->kernel = optarg; break;
		case 'i': o->initrd = optarg; break;
		case 'e': expect_path = optarg; break;
		case 's': o->show = true; break;
		case 'P': o->poweroff = true; break;
		case 'R': o->restart = true; break;
		case 'L': o->irq_level = true; break;
		case 'K': o->keep = optarg; break;
		case 'V':
			if (strspn(optarg, "0123456789") != strlen(optarg) ||
			    !*optarg || strlen(optarg) > 2) {
				fprintf(stderr, "linux-test: --vcpus wants a "
					"number\n");
				return -1;
			}
			o->vcpus = optarg;
			break;
		case 'T':
			errno = 0;
			o->timeout_s = (unsigned int)strtoul(optarg, &end, 10);
			if (errno || *end || o->timeout_s == 0 ||
			    o->timeout_s > 3600) {
				fprintf(stderr, "linux-test: --timeout wants "
					"1..3600 seconds\n");
				return -1;
			}
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc || !o->tinyvmm || !o->uart || !o->vblk ||
	    !o->kernel || !o->initrd ||
	    (expect_path && strcmp(expect_path, "fast") &&
	     strcmp(expect_path, "bridge"))) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static uint8_t image[DISK_BYTES];
	struct opts o = { 0 };
	struct run r = { 0 };
	char dir[256], disk[300], state[300], vblk_args[700], cmdline[1024];
	char timeout_ms[16];
	char read_sha[65], write_sha[65], up[64];
	uint64_t seed;
	int rc;

	if (!(argc == 5 && !strcmp(argv[1], "--check-console")) &&
	    parse(argc, argv, &o))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && !strcmp(argv[1], "--check-console"))
		return check_saved_console(argv[2], argv[3], argv[4]);
	for (const char *f = o.kernel; f; f = f == o.kernel ? o.initrd : NULL)
		if (access(f, R_OK)) {
			fprintf(stderr, "linux-test: %s: %s\n", f,
				strerror(errno));
			return 1;
		}
	if (linux_kvm_usable("linux-test"))
		return SKIP;
	probe_kernel();

	if (o.keep) {
		snprintf(dir, sizeof(dir), "%s", o.keep);
		if (mkdir(dir, 0700) && errno != EEXIST) {
			fprintf(stderr, "linux-test: mkdir %s: %s\n", dir,
				strerror(errno));
			return 1;
		}
	} else if (linux_tmpdir("linux-test", dir, sizeof(dir))) {
		return 1;
	}
	snprintf(disk, sizeof(disk), "%s/disk.img", dir);
	snprintf(state, sizeof(state), "%s/virtio-blk.state", dir);
	unlink(state);

	/* The image and what it must be afterwards. */
	seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
	memset(image, 0, sizeof(image));
	fill_pattern(image + READ_SEC * SECTOR, REGION_BYTES, seed);
	memset(image + WRITE_SEC * SECTOR, FILLER, REGION_BYTES);
	rc = write_all(disk, image, sizeof(image));
	if (rc) {
		fprintf(stderr, "linux-test: write %s: %s\n", disk,
			strerror(-rc));
		rc = 1;
		goto out;
	}
	sha256_hex(image + READ_SEC * SECTOR, REGION_BYTES, read_sha);
	fill_seq(image + WRITE_SEC * SECTOR, REGION_BYTES);
	sha256_hex(image + WRITE_SEC * SECTOR, REGION_BYTES, write_sha);
	if (o.poweroff)
		snprintf(cmdline, sizeof(cmdline), "%s " POWEROFF_CMDLINE,
			 BASE_CMDLINE);
	else
		snprintf(cmdline, sizeof(cmdline), "%s linuxtest.read=%u:%u:%s "
			 "linuxtest.write=%u:%u%s%s", BASE_CMDLINE, READ_SEC,
			 REGION_SECS, read_sha, WRITE_SEC, REGION_SECS,
			 o.vcpus ? " linuxtest.cpus=" : "", o.vcpus ? o.vcpus : "");
	if (o.restart)
		snprintf(cmdline + strlen(cmdline), sizeof(cmdline) -
			 strlen(cmdline), " linuxtest.restart=%u:%u:%s",
			 READ_SEC, REGION_SECS, read_sha);
	snprintf(timeout_ms, sizeof(timeout_ms), "%u", o.timeout_s * 1000u);
	fprintf(stderr, "linux-test: seed %" PRIu64 ", image %s, kernel %s, "
		"initrd %s\n", seed, disk, o.kernel, o.initrd);

	linux_args_boot(&r, o.tinyvmm, o.kernel, o.initrd, cmdline, o.uart);
	snprintf(vblk_args, sizeof(vblk_args), "--image %s%s%s%s", disk,
		 o.restart ? " --delay-us 20000 --state-file " : "",
		 o.restart ? state : "",
		 o.irq_level ? " --irq-level" : "");
	linux_args_spawn(&r, o.vblk, vblk_args);
	if (o.restart) {
		arg(&r, "--restart");
		arg(&r, "virtio-blk");
		restart_arm(&r, state);
	}
	linux_args_vblk(&r, "virtio-blk=16");
	arg(&r, "--timeout-ms");
	arg(&r, timeout_ms);
	if (o.vcpus) {
		arg(&r, "--vcpus");
		arg(&r, o.vcpus);
	}
	r.tee = o.show;
	r.mark = o.poweroff ? NULL : MARK "init: ";
	/* tinyvmm's own bound first, then the harness's */
	r.limit_ms = (long)o.timeout_s * 1000 + 15000;

	if (run_vmm(&r)) {
		rc = 1;
		goto out;
	}
	if (!o.show)
		fprintf(stderr, "---- guest console ----\n%s---- end ----\n",
			r.out.data ? r.out.data : "");
	if (r.status == SKIP) {
		fprintf(stderr, "linux-test: SKIP: no KVM\n");
		rc = SKIP;
		goto out;
	}
	if (o.poweroff) {
		rc = poweroff_check(&r);
		goto out;
	}

	if (r.mark_ms >= 0)
		fprintf(stderr, "linux-test: boot: /init's first line %.2f s "
			"after tinyvmm started (guest uptime %s s); the run "
			"%.2f s\n", r.mark_ms / 1000.0,
			marker(r.out.data, "init", up, sizeof(up)),
			r.run_ms / 1000.0);
	else
		fail("/init never spoke (run %.2f s)", r.run_ms / 1000.0);
	if (r.status != 0)
		fail("tinyvmm exit %d, want 0 (the guest's status byte)",
		     r.status);
	if (path_verdict(&r))
		failures++;
	check_console(r.out.data ? r.out.data : "", read_sha, write_sha);
	if (o.restart)
		restart_check(&r, read_sha);
	check_image(disk, image);
	fprintf(stderr, "linux-test: %s (%d failed check%s)\n",
		failures ? "FAIL" : "PASS", failures, failures == 1 ? "" : "s");
	rc = failures ? 1 : 0;
out:
	if (!o.keep) {
		unlink(disk);
		unlink(state);
		rmdir(dir);
	}
	run_free(&r);
	return rc;
}
