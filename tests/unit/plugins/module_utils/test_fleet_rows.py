"""The fleet report's rows across runs: this run's hosts fresh, the others from the rows a fact cache kept."""

import json

import pytest

from ansible_collections.dlops.gpu.plugins.filter import fleet
from ansible_collections.dlops.gpu.plugins.module_utils import fleet_report
from .test_fleet_report import h100

NOW = 1795000000.7  # 2026-11-18 11:06:40 UTC
PINS = {"nvidia_driver_branch": "580", "cuda_toolkits": ["13.0"], "cuda_default": "13.0"}
CPU = {"present": False, "count": 0, "gpus": [], "toolkits": [], "cuda_default": {"series": None},
       "kernel": {"loaded": False}, "driver": {"mismatch": False}, "userspace": {"version": None}}


def probe(gpu):
    """A registered gpu_facts result, as `register:` keeps it."""
    return {"changed": False, "failed": False, "ansible_facts": {"gpu": gpu}}


def entry(host, **values):
    base = {"host": host, "in_run": True, "gpu": {}, "pins": {}, "validation": {}, "validate_run": {},
            "probes": [{}, {}], "kept": {}}
    base.update(values)
    return base


def kept_row(host, gpu, pins, taken):
    """What an earlier run kept, read back through JSON as the jsonfile fact cache stores it."""
    plan = fleet_report.fleet_rows([entry(host, gpu=gpu, pins=pins, probes=[probe(gpu), {}])], taken, cache=True)
    return json.loads(json.dumps(plan["keep"][0]))


def test_the_filter_reads_hostvars():
    assert fleet.FilterModule().filters()["fleet_report"] is fleet_report.report
    hostvars = {
        "gpu01": {"ansible_facts": {"gpu": h100(), "gpu_validation": {"status": "ok", "failed": []}},
                  "cuda_toolkits": ["13.0"], "cuda_default": "13.0", "nvidia_driver_branch": "580",
                  "__dlops_gpu_probe": probe(h100())},
        "cpu01": {"ansible_facts": {"gpu": CPU}, "cuda_toolkits": ["12.8"], "__dlops_gpu_report_probe": probe(CPU)},
        "away": {"ansible_facts": {}},
    }
    found = fleet_report.entries(hostvars, ["cpu01", "gpu01", "away"], ["cpu01", "gpu01"])
    assert [e["host"] for e in found] == ["cpu01", "gpu01", "away"]
    assert [e["in_run"] for e in found] == [True, True, False]
    assert found[1]["pins"] == {"nvidia_driver_branch": "580", "nvidia_driver_force": False,
                                "nvidia_driver_reboot_required": False, "cuda_toolkits": ["13.0"],
                                "cuda_default": "13.0", "cuda_prune": False, "cudnn_versions": {}}
    assert found[1]["probes"] == [probe(h100()), {}] and found[0]["probes"] == [{}, probe(CPU)]
    assert found[1]["validation"] == {"status": "ok", "failed": []} and found[2]["gpu"] == {}
    plan = fleet_report.report(hostvars, ["cpu01", "gpu01", "away"], ["cpu01", "gpu01"], NOW)
    assert [row["host"] for row in plan["rows"]] == ["cpu01", "gpu01"] and plan["keep"] == []
    assert plan["rows"][0]["drift"] and not plan["rows"][1]["drift"]


def test_without_a_cache_the_rows_are_this_runs_facts_as_before():
    validation = {"status": "ok", "failed": [], "matmul_tflops": 51.234}
    hosts = [entry("gpu01", gpu=h100(), pins=PINS, validation=validation),
             entry("cpu01", gpu=CPU),
             entry("down01"),
             entry("other01", in_run=False, gpu=h100())]
    plan = fleet_report.fleet_rows(hosts, NOW)
    assert [r["host"] for r in plan["rows"]] == ["gpu01", "cpu01", "down01"]
    assert plan["rows"][0] == dict(fleet_report.fleet_row("gpu01", h100(), PINS, validation), cached="")
    assert plan["rows"][0]["validation"] == "ok, 51.2 TFLOP/s"
    assert plan["rows"][2]["drift"] == ["not probed"]
    assert plan["keep"] == []


