#!/usr/bin/env bash
# Test helper: STAND-IN packages of a second driver branch, named like Debian's driver userspace (nvidia-smi,
# libcuda1, libnvidia-ml1) at VERSION (for example 560.35.03-1), into DIR. Debian ships one branch per release, so
# the nvidia_driver scenario puts these beside Debian 13's real 550 packages in its test repository to test a
# branch change (unhold, swap, hold) and back. They are not a driver: the libraries are empty files whose names
# carry the version (which is what gpu_facts reads), in Debian's layout (nvidia/current/, reached through the
# nvidia-alternative links that Debian's packages set up); nvidia-smi only says it is a stand-in.
# Usage: make-driver-standin.sh DIR VERSION
set -euo pipefail
out=$1
version=$2
upstream=${version%-*}
lib=usr/lib/x86_64-linux-gnu/nvidia/current
build() { # package description; files come from $stage
  local package=$1
  mkdir -p "$stage/DEBIAN" "$stage/usr/share/doc/$package"
  chmod 0755 "$stage"
  echo "STAND-IN for the dlops.gpu tests, not NVIDIA's or Debian's $package." >"$stage/usr/share/doc/$package/STAND-IN"
  printf 'Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: dlops.gpu tests <test@dlops-gpu.invalid>\nDescription: STAND-IN for tests: %s\n Built by tests/molecule/make-driver-standin.sh; not a driver.\n' \
    "$package" "$version" "$2" >"$stage/DEBIAN/control"
  dpkg-deb --root-owner-group --build "$stage" "$out/${package}_${version}_amd64.deb" >/dev/null
  rm -rf "$stage"
}
mkdir -p "$out"
for soname in libcuda libnvidia-ml; do
  stage=$(mktemp -d)
  mkdir -p "$stage/$lib"
  : >"$stage/$lib/$soname.so.$upstream"
  ln -s "$soname.so.$upstream" "$stage/$lib/$soname.so.1"
  build "$([ $soname = libcuda ] && echo libcuda1 || echo libnvidia-ml1)" "$soname $upstream"
done
stage=$(mktemp -d)
mkdir -p "$stage/usr/bin"
printf '#!/bin/sh\necho "nvidia-smi stand-in for driver %s (dlops.gpu tests)"\n' "$upstream" >"$stage/usr/bin/nvidia-smi"
chmod 0755 "$stage/usr/bin/nvidia-smi"
build nvidia-smi "nvidia-smi $upstream"
ls "$out"
