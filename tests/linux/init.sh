#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# shellcheck shell=dash disable=SC2086
# (SC2086: the unquoted expansions split on purpose: A:B:C fields, the
# words of the command line and of an /proc/interrupts row.)
# /init of the Linux guest's initramfs (packed by tests/linux/mkinitramfs).
#
# Runs as PID 1 of Debian's stock kernel booted by tinyvmm on out-of-process
# devices: its console is the uart16550 device process, its disk the
# virtio-blk device process. It prints "LINUXTEST <what>: <value>" lines on
# the console for the host (tests/linux/linux-test.c) to assert, and powers
# off by writing its status byte to tinyvmm's debug-exit port 0xf4 through
# /dev/port: 0 = every check passed, else the number of failed checks.
#
# Parameters on the kernel command line (the host writes them):
#   linuxtest.read=SECTOR:COUNT:SHA256   region the host filled; its hash
#   linuxtest.write=SECTOR:COUNT         region to fill with `seq -w 100000
#                                        999999` output (7-byte lines),
#                                        truncated to COUNT sectors
#   linuxtest.restart=SECTOR:COUNT:SHA256  read the disk in a loop while
#                                        the host kills the virtio-blk
#                                        process, until a read fails (I/O
#                                        error); then the region's hash
#   linuxtest.bench=SEQ_MIB:RAND_OPS:N   wait for N virtio disks, run
#                                        /bin/blkbench on all of them
#                                        (the virtio benchmark: its
#                                        BLKBENCH lines, tests/linux/
#                                        linux-bench.c)
#   linuxtest.cpus=N                     the kernel must have brought up
#                                        N CPUs (tinyvmm --vcpus N)
#   linuxtest.shell=1                    after the checks, a shell on the
#                                        console (the demo); power off
#                                        when it exits
/bin/busybox mkdir -p /proc /sys /dev /tmp /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/tmp TERM=${TERM:-vt100}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

say() { echo "LINUXTEST $*"; }
failed=0
nl_ifs=$IFS
fail() { say "FAIL: $*"; failed=$((failed + 1)); }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

say "init: $(uptime_s)"
say "banner: $(cat /proc/version)"

# The 8250 driver's probe line, e.g. "ttyS0 at I/O 0x3f8 (irq = 4,
# base_baud = 115200) is a 16550A".
line=$(dmesg | grep -m 1 'ttyS0 at ')
if [ -n "$line" ]; then say "8250: ${line#*] }"; else fail "no ttyS0 line in dmesg"; fi

param() { # param NAME: the value of linuxtest.NAME= on the command line
	read -r cmdline </proc/cmdline
	for w in $cmdline; do
		case $w in "linuxtest.$1="*) echo "${w#*=}"; return 0 ;; esac
	done
	return 1
}

if want=$(param cpus); then
	got=$(grep -c '^processor' /proc/cpuinfo)
	say "cpus: $got"
	[ "$got" = "$want" ] || fail "$got CPUs up, tinyvmm has $want vCPUs"
fi

for m in /lib/modules/*.ko; do
	out=$(insmod "$m" 2>&1) || fail "insmod $m: $out"
done

# ACPI's LNRO0005 devices are virtio_mmio's; the disk node may come a
# little after virtio_blk's probe. (Each sleep is a fork and exec: slow
# when nested under TCG, so few of them.)
if ! ls -d /sys/bus/platform/devices/LNRO0005:* >/dev/null 2>&1; then
	fail "no LNRO0005 (virtio-mmio) device in the ACPI tables"
fi
n=0
while [ ! -b /dev/vda ] && [ "$n" -lt 20 ] && ls /sys/bus/virtio/devices/* >/dev/null 2>&1; do
	sleep 1
	n=$((n + 1))
done
if [ -b /dev/vda ]; then
	say "vda: $(cat /sys/block/vda/size) sectors"
else
	fail "no /dev/vda: $(dmesg | grep -i virtio | tail -n 3 | tr '\n' ' ')"
fi

if spec=$(param bench); then
	IFS=:; set -- $spec; IFS=$nl_ifs; seq_mib=$1 rand_ops=$2 ndisks=${3:-1}
	# every disk probed (each LNRO0005 device on its own), named by its
	# GET_ID serial for the host
	n=0
	while [ "$(ls /sys/block | grep -c '^vd')" -lt "$ndisks" ] && [ "$n" -lt 300 ]; do
		sleep 0.1; n=$((n + 1))
	done
	disks=
	for b in /sys/block/vd*; do
		[ -e "$b" ] || continue
		d=/dev/${b##*/}
		echo "BLKBENCH disk $d serial=$(cat "$b/serial" 2>/dev/null)"
		disks="$disks $d"
	done
	if [ ! -x /bin/blkbench ]; then
		fail "no /bin/blkbench in the initramfs"
	elif [ -z "$disks" ]; then
		fail "no virtio disk to measure"
	else
		/bin/blkbench "$seq_mib" "$rand_ops" $disks || fail "blkbench exit $?"
	fi
