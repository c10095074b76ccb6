#!/usr/bin/env bash
# On a real GPU host: run dlops.gpu.gpu_facts, keep its output, compare it with
# nvidia-smi, and time the probe (bench/probe.py). Results go to $1
# (default tests/gpu/results).
set -euo pipefail
cd "$(dirname "$0")/../.."
results=${1:-tests/gpu/results}
mkdir -p "$results"
. tests/gpu/bootstrap.sh
ansible_playbook tests/gpu/facts.yml -e "results_dir=$(cd "$results" && pwd)" | tee "$results/facts-play.txt"
nvidia-smi -q -x > "$results/nvidia-smi-q-x.xml"
python3 tests/gpu/compare_nvidia_smi.py "$results/gpu_facts.json" | tee "$results/compare.txt"
PYTHONPATH="$DLOPS_COLLECTIONS:${PYTHONPATH:-}" python3 bench/probe.py | tee "$results/probe-bench.txt"
