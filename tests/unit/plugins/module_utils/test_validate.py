"""gpu_validate's checks, from facts the H100 host returned and from the outputs of the programs it runs."""

import json
import os
import subprocess
import sys

from ansible_collections.dlops.gpu.plugins.module_utils import validate
from ...conftest import FIXTURES


def h100():
    with open(os.path.join(FIXTURES, "gpu_facts", "h100-ubuntu2404-580-open.json")) as handle:
        return json.load(handle)


def by_name(checks):
    return dict((c["name"], c) for c in checks)


def test_h100_driver_checks_pass_with_the_right_expectations():
    gpu = h100()
    checks = by_name(validate.driver_checks(gpu, expected_count=1, expected_model="H100",
                                            persistence=gpu["gpus"][0]["persistence_mode"]))
    assert all(c["ok"] for c in checks.values()), checks
    assert checks["GPU count"]["detail"] == "1 GPU(s) visible, 1 expected"


def test_wrong_expectations_fail_saying_what_was_seen():
    gpu = h100()
    checks = by_name(validate.driver_checks(gpu, expected_count=8, expected_model="A100",
                                            persistence=not gpu["gpus"][0]["persistence_mode"]))
    assert checks["GPU count"]["ok"] is False and checks["GPU count"]["detail"] == "1 GPU(s) visible, 8 expected"
    assert checks["GPU model"]["ok"] is False and "NVIDIA H100 80GB HBM3; expected A100" == checks["GPU model"]["detail"]
    assert checks["persistence mode"]["ok"] is False
    assert validate.summary(list(checks.values()), True)["status"] == "failed"


def test_mismatch_and_silent_driver_fail():
    gpu = h100()
    gpu["driver"].update(mismatch=True, reason="loaded 550.127.05, libraries 580.95.05")
    gpu["nvml"] = {"source": None, "error": {"code": 18, "message": "Driver/library version mismatch"}}
    gpu["gpus"] = []
    checks = by_name(validate.driver_checks(gpu))
    assert checks["driver answers"]["ok"] is False
    assert "Driver/library version mismatch" in checks["driver answers"]["detail"]
    assert checks["no driver/library mismatch"] == {
        "name": "no driver/library mismatch", "ok": False, "detail": "loaded 550.127.05, libraries 580.95.05"}


def test_toolkit_checks_from_program_output():
    toolkit = {"series": "13.0"}
    ran = validate.last_json("warning: something\n" + '{"devices": 1, "runtime": 13000, "sums": 1048576, "wrong": 0}')
    assert validate.toolkit_check(toolkit, compiled=ran, gpu_count=1) == {
        "name": "CUDA 13.0", "ok": True,
        "detail": "nvcc-built kernel ran on 1 GPU(s), runtime 13.0, 1048576 sums, 0 wrong"}
    assert validate.toolkit_check(toolkit, compiled=dict(ran, wrong=3), gpu_count=1)["ok"] is False
    broken = validate.last_json('{"error": "kernel: no kernel image is available for execution on the device"}')
    assert validate.toolkit_check(toolkit, compiled=broken, gpu_count=1)["ok"] is False
    loaded = {"runtime": 12080, "devices": 1, "error": None}
    assert validate.toolkit_check({"series": "12.8"}, loaded=loaded, gpu_count=1)["detail"] == \
        "runtime 12.8 loads, sees 1 GPU(s)"
    assert validate.toolkit_check({"series": "12.8"}, loaded={"runtime": 12080, "devices": None}, gpu_count=0) == {
        "name": "CUDA 12.8", "ok": True, "detail": "runtime 12.8 loads (no GPU to run on)"}
    assert validate.toolkit_check({"series": "12.8"}, loaded={"error": "libcudart.so.12: cannot open"})["ok"] is False


def test_cudnn_versions():
    assert validate.cudnn_version_string(91300) == "9.13.0"
    assert validate.cudnn_version_string(8906) == "8.9.6"
    assert validate.cudnn_check("/usr/local/cuda-12.8", "9.13.0", {"version": 91300})["ok"] is True
    mismatch = validate.cudnn_check("/usr/local/cuda-12.8", "9.10.2", {"version": 91300})
    assert mismatch["ok"] is False and mismatch["detail"] == "cuDNN 9.13.0 loads, header says 9.10.2"


