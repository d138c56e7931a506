#!/bin/sh
# ABI guard: the version script, the IOREGION_EXPORT definitions, the
# functions declared in the public headers and the shared library's dynamic
# symbols must all name the same set of functions.
# usage: check-symbols.sh SRCDIR LIBIOREGION.so
set -eu
src=$1
lib=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sed -n '/global:/,/local:/p' "$src/lib/libioregion.sym" |
	grep -oE 'ioregion_[a-z0-9_]+' | sort >"$tmp/sym"
sort -c "$tmp/sym" 2>/dev/null || true
# The map must be kept in alphabetical order.
sed -n '/global:/,/local:/p' "$src/lib/libioregion.sym" |
	grep -oE 'ioregion_[a-z0-9_]+' >"$tmp/sym-raw"
if ! cmp -s "$tmp/sym" "$tmp/sym-raw"; then
	echo "lib/libioregion.sym is not in alphabetical order"
	exit 1
fi
# IOREGION_EXPORT sits on the return-type line; the name starts the next.
awk '/^IOREGION_EXPORT/ { getline; sub(/\(.*/, ""); print }' "$src"/lib/*.c "$src"/lib/*/*.c |
	sort >"$tmp/export"
grep -hoE '^(ioregion_[a-z0-9_]+|[a-z].* \**ioregion_[a-z0-9_]+)\(' "$src"/include/ioregion/*.h "$src"/include/ioregion/*.h.in |
	grep -oE 'ioregion_[a-z0-9_]+\($' | tr -d '(' | grep -v '_fn$' | sort -u >"$tmp/header"
nm -D --defined-only "$lib" | awk '{ sub(/@.*/, "", $3); print $3 }' | grep -E '^ioregion_' |
	sort >"$tmp/dynsym"
nm -D --defined-only "$lib" | awk '{ sub(/@.*/, "", $3); print $3 }' |
	grep -vE '^(ioregion_|IOREGION_|_init$|_fini$|$)' >"$tmp/leak" || true

rc=0
check() {
	if ! diff -u "$tmp/$1" "$tmp/$2" >"$tmp/diff"; then
		echo "$3:"
		cat "$tmp/diff"
		rc=1
	fi
}
check sym export "version script vs IOREGION_EXPORT definitions"
check sym header "version script vs public header declarations"
check sym dynsym "version script vs exported dynamic symbols"
if [ -s "$tmp/leak" ]; then
	echo "symbols exported without the ioregion_ prefix:"
	cat "$tmp/leak"
	rc=1
fi
[ $rc -eq 0 ] && echo "ok: $(wc -l <"$tmp/sym") symbols agree"
exit $rc
