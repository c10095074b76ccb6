# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proof that a GPU host works: the checks gpu_validate runs, as pure functions and the programs it runs.

Each check is a dict with name, ok (True, False, or None when it does not apply) and detail.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

# A kernel compiled by each toolkit's nvcc: adds two vectors on GPU 0 and checks every sum on the host.
VECTOR_ADD_CU = r"""
#include <cstdio>
#include <cuda_runtime.h>

__global__ void add(const float *a, const float *b, float *c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}

static int fail(const char *what, cudaError_t err) {
    printf("{\"error\": \"%s: %s\"}\n", what, cudaGetErrorString(err));
    return 2;
}

int main() {
    const int n = 1 << 20;
    const size_t bytes = n * sizeof(float);
    int count = 0, runtime = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) return fail("cudaGetDeviceCount", err);
    cudaRuntimeGetVersion(&runtime);
    float *a = new float[n], *b = new float[n], *c = new float[n];
    for (int i = 0; i < n; i++) { a[i] = (float)i; b[i] = 2.0f * i; c[i] = 0.0f; }
    float *da, *db, *dc;
    if ((err = cudaMalloc(&da, bytes)) != cudaSuccess) return fail("cudaMalloc", err);
    cudaMalloc(&db, bytes);
    cudaMalloc(&dc, bytes);
    cudaMemcpy(da, a, bytes, cudaMemcpyHostToDevice);
    cudaMemcpy(db, b, bytes, cudaMemcpyHostToDevice);
    add<<<(n + 255) / 256, 256>>>(da, db, dc, n);
    if ((err = cudaGetLastError()) != cudaSuccess) return fail("kernel launch", err);
    if ((err = cudaDeviceSynchronize()) != cudaSuccess) return fail("kernel", err);
    cudaMemcpy(c, dc, bytes, cudaMemcpyDeviceToHost);
    int wrong = 0;
    for (int i = 0; i < n; i++) if (c[i] != 3.0f * i) wrong++;
    printf("{\"devices\": %d, \"runtime\": %d, \"sums\": %d, \"wrong\": %d}\n", count, runtime, n, wrong);
    return wrong ? 1 : 0;
}
"""

# Run in a fresh interpreter per library (argv: path, whether to ask for devices), so that two toolkits of one
# major version (the same soname) never share a process.
CUDART_PROBE = r"""
import ctypes, json, sys
lib = ctypes.CDLL(sys.argv[1])
version, count = ctypes.c_int(), ctypes.c_int()
out = {"runtime": None, "devices": None, "version_code": lib.cudaRuntimeGetVersion(ctypes.byref(version))}
if out["version_code"] == 0:
    out["runtime"] = version.value
if sys.argv[2] == "1":
    code = lib.cudaGetDeviceCount(ctypes.byref(count))
    out["devices"] = count.value if code == 0 else None
    out["error"] = None if code == 0 else "cudaGetDeviceCount returned %d" % code
print(json.dumps(out))
"""

CUDNN_PROBE = r"""
import ctypes, json, sys
lib = ctypes.CDLL(sys.argv[1])
lib.cudnnGetVersion.restype = ctypes.c_size_t
print(json.dumps({"version": lib.cudnnGetVersion()}))
"""

# The matrix-multiplication check: n x n on GPU 0 after a warm-up, timed over `iterations` products, synchronised.
MATMUL_PY = r"""
import json, sys, time
try:
    import torch
except ImportError:
    print(json.dumps({"torch": None})); sys.exit(0)
out = {"torch": torch.__version__, "cuda": torch.cuda.is_available()}
if out["cuda"]:
    n, iterations, dtype = int(sys.argv[1]), int(sys.argv[2]), getattr(torch, sys.argv[3])
    a = torch.randn(n, n, device="cuda", dtype=dtype)
    b = torch.randn(n, n, device="cuda", dtype=dtype)
    for _ in range(10):
        c = a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iterations):
        c = a @ b
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    out.update(device=torch.cuda.get_device_name(0), n=n, iterations=iterations, dtype=sys.argv[3],
               seconds=seconds, tflops=2.0 * n ** 3 * iterations / seconds / 1e12)
print(json.dumps(out))
"""


def check(name, ok, detail):
    return {"name": name, "ok": ok, "detail": detail}


