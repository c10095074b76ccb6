# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One row of the fleet report per host, from ansible_facts.gpu and the inventory's pins (exposed as a filter)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.dlops.gpu.plugins.module_utils import cuda_plan


def _series(version):
    return cuda_plan.series(version)


def drift(gpu, pins):
    """What differs between a host's state and its pins, as short sentences ([] when it matches)."""
    found = []
    gpu = gpu or {}
    branch = str(pins.get("nvidia_driver_branch") or "")
    installed = ((gpu.get("userspace") or {}).get("version")) or ""
    if branch and (gpu.get("present") or pins.get("nvidia_driver_force")):
        if installed.split(".")[0] != branch:
            found.append("driver %s, pinned %s" % (installed or "none", branch))
    toolkits = dict((t.get("series"), t) for t in gpu.get("toolkits") or [])
    wanted = [str(v) for v in pins.get("cuda_toolkits") or []]
    for version in wanted:
        have = toolkits.get(_series(version))
        if not have:
            found.append("CUDA %s missing" % version)
        elif version.count(".") == 2 and have.get("version") != version:
            found.append("CUDA %s is %s" % (version, have.get("version")))
    if pins.get("cuda_prune"):
        listed = set(_series(v) for v in wanted)
        for series, have in sorted(toolkits.items()):
            if have.get("managed") and series not in listed:
                found.append("CUDA %s not pinned" % series)
    default = str(pins.get("cuda_default") or "")
    current = (gpu.get("cuda_default") or {}).get("series")
    if default and _series(default) != current:
        found.append("default CUDA %s, pinned %s" % (current or "none", _series(default)))
    for series, have in sorted(toolkits.items()):
        want = cuda_plan.cudnn_for(series, pins.get("cudnn_versions") or {})
        have_cudnn = (have.get("cudnn") or {}).get("version")
        if want and not cuda_plan._matches(want, have_cudnn):
            found.append("cuDNN in CUDA %s is %s, pinned %s" % (series, have_cudnn or "none", want))
    return found


def validation_summary(validation):
    """gpu_validate's result in a few words: "-" when it did not run; a kept result says from when."""
    if not validation:
        return "-"
    kept = ""
    if validation.get("time") and "current" in validation:
        kept = " (kept from %s)" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(validation["time"]))
    if validation.get("status") == "failed":
        return "FAILED: " + "; ".join(validation.get("failed") or []) + kept
    if validation.get("status") == "no_gpu":
        return "no GPU, checks pass" + kept
    tflops = validation.get("matmul_tflops")
    return "ok" + (", %.1f TFLOP/s" % tflops if tflops else "") + kept


def fleet_row(host, gpu, pins, validation=None):
    """The report's row for one host; ``validation`` is gpu_validate's result where it ran in this run, else
    the result it kept, while the stack is still the one it validated."""
    gpu = gpu or {}
    if not validation and (gpu.get("validation") or {}).get("current"):
        validation = gpu["validation"]
    kernel = gpu.get("kernel") or {}
    driver = gpu.get("driver") or {}
    models = {}
    for card in gpu.get("gpus") or []:
        models[card.get("name")] = models.get(card.get("name"), 0) + 1
    cudnn = ["%s: %s" % (t.get("series"), (t.get("cudnn") or {}).get("version"))
             for t in gpu.get("toolkits") or [] if t.get("cudnn")]
    if gpu.get("cudnn_system"):
        cudnn.append("system: %s" % gpu["cudnn_system"]["version"])
    return {
        "host": host,
        "probed": bool(gpu),
        "gpus": ", ".join("%d x %s" % (n, name) for name, n in sorted(models.items())) or
                ("%d (no driver)" % gpu.get("count", 0) if gpu.get("present") else "none"),
        "driver_loaded": "%s (%s)" % (kernel.get("version"), kernel.get("flavour")) if kernel.get("loaded") else "-",
        "driver_installed": (gpu.get("userspace") or {}).get("version") or "-",
        "mismatch": bool(driver.get("mismatch")),
        "reboot_required": bool(driver.get("reboot_required") or pins.get("nvidia_driver_reboot_required")),
        "toolkits": ["%s%s" % (t.get("version") or t.get("series"), "" if t.get("managed") else " (external)")
                     for t in gpu.get("toolkits") or []],
        "cuda_default": (gpu.get("cuda_default") or {}).get("series") or "-",
        "cudnn": cudnn,
        "busy": bool(gpu.get("busy")),
        "validation": validation_summary(validation),
        "validation_failed": (validation or {}).get("status") == "failed",
        "drift": drift(gpu, pins) if gpu else ["not probed"],
    }
