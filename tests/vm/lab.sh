# shellcheck shell=sh disable=SC2034
# Shared settings of the QEMU/TCG KVM lab. Sourced (never executed) by
# tests/vm/prepare and tests/vm/run, and meant to be sourced by the later
# patched-kernel lab, so that everything agrees on one cache folder and one
# Debian kernel ABI.
#
#   . tests/vm/lab.sh
#   lab_abi            -> e.g. 6.1.0-56 (cached after tests/vm/prepare)
#   lab_release        -> e.g. 6.1.0-56-amd64 (uname -r inside the guest,
#                         /usr/src/linux-headers-<release>, modules dir)
#
# Environment:
#   IOREGION_VM_CACHE       cache folder (default
#                           ${XDG_CACHE_HOME:-$HOME/.cache}/libioregion-vm)
#   IOREGION_VM_KERNEL_ABI  pin the kernel ABI (e.g. 6.1.0-56) instead of
#                           deriving it from the archive; only used before
#                           the cache records one.

LAB_CACHE=${IOREGION_VM_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is unset}/.cache}/libioregion-vm}
LAB_FLAVOUR=amd64
# The meta package whose dependency names the current ABI of the release.
LAB_ABI_META=linux-headers-$LAB_FLAVOUR
# Debian packages the lab needs on the host (the runner needs only these;
# the kernel lab adds linux-source / linux-headers of the same ABI).
LAB_PACKAGES="qemu-system-x86 busybox-static cpio gzip kmod libc-bin"
# Stock modules, in load order (each only depends on earlier ones).
LAB_MODULES="irqbypass ccp kvm kvm-amd"

LAB_ABI_FILE=$LAB_CACHE/kernel-abi
LAB_IMAGE_DIR=$LAB_CACHE/image
LAB_MODULES_DIR=$LAB_CACHE/modules
LAB_ENV_FILE=$LAB_CACHE/lab.env
LAB_READY_FILE=$LAB_CACHE/ready

# lab_derive_abi: the ABI that Debian's archive currently names, e.g.
# 6.1.0-56 from "Depends: linux-headers-6.1.0-56-amd64". The ONE place the
# version comes from; prints nothing and fails if it cannot be derived.
lab_derive_abi() {
	if [ -n "${IOREGION_VM_KERNEL_ABI:-}" ]; then
		_abi=$IOREGION_VM_KERNEL_ABI
	else
		_abi=$(apt-cache depends "$LAB_ABI_META" 2>/dev/null |
			sed -n "s/^ *Depends: linux-headers-\\([0-9][0-9.]*-[0-9][0-9]*\\)-$LAB_FLAVOUR\$/\\1/p" |
			head -n 1)
	fi
	case $_abi in
	[0-9]*.*.*-[0-9]*) printf '%s\n' "$_abi" ;;
	*) return 1 ;;
	esac
}

# lab_abi: the ABI recorded in the cache by tests/vm/prepare, else derived.
lab_abi() {
	if [ -s "$LAB_ABI_FILE" ]; then
		head -n 1 "$LAB_ABI_FILE"
	else
		lab_derive_abi
	fi
}

# lab_release: kernel release name (uname -r) of the lab kernel.
lab_release() {
	_abi=$(lab_abi) || return 1
	printf '%s-%s\n' "$_abi" "$LAB_FLAVOUR"
}

# lab_image_pkg: the Debian package holding the lab kernel and its modules.
lab_image_pkg() {
	_rel=$(lab_release) || return 1
	printf 'linux-image-%s\n' "$_rel"
}

# lab_headers_pkg: the matching headers package (for building kvm modules).
lab_headers_pkg() {
	_rel=$(lab_release) || return 1
	printf 'linux-headers-%s\n' "$_rel"
}
