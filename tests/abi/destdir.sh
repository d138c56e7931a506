# Sourced by the abi scripts: install BUILDDIR into a scratch DESTDIR
# ($tmp/root) and point pkg-config at it. Sets PKG_CONFIG_PATH,
# PKG_CONFIG_SYSROOT_DIR and libdir (the installed library folder).
# usage: . destdir.sh (with $build and $tmp set)
meson install -C "$build" --no-rebuild --destdir "$tmp/root" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; exit 1; }
pc=$(find "$tmp/root" -name libioregion.pc)
[ -n "$pc" ] || { echo "FAIL: no libioregion.pc installed"; exit 1; }
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
libdir=$(dirname "$PKG_CONFIG_PATH")
