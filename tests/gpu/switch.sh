#!/usr/bin/env bash
# On a real GPU host whose /usr/local/cuda-13.0 is owned by update-alternatives:
# lay a second toolkit (CUDA 12.8 runtime, from NVIDIA's wheel carried in
# .device/cuda) beside it, then switch between the two with dlops.gpu.cuda_select
# (tests/gpu/switch.yml). The hand layout below stands in for the cuda role's
# redist installer, which is not written yet. Results go to $1.
set -euo pipefail
cd "$(dirname "$0")/../.."
results=${1:-tests/gpu/results}
mkdir -p "$results"
. tests/gpu/bootstrap.sh
python3 - <<'PY'
import glob, json, os, shutil, zipfile
dest = "/usr/local/cuda-12.8"
stage = dest + ".staging"
shutil.rmtree(stage, ignore_errors=True)
wheel = glob.glob(".device/cuda/nvidia_cuda_runtime_cu12-*.whl")[0]
zipfile.ZipFile(wheel).extractall(stage + "/wheel")
os.rename(stage + "/wheel/nvidia/cuda_runtime/lib", stage + "/lib64")
os.rename(stage + "/wheel/nvidia/cuda_runtime/include", stage + "/include")
shutil.rmtree(stage + "/wheel")
with open(stage + "/version.json", "w") as handle:
    json.dump({"cuda": {"name": "CUDA SDK", "version": "12.8.1"}, "cuda_cudart": {"version": "12.8.90"}}, handle)
if not os.path.exists(dest):
    os.rename(stage, dest)
PY
ansible_playbook tests/gpu/switch.yml -e "results_dir=$(cd "$results" && pwd)" -e other_series=12.8 \
  -e home_series=13.0 | tee "$results/switch-play.txt"
