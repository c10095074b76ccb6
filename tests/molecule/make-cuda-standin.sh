#!/usr/bin/env bash
# Test helper, run inside a test container: build a STAND-IN for NVIDIA's cuda-toolkit-X-Y package, which
# cannot be downloaded here. It holds NVIDIA's real CUDA runtime (from a redist archive of the test mirror, made
# from NVIDIA's PyPI wheel) laid out as the real package lays it out (/usr/local/cuda-X.Y/targets/<arch>/,
# lib64 and include links, version.json), and registers update-alternatives `cuda` and `cuda-X` with priority
# MAJOR*10+MINOR in postinst, as the real package does. Its description says it is a stand-in.
# Usage: make-cuda-standin.sh X.Y.Z CUDART_ARCHIVE OUT_DIR
set -euo pipefail
release=$1 archive=$2 out=$3
IFS=. read -r major minor _patch <<<"$release"
series=$major.$minor
name=cuda-toolkit-$major-$minor
priority=$((major * 10 + minor))
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
prefix=$tree/usr/local/cuda-$series
mkdir -p "$prefix/targets/x86_64-linux" "$tree/DEBIAN"
tar -xJf "$archive" --strip-components=1 -C "$prefix/targets/x86_64-linux"
ln -s targets/x86_64-linux/lib "$prefix/lib64"
ln -s targets/x86_64-linux/include "$prefix/include"
printf '{"cuda": {"name": "CUDA SDK", "version": "%s"}}\n' "$release" >"$prefix/version.json"
cat >"$tree/DEBIAN/control" <<CONTROL
Package: $name
Version: $release-1
Architecture: amd64
Maintainer: dlops.gpu tests <test@dlops-gpu.invalid>
Description: STAND-IN for NVIDIA's $name, built by the dlops.gpu tests
 NVIDIA's CUDA runtime only, laid out and registered with update-alternatives as the real package does.
CONTROL
cat >"$tree/DEBIAN/postinst" <<POSTINST
#!/bin/sh
set -e
update-alternatives --install /usr/local/cuda cuda /usr/local/cuda-$series $priority
update-alternatives --install /usr/local/cuda-$major cuda-$major /usr/local/cuda-$series $priority
POSTINST
cat >"$tree/DEBIAN/prerm" <<PRERM
#!/bin/sh
set -e
if [ "\$1" = remove ]; then
  update-alternatives --remove cuda /usr/local/cuda-$series
  update-alternatives --remove cuda-$major /usr/local/cuda-$series
fi
PRERM
chmod 0755 "$tree/DEBIAN/postinst" "$tree/DEBIAN/prerm"
dpkg-deb --root-owner-group --build "$tree" "$out/${name}_$release-1_amd64.deb" >/dev/null
