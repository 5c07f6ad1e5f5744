#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages that building, testing and the base image
# need. Idempotent and quick when everything is present: only a missing
# package triggers apt-get. Not root and something missing: says what to run.
set -euo pipefail

PACKAGES=(
  build-essential
  cmake
  pkg-config # also the install check: examples built with pkg-config hcs
  clang      # fuzz, and the clang half of release-check
  dpkg-dev   # release-check, make deb: dpkg-buildflags, dpkg-shlibdeps
  curl       # the install check asks the installed hcsd
  systemd    # the install check: systemd-analyze verify of hcsd's units
  clang-format-14
  libclang-rt-14-dev
  libuv1-dev
  libmimalloc-dev
  libjansson-dev
  libcriterion-dev
  valgrind
  busybox-static
  libarchive-dev
  libmnl-dev
  libnftables-dev
  nftables # test_hcsd_ports reads the daemon's rules with nft
  libseccomp-dev
  nettle-dev # SHA-256 and SHA-1 (image digests, seccomp cache, GUIDs)
  libssl-dev # libcrypto: the tests' and the bench's second digest
  libhttp-parser-dev # hcsd
  tmux               # hcsd's terminal tests
  crun # hcs-bench exec baselines
  runc
  docker.io # hcs-bench gateway: the dockerd contender
  containerd # test_oci_ctr: ctr run --runc-binary hcs-runc
  podman    # hcs-bench gateway, load: the podman contender
  python3-docker # hcsd's client tests: the Python docker SDK
  docker-compose # hcsd's client tests: compose 1.29
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != installed ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if ((EUID != 0)); then
  echo "deps.sh: missing packages: ${missing[*]}" >&2
  echo "deps.sh: install them as root with:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
