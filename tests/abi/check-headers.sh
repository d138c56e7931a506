#!/bin/sh
# Every public header compiles alone: as C99 with -pedantic, and as C++;
# the generated ones (version.h) from the build folder.
# usage: check-headers.sh SRCDIR BUILDDIR CC [CXX]
set -eu
src=$1
build=$2
cc=$3
cxx=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for h in "$src"/include/ioregion/*.h "$build"/include/ioregion/*.h; do
	name=$(basename "$h")
	printf '#include <ioregion/%s>\nint main(void) { return 0; }\n' "$name" >"$tmp/t.c"
	$cc -std=c99 -pedantic -Wall -Wextra -Werror -I"$src/include" -I"$build/include" -fsyntax-only "$tmp/t.c" ||
		{ echo "FAIL: $name as C99 -pedantic"; exit 1; }
	if [ -n "$cxx" ]; then
		$cxx -std=c++11 -pedantic -Wall -Wextra -Werror -I"$src/include" -I"$build/include" -fsyntax-only -x c++ "$tmp/t.c" ||
			{ echo "FAIL: $name as C++11"; exit 1; }
	fi
	n=$((n + 1))
done
echo "ok: $n headers compile alone (C99 pedantic${cxx:+, C++11})"
