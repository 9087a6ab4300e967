#!/usr/bin/env bash
# Builds the release C library and installs it with its header and a pkg-config file.
#
#   netfilter-helpers-ffi/install.sh [PREFIX]          (default /usr/local)
#
# Installs
#   PREFIX/lib/libnetfilter_helpers_ffi.a
#   PREFIX/lib/libnetfilter_helpers_ffi.so
#   PREFIX/include/netfilter_helpers.h
#   PREFIX/lib/pkgconfig/netfilter-helpers.pc
# so that
#   PKG_CONFIG_PATH=PREFIX/lib/pkgconfig cc app.c $(pkg-config --cflags --libs netfilter-helpers)
# links against the shared library (the .pc adds an rpath, so the program runs without
# LD_LIBRARY_PATH). The library has one name, netfilter_helpers_ffi (-lnetfilter_helpers_ffi),
# the name cargo gives it. DESTDIR is honoured for staged installs (packaging): files go to
# DESTDIR/PREFIX, the .pc names PREFIX.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
prefix="${1:-/usr/local}"
case "$prefix" in
/*) ;;
*) prefix="$(pwd)/$prefix" ;;
esac
prefix="${prefix%/}"
dest="${DESTDIR:-}$prefix"

cargo build --manifest-path "$root/Cargo.toml" -p netfilter-helpers-ffi --release --locked

# Where cargo put it (CARGO_TARGET_DIR and build.target-dir are honoured).
target_dir="$(cargo metadata --manifest-path "$root/Cargo.toml" --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
target_dir="${target_dir:-$root/target}"
release="$target_dir/release"

pkgid="$(cargo pkgid --manifest-path "$root/Cargo.toml" -p netfilter-helpers-ffi)"
version="${pkgid##*[#@]}"
description="$(sed -n 's/^description = "\(.*\)"$/\1/p' "$here/Cargo.toml")"

install -d "$dest/lib" "$dest/lib/pkgconfig" "$dest/include"
install -m 644 "$release/libnetfilter_helpers_ffi.a" "$dest/lib/libnetfilter_helpers_ffi.a"
install -m 755 "$release/libnetfilter_helpers_ffi.so" "$dest/lib/libnetfilter_helpers_ffi.so"
install -m 644 "$root/include/netfilter_helpers.h" "$dest/include/netfilter_helpers.h"

pc="$dest/lib/pkgconfig/netfilter-helpers.pc"
cat >"$pc" <<EOF
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: netfilter-helpers
Description: ${description:-C API for netfilter-helpers}
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -Wl,-rpath,\${libdir} -lnetfilter_helpers_ffi
Libs.private: -lpthread -ldl -lm
EOF
chmod 644 "$pc"

echo "installed netfilter-helpers $version into ${DESTDIR:+$DESTDIR}$prefix:"
echo "  $dest/lib/libnetfilter_helpers_ffi.a"
echo "  $dest/lib/libnetfilter_helpers_ffi.so"
echo "  $dest/include/netfilter_helpers.h"
echo "  $pc"
