#!/usr/bin/env bash
# Test helper: a STAND-IN of NVIDIA's RHEL driver repository, for dnf on a test host. For each driver VERSION
# given (for example 580.95.05 560.35.03) it builds RPMs named like NVIDIA's (nvidia-driver-cuda,
# nvidia-driver-cuda-libs, the meta packages nvidia-open and cuda-drivers, kmod-nvidia-open-dkms and
# kmod-nvidia-latest-dkms), epoch 3 as NVIDIA's are, signed with a key made here; then makes DIR a dnf repository
# whose module metadata (modules.yaml) has NVIDIA's module nvidia-driver with the streams <branch>-open and
# <branch>-dkms, each listing its branch's packages, so that only an enabled stream's packages can be installed.
# The packages are not a driver: the libraries are empty files whose names carry the version (what gpu_facts
# reads) with their .so.1 links, in /usr/lib64 as on RHEL. Public key: DIR/dlops-test.pub, its fingerprint: DIR/fingerprint.
# Usage: make-driver-standin-rpm.sh DIR VERSION...
set -euo pipefail
out=$1
shift
mkdir -p "$out"
top=$(mktemp -d)
export GNUPGHOME=$top/gnupg
mkdir -m 0700 "$GNUPGHOME"
trap 'rm -rf "$top"' EXIT
gpg --batch --quiet --passphrase '' --quick-gen-key 'dlops.gpu test driver repository <test@dlops-gpu.invalid>' rsa3072 sign never
gpg --armor --export >"$out/dlops-test.pub"
gpg --with-colons --list-keys | awk -F: '/^fpr/ {print $10; exit}' >"$out/fingerprint"
spec() { # name version requires summary [files...]
  local name=$1 version=$2 requires=$3 summary=$4
  shift 4
  cat <<SPEC
Name: $name
Epoch: 3
Version: $version
Release: 1
Summary: STAND-IN for tests: $summary
License: none
BuildArch: noarch
${requires:+Requires: $requires}
%description
STAND-IN for the dlops.gpu tests, not NVIDIA's $name. Built by tests/molecule/make-driver-standin-rpm.sh.
%install
mkdir -p %{buildroot}/usr/share/doc/$name-rpm %{buildroot}/usr/lib64
echo "STAND-IN for the dlops.gpu tests, not NVIDIA's $name." >%{buildroot}/usr/share/doc/$name-rpm/STAND-IN
$(for f in "$@"; do echo ": >%{buildroot}$f"; echo "ln -s ${f##*/} %{buildroot}${f%.so.*}.so.1"; done)
%files
/usr/share/doc/$name-rpm/STAND-IN
$(for f in "$@"; do echo "$f"; echo "${f%.so.*}.so.1"; done)
SPEC
}
modules=$top/modules.yaml
: >"$modules"
stream() { # stream version kmod meta
  local branch=${2%%.*}
  cat >>"$modules" <<YAML
---
document: modulemd
version: 2
data:
  name: nvidia-driver
  stream: "$1"
  version: ${2//./}
  context: "00000000"
  arch: noarch
  summary: STAND-IN of NVIDIA's driver module, branch $branch ($1)
  description: STAND-IN for the dlops.gpu tests.
  license:
    module: [MIT]
  profiles:
    default:
      rpms: [$4]
  artifacts:
    rpms:
      - nvidia-driver-cuda-3:$2-1.noarch
      - nvidia-driver-cuda-libs-3:$2-1.noarch
      - $3-3:$2-1.noarch
      - $4-3:$2-1.noarch
...
YAML
}
for version in "$@"; do
  cuda=(nvidia-driver-cuda "$version" "nvidia-driver-cuda-libs = 3:$version-1" "nvidia-smi")
  spec "${cuda[@]}" >"$top/cuda.spec"
  spec nvidia-driver-cuda-libs "$version" "" "libcuda and NVML" \
    "/usr/lib64/libcuda.so.$version" "/usr/lib64/libnvidia-ml.so.$version" >"$top/libs.spec"
  spec kmod-nvidia-open-dkms "$version" "" "open kernel modules (DKMS)" >"$top/kopen.spec"
  spec kmod-nvidia-latest-dkms "$version" "" "proprietary kernel modules (DKMS)" >"$top/kprop.spec"
  spec nvidia-open "$version" "nvidia-driver-cuda = 3:$version-1, kmod-nvidia-open-dkms = 3:$version-1" \
    "driver with the open kernel modules" >"$top/open.spec"
  spec cuda-drivers "$version" "nvidia-driver-cuda = 3:$version-1, kmod-nvidia-latest-dkms = 3:$version-1" \
    "driver with the proprietary kernel modules" >"$top/prop.spec"
  for one in cuda libs kopen kprop open prop; do
    rpmbuild --quiet --define "_topdir $top" --define "_rpmdir $out" \
      --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" -bb "$top/$one.spec"
  done
  stream "${version%%.*}-open" "$version" kmod-nvidia-open-dkms nvidia-open
  stream "${version%%.*}-dkms" "$version" kmod-nvidia-latest-dkms cuda-drivers
done
# rpm's own signature on every package, as NVIDIA signs theirs (gpgcheck).
rpmsign --define "_gpg_name test@dlops-gpu.invalid" --define "_gpg_path $GNUPGHOME" --addsign "$out"/*.rpm >/dev/null 2>&1
createrepo_c --quiet "$out"
modifyrepo_c --mdtype=modules "$modules" "$out/repodata" >/dev/null
ls "$out"
