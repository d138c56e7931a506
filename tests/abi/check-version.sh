#!/bin/sh
# The version macros of the installed headers and ioregion_version() of
# the installed library agree with `pkg-config --modversion libioregion`
# (and so with meson.build's project version).
# usage: check-version.sh BUILDDIR SRCDIR CC [SANITIZE [DEFAULT_LIBRARY]]
set -eu
build=$1
src=$2
cc=$3
case "${4:-none}" in
none) ;;
*) cc="$cc -fsanitize=$4" ;;
esac
static=""
[ "${5:-shared}" = static ] && static=--static
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$src/tests/abi/destdir.sh"
modversion=$(pkg-config --modversion libioregion)
# shellcheck disable=SC2046
$cc -Wall -Wextra -Werror -o "$tmp/version" "$src/tests/abi/version.c" \
	$(pkg-config $static --cflags --libs libioregion)
got=$(LD_LIBRARY_PATH="$libdir" "$tmp/version")
want="macros $modversion library $modversion"
if [ "$got" != "$want" ]; then
	echo "FAIL: pkg-config --modversion says $modversion; the program says: $got"
	exit 1
fi
echo "ok: $got = pkg-config --modversion"
