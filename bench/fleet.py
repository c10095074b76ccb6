"""What a fleet run costs: first converge, no-op re-run and a facts-only baseline on 1, 4 and 8 container hosts.

For each fleet size, in this one run, on fresh systemd containers (the test image) with the demo's CUDA pins
(CUDA 12.8 and 13.0 from the local redist mirror, runtime and nvcc, no cuDNN so that unpacking does not
dominate) and storage tuning; the driver role skips them (no GPU):
  converge    playbooks/site.yml on fresh hosts, with a fresh controller cache
  no-op       the same again (nothing changes); also without pipelining
  baseline    a play that only gathers Ansible's facts on the same hosts
The no-op and the baseline run in turns, --repeat rounds each (default 3), and each figure is the median.
It prints the times, the ratios no-op / baseline and N hosts / 1 host, the module executions per host in the
no-op run (counted from the run's JSON output; controller-side actions such as set_fact, assert and debug are
not module executions), and the bytes fetched from the mirror (the controller cache) for N hosts against 1.
With --mitogen (after `.venv/bin/pip install mitogen`), the no-op and the baseline are also run with Mitogen
(strategy mitogen_linear, its docker connection).
Usage (after `make setup`, which builds the images and starts the mirror):
    python3 bench/fleet.py [--sizes 1 4 8] [--repeat 3] [--mitogen]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
IMAGE = "dlops-gpu/debian:bookworm"
CONTROLLER_ACTIONS = {
    "ansible.builtin.debug", "ansible.builtin.set_fact", "ansible.builtin.assert", "ansible.builtin.fail",
    "ansible.builtin.include_role", "ansible.builtin.include_tasks", "ansible.builtin.import_tasks",
    "ansible.builtin.meta", "ansible.builtin.add_host", "ansible.builtin.group_by",
    "ansible.builtin.validate_argument_spec",
}
CAPS = ["SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "MKNOD", "AUDIT_WRITE", "SYS_CHROOT", "SETFCAP"]
BASELINE = """- name: Gather facts only
  hosts: all
  gather_facts: true
  tasks: []
