/* SPDX-License-Identifier: MIT */
/* ioregion-abi: the ioctl's argument checks, the probe, file release. */
#include "abi.h"

/* ---- tests --------------------------------------------------------------- */

void test_args(void)
{
	struct vm v;
	int sv[2], vm;

	vm_create(&v, NULL, 0, NULL, 0);
	vm = v.fd;
	pair(sv);

	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, sv[0], sv[0], 1u << 3),
		  -EINVAL, "unknown flag 1<<3");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, sv[0], sv[0], 0x80000000u),
		  -EINVAL, "unknown flag 1<<31");
	{
		struct ioregion_kvm_ioregion r;

		memset(&r, 0, sizeof(r));
		r.guest_paddr = MMIO_BASE;
		r.memory_size = 0x100;
		r.read_fd = r.write_fd = sv[0];
		r.pad[27] = 1;
		EXPECT_RC(ioctl(vm, IOREGION_KVM_SET_IOREGION, &r) < 0 ? -errno : 0,
			  -EINVAL, "non-zero padding");
	}
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0, 0, sv[0], sv[0], 0),
		  -EINVAL, "size 0 without POSTED_WRITES");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0, 0, -2, -2, 0),
		  -EINVAL, "size 0 without POSTED_WRITES, fds -2 (the library's presence probe)");
	EXPECT_RC(set_ioregion(vm, 0, 0, 0, -1, -1, 0),
		  -EINVAL, "size 0 without POSTED_WRITES, fds -1 (the library's dialect probe: "
		  "EINVAL = v3, a v1/v2 kernel answers ENOENT)");
	EXPECT_RC(set_ioregion(vm, 0xfffffffffffff000ull, 0x2000, 0, sv[0], sv[0], 0),
		  -EINVAL, "MMIO wrap-around");
	EXPECT_RC(set_ioregion(vm, 0xfffffffffffff000ull, 0x1000, 0, sv[0], sv[0], 0),
		  -EINVAL, "MMIO ending at 2^64 (refused like ioeventfd does)");
	EXPECT_RC(set_ioregion(vm, 0xffffffffffffe000ull, 0x1000, 0, sv[0], sv[0], 0),
		  0, "MMIO ending just below 2^64");
	EXPECT_RC(set_ioregion(vm, 0xfff0, 0x20, 0, sv[0], sv[0], IOREGION_KVM_PIO),
		  -EINVAL, "PIO beyond port 0xffff");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, -1, sv[0], 0),
		  -EBADF, "read_fd -1");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, sv[0], 1000, 0),
		  -EBADF, "write_fd not open");
	{
		int p[2];

		if (pipe(p) < 0)
			die("pipe");
		EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, p[1], p[1], 0),
			  -EBADF, "read_fd not open for reading (a pipe's write end)");
		EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, p[0], p[0], 0),
			  -EBADF, "write_fd not open for writing (a pipe's read end)");
		EXPECT_RC(set_ioregion(vm, 0x700, 0x10, 0, p[0], p[1], IOREGION_KVM_PIO),
			  0, "a pipe pair (read end, write end)");
		close(p[0]);
		close(p[1]);
	}

	/* overlaps between ioregions */
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, sv[0], sv[0], 0), 0,
		  "MMIO 0xd0000+0x100");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE + 0xff, 0x10, 0, sv[0], sv[0], 0), -EEXIST,
		  "MMIO overlapping its last byte");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE - 0x10, 0x11, 0, sv[0], sv[0], 0), -EEXIST,
		  "MMIO overlapping its first byte");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE + 0x80, 0, 0, sv[0], sv[0],
			       IOREGION_KVM_POSTED_WRITES), -EEXIST,
		  "MMIO doorbell inside it");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE + 0x100, 0x100, 0, sv[0], sv[0], 0), 0,
		  "MMIO right after it");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, sv[0], sv[0], IOREGION_KVM_PIO), -EINVAL,
		  "PIO at 0xd0000 (beyond 0xffff)");
	EXPECT_RC(set_ioregion(vm, 0x100, 0x100, 0, sv[0], sv[0], IOREGION_KVM_PIO), 0,
		  "PIO 0x100+0x100 (other bus than MMIO 0x100)");
	EXPECT_RC(set_ioregion(vm, 0x1ff, 1, 0, sv[0], sv[0], IOREGION_KVM_PIO), -EEXIST,
		  "PIO overlapping");
	EXPECT_RC(set_ioregion(vm, 0x100, 0x100, 0, sv[0], sv[0], 0), 0,
		  "MMIO 0x100+0x100 (other bus than PIO 0x100)");

	/* ioeventfd both ways */
	EXPECT_RC(set_ioeventfd(vm, MMIO_BASE + 0x10, 4, 0, 0), -EEXIST,
		  "ioeventfd inside an MMIO ioregion");
	EXPECT_RC(set_ioeventfd(vm, MMIO_BASE + 0x10, 0, 0, 0), -EEXIST,
		  "length-0 ioeventfd inside an MMIO ioregion");
	EXPECT_RC(set_ioeventfd(vm, 0x180, 2, 1, 0), -EEXIST,
		  "PIO ioeventfd inside a PIO ioregion");
	EXPECT_RC(set_ioeventfd(vm, 0xe0000, 4, 0, 0), 0, "MMIO ioeventfd at 0xe0000");
	EXPECT_RC(set_ioregion(vm, 0xe0000 - 0x10, 0x12, 0, sv[0], sv[0], 0), -EEXIST,
		  "ioregion over an MMIO ioeventfd");
	EXPECT_RC(set_ioregion(vm, 0xe0003, 0, 0, sv[0], sv[0], IOREGION_KVM_POSTED_WRITES),
		  -EEXIST, "doorbell over an MMIO ioeventfd");
	EXPECT_RC(set_ioregion(vm, 0xe0004, 4, 0, sv[0], sv[0], 0), 0,
		  "ioregion right after the ioeventfd");
	EXPECT_RC(set_ioeventfd(vm, 0x400, 1, 1, 0), 0, "PIO ioeventfd at 0x400");
	EXPECT_RC(set_ioregion(vm, 0x3f0, 0x20, 0, sv[0], sv[0], IOREGION_KVM_PIO), -EEXIST,
		  "PIO ioregion over a PIO ioeventfd");
	EXPECT_RC(set_ioregion(vm, 0x3f0, 0x20, 0, sv[0], sv[0], 0), 0,
		  "MMIO ioregion at the PIO ioeventfd's number");

	/* removal */
	EXPECT_RC(set_ioregion(vm, 0xf0000, 0x100, 0, -1, -1, IOREGION_KVM_DEASSIGN),
		  -ENOENT, "DEASSIGN of a missing region");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x80, 0, -1, -1, IOREGION_KVM_DEASSIGN),
		  -ENOENT, "DEASSIGN with the wrong size");
	EXPECT_RC(set_ioregion(vm, 0x3f0, 0x20, 0, -1, -1,
			       IOREGION_KVM_DEASSIGN | IOREGION_KVM_PIO),
		  -ENOENT, "DEASSIGN on the wrong bus (MMIO 0x3f0 exists, PIO does not)");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, -1, -1,
			       IOREGION_KVM_DEASSIGN | (1u << 5)),
		  -EINVAL, "DEASSIGN with an unknown flag");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, -1, -1, IOREGION_KVM_DEASSIGN),
		  0, "DEASSIGN");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, -1, -1, IOREGION_KVM_DEASSIGN),
		  -ENOENT, "DEASSIGN again");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE + 0x10, 4, 0, sv[0], sv[0], 0), 0,
		  "register in the freed range");
	EXPECT_RC(set_ioeventfd(vm, MMIO_BASE + 0x20, 4, 0, 0), 0,
		  "ioeventfd in the freed range");

	check(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_IOREGIONFD_PATCH) == 1,
	      "KVM_CHECK_EXTENSION(KVM_CAP_IOREGIONFD = %d) = 1 (informative: the "
	      "library detects by errno)", KVM_CAP_IOREGIONFD_PATCH);
	check(ioregion_kvm_probe(vm) == 1, "the library's ioregion_kvm_probe() = %d (want 1)",
	      ioregion_kvm_probe(vm));
	check(ioregion_kvm_probe_system() == 1, "ioregion_kvm_probe_system() = %d (want 1)",
	      ioregion_kvm_probe_system());
	{
		enum ioregion_wire_dialect d = (enum ioregion_wire_dialect)0;
		int rc = ioregion_kvm_probe_dialect(vm, &d);

		check(rc == 1 && d == IOREGION_WIRE_V3,
		      "ioregion_kvm_probe_dialect() = %d, dialect %d (want 1, v3 = %d)", rc,
		      (int)d, IOREGION_WIRE_V3);
		d = (enum ioregion_wire_dialect)0;
		rc = ioregion_kvm_probe_system_dialect(&d);
		check(rc == 1 && d == IOREGION_WIRE_V3,
		      "ioregion_kvm_probe_system_dialect() = %d, dialect %d (want 1, v3 = %d)",
		      rc, (int)d, IOREGION_WIRE_V3);
	}

	close(sv[0]);
	close(sv[1]);
	vm_destroy(&v);
}

