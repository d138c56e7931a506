#!/bin/sh
# Install into a scratch DESTDIR and build an outside program with nothing
# but `pkg-config --cflags --libs libioregion` (and --static).
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
flags=$(pkg-config --cflags --libs libioregion)
case $kind in
shared | both)
	# shellcheck disable=SC2086
	$cc -Wall -Wextra -Werror -o "$tmp/consumer" "$src/tests/abi/consumer.c" $flags
	LD_LIBRARY_PATH="$libdir" "$tmp/consumer"
	;;
esac
sflags=$(pkg-config --static --cflags --libs libioregion)
case "$sflags" in
*-lev*) ;;
*) echo "FAIL: --static lacks -lev: $sflags"; exit 1 ;;
esac
case $kind in
static | both)
	[ -f "$libdir/libioregion.a" ] || { echo "FAIL: no libioregion.a installed"; exit 1; }
	# shellcheck disable=SC2086
	$cc -o "$tmp/consumer-static" "$src/tests/abi/consumer.c" \
		$(pkg-config --cflags libioregion) "$libdir/libioregion.a" \
		$(pkg-config --static --libs-only-other --libs-only-l libioregion | sed 's/-lioregion//')
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