"""


def mitogen_strategy_dir():
    """The strategy plugins folder of Mitogen installed in the project's virtualenv."""
    python = os.path.join(ROOT, ".venv", "bin", "python")
    proc = subprocess.run([python, "-c", "import ansible_mitogen, os; print(os.path.dirname(ansible_mitogen.__file__))"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("--mitogen: install it first (.venv/bin/pip install mitogen)")
    return os.path.join(proc.stdout.strip(), "plugins", "strategy")


def env(pipelining=True, mitogen=None):
    values = dict(os.environ)
    build = os.path.join(ROOT, "build")
    values.update({
        "PATH": os.path.join(ROOT, ".venv", "bin") + os.pathsep + values.get("PATH", ""),
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(build, "collections"),
        "ANSIBLE_HOME": os.path.join(build, "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": os.path.join(build, "ansible-tmp"),
        "ANSIBLE_REMOTE_TEMP": "/tmp/.ansible-dlops",
        "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_PIPELINING": str(pipelining),
    })
    if mitogen:
        values.update({"ANSIBLE_STRATEGY_PLUGINS": mitogen, "ANSIBLE_STRATEGY": "mitogen_linear"})
    return values


def start(names):
    for name in names:
        cmd = ["docker", "run", "-d", "--name", name, "--hostname", name, "--cgroupns", "host",
               "--stop-signal", "SIGRTMIN+3", "--tmpfs", "/run", "--tmpfs", "/run/lock",
               "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--security-opt", "seccomp=unconfined",
               "--security-opt", "apparmor=unconfined", "--label", "dlops.bench=true"]
        cmd += [arg for cap in CAPS for arg in ("--cap-add", cap)]
        subprocess.run(cmd + [IMAGE, "/lib/systemd/systemd"], check=True, stdout=subprocess.DEVNULL)
    for name in names:
        subprocess.run(["docker", "exec", name, "systemctl", "is-system-running", "--wait"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def remove(names):
    subprocess.run(["docker", "rm", "-f"] + names, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def write_inventory(folder, names, cache, connection="community.docker.docker"):
    port = os.environ.get("DLOPS_MIRROR_PORT", "8765")
    hosts = "\n".join("        %s:" % name for name in names)
    path = os.path.join(folder, "hosts-%s.yml" % connection.replace(".", "-"))
    with open(path, "w") as handle:
        handle.write("""all:
  children:
    gpu_hosts:
      hosts:
%s
  vars:
    ansible_connection: %s
    ansible_python_interpreter: /usr/bin/python3
    storage_tuning_tmp_tmpfs: true
    cuda_redist_base_url: http://127.0.0.1:%s/cuda/redist
    cuda_redist_validate_certs: false
    cuda_cache_dir: %s
    cuda_profile: custom
    cuda_components: [cuda_cudart]
    cuda_components_by_toolkit: {"13.0": [cuda_cudart, cuda_nvcc]}
    cuda_toolkits: ["12.8", "13.0"]
    cuda_default: "13.0"
    dlops_gpu_report_dir: %s
""" % (hosts, connection, port, cache, os.path.join(folder, "report")))
    return path


def play(inventory, playbook, pipelining=True, mitogen=None):
    started = time.monotonic()
    proc = subprocess.run(["ansible-playbook", "-i", inventory, playbook], env=env(pipelining, mitogen),
                          check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit("%s failed on %s" % (playbook, inventory))
    return elapsed, json.loads(proc.stdout)


def executions(report):
    """Module executions per host (loop items counted one by one; skipped ones and controller actions not)."""
    counts = {}
    for one_play in report["plays"]:
        for task in one_play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("action") in CONTROLLER_ACTIONS or result.get("skipped"):
                    continue
                items = result.get("results")
                done = len([r for r in items if not r.get("skipped")]) if isinstance(items, list) else 1
                counts[host] = counts.get(host, 0) + done
    return counts


def changed(report):
    return sum(stats.get("changed", 0) for host, stats in report["stats"].items() if host != "localhost")


def folder_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _dirs, files in os.walk(path) for f in files)


def alternate(rounds, first, second):
    """Runs first and second in turns; the median time of each, and first's last report."""
    times_first, times_second, report = [], [], None
    for _round in range(rounds):
        elapsed, report = first()
        times_first.append(elapsed)
        times_second.append(second()[0])
    return statistics.median(times_first), report, statistics.median(times_second)


def measure(size, repeat, mitogen=None):
    names = ["dlops-bench-%d-%d" % (size, i) for i in range(size)]
    remove(names)
    start(names)
    try:
        with tempfile.TemporaryDirectory(prefix="dlops-bench-") as folder:
            cache = os.path.join(folder, "cache")
            inventory = write_inventory(folder, names, cache)
            baseline_play = os.path.join(folder, "baseline.yml")
            with open(baseline_play, "w") as handle:
                handle.write(BASELINE)
            site = os.path.join(ROOT, "playbooks", "site.yml")
            converge, _report = play(inventory, site)
            fetched = folder_bytes(cache)
            # The no-op and the baseline in turns, each the median of its rounds: the machine's noise hits both.
            noop, report, baseline = alternate(repeat, lambda: play(inventory, site), lambda: play(inventory, baseline_play))
            noop_plain, _report = play(inventory, site, pipelining=False)
            counts = executions(report)
            row = {"hosts": size, "converge": converge, "noop": noop, "noop_no_pipelining": noop_plain,
                   "baseline": baseline, "fetched": fetched, "noop_changed": changed(report),
                   "modules_per_host": max(counts.get(h, 0) for h in names)}
            if mitogen:
                # Mitogen's own docker connection.
                inventory = write_inventory(folder, names, cache, connection="docker")
                row["noop_mitogen"], mitogen_report, row["baseline_mitogen"] = alternate(
                    repeat, lambda: play(inventory, site, mitogen=mitogen),
                    lambda: play(inventory, baseline_play, mitogen=mitogen))
                row["noop_changed"] += changed(mitogen_report)
            return row
    finally:
        remove(names)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--mitogen", action="store_true", help="also run the no-op and the baseline with Mitogen")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the no-op and the baseline (median)")
    args = parser.parse_args(argv)
    mitogen = mitogen_strategy_dir() if args.mitogen else None
    rows = [measure(size, args.repeat, mitogen) for size in args.sizes]
    one = rows[0]
    sys.stdout.write("%5s %10s %9s %12s %10s %11s %9s %9s %12s %12s\n" % (
        "hosts", "converge s", "no-op s", "no-op nopipe", "baseline s", "noop/base", "noop/1h",
        "modules/h", "changed", "fetched MB"))
    for row in rows:
        sys.stdout.write("%5d %10.1f %9.1f %12.1f %10.1f %11.2f %9.2f %9d %12d %12.1f\n" % (
            row["hosts"], row["converge"], row["noop"], row["noop_no_pipelining"], row["baseline"],
            row["noop"] / row["baseline"], row["noop"] / one["noop"], row["modules_per_host"],
            row["noop_changed"], row["fetched"] / 1e6))
    for row in rows if mitogen else []:
        sys.stdout.write("mitogen, %d hosts: no-op %.1f s, baseline %.1f s, no-op/baseline %.2f, "
                         "no-op/plain baseline %.2f\n" % (
                             row["hosts"], row["noop_mitogen"], row["baseline_mitogen"],
                             row["noop_mitogen"] / row["baseline_mitogen"], row["noop_mitogen"] / row["baseline"]))
    sys.stdout.write("fetched for %d hosts / for %d: %s\n" % (
        rows[-1]["hosts"], one["hosts"], "%.2f" % (rows[-1]["fetched"] / one["fetched"]) if one["fetched"] else "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