def test_a_probed_host_is_fresh_and_keeps_its_row_with_the_time():
    plan = fleet_report.fleet_rows([entry("gpu01", gpu=h100(), pins=PINS, probes=[probe(h100()), {}])], NOW,
                                   cache=True)
    row = fleet_report.fleet_row("gpu01", h100(), PINS)
    assert plan["rows"] == [dict(row, cached="")]
    assert plan["keep"] == [dict(row, time=1795000000)]


def test_the_report_probe_counts_when_site_did_not_probe():
    skipped = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}
    plan = fleet_report.fleet_rows([entry("gpu01", gpu=h100(), probes=[{}, probe(h100())]),
                                    entry("gpu02", gpu=h100(), probes=[probe(h100()), skipped])], NOW, cache=True)
    assert [r["cached"] for r in plan["rows"]] == ["", ""]
    assert [r["host"] for r in plan["keep"]] == ["gpu01", "gpu02"]


@pytest.mark.parametrize("result", [
    {},
    {"changed": False, "skipped": True, "ansible_facts": {"gpu": {"present": True}}},
    # A failed module run still carries the interpreter it discovered.
    {"failed": True, "msg": "Module result deserialization failed",
     "ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3"}},
    {"unreachable": True, "msg": "Failed to connect", "ansible_facts": {"gpu": {}}},
    # failed_when can fail a probe that returned its facts.
    {"failed": True, "changed": False, "ansible_facts": {"gpu": {"present": False}}},
    {"changed": False, "ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3"}},
])
def test_what_is_not_a_probe_of_this_run(result):
    assert fleet_report.probed([result, {}]) is False


def test_a_row_without_facts_is_not_kept():
    plan = fleet_report.fleet_rows([entry("gpu01", gpu={}, probes=[probe({}), {}])], NOW, cache=True)
    assert plan["rows"][0]["drift"] == ["not probed"] and plan["keep"] == []


def test_a_cached_gpu_fact_without_a_probe_of_this_run_is_not_taken_for_fresh():
    # Unreachable in this run: its ansible_facts.gpu is an earlier run's, from the cache.
    plan = fleet_report.fleet_rows([entry("gpu01", gpu=h100(), pins=PINS)], NOW, cache=True)
    assert plan["rows"] == [dict(fleet_report.fleet_row("gpu01", {}, PINS), cached="")]
    assert plan["rows"][0]["drift"] == ["not probed"]
    assert plan["keep"] == []


def test_a_host_outside_the_run_shows_the_row_it_kept_marked_with_its_time():
    kept = kept_row("gpu02", h100(), {"cuda_toolkits": ["12.8"]}, 1794990000)
    plan = fleet_report.fleet_rows([entry("gpu01", gpu=CPU, probes=[probe(CPU), {}]),
                                    entry("gpu02", in_run=False, gpu=h100(), kept=kept)], NOW, cache=True)
    assert [r["host"] for r in plan["rows"]] == ["gpu01", "gpu02"]
    cached = plan["rows"][1]
    assert cached["cached"] == "2026-11-18 08:20 UTC"
    assert cached["drift"] == ["CUDA 12.8 missing"]
    fresh = fleet_report.fleet_row("gpu02", h100(), {"cuda_toolkits": ["12.8"]})
    assert dict(cached, cached="") == dict(fresh, cached="")
    assert "time" not in cached
    # Only what this run probed is kept again: the cached row keeps its own time.
    assert [r["host"] for r in plan["keep"]] == ["gpu01"]


def test_an_unreachable_host_of_the_run_shows_its_kept_row():
    kept = kept_row("gpu01", h100(), PINS, 1794990000)
    unreachable = {"unreachable": True, "msg": "Failed to connect to the host via ssh"}
    plan = fleet_report.fleet_rows([entry("gpu01", gpu=h100(), probes=[unreachable, {}], kept=kept)], NOW,
                                   cache=True)
    assert plan["rows"][0]["cached"] == "2026-11-18 08:20 UTC"
    assert plan["rows"][0]["gpus"] == "1 x NVIDIA H100 80GB HBM3"
    assert plan["keep"] == []


