#!/usr/bin/env bash
# Test helper: STAND-IN driver packages for the nvidia_driver scenario's apt repository. None is a driver.
#
# make-driver-standin.sh DIR VERSION
#   A second branch's userspace, named like Debian's (nvidia-smi, libcuda1, libnvidia-ml1) at VERSION (for example
#   560.35.03-1). Debian ships one branch per release; these go beside Debian 13's real 550 packages to test a
#   branch change (unhold, swap, hold) and back. The libraries are empty files whose names carry the version
#   (which is what gpu_facts reads), in Debian's layout (nvidia/current/, reached through the nvidia-alternative
#   links that Debian's packages set up); nvidia-smi only says it is a stand-in.
#
# make-driver-standin.sh --kernel DIR VERSION...
#   What the role asks for with nvidia_driver_kernel: true and nvidia_repo, whose kernel module a container can
#   neither build nor load: per VERSION a meta package nvidia-open-<branch> that depends on that userspace (as
#   NVIDIA's does), and linux-headers-<running kernel> (epoch 99, so that it wins over a real one) with no headers.
set -euo pipefail
kernel=no
if [ "$1" = --kernel ]; then
  kernel=yes
  shift
fi
out=$1
shift
build() { # package version description [depends]; files come from $stage
  local package=$1 version=$2
  mkdir -p "$stage/DEBIAN" "$stage/usr/share/doc/$package"
  chmod 0755 "$stage"
  echo "STAND-IN for the dlops.gpu tests, not NVIDIA's or Debian's $package." >"$stage/usr/share/doc/$package/STAND-IN"
  {
    printf 'Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: dlops.gpu tests <test@dlops-gpu.invalid>\n' \
      "$package" "$version"
    [ -z "${4:-}" ] || printf 'Depends: %s\n' "$4"
    printf 'Description: STAND-IN for tests: %s\n Built by tests/molecule/make-driver-standin.sh; not a driver.\n' "$3"
  } >"$stage/DEBIAN/control"
  dpkg-deb --root-owner-group --build "$stage" "$out/${package}_${version#*:}_amd64.deb" >/dev/null
  rm -rf "$stage"
}
mkdir -p "$out"
if [ $kernel = yes ]; then
  for version in "$@"; do
    stage=$(mktemp -d)
    build "nvidia-open-${version%%.*}" "$version" "driver ${version%-*} with the open kernel module" \
      "nvidia-smi (= $version), libcuda1 (= $version), libnvidia-ml1 (= $version)"
  done
  stage=$(mktemp -d)
  build "linux-headers-$(uname -r)" 99:1.0~standin "the running kernel's headers"
else
  version=$1
  upstream=${version%-*}
  lib=usr/lib/x86_64-linux-gnu/nvidia/current
  for soname in libcuda libnvidia-ml; do
    stage=$(mktemp -d)
    mkdir -p "$stage/$lib"
    : >"$stage/$lib/$soname.so.$upstream"
    ln -s "$soname.so.$upstream" "$stage/$lib/$soname.so.1"
    build "$([ $soname = libcuda ] && echo libcuda1 || echo libnvidia-ml1)" "$version" "$soname $upstream"
  done
  stage=$(mktemp -d)
  mkdir -p "$stage/usr/bin"
  printf '#!/bin/sh\necho "nvidia-smi stand-in for driver %s (dlops.gpu tests)"\n' "$upstream" >"$stage/usr/bin/nvidia-smi"
  chmod 0755 "$stage/usr/bin/nvidia-smi"
  build nvidia-smi "$version" "nvidia-smi $upstream"
fi
ls "$out"
