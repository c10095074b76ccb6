#!/usr/bin/env bash
# Test helper, run inside a test container: turn a folder of .deb files into a signed flat apt repository laid
# out as NVIDIA's (<root>/<distro>/<arch>/ with Packages, Release, InRelease, Release.gpg and the public key
# dlops-test.pub), signed with a key made here, write the key's fingerprint to <root>/fingerprint, and serve
# <root> on 127.0.0.1:8080 (a systemd unit, dlops-test-repo) until the container stops. With DLOPS_REPO_SERVE=no
# the caller serves <root> on that port itself (hosts without systemd).
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
if [ "${DLOPS_REPO_SERVE:-systemd}" = systemd ]; then
  systemctl is-active --quiet dlops-test-repo ||
    systemd-run --unit dlops-test-repo --property=Restart=always \
      python3 -m http.server --bind 127.0.0.1 --directory "$root" 8080 >/dev/null
fi
for _ in $(seq 50); do
  python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/')" 2>/dev/null && exit 0
  sleep 0.2
done
echo "the test repository did not answer on 127.0.0.1:8080" >&2
exit 1
