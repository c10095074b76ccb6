#!/usr/bin/env bash
# Test helper, run inside a test container: build STAND-IN packages named like NVIDIA's container toolkit
# (nvidia-container-toolkit, nvidia-container-toolkit-base, libnvidia-container-tools, libnvidia-container1) with
# the dependencies between them that the real ones have, for each version given, into DIR.
# NVIDIA's repository cannot be reached from the test machines and Debian does not package the toolkit, so the
# container_toolkit role's package steps (signed repository, pin, hold, version change) are tested with these.
# They are not the toolkit: nvidia-container-runtime execs runc; nvidia-ctk answers --version, and its
# `cdi generate --output=FILE` writes a spec marked as a stand-in (it knows no GPU or driver).
# Usage: make-container-toolkit-standin.sh DIR VERSION...
set -euo pipefail
out=$1
shift
mkdir -p "$out"
build() { # package version depends description; files come from $stage
  local package=$1 version=$2 depends=$3 description=$4
  mkdir -p "$stage/DEBIAN" "$stage/usr/share/doc/$package"
  chmod 0755 "$stage"
  echo "STAND-IN for the dlops.gpu tests, not NVIDIA's $package." >"$stage/usr/share/doc/$package/STAND-IN"
  cat >"$stage/DEBIAN/control" <<CONTROL
Package: $package
Version: $version
Architecture: all
Maintainer: dlops.gpu tests <test@dlops-gpu.invalid>
${depends:+Depends: $depends
}Description: STAND-IN for tests: $description
 Built by tests/molecule/make-container-toolkit-standin.sh; not NVIDIA's package.
CONTROL
  dpkg-deb --root-owner-group --build "$stage" "$out/${package}_${version}_all.deb" >/dev/null
  rm -rf "$stage"
}
for version in "$@"; do
  upstream=${version%-*}
  stage=$(mktemp -d)
  build libnvidia-container1 "$version" "" "libnvidia-container library"

  stage=$(mktemp -d)
  mkdir -p "$stage/usr/bin"
  printf '#!/bin/sh\necho "cli-version: %s (stand-in)"\n' "$upstream" >"$stage/usr/bin/nvidia-container-cli"
  chmod 0755 "$stage/usr/bin/nvidia-container-cli"
  build libnvidia-container-tools "$version" "libnvidia-container1 (>= $version)" "nvidia-container-cli"

  stage=$(mktemp -d)
  mkdir -p "$stage/usr/bin" "$stage/etc/nvidia-container-runtime" "$stage/DEBIAN"
  cat >"$stage/usr/bin/nvidia-ctk" <<CTK
#!/bin/sh
case "\$1 \$2" in
  "--version "*) echo "NVIDIA Container Toolkit CLI version $upstream (dlops.gpu test stand-in)" ;;
  "cdi generate")
    out=\$(printf '%s\\n' "\$@" | sed -n 's/^--output=//p')
    mkdir -p "\$(dirname "\$out")"
    printf '# STAND-IN CDI spec written by the dlops.gpu test nvidia-ctk\\ncdiVersion: 0.5.0\\nkind: nvidia.com/gpu\\ndevices: []\\n' >"\$out"
    ;;
  *) echo "nvidia-ctk stand-in: \$* is not implemented" >&2; exit 1 ;;
esac
CTK
  printf '#!/bin/sh\n# Stand-in: runs containers with plain runc.\nexec runc "$@"\n' \
    >"$stage/usr/bin/nvidia-container-runtime"
  chmod 0755 "$stage/usr/bin/nvidia-ctk" "$stage/usr/bin/nvidia-container-runtime"
  echo "# stand-in configuration" >"$stage/etc/nvidia-container-runtime/config.toml"
  echo /etc/nvidia-container-runtime/config.toml >"$stage/DEBIAN/conffiles"
  build nvidia-container-toolkit-base "$version" "" "nvidia-ctk and nvidia-container-runtime"

  stage=$(mktemp -d)
  build nvidia-container-toolkit "$version" \
    "nvidia-container-toolkit-base (= $version), libnvidia-container-tools (>= $version), libnvidia-container-tools (<< 2.0.0)" \
    "NVIDIA container toolkit"
done
ls "$out"
