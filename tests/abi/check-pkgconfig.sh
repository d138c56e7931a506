#!/bin/sh
# Install into a scratch DESTDIR and build an outside device program with
# nothing but `pkg-config --cflags --libs libioregion-server` (and
# --static), and a VMM-side one with `libioregion` alone (no libev).
# usage: check-pkgconfig.sh BUILDDIR SRCDIR CC [SANITIZE [DEFAULT_LIBRARY]]
# SANITIZE is the build's b_sanitize value: an instrumented library needs
# an instrumented program (the runtime must come first). DEFAULT_LIBRARY
# (shared, static, both) says which of the shared and the static link is
# tried: each one that was installed.
set -eu
build=$1
src=$2
cc=$3
case "${4:-none}" in
none) ;;
*) cc="$cc -fsanitize=$4" ;;
esac
kind=${5:-both}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$src/tests/abi/destdir.sh"
flags=$(pkg-config --cflags --libs libioregion-server)
vflags=$(pkg-config --cflags --libs libioregion)
case "$vflags $(pkg-config --static --libs libioregion)" in
*-lev*) echo "FAIL: libioregion.pc names libev: $vflags"; exit 1 ;;
esac
case "$flags" in
*-lioregion-server*-lioregion*) ;;
*) echo "FAIL: libioregion-server.pc does not bring libioregion: $flags"; exit 1 ;;
esac
case $kind in
shared | both)
	# shellcheck disable=SC2086
	$cc -Wall -Wextra -Werror -o "$tmp/consumer" "$src/tests/abi/consumer.c" $flags
	LD_LIBRARY_PATH="$libdir" "$tmp/consumer"
	# shellcheck disable=SC2086
	$cc -Wall -Wextra -Werror -o "$tmp/vmm" "$src/tests/link-vmm-only.c" $vflags
	LD_LIBRARY_PATH="$libdir" "$tmp/vmm"
	;;
esac
sflags=$(pkg-config --static --cflags --libs libioregion-server)
case "$sflags" in
*-lev*) ;;
*) echo "FAIL: --static lacks -lev: $sflags"; exit 1 ;;
esac
case $kind in
static | both)
	for a in libioregion.a libioregion-server.a; do
		[ -f "$libdir/$a" ] || { echo "FAIL: no $a installed"; exit 1; }
	done
	# shellcheck disable=SC2046
	$cc -o "$tmp/consumer-static" "$src/tests/abi/consumer.c" \
		$(pkg-config --cflags libioregion-server) \
		"$libdir/libioregion-server.a" "$libdir/libioregion.a" \
		$(pkg-config --static --libs-only-other --libs-only-l libioregion-server |
			sed 's/-lioregion-server//; s/-lioregion//')
	"$tmp/consumer-static"
	;;
esac
[ "$kind" = static ] && flags=$sflags
# The README's minimal device must build the way the README says.
awk '/^## A complete minimal device/ { on = 1 } on && /^```c/ { code = 1; next }
     code && /^```/ { exit } code { print }' "$src/README.md" >"$tmp/readme-dev.c"
[ -s "$tmp/readme-dev.c" ] || { echo "FAIL: no minimal device in README.md"; exit 1; }
# shellcheck disable=SC2086
$cc -Wall -Werror -o "$tmp/readme-dev" "$tmp/readme-dev.c" $flags -lev
echo "ok: pkg-config ($kind): $flags; README example builds"
