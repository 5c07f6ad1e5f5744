#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The install check of `make test` (issue 14), as a user would meet hcs:
#  a. `make install PREFIX=/usr DESTDIR=<scratch>`; every file it must
#     install is there; the example embedder (examples/exec-gateway) built
#     from there with pkg-config (PKG_CONFIG_SYSROOT_DIR), run, and driven
#     through its socket; the base image and the bench's programs found
#     relative to the install (with the build tree's hidden), and
#     HCS_IMAGE_HOME obeyed; `hcs run -- echo ok` from the install.
#  c. --version and a bad option of each program (exit 0 and 2).
#  d. the package's Depends: runtime packages only, each known to apt.
#  b. the .deb (scripts/deb.sh) installed with dpkg into a scratch root:
#     an overlayfs over / in a private mount and pid namespace, chrooted
#     into, so that nothing of it reaches the host and all of it vanishes
#     with the namespace; there `hcs --version`, `hcs run -- echo ok`, and
#     the example embedder built against /usr and driven once.
# Every step is printed; every failure is named, and the script exits 1
# after the last step if any failed. Needs root (namespaces, overlayfs).
#
# Usage: scripts/check-install.sh   (DEB_BUILD_DIR: see scripts/deb.sh)
set -euo pipefail

cd "$(dirname "$0")/.."
src=$PWD
failed=()

