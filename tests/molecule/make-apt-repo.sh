#!/usr/bin/env bash
# Test helper, run inside a test container: turn a folder of .deb files into a signed flat apt repository laid
# out as NVIDIA's (<root>/<distro>/<arch>/ with Packages, Release, InRelease, Release.gpg and the public key
# dlops-test.pub), signed with a key made here, and write the key's fingerprint to <root>/fingerprint.
# Usage: make-apt-repo.sh ROOT REPO_DIR
set -euo pipefail
root=$1
repo=$2
export GNUPGHOME
GNUPGHOME=$(mktemp -d)
trap 'rm -rf "$GNUPGHOME"' EXIT
gpg --batch --passphrase '' --quick-gen-key 'dlops.gpu test repository <test@dlops-gpu.invalid>' ed25519 sign never
gpg --armor --export >"$repo/dlops-test.pub"
gpg --with-colons --list-keys | awk -F: '/^fpr/ {print $10; exit}' >"$root/fingerprint"
cd "$repo"
apt-ftparchive packages . >Packages
gzip -kf Packages
apt-ftparchive release . >Release
gpg --batch --yes --clearsign -o InRelease Release
gpg --batch --yes -abs -o Release.gpg Release