/* Files are released on removal and on VM destruction: the peer sees EOF. */
void test_release(void)
{
	struct vm v;
	int a[2], b[2];

	vm_create(&v, NULL, 0, NULL, 0);
	pair(a);
	pair(b);
	EXPECT_RC(set_ioregion(v.fd, MMIO_BASE, 0x100, 0, a[0], a[0], 0), 0, "register A");
	EXPECT_RC(set_ioregion(v.fd, 0x1230, 0x10, 0, b[0], b[0],
			       IOREGION_KVM_PIO | IOREGION_KVM_POSTED_WRITES), 0,
		  "register B (PIO, posted)");
	close(a[0]);
	close(b[0]);
	check(!readable(a[1], 100), "A's peer: no EOF while registered (KVM holds the file)");
	EXPECT_RC(set_ioregion(v.fd, MMIO_BASE, 0x100, 0, -1, -1, IOREGION_KVM_DEASSIGN), 0,
		  "DEASSIGN A");
	check(readable(a[1], 2000) && recv(a[1], &v.kvm, sizeof(v.kvm), MSG_DONTWAIT) == 0,
	      "A's peer sees EOF after DEASSIGN (file released)");
	check(!readable(b[1], 100), "B's peer: no EOF while the VM lives");
	vm_destroy(&v);
	check(readable(b[1], 2000) && recv(b[1], &v.kvm, sizeof(v.kvm), MSG_DONTWAIT) == 0,
	      "B's peer sees EOF after the VM is destroyed (file released)");
	close(a[1]);
	close(b[1]);
}
