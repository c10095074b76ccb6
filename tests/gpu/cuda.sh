#!/usr/bin/env bash
# The cuda role on a real GPU host whose CUDA 13.0 comes from NVIDIA's packages under update-alternatives:
# install CUDA 12.8 beside it from a small redist mirror (.device/mirror, made on a connected machine with
# `python3 tools/redist_mirror.py --out .device/mirror --release cuda:12.8.1`), switch to it and back, run what
# each toolkit can run (a kernel compiled by 13.0's nvcc; the 12.8 runtime through ctypes, asking the GPU),
# re-run for idempotence, and predict a switch in check mode. Results go to $1.
set -euo pipefail
cd "$(dirname "$0")/../.."
results=${1:-tests/gpu/results}/cuda
mkdir -p "$results"
. tests/gpu/bootstrap.sh
python3 -m http.server --bind 127.0.0.1 --directory .device/mirror 8765 >/tmp/dlops-mirror.log 2>&1 &
server=$!
trap 'kill $server' EXIT
sleep 1

runtime() {  # runtime version and GPU count through the libcudart a path gives
  python3 - "$1" <<'PY'
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
version, count, free, total = ctypes.c_int(), ctypes.c_int(), ctypes.c_size_t(), ctypes.c_size_t()
assert lib.cudaRuntimeGetVersion(ctypes.byref(version)) == 0
assert lib.cudaGetDeviceCount(ctypes.byref(count)) == 0, "cudaGetDeviceCount failed"
assert lib.cudaMemGetInfo(ctypes.byref(free), ctypes.byref(total)) == 0, "cudaMemGetInfo failed"
print("%s: runtime %d, %d GPU(s), %.1f GiB free of %.1f GiB" % (
    sys.argv[1], version.value, count.value, free.value / 2**30, total.value / 2**30))
PY
}
recap() { grep -A3 "PLAY RECAP" "$1" | grep localhost; }

{
  echo "== before"; ls -l /usr/local/cuda; update-alternatives --display cuda | sed -n 1,3p
  echo "== install 12.8 beside 13.0 and switch to it"
  ansible_playbook tests/gpu/cuda.yml -e cuda_default=12.8 >"$results/play-install.txt"
  recap "$results/play-install.txt"
  ls -ld /usr/local/cuda /usr/local/cuda-*; update-alternatives --display cuda | sed -n 1,2p
  cat /usr/local/cuda-12.8/version.json
  runtime /usr/local/cuda/lib64/libcudart.so
  echo "== cuda-use 13.0 in one shell while the default is 12.8"
  bash -lc 'cuda-use 13.0 && echo "$CUDA_HOME" && which nvcc'
  echo "== switch back to 13.0"
  ansible_playbook tests/gpu/cuda.yml -e cuda_default=13.0 >"$results/play-switch-back.txt"
  recap "$results/play-switch-back.txt"
  ls -l /usr/local/cuda; update-alternatives --display cuda | sed -n 1,2p
  runtime /usr/local/cuda/lib64/libcudart.so
  runtime /usr/local/cuda-12.8/lib64/libcudart.so
  echo "== a kernel compiled by /usr/local/cuda/bin/nvcc"
  cat >/tmp/dlops-add.cu <<'CU'
#include <cstdio>
__global__ void add(int n, const float *x, float *y) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] + y[i];
}
int main() {
    const int n = 1 << 24;
    float *x, *y;
    cudaMallocManaged(&x, n * sizeof(float));
    cudaMallocManaged(&y, n * sizeof(float));
    for (int i = 0; i < n; i++) { x[i] = 1.0f; y[i] = 2.0f; }
    add<<<(n + 255) / 256, 256>>>(n, x, y);
    if (cudaDeviceSynchronize() != cudaSuccess) { printf("kernel failed\n"); return 1; }
    float worst = 0.0f;
    for (int i = 0; i < n; i++) worst = fmaxf(worst, fabsf(y[i] - 3.0f));
    int runtime; cudaRuntimeGetVersion(&runtime);
    cudaDeviceProp prop; cudaGetDeviceProperties(&prop, 0);
    printf("kernel ran on %s (sm_%d%d), runtime %d, %d sums, max error %g\n",
           prop.name, prop.major, prop.minor, runtime, n, worst);
    return worst == 0.0f ? 0 : 1;
}
CU
  /usr/local/cuda/bin/nvcc --version | tail -2
  /usr/local/cuda/bin/nvcc -arch=native -o /tmp/dlops-add /tmp/dlops-add.cu && /tmp/dlops-add
  echo "== the same run again changes nothing"
  ansible_playbook tests/gpu/cuda.yml -e cuda_default=13.0 >"$results/play-rerun.txt"
  recap "$results/play-rerun.txt"
  grep -q "localhost.*changed=0 " "$results/play-rerun.txt"
  echo "== check mode predicts a switch to 12.8 and changes nothing"
  ansible_playbook tests/gpu/cuda.yml -e cuda_default=12.8 --check --diff >"$results/play-check.txt"
  recap "$results/play-check.txt"
  grep -A6 "Point /usr/local/cuda" "$results/play-check.txt" | grep -E "changed|before|after|^[-+]" || true
  ls -l /usr/local/cuda; readlink -f /usr/local/cuda
  cuda-switch --list
} 2>&1 | tee "$results/run.txt"
python3 -m ansible adhoc localhost -c local -m dlops.gpu.gpu_facts -o >"$results/gpu_facts.txt" 2>&1 || true
