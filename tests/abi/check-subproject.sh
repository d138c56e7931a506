#!/bin/sh
# libioregion as a Meson subproject: a scratch parent project in a temporary
# folder, with this checkout linked in as subprojects/libioregion, finds the
# library through dependency('libioregion', fallback: ...) in both
# spellings, builds and runs a small program, and lists none of
# libioregion's tests (they are off in a subproject). The parent's
# default_library decides which library kind is built.
# usage: check-subproject.sh SRCDIR [MESON]
set -eu
src=$1
meson=${2:-meson}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $*"
	exit 1
}

# spelling default_library
run() {
	spelling=$1
	kind=$2
	p="$tmp/parent-$spelling"
	mkdir -p "$p/subprojects"
	ln -s "$src" "$p/subprojects/libioregion"
	cp "$src/tests/abi/consumer.c" "$p/prog.c"
	case $spelling in
	name) fb="'libioregion'" ;;
	variable) fb="['libioregion', 'libioregion_dep']" ;;
	esac
	cat >"$p/meson.build" <<EOF
project('parent', 'c')
dep = dependency('libioregion', fallback: $fb)
test('parent-prog', executable('prog', 'prog.c', dependencies: dep))
EOF
	"$meson" setup "$p/build" "$p" --wrap-mode=forcefallback \
		-Ddefault_library="$kind" >"$p/setup.log" 2>&1 ||
		{ cat "$p/setup.log"; fail "$spelling: meson setup"; }
	ninja -C "$p/build" >"$p/build.log" 2>&1 ||
		{ cat "$p/build.log"; fail "$spelling: build"; }
	"$meson" test -C "$p/build" --no-rebuild --list >"$p/list" 2>"$p/list.err" ||
		{ cat "$p/list.err"; fail "$spelling: meson test --list"; }
	if [ "$(cat "$p/list")" != "parent-prog" ]; then
		echo "the parent's tests:"
		cat "$p/list"
		fail "$spelling: libioregion's tests leak into the parent"
	fi
	"$meson" test -C "$p/build" --print-errorlogs >"$p/test.log" 2>&1 ||
		{ cat "$p/test.log"; fail "$spelling: the parent's program failed"; }
	sub="$p/build/subprojects/libioregion"
	so=$(find "$sub" -name 'libioregion*.so*' | head -n 1)
	ar=$(find "$sub" -name 'libioregion*.a' | head -n 1)
	case $kind in
	static) [ -z "$so" ] && [ -n "$ar" ] ||
		fail "$spelling: default_library=static built '${so}' '${ar}'" ;;
	shared) [ -n "$so" ] && [ -z "$ar" ] ||
		fail "$spelling: default_library=shared built '${so}' '${ar}'" ;;
	esac
	echo "ok: fallback $fb, default_library=$kind: program runs, no libioregion test listed"
}

run name shared
run variable static
