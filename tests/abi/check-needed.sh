#!/bin/sh
# The VMM side needs no libev at run time: libioregion.so has no NEEDED
# entry for libev; libioregion-server.so has one, and one for libioregion.
# usage: check-needed.sh LIBIOREGION.so LIBIOREGION-SERVER.so
set -eu
needed() {
	readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}
core=$(needed "$1")
server=$(needed "$2")
echo "libioregion NEEDs:" $core
echo "libioregion-server NEEDs:" $server
case " $(echo $core) " in
*" libev.so"*) echo "FAIL: $1 NEEDs libev"; exit 1 ;;
esac
case " $(echo $server) " in
*" libev.so"*) ;;
*) echo "FAIL: $2 does not NEED libev"; exit 1 ;;
esac
case " $(echo $server) " in
*" libioregion.so.0 "*) ;;
*) echo "FAIL: $2 does not NEED libioregion.so.0"; exit 1 ;;
esac
echo "ok: no libev for the VMM side"
