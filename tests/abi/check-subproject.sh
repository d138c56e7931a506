#!/bin/sh
# libioregion as a Meson subproject: a scratch parent project in a temporary
# folder, with this checkout linked in as subprojects/libioregion, finds the
# library through dependency('libioregion', fallback: ...) in both
# spellings (and dependency('libioregion-server') likewise), builds and
# runs a device program and a VMM-side one, and lists none of
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
	cp "$src/tests/abi/consumer.c" "$p/device.c"
	cp "$src/tests/link-vmm-only.c" "$p/vmm.c"
	case $spelling in
	name) fb="'libioregion'" sfb="'libioregion'" ;;
	variable) fb="['libioregion', 'libioregion_dep']"
		sfb="['libioregion', 'libioregion_server_dep']" ;;
	esac
	cat >"$p/meson.build" <<EOF
project('parent', 'c')
vmm = dependency('libioregion', fallback: $fb)
server = dependency('libioregion-server', fallback: $sfb)
test('parent-device', executable('device', 'device.c', dependencies: server))
test('parent-vmm', executable('vmm', 'vmm.c', dependencies: vmm))
EOF
	"$meson" setup "$p/build" "$p" --wrap-mode=forcefallback \
		-Ddefault_library="$kind" >"$p/setup.log" 2>&1 ||
		{ cat "$p/setup.log"; fail "$spelling: meson setup"; }
	ninja -C "$p/build" >"$p/build.log" 2>&1 ||
		{ cat "$p/build.log"; fail "$spelling: build"; }
	"$meson" test -C "$p/build" --no-rebuild --list >"$p/list" 2>"$p/list.err" ||
		{ cat "$p/list.err"; fail "$spelling: meson test --list"; }
	if [ "$(cat "$p/list")" != "$(printf 'parent-device\nparent-vmm')" ]; then
		echo "the parent's tests:"
		cat "$p/list"
		fail "$spelling: libioregion's tests leak into the parent"
	fi
	"$meson" test -C "$p/build" --print-errorlogs >"$p/test.log" 2>&1 ||
		{ cat "$p/test.log"; fail "$spelling: the parent's program failed"; }
	sub="$p/build/subprojects/libioregion"
	so=$(find "$sub" -name 'libioregion*.so*' -type f | head -n 1)
	ar=$(find "$sub" -name 'libioregion*.a' -type f | head -n 1)
	case $kind in
	static) [ -z "$so" ] && [ -n "$ar" ] ||
		fail "$spelling: default_library=static built '${so}' '${ar}'" ;;
	shared) [ -n "$so" ] && [ -z "$ar" ] ||
		fail "$spelling: default_library=shared built '${so}' '${ar}'" ;;
	esac
	echo "ok: fallback $fb and $sfb, default_library=$kind: programs run, no libioregion test listed"
}

run name shared
run variable static
