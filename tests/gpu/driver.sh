#!/usr/bin/env bash
# The nvidia_driver role in check mode on a real GPU host: pinned to the branch that runs it must report no
# change; pinned to another branch or flavour it must say what it would do, and change nothing either way.
# Results go to $1/driver.
set -uo pipefail
cd "$(dirname "$0")/../.."
results=${1:-tests/gpu/results}/driver
mkdir -p "$results"
. tests/gpu/bootstrap.sh
state() { cat /proc/driver/nvidia/version | head -1; ls /etc/apt/sources.list.d /etc/apt/preferences.d 2>/dev/null; apt-mark showhold; }
state >"$results/state-before.txt"
run() {  # name, extra arguments
  local name=$1; shift
  ansible_playbook tests/gpu/driver.yml --check --diff "$@" >"$results/$name.txt" 2>&1
  echo "== $name ($*): rc=$?"
  grep -A4 "Say what happens" "$results/$name.txt" | grep -v "^--$\|TASK"
  grep -B1 -A6 "fatal:" "$results/$name.txt" | grep "msg" | head -3
  grep -A2 "PLAY RECAP" "$results/$name.txt" | grep localhost
}
{
  run pin-580-open -e nvidia_driver_branch=580
  run pin-580-open-exact -e nvidia_driver_branch=580 -e nvidia_driver_version="$(cut -d' ' -f9- /proc/driver/nvidia/version | grep -o '[0-9]\+\.[0-9]\+\.[0-9]\+' | head -1)"
  run pin-570-open -e nvidia_driver_branch=570
  run pin-580-proprietary -e nvidia_driver_branch=580 -e nvidia_driver_module=proprietary
  run pin-590-nvidia-repo -e nvidia_driver_branch=590 -e nvidia_driver_method=nvidia_repo
} 2>&1 | tee "$results/run.txt"
state >"$results/state-after.txt"
if diff "$results/state-before.txt" "$results/state-after.txt"; then echo "nothing changed" | tee -a "$results/run.txt"; fi
