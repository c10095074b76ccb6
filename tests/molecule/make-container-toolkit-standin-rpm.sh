#!/usr/bin/env bash
# Test helper: the RPM counterpart of make-container-toolkit-standin.sh. Builds STAND-IN RPMs named like NVIDIA's
# container toolkit (nvidia-container-toolkit, nvidia-container-toolkit-base, libnvidia-container-tools,
# libnvidia-container1), with the dependencies between them that the real ones have, for each Debian-style
# version given (1.17.8-1: version 1.17.8, release 1), into DIR; then makes DIR a dnf repository
# (createrepo_c) whose repomd.xml is signed with a key made here (public key DIR/dlops-test.pub, fingerprint in
# DIR/fingerprint), as NVIDIA signs its repository's metadata. The packages hold a marker file only.
# Usage: make-container-toolkit-standin-rpm.sh DIR VERSION...
set -euo pipefail
out=$1
shift
mkdir -p "$out"
top=$(mktemp -d)
export GNUPGHOME=$top/gnupg
mkdir -m 0700 "$GNUPGHOME"
trap 'rm -rf "$top"' EXIT
gpg --batch --quiet --passphrase '' --quick-gen-key 'dlops.gpu test rpm repository <test@dlops-gpu.invalid>' ed25519 sign never
gpg --armor --export >"$out/dlops-test.pub"
gpg --with-colons --list-keys | awk -F: '/^fpr/ {print $10; exit}' >"$out/fingerprint"
spec() { # name version release requires summary
  cat <<SPEC
Name: $1
Version: $2
Release: $3
Summary: STAND-IN for tests: $5
License: none
BuildArch: noarch
${4:+Requires: $4}
%description
STAND-IN for the dlops.gpu tests, not NVIDIA's $1. Built by tests/molecule/make-container-toolkit-standin-rpm.sh.
%install
mkdir -p %{buildroot}/usr/share/doc/$1-rpm
echo "STAND-IN for the dlops.gpu tests, not NVIDIA's $1." >%{buildroot}/usr/share/doc/$1-rpm/STAND-IN
%files
/usr/share/doc/$1-rpm/STAND-IN
SPEC
}
for full in "$@"; do
  version=${full%-*}
  release=${full##*-}
  spec libnvidia-container1 "$version" "$release" "" "libnvidia-container library" >"$top/a.spec"
  spec libnvidia-container-tools "$version" "$release" "libnvidia-container1 >= $full" "nvidia-container-cli" >"$top/b.spec"
  spec nvidia-container-toolkit-base "$version" "$release" "" "nvidia-ctk and nvidia-container-runtime" >"$top/c.spec"
  spec nvidia-container-toolkit "$version" "$release" \
    "nvidia-container-toolkit-base = $full, libnvidia-container-tools >= $full" "NVIDIA container toolkit" >"$top/d.spec"
  for one in a b c d; do
    rpmbuild --quiet --define "_tmppath $top" -bb --define "_topdir $top" --define "_rpmdir $out" --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" "$top/$one.spec"
  done
done
createrepo_c --quiet "$out"
gpg --batch --yes --armor --detach-sign -o "$out/repodata/repomd.xml.asc" "$out/repodata/repomd.xml"
ls "$out"