def test_matmul_floor_by_the_longest_matching_model():
    result = {"torch": "2.9.0", "cuda": True, "tflops": 48.7, "dtype": "float32", "n": 4096, "iterations": 100,
              "seconds": 0.282}
    names = ["NVIDIA H100 80GB HBM3"]
    assert validate.matmul_check(result, names, {"H100": 40, "H100 80GB HBM3": 50})["ok"] is False
    passed = validate.matmul_check(result, names, {"H100": 40, "A100": 15})
    assert passed["ok"] is True and passed["detail"].endswith("; floor 40.0")
    assert validate.matmul_check(result, names, {})["detail"].endswith("no floor set for this model")
    assert validate.matmul_check({"torch": None}, names, {})["ok"] is None
    assert validate.matmul_check(None, names, {}, "/opt/venv/bin/python")["detail"] == "/opt/venv/bin/python is not installed"
    oom = validate.matmul_check({"error": "torch.OutOfMemoryError: CUDA out of memory"}, names, {})
    assert oom["ok"] is False and oom["detail"].endswith("CUDA out of memory")
    assert validate.matmul_check({"torch": "2.9.0", "cuda": False}, names, {})["ok"] is None


def test_no_gpu_status_fails_nothing():
    checks = [validate.check("GPU", None, "no NVIDIA GPU"), validate.check("CUDA 12.8", True, "loads")]
    assert validate.summary(checks, False) == {"status": "no_gpu", "failed": []}


def test_matmul_script_reports_a_missing_torch_plainly(tmp_path):
    # The script as the module runs it, in an interpreter without PyTorch.
    out = subprocess.run([sys.executable, "-S", "-c", validate.MATMUL_PY, "64", "2", "float32"],
                         capture_output=True, text=True, check=True, cwd=str(tmp_path)).stdout
    assert validate.last_json(out) == {"torch": None}


def test_the_kept_record_is_current_until_the_stack_changes(tmp_path):
    gpu = {"driver": {"version": "580.159.04"}, "kernel": {"version": "580.159.04", "flavour": "open"},
           "userspace": {"version": "580.159.04"},
           "gpus": [{"uuid": "GPU-1", "name": "NVIDIA H100 80GB HBM3", "persistence_mode": True, "mig_mode": False,
                     "processes": [], "memory_used_mib": 0}],
           "toolkits": [{"path": "/usr/local/cuda-12.8", "version": "12.8.1", "cudnn": None}],
           "cudnn_system": {"version": "9.14.0"}}
    path = str(tmp_path / "dlops-gpu" / "validation.json")
    assert validate.read_record(path, gpu) is None
    kept = validate.record({"status": "ok", "failed": []}, gpu, {"expected_count": 1}, 1795000000.4)
    validate.write_record(path, kept)
    back = validate.read_record(path, gpu)
    assert back["current"] is True and back["time"] == 1795000000 and back["options"] == {"expected_count": 1}
    busy = dict(gpu, gpus=[dict(gpu["gpus"][0], processes=[{"pid": 1}], memory_used_mib=900)])
    assert validate.read_record(path, busy)["current"] is True
    for changed in (dict(gpu, driver={"version": "580.95.05"}),
                    dict(gpu, gpus=[dict(gpu["gpus"][0], persistence_mode=False)]),
                    dict(gpu, toolkits=gpu["toolkits"] + [{"path": "/usr/local/cuda-13.0", "version": "13.0.2"}]),
                    dict(gpu, cudnn_system=None)):
        assert validate.read_record(path, changed)["current"] is False


def test_an_unreadable_record_is_none(tmp_path):
    path = tmp_path / "validation.json"
    path.write_text("{not json")
    assert validate.read_record(str(path), {}) is None
    path.write_text("[1, 2]")
    assert validate.read_record(str(path), {}) is None


def test_cuda_11s_runtime_without_a_driver_loads_but_cannot_say_its_version():
    # cudaRuntimeGetVersion of CUDA 11.8's libcudart returns 35 (insufficient driver) where no driver is loaded.
    without = {"runtime": None, "devices": None, "version_code": 35}
    passed = validate.toolkit_check({"series": "11.8"}, loaded=without, gpu_count=0)
    assert passed["ok"] and passed["detail"].startswith("libcudart loads; its version needs a driver")
    # With GPUs expected, a runtime that cannot reach the driver fails.
    assert validate.toolkit_check({"series": "11.8"}, loaded=without, gpu_count=1)["ok"] is False
    assert validate.toolkit_check({"series": "11.8"}, loaded=dict(without, version_code=999), gpu_count=0)["ok"] is False
