#!/usr/bin/env bash
# The end-to-end run on a real GPU host: playbooks/site.yml against localhost (tests/gpu/e2e/hosts.yml), with
# ansible-core from wheels carried in .device/wheels and CUDA 12.8 from a small redist mirror carried in
# .device/mirror (see README.md). Then a switch of the default to 12.8 and back, a re-run that must report
# changed=0, and a check-mode run. Keeps the plays' output, the recaps and the fleet report in $1/e2e
# (default tests/gpu/results/e2e).
set -uo pipefail
cd "$(dirname "$0")/../.."
export DLOPS_E2E_RESULTS
DLOPS_E2E_RESULTS=$(realpath -m "${1:-tests/gpu/results}/e2e")
rm -rf "$DLOPS_E2E_RESULTS"
mkdir -p "$DLOPS_E2E_RESULTS"
. tests/gpu/bootstrap.sh
python3 -m http.server --bind 127.0.0.1 --directory .device/mirror 8765 >/tmp/dlops-mirror.log 2>&1 &
servers=$!
trap 'kill $servers' EXIT

skip=()
# The container toolkit role needs python3-apt (Ansible's apt module), and its stand-in repository apt-ftparchive
# and gpg, on this host.
if python3 -c 'import apt' 2>/dev/null && command -v apt-ftparchive >/dev/null && command -v gpg >/dev/null; then
  repo=/srv/ctk-standin-repo/stable/deb/amd64
  rm -rf /srv/ctk-standin-repo
  mkdir -p /srv/ctk-standin-repo
  bash tests/molecule/make-container-toolkit-standin.sh "$repo" 1.17.8-1 >/dev/null
  # Served from here: the GPU host has no systemd.
  python3 -m http.server --bind 127.0.0.1 --directory /srv/ctk-standin-repo 8080 >/tmp/dlops-ctk-repo.log 2>&1 &
  servers="$servers $!"
  DLOPS_REPO_SERVE=no bash tests/molecule/make-apt-repo.sh /srv/ctk-standin-repo "$repo" >/dev/null
  fingerprint=(-e "container_toolkit_repo_key_fingerprint=$(cat /srv/ctk-standin-repo/fingerprint)")
else
  echo "no python3-apt, apt-ftparchive or gpg here (nothing can be installed offline): the container_toolkit role is skipped" | tee "$DLOPS_E2E_RESULTS/skipped.txt"
  skip=(--skip-tags container_toolkit)
  fingerprint=()
fi
sleep 1

failed=()
play() {  # name, extra arguments
  local name=$1; shift
  local start=$SECONDS
  ansible_playbook -i tests/gpu/e2e/hosts.yml playbooks/site.yml "${skip[@]}" "${fingerprint[@]}" "$@" \
    >"$DLOPS_E2E_RESULTS/play-$name.txt" 2>&1
  local rc=$?
  [ "$rc" = 0 ] || failed+=("$name")
  echo "== $name ($*): rc=$rc, $((SECONDS - start)) s"
  grep -A2 "PLAY RECAP" "$DLOPS_E2E_RESULTS/play-$name.txt" | grep localhost
  grep -E "^ok: \[localhost\] => $" -A3 "$DLOPS_E2E_RESULTS/play-$name.txt" | grep -E "^\s+msg: (ok|failed|no_gpu)" | head -2
  grep -h "fatal:" -A3 "$DLOPS_E2E_RESULTS/play-$name.txt" | head -8
  grep -h "msg: .* hosts, .* with GPUs" -A4 "$DLOPS_E2E_RESULTS/play-$name.txt" | head -5
}
{
  echo "== host"; nvidia-smi --query-gpu=name,driver_version,persistence_mode --format=csv,noheader
  ls -ld /usr/local/cuda /usr/local/cuda-*
  play converge
  play switch-to-12.8 -e cuda_default=12.8
  ls -l /usr/local/cuda; readlink -f /usr/local/cuda
  play switch-back -e cuda_default=13.0
  play rerun
  play check --check --diff
  ls -ld /usr/local/cuda /usr/local/cuda-*
  grep -h "Fail a host whose checks failed" -A4 "$DLOPS_E2E_RESULTS/play-rerun.txt" | sed -n 2,5p
  # A failed play fails the script (the recaps above say which).
  [ "${#failed[@]}" = 0 ] || { echo "== failed: ${failed[*]}"; exit 1; }
} 2>&1 | tee "$DLOPS_E2E_RESULTS/run.txt"
