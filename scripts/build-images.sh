#!/usr/bin/env bash
# Build the local Debian test images (dlops-gpu/debian:<suite>) that Molecule and
# `make demo` use. No registry is needed: the root filesystem comes from
# debootstrap and the apt mirror. An image is rebuilt only when its recipe
# (tests/images/Dockerfile and this script) changes.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suites=${*:-bookworm trixie}
recipe=$(cat "$here/tests/images/Dockerfile" "$0" | sha256sum | cut -c1-16)

for suite in $suites; do
  image="dlops-gpu/debian:$suite"
  have=$(docker image inspect -f '{{ index .Config.Labels "dlops.recipe" }}' "$image" 2>/dev/null || true)
  if [ "$have" = "$recipe" ]; then
    echo "$image is up to date"
    continue
  fi
  if ! docker image inspect "dlops-gpu/rootfs:$suite" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || {
      if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
      else
        echo "debootstrap is needed to build the test images: install it (apt-get install debootstrap)" >&2
        exit 1
      fi
    }
    root=$(mktemp -d /var/tmp/dlops-rootfs.XXXXXX)
    trap 'rm -rf "$root"' EXIT
    echo "debootstrap $suite from $mirror ..."
    debootstrap --variant=minbase "$suite" "$root" "$mirror" >"/var/tmp/debootstrap-$suite.log" 2>&1 || {
      echo "debootstrap failed; see /var/tmp/debootstrap-$suite.log" >&2; exit 1; }
    tar -C "$root" -c . | docker import - "dlops-gpu/rootfs:$suite" >/dev/null
    rm -rf "$root"
    trap - EXIT
  fi
  echo "building $image ..."
  docker build -q --build-arg "SUITE=$suite" --label "dlops.recipe=$recipe" \
    -t "$image" "$here/tests/images" >/dev/null
done
