# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One row of the fleet report per host, from ansible_facts.gpu and the inventory's pins, and the rows of a report
that a fact cache carries across runs (exposed as filters)."""

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


def _time(seconds):
    try:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))
    except (OverflowError, ValueError, OSError, TypeError):  # a kept value no clock gives
        return "an unknown time"


def validation_summary(validation):
    """gpu_validate's result in a few words: "-" when it did not run; a kept result says from when."""
    if not validation:
        return "-"
    kept = ""
    if validation.get("time") and "current" in validation:
        kept = " (kept from %s)" % _time(validation["time"])
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


def probed(results):
    """Whether one of these registered gpu_facts results (site.yml's probe, report.yml's) probed the host in this
    run. Registered results live for one run only; ansible_facts.gpu may come from a fact cache."""
    for result in results or []:
        if (isinstance(result, dict) and "gpu" in (result.get("ansible_facts") or {})
                and not (result.get("failed") or result.get("skipped") or result.get("unreachable"))):
            return True
    return False


def _validated(result):
    """gpu_validate's result where the module ran in this run (its registered result), else {}."""
    if isinstance(result, dict) and not (result.get("failed") or result.get("skipped")):
        return (result.get("ansible_facts") or {}).get("gpu_validation") or {}
    return {}


def _kept(host, kept):
    """A row an earlier run kept for ``host`` (from the fact cache), or None where it is not one: another host's,
    without its time, or missing a field of today's rows or holding one of another type (an older release's)."""
    if not isinstance(kept, dict) or kept.get("host") != host or not kept.get("probed"):
        return None
    taken = kept.get("time")
    if isinstance(taken, bool) or not isinstance(taken, (int, float)) or not 0 <= taken < 2 ** 33:
        return None  # not a time a clock gave (NaN fails the comparison too)
    shape = fleet_row(host, {}, {})
    for key, value in shape.items():
        have = kept.get(key)
        if not isinstance(have, type(value)):
            return None
        if isinstance(value, list) and not all(isinstance(item, str) for item in have):
            return None
    row = dict((key, kept[key]) for key in shape)
    row["cached"] = _time(taken)
    return row


def fleet_rows(hosts, now, cache=False):
    """The report's rows and the rows to keep for later runs, from one entry per host in scope (report order).

    Each entry holds ``host``, ``in_run`` (in this run's --limit), ``gpu`` (ansible_facts.gpu or {}), ``pins``,
    ``validation`` (ansible_facts.gpu_validation or {}), ``validate_run`` (gpu_validate's registered result or {}),
    ``probes`` (the registered gpu_facts results) and ``kept`` (ansible_facts.dlops_gpu_report_row or {}).

    Without a fact cache that outlives the run (``cache`` false) every fact is this run's: the hosts of the run
    get their rows from them and nothing is kept, as without this filter. With one, a host counts as this
    run's only where this run probed it and gpu_validate's result only where it ran; such a host's row is kept
    (with ``now``, seconds since the epoch) and a host this run did not probe, in the run or outside its limit,
    gets the row it kept last, its ``cached`` field saying when that was taken. A host of the run with no kept row
    is "not probed"; one outside the run with none is left out. Fresh rows have ``cached`` "".
    Returns {"rows": [...], "keep": [...]}.
    """
    rows, keep = [], []
    for entry in hosts:
        host, pins = entry["host"], entry.get("pins") or {}
        if not cache:
            if entry.get("in_run"):
                rows.append(dict(fleet_row(host, entry.get("gpu"), pins, entry.get("validation")), cached=""))
            continue
        if probed(entry.get("probes")):
            row = fleet_row(host, entry.get("gpu"), pins, _validated(entry.get("validate_run")))
            rows.append(dict(row, cached=""))
            if row["probed"]:
                keep.append(dict(row, time=int(now)))
            continue
        kept = _kept(host, entry.get("kept"))
        if kept:
            rows.append(kept)
        elif entry.get("in_run"):
            rows.append(dict(fleet_row(host, {}, pins), cached=""))
    return {"rows": rows, "keep": keep}


# The inventory's pins each row is compared with, and their value where a host sets none.
PINS = (("nvidia_driver_branch", ""), ("nvidia_driver_force", False), ("nvidia_driver_reboot_required", False),
        ("cuda_toolkits", []), ("cuda_default", ""), ("cuda_prune", False), ("cudnn_versions", {}))
# What this run registered: site.yml's probe, report.yml's own, and the gpu_validate role's run of its module.
PROBE_RESULTS = ("__dlops_gpu_probe", "__dlops_gpu_report_probe")
VALIDATE_RESULT = "__gpu_validate_run"


def entries(hostvars, scope, in_run):
    """fleet_rows' entries, one per host of ``scope`` (report order), read from ``hostvars``; ``in_run``: the hosts
    of this run's --limit."""
    result = []
    for name in scope:
        host = hostvars[name]
        facts = host.get("ansible_facts") or {}
        result.append({
            "host": name,
            "in_run": name in in_run,
            "gpu": facts.get("gpu") or {},
            "pins": dict((pin, host.get(pin, default)) for pin, default in PINS),
            "validation": facts.get("gpu_validation") or {},
            "validate_run": host.get(VALIDATE_RESULT) or {},
            "probes": [host.get(result_name) or {} for result_name in PROBE_RESULTS],
            "kept": facts.get("dlops_gpu_report_row") or {},
        })
    return result


def report(hostvars, scope, in_run, now, cache=False):
    """The report's rows and the rows to keep (fleet_rows), for the hosts of ``scope`` as ``hostvars`` holds them."""
    return fleet_rows(entries(hostvars, scope, in_run), now, cache)