fi

if [ -b /dev/vda ] && spec=$(param read); then
	IFS=:; set -- $spec; IFS=$nl_ifs; sec=$1 cnt=$2 want=$3
	got=$(dd if=/dev/vda bs=512 skip="$sec" count="$cnt" iflag=direct 2>/dev/null |
		sha256sum | cut -d' ' -f1)
	say "read sha256: $got"
	[ "$got" = "$want" ] || fail "read sha256 $got, the host wrote $want"
fi

# linux-test --restart: whole-disk direct reads, one after the other,
# while the host kills the virtio-blk process (at most 90 s). The read the
# dead process held fails; the restarted one serves the rest.
if [ -b /dev/vda ] && spec=$(param restart); then
	IFS=:; set -- $spec; IFS=$nl_ifs; sec=$1 cnt=$2 want=$3
	say "restart: reading"
	end=$(( $(uptime_s | cut -d. -f1) + 90 ))
	n=0 err=
	while [ -z "$err" ] && [ "$(uptime_s | cut -d. -f1)" -lt "$end" ]; do
		if ! dd if=/dev/vda of=/dev/null bs=4M count=1 iflag=direct 2>/tmp/dd.err; then
			err=$(grep -m 1 -i error /tmp/dd.err)
			[ -n "$err" ] || err="dd failed: $(tail -n 1 /tmp/dd.err)"
		fi
		n=$((n + 1))
	done
	if [ -n "$err" ]; then
		say "restart dd: $err (read $n)"
	else
		fail "restart: no read failed in $n whole-disk reads"
	fi
	# the host stops killing when it sees that line: give it a second,
	# then read the region (again if a last kill got in the way)
	sleep 1
	got= i=0
	while [ -z "$got" ] && [ "$i" -lt 5 ]; do
		dd if=/dev/vda of=/tmp/region bs=512 skip="$sec" count="$cnt" \
			iflag=direct 2>/dev/null &&
			got=$(sha256sum </tmp/region | cut -d' ' -f1)
		i=$((i + 1))
	done
	rm -f /tmp/region
	say "restart sha256: $got (read $i)"
	[ "$got" = "$want" ] || fail "restart sha256 $got, the host wrote $want"
fi

if [ -b /dev/vda ] && spec=$(param write); then
	IFS=:; set -- $spec; IFS=$nl_ifs; sec=$1 cnt=$2
	if seq -w 100000 999999 | head -c $((cnt * 512)) |
		dd of=/dev/vda bs=512 seek="$sec" oflag=direct conv=fsync 2>/tmp/dd.err; then
		sync
		got=$(dd if=/dev/vda bs=512 skip="$sec" count="$cnt" iflag=direct 2>/dev/null |
			sha256sum | cut -d' ' -f1)
		say "write sha256: $got"
	else
		fail "dd to vda: $(cat /tmp/dd.err)"
	fi
fi

# The console's own output went through the tty (not the polled printk
# path), so the UART's THRE interrupts were counted on its line.
row=$(grep 'ttyS0' /proc/interrupts | tr -s ' ')
if [ -n "$row" ]; then
	say "interrupts:$row"
	set -- $row
	shift # "4:", then one count per CPU
	sum=0
	for c in "$@"; do
		case $c in *[!0-9]*) break ;; esac
		sum=$((sum + c))
	done
	[ "$sum" -gt 0 ] || fail "no interrupts counted for ttyS0"
else
	fail "ttyS0 has no row in /proc/interrupts"
fi

if [ "$(param shell)" = 1 ]; then
	say "shell: the console is the out-of-process 16550; exit the shell to power off"
	setsid cttyhack sh -l
fi

say "status: $failed"
sync
st=$failed
[ "$st" -gt 255 ] && st=255
# tinyvmm exits with this byte as its status
# shellcheck disable=SC2059 # the format is the byte, as an octal escape
printf "\\$(printf %03o "$st")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
poweroff -f
