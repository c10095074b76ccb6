"""Compare gpu_facts' per-GPU facts with nvidia-smi's own query output on this host.

Usage: python3 tests/gpu/compare_nvidia_smi.py gpu_facts.json
Exits 1 when a field disagrees. nvidia-smi --query-gpu is a different code path
from both NVML-through-ctypes and the XML parser, so it is an independent check.
"""

import json
import subprocess
import sys

FIELDS = "index,name,uuid,pci.bus_id,memory.total,persistence_mode,mig.mode.current,ecc.mode.current,compute_cap"


def smi_rows():
    out = subprocess.run(["nvidia-smi", "--query-gpu=" + FIELDS, "--format=csv,noheader,nounits"],
                         check=True, capture_output=True, text=True).stdout
    return [[c.strip() for c in line.split(",")] for line in out.strip().splitlines()]


def flag(value):
    return {"Enabled": True, "Disabled": False}.get(value)


def main():
    with open(sys.argv[1]) as handle:
        facts = json.load(handle)
    driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                            check=True, capture_output=True, text=True).stdout.split()[0]
    problems = []
    rows = smi_rows()
    if facts["driver"]["version"] != driver:
        problems.append("driver: facts %s, nvidia-smi %s" % (facts["driver"]["version"], driver))
    if len(facts["gpus"]) != len(rows):
        problems.append("GPU count: facts %d, nvidia-smi %d" % (len(facts["gpus"]), len(rows)))
    for gpu, row in zip(facts["gpus"], rows):
        index, name, uuid, bus, mem, persistence, mig, ecc, cc = row
        expected = {
            "index": int(index), "name": name, "uuid": uuid, "pci_bus_id": bus.upper(),
            "memory_total_mib": int(mem), "persistence_mode": flag(persistence),
            "mig_mode": mig.lower() if mig in ("Enabled", "Disabled") else None,
            "ecc_enabled": flag(ecc), "compute_capability": cc,
        }
        for key, value in expected.items():
            got = gpu.get(key)
            if key == "pci_bus_id":
                got = (got or "").upper()
            status = "ok" if got == value else "DIFFERS"
            print("gpu %s %-18s facts=%-45r nvidia-smi=%-45r %s" % (index, key, got, value, status))
            if got != value:
                problems.append("gpu %s %s: facts %r, nvidia-smi %r" % (index, key, got, value))
    print("driver %s, kernel module %s (%s), mismatch %s" % (
        driver, facts["kernel"]["version"], facts["kernel"]["flavour"], facts["driver"]["mismatch"]))
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print("gpu_facts agrees with nvidia-smi on %d GPU(s)" % len(rows))


if __name__ == "__main__":
    main()
