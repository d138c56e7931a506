// SPDX-License-Identifier: MIT
/*
 * tinyvmm's ACPI tables read back by ACPICA's tools, which we did not
 * write: iasl's disassembler and compiler, and acpiexec, the interpreter
 * Linux runs. Exit 77 (skip) when they are not installed (Debian:
 * acpica-tools, in scripts/install-deps test).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm-acpi-fixture.h"

static char tmpdir[64];

static void write_file(const char *name, const void *p, size_t n)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ior_assert_int_ge(fd, 0);
	ior_write_all(fd, p, n);
	close(fd);
}

/* Read a whole (small) file into a NUL-terminated heap string. */
static char *read_file(const char *name)
{
	char path[128];
	FILE *f;
	char *s;
	long n;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "re");
	if (f == NULL)
		ior_abort("%s: %s", path, strerror(errno));
	ior_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ior_assert_int_ge(n, 0);
	rewind(f);
	s = malloc((size_t)n + 1);
	ior_assert_ptr_nonnull(s);
	ior_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = 0;
	fclose(f);
	return s;
}

/* Run iasl with @args in tmpdir, its output into @log; returns its exit
 * status. */
static int run_iasl(const char *args, const char *log)
{
	char cmd[512];
	int st;

	snprintf(cmd, sizeof(cmd), "cd '%s' && iasl %s > %s 2>&1", tmpdir,
		 args, log);
	st = system(cmd);
	ior_assert(st != -1 && WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Runs of blanks and newlines in @s as one blank: iasl's and acpiexec's
 * column alignment is not what we test. */
static void squeeze(char *s)
{
	char *w = s;

	for (const char *r = s; *r; r++) {
		bool blank = *r == ' ' || *r == '\n' || *r == '\t';

		if (blank && w > s && w[-1] == ' ')
			continue;
		*w++ = blank ? ' ' : *r;
	}
	*w = 0;
}

static char *read_squeezed(const char *name)
{
	char *s = read_file(name);

	squeeze(s);
	return s;
}

static void assert_contains(const char *hay, const char *needle,
			    const char *what)
{
	if (strstr(hay, needle) == NULL)
		ior_abort("%s: no \"%s\" in:\n%.1500s", what, needle, hay);
}

static void assert_clean(const char *log, const char *what)
{
	static const char *const bad[] = {
		"Error", "error", "Warning", "warning", "Incorrect", "Invalid",
		"invalid",
	};
	char *s = read_file(log);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* iasl's summary line "0 Errors, 0 Warnings" is fine. */
		const char *p = s;

		while ((p = strstr(p, bad[i])) != NULL) {
			if (!(p > s + 1 && p[-1] == ' ' && p[-2] == '0'))
				ior_abort("%s: \"%s\" in:\n%.1500s", what, bad[i], s);
			p++;
		}
	}
	free(s);
}

/* Remove tmpdir and what is in it (flat: files only). */
static void remove_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ior_assert_int_eq(system(cmd), 0);
}

/*
 * iasl -d disassembles each table (the RSDP is no table to it: "RSD PTR "
 * is no ACPI signature, so the RSDP is checked above only), its output
 * has no complaint, the disassembly says what we meant, and the DSDT's
 * compiles back. acpiexec (ACPICA's interpreter, the one Linux runs)
 * loads the namespace from the FADT, DSDT and MADT and converts each
 * device's _CRS with its resource manager, as Linux does.
 */
