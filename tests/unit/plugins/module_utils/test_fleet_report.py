"""Rows and drift of the fleet report, from facts shaped as gpu_facts returns them."""

import json
import os

from ansible_collections.dlops.gpu.plugins.module_utils import fleet_report
from ...conftest import FIXTURES


def h100():
    with open(os.path.join(FIXTURES, "gpu_facts", "h100-ubuntu2404-580-open.json")) as handle:
        return json.load(handle)


def test_h100_row_from_the_kept_facts():
    row = fleet_report.fleet_row("gpu01", h100(), {"nvidia_driver_branch": "580", "cuda_toolkits": ["13.0"],
                                                   "cuda_default": "13.0"})
    assert row["gpus"] == "1 x NVIDIA H100 80GB HBM3"
    assert row["driver_loaded"] == "580.159.04 (open)"
    assert row["driver_installed"] == "580.159.04"
    assert row["mismatch"] is False and row["reboot_required"] is False
    assert row["toolkits"] == ["13.0.88 (external)"]
    assert row["cuda_default"] == "13.0"
    assert row["cudnn"] == ["system: 9.14.0"]
    assert row["drift"] == []


def test_drift_names_every_difference():
    facts = h100()
    facts["toolkits"].append({"series": "12.4", "version": "12.4.1", "managed": True,
                              "cudnn": {"version": "9.10.0"}})
    pins = {"nvidia_driver_branch": "570", "cuda_toolkits": ["12.8", "13.0.2"], "cuda_default": "12.8",
            "cuda_prune": True, "cudnn_versions": {"12": "9.13"}}
    assert fleet_report.drift(facts, pins) == [
        "driver 580.159.04, pinned 570",
        "CUDA 12.8 missing",
        "CUDA 13.0.2 is 13.0.88",
        "CUDA 12.4 not pinned",
        "default CUDA 13.0, pinned 12.8",
        "cuDNN in CUDA 12.4 is 9.10.0, pinned 9.13",
    ]


def test_a_host_without_gpu_and_without_pins_does_not_drift():
    facts = {"present": False, "count": 0, "gpus": [], "toolkits": [], "cuda_default": {"series": None},
             "kernel": {"loaded": False}, "driver": {"mismatch": False}, "userspace": {"version": None}}
    row = fleet_report.fleet_row("cpu01", facts, {"nvidia_driver_branch": "580"})
    assert row["gpus"] == "none" and row["drift"] == []
    assert fleet_report.fleet_row("down01", {}, {})["drift"] == ["not probed"]


def test_validation_in_the_row():
    assert fleet_report.fleet_row("gpu01", h100(), {})["validation"] == "-"
    ok = {"status": "ok", "failed": [], "matmul_tflops": 51.234}
    assert fleet_report.fleet_row("gpu01", h100(), {}, ok)["validation"] == "ok, 51.2 TFLOP/s"
    failed = {"status": "failed", "failed": ["GPU count: 7 GPU(s) visible, 8 expected"], "matmul_tflops": None}
    row = fleet_report.fleet_row("gpu01", h100(), {}, failed)
    assert row["validation"] == "FAILED: GPU count: 7 GPU(s) visible, 8 expected" and row["validation_failed"]
    assert fleet_report.validation_summary({"status": "no_gpu", "failed": []}) == "no GPU, checks pass"


def test_a_kept_validation_shows_while_its_stack_is_current():
    kept = {"status": "ok", "failed": [], "matmul_tflops": 51.7, "time": 1795000000, "current": True}
    row = fleet_report.fleet_row("gpu01", dict(h100(), validation=kept), {})
    assert row["validation"] == "ok, 51.7 TFLOP/s (kept from 2026-11-18 11:06 UTC)"
    stale = dict(kept, current=False)
    assert fleet_report.fleet_row("gpu01", dict(h100(), validation=stale), {})["validation"] == "-"
    fresh = {"status": "ok", "failed": [], "matmul_tflops": 52.0}
    assert fleet_report.fleet_row("gpu01", dict(h100(), validation=kept), {}, fresh)["validation"] == "ok, 52.0 TFLOP/s"


def test_a_validation_time_no_clock_gives_is_said_so_not_raised():
    assert fleet_report.validation_summary({"status": "ok", "time": 1e300, "current": True}) == \
        "ok (kept from an unknown time)"
