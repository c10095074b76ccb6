"""Cost of the gpu_facts probe against one `nvidia-smi -q -x` call, on a GPU host.

Three timings, each the median of --rounds runs in this one process run:
  nvidia-smi   `nvidia-smi -q -x` as a subprocess (the baseline)
  probe        the module's probe in-process: sysfs, /proc, libraries, NVML via ctypes, toolkits
  module       the whole module as Ansible runs it: a new Python process that imports it and prints JSON
Usage (with ansible-core and the collection importable, see tests/gpu/bootstrap.sh):
    python3 bench/probe.py [--rounds 15]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE = os.path.join(HERE, os.pardir, "plugins", "modules", "gpu_facts.py")


def timed(fn, rounds):
    times = []
    for _round in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    from ansible_collections.dlops.gpu.plugins.module_utils import gpu_probe

    def smi():
        subprocess.run(["nvidia-smi", "-q", "-x"], check=True, stdout=subprocess.DEVNULL)

    def probe():
        assert gpu_probe.probe_host()["nvml"]["source"] == "nvml"

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": {}}, handle)
        args_file = handle.name

    def module():
        out = subprocess.run([sys.executable, MODULE, args_file], check=True, capture_output=True).stdout
        assert json.loads(out)["ansible_facts"]["gpu"]["present"]

    try:
        smi()  # warm-up: the first call may bring up a GPU without persistence mode
        results = {"nvidia-smi": timed(smi, args.rounds), "probe": timed(probe, args.rounds),
                   "module": timed(module, args.rounds)}
    finally:
        os.unlink(args_file)
    base = results["nvidia-smi"]
    print("median of %d rounds" % args.rounds)
    for name, seconds in results.items():
        print("%-11s %8.1f ms   %5.2fx nvidia-smi -q -x" % (name, seconds * 1000, seconds / base))


if __name__ == "__main__":
    main()
