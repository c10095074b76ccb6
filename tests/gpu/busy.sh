#!/usr/bin/env bash
# On a real GPU host: hold 1 GiB of GPU memory from a background process, probe with
# dlops.gpu.gpu_facts, and check the process is listed with its pid, name and memory
# (what the driver role's busy guard relies on). Results go to $1.
set -euo pipefail
cd "$(dirname "$0")/../.."
results=${1:-tests/gpu/results}
mkdir -p "$results/busy"
. tests/gpu/bootstrap.sh
python3 - <<'PY' &
import ctypes, glob, time
cudart = ctypes.CDLL(sorted(glob.glob("/usr/local/cuda/lib64/libcudart.so.*"))[-1])
ptr = ctypes.c_void_p()
assert cudart.cudaMalloc(ctypes.byref(ptr), ctypes.c_size_t(1 << 30)) == 0
time.sleep(30)
PY
holder=$!
sleep 8
ansible_playbook tests/gpu/facts.yml -e "results_dir=$(cd "$results/busy" && pwd)" > "$results/busy/facts-play.txt"
nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv,noheader > "$results/busy/nvidia-smi-apps.txt"
kill "$holder"
python3 - "$results/busy/gpu_facts.json" "$holder" <<'PY'
import json, sys
facts = json.load(open(sys.argv[1]))
procs = facts["gpus"][0]["processes"]
print("busy:", facts["busy"], "processes:", procs)
assert facts["busy"] is True
assert any(p["pid"] == int(sys.argv[2]) and p["used_memory_mib"] and p["used_memory_mib"] >= 1024 for p in procs), procs
print("gpu_facts lists the process holding the GPU")
PY
cat "$results/busy/nvidia-smi-apps.txt"