START_TEST(test_iasl_reads_the_tables)
{
	static const struct vmm_acpi_mmio w[] = {
		{ .base = 0xd0000000, .size = 0x200, .gsi = 5 },
		{ .base = 0xd0000200, .size = 0x200, .gsi = 16 },
	};
	static const char *const names[] = { "dsdt", "facp", "apic", "xsdt" };
	uint64_t rsdp = 0;
	ssize_t used = build(GPA, BUF_LEN, 2, w, 2, &rsdp);
	struct tables t = walk(rsdp, used);
	const uint8_t *tabs[] = { t.dsdt, t.fadt, t.madt, t.xsdt };
	char *out;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-vmm-acpi.XXXXXX");
	ior_assert_ptr_nonnull(mkdtemp(tmpdir));
	for (size_t i = 0; i < 4; i++) {
		char file[16], args[64], log[16];

		snprintf(file, sizeof(file), "%s.dat", names[i]);
		snprintf(args, sizeof(args), "-d %s", file);
		snprintf(log, sizeof(log), "%s.log", names[i]);
		write_file(file, tabs[i], rd32(tabs[i] + 4));
		ior_assert_int_eq(run_iasl(args, log), 0);
		assert_clean(log, file);
	}

	out = read_squeezed("dsdt.dsl");
	assert_contains(out, "Scope (\\_SB)", "dsdt.dsl");
	assert_contains(out, "Device (COM1)", "dsdt.dsl");
	assert_contains(out, "Name (_HID, EisaId (\"PNP0501\")", "dsdt.dsl");
	assert_contains(out, "0x03F8, // Range Minimum", "dsdt.dsl");
	assert_contains(out, "IRQNoFlags () {4}", "dsdt.dsl");
	assert_contains(out, "Device (VR00)", "dsdt.dsl");
	assert_contains(out, "Device (VR01)", "dsdt.dsl");
	assert_contains(out, "Name (_HID, \"LNRO0005\")", "dsdt.dsl");
	assert_contains(out, "Name (_UID, One)", "dsdt.dsl");
	assert_contains(out, "Memory32Fixed (ReadWrite, "
			"0xD0000000, // Address Base "
			"0x00000200, // Address Length",
			"dsdt.dsl");
	assert_contains(out, "0xD0000200, // Address Base", "dsdt.dsl");
	assert_contains(out, "Interrupt (ResourceConsumer, Level, ActiveHigh, "
			"Exclusive, ,, ) { "
			"0x00000005,", "dsdt.dsl");
	assert_contains(out, " 0x00000010,", "dsdt.dsl");
	free(out);
	out = read_squeezed("facp.dsl");
	assert_contains(out, "Revision : 06", "facp.dsl");
	assert_contains(out, "Hardware Reduced (V5) : 1", "facp.dsl");
	assert_contains(out, "CMOS RTC Not Present (V5) : 1", "facp.dsl");
	assert_contains(out, "VGA Not Present (V4) : 1", "facp.dsl");
	assert_contains(out, "8042 Present on ports 60/64 (V2) : 0", "facp.dsl");
	assert_contains(out, "FADT Minor Revision : 03", "facp.dsl");
	assert_contains(out, "DSDT Address : 00000000000E0000", "facp.dsl");
	free(out);
	out = read_squeezed("apic.dsl");
	assert_contains(out, "Local Apic Address : FEE00000", "apic.dsl");
	assert_contains(out, "PC-AT Compatibility : 1", "apic.dsl");
	assert_contains(out, "Local Apic ID : 01", "apic.dsl");
	assert_contains(out, "I/O Apic ID : 02", "apic.dsl");
	assert_contains(out, "Address : FEC00000", "apic.dsl");
	free(out);
	out = read_squeezed("xsdt.dsl");
	assert_contains(out, "ACPI Table Address 0 : 00000000000E", "xsdt.dsl");
	free(out);

	/* The DSDT's disassembly compiles back without a complaint. */
	ior_assert_int_eq(run_iasl("-p recompiled dsdt.dsl", "recompile.log"),
			  0);
	assert_clean("recompile.log", "dsdt.dsl");
	out = read_file("recompile.log");
	assert_contains(out, "0 Errors, 0 Warnings, 0 Remarks", "recompile.log");
	free(out);

	/* acpiexec: the namespace and each _CRS as Linux's ACPICA sees them */
	{
		char cmd[512];
		int st;

		snprintf(cmd, sizeof(cmd), "cd '%s' && acpiexec -b '"
			 "Resources \\_SB.COM1; Resources \\_SB.VR00; "
			 "Resources \\_SB.VR01' facp.dat dsdt.dat apic.dat "
			 "> acpiexec.log 2>&1", tmpdir);
		st = system(cmd);
		ior_assert(st != -1 && WIFEXITED(st));
		ior_assert_int_eq(WEXITSTATUS(st), 0);
	}
	out = read_squeezed("acpiexec.log");
	assert_contains(out, "with 3 Devices", "acpiexec.log");
	assert_contains(out, "ACPI: 1 ACPI AML tables successfully acquired "
			"and loaded", "acpiexec.log");
	assert_contains(out, "I/O Resource "
			"Address Decoding : Decode16 "
			"Address Minimum : 03F8",
			"acpiexec.log");
	assert_contains(out, "IRQ Resource Descriptor Length : 02 "
			"Triggering : Edge Polarity : ActiveHigh "
			"Sharing : Exclusive Interrupt Count : 01 "
			"Interrupt List : 4 ", "acpiexec.log");
	assert_contains(out, "32-Bit Fixed Memory Range Resource "
			"Write Protect : ReadWrite "
			"Address : D0000000 "
			"Address Length : 00000200", "acpiexec.log");
	assert_contains(out, "Address : D0000200", "acpiexec.log");
	assert_contains(out, "Extended IRQ Resource "
			"Type : ResourceConsumer "
			"Triggering : Level "
			"Polarity : ActiveHigh "
			"Sharing : Exclusive", "acpiexec.log");
	assert_contains(out, "Dword00 : 00000005", "acpiexec.log");
	assert_contains(out, "Dword00 : 00000010", "acpiexec.log");
	/* No error but the one its Resources command always hits: it tries
	 * _SRS, which a fixed device does not have. */
	{
		const char *p = out;
		size_t n = 0;

		while ((p = strstr(p, "AE_")) != NULL) {
			if (strncmp(p, "AE_NOT_FOUND", 12) != 0 || p - out < 32 ||
			    strncmp(p - 32, "AcpiSetCurrentResources failed: ",
				    32) != 0)
				ior_abort("acpiexec: %.60s in:\n%.1500s", p, out);
			n++;
			p++;
		}
		ior_assert_uint_eq(n, 3);
		ior_assert_ptr_null(strstr(out, "Error"));
		ior_assert_ptr_null(strstr(out, "Warning"));
	}
	free(out);
	remove_tmpdir();
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("vmm-acpi-iasl");

	ior_add_test_timeout(s, test_iasl_reads_the_tables, 60);
	return s;
}

int main(void)
{
	if (system("command -v iasl && command -v acpiexec") != 0) {
		printf("SKIP: iasl or acpiexec not installed (Debian: "
		       "acpica-tools)\n");
		return 77;
	}
	return ior_run_suite(make_suite());
}
