#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian package of hcs: a build configured for /usr with
# Debian's build flags (dpkg-buildflags), installed stripped into a
# staging root, and packed with dpkg-deb. Dependencies come from
# dpkg-shlibdeps on the ELF files, plus libmimalloc2.0, which
# libhcs-async loads with dlopen (no ELF file names it).
#
# CPack's DEB generator is not used: it lists the staged files as a CMake
# list, and the base image's busybox links "[" and "[[" break CMake list
# splitting.
#
# Usage: scripts/deb.sh [OUT_DIR]   (default build-deb/out)
# Environment: DEB_BUILD_DIR (default build-deb), JOBS.
# Prints the path of the .deb as its last line.
set -euo pipefail

cd "$(dirname "$0")/.."

build=${DEB_BUILD_DIR:-build-deb}
out=${1:-$build/out}
jobs=${JOBS:-$(nproc)}

step() { echo "deb.sh: $*" >&2; }
die() {
  echo "deb.sh: FAILED: $*" >&2
  exit 1
}

for tool in dpkg-buildflags dpkg-shlibdeps dpkg-deb dpkg-architecture; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install dpkg-dev)"
done

# Debian's flags. Warnings are not errors in a package build: a distro's
# newer compiler must not stop it (CI builds with HCS_WERROR=ON).
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
step "configure $build (prefix /usr)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_INSTALL_PREFIX=/usr -DHCS_WERROR=OFF -DHCS_SANITIZE=OFF \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-DNDEBUG" -DCMAKE_C_FLAGS="$cflags" \
  -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
  -DCMAKE_SHARED_LINKER_FLAGS="$ldflags" >"$build.configure.log" 2>&1 ||
  {
    tail -30 "$build.configure.log" >&2
    die "cmake configure (log: $build.configure.log)"
  }

# Only what `cmake --install` installs (and hcs-mkimage, which makes the
# image at install time): the test suites are not built.
targets=(hcs_async hcs hcs_async_static hcs_static hcs_cli hcs-mkimage)
help=$(cmake --build "$build" --target help)
for t in hcsd hcs-bench hcs-runc; do
  if grep -q "^\.\.\. $t\$" <<<"$help"; then
    targets+=("$t")
  fi
done
step "build ${targets[*]}"
cmake --build "$build" -j"$jobs" --target "${targets[@]}" >&2 || die "build"

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[[ -n $version ]] || die "no CMAKE_PROJECT_VERSION in $build/CMakeCache.txt"
debver=$version-1

# dpkg-shlibdeps finds the shlibs of libraries the package itself holds
# under debian/<package>/DEBIAN, relative to where it runs.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage=$work/debian/hcs
step "install into $stage"
DESTDIR=$stage cmake --install "$build" --strip >"$work/install.log" 2>&1 ||
  {
    tail -30 "$work/install.log" >&2
    die "cmake --install"
  }

# Debian's layout: man pages compressed, a copyright file.
find "$stage/usr/share/man" -type f -name '*.[0-9]' -exec gzip -9n {} +
doc=$stage/usr/share/doc/hcs
mkdir -p "$doc"
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: hcs"
  echo
  echo "Files: *"
  if [[ -f LICENSE ]]; then
    echo "License: MIT"
    sed 's/^$/./; s/^/ /' LICENSE
  else
    echo "License: see the hcs sources"
  fi
} >"$doc/copyright"

libdir=$(dirname "$(find "$stage" -name 'libhcs.so.0' -print -quit)")
[[ -d $libdir ]] || die "no libhcs.so.0 under $stage"
mkdir -p "$stage/DEBIAN"
{
  echo "libhcs 0 hcs (>= $version)"
  echo "libhcs-async 0 hcs (>= $version)"
} >"$stage/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$stage/DEBIAN/triggers"
for s in postinst prerm postrm; do
  install -m 0755 "packaging/systemd/deb-$s" "$stage/DEBIAN/$s"
done

step "dependencies (dpkg-shlibdeps)"
mapfile -t elfs < <(find "$stage" -path "$stage/DEBIAN" -prune -o -type f \
  \( -name '*.so*' -o -perm -u+x \) -print |
  while read -r f; do
    if [[ $(head -c 4 "$f" | od -An -c | tr -d ' ') == '177ELF' ]]; then
      echo "$f"
    fi
  done)
((${#elfs[@]} > 0)) || die "no ELF files staged"
printf 'Source: hcs\n\nPackage: hcs\nArchitecture: any\n' \
  >"$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps -O -xhcs -l"${libdir#"$work"/}" \
  "${elfs[@]}" 2>"$work/shlibdeps.log") ||
  {
    cat "$work/shlibdeps.log" >&2
    die "dpkg-shlibdeps"
  }
depends=$(sed -n 's/^shlibs:Depends=//p' <<<"$shlibs")
[[ -n $depends ]] || die "dpkg-shlibdeps gave no dependencies"
depends="$depends, libmimalloc2.0"
# Building against hcs.pc needs pkg-config and the .pc files its
# Requires.private names (packaging/hcs.pc.in, hcs-async.pc.in).
suggests="pkg-config, libuv1-dev, libjansson-dev, libarchive-dev, libmnl-dev"
suggests="$suggests, libnftables-dev, libseccomp-dev, nettle-dev"

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<EOF
Package: hcs
Version: $debver
Architecture: $arch
Maintainer: hcs developers <hcs@localhost>
Installed-Size: $size
Depends: $depends
Suggests: $suggests
Section: admin
Priority: optional
Description: Host Compute Service API on Linux
 hcs is Microsoft's Host Compute Service API rebuilt on Linux namespaces,
 overlayfs, cgroups and netlink, around an asynchronous engine that
 carries thousands of exec sessions on one thread.
 .
 This package holds libhcs and libhcs-async (shared and static, with
 headers and pkg-config files), the hcs command, the hcsd daemon (the
 Docker Engine API on a unix socket, with systemd units for socket
 activation), the hcs-bench harness and the built-in busybox base image.
EOF
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
  LC_ALL=C sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"

mkdir -p "$out"
deb=$out/hcs_${debver}_$arch.deb
step "pack $deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >&2 ||
  die "dpkg-deb --build"
dpkg-deb -f "$deb" Package Version Depends >&2
realpath "$deb"
