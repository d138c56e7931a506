#!/bin/sh
# The libioregion demo: tinyvmm runs real guests whose devices (a 16550A
# UART and a register bank) are separate processes, first `hello` (its
# UART output appears below), then `selftest` (its verdict). Without
# /dev/kvm it says so and drives the same device processes through the
# bridge with tools/ioregion-drive and examples/demo.drive instead, and prints the command
# that boots a real guest in the QEMU lab and shows its output.
#
#   examples/demo.sh [BUILD_DIR]     (default: build; or: ninja -C build demo)
set -u

build=${1:-build}
ex=$build/examples
drive=$build/tools/ioregion-drive
for f in "$ex/uart16550" "$ex/regbank" "$drive"; do
	if [ ! -x "$f" ]; then
		echo "demo: $f not built; run: meson setup $build && ninja -C $build" >&2
		exit 1
	fi
done

say() { printf '\n=== %s\n' "$*"; }

bridge_fallback() {
	say "no usable /dev/kvm here: $1"
	say "the same device processes, driven through the bridge by ioregion-drive and examples/demo.drive (no guest)"
	"$drive" --spawn "$ex/uart16550 --no-stdin --quiet" \
		--spawn "$ex/regbank --quiet" "$(dirname "$0")/demo.drive"
	rc=$?
	say "ioregion-drive: $([ $rc -eq 0 ] && echo PASS || echo "FAIL (exit $rc)")"
	abs=$(cd "$ex" && pwd)
	cat <<TXT

To see a real guest and its output (hello's UART text) under KVM on this
machine, boot it in the QEMU/TCG lab, which brings its own KVM:
    tests/vm/prepare
    tests/vm/run --test hello $abs/tinyvmm --arg --guest --arg $abs/guest/hello.bin \\
        --arg --spawn --arg "$abs/uart16550 --no-stdin" --file $abs/uart16550 --file $abs/guest/hello.bin
(selftest: guest/selftest.bin, and also --arg --spawn --arg $abs/regbank --file $abs/regbank.)
(\`meson test -C $build --suite vm\` runs every guest as a test: it checks
the guests' output but does not show it, not even with -v.)
TXT
	exit $rc
}

if [ ! -x "$ex/tinyvmm" ]; then
	bridge_fallback "tinyvmm is not built (x86-64 only)"
fi

say "hello guest: tinyvmm (KVM) + uart16550 process"
"$ex/tinyvmm" --guest "$ex/guest/hello.bin" \
	--spawn "$ex/uart16550 --no-stdin --quiet"
rc=$?
if [ $rc -eq 77 ]; then
	bridge_fallback "tinyvmm could not open ${IOREGION_KVM_DEV:-/dev/kvm}"
fi
[ $rc -eq 0 ] || { say "hello: FAIL (exit $rc)"; exit $rc; }

say "selftest guest: tinyvmm (KVM) + uart16550 + regbank processes"
"$ex/tinyvmm" --guest "$ex/guest/selftest.bin" \
	--spawn "$ex/uart16550 --no-stdin --quiet" \
	--spawn "$ex/regbank --quiet"
rc=$?
if [ $rc -eq 0 ]; then
	say "selftest verdict: PASS (guest status 0)"
else
	say "selftest verdict: FAIL (exit $rc: failed check number, or tinyvmm error)"
fi
exit $rc