step() { echo "check-install: $*"; }
fail() {
  echo "check-install: FAILED: $*" >&2
  failed+=("$*")
}
finish() {
  if ((${#failed[@]} > 0)); then
    echo "check-install: ${#failed[@]} check(s) failed:" >&2
    printf '  - %s\n' "${failed[@]}" >&2
    exit 1
  fi
  echo "check-install: all checks passed"
}

if ((EUID != 0)); then
  echo "check-install: needs root (mount namespaces, overlayfs, dpkg)" >&2
  exit 1
fi

scratch=$(mktemp -d /tmp/hcs-check-install.XXXXXX)
gw_pid=
cleanup() {
  if [[ -n $gw_pid ]]; then
    kill -KILL "$gw_pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# The package build is also the build every step installs from: one
# configuration for /usr (scripts/deb.sh).
step "scripts/deb.sh (build for /usr, pack the .deb)"
if ! deb=$(scripts/deb.sh "$scratch/deb" | tail -1) || [[ ! -f $deb ]]; then
  fail "scripts/deb.sh did not make a .deb"
  finish
fi
build=${DEB_BUILD_DIR:-build-deb}
build_abs=$(realpath "$build")
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
step "made $deb (hcs $version)"

# Runs "$@" with the build tree's base image and bench programs hidden
# (tmpfs over them, in a private mount namespace): what is found then was
# found in the install.
hidden() {
  unshare --mount --propagation private -- bash -c '
    for d in "$1/images" "$1/bench/progs"; do
      [[ ! -d $d ]] || mount -t tmpfs -o ro,mode=0755 hidden "$d"
    done
    shift
    exec "$@"' hidden "$build_abs" "$@"
}

# A program that prints the image home of the libhcs it runs with, to be
# built against an installed hcs with pkg-config.
write_probe() {
  cat >"$1" <<'EOF'
#include <hcs.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  if (strcmp(hcs_version(), HCS_VERSION_STRING) != 0) {
    fprintf(stderr, "probe: headers %s, library %s\n", HCS_VERSION_STRING,
            hcs_version());
    return 1;
  }
  printf("%s\n", hcs_default_image_home());
  return 0;
}
EOF
}

# d. The package's Depends: what a clean Debian 12 installs it with.
step "d: Depends of the .deb"
depends=$(dpkg-deb -f "$deb" Depends)
echo "  $depends"
while read -r dep; do
  [[ -n $dep ]] || continue
  if [[ $dep == *-dev ]]; then
    fail "d: Depends names a development package: $dep"
  elif [[ $(apt-cache policy "$dep" 2>/dev/null) != *"Candidate: "[0-9]* ]]; then
    fail "d: Depends names $dep, which apt knows no version of"
  fi
done < <(sed 's/[,|]/\n/g' <<<"$depends" |
  sed 's/([^)]*)//g; s/:any//; s/[[:space:]]//g')

# Drives a running exec-gateway on socket $1 with client $2 (a command
# prefix, e.g. "chroot ROOT /tmp/eg/exec-gateway"): output, stderr, exit
# code and stdin each checked. Echoes what went wrong, returns 1.
drive_gateway() {
  local sock=$1 client=$2 out err rc
  out=$($client -c "$sock" 'echo out; echo err >&2; exit 7' 2>"$scratch/gw.err") &&
    rc=0 || rc=$?
  err=$(cat "$scratch/gw.err")
  if [[ $out != out || $err != err || $rc != 7 ]]; then
    echo "expected out/err/7, got \"$out\"/\"$err\"/$rc"
    return 1
  fi
  out=$(printf 'abc' | $client -c "$sock" -i 'tr a-z A-Z') || true
  if [[ $out != ABC ]]; then
    echo "stdin: expected ABC, got \"$out\""
    return 1
  fi
}

# Waits up to 10 s for the gateway's "listening" line in log $1.
wait_listening() {
  local i
  for ((i = 0; i < 100; i++)); do
    if grep -q 'listening on' "$1" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------------------
# a. DESTDIR install, the embedder via pkg-config, the programs' options.

dest=$scratch/dest
step "a: make install BUILD_DIR=$build PREFIX=/usr DESTDIR=$dest"
if ! make -C "$src" install BUILD_DIR="$build" PREFIX=/usr DESTDIR="$dest" \
  >"$scratch/install.log" 2>&1; then
  tail -20 "$scratch/install.log" >&2
  fail "a: make install with DESTDIR"
  finish
fi
libdir=$(dirname "$(find "$dest" -name 'libhcs.so.0' -print -quit)")
[[ -d $libdir ]] || fail "a: not installed: libhcs.so.0"
for f in "$dest/usr/include/hcs.h" "$dest/usr/include/hcs-async.h" \
  "$dest/usr/include/hcs-version.h" \
  "$libdir/libhcs.so.0" "$libdir/libhcs-async.so.0" \
  "$libdir/libhcs.so" "$libdir/libhcs-async.so" \
  "$libdir/libhcs.a" "$libdir/libhcs-async.a" \
  "$libdir/pkgconfig/hcs.pc" "$libdir/pkgconfig/hcs-async.pc" \
  "$dest/usr/bin/hcs" "$dest/usr/sbin/hcsd" "$dest/usr/bin/hcs-bench" \
  "$dest/usr/libexec/hcs/bench/nop" \
  "$dest/usr/share/man/man1/hcs.1" "$dest/usr/share/man/man8/hcsd.8" \
  "$dest/usr/share/bash-completion/completions/hcs" \
  "$dest/usr/share/bash-completion/completions/hcsd" \
  "$dest/usr/lib/systemd/system/hcsd.service" \
  "$dest/usr/lib/systemd/system/hcsd.socket" \
  "$dest/usr/share/hcs/images/busybox/layer.json"; do
  [[ -e $f ]] || fail "a: not installed: ${f#"$dest"}"
done
if ! grep -q '^ExecStart=/usr/sbin/hcsd' "$dest/usr/lib/systemd/system/hcsd.service"; then
  fail "a: hcsd.service does not start /usr/sbin/hcsd"
fi

eg=$scratch/eg-a
cp -r examples/exec-gateway "$eg"
rm -f "$eg/exec-gateway"
step "a: make -C $eg with pkg-config from $dest"
if ! PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$libdir/pkgconfig \
  make -C "$eg" >"$scratch/eg-a.log" 2>&1; then
  cat "$scratch/eg-a.log" >&2
  fail "a: building examples/exec-gateway against the DESTDIR install"
elif ! grep -q -- "-I$dest/usr/include" "$scratch/eg-a.log"; then
  cat "$scratch/eg-a.log" >&2
  fail "a: examples/exec-gateway was not built with the installed headers"
else
  step "a: run exec-gateway (LD_LIBRARY_PATH=$libdir) and drive it"
  LD_LIBRARY_PATH=$libdir "$eg/exec-gateway" -s "$scratch/gw-a.sock" \
    >"$scratch/gw-a.log" 2>&1 &
  gw_pid=$!
  if ! wait_listening "$scratch/gw-a.log"; then
    cat "$scratch/gw-a.log" >&2
    fail "a: exec-gateway did not start listening"
  elif ! why=$(LD_LIBRARY_PATH=$libdir drive_gateway "$scratch/gw-a.sock" \
    "$eg/exec-gateway"); then
    fail "a: exec-gateway answered wrong: $why"
  fi
  kill -TERM "$gw_pid" 2>/dev/null || true
  if ! wait "$gw_pid"; then
    cat "$scratch/gw-a.log" >&2
    fail "a: exec-gateway did not exit 0 after SIGTERM"
  fi
  gw_pid=
fi

# The image and the bench's programs, found from where they are installed.
step "a: probe (pkg-config hcs): the image home of the installed libhcs"
write_probe "$scratch/probe.c"
if ! PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$libdir/pkgconfig \
  bash -c 'cc -o "$1" "$2" $(pkg-config --cflags --libs hcs)' probe \
  "$scratch/probe" "$scratch/probe.c" >"$scratch/probe.log" 2>&1; then
  cat "$scratch/probe.log" >&2
  fail "a: building a probe with pkg-config hcs"
else
  want=$dest/usr/share/hcs/images
  out=$(LD_LIBRARY_PATH=$libdir hidden "$scratch/probe" 2>&1) || true
  [[ $out == "$want" ]] || fail "a: image home \"$out\", want \"$want\""
  out=$(HCS_IMAGE_HOME=$scratch/elsewhere LD_LIBRARY_PATH=$libdir \
    hidden "$scratch/probe" 2>&1) || true
  [[ $out == "$scratch/elsewhere" ]] ||
    fail "a: HCS_IMAGE_HOME=$scratch/elsewhere: image home \"$out\""
fi
step "a: the same build installed under another prefix finds its own files"
moved=$scratch/moved/opt/hcs
if ! DESTDIR=$scratch/moved cmake --install "$build" --prefix /opt/hcs \
  >"$scratch/install-moved.log" 2>&1; then
  tail -20 "$scratch/install-moved.log" >&2
  fail "a: cmake --install --prefix /opt/hcs"
else
  mlib=$(dirname "$(find "$moved" -name 'libhcs.so.0' -print -quit)")
  out=$(LD_LIBRARY_PATH=$mlib hidden "$scratch/probe" 2>&1) || true
  [[ $out == "$moved/share/hcs/images" ]] ||
    fail "a: under /opt/hcs: image home \"$out\", want \"$moved/share/hcs/images\""
  out=$(hidden "$moved/bin/hcs-bench" --help 2>&1) || true
  [[ $out == *"$moved/libexec/hcs/bench"* ]] ||
    fail "a: under /opt/hcs: hcs-bench --help does not name $moved/libexec/hcs/bench"
fi
step "a: probe linked with the installed archives (hcs.pc's private part)"
# libhcs.a and libhcs-async.a whole (every object, so that every
# dependency is needed), by file name (the linker would take the .so
# beside them), and what hcs.pc and hcs-async.pc say a static link needs:
# their Requires.private, linked shared (Debian's libarchive.pc cannot
# give a static libarchive), and their Libs.private.
pcenv=(env PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_PATH="$libdir/pkgconfig")
mods=$("${pcenv[@]}" pkg-config --print-requires-private hcs hcs-async |
  awk '{print $1}' | sort -u | tr '\n' ' ')
private=$(sed -n 's/^Libs.private://p' "$libdir/pkgconfig/hcs.pc" \
  "$libdir/pkgconfig/hcs-async.pc" | tr '\n' ' ')
# shellcheck disable=SC2046,SC2086 # lists of options
if ! cc -o "$scratch/probe-static" "$scratch/probe.c" \
  $("${pcenv[@]}" pkg-config --cflags hcs) \
  -Wl,--whole-archive "$libdir/libhcs.a" "$libdir/libhcs-async.a" \
  -Wl,--no-whole-archive $(pkg-config --libs $mods) $private >"$scratch/probe-static.log" 2>&1; then
  head -20 "$scratch/probe-static.log" >&2
  fail "a: linking a probe with libhcs.a and hcs.pc's private part ($mods; $private)"
elif ldd "$scratch/probe-static" | grep -q 'libhcs'; then
  fail "a: the probe linked with libhcs.a still loads a libhcs shared object"
elif ! out=$("$scratch/probe-static" 2>&1) || [[ $out != /* ]]; then
  fail "a: the probe linked with libhcs.a: \"$out\""
fi
[[ -x $dest/usr/share/hcs/images/busybox/diff/bin/busybox ]] ||
  fail "a: the installed base image has no bin/busybox"
step "a: hcs-bench --help names the installed programs"
out=$(hidden "$dest/usr/bin/hcs-bench" --help 2>&1) || true
[[ $out == *"$dest/usr/libexec/hcs/bench"* ]] ||
  fail "a: hcs-bench --help does not name $dest/usr/libexec/hcs/bench for --progs"
step "a: hcs run -- echo ok (the installed hcs)"
rc=0
out=$(hidden "$dest/usr/bin/hcs" --state-dir "$scratch/state" run -- echo ok 2>&1) ||
  rc=$?
[[ $rc == 0 && $out == ok ]] ||
  fail "a: hcs run -- echo ok: exit $rc, printed \"$out\""

# c. --version and a bad option of each installed program, and of
# hcs-mkimage, which the build runs and does not install.
for prog in "$dest/usr/bin/hcs" "$dest/usr/sbin/hcsd" \
  "$dest/usr/bin/hcs-bench" "$build_abs/hcs-mkimage"; do
  name=${prog##*/}
  step "c: $name --version; $name --no-such-option"
  rc=0
  out=$(timeout 10 "$prog" --version 2>&1) || rc=$?
  if [[ $rc != 0 || $out != *"$version"* ]]; then
    fail "c: $name --version: exit $rc, output \"${out%%$'\n'*}\" (want 0 and $version)"
  fi
  rc=0
  out=$(timeout 10 "$prog" --no-such-option 2>&1 >/dev/null) || rc=$?
  if [[ $rc != 2 ]]; then
    fail "c: $name --no-such-option: exit $rc (want 2)"
  elif [[ $out != *no-such-option* ]]; then
    fail "c: $name --no-such-option: the message does not name it: \"${out%%$'\n'*}\""
  fi
done

# ---------------------------------------------------------------------------
# b. The .deb in a scratch root.

if ! grep -qw overlay /proc/filesystems; then
  fail "b: the kernel has no overlayfs: cannot make a scratch root"
  finish
fi
mkdir -p "$scratch/root"
cp "$deb" "$scratch/root/hcs.deb"
cp -r examples/exec-gateway "$scratch/root/eg"
rm -f "$scratch/root/eg/exec-gateway"
write_probe "$scratch/root/probe.c"
cat >"$scratch/root/inside.sh" <<'EOF'
# Runs chrooted in the scratch root; /x holds the .deb and the example.
set -uo pipefail
version=$1
bad=0
say() { echo "check-install: b: $*"; }
no() {
  echo "check-install: FAILED: b: $*" >&2
  bad=1
}
# The maintainer scripts talk to systemd when it runs: here a systemctl
# that only notes its arguments stands in for it, first in PATH.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p /run/systemd/system
printf '#!/bin/sh\necho "$*" >>/x/systemctl.log\n' >/usr/local/sbin/systemctl
chmod 0755 /usr/local/sbin/systemctl
say "dpkg -i hcs.deb"
if ! dpkg -i /x/hcs.deb; then
  say "dpkg -i left dependencies open: apt-get -f install (offline)"
  apt-get -f install -y -q --no-download || { no "the .deb does not install"; exit 1; }
fi
dpkg -s hcs | grep -q '^Status: install ok installed' || no "dpkg -s hcs: not installed"
grep -qx 'daemon-reload' /x/systemctl.log 2>/dev/null ||
  no "postinst did not run systemctl daemon-reload"
: >/x/systemctl.log
out=$(hcs --version 2>&1) || no "hcs --version: exit $?"
[[ $out == *"$version"* ]] || no "hcs --version: \"$out\" does not say $version"
say "hcs run -- echo ok"
out=$(hcs run -- echo ok 2>&1) || no "hcs run -- echo ok: exit $?"
[[ $out == ok ]] || no "hcs run -- echo ok printed \"$out\""
out=$(hcs-bench --help 2>&1)
[[ $out == *"/usr/libexec/hcs/bench"* ]] ||
  no "hcs-bench --help does not name /usr/libexec/hcs/bench for --progs"
say "a probe built with pkg-config hcs: the image home"
if cc -o /x/probe /x/probe.c $(pkg-config --cflags --libs hcs); then
  out=$(/x/probe 2>&1)
  [[ $out == /usr/share/hcs/images ]] ||
    no "the image home of the packaged libhcs is \"$out\""
else
  no "building a probe with pkg-config hcs against the package"
fi
say "systemd-analyze verify hcsd.socket hcsd.service"
units=/lib/systemd/system
out=$(systemd-analyze verify "$units/hcsd.socket" "$units/hcsd.service" 2>&1) ||
  no "systemd-analyze verify: $out"
say "hcsd started as hcsd.socket starts it (LISTEN_FDS), serving the image"
listen=$(sed -n 's/^ListenStream=//p' "$units/hcsd.socket")
systemd-socket-activate -l "$listen" /usr/sbin/hcsd --state-dir /x/hcsd-state \
  >/x/hcsd.log 2>&1 &
hpid=$!
for ((i = 0; i < 100; i++)); do
  [[ -S $listen ]] && break
  sleep 0.1
done
api() { curl -sS --max-time 20 --unix-socket "$listen" "http://hcsd$1" 2>&1; }
out=$(api /_ping)
[[ $out == OK ]] || no "GET /_ping on $listen: \"$out\"; log: $(cat /x/hcsd.log)"
out=$(api /images/json)
[[ $out == *'"busybox:'* ]] ||
  no "GET /images/json does not list the built-in busybox: \"$out\""
grep -q 'on fd 3' /x/hcsd.log ||
  no "hcsd did not say it serves the passed socket; log: $(cat /x/hcsd.log)"
kill -TERM "$hpid"
wait "$hpid" || no "hcsd did not exit 0 after SIGTERM; log: $(cat /x/hcsd.log)"
say "make -C /x/eg against /usr (pkg-config hcs)"
if ! make -C /x/eg >/x/eg.log 2>&1; then
  cat /x/eg.log >&2
  no "building examples/exec-gateway against the package"
  exit 1
fi
say "run exec-gateway and drive it"
/x/eg/exec-gateway -s /x/gw.sock >/x/gw.log 2>&1 &
pid=$!
for ((i = 0; i < 100; i++)); do
  grep -q 'listening on' /x/gw.log && break
  sleep 0.1
done
out=$(/x/eg/exec-gateway -c /x/gw.sock 'echo ok; exit 7') && rc=0 || rc=$?
[[ $out == ok && $rc == 7 ]] || no "exec-gateway from /usr answered \"$out\", exit $rc (want ok, 7); log: $(cat /x/gw.log)"
kill -TERM "$pid"
wait "$pid" || no "exec-gateway from /usr did not exit 0 after SIGTERM"
say "dpkg -r hcs"
dpkg -r hcs >/dev/null || no "dpkg -r hcs"
[[ ! -e /usr/bin/hcs ]] || no "dpkg -r hcs left /usr/bin/hcs"
calls=$(tr '\n' ';' </x/systemctl.log)
[[ $calls == *'stop hcsd.socket hcsd.service;'*'daemon-reload;'* ]] ||
  no "prerm/postrm: systemctl was called \"$calls\", want stop of both units, then daemon-reload"
exit $bad
EOF

# The namespace: private mounts and its own pids, so that every mount and
# every process of the check ends when it does. The overlay's upper layer
# is a tmpfs: an upper directory on the root filesystem would overlap the
# lower layer /.
step "b: dpkg -i in a scratch root (overlayfs over / in a private mount namespace)"
if ! unshare --mount --propagation private --pid --fork bash -euo pipefail -c '
  s=$1
  mkdir -p "$s/ovl" "$s/merged"
  mount -t tmpfs -o mode=0755 scratch "$s/ovl"
  mkdir "$s/ovl/upper" "$s/ovl/work"
  mount -t overlay overlay \
    -o "lowerdir=/,upperdir=$s/ovl/upper,workdir=$s/ovl/work" "$s/merged"
  m=$s/merged
  mount -t proc proc "$m/proc"
  mount --rbind /dev "$m/dev"
  mount --rbind /sys "$m/sys"
  mount -t tmpfs -o mode=0755 run "$m/run"
  mount -t tmpfs -o mode=1777 tmp "$m/tmp"
  mkdir "$m/x"
  mount --bind "$s/root" "$m/x"
  # The build tree is under / too: its image and programs are hidden.
  for d in "$m$3/images" "$m$3/bench/progs"; do
    [[ ! -d $d ]] || mount -t tmpfs -o ro,mode=0755 hidden "$d"
  done
  exec chroot "$m" /bin/bash /x/inside.sh "$2"
' check "$scratch" "$version" "$build_abs"; then
  fail "b: the .deb in a scratch root (see the lines above)"
fi

finish
