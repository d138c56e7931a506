#!/bin/sh
# ABI guard, per installed library: its version script, the IOREGION_EXPORT
# definitions in its sources and its shared object's dynamic symbols must
# name the same set of functions, and the two version scripts together
# must name exactly the functions declared in the public headers.
#   libioregion         lib/libioregion.sym         lib/*.c lib/vmm/*.c
#   libioregion-server  lib/libioregion-server.sym  lib/device/*.c
# usage: check-symbols.sh SRCDIR LIBIOREGION.so LIBIOREGION-SERVER.so
set -eu
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rc=0

check() {
	if ! diff -u "$tmp/$1" "$tmp/$2" >"$tmp/diff"; then
		echo "$3:"
		cat "$tmp/diff"
		rc=1
	fi
}

# NAME MAP SO SOURCES...
one() {
	name=$1
	map=$2
	so=$3
	shift 3
	sed -n '/global:/,/local:/p' "$map" | grep -oE 'ioregion_[a-z0-9_]+' >"$tmp/$name.raw"
	sort "$tmp/$name.raw" >"$tmp/$name.sym"
	if ! cmp -s "$tmp/$name.sym" "$tmp/$name.raw"; then
		echo "$map is not in alphabetical order"
		rc=1
	fi
	# IOREGION_EXPORT sits on the return-type line; the name starts the next.
	awk '/^IOREGION_EXPORT/ { getline; sub(/\(.*/, ""); print }' "$@" |
		sort >"$tmp/$name.export"
	nm -D --defined-only "$so" | awk '{ sub(/@.*/, "", $3); print $3 }' |
		grep -E '^ioregion_' | sort >"$tmp/$name.dynsym"
	nm -D --defined-only "$so" | awk '{ sub(/@.*/, "", $3); print $3 }' |
		grep -vE '^(ioregion_|IOREGION_|_init$|_fini$|$)' >"$tmp/$name.leak" || true
	check "$name.sym" "$name.export" "$name: version script vs IOREGION_EXPORT definitions"
	check "$name.sym" "$name.dynsym" "$name: version script vs exported dynamic symbols"
	if [ -s "$tmp/$name.leak" ]; then
		echo "$name: symbols exported without the ioregion_ prefix:"
		cat "$tmp/$name.leak"
		rc=1
	fi
}

one libioregion "$src/lib/libioregion.sym" "$2" "$src"/lib/*.c "$src"/lib/vmm/*.c
one libioregion-server "$src/lib/libioregion-server.sym" "$3" "$src"/lib/device/*.c

sort "$tmp/libioregion.sym" "$tmp/libioregion-server.sym" >"$tmp/all"
grep -hoE '^(ioregion_[a-z0-9_]+|[a-z].* \**ioregion_[a-z0-9_]+)\(' \
	"$src"/include/ioregion/*.h "$src"/include/ioregion/*.h.in |
	grep -oE 'ioregion_[a-z0-9_]+\($' | tr -d '(' | grep -v '_fn$' | sort -u >"$tmp/header"
check all header "both version scripts vs public header declarations"
[ $rc -eq 0 ] && echo "ok: $(wc -l <"$tmp/libioregion.sym") + $(wc -l <"$tmp/libioregion-server.sym") symbols agree"
exit $rc
