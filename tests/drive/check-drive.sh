#!/bin/sh
# ioregion-drive's tests on tests/drive-device.c (not one of the examples).
# usage: check-drive.sh CASE IOREGION-DRIVE DRIVE-DEVICE SCRIPTDIR
#   pass         pass.drive: exit 0, no FAIL line
#   mismatch     mismatch.drive: exit 1, exactly the three failing lines
#   no-checks    no-checks.drive: exit 2
#   script-error a bad size and an irq line: exit 125 before any device
#   socket-path  the device started by hand, connecting to --socket-path
set -u
case=$1
drive=$2
dev=$3
dir=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $*"
	echo "--- output:"
	cat "$tmp/out"
	exit 1
}

# expect_exit WANT SCRIPT [ARGS]: run the driver with one spawned device
expect_exit() {
	want=$1
	script=$2
	shift 2
	"$drive" --spawn "$dev" "$@" "$script" >"$tmp/out" 2>&1
	rc=$?
	[ "$rc" -eq "$want" ] || fail "$script: exit $rc, want $want"
}

case $case in
pass)
	expect_exit 0 "$dir/pass.drive"
	grep -q 'FAIL' "$tmp/out" && fail "a FAIL line in a passing run"
	grep -q '^ioregion-drive: 30 accesses, 23 checks, 0 failed$' "$tmp/out" ||
		fail "wrong totals"
	grep -q '^drive-device: posted writes, in order, none lost$' "$tmp/out" ||
		fail "say text missing"
	;;
mismatch)
	expect_exit 1 "$dir/mismatch.drive"
	grep '^line [0-9]*: FAIL' "$tmp/out" >"$tmp/fails"
	cat >"$tmp/want" <<'TXT'
line 4: FAIL: read mmio 0xe0000000 (4 bytes): 0xd71e001, expected 0x12345678
line 6: FAIL: write to mmio 0xe0000008 was not posted (the region answers writes)
line 7: FAIL: mmio 0xe0000000 is claimed by a region, expected none
TXT
	diff -u "$tmp/want" "$tmp/fails" || fail "wrong failure lines"
	grep -q '^ioregion-drive: 6 accesses, 5 checks, 3 failed$' "$tmp/out" ||
		fail "wrong totals"
	grep -q '^ioregion-drive: FAIL$' "$tmp/out" || fail "no FAIL verdict"
	;;
no-checks)
	expect_exit 2 "$dir/no-checks.drive"
	grep -q 'no checks in the script' "$tmp/out" || fail "no reason given"
	;;
script-error)
	printf 'r mmio dt 3\n' >"$tmp/bad.drive"
	expect_exit 125 "$tmp/bad.drive"
	grep -q "bad.drive:1: size '3': want 1, 2, 4 or 8" "$tmp/out" || fail "size message"
	printf '# interrupts\nirq 5\n' >"$tmp/irq.drive"
	expect_exit 125 "$tmp/irq.drive"
	grep -q 'irq.drive:2: interrupt checks are not supported yet' "$tmp/out" ||
		fail "irq message"
	grep -q 'spawned' "$tmp/out" && fail "a device was started for a bad script"
	;;
socket-path)
	sock="$tmp/vmm.sock"
	"$drive" --socket-path "$sock" --devices 1 --wait-ms 20000 \
		"$dir/pass.drive" >"$tmp/out" 2>&1 &
	pid=$!
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$sock" ] || fail "no socket at $sock"
	"$dev" --socket-path "$sock" >"$tmp/dev.out" 2>&1
	devrc=$?
	wait $pid
	rc=$?
	[ "$rc" -eq 0 ] || fail "driver exit $rc"
	[ "$devrc" -eq 0 ] || { cat "$tmp/dev.out"; fail "device exit $devrc"; }
	grep -q '0 failed$' "$tmp/out" || fail "totals"
	;;
*)
	echo "unknown case $case"
	exit 2
	;;
esac
echo "ok: ioregion-drive $case"
exit 0