def last_json(text):
    """The last line of a program's output that parses as a JSON object, or None."""
    for line in reversed((text or "").strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def cudnn_version_string(number):
    """cudnnGetVersion()'s number as X.Y.Z (9.x: major*10000 + minor*100 + patch; 8.x: major*1000 + minor*100)."""
    number = int(number)
    if number >= 90000:
        return "%d.%d.%d" % (number // 10000, number % 10000 // 100, number % 100)
    return "%d.%d.%d" % (number // 1000, number % 1000 // 100, number % 100)


def runtime_version_string(number):
    """cudaRuntimeGetVersion()'s number as X.Y (12080 -> 12.8)."""
    return "%d.%d" % (int(number) // 1000, int(number) % 1000 // 10)


def driver_checks(gpu, expected_count=None, expected_model=None, persistence=None):
    """The driver answers with no mismatch, the GPUs expected are there, persistence mode is as configured."""
    driver = gpu.get("driver", {})
    checks = []
    answered = bool(gpu.get("gpus")) and not (gpu.get("nvml") or {}).get("error")
    detail = "driver %s answers (%s)" % (driver.get("version"), (gpu.get("nvml") or {}).get("source"))
    if not answered:
        error = (gpu.get("nvml") or {}).get("error") or {}
        detail = "the driver does not answer: %s" % (error.get("message") or "no GPU listed")
    checks.append(check("driver answers", answered, detail))
    checks.append(check("no driver/library mismatch", not driver.get("mismatch"),
                        driver.get("reason") or "loaded module and libraries agree"))
    names = [g.get("name") or "?" for g in gpu.get("gpus", [])]
    count = len(names) if names else gpu.get("count", 0)
    if expected_count is not None:
        checks.append(check("GPU count", count == expected_count,
                            "%d GPU(s) visible, %d expected" % (count, expected_count)))
    if expected_model:
        wrong = [name for name in names if expected_model.lower() not in name.lower()]
        checks.append(check("GPU model", bool(names) and not wrong,
                            "%s; expected %s" % (", ".join(names) or "none visible", expected_model)))
    if persistence is not None:
        modes = [g.get("persistence_mode") for g in gpu.get("gpus", [])]
        off = [str(g.get("index")) for g in gpu.get("gpus", []) if g.get("persistence_mode") is not persistence]
        checks.append(check("persistence mode", bool(modes) and not off,
                            "persistence mode %s on every GPU" % ("on" if persistence else "off") if not off else
                            "GPU(s) %s not in persistence mode %s" % (", ".join(off), "on" if persistence else "off")))
    return checks


# cudaErrorInsufficientDriver: what cudaRuntimeGetVersion of CUDA 11 returns where no driver is loaded.
CUDA_ERROR_INSUFFICIENT_DRIVER = 35


def toolkit_check(toolkit, compiled=None, loaded=None, gpu_count=0):
    """A toolkit's check from its compiled program's output (dict) or its runtime probe (dict)."""
    name = "CUDA %s" % toolkit["series"]
    if compiled is not None:
        if compiled.get("error") or compiled.get("wrong") is None:
            return check(name, False, "nvcc-built program failed: %s" % (compiled.get("error") or compiled))
        ok = compiled["wrong"] == 0 and compiled["devices"] == gpu_count
        return check(name, ok, "nvcc-built kernel ran on %d GPU(s), runtime %s, %d sums, %d wrong"
                     % (compiled["devices"], runtime_version_string(compiled["runtime"]), compiled["sums"],
                        compiled["wrong"]))
    if loaded and loaded.get("runtime") is None and loaded.get("version_code") == CUDA_ERROR_INSUFFICIENT_DRIVER \
            and not gpu_count:
        # CUDA 11's runtime asks the driver for its version; 12 and later answer without one.
        return check(name, True, "libcudart loads; its version needs a driver, and this host has none (no GPU to "
                                 "run on)")
    if not loaded or loaded.get("runtime") is None:
        return check(name, False, "libcudart did not load: %s" % ((loaded or {}).get("error") or "no output"))
    detail = "runtime %s loads" % runtime_version_string(loaded["runtime"])
    if loaded.get("devices") is None and gpu_count:
        return check(name, False, detail + " but sees no GPU: %s" % loaded.get("error"))
    if gpu_count:
        return check(name, loaded["devices"] == gpu_count, detail + ", sees %d GPU(s)" % loaded["devices"])
    return check(name, True, detail + " (no GPU to run on)")


def cudnn_check(where, expected, loaded):
    """cuDNN loads and reports the version its header (and the fleet report) says."""
    name = "cuDNN in %s" % where
    if not loaded or loaded.get("version") is None:
        return check(name, False, "libcudnn did not load: %s" % ((loaded or {}).get("error") or "no output"))
    version = cudnn_version_string(loaded["version"])
    ok = not expected or version == expected
    return check(name, ok, "cuDNN %s loads%s" % (version, "" if ok else ", header says %s" % expected))


def matmul_check(result, names, floors, python="python3"):
    """The PyTorch matrix-multiplication check against the floor of the GPU's model (TFLOP/s).

    ``result`` is the script's output, or None when the interpreter was not found.
    """
    if result is None:
        return check("PyTorch matmul", None, "%s is not installed" % python)
    if result.get("error"):
        return check("PyTorch matmul", False, "the matrix multiplication failed: %s" % result["error"])
    if result.get("torch") is None:
        return check("PyTorch matmul", None, "PyTorch is not installed for %s" % python)
    if not result.get("cuda"):
        return check("PyTorch matmul", None, "PyTorch %s sees no CUDA GPU" % result["torch"])
    tflops = result["tflops"]
    floor = None
    for model, value in sorted((floors or {}).items(), key=lambda item: -len(item[0])):
        if any(model.lower() in name.lower() for name in names):
            floor = float(value)
            break
    detail = "%.1f TFLOP/s (%s, %dx%d, %d products in %.3f s, PyTorch %s)" % (
        tflops, result["dtype"], result["n"], result["n"], result["iterations"], result["seconds"], result["torch"])
    if floor is None:
        return check("PyTorch matmul", True, detail + "; no floor set for this model")
    return check("PyTorch matmul", tflops >= floor, detail + "; floor %.1f" % floor)


def summary(checks, gpu_present):
    """ok, failed or no_gpu, with the failed checks' details."""
    failed = [c for c in checks if c["ok"] is False]
    status = "failed" if failed else ("ok" if gpu_present else "no_gpu")
    return {"status": status, "failed": ["%s: %s" % (c["name"], c["detail"]) for c in failed]}


# Where gpu_validate keeps its last result, which gpu_facts reads back.
RECORD = "/var/lib/dlops-gpu/validation.json"


def stack_key(gpu):
    """A digest of what a validation proves, as gpu_facts sees it: the driver, the GPUs (with persistence and MIG
    modes), every toolkit with its cuDNN, and the system's cuDNN. Processes and memory use are left out."""
    subset = {
        "driver": (gpu.get("driver") or {}).get("version"),
        "kernel": [(gpu.get("kernel") or {}).get(key) for key in ("version", "flavour")],
        "userspace": (gpu.get("userspace") or {}).get("version"),
        "gpus": [[card.get(key) for key in ("uuid", "name", "persistence_mode", "mig_mode")]
                 for card in gpu.get("gpus") or []],
        "toolkits": [[t.get("path"), t.get("version"), (t.get("cudnn") or {}).get("version")]
                     for t in gpu.get("toolkits") or []],
        "cudnn_system": (gpu.get("cudnn_system") or {}).get("version"),
    }
    return hashlib.sha256(json.dumps(subset, sort_keys=True).encode("utf-8")).hexdigest()


def record(result, gpu, options, now):
    """What gpu_validate keeps: its result, when, with which options, for which stack."""
    kept = dict(result)
    kept.update(time=int(now), stack=stack_key(gpu), options=options)
    return kept


def read_record(path, gpu):
    """The kept result with ``current`` (the stack is still the one validated), or None when there is none."""
    try:
        with open(path) as handle:
            kept = json.load(handle)
    except (IOError, OSError, ValueError):
        return None
    if not isinstance(kept, dict) or "stack" not in kept:
        return None
    kept["current"] = kept["stack"] == stack_key(gpu)
    return kept


def write_record(path, kept):
    """Writes the record by rename, so a reader sees the old one or the new one."""
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        os.makedirs(folder, 0o755)
    temp = path + ".tmp"
    with open(temp, "w") as handle:
        json.dump(kept, handle, sort_keys=True)
    os.rename(temp, path)