def test_a_host_outside_the_run_that_kept_nothing_is_left_out():
    plan = fleet_report.fleet_rows([entry("gpu01", in_run=False, gpu=h100())], NOW, cache=True)
    assert plan == {"rows": [], "keep": []}


def test_a_fresh_probe_wins_over_the_kept_row():
    kept = kept_row("gpu01", CPU, {}, 1794990000)
    plan = fleet_report.fleet_rows([entry("gpu01", gpu=h100(), probes=[probe(h100()), {}], kept=kept)], NOW,
                                   cache=True)
    assert plan["rows"][0]["cached"] == "" and plan["rows"][0]["gpus"] == "1 x NVIDIA H100 80GB HBM3"


def test_with_a_cache_only_a_validation_of_this_run_counts():
    stale = {"status": "failed", "failed": ["GPU count: 7 GPU(s) visible, 8 expected"], "matmul_tflops": None}
    fresh = {"status": "ok", "failed": [], "matmul_tflops": 52.0}
    ran = {"changed": False, "ansible_facts": {"gpu_validation": fresh}}
    skipped = {"changed": False, "skipped": True}
    kept = {"status": "ok", "failed": [], "matmul_tflops": 51.7, "time": 1795000000, "current": True}
    gpu = dict(h100(), validation=kept)
    hosts = [entry("ran", gpu=gpu, probes=[probe(gpu)], validation=stale, validate_run=ran),
             entry("kept", gpu=gpu, probes=[probe(gpu)], validation=stale, validate_run=skipped),
             entry("tagged", gpu=h100(), probes=[probe(h100())], validation=stale)]
    rows = fleet_report.fleet_rows(hosts, NOW, cache=True)["rows"]
    assert [r["validation"] for r in rows] == ["ok, 52.0 TFLOP/s", "ok, 51.7 TFLOP/s (kept from 2026-11-18 11:06 UTC)",
                                               "-"]
    assert not any(r["validation_failed"] for r in rows)


@pytest.mark.parametrize("change", [
    {"host": "gpu09"},
    {"time": None},
    {"time": True},
    {"time": "1794990000"},
    {"time": 1e300},
    {"time": float("nan")},
    {"time": -1e18},
    {"probed": False},
    {"drift": "none"},
    {"toolkits": [{"series": "12.4"}]},
    {"mismatch": "no"},
])
def test_a_kept_row_that_is_not_one_of_ours_is_ignored(change):
    kept = dict(kept_row("gpu01", h100(), PINS, 1794990000), **change)
    plan = fleet_report.fleet_rows([entry("gpu01", in_run=False, kept=kept),
                                    entry("gpu02", kept=kept)], NOW, cache=True)
    assert [(r["host"], r["cached"], r["drift"]) for r in plan["rows"]] == [("gpu02", "", ["not probed"])]


def test_a_kept_row_missing_a_field_is_ignored():
    kept = kept_row("gpu01", h100(), PINS, 1794990000)
    del kept["cudnn"]
    assert fleet_report.fleet_rows([entry("gpu01", in_run=False, kept=kept)], NOW, cache=True)["rows"] == []
    assert fleet_report.fleet_rows([entry("gpu01", in_run=False, kept="junk")], NOW, cache=True)["rows"] == []


def test_two_slices_cover_the_fleet():
    """Slice 1 of 2 probes a and c, then slice 2 probes b: its report shows all three, a and c from the cache."""
    facts = {"a": h100(), "b": CPU, "c": h100()}
    cache = {}
    for number, hosts in enumerate([["a", "c"], ["b"]], 1):
        entries = [entry(name, in_run=name in hosts, gpu=facts[name] if name in hosts or name in cache else {},
                         probes=[probe(facts[name]) if name in hosts else {}, {}],
                         kept=cache.get(name, {}))
                   for name in sorted(facts)]
        plan = fleet_report.fleet_rows(entries, NOW + number * 600, cache=True)
        for row in plan["keep"]:
            cache[row["host"]] = json.loads(json.dumps(row))
    assert [(r["host"], r["cached"]) for r in plan["rows"]] == [
        ("a", "2026-11-18 11:16 UTC"), ("b", ""), ("c", "2026-11-18 11:16 UTC")]
